//! The forgetful model validation uses ([`SealModel::forgetful`]) takes the same steps as the
//! model it forgets for: on every reachable state of a scenario, forgetting the reply bits of
//! resolved appends keeps the enabled steps, commutes with every step, and keeps the
//! validator's fingerprint; and the sticky `store_answered_sealed` the remote sequencer reads
//! instead of those bits says exactly what they said.

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use sealcheck::spec::Spec;
use sealcheck::validate::reduce::canonical_fingerprint;
use sealcheck_model::{SealModel, State};
use stateright::Model;

fn model(spec: &str) -> SealModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(spec);
    Spec::load(&path).unwrap().config.into_model().unwrap()
}

/// Every reachable state of `model`, breadth-first.
fn reachable(model: &SealModel) -> Vec<State> {
    let mut seen: HashSet<State> = HashSet::new();
    let mut queue: VecDeque<State> = model.init_states().into();
    let mut out = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(s.clone()) {
            continue;
        }
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        for a in actions {
            if let Some(next) = model.next_state(&s, a) {
                if !seen.contains(&next) {
                    queue.push_back(next);
                }
            }
        }
        out.push(s);
    }
    out
}

fn forget(s: &State) -> State {
    let mut f = s.clone();
    f.client.appends.forget_resolved_replies();
    f
}

/// The remote sequencer's reason to look for a seal, once read from every append's `sealed`
/// bits, is now the sticky history fact; on every state of the cluster scenario they agree.
#[test]
fn store_answered_sealed_is_some_append_with_sealed_bits() {
    let m = model("specs/cluster-roles.toml");
    let states = reachable(&m);
    assert_eq!(states.len(), 269951, "the pinned count of specs.rs");
    let mut answered = 0;
    for s in &states {
        let bits = s.client.appends.any(|a| a.sealed != 0);
        assert_eq!(s.history.store_answered_sealed, bits, "{s:#?}");
        answered += usize::from(bits);
    }
    assert!(answered > 0, "some store is answered Sealed");
}

/// On every reachable state: the forgotten state enables the same steps, each step of the
/// forgetful model from it reaches the forgotten successor, and the validator's fingerprint
/// does not see the difference.
#[test]
fn forgetting_commutes_with_every_step() {
    for spec in [
        "specs/cluster-roles.toml",
        "specs/appends-then-seal.toml",
        "specs/message-loss.toml",
        "specs/bugs/ack-before-quorum.toml",
        "specs/bugs/seal-without-drain.toml",
    ] {
        let m = model(spec);
        let f = m.clone().forgetful();
        let mut resolved = 0;
        for s in reachable(&m) {
            let fs = forget(&s);
            resolved += usize::from(fs != s);
            assert_eq!(
                canonical_fingerprint(&m, &s),
                canonical_fingerprint(&f, &fs),
                "{spec}: {s:#?}"
            );
            let (mut acts, mut forgotten_acts) = (Vec::new(), Vec::new());
            m.actions(&s, &mut acts);
            f.actions(&fs, &mut forgotten_acts);
            assert_eq!(acts, forgotten_acts, "{spec}: {s:#?}");
            for a in acts {
                let next = m.next_state(&s, a.clone()).map(|n| forget(&n));
                assert_eq!(f.next_state(&fs, a), next, "{spec}: {s:#?}");
            }
        }
        assert!(resolved > 0, "{spec}: some state forgets something");
    }
}
