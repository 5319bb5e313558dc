//! `sealcheck follow --sql`, its plumbing: snapshots taken while following are written to the
//! directory's `sql.jsonl` in the recorder's format (the three tables, in its order, through
//! the address given), a query that fails is written with its error, and the follower's last
//! verdicts are those that `import --run` + `validate` give of the directory it leaves. The
//! cluster is played by a stand-in `restatectl` that answers each query with a recorded run's
//! last snapshot of that table. Those snapshots are stamped when they are taken, after the
//! recorded logs' shutdown, so no translation places them: that polled snapshots become a
//! trace's observations is the live test's to show (follow_live.rs, against a real cluster).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod follow_support;
use follow_support::{followed, judged_once};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sealcheck-sql-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A directory holding only the server logs of a recorded scenario.
fn logs_only(scenario: &str, name: &str) -> PathBuf {
    let dir = scratch(name);
    let logs = root()
        .join("traces/restate-1.7.12")
        .join(scenario)
        .join("raw/logs");
    for e in std::fs::read_dir(logs).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// A stand-in `restatectl` in `home`: each `sql --jsonl QUERY` prints the rows of the last
/// snapshot of the query's table in `scenario`'s sql.jsonl, and writes its arguments to
/// `home/calls`. With `fail`, every query fails the way a refused connection does.
fn stand_in(home: &Path, scenario: &str, fail: bool) -> PathBuf {
    let sql = root()
        .join("traces/restate-1.7.12")
        .join(scenario)
        .join("raw/sql.jsonl");
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for line in std::fs::read_to_string(sql).unwrap().lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let rows: Vec<String> = rec["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        if !rows.is_empty() {
            last.insert(rec["table"].as_str().unwrap().to_string(), rows.join("\n"));
        }
    }
    for (table, rows) in &last {
        std::fs::write(home.join(format!("{table}.jsonl")), format!("{rows}\n")).unwrap();
    }
    let script = home.join("restatectl");
    let body = format!(
        r#"#!/bin/bash
echo "$@" >> '{home}/calls'
if [ {fail} = 1 ]; then echo "error: connection refused (os error 111)" >&2; exit 1; fi
q="${{@: -1}}"
case "$q" in
  *"FROM loglet_workers"*) t=loglet_workers ;;
  *"FROM nodes"*) t=nodes ;;
  *"FROM logs"*) t=logs ;;
  *) echo "unknown query: $q" >&2; exit 2 ;;
esac
cat '{home}'/$t.jsonl
"#,
        home = home.display(),
        fail = u8::from(fail),
    );
    std::fs::write(&script, body).unwrap();
    std::process::Command::new("chmod")
        .args(["+x", script.to_str().unwrap()])
        .status()
        .unwrap();
    script
}

fn follow(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealcheck"))
        .arg("follow")
        .arg(dir)
        .args([
            "--format",
            "json",
            "--interval",
            "0.2",
            "--exit-when-idle",
            "2",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// The summary line `follow --format json` ends with.
fn summary_of(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("a summary line")).unwrap()
}

/// The records of `dir/sql.jsonl`: (table, rows, error).
fn records(dir: &Path) -> Vec<(String, usize, Option<String>)> {
    std::fs::read_to_string(dir.join("sql.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["table"].as_str().unwrap().to_string(),
                v["rows"].as_array().unwrap().len(),
                v["error"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn snapshots_taken_while_following_are_read_and_judged_as_an_import_judges_them() {
    for scenario in ["incident", "storage-state-change"] {
        let dir = logs_only(scenario, &format!("{scenario}-logs"));
        let home = scratch(&format!("{scenario}-ctl"));
        let ctl = stand_in(&home, scenario, false);
        let out = follow(
            &dir,
            &[
                "--sql",
                "http://127.0.0.1:15122/",
                "--restatectl",
                ctl.to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let summary = summary_of(&out);
        let got = followed(&summary);
        // Every round took the three tables, in the recorder's order, with rows.
        let recs = records(&dir);
        assert!(recs.len() >= 6, "{scenario}: {recs:?}");
        let tables: Vec<&str> = recs.iter().take(3).map(|r| r.0.as_str()).collect();
        assert_eq!(tables, ["nodes", "loglet_workers", "logs"], "{scenario}");
        assert!(recs.iter().all(|r| r.2.is_none()), "{scenario}: {recs:?}");
        assert!(
            recs.iter().any(|r| r.0 == "loglet_workers" && r.1 > 0),
            "{scenario}: {recs:?}"
        );
        let calls = std::fs::read_to_string(home.join("calls")).unwrap();
        assert!(
            calls
                .lines()
                .all(|c| c.starts_with("--address http://127.0.0.1:15122/ ")),
            "{calls}"
        );
        // What the follower said at the end is what an import of the directory says.
        let want = judged_once(&dir, &scratch(&format!("{scenario}-out")));
        assert!(!want.is_empty(), "{scenario}");
        assert_eq!(got, want, "{scenario}: {stderr}");
        assert_eq!(summary["exit"], out.status.code().unwrap(), "{scenario}");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&home);
    }
}

#[test]
fn a_query_that_fails_is_written_with_its_error_and_following_goes_on() {
    let dir = logs_only("incident", "failing-logs");
    let home = scratch("failing-ctl");
    let ctl = stand_in(&home, "incident", true);
    let out = follow(
        &dir,
        &[
            "--sql",
            "http://127.0.0.1:15122/",
            "--restatectl",
            ctl.to_str().unwrap(),
        ],
    );
    let summary = summary_of(&out);
    let got = followed(&summary);
    let recs = records(&dir);
    assert!(recs.len() >= 3, "{recs:?}");
    assert!(
        recs.iter().all(|r| r.1 == 0
            && r.2
                .as_deref()
                .is_some_and(|e| e.contains("connection refused"))),
        "{recs:?}"
    );
    // The logs are judged as without snapshots.
    assert!(got.contains_key("0_0"), "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn sql_into_a_directory_that_has_snapshots_or_without_restatectl_is_refused() {
    let raw = root().join("traces/restate-1.7.12/incident/raw");
    let out = follow(
        &raw,
        &[
            "--sql",
            "http://127.0.0.1:15122/",
            "--restatectl",
            "/bin/true",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sql.jsonl exists already") && stderr.contains("incident/raw"),
        "{stderr}"
    );
    let dir = logs_only("incident", "missing-ctl");
    let out = follow(
        &dir,
        &[
            "--sql",
            "http://127.0.0.1:15122/",
            "--restatectl",
            "/nonexistent/restatectl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("restatectl not found at /nonexistent/restatectl"),
        "{stderr}"
    );
    assert!(!dir.join("sql.jsonl").exists());
    // --restatectl alone is a usage error.
    let out = follow(&dir, &["--restatectl", "/bin/true"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
