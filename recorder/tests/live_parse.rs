//! The live reader ([`LiveRun`]) builds what the batch parser builds, however the files grow.

use std::path::{Path, PathBuf};

use sealcheck_recorder::import::scope::{scope, Scope};
use sealcheck_recorder::parse::live::LiveRun;
use sealcheck_recorder::parse::{parse_logs_dir, SqlRow};
use sealcheck_recorder::{parse_raw_dir, Fact, RawRun};

fn recording(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/restate-1.7.12")
        .join(name)
        .join("raw")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sealcheck-live-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every file of `dir` (and its `logs/`), relative path and bytes; without `meta.json` when
/// `logs_only`.
fn files(dir: &Path, logs_only: bool) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for d in [dir.to_path_buf(), dir.join("logs")] {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && !(logs_only && p.ends_with("meta.json")) {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The batch parse without what the live reader does not keep: the `logs` rows, snapshots
/// without rows, the recorder's actions that touch no loglet.
fn comparable(mut run: RawRun) -> RawRun {
    for s in &mut run.snapshots {
        s.rows.retain(|r| !matches!(r, SqlRow::Logs { .. }));
    }
    run.snapshots.retain(|s| !s.rows.is_empty());
    run.facts.retain(|f| {
        !matches!(f.fact, Fact::OperatorAction { .. })
            || !matches!(scope(&f.fact), Scope::OutOfScope(_))
    });
    run
}

/// Writes the files into `to` in `steps` growing pieces (cut anywhere, mid-line too), the
/// reader refreshing after each, then twice more with nothing new.
fn grow(to: &Path, files: &[(PathBuf, Vec<u8>)], steps: usize, live: &mut LiveRun) {
    std::fs::create_dir_all(to.join("logs")).unwrap();
    // meta.json comes first and whole, as the recorder writes it.
    for (rel, bytes) in files.iter().filter(|(r, _)| r.ends_with("meta.json")) {
        std::fs::write(to.join(rel), bytes).unwrap();
    }
    for step in 1..=steps {
        for (rel, bytes) in files.iter().filter(|(r, _)| !r.ends_with("meta.json")) {
            // An uneven cut: not at line ends.
            let upto =
                (bytes.len() * step / steps).saturating_sub(if step < steps { 7 } else { 0 });
            std::fs::write(to.join(rel), &bytes[..upto]).unwrap();
        }
        live.refresh().unwrap();
    }
    live.refresh().unwrap();
    live.refresh().unwrap();
}

#[test]
fn a_recorded_run_read_while_it_grows_parses_as_the_batch_parser_reads_it() {
    // 1.6.2's incident has the log servers' `Loglet is now sealed on this log-server node`
    // lines (1.7.12 logs none).
    for name in [
        "steady-load-short",
        "kill-restart",
        "incident-forced",
        "../restate-1.6.2/incident",
    ] {
        let raw = recording(name);
        let batch = comparable(parse_raw_dir(&raw).unwrap());
        assert!(
            batch.facts.len() > 50 && !batch.snapshots.is_empty(),
            "{name}"
        );
        if name.contains("1.6.2") {
            let sealed = batch
                .facts
                .iter()
                .filter(|f| matches!(f.fact, Fact::LogServerSealed { .. }))
                .count();
            assert_eq!(sealed, 4, "{name}");
        }
        for steps in [1, 5, 23] {
            let to = scratch(&format!("{}-{steps}", name.replace(['.', '/'], "_")));
            let mut live = LiveRun::new(&to);
            grow(&to, &files(&raw, false), steps, &mut live);
            let mut got = live.run().unwrap();
            assert_eq!(
                got.facts.len(),
                batch.facts.len(),
                "{name} in {steps} steps"
            );
            assert_eq!(got.facts, batch.facts, "{name} in {steps} steps");
            assert_eq!(got.snapshots, batch.snapshots, "{name} in {steps} steps");
            assert_eq!(got.logs, batch.logs, "{name} in {steps} steps");
            got.absent.clone_from(&batch.absent);
            assert_eq!(got, batch, "{name} in {steps} steps");
            let _ = std::fs::remove_dir_all(&to);
        }
    }
}

#[test]
fn server_logs_alone_read_while_they_grow_parse_as_the_batch_parser_reads_them() {
    for name in ["steady-load-short", "two-paused"] {
        let raw = recording(name);
        let logs = files(&raw, true);
        let whole = scratch(&format!("{name}-whole"));
        for (rel, bytes) in &logs {
            std::fs::create_dir_all(whole.join(rel).parent().unwrap()).unwrap();
            std::fs::write(whole.join(rel), bytes).unwrap();
        }
        let batch = comparable(parse_logs_dir(&whole).unwrap());
        for steps in [1, 9] {
            let to = scratch(&format!("{name}-logs-{steps}"));
            let mut live = LiveRun::new(&to);
            grow(&to, &logs, steps, &mut live);
            let mut got = live.run().unwrap();
            assert_eq!(got.facts, batch.facts, "{name} in {steps} steps");
            assert_eq!(got.logs, batch.logs, "{name} in {steps} steps");
            got.meta.scenario.clone_from(&batch.meta.scenario);
            assert_eq!(got, batch, "{name} in {steps} steps");
            let _ = std::fs::remove_dir_all(&to);
        }
        let _ = std::fs::remove_dir_all(&whole);
    }
}

#[test]
fn a_truncated_file_is_read_again_from_its_start() {
    let raw = recording("incident-forced");
    let all = files(&raw, false);
    let to = scratch("truncated");
    let mut live = LiveRun::new(&to);
    grow(&to, &all, 3, &mut live);
    // The log of N1 rotated: the new file starts empty, then holds the same lines again.
    let n1 = to.join("logs/n1.log");
    std::fs::write(&n1, b"").unwrap();
    live.refresh().unwrap();
    let (_, bytes) = all.iter().find(|(r, _)| r.ends_with("n1.log")).unwrap();
    std::fs::write(&n1, bytes).unwrap();
    live.refresh().unwrap();
    let batch = comparable(parse_raw_dir(&raw).unwrap());
    assert_eq!(live.run().unwrap().facts, batch.facts);
    let _ = std::fs::remove_dir_all(&to);
}

/// A forgotten loglet's facts and worker rows are gone; a later row that repeats what its
/// workers showed is no news, a later row that changes it is listed as late.
#[test]
fn a_forgotten_loglet_is_gone_and_news_about_it_is_listed() {
    let raw = recording("steady-load-short");
    let all = files(&raw, false);
    let to = scratch("forget");
    let mut live = LiveRun::new(&to);
    grow(&to, &all, 1, &mut live);
    let names = |run: &RawRun| {
        run.facts
            .iter()
            .filter(|f| {
                sealcheck_recorder::import::loglets::fact_loglet(&f.fact).as_deref() == Some("0_0")
            })
            .count()
    };
    let before = live.run().unwrap();
    assert!(names(&before) > 10);
    live.forget("0_0");
    let after = live.run().unwrap();
    assert_eq!(names(&after), 0);
    assert!(after.facts.len() < before.facts.len());
    assert!(after.snapshots.iter().all(|s| s
        .rows
        .iter()
        .all(|r| !matches!(r, SqlRow::LogletWorkers(w) if w.loglet == "0_0"))));
    assert_eq!(live.closed().into_iter().collect::<Vec<_>>(), ["0_0"]);
    // The last worker snapshot again, one second later: the same rows, no news.
    let sql = std::fs::read_to_string(to.join("sql.jsonl")).unwrap();
    let last = sql
        .lines()
        .rev()
        .find(|l| l.contains("\"loglet_workers\"") && l.contains("\"0_0\""))
        .unwrap();
    let mut rec: serde_json::Value = serde_json::from_str(last).unwrap();
    let later = |rec: &mut serde_json::Value, by: i64| {
        for k in ["time_us", "end_time_us"] {
            rec[k] = (rec[k].as_i64().unwrap() + by).into();
        }
    };
    later(&mut rec, 60_000_000);
    let append = |text: String| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(to.join("sql.jsonl"))
            .unwrap();
        writeln!(f, "{text}").unwrap();
    };
    append(rec.to_string());
    live.refresh().unwrap();
    assert!(live.late().is_empty(), "{:?}", live.late());
    assert_eq!(names(&live.run().unwrap()), 0);
    // Then a row of 0_0 whose local tail moved: news, named by its line.
    for row in rec["rows"].as_array_mut().unwrap() {
        if row["loglet_id"] == "0_0" {
            row["local_tail"] = (row["local_tail"].as_u64().unwrap() + 5).into();
        }
    }
    later(&mut rec, 1_000_000);
    append(rec.to_string());
    live.refresh().unwrap();
    let n = sql.lines().count() + 2;
    assert_eq!(live.late().len(), 1, "{:?}", live.late());
    assert_eq!(live.late()[0].loglet, "0_0");
    assert_eq!(live.late()[0].from, format!("sql.jsonl:{n}"));
    let _ = std::fs::remove_dir_all(&to);
}

/// A log whose lines do not name its node is held until it stops growing (then its file name
/// decides); until then the reader is not settled, so the follower closes nothing.
#[test]
fn a_log_that_does_not_name_its_node_waits_and_the_reader_is_not_settled() {
    let raw = recording("steady-load-short");
    let to = scratch("unnamed");
    for n in 1..=3 {
        let text = std::fs::read_to_string(raw.join(format!("logs/n{n}.log"))).unwrap();
        // Node 2's log cut after its naming line, the way logs that start mid-run are.
        let kept: String = if n == 2 {
            text.lines().skip(20).map(|l| format!("{l}\n")).collect()
        } else {
            text
        };
        std::fs::write(to.join(format!("node{n}.log")), kept).unwrap();
    }
    let mut live = LiveRun::new(&to);
    live.refresh().unwrap();
    assert!(!live.settled());
    let held = live.run().unwrap();
    assert!(held.logs.iter().all(|l| l.node != 2), "{:?}", held.logs);
    // Nothing new: the file name decides.
    assert!(live.refresh().unwrap());
    assert!(live.settled());
    let run = live.run().unwrap();
    let n2 = run.logs.iter().find(|l| l.node == 2).expect("node 2's log");
    assert_eq!(n2.named_by, "its file name");
    assert_eq!(
        comparable(parse_logs_dir(&to).unwrap()).facts,
        run.facts,
        "the same facts as the batch parser once decided"
    );
    let _ = std::fs::remove_dir_all(&to);
}
