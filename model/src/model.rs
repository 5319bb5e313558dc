//! The transition relation: which steps each party may take, and what each step does.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use stateright::Model;

use crate::config::{Bug, Config, HarnessKind, StorageState};
use crate::properties::{self, PropertyInfo, PropertyKind};
use crate::state::*;

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
        from: u8,
        /// The highest local tail of the sealed members it heard from.
        to: u8,
    },
    /// Cluster only: the tail repair completed (every record in its range is on a write
    /// quorum): find-tail returns Sealed at the repaired tail.
    TailRepairCompletes,
    /// Cluster only: a find-tail reader heard from an f-majority that is sealed and needs no
    /// repair: it returns Sealed at this tail.
    FindTailFindsSealed(u8),
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
}

/// Attempts of one Seal request per member and seal task: `Attempts::exact(3)` in Restate's
/// `tasks/seal.rs`.
pub const SEAL_REQUEST_ATTEMPTS: u8 = 3;

/// The name of the extra `always` property a model with a [`Deadline`] has: it fails in every
/// state checked after the deadline passed or a stop was requested.
pub const STOP_PROPERTY: &str = "sealcheck: the exploration was stopped";

/// A stop signal for an exploration: a wall-clock limit, a stop requested from outside (a
/// memory bound, Ctrl-C), or both.
///
/// A model with a deadline ([`SealModel::with_deadline`]) has one more `always` property,
/// [`STOP_PROPERTY`], whose condition fails in every state checked once the deadline passed or
/// [`Deadline::stop`] was called. A stateright checker built with
/// `finish_when(HasDiscoveries::AnyOf({STOP_PROPERTY}))` therefore stops within one block of
/// states (1,500 per thread in stateright 0.31) instead of draining its queue, with one thread
/// as with many (stateright 0.31 ignores its own timeout with one thread). The property also
/// counts the states checked, so that a caller can tell how many generated states still wait.
#[derive(Debug)]
pub struct Deadline {
    at: Option<Instant>,
    tripped: AtomicBool,
    checked: AtomicUsize,
}

impl Deadline {
    /// A deadline `after` from now (never, if that is beyond what the clock can represent).
    pub fn after(after: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(after),
            tripped: AtomicBool::new(false),
            checked: AtomicUsize::new(0),
        }
    }

    /// No time limit: the exploration stops only when [`Deadline::stop`] is called.
    pub fn never() -> Deadline {
        Deadline {
            at: None,
            tripped: AtomicBool::new(false),
            checked: AtomicUsize::new(0),
        }
    }

    /// Requests a stop now.
    pub fn stop(&self) {
        self.tripped.store(true, Ordering::Relaxed);
    }

    /// Whether the deadline passed or a stop was requested (and remembers that it did).
    pub fn check(&self) -> bool {
        if self.tripped.load(Ordering::Relaxed) {
            return true;
        }
        if self.at.is_some_and(|at| Instant::now() >= at) {
            self.tripped.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Whether [`Deadline::check`] ever saw the deadline pass, or a stop was requested: the run
    /// was cut short.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// How many states had their properties checked (each state a checker expands once).
    pub fn checked(&self) -> usize {
        self.checked.load(Ordering::Relaxed)
    }
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

/// The stateright model of one loglet's seal protocol, built from a [`Config`].
#[derive(Clone, Debug)]
pub struct SealModel {
    /// The scenario.
    pub cfg: Config,
    /// Nodeset membership as a bit set over log-server indices.
    pub nodeset: Bits,
    properties: Vec<PropertyInfo>,
    deadline: Option<Arc<Deadline>>,
}

impl SealModel {
    /// Whether `state` has no successor: the run can only stop there. `eventually` properties
    /// are judged in such states; every engine and validation ask this one question.
    pub fn is_terminal(&self, state: &State) -> bool {
        let mut acts = Vec::new();
        self.actions(state, &mut acts);
        acts.is_empty()
    }

    pub(crate) fn new(cfg: Config) -> SealModel {
        let nodeset = cfg
            .nodeset
            .iter()
            .fold(0 as Bits, |acc, id| acc | (1 << (id - 1)));
        let properties = properties::for_config(&cfg);
        SealModel {
            cfg,
            nodeset,
            properties,
            deadline: None,
        }
    }

    /// The same model with a stop signal for exploration (see [`Deadline`]): it has one more
    /// property, [`STOP_PROPERTY`], in [`Model::properties`] (not in
    /// [`SealModel::property_list`]).
    pub fn with_deadline(mut self, deadline: Arc<Deadline>) -> SealModel {
        self.deadline = Some(deadline);
        self
    }

    /// Whether log servers are interchangeable, so that [`State::representative`] is a sound
    /// symmetry reduction: every log server is in the nodeset (their initial storage states and
    /// forced flags are part of the state and permute with them).
    pub fn symmetric(&self) -> bool {
        self.members().count() == self.n() && self.cfg.cluster.is_none()
    }

    /// Whether the seal task and the sequencer run on different nodes ([`crate::Cluster`]).
    pub fn cluster(&self) -> bool {
        self.cfg.cluster.is_some()
    }

    /// The known global tail the seal task stamps on its requests and raises from replies: the
    /// sequencer's own without separate roles, the admin node's in a cluster.
    pub fn sealer_known_global_tail(&self, state: &State) -> u8 {
        if self.cluster() {
            state.client.sealer_known_global_tail
        } else {
            state.client.known_global_tail
        }
    }

    /// The members whose seal is confirmed for a seal task that is not the harness's (the
    /// remote sequencer's check, a find-tail assist): durably sealed and serving.
    fn sealed_serving(&self, state: &State) -> Bits {
        self.members()
            .filter(|&i| state.servers[i].sealed && state.servers[i].process == Process::Serving)
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// The named properties this scenario checks, in report order.
    pub fn property_list(&self) -> &[PropertyInfo] {
        &self.properties
    }

    /// Looks a property up by its name.
    pub fn property_info(&self, name: &str) -> Option<&PropertyInfo> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The node id of log server `index` (N1 is index 0).
    pub fn server_id(&self, index: u8) -> u8 {
        index + 1
    }

    /// Number of log servers.
    pub fn n(&self) -> usize {
        self.cfg.log_servers as usize
    }

    /// Log-server indices of the nodeset, in order.
    pub fn members(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.n()).filter(|&i| has(self.nodeset, i))
    }

    /// Nodes of the nodeset the sequencer writes to in a given configuration (`can_write_to`).
    pub fn writable(&self, config: &[StorageState]) -> Bits {
        self.writable_counting(config, false)
    }

    /// Like [`SealModel::writable`], optionally counting Provisioning nodes as writable (the
    /// seeded bug `provisioning-writable`).
    pub fn writable_counting(&self, config: &[StorageState], provisioning_counts: bool) -> Bits {
        self.members()
            .filter(|&i| {
                config[i].can_write_to()
                    || (provisioning_counts && config[i] == StorageState::Provisioning)
            })
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// The effective nodeset in a configuration: the nodeset minus Disabled nodes.
    pub fn effective(&self, config: &[StorageState]) -> Bits {
        self.members()
            .filter(|&i| config[i] != StorageState::Disabled)
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// Confirmations a seal task needs over an effective nodeset of `effective` nodes.
    pub fn seal_quorum(&self, effective: usize) -> usize {
        self.cfg.f_majority(effective)
    }

    /// Stored replies an append needs before it is acknowledged.
    pub fn write_quorum(&self) -> usize {
        self.cfg.replication as usize
    }

    fn max_seal_calls(&self) -> u8 {
        match self.cfg.harness.kind {
            HarnessKind::Retry => self.cfg.harness.max_attempts,
            _ => 1,
        }
    }

    /// Whether `restatectl nodes set-storage-state` accepts moving log server `i` of the
    /// configuration `config` to `to` (`tools/restatectl/.../storage_state.rs`). With
    /// `--force` it accepts anything. Without it: a move to the same state (it still writes a
    /// new version), Provisioning -> Disabled, ReadWrite <-> ReadOnly; and a move to any state
    /// other than ReadWrite only if the other log servers still hold R ReadWrite nodes to form
    /// a nodeset from.
    pub fn operator_may(&self, config: &[StorageState], i: usize, to: StorageState) -> bool {
        use StorageState::*;
        if self.cfg.faults.operator_force {
            return true;
        }
        let from = config[i];
        let pair = from == to
            || matches!(
                (from, to),
                (Provisioning, Disabled) | (ReadWrite, ReadOnly) | (ReadOnly, ReadWrite)
            );
        if !pair {
            return false;
        }
        if to.should_write_to() {
            return true;
        }
        let others = (0..self.n())
            .filter(|&j| j != i && config[j] == ReadWrite)
            .count();
        others >= self.cfg.replication as usize
    }

    /// Whether a seal task whose nodes-configuration snapshot is `view` may report success
    /// once the members in `confirmed` answered: an f-majority of the effective nodeset
    /// (members not Disabled) confirmed, `max(n - R, 0) + 1` of them. DataLoss members count
    /// (Restate's `SuccessWithRisk` passes).
    pub fn seal_task_passes(&self, view: &[StorageState], confirmed: Bits) -> bool {
        let effective = self.effective(view);
        count(confirmed & effective) >= self.seal_quorum(count(effective))
    }

    /// The single initial state.
    pub fn initial_state(&self) -> State {
        let initial = self.cfg.initial_states();
        let servers = (0..self.n())
            .map(|i| {
                let id = i as u8 + 1;
                let state = initial[i];
                let forced = self.cfg.forced_provisioning.contains(&id);
                let process = match state {
                    StorageState::Provisioning if forced => Process::Serving,
                    StorageState::Provisioning => Process::Starting,
                    StorageState::ReadWrite | StorageState::ReadOnly | StorageState::Gone => {
                        Process::Serving
                    }
                    StorageState::DataLoss | StorageState::Disabled => Process::Refused,
                };
                LogServer {
                    process,
                    marker: process == Process::Serving,
                    stored: 0,
                    local_tail: 0,
                    sealed: false,
                    known_global_tail: 0,
                }
            })
            .collect();
        State {
            configs: vec![initial],
            servers,
            client: Client {
                view: 1,
                joined: !self.client_joins(),
                harness: if self.cfg.harness.get_trim_point {
                    HarnessPhase::TrimPoint
                } else {
                    HarnessPhase::Ready
                },
                attempts: 0,
                seal: None,
                sequencer: SequencerPhase::Open,
                known_global_tail: 0,
                appends: Vec::new(),
                sealer_known_global_tail: 0,
                finder: FindTail::Idle,
                sequencer_silent: false,
            },
            network: Vec::new(),
            losses_left: self.cfg.faults.message_loss,
            duplications_left: self.cfg.faults.message_duplication,
            crashes_left: self.cfg.faults.crashes,
            timeouts_left: self.cfg.faults.timeouts,
            operator_moves_left: self.cfg.faults.operator_moves,
            history: History::default(),
        }
    }

    /// Publishes a new nodes-configuration version; without stale views the client sees it at
    /// once.
    fn publish(&self, state: &mut State, config: Vec<StorageState>) {
        state.configs.push(config);
        if !self.cfg.stale_views {
            state.client.view = state.version();
        }
    }

    fn store_deliverable(state: &State, to: u8, offset: u8) -> bool {
        !state
            .network
            .iter()
            .any(|m| matches!(m, Msg::Store { to: t, offset: o, .. } if *t == to && *o < offset))
    }

    fn deliverable(&self, state: &State, msg: &Msg) -> bool {
        match msg {
            Msg::Seal { to, .. } => state.servers[*to as usize].process == Process::Serving,
            Msg::Store { to, offset, .. } => {
                state.servers[*to as usize].process == Process::Serving
                    && Self::store_deliverable(state, *to, *offset)
            }
            Msg::Sealed { .. } | Msg::Stored { .. } => true,
        }
    }

    /// Whether the client is a test client that joins the cluster by a step of its own: only
    /// with stale views (without them every snapshot is the latest anyway).
    fn client_joins(&self) -> bool {
        self.cfg.stale_views && self.cfg.harness.client == crate::config::ClientStart::Joining
    }

    /// Whether the harness's wait before the test body is over: `wait-provisioned` waits
    /// until the metadata store shows no nodeset member Provisioning.
    fn harness_wait_over(&self, state: &State) -> bool {
        match self.cfg.harness.kind {
            HarnessKind::WaitProvisioned => {
                let latest = state.latest();
                self.members()
                    .all(|i| latest[i] != StorageState::Provisioning)
            }
            _ => true,
        }
    }

    fn harness_may_call_seal(&self, state: &State) -> bool {
        let c = &state.client;
        if c.harness != HarnessPhase::Ready || c.seal.is_some() || !c.joined {
            return false;
        }
        if c.attempts >= self.max_seal_calls() {
            return false;
        }
        if c.sequencer != SequencerPhase::Open && !self.cluster() {
            return false;
        }
        // The wait comes before the test body; with get_trim_point the body already started.
        self.cfg.harness.get_trim_point || self.harness_wait_over(state)
    }

    /// Whether every nodeset member looks Provisioning in a configuration (Restate
    /// `all_provisioning`, the guard of the seal and get-trim-point tasks).
    fn all_provisioning(&self, config: &[StorageState]) -> bool {
        self.members()
            .all(|i| config[i] == StorageState::Provisioning)
    }

    /// After a failed `seal()`: retry if the harness does and may, else the test fails.
    fn seal_call_failed(&self, state: &mut State) {
        let c = &mut state.client;
        c.seal = None;
        c.harness = if self.cfg.harness.kind == HarnessKind::Retry
            && c.attempts < self.cfg.harness.max_attempts
        {
            HarnessPhase::Ready
        } else {
            HarnessPhase::Failed
        };
    }

    /// Acknowledges, in offset order, every append whose write quorum is complete.
    fn commit_in_order(&self, state: &mut State) {
        let quorum = self.write_quorum();
        if matches!(state.client.sequencer, SequencerPhase::Sealed(_))
            && !state.history.sealed_with_appends_in_flight
        {
            // A drained sequencer has no append left to acknowledge.
            return;
        }
        loop {
            let kgt = state.client.known_global_tail;
            let Some(a) = state.client.appends.iter_mut().find(|a| a.offset == kgt) else {
                break;
            };
            if a.status != AppendStatus::InFlight || count(a.stored) < quorum {
                break;
            }
            a.status = AppendStatus::Acked;
            // Raise the known global tail first, then resolve the append.
            state.client.known_global_tail = kgt + 1;
        }
    }

    /// How a log server in state `server` answers `Store(offset)` carrying the sender's known
    /// global tail: Sealed once durably sealed (unless the seeded bug ignores the seal),
    /// OutOfBounds past what it can accept (stores arrive in order), else Ok.
    pub fn store_status(
        server: &LogServer,
        offset: u8,
        known_global_tail: u8,
        ignore_seal: bool,
    ) -> Status {
        let kgt = server.known_global_tail.max(known_global_tail);
        if server.sealed && !ignore_seal {
            Status::Sealed
        } else if offset > server.local_tail.max(kgt) {
            Status::OutOfBounds
        } else {
            Status::Ok
        }
    }

    /// A log server handles `Store`: `ignore_seal` for a tail repair's store (`repair`) and
    /// under the seeded bug. A repair store is answered to the repair task, which the model
    /// does not wait on, so its answer is dropped.
    fn handle_store(
        &self,
        state: &mut State,
        to: u8,
        offset: u8,
        known_global_tail: u8,
        ignore_seal: bool,
        repair: bool,
    ) {
        let provisioning = state.latest()[to as usize] == StorageState::Provisioning;
        let status = Self::store_status(
            &state.servers[to as usize],
            offset,
            known_global_tail,
            ignore_seal,
        );
        let s = &mut state.servers[to as usize];
        s.known_global_tail = s.known_global_tail.max(known_global_tail);
        let status = if status != Status::Ok {
            status
        } else if !ignore_seal && offset < s.local_tail {
            // A duplicate of a record below the local tail: answered Ok without writing
            // (`loglet_worker.rs`, the full-duplicate fast path).
            Status::Ok
        } else {
            if s.sealed && !repair {
                state.history.stored_after_seal.get_or_insert(to);
            }
            if provisioning {
                state.history.stored_while_provisioning.get_or_insert(to);
            }
            let s = &mut state.servers[to as usize];
            s.stored |= 1 << offset;
            s.local_tail = s.local_tail.max(offset + 1);
            Status::Ok
        };
        if repair {
            return;
        }
        let s = &state.servers[to as usize];
        let reply = Msg::Stored {
            from: to,
            offset,
            status,
            local_tail: s.local_tail,
            sealed: s.sealed,
        };
        state.send(reply);
    }

    fn on_deliver(&self, state: &mut State, msg: Msg) {
        match msg {
            Msg::Seal {
                to,
                attempt,
                known_global_tail,
            } => {
                let s = &mut state.servers[to as usize];
                s.known_global_tail = s.known_global_tail.max(known_global_tail);
                // Written with a sync write before `Sealed` goes out.
                s.sealed = true;
                let reply = Msg::Sealed {
                    from: to,
                    attempt,
                    status: Status::Ok,
                    local_tail: s.local_tail,
                    known_global_tail: s.known_global_tail,
                    sealed: true,
                };
                state.send(reply);
            }
            Msg::Store {
                to,
                offset,
                known_global_tail,
                repair,
            } => {
                self.handle_store(state, to, offset, known_global_tail, repair, repair);
            }
            Msg::Sealed {
                from,
                attempt,
                status,
                local_tail,
                known_global_tail,
                sealed,
            } => {
                let Some(task) = state.client.seal.as_mut() else {
                    return; // the task is gone: the reply is dropped
                };
                if task.attempt != attempt
                    || task.members[from as usize] != Some(MemberSeal::Pending)
                {
                    return;
                }
                if !(status == Status::Ok || sealed) {
                    return;
                }
                task.members[from as usize] = Some(MemberSeal::Confirmed);
                task.max_local_tail = task.max_local_tail.max(local_tail);
                let kgt = if self.cluster() {
                    &mut state.client.sealer_known_global_tail
                } else {
                    &mut state.client.known_global_tail
                };
                *kgt = (*kgt).max(known_global_tail);
                self.settle_seal_task(state);
            }
            Msg::Stored {
                from,
                offset,
                status,
                ..
            } => {
                let sealed_quorum = self
                    .cfg
                    .f_majority(count(self.effective(state.client_view())));
                let Some(a) = state.client.appends.iter_mut().find(|a| a.offset == offset) else {
                    return;
                };
                if a.status != AppendStatus::InFlight {
                    return;
                }
                match status {
                    Status::Ok => a.stored |= 1 << from,
                    Status::Sealed => {
                        a.sealed |= 1 << from;
                        if count(a.sealed) >= sealed_quorum {
                            a.status = AppendStatus::RejectedSealed;
                            state.history.append_rejected_sealed = true;
                        }
                    }
                    Status::OutOfBounds => {}
                }
                self.commit_in_order(state);
            }
        }
    }

    /// Ends the seal task once its outcome is known: success as soon as enough members
    /// confirmed, failure (`SealFailed`, insufficient confirmations) once no member is pending.
    fn settle_seal_task(&self, state: &mut State) {
        let Some(task) = &state.client.seal else {
            return;
        };
        let confirmed = task
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| **m == Some(MemberSeal::Confirmed))
            .fold(0 as Bits, |acc, (i, _)| acc | (1 << i));
        let pending = task.members.contains(&Some(MemberSeal::Pending));
        let view = Self::task_view(state);
        if confirmed != 0 && self.seal_task_passes(&view, confirmed) {
            self.seal_task_succeeded(state);
        } else if !pending {
            state.history.seal_failed_insufficient = true;
            self.seal_call_failed(state);
        }
    }

    /// The storage states the running seal task judges its f-majority by: the client's
    /// snapshot, with the task's effective nodeset fixed when it started (a member outside it
    /// reads Disabled; a member inside it that became Disabled since stays a candidate).
    fn task_view(state: &State) -> Vec<StorageState> {
        let mut view = state.client_view().to_vec();
        if let Some(task) = &state.client.seal {
            for (i, m) in task.members.iter().enumerate() {
                match m {
                    None => view[i] = StorageState::Disabled,
                    Some(_) if view[i] == StorageState::Disabled => {
                        view[i] = StorageState::Provisioning
                    }
                    Some(_) => {}
                }
            }
        }
        view
    }

    fn seal_task_succeeded(&self, state: &mut State) {
        let durably_sealed = self
            .members()
            .filter(|&i| state.servers[i].sealed)
            .fold(0 as Bits, |acc, i| acc | (1 << i));
        let config = Self::task_view(state);
        let states: Vec<StorageState> = self.members().map(|i| config[i]).collect();
        let sealed: Vec<bool> = self.members().map(|i| has(durably_sealed, i)).collect();
        let check = properties::f_majority_check(&states, &sealed, self.cfg.replication);
        state.history.seal_succeeded_with.get_or_insert(check);
        state.client.seal = None;
        if self.cluster() {
            // The admin's sequencer is remote: nothing to drain here; seal() returns.
            state.client.harness = HarnessPhase::Succeeded;
        } else {
            state.client.sequencer = SequencerPhase::Draining;
        }
    }

    fn sequencer_seals(&self, state: &mut State) {
        let c = &mut state.client;
        if c.appends.iter().any(|a| a.status == AppendStatus::InFlight) {
            state.history.sealed_with_appends_in_flight = true;
        }
        c.sequencer = SequencerPhase::Sealed(c.known_global_tail);
        if self.cluster() {
            state.history.sequencer_sealed_remotely = true;
        } else {
            c.harness = HarnessPhase::Succeeded;
        }
    }

    /// Drops replies that can no longer have an effect: `Stored` for an append that is already
    /// resolved (acknowledged, rejected or cancelled) and `Sealed` for a seal call that is over
    /// or a member it no longer waits for. Delivering such a reply changes nothing but the
    /// network, so keeping it only multiplies states that behave the same (a standard
    /// reduction; it removes no behaviour a property or an observation can tell apart).
    fn drop_stale_replies(state: &mut State) {
        let appends = &state.client.appends;
        let seal = &state.client.seal;
        let crashed = state.client.sequencer == SequencerPhase::Crashed;
        state.network.retain(|m| match m {
            Msg::Stored { offset, .. } => {
                !crashed
                    && appends
                        .iter()
                        .any(|a| a.offset == *offset && a.status == AppendStatus::InFlight)
            }
            Msg::Sealed { from, attempt, .. } => seal.as_ref().is_some_and(|t| {
                t.attempt == *attempt && t.members[*from as usize] == Some(MemberSeal::Pending)
            }),
            _ => true,
        });
    }

    /// Records moves that properties forbid: durable tails moving back, seals undone, known
    /// global tails of running parties decreasing. This checks the transition code itself.
    fn audit(&self, prev: &State, next: &mut State) {
        for (i, (a, b)) in prev.servers.iter().zip(&next.servers).enumerate() {
            let _ = i;
            if a.sealed && !b.sealed {
                next.history
                    .tail_moved_back
                    .get_or_insert("a log server unsealed");
            }
            if b.local_tail < a.local_tail || (a.stored & !b.stored) != 0 {
                next.history
                    .tail_moved_back
                    .get_or_insert("a log server's local tail moved back");
            }
            if a.process == Process::Serving
                && b.process == Process::Serving
                && b.known_global_tail < a.known_global_tail
            {
                next.history
                    .global_tail_decreased
                    .get_or_insert("a log server's known global tail decreased");
            }
        }
        match (prev.client.sequencer, next.client.sequencer) {
            (SequencerPhase::Sealed(_), SequencerPhase::Open | SequencerPhase::Draining) => {
                next.history
                    .tail_moved_back
                    .get_or_insert("the sequencer unsealed");
            }
            (SequencerPhase::Sealed(x), SequencerPhase::Sealed(y)) if x != y => {
                next.history
                    .tail_moved_back
                    .get_or_insert("the sequencer's sealed tail moved");
            }
            _ => {}
        }
        if next.client.sealer_known_global_tail < prev.client.sealer_known_global_tail {
            next.history
                .global_tail_decreased
                .get_or_insert("the sealer's known global tail decreased");
        }
        if let (FindTail::Sealed(x), y) = (prev.client.finder, next.client.finder) {
            if y != FindTail::Sealed(x) {
                next.history
                    .tail_moved_back
                    .get_or_insert("a tail find-tail returned as sealed moved");
            }
        }
        if next.client.known_global_tail < prev.client.known_global_tail {
            next.history
                .global_tail_decreased
                .get_or_insert("the sequencer's known global tail decreased");
        }
    }

    fn apply(&self, state: &mut State, action: Action) {
        match action {
            Action::LogServerProvisions(i) => {
                let idx = i as usize;
                if state.latest()[idx] == StorageState::Provisioning {
                    state.servers[idx].marker = true;
                    let mut config = state.latest().to_vec();
                    config[idx] = StorageState::ReadWrite;
                    self.publish(state, config);
                    state.servers[idx].process = if self.cfg.provisioning_steps {
                        Process::NotReady
                    } else {
                        Process::Serving
                    };
                } else {
                    // The compare-and-set expected Provisioning: the server refuses to start.
                    state.servers[idx].process = Process::Refused;
                }
            }
            Action::LogServerWritesMarker(i) => state.servers[i as usize].marker = true,
            Action::LogServerStartsRequestPump(i) => {
                state.servers[i as usize].process = Process::Serving
            }
            Action::ClientViewCatchesUp => state.client.view = state.version(),
            Action::ClientJoins => {
                state.client.joined = true;
                state.client.view = state.version();
            }
            Action::HarnessGetsTrimPoint => state.client.harness = HarnessPhase::Ready,
            Action::TrimPointFails => state.client.harness = HarnessPhase::Failed,
            Action::HarnessCallsSeal => {
                state.client.attempts += 1;
                state.client.harness = HarnessPhase::Sealing;
                let view = state.client_view().to_vec();
                let effective = self.effective(&view);
                let attempt = state.client.attempts;
                let members = (0..self.n())
                    .map(|i| has(effective, i).then_some(MemberSeal::Pending))
                    .collect();
                state.client.seal = Some(SealTask {
                    attempt,
                    members,
                    effective: count(effective) as u8,
                    max_local_tail: 0,
                    sends: (0..self.n()).map(|i| has(effective, i) as u8).collect(),
                });
                let kgt = self.sealer_known_global_tail(state);
                self.send_to(state, effective, |to| Msg::Seal {
                    to,
                    attempt,
                    known_global_tail: kgt,
                });
                if count(effective) == 0 {
                    self.seal_call_failed(state);
                }
            }
            Action::SealRejectedAllProvisioning => {
                state.client.attempts += 1;
                state.history.seal_rejected_all_provisioning = true;
                self.seal_call_failed(state);
            }
            Action::Deliver(msg) => {
                state.take(&msg);
                self.on_deliver(state, msg);
            }
            Action::SealRequestFails(i) => {
                if state.servers[i as usize].process == Process::Serving
                    && !Self::seal_request_lost(state, i as usize)
                {
                    state.timeouts_left -= 1;
                    if self.cfg.sequencer_index() == Some(i) {
                        state.client.sequencer_silent = true;
                    }
                }
                let task = state
                    .client
                    .seal
                    .as_mut()
                    .expect("enabled only with a task");
                let attempt = task.attempt;
                task.members[i as usize] = Some(MemberSeal::GaveUp);
                // A request to a server that is not serving never left (no connection); one
                // written to the connection of a serving but slow server may still be handled
                // later: a failed seal is not a no-op.
                if state.servers[i as usize].process != Process::Serving {
                    state.network.retain(|m| {
                        !matches!(m, Msg::Seal { to, attempt: a, .. } if *to == i && *a == attempt)
                    });
                }
                self.settle_seal_task(state);
            }
            Action::SealRequestResent(i) => {
                let task = state.client.seal.as_mut().expect("a task");
                task.sends[i as usize] += 1;
                let attempt = task.attempt;
                let kgt = self.sealer_known_global_tail(state);
                state.send(Msg::Seal {
                    to: i,
                    attempt,
                    known_global_tail: kgt,
                });
            }
            Action::SequencerDrains => {
                for a in &mut state.client.appends {
                    if a.status == AppendStatus::InFlight {
                        a.status = AppendStatus::Cancelled;
                    }
                }
                self.sequencer_seals(state);
            }
            Action::SequencerAppends => self.append(state, false),
            Action::SequencerAppendsToProvisioning => self.append(state, true),
            Action::Lose(msg) => {
                state.take(&msg);
                state.losses_left -= 1;
            }
            Action::Duplicate(msg) => {
                state.send(msg);
                state.duplications_left -= 1;
            }
            Action::LogServerCrashes(i) => {
                state.crashes_left -= 1;
                // The known global tail is persisted by the log store and reloaded on restart.
                state.servers[i as usize].process = Process::Down;
                // Connections break: whatever was in flight to or from it is gone.
                state.network.retain(|m| m.server() != i);
                if self.cfg.sequencer_index() == Some(i)
                    && !matches!(state.client.sequencer, SequencerPhase::Sealed(_))
                {
                    // The sequencer dies with its node: its stores and their answers are gone,
                    // and a restarted node is a new generation, not the loglet's sequencer.
                    state.client.sequencer = SequencerPhase::Crashed;
                    state
                        .network
                        .retain(|m| !matches!(m, Msg::Store { repair: false, .. }));
                }
            }
            Action::LogServerRestarts(i) => {
                let idx = i as usize;
                let storage = state.latest()[idx];
                let s = &mut state.servers[idx];
                s.process = match storage {
                    StorageState::Provisioning => Process::Starting,
                    StorageState::ReadWrite | StorageState::ReadOnly if s.marker => {
                        Process::Serving
                    }
                    StorageState::Gone => Process::Serving,
                    _ => Process::Refused,
                };
            }
            Action::OperatorSetsStorageState(i, to) => {
                state.operator_moves_left -= 1;
                let mut config = state.latest().to_vec();
                config[i as usize] = to;
                self.publish(state, config);
            }
            Action::StoreIgnoringSeal(msg) => {
                state.take(&msg);
                if let Msg::Store {
                    to,
                    offset,
                    known_global_tail,
                    ..
                } = msg
                {
                    self.handle_store(state, to, offset, known_global_tail, true, false);
                }
            }
            Action::SealTaskCompletesEarly => self.seal_task_succeeded(state),
            Action::SequencerLearnsSealed => state.client.sequencer = SequencerPhase::Draining,
            Action::FindTailAssistsSeal => {
                state.client.finder = FindTail::Assisting;
                state.history.find_tail_assisted = true;
                let effective = self.effective(state.client_view());
                let kgt = state.client.sealer_known_global_tail;
                // Attempt 0: no `seal()` call of the harness; the answers go to the assist,
                // which the model does not wait on message by message.
                self.send_to(state, effective, |to| Msg::Seal {
                    to,
                    attempt: 0,
                    known_global_tail: kgt,
                });
            }
            Action::SealAssistCompletes => state.client.finder = FindTail::Assisted,
            Action::FindTailRepairsTail { from, to } => {
                state.client.finder = FindTail::Repairing { from, to };
                state.history.tail_repair_started = true;
                state.client.sealer_known_global_tail =
                    state.client.sealer_known_global_tail.max(from);
                let serving = self.serving_effective(state);
                for o in from..to {
                    let holders = self
                        .members()
                        .filter(|&i| has_offset(state.servers[i].stored, o as usize));
                    if holders.count() == 0 {
                        continue;
                    }
                    for j in self.members() {
                        if has(serving, j) && !has_offset(state.servers[j].stored, o as usize) {
                            state.send(Msg::Store {
                                to: j as u8,
                                offset: o,
                                known_global_tail: from,
                                repair: true,
                            });
                        }
                    }
                }
            }
            Action::TailRepairCompletes => {
                if let FindTail::Repairing { to, .. } = state.client.finder {
                    state.client.finder = FindTail::Sealed(to);
                    state.client.sealer_known_global_tail =
                        state.client.sealer_known_global_tail.max(to);
                }
            }
            Action::FindTailFindsSealed(tail) => {
                state.client.finder = FindTail::Sealed(tail);
                state.client.sealer_known_global_tail =
                    state.client.sealer_known_global_tail.max(tail);
            }
            Action::SequencerAcksEarly => {
                let kgt = state.client.known_global_tail;
                let quorum = self.write_quorum();
                if let Some(a) = state.client.appends.iter_mut().find(|a| a.offset == kgt) {
                    a.status = AppendStatus::Acked;
                    if count(a.stored) < quorum {
                        state.history.acked_without_quorum = true;
                    }
                    state.client.known_global_tail = kgt + 1;
                }
                self.commit_in_order(state);
            }
            Action::SequencerSealsWithoutDrain => self.sequencer_seals(state),
        }
    }

    fn append(&self, state: &mut State, provisioning_counts: bool) {
        let offset = state.client.appends.len() as u8;
        let targets = self.writable_counting(state.client_view(), provisioning_counts);
        state.client.appends.push(Append {
            offset,
            targets,
            stored: 0,
            sealed: 0,
            status: AppendStatus::InFlight,
        });
        let kgt = state.client.known_global_tail;
        self.send_to(state, targets, |to| Msg::Store {
            to,
            offset,
            known_global_tail: kgt,
            repair: false,
        });
    }

    /// Sends one message to each log server in `targets`.
    fn send_to(&self, state: &mut State, targets: Bits, msg: impl Fn(u8) -> Msg) {
        for i in 0..self.n() {
            if has(targets, i) {
                state.send(msg(i as u8));
            }
        }
    }

    /// The members of the effective nodeset (in the client's snapshot) that serve requests.
    fn serving_effective(&self, state: &State) -> Bits {
        let effective = self.effective(state.client_view());
        self.members()
            .filter(|&i| has(effective, i) && state.servers[i].process == Process::Serving)
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// The steps of the remote sequencer and of the find-tail reader (cluster only).
    fn cluster_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let view = state.client_view();
        let effective = self.effective(view);
        let sealed_serving = self.sealed_serving(state) & effective;
        let f_majority_sealed = self.seal_task_passes(view, sealed_serving);
        let c = &state.client;
        let maybe_sealed =
            c.harness == HarnessPhase::Succeeded || c.appends.iter().any(|a| a.sealed != 0);
        if c.sequencer == SequencerPhase::Open && maybe_sealed && f_majority_sealed {
            actions.push(Action::SequencerLearnsSealed);
        }
        match c.finder {
            FindTail::Assisting if f_majority_sealed => actions.push(Action::SealAssistCompletes),
            FindTail::Repairing { from, to } => {
                let r = self.write_quorum();
                let replicated = (from..to).all(|o| {
                    state
                        .servers
                        .iter()
                        .filter(|s| has_offset(s.stored, o as usize))
                        .count()
                        >= r
                });
                if replicated {
                    actions.push(Action::TailRepairCompletes);
                }
            }
            // A reader asks the sequencer first; it queries the log servers itself only when
            // the sequencer is dead (`is_sequencer_alive` in `tasks/find_tail.rs`) or does not
            // answer in time (its node paused).
            FindTail::Idle | FindTail::Assisted
                if c.sequencer == SequencerPhase::Crashed || c.sequencer_silent =>
            {
                self.find_tail_outcomes(state, actions);
            }
            _ => {}
        }
    }

    /// What a find-tail reader may decide, over every set of serving effective members it may
    /// have heard from first (an f-majority or more; `tasks/find_tail.rs`): sealed (with or
    /// without a repair), or an assisting seal task.
    fn find_tail_outcomes(&self, state: &State, actions: &mut Vec<Action>) {
        let serving = self.serving_effective(state);
        let quorum = self.seal_quorum(count(self.effective(state.client_view())));
        let r = self.write_quorum();
        let start = actions.len();
        let mut heard: Bits = serving;
        loop {
            // Every subset of `serving`, largest first.
            let responders = heard;
            if count(responders) >= quorum {
                let sealed: Vec<usize> = self
                    .members()
                    .filter(|&i| has(responders, i) && state.servers[i].sealed)
                    .collect();
                if sealed.len() >= quorum {
                    let to = sealed
                        .iter()
                        .map(|&i| state.servers[i].local_tail)
                        .max()
                        .unwrap_or(0);
                    let from = self
                        .members()
                        .filter(|&i| has(responders, i))
                        .map(|i| state.servers[i].known_global_tail)
                        .fold(state.client.sealer_known_global_tail, u8::max);
                    let at_tail = self
                        .members()
                        .filter(|&i| has(responders, i) && state.servers[i].local_tail >= to)
                        .count();
                    if to == from || (to > from && at_tail >= r) {
                        actions.push(Action::FindTailFindsSealed(to));
                    } else if to > from && count(responders) >= r {
                        actions.push(Action::FindTailRepairsTail { from, to });
                    }
                } else if !sealed.is_empty() && state.client.finder == FindTail::Idle {
                    actions.push(Action::FindTailAssistsSeal);
                }
            }
            if heard == 0 {
                break;
            }
            heard = (heard - 1) & serving;
        }
        // One step per outcome.
        let mut found: Vec<Action> = actions.drain(start..).collect();
        found.sort();
        found.dedup();
        actions.extend(found);
    }

    /// Whether the seal request to member `i` and its reply are both gone from the network.
    fn seal_request_lost(state: &State, i: usize) -> bool {
        let Some(task) = &state.client.seal else {
            return false;
        };
        let attempt = task.attempt;
        let i = i as u8;
        !state.network.iter().any(|m| match m {
            Msg::Seal { to, attempt: a, .. } => *to == i && *a == attempt,
            Msg::Sealed {
                from, attempt: a, ..
            } => *from == i && *a == attempt,
            _ => false,
        })
    }
}

impl Model for SealModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.initial_state()]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        // Log servers provisioning themselves.
        for (i, s) in state.servers.iter().enumerate() {
            if s.process == Process::Starting && (s.marker || !self.cfg.provisioning_steps) {
                actions.push(Action::LogServerProvisions(i as u8));
            }
        }
        if self.cfg.provisioning_steps {
            for (i, s) in state.servers.iter().enumerate() {
                if s.process == Process::Starting && !s.marker {
                    actions.push(Action::LogServerWritesMarker(i as u8));
                }
                if s.process == Process::NotReady {
                    actions.push(Action::LogServerStartsRequestPump(i as u8));
                }
            }
        }
        if !state.client.joined {
            if self.harness_wait_over(state) {
                actions.push(Action::ClientJoins);
            }
        } else if self.cfg.stale_views && state.client.view < state.version() {
            actions.push(Action::ClientViewCatchesUp);
        }
        if state.client.joined
            && state.client.harness == HarnessPhase::TrimPoint
            && self.harness_wait_over(state)
        {
            let view = state.client_view();
            let effective = self.effective(view);
            if self.all_provisioning(view) {
                actions.push(Action::HarnessGetsTrimPoint);
            } else {
                if self
                    .members()
                    .any(|i| has(effective, i) && state.servers[i].process == Process::Serving)
                {
                    actions.push(Action::HarnessGetsTrimPoint);
                }
                // Every request may exhaust its attempts while no member serves.
                if self
                    .members()
                    .all(|i| !has(effective, i) || state.servers[i].process != Process::Serving)
                {
                    actions.push(Action::TrimPointFails);
                }
            }
        }
        if self.harness_may_call_seal(state) {
            let all_provisioning = self.all_provisioning(state.client_view());
            actions.push(if all_provisioning {
                Action::SealRejectedAllProvisioning
            } else {
                Action::HarnessCallsSeal
            });
        }
        if let Some(task) = &state.client.seal {
            for (i, m) in task.members.iter().enumerate() {
                // A request fails after its attempts when its member is not serving, when it
                // or its reply was lost, or (a bounded fault) when a serving member is too slow.
                let free = state.servers[i].process != Process::Serving
                    || Self::seal_request_lost(state, i);
                if *m == Some(MemberSeal::Pending) && (free || state.timeouts_left > 0) {
                    actions.push(Action::SealRequestFails(i as u8));
                }
                if *m == Some(MemberSeal::Pending)
                    && task.sends[i] < SEAL_REQUEST_ATTEMPTS
                    && state.servers[i].process == Process::Serving
                    && Self::seal_request_lost(state, i)
                {
                    actions.push(Action::SealRequestResent(i as u8));
                }
            }
            if self.cfg.has_bug(Bug::SealOneConfirmation) {
                let confirmed = task
                    .members
                    .iter()
                    .filter(|m| **m == Some(MemberSeal::Confirmed))
                    .count();
                if confirmed >= 1 && confirmed < self.seal_quorum(task.effective as usize) {
                    actions.push(Action::SealTaskCompletesEarly);
                }
            }
        }
        if self.cluster() {
            self.cluster_actions(state, actions);
        }
        if state.client.sequencer == SequencerPhase::Draining {
            actions.push(Action::SequencerDrains);
            if self.cfg.has_bug(Bug::SealWithoutDrain) {
                actions.push(Action::SequencerSealsWithoutDrain);
            }
        }
        if state.client.sequencer == SequencerPhase::Open
            && state.client.joined
            && state.client.appends.len() < self.cfg.appends as usize
        {
            let view = state.client_view();
            let r = self.cfg.replication as usize;
            if count(self.writable(view)) >= r {
                actions.push(Action::SequencerAppends);
            }
            if self.cfg.has_bug(Bug::ProvisioningWritable)
                && self.writable_counting(view, true) != self.writable(view)
                && count(self.writable_counting(view, true)) >= r
            {
                actions.push(Action::SequencerAppendsToProvisioning);
            }
        }
        if self.cfg.has_bug(Bug::AckBeforeQuorum)
            && !matches!(state.client.sequencer, SequencerPhase::Sealed(_))
        {
            let kgt = state.client.known_global_tail;
            if let Some(a) = state.client.appends.iter().find(|a| a.offset == kgt) {
                if a.status == AppendStatus::InFlight
                    && a.stored != 0
                    && count(a.stored) < self.write_quorum()
                {
                    actions.push(Action::SequencerAcksEarly);
                }
            }
        }
        let mut last: Option<&Msg> = None;
        for msg in &state.network {
            if last == Some(msg) {
                continue;
            }
            last = Some(msg);
            if self.deliverable(state, msg) {
                actions.push(Action::Deliver(msg.clone()));
                if let Msg::Store { to, .. } = msg {
                    if self.cfg.has_bug(Bug::StoreAfterSeal) && state.servers[*to as usize].sealed {
                        actions.push(Action::StoreIgnoringSeal(msg.clone()));
                    }
                }
            }
        }
        if state.losses_left > 0 || state.duplications_left > 0 {
            let mut last: Option<&Msg> = None;
            for msg in &state.network {
                if last == Some(msg) {
                    continue;
                }
                last = Some(msg);
                if state.losses_left > 0 {
                    actions.push(Action::Lose(msg.clone()));
                }
                if state.duplications_left > 0 {
                    actions.push(Action::Duplicate(msg.clone()));
                }
            }
        }
        for (i, s) in state.servers.iter().enumerate() {
            if state.crashes_left > 0
                && matches!(
                    s.process,
                    Process::Serving | Process::Starting | Process::NotReady
                )
            {
                actions.push(Action::LogServerCrashes(i as u8));
            }
            if s.process == Process::Down {
                actions.push(Action::LogServerRestarts(i as u8));
            }
        }
        if state.operator_moves_left > 0 {
            let latest = state.latest();
            for i in 0..latest.len() {
                for to in StorageState::ALL {
                    if self.operator_may(latest, i, to) {
                        actions.push(Action::OperatorSetsStorageState(i as u8, to));
                    }
                }
            }
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut next = last.clone();
        if let Some(bug) = action.seeded_bug() {
            next.history.bug_step.get_or_insert(bug);
        }
        self.apply(&mut next, action);
        Self::drop_stale_replies(&mut next);
        self.audit(last, &mut next);
        Some(next)
    }

    fn format_action(&self, action: &Action) -> String {
        crate::describe::action(self, action)
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let next = self.next_state(last, action.clone())?;
        let mut out = crate::describe::action(self, &action);
        for line in crate::describe::changes(self, last, &next) {
            out.push_str("\n  ");
            out.push_str(&line);
        }
        Some(out)
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(crate::describe::svg(self, &path.into_vec()))
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        self.properties
            .iter()
            .map(|p| match p.kind {
                PropertyKind::Always => stateright::Property::always(p.name, p.condition),
                PropertyKind::Sometimes => stateright::Property::sometimes(p.name, p.condition),
                PropertyKind::Eventually => stateright::Property::eventually(p.name, p.condition),
            })
            .chain(self.deadline.is_some().then(|| {
                stateright::Property::always(STOP_PROPERTY, |m: &SealModel, _| {
                    m.deadline.as_ref().is_none_or(|d| {
                        d.checked.fetch_add(1, Ordering::Relaxed);
                        !d.check()
                    })
                })
            }))
            .collect()
    }
}
