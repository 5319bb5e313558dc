//! The reduction of unlogged steps is only as sound as the dependences it declares
//! (`checker/src/validate/reduce.rs`, argued in the essay of `checker/src/validate/mod.rs`). This
//! checks them on every reachable state of several scenarios, seeded bugs included:
//!
//! - every pair it declares independent commutes: the stubborn-set member `a` stays enabled
//!   after the unlogged step `b`, `b` then `a` ends in the same canonical state as `a` then `b`
//!   (or as `a` alone, when `a` makes `b` stale), and `a` keeps its labels;
//! - every unlogged step that enables a step of some class is declared an enabler of it;
//! - a step that moves another step into a different class is one that acknowledges.

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use sealcheck::spec::Spec;
use sealcheck::trace_reader::Header;
use sealcheck::validate::model_for;
use sealcheck::validate::reduce::{canonical_fingerprint, Class, Reducer};
use sealcheck_model::observable::labels;
use sealcheck_model::{Action, SealModel, State};
use stateright::Model;

fn actions(model: &SealModel, s: &State) -> Vec<Action> {
    let mut a = Vec::new();
    model.actions(s, &mut a);
    a
}

fn next(model: &SealModel, s: &State, a: &Action) -> State {
    model.next_state(s, a.clone()).expect("enabled")
}

/// Checks the declarations on up to `limit` reachable states; returns the states checked and
/// the independent pairs checked.
fn check(spec: &str, complete: &[&str], limit: usize) -> (usize, usize) {
    check_from(spec, complete, limit, &[])
}

/// A step chosen by what it is: the first enabled action the predicate accepts.
type Pick = fn(&Action) -> bool;

/// Like [`check`], but the exploration starts from the state reached by taking, from the
/// initial state, the first enabled action each `prefix` predicate accepts (to reach deep
/// steps within the state limit).
fn check_from(spec: &str, complete: &[&str], limit: usize, prefix: &[Pick]) -> (usize, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cfg = Spec::load(&root.join(spec)).unwrap().config;
    let mut header = Header::generated(cfg, "test", false);
    header.complete = complete.iter().map(|s| s.to_string()).collect();
    let model = model_for(&header, true);
    let reducer = Reducer::new(&model, &header);
    let hidden = |ls: &[sealcheck_model::observable::Event]| {
        ls.iter().all(|l| !header.is_complete(l.kind()))
    };
    let mut seen: HashSet<State> = HashSet::new();
    let mut queue: VecDeque<State> = VecDeque::new();
    let mut init = model.initial_state();
    for pick in prefix {
        let a = actions(&model, &init)
            .into_iter()
            .find(pick)
            .unwrap_or_else(|| panic!("{spec}: no step of the prefix in\n{init:#?}"));
        init = next(&model, &init, &a);
    }
    seen.insert(init.clone());
    queue.push_back(init);
    let mut states = 0;
    let mut pairs = 0;
    while let Some(s) = queue.pop_front() {
        states += 1;
        let acts = actions(&model, &s);
        for a in &acts {
            let sa = next(&model, &s, a);
            let la = labels(&model, &s, a, &sa);
            let after_a = actions(&model, &sa);
            for b in &acts {
                if a == b {
                    continue;
                }
                let sb = next(&model, &s, b);
                let lb = labels(&model, &s, b, &sb);
                // `b` stands for an unlogged step outside the stubborn set.
                if hidden(&lb) {
                    let class_a = Class::of(&model, &s, a);
                    let class_b = Class::of(&model, &s, b);
                    // Enabling: what `b` enables must be declared.
                    let before: Vec<Action> = acts.clone();
                    for c in actions(&model, &sb) {
                        if !before.contains(&c) {
                            assert!(
                                reducer.declared_enabler(&s, b, Class::of(&model, &sb, &c)),
                                "{spec}: {b:?} ({class_b:?}) enables {c:?} ({:?}) undeclared in\n{s:#?}",
                                Class::of(&model, &sb, &c)
                            );
                        } else if Class::of(&model, &s, &c) != Class::of(&model, &sb, &c) {
                            assert!(
                                matches!(class_b, Class::ReplyHead | Class::AckEarly),
                                "{spec}: {b:?} moves {c:?} to another class"
                            );
                        }
                    }
                    if reducer.declared_independent(&s, a, b) {
                        pairs += 1;
                        let after_b = actions(&model, &sb);
                        assert!(
                            after_b.contains(a),
                            "{spec}: {b:?} ({class_b:?}) disables {a:?} ({class_a:?}) in\n{s:#?}"
                        );
                        let sba = next(&model, &sb, a);
                        let lba = labels(&model, &sb, a, &sba);
                        let reply_pair = matches!(
                            (class_a, class_b),
                            (
                                Class::ReplyHead | Class::ReplyTail | Class::AckEarly,
                                Class::ReplyTail
                            ) | (Class::ReplyTail, Class::ReplyHead)
                        );
                        if !reply_pair {
                            assert_eq!(la, lba, "{spec}: {a:?} relabelled by {b:?} in\n{s:#?}");
                        }
                        let target = if after_a.contains(b) {
                            next(&model, &sa, b)
                        } else {
                            sa.clone()
                        };
                        assert_eq!(
                            canonical_fingerprint(&model, &sba),
                            canonical_fingerprint(&model, &target),
                            "{spec}: {a:?} ({class_a:?}) and {b:?} ({class_b:?}) do not commute in\n{s:#?}\nb then a:\n{sba:#?}\na then b:\n{target:#?}"
                        );
                    }
                }
            }
            if seen.len() < limit && seen.insert(sa.clone()) {
                queue.push_back(sa);
            }
        }
    }
    (states, pairs)
}

/// What a recorded Restate run logs completely.
const RECORDED: &[&str] = &sealcheck_recorder::import::COMPLETE_KINDS;

#[test]
fn declared_independences_commute_and_enablers_are_declared() {
    for spec in [
        "specs/appends-then-seal.toml",
        "specs/crash-restart.toml",
        "specs/message-loss.toml",
        "specs/forced-provisioning.toml",
        "specs/paused-members.toml",
        "specs/operator-moves.toml",
        "specs/provisioning-steps.toml",
        "specs/three_logserver_seal_empty.toml",
        "specs/running-sealer.toml",
        "specs/cluster-roles.toml",
        "specs/other-seals.toml",
        "specs/other-seals-cluster.toml",
        "specs/other-repairs-cluster.toml",
    ] {
        for complete in [&[][..], RECORDED] {
            let (states, pairs) = check(spec, complete, 8_000);
            assert!(
                states > 100 && pairs > 100,
                "{spec}: {states} states, {pairs} pairs"
            );
        }
    }
}

/// The cluster's find-tail reader acts only after the sequencer's node crashed and the seal
/// went through, deeper than the limit above reaches: check its steps from there. After the
/// first prefix the reader repairs the tail (N1 holds a record N2 lacks); after the second it
/// assists the seal (the restarted N3 is not sealed).
#[test]
fn cluster_find_tail_steps_commute_as_declared() {
    use sealcheck_model::state::Msg;
    let store_to_n1: Pick = |a| matches!(a, Action::Deliver(Msg::Store { to: 0, .. }));
    let seal_to_n1: Pick = |a| matches!(a, Action::Deliver(Msg::Seal { to: 0, .. }));
    let seal_to_n2: Pick = |a| matches!(a, Action::Deliver(Msg::Seal { to: 1, .. }));
    let sealed: Pick = |a| matches!(a, Action::Deliver(Msg::Sealed { .. }));
    let repair: &[Pick] = &[
        |a| matches!(a, Action::SequencerAppends),
        store_to_n1,
        |a| matches!(a, Action::LogServerCrashes(2)),
        |a| matches!(a, Action::HarnessCallsSeal),
        seal_to_n1,
        seal_to_n2,
        sealed,
        sealed,
    ];
    let assist: &[Pick] = &[
        |a| matches!(a, Action::LogServerCrashes(2)),
        |a| matches!(a, Action::LogServerRestarts(2)),
        |a| matches!(a, Action::HarnessCallsSeal),
        seal_to_n1,
        seal_to_n2,
        sealed,
        sealed,
    ];
    let specs = [
        "specs/cluster-roles.toml",
        "specs/other-repairs-cluster.toml",
    ];
    for (spec, prefix) in specs.iter().flat_map(|s| [(s, repair), (s, assist)]) {
        for complete in [&[][..], RECORDED] {
            let (states, pairs) = check_from(spec, complete, 3_000, prefix);
            eprintln!(
                "{spec} after a prefix of {}: {states} states, {pairs} pairs",
                prefix.len()
            );
            assert!(states > 40 && pairs > 100, "{states} states, {pairs} pairs");
        }
    }
}
