//! Every scenario under specs/ is checked with a pinned unique-state count and a pinned set of
//! failing properties, so a change to the model shows up here as a reviewed diff. The harness
//! variants of the incident (the README's table) and the seeded bugs are pinned the same way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sealcheck::engine::{check, CheckOptions, CheckReport, Strategy, Verdict};
use sealcheck::spec::Spec;
use sealcheck_model::{ClientStart, Config, HarnessKind};

/// Unique states of specs/bench-four-servers.toml (BFS).
const BENCH_FOUR: usize = 4204035;

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
    ("specs/appends-then-seal.toml", 2415, &[]),
    ("specs/bench-five-servers.toml", 322188, &[]),
    ("specs/bench-four-servers.toml", BENCH_FOUR, &[]),
    (
        "specs/cluster-paused-members.toml",
        1090,
        &["a seal the harness starts eventually succeeds"],
    ),
    ("specs/cluster-partitioned-member.toml", 2784, &[]),
    ("specs/cluster-roles.toml", 269951, &[]),
    ("specs/crash-restart.toml", 2540, &[]),
    (
        "specs/forced-provisioning.toml",
        104,
        &["a seal the harness starts eventually succeeds"],
    ),
    ("specs/message-loss.toml", 23303, &[]),
    ("specs/operator-moves.toml", 94185, &[]),
    ("specs/other-seals.toml", 163052, &[]),
    ("specs/other-seals-cluster.toml", 138054, &[]),
    ("specs/other-repairs-cluster.toml", 1251181, &[]),
    (
        "specs/paused-members.toml",
        116,
        &["a seal the harness starts eventually succeeds"],
    ),
    (
        "specs/provisioning-steps.toml",
        1412,
        &["a seal the harness starts eventually succeeds"],
    ),
    (
        "specs/running-sealer.toml",
        565,
        &["a seal the harness starts eventually succeeds"],
    ),
    (
        "specs/three_logserver_seal_empty.toml",
        546,
        &["a seal the harness starts eventually succeeds"],
    ),
    (
        "specs/two-members-disabled.toml",
        7,
        &["a seal the harness starts eventually succeeds"],
    ),
    ("specs/wait-provisioned.toml", 190, &[]),
    (
        "specs/bugs/ack-before-quorum.toml",
        3879,
        &["every acknowledged record is stored on a write quorum"],
    ),
    (
        "specs/bugs/provisioning-writable.toml",
        2964,
        &["a Provisioning log server stores nothing"],
    ),
    (
        "specs/bugs/seal-one-confirmation.toml",
        4255,
        &["a seal completes only with an f-majority of confirmations"],
    ),
    (
        "specs/bugs/seal-without-drain.toml",
        2860,
        &[
            "acknowledged offsets stay below the sealed tail",
            "the sequencer seals only after draining",
        ],
    ),
    (
        "specs/bugs/store-after-seal.toml",
        5151,
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

/// The README's table: harness x views x sealer on specs/three_logserver_seal_empty.toml. The test's client
/// joins after the harness's wait (its first snapshot is current); a sealer that was running
/// all along (the admin node of `restatectl logs seal`) starts at version 1.
/// (harness, stale views, sealer, unique states, verdict of the liveness property and its
/// counterexample length, verdict of the all-Provisioning rejection).
#[test]
fn harness_variants_of_the_incident() {
    use ClientStart::{Joining, Running};
    use HarnessKind::*;
    use Verdict::*;
    type Row = (
        HarnessKind,
        bool,
        ClientStart,
        usize,
        Verdict,
        Option<usize>,
        Verdict,
    );
    let rows: &[Row] = &[
        (SealOnce, false, Joining, 546, Violated, Some(5), Reached),
        (SealOnce, true, Joining, 1429, Violated, Some(7), Reached),
        (Retry, false, Joining, 15013, Violated, Some(15), Reached),
        (Retry, true, Joining, 38336, Violated, Some(17), Reached),
        (
            WaitProvisioned,
            false,
            Joining,
            190,
            Holds,
            None,
            Unreachable,
        ),
        (
            WaitProvisioned,
            true,
            Joining,
            196,
            Holds,
            None,
            Unreachable,
        ),
        (SealOnce, true, Running, 1364, Violated, Some(5), Reached),
        (Retry, true, Running, 38271, Violated, Some(15), Reached),
        (
            WaitProvisioned,
            true,
            Running,
            565,
            Violated,
            Some(5),
            Reached,
        ),
    ];
    for &(kind, stale, client, unique, live, len, rejected) in rows {
        let mut cfg = Spec::load(&root().join("specs/three_logserver_seal_empty.toml"))
            .unwrap()
            .config;
        cfg.harness.kind = kind;
        cfg.harness.client = client;
        cfg.stale_views = stale;
        if client == Running {
            // The admin node's seal comes from restatectl, not the test body.
            cfg.harness.get_trim_point = false;
        }
        let r = run(&cfg, &CheckOptions::default());
        let what = format!("{} stale={stale} client={}", kind.name(), client.name());
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
/// member looked Provisioning, right after `get_trim_point()`.
#[test]
fn incident_counterexample_shows_the_all_provisioning_rejection() {
    let spec = Spec::load(&root().join("specs/three_logserver_seal_empty.toml")).unwrap();
    let r = run(&spec.config, &CheckOptions::default());
    let p = r
        .properties
        .iter()
        .find(|p| p.name == "a seal the harness starts eventually succeeds")
        .unwrap();
    let t = p.trail.as_ref().unwrap();
    assert_eq!(t.path, "0/3/3/0/0/0");
    // get_trim_point() answers None at once (every member looks Provisioning)...
    assert!(t.steps[0]
        .action
        .contains("get_trim_point() on loglet 1_0 answers"));
    assert!(t.steps[1]
        .action
        .contains("rejected: all nodeset members are in `Provisioning` storage state"));
    assert!(t.steps[2..]
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
