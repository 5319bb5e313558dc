//! What the importer does with each kind of raw record, and the account of what it dropped.
//!
//! [`scope`] is the table: every kind of [`Fact`] either becomes a model step ([`Scope::Step`]),
//! is read for the translation without an event of its own ([`Scope::Input`]), is out of the
//! model's scope for a stated reason ([`Scope::OutOfScope`]), or is something the model has no
//! step for yet ([`Scope::NeedsModelStep`]). The match has no catch-all arm, so a new kind of
//! fact does not compile until it is placed here.
//!
//! Every record the importer does not turn into an item is a [`Dropped`] with a
//! [`DropReason`]. A record of a `Step` kind may only be dropped because it is about another
//! loglet, because it falls after the trace's cut, or because it is a step of another node the
//! model cannot express yet; anything else is [`DropReason::Unplaced`], a gap of the importer
//! (the test `committed_recordings_drop_no_record_the_model_has_a_step_for` walks every
//! committed recording for them).

use std::collections::BTreeMap;

use crate::parse::{Fact, Source};

/// What the importer does with a kind of raw record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Becomes this trace event when it is about the scenario's loglet, sealer, sequencer or
    /// log servers.
    Step(&'static str),
    /// Read for the translation (what for); no event of its own.
    Input(&'static str),
    /// Not part of what the model describes (why).
    OutOfScope(&'static str),
    /// Part of the protocol, but the model has no step for it yet (the step it needs).
    NeedsModelStep(&'static str),
}

/// Why a raw record was not translated. `NeedsModelStep` is a seal task another node ran.
///
/// The reasons of other nodes' seal tasks (shutdown, auto-recovery, auto-improvement, failover,
/// unnamed) also name the task's kind in the notes where it is translated.
pub const SEAL_ASSIST: &str = "a seal assist: another node's find-tail runs a seal task on the loglet in a run whose sealer is also the sequencer (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";
/// Why a second seal assist of a loglet (a second find-tail reader's, or the same reader's
/// again) was not translated as the model's find-tail reader, which assists once.
pub const SECOND_SEAL_ASSIST: &str = "a second seal assist: another find-tail reader of the loglet (or the same one again) runs a seal task, also at the same moment as the first (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";
/// Why a tail repair in a run whose sealer is also the sequencer was not translated.
pub const TAIL_REPAIR: &str = "a tail repair: another node's find-tail repairs the loglet's tail (needs model step: tail repair in a run whose sealer is also the sequencer; the model has it only for a cluster with separate roles)";
/// Why a tail repair of another find-tail reader was not translated: past the model's bound
/// on such repairs, or a completion that matches no open repair.
pub const SECOND_FIND_TAIL: &str = "a tail repair of another find-tail reader past the model's 250 in one loglet, or a completion of no open repair (needs model step: more repairs of other readers)";
/// Why a record of a seal assist that fails was not translated.
pub const SEAL_ASSIST_FAILS: &str = "part of a seal assist that does not complete (needs model step: the model's seal assist waits for an f-majority and never fails)";
/// Why an appender's auto-recovery seal of the scenario's loglet was not translated.
pub const AUTO_RECOVERY_SEAL: &str = "an auto-recovery seal: a writer whose append met a sealed or terminating sequencer runs a seal task on the loglet before it extends the chain, and retries it (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";
/// Why a find-tail reader's seal before a tail repair was not translated.
pub const FIND_TAIL_REPAIR_SEAL: &str = "a find-tail seal: a reader that finds the sequencer gone and the members' tails apart seals the loglet before it repairs the tail (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";
/// Why a shutdown seal of the scenario's loglet on another node was not translated.
pub const SHUTDOWN_SEAL: &str = "a shutdown seal: a node being stopped runs a seal task on the loglet (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";

/// Why an auto-improvement reseal of the loglet (the watchdog moves the sequencer or grows
/// the nodeset) was not translated.
pub const AUTO_IMPROVEMENT_SEAL: &str = "an auto-improvement reseal: a node's bifrost watchdog seals the loglet to reconfigure the log (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";
/// Why an appender's reseal after a failed batch (a new partition leader after a failover)
/// was not translated.
pub const FAILOVER_SEAL: &str = "a failover reseal: an appender whose batch failed seals the loglet to reconfigure the log (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";
/// Why another node's seal task whose reason its log does not name was not translated (run
/// mode: e.g. a second node's seal task in the same millisecond as the operator's).
pub const OTHER_NODE_SEAL: &str = "a seal task another node runs for a reason its log does not name, concurrent with or after the loglet's other seals (translated as other-seal-started or other-seal-refused, then other-seal-completed or other-seal-failed; a record of it is dropped only past the model's 250 such tasks in one loglet: needs model step: more seal tasks of other nodes)";

/// Why a log server's `Loglet is now sealed on this log-server node` was not placed as an
/// observation: no seal task the trace holds had started by then, so the model could not have
/// sent that member a `Seal` yet and the observation would hold in none of its states.
pub const SEALED_BEFORE_ANY_TASK: &str = "a log server sealed its copy of the loglet before any seal task the trace holds started (a task the trace drops, one before its window, or one whose start the logs do not show sealed it): the model's member cannot be sealed at that point (needs model step: the seal task that sealed it)";

/// Why a member's exhausted Seal request of another node's seal task is not an item.
pub const OTHER_SEAL_MEMBER: &str = "another node's seal task gave up on a member: the model's seal tasks of other nodes do not wait on members one by one (the task's completion or failure is in the trace)";

/// Why an exhausted request other than a Seal (a store, a `GetLogletInfo` tail check) was not
/// translated (run mode).
pub const OTHER_REQUEST: &str = "a request other than Seal (a store, a GetLogletInfo tail check) gave up on a member: appends and reads are unlogged steps of the model";

/// The table: what the importer does with a fact of this kind.
pub fn scope(fact: &Fact) -> Scope {
    use Scope::*;
    match fact {
        Fact::SelfProvisioned { .. } => Step("provisioned"),
        Fact::SealStarted { .. } => Step("seal-started (seal-rejected when the all-Provisioning warning follows)"),
        Fact::AllProvisioningWarning { .. } => Step("seal-rejected"),
        Fact::SealCompleted { .. } => Step("seal-completed"),
        Fact::SealFailed { .. } => Step("seal-failed"),
        Fact::RequestExhausted { message: Some(m), .. } if m != "Seal" => OutOfScope(OTHER_REQUEST),
        Fact::RequestExhausted { .. } => Step("seal-request-failed"),
        Fact::SequencerDraining { .. } => Step("sequencer-sealed"),
        Fact::LogServerSealed { .. } => Step("observe-log-server with sealed = true (an observation, no local tail)"),
        Fact::StorageStateSet { .. } => Step("storage-state-set"),
        Fact::OperatorAction { action, .. } => match action.as_str() {
            "kill-node" | "stop-node" => Step("crashed"),
            "start-node" => Step("restarted (the first start of each node is the cluster's start)"),
            "node-exited" => Input("places the crash of a stopped node"),
            "pause-node" | "resume-node" => Input("a member paused during a seal task counts in faults.timeouts"),
            "net-fault" | "net-faults-cleared" => Input("a member cut off by a network fault (nft partition, loss or reset of its fabric port) during a seal task counts in faults.timeouts, like a pause"),
            "set-storage-state" => Input("whether the storage-state change was forced (faults.operator_force)"),
            "seal-log" => Input("counts the restatectl seal runs"),
            "shutdown" => Input("cuts the trace"),
            "ingress-send" => OutOfScope("a request to the ingress; the appends it causes are unlogged `append` steps whose number is config.appends"),
            _ => OutOfScope("a recorder action that does not touch the loglet (namespace, provisioning, deployment, returns of runs)"),
        },
        Fact::StorageMarkerWritten { .. } => Input("the earliest instant of `provisioned`"),
        Fact::SealRequested { .. } => Input("tells a restatectl seal from a shutdown seal"),
        Fact::SealCommandReturned { .. } => Input("the tail LSN restatectl reports, checked against the trace"),
        Fact::StorageStateObserved { .. } | Fact::LogletWorkerObserved { .. } => {
            Input("the same SQL rows, read from the snapshots themselves")
        }
        Fact::TailRepairStarted { .. } => Step("tail-repair-started (in a cluster with separate roles)"),
        Fact::TailRepairCompleted { .. } => Step("tail-repaired (in a cluster with separate roles)"),
        Fact::SealAssist { .. } => Input("tells a find-tail's seal assist from other seal tasks: in a cluster its seal task's start and completion are seal-assist-started and seal-assist-completed"),
        Fact::DataLossDetected { .. } => NeedsModelStep("a log server that lost its storage marker moves itself to DataLoss (needs model step: data-loss detection)"),
        Fact::ServerStarted { .. } => OutOfScope("a process start; the recorder's start-node places `restarted`"),
        Fact::StorageMarkerFound { .. } => OutOfScope("a restarted log server keeps its storage state; observations show it"),
        Fact::StorageStateAtStartup { .. } => OutOfScope("the state a log server starts in; observations show it"),
        Fact::LogProvisioned { .. } => OutOfScope("the log chain is created: chain level, before the loglet exists"),
        Fact::LogletCreated { .. } => OutOfScope("a node instantiates the loglet client; nodeset and sequencer are in meta.json and the header"),
        Fact::SequencerIsLocal { .. } => OutOfScope("which node sequences: the header's roles"),
        Fact::SealReturned { .. } => OutOfScope("seal() returned on the sealer: the harness learns the outcome already given by seal-completed"),
        Fact::ChainSealRepair { .. } => OutOfScope("chain level: the log's chain is sealed, not the loglet"),
        Fact::AutoRecovery { .. } => OutOfScope("chain level: the chain grows a new loglet"),
        Fact::WritesDisabled { reason, .. } if reason == "shutdown" => OutOfScope("a log store stops writing while its process shuts down (the recorder's stop-node is the crash)"),
        Fact::WritesDisabled { .. } => NeedsModelStep("a log store disables its writes (manually, or after a storage error) (needs model step: log-store fail-safe)"),
        Fact::PeerStateChanged { .. } => OutOfScope("the failure detector's view of peers; the model has no failure detector (timeouts are faults)"),
        Fact::LogChainObserved { .. } => OutOfScope("chain level: the logs table"),
        Fact::AutoImprovement { .. } => Input("announces the node's next seal task of that segment as an auto-improvement reseal"),
        Fact::AppendReconfigure { .. } => Input("announces the node's next seal task of that segment as an appender's failover reseal"),
        Fact::SevereLag { .. } => Input("a pause of the node ending here (its effects on seal tasks are the recorder's pause-node faults; a paused cluster controller acting as a second leader is left out of the model)"),
    }
}

/// The kind of a record as the notes name it: [`Fact::kind`], and an operator action's name.
pub fn record_kind(fact: &Fact) -> String {
    match fact {
        Fact::OperatorAction { action, .. } => format!("operator-action `{action}`"),
        other => other.kind().to_string(),
    }
}

/// Why a record was not translated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// About another loglet or log than the scenario's (named).
    OtherLoglet(String),
    /// After the recorder's shutdown action, where the trace is cut.
    AfterCut,
    /// Its kind is out of the model's scope (the table's reason).
    OutOfScope(&'static str),
    /// The model has no step for it yet.
    NeedsModelStep(&'static str),
    /// A detail of a model step that the model keeps coarse (what it leaves out, named): the
    /// step itself is in the trace, and no value of the detail changes what the model allows.
    Coarse(&'static str),
    /// Of a kind the model has a step for and about the scenario's loglet, yet not placed
    /// (why). A gap of the importer: the committed recordings have none.
    Unplaced(String),
}

/// One record that did not become an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// The record's kind ([`Fact::kind`]; for an operator action, also its name).
    pub kind: String,
    /// What the table says of the kind.
    pub scope: Scope,
    /// Where it was read.
    pub source: Source,
    /// The node whose log or action it is, if any.
    pub node: Option<u32>,
    /// Milliseconds since the run's start.
    pub at_ms: f64,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// The drops of one import, for the notes.
#[derive(Debug, Default)]
pub(crate) struct Drops {
    pub(crate) list: Vec<Dropped>,
    /// SQL rows (and whole snapshots) not written, by reason.
    pub(crate) rows: BTreeMap<String, usize>,
}

impl Drops {
    pub(crate) fn record(&mut self, d: Dropped) {
        self.list.push(d);
    }

    pub(crate) fn rows(&mut self, what: impl Into<String>, n: usize) {
        if n > 0 {
            *self.rows.entry(what.into()).or_default() += n;
        }
    }

    /// One line per record that needs a model step or was not placed; one line per group
    /// (kind and reason) with a count for the rest.
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.list {
            let at = format!(
                "{}{}:{} at {:.1} ms",
                d.node.map(|n| format!("N{n}'s ")).unwrap_or_default(),
                d.source.file,
                d.source.line,
                d.at_ms
            );
            match &d.reason {
                DropReason::NeedsModelStep(why) | DropReason::Coarse(why) => {
                    out.push(format!("dropped {} ({at}): {why}", d.kind))
                }
                DropReason::Unplaced(why) => {
                    out.push(format!("dropped {} ({at}), NOT PLACED: {why}", d.kind))
                }
                _ => {}
            }
        }
        let mut groups: BTreeMap<(String, &str), usize> = BTreeMap::new();
        for d in &self.list {
            let why = match &d.reason {
                DropReason::OtherLoglet(l) => format!("other loglets or logs ({l})"),
                DropReason::OutOfScope(why) => format!("out of scope: {why}"),
                DropReason::AfterCut
                | DropReason::NeedsModelStep(_)
                | DropReason::Coarse(_)
                | DropReason::Unplaced(_) => continue,
            };
            *groups.entry((why, d.kind.as_str())).or_default() += 1;
        }
        for ((why, kind), n) in groups {
            out.push(format!("dropped {n} {kind}: {why}"));
        }
        for (what, n) in &self.rows {
            out.push(format!("dropped {n} {what}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_nodes_seal_tasks_and_fail_safe_stores_need_model_steps() {
        // A seal assist's announcement tells its seal task apart; the task itself is a step
        // (seal-assist-started / -completed in a cluster).
        let assist = Fact::SealAssist {
            node: 3,
            loglet: "0_0".into(),
        };
        assert!(matches!(scope(&assist), Scope::Input(_)));
        let disabled = |reason: &str| Fact::WritesDisabled {
            node: 2,
            loglet: Some("0_0".into()),
            reason: reason.into(),
        };
        assert!(matches!(scope(&disabled("shutdown")), Scope::OutOfScope(_)));
        assert!(matches!(
            scope(&disabled("log-store error: disk full")),
            Scope::NeedsModelStep(_)
        ));
        let started = Fact::SealStarted {
            node: 1,
            loglet: "0_0".into(),
            already_sealed: false,
        };
        assert_eq!(
            scope(&started),
            Scope::Step("seal-started (seal-rejected when the all-Provisioning warning follows)")
        );
    }
}
