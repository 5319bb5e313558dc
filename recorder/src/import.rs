//! The import: the raw material of a recorded run becomes a trace of the model.
//!
//! [`import_raw_dir`] reads a raw directory ([`crate::parse_raw_dir`] turns the server logs,
//! `restatectl.jsonl`, `actions.jsonl` and `sql.jsonl` into typed facts and snapshots) and
//! writes what the model can be held to: a trace in format v1
//! ([`sealcheck_model::trace_format`]) whose events and observations are the model's vocabulary
//! ([`sealcheck_model::observable`]), so that `sealcheck validate` can search for a model behaviour
//! that produces it. This file is where a Restate log line becomes an event: the
//! [`messages`](crate::parse::messages) texts are parsed into [`Fact`]s, and the translator below
//! has one method per kind of record. What it does with every kind is the table in
//! [`scope::scope`]; what it dropped, and why, is in the notes.
//!
//! # Translation rules
//!
//! The rules (one loglet, the window, roles, offsets, the table from raw material to trace
//! items, observations, completeness, the header's config) are written once, for users, in
//! `docs/real-cluster.md`, section "Translation rules". Where they meet this file's code:
//!
//! - **The window** starts at the recorder's start, `meta.started_us` (`t = 0`, microsecond
//!   resolution), and ends at the recorder's final `shutdown` action. A fresh start is never
//!   assumed: when server logs do not begin with their process's start, the trace begins where
//!   every log is whole, with the storage states a snapshot shows there, or the import stops
//!   naming what it lacks ([`inputs`]).
//! - **Other clusters' material.** A directory without `meta.json` holds the nodes' server
//!   logs (any file names, JSON or text format) and any of the record files; its setup is
//!   derived from the logs ([`crate::parse::parse_logs_dir`]). Whatever an input lacks is
//!   derived and noted, or the import stops with [`ImportError::Inconclusive`] naming it.
//! - **Roles.** The sealer is `meta.seal_via` (the node `restatectl -S` talks to), the
//!   sequencer `meta.sequencer` (e.g. `N3:1`); `config.client` is [`CLIENT_ID`], a node id that
//!   is not a log server.
//! - **Completeness.** The header's `complete` is [`COMPLETE_KINDS`], less the kinds logs
//!   without DEBUG lines lack ([`info_only`]).
//! - **Every loglet of a run** ([`loglets`], [`import_raw_dir_loglets`]): each loglet with
//!   its own setup in place of `meta.json`'s, its trace beginning at its creation; seal tasks
//!   of other kinds than the operator's make its import inconclusive, naming the step.
//! - **Offsets of long loglets** ([`offsets`]): in run mode the named offsets are mapped with
//!   order, equality and adjacency kept and larger gaps shrunk to 2. The limit: a divergence
//!   that depends only on how many unlogged records lie between two named tails is not seen.

pub mod info_only;
pub mod inputs;
pub mod loglets;
pub mod offsets;
pub mod run;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use sealcheck_model::config::{
    Faults, Harness, HarnessKind, StorageState, MAX_APPENDS, MAX_LOG_SERVERS, MAX_OTHER_REPAIRS,
    MAX_OTHER_SEALS, MAX_SEAL_ATTEMPTS,
};
use sealcheck_model::observable::{
    Event, MemberStatus, NodeId, NodesetStatus, Observation, RejectReason,
};
use sealcheck_model::offsets::Offset;
use sealcheck_model::trace_format::{self, Header, Item, Roles, FORMAT, MAX_OFFSET, VERSION};
use sealcheck_model::{Cluster, Config};
use serde_json::Value;

use crate::parse::{
    Fact, NodeSealStatus, NodeStatus, RawRun, Source, SqlRow, SqlSnapshot, StorageRun, TimedFact,
};
use crate::raw::{Meta, ACTIONS_FILE, CTL_FILE, META_FILE, SQL_FILE};
use crate::text::{node_replication, RestateNode};

use offsets::OffsetMap;
pub use scope::{scope, DropReason, Dropped, Scope};
use scope::{
    Drops, AUTO_IMPROVEMENT_SEAL, AUTO_RECOVERY_SEAL, FAILOVER_SEAL, FIND_TAIL_REPAIR_SEAL,
    OTHER_NODE_SEAL, OTHER_REQUEST, OTHER_SEAL_MEMBER, SEALED_BEFORE_ANY_TASK, SEAL_ASSIST,
    SEAL_ASSIST_FAILS, SECOND_FIND_TAIL, SECOND_SEAL_ASSIST, SHUTDOWN_SEAL, TAIL_REPAIR,
};

/// The node id an imported trace gives the model's client: not a log server (the model has at
/// most 8), and distinct from every node of the recorded cluster.
pub const CLIENT_ID: u8 = 9;

/// Event kinds a recorded run logs completely within the trace window.
pub const COMPLETE_KINDS: [&str; 16] = [
    "provisioned",
    "seal-started",
    "seal-rejected",
    "seal-completed",
    "seal-failed",
    "storage-state-set",
    "crashed",
    "restarted",
    "seal-assist-started",
    "seal-assist-completed",
    "tail-repair-started",
    "tail-repaired",
    "other-seal-started",
    "other-seal-refused",
    "other-repair-started",
    "other-repair-completed",
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
    /// Every raw record that did not become an item, with its reason (SQL rows are counted in
    /// the notes instead).
    pub drops: Vec<Dropped>,
}

impl ImportedTrace {
    /// Writes the trace (header line, then one line per item, `t` first) as JSON Lines.
    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        trace_format::write_header(out, &self.header)?;
        for it in &self.items {
            trace_format::write_item(out, it.t, &it.item)?;
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

    /// The notes as the text of `import-notes.txt`: one per line.
    pub fn notes_text(&self) -> String {
        let mut notes = self.notes.join("\n");
        notes.push('\n');
        notes
    }

    /// What `sealcheck import` prints on stderr: a count of the items written to `dest`, then
    /// one line per note.
    pub fn report(&self, dest: &str) -> Vec<String> {
        let events = self
            .items
            .iter()
            .filter(|i| matches!(i.item, Item::Event(_)))
            .count();
        let mut out = vec![format!(
            "sealcheck import: {} items ({events} events, {} observations) -> {dest}",
            self.items.len(),
            self.items.len() - events,
        )];
        out.extend(self.notes.iter().map(|n| format!("  note: {n}")));
        out
    }

    /// The index (0-based, after the header) of the first item of a kind naming a node.
    pub fn position(&self, kind: &str, node: Option<u8>) -> Option<usize> {
        self.items.iter().position(|it| {
            it.item.kind() == kind && node.is_none_or(|n| it.item.node() == Some(NodeId(n)))
        })
    }

    /// Dropped records of a kind the model has a step for ([`Scope::Step`]) that are neither
    /// about another loglet, nor after the cut, nor a step of another node the model lacks:
    /// evidence the trace should hold, so gaps of the importer. Empty for every committed
    /// recording.
    pub fn unplaced(&self) -> Vec<&Dropped> {
        self.drops
            .iter()
            .filter(|d| match &d.reason {
                DropReason::Unplaced(_) => true,
                DropReason::OutOfScope(_) => matches!(d.scope, Scope::Step(_)),
                DropReason::OtherLoglet(_)
                | DropReason::AfterCut
                | DropReason::NeedsModelStep(_)
                | DropReason::Coarse(_) => false,
            })
            .collect()
    }
}

/// A raw directory that cannot be turned into a trace.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file of the raw directory is missing or ill-formed (file, line and field named).
    #[error(transparent)]
    Raw(#[from] crate::Error),
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
    /// The raw material lacks an input the verdict depends on ([`inputs`] says which): the
    /// import stops rather than guess.
    #[error("{dir}: inconclusive: needs {}", needs.join("; and "))]
    Inconclusive {
        /// The directory given.
        dir: PathBuf,
        /// What is missing, one sentence each, naming the file or line and why it matters.
        needs: Vec<String>,
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

/// Reads a raw directory and translates it (see the module documentation for the rules).
pub fn import_raw_dir(dir: &Path) -> Result<ImportedTrace, ImportError> {
    let run = parse_dir(dir)?;
    import_run(dir, &run)
}

/// Reads a raw directory and translates every loglet of every log in it, each into its own
/// trace, with the run summary ([`loglets`]).
pub fn import_raw_dir_loglets(dir: &Path) -> Result<run::ImportedRun, ImportError> {
    let run = parse_dir(dir)?;
    Ok(loglets::import_every_loglet(dir, &run, &run_source(&run)))
}

/// How `run.json` names a run imported loglet by loglet.
pub fn run_source(run: &RawRun) -> String {
    format!(
        "Restate {} scenario `{}` recorded {} by sealcheck-recorder; every loglet imported by sealcheck import --run",
        run.meta.restate_version,
        run.meta.scenario,
        crate::time::format_rfc3339(run.meta.started_us)
            .split('.')
            .next()
            .unwrap_or("")
    )
}

/// Parses a raw directory: with `meta.json` the recorder's layout, else a directory of server
/// logs.
fn parse_dir(dir: &Path) -> Result<RawRun, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::NotRawDir {
            dir: dir.to_path_buf(),
            message: "no such directory".into(),
        });
    }
    let run = if dir.join(META_FILE).is_file() {
        crate::parse::parse_raw_dir(dir)?
    } else if crate::parse::server_log::log_files(dir)?.is_empty() {
        return Err(ImportError::NotRawDir {
            dir: dir.to_path_buf(),
            message: format!("{META_FILE} is missing and there is no server log"),
        });
    } else {
        crate::parse::parse_logs_dir(dir)?
    };
    Ok(run)
}

/// Translates a parsed raw directory; `dir` names files in errors.
pub fn import_run(dir: &Path, run: &RawRun) -> Result<ImportedTrace, ImportError> {
    translate(dir, run, Mode::MetaLoglet, Offsets::Identity).map(|(t, _)| t)
}

/// Which loglet a translation is of, which decides a few rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The loglet `meta.json` names, translated as `trace.jsonl` always was.
    MetaLoglet,
    /// One loglet of a run ([`loglets`]): `meta` is the loglet's own setup, the facts are
    /// those of the loglet and the run-wide ones; reconfiguration seals are announced, and
    /// another node's seal task with no announcement needs a model step.
    RunLoglet,
}

/// How the translator turns Restate offsets into model offsets.
#[derive(Clone, Debug, Default)]
enum Offsets {
    /// Restate's value minus 1.
    #[default]
    Identity,
    /// Records every offset named, and writes 0 (a first pass that builds the map).
    Collect(BTreeSet<u64>),
    /// Through the map, then minus 1.
    Map(OffsetMap),
}

/// Translates a parsed raw directory in a mode; also returns the offsets it named.
fn translate(
    dir: &Path,
    run: &RawRun,
    mode: Mode,
    offsets: Offsets,
) -> Result<(ImportedTrace, Offsets), ImportError> {
    let mut gaps = inputs::Gaps::of(run);
    let actions_absent = run.absent.iter().any(|f| f == ACTIONS_FILE);
    let end_us = if actions_absent {
        gaps.end_without_actions(run)
    } else {
        None
    };
    let mid_run = gaps.mid_run(run);
    let info_only = !gaps.info_only.is_empty();
    let gap_notes = gaps.check(dir)?;
    let setup = Setup::read(dir, &run.meta)?;
    let mut t = Translator::new(dir, run, setup);
    t.mode = mode;
    t.offsets = offsets;
    t.notes.extend(gap_notes);
    t.info_only.on = info_only;
    if let Some(m) = mid_run {
        t.start_us = m.start_us;
        t.origin_us = m.start_us;
        t.last_set_us = m.start_us;
        t.started_once = run.meta.nodes.iter().map(|n| n.id).collect();
        t.initial = Some(m.initial);
    }
    if let Some(end_us) = end_us {
        t.end_us = end_us;
    }
    if let Mode::RunLoglet = mode {
        t.info_only_window(run)?;
        t.window_start(run)?;
    }
    t.actions_absent = actions_absent;
    t.ctl_absent = run.absent.iter().any(|f| f == CTL_FILE);
    for (i, f) in run.facts.iter().enumerate() {
        t.fact(i, f)?;
    }
    if actions_absent {
        t.logs_that_stop_early(run);
    }
    t.end_of_facts();
    t.placed.sort_by_key(|p| (p.time_us, p.order));
    t.sql_snapshots(&run.snapshots)?;
    t.check_faults_known()?;
    t.check_mid_run_placed()?;
    t.check_info_only_placed()?;
    let offsets = std::mem::take(&mut t.offsets);
    Ok((t.finish(&run.meta)?, offsets))
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

impl Setup {
    /// Whether sealer and sequencer are different nodes and the sequencer is a log server of
    /// the run: the model's cluster with separate roles.
    fn cluster(&self) -> bool {
        self.sealer != self.sequencer && self.is_server(self.sequencer as u32)
    }
}

fn meta_err(dir: &Path, field: &str, message: impl Into<String>) -> ImportError {
    ImportError::Meta {
        file: dir.join(META_FILE),
        field: field.to_string(),
        message: message.into(),
    }
}

impl Setup {
    fn read(dir: &Path, meta: &Meta) -> Result<Setup, ImportError> {
        let n = meta.nodes.len();
        if n == 0 || n > MAX_LOG_SERVERS as usize {
            return Err(meta_err(
                dir,
                "nodes",
                format!("{n} nodes; the model has 1..={MAX_LOG_SERVERS} log servers"),
            ));
        }
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
        let replication = node_replication(&rep_text).ok_or_else(|| {
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
        let sequencer = RestateNode::parse(&seq_text)
            .map(|n| n.id)
            .filter(|id| (1..=u8::MAX as u32).contains(id))
            .ok_or_else(|| {
                meta_err(
                    dir,
                    "sequencer",
                    format!("`{seq_text}` is not a node id such as `N3:1`"),
                )
            })?;
        Ok(Setup {
            log_servers: n as u8,
            loglet,
            log_id: meta.log_id,
            nodeset,
            replication,
            sealer: sealer as u8,
            sequencer: sequencer as u8,
        })
    }

    fn is_server(&self, id: u32) -> bool {
        id >= 1 && id <= self.log_servers as u32
    }

    fn in_nodeset(&self, id: u32) -> bool {
        self.nodeset.contains(&(id as u8))
    }
}

/// A Restate offset or tail as the model counts it.
fn model_offset(value: u64, what: &str, file: &Path, line: usize) -> Result<Offset, ImportError> {
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
    Ok(v as Offset)
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

/// The scenario's seal task while it runs.
#[derive(Clone, Copy)]
struct Task {
    started_us: i64,
    /// The all-Provisioning warning follows its start: the model's step is `seal-rejected`.
    rejected: bool,
}

/// Why a node's next seal task of the loglet is not the scenario's, as the node's log announced
/// it before the task started. When several are pending, the first in this order names the
/// task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Announced {
    /// A find-tail reader's seal assist (`Detected unsealed nodes`).
    Assist,
    /// The seal a node being stopped runs (`Attempting to seal loglet due to shutdown`).
    Shutdown,
    /// The watchdog's auto-improvement reseal (`[Auto Improvement] Bifrost will reconfigure
    /// the log because`); announced in run mode only.
    AutoImprovement,
    /// An appender's reseal after a failed batch (`Failed to append this batch`); announced
    /// in run mode only.
    Failover,
    /// An appender's auto-recovery seal (span `seal_and_auto_extend_chain`).
    AutoRecovery,
    /// A find-tail reader's seal before a tail repair (`Detected gone (or likely gone)
    /// sequencer and inconsistent tail`).
    FindTailRepair,
}

/// The translator: one method per kind of raw record, each placing events or dropping the
/// record with a reason.
struct Translator<'a> {
    dir: &'a Path,
    s: Setup,
    facts: &'a [TimedFact],
    start_us: i64,
    /// The recorder's `shutdown` action: the trace is cut there.
    end_us: i64,
    placed: Vec<Placed>,
    notes: Vec<String>,
    drops: Drops,
    after_cut: usize,
    // Processes.
    started_once: BTreeSet<u32>,
    down: BTreeSet<u32>,
    paused: BTreeSet<u32>,
    paused_in_seal: BTreeSet<u32>,
    /// Nodes whose fabric port a network fault (`net-fault`: nft partition, loss or reset)
    /// cuts off, until `net-faults-cleared`.
    cut_off: BTreeSet<u32>,
    /// Nodeset members cut off while a seal task ran: like a pause, each may make a seal
    /// request time out.
    cut_off_in_seal: BTreeSet<u32>,
    /// Nodes paused or cut off at any time of the run: a find-tail reader on such a node (on
    /// any node, when it is the sequencer's) may fail to reach the sequencer
    /// (`faults.reader_timeouts`).
    out_of_touch: BTreeSet<u32>,
    /// Without operator records: (observer, peer) pairs where the observer's failure detector
    /// saw the peer leave Alive (to Suspect or Dead), with the first line that showed it: one
    /// of the two was paused, cut off or dead, the same evidence for `faults.reader_timeouts`
    /// as a recorded pause or cut.
    detector_lost: BTreeMap<(u32, u32), String>,
    /// Without operator records: the line of the first find-tail seal assist placed in a
    /// cluster. Restate's reader asks the log servers only when no sequencer answered it (the
    /// sequencer's node is down, or the request failed), and the logs do not say which: the
    /// assist itself is the evidence for `faults.reader_timeouts`.
    assist_unexplained: Option<String>,
    /// Nodes between SIGTERM and exit: whatever they start is a shutdown seal.
    stopping: BTreeSet<u32>,
    marker_written: BTreeMap<u32, i64>,
    // Seal tasks.
    /// A `seal()` from restatectl for the scenario's log entered on the sealer and not yet
    /// matched with its seal task. Shutdown seals and find-tail seal assists never set it;
    /// concurrent shutdown seals may interleave their lines with it.
    restatectl_pending: bool,
    /// Nodes whose next seal task of the loglet their log announced as another node's (a
    /// seal assist, a shutdown seal, an auto-recovery seal).
    announced: BTreeSet<(u32, Announced)>,
    /// Cluster: the node whose find-tail assisted the seal (the model's one reader), and
    /// whether its assisting seal task is still open.
    finder: Option<u32>,
    assist_open: bool,
    /// Cluster: the reader's tail repair started (the model's reader repairs once), and is
    /// still open.
    repair_started: bool,
    repair_open: bool,
    /// Seal tasks of the loglet other nodes run, and what they are (a `NeedsModelStep` reason).
    foreign_tasks: BTreeMap<u32, &'static str>,
    task: Option<Task>,
    swallow_rejection_echo: bool,
    /// Members of the open seal task whose request failure was logged.
    failed_peers: BTreeSet<u32>,
    seal_calls: usize,
    seal_commands: usize,
    completed: bool,
    sequencer_sealed: bool,
    tail_lsn: Option<u64>,
    // Operator.
    crashes: u8,
    operator_moves: u8,
    operator_force: bool,
    last_force: bool,
    last_set_us: i64,
    // Observations.
    max_tail: Option<Offset>,
    straddling: usize,
    // Missing inputs.
    /// No `actions.jsonl`: `--force` and the start of a storage-state change come from
    /// `restatectl.jsonl`, a restart from the node's process start
    /// ([`Translator::restart_from_log`]), the timeout budget from the failed seal requests
    /// ([`Translator::check_faults_known`]).
    actions_absent: bool,
    /// No `restatectl.jsonl`: the operator's storage-state changes cannot be seen, so the
    /// trace lists `storage-state-set` as unknown ([`Header::unknown`]) with a budget of two
    /// changes per log server (away and back), forced or not.
    ctl_absent: bool,
    /// Without operator records a node restarted: its crash is left to the validator
    /// (`crashed` not complete, see [`Translator::restart_from_log`]).
    crash_unlogged: bool,
    storage_runs: &'a [StorageRun],
    /// Logs that start mid-run: each log server's storage state where the trace begins, and
    /// the facts before it, dropped.
    initial: Option<Vec<StorageState>>,
    before_start: usize,
    /// Members any seal task of the scenario failed to reach.
    failed_members: BTreeSet<u32>,
    mode: Mode,
    offsets: Offsets,
    /// The reason of the last seal task of another node (run mode: a sequencer drain after it
    /// is that task's effect).
    last_foreign: Option<&'static str>,
    /// Seal tasks of other nodes placed as `other-seal-started` (the header's
    /// `faults.other_seals`), the nodes whose task is open, and whether one completed.
    other_seals: u8,
    other_open: OpenTasks,
    other_completed: bool,
    /// Nodes whose last seal task was placed as `other-seal-refused`: its all-Provisioning
    /// warning and its `Seal operation failed` echo are part of that item.
    other_refused: BTreeSet<u32>,
    /// Tail repairs of find-tail readers other than the model's one placed as
    /// `other-repair-started` (the header's `faults.other_repairs`), and the nodes whose repair
    /// is open.
    other_repairs: u8,
    other_repair_open: OpenTasks,
    /// Where `t = 0` is: the run's start (also when the trace begins later).
    origin_us: i64,
    /// Logs without DEBUG lines ([`info_only`]).
    info_only: info_only::InfoOnly,
}

impl<'a> Translator<'a> {
    fn new(dir: &'a Path, run: &'a RawRun, s: Setup) -> Translator<'a> {
        let start_us = run.meta.started_us;
        let end_fact = run.facts.iter().find(
            |f| matches!(&f.fact, Fact::OperatorAction { action, .. } if action == "shutdown"),
        );
        let end_us = match end_fact {
            Some(f) => f.time_us,
            None if run.meta.ended_us > start_us => run.meta.ended_us,
            None => i64::MAX,
        };
        Translator {
            dir,
            s,
            facts: &run.facts,
            start_us,
            end_us,
            placed: Vec::new(),
            notes: Vec::new(),
            drops: Drops::default(),
            after_cut: 0,
            started_once: BTreeSet::new(),
            down: BTreeSet::new(),
            paused: BTreeSet::new(),
            paused_in_seal: BTreeSet::new(),
            cut_off: BTreeSet::new(),
            cut_off_in_seal: BTreeSet::new(),
            out_of_touch: BTreeSet::new(),
            detector_lost: BTreeMap::new(),
            assist_unexplained: None,
            stopping: BTreeSet::new(),
            marker_written: BTreeMap::new(),
            restatectl_pending: false,
            announced: BTreeSet::new(),
            finder: None,
            assist_open: false,
            repair_started: false,
            repair_open: false,
            foreign_tasks: BTreeMap::new(),
            task: None,
            swallow_rejection_echo: false,
            failed_peers: BTreeSet::new(),
            seal_calls: 0,
            seal_commands: 0,
            completed: false,
            sequencer_sealed: false,
            tail_lsn: None,
            crashes: 0,
            operator_moves: 0,
            operator_force: false,
            last_force: false,
            last_set_us: start_us,
            max_tail: None,
            straddling: 0,
            actions_absent: false,
            ctl_absent: false,
            crash_unlogged: false,
            storage_runs: &run.storage_runs,
            initial: None,
            before_start: 0,
            failed_members: BTreeSet::new(),
            mode: Mode::MetaLoglet,
            offsets: Offsets::Identity,
            last_foreign: None,
            other_seals: 0,
            other_open: OpenTasks::default(),
            other_completed: false,
            other_refused: BTreeSet::new(),
            other_repairs: 0,
            other_repair_open: OpenTasks::default(),
            origin_us: start_us,
            info_only: info_only::InfoOnly::default(),
        }
    }

    fn ms(&self, us: i64) -> f64 {
        ms(us, self.origin_us)
    }

    /// Run mode: the trace begins at the loglet's creation (its first fact), with each log
    /// server's storage state there and a `crashed` for a node down there; what came before
    /// (other loglets' seals, crashes and restarts) is not this loglet's history.
    fn window_start(&mut self, run: &RawRun) -> Result<(), ImportError> {
        let loglet = self.s.loglet.clone();
        let Some(first) = run
            .facts
            .iter()
            .find(|f| loglets::fact_loglet(&f.fact).as_deref() == Some(loglet.as_str()))
        else {
            return Ok(());
        };
        let start_us = first.time_us.max(self.start_us);
        let mut initial = Vec::new();
        for n in &run.meta.nodes {
            match inputs::state_at(run, n.id, start_us) {
                Some(st) => initial.push(st),
                None => {
                    return Err(ImportError::Inconclusive {
                        dir: self.dir.to_path_buf(),
                        needs: vec![format!(
                            "a `nodes` snapshot of N{} after {loglet} was created ({}:{}) and before its storage state changed: its state where the loglet's trace begins",
                            n.id, first.source.file, first.source.line
                        )],
                    })
                }
            }
        }
        let mut down = BTreeSet::new();
        for f in run.facts.iter().take_while(|f| f.time_us < start_us) {
            if let Fact::OperatorAction { action, nodes, .. } = &f.fact {
                match action.as_str() {
                    "kill-node" | "stop-node" => down.extend(nodes.iter().copied()),
                    "start-node" => nodes.iter().for_each(|n| {
                        down.remove(n);
                    }),
                    _ => {}
                }
            }
        }
        for &n in &down {
            self.crashes = self.crashes.saturating_add(1);
            self.place_at(
                start_us,
                start_us,
                0,
                Item::Event(Event::Crashed {
                    node: NodeId(n as u8),
                }),
                &first.source,
            );
            self.notes.push(format!(
                "N{n} was down when {loglet} was created: crashed where its trace begins"
            ));
        }
        self.notes.push(format!(
            "the trace of {loglet} begins at its creation ({:.1} ms into the run, {}:{}), with storage states {}",
            self.ms(start_us),
            first.source.file,
            first.source.line,
            initial.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        ));
        self.down = down;
        self.start_us = start_us;
        self.last_set_us = start_us;
        self.started_once = run.meta.nodes.iter().map(|n| n.id).collect();
        self.initial = Some(initial);
        Ok(())
    }

    fn loglet(&self) -> &str {
        &self.s.loglet
    }

    /// A Restate offset of the loglet as a model offset, through the offset map if any.
    fn offset(
        &mut self,
        value: u64,
        what: &str,
        file: &Path,
        line: usize,
    ) -> Result<Offset, ImportError> {
        match &mut self.offsets {
            Offsets::Identity => model_offset(value, what, file, line),
            Offsets::Collect(named) => {
                named.insert(value);
                model_offset(value.clamp(0, 1), what, file, line)
            }
            Offsets::Map(map) => model_offset(map.apply(value).min(value), what, file, line),
        }
    }

    fn place(&mut self, f: &TimedFact, order: usize, event: Event) {
        self.place_at(f.time_us, f.time_us, order, Item::Event(event), &f.source);
    }

    fn place_at(&mut self, time_us: i64, since_us: i64, order: usize, item: Item, origin: &Source) {
        self.placed.push(Placed {
            time_us,
            since_us,
            order,
            item,
            origin: origin.clone(),
        });
    }

    /// Drops a seal-task record that names another loglet (or none); true when it did.
    fn dropped_as_other_loglet(&mut self, f: &TimedFact, node: u32, loglet: Option<&str>) -> bool {
        if loglet == Some(self.loglet()) {
            return false;
        }
        let other = loglet.unwrap_or("no loglet named").to_string();
        self.drop_fact(f, Some(node), DropReason::OtherLoglet(other));
        true
    }

    fn drop_fact(&mut self, f: &TimedFact, node: Option<u32>, reason: DropReason) {
        self.drops.record(Dropped {
            kind: scope::record_kind(&f.fact),
            scope: scope(&f.fact),
            source: f.source.clone(),
            node,
            at_ms: self.ms(f.time_us),
            reason,
        });
    }

    /// A record of the scenario's loglet by `node` that is not the scenario's seal task: part
    /// of another node's seal task (named), or unplaced.
    fn foreign_or_unplaced(&mut self, f: &TimedFact, node: u32, what: &str) {
        let reason = match self.foreign_tasks.get(&node) {
            Some(why) => DropReason::NeedsModelStep(why),
            None => DropReason::Unplaced(format!(
                "{what} of {} on N{node} that belongs to no seal task the importer knows",
                self.s.loglet
            )),
        };
        self.drop_fact(f, Some(node), reason);
    }

    /// Drops a record as the table says (its kind is not a step, or it is out of scope).
    fn by_table(&mut self, f: &TimedFact, node: Option<u32>) {
        match scope(&f.fact) {
            Scope::Input(_) => {}
            Scope::OutOfScope(why) => self.drop_fact(f, node, DropReason::OutOfScope(why)),
            Scope::NeedsModelStep(why) => self.drop_fact(f, node, DropReason::NeedsModelStep(why)),
            Scope::Step(step) => self.drop_fact(
                f,
                node,
                DropReason::Unplaced(format!(
                    "no translation for this record (model step {step})"
                )),
            ),
        }
    }

    /// One fact, by source: the recorder's operator actions, restatectl runs, SQL-derived
    /// facts (the snapshots are read in [`Translator::sql_snapshots`]), server log lines.
    fn fact(&mut self, i: usize, f: &TimedFact) -> Result<(), ImportError> {
        if self.initial.is_some() && f.time_us < self.start_us {
            // Operator actions that place nothing still tell the state where the trace begins
            // (a node paused, a change's `--force`).
            if let Fact::OperatorAction { action, .. } = &f.fact {
                if matches!(
                    action.as_str(),
                    "pause-node"
                        | "resume-node"
                        | "net-fault"
                        | "net-faults-cleared"
                        | "set-storage-state"
                        | "seal-log"
                ) {
                    self.operator_action(i, f);
                    return Ok(());
                }
            }
            self.before_start += 1;
            return Ok(());
        }
        if f.time_us >= self.end_us {
            self.after_cut += 1;
            self.drop_fact(f, None, DropReason::AfterCut);
            return Ok(());
        }
        match &f.fact {
            Fact::OperatorAction { .. } => self.operator_action(i, f),
            Fact::SealCommandReturned { .. } | Fact::StorageStateSet { .. } => {
                self.restatectl_run(i, f)?
            }
            Fact::StorageStateObserved { .. }
            | Fact::LogletWorkerObserved { .. }
            | Fact::LogChainObserved { .. } => self.by_table(f, None),
            _ => self.server_log_line(i, f)?,
        }
        Ok(())
    }

    // ---- Server logs ----

    fn server_log_line(&mut self, i: usize, f: &TimedFact) -> Result<(), ImportError> {
        match &f.fact {
            Fact::StorageMarkerWritten { node } => {
                self.marker_written.insert(*node, f.time_us);
            }
            Fact::SelfProvisioned { node } => self.self_provisioned(i, f, *node),
            Fact::SealRequested { .. } => self.seal_requested(f),
            Fact::SealAssist { node, loglet } => {
                if loglet == self.loglet() {
                    self.announced.insert((*node, Announced::Assist));
                } else {
                    self.drop_fact(f, Some(*node), DropReason::OtherLoglet(loglet.clone()));
                }
            }
            Fact::TailRepairStarted { .. } | Fact::TailRepairCompleted { .. } => {
                self.tail_repair(i, f)?
            }
            Fact::SealStarted { node, loglet, .. } => self.seal_started(i, f, *node, loglet),
            Fact::AllProvisioningWarning { node, loglet } => {
                self.all_provisioning(i, f, *node, loglet)
            }
            Fact::SealCompleted { .. } => self.seal_completed(i, f)?,
            Fact::SealReturned { node, loglet } => self.seal_returned(i, f, *node, loglet),
            Fact::SealFailed { .. } => self.seal_failed(i, f),
            Fact::RequestExhausted { .. } => self.request_exhausted(i, f),
            Fact::SequencerDraining { node, loglet, .. } => {
                self.sequencer_draining(i, f, *node, loglet)
            }
            Fact::LogServerSealed { node, loglet } => self.log_server_sealed(i, f, *node, loglet),
            Fact::AutoImprovement {
                node,
                log_id,
                segment,
                ..
            } if self.mode == Mode::RunLoglet && format!("{log_id}_{segment}") == self.loglet() => {
                self.announced.insert((*node, Announced::AutoImprovement));
            }
            Fact::AppendReconfigure {
                node,
                log_id,
                segment,
                ..
            } if self.mode == Mode::RunLoglet && format!("{log_id}_{segment}") == self.loglet() => {
                self.announced.insert((*node, Announced::Failover));
            }
            Fact::ServerStarted { node, .. } if self.actions_absent => {
                self.restart_from_log(i, f, *node)
            }
            Fact::PeerStateChanged {
                node,
                peer,
                from,
                to,
            } if self.actions_absent => {
                if from.starts_with("Alive") && !to.starts_with("Alive") {
                    self.detector_lost
                        .entry((*node, peer.id))
                        .or_insert_with(|| format!("{}:{}", f.source.file, f.source.line));
                }
                self.by_table(f, Some(*node))
            }
            other => self.by_table(f, other.node()),
        }
        Ok(())
    }

    /// `Loglet is now sealed on this log-server node` (Restate 1.5.3 and 1.6.2): an
    /// `observe-log-server` of the member with `sealed: true` and no local tail, at the line's
    /// time. The log server writes the line once its seal is durable (the seal flag never goes
    /// back, a crash included), so the model's member is sealed from then on, provided a `Seal`
    /// can have reached it: the line is dropped, named, when no seal task the trace holds
    /// (`seal-started`, `other-seal-started`, `seal-assist-started`) started before it.
    fn log_server_sealed(&mut self, i: usize, f: &TimedFact, node: u32, loglet: &str) {
        if loglet != self.loglet() {
            return self.drop_fact(f, Some(node), DropReason::OtherLoglet(loglet.to_string()));
        }
        if !self.s.in_nodeset(node) {
            return self.drop_fact(
                f,
                Some(node),
                DropReason::Unplaced(format!(
                    "N{node} sealed {loglet} but is not a member of its nodeset"
                )),
            );
        }
        let sent = self.placed.iter().any(|p| {
            p.time_us <= f.time_us
                && matches!(
                    p.item,
                    Item::Event(
                        Event::SealStarted { .. }
                            | Event::OtherSealStarted { .. }
                            | Event::SealAssistStarted { .. }
                    )
                )
        });
        if !sent {
            return self.drop_fact(
                f,
                Some(node),
                DropReason::NeedsModelStep(SEALED_BEFORE_ANY_TASK),
            );
        }
        let o = Observation::ObserveLogServer {
            node: NodeId(node as u8),
            local_tail: None,
            sealed: Some(true),
        };
        self.place_at(f.time_us, f.time_us, i, Item::Observe(o), &f.source);
    }

    /// `Log-store self-provisioning is complete`: `provisioned`, which may have taken effect
    /// from the storage-marker write on (the metadata compare-and-set lies in between).
    fn self_provisioned(&mut self, i: usize, f: &TimedFact, node: u32) {
        if !self.s.is_server(node) {
            return self.drop_fact(
                f,
                Some(node),
                DropReason::Unplaced(format!("N{node} is not a log server of the run")),
            );
        }
        let since = self
            .marker_written
            .remove(&node)
            .map_or(f.time_us, |m| m.min(f.time_us));
        self.place_at(
            f.time_us,
            since,
            i,
            Item::Event(Event::Provisioned {
                node: NodeId(node as u8),
            }),
            &f.source,
        );
    }

    /// A find-tail's tail repair (`Tail records are under-replicated` / `Repair task
    /// completed`): in a cluster, the model's reader's `tail-repair-started` (from and to in
    /// model offsets) and `tail-repaired`; the reader is the first node that assists or
    /// repairs. Every other repair (another node's reader, or a second reader of the same
    /// node, also at the same moment) is `other-repair-started` and `other-repair-completed`.
    fn tail_repair(&mut self, i: usize, f: &TimedFact) -> Result<(), ImportError> {
        let (node, loglet) = match &f.fact {
            Fact::TailRepairStarted { node, loglet, .. }
            | Fact::TailRepairCompleted { node, loglet } => (*node, loglet.clone()),
            _ => return Ok(()),
        };
        if loglet != self.loglet() {
            self.drop_fact(f, Some(node), DropReason::OtherLoglet(loglet));
            return Ok(());
        }
        if !self.s.cluster() {
            self.drop_fact(f, Some(node), DropReason::NeedsModelStep(TAIL_REPAIR));
            return Ok(());
        }
        let reader = self.finder.is_none_or(|r| r == node);
        match &f.fact {
            Fact::TailRepairStarted {
                start_offset,
                target_tail,
                ..
            } => {
                let file = self.dir.join(&f.source.file);
                let from = start_offset
                    .map(|o| self.offset(o, "start_offset", &file, f.source.line))
                    .transpose()?;
                let to = target_tail
                    .map(|o| self.offset(o, "target_tail", &file, f.source.line))
                    .transpose()?;
                // The records up to the repair's target exist: the model makes that many
                // appends at least.
                self.max_tail = self.max_tail.max(to);
                let id = NodeId(node as u8);
                if reader && !self.repair_started {
                    self.finder = Some(node);
                    self.repair_started = true;
                    self.repair_open = true;
                    self.place(f, i, Event::TailRepairStarted { node: id, from, to });
                } else if self.other_repairs < MAX_OTHER_REPAIRS {
                    self.other_repairs += 1;
                    self.other_repair_open.open(node);
                    self.note_other_task(
                        f,
                        node,
                        "another find-tail reader's tail repair",
                        ": other-repair-started, counted in faults.other_repairs",
                    );
                    self.place(f, i, Event::OtherRepairStarted { node: id, from, to });
                } else {
                    self.drop_fact(f, Some(node), DropReason::NeedsModelStep(SECOND_FIND_TAIL));
                }
            }
            Fact::TailRepairCompleted { .. } if reader && self.repair_open => {
                self.repair_open = false;
                self.place(
                    f,
                    i,
                    Event::TailRepaired {
                        node: NodeId(node as u8),
                        tail: None,
                    },
                );
            }
            Fact::TailRepairCompleted { .. } if self.other_repair_open.close(node) => {
                self.place(
                    f,
                    i,
                    Event::OtherRepairCompleted {
                        node: NodeId(node as u8),
                    },
                );
            }
            _ => self.drop_fact(f, Some(node), DropReason::NeedsModelStep(SECOND_FIND_TAIL)),
        }
        Ok(())
    }

    /// `Attempting to seal loglet`: tells which seal task comes next on the node.
    fn seal_requested(&mut self, f: &TimedFact) {
        let Fact::SealRequested {
            node,
            log_id,
            loglet,
            reason,
        } = &f.fact
        else {
            return;
        };
        if *node == self.s.sealer as u32 && reason == "restatectl" && *log_id == Some(self.s.log_id)
        {
            self.restatectl_pending = true;
        } else if reason == "shutdown" && loglet.as_deref() == Some(self.loglet()) {
            self.announced.insert((*node, Announced::Shutdown));
        } else if reason == "auto-recovery" && *log_id == Some(self.s.log_id) {
            self.announced.insert((*node, Announced::AutoRecovery));
        } else if reason == "find-tail-repair" && loglet.as_deref() == Some(self.loglet()) {
            self.announced.insert((*node, Announced::FindTailRepair));
        }
    }

    /// Takes every announcement pending for `node`; the first in [`Announced`]'s order names
    /// the node's next seal task.
    fn take_announced(&mut self, node: u32) -> Option<Announced> {
        let mine: Vec<(u32, Announced)> = self
            .announced
            .range((node, Announced::Assist)..=(node, Announced::FindTailRepair))
            .copied()
            .collect();
        for a in &mine {
            self.announced.remove(a);
        }
        mine.first().map(|&(_, a)| a)
    }

    /// `Starting a seal task for loglet`: the scenario's seal task when the sealer runs it for
    /// restatectl; `seal-rejected` instead when the all-Provisioning warning follows.
    fn seal_started(&mut self, i: usize, f: &TimedFact, node: u32, loglet: &str) {
        if loglet != self.loglet() {
            return self.drop_fact(f, Some(node), DropReason::OtherLoglet(loglet.to_string()));
        }
        let sealer = self.s.sealer as u32;
        let stopping = self.stopping.contains(&node);
        let ours = node == sealer && self.restatectl_pending && !stopping;
        if node == sealer && !stopping {
            self.restatectl_pending = false;
        }
        if !ours {
            let announced = self.take_announced(node);
            let assist = announced == Some(Announced::Assist);
            let shutdown = announced == Some(Announced::Shutdown) || stopping;
            let auto_recovery = announced == Some(Announced::AutoRecovery);
            let auto_improvement = announced == Some(Announced::AutoImprovement);
            let failover = announced == Some(Announced::Failover);
            let repair = announced == Some(Announced::FindTailRepair);
            if assist && self.s.cluster() && self.finder.is_none() {
                // The model's find-tail reader: its assisting seal task starts.
                self.finder = Some(node);
                self.assist_open = true;
                if self.actions_absent && self.assist_unexplained.is_none() {
                    self.assist_unexplained = Some(format!("{}:{}", f.source.file, f.source.line));
                }
                self.foreign_tasks.insert(node, SEAL_ASSIST_FAILS);
                return self.place(
                    f,
                    i,
                    Event::SealAssistStarted {
                        node: NodeId(node as u8),
                    },
                );
            }
            let reason = if assist && self.s.cluster() {
                DropReason::NeedsModelStep(SECOND_SEAL_ASSIST)
            } else if assist {
                DropReason::NeedsModelStep(SEAL_ASSIST)
            } else if shutdown {
                DropReason::NeedsModelStep(SHUTDOWN_SEAL)
            } else if auto_improvement {
                DropReason::NeedsModelStep(AUTO_IMPROVEMENT_SEAL)
            } else if failover {
                DropReason::NeedsModelStep(FAILOVER_SEAL)
            } else if auto_recovery {
                DropReason::NeedsModelStep(AUTO_RECOVERY_SEAL)
            } else if repair {
                DropReason::NeedsModelStep(FIND_TAIL_REPAIR_SEAL)
            } else if self.mode == Mode::RunLoglet {
                DropReason::NeedsModelStep(OTHER_NODE_SEAL)
            } else {
                DropReason::Unplaced(format!(
                    "a seal task of {loglet} on N{node} that neither restatectl, a shutdown, an auto-recovery nor a find-tail started"
                ))
            };
            if let DropReason::NeedsModelStep(why) = reason {
                self.foreign_tasks.insert(node, why);
                self.last_foreign = Some(why);
                self.other_refused.remove(&node);
                if let Some(refused) = self.other_seal_placeable(i, node) {
                    return self.other_seal_begins(i, f, node, why, refused);
                }
            }
            return self.drop_fact(f, Some(node), reason);
        }
        if self.task.is_some() {
            self.notes.push(format!(
                "a seal task started at {:.1} ms while the previous one had not ended",
                self.ms(f.time_us)
            ));
        }
        let rejected = self.refused_ahead(i, sealer);
        self.seal_calls += 1;
        self.members_silent_in_seal();
        let sealer = NodeId(self.s.sealer);
        let e = if rejected {
            Event::SealRejected {
                node: sealer,
                reason: Some(RejectReason::AllProvisioning),
            }
        } else {
            Event::SealStarted { node: sealer }
        };
        self.task = Some(Task {
            started_us: f.time_us,
            rejected,
        });
        self.failed_peers.clear();
        self.place(f, i, e);
    }

    /// Whether another node's seal task that starts at fact `i` is a model step: every kind
    /// is (an assist, a shutdown, an auto-recovery, ...), within the model's bound on such
    /// tasks. `Some(true)` when the all-Provisioning guard refuses it (its warning follows:
    /// `other-seal-refused`), `Some(false)` when it starts (`other-seal-started`).
    fn other_seal_placeable(&self, i: usize, node: u32) -> Option<bool> {
        if usize::from(self.other_seals) >= usize::from(MAX_OTHER_SEALS) {
            return None;
        }
        Some(self.refused_ahead(i, node))
    }

    /// Notes a task of another node placed at `f`: `N<node> runs <kind> of <loglet> at <t>
    /// (<file>:<line>)<outcome>`.
    fn note_other_task(&mut self, f: &TimedFact, node: u32, kind: &str, outcome: &str) {
        self.notes.push(format!(
            "N{node} runs {kind} of {} at {:.1} ms ({}:{}){outcome}",
            self.s.loglet,
            self.ms(f.time_us),
            f.source.file,
            f.source.line
        ));
    }

    /// Whether the seal task `node` starts at fact `i` is refused: the all-Provisioning warning
    /// of the loglet follows on that node before its next task of the loglet starts or
    /// completes (and before the cut). Tasks of other loglets in between do not end the search:
    /// a node being stopped starts a shutdown seal of every loglet at once, each warning after
    /// all the starts.
    fn refused_ahead(&self, i: usize, node: u32) -> bool {
        let loglet = self.loglet();
        self.before_next_task(i, node).any(|g| matches!(&g.fact, Fact::AllProvisioningWarning { node: n, loglet: l } if *n == node && l == loglet))
    }

    /// The facts after fact `i` up to `node`'s next seal task of the loglet (its start or its
    /// completion line) or the cut, whichever comes first.
    fn before_next_task(&self, i: usize, node: u32) -> impl Iterator<Item = &TimedFact> + '_ {
        let loglet = self.loglet();
        let end_us = self.end_us;
        self.facts[i + 1..]
            .iter()
            .take_while(move |g| g.time_us < end_us)
            .take_while(move |g| !matches!(&g.fact, Fact::SealStarted { node: n, loglet: l, .. } | Fact::SealCompleted { node: n, loglet: l, .. } if *n == node && l == loglet))
    }

    /// Another node's seal task begins: `other-seal-started`, or `other-seal-refused` when the
    /// all-Provisioning guard refuses it (its warning and failure echo are then part of that
    /// item). Its kind goes into the notes.
    fn other_seal_begins(
        &mut self,
        i: usize,
        f: &TimedFact,
        node: u32,
        why: &'static str,
        refused: bool,
    ) {
        self.other_seals += 1;
        let id = NodeId(node as u8);
        let (event, outcome) = if refused {
            self.other_refused.insert(node);
            self.foreign_tasks.remove(&node);
            (
                Event::OtherSealRefused { node: id },
                ", refused as every member looks Provisioning: other-seal-refused",
            )
        } else {
            self.other_open.open(node);
            (Event::OtherSealStarted { node: id }, ": other-seal-started")
        };
        let kind = why.split(':').next().unwrap_or(why);
        let outcome = format!("{outcome}, counted in faults.other_seals");
        self.note_other_task(f, node, kind, &outcome);
        // A refusal proves every member Provisioning: one during a `restatectl nodes
        // set-storage-state` run (whose changes are placed when it returned) saw that run's
        // changes, so it goes right after them.
        let during = self
            .storage_runs
            .iter()
            .find(|r| r.time_us <= f.time_us && f.time_us < r.end_time_us)
            .map(|r| r.end_time_us);
        match during {
            Some(end_us) if refused => {
                self.notes.push(format!(
                    "N{node}'s refusal at {:.1} ms fell during the storage-state change that returned at {:.1} ms: placed right after that change",
                    self.ms(f.time_us),
                    self.ms(end_us)
                ));
                self.place_at(end_us + 1, f.time_us, i, Item::Event(event), &f.source);
            }
            _ => self.place(f, i, event),
        }
    }

    /// The all-Provisioning warning: part of the `seal-rejected` placed at the task's start.
    fn all_provisioning(&mut self, i: usize, f: &TimedFact, node: u32, loglet: &str) {
        if loglet != self.loglet() {
            return self.drop_fact(f, Some(node), DropReason::OtherLoglet(loglet.to_string()));
        }
        if self.unlogged_task_start(i, f, node, true) {
            let reason = Some(RejectReason::AllProvisioning);
            let sealer = NodeId(self.s.sealer);
            self.place(
                f,
                i,
                Event::SealRejected {
                    node: sealer,
                    reason,
                },
            );
        }
        if self.other_refused.contains(&node) {
            // Part of the `other-seal-refused` placed at the task's start.
        } else if node == self.s.sealer as u32 && matches!(self.task, Some(t) if t.rejected) {
            self.task = None;
            self.swallow_rejection_echo = true;
        } else {
            self.foreign_or_unplaced(f, node, "an all-Provisioning warning");
            // An auto-recovery seal goes through the admin API, whose `Seal operation failed`
            // follows the warning and ends the task.
            if self.foreign_tasks.get(&node) != Some(&AUTO_RECOVERY_SEAL) {
                self.foreign_tasks.remove(&node);
            }
        }
    }

    /// `Seal task completed on f-majority`: `seal-completed` with the max local tail, after a
    /// `seal-request-failed` for every member only the final status shows failed.
    fn seal_completed(&mut self, i: usize, f: &TimedFact) -> Result<(), ImportError> {
        let Fact::SealCompleted {
            node,
            loglet,
            max_local_tail,
            nodeset_status,
            ..
        } = &f.fact
        else {
            return Ok(());
        };
        if loglet != self.loglet() {
            self.drop_fact(f, Some(*node), DropReason::OtherLoglet(loglet.clone()));
            return Ok(());
        }
        // Whichever task it is, a member held records up to the max local tail: the model
        // makes that many appends at least.
        let file = self.dir.join(&f.source.file);
        let m = max_local_tail
            .map(|t| self.offset(t, "max_local_tail", &file, f.source.line))
            .transpose()?;
        self.max_tail = self.max_tail.max(m);
        if self.assist_open && self.finder == Some(*node) {
            self.assist_open = false;
            self.foreign_tasks.remove(node);
            self.place(
                f,
                i,
                Event::SealAssistCompleted {
                    node: NodeId(*node as u8),
                },
            );
            return Ok(());
        }
        self.unlogged_task_start(i, f, *node, false);
        if self.other_open.close(*node) {
            // Another node's seal task completes: the members it names sealed must be sealed.
            self.foreign_tasks.remove(node);
            self.other_completed = true;
            let status = self.nodeset_status(nodeset_status);
            self.place(
                f,
                i,
                Event::OtherSealCompleted {
                    node: NodeId(*node as u8),
                    status,
                },
            );
            return Ok(());
        }
        if *node != self.s.sealer as u32 || !matches!(self.task, Some(t) if !t.rejected) {
            self.foreign_or_unplaced(f, *node, "a seal completion");
            self.foreign_tasks.remove(node);
            return Ok(());
        }
        self.task = None;
        self.completed = true;
        self.unlogged_failures(i, f, nodeset_status);
        self.place(
            f,
            i,
            Event::SealCompleted {
                node: NodeId(self.s.sealer),
                max_local_tail: m,
                status: self.nodeset_status(nodeset_status),
            },
        );
        Ok(())
    }

    /// `seal() has completed successfully` on the sealer while the scenario's seal task has no
    /// outcome: Restate's `seal()` returns Ok only after its seal task returned Ok, and the task
    /// prints `Seal task completed on f-majority` just before, so that line is missing from the
    /// log (seen on 1.7.12: a campaign's cluster-roles run,
    /// `reproduced/cluster-roles-lost-completion`).
    /// `seal-completed` is placed at the return, with no max local tail and no member status
    /// (the lost line held them). Any other return is what the table says (out of scope).
    fn seal_returned(&mut self, i: usize, f: &TimedFact, node: u32, loglet: &str) {
        if loglet != self.loglet() || !self.task_without_outcome(node) {
            return self.by_table(f, Some(node));
        }
        self.completed_without_line(i, f, &format!("N{node}'s seal() returned Ok"));
    }

    /// Whether `node` is the sealer and the scenario's seal task started, was not refused and
    /// has no outcome yet.
    fn task_without_outcome(&self, node: u32) -> bool {
        node == self.s.sealer as u32
            && matches!(self.task, Some(t) if !t.rejected)
            && !self.completed
    }

    /// Whether the sealer's `seal()` of the loglet returns Ok after fact `i`: its `seal() has
    /// completed successfully` line follows before its next seal task of the loglet starts or
    /// completes (and before the cut).
    fn returns_ahead(&self, i: usize, node: u32) -> bool {
        let loglet = self.loglet();
        self.before_next_task(i, node).any(|g| matches!(&g.fact, Fact::SealReturned { node: n, loglet: l } if *n == node && l == loglet))
    }

    /// Places the scenario's `seal-completed` at `f` for a task whose `Seal task completed on
    /// f-majority` line is missing (`what` says what showed the completion), and notes it.
    fn completed_without_line(&mut self, i: usize, f: &TimedFact, what: &str) {
        self.task = None;
        self.completed = true;
        self.notes.push(format!(
            "{what} at {:.1} ms ({}:{}) with no `Seal task completed on f-majority` line before it: seal-completed placed there, without max local tail or member status (the seal task prints it just before it returns Ok, and seal() returns Ok only after that; this log lacks it)",
            self.ms(f.time_us),
            f.source.file,
            f.source.line
        ));
        self.place(
            f,
            i,
            Event::SealCompleted {
                node: NodeId(self.s.sealer),
                max_local_tail: None,
                status: None,
            },
        );
    }

    /// `Seal operation failed`: `seal-failed` for the scenario's task; with an empty status
    /// right after a rejection it is the rejection's echo and already translated.
    fn seal_failed(&mut self, i: usize, f: &TimedFact) {
        let Fact::SealFailed {
            node,
            loglet,
            nodeset_status,
            ..
        } = &f.fact
        else {
            return;
        };
        if self.dropped_as_other_loglet(f, *node, loglet.as_deref()) {
            return;
        }
        if !(self.swallow_rejection_echo && nodeset_status.is_empty()) {
            self.unlogged_task_start(i, f, *node, false);
        }
        if nodeset_status.is_empty() && self.other_refused.remove(node) {
            // The echo of a refused task of another node: part of its `other-seal-refused`.
        } else if self.other_open.close(*node) {
            // Another node's task fails: the members it names sealed must be sealed.
            self.foreign_tasks.remove(node);
            let status = self.nodeset_status(nodeset_status);
            self.place(
                f,
                i,
                Event::OtherSealFailed {
                    node: NodeId(*node as u8),
                    status,
                },
            );
        } else if *node != self.s.sealer as u32 {
            self.foreign_or_unplaced(f, *node, "a seal failure");
            self.foreign_tasks.remove(node);
        } else if self.swallow_rejection_echo && nodeset_status.is_empty() {
            self.swallow_rejection_echo = false;
        } else if matches!(self.task, Some(t) if !t.rejected) {
            self.task = None;
            self.unlogged_failures(i, f, nodeset_status);
            self.place(
                f,
                i,
                Event::SealFailed {
                    node: NodeId(self.s.sealer),
                    status: self.nodeset_status(nodeset_status),
                },
            );
        } else {
            self.drop_fact(
                f,
                Some(*node),
                DropReason::Unplaced("a seal failure that matches no open seal task".into()),
            );
        }
    }

    /// `Request failed. Exhausted attempts` of a Seal to a member: `seal-request-failed`.
    fn request_exhausted(&mut self, i: usize, f: &TimedFact) {
        let Fact::RequestExhausted {
            node,
            peer,
            message,
            loglet,
            ..
        } = &f.fact
        else {
            return;
        };
        if self.dropped_as_other_loglet(f, *node, loglet.as_deref()) {
            return;
        }
        let ours = *node == self.s.sealer as u32
            && message.as_deref() == Some("Seal")
            && matches!(self.task, Some(t) if !t.rejected);
        match peer {
            Some(p) if ours && self.s.in_nodeset(*p) => {
                self.failed_peers.insert(*p);
                self.failed_members.insert(*p);
                self.place(
                    f,
                    i,
                    Event::SealRequestFailed {
                        node: NodeId(self.s.sealer),
                        peer: NodeId(*p as u8),
                    },
                );
            }
            _ if self.mode == Mode::RunLoglet && message.as_deref() != Some("Seal") => {
                self.drop_fact(f, Some(*node), DropReason::OutOfScope(OTHER_REQUEST))
            }
            _ if message.as_deref() == Some("Seal") && self.other_open.any(*node) => {
                self.drop_fact(f, Some(*node), DropReason::Coarse(OTHER_SEAL_MEMBER))
            }
            _ => self.foreign_or_unplaced(f, *node, "an exhausted request"),
        }
    }

    /// Members a seal task marked `E` (all attempts failed, or the member answered with an
    /// error) whose failure left no `Exhausted attempts` line (that line is only printed when
    /// the last attempt was a network error): `seal-request-failed` just before the outcome
    /// (their failure is certain, its time is not).
    fn unlogged_failures(&mut self, order: usize, f: &TimedFact, status: &[NodeStatus]) {
        let peers: Vec<u32> = status
            .iter()
            .filter(|st| st.status == NodeSealStatus::Error)
            .map(|st| st.node)
            .filter(|n| !self.failed_peers.contains(n) && self.s.in_nodeset(*n))
            .collect();
        for p in peers {
            self.failed_members.insert(p);
            self.place(
                f,
                order,
                Event::SealRequestFailed {
                    node: NodeId(self.s.sealer),
                    peer: NodeId(p as u8),
                },
            );
            self.notes.push(format!(
                "the seal task's status shows N{p}(E) but no `Exhausted attempts` line: seal-request-failed N{p} placed at its outcome ({:.1} ms)",
                self.ms(f.time_us)
            ));
        }
    }

    /// A seal outcome's printed nodeset status as the trace's `status` (members of the nodeset
    /// only); `None` when the log line printed none.
    fn nodeset_status(&self, status: &[NodeStatus]) -> Option<NodesetStatus> {
        let letter = |st: NodeSealStatus| match st {
            NodeSealStatus::Sealed => MemberStatus::Sealed,
            NodeSealStatus::Error => MemberStatus::Error,
            NodeSealStatus::Unknown => MemberStatus::Unknown,
        };
        let map: NodesetStatus = status
            .iter()
            .filter(|st| self.s.in_nodeset(st.node))
            .map(|st| (NodeId(st.node as u8), letter(st.status)))
            .collect();
        (!map.is_empty()).then_some(map)
    }

    /// `Draining sequencer`: `sequencer-sealed` once the scenario's seal completed.
    fn sequencer_draining(&mut self, i: usize, f: &TimedFact, node: u32, loglet: &str) {
        if loglet != self.loglet() {
            return self.drop_fact(f, Some(node), DropReason::OtherLoglet(loglet.to_string()));
        }
        if node == self.s.sequencer as u32
            && !self.sequencer_sealed
            && self.task_without_outcome(node)
            && self.returns_ahead(i, node)
        {
            // The sealer is the sequencer: seal() drains it after its task returned Ok, then
            // returns; the task's completion line is missing.
            self.completed_without_line(
                i,
                f,
                &format!("N{node} drained its sequencer inside a seal() that returned Ok"),
            );
        }
        if node == self.s.sequencer as u32
            && (self.completed || self.other_completed)
            && !self.sequencer_sealed
        {
            self.sequencer_sealed = true;
            self.place(
                f,
                i,
                Event::SequencerSealed {
                    node: NodeId(self.s.sequencer),
                    tail: None,
                },
            );
        } else if let (Mode::RunLoglet, Some(why)) = (self.mode, self.last_foreign) {
            // The sequencer drains for another node's seal task of the loglet.
            self.drop_fact(f, Some(node), DropReason::NeedsModelStep(why));
        } else {
            self.foreign_or_unplaced(f, node, "a sequencer drain");
        }
    }

    /// A seal task starts: the nodeset members paused or cut off by a network fault now may
    /// each make a seal request time out (`faults.timeouts`).
    fn members_silent_in_seal(&mut self) {
        for &p in &self.paused {
            if self.s.in_nodeset(p) {
                self.paused_in_seal.insert(p);
            }
        }
        for &p in &self.cut_off {
            if self.s.in_nodeset(p) {
                self.cut_off_in_seal.insert(p);
            }
        }
    }

    // ---- The recorder's operator actions ----

    fn operator_action(&mut self, i: usize, f: &TimedFact) {
        let Fact::OperatorAction {
            action,
            nodes,
            detail,
        } = &f.fact
        else {
            return;
        };
        match action.as_str() {
            "start-node" => self.start_nodes(i, f, nodes),
            "node-exited" => {
                for n in nodes {
                    self.stopping.remove(n);
                }
            }
            "kill-node" | "stop-node" => self.crash_nodes(i, f, action, nodes),
            "pause-node" => {
                for &n in nodes {
                    self.paused.insert(n);
                    self.out_of_touch.insert(n);
                    if self.task.is_some() && self.s.in_nodeset(n) {
                        self.paused_in_seal.insert(n);
                    }
                }
            }
            "resume-node" => {
                for n in nodes {
                    self.paused.remove(n);
                }
            }
            "net-fault" => {
                for &n in nodes {
                    self.cut_off.insert(n);
                    self.out_of_touch.insert(n);
                    if self.task.is_some() && self.s.in_nodeset(n) {
                        self.cut_off_in_seal.insert(n);
                    }
                }
            }
            "net-faults-cleared" => {
                for n in nodes {
                    self.cut_off.remove(n);
                }
            }
            "set-storage-state" => {
                self.last_force = detail
                    .get("force")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                self.last_set_us = f.time_us;
            }
            "seal-log" => self.seal_commands += 1,
            _ => self.by_table(f, None),
        }
    }

    /// `start-node`: the first start of a node is the cluster's start; a later one of a node
    /// that crashed is `restarted`.
    fn start_nodes(&mut self, i: usize, f: &TimedFact, nodes: &[u32]) {
        for &n in nodes {
            if self.started_once.insert(n) {
                continue;
            }
            if self.down.remove(&n) {
                self.place(
                    f,
                    i,
                    Event::Restarted {
                        node: NodeId(n as u8),
                    },
                );
            } else {
                self.drop_fact(
                    f,
                    Some(n),
                    DropReason::Unplaced(format!("N{n} was started again without having stopped")),
                );
            }
        }
    }

    /// `kill-node` (SIGKILL) and `stop-node` (SIGTERM): `crashed`; a stop is placed when the
    /// process exited and may have taken effect from the signal on.
    fn crash_nodes(&mut self, i: usize, f: &TimedFact, action: &str, nodes: &[u32]) {
        let stop = action == "stop-node";
        for &n in nodes {
            if stop {
                self.stopping.insert(n);
            }
            if n == self.s.sealer as u32 {
                self.restatectl_pending = false;
            }
            if !self.s.is_server(n) {
                self.drop_fact(
                    f,
                    Some(n),
                    DropReason::Unplaced(format!("N{n} is not a log server of the run")),
                );
                continue;
            }
            let end_us = self.end_us;
            let at = if stop {
                self.facts[i + 1..]
                    .iter()
                    .take_while(|g| g.time_us < end_us)
                    .find(|g| matches!(&g.fact, Fact::OperatorAction { action, nodes: ns, .. } if action == "node-exited" && ns.contains(&n)))
                    .map_or(f.time_us, |g| g.time_us)
            } else {
                f.time_us
            };
            self.down.insert(n);
            self.paused.remove(&n);
            self.crashes = self.crashes.saturating_add(1);
            self.place_at(
                at,
                f.time_us,
                i,
                Item::Event(Event::Crashed {
                    node: NodeId(n as u8),
                }),
                &f.source,
            );
            if n == self.s.sequencer as u32 && self.s.cluster() {
                self.notes.push(format!(
                    "the sequencer N{n} was {} at {:.1} ms: in the cluster model the sequencer dies with its node (a restarted node is not the loglet's sequencer)",
                    if stop { "stopped" } else { "killed" },
                    self.ms(at)
                ));
            } else if n == self.s.sequencer as u32 {
                self.notes.push(format!(
                    "the sequencer N{n} was {} at {:.1} ms: the model's client does not crash, so whatever the real sequencer no longer did is left to unlogged steps",
                    if stop { "stopped" } else { "killed" },
                    self.ms(at)
                ));
            }
        }
    }

    /// Without operator records, a log server whose log stops well before the end of a run that
    /// ended (by more than [`inputs::ONE_SHUTDOWN_US`]) with no shutdown line after its last
    /// process start went down without a word: a SIGKILL leaves no line. It is taken as stopped: one
    /// more crash in the budget, placed by the validator (`crashed` is not logged completely),
    /// and the notes say so. Only the operator records (or the rest of the log, had it been
    /// cut while the node ran) would tell otherwise.
    fn logs_that_stop_early(&mut self, run: &RawRun) {
        // Only a run that ended (the others' shutdown lines) tells a node that went down from
        // one that is merely quiet (logs read while the cluster runs, `sealcheck follow`).
        if self.end_us == i64::MAX {
            return;
        }
        let end = run
            .logs
            .iter()
            .filter_map(|l| l.last_us)
            .max()
            .map_or(self.end_us, |last| last.min(self.end_us));
        for log in &run.logs {
            let Some(last) = log.last_us else { continue };
            let last_start = log.process_starts.last().copied().unwrap_or(i64::MIN);
            let told_to_stop = log.shutdown_signals.iter().any(|&t| t > last_start);
            if told_to_stop
                || !self.s.is_server(log.node)
                || last.saturating_add(inputs::ONE_SHUTDOWN_US) >= end
            {
                continue;
            }
            self.crashes = self.crashes.saturating_add(1);
            self.crash_unlogged = true;
            self.notes.push(format!(
                "N{}'s log ({}) stops at {:.1} ms, {:.1} s before the run's end, without a shutdown line: N{} is taken as stopped there (a SIGKILL leaves no line), one more crash in faults.crashes, placed by the validator (`crashed` is not logged completely); no {ACTIONS_FILE} says otherwise, and a log cut while its node ran would need the rest of it",
                log.node,
                log.file,
                self.ms(last),
                (end - last) as f64 / 1e6,
                log.node
            ));
        }
    }

    /// Without operator records, a node's process start after its first is a restart:
    /// `restarted` where its log says so, and one more crash in the budget. When it went down
    /// no line tells (a SIGKILL leaves none, a stop's exit is not logged either), so
    /// `crashed` leaves the header's `complete` list and the validator places each crash
    /// where the logs allow; the budget is exactly the restarts, each needing its own node's
    /// crash first, so no crash of another node can be assumed.
    fn restart_from_log(&mut self, i: usize, f: &TimedFact, n: u32) {
        if self.started_once.insert(n) {
            self.by_table(f, Some(n));
            return;
        }
        if !self.s.is_server(n) {
            self.drop_fact(
                f,
                Some(n),
                DropReason::Unplaced(format!("N{n} is not a log server of the run")),
            );
            return;
        }
        self.crashes = self.crashes.saturating_add(1);
        self.crash_unlogged = true;
        self.place(
            f,
            i,
            Event::Restarted {
                node: NodeId(n as u8),
            },
        );
        self.notes.push(format!(
            "N{n} restarted at {:.1} ms ({}:{}, a process start after its first); no {ACTIONS_FILE} says when it went down (a SIGKILL leaves no line), so `crashed` is not logged completely and the validator places the crash, with a budget of one per restart",
            self.ms(f.time_us),
            f.source.file,
            f.source.line
        ));
    }

    // ---- restatectl runs ----

    fn restatectl_run(&mut self, i: usize, f: &TimedFact) -> Result<(), ImportError> {
        self.seal_command_started(f);
        match &f.fact {
            Fact::SealCommandReturned {
                log_id,
                tail_lsn: Some(t),
                ..
            } if *log_id == Some(self.s.log_id) => {
                self.tail_lsn = Some(*t);
                if self.actions_absent {
                    self.seal_commands += 1;
                }
            }
            Fact::SealCommandReturned { log_id, .. }
                if self.actions_absent && *log_id == Some(self.s.log_id) =>
            {
                self.seal_commands += 1
            }
            Fact::StorageStateSet { node, to, .. } => self.storage_state_set(i, f, *node, to)?,
            _ => {}
        }
        Ok(())
    }

    /// `N<k> storage-state has been updated from A to B`: `storage-state-set`, which landed
    /// somewhere during the restatectl run.
    fn storage_state_set(
        &mut self,
        i: usize,
        f: &TimedFact,
        node: u32,
        to: &str,
    ) -> Result<(), ImportError> {
        if !self.s.is_server(node) {
            self.drop_fact(
                f,
                Some(node),
                DropReason::Unplaced(format!("N{node} is not a log server of the run")),
            );
            return Ok(());
        }
        let state = StorageState::parse(to).ok_or_else(|| ImportError::Record {
            file: self.dir.join(&f.source.file),
            line: f.source.line,
            message: format!("storage state `{to}` has no counterpart in the model (known: provisioning, read-write, read-only, data-loss, disabled)"),
        })?;
        if self.actions_absent {
            if let Some(r) = self
                .storage_runs
                .iter()
                .find(|r| r.end_time_us == f.time_us)
            {
                self.last_force = r.forced;
                self.last_set_us = r.time_us;
            }
        }
        self.operator_moves = self.operator_moves.saturating_add(1);
        self.operator_force |= self.last_force;
        let since = self.last_set_us.min(f.time_us);
        self.place_at(
            f.time_us,
            since,
            i,
            Item::Event(Event::StorageStateSet {
                node: NodeId(node as u8),
                to: state,
            }),
            &f.source,
        );
        Ok(())
    }

    fn end_of_facts(&mut self) {
        if let Some(t) = self.task {
            self.notes.push(format!(
                "the seal task started at {:.1} ms had not ended when the trace was cut",
                self.ms(t.started_us)
            ));
        }
        if self.after_cut > 0 {
            self.notes.push(format!(
                "cut at {:.1} ms ({}): {} later facts dropped (shutdown seals, process exits)",
                self.ms(self.end_us),
                if self.actions_absent {
                    "the servers' shutdown"
                } else {
                    "the recorder's shutdown"
                },
                self.after_cut
            ));
        }
    }

    // ---- SQL polls ----

    /// The snapshots, after every event is placed (sorted): observations.
    fn sql_snapshots(&mut self, snapshots: &[SqlSnapshot]) -> Result<(), ImportError> {
        let event_times: Vec<(i64, i64)> = self
            .placed
            .iter()
            .map(|p| (p.since_us, p.time_us))
            .collect();
        let events: Vec<Item> = self.placed.iter().map(|p| p.item.clone()).collect();
        let mut last_worker: BTreeMap<u8, (Offset, bool, usize)> = BTreeMap::new();
        let mut last_state: BTreeMap<u8, (StorageState, usize)> = BTreeMap::new();
        let mut order = self.facts.len();
        for snap in snapshots {
            let rows = snap.rows.len();
            if snap.time_us < self.start_us || snap.time_us >= self.end_us {
                self.drops
                    .rows("SQL rows of snapshots outside the trace window (before the start or after the cut)", rows);
                continue;
            }
            if snap.error.is_some() {
                self.drops.rows("SQL queries that failed (no rows)", 1);
                continue;
            }
            self.drops.rows(
                "SQL rows that name no node or log (unattributable)",
                snap.unattributed_rows,
            );
            let seen = event_times.partition_point(|&(_, e)| e <= snap.time_us);
            let relevant = snap.rows.iter().any(|r| match r {
                SqlRow::LogletWorkers(w) => w.loglet == self.s.loglet,
                SqlRow::Nodes(_) => true,
                SqlRow::Logs { .. } => false,
            });
            let observed = self.snapshot_rows(snap)?;
            if !relevant {
                continue;
            }
            // The events that may have taken effect while the query ran.
            let during: Vec<&Item> = event_times
                .iter()
                .zip(&events)
                .filter(|(&(since, at), _)| since <= snap.end_time_us && at > snap.time_us)
                .map(|(_, e)| e)
                .collect();
            let origin = Source {
                file: SQL_FILE.to_string(),
                line: snap.line,
            };
            for o in observed {
                if during.iter().any(|e| may_change(e, &o)) {
                    self.straddling += 1;
                    continue;
                }
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
                    order += 1;
                    self.place_at(snap.time_us, snap.time_us, order, Item::Observe(o), &origin);
                } else {
                    self.drops.rows(
                        "SQL rows that repeat the last row written for their node with no event between",
                        1,
                    );
                }
            }
        }
        if self.straddling > 0 {
            self.notes.push(format!(
                "{} SQL rows dropped: their query was still running when an event of the trace that can change what they show happened, so they could show either side of it",
                self.straddling
            ));
        }
        self.placed.sort_by_key(|p| (p.time_us, p.order));
        Ok(())
    }

    /// The observations of one snapshot's rows. Every row is checked, also those of a
    /// snapshot that is then dropped.
    fn snapshot_rows(&mut self, snap: &SqlSnapshot) -> Result<Vec<Observation>, ImportError> {
        let mut observed = Vec::new();
        for row in &snap.rows {
            let (node, table) = match row {
                SqlRow::LogletWorkers(r) if r.loglet != self.s.loglet => {
                    self.drops.rows(
                        format!("loglet_workers rows: other loglets ({})", r.loglet),
                        1,
                    );
                    continue;
                }
                SqlRow::LogletWorkers(r) => (r.node, "loglet_workers"),
                SqlRow::Nodes(r) => (r.node, "nodes"),
                SqlRow::Logs { .. } => {
                    self.drops
                        .rows("logs rows: out of scope: chain level, the logs table", 1);
                    continue;
                }
            };
            if !self.s.is_server(node) {
                self.drops
                    .rows(format!("{table} rows of nodes that are not log servers"), 1);
                continue;
            }
            let bad = |field: &str, what: &str| ImportError::Record {
                file: self.dir.join(SQL_FILE),
                line: snap.line,
                message: format!(
                    "field `rows[].{field}` of N{node}'s row in `{table}` is missing or not {what}"
                ),
            };
            match row {
                SqlRow::LogletWorkers(r) => {
                    let tail = r.local_tail.ok_or_else(|| bad("local_tail", "a number"))?;
                    let sealed = r.sealed.ok_or_else(|| bad("is_sealed", "a boolean"))?;
                    let tail =
                        self.offset(tail, "local_tail", &self.dir.join(SQL_FILE), snap.line)?;
                    self.max_tail = self.max_tail.max(Some(tail));
                    observed.push(Observation::ObserveLogServer {
                        node: NodeId(node as u8),
                        local_tail: Some(tail),
                        sealed: Some(sealed),
                    });
                }
                SqlRow::Nodes(r) => {
                    let text = r
                        .storage_state
                        .as_deref()
                        .ok_or_else(|| bad("storage_state", "a string"))?;
                    match StorageState::parse(text) {
                        Some(state) => observed.push(Observation::ObserveStorageState {
                            node: NodeId(node as u8),
                            state,
                        }),
                        None => self.drops.rows(
                            format!("nodes rows in storage state `{text}` (no model counterpart)"),
                            1,
                        ),
                    }
                }
                SqlRow::Logs { .. } => {}
            }
        }
        Ok(observed)
    }

    // ---- The header and the notes ----

    /// The model's scenario the run translates to (see **Config** in the module essay).
    fn model_config(&self, meta: &Meta, appends: Offset, harness: Harness) -> Config {
        Config {
            name: format!("restate-{}-{}", meta.restate_version, meta.scenario),
            log_servers: self.s.log_servers,
            nodeset: self.s.nodeset.clone(),
            replication: self.s.replication,
            client: CLIENT_ID,
            loglet: self.s.loglet.clone(),
            initial_storage: self
                .initial
                .clone()
                .unwrap_or_else(|| vec![StorageState::Provisioning; self.s.log_servers as usize]),
            forced_provisioning: Vec::new(),
            appends,
            stale_views: false,
            provisioning_steps: false,
            harness,
            cluster: self.s.cluster().then_some(Cluster {
                sequencer: self.s.sequencer,
            }),
            faults: Faults {
                message_loss: 0,
                message_duplication: 0,
                crashes: self.crashes,
                timeouts: if self.actions_absent {
                    self.paused_in_seal.len().max(self.failed_members.len()) as u8
                } else {
                    self.paused_in_seal.union(&self.cut_off_in_seal).count() as u8
                },
                operator_moves: if self.ctl_absent {
                    self.operator_moves.max(2 * self.s.log_servers)
                } else {
                    self.operator_moves
                },
                operator_force: self.operator_force || self.ctl_absent,
                other_seals: self.other_seals,
                other_repairs: self.other_repairs,
                reader_timeouts: self.reader_timeouts(),
            },
            bugs: Vec::new(),
            unreachable: Vec::new(),
        }
    }

    /// `faults.reader_timeouts`: one when some node was paused or cut off during the run (a
    /// find-tail reader there, or any reader when it was the sequencer's node, may have failed
    /// to reach the sequencer; the model's flag that the sequencer is silent stays set, so one
    /// is as many as it can use). Without operator records, also when a find-tail reader
    /// assisted a seal: its sequencer may have been up. Cluster with separate roles only.
    fn reader_timeouts(&self) -> u8 {
        u8::from(
            self.s.cluster()
                && !(self.out_of_touch.is_empty()
                    && self.detector_lost.is_empty()
                    && self.assist_unexplained.is_none()),
        )
    }

    /// Without operator records, a failed seal request may come from a pause (SIGSTOP leaves
    /// no line): the timeouts budget is unknown, so the import is inconclusive.
    /// Logs that start mid-run: a record of the loglet the importer could not place may
    /// belong to something that began before the trace (a seal task, a crash), so the import
    /// is inconclusive rather than missing it.
    fn check_mid_run_placed(&mut self) -> Result<(), ImportError> {
        if self.initial.is_none() {
            return Ok(());
        }
        let unplaced: Vec<String> = self
            .drops
            .list
            .iter()
            .filter(|d| matches!(d.reason, DropReason::Unplaced(_)))
            .map(|d| format!("{} ({}:{})", d.kind, d.source.file, d.source.line))
            .collect();
        if !unplaced.is_empty() {
            return Err(ImportError::Inconclusive {
                dir: self.dir.to_path_buf(),
                needs: vec![format!(
                    "the logs from before the trace begins: {} may continue what they do not show",
                    unplaced.join(", ")
                )],
            });
        }
        if self.before_start > 0 {
            self.notes.push(format!(
                "{} facts from before the trace begins (other files than the logs reach further back) dropped",
                self.before_start
            ));
        }
        Ok(())
    }

    /// Without operator records, the timeout budget comes from the logs: a seal request to a
    /// member fails only after every attempt timed out or errored, and the model lets a
    /// serving member's request time out within `faults.timeouts` (a paused or slow server;
    /// SIGSTOP leaves no line). One per member whose failure is logged is what the operator
    /// records would give for members paused during a seal.
    fn check_faults_known(&mut self) -> Result<(), ImportError> {
        if self.actions_absent && !self.failed_members.is_empty() {
            self.notes.push(format!(
                "no {ACTIONS_FILE}: seal requests to {} failed (the logs say so); whether a pause (SIGSTOP, which leaves no line) or slowness caused them, the model lets a serving member's request time out: faults.timeouts = {}, one per member whose failure is logged",
                node_list(self.failed_members.iter().copied()),
                self.failed_members.len()
            ));
        }
        Ok(())
    }

    fn finish(mut self, meta: &Meta) -> Result<ImportedTrace, ImportError> {
        let s = &self.s;
        let dir = self.dir;
        let loglet = s.loglet.as_str();
        let mut notes = std::mem::take(&mut self.notes);
        let appends = self.max_tail.unwrap_or(0);
        if appends > MAX_APPENDS {
            return Err(meta_err(
                dir,
                "loglet_id",
                format!(
                    "{loglet} holds {appends} records; the model allows at most {MAX_APPENDS} appends"
                ),
            ));
        }
        if let Some(lsn) = self.tail_lsn {
            if lsn >= 1
                && lsn - 1 != appends as u64
                && s.loglet.ends_with("_0")
                && self.mode == Mode::MetaLoglet
            {
                notes.push(format!(
                    "restatectl reported tail LSN {lsn} (model tail {}) but the loglet's observations and seal show tail {appends}",
                    lsn - 1
                ));
            }
        }
        let seal_calls = self.seal_calls;
        let harness = harness_for(dir, seal_calls)?;
        let config = self.model_config(meta, appends, harness);
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
                finder: self.finder.map(|n| NodeId(n as u8)),
            },
            complete: COMPLETE_KINDS
                .iter()
                .filter(|k| !self.info_only.unlogged().contains(k))
                .filter(|k| !(self.ctl_absent && **k == "storage-state-set"))
                .filter(|k| !(self.crash_unlogged && **k == "crashed"))
                .map(|k| k.to_string())
                .collect(),
            run_complete: false,
            unknown: if self.ctl_absent {
                vec!["storage-state-set".to_string()]
            } else {
                Vec::new()
            },
            source: Some(format!(
                "Restate {} scenario `{}` recorded {} by sealcheck-recorder; imported by sealcheck import",
                meta.restate_version,
                meta.scenario,
                crate::time::format_rfc3339(self.start_us)
                    .split('.')
                    .next()
                    .unwrap_or("")
            )),
        };

        // Notes: what the run was, what was assumed and dropped.
        let mut all_notes = run_notes(
            s,
            meta,
            self.finder,
            self.seal_commands,
            seal_calls,
            &header.config,
        );
        if !self.paused_in_seal.is_empty() {
            all_notes.push(format!(
                "paused (SIGSTOP) during a seal task: {}; each may make a seal request time out (faults.timeouts = {})",
                node_list(self.paused_in_seal.iter().copied()),
                self.paused_in_seal.len()
            ));
        }
        if !self.cut_off_in_seal.is_empty() {
            all_notes.push(format!(
                "cut off by a network fault (nft) during a seal task: {}; each may make a seal request time out, like a pause (faults.timeouts = {})",
                node_list(self.cut_off_in_seal.iter().copied()),
                self.paused_in_seal.union(&self.cut_off_in_seal).count()
            ));
        }
        if header.config.faults.reader_timeouts > 0 && !self.detector_lost.is_empty() {
            all_notes.push(format!(
                "no {ACTIONS_FILE}: failure detectors saw peers leave Alive ({}): one node of each pair was paused, cut off or dead, which the logs do not tell apart; a find-tail reader there (any reader, for the sequencer's node) may have failed to reach the sequencer and queried the log servers itself (faults.reader_timeouts = {})",
                self.detector_lost
                    .iter()
                    .map(|((by, peer), at)| format!("N{by} saw N{peer} at {at}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                header.config.faults.reader_timeouts
            ));
        }
        if let (true, Some(at)) = (
            header.config.faults.reader_timeouts > 0,
            &self.assist_unexplained,
        ) {
            all_notes.push(format!(
                "no {ACTIONS_FILE}: a find-tail reader assisted a seal ({at}); Restate's reader asks the log servers only when no sequencer answered it, and without operator records the logs do not tell a dead sequencer from a failed request to a live one, so both are allowed (faults.reader_timeouts = {})",
                header.config.faults.reader_timeouts
            ));
        }
        if header.config.faults.reader_timeouts > 0 && !self.out_of_touch.is_empty() {
            all_notes.push(format!(
                "paused or cut off during the run: {}; a find-tail reader there (any reader, for the sequencer's node) may fail to reach the sequencer and query the log servers itself (faults.reader_timeouts = {})",
                node_list(self.out_of_touch.iter().copied()),
                header.config.faults.reader_timeouts
            ));
        }
        all_notes.extend(notes);
        all_notes.extend(self.drops.notes());

        let start_us = self.start_us;
        let origin_us = self.origin_us;
        let items = self
            .placed
            .into_iter()
            .map(|p| TimedItem {
                t: ms(p.time_us.max(start_us), origin_us),
                item: p.item,
                origin: p.origin,
            })
            .collect();
        Ok(ImportedTrace {
            header,
            items,
            notes: all_notes,
            drops: self.drops.list,
        })
    }
}

/// The seal tasks of other nodes that are open, counted per node: the model does not tell
/// their nodes apart, so an outcome closes one of its node's open tasks, whichever.
#[derive(Debug, Default)]
struct OpenTasks(BTreeMap<u32, u32>);

impl OpenTasks {
    fn open(&mut self, node: u32) {
        *self.0.entry(node).or_default() += 1;
    }

    /// Closes one open task of `node`; false if none is open.
    fn close(&mut self, node: u32) -> bool {
        match self.0.get_mut(&node) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.0.remove(&node);
                true
            }
            None => false,
        }
    }

    fn any(&self, node: u32) -> bool {
        self.0.contains_key(&node)
    }
}

/// Whether an event may change what an observation shows, directly or through the unlogged
/// steps it enables. A log server's tail and seal flag change by unlogged steps (stores, seal
/// handling) that any event may enable, so every event may change them; a storage state only
/// changes by events of complete kinds about that node (provisioned, storage-state-set,
/// crashed, restarted), so a `nodes` row that no such event overlaps shows the state of the
/// whole query interval.
fn may_change(event: &Item, o: &Observation) -> bool {
    match o {
        Observation::ObserveStorageState { node, .. } => match event {
            Item::Event(
                Event::Provisioned { node: n }
                | Event::StorageStateSet { node: n, .. }
                | Event::Crashed { node: n }
                | Event::Restarted { node: n },
            ) => n == node,
            Item::Event(_) => false,
            Item::Observe(_) => false,
        },
        Observation::ObserveLogServer { .. } | Observation::ObserveSequencer { .. } => {
            matches!(event, Item::Event(_))
        }
    }
}

/// The model's harness for `seal_calls` seal tasks of the scenario: `seal-once` for at most one,
/// `retry` with that many attempts otherwise (an error past the model's bound).
fn harness_for(dir: &Path, seal_calls: usize) -> Result<Harness, ImportError> {
    if seal_calls <= 1 {
        return Ok(Harness {
            kind: HarnessKind::SealOnce,
            max_attempts: 1,
            ..Harness::default()
        });
    }
    if seal_calls > MAX_SEAL_ATTEMPTS as usize {
        return Err(meta_err(
            dir,
            "seal_via",
            format!("{seal_calls} seal tasks; the model's retry harness makes at most {MAX_SEAL_ATTEMPTS}"),
        ));
    }
    Ok(Harness {
        kind: HarnessKind::Retry,
        max_attempts: seal_calls as u8,
        ..Harness::default()
    })
}
/// The first notes of an import: the loglet and roles, the offset shift, the seal runs.
fn run_notes(
    s: &Setup,
    meta: &Meta,
    finder: Option<u32>,
    seal_commands: usize,
    seal_calls: usize,
    config: &Config,
) -> Vec<String> {
    let loglet = s.loglet.as_str();
    vec![
            format!(
                "loglet {loglet} of log {}: nodeset {}, replication {{node: {}}}, sequencer {}, seal task run by N{} (restatectl -S); {}",
                s.log_id,
                node_list(s.nodeset.iter().map(|n| *n as u32)),
                s.replication,
                meta.sequencer.as_deref().unwrap_or("?"),
                s.sealer,
                if s.cluster() {
                    format!(
                        "a cluster with separate roles: client N{CLIENT_ID} is the sealer, the sequencer runs on N{}{}",
                        s.sequencer,
                        match finder {
                            Some(f) => format!(", N{f}'s find-tail is the reader"),
                            None => String::new(),
                        }
                    )
                } else {
                    format!("client N{CLIENT_ID} plays both")
                }
            ),
            "Restate offsets and tails start at 1: the trace writes Restate's value minus 1"
                .to_string(),
            format!(
                "{} `restatectl logs seal` runs, {seal_calls} reached a seal task of {loglet} (harness {})",
                seal_commands,
                harness_name(config)
            ),
        ]
}

fn node_list(ids: impl Iterator<Item = u32>) -> String {
    let v: Vec<String> = ids.map(|n| format!("N{n}")).collect();
    format!("[{}]", v.join(", "))
}

fn harness_name(cfg: &Config) -> String {
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
    fn offsets_shift_by_one_and_zero_is_refused() {
        let f = Path::new("sql.jsonl");
        assert_eq!(model_offset(1, "local_tail", f, 3).unwrap(), 0);
        assert_eq!(model_offset(7, "local_tail", f, 3).unwrap(), 6);
        let e = model_offset(0, "local_tail", f, 3).unwrap_err().to_string();
        assert!(e.starts_with("sql.jsonl:3: local_tail is 0"), "{e}");
        assert!(model_offset(2_000_000, "local_tail", f, 3).is_err());
    }
}
