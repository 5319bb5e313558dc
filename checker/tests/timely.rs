//! `check --engine timely` against the default engine: the same unique-state counts, generated
//! counts, depths, verdicts and counterexample lengths on every scenario, with one and two
//! workers in one process and with two processes on 127.0.0.1; bounded runs are incomplete;
//! counterexamples replay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use sealcheck::engine::{check, CheckOptions, CheckReport, Verdict};
use sealcheck::spec::Spec;
use sealcheck::timely as distributed;
use sealcheck_distributed::{Bounds, Cluster};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every spec file, except the four-server benchmark (4.2 million states: too slow for a
/// debug test; `sealcheck bench-distributed` covers it).
fn spec_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
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
    let mut out = Vec::new();
    walk(&root().join("specs"), &mut out);
    out.sort();
    out.retain(|f| !f.ends_with("bench-four-servers.toml"));
    out
}

/// Unique states, generated states, depth, and per property its name, verdict and the length
/// of its counterexample or example.
type Summary = (
    usize,
    usize,
    usize,
    Vec<(&'static str, Verdict, Option<usize>)>,
);

/// What must agree between the engines.
fn summary(r: &CheckReport) -> Summary {
    (
        r.unique_states,
        r.states,
        r.max_depth,
        r.properties
            .iter()
            .map(|p| (p.name, p.verdict, p.trail.as_ref().map(|t| t.steps.len())))
            .collect(),
    )
}

fn timely(model: &sealcheck_model::SealModel, cluster: &Cluster) -> CheckReport {
    distributed::check(model, &CheckOptions::default(), cluster, true).unwrap()
}

#[test]
fn timely_engine_agrees_with_the_default_engine_on_every_spec() {
    let files = spec_files();
    assert!(files.len() >= 15, "{files:?}");
    for file in &files {
        let spec = Spec::load(&root().join(file)).unwrap();
        let model = spec.config.clone().into_model().unwrap();
        let reference = check(&model, &CheckOptions::default(), &mut |_| {});
        assert!(reference.incomplete.is_none(), "{file}");
        for workers in [1, 2] {
            let r = timely(&model, &Cluster::local(workers));
            assert!(r.incomplete.is_none(), "{file}, {workers} workers");
            assert_eq!(
                summary(&r),
                summary(&reference),
                "{file}, {workers} workers"
            );
            assert_eq!(r.exit_code(), reference.exit_code(), "{file}");
            for p in &r.properties {
                if let Some(t) = &p.trail {
                    assert!(t.shortest, "{file}: {}", p.name);
                }
            }
        }
    }
}

/// One check run as `processes` processes of the library on loopback (threads of this test,
/// each with its own timely communication over TCP), every process's report.
fn on_loopback(
    model: &Arc<sealcheck_model::SealModel>,
    processes: usize,
    workers: usize,
) -> Vec<CheckReport> {
    let ports = distributed::free_ports(processes).unwrap();
    let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let secret = sealcheck_distributed::Secret::generate().unwrap();
    let handles: Vec<_> = (0..processes)
        .map(|process| {
            let model = model.clone();
            let cluster = Cluster {
                workers,
                processes,
                process,
                addresses: addresses.clone(),
                secret: Some(secret.clone()),
            };
            std::thread::spawn(move || timely(&model, &cluster))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Every spec with 2 processes on loopback, and the smaller ones with 4 processes and with
/// 2 processes of 2 workers: every process reports the default engine's counts, verdicts and
/// counterexample lengths, and all processes rebuild the same paths.
#[test]
fn processes_on_loopback_agree_with_the_default_engine_on_every_spec() {
    for file in spec_files() {
        let spec = Spec::load(&root().join(&file)).unwrap();
        let model = Arc::new(spec.config.clone().into_model().unwrap());
        let reference = check(&model, &CheckOptions::default(), &mut |_| {});
        let mut shapes = vec![(2, 1)];
        if reference.unique_states < 50_000 {
            shapes.extend([(4, 1), (2, 2)]);
        }
        for (processes, workers) in shapes {
            let reports = on_loopback(&model, processes, workers);
            let paths = |r: &CheckReport| -> Vec<Option<String>> {
                r.properties
                    .iter()
                    .map(|p| p.trail.as_ref().map(|t| t.path.clone()))
                    .collect()
            };
            for r in &reports {
                let what = format!("{file}, {processes} processes x {workers} workers");
                assert!(r.incomplete.is_none(), "{what}");
                assert_eq!(summary(r), summary(&reference), "{what}");
                assert_eq!(r.exit_code(), reference.exit_code(), "{what}");
                assert_eq!(paths(r), paths(&reports[0]), "{what}");
            }
        }
    }
}

fn sealcheck() -> Command {
    let mut c = Command::cargo_bin("sealcheck").unwrap();
    c.current_dir(root());
    c
}

/// `sealcheck check FILE --engine timely --local-processes 2 --format json -q`, with `extra`
/// flags.
fn two_local_processes(file: &str, extra: &[&str]) -> std::process::Output {
    sealcheck()
        .args([
            "check",
            file,
            "--engine",
            "timely",
            "--local-processes",
            "2",
        ])
        .args(extra)
        .args(["--format", "json", "-q"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap()
}

/// Every counterexample of a JSON report replays with `sealcheck replay` (exit 1).
fn counterexamples_replay(file: &str, report: &serde_json::Value) {
    for p in report["properties"].as_array().unwrap() {
        if p["failure"] == true {
            let path = p["trail"]["path"].as_str().unwrap();
            sealcheck()
                .args(["replay", file, "--path", path])
                .assert()
                .code(1);
        }
    }
}

fn json_of(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(out));
    })
}

/// `--local-processes 2` starts two processes of the binary on 127.0.0.1; their report has
/// the default engine's counts and verdicts, and every counterexample replays (exit 1).
#[test]
fn cli_two_local_processes_agree_and_their_counterexamples_replay() {
    for (file, code) in [
        ("specs/bugs/seal-without-drain.toml", 1),
        ("specs/three_logserver_seal_empty.toml", 1),
        ("specs/wait-provisioned.toml", 0),
    ] {
        let reference = sealcheck()
            .args(["check", file, "--format", "json", "-q"])
            .output()
            .unwrap();
        let out = two_local_processes(file, &[]);
        assert_eq!(out.status.code(), Some(code), "{file}");
        assert_eq!(reference.status.code(), Some(code), "{file}");
        let (a, b) = (json_of(&out.stdout), json_of(&reference.stdout));
        assert!(a["engine"].as_str().unwrap().contains("2 processes"), "{a}");
        for key in ["unique_states", "states", "max_depth", "complete"] {
            assert_eq!(a[key], b[key], "{file}: {key}");
        }
        let props = |j: &serde_json::Value| -> Vec<(String, String, Option<usize>)> {
            j["properties"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["verdict"].as_str().unwrap().to_string(),
                        p["trail"]["steps"].as_array().map(|s| s.len()),
                    )
                })
                .collect()
        };
        assert_eq!(props(&a), props(&b), "{file}");
        counterexamples_replay(file, &a);
    }
}

#[test]
fn bounded_timely_runs_are_incomplete_and_exit_3() {
    let file = "specs/operator-moves.toml";
    for bound in [
        &["--max-states", "5000"][..],
        &["--timeout", "0.001"][..],
        &["--max-memory", "16M"][..],
    ] {
        for extra in [&[][..], &["-w", "2"][..]] {
            let out = sealcheck()
                .args(["check", file, "--engine", "timely", "-q"])
                .args(bound)
                .args(extra)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(3), "{bound:?} {extra:?}: {text}");
            assert!(text.contains("INCOMPLETE: stopped"), "{text}");
            assert!(text.contains("undecided (incomplete run)"), "{text}");
            assert!(!text.contains(" holds\n"), "{text}");
        }
    }
    // The state bound is enforced while states are generated, not at the end of the run.
    let spec = Spec::load(&root().join(file)).unwrap();
    let model = spec.config.clone().into_model().unwrap();
    let bounds = Bounds {
        max_states: Some(5000),
        ..Bounds::default()
    };
    let o = sealcheck_distributed::check(&model, &Cluster::local(1), &bounds, false, None).unwrap();
    assert!(o.stopped.is_some());
    assert!(o.states < 5000 + 2 * 15 * 1024, "{}", o.states);
    assert!(o.unique < 94185);
}

#[test]
fn timely_usage_errors_exit_2() {
    for (args, says) in [
        (
            &["check", "--engine", "timely", "--strategy", "dfs"][..],
            "breadth-first only",
        ),
        (&["check", "-w", "2"][..], "need --engine timely"),
        (
            &["check", "--engine", "timely", "-n", "2", "-p", "2"][..],
            "-p 2 names no process",
        ),
        (
            &[
                "check",
                "--engine",
                "timely",
                "-n",
                "2",
                "-p",
                "0",
                "-h",
                "specs/crash-restart.toml",
            ][..],
            "specs/crash-restart.toml, line 1: expected an address host:port",
        ),
        (
            &[
                "check",
                "--engine",
                "timely",
                "-n",
                "2",
                "-p",
                "0",
                "-h",
                "no-such-hostfile",
            ][..],
            "no-such-hostfile: cannot read the hostfile",
        ),
    ] {
        let out = sealcheck().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// `--symmetry` on the timely engine: on every scenario whose log servers are interchangeable
/// it visits exactly as many states as stateright's depth-first search with symmetry (one per
/// orbit), gives every property the verdict of the full search without symmetry, and its
/// counterexamples are as long as the shortest ones, replay on the model itself (not only on
/// representatives) and end in a state that breaks their property. At least one of them needed
/// concretizing (a state on it is not its own representative), so the test exercises the
/// mapping from representatives back to the model's own actions.
#[test]
fn timely_symmetry_counts_orbits_and_keeps_verdicts_and_shortest_counterexamples() {
    use sealcheck::engine::Strategy;
    use sealcheck_model::PropertyKind;
    use stateright::Model;
    let mut symmetric = 0;
    let mut permuted = false;
    for file in spec_files() {
        let spec = Spec::load(&root().join(&file)).unwrap();
        let model = spec.config.clone().into_model().unwrap();
        if !model.symmetric() {
            continue;
        }
        symmetric += 1;
        let full = check(&model, &CheckOptions::default(), &mut |_| {});
        let dfs = check(
            &model,
            &CheckOptions {
                strategy: Strategy::Dfs,
                symmetry: true,
                ..CheckOptions::default()
            },
            &mut |_| {},
        );
        let opts = CheckOptions {
            symmetry: true,
            ..CheckOptions::default()
        };
        for workers in [1, 2] {
            let what = format!("{file}, {workers} workers");
            let r = distributed::check(&model, &opts, &Cluster::local(workers), true).unwrap();
            assert!(r.symmetry && r.incomplete.is_none(), "{what}");
            assert_eq!(r.unique_states, dfs.unique_states, "{what}");
            assert!(r.unique_states <= full.unique_states, "{what}");
            assert_eq!(r.exit_code(), full.exit_code(), "{what}");
            let verdicts = |r: &CheckReport| -> Vec<_> {
                r.properties
                    .iter()
                    .map(|p| (p.name, p.verdict, p.trail.as_ref().map(|t| t.steps.len())))
                    .collect()
            };
            assert_eq!(verdicts(&r), verdicts(&full), "{what}");
            for p in &r.properties {
                let Some(trail) = &p.trail else { continue };
                assert!(trail.shortest, "{what}: {}", p.name);
                let mut state = model.init_states()[0].clone();
                for a in &trail.actions {
                    state = model.next_state(&state, a.clone()).expect("enabled");
                    permuted |= state.representative() != state;
                }
                let prop = model
                    .property_list()
                    .iter()
                    .find(|q| q.name == p.name)
                    .unwrap();
                let holds = (prop.condition)(&model, &state);
                match prop.kind {
                    PropertyKind::Always | PropertyKind::Eventually => {
                        assert!(!holds, "{what}: {} holds at the end of its trail", p.name)
                    }
                    PropertyKind::Sometimes => assert!(holds, "{what}: {}", p.name),
                }
            }
        }
    }
    assert!(symmetric >= 10, "only {symmetric} symmetric specs");
    assert!(
        permuted,
        "no trail visits a state that is not its own representative"
    );
}

/// Symmetry with two processes on loopback: the same counts and paths in every process, and
/// on the command line a counterexample that replays; a scenario whose servers are not
/// interchangeable is refused with exit 2.
#[test]
fn timely_symmetry_across_processes_and_on_the_command_line() {
    for file in [
        "specs/crash-restart.toml",
        "specs/bugs/seal-without-drain.toml",
    ] {
        let reference = sealcheck()
            .args([
                "check",
                file,
                "--strategy",
                "dfs",
                "--symmetry",
                "--format",
                "json",
                "-q",
            ])
            .output()
            .unwrap();
        let out = two_local_processes(file, &["--symmetry"]);
        assert_eq!(out.status.code(), reference.status.code(), "{file}");
        let (a, b) = (json_of(&out.stdout), json_of(&reference.stdout));
        assert_eq!(a["symmetry"], true, "{a}");
        assert_eq!(a["unique_states"], b["unique_states"], "{file}");
        counterexamples_replay(file, &a);
    }
    let out = sealcheck()
        .args([
            "check",
            "specs/cluster-roles.toml",
            "--engine",
            "timely",
            "--symmetry",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--symmetry is unsound for this scenario"),
        "{err}"
    );
}
