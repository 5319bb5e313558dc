//! The engine's workarounds for stateright 0.31: shortest counterexamples, honest reporting of
//! bounded and timed-out runs, the one-thread timeout, simulation.

use std::time::{Duration, Instant};

use sealcheck::engine::{check, CheckOptions, Incomplete, Strategy, Verdict};
use sealcheck::shortest;
use sealcheck::spec::Spec;
use sealcheck_model::{Config, SealModel, State};
use stateright::{Checker, Model};

fn incident() -> SealModel {
    Config::incident().into_model().unwrap()
}

/// Is there a path of exactly `len` steps from the init state to a state matching `target`?
/// Plain depth-first enumeration of every path: independent of the search under test.
fn exists_path_of_len(
    model: &SealModel,
    state: &State,
    len: usize,
    target: &dyn Fn(&SealModel, &State, bool) -> bool,
) -> bool {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    if len == 0 {
        return target(model, state, actions.is_empty());
    }
    actions.into_iter().any(|a| {
        let next = model.next_state(state, a).unwrap();
        exists_path_of_len(model, &next, len - 1, target)
    })
}

#[test]
fn counterexamples_are_shortest_by_exhaustive_enumeration() {
    let model = incident();
    let r = check(&model, &CheckOptions::default(), &mut |_| {});
    for p in r.properties.iter().filter(|p| p.trail.is_some()) {
        let info = model.property_info(p.name).unwrap();
        let cond = info.condition;
        let kind = info.kind;
        let target = move |m: &SealModel, s: &State, terminal: bool| match kind {
            sealcheck_model::PropertyKind::Always => !cond(m, s),
            sealcheck_model::PropertyKind::Sometimes => cond(m, s),
            sealcheck_model::PropertyKind::Eventually => terminal && !cond(m, s),
        };
        let len = p.trail.as_ref().unwrap().steps.len();
        let init = model.initial_state();
        assert!(
            exists_path_of_len(&model, &init, len, &target),
            "{}",
            p.name
        );
        for shorter in 0..len {
            assert!(
                !exists_path_of_len(&model, &init, shorter, &target),
                "{}: a path of {shorter} < {len} steps exists",
                p.name
            );
        }
    }
}

/// stateright 0.31's BFS does not report shortest paths while other properties are open: the
/// all-Provisioning rejection is one step from the start, stateright reports a longer path.
/// If a new stateright fixes this, this test says so and the workaround can be reviewed.
#[test]
fn stateright_bfs_paths_are_not_shortest_but_ours_are() {
    let model = incident();
    let name = "a seal is rejected because all members look Provisioning";
    let theirs = model
        .clone()
        .checker()
        .spawn_bfs()
        .join()
        .discovery(name)
        .unwrap()
        .into_actions()
        .len();
    let r = check(&model, &CheckOptions::default(), &mut |_| {});
    let ours = r
        .properties
        .iter()
        .find(|p| p.name == name)
        .unwrap()
        .trail
        .as_ref()
        .unwrap()
        .steps
        .len();
    assert_eq!(ours, 1);
    assert!(theirs > ours, "stateright now gives {theirs} steps");
}

#[test]
fn a_timeout_stops_a_one_thread_run_and_proves_nothing() {
    let spec = Spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/bench-five-servers.toml"),
    )
    .unwrap();
    let model = spec.config.into_model().unwrap();
    let opts = CheckOptions {
        threads: 1,
        timeout: Some(Duration::from_millis(200)),
        ..CheckOptions::default()
    };
    let start = Instant::now();
    let r = check(&model, &opts, &mut |_| {});
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(r.incomplete, Some(Incomplete::Timeout(_))));
    assert!(r.unique_states < 354_204);
    assert!(r.properties.iter().all(|p| p.verdict != Verdict::Holds));
    assert_eq!(r.exit_code(), 3);
}

#[test]
fn bounded_runs_are_incomplete_and_undecided() {
    let model = Config::incident().into_model().unwrap();
    for opts in [
        CheckOptions {
            max_states: Some(50),
            ..CheckOptions::default()
        },
        CheckOptions {
            max_depth: Some(2),
            ..CheckOptions::default()
        },
    ] {
        let r = check(&model, &opts, &mut |_| {});
        assert!(r.incomplete.is_some());
        assert!(r
            .properties
            .iter()
            .all(|p| p.verdict != Verdict::Holds && p.verdict != Verdict::Unreachable));
    }
}

#[test]
fn a_bounded_run_still_reports_what_it_found() {
    // Depth 3 (paths of up to 2 steps; the init state is depth 1) reaches the all-Provisioning
    // rejection (1 step) but no terminal state.
    let model = incident();
    let opts = CheckOptions {
        max_depth: Some(3),
        ..CheckOptions::default()
    };
    let r = check(&model, &opts, &mut |_| {});
    let get = |n: &str| r.properties.iter().find(|p| p.name == n).unwrap().verdict;
    assert_eq!(
        get("a seal is rejected because all members look Provisioning"),
        Verdict::Reached
    );
    assert_eq!(
        get("a seal the harness starts eventually succeeds"),
        Verdict::Undecided
    );
}

#[test]
fn simulation_finds_the_incident_and_reports_a_replayable_shortest_path() {
    let model = incident();
    let opts = CheckOptions {
        strategy: Strategy::Simulation { seed: 7 },
        max_states: Some(5_000),
        ..CheckOptions::default()
    };
    let r = check(&model, &opts, &mut |_| {});
    let p = r
        .properties
        .iter()
        .find(|p| p.name == "a seal the harness starts eventually succeeds")
        .unwrap();
    assert_eq!(p.verdict, Verdict::Violated);
    let t = p.trail.as_ref().unwrap();
    let indices = shortest::parse_path(&t.path).unwrap();
    let states = shortest::states_along(&model, &indices).unwrap();
    let mut acts = Vec::new();
    model.actions(states.last().unwrap(), &mut acts);
    assert!(
        acts.is_empty(),
        "the counterexample ends in a terminal state"
    );
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn multi_threaded_bfs_agrees_with_one_thread() {
    let model = Config {
        appends: 1,
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    let one = check(&model, &CheckOptions::default(), &mut |_| {});
    let two = check(
        &model,
        &CheckOptions {
            threads: 2,
            ..CheckOptions::default()
        },
        &mut |_| {},
    );
    assert_eq!(one.unique_states, two.unique_states);
    let v = |r: &sealcheck::engine::CheckReport| -> Vec<_> {
        r.properties.iter().map(|p| (p.name, p.verdict)).collect()
    };
    assert_eq!(v(&one), v(&two));
}

#[test]
fn paths_decode_and_bad_paths_are_errors() {
    let model = incident();
    assert!(shortest::decode(&model, &shortest::parse_path("0/3/0/0/0").unwrap()).is_ok());
    assert!(shortest::parse_path("0/x").is_err());
    assert!(shortest::parse_path("").is_err());
    let e = shortest::decode(&model, &[0, 99]).unwrap_err();
    assert!(e.to_string().contains("names action 99"), "{e}");
    assert!(shortest::decode(&model, &[1]).is_err());
}
