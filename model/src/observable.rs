//! The observable vocabulary of the model: the events a step of the model shows to the outside
//! world, and the observations a recorder can make of a state. Traces (recorded from real runs or
//! generated from the model) are sequences of these; `sealcheck validate` searches for a
//! behaviour of the model that produces them.
//!
//! Every model step has one or more *labels* ([`labels`]); a trace event matches a label when
//! the kind and node agree and every field the trace gives equals the label's (fields a trace
//! leaves out match anything). Observations ([`Observation`]) are checked against the state
//! the behaviour is in at that point.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::StorageState;
use crate::model::{Action, SealModel};
use crate::state::*;

/// A node id as traces write it: `"N3"` (or the number 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u8);

impl NodeId {
    /// Parses the written form strictly: `N` followed by a number 1..=255 without sign or
    /// leading zeros (`"N3"`). Anything else (`"3"`, `"n3"`, `"N03"`, `"N3:1"`, `" N3"`) is
    /// `None`.
    pub fn parse(text: &str) -> Option<NodeId> {
        let digits = text.strip_prefix('N')?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse::<u8>().ok().map(NodeId)
    }
}

impl Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("N{}", self.0))
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NodeId;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a node id such as \"N3\" or 3")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NodeId, E> {
                u8::try_from(v)
                    .ok()
                    .filter(|v| *v > 0)
                    .map(NodeId)
                    .ok_or_else(|| E::custom(format!("node id {v} is out of range 1..=255")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NodeId, E> {
                if v < 0 {
                    return Err(E::custom(format!("node id {v} is negative")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodeId, E> {
                NodeId::parse(v).ok_or_else(|| {
                    E::custom(format!(
                        "`{v}` is not a node id: expected \"N\" and a number 1..=255, such as \"N3\""
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "N{}", self.0)
    }
}

/// Reply status of a store, as traces write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreStatus {
    /// Stored.
    Ok,
    /// Rejected: the loglet is sealed on that server.
    Sealed,
    /// Rejected: the offset is beyond what the server accepts yet.
    OutOfBounds,
}

impl From<Status> for StoreStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Ok => StoreStatus::Ok,
            Status::Sealed => StoreStatus::Sealed,
            Status::OutOfBounds => StoreStatus::OutOfBounds,
        }
    }
}

/// A member's part in a seal task's outcome, as Restate's seal task prints it in the nodeset
/// status of `Seal task completed on f-majority ... Nodeset status [N1(S), N2(?), N3(S)]` and of
/// `could not seal loglet because insufficient nodes confirmed the seal` (Restate's
/// `NodeSealStatus`). Traces write the letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MemberStatus {
    /// `S`: the member answered the Seal request with status Ok or its seal flag set. A log
    /// server answers so only once its seal is durable, so the member is sealed from then on.
    #[serde(rename = "S")]
    Sealed,
    /// `E`: the request to the member ended in an error (every attempt failed, or it answered
    /// with an error status).
    #[serde(rename = "E")]
    Error,
    /// `?`: no answer yet when the task ended.
    #[serde(rename = "?")]
    Unknown,
}

impl MemberStatus {
    /// The letter traces and Restate's logs write: `S`, `E` or `?`.
    pub fn letter(self) -> &'static str {
        match self {
            MemberStatus::Sealed => "S",
            MemberStatus::Error => "E",
            MemberStatus::Unknown => "?",
        }
    }

    /// Parses the letter (`S`, `E`, `?`); anything else is `None`.
    pub fn parse(text: &str) -> Option<MemberStatus> {
        match text {
            "S" => Some(MemberStatus::Sealed),
            "E" => Some(MemberStatus::Error),
            "?" => Some(MemberStatus::Unknown),
            _ => None,
        }
    }
}

impl From<MemberSeal> for MemberStatus {
    fn from(m: MemberSeal) -> Self {
        match m {
            MemberSeal::Confirmed => MemberStatus::Sealed,
            MemberSeal::GaveUp => MemberStatus::Error,
            MemberSeal::Pending => MemberStatus::Unknown,
        }
    }
}

/// The nodeset status of a seal outcome: every member of the task's effective nodeset and its
/// [`MemberStatus`] when the task ended. Members outside the effective nodeset are absent.
pub type NodesetStatus = BTreeMap<NodeId, MemberStatus>;

/// Why `seal()` was rejected before sending anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectReason {
    /// Every nodeset member looked Provisioning to the caller.
    AllProvisioning,
}

/// Something that happened: the label of a model step, or an event line of a trace. Optional
/// fields are always filled in labels; a trace may leave them out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Event {
    /// A log server wrote its marker and moved itself Provisioning -> ReadWrite.
    Provisioned {
        /// The log server.
        node: NodeId,
    },
    /// A starting log server's provisioning compare-and-set failed; it refused to start.
    ProvisionRefused {
        /// The log server.
        node: NodeId,
    },
    /// A starting log server wrote its storage marker (three-step provisioning).
    MarkerWritten {
        /// The log server.
        node: NodeId,
    },
    /// A provisioned log server started its request pump (three-step provisioning): from now
    /// on it answers requests instead of "not ready".
    RequestPumpStarted {
        /// The log server.
        node: NodeId,
    },
    /// The test body's `get_trim_point()` returned.
    TrimPointRead {
        /// The client.
        node: NodeId,
    },
    /// The test body's `get_trim_point()` failed (no member answered); the test fails.
    TrimPointFailed {
        /// The client.
        node: NodeId,
    },
    /// The client's nodes-configuration snapshot caught up.
    ViewUpdated {
        /// The client.
        node: NodeId,
    },
    /// `seal()` started a seal task that sends Seal to the effective nodeset.
    SealStarted {
        /// The node running the seal task.
        node: NodeId,
    },
    /// `seal()` was rejected by the seal task's guard.
    SealRejected {
        /// The node running the seal task.
        node: NodeId,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
    },
    /// Every attempt of the seal request to one member failed.
    SealRequestFailed {
        /// The node running the seal task.
        node: NodeId,
        /// The member.
        peer: NodeId,
    },
    /// The seal task re-sent Seal to a member (its next attempt after a lost request or reply,
    /// or after the member restarted).
    SealRequestResent {
        /// The node running the seal task.
        node: NodeId,
        /// The member.
        peer: NodeId,
    },
    /// A log server handled Seal: it durably sealed the loglet and answered.
    SealHandled {
        /// The log server.
        node: NodeId,
        /// Its local tail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local_tail: Option<Offset>,
    },
    /// The seal task counted a member's confirmation.
    SealConfirmed {
        /// The node running the seal task.
        node: NodeId,
        /// The member.
        peer: NodeId,
    },
    /// The seal task succeeded (f-majority confirmed).
    SealCompleted {
        /// The node running the seal task.
        node: NodeId,
        /// Highest local tail among confirmations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_local_tail: Option<Offset>,
        /// Each effective nodeset member's status when the task returned; a trace may name
        /// only some members.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<NodesetStatus>,
    },
    /// The seal task failed: insufficient nodes confirmed.
    SealFailed {
        /// The node running the seal task.
        node: NodeId,
        /// Each effective nodeset member's status when the task gave up; a trace may name
        /// only some members.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<NodesetStatus>,
    },
    /// The sequencer drained and set its sealed flag.
    SequencerSealed {
        /// The sequencer.
        node: NodeId,
        /// The tail it sealed at.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tail: Option<Offset>,
    },
    /// The sequencer reserved an offset and sent its stores.
    Append {
        /// The sequencer.
        node: NodeId,
        /// The offset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<Offset>,
    },
    /// A log server handled Store.
    Stored {
        /// The log server.
        node: NodeId,
        /// The offset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<Offset>,
        /// Its reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<StoreStatus>,
    },
    /// The sequencer received a Stored reply.
    StoreReply {
        /// The sequencer.
        node: NodeId,
        /// The log server that replied.
        peer: NodeId,
        /// The offset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<Offset>,
        /// Its status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<StoreStatus>,
    },
    /// An append was acknowledged (the global tail moved past it).
    AppendAcked {
        /// The sequencer.
        node: NodeId,
        /// The offset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<Offset>,
    },
    /// An append failed because an f-majority answered Sealed.
    AppendRejected {
        /// The sequencer.
        node: NodeId,
        /// The offset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<Offset>,
    },
    /// The network lost a message.
    MessageLost {},
    /// The network duplicated a message.
    MessageDuplicated {},
    /// A log server process crashed.
    Crashed {
        /// The log server.
        node: NodeId,
    },
    /// A log server process restarted.
    Restarted {
        /// The log server.
        node: NodeId,
    },
    /// The operator changed a storage state.
    StorageStateSet {
        /// The log server.
        node: NodeId,
        /// The new state.
        to: StorageState,
    },
    /// Cluster only: the remote sequencer learned that an f-majority is sealed (its forced
    /// seal check or its own seal task) and starts draining.
    SequencerLearnsSealed {
        /// The sequencer.
        node: NodeId,
    },
    /// Cluster only: a find-tail reader started a seal task to assist in sealing.
    SealAssistStarted {
        /// The node running find-tail.
        node: NodeId,
    },
    /// Cluster only: the assisting seal task completed on an f-majority.
    SealAssistCompleted {
        /// The node running find-tail.
        node: NodeId,
    },
    /// Cluster only: a find-tail reader started a tail repair (stores that ignore the seal).
    TailRepairStarted {
        /// The node running find-tail.
        node: NodeId,
        /// The first offset repaired (the reader's known global tail).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Offset>,
        /// The tail repaired to (the highest local tail of the sealed members).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Offset>,
    },
    /// Cluster only: the tail repair completed; find-tail returns Sealed at its tail.
    TailRepaired {
        /// The node running find-tail.
        node: NodeId,
        /// The sealed tail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tail: Option<Offset>,
    },
    /// Cluster only: find-tail found an f-majority sealed and returned Sealed without repair.
    FindTailSealed {
        /// The node running find-tail.
        node: NodeId,
        /// The sealed tail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tail: Option<Offset>,
    },
    /// A node other than the harness's started a seal task on the loglet (an auto-improvement
    /// reseal, an appender's failover reseal or auto-recovery seal, a shutdown seal;
    /// `faults.other_seals`). The model does not tell such nodes apart: any node matches.
    OtherSealStarted {
        /// The node running the task (any node id).
        node: NodeId,
    },
    /// Another node's seal task was refused at its start: every nodeset member looked
    /// Provisioning.
    OtherSealRefused {
        /// The node running the task (any node id).
        node: NodeId,
    },
    /// Another node's seal task failed (too few members answered in time).
    OtherSealFailed {
        /// The node running the task (any node id).
        node: NodeId,
        /// The members the task's log line names: a member marked `S` must be durably sealed
        /// when the task fails.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<NodesetStatus>,
    },
    /// Another node's seal task completed on an f-majority.
    OtherSealCompleted {
        /// The node running the task (any node id).
        node: NodeId,
        /// The members the task's log line names: a member marked `S` must be durably sealed
        /// when the task completes (others say nothing: the task stops listening once it has
        /// an f-majority).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<NodesetStatus>,
    },
    /// Cluster: a find-tail reader other than the model's one started a tail repair
    /// (`faults.other_repairs`). The model does not tell such readers apart: any node matches.
    OtherRepairStarted {
        /// The node running the reader (any node id).
        node: NodeId,
        /// The first offset repaired (the reader's known global tail).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Offset>,
        /// The tail repaired to (the highest local tail of the sealed members).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Offset>,
    },
    /// Cluster: another reader's tail repair completed (its range is on a write quorum).
    OtherRepairCompleted {
        /// The node running the reader (any node id).
        node: NodeId,
    },
}

impl Event {
    /// The members a seal outcome (`seal-completed`, `seal-failed` and other nodes' ones)
    /// reports `S`: they answered Sealed, which a log server does only once its seal is
    /// durable, so each is sealed from there on. None for any other event.
    pub fn reported_sealed(&self) -> impl Iterator<Item = NodeId> + '_ {
        let status = match self {
            Event::SealCompleted { status, .. }
            | Event::SealFailed { status, .. }
            | Event::OtherSealCompleted { status, .. }
            | Event::OtherSealFailed { status, .. } => status.as_ref(),
            _ => None,
        };
        status
            .into_iter()
            .flatten()
            .filter(|(_, st)| **st == MemberStatus::Sealed)
            .map(|(node, _)| *node)
    }

    /// The kind, as traces write it in `"event"` and header `complete` lists.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Provisioned { .. } => "provisioned",
            Event::ProvisionRefused { .. } => "provision-refused",
            Event::MarkerWritten { .. } => "marker-written",
            Event::RequestPumpStarted { .. } => "request-pump-started",
            Event::TrimPointRead { .. } => "trim-point-read",
            Event::TrimPointFailed { .. } => "trim-point-failed",
            Event::ViewUpdated { .. } => "view-updated",
            Event::SealStarted { .. } => "seal-started",
            Event::SealRejected { .. } => "seal-rejected",
            Event::SealRequestFailed { .. } => "seal-request-failed",
            Event::SealRequestResent { .. } => "seal-request-resent",
            Event::SealHandled { .. } => "seal-handled",
            Event::SealConfirmed { .. } => "seal-confirmed",
            Event::SealCompleted { .. } => "seal-completed",
            Event::SealFailed { .. } => "seal-failed",
            Event::SequencerSealed { .. } => "sequencer-sealed",
            Event::Append { .. } => "append",
            Event::Stored { .. } => "stored",
            Event::StoreReply { .. } => "store-reply",
            Event::AppendAcked { .. } => "append-acked",
            Event::AppendRejected { .. } => "append-rejected",
            Event::MessageLost {} => "message-lost",
            Event::MessageDuplicated {} => "message-duplicated",
            Event::Crashed { .. } => "crashed",
            Event::Restarted { .. } => "restarted",
            Event::StorageStateSet { .. } => "storage-state-set",
            Event::SequencerLearnsSealed { .. } => "sequencer-learns-sealed",
            Event::SealAssistStarted { .. } => "seal-assist-started",
            Event::SealAssistCompleted { .. } => "seal-assist-completed",
            Event::TailRepairStarted { .. } => "tail-repair-started",
            Event::TailRepaired { .. } => "tail-repaired",
            Event::FindTailSealed { .. } => "find-tail-sealed",
            Event::OtherSealStarted { .. } => "other-seal-started",
            Event::OtherSealCompleted { .. } => "other-seal-completed",
            Event::OtherSealFailed { .. } => "other-seal-failed",
            Event::OtherSealRefused { .. } => "other-seal-refused",
            Event::OtherRepairStarted { .. } => "other-repair-started",
            Event::OtherRepairCompleted { .. } => "other-repair-completed",
        }
    }

    /// Every event kind.
    pub const KINDS: [&'static str; 38] = [
        "provisioned",
        "provision-refused",
        "marker-written",
        "request-pump-started",
        "trim-point-read",
        "trim-point-failed",
        "view-updated",
        "seal-started",
        "seal-rejected",
        "seal-request-failed",
        "seal-request-resent",
        "seal-handled",
        "seal-confirmed",
        "seal-completed",
        "seal-failed",
        "sequencer-sealed",
        "append",
        "stored",
        "store-reply",
        "append-acked",
        "append-rejected",
        "message-lost",
        "message-duplicated",
        "crashed",
        "restarted",
        "storage-state-set",
        "sequencer-learns-sealed",
        "seal-assist-started",
        "seal-assist-completed",
        "tail-repair-started",
        "tail-repaired",
        "find-tail-sealed",
        "other-seal-started",
        "other-seal-completed",
        "other-seal-failed",
        "other-seal-refused",
        "other-repair-started",
        "other-repair-completed",
    ];

    /// Kinds done by a node other than the harness's, whichever it is (`faults.other_seals`,
    /// `faults.other_repairs`).
    pub fn is_other_node_kind(kind: &str) -> bool {
        matches!(
            kind,
            "other-seal-started"
                | "other-seal-completed"
                | "other-seal-failed"
                | "other-seal-refused"
                | "other-repair-started"
                | "other-repair-completed"
        )
    }

    /// Kinds done by the node running the seal task (the "sealer" role).
    pub fn is_sealer_kind(kind: &str) -> bool {
        matches!(
            kind,
            "seal-started"
                | "seal-rejected"
                | "seal-request-failed"
                | "seal-request-resent"
                | "seal-confirmed"
                | "seal-completed"
                | "seal-failed"
                | "view-updated"
                | "trim-point-read"
                | "trim-point-failed"
        )
    }

    /// Kinds done by the sequencer.
    pub fn is_sequencer_kind(kind: &str) -> bool {
        matches!(
            kind,
            "sequencer-sealed"
                | "sequencer-learns-sealed"
                | "append"
                | "store-reply"
                | "append-acked"
                | "append-rejected"
        )
    }

    /// Kinds done by a find-tail reader (cluster only; the "finder" role).
    pub fn is_finder_kind(kind: &str) -> bool {
        matches!(
            kind,
            "seal-assist-started"
                | "seal-assist-completed"
                | "tail-repair-started"
                | "tail-repaired"
                | "find-tail-sealed"
        )
    }

    /// The node the event names, if any.
    pub fn node(&self) -> Option<NodeId> {
        self.clone().node_mut().copied()
    }

    /// Renames the event's node (used to map a trace's sealer/sequencer to the model's client).
    pub fn set_node(&mut self, id: NodeId) {
        if let Some(node) = self.node_mut() {
            *node = id;
        }
    }

    fn node_mut(&mut self) -> Option<&mut NodeId> {
        match self {
            Event::MessageLost {} | Event::MessageDuplicated {} => None,
            Event::Provisioned { node }
            | Event::ProvisionRefused { node }
            | Event::MarkerWritten { node }
            | Event::RequestPumpStarted { node }
            | Event::TrimPointRead { node }
            | Event::TrimPointFailed { node }
            | Event::ViewUpdated { node }
            | Event::SealStarted { node }
            | Event::SealRejected { node, .. }
            | Event::SealRequestFailed { node, .. }
            | Event::SealRequestResent { node, .. }
            | Event::SealHandled { node, .. }
            | Event::SealConfirmed { node, .. }
            | Event::SealCompleted { node, .. }
            | Event::SealFailed { node, .. }
            | Event::SequencerSealed { node, .. }
            | Event::Append { node, .. }
            | Event::Stored { node, .. }
            | Event::StoreReply { node, .. }
            | Event::AppendAcked { node, .. }
            | Event::AppendRejected { node, .. }
            | Event::Crashed { node }
            | Event::Restarted { node }
            | Event::StorageStateSet { node, .. }
            | Event::SequencerLearnsSealed { node }
            | Event::SealAssistStarted { node }
            | Event::SealAssistCompleted { node }
            | Event::TailRepairStarted { node, .. }
            | Event::TailRepaired { node, .. }
            | Event::FindTailSealed { node, .. }
            | Event::OtherSealStarted { node }
            | Event::OtherSealCompleted { node, .. }
            | Event::OtherSealFailed { node, .. }
            | Event::OtherSealRefused { node }
            | Event::OtherRepairStarted { node, .. }
            | Event::OtherRepairCompleted { node } => Some(node),
        }
    }

    /// The node ids the event names besides its own node (peers).
    pub fn peer(&self) -> Option<NodeId> {
        match self {
            Event::SealRequestFailed { peer, .. }
            | Event::SealRequestResent { peer, .. }
            | Event::SealConfirmed { peer, .. }
            | Event::StoreReply { peer, .. } => Some(*peer),
            _ => None,
        }
    }

    /// The offset the event names, if any.
    pub fn offset(&self) -> Option<Offset> {
        match self {
            Event::Append { offset, .. }
            | Event::Stored { offset, .. }
            | Event::StoreReply { offset, .. }
            | Event::AppendAcked { offset, .. }
            | Event::AppendRejected { offset, .. } => *offset,
            _ => None,
        }
    }

    /// Whether this trace event matches a model label: same kind and node, and every field the
    /// trace gives equals the label's.
    pub fn matches(&self, label: &Event) -> bool {
        fn f<T: PartialEq>(trace: &Option<T>, label: &Option<T>) -> bool {
            trace.is_none() || trace == label
        }
        use Event::*;
        match (self, label) {
            (Provisioned { node: a }, Provisioned { node: b })
            | (ProvisionRefused { node: a }, ProvisionRefused { node: b })
            | (MarkerWritten { node: a }, MarkerWritten { node: b })
            | (RequestPumpStarted { node: a }, RequestPumpStarted { node: b })
            | (TrimPointRead { node: a }, TrimPointRead { node: b })
            | (TrimPointFailed { node: a }, TrimPointFailed { node: b })
            | (ViewUpdated { node: a }, ViewUpdated { node: b })
            | (SealStarted { node: a }, SealStarted { node: b })
            | (Crashed { node: a }, Crashed { node: b })
            | (Restarted { node: a }, Restarted { node: b })
            | (SequencerLearnsSealed { node: a }, SequencerLearnsSealed { node: b })
            | (SealAssistStarted { node: a }, SealAssistStarted { node: b })
            | (SealAssistCompleted { node: a }, SealAssistCompleted { node: b }) => a == b,
            (
                TailRepairStarted {
                    node: a,
                    from: x,
                    to: s,
                },
                TailRepairStarted {
                    node: b,
                    from: y,
                    to: t,
                },
            ) => a == b && f(x, y) && f(s, t),
            (TailRepaired { node: a, tail: x }, TailRepaired { node: b, tail: y })
            | (FindTailSealed { node: a, tail: x }, FindTailSealed { node: b, tail: y }) => {
                a == b && f(x, y)
            }
            (SealRejected { node: a, reason: x }, SealRejected { node: b, reason: y }) => {
                a == b && f(x, y)
            }
            (SealRequestFailed { node: a, peer: x }, SealRequestFailed { node: b, peer: y })
            | (SealRequestResent { node: a, peer: x }, SealRequestResent { node: b, peer: y })
            | (SealConfirmed { node: a, peer: x }, SealConfirmed { node: b, peer: y }) => {
                a == b && x == y
            }
            (
                SealHandled {
                    node: a,
                    local_tail: x,
                },
                SealHandled {
                    node: b,
                    local_tail: y,
                },
            ) => a == b && f(x, y),
            (
                SealCompleted {
                    node: a,
                    max_local_tail: x,
                    status: s,
                },
                SealCompleted {
                    node: b,
                    max_local_tail: y,
                    status: t,
                },
            ) => a == b && f(x, y) && status_matches(s, t),
            (SealFailed { node: a, status: s }, SealFailed { node: b, status: t }) => {
                a == b && status_matches(s, t)
            }
            (SequencerSealed { node: a, tail: x }, SequencerSealed { node: b, tail: y }) => {
                a == b && f(x, y)
            }
            (Append { node: a, offset: x }, Append { node: b, offset: y })
            | (AppendAcked { node: a, offset: x }, AppendAcked { node: b, offset: y })
            | (AppendRejected { node: a, offset: x }, AppendRejected { node: b, offset: y }) => {
                a == b && f(x, y)
            }
            (
                Stored {
                    node: a,
                    offset: x,
                    status: s,
                },
                Stored {
                    node: b,
                    offset: y,
                    status: t,
                },
            ) => a == b && f(x, y) && f(s, t),
            (
                StoreReply {
                    node: a,
                    peer: p,
                    offset: x,
                    status: s,
                },
                StoreReply {
                    node: b,
                    peer: q,
                    offset: y,
                    status: t,
                },
            ) => a == b && p == q && f(x, y) && f(s, t),
            (MessageLost {}, MessageLost {}) | (MessageDuplicated {}, MessageDuplicated {}) => true,
            (StorageStateSet { node: a, to: x }, StorageStateSet { node: b, to: y }) => {
                a == b && x == y
            }
            // Another node's task: the model does not name the node.
            (OtherSealStarted { .. }, OtherSealStarted { .. })
            | (OtherSealRefused { .. }, OtherSealRefused { .. })
            | (OtherRepairCompleted { .. }, OtherRepairCompleted { .. }) => true,
            (
                OtherRepairStarted { from: x, to: s, .. },
                OtherRepairStarted { from: y, to: t, .. },
            ) => f(x, y) && f(s, t),
            (OtherSealCompleted { status: s, .. }, OtherSealCompleted { status: t, .. })
            | (OtherSealFailed { status: s, .. }, OtherSealFailed { status: t, .. }) => {
                sealed_members_sealed(s, t)
            }
            _ => false,
        }
    }
}

/// Whether a trace's nodeset status agrees with a label's: every member the trace names has
/// the label's status (a member the label leaves out, outside the effective nodeset, agrees
/// with nothing). A trace without a status matches any.
fn status_matches(trace: &Option<NodesetStatus>, label: &Option<NodesetStatus>) -> bool {
    match (trace, label) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(t), Some(l)) => t.iter().all(|(node, st)| l.get(node) == Some(st)),
    }
}

/// Whether every member a trace's status marks `S` is durably sealed in the label's status (a
/// label lists each nodeset member as `S` when it is durably sealed, `?` otherwise). A trace
/// without a status matches any.
fn sealed_members_sealed(trace: &Option<NodesetStatus>, label: &Option<NodesetStatus>) -> bool {
    match (trace, label) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(t), Some(l)) => t
            .iter()
            .filter(|(_, st)| **st == MemberStatus::Sealed)
            .all(|(node, _)| l.get(node) == Some(&MemberStatus::Sealed)),
    }
}

/// What a recorder saw of a state at some point.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Observation {
    /// A log server's copy of the loglet (Restate's `loglet_workers` table).
    ObserveLogServer {
        /// The log server.
        node: NodeId,
        /// Its local tail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local_tail: Option<Offset>,
        /// Its seal flag.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sealed: Option<bool>,
    },
    /// The metadata store's nodes configuration shows a log server in a storage state
    /// (Restate's `nodes` table).
    ObserveStorageState {
        /// The log server.
        node: NodeId,
        /// Its storage state.
        state: StorageState,
    },
    /// The sequencer's state.
    ObserveSequencer {
        /// The sequencer.
        node: NodeId,
        /// Its known global tail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known_global_tail: Option<Offset>,
        /// Whether it set its sealed flag.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sealed: Option<bool>,
    },
}

impl Observation {
    /// The kind, as traces write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Observation::ObserveLogServer { .. } => "observe-log-server",
            Observation::ObserveStorageState { .. } => "observe-storage-state",
            Observation::ObserveSequencer { .. } => "observe-sequencer",
        }
    }

    /// The node observed.
    pub fn node(&self) -> NodeId {
        match self {
            Observation::ObserveLogServer { node, .. }
            | Observation::ObserveStorageState { node, .. }
            | Observation::ObserveSequencer { node, .. } => *node,
        }
    }

    /// Renames the observed node.
    pub fn set_node(&mut self, id: NodeId) {
        match self {
            Observation::ObserveLogServer { node, .. }
            | Observation::ObserveStorageState { node, .. }
            | Observation::ObserveSequencer { node, .. } => *node = id,
        }
    }

    /// Whether a model state satisfies the observation. `node` ids name log servers
    /// (1-based) except for `ObserveSequencer`, which names the client.
    pub fn holds(&self, model: &SealModel, state: &State) -> bool {
        match self {
            Observation::ObserveLogServer {
                node,
                local_tail,
                sealed,
            } => {
                let Some(s) = server(model, state, *node) else {
                    return false;
                };
                local_tail.is_none_or(|t| s.local_tail == t) && sealed.is_none_or(|x| s.sealed == x)
            }
            Observation::ObserveStorageState { node, state: st } => {
                let i = node.0 as usize;
                i >= 1 && i <= model.n() && state.latest()[i - 1] == *st
            }
            Observation::ObserveSequencer {
                known_global_tail,
                sealed,
                ..
            } => {
                known_global_tail.is_none_or(|t| state.client.known_global_tail == t)
                    && sealed.is_none_or(|x| state.sealed_tail().is_some() == x)
            }
        }
    }

    /// Whether the observation can still hold after more steps from `state`: tails and seal
    /// flags only move forward, so a state already past the observed value can never match
    /// it again. Validation uses this to prune unlogged steps before an observation.
    pub fn may_still_hold(&self, model: &SealModel, state: &State) -> bool {
        match self {
            Observation::ObserveLogServer {
                node,
                local_tail,
                sealed,
            } => match server(model, state, *node) {
                Some(s) => {
                    local_tail.is_none_or(|t| s.local_tail <= t)
                        && sealed.is_none_or(|x| x || !s.sealed)
                }
                None => false,
            },
            Observation::ObserveStorageState { .. } => true,
            Observation::ObserveSequencer {
                known_global_tail,
                sealed,
                ..
            } => {
                known_global_tail.is_none_or(|t| state.client.known_global_tail <= t)
                    && sealed.is_none_or(|x| x || state.sealed_tail().is_none())
            }
        }
    }

    /// What the observation would have seen in a state (for divergence reports).
    pub fn actual(&self, model: &SealModel, state: &State) -> Observation {
        match self {
            Observation::ObserveLogServer { node, .. } => match server(model, state, *node) {
                Some(s) => Observation::ObserveLogServer {
                    node: *node,
                    local_tail: Some(s.local_tail),
                    sealed: Some(s.sealed),
                },
                None => self.clone(),
            },
            Observation::ObserveStorageState { node, .. } => {
                let i = node.0 as usize;
                if i >= 1 && i <= model.n() {
                    Observation::ObserveStorageState {
                        node: *node,
                        state: state.latest()[i - 1],
                    }
                } else {
                    self.clone()
                }
            }
            Observation::ObserveSequencer { node, .. } => Observation::ObserveSequencer {
                node: *node,
                known_global_tail: Some(state.client.known_global_tail),
                sealed: Some(state.sealed_tail().is_some()),
            },
        }
    }

    /// All observations a recorder could make of a state (used to generate fully observed
    /// traces).
    pub fn all_of(model: &SealModel, state: &State) -> Vec<Observation> {
        let mut out = Vec::new();
        for (i, s) in state.servers.iter().enumerate() {
            out.push(Observation::ObserveLogServer {
                node: NodeId(i as u8 + 1),
                local_tail: Some(s.local_tail),
                sealed: Some(s.sealed),
            });
        }
        for (i, st) in state.latest().iter().enumerate() {
            out.push(Observation::ObserveStorageState {
                node: NodeId(i as u8 + 1),
                state: *st,
            });
        }
        out.push(Observation::ObserveSequencer {
            node: NodeId(model.cfg.client),
            known_global_tail: Some(state.client.known_global_tail),
            sealed: Some(state.sealed_tail().is_some()),
        });
        out
    }
}

fn server<'a>(model: &SealModel, state: &'a State, node: NodeId) -> Option<&'a LogServer> {
    let i = node.0 as usize;
    (i >= 1 && i <= model.n()).then(|| &state.servers[i - 1])
}

/// The labels of one step `prev --action--> next`, in the order they happen.
pub fn labels(model: &SealModel, prev: &State, action: &Action, next: &State) -> Vec<Event> {
    let client = NodeId(model.cfg.client);
    let sid = |i: u8| NodeId(i + 1);
    let mut out = Vec::new();
    match action {
        Action::LogServerProvisions(i) => {
            if matches!(
                next.servers[*i as usize].process,
                Process::Serving | Process::NotReady
            ) {
                out.push(Event::Provisioned { node: sid(*i) });
            } else {
                out.push(Event::ProvisionRefused { node: sid(*i) });
            }
        }
        Action::LogServerWritesMarker(i) => out.push(Event::MarkerWritten { node: sid(*i) }),
        Action::LogServerStartsRequestPump(i) => {
            out.push(Event::RequestPumpStarted { node: sid(*i) })
        }
        Action::ClientViewCatchesUp | Action::ClientJoins => {
            out.push(Event::ViewUpdated { node: client })
        }
        Action::HarnessGetsTrimPoint => out.push(Event::TrimPointRead { node: client }),
        Action::TrimPointFails => out.push(Event::TrimPointFailed { node: client }),
        Action::HarnessCallsSeal => out.push(Event::SealStarted { node: client }),
        Action::SealRejectedAllProvisioning => out.push(Event::SealRejected {
            node: client,
            reason: Some(RejectReason::AllProvisioning),
        }),
        Action::SealRequestFails(i) => out.push(Event::SealRequestFailed {
            node: client,
            peer: sid(*i),
        }),
        Action::SealRequestResent(i) => out.push(Event::SealRequestResent {
            node: client,
            peer: sid(*i),
        }),
        Action::Deliver(msg) | Action::StoreIgnoringSeal(msg) => {
            delivery(model, prev, action, msg, next, &mut out)
        }
        Action::SequencerDrains | Action::SequencerSealsWithoutDrain => {
            out.push(Event::SequencerSealed {
                node: client,
                tail: next.sealed_tail(),
            })
        }
        Action::SequencerAppends | Action::SequencerAppendsToProvisioning => {
            out.push(Event::Append {
                node: client,
                offset: Some(prev.client.appends.end()),
            })
        }
        Action::Lose(_) => out.push(Event::MessageLost {}),
        Action::Duplicate(_) => out.push(Event::MessageDuplicated {}),
        Action::LogServerCrashes(i) => out.push(Event::Crashed { node: sid(*i) }),
        Action::LogServerRestarts(i) => out.push(Event::Restarted { node: sid(*i) }),
        Action::OperatorSetsStorageState(i, to) => out.push(Event::StorageStateSet {
            node: sid(*i),
            to: *to,
        }),
        Action::SealTaskCompletesEarly => seal_outcome(model, action, prev, next, &mut out),
        Action::SequencerLearnsSealed => out.push(Event::SequencerLearnsSealed { node: client }),
        Action::FindTailAssistsSeal => out.push(Event::SealAssistStarted { node: client }),
        Action::SealAssistCompletes => out.push(Event::SealAssistCompleted { node: client }),
        Action::FindTailRepairsTail { from, to } => out.push(Event::TailRepairStarted {
            node: client,
            from: Some(*from),
            to: Some(*to),
        }),
        Action::TailRepairCompletes => out.push(Event::TailRepaired {
            node: client,
            tail: next.find_tail_sealed(),
        }),
        Action::FindTailFindsSealed(t) => out.push(Event::FindTailSealed {
            node: client,
            tail: Some(*t),
        }),
        Action::SequencerAcksEarly => append_outcomes(model, prev, next, &mut out),
        // A failed request to the sequencer leaves no line the model reads.
        Action::FindTailLosesSequencer => {}
        Action::OtherRepairStarts { from, to } => out.push(Event::OtherRepairStarted {
            node: client,
            from: Some(*from),
            to: Some(*to),
        }),
        Action::OtherRepairCompletes { .. } => {
            out.push(Event::OtherRepairCompleted { node: client })
        }
        Action::OtherSealStarts => out.push(Event::OtherSealStarted { node: client }),
        Action::OtherSealRefused => out.push(Event::OtherSealRefused { node: client }),
        Action::OtherSealCompletes | Action::OtherSealFails => {
            let status = model
                .members()
                .map(|i| {
                    let st = if next.servers[i].sealed {
                        MemberStatus::Sealed
                    } else {
                        MemberStatus::Unknown
                    };
                    (sid(i as u8), st)
                })
                .collect();
            let status = Some(status);
            out.push(if matches!(action, Action::OtherSealCompletes) {
                Event::OtherSealCompleted {
                    node: client,
                    status,
                }
            } else {
                Event::OtherSealFailed {
                    node: client,
                    status,
                }
            })
        }
    }
    if matches!(action, Action::SealRequestFails(_)) {
        seal_outcome(model, action, prev, next, &mut out);
    }
    out
}

/// The labels of a step that delivers `msg` (or, for a tail repair's store, handles it ignoring
/// the seal): the receiver's handling, and for a reply what the client makes of it.
fn delivery(
    model: &SealModel,
    prev: &State,
    action: &Action,
    msg: &Msg,
    next: &State,
    out: &mut Vec<Event>,
) {
    let client = NodeId(model.cfg.client);
    let sid = |i: u8| NodeId(i + 1);
    match msg {
        Msg::Seal { to, .. } => out.push(Event::SealHandled {
            node: sid(*to),
            local_tail: Some(next.servers[*to as usize].local_tail),
        }),
        Msg::Store {
            to,
            offset,
            known_global_tail,
            repair,
        } => {
            let ignore_seal = *repair || matches!(action, Action::StoreIgnoringSeal(_));
            let status = Some(StoreStatus::from(SealModel::store_status(
                &prev.servers[*to as usize],
                *offset,
                *known_global_tail,
                ignore_seal,
            )));
            out.push(Event::Stored {
                node: sid(*to),
                offset: Some(*offset),
                status,
            });
        }
        Msg::Sealed { from, .. } => {
            let was_pending = prev
                .client
                .seal
                .as_ref()
                .is_some_and(|t| t.members[*from as usize] == Some(MemberSeal::Pending));
            let confirmed_now = match (&prev.client.seal, &next.client.seal) {
                (Some(_), Some(t)) => t.members[*from as usize] == Some(MemberSeal::Confirmed),
                (Some(_), None) => true,
                _ => false,
            };
            if was_pending && confirmed_now {
                out.push(Event::SealConfirmed {
                    node: client,
                    peer: sid(*from),
                });
            }
            seal_outcome(model, action, prev, next, out);
        }
        Msg::Stored {
            from,
            offset,
            status,
            ..
        } => {
            out.push(Event::StoreReply {
                node: client,
                peer: sid(*from),
                offset: Some(*offset),
                status: Some((*status).into()),
            });
            append_outcomes(model, prev, next, out);
        }
    }
}

/// The label of a step that ends the seal task: `seal-completed` when it made the seal succeed,
/// `seal-failed` otherwise, with the nodeset status the task had at the end of the step.
fn seal_outcome(
    model: &SealModel,
    action: &Action,
    prev: &State,
    next: &State,
    out: &mut Vec<Event>,
) {
    let client = NodeId(model.cfg.client);
    if let (Some(t), None) = (&prev.client.seal, &next.client.seal) {
        let status = Some(outcome_status(t, action));
        if prev.history.seal_succeeded_with.is_none() && next.history.seal_succeeded_with.is_some()
        {
            out.push(Event::SealCompleted {
                node: client,
                max_local_tail: Some(next_max_local_tail(prev, next).unwrap_or(t.max_local_tail)),
                status,
            });
        } else {
            out.push(Event::SealFailed {
                node: client,
                status,
            });
        }
    }
}

/// The nodeset status of a seal task that `action` ends: its members before the step, updated
/// by the step's own change (the confirmation it delivered, the request it gave up); members
/// outside the effective nodeset are absent.
fn outcome_status(task: &SealTask, action: &Action) -> NodesetStatus {
    let mut members = task.members.clone();
    match action {
        Action::Deliver(Msg::Sealed { from, .. }) => {
            members[*from as usize] = Some(MemberSeal::Confirmed)
        }
        Action::SealRequestFails(i) => members[*i as usize] = Some(MemberSeal::GaveUp),
        _ => {}
    }
    members
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.map(|m| (NodeId(i as u8 + 1), MemberStatus::from(m))))
        .collect()
}

/// The highest local tail among confirmations when a seal task ends in this step.
fn next_max_local_tail(prev: &State, next: &State) -> Option<Offset> {
    let t = prev.client.seal.as_ref()?;
    let mut max = t.max_local_tail;
    // Sealed replies are packets of their own.
    for p in prev.network.packets() {
        let m = p.first();
        if let Msg::Sealed {
            attempt,
            local_tail,
            ..
        } = m
        {
            if *attempt == t.attempt && !next.network.contains(m) {
                max = max.max(*local_tail);
            }
        }
    }
    Some(max)
}

fn append_outcomes(model: &SealModel, prev: &State, next: &State, out: &mut Vec<Event>) {
    let client = NodeId(model.cfg.client);
    // Only the pieces where the status changed yield labels, one per offset.
    for (offsets, a, b) in prev.client.appends.zip_runs(&next.client.appends) {
        let Some(b) = b else { continue };
        if a.map(|a| a.status) == Some(b.status) {
            continue;
        }
        for offset in offsets {
            match b.status {
                AppendStatus::Acked => out.push(Event::AppendAcked {
                    node: client,
                    offset: Some(offset),
                }),
                AppendStatus::RejectedSealed => out.push(Event::AppendRejected {
                    node: client,
                    offset: Some(offset),
                }),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use stateright::Model;

    use super::*;
    use crate::config::{Config, StorageState};

    /// Takes the first enabled step `pick` accepts; returns its labels.
    fn step(m: &SealModel, s: &mut State, pick: impl Fn(&Action) -> bool) -> Vec<Event> {
        let mut acts = Vec::new();
        m.actions(s, &mut acts);
        let a = acts.into_iter().find(|a| pick(a)).expect("step enabled");
        let next = m.next_state(s, a.clone()).unwrap();
        let l = labels(m, s, &a, &next);
        *s = next;
        l
    }

    fn status(pairs: &[(u8, MemberStatus)]) -> Option<NodesetStatus> {
        Some(pairs.iter().map(|&(n, st)| (NodeId(n), st)).collect())
    }

    /// N1 and N3 confirm, N2's Seal is still in flight: the completion says
    /// `[N1(S), N2(?), N3(S)]`, the way Restate prints it.
    fn completion() -> Event {
        let m = Config {
            initial_storage: vec![StorageState::ReadWrite; 3],
            ..Config::incident()
        }
        .into_model()
        .unwrap();
        let mut s = m.initial_state();
        step(&m, &mut s, |a| *a == Action::HarnessCallsSeal);
        for to in [0, 2] {
            step(
                &m,
                &mut s,
                |a| matches!(a, Action::Deliver(Msg::Seal { to: t, .. }) if *t == to),
            );
        }
        step(&m, &mut s, |a| {
            matches!(a, Action::Deliver(Msg::Sealed { from: 0, .. }))
        });
        let done = step(&m, &mut s, |a| {
            matches!(a, Action::Deliver(Msg::Sealed { from: 2, .. }))
        });
        done.into_iter()
            .find(|e| e.kind() == "seal-completed")
            .expect("the second confirmation completes the seal")
    }

    #[test]
    fn a_seal_completion_carries_the_status_of_each_member() {
        use MemberStatus::*;
        let e = completion();
        let Event::SealCompleted { status: s, .. } = &e else {
            unreachable!()
        };
        assert_eq!(*s, status(&[(1, Sealed), (2, Unknown), (3, Sealed)]));
    }

    #[test]
    fn a_generated_status_round_trips_and_is_compared_member_by_member() {
        use MemberStatus::*;
        let label = completion();
        let text = serde_json::to_string(&label).unwrap();
        assert!(
            text.contains(r#""status":{"N1":"S","N2":"?","N3":"S"}"#),
            "{text}"
        );
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, label);
        assert!(back.matches(&label));
        let with = |s: Option<NodesetStatus>| {
            let mut e = label.clone();
            if let Event::SealCompleted { status, .. } = &mut e {
                *status = s;
            }
            e
        };
        // A trace may name some members only, or none.
        assert!(with(status(&[(3, Sealed)])).matches(&label));
        assert!(with(None).matches(&label));
        // A member flipped, or one the task did not ask, does not match.
        assert!(!with(status(&[(1, Unknown)])).matches(&label));
        assert!(!with(status(&[(2, Sealed)])).matches(&label));
        assert!(!with(status(&[(4, Sealed)])).matches(&label));
    }

    #[test]
    fn an_outcome_without_status_writes_as_before() {
        let e = Event::SealFailed {
            node: NodeId(1),
            status: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"seal-failed","node":"N1"}"#
        );
        let bad = serde_json::from_str::<Event>(
            r#"{"event":"seal-failed","node":"N1","status":{"N1":"X"}}"#,
        );
        assert!(bad.is_err());
    }
}
