//! The state of one behaviour: the metadata store, the log servers, the client and the network.

use serde::{Deserialize, Serialize};

pub use crate::appends::{AppendData, AppendLog, AppendRun};
use crate::config::StorageState;
pub use crate::in_flight::{Network, Packet};
pub use crate::offsets::{Offset, OffsetSet};

/// A set of nodes or offsets, one bit each (bit `i` is log server N(i+1), or offset `i`).
pub type Bits = u16;

/// Whether bit `i` is set.
pub fn has(bits: Bits, i: usize) -> bool {
    bits & (1 << i) != 0
}

/// Number of set bits.
pub fn count(bits: Bits) -> usize {
    bits.count_ones() as usize
}

/// The life of a log server process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Process {
    /// Started, self-provisioning not done: the request pump does not run yet.
    Starting,
    /// Self-provisioning's compare-and-set is done (the metadata shows ReadWrite) but the
    /// request pump has not started: every request is answered "not ready" (only with
    /// `provisioning_steps`).
    NotReady,
    /// The request pump runs: Store and Seal are handled.
    Serving,
    /// Crashed; durable state survives.
    Down,
    /// Refused to start (Disabled, DataLoss, or its provisioning compare-and-set failed).
    Refused,
}

/// One log server and its copy of the loglet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogServer {
    /// Whether the process runs and handles requests; a crash moves it to Down.
    pub process: Process,
    /// Storage marker written (durable).
    pub marker: bool,
    /// The offsets of the records it stored durably (a set: a repair may fill a gap).
    pub stored: OffsetSet,
    /// First offset after the last stored record (durable).
    pub local_tail: Offset,
    /// Durable, sticky seal flag of the loglet on this server.
    pub sealed: bool,
    /// Highest global tail this server heard of (in memory; reset by a crash).
    pub known_global_tail: Offset,
}

/// Where the client's seal task is for one nodeset member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MemberSeal {
    /// Seal sent (its attempts not exhausted), no reply yet.
    Pending,
    /// Replied Ok or sealed.
    Confirmed,
    /// Every attempt failed (unreachable, not serving, or the message was lost).
    GaveUp,
}

/// The seal task the client runs for one `seal()` call.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SealTask {
    /// Which `seal()` call this task belongs to (1-based); replies of older calls are dropped.
    pub attempt: u8,
    /// Per log server (index i is N(i+1)); `None` for nodes outside the effective nodeset.
    pub members: Vec<Option<MemberSeal>>,
    /// Number of members in the effective nodeset when the task started.
    pub effective: u8,
    /// Highest local tail a confirmation reported.
    pub max_local_tail: Offset,
    /// Per log server: how many attempts of its Seal request the task made (the first send
    /// included); at most [`crate::model::SEAL_REQUEST_ATTEMPTS`].
    pub sends: Vec<u8>,
}

/// The life of one append on the sequencer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AppendStatus {
    /// Stores sent, waiting for a write quorum.
    InFlight,
    /// Acknowledged to the caller: the global tail moved past it.
    Acked,
    /// Failed because an f-majority answered Sealed.
    RejectedSealed,
    /// Cancelled by the sequencer's drain; never advances the global tail.
    Cancelled,
}

/// One append the sequencer made.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Append {
    /// The offset reserved for it.
    pub offset: Offset,
    /// Nodes the stores went to (writable in the sequencer's view).
    pub targets: Bits,
    /// Nodes that replied Stored(Ok).
    pub stored: Bits,
    /// Nodes that replied Sealed.
    pub sealed: Bits,
    /// In flight until a write quorum stored it, an f-majority answered Sealed, or the
    /// drain cancelled it.
    pub status: AppendStatus,
}

/// The test harness driving `seal()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HarnessPhase {
    /// About to call `get_trim_point()` (or waiting for its precondition); only with
    /// `harness.get_trim_point`.
    TrimPoint,
    /// About to call `seal()` (or waiting for its precondition).
    Ready,
    /// A `seal()` call is running.
    Sealing,
    /// `seal()` returned Ok (without separate roles: once the sequencer drained).
    Succeeded,
    /// The test failed: `seal()` returned an error it does not retry (or retries ran out).
    Failed,
}

/// The sequencer's own seal state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SequencerPhase {
    /// Not sealed yet: appends are accepted (up to the scenario's `appends`).
    Open,
    /// The seal task succeeded; permits closed, in-flight appends to be cancelled.
    Draining,
    /// Sealed flag set on the known global tail, at this tail.
    Sealed(Offset),
    /// Cluster only: the sequencer's node crashed before it sealed. A restarted node is a new
    /// generation, not the loglet's sequencer: its appends in flight are never resolved.
    Crashed,
}

/// Cluster only: where the find-tail reader is (`tasks/find_tail.rs`). One reader, one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FindTail {
    /// Not run yet (or restarting after its assist).
    Idle,
    /// Some but not an f-majority of the members it heard from were sealed: it runs a seal
    /// task to assist, and waits for it.
    Assisting,
    /// Its assisting seal task completed; it does not assist again.
    Assisted,
    /// An f-majority is sealed, but the records between its known global tail `from` and the
    /// highest local tail `to` are not on a write quorum: it runs a tail repair.
    Repairing {
        /// Its known global tail: the first offset it repairs.
        from: Offset,
        /// The highest local tail among the sealed members it heard from.
        to: Offset,
    },
    /// It returned Sealed at this tail: the tail the chain is sealed at.
    Sealed(Offset),
}

/// The client: test harness, seal task and local sequencer (N5 in the incident).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Client {
    /// Version of the nodes configuration in the client's local snapshot.
    pub view: u8,
    /// Whether the client has joined the cluster. A joining test client (stale views,
    /// `harness.client = "joining"`) takes no step before its join, which reads the latest
    /// version; otherwise true from the start.
    pub joined: bool,
    /// Where the test body is: before `get_trim_point()`, ready to call `seal()`, in a call,
    /// or done.
    pub harness: HarnessPhase,
    /// `seal()` calls made so far.
    pub attempts: u8,
    /// The running seal task, if any.
    pub seal: Option<SealTask>,
    /// The sequencer's seal state (in a cluster the remote sequencer's, on
    /// [`crate::Cluster::sequencer`]).
    pub sequencer: SequencerPhase,
    /// The sequencer's known global tail.
    pub known_global_tail: Offset,
    /// Appends made, in offset order (as runs of equal appends).
    pub appends: AppendLog,
    /// Cluster only: the admin node's known global tail (its seal task's and its find-tail's);
    /// without separate roles the seal task uses the sequencer's and this stays 0.
    pub sealer_known_global_tail: Offset,
    /// Cluster only: the find-tail reader (always `Idle` without separate roles).
    pub finder: FindTail,
    /// Cluster only: the sequencer's node, serving, let a request time out (it was paused):
    /// a find-tail reader's `GetSequencerState` to it times out as well, and the reader
    /// queries the log servers itself (`tasks/find_tail.rs`: a failed answer of a live
    /// sequencer falls through to the log servers).
    pub sequencer_silent: bool,
    /// Seal tasks of other nodes (`faults.other_seals`): how many started, how many still run.
    /// (Always serialized: checkpoints encode states in a format that cannot skip fields.)
    #[serde(default)]
    pub other_seals: OtherSeals,
    /// Cluster only: tail repairs of find-tail readers other than the model's one
    /// (`faults.other_repairs`).
    #[serde(default)]
    pub other_repairs: OtherRepairs,
    /// Cluster only: failed `GetSequencerState` requests of find-tail readers still allowed
    /// (`faults.reader_timeouts`).
    #[serde(default)]
    pub reader_timeouts_left: u8,
}

/// Tail repairs that find-tail readers other than the model's one run (Restate runs a reader per
/// caller, on every node). The model does not tell the readers apart: it counts the repairs
/// and keeps the range of each one running, which decides when it completes.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OtherRepairs {
    /// Repairs started so far.
    pub started: u8,
    /// The ranges `from..to` of the repairs started and not completed, sorted.
    pub running: Vec<(Offset, Offset)>,
    /// Whether some repair completed.
    pub completed: bool,
}

/// Seal tasks that nodes other than the harness's run on the loglet (auto-improvement,
/// failover, auto-recovery, shutdown). The model does not tell their nodes apart: it counts
/// them. A task may complete, fail (its members did not answer in time), or stay running (its
/// node died).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct OtherSeals {
    /// Tasks started so far.
    pub started: u8,
    /// Tasks started and not ended.
    pub running: u8,
    /// Whether some task completed on an f-majority.
    pub completed: bool,
}

impl OtherSeals {
    /// Whether no task started (the state of every scenario without `faults.other_seals`).
    pub fn is_none(&self) -> bool {
        self.started == 0
    }

    /// Whether some task completed.
    pub fn completed(&self) -> bool {
        self.completed
    }
}

impl Client {
    /// The append at `offset`, if it was made. O(log runs).
    pub fn append_at(&self, offset: Offset) -> Option<Append> {
        self.appends.get(offset)
    }
}

/// A message in flight between the client and a log server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Client -> log server: seal the loglet (`attempt` is the `seal()` call it belongs to).
    Seal {
        /// The log server it goes to (index: N1 is 0).
        to: u8,
        /// The `seal()` call it belongs to (0: a find-tail reader's assisting seal).
        attempt: u8,
        /// Sender's known global tail.
        known_global_tail: Offset,
    },
    /// Log server -> client: reply to Seal.
    Sealed {
        /// The log server it comes from (index: N1 is 0).
        from: u8,
        /// The `seal()` call of the Seal it answers; a reply to an older call is stale.
        attempt: u8,
        /// Ok once the server sealed (the model's servers always seal).
        status: Status,
        /// The server's local tail when it sealed: the seal task takes the highest.
        local_tail: Offset,
        /// Server's known global tail.
        known_global_tail: Offset,
        /// Whether the server is durably sealed (a reply that says so confirms even
        /// without Ok).
        sealed: bool,
    },
    /// Client (sequencer) -> log server: store the record at `offset`.
    Store {
        /// The log server it goes to (index: N1 is 0).
        to: u8,
        /// First offset of the payloads (one record per store in the model).
        offset: Offset,
        /// Sender's known global tail.
        known_global_tail: Offset,
        /// A tail repair's store (`StoreFlags::IgnoreSeal`): accepted by a sealed server, and
        /// answered to the repair task, never to the sequencer (the model drops the answer).
        repair: bool,
    },
    /// Log server -> client: reply to Store.
    Stored {
        /// The log server it comes from (index: N1 is 0).
        from: u8,
        /// The offset the reply is for.
        offset: Offset,
        /// Ok (stored, or a duplicate already stored), Sealed, or OutOfBounds.
        status: Status,
        /// The server's local tail after handling the store.
        local_tail: Offset,
        /// Whether the server is durably sealed.
        sealed: bool,
    },
}

impl Msg {
    /// The log server this message goes to or comes from (index).
    pub fn server(&self) -> u8 {
        match self {
            Msg::Seal { to, .. } | Msg::Store { to, .. } => *to,
            Msg::Sealed { from, .. } | Msg::Stored { from, .. } => *from,
        }
    }

    /// Whether the message goes from the client to a log server.
    pub fn is_request(&self) -> bool {
        matches!(self, Msg::Seal { .. } | Msg::Store { .. })
    }
}

/// A log server's reply status (Restate `net/log_server.rs` `Status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// The request was carried out (a record stored, the loglet sealed).
    Ok,
    /// The loglet is sealed on this server.
    Sealed,
    /// The offset is beyond what this server can accept yet.
    OutOfBounds,
}

/// Facts about the history of a behaviour that a state alone would forget; the properties read
/// them. Each is set by the step that makes it true and never cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct History {
    /// A `seal()` call was rejected because every nodeset member looked Provisioning.
    pub seal_rejected_all_provisioning: bool,
    /// A seal task failed for lack of confirmations.
    pub seal_failed_insufficient: bool,
    /// An append failed because an f-majority answered Sealed.
    pub append_rejected_sealed: bool,
    /// A log server stored a record while the metadata showed it Provisioning (index).
    pub stored_while_provisioning: Option<u8>,
    /// A log server stored a record after it durably sealed (index).
    pub stored_after_seal: Option<u8>,
    /// A step moved a durable tail back or unsealed something (which, in words).
    #[serde(deserialize_with = "static_text")]
    pub tail_moved_back: Option<StaticText>,
    /// A step lowered a known global tail of a running party (which, in words).
    #[serde(deserialize_with = "static_text")]
    pub global_tail_decreased: Option<StaticText>,
    /// The sequencer set its sealed flag while appends were still in flight.
    pub sealed_with_appends_in_flight: bool,
    /// An append was acknowledged before a write quorum stored it.
    pub acked_without_quorum: bool,
    /// The first seeded-bug step this behaviour took, if any.
    pub bug_step: Option<crate::config::Bug>,
    /// A seal task reported success: the f-majority check of the log servers durably sealed
    /// then, over the storage states the task read, by the checker's rules
    /// ([`crate::model::f_majority_check`]).
    pub seal_succeeded_with: Option<FMajority>,
    /// Cluster only: a find-tail reader ran an assisting seal task.
    pub find_tail_assisted: bool,
    /// Cluster only: a find-tail reader started a tail repair.
    pub tail_repair_started: bool,
    /// Cluster only: the remote sequencer drained and sealed after the admin's seal.
    pub sequencer_sealed_remotely: bool,
    /// A log server answered one of the sequencer's stores Sealed, and the sequencer recorded
    /// it (the append was in flight): the remote sequencer has a reason to look for the seal.
    /// Exactly when some append has `sealed` bits, unless the model forgets them
    /// ([`crate::SealModel::forgetful`]).
    #[serde(default)]
    pub store_answered_sealed: bool,
}

/// One state of the model.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct State {
    /// The metadata store's nodes configuration, every version so far: `configs[v - 1]` is
    /// version `v`, one storage state per log server.
    pub configs: Vec<Vec<StorageState>>,
    /// The log servers N1..Nn.
    pub servers: Vec<LogServer>,
    /// The client, its harness and its sequencer.
    pub client: Client,
    /// Messages in flight: a sorted multiset, run-length (a pipeline of stores and their
    /// replies is a few packets).
    pub network: Network,
    /// Messages the network may still lose.
    pub losses_left: u8,
    /// Messages the network may still duplicate.
    pub duplications_left: u8,
    /// Log-server crashes the behaviour may still have (each restart is free).
    pub crashes_left: u8,
    /// Seal-request timeouts of serving members still allowed.
    pub timeouts_left: u8,
    /// Operator storage-state changes still allowed.
    pub operator_moves_left: u8,
    /// History facts for the properties.
    pub history: History,
}

/// A fixed description (an alias, so that serde does not take it for text borrowed from its
/// input).
pub type StaticText = &'static str;

/// Reads back an optional description of [`History`] (states cross processes in the
/// distributed checker). The texts come from a small fixed set: each distinct one is
/// allocated once and kept.
fn static_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'static str>, D::Error> {
    static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.map(|t| {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        match seen.iter().find(|s| **s == t) {
            Some(s) => *s,
            None => {
                let s: &'static str = Box::leak(t.into_boxed_str());
                seen.push(s);
                s
            }
        }
    }))
}

impl State {
    /// The latest nodes-configuration version.
    pub fn version(&self) -> u8 {
        self.configs.len() as u8
    }

    /// The latest nodes configuration, as the metadata store holds it.
    pub fn latest(&self) -> &[StorageState] {
        self.configs.last().expect("there is always a version 1")
    }

    /// The nodes configuration as the client's snapshot shows it.
    pub fn client_view(&self) -> &[StorageState] {
        &self.configs[self.client.view as usize - 1]
    }

    /// The sequencer's sealed tail, once it set its sealed flag.
    pub fn sealed_tail(&self) -> Option<Offset> {
        match self.client.sequencer {
            SequencerPhase::Sealed(t) => Some(t),
            _ => None,
        }
    }

    /// The tail a find-tail reader returned as sealed (cluster only).
    pub fn find_tail_sealed(&self) -> Option<Offset> {
        match self.client.finder {
            FindTail::Sealed(t) => Some(t),
            _ => None,
        }
    }

    /// Adds a message to the network.
    pub fn send(&mut self, msg: Msg) {
        self.network.send(msg);
    }

    /// Removes one copy of a message from the network; false if none was in flight.
    pub fn take(&mut self, msg: &Msg) -> bool {
        self.network.take(msg)
    }
}

impl State {
    /// The canonical member of this state's class under permutations of log servers: servers
    /// are sorted by everything that distinguishes them (their own state, their column of every
    /// nodes-configuration version, their seal-task entry, their part in each append, the
    /// messages to and from them, history facts naming them), and every reference is renamed.
    /// Sound only when log servers are interchangeable (see `SealModel::symmetric`).
    pub fn representative(&self) -> State {
        let n = self.servers.len();
        let key = |i: usize| {
            let column: Vec<StorageState> = self.configs.iter().map(|c| c[i]).collect();
            let member = self
                .client
                .seal
                .as_ref()
                .map(|t| (t.members[i], t.sends[i]));
            // Server i's part in each append, as runs; compared as the expanded sequence.
            let appends = ExpandedRuns(
                self.client
                    .appends
                    .runs()
                    .map(|r| {
                        let d = r.data;
                        (
                            r.len,
                            (has(d.targets, i), has(d.stored, i), has(d.sealed, i)),
                        )
                    })
                    .collect(),
            );
            // Ordered as the sorted list of the server's messages with the index renamed.
            let msgs = self.network.of_server(i as u8).renamed(&|_| 0);
            let hist = (
                self.history.stored_while_provisioning == Some(i as u8),
                self.history.stored_after_seal == Some(i as u8),
            );
            (self.servers[i].clone(), column, member, appends, msgs, hist)
        };
        let keys: Vec<_> = (0..n).map(key).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        if order.iter().enumerate().all(|(new, &old)| new == old) {
            return self.clone();
        }
        // new_index[old] = position of old in the sorted order.
        let mut new_index = vec![0u8; n];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new as u8;
        }
        let remap_bits = |bits: Bits| -> Bits {
            (0..n)
                .filter(|&i| has(bits, i))
                .fold(0, |acc, i| acc | (1 << new_index[i]))
        };
        let mut s = self.clone();
        s.servers = order.iter().map(|&i| self.servers[i].clone()).collect();
        s.configs = self
            .configs
            .iter()
            .map(|c| order.iter().map(|&i| c[i]).collect())
            .collect();
        if let Some(t) = s.client.seal.as_mut() {
            let old = t.members.clone();
            t.members = order.iter().map(|&i| old[i]).collect();
            let old = t.sends.clone();
            t.sends = order.iter().map(|&i| old[i]).collect();
        }
        s.client.appends.map_runs(|d| {
            d.targets = remap_bits(d.targets);
            d.stored = remap_bits(d.stored);
            d.sealed = remap_bits(d.sealed);
        });
        s.network = self.network.renamed(&|i| new_index[i as usize]);
        s.history.stored_while_provisioning = self
            .history
            .stored_while_provisioning
            .map(|i| new_index[i as usize]);
        s.history.stored_after_seal = self
            .history
            .stored_after_seal
            .map(|i| new_index[i as usize]);
        s
    }
}

/// A sequence given as runs `(len, value)`, ordered (and equal) as its expansion
/// ([`crate::appends::cmp_expanded`]).
struct ExpandedRuns<T>(Vec<(Offset, T)>);

impl<T: Ord + Copy> Ord for ExpandedRuns<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        crate::appends::cmp_expanded(self.0.iter().copied(), other.0.iter().copied())
    }
}

impl<T: Ord + Copy> PartialOrd for ExpandedRuns<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord + Copy> PartialEq for ExpandedRuns<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl<T: Ord + Copy> Eq for ExpandedRuns<T> {}

impl Msg {
    /// The same message with its log-server index renamed.
    pub fn renamed(&self, f: &dyn Fn(u8) -> u8) -> Msg {
        let mut m = self.clone();
        match &mut m {
            Msg::Seal { to, .. } | Msg::Store { to, .. } => *to = f(*to),
            Msg::Sealed { from, .. } | Msg::Stored { from, .. } => *from = f(*from),
        }
        m
    }
}
/// The outcome of an f-majority check over a nodeset, with the names of Restate's
/// `FMajorityResult` (`crates/types/src/replication/checker.rs`). Only `Success` and
/// `SuccessWithRisk` pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FMajority {
    /// Too few matching members, and not every authoritative member matches.
    None,
    /// Too few matching members, but every authoritative member matches: not a pass.
    BestEffort,
    /// Enough matching members, but too few of them authoritative (DataLoss members counted).
    SuccessWithRisk,
    /// Enough matching authoritative members.
    Success,
}

impl FMajority {
    /// Whether the check passes (Restate `passed()`).
    pub fn passed(self) -> bool {
        matches!(self, FMajority::SuccessWithRisk | FMajority::Success)
    }

    /// The result in words, as a clause about the durably sealed members.
    pub fn describe(self) -> &'static str {
        match self {
            FMajority::None => "no f-majority of them",
            FMajority::BestEffort => {
                "every authoritative member but no f-majority (best effort, not a pass)"
            }
            FMajority::SuccessWithRisk => {
                "an f-majority counting DataLoss members (success with risk)"
            }
            FMajority::Success => "an f-majority of them",
        }
    }
}
