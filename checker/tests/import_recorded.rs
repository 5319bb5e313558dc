//! The committed recordings: every scenario has a trace, and each trace is exactly what
//! `sealcheck import` makes of the raw material next to it (so the two cannot drift apart).

use std::path::{Path, PathBuf};

use sealcheck::trace_reader::TraceReader;
use sealcheck_recorder::import::{import_raw_dir, DropReason, Scope};
use sealcheck_recorder::Scenario;

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/restate-1.7.12")
}

/// Recordings without a `trace.jsonl` (their `meta.json` loglet alone does not fit the model):
/// imported in run mode instead, every loglet into `loglets/` with `run.json`
/// (`import_loglets.rs` checks them).
const IMPORT_PENDING: [&str; 4] = [
    "steady-load",
    "steady-load-short",
    "steady-load-10min",
    "steady-load-forced",
];

/// The scenarios whose recordings have a committed trace.
fn imported_scenarios() -> impl Iterator<Item = Scenario> {
    Scenario::ALL
        .into_iter()
        .filter(|s| !IMPORT_PENDING.contains(&s.name()))
}

#[test]
fn recordings_pending_import_have_raw_material_that_parses() {
    for name in IMPORT_PENDING {
        let dir = recordings().join(name);
        assert!(dir.join("README.md").is_file(), "{name}: README.md missing");
        let run = sealcheck_recorder::parse_raw_dir(&dir.join("raw"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!run.facts.is_empty(), "{name}: no facts");
    }
}

#[test]
fn every_scenario_has_a_committed_trace_and_raw_material() {
    for s in imported_scenarios() {
        let dir = recordings().join(s.name());
        assert!(
            dir.join("raw/meta.json").is_file(),
            "{}: raw/ missing",
            s.name()
        );
        assert!(
            dir.join("trace.jsonl").is_file(),
            "{}: trace.jsonl missing",
            s.name()
        );
        assert!(
            dir.join("import-notes.txt").is_file(),
            "{}: import-notes.txt missing",
            s.name()
        );
    }
}

#[test]
fn committed_traces_are_the_import_of_their_raw_material() {
    for s in imported_scenarios() {
        let dir = recordings().join(s.name());
        let fresh =
            import_raw_dir(&dir.join("raw")).unwrap_or_else(|e| panic!("{}: {e}", s.name()));
        let committed = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
        assert_eq!(
            fresh.to_jsonl(),
            committed,
            "{}: the committed trace differs from `sealcheck import {}/raw`; regenerate it",
            s.name(),
            dir.display()
        );
        let notes = std::fs::read_to_string(dir.join("import-notes.txt")).unwrap();
        assert_eq!(
            fresh.notes.join("\n") + "\n",
            notes,
            "{}: notes differ",
            s.name()
        );
    }
}

#[test]
fn committed_traces_read_back() {
    for s in imported_scenarios() {
        let path = recordings().join(s.name()).join("trace.jsonl");
        let reader = TraceReader::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!reader.header().run_complete);
        let items: Vec<_> = reader
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        let n = items.len();
        assert!(n > 5, "{}: only {n} items", s.name());
    }
}

/// A fresh copy of the raw directory `from` (its files and `logs/`) at `dir`.
fn copy_raw(from: &Path, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    for e in std::fs::read_dir(from.join("logs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("logs").join(e.file_name())).unwrap();
    }
}

/// Every committed raw directory (not only the scenarios the recorder knows today).
fn raw_dirs() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(recordings())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("raw/meta.json").is_file())
        .filter(|p| !IMPORT_PENDING.iter().any(|n| p.ends_with(n)))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, p.join("raw"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn committed_recordings_drop_no_record_the_model_has_a_step_for() {
    let dirs = raw_dirs();
    assert!(dirs.len() >= imported_scenarios().count(), "{dirs:?}");
    for (name, raw) in dirs {
        let t = import_raw_dir(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        let unplaced = t.unplaced();
        assert!(
            unplaced.is_empty(),
            "{name}: records of a kind the model has a step for were dropped: {unplaced:#?}"
        );
        for d in &t.drops {
            // A step-kind record leaves the trace only for a reason that holds.
            if let Scope::Step(step) = d.scope {
                assert!(
                    matches!(
                        d.reason,
                        DropReason::OtherLoglet(_)
                            | DropReason::AfterCut
                            | DropReason::NeedsModelStep(_)
                            | DropReason::Coarse(_)
                    ),
                    "{name}: {} ({step}) dropped: {d:?}",
                    d.kind
                );
            }
            // A seal assist is a model step in a cluster with separate roles: no record of it
            // is dropped there.
            if t.header.config.cluster.is_some() {
                assert!(
                    !matches!(d.reason, DropReason::NeedsModelStep(why) if why.starts_with("a seal assist:")),
                    "{name}: a seal assist dropped in a cluster: {d:?}"
                );
            }
            // What the model lacks is named, one line per record.
            if let DropReason::NeedsModelStep(why) = d.reason {
                let line = format!("{}:{}", d.source.file, d.source.line);
                assert!(
                    t.notes.iter().any(|n| n.contains(&line) && n.contains(why)),
                    "{name}: {line} not named in the notes"
                );
            }
        }
    }
}

#[test]
fn a_snapshot_overlapping_an_event_keeps_the_rows_the_event_cannot_change() {
    // The `nodes` snapshot started at 747.511 ms was still running when N2 self-provisioned
    // (782.101 ms): N2's row could show either side and is dropped; N1's and N3's storage
    // states no event of the interval can change, so their rows are kept.
    let t = import_raw_dir(&recordings().join("storage-state-change/raw")).unwrap();
    let at: Vec<String> = t
        .items
        .iter()
        .filter(|i| i.t == 747.511)
        .map(|i| i.item.to_json())
        .collect();
    assert_eq!(
        at,
        [
            r#"{"event":"observe-storage-state","node":"N3","state":"read-write"}"#,
            r#"{"event":"observe-storage-state","node":"N1","state":"read-write"}"#,
        ]
    );
    let provisioned = t.position("provisioned", Some(2)).unwrap();
    assert!(t.items[provisioned].t > 747.511);
}

#[test]
fn kill_restart_s_seal_assist_is_the_model_s_find_tail_reader() {
    // Sealer N1, sequencer N3: a cluster with separate roles. N3 is killed before the seal
    // and restarted after it; its reader's find-tail sees N1 sealed and itself open, and runs
    // a seal task to assist (n3.log:83-85), which the trace keeps as the reader's steps.
    let t = import_raw_dir(&recordings().join("kill-restart/raw")).unwrap();
    let c = &t.header.config;
    assert_eq!(c.cluster.as_ref().map(|c| c.sequencer), Some(3));
    assert_eq!(t.header.roles.finder.map(|n| n.0), Some(3));
    let started = t.position("seal-assist-started", Some(3)).unwrap();
    let done = t.position("seal-assist-completed", Some(3)).unwrap();
    let restarted = t.position("restarted", Some(3)).unwrap();
    assert!(restarted < started && started < done);
    assert!(
        (t.items[started].t - 8405.8).abs() < 0.1,
        "{}",
        t.items[started].t
    );
    assert!(t
        .drops
        .iter()
        .all(|d| !matches!(d.reason, DropReason::NeedsModelStep(_))));
    // Sealer and sequencer on one node (N1 in two-paused): the single client, no cluster.
    let t = import_raw_dir(&recordings().join("two-paused/raw")).unwrap();
    assert!(t.header.config.cluster.is_none());
}

#[test]
fn a_tail_repair_in_a_cluster_is_the_reader_s_repair() {
    // No committed run repaired a tail; two repair lines of Restate's `repair_tail.rs`, put
    // into a copy of kill-restart's N3 log right after its seal assist, must become the
    // reader's tail-repair-started (model offsets: Restate's minus one) and tail-repaired.
    let from = recordings().join("kill-restart/raw");
    let dir = std::env::temp_dir().join(format!("sealcheck-repair-{}", std::process::id()));
    copy_raw(&from, &dir);
    let log = dir.join("logs/n3.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let target = "restate_bifrost::providers::replicated_loglet::tasks::repair_tail";
    lines.insert(
        85,
        format!(r#"{{"timestamp":"2026-11-27T03:22:48.331600Z","level":"INFO","fields":{{"message":"Tail records are under-replicated, starting a repair tail task","loglet_id":"0_0","start_offset":"2","target_tail":"3"}},"target":"{target}"}}"#),
    );
    lines.insert(
        86,
        format!(r#"{{"timestamp":"2026-11-27T03:22:48.331700Z","level":"INFO","fields":{{"message":"Repair task completed, 1 record(s) have been repaired","loglet_id":"0_0","known_global_tail":"3"}},"target":"{target}"}}"#),
    );
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let t = import_raw_dir(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let started = t.position("tail-repair-started", Some(3)).unwrap();
    assert_eq!(
        t.items[started].item.to_json(),
        r#"{"event":"tail-repair-started","node":"N3","from":1,"to":2}"#
    );
    let done = t.position("tail-repaired", Some(3)).unwrap();
    assert!(t.position("seal-assist-completed", Some(3)).unwrap() < started && started < done);
    assert!(t.unplaced().is_empty());
}

/// The recordings of older Restate versions (`traces/restate-1.6.2/`, `traces/restate-1.5.3/`).
const OLDER_VERSIONS: [&str; 4] = [
    "restate-1.6.2/incident",
    "restate-1.6.2/incident-forced",
    "restate-1.5.3/incident",
    "restate-1.5.3/incident-forced",
];

fn older(rec: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces")
        .join(rec)
}

#[test]
fn older_versions_committed_traces_are_the_import_of_their_raw_material() {
    for rec in OLDER_VERSIONS {
        let dir = older(rec);
        let fresh = import_raw_dir(&dir.join("raw")).unwrap_or_else(|e| panic!("{rec}: {e}"));
        let committed = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
        assert_eq!(
            fresh.to_jsonl(),
            committed,
            "{rec}: the committed trace differs from `sealcheck import {}/raw`; regenerate it",
            dir.display()
        );
        let notes = std::fs::read_to_string(dir.join("import-notes.txt")).unwrap();
        assert_eq!(fresh.notes.join("\n") + "\n", notes, "{rec}: notes differ");
        assert!(
            fresh.unplaced().is_empty(),
            "{rec}: {:#?}",
            fresh.unplaced()
        );
    }
}

/// Restate 1.5.3 and 1.6.2 have no `loglet_workers` table, but their log servers log
/// `Loglet is now sealed on this log-server node` once their seal is durable: each such line of
/// the trace's loglet is an `observe-log-server` with `sealed: true` (no local tail) at the
/// line's time. In 1.6.2's incident all three members log it between the seal task's start
/// and its completion (N3 too, whose confirmation the task did not wait for: `N3(?)`).
#[test]
fn a_log_server_s_durable_seal_is_a_sealed_observation_in_a_1_6_2_trace() {
    use sealcheck_model::observable::{NodeId, Observation};
    use sealcheck_model::trace_format::Item;
    let t = import_raw_dir(&older("restate-1.6.2/incident/raw")).unwrap();
    let started = t.position("seal-started", Some(1)).unwrap();
    let completed = t.position("seal-completed", Some(1)).unwrap();
    let sealed: Vec<(usize, u8, String)> = t
        .items
        .iter()
        .enumerate()
        .filter_map(|(k, it)| match &it.item {
            Item::Observe(Observation::ObserveLogServer {
                node,
                local_tail: None,
                sealed: Some(true),
            }) => Some((k, node.0, format!("{}:{}", it.origin.file, it.origin.line))),
            _ => None,
        })
        .collect();
    assert_eq!(
        sealed.iter().map(|s| s.1).collect::<Vec<_>>(),
        [1, 3, 2],
        "{sealed:?}"
    );
    assert!(sealed.iter().all(|s| started < s.0 && s.0 < completed));
    assert!(sealed
        .iter()
        .all(|s| s.2.starts_with(&format!("logs/n{}.log:", s.1))));
    assert_eq!(
        t.items[sealed[0].0].item,
        Item::Observe(Observation::ObserveLogServer {
            node: NodeId(1),
            local_tail: None,
            sealed: Some(true),
        })
    );
    assert_eq!(
        t.items[sealed[0].0].item.to_json(),
        r#"{"event":"observe-log-server","node":"N1","sealed":true}"#
    );
    // N1's line about loglet 1_0 comes after the recorder's shutdown: cut, not placed.
    assert!(t.drops.iter().any(|d| d.kind == "log-server-sealed"
        && d.source.file == "logs/n1.log"
        && d.reason == DropReason::AfterCut));
}

/// A member's durable seal logged before any seal task the trace holds started (here N2's
/// line moved before the sealer's `Starting a seal task`, as a seal task the trace lacks
/// would leave it) is not placed: the model's member cannot be sealed there. It is dropped,
/// named in the notes.
#[test]
fn a_durable_seal_before_any_seal_task_is_dropped_and_named() {
    let from = older("restate-1.6.2/incident/raw");
    let dir = std::env::temp_dir().join(format!("sealcheck-early-seal-{}", std::process::id()));
    copy_raw(&from, &dir);
    let log = dir.join("logs/n2.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let line = r#"{"timestamp":"2026-12-07T14:43:09.696846Z","level":"DEBUG","fields":{"message":"Loglet is now sealed on this log-server node","loglet_id":"0_0"}"#;
    assert_eq!(text.matches(line).count(), 1);
    std::fs::write(
        &log,
        text.replace(line, &line.replace("09.696846Z", "09.600000Z")),
    )
    .unwrap();
    let t = import_raw_dir(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let observed: Vec<Option<u8>> = t
        .items
        .iter()
        .filter(|it| it.item.kind() == "observe-log-server")
        .map(|it| it.item.node().map(|n| n.0))
        .collect();
    assert_eq!(observed, [Some(1), Some(3)]);
    let dropped = t
        .drops
        .iter()
        .find(|d| d.kind == "log-server-sealed" && d.node == Some(2))
        .unwrap();
    assert!(
        matches!(dropped.reason, DropReason::NeedsModelStep(why) if why.starts_with("a log server sealed its copy of the loglet before any seal task")),
        "{dropped:?}"
    );
    let at = format!("{}:{}", dropped.source.file, dropped.source.line);
    assert!(
        t.notes
            .iter()
            .any(|n| n.starts_with("dropped log-server-sealed") && n.contains(&at)),
        "{:#?}",
        t.notes
    );
    assert!(t.unplaced().is_empty());
}
