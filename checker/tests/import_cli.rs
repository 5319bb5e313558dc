//! Black-box tests of `sealcheck import` and of the parts of `sealcheck record` that need no
//! cluster: exit codes, where output goes, and the error messages.

use assert_cmd::Command;

fn sealcheck() -> Command {
    let mut c = Command::cargo_bin("sealcheck").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Out {
    let o = c.output().unwrap();
    Out {
        code: o.status.code(),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

const FIXTURE: &str = "recorder/tests/fixtures/two-paused";

#[test]
fn import_writes_the_trace_on_stdout_and_notes_on_stderr() {
    let o = run(sealcheck().args(["import", FIXTURE]));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let first = o.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("{\"format\":\"sealcheck-trace\",\"version\":1,"),
        "{first}"
    );
    // `t` first, then the event.
    assert!(
        o.stdout.lines().any(|l| l.starts_with("{\"t\":")
            && l.contains(",\"event\":\"seal-failed\",\"node\":\"N1\"")),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr.contains("sealcheck import: 21 items"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("note: "), "{}", o.stderr);
}

#[test]
fn import_out_writes_a_file_and_quiet_silences_the_notes() {
    let path =
        std::env::temp_dir().join(format!("sealcheck-import-cli-{}.jsonl", std::process::id()));
    let o = run(sealcheck()
        .args(["import", FIXTURE, "-q", "--out"])
        .arg(&path));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(o.stderr, "");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 22, "header and 21 items");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn import_of_a_missing_directory_exits_2_naming_it() {
    let o = run(sealcheck().args(["import", "no/such/raw"]));
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr.contains("no/such/raw: not a raw directory"),
        "{}",
        o.stderr
    );
    assert!(
        !o.stderr.contains("bug"),
        "an input error is not a bug: {}",
        o.stderr
    );
}

#[test]
fn import_of_a_malformed_record_exits_2_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("sealcheck-import-cli-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../recorder/tests/fixtures/two-paused"
    );
    for f in [
        "meta.json",
        "actions.jsonl",
        "restatectl.jsonl",
        "sql.jsonl",
    ] {
        std::fs::copy(format!("{root}/{f}"), dir.join(f)).unwrap();
    }
    let mut sql = std::fs::read_to_string(dir.join("sql.jsonl")).unwrap();
    sql.push_str("{\"time\": \"garbage\"}\n");
    let bad_line = sql.lines().count();
    std::fs::write(dir.join("sql.jsonl"), sql).unwrap();
    let o = run(sealcheck().arg("import").arg(&dir));
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr.contains(&format!("sql.jsonl:{bad_line}:")),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("bug"), "{}", o.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn record_list_shows_one_line_per_scenario() {
    let o = run(sealcheck().args(["record", "--list"]));
    assert_eq!(o.code, Some(0));
    let names: Vec<&str> = o
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "incident",
            "incident-forced",
            "appends-then-seal",
            "incident-forced-appends",
            "one-paused",
            "two-paused",
            "one-partitioned",
            "partition-heals",
            "sealer-cut",
            "storage-state-change",
            "kill-restart",
            "steady-load",
            "steady-load-short",
            "steady-load-10min",
            "steady-load-forced"
        ]
    );
}

#[test]
fn record_of_an_unknown_scenario_exits_2() {
    let o = run(sealcheck().args(["record", "incidnet", "--out", "target/never"]));
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .contains("unknown scenario `incidnet`; known: incident,"),
        "{}",
        o.stderr
    );
}

#[test]
fn record_without_binaries_exits_2_naming_npm_ci() {
    let o = run(sealcheck()
        .args(["record", "incident", "--out", "target/never"])
        .args([
            "--server",
            "/nonexistent/restate-server",
            "--restatectl",
            "/nonexistent/restatectl",
        ]));
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .contains("restate-server not found at /nonexistent/restate-server"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("npm ci --prefix"), "{}", o.stderr);
    assert!(!o.stderr.contains("bug"), "{}", o.stderr);
    assert!(
        !std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/never")).exists()
    );
}

#[test]
fn record_needs_a_scenario_and_an_out_directory() {
    let o = run(sealcheck().args(["record"]));
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("--out <DIR>"), "{}", o.stderr);
}
