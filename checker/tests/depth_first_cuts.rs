//! The depth-first search's cuts and order (module essay of `checker/src/validate/mod.rs`,
//! "The depth-first order"): what a seeded bug alone could still carry to an item ahead is cut,
//! and a crash nobody logged lands right after the last snapshot that saw the node up. Each
//! case ran past the search's budget before (then 20 s or 120 s in the breadth-first search,
//! inconclusive); each is found by the depth-first search now, with few states.

use std::path::{Path, PathBuf};

use sealcheck::validate::{validate_file, ValidateOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sealcheck-dfs-cuts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Validates `file` with a 60 s bound and checks that the depth-first search explained it.
fn conforms_depth_first(file: &Path, max_states: usize) {
    let opts = ValidateOptions {
        timeout: Some(std::time::Duration::from_secs(60)),
        ..ValidateOptions::default()
    };
    let o = validate_file(file, &opts).unwrap();
    assert_eq!(
        o.verdict.word(),
        "conforms",
        "{}: {:?}",
        file.display(),
        o.verdict
    );
    assert_eq!(o.method, "depth-first", "{}", file.display());
    assert!(
        o.states <= max_states,
        "{}: {} states",
        file.display(),
        o.states
    );
}

/// Seventeen appends nobody logged or observed, then the sealer's seal completing on N2 and N3
/// with tail 17, the sequencer's drain, and N1 seen sealed at 17 (the end of `steady-load-2`'s
/// loglet 0_4). An explanation that seals N1 before its stores land, or N2 and N3 below 17, is
/// cut at once.
#[test]
fn a_seal_reporting_the_tail_of_hidden_appends_is_explained_at_once() {
    let dir = scratch("seal-tail");
    let header = r#"{"format":"sealcheck-trace","version":1,"config":{"name":"hidden-appends-seal-reports-tail","log_servers":3,"nodeset":[1,2,3],"replication":2,"client":9,"loglet":"0_4","initial_storage":["read-write","read-write","read-write"],"forced_provisioning":[],"appends":17,"stale_views":false,"harness":{"kind":"seal-once","max_attempts":1},"faults":{"message_loss":0,"message_duplication":0,"crashes":0,"timeouts":0,"operator_moves":0,"operator_force":false},"bugs":[],"unreachable":[]},"roles":{"sealer":"N1","sequencer":"N1"},"complete":["provisioned","seal-started","seal-rejected","seal-completed","seal-failed","storage-state-set","crashed","restarted","sequencer-sealed"],"run_complete":false,"source":"checker/tests/depth_first_cuts.rs"}"#;
    let items = [
        r#"{"t":1.0,"event":"seal-started","node":"N1"}"#,
        r#"{"t":2.0,"event":"seal-completed","node":"N1","max_local_tail":17,"status":{"N1":"?","N2":"S","N3":"S"}}"#,
        r#"{"t":3.0,"event":"sequencer-sealed","node":"N1"}"#,
        r#"{"t":4.0,"event":"observe-log-server","node":"N1","local_tail":17,"sealed":true}"#,
    ];
    for (name, n) in [("whole", 4), ("completion", 2)] {
        let f = dir.join(format!("{name}.jsonl"));
        std::fs::write(&f, format!("{header}\n{}\n", items[..n].join("\n"))).unwrap();
        conforms_depth_first(&f, 5_000);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `steady-load-2` imported without its operator records: N3's kill is not logged, its
/// restart is (a process start in its log), and log 1's loglet (169 model offsets) needs the
/// crash right after the last snapshot that saw N3 up, before the appends whose stores N3's
/// later tails need. Its 0_4 (created while N3 was down, sealed four mapped offsets past the
/// last snapshot) too.
#[test]
fn a_crash_nobody_logged_lands_after_the_last_snapshot_of_the_node() {
    let raw = root().join("traces/restate-1.7.12/steady-load-2/raw");
    let dir = scratch("no-actions");
    let input = dir.join("raw");
    std::fs::create_dir_all(input.join("logs")).unwrap();
    for e in std::fs::read_dir(&raw).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        if p.is_file() && name != "actions.jsonl" {
            std::fs::copy(&p, input.join(&name)).unwrap();
        }
    }
    for e in std::fs::read_dir(raw.join("logs")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, input.join("logs").join(p.file_name().unwrap())).unwrap();
    }
    let out = dir.join("out");
    let o = assert_cmd::Command::cargo_bin("sealcheck")
        .unwrap()
        .args(["import", "--run", "--out"])
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let one = std::fs::read_to_string(out.join("loglets/1_0.jsonl")).unwrap();
    assert!(
        !one.lines().next().unwrap().contains(r#""crashed""#),
        "crashed is not complete"
    );
    assert!(one.contains(r#""event":"restarted","node":"N3""#));
    conforms_depth_first(&out.join("loglets/1_0.jsonl"), 50_000);
    conforms_depth_first(&out.join("loglets/0_4.jsonl"), 50_000);
    conforms_depth_first(
        &root().join("traces/restate-1.7.12/steady-load-2/loglets/0_4.jsonl"),
        5_000,
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// steady-load-short's 0_3 with N1 seen sealed at 14 right after a seal that reported tail 15
/// on `[N1(S), N2(S), N3(?)]` (N2 sealed at 10): the tail 15 can only come from N3's answer,
/// which the task did not count but which leaves the network as the task ends (the outcome
/// reports those answers too). The cut by a seal's reported tail must keep that explanation:
/// a first version that took only the members the outcome names `S` as sources made this
/// conforming mutant inconclusive.
#[test]
fn a_reported_tail_may_come_from_an_answer_the_task_did_not_count() {
    let src = root().join("traces/restate-1.7.12/steady-load-short/loglets/0_3.jsonl");
    let text = std::fs::read_to_string(&src).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let k = lines
        .iter()
        .position(|l| {
            l.contains(r#""event":"observe-log-server","node":"N1","local_tail":15,"sealed":true"#)
        })
        .expect("N1 seen sealed at 15");
    lines[k] = lines[k].replace(r#""local_tail":15"#, r#""local_tail":14"#);
    let dir = scratch("uncounted");
    let f = dir.join("0_3-n1-14.jsonl");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    conforms_depth_first(&f, 50_000);
    std::fs::remove_dir_all(&dir).unwrap();
}
