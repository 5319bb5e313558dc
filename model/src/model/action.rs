//! The protocol's steps, named the way Restate's code and logs name them.

use serde::Serialize;

use crate::config::{Bug, StorageState};
use crate::state::{Msg, Offset};

/// One step of the protocol, named the way Restate's code and logs name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Action {
    /// A starting log server writes its storage marker and moves itself Provisioning ->
    /// ReadWrite by a compare-and-set on the metadata store (index of the server). With
    /// `provisioning_steps` the marker is written by [`Action::LogServerWritesMarker`] first
    /// and the request pump starts later ([`Action::LogServerStartsRequestPump`]).
    LogServerProvisions(u8),
    /// `provisioning_steps` only: a starting log server writes its storage marker.
    LogServerWritesMarker(u8),
    /// `provisioning_steps` only: a provisioned log server starts its request pump and begins
    /// to answer requests.
    LogServerStartsRequestPump(u8),
    /// The client's local nodes-configuration snapshot catches up with the metadata store.
    ClientViewCatchesUp,
    /// The test's client node joins the cluster (stale views, `harness.client = "joining"`):
    /// its first snapshot is the latest version. Enabled once the harness's wait is over.
    ClientJoins,
    /// The test body calls `get_trim_point()` and gets an answer: `None` at once when every
    /// nodeset member looks Provisioning, else a reply from a serving member.
    HarnessGetsTrimPoint,
    /// The test body's `get_trim_point()` fails: no member of the effective nodeset answers
    /// (or the effective nodeset is empty, whose `Some(MAX)` breaks the test's assertion).
    /// It is not retried; the test fails.
    TrimPointFails,
    /// The harness calls `seal()`; the seal task passes its guard and sends Seal to the
    /// effective nodeset.
    HarnessCallsSeal,
    /// The harness calls `seal()`; the seal task's guard finds every nodeset member Provisioning
    /// in the client's snapshot and fails with `SealFailed` (retryable).
    SealRejectedAllProvisioning,
    /// The network delivers a message.
    Deliver(Msg),
    /// Every attempt of the seal request to a member failed (the member is not serving, or the
    /// request or its reply was lost): the seal task stops waiting for it.
    SealRequestFails(u8),
    /// The seal task's next attempt re-sends Seal to a member whose request or reply is gone
    /// (lost, or dropped with the connection of a crash) and which is serving again: a member
    /// that restarts between attempts can still confirm (`tasks/util.rs`, `RunOnSingleNode`).
    SealRequestResent(u8),
    /// The sequencer drains after a successful seal task: cancels in-flight appends, then sets
    /// its sealed flag at its known global tail.
    SequencerDrains,
    /// The sequencer reserves the next offset and sends Store to every writable node of the
    /// nodeset, as its snapshot shows them.
    SequencerAppends,
    /// The network loses a message.
    Lose(Msg),
    /// The network duplicates a message.
    Duplicate(Msg),
    /// A log server process crashes (index); what is durable survives.
    LogServerCrashes(u8),
    /// A crashed log server restarts (index).
    LogServerRestarts(u8),
    /// The operator runs `restatectl nodes set-storage-state` on a node (index, new state).
    OperatorSetsStorageState(u8, StorageState),
    /// Cluster only: the remote sequencer learns that the loglet is sealed and starts draining:
    /// the admin's find-tail asked it with a forced seal check (after the admin's `seal()`
    /// succeeded), or one of its stores came back Sealed, and its check-seal (or its own seal
    /// task) finds an f-majority of the serving effective nodeset sealed.
    SequencerLearnsSealed,
    /// Cluster only: a find-tail reader heard from an f-majority of the effective nodeset,
    /// some but not an f-majority of them sealed: it runs a seal task to assist, which sends
    /// Seal to the effective nodeset.
    FindTailAssistsSeal,
    /// Cluster only: the assisting seal task completed on an f-majority (sealed and serving).
    SealAssistCompletes,
    /// Cluster only: a find-tail reader heard from an f-majority that is sealed, whose highest
    /// local tail `to` is above its known global tail `from`, without a write quorum at `to`:
    /// it starts a tail repair, which sends repair stores (ignoring the seal) of the records in
    /// `from..to` that some member has to the serving members that lack them.
    FindTailRepairsTail {
        /// The reader's known global tail.
        from: Offset,
        /// The highest local tail of the sealed members it heard from.
        to: Offset,
    },
    /// Cluster only: the tail repair completed (every record in its range is on a write
    /// quorum): find-tail returns Sealed at the repaired tail.
    TailRepairCompletes,
    /// Cluster only: a find-tail reader heard from an f-majority that is sealed and needs no
    /// repair: it returns Sealed at this tail.
    FindTailFindsSealed(Offset),
    /// Cluster only (`faults.reader_timeouts`): a find-tail reader's `GetSequencerState` to the
    /// sequencer fails while the sequencer's node is up (the reader's node was cut off from it
    /// or paused, or the sequencer was slow): from now on the reader queries the log servers
    /// itself, as it does once the sequencer's node died. Never logged.
    FindTailLosesSequencer,
    /// Seeded bug `store-after-seal`: a durably sealed log server stores a (non-repair) record.
    StoreIgnoringSeal(Msg),
    /// Seeded bug `seal-one-confirmation`: the seal task reports success with fewer
    /// confirmations than an f-majority.
    SealTaskCompletesEarly,
    /// Seeded bug `ack-before-quorum`: the sequencer acknowledges the next append before a
    /// write quorum stored it.
    SequencerAcksEarly,
    /// Seeded bug `seal-without-drain`: the sequencer sets its sealed flag without cancelling
    /// in-flight appends.
    SequencerSealsWithoutDrain,
    /// Seeded bug `provisioning-writable`: the sequencer appends and counts Provisioning nodes
    /// as writable.
    SequencerAppendsToProvisioning,
    /// `faults.other_seals`: a node other than the harness's starts a seal task on the loglet
    /// (an auto-improvement reseal, an appender's failover reseal or auto-recovery seal, a
    /// shutdown seal): Seal to the effective nodeset.
    OtherSealStarts,
    /// `faults.other_seals`: another node's seal task completes on an f-majority of the
    /// effective nodeset that is durably sealed and serving.
    OtherSealCompletes,
    /// `faults.other_seals`: another node's seal task fails (`SealFailed`: too few members
    /// answered in time); what its requests sealed stays sealed.
    OtherSealFails,
    /// `faults.other_seals`: another node's seal task is refused at its start because every
    /// nodeset member looks Provisioning in the metadata (it sends nothing).
    OtherSealRefused,
    /// `faults.other_repairs` (cluster): a find-tail reader other than the model's one decides
    /// to repair the tail `from..to` (its known global tail to the highest sealed tail) and
    /// sends the repair stores.
    OtherRepairStarts {
        /// Its known global tail: the first offset repaired.
        from: Offset,
        /// The highest local tail among the sealed members it heard from.
        to: Offset,
    },
    /// `faults.other_repairs`: another reader's repair of `from..to` completes (every record of
    /// the range is on a write quorum).
    OtherRepairCompletes {
        /// The first offset repaired.
        from: Offset,
        /// The tail repaired to.
        to: Offset,
    },
}

impl Action {
    /// The seeded bug this step belongs to, if it is one.
    pub fn seeded_bug(&self) -> Option<Bug> {
        match self {
            Action::StoreIgnoringSeal(_) => Some(Bug::StoreAfterSeal),
            Action::SealTaskCompletesEarly => Some(Bug::SealOneConfirmation),
            Action::SequencerAcksEarly => Some(Bug::AckBeforeQuorum),
            Action::SequencerSealsWithoutDrain => Some(Bug::SealWithoutDrain),
            Action::SequencerAppendsToProvisioning => Some(Bug::ProvisioningWritable),
            _ => None,
        }
    }
}
