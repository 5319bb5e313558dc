//! The model against rules written down from Restate's code, independently of the model's own
//! functions: the f-majority of the seal task (`crates/types/src/replication/checker.rs`), the
//! checks of `restatectl nodes set-storage-state` without `--force`, and a few log-server
//! details (`crates/log-server/src/loglet_worker.rs`).

use sealcheck_model::model::f_majority_check;
use sealcheck_model::state::FMajority;
use sealcheck_model::state::{has, Bits, LogServer, OffsetSet, Process, Status};
use sealcheck_model::{Config, SealModel, StorageState};

/// One row per kind of nodeset member: (name, storage state the model reads it as, counted
/// among the f-majority's candidates, authoritative). From the checker's rules: Provisioning
/// and unknown ids authoritative, DataLoss counted but not authoritative ("success with
/// risk"), Disabled excluded, ReadOnly and Gone authoritative.
const RULES: &[(&str, StorageState, bool, bool)] = &[
    ("provisioning", StorageState::Provisioning, true, true),
    ("unknown id", StorageState::Provisioning, true, true),
    ("read-write", StorageState::ReadWrite, true, true),
    ("read-only", StorageState::ReadOnly, true, true),
    ("gone", StorageState::Gone, true, true),
    ("data-loss", StorageState::DataLoss, true, false),
    ("disabled", StorageState::Disabled, false, false),
];

/// What the table says a seal with these members and confirmations gets.
fn expected(rows: &[usize], confirmed: &[bool], r: usize) -> FMajority {
    let candidates = rows.iter().filter(|&&k| RULES[k].2).count();
    // Restate: candidate_domains.saturating_sub(R) + 1.
    let needed = if candidates >= r {
        candidates - r + 1
    } else {
        1
    };
    let auth = rows
        .iter()
        .zip(confirmed)
        .filter(|(&k, &c)| c && RULES[k].2 && RULES[k].3)
        .count();
    let other = rows
        .iter()
        .zip(confirmed)
        .filter(|(&k, &c)| c && RULES[k].2 && !RULES[k].3)
        .count();
    let all_auth = rows.iter().filter(|&&k| RULES[k].2 && RULES[k].3).count();
    if auth + other >= needed {
        if auth >= needed {
            FMajority::Success
        } else {
            FMajority::SuccessWithRisk
        }
    } else if auth == all_auth {
        FMajority::BestEffort
    } else {
        FMajority::None
    }
}

fn model(n: usize, r: usize, states: &[StorageState]) -> SealModel {
    Config {
        log_servers: n as u8,
        nodeset: (1..=n as u8).collect(),
        replication: r as u8,
        client: 9,
        initial_storage: states.to_vec(),
        ..Config::incident()
    }
    .into_model()
    .unwrap()
}

/// Every configuration with n = 1..5 members, R = 1..n, every mix of member kinds and every
/// set of confirmations: the property's check and the seal task's decision agree with the
/// table. With the earlier `(n + 1) - R` a nodeset of fewer than R candidates needed no
/// confirmation at all, which this test rejects (n = 3, R = 2, one candidate).
#[test]
fn f_majority_follows_the_checkers_rules_on_every_small_configuration() {
    let mut cases = 0u64;
    for n in 1..=5usize {
        let mixes = RULES.len().pow(n as u32);
        for mix in 0..mixes {
            let rows: Vec<usize> = (0..n)
                .map(|i| (mix / RULES.len().pow(i as u32)) % RULES.len())
                .collect();
            let states: Vec<StorageState> = rows.iter().map(|&k| RULES[k].1).collect();
            for r in 1..=n {
                let m = model(n, r, &states);
                for set in 0..(1u32 << n) {
                    let confirmed: Vec<bool> = (0..n).map(|i| set & (1 << i) != 0).collect();
                    let want = expected(&rows, &confirmed, r);
                    let got = f_majority_check(&states, &confirmed, r as u8);
                    let names: Vec<&str> = rows.iter().map(|&k| RULES[k].0).collect();
                    assert_eq!(
                        got, want,
                        "property check: n={n} R={r} members={names:?} confirmed={confirmed:?}"
                    );
                    assert_eq!(
                        m.seal_task_passes(&states, set as Bits),
                        want.passed(),
                        "seal task: n={n} R={r} members={names:?} confirmed={confirmed:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 1_000_000, "{cases} cases");
}

#[test]
fn fewer_candidates_than_r_need_one_confirmation_and_none_fails() {
    use StorageState::*;
    let states = [ReadWrite, Disabled, Disabled];
    let m = model(3, 2, &states);
    assert_eq!(m.seal_quorum(1), 1);
    assert!(!m.seal_task_passes(&states, 0));
    assert!(m.seal_task_passes(&states, 0b001));
    assert_eq!(
        f_majority_check(&states, &[false, false, false], 2),
        FMajority::None
    );
    // An empty effective nodeset never passes.
    let all = [Disabled, Disabled, Disabled];
    assert!(!f_majority_check(&all, &[true, true, true], 2).passed());
}

/// `restatectl nodes set-storage-state` without `--force`
/// (`tools/restatectl/src/commands/node/storage_state.rs`).
#[test]
fn restatectl_without_force_checks_the_pair_and_the_remaining_read_write_nodes() {
    use StorageState::*;
    let m = model(3, 2, &[ReadWrite, ReadWrite, ReadWrite]);
    let all_rw = [ReadWrite, ReadWrite, ReadWrite];
    // A move to the same state is accepted (and writes a new version).
    assert!(m.operator_may(&all_rw, 0, ReadWrite));
    // ReadWrite -> ReadOnly needs R = 2 other ReadWrite nodes: yes for the first...
    assert!(m.operator_may(&all_rw, 0, ReadOnly));
    // ... not for the second.
    let one_ro = [ReadOnly, ReadWrite, ReadWrite];
    assert!(!m.operator_may(&one_ro, 1, ReadOnly));
    // Even a same-state move to a non-ReadWrite state runs the check.
    let two_ro = [ReadOnly, ReadOnly, ReadWrite];
    assert!(!m.operator_may(&two_ro, 0, ReadOnly));
    // Back to ReadWrite is always fine.
    assert!(m.operator_may(&two_ro, 0, ReadWrite));
    // DataLoss -> ReadWrite, anything -> Gone, and re-entering Provisioning need --force.
    let dl = [DataLoss, ReadWrite, ReadWrite];
    assert!(!m.operator_may(&dl, 0, ReadWrite));
    assert!(!m.operator_may(&all_rw, 0, Gone));
    assert!(!m.operator_may(&all_rw, 0, Provisioning));
    let forced = Config {
        faults: sealcheck_model::Faults {
            operator_force: true,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    assert!(forced.operator_may(&dl, 0, ReadWrite));
    assert!(forced.operator_may(&all_rw, 0, Gone));
}

/// A duplicate store below the local tail is answered Ok (the status function), and the
/// server's answer to a store past `max(local tail, known global tail)` is OutOfBounds.
#[test]
fn store_status_follows_the_loglet_worker() {
    let s = LogServer {
        process: Process::Serving,
        marker: true,
        stored: OffsetSet::from([0, 1]),
        local_tail: 2,
        sealed: false,
        known_global_tail: 2,
    };
    assert_eq!(SealModel::store_status(&s, 0, 0, false), Status::Ok);
    assert_eq!(SealModel::store_status(&s, 2, 0, false), Status::Ok);
    assert_eq!(
        SealModel::store_status(&s, 3, 0, false),
        Status::OutOfBounds
    );
    assert_eq!(SealModel::store_status(&s, 3, 3, false), Status::Ok);
    let sealed = LogServer { sealed: true, ..s };
    assert_eq!(
        SealModel::store_status(&sealed, 0, 0, false),
        Status::Sealed
    );
    assert!(has(0b11, 1));
}

/// Takes the first enabled action `pick` accepts, or panics naming what was wanted.
fn step(
    m: &SealModel,
    s: &sealcheck_model::State,
    what: &str,
    pick: impl Fn(&sealcheck_model::Action) -> bool,
) -> sealcheck_model::State {
    use stateright::Model;
    let mut acts = Vec::new();
    m.actions(s, &mut acts);
    let a = acts
        .into_iter()
        .find(|a| pick(a))
        .unwrap_or_else(|| panic!("{what} is not enabled"));
    m.next_state(s, a).unwrap()
}

/// A member that crashes and restarts while the seal task waits for it gets the next attempt
/// and confirms: its Seal request is re-sent (`RunOnSingleNode`'s three attempts).
#[test]
fn a_member_restarted_between_attempts_still_confirms() {
    use sealcheck_model::state::{MemberSeal, Msg};
    use sealcheck_model::Action::*;
    use StorageState::*;
    let m = Config {
        initial_storage: vec![ReadWrite; 3],
        faults: sealcheck_model::Faults {
            crashes: 1,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    let s = m.init_states_vec();
    let s = step(&m, &s, "seal()", |a| matches!(a, HarnessCallsSeal));
    let s = step(&m, &s, "N1 crashes", |a| matches!(a, LogServerCrashes(0)));
    let s = step(&m, &s, "N1 restarts", |a| matches!(a, LogServerRestarts(0)));
    let s = step(&m, &s, "Seal re-sent to N1", |a| {
        matches!(a, SealRequestResent(0))
    });
    let s = step(&m, &s, "N1 handles Seal", |a| {
        matches!(a, Deliver(Msg::Seal { to: 0, .. }))
    });
    let s = step(&m, &s, "N5 gets N1's reply", |a| {
        matches!(a, Deliver(Msg::Sealed { from: 0, .. }))
    });
    let task = s.client.seal.as_ref().unwrap();
    assert_eq!(task.members[0], Some(MemberSeal::Confirmed));
}

/// The test body's get_trim_point(): answered at once while every member looks Provisioning;
/// with three-step provisioning it fails when the metadata shows ReadWrite but no request pump
/// runs yet, and the test fails (it is not retried).
#[test]
fn get_trim_point_fails_between_the_metadata_update_and_the_request_pump() {
    use sealcheck_model::state::HarnessPhase;
    use sealcheck_model::Action::*;
    let mut cfg = Config::incident();
    cfg.harness.get_trim_point = true;
    cfg.provisioning_steps = true;
    let m = cfg.into_model().unwrap();
    let s0 = m.init_states_vec();
    let early = step(&m, &s0, "trim point at once", |a| {
        matches!(a, HarnessGetsTrimPoint)
    });
    assert_eq!(early.client.harness, HarnessPhase::Ready);
    let s = step(&m, &s0, "N1 writes its marker", |a| {
        matches!(a, LogServerWritesMarker(0))
    });
    let s = step(&m, &s, "N1 provisions", |a| {
        matches!(a, LogServerProvisions(0))
    });
    assert_eq!(s.latest()[0], StorageState::ReadWrite);
    let failed = step(&m, &s, "trim point fails", |a| matches!(a, TrimPointFails));
    assert_eq!(failed.client.harness, HarnessPhase::Failed);
    let s = step(&m, &s, "N1's request pump starts", |a| {
        matches!(a, LogServerStartsRequestPump(0))
    });
    let mut acts = Vec::new();
    stateright::Model::actions(&m, &s, &mut acts);
    assert!(acts.contains(&HarnessGetsTrimPoint));
    assert!(!acts.contains(&TrimPointFails));
}

/// The test's client joins after the harness's wait: with stale views and wait-provisioned, its
/// first snapshot already shows every member ReadWrite, so the guard cannot reject the seal. A
/// sealer running all along can still be rejected.
#[test]
fn a_joining_client_starts_with_the_latest_view() {
    use sealcheck_model::Action::*;
    use sealcheck_model::{ClientStart, HarnessKind};
    let mut cfg = Config::incident();
    cfg.stale_views = true;
    cfg.harness.kind = HarnessKind::WaitProvisioned;
    let joining = cfg.clone().into_model().unwrap();
    cfg.harness.client = ClientStart::Running;
    let running = cfg.into_model().unwrap();
    for (m, rejected) in [(&joining, false), (&running, true)] {
        let mut s = m.init_states_vec();
        for i in 0..3u8 {
            s = step(
                m,
                &s,
                "provision",
                |a| matches!(a, LogServerProvisions(j) if *j == i),
            );
        }
        if !rejected {
            s = step(m, &s, "join", |a| matches!(a, ClientJoins));
            assert_eq!(s.client.view, s.version());
        }
        let mut acts = Vec::new();
        stateright::Model::actions(m, &s, &mut acts);
        assert_eq!(acts.contains(&SealRejectedAllProvisioning), rejected);
        assert_eq!(acts.contains(&HarnessCallsSeal), !rejected);
    }
}

/// The known global tail survives a restart (the log store persists it).
#[test]
fn the_known_global_tail_survives_a_restart() {
    use sealcheck_model::Action::*;
    let m = Config {
        initial_storage: vec![StorageState::ReadWrite; 3],
        faults: sealcheck_model::Faults {
            crashes: 1,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    let mut s = m.init_states_vec();
    s.servers[0].known_global_tail = 3;
    let s = step(&m, &s, "N1 crashes", |a| matches!(a, LogServerCrashes(0)));
    let s = step(&m, &s, "N1 restarts", |a| matches!(a, LogServerRestarts(0)));
    assert_eq!(s.servers[0].known_global_tail, 3);
}

trait Init {
    fn init_states_vec(&self) -> sealcheck_model::State;
}

impl Init for SealModel {
    fn init_states_vec(&self) -> sealcheck_model::State {
        stateright::Model::init_states(self).remove(0)
    }
}

/// A duplicate store for an offset below the local tail is answered Ok without writing
/// (`loglet_worker.rs`, the full-duplicate fast path).
#[test]
fn a_duplicate_store_is_answered_ok_without_writing() {
    use sealcheck_model::state::Msg;
    use sealcheck_model::Action::*;
    let m = Config {
        initial_storage: vec![StorageState::ReadWrite; 3],
        appends: 1,
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    let mut s = m.init_states_vec();
    s.servers[0].local_tail = 2;
    s.servers[0].stored = OffsetSet::from([1]);
    s.send(Msg::Store {
        to: 0,
        offset: 0,
        known_global_tail: 0,
        repair: false,
    });
    let next = step(&m, &s, "N1 handles the store", |a| {
        matches!(
            a,
            Deliver(Msg::Store {
                to: 0,
                offset: 0,
                ..
            })
        )
    });
    assert_eq!(
        next.servers[0].stored,
        OffsetSet::from([1]),
        "nothing written"
    );
    assert_eq!(next.servers[0].local_tail, 2);
    let action = Deliver(Msg::Store {
        to: 0,
        offset: 0,
        known_global_tail: 0,
        repair: false,
    });
    let labels = sealcheck_model::observable::labels(&m, &s, &action, &next);
    assert_eq!(
        labels,
        vec![sealcheck_model::observable::Event::Stored {
            node: sealcheck_model::observable::NodeId(1),
            offset: Some(0),
            status: Some(sealcheck_model::observable::StoreStatus::Ok),
        }]
    );
}
