//! `sealcheck import`: turn the raw material of a recorded Restate run into a trace.
//!
//! The recorder (`sealcheck-recorder`) leaves a raw directory behind: three server logs, the
//! recorder's own operator actions, every `restatectl` run and polled SQL snapshots. This
//! module reads it ([`sealcheck_recorder::parse_raw_dir`] for the logs and actions,
//! [`sealcheck_recorder::read_sql_records`] for the snapshots) and writes what the model can
//! be held to: a trace in format v1 (see [`crate::trace`]) whose events and observations are
//! the model's vocabulary, so that `sealcheck validate` can search for a model behaviour that
//! produces it.
//!
//! # Translation rules
//!
//! **One loglet.** Only the scenario's loglet (`meta.json` `loglet_id`, e.g. `0_0`) is
//! translated. Everything about other loglets is dropped: log 1, the segment auto recovery
//! appends after the seal (`0_1`), the seals every node runs on shutdown, and the find-tail
//! "seal assist" tasks other nodes run. A dropped seal task of the scenario's loglet is named in
//! the notes, because it may change log-server state the trace then shows.
//!
//! **The window.** The trace starts at the recorder's start (`meta.started_us`, `t = 0`; the
//! cluster starts fresh, so every log server starts Provisioning) and ends at the recorder's
//! final `shutdown` action: what the servers do while shutting down is not part of the
//! scenario. `t` is milliseconds since the start (microsecond resolution); facts are ordered by
//! time and keep log order within one instant.
//!
//! **Roles.** The model has one client that runs the seal task and is the loglet's sequencer.
//! A real run has a *sealer* (the node `restatectl -S` talks to, `meta.seal_via`) and a
//! *sequencer* (`meta.sequencer`, e.g. `N3:1`); the header's `roles` names both and
//! `config.client` is [`CLIENT_ID`], a node id that is not a log server. Sealer-kind events name
//! the sealer, sequencer-kind events the sequencer; the trace reader maps both to the client.
//!
//! **Offsets.** Restate's loglet offsets start at 1 (an empty loglet's local tail is 1); the
//! model's start at 0. Every offset and tail is written as Restate's value minus 1.
//!
//! | raw material | trace |
//! |---|---|
//! | `Log-store self-provisioning is complete` (log of N*k*) | `provisioned` N*k* |
//! | sealer: `Starting a seal task for loglet` after `seal()` from restatectl | `seal-started` |
//! | ... followed by the all-`Provisioning` WARN | `seal-rejected` (`all-provisioning`) instead |
//! | sealer: `Request failed. Exhausted attempts` (span `Seal`, peer N*k*) | `seal-request-failed` N*k* |
//! | ... or only N*k*`(E)` in the task's final nodeset status | `seal-request-failed` N*k*, just before the outcome |
//! | sealer: `Seal task completed on f-majority`, `max_local_tail` *m* | `seal-completed`, `max_local_tail` *m*-1 |
//! | sealer: `Seal operation failed` with a non-empty nodeset status | `seal-failed` |
//! | sequencer: `Draining sequencer` after a completed seal | `sequencer-sealed` (no tail: not logged) |
//! | restatectl: `N*k* storage-state has been updated from A to B` | `storage-state-set` N*k* B |
//! | recorder: `kill-node` (SIGKILL) / `stop-node` (SIGTERM, at `node-exited`) | `crashed` |
//! | recorder: `start-node` of a node that crashed | `restarted` |
//! | recorder: `pause-node` (SIGSTOP) | no event; a member paused during a seal task counts in `faults.timeouts` |
//! | SQL `loglet_workers` row of the loglet | `observe-log-server` (`local_tail` - 1, `sealed`) |
//! | SQL `nodes` row | `observe-storage-state` |
//!
//! `restatectl logs seal` runs that never reached a seal task (`svc is not ready yet`,
//! `Unknown log id`) are not `seal()` calls of the model and leave no event.
//!
//! **Observations.** A snapshot is stamped with its query's start and may describe any instant
//! until the query returned (20-500 ms). A row is written at the start time; a snapshot whose
//! query interval contains an event of the trace could describe the state before or after that
//! event, so its rows are dropped (and counted in the notes). A row is written only when it
//! differs from the last row written for the same node, or when an event happened since.
//!
//! **Completeness.** The header's `complete` lists [`COMPLETE_KINDS`], the kinds the raw
//! material logs every time they happen within the window. Per-message handling (`stored`,
//! `seal-handled`, `store-reply`, `seal-confirmed`, `append`, `append-acked`) is logged at
//! TRACE, which release builds compile out, so those steps are left for the validator to
//! place; `sequencer-sealed` is emitted when seen but not claimed complete (a killed or
//! restarted sequencer never drains), and so is `seal-request-failed`: a member that answered
//! with an error, or whose last attempt was not a network error, gives up without a DEBUG line
//! (seen in a recorded two-paused run), so the importer also derives the failure from the
//! task's final nodeset status.
//!
//! **Config.** `log_servers` = nodes in `meta.json`, `nodeset` and `replication` from the
//! loglet, `initial_storage` all Provisioning, `appends` = the loglet's final tail (model
//! units: the most records any observation or the seal saw), harness `seal-once` for one seal
//! task call and `retry` with `max_attempts` = the number of calls otherwise; faults `crashes`
//! = crashed events, `timeouts` = members paused during a seal task, `operator_moves` =
//! storage-state changes, `operator_force` when any was forced. `run_complete` is false: the
//! run went on after the cut.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use sealcheck_model::config::{
    Faults, Harness, HarnessKind, StorageState, MAX_APPENDS, MAX_LOG_SERVERS, MAX_SEAL_ATTEMPTS,
};
use sealcheck_model::trace::{Event, NodeId, Observation, RejectReason};
use sealcheck_model::Config;
use sealcheck_recorder::parse::Source;
use sealcheck_recorder::raw::{ACTIONS_FILE, META_FILE, SQL_FILE};
use sealcheck_recorder::{Fact, Meta, RawRun, SqlRecord};
use serde_json::Value;

use crate::trace::{Header, Item, Roles, FORMAT, MAX_OFFSET, VERSION};

/// The node id an imported trace gives the model's client: not a log server (the model has at
/// most 8), and distinct from every node of the recorded cluster.
pub const CLIENT_ID: u8 = 9;

/// Event kinds a recorded run logs completely within the trace window.
pub const COMPLETE_KINDS: [&str; 8] = [
    "provisioned",
    "seal-started",
    "seal-rejected",
    "seal-completed",
    "seal-failed",
    "storage-state-set",
    "crashed",
    "restarted",
];

/// One line of an imported trace: its time and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedItem {
    /// Milliseconds since the run's start.
    pub t: f64,
    /// The event or observation, naming real nodes (the sealer and sequencer as themselves).
    pub item: Item,
    /// The raw file and line it was read from.
    pub origin: Source,
}

/// A trace made from a raw directory.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedTrace {
    /// The header line.
    pub header: Header,
    /// The items, in time order.
    pub items: Vec<TimedItem>,
    /// What was dropped or assumed, one sentence each (for people; not part of the trace).
    pub notes: Vec<String>,
}

impl ImportedTrace {
    /// Writes the trace (header line, then one line per item, `t` first) as JSON Lines.
    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&self.header).expect("headers serialize")
        )?;
        for it in &self.items {
            let body = it.item.to_json();
            let rest = body.strip_prefix('{').expect("items are JSON objects");
            writeln!(out, "{{\"t\":{},{rest}", format_ms(it.t))?;
        }
        Ok(())
    }

    /// The trace as one string of JSON Lines.
    pub fn to_jsonl(&self) -> String {
        let mut buf = Vec::new();
        self.write_to(&mut buf).expect("writing to memory");
        String::from_utf8(buf).expect("JSON is UTF-8")
    }

    /// Writes the trace to a file (replacing it).
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        self.write_to(&mut f)?;
        f.flush()
    }

    /// The index (0-based, after the header) of the first item of a kind naming a node.
    pub fn position(&self, kind: &str, node: Option<u8>) -> Option<usize> {
        self.items.iter().position(|it| {
            it.item.kind() == kind
                && node.is_none_or(|n| match &it.item {
                    Item::Event(e) => e.node() == Some(NodeId(n)),
                    Item::Observe(o) => o.node() == NodeId(n),
                })
        })
    }
}

/// Milliseconds with at most three decimals (microseconds), without a trailing `.0`.
fn format_ms(t: f64) -> String {
    let us = (t * 1000.0).round() as i64;
    if us % 1000 == 0 {
        format!("{}", us / 1000)
    } else {
        let s = format!("{}.{:03}", us / 1000, us % 1000);
        s.trim_end_matches('0').to_string()
    }
}

/// A raw directory that cannot be turned into a trace.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file of the raw directory is missing or ill-formed (file, line and field named).
    #[error(transparent)]
    Raw(#[from] sealcheck_recorder::Error),
    /// `meta.json` lacks what the translation needs.
    #[error("{file}: field `{field}`: {message}")]
    Meta {
        /// The `meta.json` file.
        file: PathBuf,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A record or log line says something the model cannot express.
    #[error("{file}:{line}: {message}")]
    Record {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The path is not a raw directory.
    #[error("{dir}: not a raw directory (expected {META_FILE}, {ACTIONS_FILE}, {SQL_FILE}, logs/): {message}")]
    NotRawDir {
        /// The path given.
        dir: PathBuf,
        /// Why.
        message: String,
    },
}

/// Arguments of `sealcheck import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The raw directory of a recorded run (with meta.json, actions.jsonl, restatectl.jsonl,
    /// sql.jsonl and logs/), as `sealcheck record` leaves it under OUT/raw.
    pub raw_dir: PathBuf,
    /// Write the trace here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Do not print the notes (what was dropped or assumed) on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `sealcheck import`: writes the trace, prints the notes on stderr; exit code 0.
pub fn import(args: &ImportArgs) -> anyhow::Result<u8> {
    let trace = import_raw_dir(&args.raw_dir)
        .map_err(|e| crate::commands::UsageError(format!("import: {e}")))?;
    match &args.out {
        Some(path) => trace.write_file(path).map_err(|e| {
            crate::commands::UsageError(format!("cannot write {}: {e}", path.display()))
        })?,
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            trace.write_to(&mut lock)?;
            lock.flush()?;
        }
    }
    if !args.quiet {
        print_notes(&trace, args.out.as_deref());
    }
    Ok(0)
}

/// Prints the notes of an import on stderr.
pub fn print_notes(trace: &ImportedTrace, out: Option<&Path>) {
    let dest = out.map_or("stdout".to_string(), |p| p.display().to_string());
    eprintln!(
        "sealcheck import: {} items ({} events, {} observations) -> {dest}",
        trace.items.len(),
        trace
            .items
            .iter()
            .filter(|i| matches!(i.item, Item::Event(_)))
            .count(),
        trace
            .items
            .iter()
            .filter(|i| matches!(i.item, Item::Observe(_)))
            .count(),
    );
    for n in &trace.notes {
        eprintln!("  note: {n}");
    }
}

/// Reads a raw directory and translates it (see the module documentation for the rules).
pub fn import_raw_dir(dir: &Path) -> Result<ImportedTrace, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::NotRawDir {
            dir: dir.to_path_buf(),
            message: "no such directory".into(),
        });
    }
    if !dir.join(META_FILE).is_file() {
        return Err(ImportError::NotRawDir {
            dir: dir.to_path_buf(),
            message: format!("{META_FILE} is missing"),
        });
    }
    let run = sealcheck_recorder::parse_raw_dir(dir)?;
    let sql = sealcheck_recorder::read_sql_records(dir)?;
    import_run(dir, &run, &sql)
}

/// What the run's `meta.json` says about the loglet, checked.
struct Setup {
    log_servers: u8,
    loglet: String,
    log_id: u64,
    nodeset: Vec<u8>,
    replication: u8,
    sealer: u8,
    sequencer: u8,
}

fn meta_err(dir: &Path, field: &str, message: impl Into<String>) -> ImportError {
    ImportError::Meta {
        file: dir.join(META_FILE),
        field: field.to_string(),
        message: message.into(),
    }
}

/// `"N3:1"` or `"N3"` -> 3.
fn plain_node(text: &str) -> Option<u8> {
    text.trim()
        .strip_prefix('N')?
        .split(':')
        .next()?
        .parse()
        .ok()
}

/// `"{node: 2}"` -> 2.
fn replication_factor(text: &str) -> Option<u8> {
    text.trim()
        .strip_prefix('{')?
        .strip_suffix('}')?
        .trim()
        .strip_prefix("node:")?
        .trim()
        .parse()
        .ok()
}

fn setup(dir: &Path, meta: &Meta) -> Result<Setup, ImportError> {
    let n = meta.nodes.len();
    if n == 0 || n > MAX_LOG_SERVERS as usize {
        return Err(meta_err(
            dir,
            "nodes",
            format!(
                "{n} nodes; the model has 1..={} log servers",
                MAX_LOG_SERVERS
            ),
        ));
    }
    let log_servers = n as u8;
    let mut ids: Vec<u32> = meta.nodes.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    if ids != (1..=n as u32).collect::<Vec<_>>() {
        return Err(meta_err(
            dir,
            "nodes",
            format!("node ids {ids:?}: expected 1..={n} (log servers N1..N{n})"),
        ));
    }
    let in_range = |id: u32| id >= 1 && id <= n as u32;
    let loglet = meta.loglet_id.clone().ok_or_else(|| {
        meta_err(
            dir,
            "loglet_id",
            "missing: the run never learnt the loglet of the log it seals",
        )
    })?;
    if meta.nodeset.is_empty() {
        return Err(meta_err(dir, "nodeset", "empty"));
    }
    let mut nodeset = Vec::new();
    for &id in &meta.nodeset {
        if !in_range(id) {
            return Err(meta_err(
                dir,
                "nodeset",
                format!("N{id} is not a node of the run (N1..N{n})"),
            ));
        }
        nodeset.push(id as u8);
    }
    nodeset.sort_unstable();
    let rep_text = meta
        .replication
        .clone()
        .unwrap_or_else(|| meta.log_replication.clone());
    let replication = replication_factor(&rep_text).ok_or_else(|| {
        meta_err(
            dir,
            "replication",
            format!("`{rep_text}` is not a replication property such as `{{node: 2}}`"),
        )
    })?;
    let sealer = meta.seal_via.ok_or_else(|| {
        meta_err(
            dir,
            "seal_via",
            "missing: the seals did not go to one node, so no node is the sealer",
        )
    })?;
    if !in_range(sealer) {
        return Err(meta_err(
            dir,
            "seal_via",
            format!("N{sealer} is not a node of the run"),
        ));
    }
    let seq_text = meta
        .sequencer
        .clone()
        .ok_or_else(|| meta_err(dir, "sequencer", "missing"))?;
    let sequencer = plain_node(&seq_text).filter(|id| *id >= 1).ok_or_else(|| {
        meta_err(
            dir,
            "sequencer",
            format!("`{seq_text}` is not a node id such as `N3:1`"),
        )
    })?;
    Ok(Setup {
        log_servers,
        loglet,
        log_id: meta.log_id,
        nodeset,
        replication,
        sealer: sealer as u8,
        sequencer,
    })
}

/// A Restate offset or tail as the model counts it.
fn model_offset(value: u64, what: &str, file: &Path, line: usize) -> Result<u8, ImportError> {
    if value == 0 {
        return Err(ImportError::Record {
            file: file.to_path_buf(),
            line,
            message: format!(
                "{what} is 0, but Restate's loglet offsets start at 1 (an empty loglet's tail is 1)"
            ),
        });
    }
    let v = value - 1;
    if v > MAX_OFFSET as u64 {
        return Err(ImportError::Record {
            file: file.to_path_buf(),
            line,
            message: format!(
                "{what} {value} does not fit: the model counts at most {MAX_OFFSET} records"
            ),
        });
    }
    Ok(v as u8)
}

/// An event placed in time, before sorting.
struct Placed {
    time_us: i64,
    /// The earliest instant the event may have taken effect (equal to `time_us` for a log
    /// line; the start of the `restatectl` run for a storage-state change; the signal for a
    /// SIGTERM stop, placed when the process exited).
    since_us: i64,
    order: usize,
    item: Item,
    origin: Source,
}

/// Counts of dropped material, for the notes.
#[derive(Default)]
struct Dropped {
    counts: BTreeMap<String, usize>,
    notes: Vec<String>,
}

impl Dropped {
    fn count(&mut self, what: impl Into<String>) {
        *self.counts.entry(what.into()).or_default() += 1;
    }
}

/// Members a seal task marked `E` (all attempts failed, or the member answered with an error)
/// whose failure left no `Exhausted attempts` line: that line is only printed when the last
/// attempt was a network error.
fn unlogged_failures(
    status: &[sealcheck_recorder::parse::NodeStatus],
    logged: &BTreeSet<u32>,
    nodeset: &[u8],
) -> Vec<u32> {
    status
        .iter()
        .filter(|st| st.status == sealcheck_recorder::NodeSealStatus::Error)
        .map(|st| st.node)
        .filter(|n| !logged.contains(n) && nodeset.contains(&(*n as u8)))
        .collect()
}

/// Emits `seal-request-failed` for members whose failure only the seal task's final status
/// shows, just before its outcome (their failure is certain, its time is not).
fn emit_failures(
    placed: &mut Vec<Placed>,
    peers: &[u32],
    f: &sealcheck_recorder::TimedFact,
    order: usize,
    sealer: u8,
    notes: &mut Vec<String>,
    start_us: i64,
) {
    for &p in peers {
        push(
            placed,
            f.time_us,
            order,
            Item::Event(Event::SealRequestFailed {
                node: NodeId(sealer),
                peer: NodeId(p as u8),
            }),
            &f.source,
        );
        notes.push(format!(
            "the seal task's status shows N{p}(E) but no `Exhausted attempts` line: seal-request-failed N{p} placed at its outcome ({:.1} ms)",
            ms(f.time_us, start_us)
        ));
    }
}

fn push(placed: &mut Vec<Placed>, time_us: i64, order: usize, item: Item, origin: &Source) {
    placed.push(Placed {
        time_us,
        since_us: time_us,
        order,
        item,
        origin: origin.clone(),
    });
}

fn source(file: &str, line: usize) -> Source {
    Source {
        file: file.to_string(),
        line,
    }
}

/// Translates a parsed raw directory. `dir` names files in errors; `sql` are the records of
/// `sql.jsonl` with their line numbers.
pub fn import_run(
    dir: &Path,
    run: &RawRun,
    sql: &[(usize, SqlRecord)],
) -> Result<ImportedTrace, ImportError> {
    let meta = &run.meta;
    let s = setup(dir, meta)?;
    let start_us = meta.started_us;
    let end_fact = run
        .facts
        .iter()
        .find(|f| matches!(&f.fact, Fact::OperatorAction { action, .. } if action == "shutdown"));
    let end_us = match end_fact {
        Some(f) => f.time_us,
        None if meta.ended_us > start_us => meta.ended_us,
        None => i64::MAX,
    };
    let is_server = |id: u32| id >= 1 && id <= s.log_servers as u32;
    let mut dropped = Dropped::default();
    let mut notes = Vec::new();

    let mut placed: Vec<Placed> = Vec::new();

    // Pass over the facts: events.
    let facts = &run.facts;
    let mut in_window = 0usize;
    let mut started_once: BTreeSet<u32> = BTreeSet::new();
    let mut down: BTreeSet<u32> = BTreeSet::new();
    let mut paused: BTreeSet<u32> = BTreeSet::new();
    let mut paused_in_seal: BTreeSet<u32> = BTreeSet::new();
    // A `seal()` from restatectl for the scenario's log entered on the sealer and not yet
    // matched with its seal task. Shutdown seals and find-tail seal assists never set it;
    // concurrent shutdown seals may interleave their lines with it.
    let mut restatectl_pending = false;
    // Nodes between SIGTERM and exit: whatever they start is a shutdown seal.
    let mut stopping: BTreeSet<u32> = BTreeSet::new();
    let mut marker_written: BTreeMap<u32, i64> = BTreeMap::new();
    // The open scenario seal task: (started at, rejected).
    let mut task: Option<(i64, bool)> = None;
    let mut swallow_rejection_echo = false;
    // Members of the open seal task whose request failure was logged.
    let mut failed_peers: BTreeSet<u32> = BTreeSet::new();
    let mut seal_calls = 0usize;
    let mut completed = false;
    let mut sequencer_sealed = false;
    let mut crashes = 0u8;
    let mut operator_moves = 0u8;
    let mut operator_force = false;
    let mut last_force = false;
    let mut last_set_us = start_us;
    let mut max_tail: Option<u8> = None;
    let mut seal_commands = 0usize;
    let mut tail_lsn: Option<u64> = None;
    let loglet = s.loglet.as_str();
    let sealer = s.sealer as u32;
    let sequencer = s.sequencer as u32;
    for (i, f) in facts.iter().enumerate() {
        if f.time_us >= end_us {
            break;
        }
        in_window += 1;
        let file = dir.join(&f.source.file);
        let line = f.source.line;
        let ev = |e: Event| Item::Event(e);
        match &f.fact {
            Fact::StorageMarkerWritten { node } => {
                marker_written.insert(*node, f.time_us);
            }
            Fact::SelfProvisioned { node } if is_server(*node) => {
                push(
                    &mut placed,
                    f.time_us,
                    i,
                    ev(Event::Provisioned {
                        node: NodeId(*node as u8),
                    }),
                    &f.source,
                );
                // The metadata compare-and-set to ReadWrite happened between the marker write
                // and this line.
                if let (Some(p), Some(m)) = (placed.last_mut(), marker_written.remove(node)) {
                    p.since_us = m.min(f.time_us);
                }
            }
            Fact::OperatorAction {
                action,
                nodes,
                detail,
            } => match action.as_str() {
                "start-node" => {
                    for &n in nodes {
                        if !started_once.insert(n) {
                            if down.remove(&n) {
                                push(
                                    &mut placed,
                                    f.time_us,
                                    i,
                                    ev(Event::Restarted {
                                        node: NodeId(n as u8),
                                    }),
                                    &f.source,
                                );
                            } else {
                                notes.push(format!("N{n} was started again without having stopped (actions.jsonl line {line}); no event"));
                            }
                        }
                    }
                }
                "node-exited" => {
                    for n in nodes {
                        stopping.remove(n);
                    }
                }
                "kill-node" | "stop-node" => {
                    for &n in nodes {
                        if action == "stop-node" {
                            stopping.insert(n);
                        }
                        if n == sealer {
                            restatectl_pending = false;
                        }
                        if !is_server(n) {
                            continue;
                        }
                        // A SIGTERM stop is a crash once the process is gone.
                        let at = if action == "stop-node" {
                            facts[i + 1..]
                                .iter()
                                .take_while(|g| g.time_us < end_us)
                                .find(|g| matches!(&g.fact, Fact::OperatorAction { action, nodes: ns, .. } if action == "node-exited" && ns.contains(&n)))
                                .map_or(f.time_us, |g| g.time_us)
                        } else {
                            f.time_us
                        };
                        down.insert(n);
                        paused.remove(&n);
                        crashes = crashes.saturating_add(1);
                        push(
                            &mut placed,
                            at,
                            i,
                            ev(Event::Crashed {
                                node: NodeId(n as u8),
                            }),
                            &f.source,
                        );
                        if let Some(p) = placed.last_mut() {
                            p.since_us = f.time_us;
                        }
                        if n == sequencer {
                            notes.push(format!("the sequencer N{n} was {} at {:.1} ms: the model's client does not crash, so whatever the real sequencer no longer did is left to unlogged steps", if action == "kill-node" { "killed" } else { "stopped" }, ms(at, start_us)));
                        }
                    }
                }
                "pause-node" => {
                    for &n in nodes {
                        paused.insert(n);
                        if task.is_some() && s.nodeset.contains(&(n as u8)) {
                            paused_in_seal.insert(n);
                        }
                    }
                }
                "resume-node" => {
                    for n in nodes {
                        paused.remove(n);
                    }
                }
                "set-storage-state" => {
                    last_force = detail
                        .get("force")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    last_set_us = f.time_us;
                }
                "seal-log" => seal_commands += 1,
                _ => {}
            },
            Fact::StorageStateSet { node, from: _, to } if is_server(*node) => {
                let state = StorageState::parse(to).ok_or_else(|| ImportError::Record {
                    file: file.clone(),
                    line,
                    message: format!("storage state `{to}` has no counterpart in the model (known: provisioning, read-write, read-only, data-loss, disabled)"),
                })?;
                operator_moves = operator_moves.saturating_add(1);
                operator_force |= last_force;
                push(
                    &mut placed,
                    f.time_us,
                    i,
                    ev(Event::StorageStateSet {
                        node: NodeId(*node as u8),
                        to: state,
                    }),
                    &f.source,
                );
                // The change landed somewhere during the restatectl run.
                if let Some(p) = placed.last_mut() {
                    p.since_us = last_set_us.min(f.time_us);
                }
            }
            Fact::SealRequested {
                node,
                log_id,
                reason,
                ..
            } if *node == sealer && reason == "restatectl" && *log_id == Some(s.log_id) => {
                restatectl_pending = true;
            }
            Fact::SealAssist { node, loglet: l } if l == loglet => {
                dropped.notes.push(format!(
                    "N{node} ran a find-tail seal assist on {loglet} at {:.1} ms (its task is not the model's client; the log servers it sealed appear sealed in later observations)",
                    ms(f.time_us, start_us)
                ));
            }
            Fact::SealStarted {
                node, loglet: l, ..
            } => {
                if l != loglet {
                    dropped.count(format!("seal tasks of other loglets ({l})"));
                    continue;
                }
                let ours = *node == sealer && restatectl_pending && !stopping.contains(node);
                if *node == sealer && !stopping.contains(node) {
                    restatectl_pending = false;
                }
                if !ours {
                    let why = if *node != sealer {
                        "not the sealer: a shutdown seal or a find-tail seal assist"
                    } else if stopping.contains(node) {
                        "a shutdown seal"
                    } else {
                        "not started by restatectl: a find-tail seal assist"
                    };
                    dropped.notes.push(format!(
                        "dropped a seal task of {loglet} on N{node} at {:.1} ms ({why})",
                        ms(f.time_us, start_us)
                    ));
                    continue;
                }
                if task.is_some() {
                    notes.push(format!(
                        "a seal task started at {:.1} ms while the previous one had not ended",
                        ms(f.time_us, start_us)
                    ));
                }
                // The guard's warning follows the start line when every member looked
                // Provisioning; then the model's step is a rejection, not a start.
                let rejected = facts[i + 1..]
                    .iter()
                    .take_while(|g| g.time_us < end_us)
                    .take_while(|g| !matches!(&g.fact, Fact::SealStarted { node: n, .. } | Fact::SealCompleted { node: n, .. } if *n == sealer))
                    .any(|g| matches!(&g.fact, Fact::AllProvisioningWarning { node: n, loglet: l } if *n == sealer && l == loglet));
                seal_calls += 1;
                for &p in &paused {
                    if s.nodeset.contains(&(p as u8)) {
                        paused_in_seal.insert(p);
                    }
                }
                let e = if rejected {
                    Event::SealRejected {
                        node: NodeId(s.sealer),
                        reason: Some(RejectReason::AllProvisioning),
                    }
                } else {
                    Event::SealStarted {
                        node: NodeId(s.sealer),
                    }
                };
                task = Some((f.time_us, rejected));
                failed_peers.clear();
                push(&mut placed, f.time_us, i, ev(e), &f.source);
            }
            Fact::AllProvisioningWarning { node, loglet: l } => {
                if *node == sealer && l == loglet && matches!(task, Some((_, true))) {
                    task = None;
                    swallow_rejection_echo = true;
                } else if l == loglet {
                    dropped.notes.push(format!(
                        "dropped the all-Provisioning warning of N{node}'s seal of {loglet} at {:.1} ms (not the scenario's seal task)",
                        ms(f.time_us, start_us)
                    ));
                }
            }
            Fact::SealCompleted {
                node,
                loglet: l,
                max_local_tail,
                nodeset_status,
                ..
            } => {
                if *node == sealer && l == loglet && matches!(task, Some((_, false))) {
                    let m = max_local_tail
                        .map(|t| model_offset(t, "max_local_tail", &file, line))
                        .transpose()?;
                    if let Some(m) = m {
                        max_tail = max_tail.max(Some(m));
                    }
                    task = None;
                    completed = true;
                    let unlogged = unlogged_failures(nodeset_status, &failed_peers, &s.nodeset);
                    emit_failures(&mut placed, &unlogged, f, i, s.sealer, &mut notes, start_us);
                    push(
                        &mut placed,
                        f.time_us,
                        i,
                        ev(Event::SealCompleted {
                            node: NodeId(s.sealer),
                            max_local_tail: m,
                        }),
                        &f.source,
                    );
                } else if l == loglet {
                    dropped.notes.push(format!(
                        "dropped the completion of N{node}'s seal task of {loglet} at {:.1} ms (not the scenario's seal task)",
                        ms(f.time_us, start_us)
                    ));
                } else {
                    dropped.count(format!("seal completions of other loglets ({l})"));
                }
            }
            Fact::SealFailed {
                node,
                loglet: l,
                nodeset_status,
                ..
            } => {
                if *node != sealer || l.as_deref() != Some(loglet) {
                    dropped.count("seal failures of other loglets or nodes");
                } else if swallow_rejection_echo && nodeset_status.is_empty() {
                    swallow_rejection_echo = false;
                } else if matches!(task, Some((_, false))) {
                    task = None;
                    let unlogged = unlogged_failures(nodeset_status, &failed_peers, &s.nodeset);
                    emit_failures(&mut placed, &unlogged, f, i, s.sealer, &mut notes, start_us);
                    push(
                        &mut placed,
                        f.time_us,
                        i,
                        ev(Event::SealFailed {
                            node: NodeId(s.sealer),
                        }),
                        &f.source,
                    );
                } else {
                    notes.push(format!(
                        "a seal failure of {loglet} at {:.1} ms matches no open seal task; dropped",
                        ms(f.time_us, start_us)
                    ));
                }
            }
            Fact::RequestExhausted {
                node,
                peer,
                message,
                loglet: l,
                ..
            } => {
                let is_seal = message.as_deref() == Some("Seal") && l.as_deref() == Some(loglet);
                match peer {
                    Some(p)
                        if is_seal
                            && *node == sealer
                            && matches!(task, Some((_, false)))
                            && s.nodeset.contains(&(*p as u8)) =>
                    {
                        failed_peers.insert(*p);
                        push(
                            &mut placed,
                            f.time_us,
                            i,
                            ev(Event::SealRequestFailed {
                                node: NodeId(s.sealer),
                                peer: NodeId(*p as u8),
                            }),
                            &f.source,
                        )
                    }
                    _ => dropped.count("exhausted requests outside the scenario's seal task"),
                }
            }
            Fact::SequencerDraining {
                node, loglet: l, ..
            } => {
                if *node == sequencer && l == loglet && completed && !sequencer_sealed {
                    sequencer_sealed = true;
                    push(
                        &mut placed,
                        f.time_us,
                        i,
                        ev(Event::SequencerSealed {
                            node: NodeId(s.sequencer),
                            tail: None,
                        }),
                        &f.source,
                    );
                } else if l == loglet {
                    dropped.notes.push(format!(
                        "dropped N{node}'s drain of {loglet} at {:.1} ms (not the sequencer draining after the scenario's completed seal)",
                        ms(f.time_us, start_us)
                    ));
                } else {
                    dropped.count(format!("sequencer drains of other loglets ({l})"));
                }
            }
            Fact::SealCommandReturned {
                log_id,
                tail_lsn: Some(t),
                ..
            } if *log_id == Some(s.log_id) => tail_lsn = Some(*t),
            Fact::AutoRecovery { .. } => {
                dropped.count("auto-recovery lines (the chain grows a new loglet)")
            }
            Fact::ChainSealRepair { .. } => {
                dropped.count("chain seal repairs (chain level, not the loglet)")
            }
            _ => {}
        }
    }
    if let Some((t, _)) = task {
        notes.push(format!(
            "the seal task started at {:.1} ms had not ended when the trace was cut",
            ms(t, start_us)
        ));
    }
    let after_cut = facts.len() - in_window;
    if after_cut > 0 {
        notes.push(format!(
            "cut at {:.1} ms (the recorder's shutdown): {after_cut} later facts dropped (shutdown seals, process exits)",
            ms(end_us, start_us)
        ));
    }

    // Observations from the SQL snapshots.
    placed.sort_by_key(|p| (p.time_us, p.order));
    let event_times: Vec<(i64, i64)> = placed.iter().map(|p| (p.since_us, p.time_us)).collect();
    let events_before = |t: i64| event_times.partition_point(|&(_, e)| e <= t);
    // Whether an event may have taken effect while a query ran.
    let overlaps = |start: i64, end: i64| {
        event_times
            .iter()
            .any(|&(since, at)| since <= end && at > start)
    };
    let sql_file = dir.join(SQL_FILE);
    let mut last_worker: BTreeMap<u8, (u8, bool, usize)> = BTreeMap::new();
    let mut last_state: BTreeMap<u8, (StorageState, usize)> = BTreeMap::new();
    let mut straddling = 0usize;
    let mut obs_order = facts.len();
    for (line, rec) in sql {
        if rec.time_us < start_us || rec.time_us >= end_us || rec.error.is_some() {
            continue;
        }
        let relevant: Vec<&Value> = match rec.table.as_str() {
            "loglet_workers" => rec
                .rows
                .iter()
                .filter(|r| r.get("loglet_id").and_then(Value::as_str) == Some(loglet))
                .collect(),
            "nodes" => rec.rows.iter().collect(),
            _ => continue,
        };
        if relevant.is_empty() {
            continue;
        }
        let seen = events_before(rec.time_us);
        let origin = source(SQL_FILE, *line);
        // Every row is checked, also those of a snapshot that is then dropped.
        let mut observed = Vec::new();
        for row in relevant {
            let node = row
                .get("plain_node_id")
                .and_then(Value::as_str)
                .and_then(plain_node)
                .filter(|n| is_server(*n as u32));
            let Some(node) = node else {
                continue;
            };
            let bad = |field: &str, what: &str| ImportError::Record {
                file: sql_file.clone(),
                line: *line,
                message: format!(
                    "field `rows[].{field}` of N{node}'s row in `{}` is missing or not {what}",
                    rec.table
                ),
            };
            if rec.table == "loglet_workers" {
                let tail = row
                    .get("local_tail")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("local_tail", "a number"))?;
                let sealed = row
                    .get("is_sealed")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| bad("is_sealed", "a boolean"))?;
                let tail = model_offset(tail, "local_tail", &sql_file, *line)?;
                max_tail = max_tail.max(Some(tail));
                observed.push(Observation::ObserveLogServer {
                    node: NodeId(node),
                    local_tail: Some(tail),
                    sealed: Some(sealed),
                });
            } else {
                let text = row
                    .get("storage_state")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("storage_state", "a string"))?;
                match StorageState::parse(text) {
                    Some(state) => observed.push(Observation::ObserveStorageState {
                        node: NodeId(node),
                        state,
                    }),
                    None => dropped.count(format!(
                        "nodes rows in storage state `{text}` (no model counterpart)"
                    )),
                }
            }
        }
        if overlaps(rec.time_us, rec.end_time_us) {
            straddling += 1;
            continue;
        }
        for o in observed {
            // Unchanged since the last row written for this node, with no event in between.
            let fresh = match &o {
                Observation::ObserveLogServer {
                    node,
                    local_tail,
                    sealed,
                } => {
                    let v = (local_tail.unwrap_or(0), sealed.unwrap_or(false), seen);
                    last_worker.insert(node.0, v) != Some(v)
                }
                Observation::ObserveStorageState { node, state } => {
                    last_state.insert(node.0, (*state, seen)) != Some((*state, seen))
                }
                Observation::ObserveSequencer { .. } => true,
            };
            if fresh {
                obs_order += 1;
                push(
                    &mut placed,
                    rec.time_us,
                    obs_order,
                    Item::Observe(o),
                    &origin,
                );
            }
        }
    }
    if straddling > 0 {
        notes.push(format!(
            "{straddling} SQL snapshots dropped: their query was still running when an event of the trace happened, so they could show either side of it"
        ));
    }
    placed.sort_by_key(|p| (p.time_us, p.order));

    // The header.
    let appends = max_tail.unwrap_or(0);
    if appends > MAX_APPENDS {
        return Err(meta_err(
            dir,
            "loglet_id",
            format!(
                "{loglet} holds {appends} records; the model allows at most {MAX_APPENDS} appends"
            ),
        ));
    }
    if let Some(lsn) = tail_lsn {
        if lsn >= 1 && lsn - 1 != appends as u64 && s.loglet.ends_with("_0") {
            notes.push(format!(
                "restatectl reported tail LSN {lsn} (model tail {}) but the loglet's observations and seal show tail {appends}",
                lsn - 1
            ));
        }
    }
    let harness = if seal_calls <= 1 {
        Harness {
            kind: HarnessKind::SealOnce,
            max_attempts: 1,
            ..Harness::default()
        }
    } else {
        if seal_calls > MAX_SEAL_ATTEMPTS as usize {
            return Err(meta_err(
                dir,
                "seal_via",
                format!("{seal_calls} seal tasks; the model's retry harness makes at most {MAX_SEAL_ATTEMPTS}"),
            ));
        }
        Harness {
            kind: HarnessKind::Retry,
            max_attempts: seal_calls as u8,
            ..Harness::default()
        }
    };
    let config = Config {
        name: format!("restate-{}-{}", meta.restate_version, meta.scenario),
        log_servers: s.log_servers,
        nodeset: s.nodeset.clone(),
        replication: s.replication,
        client: CLIENT_ID,
        loglet: s.loglet.clone(),
        initial_storage: vec![StorageState::Provisioning; s.log_servers as usize],
        forced_provisioning: Vec::new(),
        appends,
        stale_views: false,
        provisioning_steps: false,
        harness,
        faults: Faults {
            message_loss: 0,
            message_duplication: 0,
            crashes,
            timeouts: paused_in_seal.len() as u8,
            operator_moves,
            operator_force,
        },
        bugs: Vec::new(),
        unreachable: Vec::new(),
    };
    config.validate().map_err(|e| {
        meta_err(
            dir,
            "-",
            format!("the translated scenario is not a valid model config: {e}"),
        )
    })?;
    let header = Header {
        format: FORMAT.to_string(),
        version: VERSION,
        config,
        roles: Roles {
            sealer: Some(NodeId(s.sealer)),
            sequencer: Some(NodeId(s.sequencer)),
        },
        complete: COMPLETE_KINDS.iter().map(|k| k.to_string()).collect(),
        run_complete: false,
        source: Some(format!(
            "Restate {} scenario `{}` recorded {} by sealcheck-recorder; imported by sealcheck import",
            meta.restate_version,
            meta.scenario,
            sealcheck_recorder::time::format_rfc3339(start_us)
                .split('.')
                .next()
                .unwrap_or("")
        )),
    };

    // Notes: what the run was, what was assumed and dropped.
    let mut all_notes = vec![
        format!(
            "loglet {loglet} of log {}: nodeset {}, replication {{node: {}}}, sequencer {}, seal task run by N{} (restatectl -S); client N{CLIENT_ID} plays both",
            s.log_id,
            node_list(s.nodeset.iter().map(|n| *n as u32)),
            s.replication,
            meta.sequencer.as_deref().unwrap_or("?"),
            s.sealer
        ),
        "Restate offsets and tails start at 1: the trace writes Restate's value minus 1".to_string(),
        format!(
            "{seal_commands} `restatectl logs seal` runs, {seal_calls} reached a seal task of {loglet} (harness {})",
            config_harness_name(&header.config)
        ),
    ];
    if !paused_in_seal.is_empty() {
        all_notes.push(format!(
            "paused (SIGSTOP) during a seal task: {}; each may make a seal request time out (faults.timeouts = {})",
            node_list(paused_in_seal.iter().copied()),
            paused_in_seal.len()
        ));
    }
    all_notes.extend(notes);
    all_notes.extend(dropped.notes);
    for (what, n) in dropped.counts {
        all_notes.push(format!("dropped {n} {what}"));
    }

    let items = placed
        .into_iter()
        .map(|p| TimedItem {
            t: ms(p.time_us.max(start_us), start_us),
            item: p.item,
            origin: p.origin,
        })
        .collect();
    Ok(ImportedTrace {
        header,
        items,
        notes: all_notes,
    })
}

fn node_list(ids: impl Iterator<Item = u32>) -> String {
    let v: Vec<String> = ids.map(|n| format!("N{n}")).collect();
    format!("[{}]", v.join(", "))
}

fn config_harness_name(cfg: &Config) -> String {
    match cfg.harness.kind {
        HarnessKind::Retry => format!("retry, max_attempts {}", cfg.harness.max_attempts),
        k => k.name().to_string(),
    }
}

/// Microseconds since the epoch -> milliseconds since the start (microsecond resolution).
fn ms(us: i64, start_us: i64) -> f64 {
    (us - start_us) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_print_compactly() {
        assert_eq!(format_ms(0.0), "0");
        assert_eq!(format_ms(12.5), "12.5");
        assert_eq!(format_ms(8093.123), "8093.123");
        assert_eq!(format_ms(7.0), "7");
        assert_eq!(format_ms(0.001), "0.001");
    }

    #[test]
    fn node_and_replication_texts_parse() {
        assert_eq!(plain_node("N3:1"), Some(3));
        assert_eq!(plain_node("N12"), Some(12));
        assert_eq!(plain_node("3"), None);
        assert_eq!(replication_factor("{node: 2}"), Some(2));
        assert_eq!(replication_factor("{zone: 2}"), None);
    }

    #[test]
    fn offsets_shift_by_one_and_zero_is_refused() {
        let f = Path::new("sql.jsonl");
        assert_eq!(model_offset(1, "local_tail", f, 3).unwrap(), 0);
        assert_eq!(model_offset(7, "local_tail", f, 3).unwrap(), 6);
        let e = model_offset(0, "local_tail", f, 3).unwrap_err().to_string();
        assert!(e.starts_with("sql.jsonl:3: local_tail is 0"), "{e}");
        assert!(model_offset(200, "local_tail", f, 3).is_err());
    }
}
