//! What the raw material lacks, before and after the translation.
//!
//! A run recorded by sealcheck-recorder has everything: `meta.json`, one DEBUG-level log per
//! node from its process's start, `restatectl.jsonl`, `actions.jsonl`, `sql.jsonl`. Logs of
//! another cluster may lack any of it, and a missing input must never change a verdict
//! silently. Each gap is either
//!
//! - **derived** from what is there and written in the notes (the setup from the logs when
//!   there is no `meta.json`; `--force` and the time of a storage-state change from
//!   `restatectl.jsonl` when there are no operator records; the end of the run from the
//!   servers' shutdown lines; for logs that start mid-run, where the trace begins and each
//!   log server's storage state there, from the first `nodes` snapshot after it), or
//! - **needed**: the import stops with [`ImportError::Inconclusive`] naming every missing
//!   input and why the verdict depends on it. Needed are: a node's log; its start, when no
//!   snapshot tells the node's storage state where the trace begins (no fresh start is ever
//!   assumed), when the files that reach further back show a seal of the log, a storage-state
//!   change or a sealed worker before it, or when a record of the loglet then cannot be placed;
//!   DEBUG lines, only where a seal record of the loglet cannot be told to be the operator's
//!   task without them ([`super::info_only`]); and, without `actions.jsonl`, a node stopped
//!   mid-run and not started again (whether that was a step of the run only the operator
//!   records tell).
//!
//! Two gaps are left to the validator instead, in the trace's header: without
//! `restatectl.jsonl` the operator's storage-state changes (which leave no server log line)
//! are `unknown` (the validator's passes of "Inputs the material lacks"); without
//! `actions.jsonl` a restart is placed from the node's process start and the crash before it
//! is not logged completely (one crash per restart, placed by the validator), and a seal
//! request the logs show failed sizes the timeout budget (one per member whose failure is
//! logged: the model lets a serving member's request time out, whether it was paused or slow).
//!
//! Logs without DEBUG lines (Restate's default filter) are a note, not a need: the kinds only
//! DEBUG lines show ([`DEBUG_ONLY_KINDS`]) are not claimed complete, except `seal-started`
//! where the operator's task's outcome and `restatectl.jsonl` fix its place among the items
//! ([`super::info_only`]).
//!
//! Absent SQL snapshots need nothing: the trace then has no observations, and the validator
//! places the unlogged steps without them.

use sealcheck_model::config::StorageState;

use crate::parse::{Fact, RawRun, SqlRow};
use crate::raw::{ACTIONS_FILE, CTL_FILE, SQL_FILE};

use super::ImportError;

/// The filter that logs everything the importer reads (Restate's default is `info`).
pub const DEBUG_FILTER: &str = "info,restate_bifrost=debug,restate_log_server=debug";

/// The event kinds only DEBUG lines show: `provisioned` (`Log-store self-provisioning is
/// complete`), `seal-started` (`Starting a seal task for loglet`) and `seal-assist-started`
/// (`Detected unsealed nodes`), `other-seal-started` and `other-seal-refused` (another node's
/// `Starting a seal task`). Logs without DEBUG lines leave them out of the header's `complete`
/// list, so the validator places them as unlogged steps.
pub const DEBUG_ONLY_KINDS: [&str; 5] = [
    "provisioned",
    "seal-started",
    "seal-assist-started",
    "other-seal-started",
    "other-seal-refused",
];

/// How far apart (microseconds) the nodes' shutdown lines may be and still be one shutdown of
/// the whole cluster.
pub const ONE_SHUTDOWN_US: i64 = 2_000_000;

/// The gaps of a parsed raw directory found before translating: notes for what was derived,
/// needs for what the verdict depends on.
#[derive(Debug, Default)]
pub struct Gaps {
    /// One sentence per input the import has to do without.
    pub needs: Vec<String>,
    /// One sentence per assumption or derivation.
    pub notes: Vec<String>,
    /// The logs (node and file) that begin without their process's start.
    pub mid_run: Option<Vec<String>>,
    /// The logs (node and file) without a DEBUG line: [`DEBUG_ONLY_KINDS`] are then not
    /// logged completely.
    pub info_only: Vec<String>,
    /// Files next to the logs that were not read (no line in Restate's formats): named with
    /// the needs, since one of them may hold what is missing (a compressed rotated log).
    pub unread: Vec<String>,
}

/// Where a trace of logs that start mid-run begins, and each log server's storage state there.
#[derive(Debug)]
pub struct MidRun {
    /// The latest first line of any log: from here on every log is whole.
    pub start_us: i64,
    /// Each log server's storage state at `start_us` (N1 first).
    pub initial: Vec<StorageState>,
}

impl Gaps {
    /// The gaps of `run` that do not depend on the translation.
    pub fn of(run: &RawRun) -> Gaps {
        let mut g = Gaps {
            unread: run.skipped.clone(),
            ..Gaps::default()
        };
        let m = &run.meta;
        if run.meta_derived {
            g.notes.push(format!(
                "no meta.json: the setup was derived from the server logs (loglet {}, nodeset {:?}, sequencer {}, sealer {})",
                m.loglet_id.as_deref().unwrap_or("?"),
                m.nodeset,
                m.sequencer.as_deref().unwrap_or("?"),
                m.seal_via.map_or("?".to_string(), |n| format!("N{n}")),
            ));
            for l in &run.logs {
                g.notes.push(format!(
                    "{} is N{}'s log, by {}",
                    l.file, l.node, l.named_by
                ));
            }
            for f in &run.skipped {
                g.notes.push(format!(
                    "{f} is not read: no line in Restate's JSON or text log format (a compressed log must be decompressed first)"
                ));
            }
            if m.loglet_id.is_none() || m.seal_via.is_none() {
                g.needs.push("a seal that restatectl asked for (`Attempting to seal loglet` and `Starting a seal task for loglet`, DEBUG): they name the sealer and the loglet".into());
            }
            let unlogged: Vec<String> = m
                .nodeset
                .iter()
                .filter(|n| !run.logs.iter().any(|l| l.node == **n))
                .map(|n| format!("N{n}"))
                .collect();
            if !unlogged.is_empty() {
                g.needs.push(format!(
                    "the server logs of {}: members of the loglet's nodeset",
                    unlogged.join(", ")
                ));
            }
            if m.loglet_id.is_some() && (m.nodeset.is_empty() || m.sequencer.is_none()) {
                g.needs.push(format!("the creation line of loglet {} (`Creating a replicated loglet client`, DEBUG): it names the nodeset, sequencer and replication", m.loglet_id.as_deref().unwrap_or("?")));
            }
        }
        let mut no_log = Vec::new();
        let mut no_start = Vec::new();
        let mut no_debug = Vec::new();
        for n in &m.nodes {
            match run.logs.iter().find(|l| l.node == n.id) {
                None => no_log.push(format!("N{}", n.id)),
                Some(l) => {
                    if !l.has_process_start {
                        no_start.push(format!("N{} ({})", l.node, l.file));
                    }
                    if l.debug_lines == 0 && l.lines > 0 {
                        no_debug.push(format!("N{} ({})", l.node, l.file));
                    }
                }
            }
        }
        if !no_log.is_empty() {
            g.needs
                .push(format!("the server logs of {}", no_log.join(", ")));
        }
        if !no_start.is_empty() {
            g.mid_run = Some(no_start);
        }
        if !no_debug.is_empty() {
            g.notes.push(format!(
                "the logs of {} hold no DEBUG line (Restate's default filter; the recorder sets RESTATE_LOG_FILTER={DEBUG_FILTER}): {} are logged only at DEBUG (self-provisioning, the seal task's start, a reader's seal assist); `provisioned` and `seal-assist-started` are not claimed complete, so the validator places them as unlogged steps, and the scenario's seal task is its outcome on the sealer while a `restatectl logs seal` through it runs",
                no_debug.join(", "),
                DEBUG_ONLY_KINDS.map(|k| format!("`{k}`")).join(", ")
            ));
            g.info_only = no_debug;
        }
        if run.absent.iter().any(|f| f == CTL_FILE) {
            g.notes.push(format!("no {CTL_FILE}: the operator's storage-state changes (`restatectl nodes set-storage-state`) leave no line in the server logs, so the trace lists `storage-state-set` as unknown, with a budget of two changes per log server (away and back), forced or not; the validator first explains the trace without any, and a trace that only such a change explains is inconclusive (needs {CTL_FILE}), while a rejection holds whatever changes were made"));
        }
        if run.absent.iter().any(|f| f == SQL_FILE) {
            g.notes
                .push(format!("no {SQL_FILE}: the trace has no observations"));
        }
        g
    }

    /// The end of the run without operator records: the first shutdown line of any node, if
    /// every node's first shutdown line lies within [`ONE_SHUTDOWN_US`] of it (one shutdown of
    /// the cluster); a node told to stop long before the others was stopped mid-run, which
    /// only the operator records tell.
    pub fn end_without_actions(&mut self, run: &RawRun) -> Option<i64> {
        // A shutdown line followed by a later process start of the same node is a stop of a
        // restart (the restart is placed from the process start), not the end of the run.
        let finals = |l: &crate::parse::server_log::ServerLog| -> Vec<i64> {
            let last_start = l.process_starts.last().copied().unwrap_or(i64::MIN);
            l.shutdown_signals
                .iter()
                .copied()
                .filter(|&t| t > last_start)
                .collect()
        };
        let firsts: Vec<(u32, i64)> = run
            .logs
            .iter()
            .filter_map(|l| finals(l).first().map(|&t| (l.node, t)))
            .collect();
        let first = firsts.iter().map(|&(_, t)| t).min()?;
        let last = firsts.iter().map(|&(_, t)| t).max()?;
        if last - first > ONE_SHUTDOWN_US || run.logs.iter().any(|l| finals(l).len() > 1) {
            self.needs.push(format!("{ACTIONS_FILE}: a node was told to stop well before the others (or more than once), and whether that was a step of the run is only in the operator records"));
        }
        self.notes.push(format!(
            "no {ACTIONS_FILE}: the trace is cut at the first `Received signal, starting shutdown.` line; no kill, stop or pause (SIGSTOP) is assumed but the ones the logs show"
        ));
        Some(first)
    }

    /// Logs that start mid-run: the trace begins where every log is whole, and each log
    /// server's state there is the one its first `nodes` row from then on shows, provided no
    /// line of the node that changes its storage state (self-provisioning, a storage-state
    /// change, data loss) came before that row's query ended; a node without such a row is a
    /// need, never an assumed fresh start.
    pub fn mid_run(&mut self, run: &RawRun) -> Option<MidRun> {
        let logs = self.mid_run.take()?;
        let start_us = run.logs.iter().filter_map(|l| l.first_us).max()?;
        let mut initial = Vec::new();
        let mut unknown = Vec::new();
        for n in &run.meta.nodes {
            match state_at(run, n.id, start_us) {
                Some(st) => initial.push(st),
                None => unknown.push(format!("N{}", n.id)),
            }
        }
        let earlier = earlier_steps(run, start_us);
        if !earlier.is_empty() {
            self.needs.push(format!(
                "the start of the server logs of {}: {} before the logs begin, so the trace would miss what led to it",
                logs.join(", "),
                earlier.join(", ")
            ));
            return None;
        }
        if !unknown.is_empty() {
            self.needs.push(format!(
                "the start of the server logs of {} or a `nodes` snapshot of {} taken before any change of their storage state: the logs begin without `Starting Restate Server`, so the states when the trace begins are unknown (no fresh start is assumed)",
                logs.join(", "),
                unknown.join(", ")
            ));
            return None;
        }
        self.notes.push(format!(
            "the logs of {} start mid-run: the trace begins at their latest first line, with storage states {} read from the first `nodes` snapshot after it (no fresh start assumed)",
            logs.join(", "),
            initial.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        ));
        Some(MidRun { start_us, initial })
    }

    /// Stops the import if anything is needed.
    pub fn check(mut self, dir: &std::path::Path) -> Result<Vec<String>, ImportError> {
        if self.needs.is_empty() {
            return Ok(self.notes);
        }
        if !self.unread.is_empty() {
            self.needs.push(format!(
                "perhaps in the files not read (no line in Restate's JSON or text log format; a compressed log must be decompressed first): {}",
                self.unread.join(", ")
            ));
        }
        Err(ImportError::Inconclusive {
            dir: dir.to_path_buf(),
            needs: self.needs,
        })
    }
}

/// A node's storage state at `start_us` (see [`Gaps::mid_run`]).
///
/// When the node's log has no DEBUG line its self-provisioning is not logged, and that step
/// turns `provisioning` into `read-write` and nothing else: a later `read-write` row does not
/// tell the state at `start_us`, but a later row of another state does, and so does the last
/// earlier row of a state other than `provisioning`, when no logged change of the node (a
/// storage-state change, data loss) lies between that row's query and `start_us`. A
/// storage-state change restatectl confirms from a state to the same state is no change.
pub(crate) fn state_at(run: &RawRun, node: u32, start_us: i64) -> Option<StorageState> {
    let info_only = run
        .logs
        .iter()
        .any(|l| l.node == node && l.lines > 0 && l.debug_lines == 0);
    let row = |snap: &crate::parse::SqlSnapshot| {
        if snap.error.is_some() {
            return None;
        }
        snap.rows.iter().find_map(|r| match r {
            SqlRow::Nodes(r) if r.node == node => StorageState::parse(r.storage_state.as_deref()?),
            _ => None,
        })
    };
    // A `set-storage-state` that restatectl reports as a move from a state to itself changed
    // nothing (a node that provisioned itself again after a restart, set back by hand).
    let changed = |from: i64, to: i64| {
        run.facts.iter().any(|f| {
            f.time_us >= from
                && f.time_us <= to
                && match &f.fact {
                    Fact::SelfProvisioned { node: n } | Fact::DataLossDetected { node: n } => {
                        *n == node
                    }
                    Fact::StorageStateSet {
                        node: n,
                        from: was,
                        to: now,
                    } => *n == node && was != now,
                    _ => false,
                }
        })
    };
    let after = run
        .snapshots
        .iter()
        .filter(|s| s.time_us >= start_us)
        .find_map(|s| row(s).map(|st| (s.end_time_us, st)))
        .filter(|&(end, st)| {
            let unlogged_provisioning = info_only && st == StorageState::ReadWrite;
            !changed(start_us, end) && !unlogged_provisioning
        })
        .map(|(_, st)| st);
    if after.is_some() {
        return after;
    }
    if !info_only {
        return state_from_logs(run, node, start_us);
    }
    run.snapshots
        .iter()
        .rev()
        .filter(|s| s.end_time_us < start_us)
        .find_map(|s| row(s).map(|st| (s.time_us, st)))
        .filter(|&(from, st)| st != StorageState::Provisioning && !changed(from, start_us))
        .map(|(_, st)| st)
}

/// A node's storage state at `start_us` from its own log, when no snapshot tells it: the log
/// must be whole from its process's start and hold DEBUG lines, so that every change is a line
/// (`My storage state: X` at each process start, `Log-store self-provisioning is complete`)
/// or a `restatectl` confirmation. `None` when `start_us` lies inside a change (between a
/// storage-marker write and its self-provisioning line, or during a `set-storage-state` run),
/// after a data-loss detection, or before the node's first state line.
pub(crate) fn state_from_logs(run: &RawRun, node: u32, start_us: i64) -> Option<StorageState> {
    let log = run.logs.iter().find(|l| l.node == node)?;
    if !log.has_process_start || log.debug_lines == 0 {
        return None;
    }
    if run
        .storage_runs
        .iter()
        .any(|r| r.time_us <= start_us && start_us <= r.end_time_us)
    {
        return None;
    }
    let mut state = None;
    let mut marker_pending = false;
    for f in run.facts.iter().take_while(|f| f.time_us < start_us) {
        match &f.fact {
            Fact::StorageStateAtStartup { node: n, state: s } if *n == node => {
                state = Some(StorageState::parse(s)?);
                marker_pending = false;
            }
            Fact::StorageMarkerWritten { node: n } if *n == node => marker_pending = true,
            Fact::SelfProvisioned { node: n } if *n == node => {
                state = Some(StorageState::ReadWrite);
                marker_pending = false;
            }
            Fact::StorageStateSet { node: n, to, .. } if *n == node => {
                state = Some(StorageState::parse(to)?);
            }
            Fact::DataLossDetected { node: n } if *n == node => return None,
            _ => {}
        }
    }
    if marker_pending {
        return None;
    }
    state
}

/// What happened to the scenario's loglet or the storage states before logs that start
/// mid-run begin, as the files that reach further back show it: a `restatectl logs seal` of
/// the log, a storage-state change, a loglet worker already sealed in the first snapshot after.
fn earlier_steps(run: &RawRun, start_us: i64) -> Vec<String> {
    let mut out = Vec::new();
    for f in run.facts.iter().take_while(|f| f.time_us < start_us) {
        match &f.fact {
            Fact::SealCommandReturned { log_id, .. } if *log_id == Some(run.meta.log_id) => {
                out.push(format!("`restatectl logs seal {}` ran", run.meta.log_id));
            }
            Fact::StorageStateSet { node, to, .. } => {
                out.push(format!("N{node}'s storage state was set to {to}"))
            }
            _ => {}
        }
    }
    let loglet = run.meta.loglet_id.as_deref();
    let mut seen = std::collections::BTreeSet::new();
    for snap in run.snapshots.iter().filter(|s| s.time_us >= start_us) {
        for r in &snap.rows {
            if let SqlRow::LogletWorkers(w) = r {
                if Some(w.loglet.as_str()) == loglet
                    && seen.insert(w.node)
                    && (w.sealed == Some(true) || w.seal_enqueued == Some(true))
                {
                    out.push(format!(
                        "N{}'s worker of {} was already sealed",
                        w.node, w.loglet
                    ));
                }
            }
        }
    }
    out.dedup();
    out
}
