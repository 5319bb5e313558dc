//! `sealcheck follow`: judges a cluster's logs while they are written.
//!
//! Every `interval` the follower reads what the directory's files gained (the server logs, in
//! the directory or its `logs/`, and whichever of the record files it holds), each cut after
//! its last complete line (a line still being written waits for the next look): a
//! [`LiveRun`] keeps the parsed facts, not the bytes. When something new was read it imports
//! every loglet it has not closed and validates each one, the way `sealcheck import --run` and
//! `sealcheck validate` do. A loglet whose verdict changed gets one line. A verdict on logs
//! still being written is about what they show so far: "conforms" means conforms up to its
//! last item, and an import that needs more (`inconclusive: needs ...`) is reported as
//! pending, never as conforming.
//!
//! # Closing loglets: why memory stays flat
//!
//! A loglet is *closed* once a later segment of its log has been judged and nothing new
//! about it was read for `close_after` (of the logs' own time). Its verdict and its entry of
//! the run summary (for the chain checks) are kept; its facts and worker rows are forgotten
//! ([`LiveRun::forget`]), and it is neither imported nor validated again. So each look costs
//! what the open loglets and the run-wide facts cost, however long the cluster has run. A
//! fact about a closed loglet that arrives later and says something new (stamped after the
//! close: a seal line, a worker row that changed) is not dropped in silence: the loglet's
//! verdict becomes inconclusive, naming the line, since its earlier facts are gone.
//!
//! # Extending an open loglet's explanation
//!
//! A loglet nobody seals stays open as long as the cluster runs, and its trace grows with
//! every look. When a look finds it conforming by the depth-first search, the last state of
//! that explanation is kept (a [`Witness`]); the next look searches only the items read since,
//! from that state ([`extend_file`]). That holds while the trace's earlier items and header
//! are the same (the number of appends may grow); otherwise, and whenever the extension finds
//! nothing, the loglet is validated from its start as before, so only "conforms" ever comes
//! from an extension. A look's validation then costs what the new items cost.
//!
//! Every bound of `validate` (time per trace, memory, frontier) applies to each look.
//!
//! # Snapshots taken while following
//!
//! With [`FollowOptions::sql`], a [`SqlPoller`] takes the `nodes`, `loglet_workers` and
//! `logs` snapshots the recorder takes, through `restatectl sql`, every `interval`, and
//! writes them to the directory's `sql.jsonl` (which must not exist yet), where the follower
//! reads them like a recorder's, and a later `sealcheck import` of the directory too. The
//! poller writes at every round, so with it only the server logs' growth counts as activity
//! for `exit_when_idle`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::chain::{self, ChainVerdict};
use crate::exit::Exit;
use crate::run::{validate_run_with, RunResult};
use crate::validate::{extend_file, ValidateOptions, Verdict, Witness};
use sealcheck_model::run_format::{Loglet, RunSummary, Untranslated};
use sealcheck_recorder::import::loglets::import_loglets_except;
use sealcheck_recorder::import::run_source;
use sealcheck_recorder::parse::live::{Late, LiveRun};
use sealcheck_recorder::poll::SqlPoller;
use sealcheck_recorder::raw::SQL_FILE;

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
    /// Close a loglet once a later segment of its log is judged and nothing new about it was
    /// read for this long, in the logs' own time (none: never; memory then grows with the
    /// run).
    pub close_after: Option<Duration>,
    /// Take SQL snapshots of the cluster while following (see the module documentation).
    pub sql: Option<SqlSource>,
}

/// Where `follow` takes SQL snapshots from.
#[derive(Debug, Clone)]
pub struct SqlSource {
    /// The `restatectl` binary.
    pub restatectl: PathBuf,
    /// The address restatectl talks to (`--address`), e.g. `http://127.0.0.1:5122`.
    pub address: String,
}

/// What one look concluded.
enum Judged {
    /// Every open loglet imported and validated, with where each loglet's items were read
    /// (`logs/n1.log:79`), by loglet.
    Run(Box<RunResult>, BTreeMap<String, Vec<String>>),
    /// The import needs more than the files show yet: pending.
    Pending(String),
    /// The files are not readable as a run's logs: an input error.
    Input(String),
}

/// The last state of each open loglet's conforming explanation, by loglet.
type Witnesses = HashMap<String, Arc<Witness>>;

/// Imports what `live` has read (but the closed loglets) and validates every loglet of it. A
/// loglet that the last look found conforming is searched from where that explanation ended
/// ([`extend_file`]), and from its start if that finds nothing. Keeps the witnesses of this
/// look's conforming explanations.
fn judge(
    live: &mut LiveRun,
    out: &Path,
    opts: &ValidateOptions,
    witnesses: &mut Witnesses,
) -> Judged {
    let raw = match live.run() {
        Ok(r) => r,
        Err(e) => return Judged::Input(e.to_string()),
    };
    let run = import_loglets_except(live.dir(), &raw, &run_source(&raw), &live.closed());
    drop(raw);
    if run.summary.loglets.is_empty() && run.summary.untranslated.is_empty() {
        if live.closed().is_empty() {
            return Judged::Pending("no line names a loglet yet".into());
        }
        // Every loglet read so far is closed: nothing to validate.
        let r = RunResult {
            dir: out.to_path_buf(),
            summary: Ok(run.summary),
            loglets: Vec::new(),
            chain: Vec::new(),
        };
        return Judged::Run(Box::new(r), BTreeMap::new());
    }
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
    drop(run);
    let known: &Witnesses = witnesses;
    let shortcut = |entry: &Loglet, path: &Path| {
        let w = known.get(&entry.loglet)?;
        extend_file(path, w, opts).transpose()
    };
    let r = validate_run_with(out, opts, &shortcut);
    witnesses.clear();
    for l in &r.loglets {
        if let Ok(o) = &l.result {
            if let (Verdict::Conforms { .. }, Some(w)) = (&o.verdict, &o.witness) {
                witnesses.insert(l.entry.loglet.clone(), w.clone());
            }
        }
    }
    Judged::Run(Box::new(r), origins)
}

/// A closed loglet: its last verdict, and its entry of the run summary for the chain checks.
struct Closed {
    status: Status,
    entry: Entry,
}

/// A loglet's entry of the run summary.
enum Entry {
    Translated(Loglet),
    Untranslated(Untranslated),
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
fn statuses(
    judged: &Judged,
    closed: &BTreeMap<String, Closed>,
    late: &[Late],
) -> BTreeMap<String, Status> {
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
            let summary = match &run.summary {
                Ok(s) => s,
                Err(e) => {
                    put("import", "malformed", None, None, e.to_string());
                    return out;
                }
            };
            let n = summary.loglets.len() + summary.untranslated.len() + closed.len();
            let mut loglets = sealcheck_model::words::count(n, "loglet", "loglets");
            if !closed.is_empty() {
                loglets.push_str(&format!(" ({} closed)", closed.len()));
            }
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
            // The chain over the open loglets and the closed ones.
            let mut whole: RunSummary = summary.clone();
            for c in closed.values() {
                match &c.entry {
                    Entry::Translated(l) => whole.loglets.push(l.clone()),
                    Entry::Untranslated(u) => whole.untranslated.push(u.clone()),
                }
            }
            let checks = chain::check(&whole);
            let broken: Vec<String> = checks
                .iter()
                .filter(|c| c.status == chain::Status::Violates)
                .map(|c| format!("{} ({}): {}", c.property, c.subject, c.detail))
                .collect();
            put(
                "chain",
                ChainVerdict::of(&checks).word(),
                None,
                None,
                broken.join("; "),
            );
        }
    }
    for (id, c) in closed {
        let mut st = c.status.clone();
        if let Some(l) = late.iter().find(|l| l.loglet == *id) {
            st.verdict = "inconclusive".into();
            st.detail = format!(
                "{} says something new about it after follow closed it and forgot its facts: import and validate the finished logs to judge it",
                l.from
            );
        }
        out.insert(id.clone(), st);
    }
    out
}

/// The exit code of what is shown: as `validate`'s for the run, with a pending import
/// inconclusive.
fn exit_of(shown: &BTreeMap<String, Status>) -> Exit {
    if shown.is_empty() {
        return Exit::Incomplete;
    }
    Exit::worst(shown.values().map(|s| match s.verdict.as_str() {
        "malformed" => Exit::UsageOrInput,
        "violates" | "diverges" | "rejected" => Exit::Violated,
        "inconclusive" | "pending" | "not-translated" => Exit::Incomplete,
        _ => Exit::Holds,
    }))
}

/// Follows `dir` until it is idle for `exit_when_idle` or `stop` is set (Ctrl-C); prints one
/// line per changed status (on `out`) and a summary at the end. Returns the exit code of what
/// was shown last.
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
    let judged_dir = scratch.join("judged");
    let mut poller = match &opts.sql {
        Some(src) => Some(
            SqlPoller::start(
                &src.restatectl,
                &src.address,
                &dir.join(SQL_FILE),
                opts.interval,
            )
            .map_err(|e| format!("--sql: {e}"))?,
        ),
        None => None,
    };
    let mut log_lines = 0;
    one_malloc_arena();
    let started = Instant::now();
    let mut live = LiveRun::new(dir);
    let mut closed: BTreeMap<String, Closed> = BTreeMap::new();
    let mut witnesses = Witnesses::new();
    let mut last_change = Instant::now();
    let mut shown: BTreeMap<String, Status> = BTreeMap::new();
    let mut last_error: Option<String> = None;
    loop {
        let refreshed = live.refresh().map_err(|e| e.to_string());
        // The same error again (the reader starts over after one) is no change.
        let repeated = matches!((&refreshed, &last_error), (Err(e), Some(l)) if e == l);
        last_error = refreshed.as_ref().err().cloned();
        let judged = match refreshed {
            _ if repeated => None,
            Ok(false) if !shown.is_empty() => None,
            Ok(_) if !live.has_log_lines() => Some(Judged::Pending(format!(
                "no server log line in {} yet",
                dir.display()
            ))),
            Ok(_) => Some(judge(
                &mut live,
                &judged_dir,
                &opts.validate,
                &mut witnesses,
            )),
            Err(e) => Some(Judged::Input(e)),
        };
        if let Some(failure) = poller.as_ref().and_then(SqlPoller::failure) {
            let _ = std::fs::remove_dir_all(&scratch);
            return Err(format!("--sql: {failure}"));
        }
        // With a poller writing at every round, only the logs' growth is activity.
        let logs_grew = live.log_lines() != log_lines;
        log_lines = live.log_lines();
        if judged.is_some() && (poller.is_none() || logs_grew) {
            last_change = Instant::now();
        }
        if let Some(judged) = judged {
            let t = started.elapsed().as_secs_f64();
            let mut now = statuses(&judged, &closed, live.late());
            if let (Judged::Run(run, _), Some(after)) = (&judged, opts.close_after) {
                close(&mut live, &mut closed, &mut now, run, after);
            }
            for (subject, st) in &now {
                if shown.get(subject).is_none_or(|old| st.changed_from(old)) {
                    out(&line(opts.json, t, st));
                }
            }
            shown = now;
            give_back_freed_memory();
        }
        let idle = opts
            .exit_when_idle
            .is_some_and(|idle| last_change.elapsed() >= idle);
        if stop.load(Ordering::SeqCst) || idle {
            // The poller's last rounds are judged too, so that the last verdicts are those
            // of the directory as it is left.
            match poller.take() {
                Some(p) => {
                    p.stop();
                    continue;
                }
                None => break,
            }
        }
        sleep_unless_stopped(opts.interval, &stop);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let t = started.elapsed().as_secs_f64();
    let exit = exit_of(&shown);
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

/// Closes the loglets of this look that are done with (see the module documentation): a
/// later segment of their log is judged, and nothing about them was read for `after` of the
/// logs' time. Their statuses in `now` say so.
fn close(
    live: &mut LiveRun,
    closed: &mut BTreeMap<String, Closed>,
    now: &mut BTreeMap<String, Status>,
    run: &RunResult,
    after: Duration,
) {
    let (Ok(summary), Some(latest)) = (&run.summary, live.latest_us()) else {
        return;
    };
    // A log whose node is not known yet may still hold lines about any loglet.
    if !live.settled() {
        return;
    }
    let mut judged: Vec<(u32, u32, Entry)> = Vec::new();
    for l in &summary.loglets {
        judged.push((l.log_id, l.segment, Entry::Translated(l.clone())));
    }
    for u in &summary.untranslated {
        if let Some((log, segment)) = u.log_and_segment() {
            judged.push((log, segment, Entry::Untranslated(u.clone())));
        }
    }
    let after_us = after.as_micros() as i64;
    let succeeded =
        |log: u32, segment: u32| judged.iter().any(|(l, s, _)| *l == log && *s > segment);
    let mut done = Vec::new();
    for (log, segment, entry) in &judged {
        let id = match entry {
            Entry::Translated(l) => &l.loglet,
            Entry::Untranslated(u) => &u.loglet,
        };
        let quiet = live
            .last_fact_us(id)
            .is_none_or(|t| latest.saturating_sub(t) >= after_us);
        let status = now.get(id).filter(|s| s.verdict != "malformed");
        if let (true, true, Some(st)) = (succeeded(*log, *segment), quiet, status) {
            done.push((id.clone(), st.clone()));
        }
    }
    for (id, mut st) in done {
        let entry = judged
            .iter()
            .position(|(_, _, e)| match e {
                Entry::Translated(l) => l.loglet == id,
                Entry::Untranslated(u) => u.loglet == id,
            })
            .map(|i| judged.swap_remove(i).2)
            .expect("listed above");
        live.forget(&id);
        let note = format!(
            "closed: a later segment is judged and nothing new for {} s; later lines about it are not judged",
            after.as_secs_f64()
        );
        st.detail = if st.detail.is_empty() {
            note
        } else {
            format!("{}; {note}", st.detail)
        };
        now.insert(id.clone(), st.clone());
        closed.insert(id, Closed { status: st, entry });
    }
}

/// Makes every thread allocate from one heap. glibc gives threads that allocate at once
/// heaps of their own (up to 8 per core), and each keeps the pages that a look's import and
/// validation left fragmented; with one, the follower's resident size stays near what it
/// holds (a ten-minute loaded run replayed: 1.7 MiB more at minute 10 than at minute 1,
/// instead of 2.4). A follower validates little at a time, so the threads seldom wait on
/// each other.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of the allocator; M_ARENA_MAX takes
    // effect for arenas created from now on.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Returns to the system the memory a look allocated and freed. Each look's import and
/// validation (in the rayon pool's threads) leave freed pages in glibc's per-thread arenas,
/// which it keeps mapped: without this, the resident size tracks the largest look's peak in
/// every arena, not what the follower holds.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own heaps; it takes
    // no pointer and leaves every live allocation in place.
    unsafe {
        libc::malloc_trim(0);
    }
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
