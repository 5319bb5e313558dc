//! `sealcheck reproduce` on a real cluster: the incident's counterexample is reproduced and
//! followed, and every process it started, its network namespace and its scratch directory
//! are gone afterwards: after success, after a failure (a restatectl that always fails) and
//! after Ctrl-C (SIGINT) in the middle of the path.
//!
//! Ignored by default: they need root and the Restate 1.7.12 binaries (`npm ci --prefix
//! restate`). Run them one at a time (one cluster at a time):
//! `cargo test -p sealcheck --test reproduce_live -- --ignored --test-threads 1`.

mod live_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use live_support::{
    assert_all_gone, namespace_of, pids_in_actions, scratch_dirs, sealcheck, signal_and_wait,
    spawn_into,
};

fn scratch(tag: &str) -> PathBuf {
    live_support::scratch("reproduce-live", tag)
}

/// The PIDs the run logged: the namespace holder and every server start.
fn recorded_pids(raw: &Path) -> Vec<i32> {
    pids_in_actions(&std::fs::read_to_string(raw.join("actions.jsonl")).unwrap_or_default())
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn the_incident_path_is_reproduced_followed_and_leaves_nothing_behind() {
    let dir = scratch("ok");
    let (out, tmp) = (dir.join("out"), dir.join("tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = sealcheck()
        .args(["reproduce", "--path", "0/3/0/0/0", "--out"])
        .arg(&out)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The namespace while it runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ns = loop {
        if let Some(ns) = namespace_of(&out.join("raw")) {
            break Some(ns);
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let o = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(ns.is_some(), "never saw the namespace: {stderr}");
    assert!(
        stdout.contains("follows: an explanation of the recording takes all 4 path steps"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("reproduced (item ").count(), 4, "{stdout}");
    for f in [
        "trace.jsonl",
        "import-notes.txt",
        "reproduce.txt",
        "path.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_all_gone(&recorded_pids(&out.join("raw")), ns.as_deref());
    assert_eq!(scratch_dirs(&tmp), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn a_failing_reproduction_exits_2_and_leaves_nothing_behind() {
    let dir = scratch("failing");
    let (out, tmp) = (dir.join("out"), dir.join("tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
    let o = sealcheck()
        .args([
            "reproduce",
            "--path",
            "0/3/0/0/0",
            "--restatectl",
            "/bin/false",
            "--out",
        ])
        .arg(&out)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reproduction failed after"), "{stderr}");
    let pids = recorded_pids(&out.join("raw"));
    assert!(pids.len() >= 4, "holder and three servers: {pids:?}");
    assert_all_gone(&pids, None);
    assert!(!out.join("trace.jsonl").exists());
    assert_eq!(scratch_dirs(&tmp), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn ctrl_c_in_the_middle_of_the_path_stops_everything() {
    let dir = scratch("interrupted");
    let (out, tmp) = (dir.join("out"), dir.join("tmp"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(out.join("trace.jsonl"), "an earlier reproduction's trace\n").unwrap();
    let child = spawn_into(&["reproduce", "--path", "0/3/0/0/0", "--out"], &out, &tmp);
    let pid = child.id();
    // Wait until the path runs (its first step is logged), then interrupt.
    let deadline = Instant::now() + Duration::from_secs(120);
    let ns = loop {
        let actions = std::fs::read_to_string(out.join("raw/actions.jsonl")).unwrap_or_default();
        if actions.contains("\"reproduce-step\"") {
            break namespace_of(&out.join("raw"));
        }
        assert!(Instant::now() < deadline, "the path never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let work = tmp.join(format!("sealcheck-reproduce-{pid}"));
    assert!(
        work.join(".sealcheck-owner").is_file(),
        "{}",
        work.display()
    );
    assert!(
        !out.join("trace.jsonl").exists(),
        "the old trace is still there"
    );
    let (status, stderr) = signal_and_wait(child, "INT");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_all_gone(&recorded_pids(&out.join("raw")), ns.as_deref());
    assert!(!work.exists(), "{} is left", work.display());
    assert_eq!(scratch_dirs(&tmp), Vec::<PathBuf>::new());
    assert!(!out.join("trace.jsonl").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
