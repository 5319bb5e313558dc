//! Reading a raw directory while it is written, and forgetting what is already judged.
//!
//! [`LiveRun`] is [`super::parse_raw_dir`] / [`super::parse_logs_dir`] for `sealcheck follow`.
//! Each [`LiveRun::refresh`] reads only the bytes the files gained since the last one, cut
//! after their last complete line (a line still being written waits), and keeps what the
//! batch parser would have built from the whole files: the facts in the same order, the
//! snapshots, the storage-state runs, each log's own summary. [`LiveRun::run`] hands it out as
//! a [`RawRun`]. A file that shrank or was replaced (truncated, rotated) is read again from its
//! start, with everything else.
//!
//! What makes memory flat is [`LiveRun::forget`]: once the follower has judged a loglet for
//! good (sealed, its successor judged, nothing new about it for a while), the facts that
//! belong to it and its `loglet_workers` rows are dropped, and so are those that arrive later.
//! A later one that says something new (a fact stamped after the loglet was closed, or read
//! from a log identified since: a seal line, a worker row that changed) is not dropped silently: [`LiveRun::late`] lists it, and
//! the follower reports that loglet as no longer judged. A worker row that repeats what the
//! loglet's workers showed when it was closed (local tail, known global tail, sealed) is no
//! news, nor is a line the translation ignores (a restarted node instantiating the loglet's
//! client again). Three more things the batch parser keeps are not kept, none of which a
//! translation reads (each only counts them as dropped): the `logs` rows of the snapshots,
//! each one the whole chain again (the chain's changes are kept, as `LogChainObserved`
//! facts); snapshots left without rows; the recorder's actions that touch no loglet (its load
//! generator's progress, once a second).
//!
//! The facts the `loglet_workers` rows make (one per row that differs from the one before
//! for its node and loglet) are not kept beside the rows they repeat: [`LiveRun::run`] builds
//! them again from the kept rows and merges them in where the batch parser has them.
//!
//! Two decisions the batch parser takes on a whole file wait here for the file to stop
//! growing (a refresh that reads nothing new from it): the node of a log whose lines do not
//! name it (after [`HOLD_LINES`] lines the file name decides), and a text line whose message
//! may still come on the next line (the pretty format).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use super::server_log::{self, TextLines};
use super::{
    action_record, ctl_record, derived_meta, join_rotated, malformed, sql_snapshot, Fact, Observer,
    RawRun, ServerLogParser, SqlRow, SqlSnapshot, StorageRun, TimedFact,
};
use crate::import::loglets::{assign, fact_loglet};
use crate::import::scope::{scope, Scope};
use crate::raw::{
    node_log_path, ActionRecord, CtlRecord, Meta, SqlRecord, ACTIONS_FILE, CTL_FILE, META_FILE,
    SQL_FILE,
};
use crate::time::Micros;
use crate::Error;

/// Lines of a log whose lines have not named its node yet after which its file name decides.
pub const HOLD_LINES: usize = 200;

/// Where a file was read up to.
#[derive(Debug, Default, Clone)]
struct Tail {
    /// Bytes read (up to the end of the last complete line).
    offset: u64,
    /// Lines read.
    lines: usize,
    /// Device and inode of the file read: another file under the same name is a new file.
    ident: Option<(u64, u64)>,
}

/// What [`Tail::read`] found.
enum Got {
    /// The complete lines added since the last read (maybe none), numbered from this 1-based
    /// line on.
    Lines(usize, Vec<String>),
    /// The file shrank, vanished or is another file: read everything again.
    Reset,
}

impl Tail {
    fn read(&mut self, path: &Path) -> Result<Got, Error> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(if self.ident.is_some() {
                    Got::Reset
                } else {
                    Got::Lines(1, Vec::new())
                });
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let ident = (meta.dev(), meta.ino());
        if self.ident.is_some_and(|i| i != ident) || meta.len() < self.offset {
            return Ok(Got::Reset);
        }
        self.ident = Some(ident);
        if meta.len() == self.offset {
            return Ok(Got::Lines(self.lines + 1, Vec::new()));
        }
        if meta.len() > crate::raw::MAX_RAW_FILE_BYTES {
            return Err(malformed(
                path,
                0,
                format!(
                    "{} bytes: larger than the {}-byte limit for this file",
                    meta.len(),
                    crate::raw::MAX_RAW_FILE_BYTES
                ),
            ));
        }
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io(path, e))?;
        let mut bytes = Vec::new();
        file.take(meta.len() - self.offset)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.offset += whole as u64;
        let first = self.lines + 1;
        let lines: Vec<String> = String::from_utf8_lossy(&bytes[..whole])
            .lines()
            .map(str::to_string)
            .collect();
        self.lines += lines.len();
        Ok(Got::Lines(first, lines))
    }
}

/// One server log file being read.
#[derive(Debug)]
struct LogFile {
    /// Relative to the directory.
    rel: String,
    tail: Tail,
    text: TextLines,
    /// Its parser, once its node is known.
    parser: Option<ServerLogParser>,
    /// Lines read before its node was known.
    held: Vec<(usize, Value)>,
}

impl LogFile {
    fn new(rel: String) -> LogFile {
        LogFile {
            rel,
            tail: Tail::default(),
            text: TextLines::default(),
            parser: None,
            held: Vec::new(),
        }
    }
}

/// A loglet that is judged and forgotten.
#[derive(Debug, Clone)]
struct Closed {
    /// The latest stamp read when it was closed: later facts about it may be news.
    at_us: Micros,
    /// The files read when it was closed: a fact from another file (a log identified later)
    /// may be news whatever its stamp.
    files: BTreeSet<String>,
    /// What each member's worker showed last, as the translation reads it: local tail, known
    /// global tail, sealed. A later row that shows the same is no news.
    workers: BTreeMap<u32, WorkerSeen>,
}

/// Local tail, known global tail and sealed flag of a worker row.
type WorkerSeen = (Option<u64>, Option<u64>, Option<bool>);

/// Whether a worker row shows something `last` does not: a value it has that differs.
fn news(last: Option<&WorkerSeen>, row: WorkerSeen) -> bool {
    let differs = |a: Option<u64>, b: Option<u64>| a.is_some() && a != b;
    match last {
        None => true,
        Some(l) => differs(row.0, l.0) || differs(row.1, l.1) || (row.2.is_some() && row.2 != l.2),
    }
}

/// A fact about a closed loglet stamped after it was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    /// The loglet.
    pub loglet: String,
    /// Where the fact was read (`logs/n1.log:812`).
    pub from: String,
}

/// A snapshot as [`LiveRun`] keeps it: each row shared with the last snapshot of the same
/// table when that one has an equal row. A poll repeats most rows (every `nodes` row while
/// no storage state changes; the worker rows of loglets nobody writes to), so a long run's
/// snapshots cost a few words each, not their rows again.
#[derive(Debug)]
struct KeptSnapshot {
    line: usize,
    time_us: Micros,
    end_time_us: Micros,
    table: Arc<str>,
    error: Option<String>,
    rows: Vec<Arc<SqlRow>>,
    unattributed_rows: usize,
}

impl KeptSnapshot {
    /// `snap`, its rows and table name shared with `previous` (the last kept snapshot of its
    /// table) where equal.
    fn new(snap: SqlSnapshot, previous: Option<&KeptSnapshot>) -> KeptSnapshot {
        let shared = |row: SqlRow| {
            previous
                .and_then(|p| p.rows.iter().find(|r| ***r == row))
                .cloned()
                .unwrap_or_else(|| Arc::new(row))
        };
        // Collected into a new vector: collecting in place would keep the rows' allocation.
        let mut rows = Vec::with_capacity(snap.rows.len());
        rows.extend(snap.rows.into_iter().map(shared));
        KeptSnapshot {
            line: snap.line,
            time_us: snap.time_us,
            end_time_us: snap.end_time_us,
            table: previous.map_or_else(|| Arc::from(snap.table.as_str()), |p| p.table.clone()),
            error: snap.error,
            rows,
            unattributed_rows: snap.unattributed_rows,
        }
    }

    /// The snapshot as the batch parser builds it.
    fn whole(&self) -> SqlSnapshot {
        SqlSnapshot {
            line: self.line,
            time_us: self.time_us,
            end_time_us: self.end_time_us,
            table: self.table.to_string(),
            error: self.error.clone(),
            rows: self.rows.iter().map(|r| SqlRow::clone(r)).collect(),
            unattributed_rows: self.unattributed_rows,
        }
    }
}

/// The layout of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// The recorder's: `meta.json`, `logs/n<ID>.log`.
    Recorded,
    /// Server logs alone (any names), with whichever record files it has.
    Logs,
}

/// A raw directory read while it is written (see the module documentation).
#[derive(Debug)]
pub struct LiveRun {
    dir: PathBuf,
    layout: Option<Layout>,
    /// `meta.json` as last read, with the size and time it had.
    meta: Option<(Meta, (u64, Option<SystemTime>))>,
    /// Server logs by path, with their position in the listing (the batch parser's order).
    logs: BTreeMap<PathBuf, (usize, LogFile)>,
    records: BTreeMap<&'static str, Tail>,
    /// The facts read, in the batch parser's order, but the `loglet_workers` rows' facts:
    /// those are the kept worker rows again, built from them when asked for (see
    /// [`LiveRun::run`]).
    facts: Vec<TimedFact>,
    /// The latest stamp of a worker row's fact, per loglet (the facts not in `facts`).
    worker_last_us: BTreeMap<String, Micros>,
    snapshots: Vec<KeptSnapshot>,
    storage_runs: Vec<StorageRun>,
    observer: Observer,
    closed: BTreeMap<String, Closed>,
    late: Vec<Late>,
    /// The derived meta's sealer, once a log named it (forgetting must not change it).
    sealer: Option<Meta>,
    /// Files of a logs directory that are not server logs.
    skipped: BTreeSet<String>,
    /// The latest stamp of any fact read.
    latest_us: Micros,
}

impl LiveRun {
    /// Nothing read yet of `dir`.
    pub fn new(dir: &Path) -> LiveRun {
        LiveRun {
            dir: dir.to_path_buf(),
            layout: None,
            meta: None,
            logs: BTreeMap::new(),
            records: BTreeMap::new(),
            facts: Vec::new(),
            worker_last_us: BTreeMap::new(),
            snapshots: Vec::new(),
            storage_runs: Vec::new(),
            observer: Observer::default(),
            closed: BTreeMap::new(),
            late: Vec::new(),
            sealer: None,
            skipped: BTreeSet::new(),
            latest_us: Micros::MIN,
        }
    }

    /// Starts over (a file shrank or was replaced), keeping what is closed and what came late.
    fn restart(&mut self) {
        let mut fresh = LiveRun::new(&self.dir);
        fresh.closed = std::mem::take(&mut self.closed);
        fresh.late = std::mem::take(&mut self.late);
        fresh.sealer = self.sealer.take();
        *self = fresh;
    }

    /// Reads what the files gained; whether anything changed (new facts, snapshots, a log
    /// identified, a held line let go). An error is the batch parser's for the same bytes.
    ///
    /// After an error the reader starts over: the next refresh reads every file again from
    /// its start (so a fixed file is read whole, and a file still wrong gives the same error).
    pub fn refresh(&mut self) -> Result<bool, Error> {
        let result = self.read_once();
        if result.is_err() {
            self.restart();
        }
        result
    }

    fn read_once(&mut self) -> Result<bool, Error> {
        match self.read_all() {
            Ok(r) => r,
            Err(Restart) => {
                self.restart();
                match self.read_all() {
                    Ok(r) => r.map(|_| true),
                    Err(Restart) => Err(malformed(
                        &self.dir,
                        0,
                        "the files changed again while being read from their start",
                    )),
                }
            }
        }
    }

    fn read_all(&mut self) -> Result<Result<bool, Error>, Restart> {
        let layout = if self.dir.join(META_FILE).is_file() {
            Layout::Recorded
        } else {
            Layout::Logs
        };
        if self.layout.is_some_and(|l| l != layout) {
            return Err(Restart);
        }
        self.layout = Some(layout);
        if let Err(e) = self.read_meta(layout) {
            return Ok(Err(e));
        }
        let mut changed = false;
        let mut new_facts = Vec::new();
        let listed = match self.list(layout) {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        for (order, (path, rel, node)) in listed.into_iter().enumerate() {
            let entry = self
                .logs
                .entry(path.clone())
                .or_insert_with(|| (order, LogFile::new(rel.clone())));
            entry.0 = order;
            let log = &mut entry.1;
            let lines = match log.tail.read(&path) {
                Ok(Got::Lines(_, lines)) => lines,
                Ok(Got::Reset) => return Err(Restart),
                Err(e) => return Ok(Err(e)),
            };
            let grew = !lines.is_empty();
            let mut values = Vec::new();
            for text in &lines {
                log.text.push(text, &mut values);
            }
            if !grew && log.text.holds_a_line() {
                log.text.finish(&mut values);
            }
            changed |= !values.is_empty();
            if log.parser.is_none() {
                log.held.extend(values);
                let named = node
                    .map(|n| (n, "its file name"))
                    .or_else(|| server_log::node_named_in(&log.held).map(|n| (n, "its own lines")));
                let decided = named.or_else(|| {
                    (!grew || log.held.len() >= HOLD_LINES)
                        .then(|| server_log::node_from_file_name(&path))
                        .flatten()
                        .map(|n| (n, "its file name"))
                });
                match decided {
                    Some((n, by)) => {
                        log.parser = Some(ServerLogParser::new(&path, &rel, n, by));
                        self.skipped.remove(&rel);
                        changed = true;
                        values = std::mem::take(&mut log.held);
                    }
                    None if !grew && log.held.is_empty() => {
                        // Not a server log (yet): a README, a trace next to the logs.
                        if layout == Layout::Logs {
                            self.skipped.insert(rel.clone());
                        }
                        continue;
                    }
                    None if !grew => {
                        return Ok(Err(malformed(
                            &path,
                            0,
                            "no line names the node (`My Node ID is N1:...`) and the file name has no node number",
                        )))
                    }
                    None => continue,
                }
            }
            let parser = log.parser.as_mut().expect("decided above");
            for (n, v) in &values {
                if let Err(e) = parser.line(*n, v, &mut new_facts) {
                    return Ok(Err(e));
                }
            }
        }
        for (name, kind) in [(CTL_FILE, 0), (SQL_FILE, 1), (ACTIONS_FILE, 2)] {
            let path = self.dir.join(name);
            let tail = self.records.entry(name).or_default();
            let (first, lines) = match tail.read(&path) {
                Ok(Got::Lines(first, lines)) => (first, lines),
                Ok(Got::Reset) => return Err(Restart),
                Err(e) => return Ok(Err(e)),
            };
            for (i, text) in lines.iter().enumerate() {
                if text.trim().is_empty() {
                    continue;
                }
                let line = first + i;
                let bad = |e: serde_json::Error| malformed(&path, line, e.to_string());
                changed = true;
                match kind {
                    0 => match serde_json::from_str::<CtlRecord>(text) {
                        Ok(rec) => ctl_record(line, &rec, &mut new_facts, &mut self.storage_runs),
                        Err(e) => return Ok(Err(bad(e))),
                    },
                    1 => match serde_json::from_str::<SqlRecord>(text) {
                        Ok(rec) => {
                            let mut snap = sql_snapshot(line, rec);
                            self.observer.snapshot(&snap, &mut new_facts);
                            // The chain's changes are facts now; the rows repeat the whole
                            // chain at every poll.
                            let closed = &self.closed;
                            snap.rows.retain(|r| match r {
                                SqlRow::Logs { .. } => false,
                                SqlRow::LogletWorkers(w) => !closed.contains_key(&w.loglet),
                                SqlRow::Nodes(_) => true,
                            });
                            if !snap.rows.is_empty() {
                                let previous = self
                                    .snapshots
                                    .iter()
                                    .rev()
                                    .find(|k| *k.table == *snap.table);
                                let kept = KeptSnapshot::new(snap, previous);
                                self.snapshots.push(kept);
                            }
                        }
                        Err(e) => return Ok(Err(bad(e))),
                    },
                    _ => match serde_json::from_str::<ActionRecord>(text) {
                        Ok(rec) => action_record(line, rec, &mut new_facts),
                        Err(e) => return Ok(Err(bad(e))),
                    },
                }
            }
        }
        self.take(new_facts);
        Ok(Ok(changed))
    }

    /// The server logs to read: (path, path relative to the directory, node if the layout
    /// names it), in the batch parser's order.
    fn list(&self, layout: Layout) -> Result<Vec<(PathBuf, String, Option<u32>)>, Error> {
        match layout {
            Layout::Recorded => Ok(self.meta.as_ref().map_or(Vec::new(), |(m, _)| {
                m.nodes
                    .iter()
                    .map(|n| {
                        let path = node_log_path(&self.dir, n.id);
                        (path, format!("logs/n{}.log", n.id), Some(n.id))
                    })
                    .collect()
            })),
            Layout::Logs => Ok(server_log::log_files(&self.dir)?
                .into_iter()
                .map(|p| {
                    let rel = p
                        .strip_prefix(&self.dir)
                        .unwrap_or(&p)
                        .display()
                        .to_string();
                    (p, rel, None)
                })
                .collect()),
        }
    }

    /// Reads `meta.json` again when it changed (the recorder writes it at the start and at
    /// the end).
    fn read_meta(&mut self, layout: Layout) -> Result<(), Error> {
        if layout != Layout::Recorded {
            return Ok(());
        }
        let path = self.dir.join(META_FILE);
        let m = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        let seen = (m.len(), m.modified().ok());
        if self.meta.as_ref().is_some_and(|(_, s)| *s == seen) {
            return Ok(());
        }
        let bytes = crate::raw::read_capped(&path, crate::raw::MAX_META_BYTES)
            .map_err(|e| Error::io(&path, e))?;
        let text = String::from_utf8(bytes).map_err(|e| malformed(&path, 0, e.to_string()))?;
        let meta: Meta =
            serde_json::from_str(&text).map_err(|e| malformed(&path, e.line(), e.to_string()))?;
        self.meta = Some((meta, seen));
        Ok(())
    }

    /// Keeps the new facts, in the batch parser's order, but those of closed loglets.
    fn take(&mut self, new_facts: Vec<TimedFact>) {
        for f in new_facts {
            self.latest_us = self.latest_us.max(f.time_us);
            let Some(loglet) = fact_loglet(&f.fact) else {
                // The recorder's actions that touch no loglet (its load's progress, once a
                // second) are counted and dropped by every translation: not kept.
                if !matches!(&f.fact, Fact::OperatorAction { .. })
                    || !matches!(scope(&f.fact), Scope::OutOfScope(_))
                {
                    self.facts.push(f);
                }
                continue;
            };
            let Some(c) = self.closed.get_mut(&loglet) else {
                if matches!(f.fact, Fact::LogletWorkerObserved { .. }) {
                    // Built again from the kept rows when asked for.
                    let last = self.worker_last_us.entry(loglet).or_insert(f.time_us);
                    *last = (*last).max(f.time_us);
                } else {
                    self.facts.push(f);
                }
                continue;
            };
            let is_news = (f.time_us > c.at_us || !c.files.contains(&f.source.file))
                && match &f.fact {
                    Fact::LogletWorkerObserved {
                        node,
                        local_tail,
                        known_global_tail,
                        sealed,
                        ..
                    } => {
                        let row = (*local_tail, *known_global_tail, *sealed);
                        let n = news(c.workers.get(node), row);
                        c.workers.insert(*node, row);
                        n
                    }
                    // A node that instantiates the loglet's client again after a restart,
                    // a worker that stops: nothing the translation reads.
                    other => !matches!(scope(other), Scope::OutOfScope(_)),
                };
            let late = Late {
                loglet,
                from: format!("{}:{}", f.source.file, f.source.line),
            };
            // The first news about a loglet is the one reported.
            if is_news && !self.late.iter().any(|l| l.loglet == late.loglet) {
                self.late.push(late);
            }
        }
        let rank = self.ranks();
        self.facts
            .sort_by_key(|f| (f.time_us, rank.get(f.source.file.as_str()).copied()));
    }

    /// The batch parser's file order: the server logs as listed, then `restatectl.jsonl`,
    /// `sql.jsonl`, `actions.jsonl`.
    fn ranks(&self) -> BTreeMap<String, usize> {
        let mut out: BTreeMap<String, usize> = self
            .logs
            .values()
            .map(|(order, l)| (l.rel.clone(), *order))
            .collect();
        let n = self.logs.len();
        for (i, f) in [CTL_FILE, SQL_FILE, ACTIONS_FILE].into_iter().enumerate() {
            out.insert(f.to_string(), n + i);
        }
        out
    }

    /// Lines read so far from the server logs (complete lines, of every log).
    pub fn log_lines(&self) -> usize {
        self.logs.values().map(|(_, l)| l.tail.lines).sum()
    }

    /// Whether some server log has a timestamped line yet.
    pub fn has_log_lines(&self) -> bool {
        self.logs
            .values()
            .any(|(_, l)| l.parser.as_ref().is_some_and(|p| p.log.lines > 0))
    }

    /// What is read so far, as the batch parser would give it (less what is forgotten).
    pub fn run(&mut self) -> Result<RawRun, Error> {
        let present = |f: &str| self.dir.join(f).is_file();
        let absent: Vec<String> = [ACTIONS_FILE, CTL_FILE, SQL_FILE]
            .into_iter()
            .filter(|f| !present(f))
            .map(str::to_string)
            .collect();
        let mut listed: Vec<&(usize, LogFile)> = self.logs.values().collect();
        listed.sort_by_key(|(order, _)| *order);
        let logs: Vec<super::ServerLog> = listed
            .iter()
            .filter_map(|(_, l)| l.parser.as_ref().map(|p| p.log.clone()))
            .collect();
        let facts = self.all_facts();
        let (meta, logs, meta_derived, skipped) = match (self.layout, &self.meta) {
            (Some(Layout::Recorded), Some((meta, _))) => {
                let logs = logs
                    .into_iter()
                    .filter(|l| self.dir.join(&l.file).exists())
                    .collect();
                (meta.clone(), logs, false, Vec::new())
            }
            (Some(Layout::Recorded), None) => {
                return Err(malformed(&self.dir.join(META_FILE), 0, "not read yet"))
            }
            _ => {
                let mut skipped: Vec<String> = self.skipped.iter().cloned().collect();
                let logs = join_rotated(&self.dir, logs, &mut skipped)?;
                if logs.is_empty() {
                    return Err(malformed(&self.dir, 0, "no server log in the directory"));
                }
                let mut meta = derived_meta(&self.dir, &facts, &logs);
                match &self.sealer {
                    Some(s) => {
                        meta.seal_via = s.seal_via;
                        meta.log_replication = s.log_replication.clone();
                        meta.replication = s.replication.clone();
                    }
                    None if meta.seal_via.is_some() => self.sealer = Some(meta.clone()),
                    None => {}
                }
                (meta, logs, true, skipped)
            }
        };
        Ok(RawRun {
            meta,
            facts,
            snapshots: self.snapshots.iter().map(KeptSnapshot::whole).collect(),
            logs,
            storage_runs: self.storage_runs.clone(),
            absent,
            meta_derived,
            skipped,
        })
    }

    /// The facts in the batch parser's order: those kept, and the worker rows' facts built
    /// again from the kept rows (the rows of one `(node, loglet)` that differ from the one
    /// before, as [`Observer`] makes them) and merged in where the batch parser has them
    /// (by stamp, then file, then `sql.jsonl` line).
    fn all_facts(&self) -> Vec<TimedFact> {
        let mut workers = Vec::new();
        let mut observer = Observer::default();
        for kept in &self.snapshots {
            if !kept
                .rows
                .iter()
                .any(|r| matches!(**r, SqlRow::LogletWorkers(_)))
            {
                continue;
            }
            let mut snap = kept.whole();
            snap.rows.retain(|r| matches!(r, SqlRow::LogletWorkers(_)));
            observer.snapshot(&snap, &mut workers);
        }
        if workers.is_empty() {
            return self.facts.clone();
        }
        let rank = self.ranks();
        let sql_rank = rank.get(SQL_FILE).copied();
        let key = |f: &TimedFact| {
            let r = rank.get(f.source.file.as_str()).copied();
            // Only `sql.jsonl`'s facts are ordered by line against the built ones: the
            // others keep their order.
            let line = if r == sql_rank { f.source.line } else { 0 };
            (f.time_us, r, line)
        };
        // Built in `sql.jsonl`'s order, which is not always the stamps' (a snapshot is
        // stamped when its query starts).
        workers.sort_by_key(key);
        let mut out = Vec::with_capacity(self.facts.len() + workers.len());
        let mut built = workers.into_iter().peekable();
        for f in &self.facts {
            let k = key(f);
            while built.peek().is_some_and(|w| key(w) < k) {
                out.extend(built.next());
            }
            out.push(f.clone());
        }
        out.extend(built);
        out
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The latest stamp of any fact read so far.
    pub fn latest_us(&self) -> Option<Micros> {
        (self.latest_us != Micros::MIN).then_some(self.latest_us)
    }

    /// The latest stamp of a fact kept about `loglet` (what it names or is assigned).
    pub fn last_fact_us(&self, loglet: &str) -> Option<Micros> {
        assign(&self.facts)
            .iter()
            .zip(&self.facts)
            .filter(|(a, _)| a.as_deref() == Some(loglet))
            .map(|(_, f)| f.time_us)
            .chain(self.worker_last_us.get(loglet).copied())
            .max()
    }

    /// Drops every fact and worker row of `loglet`, and from now on those read about it
    /// (a later one that is news goes to [`LiveRun::late`]).
    pub fn forget(&mut self, loglet: &str) {
        let assigned = assign(&self.facts);
        let mut keep = assigned.iter().map(|a| a.as_deref() != Some(loglet));
        self.facts.retain(|_| keep.next().unwrap_or(true));
        self.worker_last_us.remove(loglet);
        for s in &mut self.snapshots {
            s.rows
                .retain(|r| !matches!(&**r, SqlRow::LogletWorkers(w) if w.loglet == loglet));
        }
        // A snapshot left without rows tells no translation anything.
        self.snapshots.retain(|s| !s.rows.is_empty());
        let workers = self
            .observer
            .last_worker
            .iter()
            .filter(|((_, l), _)| l == loglet)
            .map(|((node, _), w)| (*node, (w.local_tail, w.known_global_tail, w.sealed)))
            .collect();
        self.closed.insert(
            loglet.to_string(),
            Closed {
                at_us: self.latest_us,
                files: self.read_files(),
                workers,
            },
        );
    }

    /// The files whose lines are read into facts: the server logs whose node is known and the
    /// record files.
    fn read_files(&self) -> BTreeSet<String> {
        self.logs
            .values()
            .filter(|(_, l)| l.parser.is_some())
            .map(|(_, l)| l.rel.clone())
            .chain([CTL_FILE, SQL_FILE, ACTIONS_FILE].map(str::to_string))
            .collect()
    }

    /// Whether every file read so far is read into facts: no server log waits for its node
    /// to be known. Until then nothing should be closed: its lines may be about it.
    pub fn settled(&self) -> bool {
        self.logs
            .values()
            .all(|(_, l)| l.parser.is_some() || l.held.is_empty())
    }

    /// The loglets forgotten so far.
    pub fn closed(&self) -> BTreeSet<String> {
        self.closed.keys().cloned().collect()
    }

    /// Facts about closed loglets stamped after they were closed.
    pub fn late(&self) -> &[Late] {
        &self.late
    }
}

/// The files changed under the reader: start over.
struct Restart;
