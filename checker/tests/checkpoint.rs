//! Checkpoints (`check --checkpoint DIR`, `--resume DIR`): a checkpointed run, uninterrupted or
//! killed with SIGKILL and resumed, reports what a plain `check` reports (unique and generated
//! states, depth, verdicts, counterexamples); a checkpoint of another run or a damaged one is
//! refused with exit 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Three scenarios: small, with a lossy network; 269,951 states with cluster roles; crashes.
const SPECS: [&str; 3] = [
    "specs/message-loss.toml",
    "specs/cluster-roles.toml",
    "specs/crash-restart.toml",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sealcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcheck"));
    c.current_dir(root());
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sealcheck-ckpt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(args: &[&str]) -> Output {
    sealcheck().args(args).output().unwrap()
}

fn json_of(out: &Output, code: i32) -> Value {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must be equal between two runs: counts, verdicts and counterexamples (the paths and
/// their lengths).
fn essentials(report: &Value) -> Value {
    let properties: Vec<Value> = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p["name"],
                "verdict": p["verdict"],
                "failure": p["failure"],
                "path": p["trail"]["path"],
                "length": p["trail"]["steps"].as_array().map(|s| s.len()),
                "shortest": p["trail"]["shortest"],
            })
        })
        .collect();
    serde_json::json!({
        "complete": report["complete"],
        "unique_states": report["unique_states"],
        "states": report["states"],
        "max_depth": report["max_depth"],
        "exit_code": report["exit_code"],
        "properties": properties,
    })
}

/// A plain `check` of `spec`: its essentials and exit code, computed once per spec for all
/// the tests of this file (each of cluster-roles' runs explores 269,951 states).
fn plain(spec: &str) -> (Value, i32) {
    static DONE: OnceLock<Mutex<BTreeMap<String, (Value, i32)>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    if let Some(known) = done.lock().unwrap().get(spec) {
        return known.clone();
    }
    let out = run(&["check", spec, "--format", "json", "-q"]);
    let code = out.status.code().unwrap();
    let result = (essentials(&json_of(&out, code)), code);
    done.lock()
        .unwrap()
        .insert(spec.to_string(), result.clone());
    result
}

/// A small deterministic generator for the kill delays (seeded, so a failure reproduces).
fn delays(seed: u64) -> impl Iterator<Item = Duration> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Duration::from_millis((x >> 33) % 400)
    })
}

#[test]
fn an_uninterrupted_checkpointed_run_equals_a_plain_check() {
    for spec in SPECS {
        let (expected, code) = plain(spec);
        let dir = scratch(&format!("whole-{}", spec.replace('/', "-")));
        let d = dir.to_str().unwrap();
        let out = run(&[
            "check",
            spec,
            "--format",
            "json",
            "--checkpoint",
            d,
            "--checkpoint-every",
            "0.001",
        ]);
        let report = json_of(&out, code);
        assert_eq!(essentials(&report), expected, "{spec}");
        assert!(report["engine"].as_str().unwrap().contains("checkpointed"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_run_killed_with_sigkill_and_resumed_equals_a_plain_check() {
    let seed = std::env::var("SEALCHECK_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18);
    let mut delay = delays(seed);
    for spec in SPECS {
        let (expected, code) = plain(spec);
        let dir = scratch(&format!("kill-{}", spec.replace('/', "-")));
        let d = dir.to_str().unwrap();
        let mut child = sealcheck()
            .args(["check", spec, "-q", "--checkpoint", d])
            .args(["--checkpoint-every", "0.001"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !dir.join("checkpoint.bin").exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{spec}: no checkpoint"
            );
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let wait = delay.next().unwrap();
        std::thread::sleep(wait);
        // SIGKILL: nothing of the process runs after it.
        let _ = child.kill();
        child.wait().unwrap();
        let out = run(&["check", spec, "--format", "json", "-q", "--resume", d]);
        let resumed = json_of(&out, code);
        assert_eq!(
            essentials(&resumed),
            expected,
            "{spec}: killed {} ms after the first checkpoint (seed {seed})",
            wait.as_millis()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_bounded_run_leaves_a_checkpoint_that_resumes_to_the_plain_result() {
    let spec = "specs/crash-restart.toml";
    let (expected, code) = plain(spec);
    let dir = scratch("bounded");
    let d = dir.to_str().unwrap();
    let out = run(&[
        "check",
        spec,
        "--format",
        "json",
        "-q",
        "--checkpoint",
        d,
        "--max-states",
        "1000",
    ]);
    let bounded = json_of(&out, 3);
    assert_eq!(bounded["complete"], false);
    assert!(dir.join("checkpoint.bin").exists());
    let resumed = json_of(
        &run(&["check", spec, "--format", "json", "-q", "--resume", d]),
        code,
    );
    assert_eq!(essentials(&resumed), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A checkpoint of crash-restart stopped early by --max-states, in a fresh directory.
fn bounded_checkpoint(name: &str, spec: &str) -> PathBuf {
    let dir = scratch(name);
    let out = run(&[
        "check",
        spec,
        "-q",
        "--checkpoint",
        dir.to_str().unwrap(),
        "--max-states",
        "500",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(dir.join("checkpoint.bin").exists());
    dir
}

fn refused(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_checkpoint_of_another_scenario_or_an_edited_config_is_refused() {
    let dir = bounded_checkpoint("other", "specs/crash-restart.toml");
    let d = dir.to_str().unwrap();
    let other = refused(&["check", "specs/message-loss.toml", "--resume", d]);
    assert!(other.contains("another run"), "{other}");
    assert!(other.contains("specs/crash-restart.toml"), "{other}");
    let overridden = refused(&[
        "check",
        "specs/crash-restart.toml",
        "--appends",
        "2",
        "--resume",
        d,
    ]);
    assert!(overridden.contains("`appends`"), "{overridden}");
    let depth = refused(&[
        "check",
        "specs/crash-restart.toml",
        "--max-depth",
        "5",
        "--resume",
        d,
    ]);
    assert!(depth.contains("--max-depth"), "{depth}");

    // The same file, edited between the run and the resume.
    let edited = dir.join("edited.toml");
    let text = std::fs::read_to_string(root().join("specs/crash-restart.toml")).unwrap();
    std::fs::write(&edited, &text).unwrap();
    let d2 = scratch("edited");
    let e = edited.to_str().unwrap();
    let out = run(&[
        "check",
        e,
        "-q",
        "--checkpoint",
        d2.to_str().unwrap(),
        "--max-states",
        "500",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let changed = text.replacen("name = \"", "name = \"edited-", 1);
    assert_ne!(changed, text);
    std::fs::write(&edited, changed).unwrap();
    let msg = refused(&["check", e, "--resume", d2.to_str().unwrap()]);
    assert!(msg.contains("`name`"), "{msg}");

    // A directory that holds a checkpoint is not overwritten by a new run.
    let exists = refused(&["check", "specs/crash-restart.toml", "--checkpoint", d]);
    assert!(exists.contains("already holds a checkpoint"), "{exists}");
    let missing = refused(&["check", "--resume", d2.join("none").to_str().unwrap()]);
    assert!(missing.contains("no checkpoint"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&d2).unwrap();
}

#[test]
fn a_truncated_or_damaged_checkpoint_is_an_input_error() {
    let spec = "specs/crash-restart.toml";
    let dir = bounded_checkpoint("damaged", spec);
    let d = dir.to_str().unwrap();
    let file = dir.join("checkpoint.bin");
    let whole = std::fs::read(&file).unwrap();
    let flipped = {
        let mut b = whole.clone();
        let mid = b.len() / 2;
        b[mid] ^= 0x40;
        b
    };
    let cuts = [0, 5, 12, 30, whole.len() / 2, whole.len() - 1];
    for bytes in cuts.iter().map(|&n| whole[..n].to_vec()).chain([flipped]) {
        std::fs::write(&file, &bytes).unwrap();
        let msg = refused(&["check", spec, "--resume", d]);
        assert!(
            msg.contains("not a usable checkpoint"),
            "{} bytes: {msg}",
            bytes.len()
        );
    }
    std::fs::write(&file, &whole).unwrap();
    let out = run(&["check", spec, "-q", "--resume", d]);
    assert!(matches!(out.status.code(), Some(0 | 1)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoint_options_out_of_range_or_unsupported_are_usage_errors() {
    let dir = scratch("options");
    let d = dir.to_str().unwrap();
    for extra in [
        &["--checkpoint-every", "0"][..],
        &["--checkpoint-every", "-1"],
        &["--strategy", "dfs"],
        &["--threads", "2"],
    ] {
        let mut args = vec!["check", "specs/crash-restart.toml", "--checkpoint", d];
        args.extend_from_slice(extra);
        refused(&args);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_writes_a_last_checkpoint_and_the_run_resumes() {
    let spec = "specs/cluster-roles.toml";
    let (expected, code) = plain(spec);
    let dir = scratch("sigterm");
    let d = dir.to_str().unwrap();
    let child = sealcheck()
        .args(["check", spec, "--format", "json", "-q", "--checkpoint", d])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !dir.join("checkpoint.bin").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no checkpoint");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(50));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        let stopped = json_of(&out, 3);
        assert_eq!(stopped["complete"], false);
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["unique_states"], stopped["unique_states"]);
    } else {
        // The run ended before the signal: it must then be the plain result.
        assert_eq!(essentials(&json_of(&out, code)), expected);
    }
    let resumed = json_of(
        &run(&["check", spec, "--format", "json", "-q", "--resume", d]),
        code,
    );
    assert_eq!(essentials(&resumed), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every other scenario (and every seeded bug): the checkpointed search reports the counts,
/// depth, verdicts and counterexamples of stateright's BFS, through the library.
#[test]
fn every_small_scenario_checkpointed_equals_stateright_bfs() {
    use sealcheck::checkpoint::{Identity, Plan};
    use sealcheck::engine::{check, CheckOptions};
    let mut specs: Vec<PathBuf> = Vec::new();
    for dir in ["specs", "specs/bugs"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            // The benchmarks are too big for a test; cluster-roles is run by the tests above.
            if name.ends_with(".toml")
                && !name.starts_with("bench-")
                && name != "cluster-roles.toml"
            {
                specs.push(p);
            }
        }
    }
    specs.sort();
    assert!(specs.len() >= 14, "{specs:?}");
    for path in specs {
        let spec = sealcheck::spec::Spec::load(&path).unwrap();
        let model = spec.config.clone().into_model().unwrap();
        let opts = CheckOptions::default();
        let plain = check(&model, &opts, &mut |_| {});
        let dir = scratch(&format!(
            "lib-{}",
            path.file_stem().unwrap().to_str().unwrap()
        ));
        let plan = Plan {
            dir: dir.clone(),
            resume: false,
            every: Duration::from_millis(20),
            identity: Identity::new(&spec.display_name(), &spec.config, &[], None),
            quiet: true,
        };
        let ours = sealcheck::checkpoint::check(&model, &opts, &plan, &mut |_| {}).unwrap();
        let what = |r: &sealcheck::engine::CheckReport| {
            let props: Vec<_> = r
                .properties
                .iter()
                .map(|p| (p.name, p.verdict, p.trail.as_ref().map(|t| t.path.clone())))
                .collect();
            (
                r.unique_states,
                r.states,
                r.max_depth,
                r.incomplete.clone(),
                props,
            )
        };
        assert_eq!(what(&ours), what(&plain), "{}", path.display());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
