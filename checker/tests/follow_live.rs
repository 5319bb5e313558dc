//! `sealcheck follow` attached to a recording of a real Restate 1.7.12 cluster while it runs:
//! the forced storage-state move of `incident-forced` is reported within 5 s of the line that
//! shows it, and a run without a forced move (`incident`) gets no wrong verdict at any point.
//!
//! Ignored by default: they need root (network namespaces) and the Restate 1.7.12 binaries
//! (`npm ci --prefix restate`, which `.ci/setup` runs). `.ci/run` runs them in its live step:
//! `cargo test -p sealcheck --test follow_live -- --ignored --test-threads 1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sealcheck::validate::ValidateOptions;
use sealcheck::watch::{follow, FollowOptions};

mod follow_support;
use follow_support::{followed, judged_once};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

type Lines = Arc<Mutex<Vec<serde_json::Value>>>;

/// Records `scenario` with `sealcheck record` while `follow` watches its raw directory; returns
/// every line `follow` printed and the raw directory.
fn record_followed(scenario: &str) -> (Vec<serde_json::Value>, PathBuf) {
    let out = root()
        .join("target/follow-live")
        .join(format!("{scenario}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut rec = Command::new(assert_cmd::cargo::cargo_bin("sealcheck"))
        .current_dir(root())
        .args(["record", scenario, "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let raw = out.join("raw");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !raw.join("logs").is_dir() {
        assert!(Instant::now() < deadline, "no {} after 60 s", raw.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (l, s, dir) = (lines.clone(), stop.clone(), raw.clone());
    let follower = std::thread::spawn(move || {
        let opts = FollowOptions {
            interval: Duration::from_millis(250),
            exit_when_idle: None,
            validate: ValidateOptions {
                progress: false,
                timeout: Some(Duration::from_secs(30)),
                ..ValidateOptions::default()
            },
            json: true,
            close_after: Some(Duration::from_secs(30)),
            sql: None,
        };
        let mut print = |line: &str| {
            eprintln!("follow: {line}");
            l.lock().unwrap().push(serde_json::from_str(line).unwrap());
        };
        follow(&dir, &opts, s, &mut print).unwrap()
    });
    let status = rec.wait().unwrap();
    assert!(status.success(), "sealcheck record {scenario}: {status}");
    // The files are complete now: one more look judges them whole.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    follower.join().unwrap();
    let lines = lines.lock().unwrap().clone();
    (lines, raw)
}

fn wrong(v: &serde_json::Value) -> bool {
    matches!(
        v["verdict"].as_str(),
        Some("violates" | "diverges" | "malformed")
    )
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn follow_reports_the_forced_move_of_a_live_recording_within_5_s() {
    let (lines, raw) = record_followed("incident-forced");
    // When the forced move's `restatectl nodes set-storage-state --force` returned: its line
    // is written then.
    let ctl = std::fs::read_to_string(raw.join("restatectl.jsonl")).unwrap();
    let forced_us = ctl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| {
            v["cmd"]
                .as_array()
                .is_some_and(|c| c.iter().any(|a| a == "--force"))
        })
        .and_then(|v| v["end_time_us"].as_i64())
        .expect("a forced set-storage-state in restatectl.jsonl");
    let reported = lines
        .iter()
        .find(|v| {
            v["verdict"] == "violates"
                && v["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("storage states only make legal moves"))
        })
        .unwrap_or_else(|| panic!("no violation of the legal moves reported: {lines:#?}"));
    let after_us = reported["time_us"].as_i64().unwrap() - forced_us;
    eprintln!(
        "violation reported {:.2} s after the forced move's line",
        after_us as f64 / 1e6
    );
    assert!(
        (0..5_000_000).contains(&after_us),
        "{after_us} us: {reported}"
    );
    // Nothing else was reported wrong before it.
    let first_wrong = lines.iter().find(|v| wrong(v)).unwrap();
    assert_eq!(first_wrong, reported);
    let _ = std::fs::remove_dir_all(raw.parent().unwrap());
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn follow_reports_nothing_wrong_for_a_live_recording_without_a_forced_move() {
    let (lines, raw) = record_followed("incident");
    assert!(!lines.is_empty());
    assert!(!lines.iter().any(wrong), "{lines:#?}");
    let conforming = lines.iter().filter(|v| v["verdict"] == "conforms").count();
    assert!(conforming > 0, "{lines:#?}");
    let _ = std::fs::remove_dir_all(raw.parent().unwrap());
}

/// How many of a trace's items are observations (snapshot rows).
fn observations(trace: &Path) -> usize {
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .filter(|t| t.contains("\"event\":\"observe-"))
        .count()
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn follow_with_sql_polls_a_live_cluster_and_judges_as_an_import_of_what_it_wrote() {
    use sealcheck_recorder::{Binaries, Cluster, ClusterConfig};
    let base = root()
        .join("target/follow-live")
        .join(format!("sql-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (work, raw) = (base.join("work"), base.join("raw"));
    let bins = Binaries::from_env(&root()).expect("the Restate binaries");
    let cluster = Cluster::start(&bins, ClusterConfig::new(&work, &raw)).expect("a cluster");
    // The follower runs inside the cluster's namespace (its addresses are there), on the
    // server logs alone: no recorder polls, its own polls go to logs/sql.jsonl.
    let logs = raw.join("logs");
    let mut follower = cluster
        .netns()
        .command(&assert_cmd::cargo::cargo_bin("sealcheck"));
    follower
        .arg("follow")
        .arg(&logs)
        .args([
            "--format",
            "json",
            "--interval",
            "0.5",
            "--exit-when-idle",
            "3",
        ])
        .args(["--sql", cluster.ctl().address_of(1), "--restatectl"])
        .arg(&bins.restatectl)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let follower = follower.spawn().unwrap();
    cluster.provision().expect("provision");
    cluster
        .wait_for_log(0, Duration::from_secs(90))
        .expect("log 0");
    cluster
        .wait_storage_states(Duration::from_secs(30), |s| {
            s.len() == 3 && s.values().all(|v| v == "read-write")
        })
        .expect("every node read-write");
    cluster.seal_log(0, 1).expect("seal");
    std::thread::sleep(Duration::from_secs(3));
    cluster.shutdown().expect("shutdown");
    let out = follower.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no output: {stderr}")),
    )
    .unwrap();
    // It polled all along: every table, answered.
    let sql = std::fs::read_to_string(logs.join("sql.jsonl")).unwrap();
    let answered = |table: &str| {
        sql.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["table"] == table && v["error"].is_null())
            .count()
    };
    for table in ["nodes", "loglet_workers", "logs"] {
        assert!(answered(table) >= 3, "{table}: {sql}");
    }
    // Its last verdicts are those of an import of the directory it leaves, whose traces
    // hold observations from its snapshots.
    let judged = base.join("judged");
    let want = judged_once(&logs, &judged);
    assert_eq!(followed(&summary), want, "{stdout}\n{stderr}");
    assert_eq!(
        want.get("0_0").map(|(w, _)| w.as_str()),
        Some("conforms"),
        "{want:?}"
    );
    assert!(observations(&judged.join("loglets/0_0.jsonl")) > 0);
    assert_eq!(summary["exit"], 0, "{stdout}");
    let _ = std::fs::remove_dir_all(&base);
}
