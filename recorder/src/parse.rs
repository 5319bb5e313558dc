//! Reading a raw directory back into one ordered list of neutral facts.
//!
//! [`parse_raw_dir`] merges four sources, each line stamped on the same wall clock:
//!
//! - **Server logs** (`logs/n<ID>.log`, JSON lines from restate-server 1.7.12, or Restate's text
//!   format: [`server_log`]). A line is attributed to the node whose file it is in; in a
//!   directory of logs alone ([`parse_logs_dir`]) a file's node is the one its lines name
//!   (`My Node ID is N1:2`), else its file name's number. Only the lines the
//!   seal protocol cares about become facts; they are matched on their `fields.message` text
//!   (exact prefixes listed in [`messages`]) and their structured fields (`loglet_id`,
//!   `nodeset`, `max_local_tail`, ...). Per-message Store/Seal handling is logged at TRACE,
//!   which release builds compile out, so individual Seal deliveries are not observable; the
//!   seal task's start, its end (with the per-node status `[N1(S), N2(E), N3(?)]`), per-peer
//!   exhausted retries and the admin's "Seal operation failed" are.
//! - **`restatectl.jsonl`**: outcomes of `logs seal` (restatectl exits 0 even when the seal
//!   failed; the ERROR text tells) and confirmations of `nodes set-storage-state`.
//! - **`sql.jsonl`**: snapshots of `nodes`, `loglet_workers` and `logs`, turned into
//!   *observations* that are emitted only when something changed since the previous snapshot
//!   of the same node / loglet / log (a snapshot's rows are stamped with the query's start).
//! - **`actions.jsonl`**: the recorder's own operator actions.
//!
//! Facts are sorted by time (stable: within one instant, file order is kept). Lines that are
//! not JSON (e.g. a panic message) and JSON lines that match nothing are skipped; a record file
//! line that is not a valid record is an [`Error::Malformed`] naming file, line and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::raw::{
    node_log_path, ActionRecord, CtlRecord, Meta, SqlRecord, ACTIONS_FILE, CTL_FILE, META_FILE,
    SQL_FILE,
};
use crate::text::{parse_nodeset, plain_node_id, seal_error, seal_succeeded, RestateNode};
use crate::time::{format_rfc3339, parse_rfc3339, Micros};
use crate::Error;

pub mod live;
pub mod server_log;

pub use server_log::ServerLog;

/// Exact message texts (or prefixes) of restate-server 1.7.12 that the parser matches.
pub mod messages {
    /// restate_server, INFO, first line of a process.
    pub const SERVER_STARTING: &str = "Starting Restate Server ";
    /// restate_log_server::service, DEBUG.
    pub const MARKER_WRITTEN: &str = "Written log-server storage marker for my node ";
    /// restate_log_server::service, DEBUG, on restart of a provisioned node.
    pub const MARKER_FOUND: &str = "Found log-server storage marker, written at ";
    /// restate_log_server::service, DEBUG: Provisioning -> ReadWrite done.
    pub const SELF_PROVISIONED: &str =
        "Log-store self-provisioning is complete, the node's log-store is now in read-write state";
    /// restate_log_server::service, DEBUG: state the log server starts in.
    pub const MY_STORAGE_STATE: &str = "My storage state: ";
    /// restate_log_server::service, WARN.
    pub const DATA_LOSS: &str = "Detected data loss for log-server of my node ";
    /// restate_bifrost::bifrost_admin, DEBUG: a log chain is being created (`log_id`).
    pub const LOG_PROVISIONING: &str = "Provisioning log";
    /// restate_bifrost::providers::replicated_loglet::provider, DEBUG: a node instantiates a
    /// loglet (`log_id`, `segment_index`, `loglet_id`, `nodeset`, `sequencer`, `replication`).
    pub const LOGLET_CLIENT: &str = "Creating a replicated loglet client";
    /// ...::replicated_loglet::loglet, DEBUG.
    pub const WE_ARE_SEQUENCER: &str = "We are the sequencer node for this loglet";
    /// ...::replicated_loglet::loglet, DEBUG: `seal()` entered (no loglet field; span has
    /// `log_id`).
    pub const ATTEMPT_SEAL: &str = "Attempting to seal loglet";
    /// ...::bifrost, DEBUG: shutdown seals open loglets (`loglet_id`).
    pub const ATTEMPT_SEAL_SHUTDOWN: &str = "Attempting to seal loglet due to shutdown";
    /// ...::tasks::seal, DEBUG (`loglet_id`, `is_sealed`).
    pub const SEAL_TASK_START: &str = "Starting a seal task for loglet";
    /// ...::tasks::seal, WARN (`loglet_id`, `is_sealed`).
    pub const ALL_PROVISIONING: &str =
        "Cannot seal the loglet as all nodeset members are in `Provisioning` storage state";
    /// ...::tasks::seal, INFO (`loglet_id`, `replication`, `max_local_tail`, `global_tail`);
    /// the message goes on `in <elapsed>. Nodeset status [N1(S), ...]`.
    pub const SEAL_TASK_DONE: &str = "Seal task completed on f-majority of nodes in ";
    /// restate_bifrost::bifrost_admin, WARN (`log_id`, `segment`, `err`).
    pub const SEAL_FAILED: &str = "Seal operation failed";
    /// Text of `err` in [`SEAL_FAILED`] for the seal task's failure.
    pub const SEAL_FAILED_ERR: &str =
        "could not seal loglet because insufficient nodes confirmed the seal. The nodeset status is ";
    /// ...::tasks::util, DEBUG: a request to one peer gave up (span: `loglet_id`, `message`,
    /// `node_id`).
    pub const REQUEST_EXHAUSTED: &str = "Request failed. Exhausted attempts after spending ";
    /// ...::replicated_loglet::loglet, DEBUG: `seal()` returned Ok (after the drain).
    pub const SEAL_DONE: &str = "seal() has completed successfully in ";
    /// ...::replicated_loglet::sequencer, DEBUG.
    pub const DRAINING: &str = "Draining sequencer, waiting for ";
    /// ...::tasks::find_tail, DEBUG: a reader completes a partial seal.
    pub const ASSIST_SEAL: &str = "Detected unsealed nodes. Running seal task to assist in sealing";
    /// ...::tasks::find_tail, DEBUG (`loglet_id`, `max_local_tail`; the message goes on
    /// `; status=[...]`): a reader that finds the sequencer gone and the members' tails
    /// apart seals the loglet before it repairs the tail.
    pub const GONE_SEQUENCER_SEAL: &str =
        "Detected gone (or likely gone) sequencer and inconsistent tail. Sealing the loglet to repair the tail";
    /// ...::tasks::repair_tail, INFO (`loglet_id`, `start_offset`, `target_tail`).
    pub const REPAIR_START: &str = "Tail records are under-replicated, starting a repair tail task";
    /// ...::tasks::repair_tail, INFO (`loglet_id`, `known_global_tail`); the message goes on
    /// `<n> record(s) have been repaired`.
    pub const REPAIR_DONE: &str = "Repair task completed, ";
    /// restate_bifrost::bifrost, DEBUG.
    pub const CHAIN_NOT_SEALED: &str = "is sealed but the chain is not. Sealing the chain";
    /// Appender auto-recovery (extends a sealed chain even with auto-improvement disabled).
    pub const AUTO_RECOVERY: &str = "[Auto Recovery] ";
    /// restate_bifrost::bifrost_admin: the span of the seal an appender's auto-recovery runs
    /// (inside `on_sealed_loglet`) before it extends the chain.
    pub const SPAN_AUTO_RECOVERY: &str = "seal_and_auto_extend_chain";
    /// restate_log_server::loglet_worker, DEBUG (`loglet_id`): the log server's seal of its copy
    /// of the loglet is durable (logged right after it lets the requests waiting for the seal
    /// answer `Sealed`). Restate 1.5.3 and 1.6.2 log it; 1.7.12 does not.
    pub const LOG_SERVER_SEALED: &str = "Loglet is now sealed on this log-server node";
    /// restate_log_server::loglet_worker, WARN.
    pub const WRITES_DISABLED: &str = "LogStore writes disabled";
    /// restate_node::failure_detector::node_state, INFO: `N2:1 transitioned from Alive to Dead`.
    pub const TRANSITIONED: &str = " transitioned from ";
    /// restate_bifrost::watchdog, DEBUG (`log_id`, `segment_index`): the node is about to seal
    /// the segment and extend the chain to improve placement (`... because sequencer can move
    /// from N1:2 to N3:1`).
    pub const AUTO_IMPROVEMENT: &str =
        "[Auto Improvement] Bifrost will reconfigure the log because ";
    /// restate_bifrost::appender, INFO (`log_id`, `segment_index`, `err`): an appender whose
    /// batch failed seals the segment and extends the chain.
    pub const APPEND_RECONFIGURE: &str =
        "Failed to append this batch. Will attempt to reconfigure the log";
    /// restate_node::failure_detector, WARN: the process was stalled (a SIGSTOP) for the time
    /// in parentheses (`Severe lag (7.954597297s) was detected ...`).
    pub const SEVERE_LAG: &str = "Severe lag (";
}

/// One node's part in a seal, as the seal task prints it (`S`, `E`, `?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeSealStatus {
    /// `S`: the node confirmed the seal.
    Sealed,
    /// `E`: all attempts to the node failed.
    Error,
    /// `?`: no answer yet when the task finished.
    Unknown,
}

/// A node and its seal status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Plain node id.
    pub node: u32,
    /// Its status.
    pub status: NodeSealStatus,
}

/// Parses a decorated nodeset such as `[N1(S), N2(E), N3(?)]`; `None` if ill-formed.
pub fn parse_nodeset_status(text: &str) -> Option<Vec<NodeStatus>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(vec![]);
    }
    inner
        .split(',')
        .map(|t| {
            let t = t.trim();
            let (id, rest) = t.strip_prefix('N')?.split_once('(')?;
            let status = match rest.strip_suffix(')')? {
                "S" => NodeSealStatus::Sealed,
                "E" => NodeSealStatus::Error,
                "?" => NodeSealStatus::Unknown,
                _ => return None,
            };
            Some(NodeStatus {
                node: id.parse().ok()?,
                status,
            })
        })
        .collect()
}

/// One segment of a log chain as observed in the `logs` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentObs {
    /// Segment index.
    pub segment_index: u64,
    /// First LSN of the segment.
    pub base_lsn: Option<u64>,
    /// `replicated`, or `sealed` for the marker of a sealed chain.
    pub kind: String,
    /// Loglet id, if replicated.
    pub loglet: Option<String>,
    /// Members of the loglet's nodeset (plain ids), in printed order.
    pub nodeset: Vec<u32>,
    /// The loglet's sequencer (generational id), if the row names one.
    pub sequencer: Option<RestateNode>,
}

/// A neutral fact about the run. `node` is always the node whose log printed the line (or that
/// a snapshot row is about); loglet ids are Restate's `<log>_<segment>` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fact {
    /// A server process started (`Starting Restate Server <version> ...`).
    ServerStarted {
        /// The node whose log printed the line.
        node: u32,
        /// Version text.
        version: String,
    },
    /// The log server wrote its storage marker (first step of self-provisioning).
    StorageMarkerWritten {
        /// The node whose log printed the line.
        node: u32,
    },
    /// A restarted log server found its marker.
    StorageMarkerFound {
        /// The node whose log printed the line.
        node: u32,
    },
    /// The log server moved itself Provisioning -> ReadWrite.
    SelfProvisioned {
        /// The node whose log printed the line.
        node: u32,
    },
    /// The storage state the log server runs with after start-up (`ReadWrite`, ...).
    StorageStateAtStartup {
        /// The node whose log printed the line.
        node: u32,
        /// State as printed (Debug form).
        state: String,
    },
    /// The log server found its marker missing and moved to DataLoss.
    DataLossDetected {
        /// The node whose log printed the line.
        node: u32,
    },
    /// A log chain is being created.
    LogProvisioned {
        /// Node doing it.
        node: u32,
        /// Log id.
        log_id: u64,
    },
    /// A node instantiated a replicated loglet (first occurrence = creation).
    LogletCreated {
        /// The node whose log printed the line.
        node: u32,
        /// Log id.
        log_id: u64,
        /// Segment index.
        segment_index: u64,
        /// Loglet id.
        loglet: String,
        /// Nodeset, printed order.
        nodeset: Vec<u32>,
        /// Sequencer (generational).
        sequencer: RestateNode,
        /// Replication property text.
        replication: String,
    },
    /// This node is the loglet's sequencer.
    SequencerIsLocal {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
    },
    /// `seal()` was called on a node's loglet (by restatectl's admin request, or on shutdown).
    SealRequested {
        /// The node whose log printed the line.
        node: u32,
        /// Log id, if known.
        log_id: Option<u64>,
        /// Loglet, if printed.
        loglet: Option<String>,
        /// `restatectl`, `shutdown`, `auto-recovery` (an appender's auto-recovery seals the
        /// loglet before it extends the chain), `find-tail-repair` (a reader that finds the
        /// sequencer gone and the tails apart seals before it repairs) or `other`.
        reason: String,
    },
    /// A reader's find-tail saw a partial seal and runs a seal task to complete it.
    SealAssist {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
    },
    /// A find-tail's tail repair started: records from `start_offset` up to `target_tail`
    /// (Restate offsets) lack a write quorum.
    TailRepairStarted {
        /// Node running find-tail.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
        /// First offset repaired.
        start_offset: Option<u64>,
        /// The tail repaired to.
        target_tail: Option<u64>,
    },
    /// A find-tail's tail repair completed.
    TailRepairCompleted {
        /// Node running find-tail.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
    },
    /// A seal task started.
    SealStarted {
        /// Node running the task.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
        /// The caller's view of the global tail was already sealed.
        already_sealed: bool,
    },
    /// The seal task refused: every nodeset member is Provisioning in the caller's view.
    AllProvisioningWarning {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
    },
    /// A seal task reached an f-majority.
    SealCompleted {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
        /// Per-node status when it returned.
        nodeset_status: Vec<NodeStatus>,
        /// The printed status text.
        nodeset_status_text: String,
        /// Max local tail among confirming nodes.
        max_local_tail: Option<u64>,
        /// The caller's known global tail.
        global_tail: Option<u64>,
        /// Replication text.
        replication: String,
        /// Elapsed time text (`1.116245ms`).
        elapsed: String,
    },
    /// The admin's seal failed (`Seal operation failed`).
    SealFailed {
        /// The node whose log printed the line.
        node: u32,
        /// Log id.
        log_id: Option<u64>,
        /// Segment index.
        segment: Option<u64>,
        /// `<log>_<segment>`, derived.
        loglet: Option<String>,
        /// Parsed status (empty for the all-Provisioning refusal).
        nodeset_status: Vec<NodeStatus>,
        /// The error text.
        error: String,
    },
    /// A request to one peer exhausted its attempts (for seals: the peer becomes `E`).
    RequestExhausted {
        /// Node sending.
        node: u32,
        /// The member the request went to (plain id, from the span's `node_id`).
        peer: Option<u32>,
        /// Message type (`Seal`, ...).
        message: Option<String>,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: Option<String>,
        /// Error text.
        error: String,
    },
    /// `seal()` returned Ok on this node (after the local sequencer drained, if any).
    SealReturned {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
    },
    /// The local sequencer drains in-flight appends before setting its sealed flag.
    SequencerDraining {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
        /// In-flight appends waited for.
        inflight: Option<u64>,
    },
    /// The loglet is sealed but its chain is not; bifrost seals the chain.
    ChainSealRepair {
        /// The node whose log printed the line.
        node: u32,
        /// Log id.
        log_id: Option<u64>,
    },
    /// The appender's auto-recovery acted (extends a sealed chain).
    AutoRecovery {
        /// The node whose log printed the line.
        node: u32,
        /// Message text.
        message: String,
    },
    /// A log server durably sealed its copy of a loglet (`Loglet is now sealed on this
    /// log-server node`, Restate 1.5.3 and 1.6.2).
    LogServerSealed {
        /// The log server whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
    },
    /// A loglet worker stopped accepting writes.
    WritesDisabled {
        /// The node whose log printed the line.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: Option<String>,
        /// Why, from the line's `reason` field (or the whole message without one).
        reason: String,
    },
    /// The failure detector of `node` changed its view of `peer`.
    PeerStateChanged {
        /// The node whose failure detector changed its view.
        node: u32,
        /// Peer (generational id).
        peer: RestateNode,
        /// The state before, as printed (`Alive`, `Suspect`, `Dead`, ...).
        from: String,
        /// The state after, as printed.
        to: String,
    },
    /// The node's bifrost watchdog will seal a segment and extend its chain to improve
    /// placement (auto-improvement).
    AutoImprovement {
        /// The node whose log printed the line.
        node: u32,
        /// Log id.
        log_id: u64,
        /// The segment it will seal.
        segment: u64,
        /// Why, as printed (`sequencer can move from N1:2 to N3:1`).
        because: String,
    },
    /// An appender's batch failed; it will seal the segment and extend the chain (the
    /// reconfiguration of a new partition leader after a failover).
    AppendReconfigure {
        /// The node whose log printed the line.
        node: u32,
        /// Log id.
        log_id: u64,
        /// The segment it appended to.
        segment: u64,
        /// The append's error text.
        error: String,
    },
    /// The node's failure detector found its own timer stalled: the process did not run for
    /// about `lag` (a pause ending here).
    SevereLag {
        /// The node whose log printed the line.
        node: u32,
        /// The stall as printed (`7.954597297s`).
        lag: String,
    },
    /// An operator action of the recorder.
    OperatorAction {
        /// Action name.
        action: String,
        /// Target nodes.
        nodes: Vec<u32>,
        /// The action's own record (`actions.jsonl` `detail`), e.g. `force` of a storage-state change.
        detail: Value,
    },
    /// A `restatectl logs seal` run returned.
    SealCommandReturned {
        /// `-S` node, if any.
        via: Option<u32>,
        /// Log id.
        log_id: Option<u64>,
        /// Whether restatectl reported the chain sealed.
        succeeded: bool,
        /// Tail LSN reported on success.
        tail_lsn: Option<u64>,
        /// ERROR text on failure.
        error: Option<String>,
        /// When restatectl finished.
        end_time_us: Micros,
    },
    /// restatectl confirmed a storage-state change.
    StorageStateSet {
        /// The node restatectl names in its confirmation.
        node: u32,
        /// Previous state.
        from: String,
        /// New state.
        to: String,
    },
    /// A `nodes` snapshot row that differs from the previous one for this node.
    StorageStateObserved {
        /// The node the row is about (its `plain_node_id`).
        node: u32,
        /// Storage state (`provisioning`, `read-write`, ...).
        state: String,
        /// Liveness (`alive`, `dead`, `suspect`).
        liveness: Option<String>,
        /// Generational id.
        generation: Option<RestateNode>,
        /// Nodes-configuration version the answering node had.
        version: Option<u64>,
    },
    /// A `loglet_workers` row that differs from the previous one for this node and loglet.
    LogletWorkerObserved {
        /// Log server.
        node: u32,
        /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
        loglet: String,
        /// Local tail.
        local_tail: Option<u64>,
        /// Staging local tail.
        staging_local_tail: Option<u64>,
        /// Known global tail.
        known_global_tail: Option<u64>,
        /// Durably sealed.
        sealed: Option<bool>,
        /// Seal enqueued.
        seal_enqueued: Option<bool>,
        /// Accepting writes.
        accepting_writes: Option<bool>,
        /// Sequencer known to the worker.
        sequencer: Option<RestateNode>,
    },
    /// A log chain as the `logs` table shows it, when it changed.
    LogChainObserved {
        /// Log id.
        log_id: u64,
        /// Its segments, by segment index.
        segments: Vec<SegmentObs>,
    },
}

impl Fact {
    /// The node whose log printed the line, or that a snapshot row is about; `None` for
    /// operator actions, restatectl runs and log chains.
    pub fn node(&self) -> Option<u32> {
        match self {
            Fact::ServerStarted { node, .. }
            | Fact::StorageMarkerWritten { node }
            | Fact::StorageMarkerFound { node }
            | Fact::SelfProvisioned { node }
            | Fact::StorageStateAtStartup { node, .. }
            | Fact::DataLossDetected { node }
            | Fact::LogProvisioned { node, .. }
            | Fact::LogletCreated { node, .. }
            | Fact::SequencerIsLocal { node, .. }
            | Fact::SealRequested { node, .. }
            | Fact::SealAssist { node, .. }
            | Fact::TailRepairStarted { node, .. }
            | Fact::TailRepairCompleted { node, .. }
            | Fact::SealStarted { node, .. }
            | Fact::AllProvisioningWarning { node, .. }
            | Fact::SealCompleted { node, .. }
            | Fact::SealFailed { node, .. }
            | Fact::RequestExhausted { node, .. }
            | Fact::SealReturned { node, .. }
            | Fact::SequencerDraining { node, .. }
            | Fact::ChainSealRepair { node, .. }
            | Fact::AutoRecovery { node, .. }
            | Fact::LogServerSealed { node, .. }
            | Fact::WritesDisabled { node, .. }
            | Fact::PeerStateChanged { node, .. }
            | Fact::AutoImprovement { node, .. }
            | Fact::AppendReconfigure { node, .. }
            | Fact::SevereLag { node, .. }
            | Fact::StorageStateSet { node, .. }
            | Fact::StorageStateObserved { node, .. }
            | Fact::LogletWorkerObserved { node, .. } => Some(*node),
            Fact::OperatorAction { .. }
            | Fact::SealCommandReturned { .. }
            | Fact::LogChainObserved { .. } => None,
        }
    }

    /// The fact's kind as its JSON form names it (`seal-started`, `operator-action`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::ServerStarted { .. } => "server-started",
            Fact::StorageMarkerWritten { .. } => "storage-marker-written",
            Fact::StorageMarkerFound { .. } => "storage-marker-found",
            Fact::SelfProvisioned { .. } => "self-provisioned",
            Fact::StorageStateAtStartup { .. } => "storage-state-at-startup",
            Fact::DataLossDetected { .. } => "data-loss-detected",
            Fact::LogProvisioned { .. } => "log-provisioned",
            Fact::LogletCreated { .. } => "loglet-created",
            Fact::SequencerIsLocal { .. } => "sequencer-is-local",
            Fact::SealRequested { .. } => "seal-requested",
            Fact::SealAssist { .. } => "seal-assist",
            Fact::TailRepairStarted { .. } => "tail-repair-started",
            Fact::TailRepairCompleted { .. } => "tail-repair-completed",
            Fact::SealStarted { .. } => "seal-started",
            Fact::AllProvisioningWarning { .. } => "all-provisioning-warning",
            Fact::SealCompleted { .. } => "seal-completed",
            Fact::SealFailed { .. } => "seal-failed",
            Fact::RequestExhausted { .. } => "request-exhausted",
            Fact::SealReturned { .. } => "seal-returned",
            Fact::SequencerDraining { .. } => "sequencer-draining",
            Fact::ChainSealRepair { .. } => "chain-seal-repair",
            Fact::AutoRecovery { .. } => "auto-recovery",
            Fact::LogServerSealed { .. } => "log-server-sealed",
            Fact::WritesDisabled { .. } => "writes-disabled",
            Fact::PeerStateChanged { .. } => "peer-state-changed",
            Fact::AutoImprovement { .. } => "auto-improvement",
            Fact::AppendReconfigure { .. } => "append-reconfigure",
            Fact::SevereLag { .. } => "severe-lag",
            Fact::OperatorAction { .. } => "operator-action",
            Fact::SealCommandReturned { .. } => "seal-command-returned",
            Fact::StorageStateSet { .. } => "storage-state-set",
            Fact::StorageStateObserved { .. } => "storage-state-observed",
            Fact::LogletWorkerObserved { .. } => "loglet-worker-observed",
            Fact::LogChainObserved { .. } => "log-chain-observed",
        }
    }
}

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// File name relative to the raw directory.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// A fact with its time and source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedFact {
    /// Microseconds since the Unix epoch.
    pub time_us: Micros,
    /// RFC 3339 form of `time_us`.
    pub time: String,
    /// Where it was read.
    pub source: Source,
    /// The fact.
    pub fact: Fact,
}

/// A parsed raw directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRun {
    /// `meta.json`.
    pub meta: Meta,
    /// Facts, ordered by time.
    pub facts: Vec<TimedFact>,
    /// Every SQL snapshot, in file order, with both ends of its query and every row (the
    /// `*Observed` facts only report changes, stamped with the query's start).
    pub snapshots: Vec<SqlSnapshot>,
    /// Every server log read, in node order, with what it shows about itself.
    pub logs: Vec<ServerLog>,
    /// Every `restatectl nodes set-storage-state` run (`restatectl.jsonl`): when it ran and
    /// whether it was forced.
    pub storage_runs: Vec<StorageRun>,
    /// The record files (`actions.jsonl`, `restatectl.jsonl`, `sql.jsonl`) the directory lacks.
    pub absent: Vec<String>,
    /// Whether the directory had no `meta.json` and [`RawRun::meta`] was derived from the
    /// server logs ([`parse_logs_dir`]).
    pub meta_derived: bool,
    /// Files of a directory of server logs that were not read as one: no line in Restate's
    /// JSON or text format, and no node number in the name or a further file of a node that
    /// already has a log (empty, or compressed) ([`parse_logs_dir`]).
    pub skipped: Vec<String>,
}

/// One `restatectl nodes set-storage-state` run, as `restatectl.jsonl` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageRun {
    /// When restatectl started: the change may have landed from then on.
    pub time_us: Micros,
    /// When it returned.
    pub end_time_us: Micros,
    /// Whether the command line had `--force`.
    pub forced: bool,
}

impl RawRun {
    /// Facts matching `pred`, in order.
    pub fn filter<'a>(
        &'a self,
        pred: impl Fn(&Fact) -> bool + 'a,
    ) -> impl Iterator<Item = &'a TimedFact> + 'a {
        self.facts.iter().filter(move |f| pred(&f.fact))
    }
}

fn malformed(file: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Malformed {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Reads a raw directory (layout in [`crate::raw`]) into a [`RawRun`]. Missing record files
/// count as empty; a missing `meta.json` or an ill-formed record is an error.
pub fn parse_raw_dir(dir: &Path) -> Result<RawRun, Error> {
    let meta_path = dir.join(META_FILE);
    let meta_bytes = crate::raw::read_capped(&meta_path, crate::raw::MAX_META_BYTES)
        .map_err(|e| Error::io(&meta_path, e))?;
    let meta_text =
        String::from_utf8(meta_bytes).map_err(|e| malformed(&meta_path, 0, e.to_string()))?;
    let meta: Meta = serde_json::from_str(&meta_text)
        .map_err(|e| malformed(&meta_path, e.line(), e.to_string()))?;
    let mut facts = Vec::new();
    let mut logs = Vec::new();
    for n in &meta.nodes {
        let path = node_log_path(dir, n.id);
        if path.exists() {
            let rel = format!("logs/n{}.log", n.id);
            logs.push(parse_server_log(
                &path,
                &rel,
                n.id,
                "its file name",
                &mut facts,
            )?);
        }
    }
    records(dir, meta, facts, logs)
}

/// The record files of a raw directory (each optional), merged with the server logs' facts.
fn records(
    dir: &Path,
    meta: Meta,
    mut facts: Vec<TimedFact>,
    logs: Vec<ServerLog>,
) -> Result<RawRun, Error> {
    let storage_runs = parse_ctl(&dir.join(CTL_FILE), &mut facts)?;
    let snapshots = sql_snapshots(&dir.join(SQL_FILE))?;
    observed_facts(&snapshots, &mut facts);
    parse_actions(&dir.join(ACTIONS_FILE), &mut facts)?;
    facts.sort_by_key(|f| f.time_us);
    let absent = [ACTIONS_FILE, CTL_FILE, SQL_FILE]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .map(str::to_string)
        .collect();
    Ok(RawRun {
        meta,
        facts,
        snapshots,
        logs,
        storage_runs,
        absent,
        meta_derived: false,
        skipped: Vec::new(),
    })
}

/// How far (microseconds) the last line of one file of a node's log may be stamped after the
/// first line of the next (Restate's threads write a few ms out of order; a rotated file ends
/// where the next begins).
const ROTATION_OVERLAP_US: Micros = 100_000;

/// Joins the files of one node's log (a rotated log: `n1.log.1`, `n1.log`) into one log, in
/// the order of their first lines. Files that overlap in time (by more than
/// [`ROTATION_OVERLAP_US`]) are not one log cut in pieces: an error names both. A further file
/// of a node without a timestamped line (empty, or compressed) adds nothing: it is returned
/// with the files not read, so that the notes name it.
fn join_rotated(
    dir: &Path,
    mut logs: Vec<ServerLog>,
    unread: &mut Vec<String>,
) -> Result<Vec<ServerLog>, Error> {
    logs.sort_by_key(|l| (l.node, l.first_us.unwrap_or(Micros::MAX)));
    let mut joined: Vec<ServerLog> = Vec::new();
    for log in logs {
        let Some(prev) = joined.last_mut().filter(|p| p.node == log.node) else {
            joined.push(log);
            continue;
        };
        let (Some(prev_last), Some(first)) = (prev.last_us, log.first_us) else {
            unread.push(log.file);
            continue;
        };
        if prev_last > first.saturating_add(ROTATION_OVERLAP_US) {
            return Err(malformed(
                &dir.join(&log.file),
                0,
                format!(
                    "a second log of N{} that overlaps {} in time ({} begins {:.3} s before {} ends): the files of one node's log must follow each other (a rotated log)",
                    log.node,
                    prev.file,
                    log.file,
                    (prev_last - first) as f64 / 1e6,
                    prev.file
                ),
            ));
        }
        prev.file = format!("{} + {}", prev.file, log.file);
        if log.named_by == "its own lines" {
            prev.named_by = log.named_by;
        }
        prev.debug_lines += log.debug_lines;
        prev.lines += log.lines;
        prev.last_us = prev.last_us.max(log.last_us);
        prev.shutdown_signals.extend(log.shutdown_signals);
        prev.process_starts.extend(log.process_starts);
        prev.out_of_order_lines += log.out_of_order_lines;
        prev.max_skew_us = prev.max_skew_us.max(log.max_skew_us);
    }
    Ok(joined)
}

/// Reads a directory that holds only server logs (one file per node, or a node's rotated
/// files, any names, JSON or text format) and whichever of `restatectl.jsonl`, `sql.jsonl` and
/// `actions.jsonl` it has. Each log's node is the one its lines name (`My Node ID is N1:2`),
/// else the one its file name suggests (the log's `named_by` says which). The [`Meta`] is derived from the facts
/// ([`RawRun::meta_derived`]): the seal the log names as restatectl's gives the sealer and the
/// log, the sealer's first seal task of that log the loglet, its creation line the nodeset,
/// sequencer and replication; what no line shows stays unset.
pub fn parse_logs_dir(dir: &Path) -> Result<RawRun, Error> {
    let mut facts = Vec::new();
    let mut logs: Vec<ServerLog> = Vec::new();
    let mut skipped = Vec::new();
    for path in server_log::log_files(dir)? {
        let texts = read_lines(&path)?;
        let values = server_log::text_lines(&texts);
        // Not a server log at all (a README, a trace written next to the logs): no line in
        // Restate's JSON or text format, whatever the file is called.
        if values.is_empty() {
            skipped.push(
                path.strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
            continue;
        }
        let (node, named_by) = match server_log::node_named_in(&values) {
            Some(n) => (n, "its own lines"),
            None => match server_log::node_from_path(dir, &path) {
                Some(n) => (n, "its file name"),
                None => {
                    return Err(malformed(
                        &path,
                        0,
                        "no line names the node (`My Node ID is N1:...`) and the file name has no node number",
                    ))
                }
            },
        };
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        logs.push(parse_server_log(&path, &rel, node, named_by, &mut facts)?);
    }
    let logs = join_rotated(dir, logs, &mut skipped)?;
    if logs.is_empty() {
        let why = if skipped.is_empty() {
            "no server log in the directory".to_string()
        } else {
            format!(
                "no server log in the directory (not read, no line in Restate's JSON or text log format: {})",
                skipped.join(", ")
            )
        };
        return Err(malformed(dir, 0, why));
    }
    facts.sort_by_key(|f| f.time_us);
    let meta = derived_meta(dir, &facts, &logs);
    let mut run = records(dir, meta, facts, logs)?;
    run.meta_derived = true;
    run.skipped = skipped;
    Ok(run)
}

/// The [`Meta`] a directory of server logs implies (see [`parse_logs_dir`]).
fn derived_meta(dir: &Path, facts: &[TimedFact], logs: &[ServerLog]) -> Meta {
    let sealer = facts.iter().find_map(|f| match &f.fact {
        Fact::SealRequested {
            node,
            log_id: Some(l),
            reason,
            ..
        } if reason == "restatectl" => Some((*node, *l)),
        _ => None,
    });
    let loglet = sealer.and_then(|(node, log)| {
        facts.iter().find_map(|f| match &f.fact {
            Fact::SealStarted {
                node: n, loglet, ..
            } if *n == node && loglet.starts_with(&format!("{log}_")) => Some(loglet.clone()),
            _ => None,
        })
    });
    let created = loglet.as_ref().and_then(|l| {
        facts.iter().find_map(|f| match &f.fact {
            Fact::LogletCreated {
                loglet,
                nodeset,
                sequencer,
                replication,
                ..
            } if loglet == l => Some((nodeset.clone(), *sequencer, replication.clone())),
            _ => None,
        })
    });
    let version = facts.iter().find_map(|f| match &f.fact {
        Fact::ServerStarted { version, .. } => Some(version.clone()),
        _ => None,
    });
    Meta {
        scenario: dir
            .file_name()
            .map_or("logs".into(), |n| n.to_string_lossy().to_string()),
        restate_version: version.unwrap_or_else(|| "unknown".into()),
        cluster_name: String::new(),
        nodes: logs
            .iter()
            .map(|l| crate::raw::NodeMeta {
                id: l.node,
                name: format!("n{}", l.node),
                fabric_port: 0,
                admin_port: 0,
                ingress_port: 0,
            })
            .collect(),
        num_partitions: 0,
        log_replication: created.as_ref().map_or(String::new(), |c| c.2.clone()),
        log_id: sealer.map_or(0, |s| s.1),
        loglet_id: loglet,
        nodeset: created.as_ref().map_or(Vec::new(), |c| c.0.clone()),
        replication: created.as_ref().map(|c| c.2.clone()),
        sequencer: created.as_ref().map(|c| c.1.to_string()),
        seal_via: sealer.map(|s| s.0),
        started_us: logs.iter().filter_map(|l| l.first_us).min().unwrap_or(0),
        ended_us: logs.iter().filter_map(|l| l.last_us).max().unwrap_or(0),
        notes: Vec::new(),
    }
}

fn read_lines(path: &Path) -> Result<Vec<String>, Error> {
    if !path.exists() {
        return Ok(vec![]);
    }
    let text = crate::raw::read_capped(path, crate::raw::MAX_RAW_FILE_BYTES)
        .map_err(|e| Error::io(path, e))?;
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect())
}

fn push(facts: &mut Vec<TimedFact>, time_us: Micros, file: &str, line: usize, fact: Fact) {
    facts.push(TimedFact {
        time_us,
        time: format_rfc3339(time_us),
        source: Source {
            file: file.to_string(),
            line,
        },
        fact,
    });
}

fn str_field<'a>(fields: &'a Value, k: &str) -> Option<&'a str> {
    fields.get(k).and_then(Value::as_str)
}

fn num_field(fields: &Value, k: &str) -> Option<u64> {
    match fields.get(k)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn bool_field(fields: &Value, k: &str) -> Option<bool> {
    match fields.get(k)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Looks a field up in the innermost span that has it.
fn span_field(line: &Value, k: &str) -> Option<String> {
    let spans = line.get("spans")?.as_array()?;
    spans.iter().rev().find_map(|s| match s.get(k)? {
        Value::String(v) => Some(v.clone()),
        v => Some(v.to_string()),
    })
}

/// Whether the line was logged inside a span named `name`.
fn in_span(line: &Value, name: &str) -> bool {
    line.get("spans")
        .and_then(Value::as_array)
        .is_some_and(|spans| {
            spans
                .iter()
                .any(|s| s.get("name").and_then(Value::as_str) == Some(name))
        })
}

/// Turns one server log line into a fact, if it is one the parser knows. `node` is the node
/// whose log file the line is in.
pub fn fact_from_server_line(node: u32, line: &Value) -> Option<Fact> {
    let fields = line.get("fields")?;
    let msg = str_field(fields, "message")?;
    startup_fact(node, msg, fields)
        .or_else(|| seal_fact(node, msg, line, fields))
        .or_else(|| other_fact(node, msg, line, fields))
}

/// Lines of a server's start and its log server's provisioning, and loglet creation.
fn startup_fact(node: u32, msg: &str, fields: &Value) -> Option<Fact> {
    use messages as m;
    let loglet = || str_field(fields, "loglet_id").map(str::to_string);
    let fact = if let Some(rest) = msg.strip_prefix(m::SERVER_STARTING) {
        Fact::ServerStarted {
            node,
            version: rest.split_whitespace().next().unwrap_or("").to_string(),
        }
    } else if msg.starts_with(m::MARKER_WRITTEN) {
        Fact::StorageMarkerWritten { node }
    } else if msg.starts_with(m::MARKER_FOUND) {
        Fact::StorageMarkerFound { node }
    } else if msg == m::SELF_PROVISIONED {
        Fact::SelfProvisioned { node }
    } else if let Some(state) = msg.strip_prefix(m::MY_STORAGE_STATE) {
        Fact::StorageStateAtStartup {
            node,
            state: state.to_string(),
        }
    } else if msg.starts_with(m::DATA_LOSS) {
        Fact::DataLossDetected { node }
    } else if msg == m::LOG_PROVISIONING {
        Fact::LogProvisioned {
            node,
            log_id: num_field(fields, "log_id")?,
        }
    } else if msg == m::LOGLET_CLIENT {
        Fact::LogletCreated {
            node,
            log_id: num_field(fields, "log_id")?,
            segment_index: num_field(fields, "segment_index")?,
            loglet: loglet()?,
            nodeset: parse_nodeset(str_field(fields, "nodeset")?),
            sequencer: RestateNode::parse(str_field(fields, "sequencer")?)?,
            replication: str_field(fields, "replication")?.to_string(),
        }
    } else if msg == m::WE_ARE_SEQUENCER {
        Fact::SequencerIsLocal {
            node,
            loglet: loglet()?,
        }
    } else {
        return None;
    };
    Some(fact)
}

/// Lines of `seal()` calls, seal tasks, find-tail assists and repairs.
fn seal_fact(node: u32, msg: &str, line: &Value, fields: &Value) -> Option<Fact> {
    use messages as m;
    let loglet = || str_field(fields, "loglet_id").map(str::to_string);
    let fact = if msg == m::ATTEMPT_SEAL_SHUTDOWN {
        Fact::SealRequested {
            node,
            log_id: None,
            loglet: loglet(),
            reason: "shutdown".into(),
        }
    } else if msg == m::ATTEMPT_SEAL {
        let meta = span_field(line, "metadata").unwrap_or_default();
        Fact::SealRequested {
            node,
            log_id: span_field(line, "log_id").and_then(|s| s.parse().ok()),
            loglet: loglet(),
            reason: if meta.contains("restatectl") {
                "restatectl".into()
            } else if in_span(line, m::SPAN_AUTO_RECOVERY) {
                "auto-recovery".into()
            } else {
                "other".into()
            },
        }
    } else if msg.starts_with(m::GONE_SEQUENCER_SEAL) {
        Fact::SealRequested {
            node,
            log_id: None,
            loglet: loglet(),
            reason: "find-tail-repair".into(),
        }
    } else if let Some(rest) = msg.strip_prefix(m::ASSIST_SEAL) {
        Fact::SealAssist {
            node,
            loglet: match rest.trim().strip_prefix("loglet_id=") {
                Some(l) => l.to_string(),
                // Restate's text format prints it as a field.
                None => loglet()?,
            },
        }
    } else if msg == m::REPAIR_START {
        Fact::TailRepairStarted {
            node,
            loglet: loglet()?,
            start_offset: num_field(fields, "start_offset"),
            target_tail: num_field(fields, "target_tail"),
        }
    } else if msg.starts_with(m::REPAIR_DONE) {
        Fact::TailRepairCompleted {
            node,
            loglet: loglet()?,
        }
    } else if msg == m::SEAL_TASK_START {
        Fact::SealStarted {
            node,
            loglet: loglet()?,
            already_sealed: bool_field(fields, "is_sealed").unwrap_or(false),
        }
    } else if msg == m::ALL_PROVISIONING {
        Fact::AllProvisioningWarning {
            node,
            loglet: loglet()?,
        }
    } else if let Some(rest) = msg.strip_prefix(m::SEAL_TASK_DONE) {
        let (elapsed, status) = rest.split_once(". Nodeset status ")?;
        Fact::SealCompleted {
            node,
            loglet: loglet()?,
            nodeset_status: parse_nodeset_status(status)?,
            nodeset_status_text: status.to_string(),
            max_local_tail: num_field(fields, "max_local_tail"),
            global_tail: num_field(fields, "global_tail"),
            replication: str_field(fields, "replication").unwrap_or("").to_string(),
            elapsed: elapsed.to_string(),
        }
    } else if msg == m::SEAL_FAILED {
        let err = str_field(fields, "err").unwrap_or("").to_string();
        let log_id = num_field(fields, "log_id");
        let segment = num_field(fields, "segment");
        Fact::SealFailed {
            node,
            log_id,
            segment,
            loglet: log_id.zip(segment).map(|(l, s)| format!("{l}_{s}")),
            nodeset_status: err
                .strip_prefix(m::SEAL_FAILED_ERR)
                .and_then(parse_nodeset_status)
                .unwrap_or_default(),
            error: err,
        }
    } else if msg.starts_with(m::REQUEST_EXHAUSTED) {
        Fact::RequestExhausted {
            node,
            peer: span_field(line, "node_id").and_then(|s| plain_node_id(&s)),
            message: span_field(line, "message"),
            loglet: span_field(line, "loglet_id"),
            error: str_field(fields, "err").unwrap_or("").to_string(),
        }
    } else {
        return None;
    };
    Some(fact)
}

/// `seal()` returning, the sequencer's drain, chain repairs, auto-recovery, a log server's
/// durable seal, disabled writes and the failure detector's view of peers.
fn other_fact(node: u32, msg: &str, line: &Value, fields: &Value) -> Option<Fact> {
    use messages as m;
    let loglet = || str_field(fields, "loglet_id").map(str::to_string);
    let fact = if msg.starts_with(m::SEAL_DONE) {
        Fact::SealReturned {
            node,
            loglet: loglet()?,
        }
    } else if let Some(rest) = msg.strip_prefix(m::DRAINING) {
        Fact::SequencerDraining {
            node,
            loglet: loglet()?,
            inflight: rest.split_whitespace().next().and_then(|n| n.parse().ok()),
        }
    } else if msg.contains(m::CHAIN_NOT_SEALED) {
        Fact::ChainSealRepair {
            node,
            log_id: num_field(fields, "log_id"),
        }
    } else if let Some(because) = msg.strip_prefix(m::AUTO_IMPROVEMENT) {
        Fact::AutoImprovement {
            node,
            log_id: num_field(fields, "log_id")?,
            segment: num_field(fields, "segment_index")?,
            because: because.to_string(),
        }
    } else if msg == m::APPEND_RECONFIGURE {
        Fact::AppendReconfigure {
            node,
            log_id: num_field(fields, "log_id")?,
            segment: num_field(fields, "segment_index")?,
            error: str_field(fields, "err").unwrap_or("").to_string(),
        }
    } else if let Some(rest) = msg.strip_prefix(m::SEVERE_LAG) {
        Fact::SevereLag {
            node,
            lag: rest.split(')').next().unwrap_or("").to_string(),
        }
    } else if msg.starts_with(m::AUTO_RECOVERY) {
        Fact::AutoRecovery {
            node,
            message: msg.to_string(),
        }
    } else if msg == m::LOG_SERVER_SEALED {
        Fact::LogServerSealed {
            node,
            loglet: loglet()?,
        }
    } else if msg.starts_with(m::WRITES_DISABLED) {
        Fact::WritesDisabled {
            node,
            loglet: loglet(),
            reason: str_field(fields, "reason").unwrap_or(msg).to_string(),
        }
    } else if line.get("target").and_then(Value::as_str)
        == Some("restate_node::failure_detector::node_state")
        && msg.contains(m::TRANSITIONED)
    {
        let (peer, rest) = msg.split_once(m::TRANSITIONED)?;
        let (from, to) = rest.split_once(" to ")?;
        Fact::PeerStateChanged {
            node,
            peer: RestateNode::parse(peer)?,
            from: from.split('(').next()?.to_string(),
            to: to.split_whitespace().next()?.to_string(),
        }
    } else {
        return None;
    };
    Some(fact)
}

fn parse_server_log(
    path: &Path,
    rel: &str,
    node: u32,
    named_by: &str,
    facts: &mut Vec<TimedFact>,
) -> Result<ServerLog, Error> {
    let mut parser = ServerLogParser::new(path, rel, node, named_by);
    for (n, line) in server_log::text_lines(&read_lines(path)?) {
        parser.line(n, &line, facts)?;
    }
    Ok(parser.log)
}

/// Reads one server log line by line: its facts, and what the log shows about itself.
#[derive(Debug, Clone)]
pub struct ServerLogParser {
    path: PathBuf,
    /// What the lines read so far show.
    pub log: ServerLog,
    /// The latest stamp read so far.
    latest: Micros,
}

impl ServerLogParser {
    /// A parser of the log `path` (`rel` from the raw directory) of `node`, identified by
    /// `named_by`.
    pub fn new(path: &Path, rel: &str, node: u32, named_by: &str) -> ServerLogParser {
        ServerLogParser {
            path: path.to_path_buf(),
            log: ServerLog {
                node,
                file: rel.to_string(),
                named_by: named_by.to_string(),
                has_process_start: false,
                debug_lines: 0,
                lines: 0,
                first_us: None,
                last_us: None,
                shutdown_signals: Vec::new(),
                process_starts: Vec::new(),
                out_of_order_lines: 0,
                max_skew_us: 0,
            },
            latest: Micros::MIN,
        }
    }

    /// Reads line `n` (1-based) of the log, as [`server_log::text_lines`] gives it; its fact,
    /// if it states one, goes to `facts`.
    pub fn line(
        &mut self,
        n: usize,
        line: &Value,
        facts: &mut Vec<TimedFact>,
    ) -> Result<(), Error> {
        let Some(ts) = line.get("timestamp").and_then(Value::as_str) else {
            return Ok(());
        };
        let time = parse_rfc3339(ts).ok_or_else(|| {
            malformed(
                &self.path,
                n,
                format!("field `timestamp`: {ts:?} is not UTC RFC 3339"),
            )
        })?;
        let log = &mut self.log;
        // Counted, not clamped: a line written after another may carry the earlier stamp of
        // the thread that produced it, which is the causal order (incident-forced's n3.log:72,
        // an all-Provisioning warning written before the lines of the seal task it ends).
        if time < self.latest {
            log.out_of_order_lines += 1;
            log.max_skew_us = log.max_skew_us.max(self.latest - time);
        }
        let msg = line["fields"]["message"].as_str().unwrap_or("");
        if log.lines == 0 {
            log.has_process_start = msg.starts_with(messages::SERVER_STARTING);
            log.first_us = Some(time);
        }
        log.lines += 1;
        log.last_us = Some(time);
        self.latest = self.latest.max(time);
        if line.get("level").and_then(Value::as_str) == Some("DEBUG") {
            log.debug_lines += 1;
        }
        if msg == server_log::SHUTDOWN_SIGNAL {
            log.shutdown_signals.push(time);
        }
        if msg.starts_with(messages::SERVER_STARTING) {
            log.process_starts.push(time);
        }
        if let Some(f) = fact_from_server_line(log.node, line) {
            push(facts, time, &log.file, n, f);
        }
        Ok(())
    }
}

fn parse_records<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<(usize, T)>, Error> {
    let mut out = Vec::new();
    for (i, text) in read_lines(path)?.iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let rec = serde_json::from_str(text).map_err(|e| malformed(path, i + 1, e.to_string()))?;
        out.push((i + 1, rec));
    }
    Ok(out)
}

fn arg_after(cmd: &[String], flag: &str) -> Option<String> {
    cmd.iter()
        .position(|a| a == flag)
        .and_then(|i| cmd.get(i + 1))
        .cloned()
}

fn parse_ctl(path: &Path, facts: &mut Vec<TimedFact>) -> Result<Vec<StorageRun>, Error> {
    let mut runs = Vec::new();
    for (line, rec) in parse_records::<CtlRecord>(path)? {
        ctl_record(line, &rec, facts, &mut runs);
    }
    Ok(runs)
}

/// The facts and the storage-state run of one `restatectl.jsonl` record (line `line`).
fn ctl_record(
    line: usize,
    rec: &CtlRecord,
    facts: &mut Vec<TimedFact>,
    runs: &mut Vec<StorageRun>,
) {
    let pos = |w: &str| rec.cmd.iter().position(|a| a == w);
    if let (Some(l), Some(s)) = (pos("logs"), pos("seal")) {
        if s == l + 1 {
            let log_id = rec.cmd.get(s + 1).and_then(|a| a.parse().ok());
            let via = arg_after(&rec.cmd, "-S").and_then(|a| {
                let port: u32 = a.trim_end_matches('/').rsplit(':').next()?.parse().ok()?;
                Some(port / 10_000)
            });
            let succeeded = seal_succeeded(rec);
            let tail_lsn = rec.stdout.lines().find_map(|l| {
                l.split_once("Tail LSN:")
                    .and_then(|(_, n)| n.trim().parse().ok())
            });
            push(
                facts,
                rec.time_us,
                CTL_FILE,
                line,
                Fact::SealCommandReturned {
                    via,
                    log_id,
                    succeeded,
                    tail_lsn,
                    error: if succeeded { None } else { seal_error(rec) },
                    end_time_us: rec.end_time_us,
                },
            );
        }
    }
    if pos("set-storage-state").is_some() {
        runs.push(StorageRun {
            time_us: rec.time_us,
            end_time_us: rec.end_time_us,
            forced: pos("--force").is_some(),
        });
        for l in rec.stdout.lines() {
            // "N1 storage-state has been updated from read-write to provisioning"
            let Some((node, rest)) = l.trim().split_once(" storage-state has been updated from ")
            else {
                continue;
            };
            let (Some(node), Some((from, to))) = (plain_node_id(node), rest.split_once(" to "))
            else {
                continue;
            };
            push(
                facts,
                rec.end_time_us,
                CTL_FILE,
                line,
                Fact::StorageStateSet {
                    node,
                    from: from.trim().to_string(),
                    to: to.trim().to_string(),
                },
            );
        }
    }
}

/// One SQL snapshot of `sql.jsonl` (a [`SqlRecord`]), its rows parsed into types once, for
/// every reader: the `*Observed` facts and the importer's observations both come from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlSnapshot {
    /// 1-based line in `sql.jsonl`.
    pub line: usize,
    /// When the query started (microseconds since the Unix epoch).
    pub time_us: Micros,
    /// When it returned: the rows may describe any instant in between.
    pub end_time_us: Micros,
    /// The table queried (`nodes`, `loglet_workers`, `logs`).
    pub table: String,
    /// Why the query failed, if it did (then there are no rows).
    pub error: Option<String>,
    /// The rows, typed.
    pub rows: Vec<SqlRow>,
    /// Rows that name no node (`plain_node_id`) or no log, which no reader can attribute.
    pub unattributed_rows: usize,
}

/// One row of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "snake_case")]
pub enum SqlRow {
    /// A `nodes` row.
    Nodes(NodeRow),
    /// A `loglet_workers` row.
    LogletWorkers(WorkerRow),
    /// A `logs` row: one segment of a log chain.
    Logs {
        /// Log id.
        log_id: u64,
        /// The segment.
        segment: SegmentObs,
    },
}

/// A `nodes` row: a node as the cluster's nodes configuration shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    /// Plain node id.
    pub node: u32,
    /// Storage state (`provisioning`, `read-write`, ...), if the row has one.
    pub storage_state: Option<String>,
    /// Liveness (`alive`, `dead`, `suspect`).
    pub liveness: Option<String>,
    /// Generational id.
    pub generation: Option<RestateNode>,
    /// Nodes-configuration version the answering node had.
    pub version: Option<u64>,
}

/// A `loglet_workers` row: one log server's worker of one loglet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRow {
    /// Log server (plain node id).
    pub node: u32,
    /// Restate's loglet id (`<log>_<segment>`, e.g. `0_0`).
    pub loglet: String,
    /// Local tail (Restate's offsets, from 1).
    pub local_tail: Option<u64>,
    /// Staging local tail.
    pub staging_local_tail: Option<u64>,
    /// Known global tail.
    pub known_global_tail: Option<u64>,
    /// Durably sealed.
    pub sealed: Option<bool>,
    /// Seal enqueued.
    pub seal_enqueued: Option<bool>,
    /// Accepting writes.
    pub accepting_writes: Option<bool>,
    /// Sequencer known to the worker.
    pub sequencer: Option<RestateNode>,
}

fn sql_row(table: &str, row: &Value) -> Option<SqlRow> {
    match table {
        "nodes" => Some(SqlRow::Nodes(NodeRow {
            node: str_field(row, "plain_node_id").and_then(plain_node_id)?,
            storage_state: str_field(row, "storage_state").map(str::to_string),
            liveness: str_field(row, "state").map(str::to_string),
            generation: str_field(row, "gen_node_id").and_then(RestateNode::parse),
            version: num_field(row, "nodes_configuration_version"),
        })),
        "loglet_workers" => Some(SqlRow::LogletWorkers(WorkerRow {
            node: str_field(row, "plain_node_id").and_then(plain_node_id)?,
            loglet: str_field(row, "loglet_id")?.to_string(),
            local_tail: num_field(row, "local_tail"),
            staging_local_tail: num_field(row, "staging_local_tail"),
            known_global_tail: num_field(row, "known_global_tail"),
            sealed: bool_field(row, "is_sealed"),
            seal_enqueued: bool_field(row, "seal_enqueued"),
            accepting_writes: bool_field(row, "accepting_writes"),
            sequencer: str_field(row, "sequencer").and_then(RestateNode::parse),
        })),
        "logs" => Some(SqlRow::Logs {
            log_id: num_field(row, "log_id")?,
            segment: SegmentObs {
                segment_index: num_field(row, "segment_index")?,
                base_lsn: num_field(row, "base_lsn"),
                kind: str_field(row, "kind").unwrap_or("").to_string(),
                loglet: str_field(row, "loglet_id").map(str::to_string),
                nodeset: str_field(row, "nodeset")
                    .map(parse_nodeset)
                    .unwrap_or_default(),
                sequencer: str_field(row, "sequencer").and_then(RestateNode::parse),
            },
        }),
        _ => None,
    }
}

fn sql_snapshots(path: &Path) -> Result<Vec<SqlSnapshot>, Error> {
    Ok(parse_records::<SqlRecord>(path)?
        .into_iter()
        .map(|(line, rec)| sql_snapshot(line, rec))
        .collect())
}

/// One `sql.jsonl` record (line `line`) with its rows typed.
fn sql_snapshot(line: usize, rec: SqlRecord) -> SqlSnapshot {
    let mut rows = Vec::new();
    let mut unattributed_rows = 0;
    for row in &rec.rows {
        match sql_row(&rec.table, row) {
            Some(r) => rows.push(r),
            None => unattributed_rows += 1,
        }
    }
    SqlSnapshot {
        line,
        time_us: rec.time_us,
        end_time_us: rec.end_time_us,
        table: rec.table,
        error: rec.error,
        rows,
        unattributed_rows,
    }
}

/// The `*Observed` facts: per node, loglet worker and log chain, a fact whenever a snapshot
/// shows something different from the previous one (a version bump alone is not a change).
fn observed_facts(snapshots: &[SqlSnapshot], facts: &mut Vec<TimedFact>) {
    let mut observer = Observer::default();
    for snap in snapshots {
        observer.snapshot(snap, facts);
    }
}

/// What the snapshots showed last, per node, loglet worker and log chain: the memory of
/// [`observed_facts`], one snapshot at a time.
#[derive(Debug, Default, Clone)]
struct Observer {
    last_node: BTreeMap<u32, NodeRow>,
    last_worker: BTreeMap<(u32, String), WorkerRow>,
    last_chain: BTreeMap<u64, Vec<SegmentObs>>,
}

impl Observer {
    /// The `*Observed` facts of the next snapshot.
    fn snapshot(&mut self, snap: &SqlSnapshot, facts: &mut Vec<TimedFact>) {
        let (last_node, last_worker, last_chain) = (
            &mut self.last_node,
            &mut self.last_worker,
            &mut self.last_chain,
        );
        let mut new = Vec::new();
        let mut chains: BTreeMap<u64, Vec<SegmentObs>> = BTreeMap::new();
        for row in &snap.rows {
            match row {
                SqlRow::Nodes(r) => {
                    let Some(state) = &r.storage_state else {
                        continue;
                    };
                    let key =
                        |r: &NodeRow| (r.storage_state.clone(), r.liveness.clone(), r.generation);
                    if last_node.get(&r.node).map(key) != Some(key(r)) {
                        last_node.insert(r.node, r.clone());
                        new.push(Fact::StorageStateObserved {
                            node: r.node,
                            state: state.clone(),
                            liveness: r.liveness.clone(),
                            generation: r.generation,
                            version: r.version,
                        });
                    }
                }
                SqlRow::LogletWorkers(r) => {
                    let k = (r.node, r.loglet.clone());
                    if last_worker.get(&k) != Some(r) {
                        last_worker.insert(k, r.clone());
                        new.push(Fact::LogletWorkerObserved {
                            node: r.node,
                            loglet: r.loglet.clone(),
                            local_tail: r.local_tail,
                            staging_local_tail: r.staging_local_tail,
                            known_global_tail: r.known_global_tail,
                            sealed: r.sealed,
                            seal_enqueued: r.seal_enqueued,
                            accepting_writes: r.accepting_writes,
                            sequencer: r.sequencer,
                        });
                    }
                }
                SqlRow::Logs { log_id, segment } => {
                    chains.entry(*log_id).or_default().push(segment.clone())
                }
            }
        }
        for (log_id, mut segments) in chains {
            segments.sort_by_key(|s| s.segment_index);
            if last_chain.get(&log_id) != Some(&segments) {
                last_chain.insert(log_id, segments.clone());
                new.push(Fact::LogChainObserved { log_id, segments });
            }
        }
        for f in new {
            push(facts, snap.time_us, SQL_FILE, snap.line, f);
        }
    }
}

fn parse_actions(path: &Path, facts: &mut Vec<TimedFact>) -> Result<(), Error> {
    for (line, rec) in parse_records::<ActionRecord>(path)? {
        action_record(line, rec, facts);
    }
    Ok(())
}

/// The fact of one `actions.jsonl` record (line `line`).
fn action_record(line: usize, rec: ActionRecord, facts: &mut Vec<TimedFact>) {
    push(
        facts,
        rec.time_us,
        ACTIONS_FILE,
        line,
        Fact::OperatorAction {
            action: rec.action,
            nodes: rec.nodes,
            detail: rec.detail,
        },
    );
}

/// The raw directory of a recorded scenario under a traces root
/// (`<root>/<scenario>/raw`).
pub fn scenario_raw_dir(traces_root: &Path, scenario: &str) -> PathBuf {
    traces_root.join(scenario).join("raw")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decorated_nodesets_parse() {
        let v = parse_nodeset_status("[N1(S), N2(E), N3(?)]").unwrap();
        assert_eq!(
            v,
            vec![
                NodeStatus {
                    node: 1,
                    status: NodeSealStatus::Sealed
                },
                NodeStatus {
                    node: 2,
                    status: NodeSealStatus::Error
                },
                NodeStatus {
                    node: 3,
                    status: NodeSealStatus::Unknown
                },
            ]
        );
        assert_eq!(parse_nodeset_status("[]"), Some(vec![]));
        assert_eq!(parse_nodeset_status("[N1(X)]"), None);
    }

    #[test]
    fn tail_repair_lines_parse() {
        let start: Value = serde_json::from_str(r#"{"timestamp":"2026-11-27T03:15:39.875160Z","level":"INFO","fields":{"message":"Tail records are under-replicated, starting a repair tail task","loglet_id":"0_0","start_offset":"3","target_tail":"5"},"target":"restate_bifrost::providers::replicated_loglet::tasks::repair_tail"}"#).unwrap();
        assert_eq!(
            fact_from_server_line(3, &start),
            Some(Fact::TailRepairStarted {
                node: 3,
                loglet: "0_0".into(),
                start_offset: Some(3),
                target_tail: Some(5),
            })
        );
        let done: Value = serde_json::from_str(r#"{"timestamp":"2026-11-27T03:15:40.075160Z","level":"INFO","fields":{"message":"Repair task completed, 2 record(s) have been repaired","loglet_id":"0_0","known_global_tail":"5","elapsed":"1ms"},"target":"restate_bifrost::providers::replicated_loglet::tasks::repair_tail"}"#).unwrap();
        assert_eq!(
            fact_from_server_line(3, &done),
            Some(Fact::TailRepairCompleted {
                node: 3,
                loglet: "0_0".into(),
            })
        );
    }

    #[test]
    fn an_auto_recovery_seal_is_told_from_other_seals() {
        // As Restate 1.7.12 logs it (n3.log of a reproduction whose sequencer node was killed).
        let line: Value = serde_json::from_str(r#"{"timestamp":"2026-11-29T19:44:53.204170Z","level":"DEBUG","fields":{"message":"Attempting to seal loglet"},"target":"restate_bifrost::providers::replicated_loglet::loglet","span":{"otel.name":"replicated_loglet: seal","name":"seal"},"spans":[{"error_recovery_strategy":"ExtendChainPreferred","log_id":"0","sealed_segment":"0","name":"on_sealed_loglet"},{"log_id":"0","segment_index":"Some(0)","name":"seal_and_auto_extend_chain"},{"otel.name":"replicated_loglet: seal","name":"seal"}]}"#).unwrap();
        assert_eq!(
            fact_from_server_line(3, &line),
            Some(Fact::SealRequested {
                node: 3,
                log_id: Some(0),
                loglet: None,
                reason: "auto-recovery".into(),
            })
        );
        let other: Value = serde_json::from_str(r#"{"timestamp":"2026-11-29T19:44:53.204170Z","level":"DEBUG","fields":{"message":"Attempting to seal loglet"},"target":"restate_bifrost::providers::replicated_loglet::loglet","spans":[{"log_id":"0","segment_index":"Some(0)","name":"seal"}]}"#).unwrap();
        assert!(matches!(
            fact_from_server_line(3, &other),
            Some(Fact::SealRequested { reason, .. }) if reason == "other"
        ));
    }

    #[test]
    fn failure_detector_lines_parse() {
        let line: Value = serde_json::from_str(r#"{"timestamp":"2026-11-27T03:15:39.875160Z","level":"INFO","fields":{"message":"N2:1 transitioned from Alive to Dead (gossip-age=11)"},"target":"restate_node::failure_detector::node_state"}"#).unwrap();
        assert_eq!(
            fact_from_server_line(1, &line),
            Some(Fact::PeerStateChanged {
                node: 1,
                peer: RestateNode::parse("N2:1").unwrap(),
                from: "Alive".into(),
                to: "Dead".into()
            })
        );
    }

    #[test]
    fn reconfiguration_and_stall_lines_parse() {
        // Copied from traces/restate-1.7.12/steady-load{,-short}/raw/logs.
        let parse = |node: u32, text: &str| {
            fact_from_server_line(node, &serde_json::from_str::<Value>(text).unwrap())
        };
        assert_eq!(
            parse(
                3,
                r#"{"timestamp":"2026-12-06T10:48:31.552853Z","level":"DEBUG","fields":{"message":"[Auto Improvement] Bifrost will reconfigure the log because sequencer can move from N1:2 to N3:1","log_id":"0","segment_index":"0"},"target":"restate_bifrost::watchdog"}"#
            ),
            Some(Fact::AutoImprovement {
                node: 3,
                log_id: 0,
                segment: 0,
                because: "sequencer can move from N1:2 to N3:1".into()
            })
        );
        // The summary line that follows names no segment: not a fact.
        assert_eq!(
            parse(
                3,
                r#"{"timestamp":"2026-12-06T10:48:31.552906Z","level":"INFO","fields":{"message":"[Auto Improvement] Bifrost will reconfigure logs to improve placement. logs=[0]"},"target":"restate_bifrost::watchdog"}"#
            ),
            None
        );
        assert_eq!(
            parse(
                1,
                r#"{"timestamp":"2026-12-06T10:50:29.374708Z","level":"INFO","fields":{"message":"Failed to append this batch. Will attempt to reconfigure the log","err":"[retryable] connect throttled; 1.76768685s left in throttling window","log_id":"0","reconfiguration_attempt":1,"attempt":1,"segment_index":"3","error_recovery_strategy":"ExtendChainPreferred"},"target":"restate_bifrost::appender"}"#
            ),
            Some(Fact::AppendReconfigure {
                node: 1,
                log_id: 0,
                segment: 3,
                error: "[retryable] connect throttled; 1.76768685s left in throttling window"
                    .into()
            })
        );
        assert_eq!(
            parse(
                2,
                r#"{"timestamp":"2026-12-06T10:51:01.922561Z","level":"WARN","fields":{"message":"Severe lag (7.954597297s) was detected in failure detector internal timer, this indicates an overload or a stall."},"target":"restate_node::failure_detector"}"#
            ),
            Some(Fact::SevereLag {
                node: 2,
                lag: "7.954597297s".into()
            })
        );
    }

    #[test]
    fn shutdown_and_assist_seal_lines_parse() {
        let parse = |node: u32, text: &str| {
            fact_from_server_line(node, &serde_json::from_str::<Value>(text).unwrap())
        };
        assert_eq!(
            parse(
                3,
                r#"{"timestamp":"2026-12-06T10:49:06.031598Z","level":"DEBUG","fields":{"message":"Attempting to seal loglet due to shutdown","loglet_id":"0_5"},"target":"restate_bifrost::providers::replicated_loglet::loglet"}"#
            ),
            Some(Fact::SealRequested {
                node: 3,
                log_id: None,
                loglet: Some("0_5".into()),
                reason: "shutdown".into()
            })
        );
        assert_eq!(
            parse(
                3,
                r#"{"timestamp":"2026-12-06T10:48:46.448002Z","level":"DEBUG","fields":{"message":"Detected unsealed nodes. Running seal task to assist in sealing loglet_id=0_2"},"target":"restate_bifrost::providers::replicated_loglet::tasks::find_tail","span":{"name":"run"},"spans":[{"loglet_id":"0_2","name":"run"},{"name":"run"}]}"#
            ),
            Some(Fact::SealAssist {
                node: 3,
                loglet: "0_2".into()
            })
        );
    }

    #[test]
    fn a_log_server_s_durable_seal_parses_in_json_and_text_format() {
        // As Restate 1.6.2 logs it (traces/restate-1.6.2/incident/raw/logs/n1.log); 1.5.3
        // logs the same line, 1.7.12 none.
        let json = r#"{"timestamp":"2026-12-07T14:43:09.696446Z","level":"DEBUG","fields":{"message":"Loglet is now sealed on this log-server node","loglet_id":"0_0"},"target":"restate_log_server::loglet_worker"}"#;
        let text = "2026-12-07T14:43:09.696446Z DEBUG restate_log_server::loglet_worker: Loglet is now sealed on this log-server node loglet_id=0_0";
        let expected = Some(Fact::LogServerSealed {
            node: 2,
            loglet: "0_0".into(),
        });
        let from_json: Value = serde_json::from_str(json).unwrap();
        assert_eq!(fact_from_server_line(2, &from_json), expected);
        let from_text = server_log::text_lines(&[text.to_string()]);
        assert_eq!(from_text.len(), 1);
        assert_eq!(from_text[0].1["level"], "DEBUG");
        assert_eq!(fact_from_server_line(2, &from_text[0].1), expected);
        assert_eq!(expected.as_ref().unwrap().kind(), "log-server-sealed");
        assert_eq!(expected.as_ref().unwrap().node(), Some(2));
        // Without the loglet it says nothing the importer can place.
        let bare: Value = serde_json::from_str(&json.replace(r#","loglet_id":"0_0""#, "")).unwrap();
        assert_eq!(fact_from_server_line(2, &bare), None);
    }

    #[test]
    fn out_of_order_lines_are_counted_per_file_and_keep_their_stamps() {
        let dir = std::env::temp_dir().join(format!("sealcheck-ooo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("n1.log");
        let line = |ts: &str, loglet: &str| {
            format!(
                r#"{{"timestamp":"{ts}","level":"DEBUG","fields":{{"message":"Starting a seal task for loglet","loglet_id":"{loglet}","is_sealed":false}}}}"#
            )
        };
        let text = [
            line("2026-12-06T10:00:00.000300Z", "0_0"),
            line("2026-12-06T10:00:00.000100Z", "0_1"),
            line("2026-12-06T10:00:00.000400Z", "0_2"),
            line("2026-12-06T10:00:00.000250Z", "0_3"),
        ]
        .join("\n");
        std::fs::write(&path, text).unwrap();
        let mut facts = Vec::new();
        let log = parse_server_log(&path, "logs/n1.log", 1, "its file name", &mut facts).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(log.out_of_order_lines, 2);
        assert_eq!(log.max_skew_us, 200);
        let stamps: Vec<i64> = facts.iter().map(|f| f.time_us % 1_000_000).collect();
        assert_eq!(stamps, vec![300, 100, 400, 250]);
    }
}
