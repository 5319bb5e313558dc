//! Reproducing a path of the model on a real Restate 1.7.12 cluster, with black-box controls
//! only.
//!
//! A path of the model (a counterexample, say) is a list of [`Action`]s. [`control_of`] is the
//! one table that says, for each kind of step, which control of the recorder's cluster makes
//! the real cluster take it:
//!
//! - [`Control::Drive`]: an operator action ([`Op`]): `restatectl logs seal`, a restart after
//!   which a log server self-provisions, SIGKILL, a start, `restatectl nodes
//!   set-storage-state` with or without `--force`;
//! - [`Control::Hold`]: no action of its own; the step is forced by holding a party paused
//!   (SIGSTOP) from before the seal call it belongs to until that seal ends, so that the model's
//!   step is the only one the cluster can take (a paused member's Seal requests time out);
//! - [`Control::ByItself`]: the cluster takes the step on its own right after the controls
//!   before it (a serving log server answers a Seal at once);
//! - [`Control::Cannot`]: no black-box control forces it, with why. The run goes on without it
//!   (the path-following check then reports the step as not observed, or as taken unlogged).
//!
//! Network faults ([`crate::netfault`]: nft drops, loses or resets a node's fabric port) are
//! no control of this table yet. Cutting a member off fails its Seal requests while it keeps
//! running (recording `partition-heals`: `Request failed. Exhausted attempts`, status `E`), but
//! the lack-of-confirmations path reproduced with N2 and N3 cut off instead of paused (both
//! gave up, `[N1(S), N2(E), N3(E)]`) also had N3's seal assist, imported as another node's seal
//! task, and the path-following search gave up at 2,000,000 states after three of six steps,
//! where the paused run follows all six; so a failed Seal request stays [`Control::Hold`]. The rows a fault could reach (a Seal to the sealer N1, a
//! re-sent Seal, a lost message) say what the recordings show and why it is not enough.
//!
//! [`plan`] turns a path into a [`Plan`]: the set-up that puts the real cluster where the
//! model's initial state is, then one [`PlannedStep`] per step. Beside each step's control, the
//! plan steers the steps the cluster takes by itself: a member whose Seal the path delivers only
//! after the seal call's next driven step is held paused from before the call
//! ([`PlannedStep::hold_until_delivered`]) and resumed where the path says
//! ([`PlannedStep::resume_before`], [`PlannedStep::resume_after`]), or, if the path never
//! delivers that call's Seal to it, cut off with a TCP reset instead and reconnected there
//! ([`PlannedStep::cut_until_released`]: paused, it would handle the queued Seal once
//! resumed); a find-tail reader's seal
//! assist is waited for in the logs ([`PlannedStep::wait_for_line`]). [`reproduce`] runs a plan on a
//! fresh cluster (the same three nodes, private network namespace and clean-up as
//! [`crate::run_scenario`]: every process stopped by PID at the end, on error and on Ctrl-C /
//! SIGTERM) and leaves a raw directory that [`crate::import::import_raw_dir`] reads.
//!
//! The set-up. A fresh cluster's log servers self-provision within a second of their start,
//! before any log exists (logs are created about 7 s after every log server is ReadWrite), and
//! 1.7.12 puts only ReadWrite nodes into new nodesets (see docs/reproducing.md, "Reproducing a model
//! path"). The model's initial state (every member Provisioning, not yet provisioned) is
//! therefore reached the forced way: after log 0 exists and every node is ReadWrite, every
//! member that starts Provisioning in the model is moved back to Provisioning with
//! `restatectl nodes set-storage-state --force` (a move the protocol forbids: validation
//! reports it). Such a member is running, so the seal task's Seal reaches it; where the path
//! needs it silent, it is held paused.

use std::thread;
use std::time::Duration;

use sealcheck_model::state::Process;
use sealcheck_model::{Action, SealModel, StorageState};
use serde_json::json;

use crate::binaries::Binaries;
use crate::raw::CtlRecord;
use crate::scenario::{seal_succeeded, Run, ScenarioOptions, LOG, VIA};
use crate::Error;

/// An operator action on the real cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `restatectl -S <N1> logs seal 0`: N1 runs the seal task (the model's client).
    Seal,
    /// Restart node `id` (SIGKILL, start): a log server that the set-up forced to Provisioning
    /// self-provisions at start-up. Waits until the `nodes` table shows it ReadWrite. SIGKILL,
    /// not SIGTERM: a sequencer stopped by SIGTERM seals its loglet on the way down
    /// (`Attempting to seal loglet due to shutdown`), a seal the model's client does not make.
    Provision(u32),
    /// SIGKILL node `id`.
    Kill(u32),
    /// Start node `id` again and wait for its fabric port.
    Start(u32),
    /// `restatectl nodes set-storage-state --nodes ID --storage-state STATE [--force]`.
    SetStorageState {
        /// The node.
        node: u32,
        /// The state, as restatectl spells it (`read-only`).
        state: &'static str,
        /// Whether `--force` is needed (the model's operator may not make it without).
        force: bool,
    },
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Seal => write!(f, "restatectl -S N{VIA} logs seal {LOG}"),
            Op::Provision(id) => write!(
                f,
                "restart N{id} (SIGKILL, start): it self-provisions at start-up; wait until ReadWrite"
            ),
            Op::Kill(id) => write!(f, "SIGKILL N{id}"),
            Op::Start(id) => write!(f, "start N{id} again"),
            Op::SetStorageState { node, state, force } => write!(
                f,
                "restatectl nodes set-storage-state --nodes {node} --storage-state {state}{}",
                if *force { " --force" } else { "" }
            ),
        }
    }
}

/// How the real cluster is made to take one model step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// An operator action.
    Drive(Op),
    /// Forced by holding node `node` paused (SIGSTOP) from before the seal call the step
    /// belongs to until that seal ends.
    Hold {
        /// The node held paused.
        node: u32,
    },
    /// The cluster takes the step on its own after the controls before it.
    ByItself(&'static str),
    /// No black-box control forces it.
    Cannot(String),
}

impl Control {
    /// Whether the step can be forced: `yes`, `by holding`, `by itself`, `no`.
    pub fn forceable(&self) -> &'static str {
        match self {
            Control::Drive(_) => "yes",
            Control::Hold { .. } => "yes, by holding every other party paused",
            Control::ByItself(_) => "happens by itself",
            Control::Cannot(_) => "no",
        }
    }

    /// The control in words.
    pub fn text(&self) -> String {
        match self {
            Control::Drive(op) => op.to_string(),
            Control::Hold { node } => format!(
                "hold N{node} paused (SIGSTOP) from before the seal call until the seal task ends: its Seal requests time out"
            ),
            Control::ByItself(why) => (*why).to_string(),
            Control::Cannot(why) => why.clone(),
        }
    }
}

/// The real node that plays log server `index` of the model (N1 is index 0).
fn node(index: u8) -> u32 {
    u32::from(index) + 1
}

/// The table: which control makes the real cluster take a step of the model. `model` is the
/// model the path belongs to (it decides whether an operator move needs `--force`); `state` the
/// state the step is taken in.
pub fn control_of(model: &SealModel, state: &sealcheck_model::State, action: &Action) -> Control {
    match action {
        Action::LogServerProvisions(i) => Control::Drive(Op::Provision(node(*i))),
        Action::LogServerWritesMarker(_) | Action::LogServerStartsRequestPump(_) => Control::Cannot(
            "the marker write, the compare-and-set and the request pump's start happen within one ~0.5 s start-up; no signal lands between them".into(),
        ),
        Action::ClientViewCatchesUp => Control::Cannot(
            "the sealer's nodes-configuration snapshot catches up inside restate-server; pausing the sealer (N1) also pauses its seal task, and a snapshot that lags a metadata change cannot be held from outside".into(),
        ),
        Action::ClientJoins => Control::Cannot(
            "the recorder's sealer is N1, running from the start; a client node that joins late and calls seal() itself has no restatectl command".into(),
        ),
        Action::HarnessGetsTrimPoint | Action::TrimPointFails => Control::Cannot(
            "no restatectl command calls get_trim_point() on a loglet".into(),
        ),
        Action::HarnessCallsSeal | Action::SealRejectedAllProvisioning => Control::Drive(Op::Seal),
        Action::SealRequestFails(i) if node(*i) == VIA => Control::Cannot(format!(
            "N{VIA} runs the seal task: pausing it pauses the seal task too; cutting its fabric port off with nft cuts restatectl's seal call to it, and cutting only the connections open before the call (recording sealer-cut, N{VIA}'s connection to itself among them) left N{VIA}'s own Seal answered sealed within 45 ms: it does not go over that connection"
        )),
        Action::SealRequestFails(i) => Control::Hold { node: node(*i) },
        Action::SealRequestResent(_) => Control::Cannot(
            "nft can lose a Seal between two attempts (partition-heals: N2's Seal was confirmed 0.4 s after its partition was lifted, 3.1 s into the seal task), but which attempt got through is logged at TRACE only, compiled out of release builds, and the model explains such a run by a late delivery".into(),
        ),
        Action::Deliver(_) => Control::ByItself(
            "a serving party handles a message at once; parties that must not are held paused",
        ),
        Action::SequencerDrains => Control::ByItself(
            "the sequencer drains when its stores come back Sealed or find-tail tells it",
        ),
        Action::SequencerAppends => Control::Cannot(
            "one ingress send appends a record, but the partition processors append their own records to the same log, so the loglet's offsets do not follow the model's one by one".into(),
        ),
        Action::Lose(_) => Control::Cannot(
            "nft drops a member's packets (a partition, or N % of them), but TCP retransmits them and a dropped Seal leaves the same logs as one whose attempts time out: the importer counts the member in faults.timeouts, and no recording tells a lost message apart".into(),
        ),
        Action::Duplicate(_) => Control::Cannot(
            "TCP delivers a message once; no fault of the recorder (nft drop, loss, reset) duplicates one".into(),
        ),
        Action::LogServerCrashes(i) => Control::Drive(Op::Kill(node(*i))),
        Action::LogServerRestarts(i) => Control::Drive(Op::Start(node(*i))),
        Action::OperatorSetsStorageState(i, to) => {
            let view = state.configs.last().expect("a configuration");
            let mut unforced = model.clone();
            unforced.cfg.faults.operator_force = false;
            Control::Drive(Op::SetStorageState {
                node: node(*i),
                state: to.name(),
                force: !unforced.operator_may(view, *i as usize, *to),
            })
        }
        Action::SequencerLearnsSealed => Control::ByItself(
            "the sequencer's node checks the seal when one of its stores comes back Sealed or find-tail asks it, and drains once an f-majority is sealed",
        ),
        Action::FindTailAssistsSeal | Action::SealAssistCompletes | Action::FindTailFindsSealed(_) => {
            Control::ByItself(
                "find-tail runs on its own once the sequencer's node is down (kill it with the step before); whether it assists or finds the loglet sealed follows from the members' seal flags, set by the steps before",
            )
        }
        Action::FindTailLosesSequencer => Control::Cannot(
            "cutting a node off with nft or pausing it makes its find-tail readers' GetSequencerState fail (one-partitioned, steady-load-forced), but the failure leaves no line at DEBUG; the importer allows it wherever a node was paused or cut off (faults.reader_timeouts)".into(),
        ),
        Action::FindTailRepairsTail { .. }
        | Action::TailRepairCompletes
        | Action::OtherRepairStarts { .. }
        | Action::OtherRepairCompletes { .. } => Control::Cannot(
            "a repair needs records below the tail on fewer than a write quorum, which needs the model's own appends; appends cannot be driven one offset at a time (see the sequencer's append)".into(),
        ),
        Action::OtherSealStarts
        | Action::OtherSealCompletes
        | Action::OtherSealFails
        | Action::OtherSealRefused => Control::Cannot(
            "another node's seal task (an auto-improvement or failover reseal, an auto-recovery or shutdown seal) starts when Restate itself decides to; the recorder's `restatectl logs seal` always goes through its one admin node".into(),
        ),
        Action::StoreIgnoringSeal(_)
        | Action::SealTaskCompletesEarly
        | Action::SequencerAcksEarly
        | Action::SequencerSealsWithoutDrain
        | Action::SequencerAppendsToProvisioning => Control::Cannot(
            "a seeded bug: not a behaviour of Restate, no control makes it one".into(),
        ),
    }
}

/// The model the table is written for, and its initial state: the incident scenario with
/// every member ReadWrite and the operator's `--force` allowed, so that the operator rows show
/// which moves need `--force`.
pub fn table_model() -> (SealModel, sealcheck_model::State) {
    let mut cfg = sealcheck_model::Config::incident();
    cfg.initial_storage = vec![StorageState::ReadWrite; 3];
    cfg.faults.operator_force = true;
    let model = cfg.into_model().expect("incident, all ReadWrite");
    let state = model.initial_state();
    (model, state)
}

/// One step of each kind, for listing the table (`sealcheck reproduce --controls`, docs/reproducing.md).
pub fn sample_steps() -> Vec<Action> {
    use sealcheck_model::state::Msg;
    vec![
        Action::LogServerProvisions(0),
        Action::LogServerWritesMarker(0),
        Action::LogServerStartsRequestPump(0),
        Action::ClientViewCatchesUp,
        Action::ClientJoins,
        Action::HarnessGetsTrimPoint,
        Action::TrimPointFails,
        Action::HarnessCallsSeal,
        Action::SealRejectedAllProvisioning,
        Action::SealRequestFails(1),
        Action::SealRequestFails(0),
        Action::SealRequestResent(1),
        Action::Deliver(Msg::Seal {
            to: 1,
            attempt: 1,
            known_global_tail: 0,
        }),
        Action::SequencerDrains,
        Action::SequencerAppends,
        Action::Lose(Msg::Seal {
            to: 1,
            attempt: 1,
            known_global_tail: 0,
        }),
        Action::LogServerCrashes(2),
        Action::LogServerRestarts(2),
        Action::OperatorSetsStorageState(2, StorageState::ReadOnly),
        Action::OperatorSetsStorageState(2, StorageState::Provisioning),
        Action::SequencerLearnsSealed,
        Action::FindTailAssistsSeal,
        Action::SealAssistCompletes,
        Action::FindTailRepairsTail { from: 0, to: 1 },
        Action::TailRepairCompletes,
        Action::FindTailFindsSealed(0),
        Action::FindTailLosesSequencer,
        Action::OtherSealStarts,
        Action::OtherSealCompletes,
        Action::OtherSealFails,
        Action::OtherSealRefused,
        Action::OtherRepairStarts { from: 0, to: 1 },
        Action::OtherRepairCompletes { from: 0, to: 1 },
        Action::SealTaskCompletesEarly,
    ]
}

/// The kind of a model step: one row of the step-to-control table, as a short stable name
/// (`seal-call`, `seal-request-fails`, ...). A failed Seal request to the sealer (N1) is a kind
/// of its own, since it has another control than one to any other member.
pub fn step_kind(action: &Action) -> &'static str {
    match action {
        Action::LogServerProvisions(_) => "provisions",
        Action::LogServerWritesMarker(_) => "writes-marker",
        Action::LogServerStartsRequestPump(_) => "starts-request-pump",
        Action::ClientViewCatchesUp => "view-catches-up",
        Action::ClientJoins => "client-joins",
        Action::HarnessGetsTrimPoint => "gets-trim-point",
        Action::TrimPointFails => "trim-point-fails",
        Action::HarnessCallsSeal => "seal-call",
        Action::SealRejectedAllProvisioning => "seal-refused-all-provisioning",
        Action::SealRequestFails(i) if node(*i) == VIA => "seal-request-to-sealer-fails",
        Action::SealRequestFails(_) => "seal-request-fails",
        Action::SealRequestResent(_) => "seal-request-resent",
        Action::Deliver(_) => "deliver",
        Action::SequencerDrains => "sequencer-drains",
        Action::SequencerAppends => "sequencer-appends",
        Action::Lose(_) => "lose",
        Action::Duplicate(_) => "duplicate",
        Action::LogServerCrashes(_) => "crash",
        Action::LogServerRestarts(_) => "restart",
        Action::OperatorSetsStorageState(..) => "operator-move",
        Action::SequencerLearnsSealed => "sequencer-learns-sealed",
        Action::FindTailAssistsSeal => "find-tail-assists",
        Action::SealAssistCompletes => "assist-completes",
        Action::FindTailRepairsTail { .. } => "tail-repair",
        Action::TailRepairCompletes => "tail-repair-completes",
        Action::FindTailFindsSealed(_) => "find-tail-finds-sealed",
        Action::FindTailLosesSequencer => "reader-loses-sequencer",
        Action::OtherSealStarts => "other-seal-starts",
        Action::OtherSealCompletes => "other-seal-completes",
        Action::OtherSealFails => "other-seal-fails",
        Action::OtherSealRefused => "other-seal-refused",
        Action::OtherRepairStarts { .. } => "other-repair-starts",
        Action::OtherRepairCompletes { .. } => "other-repair-completes",
        Action::StoreIgnoringSeal(_)
        | Action::SealTaskCompletesEarly
        | Action::SequencerAcksEarly
        | Action::SequencerSealsWithoutDrain
        | Action::SequencerAppendsToProvisioning => "seeded-bug",
    }
}

/// Every step kind of the table once, in the table's order, with a sample step of it (the
/// first of [`sample_steps`] of that kind).
pub fn step_kinds() -> Vec<(&'static str, Action)> {
    let mut out: Vec<(&'static str, Action)> = Vec::new();
    for a in sample_steps() {
        let k = step_kind(&a);
        if !out.iter().any(|(seen, _)| *seen == k) {
            out.push((k, a));
        }
    }
    out
}

/// Random delays before the driven steps of a run (`sealcheck campaign --jitter`), so that
/// behaviour that depends on timing shows across runs. Each delay is drawn from `0..=max_ms`
/// by a generator seeded with `seed`, so a run can be made again with the same delays; each is
/// written into the step's `reproduce-step` action (`delay_ms`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Jitter {
    /// The longest delay, in milliseconds (0: none).
    pub max_ms: u64,
    /// The generator's seed.
    pub seed: u64,
}

impl Jitter {
    /// The delay before step `step` (1-based), in milliseconds (splitmix64 of the seed and the
    /// step).
    pub fn delay_ms(&self, step: usize) -> u64 {
        if self.max_ms == 0 {
            return 0;
        }
        let mut z = self
            .seed
            .wrapping_add((step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z % (self.max_ms + 1)
    }
}

/// One step of a plan.
#[derive(Clone, Debug)]
pub struct PlannedStep {
    /// 1-based position on the path.
    pub step: usize,
    /// The step in the model's words.
    pub description: String,
    /// How it is forced.
    pub control: Control,
    /// For a seal call: members whose Seal the path delivers only after its next driven step
    /// (a kill, say), or never. They are paused (SIGSTOP) from before the call until the step
    /// that delivers their Seal (see `resume_before`), the end of the path, or a step that
    /// kills or restarts them, so that they do not answer before the steps the path puts first.
    pub hold_until_delivered: Vec<u32>,
    /// For a seal call: the members of `hold_until_delivered` whose Seal of this call the path
    /// never delivers. Paused, they would handle the call's Seal requests queued in their
    /// sockets once resumed (a campaign's cluster-roles-p1 run: N2, resumed after the kill of
    /// N3, was sealed a second later, so the find-tail reader found the loglet sealed and
    /// assisted nothing). They are cut off instead: their fabric port answers every packet with
    /// a TCP reset from before the call, so no Seal of the call reaches them, and the cut is
    /// lifted where they would have been resumed (`resume_after`).
    pub cut_until_released: Vec<u32>,
    /// Members held by an earlier seal call whose Seal this step delivers: resumed right before
    /// it.
    pub resume_before: Vec<u32>,
    /// Members held by a seal call whose Seal of that call the path never delivers: resumed
    /// right after this step (the call's next driven step, or the call itself when the next
    /// step is one waited for). The call has returned by then, so its Seal is not sent again;
    /// they answer what comes next (a find-tail reader's questions, say).
    pub resume_after: Vec<u32>,
    /// A step with a logged line the next steps depend on (a find-tail reader's seal assist):
    /// the runner waits for the line (at most [`BY_ITSELF_WITHIN`]) before going on.
    pub wait_for_line: bool,
}

/// `N1, N3`.
fn node_names(nodes: &[u32]) -> String {
    nodes
        .iter()
        .map(|n| format!("N{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl PlannedStep {
    /// The members of `hold_until_delivered` split into those held paused and those cut off
    /// (`cut_until_released`), in that order.
    pub fn held_and_cut(&self) -> (Vec<u32>, Vec<u32>) {
        self.hold_until_delivered
            .iter()
            .partition(|n| !self.cut_until_released.contains(n))
    }
}

/// How long the runner waits for the line of a step the cluster takes by itself (a find-tail
/// reader runs once the sequencer's node is found dead, a few seconds after the kill).
pub const BY_ITSELF_WITHIN: Duration = Duration::from_secs(15);

/// What [`reproduce`] does: the set-up, then the steps in the model's order.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Nodes moved back to Provisioning with `--force` once the cluster is up (the model's
    /// initial state), in order.
    pub force_provisioning: Vec<u32>,
    /// The node the path's model runs the loglet's sequencer on, when it runs it apart from the
    /// sealer (a cluster with separate roles). When Restate put it elsewhere, the set-up moves
    /// it there: `restatectl logs reconfigure --sequencer N<id>`, which seals the first loglet
    /// and extends the chain with one sequenced on that node; the path runs on the new one.
    pub sequencer: Option<u32>,
    /// The steps.
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// The set-up in words.
    pub fn setup_text(&self) -> Vec<String> {
        let mut v = vec![
            "start N1..N3 (all roles) in a private network namespace, provision, wait for log 0 and every node ReadWrite".to_string(),
        ];
        if let Some(n) = self.sequencer {
            v.push(format!(
                "the model's sequencer on N{n}: if Restate put log 0's elsewhere, restatectl logs reconfigure --log-id 0 --sequencer N{n} (the path then runs on the new loglet)"
            ));
        }
        if !self.force_provisioning.is_empty() {
            let ids: Vec<String> = self.force_provisioning.iter().map(u32::to_string).collect();
            v.push(format!(
                "the model's initial state: restatectl nodes set-storage-state --nodes {} --storage-state provisioning --force, wait until the nodes table shows it",
                ids.join(",")
            ));
        }
        v
    }
}

/// Plans a path of `model` (its actions, from the initial state). Errors when the path does not
/// replay on the model or when the model is not one the recorder's cluster can play (three
/// log servers N1..N3, all in the nodeset).
pub fn plan(model: &SealModel, path: &[Action]) -> Result<Plan, String> {
    use stateright::Model;
    if model.n() != 3 || model.members().count() != 3 {
        return Err(format!(
            "the recorder's cluster has 3 log servers N1..N3, all in the nodeset; this scenario has {} log servers and nodeset {:?}",
            model.n(),
            model.cfg.nodeset
        ));
    }
    let mut state = model.initial_state();
    let mut steps = Vec::new();
    // states[k]: the state before step k (and, last, after the path).
    let mut states = vec![state.clone()];
    for (i, a) in path.iter().enumerate() {
        steps.push(PlannedStep {
            step: i + 1,
            description: sealcheck_model::describe::action(model, a),
            control: control_of(model, &state, a),
            hold_until_delivered: Vec::new(),
            cut_until_released: Vec::new(),
            resume_before: Vec::new(),
            resume_after: Vec::new(),
            wait_for_line: matches!(a, Action::FindTailAssistsSeal),
        });
        state = model
            .next_state(&state, a.clone())
            .ok_or_else(|| format!("step {} ({a:?}) is not enabled", i + 1))?;
        states.push(state.clone());
    }
    for k in 0..steps.len() {
        if steps[k].control != Control::Drive(Op::Seal) {
            continue;
        }
        // The next step the runner acts on or waits for.
        let Some(j) = (k + 1..steps.len())
            .find(|&j| matches!(steps[j].control, Control::Drive(_)) || steps[j].wait_for_line)
        else {
            continue;
        };
        // Held for this call already: the members whose requests fail during it.
        let failing: Vec<u32> = steps[k + 1..j]
            .iter()
            .filter_map(|t| match t.control {
                Control::Hold { node } => Some(node),
                _ => None,
            })
            .collect();
        let mut pending: Vec<(u32, u8)> = states[j]
            .network
            .iter_distinct()
            .filter_map(|m| match m {
                sealcheck_model::state::Msg::Seal { to, attempt, .. } => Some((node(to), attempt)),
                _ => None,
            })
            .filter(|(n, _)| *n != VIA && !failing.contains(n))
            .collect();
        pending.sort_unstable();
        pending.dedup_by_key(|(n, _)| *n);
        // Each is resumed before the later step that delivers this call's Seal to it; if none
        // does, right after the next driven step; unless a step before kills or restarts it (a
        // new process is not paused).
        let mut cut = Vec::new();
        for &(n, attempt) in &pending {
            let mut resumed = false;
            for (t, a) in path.iter().enumerate().skip(k + 1) {
                match a {
                    Action::Deliver(sealcheck_model::state::Msg::Seal {
                        to, attempt: c, ..
                    }) if node(*to) == n && *c == attempt => {
                        steps[t].resume_before.push(n);
                        resumed = true;
                        break;
                    }
                    Action::LogServerCrashes(i) | Action::LogServerProvisions(i)
                        if node(*i) == n && t <= j =>
                    {
                        resumed = true;
                        break;
                    }
                    _ => {}
                }
            }
            if !resumed {
                // After the next driven step; before a step waited for (a find-tail reader
                // must hear from it), as soon as the call has returned.
                let at = if steps[j].wait_for_line { k } else { j };
                steps[at].resume_after.push(n);
                cut.push(n);
            }
        }
        steps[k].hold_until_delivered = pending.into_iter().map(|(n, _)| n).collect();
        steps[k].cut_until_released = cut;
    }
    let init = model.initial_state();
    let needs_provisioning = path.iter().any(|a| {
        matches!(
            a,
            Action::LogServerProvisions(_) | Action::SealRejectedAllProvisioning
        )
    });
    let force_provisioning = if needs_provisioning {
        model
            .members()
            .filter(|&i| init.configs[0][i] == StorageState::Provisioning)
            .filter(|&i| init.servers[i].process == Process::Starting)
            .map(|i| node(i as u8))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Plan {
        force_provisioning,
        sequencer: model.cfg.cluster.as_ref().map(|c| u32::from(c.sequencer)),
        steps,
    })
}

/// What happened to one step on the real cluster.
#[derive(Clone, Debug)]
pub struct StepRun {
    /// 1-based position on the path.
    pub step: usize,
    /// What the runner did (or why it did nothing).
    pub done: String,
    /// Whether the control could be applied (false: could not be forced).
    pub forced: bool,
}

/// A finished reproduction run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Per step.
    pub steps: Vec<StepRun>,
    /// One-line outcome of the seals.
    pub summary: String,
    /// The restatectl seal runs.
    pub seals: Vec<CtlRecord>,
}

/// How long a log server may take to self-provision after its restart (measured: ~2 s; the
/// machine is shared).
const PROVISION_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `plan` on a fresh cluster and records it into `opts.raw_dir` (needs root and the
/// binaries). `name` goes into `meta.json` as the scenario. Every process started is stopped
/// before this returns, also on error.
pub fn reproduce(
    name: &str,
    plan: &Plan,
    bins: &Binaries,
    opts: &ScenarioOptions,
) -> Result<RunReport, Error> {
    reproduce_jittered(name, plan, bins, opts, Jitter::default())
}

/// [`reproduce`], with a random delay (`jitter`) before each driven step.
pub fn reproduce_jittered(
    name: &str,
    plan: &Plan,
    bins: &Binaries,
    opts: &ScenarioOptions,
    jitter: Jitter,
) -> Result<RunReport, Error> {
    let mut run = Run::new(name, bins, opts)?;
    let poller = run.cluster.start_poller(opts.poll_interval);
    let mut done = Vec::new();
    let result = drive(&mut run, plan, jitter, &mut done);
    thread::sleep(Duration::from_millis(600));
    poller.stop();
    if let Err(e) = &result {
        run.note(format!("runner error: {e}"));
    }
    let (summary, seals) = run.close()?;
    result.map(|()| RunReport {
        steps: done,
        summary,
        seals,
    })
}

/// Restate's global tail of the loglet after a new partition's first records: provisioning a
/// partition leaves 2 records in its log (Restate's offsets start at 1).
const SETTLED_TAIL: u64 = 3;

/// Waits until log 0's partition processor has written its first records (at most 60 s), then
/// one more second. A partition processor that appends while the set-up leaves no writable
/// nodeset member makes its sequencer seal the loglet by itself and retry with backoff
/// (`[Auto Recovery]` in bifrost's appender): a second sealer the model's client is not, which
/// sealed the loglet right after the first member provisioned in a reproduction that forced
/// the members while partition 0 was starting.
fn settle(run: &mut Run) -> Result<(), Error> {
    let loglet = run.meta.loglet_id.clone().unwrap_or_default();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let tail = run.known_global_tail(&loglet)?;
        if tail >= SETTLED_TAIL {
            break;
        }
        if std::time::Instant::now() > deadline {
            run.note(format!(
                "log {LOG}'s partition processor had not written its first records after 60 s (global tail {tail}); going on"
            ));
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_secs(1));
    Ok(())
}

/// Puts log 0's tail loglet's sequencer on node `n` when Restate put it elsewhere: `restatectl
/// logs reconfigure --log-id 0 --sequencer N<n>` seals the loglet and extends the chain with a
/// new one sequenced on `n`, which the run's `meta.json` then names (the recording's earlier
/// loglet is out of the trace). Notes what it did; a reconfiguration that leaves the sequencer
/// elsewhere is noted and the path goes on (the campaign's report says so).
fn place_sequencer(run: &mut Run, n: u32) -> Result<(), Error> {
    let on = |seq: &Option<String>| seq.as_deref().and_then(crate::text::plain_node_id);
    let before = run.meta.loglet_id.clone();
    if on(&run.meta.sequencer) == Some(n) {
        return Ok(());
    }
    run.cluster.record_action(
        "reproduce-setup",
        &[n],
        json!({"what": format!("the model's sequencer on N{n}: reconfigure log {LOG}")}),
    )?;
    let seq = format!("N{n}");
    let log = LOG.to_string();
    run.cluster.ctl().run_via(
        VIA,
        &[
            "logs",
            "reconfigure",
            "--log-id",
            &log,
            "--provider",
            "replicated",
            "--sequencer",
            &seq,
        ],
    )?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(seg) = run.cluster.tail_segment(LOG)? {
            if seg.kind == "replicated" && seg.loglet_id != before {
                let placed = on(&seg.sequencer);
                run.learn_loglet(&seg);
                run.write_meta()?;
                run.note(match placed {
                    Some(p) if p == n => format!(
                        "set-up: log {LOG}'s sequencer was on another node than the model's N{n}; reconfigured onto N{n}: the path runs on {}",
                        seg.loglet_id.clone().unwrap_or_default()
                    ),
                    _ => format!(
                        "set-up: reconfigured log {LOG} with --sequencer N{n}, but its new loglet's sequencer is {}",
                        seg.sequencer.clone().unwrap_or_else(|| "unknown".into())
                    ),
                });
                // Let every node's view of the chain catch up before the path starts.
                thread::sleep(Duration::from_secs(1));
                return run.describe();
            }
        }
        if std::time::Instant::now() > deadline {
            run.note(format!(
                "set-up: log {LOG}'s chain did not grow within 30 s of reconfigure --sequencer N{n}; the path runs on {}",
                before.unwrap_or_default()
            ));
            return Ok(());
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// A seal step of the path: members whose Seal requests must fail during this seal call (the
/// `Hold` steps up to the next seal) are paused until it ends; returns what was done.
fn seal_step(run: &mut Run, plan: &Plan, k: usize, paused: &mut Vec<u32>) -> Result<String, Error> {
    // Members whose Seal requests must fail during this seal call are held paused
    // until it ends.
    let holds: Vec<u32> = plan.steps[k + 1..]
        .iter()
        .take_while(|t| t.control != Control::Drive(Op::Seal))
        .filter_map(|t| match t.control {
            Control::Hold { node } => Some(node),
            _ => None,
        })
        .collect();
    for n in &holds {
        if !paused.contains(n) {
            run.cluster.pause_node(*n)?;
            paused.push(*n);
        }
    }
    if !holds.is_empty() {
        thread::sleep(Duration::from_millis(200));
    }
    let rec = run.seal()?;
    let outcome = if seal_succeeded(&rec) {
        "the seal succeeded".to_string()
    } else {
        format!(
            "the seal did not succeed: {}",
            crate::scenario::seal_error(&rec).unwrap_or_else(|| "no error text".into())
        )
    };
    for n in paused.drain(..) {
        run.cluster.resume_node(n)?;
    }
    Ok(format!("{}; {outcome}", Op::Seal))
}

fn drive(run: &mut Run, plan: &Plan, jitter: Jitter, done: &mut Vec<StepRun>) -> Result<(), Error> {
    run.note(format!(
        "reproduce a model path of {} steps: {}",
        plan.steps.len(),
        plan.setup_text().join("; ")
    ));
    run.cluster.provision()?;
    run.ready()?;
    settle(run)?;
    if let Some(n) = plan.sequencer {
        place_sequencer(run, n)?;
    }
    if !plan.force_provisioning.is_empty() {
        let ids = plan.force_provisioning.clone();
        run.cluster.record_action(
            "reproduce-setup",
            &ids,
            json!({"what": "the model's initial state: members back to Provisioning"}),
        )?;
        run.cluster.set_storage_state(&ids, "provisioning", true)?;
        run.cluster
            .wait_storage_states(Duration::from_secs(30), |s| {
                ids.iter()
                    .all(|id| s.get(id).map(String::as_str) == Some("provisioning"))
            })?;
        // Let N1's own snapshot catch up with the metadata store before the path starts.
        thread::sleep(Duration::from_secs(1));
    }
    let mut paused: Vec<u32> = Vec::new();
    // Held by a seal call until the path delivers their Seal.
    let mut held: Vec<u32> = Vec::new();
    // Cut off (TCP reset) by a seal call whose Seal the path never delivers to them.
    let mut cut: Vec<u32> = Vec::new();
    let path_start = crate::time::now_us();
    for (k, s) in plan.steps.iter().enumerate() {
        for n in &s.resume_before {
            if let Some(i) = held.iter().position(|h| h == n) {
                held.remove(i);
                run.cluster.resume_node(*n)?;
            }
        }
        let delay = match s.control {
            Control::Drive(_) => jitter.delay_ms(s.step),
            _ => 0,
        };
        if delay > 0 {
            thread::sleep(Duration::from_millis(delay));
        }
        run.cluster.record_action(
            "reproduce-step",
            &[],
            json!({"step": s.step, "model": s.description, "control": s.control.text(), "delay_ms": delay}),
        )?;
        let (text, forced) = match &s.control {
            Control::Drive(Op::Seal) => {
                for n in &s.hold_until_delivered {
                    if s.cut_until_released.contains(n) {
                        if !cut.contains(n) {
                            run.cluster
                                .apply_fault(*n, crate::netfault::FaultKind::Reset)?;
                            cut.push(*n);
                        }
                    } else if !held.contains(n) {
                        run.cluster.pause_node(*n)?;
                        held.push(*n);
                    }
                }
                if !s.hold_until_delivered.is_empty() {
                    thread::sleep(Duration::from_millis(200));
                }
                let mut text = seal_step(run, plan, k, &mut paused)?;
                let (held_now, cut_now) = s.held_and_cut();
                if !held_now.is_empty() {
                    text.push_str(&format!(
                        "; {} held paused from before the call until the path delivers their Seal",
                        node_names(&held_now)
                    ));
                }
                if !cut_now.is_empty() {
                    text.push_str(&format!(
                        "; {} cut off (TCP reset) from before the call: the path never delivers its Seal to them",
                        node_names(&cut_now)
                    ));
                }
                (text, true)
            }
            Control::Drive(Op::Provision(id)) => {
                run.cluster.kill_node(*id)?;
                run.cluster.start_node(*id)?;
                let id = *id;
                run.cluster.wait_storage_states(PROVISION_TIMEOUT, |s| {
                    s.get(&id).map(String::as_str) == Some("read-write")
                })?;
                (Op::Provision(id).to_string(), true)
            }
            Control::Drive(Op::Kill(id)) => {
                run.cluster.kill_node(*id)?;
                (Op::Kill(*id).to_string(), true)
            }
            Control::Drive(op @ Op::Start(id)) => {
                run.cluster.start_node(*id)?;
                let port = run.cluster.config().node_meta(*id).fabric_port;
                run.cluster.wait_port(port, Duration::from_secs(60))?;
                (op.to_string(), true)
            }
            Control::Drive(op @ Op::SetStorageState { node, state, force }) => {
                run.cluster.set_storage_state(&[*node], state, *force)?;
                let (node, want) = (*node, *state);
                run.cluster
                    .wait_storage_states(Duration::from_secs(30), |s| {
                        s.get(&node).map(String::as_str) == Some(want)
                    })?;
                (op.to_string(), true)
            }
            Control::Hold { node } => (
                format!("N{node} was held paused during the seal call"),
                true,
            ),
            Control::ByItself(_) if s.wait_for_line => {
                let loglet = run.meta.loglet_id.clone().unwrap_or_default();
                match wait_seal_assist(run, &loglet, path_start, BY_ITSELF_WITHIN)? {
                    Some(n) => (
                        format!("waited for it: N{n} logged a find-tail seal assist of {loglet}"),
                        true,
                    ),
                    None => (
                        format!(
                            "waited {} s for a find-tail seal assist of {loglet}: none was logged; going on",
                            BY_ITSELF_WITHIN.as_secs()
                        ),
                        true,
                    ),
                }
            }
            Control::ByItself(_) => ("nothing to do: the cluster takes it by itself".into(), true),
            Control::Cannot(why) => (format!("could not be forced: {why}"), false),
        };
        // A held member that this step killed or restarted is no longer paused.
        if let Control::Drive(Op::Kill(id) | Op::Provision(id)) = s.control {
            held.retain(|n| *n != id);
        }
        for n in &s.resume_after {
            if let Some(i) = held.iter().position(|h| h == n) {
                held.remove(i);
                run.cluster.resume_node(*n)?;
            }
            if let Some(i) = cut.iter().position(|h| h == n) {
                cut.remove(i);
                run.cluster.clear_faults_of(&[*n])?;
            }
        }
        done.push(StepRun {
            step: s.step,
            done: text,
            forced,
        });
    }
    for n in paused.drain(..).chain(held.drain(..)) {
        run.cluster.resume_node(n)?;
    }
    if !cut.is_empty() {
        run.cluster.clear_faults_of(&cut)?;
    }
    // A seal assist the path ends with completes a moment after its members answer.
    if plan
        .steps
        .iter()
        .rev()
        .take_while(|s| matches!(s.control, Control::ByItself(_)))
        .any(|s| s.wait_for_line)
    {
        thread::sleep(Duration::from_secs(2));
    }
    // The recording ends with the path (and the poller's last round): a restarted sequencer
    // leaves its loglet without a sequencer, and a few seconds later a partition processor's
    // appender seals it by itself (`[Auto Recovery]`), which is no step of the path.
    Ok(())
}

/// Watches every node's server log until one logs a find-tail seal assist of `loglet` stamped
/// at or after `since_us`; returns that node, or `None` after `within`.
fn wait_seal_assist(
    run: &Run,
    loglet: &str,
    since_us: i64,
    within: Duration,
) -> Result<Option<u32>, Error> {
    let deadline = std::time::Instant::now() + within;
    let raw = run.cluster.config().raw_dir.clone();
    let nodes: Vec<u32> = run.meta.nodes.iter().map(|n| n.id).collect();
    loop {
        for &id in &nodes {
            let log = crate::raw::node_log_path(&raw, id);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let Some(crate::Fact::SealAssist { loglet: l, .. }) =
                    crate::parse::fact_from_server_line(id, &v)
                else {
                    continue;
                };
                let at = v
                    .get("timestamp")
                    .and_then(|t| t.as_str())
                    .and_then(crate::time::parse_rfc3339);
                if l == loglet && at.is_none_or(|t| t >= since_us) {
                    return Ok(Some(id));
                }
            }
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// When the path started in a raw directory's recording: the first `reproduce-step` action,
/// in milliseconds since the recording's start (the trace's `t`). `None` if no step ran.
pub fn path_start_ms(raw: &std::path::Path) -> Result<Option<f64>, Error> {
    let meta_path = raw.join("meta.json");
    let meta: crate::raw::Meta = serde_json::from_str(
        &std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?,
    )
    .map_err(|e| Error::Malformed {
        file: meta_path.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    let actions = raw.join("actions.jsonl");
    let text = std::fs::read_to_string(&actions).map_err(|e| Error::io(&actions, e))?;
    for (n, line) in text.lines().enumerate() {
        let rec: crate::raw::ActionRecord =
            serde_json::from_str(line).map_err(|e| Error::Malformed {
                file: actions.clone(),
                line: n + 1,
                message: e.to_string(),
            })?;
        if rec.action == "reproduce-step" {
            return Ok(Some((rec.time_us - meta.started_us) as f64 / 1000.0));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> SealModel {
        sealcheck_model::Config::incident()
            .into_model()
            .expect("incident")
    }

    #[test]
    fn every_sample_step_has_a_control_and_a_reason() {
        let m = incident();
        let s = m.initial_state();
        for a in sample_steps() {
            let c = control_of(&m, &s, &a);
            assert!(!c.text().is_empty(), "{a:?}");
        }
    }

    #[test]
    fn the_incident_path_is_driven_by_a_seal_and_three_restarts_after_the_forced_setup() {
        let m = incident();
        let path = vec![
            Action::SealRejectedAllProvisioning,
            Action::LogServerProvisions(0),
            Action::LogServerProvisions(1),
            Action::LogServerProvisions(2),
        ];
        let p = plan(&m, &path).unwrap();
        assert_eq!(p.force_provisioning, vec![1, 2, 3]);
        assert_eq!(p.sequencer, None, "one client: no sequencer to place");
        let ctl: Vec<Control> = p.steps.iter().map(|s| s.control.clone()).collect();
        assert_eq!(
            ctl,
            vec![
                Control::Drive(Op::Seal),
                Control::Drive(Op::Provision(1)),
                Control::Drive(Op::Provision(2)),
                Control::Drive(Op::Provision(3)),
            ]
        );
    }

    #[test]
    fn a_failed_seal_request_is_held_and_the_sealer_cannot_be() {
        let m = incident();
        let s = m.initial_state();
        assert_eq!(
            control_of(&m, &s, &Action::SealRequestFails(2)),
            Control::Hold { node: 3 }
        );
        assert!(matches!(
            control_of(&m, &s, &Action::SealRequestFails(0)),
            Control::Cannot(_)
        ));
    }

    #[test]
    fn the_rows_network_faults_could_reach_say_why_they_stay_unforced() {
        use sealcheck_model::state::Msg;
        let m = incident();
        let s = m.initial_state();
        let seal = Msg::Seal {
            to: 1,
            attempt: 1,
            known_global_tail: 0,
        };
        for a in [
            Action::SealRequestFails(0),
            Action::SealRequestResent(1),
            Action::Lose(seal),
        ] {
            let c = control_of(&m, &s, &a);
            assert!(matches!(c, Control::Cannot(_)), "{a:?}: {c:?}");
            assert!(c.text().contains("nft"), "{a:?}: {}", c.text());
        }
    }

    #[test]
    fn operator_moves_use_force_only_when_the_protocol_forbids_them() {
        let mut cfg = sealcheck_model::Config::incident();
        cfg.initial_storage = vec![StorageState::ReadWrite; 3];
        cfg.faults.operator_force = true;
        let m = cfg.into_model().unwrap();
        let s = m.initial_state();
        let ro = control_of(
            &m,
            &s,
            &Action::OperatorSetsStorageState(2, StorageState::ReadOnly),
        );
        assert_eq!(
            ro,
            Control::Drive(Op::SetStorageState {
                node: 3,
                state: "read-only",
                force: false
            })
        );
        let prov = control_of(
            &m,
            &s,
            &Action::OperatorSetsStorageState(2, StorageState::Provisioning),
        );
        assert_eq!(
            prov,
            Control::Drive(Op::SetStorageState {
                node: 3,
                state: "provisioning",
                force: true
            })
        );
    }

    #[test]
    fn every_kind_is_listed_once_and_the_sealer_failing_is_its_own_kind() {
        let kinds = step_kinds();
        let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        let mut dedup = names.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len());
        assert_eq!(
            step_kind(&Action::SealRequestFails(0)),
            "seal-request-to-sealer-fails"
        );
        assert_eq!(
            step_kind(&Action::SealRequestFails(2)),
            "seal-request-fails"
        );
        // Two sample rows are operator moves: one kind.
        assert_eq!(names.len(), sample_steps().len() - 1);
        for (k, a) in &kinds {
            assert_eq!(step_kind(a), *k);
        }
    }

    #[test]
    fn jitter_is_within_its_bound_repeatable_and_varies() {
        let j = Jitter {
            max_ms: 300,
            seed: 7,
        };
        let d: Vec<u64> = (1..=20).map(|k| j.delay_ms(k)).collect();
        assert!(d.iter().all(|&x| x <= 300));
        assert_eq!(d, (1..=20).map(|k| j.delay_ms(k)).collect::<Vec<_>>());
        assert!(d.iter().any(|&x| x != d[0]));
        let other = Jitter {
            max_ms: 300,
            seed: 8,
        };
        assert_ne!(d, (1..=20).map(|k| other.delay_ms(k)).collect::<Vec<_>>());
        assert_eq!(Jitter::default().delay_ms(3), 0);
    }

    #[test]
    fn a_model_the_cluster_cannot_play_is_refused() {
        let mut cfg = sealcheck_model::Config::incident();
        cfg.log_servers = 4;
        cfg.initial_storage = vec![StorageState::Provisioning; 4];
        let m = cfg.into_model().unwrap();
        assert!(plan(&m, &[]).unwrap_err().contains("3 log servers"));
    }
}
