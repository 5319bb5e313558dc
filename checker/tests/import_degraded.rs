//! Logs of any cluster (issue #17, point 4): every committed recording, thinned the way a
//! user's material would be, either keeps its committed verdict or stops naming what it lacks.
//!
//! For each recording under traces/restate-1.7.12/ (reproduced ones included) four copies are
//! imported, then validated with the recording's options from traces/expected.toml:
//! (a) every server log cut to start mid-run (its first third dropped, and the SQL snapshots
//! taken before the latest cut), (b) only INFO-and-above lines kept, (c) no `actions.jsonl`,
//! (d) the server logs alone, under other file names and without `meta.json`.
//!
//! At INFO (b) the recordings whose seal tasks are all the operator's keep their verdict
//! ([`INFO_ONLY_KEEPS`]); the others stop naming the DEBUG lines that tell whose seal task a
//! record is (a reader's assist, an auto-recovery seal).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealcheck::validate::{validate_file, ValidateOptions, Verdict};
use sealcheck_model::properties::LEGAL_STORAGE_MOVES;
use sealcheck_recorder::import::{import_raw_dir, import_raw_dir_loglets, ImportError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[derive(Debug, serde::Deserialize)]
struct Expected {
    verdict: String,
    property: Option<String>,
    strict: Option<bool>,
    max_frontier: Option<usize>,
    #[allow(dead_code)]
    item: Option<usize>,
}

fn manifest() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(root().join("traces/expected.toml")).unwrap();
    let all: BTreeMap<String, toml::Value> = toml::from_str(&text).unwrap();
    all.into_iter()
        .filter(|(k, _)| k.starts_with("restate-1.7.12/"))
        .map(|(k, v)| (k, v.try_into().unwrap()))
        .collect()
}

/// Every recording's directory (relative to traces/), with its raw directory.
fn recordings() -> Vec<String> {
    manifest()
        .keys()
        .map(|k| k.trim_end_matches("/trace.jsonl").to_string())
        .filter(|k| root().join("traces").join(k).join("raw").is_dir())
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sealcheck-degraded-{}-{}",
        std::process::id(),
        name.replace('/', "-")
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy_raw(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("logs")).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
    for e in std::fs::read_dir(from.join("logs")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join("logs").join(p.file_name().unwrap())).unwrap();
    }
}

fn log_paths(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn timestamp_us(line: &str) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    sealcheck_recorder::time::parse_rfc3339(v.get("timestamp")?.as_str()?)
}

/// (a) Each log loses its first third; snapshots before the latest cut go too.
fn cut_mid_run(dir: &Path) {
    let mut cut_us = i64::MIN;
    for p in log_paths(dir) {
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let kept = &lines[lines.len() / 3..];
        if let Some(t) = kept.iter().find_map(|l| timestamp_us(l)) {
            cut_us = cut_us.max(t);
        }
        std::fs::write(&p, kept.join("\n") + "\n").unwrap();
    }
    let sql = dir.join("sql.jsonl");
    if let Ok(text) = std::fs::read_to_string(&sql) {
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v["time_us"].as_i64())
                    .is_some_and(|t| t >= cut_us)
            })
            .collect();
        std::fs::write(&sql, kept.join("\n") + "\n").unwrap();
    }
}

/// (b) Restate's default filter: no DEBUG (or TRACE) line.
fn info_only(dir: &Path) {
    for p in log_paths(dir) {
        let text = std::fs::read_to_string(&p).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("\"level\":\"DEBUG\"") && !l.contains("\"level\":\"TRACE\""))
            .collect();
        std::fs::write(&p, kept.join("\n") + "\n").unwrap();
    }
}

/// (d) Only the server logs, named as another harness might name them.
fn logs_only(raw: &Path, dir: &Path) {
    for (k, p) in log_paths(raw).iter().enumerate() {
        std::fs::copy(
            p,
            dir.join(format!("server-{}.txt", (b'a' + k as u8) as char)),
        )
        .unwrap();
    }
}

/// The recordings whose INFO-only copy keeps its committed verdict: every seal record of
/// their loglet is the outcome of the operator's `restatectl logs seal`. The other
/// recordings' INFO-only copies name the DEBUG lines they lack.
const INFO_ONLY_KEEPS: [&str; 10] = [
    "restate-1.7.12/appends-then-seal",
    "restate-1.7.12/incident",
    "restate-1.7.12/incident-forced-appends",
    "restate-1.7.12/one-partitioned",
    "restate-1.7.12/one-paused",
    "restate-1.7.12/partition-heals",
    "restate-1.7.12/reproduced/incident",
    "restate-1.7.12/sealer-cut",
    "restate-1.7.12/storage-state-change",
    "restate-1.7.12/two-paused",
];

/// What an import and validation of a degraded copy gave.
enum Got {
    Verdict(String, Option<String>),
    Needs(Vec<String>),
}

fn run(dir: &Path, expected: &Expected) -> Got {
    let trace = match import_raw_dir(dir) {
        Ok(t) => t,
        Err(ImportError::Inconclusive { needs, .. }) => return Got::Needs(needs),
        Err(e) => panic!(
            "{}: import failed without naming a missing input: {e}",
            dir.display()
        ),
    };
    let out = dir.join("trace.jsonl");
    trace.write_file(&out).unwrap();
    let d = ValidateOptions::default();
    let opts = ValidateOptions {
        permissive: !expected.strict.unwrap_or(false),
        max_frontier: expected.max_frontier.unwrap_or(d.max_frontier),
        ..d
    };
    let o = validate_file(&out, &opts).unwrap();
    match o.verdict {
        Verdict::Violates { property, .. } => Got::Verdict("violates".into(), Some(property)),
        v => Got::Verdict(v.word().into(), None),
    }
}

#[test]
fn degraded_recordings_keep_their_verdict_or_name_what_they_lack() {
    let manifest = manifest();
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    for rec in recordings() {
        let expected = &manifest[&format!("{rec}/trace.jsonl")];
        let raw = root().join("traces").join(&rec).join("raw");
        let mut row = vec![rec.clone()];
        for case in ["mid-run", "info-only", "no-actions", "logs-only"] {
            let dir = scratch(&format!("{rec}-{case}"));
            match case {
                "mid-run" => {
                    copy_raw(&raw, &dir);
                    cut_mid_run(&dir);
                }
                "info-only" => {
                    copy_raw(&raw, &dir);
                    info_only(&dir);
                }
                "no-actions" => {
                    copy_raw(&raw, &dir);
                    std::fs::remove_file(dir.join("actions.jsonl")).unwrap();
                }
                _ => logs_only(&raw, &dir),
            }
            let started = std::time::Instant::now();
            let got = run(&dir, expected);
            let secs = started.elapsed().as_secs_f64();
            if case == "info-only" {
                let keeps = INFO_ONLY_KEEPS.contains(&rec.as_str());
                match &got {
                    Got::Verdict(..) if !keeps => {
                        wrong.push(format!("{rec} info-only: a verdict, expected a need"))
                    }
                    Got::Needs(n) if keeps || !n.iter().any(|n| n.starts_with("DEBUG lines")) => {
                        wrong.push(format!("{rec} info-only: needs {n:?}"))
                    }
                    _ => {}
                }
            }
            let cell = match got {
                Got::Needs(needs) => {
                    assert!(!needs.is_empty() && needs.iter().all(|n| !n.is_empty()));
                    format!("inconclusive: needs {}", needs.join("; "))
                }
                Got::Verdict(word, property) => {
                    if word != expected.verdict || property != expected.property {
                        wrong.push(format!(
                            "{rec} {case}: {word} {property:?}, committed {} {:?}",
                            expected.verdict, expected.property
                        ));
                    }
                    match property {
                        Some(p) => format!("{word} ({p})"),
                        None => word,
                    }
                }
            };
            row.push(format!("{case} ({secs:.1} s): {cell}"));
            std::fs::remove_dir_all(&dir).unwrap();
        }
        table.push(row.join("\n    "));
    }
    eprintln!("{}", table.join("\n"));
    assert!(wrong.is_empty(), "a different verdict: {wrong:#?}");
}

/// A mutant at INFO: the seal task's reported tail lowered below what the snapshots show the
/// members holding. The INFO-only import still translates it, and the trace diverges.
#[test]
fn an_info_only_mutant_is_caught() {
    let rec = "restate-1.7.12/appends-then-seal";
    let dir = scratch("info-only-mutant");
    copy_raw(&root().join("traces").join(rec).join("raw"), &dir);
    info_only(&dir);
    let n1 = dir.join("logs/n1.log");
    let text = std::fs::read_to_string(&n1).unwrap();
    let from = r#""loglet_id":"0_0","replication":"{node: 2}","max_local_tail":"7""#;
    assert_eq!(text.matches(from).count(), 1);
    std::fs::write(&n1, text.replace(from, &from.replace("\"7\"", "\"5\""))).unwrap();
    let t = import_raw_dir(&dir).unwrap();
    let complete = &t.header.complete;
    assert!(!complete.iter().any(|k| k == "provisioned"), "{complete:?}");
    assert!(complete.iter().any(|k| k == "seal-started"), "{complete:?}");
    assert!(t.notes.iter().any(|n| n.contains("hold no DEBUG line")));
    let expected = Expected {
        verdict: "conforms".into(),
        property: None,
        strict: None,
        max_frontier: None,
        item: None,
    };
    match run(&dir, &expected) {
        Got::Verdict(word, _) => assert_eq!(word, "diverges"),
        Got::Needs(n) => panic!("{n:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The trace's lines as JSON, with `t` left out of the items and the name and source out of
/// the header (a directory without `meta.json` starts at its first log line, not at the
/// recorder's start, and is named after the directory).
fn comparable(jsonl: &str) -> Vec<serde_json::Value> {
    let mut v: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let header = v[0].as_object_mut().unwrap();
    header.remove("source");
    header["config"].as_object_mut().unwrap().remove("name");
    for item in &mut v[1..] {
        item.as_object_mut().unwrap().remove("t");
    }
    v
}

#[test]
fn without_meta_the_setup_derived_from_the_logs_gives_the_committed_trace() {
    for rec in recordings() {
        let raw = root().join("traces").join(&rec).join("raw");
        let dir = scratch(&format!("{rec}-nometa"));
        copy_raw(&raw, &dir);
        std::fs::remove_file(dir.join("meta.json")).unwrap();
        let t = import_raw_dir(&dir).unwrap_or_else(|e| panic!("{rec}: {e}"));
        assert!(
            t.notes.iter().any(|n| n.starts_with("no meta.json")),
            "{rec}: {:?}",
            t.notes
        );
        let committed =
            std::fs::read_to_string(root().join("traces").join(&rec).join("trace.jsonl")).unwrap();
        assert_eq!(comparable(&t.to_jsonl()), comparable(&committed), "{rec}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A JSON log line in tracing's full text format:
/// `<time> <LEVEL> span{k=v}:span2{..}: <target>: <message> k=v`.
fn text_line(line: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return line.to_string();
    };
    let value = |v: &serde_json::Value| {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if s.is_empty() || s.contains([' ', '"', '{', '}', '=']) {
            format!("\"{}\"", s.replace('"', "\\\""))
        } else {
            s
        }
    };
    let kvs = |m: &serde_json::Map<String, serde_json::Value>, skip: &str| {
        m.iter()
            .filter(|(k, _)| *k != skip)
            .map(|(k, x)| format!("{k}={}", value(x)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let spans: Vec<String> = v["spans"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let m = s.as_object().unwrap();
                    format!("{}{{{}}}", m["name"].as_str().unwrap(), kvs(m, "name"))
                })
                .collect()
        })
        .unwrap_or_default();
    let fields = v["fields"].as_object().unwrap();
    let mut out = format!(
        "{} {:>5} ",
        v["timestamp"].as_str().unwrap(),
        v["level"].as_str().unwrap()
    );
    if !spans.is_empty() {
        out += &format!("{}: ", spans.join(":"));
    }
    out += &format!(
        "{}: {}",
        v["target"].as_str().unwrap(),
        fields["message"].as_str().unwrap_or("")
    );
    let rest = kvs(fields, "message");
    if !rest.is_empty() {
        out += &format!(" {rest}");
    }
    out
}

#[test]
fn logs_in_restate_s_text_format_give_the_committed_trace() {
    for rec in recordings() {
        let raw = root().join("traces").join(&rec).join("raw");
        let dir = scratch(&format!("{rec}-text"));
        copy_raw(&raw, &dir);
        for p in log_paths(&dir) {
            let text = std::fs::read_to_string(&p).unwrap();
            let lines: Vec<String> = text.lines().map(text_line).collect();
            std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        }
        let t = import_raw_dir(&dir).unwrap_or_else(|e| panic!("{rec}: {e}"));
        let committed =
            std::fs::read_to_string(root().join("traces").join(&rec).join("trace.jsonl")).unwrap();
        assert_eq!(t.to_jsonl(), committed, "{rec}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn sealcheck_import_exits_3_naming_what_is_missing() {
    let rec = "restate-1.7.12/incident";
    let dir = scratch("cli-logs-only");
    logs_only(&root().join("traces").join(rec).join("raw"), &dir);
    // N3's log is missing: a member of the loglet's nodeset.
    std::fs::remove_file(dir.join("server-c.txt")).unwrap();
    let out = assert_cmd::Command::cargo_bin("sealcheck")
        .unwrap()
        .args(["import", "-q"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("inconclusive: needs the server logs of N3: members of the loglet's nodeset"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Server logs alone: the operator's storage-state changes are unknown (header `unknown`,
/// not complete, a budget of two per log server, forced or not), and a restart is placed
/// from the node's process start with its crash left to the validator. A run without any
/// storage-state change conforms as the full material does, kill-restart included; the
/// forced incident, whose logs show a seal refused for all-Provisioning members after every
/// member provisioned, violates the legal moves at that refusal, which only a forced move
/// nobody logged explains; crash-restart, whose N1 provisions itself again after its
/// restart, at that second `provisioned`. two-paused's failed seal requests to its paused
/// members give the timeout budget (one per member whose failure is logged). incident-forced
/// (1.7.12, 1.6.2 and 1.5.3) violates at the refusal for all-Provisioning members after every
/// member provisioned: pass 2 is decided by the rule that without `--force` a log server never
/// goes back to Provisioning (`import --run` of 1.7.12's logs took over three minutes when the
/// breadth-first search had to hold every interleaving of crashes and legal moves before it).
#[test]
fn logs_only_material_validates_with_the_operator_unknown() {
    for (rec, verdict, item) in [
        ("restate-1.7.12/incident", "conforms", None),
        ("restate-1.7.12/incident-forced", "violates", Some(3)),
        ("restate-1.6.2/incident-forced", "violates", Some(3)),
        ("restate-1.5.3/incident-forced", "violates", Some(3)),
        (
            "restate-1.7.12/incident-forced-appends",
            "violates",
            Some(3),
        ),
        ("restate-1.7.12/kill-restart", "conforms", None),
        (
            "restate-1.7.12/reproduced/crash-restart",
            "violates",
            Some(4),
        ),
    ] {
        let dir = scratch(&format!("unknown-{}", rec.replace('/', "-")));
        logs_only(&root().join("traces").join(rec).join("raw"), &dir);
        let t = import_raw_dir(&dir).unwrap_or_else(|e| panic!("{rec}: {e}"));
        assert_eq!(t.header.unknown, vec!["storage-state-set".to_string()]);
        assert!(!t.header.is_complete("storage-state-set"));
        assert_eq!(t.header.config.faults.operator_moves, 6);
        assert!(t.header.config.faults.operator_force);
        assert_eq!(
            t.header.is_complete("crashed"),
            t.header.config.faults.crashes == 0,
            "{rec}"
        );
        let out = dir.join("trace.jsonl");
        t.write_file(&out).unwrap();
        let o = validate_file(&out, &ValidateOptions::default()).unwrap();
        assert_eq!(o.verdict.word(), verdict, "{rec}: {:?}", o.verdict);
        if let Verdict::Violates { property, at, .. } = &o.verdict {
            assert_eq!(property, LEGAL_STORAGE_MOVES);
            assert_eq!(Some(at.index), item);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The same logs imported loglet by loglet (`import --run`): loglet 0_0's window starts after
/// every member provisioned (`My storage state: ReadWrite`), so its first item is the refusal
/// for all-Provisioning members, which only a forced move explains. That took over three
/// minutes and 698 MB for 1.7.12 while pass 2 held every interleaving of crashes and legal
/// moves before it; the storage-state rule decides it in milliseconds.
#[test]
fn logs_only_runs_of_the_forced_incident_violate_at_their_first_item() {
    for rec in [
        "restate-1.7.12/incident-forced",
        "restate-1.6.2/incident-forced",
        "restate-1.5.3/incident-forced",
    ] {
        let dir = scratch(&format!("unknown-run-{}", rec.replace('/', "-")));
        logs_only(&root().join("traces").join(rec).join("raw"), &dir);
        let run = import_raw_dir_loglets(&dir).unwrap_or_else(|e| panic!("{rec}: {e}"));
        let out = dir.join("out");
        let files = run.write_to_dir(&out).unwrap();
        let first = files
            .iter()
            .find(|f| f.ends_with("0_0.jsonl"))
            .unwrap_or_else(|| panic!("{rec}: no loglet 0_0 in {files:?}"));
        let opts = ValidateOptions {
            timeout: Some(std::time::Duration::from_secs(60)),
            ..ValidateOptions::default()
        };
        let o = validate_file(first, &opts).unwrap();
        match &o.verdict {
            Verdict::Violates { property, at, .. } => {
                assert_eq!(property, LEGAL_STORAGE_MOVES, "{rec}");
                assert_eq!(at.index, 0, "{rec}");
            }
            v => panic!("{rec}: {v:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Files next to the server logs that are not logs (a README, a trace written there) are not
/// read, and the notes name them; a directory with nothing but such files is an input error
/// that names them.
#[test]
fn files_that_are_not_server_logs_are_named_and_not_read() {
    let rec = "restate-1.7.12/incident";
    let dir = scratch("not-logs");
    logs_only(&root().join("traces").join(rec).join("raw"), &dir);
    std::fs::write(dir.join("README.txt"), "the logs of a run\n").unwrap();
    std::fs::copy(
        root().join("traces").join(rec).join("trace.jsonl"),
        dir.join("trace.jsonl"),
    )
    .unwrap();
    let t = import_raw_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    for f in ["README.txt", "trace.jsonl"] {
        assert!(
            t.notes
                .iter()
                .any(|n| n.starts_with(&format!("{f} is not read: no line in Restate's"))),
            "{:#?}",
            t.notes
        );
    }
    let only = scratch("not-logs-only");
    std::fs::write(only.join("README.txt"), "the logs of a run\n").unwrap();
    let e = import_raw_dir(&only).unwrap_err().to_string();
    assert!(
        e.contains("no server log in the directory") && e.contains("README.txt"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&only).unwrap();
}

/// Issue #17, logs of any cluster: a node that went down mid-run and never came back (its log
/// stops without a shutdown line, seconds before the others'). kill-restart's logs alone with
/// N3's log cut at its restart: N3 is taken as stopped (one crash in the budget, `crashed` not
/// logged completely, a note naming the log), and the trace still conforms: the seal completed
/// on N1 and N2. Before, the header claimed no crash at all.
#[test]
fn a_log_that_stops_early_without_a_shutdown_line_is_a_crash() {
    let raw = root().join("traces/restate-1.7.12/kill-restart/raw/logs");
    let dir = scratch("stops-early");
    for n in ["n1.log", "n2.log"] {
        std::fs::copy(raw.join(n), dir.join(n)).unwrap();
    }
    let n3 = std::fs::read_to_string(raw.join("n3.log")).unwrap();
    let second_start = n3
        .match_indices("Starting Restate Server")
        .nth(1)
        .map(|(at, _)| n3[..at].rfind('\n').unwrap() + 1)
        .unwrap();
    std::fs::write(dir.join("n3.log"), &n3[..second_start]).unwrap();
    let t = import_raw_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.header.config.faults.crashes, 1);
    assert!(!t.header.is_complete("crashed"));
    assert!(
        t.notes
            .iter()
            .any(|n| n.starts_with("N3's log (n3.log) stops at") && n.contains("taken as stopped")),
        "{:#?}",
        t.notes
    );
    let path = dir.join("trace.jsonl");
    t.write_file(&path).unwrap();
    let r = validate_file(&path, &ValidateOptions::default()).unwrap();
    assert!(
        matches!(r.verdict, Verdict::Conforms { .. }),
        "{:?}",
        r.verdict
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The scenario's loglet as the committed trace's header names it, and the sealer's number.
fn loglet_and_sealer(trace: &Path) -> (String, u32) {
    let text = std::fs::read_to_string(trace).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let loglet = header["config"]["loglet"].as_str().unwrap().to_string();
    let sealer = header["roles"]["sealer"].as_str().unwrap();
    (loglet, sealer.trim_start_matches('N').parse().unwrap())
}

/// Events of a trace by kind, in order (observations left out).
fn events(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["event"].as_str().map(str::to_string))
        .filter(|e| !e.starts_with("observe-"))
        .collect()
}

/// A seal task's `Seal task completed on f-majority` line can be missing from a log although
/// its `seal()` returned Ok (seen on 1.7.12, `reproduced/cluster-roles-lost-completion`). Every
/// recording whose sealer's log has that line for the scenario's loglet and a `seal() has
/// completed successfully` after it, imported with the completion line deleted: the trace has
/// the same events in the same order (seal-completed placed at the drain inside seal(), or at
/// seal()'s return) and the same verdict.
#[test]
fn a_missing_seal_completion_line_is_recovered_from_seal_s_return() {
    let mut tried = 0;
    for rec in recordings() {
        let src = root().join("traces").join(&rec);
        let (loglet, sealer) = loglet_and_sealer(&src.join("trace.jsonl"));
        let log = src.join("raw/logs").join(format!("n{sealer}.log"));
        let text = std::fs::read_to_string(&log).unwrap();
        let of_loglet = |l: &str| l.contains(&format!("\"loglet_id\":\"{loglet}\""));
        let Some(done) = text
            .lines()
            .position(|l| l.contains("Seal task completed on f-majority") && of_loglet(l))
        else {
            continue;
        };
        let returned = text
            .lines()
            .skip(done)
            .any(|l| l.contains("seal() has completed successfully") && of_loglet(l));
        if !returned {
            continue;
        }
        let committed = std::fs::read_to_string(src.join("trace.jsonl")).unwrap();
        if !events(&committed).iter().any(|e| e == "seal-completed") {
            // The completion line is another node's task's (an assist, another seal).
            continue;
        }
        tried += 1;
        let dir = scratch(&format!("{rec}-no-completion"));
        copy_raw(&src.join("raw"), &dir);
        let kept: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != done)
            .map(|(_, l)| l)
            .collect();
        std::fs::write(
            dir.join("logs").join(format!("n{sealer}.log")),
            kept.join("\n") + "\n",
        )
        .unwrap();
        let trace = import_raw_dir(&dir).unwrap_or_else(|e| panic!("{rec}: {e}"));
        assert!(
            trace
                .notes
                .iter()
                .any(|n| n.contains("no `Seal task completed on f-majority` line")),
            "{rec}: the notes do not say the completion was recovered: {:#?}",
            trace.notes
        );
        assert!(
            trace.unplaced().is_empty(),
            "{rec}: {:#?}",
            trace.unplaced()
        );
        assert_eq!(
            events(&trace.to_jsonl()),
            events(&committed),
            "{rec}: the events differ from the committed trace's"
        );
        let expected = &manifest()[&format!("{rec}/trace.jsonl")];
        match run(&dir, expected) {
            Got::Verdict(v, p) => {
                assert_eq!(v, expected.verdict, "{rec}");
                assert_eq!(p, expected.property, "{rec}");
            }
            Got::Needs(n) => panic!("{rec}: needs {n:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        tried >= 5,
        "only {tried} recordings had a completion line to delete"
    );
}

/// Logs laid out one directory per node, as a volume dump or another harness leaves them
/// (`node-a/restate.log`, no node number in any name; a trace file beside them whose name has
/// digits): read as the flat copy is, each node named by its own lines, and the trace file
/// named as not read.
#[test]
fn logs_in_one_directory_per_node_give_the_flat_copy_s_trace() {
    let rec = "restate-1.7.12/incident";
    let raw = root().join("traces").join(rec).join("raw");
    let flat = scratch("per-node-flat");
    logs_only(&raw, &flat);
    let nested = scratch("per-node-nested");
    for (k, p) in log_paths(&raw).iter().enumerate() {
        let sub = nested.join(format!("node-{}", (b'a' + k as u8) as char));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::copy(p, sub.join("restate.log")).unwrap();
    }
    std::fs::create_dir_all(nested.join("out")).unwrap();
    std::fs::copy(
        root().join("traces").join(rec).join("trace.jsonl"),
        nested.join("out/0_0.jsonl"),
    )
    .unwrap();
    let a = import_raw_dir(&flat).unwrap_or_else(|e| panic!("{e}"));
    let b = import_raw_dir(&nested).unwrap_or_else(|e| panic!("{e}"));
    let (fa, fb) = (flat.join("trace.jsonl"), nested.join("trace.jsonl"));
    a.write_file(&fa).unwrap();
    b.write_file(&fb).unwrap();
    assert_eq!(
        comparable(&std::fs::read_to_string(&fa).unwrap()),
        comparable(&std::fs::read_to_string(&fb).unwrap())
    );
    assert!(
        b.notes
            .iter()
            .any(|n| n.starts_with("out/0_0.jsonl is not read: no line in Restate's")),
        "{:#?}",
        b.notes
    );
    assert!(
        b.notes
            .iter()
            .any(|n| n == "node-a/restate.log is N1's log, by its own lines"
                || n.starts_with("node-a/restate.log is N")),
        "{:#?}",
        b.notes
    );
    std::fs::remove_dir_all(&flat).unwrap();
    std::fs::remove_dir_all(&nested).unwrap();
}
