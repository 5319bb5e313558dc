//! `sealcheck follow`: judges a cluster's logs while they are written.
//!
//! Every `interval` the follower looks at the directory's files (the server logs, in the
//! directory or its `logs/`, and whichever of the record files it holds). When one grew,
//! shrank (truncated, rotated) or appeared, it takes a consistent copy of every file, each cut
//! after its last complete line (a line still being written waits for the next look), imports
//! every loglet of that copy and validates each one, the way `sealcheck import --run` and
//! `sealcheck validate` do. A loglet whose verdict changed gets one line. A verdict on logs
//! still being written is about what they show so far: "conforms" means conforms up to its
//! last item, and an import that needs more (`inconclusive: needs ...`) is reported as
//! pending, never as conforming.
//!
//! Each look re-imports and re-validates the whole run from its start (the loglets' searches
//! are not extended from their last frontier), so its cost grows with the run; every bound of
//! `validate` (time per trace, memory, frontier) applies to each look.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::exit::Exit;
use crate::input::Input;
use crate::run::{validate_inputs, RunResult, Validated};
use crate::validate::{ValidateOptions, Verdict};
use sealcheck_recorder::import::{import_raw_dir_loglets, ImportError};
use sealcheck_recorder::raw::{ACTIONS_FILE, CTL_FILE, META_FILE, SQL_FILE};

/// How `follow` runs.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// How often the directory is looked at.
    pub interval: Duration,
    /// Stop once no file changed for this long (none: until Ctrl-C).
    pub exit_when_idle: Option<Duration>,
    /// The bounds of each validation.
    pub validate: ValidateOptions,
    /// One JSON object per line instead of text.
    pub json: bool,
}

/// Size and modification time of every file the follower reads, by path.
type Seen = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// The record files a logs directory may hold next to the server logs (the recorder's names).
const RECORD_FILES: [&str; 4] = [META_FILE, ACTIONS_FILE, CTL_FILE, SQL_FILE];

/// Every file of `dir` the importer reads, with its size and modification time.
fn look(dir: &Path) -> Result<Seen, String> {
    let mut files = sealcheck_recorder::parse::server_log::log_files(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    files.extend(
        RECORD_FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.is_file()),
    );
    let mut seen = Seen::new();
    for f in files {
        // A file that vanished between the listing and now is simply not there.
        if let Ok(m) = std::fs::metadata(&f) {
            seen.insert(f, (m.len(), m.modified().ok()));
        }
    }
    Ok(seen)
}

/// Whether some server log of `seen` holds a line yet (a run's directory exists before its
/// nodes write: until then the import has nothing to read).
fn has_log_lines(dir: &Path, seen: &Seen) -> bool {
    seen.iter().any(|(f, (len, _))| {
        let name = f.strip_prefix(dir).unwrap_or(f).to_string_lossy();
        *len > 0 && !RECORD_FILES.iter().any(|r| name == *r)
    })
}

/// Copies every file of `seen` from `dir` into `stage` (same relative paths), each cut after
/// its last complete line.
fn stage(dir: &Path, seen: &Seen, stage: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(stage);
    for f in seen.keys() {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        let to = stage.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            // Rotated away since the look: the next look sees the new files.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", f.display())),
        };
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        std::fs::write(&to, &bytes[..whole])
            .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    }
    Ok(())
}

/// What one look concluded.
enum Judged {
    /// Every loglet imported and validated, with where each loglet's items were read
    /// (`logs/n1.log:79`), by loglet.
    Run(Box<RunResult>, BTreeMap<String, Vec<String>>),
    /// The import needs more than the files show yet (or at all): pending.
    Pending(String),
    /// The files are not readable as a run's logs: an input error.
    Input(String),
}

/// Imports the staged copy and validates every loglet of it.
fn judge(staged: &Path, out: &Path, opts: &ValidateOptions) -> Judged {
    let run = match import_raw_dir_loglets(staged) {
        Ok(r) => r,
        Err(e @ ImportError::Inconclusive { .. }) => return Judged::Pending(e.to_string()),
        Err(e) => return Judged::Input(e.to_string()),
    };
    let _ = std::fs::remove_dir_all(out);
    if let Err(e) = run.write_to_dir(out) {
        return Judged::Input(format!("cannot write {}: {e}", out.display()));
    }
    let origins = run
        .summary
        .loglets
        .iter()
        .zip(&run.traces)
        .map(|(l, t)| {
            let lines = t
                .items
                .iter()
                .map(|i| format!("{}:{}", i.origin.file, i.origin.line))
                .collect();
            (l.loglet.clone(), lines)
        })
        .collect();
    let inputs = [Ok(Input::Run(out.to_path_buf()))];
    match validate_inputs(&inputs, opts).pop() {
        Some(Validated::Run(r)) => Judged::Run(Box::new(r), origins),
        _ => Judged::Input(format!("{} is not a run", out.display())),
    }
}

/// One reported status: a loglet's verdict so far, the chain's, or the import's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    /// `0_1`, `chain`, or `import`.
    pub subject: String,
    /// `conforms`, `diverges`, `violates`, `inconclusive`, `pending` (the import needs more),
    /// `not-translated`, `malformed`; for the import `ok`, and for the chain `ok` /
    /// `not checked`.
    pub verdict: String,
    /// Items read so far (a loglet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<usize>,
    /// The item a rejection or a bound is at (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// What it is about: the item's line, the property, the need.
    pub detail: String,
}

impl Status {
    /// Whether it differs from `other` in more than the number of items read.
    fn changed_from(&self, other: &Status) -> bool {
        self.verdict != other.verdict || self.item != other.item || self.detail != other.detail
    }

    fn text(&self) -> String {
        let word = match self.verdict.as_str() {
            w @ ("diverges" | "violates" | "rejected" | "inconclusive" | "malformed") => {
                w.to_uppercase()
            }
            w => w.to_string(),
        };
        let mut s = format!("{}: {word}", self.subject);
        if let Some(n) = self.items {
            s.push_str(&format!(" ({n} items so far)"));
        }
        if let Some(i) = self.item {
            s.push_str(&format!(" at item {i}"));
        }
        if !self.detail.is_empty() {
            s.push_str(&format!(": {}", self.detail));
        }
        s
    }
}

/// The statuses of one look, by subject.
fn statuses(judged: &Judged) -> BTreeMap<String, Status> {
    let mut out = BTreeMap::new();
    let mut put = |subject: &str, verdict: &str, items, item, detail: String| {
        out.insert(
            subject.to_string(),
            Status {
                subject: subject.to_string(),
                verdict: verdict.to_string(),
                items,
                item,
                detail,
            },
        );
    };
    match judged {
        Judged::Pending(why) => put("import", "pending", None, None, why.clone()),
        Judged::Input(why) => put("import", "malformed", None, None, why.clone()),
        Judged::Run(run, origins) => {
            let n = run.loglets.len();
            let loglets = sealcheck_model::words::count(n, "loglet", "loglets");
            put("import", "ok", None, None, loglets);
            for l in &run.loglets {
                let id = l.entry.loglet.as_str();
                // The raw line an item was read from.
                let from = |at: &crate::validate::At| {
                    origins
                        .get(id)
                        .and_then(|o| o.get(at.index))
                        .map_or(String::new(), |o| format!(" (from {o})"))
                };
                match &l.result {
                    Err(e) => put(id, "malformed", None, None, e.to_string()),
                    Ok(o) => match &o.verdict {
                        Verdict::Conforms { .. } => {
                            put(id, "conforms", Some(o.items), None, String::new())
                        }
                        Verdict::Diverges { at, .. } => put(
                            id,
                            "diverges",
                            Some(o.items),
                            Some(at.index),
                            format!("{}{}", at.text, from(at)),
                        ),
                        Verdict::Violates { property, at, .. } => put(
                            id,
                            "violates",
                            Some(o.items),
                            Some(at.index),
                            format!("{property}: {}{}", at.text, from(at)),
                        ),
                        Verdict::Rejected { at, last, reason } => put(
                            id,
                            "rejected",
                            Some(o.items),
                            Some(at.index),
                            format!("between items {} and {last}: {reason}", at.index),
                        ),
                        Verdict::Inconclusive { at, reason } => put(
                            id,
                            "inconclusive",
                            Some(o.items),
                            Some(at.index),
                            reason.clone(),
                        ),
                    },
                }
            }
            for u in run.untranslated() {
                put(&u.loglet, "not-translated", None, None, u.needs.clone());
            }
            let broken: Vec<String> = run
                .chain
                .iter()
                .filter(|c| c.status == crate::chain::Status::Violates)
                .map(|c| format!("{} ({}): {}", c.property, c.subject, c.detail))
                .collect();
            put(
                "chain",
                run.chain_verdict().word(),
                None,
                None,
                broken.join("; "),
            );
        }
    }
    out
}

/// The exit code of the last look: as `validate`'s, with a pending import inconclusive.
fn exit_of(judged: Option<&Judged>) -> Exit {
    match judged {
        None => Exit::Incomplete,
        Some(Judged::Pending(_)) => Exit::Incomplete,
        Some(Judged::Input(_)) => Exit::UsageOrInput,
        Some(Judged::Run(r, _)) => r.exit(),
    }
}

/// Follows `dir` until it is idle for `exit_when_idle` or `stop` is set (Ctrl-C); prints one
/// line per changed status (on `out`) and a summary at the end. Returns the exit code of the
/// last look.
pub fn follow(
    dir: &Path,
    opts: &FollowOptions,
    stop: Arc<AtomicBool>,
    out: &mut dyn FnMut(&str),
) -> Result<Exit, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    // One scratch directory per follower (a process may run several: tests, a library user).
    static FOLLOWERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let scratch = std::env::temp_dir().join(format!(
        "sealcheck-follow-{}-{}",
        std::process::id(),
        FOLLOWERS.fetch_add(1, Ordering::SeqCst)
    ));
    let (staged, judged_dir) = (scratch.join("logs"), scratch.join("judged"));
    let started = Instant::now();
    let mut last_seen: Option<Seen> = None;
    let mut last_change = Instant::now();
    let mut shown: BTreeMap<String, Status> = BTreeMap::new();
    let mut last: Option<Judged> = None;
    let result = loop {
        let seen = match look(dir) {
            Ok(s) => s,
            Err(e) => break Err(e),
        };
        if last_seen.as_ref() != Some(&seen) {
            last_change = Instant::now();
            if let Err(e) = stage(dir, &seen, &staged) {
                break Err(e);
            }
            let judged = if !has_log_lines(dir, &seen) {
                Judged::Pending(format!("no server log line in {} yet", dir.display()))
            } else {
                judge(&staged, &judged_dir, &opts.validate)
            };
            let t = started.elapsed().as_secs_f64();
            let now = statuses(&judged);
            for (subject, st) in &now {
                if shown.get(subject).is_none_or(|old| st.changed_from(old)) {
                    out(&line(opts.json, t, st));
                }
            }
            shown = now;
            last = Some(judged);
            last_seen = Some(seen);
        }
        if stop.load(Ordering::SeqCst) {
            break Ok(());
        }
        if opts
            .exit_when_idle
            .is_some_and(|idle| last_change.elapsed() >= idle)
        {
            break Ok(());
        }
        sleep_unless_stopped(opts.interval, &stop);
    };
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    let t = started.elapsed().as_secs_f64();
    let exit = exit_of(last.as_ref());
    if opts.json {
        let summary = serde_json::json!({
            "t": round_ms(t),
            "summary": shown.values().collect::<Vec<_>>(),
            "exit": exit.code(),
        });
        out(&summary.to_string());
    } else {
        out(&format!(
            "follow {}: stopped after {t:.1} s; last verdicts:",
            dir.display()
        ));
        for st in shown.values() {
            out(&format!("  {}", st.text()));
        }
        out(&format!("(exit {})", exit.code()));
    }
    Ok(exit)
}

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// One reported line.
fn line(json: bool, t: f64, st: &Status) -> String {
    if json {
        let mut v = serde_json::to_value(st).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("t".into(), serde_json::json!(round_ms(t)));
            // Wall-clock time of the report, to compare with the logs' own stamps.
            let now_us = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            o.insert("time_us".into(), serde_json::json!(now_us));
        }
        v.to_string()
    } else {
        format!("[{t:7.1} s] {}", st.text())
    }
}

/// Sleeps `d`, waking early when `stop` is set.
fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}
