//! Scenario runners: each starts a fresh cluster, performs a fixed sequence of operator actions
//! around a seal of log 0, and leaves a raw directory (see [`crate::raw`]).
//!
//! The seal is always requested with `restatectl -S <node 1> logs seal 0`, so node 1's bifrost
//! runs the seal task (its log lines carry `context: {"source": "restatectl", "node": "N1:.."}`);
//! log 0's sequencer is usually another node, which learns of the seal later and drains. The
//! scenarios differ in what happens to the *log servers* of the loglet's nodeset meanwhile:
//!
//! | scenario | what happens |
//! |---|---|
//! | `incident` | seal attempts start right after `provision`, every ~100 ms, before log 0 exists and while log servers may still be Provisioning, until one succeeds |
//! | `incident-forced` | all nodes forced to Provisioning, seal (refused), all nodes restarted, seal retried until it succeeds |
//! | `appends-then-seal` | records appended through the ingress (delayed sends to a stand-in deployment), then seal |
//! | `incident-forced-appends` | records appended through the ingress, all nodes forced to Provisioning, seal (refused), all forced back to ReadWrite, seal until it succeeds |
//! | `one-paused` | one nodeset member SIGSTOPped during the seal |
//! | `two-paused` | two nodeset members SIGSTOPped: the seal cannot reach an f-majority |
//! | `partition-heals` | N2 and N3 cut off by nft from before the seal; once N1 logs that every Seal attempt to one of them failed, the other is let through and the seal completes with it (when both give up in the same millisecond, the seal fails as in `two-paused`) |
//! | `one-partitioned` | one nodeset member (N2) cut off by nft (its fabric port dropped both ways) from before the seal until 2 s after it; the process keeps running |
//! | `sealer-cut` | N1's connections open at the fault (to itself, from its peers) dropped by nft while new ones pass (restatectl's call still reaches it), N2 cut off, seal: does N1's Seal to itself go over the network? |
//! | `storage-state-change` | a member goes ReadWrite -> ReadOnly, seal, back to ReadWrite |
//! | `kill-restart` | a member SIGKILLed just before the seal, seal runs, the member is restarted |
//! | `steady-load` | 3 min of ingress load (50 records/s), a seal every 30 s, one SIGKILL and restart, one 8 s SIGSTOP; auto-improvement on |
//! | `steady-load-short` | the same in 45 s: a seal every 15 s, a 5 s SIGSTOP |
//! | `steady-load-10min` | the same for 10 min: a seal every 60 s (for `follow`'s memory over a long run) |
//! | `steady-load-forced` | `steady-load-short` with N3 forced to Provisioning at 9 s and forced back to ReadWrite at 27 s (its kill and restart fall in between) |
//!
//! A background poller takes `nodes`, `loglet_workers` and `logs` snapshots throughout.
//!
//! The `steady-load` scenarios are not about one seal but about a cluster at work: log 0 gets a
//! new loglet at every seal (and at every seal Restate does by itself: auto-improvement is left
//! on, a failed-over leader reconfigures, a stopping node seals on shutdown), so a run leaves
//! a chain of loglets with thousands of records. Their timeline is a [`SteadyLoadPlan`]:
//! times counted from the start of the load, kept as data so a test pins it.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::binaries::{Binaries, RESTATE_VERSION};
use crate::cluster::{Cluster, ClusterConfig, LogSegment};
use crate::endpoint::{http_request, StandInDeployment, HANDLER, SERVICE};
use crate::load::{LoadConfig, LoadGenerator};
use crate::raw::{CtlRecord, Meta};
use crate::time::now_us;
use crate::Error;

/// A recorded scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Seal log 0 as soon as possible after provisioning.
    Incident,
    /// Force every nodeset member to Provisioning, seal, restart them, seal again.
    IncidentForced,
    /// Append records through the ingress, then seal.
    AppendsThenSeal,
    /// Append records, force every member to Provisioning, seal, force them back, seal again.
    IncidentForcedAppends,
    /// One log server paused (SIGSTOP) during the seal.
    OnePaused,
    /// Two log servers paused during the seal.
    TwoPaused,
    /// One log server partitioned (nft drops its fabric port) during the seal; its process
    /// keeps running ([`crate::netfault`]).
    OnePartitioned,
    /// Two log servers partitioned during the seal; once every Seal attempt to one of them
    /// failed, the other is let through.
    PartitionHeals,
    /// The sealer's own open connections cut (nft, conntrack) and one other member
    /// partitioned during the seal: does the sealer's Seal to itself go over the network?
    SealerCut,
    /// ReadWrite -> ReadOnly -> ReadWrite around the seal.
    StorageStateChange,
    /// A log server killed (SIGKILL) just before the seal and restarted after it.
    KillRestart,
    /// Minutes of ingress load with periodic seals, one kill and restart, one pause
    /// ([`SteadyLoadPlan::long`]).
    SteadyLoad,
    /// The same in under a minute, for CI ([`SteadyLoadPlan::short`]).
    SteadyLoadShort,
    /// The same for ten minutes ([`SteadyLoadPlan::ten_minutes`]): what `follow` is measured
    /// on over a long run.
    SteadyLoad10Min,
    /// The short one with a member forced to Provisioning and back under load
    /// ([`SteadyLoadPlan::forced`]): a run whose server logs alone may not show the forced move.
    SteadyLoadForced,
}

impl Scenario {
    /// Every scenario, in recording order.
    pub const ALL: [Scenario; 15] = [
        Scenario::Incident,
        Scenario::IncidentForced,
        Scenario::AppendsThenSeal,
        Scenario::IncidentForcedAppends,
        Scenario::OnePaused,
        Scenario::TwoPaused,
        Scenario::OnePartitioned,
        Scenario::PartitionHeals,
        Scenario::SealerCut,
        Scenario::StorageStateChange,
        Scenario::KillRestart,
        Scenario::SteadyLoad,
        Scenario::SteadyLoadShort,
        Scenario::SteadyLoad10Min,
        Scenario::SteadyLoadForced,
    ];

    /// The kebab-case name (also the directory name under `traces/restate-1.7.12/`).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Incident => "incident",
            Scenario::IncidentForced => "incident-forced",
            Scenario::AppendsThenSeal => "appends-then-seal",
            Scenario::IncidentForcedAppends => "incident-forced-appends",
            Scenario::OnePaused => "one-paused",
            Scenario::TwoPaused => "two-paused",
            Scenario::OnePartitioned => "one-partitioned",
            Scenario::PartitionHeals => "partition-heals",
            Scenario::SealerCut => "sealer-cut",
            Scenario::StorageStateChange => "storage-state-change",
            Scenario::KillRestart => "kill-restart",
            Scenario::SteadyLoad => "steady-load",
            Scenario::SteadyLoadShort => "steady-load-short",
            Scenario::SteadyLoad10Min => "steady-load-10min",
            Scenario::SteadyLoadForced => "steady-load-forced",
        }
    }

    /// What the scenario does, in one line (for `sealcheck record --list`).
    pub fn summary(self) -> &'static str {
        match self {
            Scenario::Incident => "seal log 0 every 100 ms from the moment the cluster is provisioned, until it succeeds",
            Scenario::IncidentForced => "force every node to Provisioning, seal (refused), restart all nodes, seal until it succeeds",
            Scenario::AppendsThenSeal => "append records through the ingress, then seal",
            Scenario::IncidentForcedAppends => "append records through the ingress, force every node to Provisioning, seal (refused), force them back to ReadWrite, seal until it succeeds",
            Scenario::OnePaused => "seal while one nodeset member is paused (SIGSTOP)",
            Scenario::TwoPaused => "seal while two nodeset members are paused: no f-majority, the seal fails",
            Scenario::OnePartitioned => "seal while one nodeset member is cut off by nft (its fabric port dropped both ways); its process keeps running",
            Scenario::PartitionHeals => "seal while two nodeset members are cut off by nft; once every Seal attempt to one failed, the other is let through and the seal completes",
            Scenario::SealerCut => "seal while N1's open connections to its port are cut by nft (new ones pass) and N2 is cut off",
            Scenario::StorageStateChange => "one member ReadWrite -> ReadOnly, seal, back to ReadWrite",
            Scenario::KillRestart => "one member killed (SIGKILL) just before the seal, restarted after it",
            Scenario::SteadyLoad => "3 min of ingress load (50 records/s), a seal every 30 s, one node killed and restarted, one paused 8 s; auto-improvement on",
            Scenario::SteadyLoadShort => "45 s of ingress load (50 records/s), a seal every 15 s, one node killed and restarted, one paused 5 s; auto-improvement on",
            Scenario::SteadyLoad10Min => "10 min of ingress load (50 records/s), a seal every 60 s, one node killed and restarted, one paused 8 s; auto-improvement on",
            Scenario::SteadyLoadForced => "steady-load-short with N3 forced to Provisioning (--force) at 9 s and forced back to ReadWrite at 27 s",
        }
    }

    /// Parses a kebab-case name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The timeline of a loaded scenario; `None` for the single-seal ones.
    pub fn steady_load_plan(self) -> Option<SteadyLoadPlan> {
        match self {
            Scenario::SteadyLoad => Some(SteadyLoadPlan::long()),
            Scenario::SteadyLoadShort => Some(SteadyLoadPlan::short()),
            Scenario::SteadyLoad10Min => Some(SteadyLoadPlan::ten_minutes()),
            Scenario::SteadyLoadForced => Some(SteadyLoadPlan::forced()),
            _ => None,
        }
    }
}

/// Where a scenario runs and records.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    /// Scratch directory for node configs and data; wiped at the start of a run.
    pub work_dir: PathBuf,
    /// Raw directory to record into; wiped at the start of a run.
    pub raw_dir: PathBuf,
    /// Pause between two poller rounds.
    pub poll_interval: Duration,
}

impl ScenarioOptions {
    /// Defaults: poll every 200 ms.
    pub fn new(work_dir: impl Into<PathBuf>, raw_dir: impl Into<PathBuf>) -> ScenarioOptions {
        ScenarioOptions {
            work_dir: work_dir.into(),
            raw_dir: raw_dir.into(),
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// What a scenario run did, in short; the raw directory holds the rest.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario.
    pub scenario: Scenario,
    /// Its raw directory.
    pub raw_dir: PathBuf,
    /// One-line outcome (e.g. `seal succeeded: tail LSN 3`).
    pub summary: String,
    /// The restatectl seal runs, in order.
    pub seals: Vec<CtlRecord>,
}

/// The node restatectl sends seals to.
pub(crate) const VIA: u32 = 1;
/// The log every scenario seals.
pub(crate) const LOG: u64 = 0;

pub use crate::text::{seal_error, seal_succeeded};

/// A run in progress: the cluster, the run's `meta.json` and the seals so far (shared with
/// [`crate::reproduce`]).
pub(crate) struct Run {
    pub(crate) cluster: Cluster,
    pub(crate) meta: Meta,
    pub(crate) seals: Vec<CtlRecord>,
}

impl Run {
    /// Starts a fresh cluster for the run named `name` (the `scenario` of `meta.json`).
    pub(crate) fn new(name: &str, bins: &Binaries, opts: &ScenarioOptions) -> Result<Run, Error> {
        let cfg = ClusterConfig::new(&opts.work_dir, &opts.raw_dir);
        Run::with_config(name, bins, opts, cfg)
    }

    /// Like [`Run::new`], with the cluster built from `cfg` (whose directories must be the
    /// options' ones).
    fn with_config(
        name: &str,
        bins: &Binaries,
        opts: &ScenarioOptions,
        cfg: ClusterConfig,
    ) -> Result<Run, Error> {
        for dir in [&opts.work_dir, &opts.raw_dir] {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
        }
        let started_us = now_us();
        let restate_version = bins.server_version()?;
        let cluster = Cluster::start(bins, cfg.clone())?;
        let mut notes = vec![];
        if restate_version != RESTATE_VERSION {
            notes.push(format!(
                "restate-server {restate_version}, not the {RESTATE_VERSION} the recorder was written against"
            ));
        }
        let meta = Meta {
            scenario: name.into(),
            restate_version,
            cluster_name: cfg.cluster_name.clone(),
            nodes: (1..=cfg.nodes).map(|id| cfg.node_meta(id)).collect(),
            num_partitions: cfg.num_partitions,
            log_replication: format!("{{node: {}}}", cfg.log_replication),
            log_id: LOG,
            loglet_id: None,
            nodeset: vec![],
            replication: None,
            sequencer: None,
            seal_via: Some(VIA),
            started_us,
            ended_us: started_us,
            notes,
        };
        let run = Run {
            cluster,
            meta,
            seals: vec![],
        };
        run.write_meta()?;
        Ok(run)
    }

    pub(crate) fn write_meta(&self) -> Result<(), Error> {
        self.cluster.raw().meta(&self.meta)
    }

    pub(crate) fn note(&mut self, text: impl Into<String>) {
        self.meta.notes.push(text.into());
    }

    /// The highest known global tail any log server reports for `loglet` in a fresh
    /// `loglet_workers` snapshot (0 when none does); Restate's offsets, which start at 1.
    pub(crate) fn known_global_tail(&self, loglet: &str) -> Result<u64, Error> {
        let snap = self.cluster.ctl().snapshot_loglet_workers()?;
        Ok(snap
            .rows
            .iter()
            .filter(|r| r.get("loglet_id").and_then(|v| v.as_str()) == Some(loglet))
            .filter_map(|r| r.get("known_global_tail")?.as_u64())
            .max()
            .unwrap_or(0))
    }

    /// Makes `seg` the run's loglet in `meta.json` (call [`Run::write_meta`] after).
    pub(crate) fn learn_loglet(&mut self, seg: &LogSegment) {
        self.meta.loglet_id = seg.loglet_id.clone();
        self.meta.nodeset = seg.nodeset.clone();
        self.meta.replication = seg.replication.clone();
        self.meta.sequencer = seg.sequencer.clone();
    }

    /// Waits for log 0 and all log servers ReadWrite, records describe/info output.
    pub(crate) fn ready(&mut self) -> Result<(), Error> {
        let seg = self.cluster.wait_for_log(LOG, Duration::from_secs(90))?;
        self.learn_loglet(&seg);
        self.cluster
            .wait_storage_states(Duration::from_secs(30), |s| {
                s.len() == self.meta.nodes.len() && s.values().all(|v| v == "read-write")
            })?;
        self.write_meta()?;
        self.describe()
    }

    pub(crate) fn describe(&self) -> Result<(), Error> {
        let ctl = self.cluster.ctl();
        ctl.run_via(VIA, &["logs", "describe", &LOG.to_string()])?;
        if let Some(l) = &self.meta.loglet_id {
            ctl.run_via(VIA, &["replicated-loglet", "info", l])?;
        }
        Ok(())
    }

    pub(crate) fn seal(&mut self) -> Result<CtlRecord, Error> {
        let rec = self.cluster.seal_log(LOG, VIA)?;
        self.cluster.record_action(
            "seal-log-returned",
            &[VIA],
            json!({"log_id": LOG, "succeeded": seal_succeeded(&rec), "error": seal_error(&rec)}),
        )?;
        self.seals.push(rec.clone());
        Ok(rec)
    }

    /// Like [`Run::seal`], with `meanwhile` run on this thread while restatectl's seal call
    /// runs on another; the call's error comes first, then `meanwhile`'s.
    pub(crate) fn seal_while(
        &mut self,
        meanwhile: impl FnOnce(&mut Run) -> Result<(), Error>,
    ) -> Result<CtlRecord, Error> {
        self.cluster
            .record_action("seal-log", &[VIA], json!({"log_id": LOG, "via": VIA}))?;
        let ctl = self.cluster.ctl().clone();
        let call = thread::Builder::new()
            .name("seal-call".into())
            .spawn(move || ctl.run_via(VIA, &["logs", "seal", &LOG.to_string()]))
            .map_err(|e| Error::Process(format!("cannot spawn the seal call's thread: {e}")))?;
        let during = meanwhile(self);
        let rec = call
            .join()
            .map_err(|_| Error::Process("the seal call's thread panicked".into()))??;
        self.cluster.record_action(
            "seal-log-returned",
            &[VIA],
            json!({"log_id": LOG, "succeeded": seal_succeeded(&rec), "error": seal_error(&rec)}),
        )?;
        self.seals.push(rec.clone());
        during.map(|()| rec)
    }

    /// Members of the nodeset other than the seal's entry node, highest id first.
    fn others(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .meta
            .nodeset
            .iter()
            .copied()
            .filter(|n| *n != VIA)
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }

    fn finish(self, scenario: Scenario, opts: &ScenarioOptions) -> Result<ScenarioReport, Error> {
        let (summary, seals) = self.close()?;
        Ok(ScenarioReport {
            scenario,
            raw_dir: opts.raw_dir.clone(),
            summary,
            seals,
        })
    }

    /// Notes the outcome, stops the cluster, completes `meta.json` (the loglet, learnt from the
    /// server logs if no snapshot saw it) and returns the one-line outcome and the seals.
    pub(crate) fn close(mut self) -> Result<(String, Vec<CtlRecord>), Error> {
        let summary = match self.seals.iter().rev().find(|s| seal_succeeded(s)) {
            Some(s) => format!(
                "seal succeeded after {}: {}",
                sealcheck_model::words::count(self.seals.len(), "attempt", "attempts"),
                s.stdout.trim().replace('\n', " ")
            ),
            None => format!(
                "no seal succeeded ({}); last error: {}",
                sealcheck_model::words::count(self.seals.len(), "attempt", "attempts"),
                self.seals
                    .last()
                    .and_then(seal_error)
                    .unwrap_or_else(|| "none".into())
            ),
        };
        self.note(format!("outcome: {summary}"));
        self.meta.ended_us = now_us();
        self.write_meta()?;
        let seals = std::mem::take(&mut self.seals);
        let raw = self.cluster.raw().clone();
        self.cluster.shutdown()?;
        if self.meta.loglet_id.is_none() {
            // The seal won the race against any snapshot: learn the loglet from the logs.
            let run = crate::parse::parse_raw_dir(raw.dir())?;
            let created = run.facts.iter().find_map(|f| match &f.fact {
                crate::Fact::LogletCreated {
                    log_id,
                    segment_index: 0,
                    loglet,
                    nodeset,
                    sequencer,
                    replication,
                    ..
                } if *log_id == LOG => Some((loglet, nodeset, sequencer, replication)),
                _ => None,
            });
            if let Some((loglet, nodeset, sequencer, replication)) = created {
                self.meta.loglet_id = Some(loglet.clone());
                self.meta.nodeset = nodeset.clone();
                self.meta.sequencer = Some(sequencer.to_string());
                self.meta.replication = Some(replication.clone());
                self.meta
                    .notes
                    .push("loglet, nodeset and sequencer learnt from the server logs".into());
            }
            raw.meta(&self.meta)?;
        }
        Ok((summary, seals))
    }
}

/// Runs one scenario on a fresh cluster and records it into `opts.raw_dir` (needs root and
/// the binaries). Every process started is stopped before this returns, also on error.
pub fn run_scenario(
    scenario: Scenario,
    bins: &Binaries,
    opts: &ScenarioOptions,
) -> Result<ScenarioReport, Error> {
    let mut cfg = ClusterConfig::new(&opts.work_dir, &opts.raw_dir);
    let plan = scenario.steady_load_plan();
    let mut poll_interval = opts.poll_interval;
    if let Some(p) = &plan {
        cfg.auto_improvement = true;
        poll_interval = poll_interval.max(p.poll_interval);
    }
    let mut run = Run::with_config(scenario.name(), bins, opts, cfg)?;
    let poller = run.cluster.start_poller(poll_interval);
    let result = match scenario {
        Scenario::Incident => incident(&mut run),
        Scenario::IncidentForced => incident_forced(&mut run),
        Scenario::AppendsThenSeal => appends_then_seal(&mut run),
        Scenario::IncidentForcedAppends => incident_forced_appends(&mut run),
        Scenario::OnePaused => paused(&mut run, 1),
        Scenario::TwoPaused => paused(&mut run, 2),
        Scenario::OnePartitioned => partitioned(&mut run),
        Scenario::PartitionHeals => partition_heals(&mut run),
        Scenario::SealerCut => sealer_cut(&mut run),
        Scenario::StorageStateChange => storage_state_change(&mut run),
        Scenario::KillRestart => kill_restart(&mut run),
        Scenario::SteadyLoad
        | Scenario::SteadyLoadShort
        | Scenario::SteadyLoad10Min
        | Scenario::SteadyLoadForced => {
            steady_load(&mut run, &plan.expect("a loaded scenario has a plan"))
        }
    };
    // Let the poller catch the aftermath, then stop it before the servers go.
    thread::sleep(Duration::from_millis(600));
    poller.stop();
    if let Err(e) = &result {
        run.note(format!("runner error: {e}"));
    }
    let report = run.finish(scenario, opts)?;
    result.map(|_| report)
}

fn retry_seal_until_sealed(run: &mut Run, every: Duration, within: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + within;
    loop {
        let rec = run.seal()?;
        if seal_succeeded(&rec) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(format!(
                "log {LOG} not sealed within {within:?}"
            )));
        }
        thread::sleep(every);
    }
}

fn incident(run: &mut Run) -> Result<(), Error> {
    run.note("provision, then `logs seal 0` via N1 every 100 ms from the first instant, until it succeeds");
    run.cluster.provision()?;
    let r = retry_seal_until_sealed(run, Duration::from_millis(100), Duration::from_secs(90));
    run.describe()?;
    r
}

/// Forces every node to Provisioning (`--force`), waits until the `nodes` table shows it, and
/// seals once (Restate refuses: every nodeset member looks Provisioning). Returns the node ids.
fn force_all_provisioning_and_seal(run: &mut Run) -> Result<Vec<u32>, Error> {
    let all = run.cluster.node_ids();
    run.cluster.set_storage_state(&all, "provisioning", true)?;
    run.cluster
        .wait_storage_states(Duration::from_secs(15), |s| {
            s.values().all(|v| v == "provisioning")
        })?;
    let first = run.seal()?;
    if seal_succeeded(&first) {
        run.note("unexpected: the seal succeeded with every node Provisioning");
    }
    Ok(all)
}

fn incident_forced(run: &mut Run) -> Result<(), Error> {
    run.note("provision; wait for log 0 and all ReadWrite; force every node to Provisioning; seal (expected: refused); restart all nodes; seal every 50 ms until it succeeds");
    run.cluster.provision()?;
    run.ready()?;
    let all = force_all_provisioning_and_seal(run)?;
    for id in &all {
        run.cluster.stop_node(*id)?;
    }
    for id in &all {
        run.cluster.start_node(*id)?;
    }
    let port = run.cluster.config().node_meta(VIA).fabric_port;
    run.cluster.wait_port(port, Duration::from_secs(30))?;
    retry_seal_until_sealed(run, Duration::from_millis(50), Duration::from_secs(90))?;
    run.describe()
}

/// Starts a stand-in deployment and registers it through N1's admin API; returns it (dropping
/// it stops it).
fn register_deployment(run: &mut Run) -> Result<StandInDeployment, Error> {
    let ns = run.cluster.netns();
    let deployment = StandInDeployment::start(ns, 9080)?;
    let admin = run.cluster.config().node_meta(VIA).admin_port;
    let body = format!(
        r#"{{"uri":"{}","use_http_11":true,"force":true}}"#,
        deployment.uri()
    );
    run.cluster.record_action(
        "register-deployment",
        &[VIA],
        json!({"uri": deployment.uri()}),
    )?;
    let reg = http_request(
        ns,
        "POST",
        admin,
        "/deployments",
        Some(&body),
        Duration::from_secs(20),
    )?;
    run.cluster.record_action(
        "register-deployment-returned",
        &[VIA],
        json!({"status": reg.status, "body": reg.body, "deployment_saw": deployment.requests()}),
    )?;
    if !(200..300).contains(&reg.status) {
        return Err(Error::Http(format!(
            "registering the deployment failed: status={} body={}",
            reg.status, reg.body
        )));
    }
    Ok(deployment)
}

/// Registers a stand-in deployment and appends delayed sends through N1's ingress until log 0
/// has at least 6 records; returns the deployment (dropping it stops it).
fn append_records(run: &mut Run) -> Result<StandInDeployment, Error> {
    let deployment = register_deployment(run)?;
    // Ingress needs the new schema; give it a moment and retry the first send.
    let loglet = run.meta.loglet_id.clone().unwrap_or_default();
    let mut sent = 0;
    for i in 0..40 {
        if delayed_send(run, i)? {
            sent += 1;
        } else {
            thread::sleep(Duration::from_millis(300));
        }
        if sent >= 6 && i % 3 == 2 {
            let tail = run.known_global_tail(&loglet)?;
            // Provisioning the partition leaves 2 records; stop once a few more arrived.
            if tail >= 6 {
                break;
            }
        }
    }
    run.note(format!("{sent} delayed sends accepted by the ingress"));
    Ok(deployment)
}

fn appends_then_seal(run: &mut Run) -> Result<(), Error> {
    run.note("register a stand-in deployment, append delayed sends `POST /Svc/handler/send?delay=1h` through N1's ingress until log 0 has records, then seal");
    run.cluster.provision()?;
    run.ready()?;
    let deployment = append_records(run)?;
    run.describe()?;
    run.seal()?;
    thread::sleep(Duration::from_millis(500));
    run.describe()?;
    drop(deployment);
    Ok(())
}

fn incident_forced_appends(run: &mut Run) -> Result<(), Error> {
    run.note("provision; append delayed sends through N1's ingress until log 0 has records; force every node to Provisioning; seal (expected: refused); force every node back to ReadWrite; seal every 50 ms until it succeeds");
    run.cluster.provision()?;
    run.ready()?;
    let deployment = append_records(run)?;
    run.describe()?;
    let all = force_all_provisioning_and_seal(run)?;
    run.cluster.set_storage_state(&all, "read-write", true)?;
    run.cluster
        .wait_storage_states(Duration::from_secs(15), |s| {
            s.values().all(|v| v == "read-write")
        })?;
    retry_seal_until_sealed(run, Duration::from_millis(50), Duration::from_secs(90))?;
    thread::sleep(Duration::from_millis(500));
    run.describe()?;
    drop(deployment);
    Ok(())
}

fn paused(run: &mut Run, how_many: usize) -> Result<(), Error> {
    run.cluster.provision()?;
    run.ready()?;
    let victims: Vec<u32> = run.others().into_iter().take(how_many).collect();
    run.note(format!(
        "pause (SIGSTOP) {victims:?}, seal via N{VIA}, resume (SIGCONT), observe the aftermath"
    ));
    for v in &victims {
        run.cluster.pause_node(*v)?;
    }
    thread::sleep(Duration::from_millis(200));
    run.seal()?;
    thread::sleep(Duration::from_millis(300));
    for v in &victims {
        run.cluster.resume_node(*v)?;
    }
    thread::sleep(Duration::from_secs(4));
    run.describe()
}

/// How long the partition of `one-partitioned` outlasts the seal call: the seal task completes
/// on an f-majority within milliseconds, and its requests to the cut-off member are given this
/// long to time out (three attempts, the first after 250 ms).
pub const PARTITION_AFTER_SEAL: Duration = Duration::from_secs(2);

/// `one-partitioned`: the lowest-numbered nodeset member other than the sealer is cut off by
/// nft from just before the seal call until [`PARTITION_AFTER_SEAL`] after it returned; its
/// process keeps running. The partition is lifted on every path out (here, or by the cluster's
/// shutdown when a step fails).
fn partitioned(run: &mut Run) -> Result<(), Error> {
    use crate::netfault::FaultKind;
    run.cluster.provision()?;
    run.ready()?;
    let victim = *run
        .others()
        .last()
        .ok_or_else(|| Error::Process("the nodeset has no member other than N1".into()))?;
    let fault = run.cluster.apply_fault(victim, FaultKind::Partition)?;
    run.note(format!(
        "{}, seal via N{VIA}, lift the partition {} s after the seal returned, observe the aftermath; N{victim} keeps running",
        fault.text(),
        PARTITION_AFTER_SEAL.as_secs()
    ));
    thread::sleep(Duration::from_millis(200));
    let sealed = run.seal();
    thread::sleep(PARTITION_AFTER_SEAL);
    let running = run.cluster.is_running(victim);
    run.cluster.clear_faults()?;
    run.note(format!(
        "N{victim} {} when the partition was lifted",
        if running { "was running" } else { "had exited" }
    ));
    sealed?;
    thread::sleep(Duration::from_secs(4));
    run.describe()
}

/// How long `partition-heals` waits for the sealer to log that every Seal attempt to one of
/// the cut-off members failed (Restate 1.7.12: 3 to 8 s) before it lets both through.
pub const EXHAUSTED_WITHIN: Duration = Duration::from_secs(20);

/// `partition-heals`: the two nodeset members other than the sealer are cut off by nft from
/// just before the seal call, which runs on its own thread; the seal task cannot reach an
/// f-majority. As soon as N1's log shows that every Seal attempt to one of them failed
/// (`Request failed. Exhausted attempts`, Seal, this loglet), the other one's partition is
/// lifted: its Seal, sent seconds earlier, still gets through within the same task. The first
/// one's partition is lifted [`PARTITION_AFTER_SEAL`] after the call returned. Both processes
/// keep running. The two members' attempts run on the same clock: in some runs both give up
/// within a few milliseconds of each other, and the seal task fails before the other one's
/// partition is lifted.
fn partition_heals(run: &mut Run) -> Result<(), Error> {
    use crate::netfault::FaultKind;
    run.cluster.provision()?;
    run.ready()?;
    let cut = run.others();
    if cut.len() != 2 {
        return Err(Error::Process(format!(
            "partition-heals needs two nodeset members besides N{VIA}, not {cut:?}"
        )));
    }
    let mut texts = Vec::new();
    for &n in &cut {
        texts.push(run.cluster.apply_fault(n, FaultKind::Partition)?.text());
    }
    run.note(format!(
        "{}; seal via N{VIA}; once N{VIA} logs every Seal attempt to one of them failed, lift the other's partition; lift the first's {} s after the seal returned; both keep running",
        texts.join("; "),
        PARTITION_AFTER_SEAL.as_secs()
    ));
    let loglet = run.meta.loglet_id.clone().unwrap_or_default();
    let log = crate::raw::node_log_path(&run.cluster.config().raw_dir, VIA);
    thread::sleep(Duration::from_millis(200));
    let sealed = run.seal_while(|run| {
        let failed = wait_seal_exhausted(&log, &loglet, &cut, EXHAUSTED_WITHIN)?;
        let heal: Vec<u32> = cut.iter().copied().filter(|n| Some(*n) != failed).collect();
        if failed.is_none() {
            run.note(format!(
                "no member's Seal attempts were exhausted within {} s: both let through",
                EXHAUSTED_WITHIN.as_secs()
            ));
        }
        run.cluster.clear_faults_of(&heal)
    });
    thread::sleep(PARTITION_AFTER_SEAL);
    let running: Vec<String> = cut
        .iter()
        .map(|&n| {
            format!(
                "N{n} {}",
                if run.cluster.is_running(n) {
                    "running"
                } else {
                    "exited"
                }
            )
        })
        .collect();
    run.cluster.clear_faults()?;
    run.note(format!(
        "when the faults were lifted: {}",
        running.join(", ")
    ));
    sealed?;
    thread::sleep(Duration::from_secs(3));
    run.describe()
}

/// Watches `log` (the sealer's server log) until it shows that a seal task's Seal requests to
/// one of `members` for `loglet` exhausted their attempts; returns that member, or `None` after
/// `within`.
fn wait_seal_exhausted(
    log: &std::path::Path,
    loglet: &str,
    members: &[u32],
    within: Duration,
) -> Result<Option<u32>, Error> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log).map_err(|e| Error::io(log, e))?;
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(crate::Fact::RequestExhausted {
                peer: Some(p),
                message: Some(m),
                loglet: Some(l),
                ..
            }) = crate::parse::fact_from_server_line(VIA, &v)
            {
                if m == "Seal" && l == loglet && members.contains(&p) {
                    return Ok(Some(p));
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(None)
}

/// `sealer-cut`: N1's connections open at the fault (to itself, from its peers) are dropped
/// while new ones pass, so restatectl's seal call still reaches it; N2 is cut off; seal; both
/// lifted [`PARTITION_AFTER_SEAL`] after the call returned.
fn sealer_cut(run: &mut Run) -> Result<(), Error> {
    use crate::netfault::FaultKind;
    run.cluster.provision()?;
    run.ready()?;
    let other = *run
        .others()
        .last()
        .ok_or_else(|| Error::Process("the nodeset has no member other than N1".into()))?;
    let a = run.cluster.apply_fault(VIA, FaultKind::CutEstablished)?;
    let b = run.cluster.apply_fault(other, FaultKind::Partition)?;
    run.note(format!(
        "{}; {}; seal via N{VIA}; lift both {} s after the seal returned",
        a.text(),
        b.text(),
        PARTITION_AFTER_SEAL.as_secs()
    ));
    thread::sleep(Duration::from_millis(200));
    let sealed = run.seal();
    thread::sleep(PARTITION_AFTER_SEAL);
    run.cluster.clear_faults()?;
    sealed?;
    thread::sleep(Duration::from_secs(3));
    run.describe()
}

fn storage_state_change(run: &mut Run) -> Result<(), Error> {
    run.cluster.provision()?;
    run.ready()?;
    let node = run.others()[0];
    run.note(format!(
        "N{node}: read-write -> read-only (no --force), seal via N{VIA}, read-only -> read-write"
    ));
    run.cluster.set_storage_state(&[node], "read-only", false)?;
    run.cluster
        .wait_storage_states(Duration::from_secs(15), |s| {
            s.get(&node).map(String::as_str) == Some("read-only")
        })?;
    run.seal()?;
    thread::sleep(Duration::from_millis(300));
    run.cluster
        .set_storage_state(&[node], "read-write", false)?;
    run.cluster
        .wait_storage_states(Duration::from_secs(15), |s| {
            s.get(&node).map(String::as_str) == Some("read-write")
        })?;
    thread::sleep(Duration::from_secs(1));
    run.describe()
}

fn kill_restart(run: &mut Run) -> Result<(), Error> {
    run.cluster.provision()?;
    run.ready()?;
    let victim = run.others()[0];
    // A seal task finishes in ~1 ms, far below what a signal sent from here can hit; so the
    // member dies right before the seal request and comes back right after it.
    run.note(format!(
        "SIGKILL N{victim}, seal via N{VIA} (the seal task runs while N{victim} is down), restart N{victim}, observe its loglet worker"
    ));
    run.cluster.kill_node(victim)?;
    run.seal()?;
    run.cluster.start_node(victim)?;
    let port = run.cluster.config().node_meta(victim).fabric_port;
    run.cluster.wait_port(port, Duration::from_secs(30))?;
    thread::sleep(Duration::from_secs(3));
    run.describe()
}

/// One step of a loaded scenario's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedAction {
    /// `restatectl -S N1 logs seal 0`.
    Seal,
    /// SIGKILL the node.
    Kill(u32),
    /// Start the killed node again.
    Restart(u32),
    /// SIGSTOP the node.
    Pause(u32),
    /// SIGCONT the node.
    Resume(u32),
    /// `restatectl nodes set-storage-state --force` of the node to the state.
    Force(u32, &'static str),
}

/// The timeline of a `steady-load` scenario: the load, and operator actions at fixed times
/// counted from the load's first call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SteadyLoadPlan {
    /// How long the ingress load runs; the timeline fits inside it.
    pub duration: Duration,
    /// Delayed sends per second (one record each) on N1's ingress.
    pub rate_per_s: u32,
    /// A seal of log 0 at every multiple of this before `duration`.
    pub seal_every: Duration,
    /// The node killed (SIGKILL), then restarted.
    pub kill_node: u32,
    /// When it is killed: 40 % into the run.
    pub kill_at: Duration,
    /// How long it stays down.
    pub down_for: Duration,
    /// The node paused (SIGSTOP), then resumed (SIGCONT).
    pub pause_node: u32,
    /// When it is paused: 55 % into the run, after the killed node is back.
    pub pause_at: Duration,
    /// How long it stays paused.
    pub pause_for: Duration,
    /// The SQL poller's pause between rounds (longer than the other scenarios' 200 ms so that
    /// `sql.jsonl` stays small while the chain of loglets grows).
    pub poll_interval: Duration,
    /// A node forced to Provisioning (`--force`) and when, then when it is forced back to
    /// ReadWrite; `None` in the plans without a forced move.
    pub forced: Option<(u32, Duration, Duration)>,
}

impl SteadyLoadPlan {
    /// `steady-load`: 3 min at 50 calls/s, a seal every 30 s, N3 killed at 72 s for 5 s, N2
    /// paused at 99 s for 8 s, SQL polls every 2 s.
    pub fn long() -> SteadyLoadPlan {
        SteadyLoadPlan::new(
            Duration::from_secs(180),
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_secs(8),
            Duration::from_secs(2),
        )
    }

    /// `steady-load-short`: 45 s at 50 calls/s, a seal every 15 s, N3 killed at 18 s for 3 s,
    /// N2 paused at 24.75 s for 5 s, SQL polls every 1 s.
    pub fn short() -> SteadyLoadPlan {
        SteadyLoadPlan::new(
            Duration::from_secs(45),
            Duration::from_secs(15),
            Duration::from_secs(3),
            Duration::from_secs(5),
            Duration::from_secs(1),
        )
    }

    /// `steady-load-10min`: 10 min at 50 calls/s, a seal every 60 s, N3 killed at 240 s for
    /// 5 s, N2 paused at 330 s for 8 s, SQL polls every 2 s.
    pub fn ten_minutes() -> SteadyLoadPlan {
        SteadyLoadPlan::new(
            Duration::from_secs(600),
            Duration::from_secs(60),
            Duration::from_secs(5),
            Duration::from_secs(8),
            Duration::from_secs(2),
        )
    }

    /// `steady-load-forced`: the short plan, with N3 forced to Provisioning at 9 s (20 %) and
    /// back to ReadWrite at 27 s (60 %), so that the seals at 15 s and 30 s run with it
    /// Provisioning and ReadWrite again; its kill and restart (18 s and 21 s) fall while it is
    /// Provisioning.
    pub fn forced() -> SteadyLoadPlan {
        SteadyLoadPlan {
            forced: Some((3, Duration::from_secs(9), Duration::from_secs(27))),
            ..SteadyLoadPlan::short()
        }
    }

    fn new(
        duration: Duration,
        seal_every: Duration,
        down_for: Duration,
        pause_for: Duration,
        poll_interval: Duration,
    ) -> SteadyLoadPlan {
        SteadyLoadPlan {
            duration,
            rate_per_s: 50,
            seal_every,
            kill_node: 3,
            kill_at: duration.mul_f64(0.40),
            down_for,
            pause_node: 2,
            pause_at: duration.mul_f64(0.55),
            pause_for,
            poll_interval,
            forced: None,
        }
    }

    /// Every operator action with its time from the start of the load, in time order (a seal
    /// at the same instant as another action comes first).
    pub fn timeline(&self) -> Vec<(Duration, PlannedAction)> {
        let mut t: Vec<(Duration, PlannedAction)> = (1u32..)
            .map(|k| self.seal_every * k)
            .take_while(|at| *at < self.duration)
            .map(|at| (at, PlannedAction::Seal))
            .collect();
        t.push((self.kill_at, PlannedAction::Kill(self.kill_node)));
        t.push((
            self.kill_at + self.down_for,
            PlannedAction::Restart(self.kill_node),
        ));
        t.push((self.pause_at, PlannedAction::Pause(self.pause_node)));
        t.push((
            self.pause_at + self.pause_for,
            PlannedAction::Resume(self.pause_node),
        ));
        if let Some((node, at, back)) = self.forced {
            t.push((at, PlannedAction::Force(node, "provisioning")));
            t.push((back, PlannedAction::Force(node, "read-write")));
        }
        t.sort_by_key(|(at, a)| (*at, !matches!(a, PlannedAction::Seal)));
        t
    }

    /// The plan in one sentence, for `meta.json`'s notes.
    pub fn describe(&self) -> String {
        let steps: Vec<String> = self
            .timeline()
            .iter()
            .map(|(at, a)| format!("{:.2} s {a:?}", at.as_secs_f64()))
            .collect();
        format!(
            "steady load: {} delayed sends/s `POST /{SERVICE}/{HANDLER}/send?delay=1h` on N{VIA}'s ingress for {} s (auto-improvement on, SQL polls every {} ms); from the load's start: {}",
            self.rate_per_s,
            self.duration.as_secs(),
            self.poll_interval.as_millis(),
            steps.join(", ")
        )
    }
}

/// Sends delayed sends one at a time through N1's ingress until one is accepted (the ingress
/// needs the schema of the deployment just registered), at most 40 tries.
fn first_accepted_send(run: &mut Run) -> Result<(), Error> {
    for i in 0..40 {
        if delayed_send(run, i)? {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(300));
    }
    Err(Error::Http(format!(
        "the ingress accepted none of 40 calls {}",
        send_path()
    )))
}

/// The ingress path of one delayed send: it appends one record and invokes nothing for an hour.
fn send_path() -> String {
    format!("/{SERVICE}/{HANDLER}/send?delay=1h")
}

/// One delayed send through N1's ingress, recorded as an `ingress-send` action numbered `seq`;
/// whether the ingress accepted it (a 2xx status).
fn delayed_send(run: &mut Run, seq: u32) -> Result<bool, Error> {
    let ns = run.cluster.netns();
    let ingress = run.cluster.config().node_meta(VIA).ingress_port;
    let path = send_path();
    let t = now_us();
    let resp = http_request(
        ns,
        "POST",
        ingress,
        &path,
        Some("{}"),
        Duration::from_secs(10),
    )?;
    run.cluster.raw().action(
        t,
        "ingress-send",
        &[VIA],
        json!({"path": path, "status": resp.status, "body": resp.body, "seq": seq}),
    )?;
    Ok((200..300).contains(&resp.status))
}

/// Walks the plan's timeline from `start`; an action that is due late runs at once.
fn run_timeline(run: &mut Run, plan: &SteadyLoadPlan, start: Instant) -> Result<(), Error> {
    for (at, action) in plan.timeline() {
        let due = start + at;
        let now = Instant::now();
        if now < due {
            thread::sleep(due - now);
        }
        match action {
            PlannedAction::Seal => {
                run.seal()?;
            }
            PlannedAction::Kill(n) => run.cluster.kill_node(n)?,
            PlannedAction::Restart(n) => run.cluster.start_node(n)?,
            PlannedAction::Pause(n) => run.cluster.pause_node(n)?,
            PlannedAction::Resume(n) => run.cluster.resume_node(n)?,
            PlannedAction::Force(n, state) => {
                run.cluster.set_storage_state(&[n], state, true)?;
            }
        }
    }
    Ok(())
}

fn steady_load(run: &mut Run, plan: &SteadyLoadPlan) -> Result<(), Error> {
    run.note(plan.describe());
    run.cluster.provision()?;
    run.ready()?;
    let deployment = register_deployment(run)?;
    first_accepted_send(run)?;
    let cfg = LoadConfig {
        port: run.cluster.config().node_meta(VIA).ingress_port,
        path: send_path(),
        rate_per_s: plan.rate_per_s,
        duration: plan.duration,
        connections: 4,
        request_timeout: Duration::from_secs(5),
    };
    let load = LoadGenerator::start(
        run.cluster.netns(),
        cfg.clone(),
        run.cluster.raw().clone(),
        VIA,
    )?;
    let walked = run_timeline(run, plan, Instant::now());
    let totals = load.wait();
    run.note(format!(
        "ingress load: {} calls planned, {} sent, {} accepted (2xx), other statuses {:?}, {} failed, {} skipped (over {} s late)",
        cfg.planned_calls(),
        totals.sent,
        totals.ok,
        totals.other_status,
        totals.failed,
        totals.skipped,
        crate::load::MAX_LAG.as_secs()
    ));
    thread::sleep(Duration::from_secs(2));
    let described = run.describe();
    drop(deployment);
    walked.and(described)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_load_plans_are_as_documented() {
        use PlannedAction::*;
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let long = SteadyLoadPlan::long();
        assert_eq!((long.duration, long.rate_per_s), (s(180), 50));
        assert_eq!(long.poll_interval, s(2));
        assert_eq!(
            long.timeline(),
            vec![
                (s(30), Seal),
                (s(60), Seal),
                (s(72), Kill(3)),
                (s(77), Restart(3)),
                (s(90), Seal),
                (s(99), Pause(2)),
                (s(107), Resume(2)),
                (s(120), Seal),
                (s(150), Seal),
            ]
        );
        let short = SteadyLoadPlan::short();
        assert_eq!((short.duration, short.rate_per_s), (s(45), 50));
        assert_eq!(short.poll_interval, s(1));
        assert_eq!(
            short.timeline(),
            vec![
                (s(15), Seal),
                (s(18), Kill(3)),
                (s(21), Restart(3)),
                (ms(24_750), Pause(2)),
                (ms(29_750), Resume(2)),
                (s(30), Seal),
            ]
        );
        // CI records the short one: its load and timeline end within 60 s.
        assert!(short.duration < s(60));
        let ten = SteadyLoadPlan::ten_minutes();
        assert_eq!((ten.duration, ten.rate_per_s), (s(600), 50));
        assert_eq!(ten.timeline().len(), 9 + 4);
        assert!(ten.timeline().contains(&(s(240), Kill(3))));
        assert!(ten.timeline().contains(&(s(330), Pause(2))));
        for p in [long, short.clone(), ten] {
            assert!(p.timeline().iter().all(|(at, _)| *at < p.duration));
            assert_ne!(p.kill_node, VIA);
            assert_ne!(p.pause_node, VIA);
            assert_ne!(p.kill_node, p.pause_node);
            // The killed node is back before the other one is paused: one fault at a time.
            assert!(p.kill_at + p.down_for < p.pause_at);
        }
        assert_eq!(
            Scenario::SteadyLoad.steady_load_plan(),
            Some(SteadyLoadPlan::long())
        );
        assert_eq!(Scenario::KillRestart.steady_load_plan(), None);
        let forced = SteadyLoadPlan::forced();
        let mut expected = short.timeline();
        expected.insert(0, (s(9), Force(3, "provisioning")));
        expected.insert(5, (s(27), Force(3, "read-write")));
        assert_eq!(forced.timeline(), expected);
    }

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name()), Some(s));
        }
        assert_eq!(Scenario::from_name("nope"), None);
    }

    fn rec(stdout: &str, stderr: &str) -> CtlRecord {
        CtlRecord {
            time: String::new(),
            time_us: 0,
            end_time_us: 0,
            cmd: vec![],
            exit: Some(0),
            timed_out: false,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn failed_seal_is_detected_despite_exit_0() {
        let ok = rec("✅ log=0 chain has been sealed\n ├ Tail LSN: 3\n", "");
        assert!(seal_succeeded(&ok));
        let bad = rec("\n", "2026-11-27T03:15:42.380098Z ERROR restatectl::commands::log::seal: Failed to seal log chain for log=1: x");
        assert!(!seal_succeeded(&bad));
        assert!(seal_error(&bad)
            .unwrap()
            .contains("Failed to seal log chain"));
    }
}
