//! `sealcheck campaign` without a cluster: the selection (`--dry-run`) is pinned, and bad
//! input exits 2 with a message naming what is wrong. The live campaign is in
//! `campaign_live.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sealcheck() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("sealcheck"));
    c.current_dir(root());
    c
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let o = sealcheck().args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The `ID (scenario, N steps, path P)` lines of a selection, without the scenario.
fn path_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && l.contains("-p") && l.contains(", path "))
        .map(|l| {
            let id = l.split(' ').next().unwrap();
            let path = l
                .split(", path ")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            format!("{id} {path}")
        })
        .collect()
}

#[test]
fn the_default_selection_is_pinned_and_misses_only_the_operator_move() {
    let (code, stdout, stderr) = run(&["campaign", "--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("sealcheck campaign: 5 scenarios, 14 paths, 14 runs (1 per path)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("that happen by themselves: 13; on the paths: 12 (no controllable path takes operator-move)"),
        "{stdout}"
    );
    assert_eq!(
        path_lines(&stdout),
        [
            "cluster-roles-p1 0/0/1/6/1/2/1",
            "incident-p1 0/3/0/0/0",
            "cluster-roles-p2 0/0/1/1/2/2/0/0",
            "crash-restart-p1 0/3/2",
            "cluster-roles-p3 0/0/1/1/6/1",
            "paused-members-p1 0/0/1/1/0/2",
            "incident-p2 0/3",
            "cluster-roles-p4 0/0/1/6/1",
            "incident-p3 0/0/2/2/2/2/2",
            "paused-members-p2 0/0/3/3/4/3/0",
            "message-loss-p1 0/0/1/1/2/2/0",
            "paused-members-p3 0/0/1/1/0/0/0/0",
            "incident-p4 0/0/0/1/2/2/2/2/1",
            "crash-restart-p2 0/0/0/0/0/0/0/1/1/0",
        ]
    );
    // The incident's counterexample is the path the flaky test failed on.
    assert!(stdout.contains(
        "incident-p1 (<built-in: three_logserver_seal_empty>, 4 steps, path 0/3/0/0/0): shortest counterexample of \"a seal the harness starts eventually succeeds\""
    ));
    // Properties no control can reach are named, with the step.
    assert!(stdout.contains("not run: "), "{stdout}");
    assert!(stdout
        .contains("\"an append is acknowledged\": every example needs a step no control forces"));
}

#[test]
fn kinds_only_keeps_paths_that_add_a_kind() {
    let (code, stdout, stderr) = run(&["campaign", "--dry-run", "--kinds-only"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines = path_lines(&stdout);
    assert!(lines.len() < 14 && !lines.is_empty(), "{stdout}");
    assert!(!stdout.contains("shortest counterexample"), "{stdout}");
    assert!(stdout.contains("on the paths: 12"), "{stdout}");
}

#[test]
fn an_out_directory_that_holds_something_else_is_refused() {
    let dir = root().join(format!("target/campaign-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let (code, _, stderr) = run(&[
        "campaign",
        "specs/paused-members.toml",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("holds files but no campaign.json"),
        "{stderr}"
    );
    assert!(dir.join("notes.txt").is_file(), "nothing removed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_baseline_that_is_not_a_campaign_report_names_file_and_line() {
    let dir = root().join(format!("target/campaign-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("baseline.json");
    std::fs::write(&f, "{\n  \"format\": 1,\n  \"kinds\": 3\n}\n").unwrap();
    let (code, _, stderr) = run(&["campaign", "--dry-run", "--baseline", f.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("baseline.json: line "), "{stderr}");
    assert!(stderr.contains("not a campaign.json"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_baseline_list_of_kinds_is_checked_kind_by_kind() {
    let dir = root().join(format!("target/campaign-kinds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("kinds.txt");
    std::fs::write(
        &f,
        "# CI's kinds\nseal-call\n\ncrash  # a kill\nseal-sent\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["campaign", "--dry-run", "--baseline", f.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("kinds.txt: line 5: `seal-sent` is not a step kind"),
        "{stderr}"
    );
    // The committed CI baseline reads.
    let (code, _, stderr) = run(&[
        "campaign",
        "--dry-run",
        "--baseline",
        "traces/restate-1.7.12/campaign/ci-baseline.txt",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_scenario_the_cluster_cannot_play_is_refused() {
    let (code, _, stderr) = run(&["campaign", "--dry-run", "specs/bench-four-servers.toml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bench-four-servers"), "{stderr}");
    assert!(stderr.contains("3 log servers"), "{stderr}");
    let (code, _, stderr) = run(&["campaign", "--dry-run", "specs/no-such.toml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no-such.toml"), "{stderr}");
    let (code, _, stderr) = run(&["campaign", "--dry-run", "--runs-per-path", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
}
