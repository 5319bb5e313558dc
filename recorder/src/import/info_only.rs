//! Logs at Restate's default filter (INFO): what stands in for the DEBUG lines.
//!
//! Without DEBUG lines the logs lack [`DEBUG_ONLY_KINDS`] and every line that tells why a
//! node starts a seal task. `provisioned` and `seal-assist-started` are left out of the
//! header's `complete` list, so the validator places them as unlogged steps. The scenario's
//! seal task is recognised by its outcome on the sealer (`Seal task completed on f-majority`,
//! `Seal operation failed`, the all-Provisioning warning: INFO or WARN lines) while a
//! `restatectl logs seal` through the sealer runs (`restatectl.jsonl`). Its start lies
//! between the command's start and that outcome: when no other item of the trace lies there,
//! its place among the items is known and `seal-started` is placed right before the outcome
//! (the kind stays complete); otherwise `seal-started` is left unlogged too, and a rejection
//! (which the model decides at the task's start) needs the DEBUG lines. Any other seal record
//! of the loglet (another node's task, a task of the sealer no command explains) could be an
//! assist, a shutdown seal or a reconfiguration, which only the DEBUG lines tell apart: the
//! import then stops, naming them. In run mode a loglet's trace begins at its creation line,
//! which is DEBUG too: without it the loglet is not translated, and says so.

use sealcheck_model::observable::{Event, NodeId};
use sealcheck_model::trace_format::Item;

use super::inputs::{DEBUG_FILTER, DEBUG_ONLY_KINDS};
use super::{DropReason, ImportError, Task, TimedFact, Translator};

/// The translator's state for logs without DEBUG lines.
#[derive(Debug, Default)]
pub(super) struct InfoOnly {
    /// The logs hold no DEBUG line.
    pub(super) on: bool,
    /// The `restatectl logs seal` runs through the sealer whose task has shown no outcome
    /// yet, earliest first: start, and end if it returned on its own (a success or an ERROR
    /// line; a run killed at its timeout may leave its task running).
    commands: std::collections::VecDeque<(i64, Option<i64>)>,
    /// Each task opened from its outcome: the command's start, the outcome's time, whether it
    /// was a rejection.
    tasks: Vec<(i64, i64, bool)>,
    /// Some task's start could not be placed among the items: `seal-started` is unlogged.
    start_unlogged: bool,
    /// The `restatectl logs seal` runs through the sealer that succeeded: start and end.
    succeeded: Vec<(i64, i64)>,
}

impl InfoOnly {
    /// The kinds of [`super::COMPLETE_KINDS`] the trace cannot claim complete.
    pub(super) fn unlogged(&self) -> Vec<&'static str> {
        if !self.on {
            return Vec::new();
        }
        DEBUG_ONLY_KINDS
            .into_iter()
            .filter(|k| *k != "seal-started" || self.start_unlogged)
            .collect()
    }
}

impl Translator<'_> {
    /// `restatectl logs seal` (its start): with INFO-only logs, the sealer's next seal outcome
    /// of the log is the scenario's task (with DEBUG lines the sealer's `Attempting to seal
    /// loglet` tells it instead).
    pub(super) fn seal_command_started(&mut self, f: &TimedFact) {
        let super::Fact::SealCommandReturned {
            via,
            log_id,
            succeeded,
            error,
            end_time_us,
            ..
        } = &f.fact
        else {
            return;
        };
        if self.info_only.on && *via == Some(self.s.sealer as u32) && *log_id == Some(self.s.log_id)
        {
            let diagnosed = error
                .as_deref()
                .is_some_and(|e| e.contains("ERROR") || e.contains("Error:"));
            let end = (*succeeded || diagnosed).then_some(*end_time_us);
            if *succeeded {
                self.info_only.succeeded.push((f.time_us, *end_time_us));
            }
            self.restatectl_pending = true;
            self.info_only.commands.push_back((f.time_us, end));
        }
    }

    /// Forgets the commands that returned before `time_us` with no outcome of a seal task:
    /// they started none (a task that ends logs its outcome at INFO or WARN, and `seal()`
    /// returns only after its task ended).
    fn expire_commands(&mut self, time_us: i64) {
        self.info_only
            .commands
            .retain(|&(_, end)| end.is_none_or(|e| e >= time_us));
        self.restatectl_pending = !self.info_only.commands.is_empty();
    }

    /// With INFO-only logs, opens the scenario's seal task when its outcome `f` arrives on the
    /// sealer while a `restatectl logs seal` through it is pending and no task is open; places
    /// `seal-started` right before the outcome unless it is a rejection (whose `seal-rejected`
    /// the caller places). True if it opened one.
    pub(super) fn unlogged_task_start(
        &mut self,
        i: usize,
        f: &TimedFact,
        node: u32,
        rejected: bool,
    ) -> bool {
        if self.info_only.on {
            self.expire_commands(f.time_us);
        }
        let open = self.info_only.on
            && node == self.s.sealer as u32
            && self.task.is_none()
            && self.restatectl_pending
            && !self.stopping.contains(&node);
        if !open {
            return false;
        }
        let command_us = self
            .info_only
            .commands
            .pop_front()
            .map_or(f.time_us, |c| c.0);
        self.restatectl_pending = !self.info_only.commands.is_empty();
        self.seal_calls += 1;
        self.members_silent_in_seal();
        self.task = Some(Task {
            started_us: f.time_us,
            rejected,
        });
        self.failed_peers.clear();
        self.info_only.tasks.push((command_us, f.time_us, rejected));
        if !rejected {
            let sealer = NodeId(self.s.sealer);
            self.place(f, i, Event::SealStarted { node: sealer });
        }
        true
    }

    /// A `restatectl logs seal` through the sealer that succeeded while the sealer's log shows
    /// no outcome of a seal task of the log: either its `seal()` found the loglet sealed and
    /// started no task, or the task's `Seal task completed on f-majority` line is missing (seen
    /// on 1.7.12, `reproduced/cluster-roles-lost-completion`); only the DEBUG lines (the task's
    /// start, `seal() has completed successfully`) tell which, and the two explain different
    /// runs. One need per such command before the cut.
    fn silent_successes(&self) -> Vec<String> {
        let sealer = self.s.sealer as u32;
        let prefix = format!("{}_", self.s.log_id);
        let of_log = |l: &str| l.starts_with(&prefix);
        self.info_only
            .succeeded
            .iter()
            .filter(|&&(from, _)| from < self.end_us)
            .filter(|&&(from, to)| {
                !self.facts.iter().any(|g| {
                    g.time_us >= from
                        && g.time_us <= to
                        && match &g.fact {
                            super::Fact::SealCompleted { node, loglet, .. }
                            | super::Fact::AllProvisioningWarning { node, loglet } => {
                                *node == sealer && of_log(loglet)
                            }
                            super::Fact::SealFailed { node, loglet, .. } => {
                                *node == sealer && loglet.as_deref().is_none_or(of_log)
                            }
                            _ => false,
                        }
                })
            })
            .map(|&(from, to)| {
                format!(
                    "DEBUG lines (RESTATE_LOG_FILTER={DEBUG_FILTER}): the `restatectl logs seal {}` through N{sealer} from {:.1} to {:.1} ms succeeded, but N{sealer}'s log shows no outcome of a seal task of log {} meanwhile: its seal() found the loglet sealed already, or the task's `Seal task completed on f-majority` line is missing; only the task's start line and `seal() has completed successfully` tell which",
                    self.s.log_id,
                    self.ms(from),
                    self.ms(to),
                    self.s.log_id
                )
            })
            .collect()
    }

    /// Run mode with INFO-only logs: a loglet's trace begins at its creation, whose line
    /// (`Creating a replicated loglet client`) is DEBUG. Without it the first record naming
    /// the loglet comes later, and beginning there would assume a fresh loglet where appends,
    /// seal requests or a seal may already have happened: the import needs the line.
    pub(super) fn info_only_window(&self, run: &super::RawRun) -> Result<(), ImportError> {
        if !self.info_only.on {
            return Ok(());
        }
        let loglet = self.s.loglet.as_str();
        let first = run
            .facts
            .iter()
            .find(|f| super::loglets::fact_loglet(&f.fact).as_deref() == Some(loglet));
        match first {
            Some(f) if matches!(f.fact, super::Fact::LogletCreated { .. }) => Ok(()),
            _ => Err(ImportError::Inconclusive {
                dir: self.dir.to_path_buf(),
                needs: vec![format!(
                    "the creation line of {loglet} (`Creating a replicated loglet client`, DEBUG: RESTATE_LOG_FILTER={DEBUG_FILTER}): where its trace begins; its first record{} may come after appends or seals the logs do not show",
                    first.map_or(String::new(), |f| format!(
                        " ({}:{})",
                        f.source.file, f.source.line
                    ))
                )],
            }),
        }
    }

    /// With INFO-only logs, once every item is placed: a task whose start cannot be ordered
    /// against the items between its command's start and its outcome makes `seal-started`
    /// unlogged (the placed ones are taken back), or, for a rejection, needs the DEBUG lines;
    /// a `restatectl logs seal` with no outcome before the cut may have started a task
    /// unlogged (the harness allows one more); a seal record the importer could not place
    /// needs the DEBUG lines that say whose task it is.
    pub(super) fn check_info_only_placed(&mut self) -> Result<(), ImportError> {
        if !self.info_only.on {
            return Ok(());
        }
        let mut needs = Vec::new();
        for &(from, to, rejected) in &self.info_only.tasks {
            let between = self
                .placed
                .iter()
                .filter(|p| p.time_us >= from && p.time_us < to)
                .count();
            if between == 0 {
                continue;
            }
            if rejected {
                needs.push(format!(
                    "DEBUG lines (RESTATE_LOG_FILTER={DEBUG_FILTER}): the seal task rejected at {:.1} ms started after the `restatectl logs seal` at {:.1} ms, and {between} items lie between; which of them it saw only its start line tells",
                    self.ms(to),
                    self.ms(from)
                ));
            } else if !self.info_only.start_unlogged {
                self.info_only.start_unlogged = true;
                self.notes.push(format!(
                    "the seal task that ended at {:.1} ms started after the `restatectl logs seal` at {:.1} ms, and {between} items lie between: `seal-started` is not logged completely (the validator places it)",
                    self.ms(to),
                    self.ms(from)
                ));
            }
        }
        if self.info_only.start_unlogged {
            self.placed
                .retain(|p| !matches!(p.item, Item::Event(Event::SealStarted { .. })));
        } else if self.info_only.tasks.iter().any(|t| !t.2) {
            self.notes.push("each seal task's `seal-started` is placed right before its outcome: no item lies between the `restatectl logs seal` and the outcome, so its place among the items is the one its start line would give".into());
        }
        self.expire_commands(self.end_us);
        let unanswered = std::mem::take(&mut self.info_only.commands).len();
        if unanswered > 0 {
            self.restatectl_pending = false;
            self.seal_calls += unanswered;
            self.notes.push(format!(
                "{unanswered} `restatectl logs seal {}` through N{} show no outcome of their seal task before the cut: each task may have started unlogged (the harness allows {} seal tasks)",
                self.s.log_id, self.s.sealer, self.seal_calls
            ));
            if !self.info_only.start_unlogged {
                self.info_only.start_unlogged = true;
                self.placed
                    .retain(|p| !matches!(p.item, Item::Event(Event::SealStarted { .. })));
            }
        }
        needs.extend(self.silent_successes());
        let unplaced: Vec<String> = self
            .drops
            .list
            .iter()
            .filter(|d| matches!(d.reason, DropReason::Unplaced(_)))
            .map(|d| {
                let node = d.node.map_or(String::new(), |n| format!(" of N{n}"));
                format!("{}{node} ({}:{})", d.kind, d.source.file, d.source.line)
            })
            .collect();
        if !unplaced.is_empty() {
            needs.push(format!(
                "DEBUG lines (RESTATE_LOG_FILTER={DEBUG_FILTER}): {} belong to a seal task whose start and cause (restatectl, a reader's assist, a shutdown, a reconfiguration) only the DEBUG lines tell",
                unplaced.join(", ")
            ));
        }
        if needs.is_empty() {
            return Ok(());
        }
        Err(ImportError::Inconclusive {
            dir: self.dir.to_path_buf(),
            needs,
        })
    }
}
