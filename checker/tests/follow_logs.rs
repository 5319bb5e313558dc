//! `sealcheck follow`: on a finished run it gives every loglet the verdict `import --run` and
//! `validate` give; on a run whose files are still being written it reports a forced storage-
//! state move soon after the line that shows it, and nothing wrong before.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sealcheck::watch::{follow, FollowOptions};

mod follow_support;
use follow_support::{followed, judged_once, opts};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sealcheck-follow-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every raw directory committed under traces/.
fn raw_dirs() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "raw") {
                    out.push(p);
                } else {
                    walk(&p, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("traces"), &mut out);
    out.sort();
    out
}

/// Runs `follow` on `dir` in a thread, collecting its lines (JSON); returns the lines, the
/// stop flag and the thread.
type Lines = Arc<Mutex<Vec<(Instant, serde_json::Value)>>>;

fn start_follow(
    dir: &Path,
    idle: Option<Duration>,
) -> (
    Lines,
    Arc<AtomicBool>,
    std::thread::JoinHandle<sealcheck::exit::Exit>,
) {
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (l, s, d) = (lines.clone(), stop.clone(), dir.to_path_buf());
    let handle = std::thread::spawn(move || {
        let fo = FollowOptions {
            interval: Duration::from_millis(100),
            exit_when_idle: idle,
            validate: opts(),
            json: true,
            close_after: Some(Duration::from_secs(30)),
            sql: None,
        };
        let mut out = |line: &str| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            l.lock().unwrap().push((Instant::now(), v));
        };
        follow(&d, &fo, s, &mut out).unwrap()
    });
    (lines, stop, handle)
}

/// On every committed raw directory, run to its end: the last line's summary gives each loglet
/// the verdict and item of `import --run` + `validate`, and the exit code is theirs.
#[test]
fn on_a_finished_run_follow_gives_the_verdicts_of_import_and_validate() {
    let dirs = raw_dirs();
    assert!(dirs.len() >= 16, "{dirs:?}");
    for raw in dirs {
        let out = scratch("once");
        let want = judged_once(&raw, &out);
        let (lines, _stop, handle) = start_follow(&raw, Some(Duration::from_millis(200)));
        let exit = handle.join().unwrap();
        let lines = lines.lock().unwrap();
        let summary = &lines.last().unwrap().1;
        let got = followed(summary);
        assert_eq!(got, want, "{}", raw.display());
        assert_eq!(summary["exit"], exit.code(), "{}", raw.display());
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// A line's time in a raw file: `timestamp` (server logs) or the record's `end_time_us` (when a
/// command returned and its line was written) or `time_us`.
fn line_time(line: &str) -> i64 {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["end_time_us"]
        .as_i64()
        .or_else(|| v["time_us"].as_i64())
        .or_else(|| {
            v["timestamp"]
                .as_str()
                .and_then(sealcheck_recorder::time::parse_rfc3339)
        })
        .unwrap()
}

/// Every line of a recorded raw directory's files (but `meta.json`), with its file, in time
/// order.
fn time_ordered(raw: &Path) -> Vec<(i64, PathBuf, String)> {
    let mut lines: Vec<(i64, PathBuf, String)> = Vec::new();
    for rel in [
        "actions.jsonl",
        "restatectl.jsonl",
        "sql.jsonl",
        "logs/n1.log",
        "logs/n2.log",
        "logs/n3.log",
    ] {
        for l in std::fs::read_to_string(raw.join(rel)).unwrap().lines() {
            lines.push((line_time(l), PathBuf::from(rel), l.to_string()));
        }
    }
    lines.sort_by_key(|(t, ..)| *t);
    lines
}

/// Appends each line to its file under `dir`.
fn append(dir: &Path, lines: &[(i64, PathBuf, String)]) {
    for (_, rel, l) in lines {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(rel))
            .unwrap();
        writeln!(f, "{l}").unwrap();
    }
}

/// incident-forced written again, line by line in time order, while `follow` watches: nothing
/// is reported wrong before the operator's forced move (`restatectl nodes set-storage-state
/// --force`), and the violation of the legal moves is reported within 5 s of its line.
#[test]
fn follow_reports_a_forced_move_within_seconds_of_its_line() {
    let raw = root().join("traces/restate-1.7.12/incident-forced/raw");
    let dir = scratch("live");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::copy(raw.join("meta.json"), dir.join("meta.json")).unwrap();
    let lines = time_ordered(&raw);
    let forced_at = lines
        .iter()
        .position(|(_, f, l)| f.ends_with("restatectl.jsonl") && l.contains("\"--force\""))
        .unwrap();
    let write = |batch: &[(i64, PathBuf, String)]| append(&dir, batch);
    let (seen, stop, handle) = start_follow(&dir, None);
    // Everything before the forced move, in a few batches.
    for chunk in lines[..forced_at].chunks(forced_at / 4 + 1) {
        write(chunk);
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(1));
    let wrong = |v: &serde_json::Value| {
        matches!(
            v["verdict"].as_str(),
            Some("violates" | "diverges" | "malformed")
        )
    };
    assert!(
        !seen.lock().unwrap().iter().any(|(_, v)| wrong(v)),
        "{:#?}",
        seen.lock().unwrap()
    );
    // The forced move's line and the rest.
    let written = Instant::now();
    write(&lines[forced_at..]);
    let deadline = written + Duration::from_secs(30);
    let reported = loop {
        let found = seen
            .lock()
            .unwrap()
            .iter()
            .find(|(_, v)| {
                v["verdict"] == "violates"
                    && v["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("storage states only make legal moves"))
            })
            .map(|(at, _)| *at);
        if let Some(at) = found {
            break at;
        }
        assert!(Instant::now() < deadline, "{:#?}", seen.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    };
    let after = reported.duration_since(written);
    eprintln!(
        "violation reported {:.2} s after the forced move's line",
        after.as_secs_f64()
    );
    assert!(after < Duration::from_secs(5), "{after:?}");
    stop.store(true, Ordering::SeqCst);
    assert_eq!(handle.join().unwrap(), sealcheck::exit::Exit::Violated);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// steady-load-10min (13 loglets over 10 minutes) written again line by line in time order
/// while `follow` watches with `close_after` 30 s: loglets are closed as the run goes (their
/// facts forgotten), and the verdicts at the end are still those of `import --run` +
/// `validate` on the whole run, the chain included.
#[test]
fn follow_closes_loglets_as_a_long_run_goes_and_keeps_their_verdicts() {
    let raw = root().join("traces/restate-1.7.12/steady-load-10min/raw");
    let out = scratch("closing-once");
    let want = judged_once(&raw, &out);
    assert_eq!(want.len(), 13);
    let dir = scratch("closing");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::copy(raw.join("meta.json"), dir.join("meta.json")).unwrap();
    let lines = time_ordered(&raw);
    let (seen, stop, handle) = start_follow(&dir, None);
    for chunk in lines.chunks(lines.len() / 40 + 1) {
        append(&dir, chunk);
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let exit = handle.join().unwrap();
    let seen = seen.lock().unwrap();
    let summary = &seen.last().unwrap().1;
    let get = |subject: &str| {
        summary["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subject"] == subject)
            .cloned()
            .unwrap_or_else(|| panic!("{subject}: {summary}"))
    };
    let closed: usize = get("import")["detail"]
        .as_str()
        .and_then(|d| d.split('(').nth(1))
        .and_then(|d| d.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(closed >= 8, "{summary}");
    for (loglet, (verdict, item)) in &want {
        let s = get(loglet);
        assert_eq!(s["verdict"], verdict.as_str(), "{loglet}: {s}");
        assert_eq!(
            s["item"].as_u64().map(|i| i as usize),
            *item,
            "{loglet}: {s}"
        );
    }
    assert_eq!(get("chain")["verdict"], "ok", "{summary}");
    assert_eq!(exit, sealcheck::exit::Exit::Holds);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}
