//! Sealer and sequencer on different nodes (`[cluster]` in a scenario, the shape of
//! `restatectl logs seal` in a real cluster): paths through the model that show the remote
//! seal without a drain on the admin node, the sequencer draining once it learns the seal, and
//! a find-tail reader's seal assist and tail repair after the sequencer's node died.

use sealcheck_model::observable::{labels, Event};
use sealcheck_model::state::{FindTail, HarnessPhase, Msg, SequencerPhase, State};
use sealcheck_model::{Action, Cluster, Config, SealModel, StorageState};
use stateright::Model;

/// Three provisioned log servers, replication {node: 2}, the admin N5 seals, the sequencer
/// runs on N3; one append, one crash (as `specs/cluster-roles.toml`).
fn model() -> SealModel {
    Config {
        name: "cluster".into(),
        initial_storage: vec![StorageState::ReadWrite; 3],
        appends: 1,
        cluster: Some(Cluster { sequencer: 3 }),
        faults: sealcheck_model::Faults {
            crashes: 1,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap()
}

/// Takes the first enabled step `pick` accepts; returns its labels.
fn step(m: &SealModel, s: &mut State, what: &str, pick: impl Fn(&Action) -> bool) -> Vec<Event> {
    let mut acts = Vec::new();
    m.actions(s, &mut acts);
    let a = acts
        .into_iter()
        .find(|a| pick(a))
        .unwrap_or_else(|| panic!("{what} is not enabled in\n{s:#?}"));
    let next = m.next_state(s, a.clone()).unwrap();
    let l = labels(m, s, &a, &next);
    *s = next;
    l
}

fn enabled(m: &SealModel, s: &State, pick: impl Fn(&Action) -> bool) -> bool {
    let mut acts = Vec::new();
    m.actions(s, &mut acts);
    acts.iter().any(pick)
}

fn deliver_seal(i: u8) -> impl Fn(&Action) -> bool {
    move |a| matches!(a, Action::Deliver(Msg::Seal { to, .. }) if *to == i)
}

fn deliver_sealed(a: &Action) -> bool {
    matches!(a, Action::Deliver(Msg::Sealed { .. }))
}

fn holds_all(m: &SealModel, s: &State) {
    for p in m.property_list() {
        if p.kind == sealcheck_model::PropertyKind::Always {
            assert!((p.condition)(m, s), "{} fails in\n{s:#?}", p.name);
        }
    }
}

#[test]
fn the_admin_seals_without_draining_and_the_sequencer_drains_when_it_learns() {
    let m = model();
    let mut s = m.initial_state();
    step(&m, &mut s, "seal()", |a| *a == Action::HarnessCallsSeal);
    step(&m, &mut s, "Seal to N1", deliver_seal(0));
    step(&m, &mut s, "Seal to N2", deliver_seal(1));
    step(&m, &mut s, "Sealed from one", deliver_sealed);
    let done = step(&m, &mut s, "Sealed from the other", deliver_sealed);
    // The admin's seal() returns with the sequencer still open: no drain on the admin node.
    assert!(
        done.iter()
            .any(|e| matches!(e, Event::SealCompleted { .. })),
        "{done:?}"
    );
    assert!(!done
        .iter()
        .any(|e| matches!(e, Event::SequencerSealed { .. })));
    assert_eq!(s.client.harness, HarnessPhase::Succeeded);
    assert_eq!(s.client.sequencer, SequencerPhase::Open);
    assert!(!enabled(&m, &s, |a| *a == Action::SequencerDrains));
    // The sequencer on N3 learns it (the admin's find-tail asks it), then drains.
    step(&m, &mut s, "the sequencer learns", |a| {
        *a == Action::SequencerLearnsSealed
    });
    let drained = step(&m, &mut s, "drain", |a| *a == Action::SequencerDrains);
    assert!(drained
        .iter()
        .any(|e| matches!(e, Event::SequencerSealed { .. })));
    assert_eq!(s.sealed_tail(), Some(0));
    assert!(s.history.sequencer_sealed_remotely);
    holds_all(&m, &s);
}

#[test]
fn a_sequencer_that_died_never_drains_and_find_tail_repairs_the_tail() {
    let m = model();
    let mut s = m.initial_state();
    step(&m, &mut s, "append", |a| *a == Action::SequencerAppends);
    step(&m, &mut s, "store on N1", |a| {
        matches!(a, Action::Deliver(Msg::Store { to: 0, .. }))
    });
    // The sequencer's node dies: its stores to N2 and N3 are gone with it.
    step(&m, &mut s, "N3 crashes", |a| {
        *a == Action::LogServerCrashes(2)
    });
    assert_eq!(s.client.sequencer, SequencerPhase::Crashed);
    assert!(!s.network.iter().any(|m| matches!(m, Msg::Store { .. })));
    step(&m, &mut s, "seal()", |a| *a == Action::HarnessCallsSeal);
    step(&m, &mut s, "Seal to N1", deliver_seal(0));
    step(&m, &mut s, "Seal to N2", deliver_seal(1));
    step(&m, &mut s, "Sealed from one", deliver_sealed);
    step(&m, &mut s, "Sealed from the other", deliver_sealed);
    assert_eq!(s.client.harness, HarnessPhase::Succeeded);
    assert!(!enabled(&m, &s, |a| *a == Action::SequencerLearnsSealed));
    // N1 and N2 are sealed, N1 holds offset 0 and N2 does not: no write quorum at tail 1.
    assert!(!enabled(&m, &s, |a| matches!(
        a,
        Action::FindTailFindsSealed(_)
    )));
    let started = step(&m, &mut s, "repair", |a| {
        *a == Action::FindTailRepairsTail { from: 0, to: 1 }
    });
    assert!(matches!(
        started[..],
        [Event::TailRepairStarted {
            from: Some(0),
            to: Some(1),
            ..
        }]
    ));
    // The repair store ignores N2's seal, and answers nobody the sequencer would count.
    let stored = step(&m, &mut s, "repair store on N2", |a| {
        matches!(
            a,
            Action::Deliver(Msg::Store {
                to: 1,
                repair: true,
                ..
            })
        )
    });
    assert!(
        s.servers[1].sealed && s.servers[1].stored.contains(0),
        "{stored:?}"
    );
    assert!(!s.network.iter().any(|m| matches!(m, Msg::Stored { .. })));
    assert!(s.history.stored_after_seal.is_none());
    let repaired = step(&m, &mut s, "repair completes", |a| {
        *a == Action::TailRepairCompletes
    });
    assert!(matches!(
        repaired[..],
        [Event::TailRepaired { tail: Some(1), .. }]
    ));
    assert_eq!(s.client.finder, FindTail::Sealed(1));
    assert_eq!(s.find_tail_sealed(), Some(1));
    holds_all(&m, &s);
}

#[test]
fn find_tail_assists_a_seal_a_restarted_member_missed() {
    let m = model();
    let mut s = m.initial_state();
    step(&m, &mut s, "N3 crashes", |a| {
        *a == Action::LogServerCrashes(2)
    });
    step(&m, &mut s, "N3 restarts", |a| {
        *a == Action::LogServerRestarts(2)
    });
    step(&m, &mut s, "seal()", |a| *a == Action::HarnessCallsSeal);
    step(&m, &mut s, "Seal to N1", deliver_seal(0));
    step(&m, &mut s, "Seal to N2", deliver_seal(1));
    step(&m, &mut s, "Sealed from one", deliver_sealed);
    step(&m, &mut s, "Sealed from the other", deliver_sealed);
    // The reader may hear from N3 (open) and one sealed member first: it assists.
    let assist = step(&m, &mut s, "assist", |a| *a == Action::FindTailAssistsSeal);
    assert!(matches!(assist[..], [Event::SealAssistStarted { .. }]));
    // The assist's Seal reaches N3 (the admin's own Seal to N3 is still in flight too).
    let seals_to_n3 = s
        .network
        .iter()
        .filter(|m| matches!(m, Msg::Seal { to: 2, .. }))
        .count();
    assert_eq!(seals_to_n3, 2);
    step(&m, &mut s, "the assist's Seal to N3", |a| {
        matches!(
            a,
            Action::Deliver(Msg::Seal {
                to: 2,
                attempt: 0,
                ..
            })
        )
    });
    assert!(s.servers[2].sealed);
    let done = step(&m, &mut s, "assist completes", |a| {
        *a == Action::SealAssistCompletes
    });
    assert!(matches!(done[..], [Event::SealAssistCompleted { .. }]));
    // It does not assist twice; every member is sealed at tail 0.
    assert!(!enabled(&m, &s, |a| *a == Action::FindTailAssistsSeal));
    step(&m, &mut s, "find-tail returns sealed", |a| {
        *a == Action::FindTailFindsSealed(0)
    });
    holds_all(&m, &s);
}

#[test]
fn a_cluster_needs_fresh_views_and_a_log_server_for_its_sequencer() {
    let base = Config {
        cluster: Some(Cluster { sequencer: 4 }),
        ..Config::incident()
    };
    assert_eq!(base.validate().unwrap_err().field, "cluster.sequencer");
    let stale = Config {
        cluster: Some(Cluster { sequencer: 3 }),
        stale_views: true,
        ..Config::incident()
    };
    assert_eq!(stale.validate().unwrap_err().field, "cluster");
}

/// A find-tail reader also queries the log servers when the sequencer's node is alive but
/// does not answer (paused: a Seal request to it timed out), as `tasks/find_tail.rs` falls
/// through to the log servers when `GetSequencerState` fails. Recorded: the
/// `seal-fails-lack-of-confirmations` reproduction, where N1's find-tail assists while N3 (the
/// sequencer) is held paused.
#[test]
fn a_paused_sequencer_lets_find_tail_assist_without_a_crash() {
    let m = Config {
        name: "cluster-paused-sequencer".into(),
        initial_storage: vec![StorageState::ReadWrite; 3],
        cluster: Some(Cluster { sequencer: 3 }),
        faults: sealcheck_model::Faults {
            timeouts: 2,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    let mut s = m.initial_state();
    step(&m, &mut s, "seal()", |a| *a == Action::HarnessCallsSeal);
    step(&m, &mut s, "Seal to N1", deliver_seal(0));
    assert!(
        !enabled(&m, &s, |a| *a == Action::FindTailAssistsSeal),
        "no reader runs while the sequencer answers"
    );
    step(&m, &mut s, "N3 times out", |a| {
        *a == Action::SealRequestFails(2)
    });
    assert!(s.client.sequencer_silent);
    assert_ne!(s.client.sequencer, SequencerPhase::Crashed);
    let l = step(&m, &mut s, "assist", |a| *a == Action::FindTailAssistsSeal);
    assert!(
        l.iter()
            .any(|e| matches!(e, Event::SealAssistStarted { .. })),
        "{l:?}"
    );
    holds_all(&m, &s);
}
