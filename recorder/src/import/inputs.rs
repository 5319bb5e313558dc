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
//!   servers' shutdown lines), or
//! - **needed**: the import stops with [`ImportError::Inconclusive`] naming every missing
//!   input and why the verdict depends on it. Needed are: a node's log, or its start (the
//!   node's storage state when the trace begins is unknown, and no fresh start is assumed);
//!   DEBUG lines (the seal task's start and self-provisioning are logged at DEBUG, so at
//!   Restate's default filter the trace could not claim them complete); `restatectl.jsonl`
//!   (the operator's storage-state changes leave no server log line); and, without
//!   `actions.jsonl`, any sign of a fault the operator records alone can size (a restart, a
//!   seal request that failed, which a pause may have caused, a node stopped mid-run).
//!
//! Absent SQL snapshots need nothing: the trace then has no observations, and the validator
//! places the unlogged steps without them.

use crate::parse::RawRun;
use crate::raw::{ACTIONS_FILE, CTL_FILE, SQL_FILE};

use super::ImportError;

/// The filter that logs everything the importer reads (Restate's default is `info`).
pub const DEBUG_FILTER: &str = "info,restate_bifrost=debug,restate_log_server=debug";

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
}

impl Gaps {
    /// The gaps of `run` that do not depend on the translation.
    pub fn of(run: &RawRun) -> Gaps {
        let mut g = Gaps::default();
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
            g.needs.push(format!(
                "the start of the server logs of {}: they begin without `Starting Restate Server`, so the nodes' storage states when the trace begins are unknown (no fresh start is assumed)",
                no_start.join(", ")
            ));
        }
        if !no_debug.is_empty() {
            g.needs.push(format!(
                "DEBUG lines in the logs of {}: they hold only INFO and above, and the seal task's start and self-provisioning are logged at DEBUG (run the servers with RESTATE_LOG_FILTER={DEBUG_FILTER})",
                no_debug.join(", ")
            ));
        }
        if run.absent.iter().any(|f| f == CTL_FILE) {
            g.needs.push(format!("{CTL_FILE}: storage-state changes (`restatectl nodes set-storage-state`) leave no line in the server logs"));
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
        let firsts: Vec<(u32, i64)> = run
            .logs
            .iter()
            .filter_map(|l| l.shutdown_signals.first().map(|&t| (l.node, t)))
            .collect();
        let first = firsts.iter().map(|&(_, t)| t).min()?;
        let last = firsts.iter().map(|&(_, t)| t).max()?;
        if last - first > ONE_SHUTDOWN_US || run.logs.iter().any(|l| l.shutdown_signals.len() > 1) {
            self.needs.push(format!("{ACTIONS_FILE}: a node was told to stop well before the others (or more than once), and whether that was a step of the run is only in the operator records"));
        }
        self.notes.push(format!(
            "no {ACTIONS_FILE}: the trace is cut at the first `Received signal, starting shutdown.` line; no kill, stop or pause (SIGSTOP) is assumed but the ones the logs show"
        ));
        Some(first)
    }

    /// Without operator records, the signs of faults only they size: restarts.
    pub fn restarts_without_actions(&mut self, run: &RawRun) {
        let restarted: Vec<String> = run
            .logs
            .iter()
            .filter(|l| l.process_starts.len() > 1)
            .map(|l| {
                format!(
                    "N{} ({} process starts in {})",
                    l.node,
                    l.process_starts.len(),
                    l.file
                )
            })
            .collect();
        if !restarted.is_empty() {
            self.needs.push(format!(
                "{ACTIONS_FILE}: {} restarted, and when each went down (a SIGKILL leaves no line) is only in the operator records",
                restarted.join(", ")
            ));
        }
    }

    /// Stops the import if anything is needed.
    pub fn check(self, dir: &std::path::Path) -> Result<Vec<String>, ImportError> {
        if self.needs.is_empty() {
            Ok(self.notes)
        } else {
            Err(ImportError::Inconclusive {
                dir: dir.to_path_buf(),
                needs: self.needs,
            })
        }
    }
}
