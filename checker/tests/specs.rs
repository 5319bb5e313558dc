//! Every scenario under specs/ is checked with a pinned unique-state count and a pinned set of
//! failing properties, so a change to the model shows up here as a reviewed diff. The harness
//! variants of the incident (the README's table) and the seeded bugs are pinned the same way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sealcheck::engine::{check, CheckOptions, CheckReport, Strategy, Verdict};
use sealcheck::spec::Spec;
use sealcheck_model::{Config, HarnessKind};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(cfg: &Config, opts: &CheckOptions) -> CheckReport {
    let model = cfg.clone().into_model().unwrap();
    opts.validate(&model).unwrap();
    check(&model, opts, &mut |_| {})
}

fn failing(r: &CheckReport) -> BTreeSet<&'static str> {
    r.properties
        .iter()
        .filter(|p| p.failure)
        .map(|p| p.name)
        .collect()
}

/// (spec file, unique states with BFS, properties that fail).
const PINNED: &[(&str, usize, &[&str])] = &[
    ("specs/appends-then-seal.toml", 2681, &[]),
    ("specs/bench-five-servers.toml", 354204, &[]),
    ("specs/bench-four-servers.toml", 4438401, &[]),
    ("specs/crash-restart.toml", 2060, &[]),
    (
        "specs/forced-provisioning.toml",
        110,
        &["a seal the harness starts eventually succeeds"],
    ),
    ("specs/message-loss.toml", 14379, &[]),
    ("specs/operator-moves.toml", 91154, &[]),
    (
        "specs/paused-members.toml",
        120,
        &["a seal the harness starts eventually succeeds"],
    ),
    (
        "specs/three_logserver_seal_empty.toml",
        542,
        &["a seal the harness starts eventually succeeds"],
    ),
    ("specs/wait-provisioned.toml", 196, &[]),
    (
        "specs/bugs/ack-before-quorum.toml",
        4289,
        &["every acknowledged record is stored on a write quorum"],
    ),
    (
        "specs/bugs/provisioning-writable.toml",
        3282,
        &["a Provisioning log server stores nothing"],
    ),
    (
        "specs/bugs/seal-one-confirmation.toml",
        4787,
        &["a seal completes only with an f-majority of confirmations"],
    ),
    (
        "specs/bugs/seal-without-drain.toml",
        3283,
        &[
            "acknowledged offsets stay below the sealed tail",
            "the sequencer seals only after draining",
        ],
    ),
    (
        "specs/bugs/store-after-seal.toml",
        5777,
        &["a durably sealed log server accepts no new record"],
    ),
];

fn spec_files(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            spec_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(
                p.strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn every_spec_file_is_pinned() {
    let mut files = Vec::new();
    spec_files(&root().join("specs"), &mut files);
    files.sort();
    let mut pinned: Vec<String> = PINNED.iter().map(|p| p.0.to_string()).collect();
    pinned.sort();
    assert_eq!(
        files, pinned,
        "add a pin for every spec file (and only those)"
    );
}

#[test]
fn every_spec_explores_its_pinned_state_count_and_verdicts() {
    for (file, unique, fails) in PINNED {
        let spec = Spec::load(&root().join(file)).unwrap();
        let r = run(&spec.config, &CheckOptions::default());
        assert!(r.incomplete.is_none(), "{file}: run incomplete");
        assert_eq!(r.unique_states, *unique, "{file}: unique states");
        let expected: BTreeSet<&str> = fails.iter().copied().collect();
        assert_eq!(failing(&r), expected, "{file}: failing properties");
        for p in &r.properties {
            if p.failure {
                assert!(p.trail.as_ref().unwrap().shortest, "{file}: {}", p.name);
            }
        }
    }
}

/// The README's table: harness x stale views on the incident scenario.
/// (harness, stale views, unique states, verdict of the liveness property and its
/// counterexample length, verdict of the all-Provisioning rejection).
#[test]
fn harness_variants_of_the_incident() {
    use Verdict::*;
    type Row = (HarnessKind, bool, usize, Verdict, Option<usize>, Verdict);
    let rows: &[Row] = &[
        (
            HarnessKind::SealOnce,
            false,
            542,
            Violated,
            Some(4),
            Reached,
        ),
        (
            HarnessKind::SealOnce,
            true,
            1400,
            Violated,
            Some(5),
            Reached,
        ),
        (
            HarnessKind::Retry,
            false,
            13826,
            Violated,
            Some(13),
            Reached,
        ),
        (HarnessKind::Retry, true, 35429, Violated, Some(14), Reached),
        (
            HarnessKind::WaitProvisioned,
            false,
            196,
            Holds,
            None,
            Unreachable,
        ),
        (
            HarnessKind::WaitProvisioned,
            true,
            601,
            Violated,
            Some(5),
            Reached,
        ),
    ];
    for &(kind, stale, unique, live, len, rejected) in rows {
        let mut cfg = Config::incident();
        cfg.harness.kind = kind;
        cfg.stale_views = stale;
        let r = run(&cfg, &CheckOptions::default());
        let what = format!("{} stale={stale}", kind.name());
        assert!(r.incomplete.is_none(), "{what}");
        assert_eq!(r.unique_states, unique, "{what}: unique states");
        for p in &r.properties {
            if p.kind == sealcheck_model::PropertyKind::Always {
                assert_eq!(p.verdict, Holds, "{what}: {} must hold", p.name);
            }
        }
        let get = |n: &str| r.properties.iter().find(|p| p.name == n).unwrap();
        let l = get("a seal the harness starts eventually succeeds");
        assert_eq!(l.verdict, live, "{what}: liveness");
        assert_eq!(l.trail.as_ref().map(|t| t.steps.len()), len, "{what}");
        assert_eq!(
            get("a seal is rejected because all members look Provisioning").verdict,
            rejected,
            "{what}: all-Provisioning rejection"
        );
    }
}

/// The headline result: the flaky test's counterexample shows the seal rejected because every
/// member looked Provisioning, as its first step.
#[test]
fn incident_counterexample_shows_the_all_provisioning_rejection() {
    let r = run(&Config::incident(), &CheckOptions::default());
    let p = r
        .properties
        .iter()
        .find(|p| p.name == "a seal the harness starts eventually succeeds")
        .unwrap();
    let t = p.trail.as_ref().unwrap();
    assert_eq!(t.path, "0/3/0/0/0");
    assert!(t.steps[0]
        .action
        .contains("rejected: all nodeset members are in `Provisioning` storage state"));
    assert!(t.steps[1..]
        .iter()
        .all(|s| s.action.contains("provisions itself")));
}

/// Symmetry reduction (DFS only) explores fewer states and reaches the same verdicts, on every
/// scenario where log servers are interchangeable.
#[test]
fn symmetry_preserves_verdicts() {
    let opts = CheckOptions {
        strategy: Strategy::Dfs,
        symmetry: true,
        ..CheckOptions::default()
    };
    let mut reduced = 0;
    for (file, unique, _) in PINNED {
        let spec = Spec::load(&root().join(file)).unwrap();
        let model = spec.config.clone().into_model().unwrap();
        if !model.symmetric() || *unique > 300_000 {
            continue;
        }
        let full = run(&spec.config, &CheckOptions::default());
        let sym = run(&spec.config, &opts);
        let verdicts = |r: &CheckReport| -> Vec<(&str, Verdict)> {
            r.properties.iter().map(|p| (p.name, p.verdict)).collect()
        };
        assert_eq!(verdicts(&full), verdicts(&sym), "{file}");
        if sym.unique_states < full.unique_states {
            reduced += 1;
        }
    }
    assert!(reduced >= 5, "symmetry reduced only {reduced} scenarios");
}

#[test]
fn symmetry_is_refused_where_unsound_and_with_bfs() {
    let mut cfg = Config::incident();
    cfg.nodeset = vec![1, 2];
    let model = cfg.into_model().unwrap();
    let opts = CheckOptions {
        strategy: Strategy::Dfs,
        symmetry: true,
        ..CheckOptions::default()
    };
    assert!(opts.validate(&model).is_err());
    let bfs = CheckOptions {
        symmetry: true,
        ..CheckOptions::default()
    };
    let model = Config::incident().into_model().unwrap();
    assert!(bfs.validate(&model).is_err());
}
