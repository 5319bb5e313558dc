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
//! model's initial state is, then one [`PlannedStep`] per step. [`reproduce`] runs a plan on a
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
        Action::OtherSealStarts,
        Action::OtherSealCompletes,
        Action::OtherSealFails,
        Action::OtherSealRefused,
        Action::OtherRepairStarts { from: 0, to: 1 },
        Action::OtherRepairCompletes { from: 0, to: 1 },
        Action::SealTaskCompletesEarly,
    ]
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
}

/// What [`reproduce`] does: the set-up, then the steps in the model's order.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Nodes moved back to Provisioning with `--force` once the cluster is up (the model's
    /// initial state), in order.
    pub force_provisioning: Vec<u32>,
    /// The steps.
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// The set-up in words.
    pub fn setup_text(&self) -> Vec<String> {
        let mut v = vec![
            "start N1..N3 (all roles) in a private network namespace, provision, wait for log 0 and every node ReadWrite".to_string(),
        ];
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
    for (i, a) in path.iter().enumerate() {
        steps.push(PlannedStep {
            step: i + 1,
            description: sealcheck_model::describe::action(model, a),
            control: control_of(model, &state, a),
        });
        state = model
            .next_state(&state, a.clone())
            .ok_or_else(|| format!("step {} ({a:?}) is not enabled", i + 1))?;
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
    let mut run = Run::new(name, bins, opts)?;
    let poller = run.cluster.start_poller(opts.poll_interval);
    let mut done = Vec::new();
    let result = drive(&mut run, plan, &mut done);
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

fn drive(run: &mut Run, plan: &Plan, done: &mut Vec<StepRun>) -> Result<(), Error> {
    run.note(format!(
        "reproduce a model path of {} steps: {}",
        plan.steps.len(),
        plan.setup_text().join("; ")
    ));
    run.cluster.provision()?;
    run.ready()?;
    settle(run)?;
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
    for (k, s) in plan.steps.iter().enumerate() {
        run.cluster.record_action(
            "reproduce-step",
            &[],
            json!({"step": s.step, "model": s.description, "control": s.control.text()}),
        )?;
        let (text, forced) = match &s.control {
            Control::Drive(Op::Seal) => (seal_step(run, plan, k, &mut paused)?, true),
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
            Control::ByItself(_) => ("nothing to do: the cluster takes it by itself".into(), true),
            Control::Cannot(why) => (format!("could not be forced: {why}"), false),
        };
        done.push(StepRun {
            step: s.step,
            done: text,
            forced,
        });
    }
    for n in paused.drain(..) {
        run.cluster.resume_node(n)?;
    }
    // The recording ends with the path (and the poller's last round): a restarted sequencer
    // leaves its loglet without a sequencer, and a few seconds later a partition processor's
    // appender seals it by itself (`[Auto Recovery]`), which is no step of the path.
    Ok(())
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
    fn a_model_the_cluster_cannot_play_is_refused() {
        let mut cfg = sealcheck_model::Config::incident();
        cfg.log_servers = 4;
        cfg.initial_storage = vec![StorageState::Provisioning; 4];
        let m = cfg.into_model().unwrap();
        assert!(plan(&m, &[]).unwrap_err().contains("3 log servers"));
    }
}
