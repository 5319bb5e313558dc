//! A real three-node Restate cluster inside a private network namespace.
//!
//! [`Cluster::start`] writes one TOML file per node (node ids 1..=N, fabric port `ID5122`, admin
//! `ID9070`, ingress `ID8080`, all on 127.0.0.1), starts every server with its output appended to
//! `<raw>/logs/n<ID>.log`, and waits until each fabric port accepts connections. Every node runs
//! all roles (metadata-server, admin, worker, log-server, http-ingress); `auto-provision` is off,
//! the default loglet provider is `replicated` and the watchdog's auto-improvement is disabled so
//! nothing seals or reconfigures a log unless a scenario asks for it. Logging is JSON with the
//! filter [`LOG_FILTER`] (bifrost and log-server at debug; trace is compiled out of release
//! builds).
//!
//! Operator actions (start, stop, pause, resume, kill, provision, seal, network faults, ...) go to
//! `actions.jsonl`, every restatectl run to `restatectl.jsonl`, every SQL snapshot to
//! `sql.jsonl` (see [`crate::raw`]). A background [`Poller`] takes snapshots of `loglet_workers`,
//! `nodes` and `logs` while a scenario runs.
//!
//! Teardown: [`Cluster::shutdown`] (or drop) clears the network faults (nft table), stops the
//! poller, sends SIGTERM to every server, SIGKILLs those still alive after a grace period, and
//! finally kills the namespace holder, all by PID. The work directory (the nodes' data) is a scratch directory
//! ([`process::claim_scratch_dir`]): dropping the cluster removes it, the interrupt handler
//! removes it on Ctrl-C / SIGTERM, and the next cluster started beside it removes it if its
//! process was killed outright.
//!
//! Progress: with [`show_progress`] on, every phase (namespace, nodes, provisioning, each
//! operator action, polling, teardown) is one line on stderr, with the time since the first.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::binaries::{Binaries, RESTATE_VERSION};
use crate::netfault::{self, Fault, FaultKind};
use crate::poll;
use crate::process::{self, kill_and_reap, send_signal, NetNs};
use crate::raw::{node_log_path, CtlRecord, NodeMeta, RawWriter, SqlRecord};
use crate::time::{format_rfc3339, now_us};
use crate::Error;

static PROGRESS: AtomicBool = AtomicBool::new(false);
static PROGRESS_START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Turns the phase lines on stderr on or off for every cluster of this process
/// (`sealcheck record` turns them on; they are off by default).
pub fn show_progress(on: bool) {
    PROGRESS.store(on, Ordering::SeqCst);
}

/// How often each operator action was shown, so that a retried one is not shown every time.
static SHOWN: std::sync::Mutex<BTreeMap<String, usize>> = std::sync::Mutex::new(BTreeMap::new());

/// Prints one phase line on stderr if [`show_progress`] is on: `sealcheck record: [  1.2 s]
/// TEXT`, the time counted from the first line. A closed stderr is ignored.
pub fn progress(text: impl std::fmt::Display) {
    use std::io::Write;
    if PROGRESS.load(Ordering::SeqCst) {
        let t = PROGRESS_START.get_or_init(Instant::now).elapsed();
        let _ = writeln!(
            std::io::stderr(),
            "sealcheck record: [{:5.1} s] {text}",
            t.as_secs_f64()
        );
    }
}

/// Shows an operator action: its first two occurrences, then every tenth (`(#10)`), with its
/// detail cut to 160 characters.
fn progress_action(action: &str, nodes: &[u32], detail: &Value) {
    if !PROGRESS.load(Ordering::SeqCst) {
        return;
    }
    let n = {
        let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
        let n = shown.entry(action.to_string()).or_insert(0);
        *n += 1;
        *n
    };
    if n > 2 && n % 10 != 0 {
        return;
    }
    let mut detail = detail.to_string();
    if detail.chars().count() > 160 {
        detail = detail.chars().take(157).collect::<String>() + "...";
    }
    let count = if n > 1 {
        format!(" (#{n})")
    } else {
        String::new()
    };
    progress(format!("{action}{count} {} {detail}", node_list(nodes)));
}

fn node_list(nodes: &[u32]) -> String {
    nodes
        .iter()
        .map(|n| format!("n{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Log filter the servers run with.
pub const LOG_FILTER: &str = "info,restate_bifrost=debug,restate_log_server=debug";

/// How to build the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Number of nodes (ids `1..=nodes`, at most 6 so ports stay below 65536).
    pub nodes: u32,
    /// Scratch directory for node configs and data (`<work>/n<ID>.toml`, `<work>/n<ID>/`).
    pub work_dir: PathBuf,
    /// Raw directory the run is recorded into.
    pub raw_dir: PathBuf,
    /// Cluster name.
    pub cluster_name: String,
    /// Partitions to provision (each has its own log, ids `0..n`).
    pub num_partitions: u32,
    /// Log replication factor (`{node: R}`).
    pub log_replication: u32,
    /// Timeout of one restatectl run (seal, describe, set-storage-state).
    pub ctl_timeout: Duration,
    /// Leave bifrost's auto-improvement watchdog at Restate's default (on); when false (the
    /// default here) the configs set `disable-auto-improvement = true`.
    pub auto_improvement: bool,
}

impl ClusterConfig {
    /// Three nodes, two partitions, replication `{node: 2}`.
    pub fn new(work_dir: impl Into<PathBuf>, raw_dir: impl Into<PathBuf>) -> ClusterConfig {
        ClusterConfig {
            nodes: 3,
            work_dir: work_dir.into(),
            raw_dir: raw_dir.into(),
            cluster_name: "sealcheck".into(),
            num_partitions: 2,
            log_replication: 2,
            ctl_timeout: Duration::from_secs(40),
            auto_improvement: false,
        }
    }

    /// Ports of node `id`.
    pub fn node_meta(&self, id: u32) -> NodeMeta {
        NodeMeta {
            id,
            name: format!("n{id}"),
            fabric_port: (id * 10_000 + 5122) as u16,
            admin_port: (id * 10_000 + 9070) as u16,
            ingress_port: (id * 10_000 + 8080) as u16,
        }
    }

    fn node_toml(&self, id: u32) -> String {
        let m = self.node_meta(id);
        let peers: Vec<String> = (1..=self.nodes)
            .map(|p| format!("\"http://127.0.0.1:{}/\"", self.node_meta(p).fabric_port))
            .collect();
        format!(
            r#"# Generated by sealcheck-recorder for Restate {RESTATE_VERSION}.
node-name = "{name}"
force-node-id = {id}
cluster-name = "{cluster}"
base-dir = "{base}"
roles = ["metadata-server", "admin", "worker", "log-server", "http-ingress"]
auto-provision = false
disable-telemetry = true
listen-mode = "tcp"
bind-address = "127.0.0.1:{fabric}"
advertised-address = "http://127.0.0.1:{fabric}/"
rocksdb-total-memory-size = "256 MiB"
shutdown-timeout = "5s"
log-format = "json"
log-filter = "{LOG_FILTER}"

[metadata-client]
addresses = [{peers}]

[admin]
bind-address = "127.0.0.1:{admin}"
advertised-address = "http://127.0.0.1:{admin}/"

[admin.query-engine]
memory-size = "64 MiB"

[ingress]
bind-address = "127.0.0.1:{ingress}"
advertised-ingress-endpoint = "http://127.0.0.1:{ingress}/"

[worker.invoker]
memory-limit = "64 MiB"

[bifrost]
default-provider = "replicated"
{disable_auto_improvement}record-cache-memory-size = "32 MiB"
"#,
            name = m.name,
            cluster = self.cluster_name,
            base = self.work_dir.join(&m.name).display(),
            fabric = m.fabric_port,
            admin = m.admin_port,
            ingress = m.ingress_port,
            peers = peers.join(", "),
            disable_auto_improvement = if self.auto_improvement {
                ""
            } else {
                "disable-auto-improvement = true\n"
            },
        )
    }
}

/// Runs restatectl inside the namespace and records every run; cheap to clone across threads.
#[derive(Debug, Clone)]
pub struct Ctl {
    ns_path: PathBuf,
    restatectl: PathBuf,
    addresses: Vec<String>,
    raw: Arc<RawWriter>,
    timeout: Duration,
}

impl Ctl {
    /// The fabric address of node `id` (`http://127.0.0.1:ID5122/`).
    pub fn address_of(&self, id: u32) -> &str {
        &self.addresses[(id - 1) as usize]
    }

    /// Runs `restatectl --address <all nodes> --yes ARGS...`.
    pub fn run(&self, args: &[&str]) -> Result<CtlRecord, Error> {
        let mut full = vec!["--address".to_string(), self.addresses.join(",")];
        full.push("--yes".into());
        full.extend(args.iter().map(|s| s.to_string()));
        self.run_raw(full, self.timeout)
    }

    /// Runs `restatectl -S <node's address> --yes ARGS...`: talks to that one node only.
    pub fn run_via(&self, node: u32, args: &[&str]) -> Result<CtlRecord, Error> {
        let mut full = vec!["-S".to_string(), self.address_of(node).to_string()];
        full.push("--yes".into());
        full.extend(args.iter().map(|s| s.to_string()));
        self.run_raw(full, self.timeout)
    }

    fn run_raw(&self, args: Vec<String>, timeout: Duration) -> Result<CtlRecord, Error> {
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net={}", self.ns_path.display()))
            .arg(&self.restatectl)
            .args(&args)
            .env("NO_COLOR", "1")
            .env_remove("RESTATECTL_ADDRESS");
        let start = now_us();
        let out = process::run_bounded(cmd, timeout)?;
        let rec = CtlRecord {
            time: format_rfc3339(start),
            time_us: start,
            end_time_us: now_us(),
            cmd: args,
            exit: out.exit,
            timed_out: out.timed_out,
            stdout: out.stdout,
            stderr: out.stderr,
        };
        self.raw.ctl(&rec)?;
        Ok(rec)
    }

    /// Takes a snapshot: `restatectl sql --jsonl QUERY` (see [`crate::poll::query`]),
    /// recorded in `sql.jsonl` (not in `restatectl.jsonl`). A failed query is recorded with
    /// its error.
    pub fn sql(&self, table: &str, query: &str) -> Result<SqlRecord, Error> {
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net={}", self.ns_path.display()))
            .arg(&self.restatectl)
            .args(["--address", &self.addresses.join(",")]);
        let rec = poll::query(cmd, table, query)?;
        self.raw.sql(&rec)?;
        Ok(rec)
    }

    /// Snapshot of `loglet_workers` (per log server and loglet: tails, seal flags, sequencer).
    pub fn snapshot_loglet_workers(&self) -> Result<SqlRecord, Error> {
        self.sql("loglet_workers", poll::LOGLET_WORKERS_QUERY)
    }

    /// Snapshot of `nodes` (liveness and storage state with the nodes-config version).
    pub fn snapshot_nodes(&self) -> Result<SqlRecord, Error> {
        self.sql("nodes", poll::NODES_QUERY)
    }

    /// Snapshot of `logs` (segments of every log chain).
    pub fn snapshot_logs(&self) -> Result<SqlRecord, Error> {
        self.sql("logs", poll::LOGS_QUERY)
    }
}

/// The tail segment of a log as the `logs` table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSegment {
    /// Log id.
    pub log_id: u64,
    /// Segment index.
    pub segment_index: u64,
    /// Provider kind (`replicated`, or `sealed` for a sealed chain's marker segment).
    pub kind: String,
    /// Loglet id (`<log>_<segment>`), if replicated.
    pub loglet_id: Option<String>,
    /// Nodeset in printed order.
    pub nodeset: Vec<u32>,
    /// Sequencer (generational id).
    pub sequencer: Option<String>,
    /// Replication property as printed.
    pub replication: Option<String>,
}

/// Parses a printed nodeset such as `[N3, N1, N2]` into plain node ids.
pub fn parse_nodeset(s: &str) -> Vec<u32> {
    crate::text::parse_nodeset(s)
}

impl LogSegment {
    fn from_row(row: &Value) -> Option<LogSegment> {
        let s = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_string);
        Some(LogSegment {
            log_id: row.get("log_id")?.as_u64()?,
            segment_index: row.get("segment_index")?.as_u64()?,
            kind: s("kind").unwrap_or_default(),
            loglet_id: s("loglet_id"),
            nodeset: s("nodeset").map(|n| parse_nodeset(&n)).unwrap_or_default(),
            sequencer: s("sequencer"),
            replication: s("replication"),
        })
    }
}

/// Takes `loglet_workers`, `nodes` and `logs` snapshots on a background thread until dropped
/// or stopped.
#[derive(Debug)]
pub struct Poller {
    thread: crate::poll::Background,
}

impl Poller {
    /// Starts polling every `interval` (one round takes three restatectl runs, ~0.3 s).
    pub fn start(ctl: Ctl, interval: Duration) -> Poller {
        let thread = crate::poll::Background::spawn(move |flag| {
            while !flag.load(Ordering::SeqCst) {
                let _ = ctl.snapshot_nodes();
                let _ = ctl.snapshot_loglet_workers();
                let _ = ctl.snapshot_logs();
                let until = Instant::now() + interval;
                while Instant::now() < until && !flag.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10));
                }
            }
        });
        Poller { thread }
    }

    /// Stops and joins the polling thread (a round in progress finishes first, at most ~30 s).
    pub fn stop(mut self) {
        self.thread.stop();
    }
}

#[derive(Debug)]
struct NodeProc {
    child: Option<Child>,
}

/// A running cluster. See the module documentation.
#[derive(Debug)]
pub struct Cluster {
    cfg: ClusterConfig,
    bins: Binaries,
    raw: Arc<RawWriter>,
    ctl: Ctl,
    nodes: BTreeMap<u32, NodeProc>,
    /// Network faults in force (see [`crate::netfault`]).
    faults: Vec<Fault>,
    /// Whether the server takes `--no-logo` (1.5 exits at once when given it).
    no_logo: bool,
    // Declared last: dropped after the servers are gone.
    ns: NetNs,
}

impl Cluster {
    /// Claims the work directory ([`process::claim_scratch_dir`], which also removes stale
    /// ones beside it), creates the namespace, writes the configs, starts every node and waits
    /// (at most 30 s) until all fabric ports accept connections. Does not provision. On error
    /// everything it started is stopped and the work directory removed.
    pub fn start(bins: &Binaries, cfg: ClusterConfig) -> Result<Cluster, Error> {
        if cfg.nodes == 0 || cfg.nodes > 6 {
            return Err(Error::Process(format!(
                "nodes={} is out of range 1..=6",
                cfg.nodes
            )));
        }
        for stale in process::claim_scratch_dir(&cfg.work_dir)? {
            progress(format!(
                "removed {}, left behind by a recording that was killed",
                stale.display()
            ));
        }
        let work = cfg.work_dir.clone();
        let started = Cluster::start_claimed(bins, cfg);
        if started.is_err() {
            let _ = process::release_scratch_dir(&work);
        }
        started
    }

    fn start_claimed(bins: &Binaries, cfg: ClusterConfig) -> Result<Cluster, Error> {
        let raw = Arc::new(RawWriter::create(&cfg.raw_dir)?);
        progress("creating a private network namespace (only lo)");
        let ns = NetNs::create()?;
        let ctl = Ctl {
            ns_path: ns.path(),
            restatectl: bins.restatectl.clone(),
            addresses: (1..=cfg.nodes)
                .map(|id| format!("http://127.0.0.1:{}/", cfg.node_meta(id).fabric_port))
                .collect(),
            raw: raw.clone(),
            timeout: cfg.ctl_timeout,
        };
        raw.action(
            now_us(),
            "create-namespace",
            &[],
            json!({"holder_pid": ns.holder_pid()}),
        )?;
        let mut cluster = Cluster {
            cfg,
            bins: bins.clone(),
            raw,
            ctl,
            nodes: BTreeMap::new(),
            faults: Vec::new(),
            no_logo: bins.server_knows("--no-logo"),
            ns,
        };
        for id in 1..=cluster.cfg.nodes {
            let path = cluster.config_path(id);
            std::fs::write(&path, cluster.cfg.node_toml(id)).map_err(|e| Error::io(&path, e))?;
        }
        for id in 1..=cluster.cfg.nodes {
            cluster.start_node(id)?;
        }
        progress(format!(
            "waiting for the {} nodes' fabric ports",
            cluster.cfg.nodes
        ));
        for id in 1..=cluster.cfg.nodes {
            cluster.wait_port(
                cluster.cfg.node_meta(id).fabric_port,
                Duration::from_secs(30),
            )?;
        }
        Ok(cluster)
    }

    /// The configuration the cluster was built from.
    pub fn config(&self) -> &ClusterConfig {
        &self.cfg
    }

    /// The network namespace every process runs in.
    pub fn netns(&self) -> &NetNs {
        &self.ns
    }

    /// A restatectl runner for this cluster.
    pub fn ctl(&self) -> &Ctl {
        &self.ctl
    }

    /// The raw directory writer.
    pub fn raw(&self) -> &Arc<RawWriter> {
        &self.raw
    }

    /// Node ids.
    pub fn node_ids(&self) -> Vec<u32> {
        (1..=self.cfg.nodes).collect()
    }

    /// Records an operator action now.
    pub fn record_action(&self, action: &str, nodes: &[u32], detail: Value) -> Result<(), Error> {
        progress_action(action, nodes, &detail);
        self.raw.action(now_us(), action, nodes, detail)
    }

    fn config_path(&self, id: u32) -> PathBuf {
        self.cfg.work_dir.join(format!("n{id}.toml"))
    }

    /// PID of node `id`'s server, if it is running.
    pub fn pid(&self, id: u32) -> Option<i32> {
        self.nodes
            .get(&id)
            .and_then(|n| n.child.as_ref())
            .map(|c| c.id() as i32)
    }

    /// Whether node `id`'s server process is running (started and not exited; a paused one
    /// counts as running).
    pub fn is_running(&mut self, id: u32) -> bool {
        self.nodes
            .get_mut(&id)
            .and_then(|n| n.child.as_mut())
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn node_pid(&self, id: u32) -> Result<i32, Error> {
        self.pid(id)
            .ok_or_else(|| Error::Process(format!("node {id} is not running")))
    }

    /// Starts node `id`'s server (again, after a stop or kill); its output is appended to the
    /// node's log file. Does not wait for it to be ready.
    pub fn start_node(&mut self, id: u32) -> Result<(), Error> {
        if self.pid(id).is_some() {
            return Err(Error::Process(format!("node {id} is already running")));
        }
        progress(format!("starting restate-server n{id}"));
        let log_path = node_log_path(&self.cfg.raw_dir, id);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let log2 = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
        let mut cmd = self.ns.command(&self.bins.server);
        if self.no_logo {
            cmd.arg("--no-logo");
        }
        cmd.arg("-c")
            .arg(self.config_path(id))
            .env("RESTATE_LOG_FORMAT", "json")
            .env("RESTATE_LOG_FILTER", LOG_FILTER)
            .env_remove("RUST_LOG")
            .env_remove("RESTATE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        process::die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| Error::Process(format!("cannot start restate-server n{id}: {e}")))?;
        let pid = child.id() as i32;
        process::register(pid);
        self.raw
            .action(now_us(), "start-node", &[id], json!({"pid": pid}))?;
        self.nodes.insert(id, NodeProc { child: Some(child) });
        Ok(())
    }

    /// Sends SIGTERM to node `id` and waits up to 15 s, then SIGKILLs it.
    pub fn stop_node(&mut self, id: u32) -> Result<(), Error> {
        let pid = self.node_pid(id)?;
        progress(format!("stopping n{id} (SIGTERM)"));
        self.raw.action(
            now_us(),
            "stop-node",
            &[id],
            json!({"pid": pid, "signal": "SIGTERM"}),
        )?;
        let node = self.nodes.get_mut(&id).expect("running node");
        let mut child = node.child.take().expect("running node");
        send_signal(pid, libc::SIGCONT);
        send_signal(pid, libc::SIGTERM);
        let status = process::wait_timeout(&mut child, Duration::from_secs(15));
        if status.is_none() {
            kill_and_reap(&mut child, Duration::from_secs(5));
        }
        process::unregister(pid);
        self.raw.action(
            now_us(),
            "node-exited",
            &[id],
            json!({"pid": pid, "graceful": status.is_some()}),
        )
    }

    /// SIGKILLs node `id` (a crash) and reaps it.
    pub fn kill_node(&mut self, id: u32) -> Result<(), Error> {
        let pid = self.node_pid(id)?;
        progress(format!("killing n{id} (SIGKILL)"));
        let t = now_us();
        let node = self.nodes.get_mut(&id).expect("running node");
        let mut child = node.child.take().expect("running node");
        kill_and_reap(&mut child, Duration::from_secs(5));
        self.raw.action(
            t,
            "kill-node",
            &[id],
            json!({"pid": pid, "signal": "SIGKILL"}),
        )
    }

    /// Stops (SIGTERM) and starts node `id` again.
    pub fn restart_node(&mut self, id: u32) -> Result<(), Error> {
        self.stop_node(id)?;
        self.start_node(id)
    }

    /// SIGSTOPs node `id`: the process keeps its sockets but answers nothing.
    pub fn pause_node(&mut self, id: u32) -> Result<(), Error> {
        let pid = self.node_pid(id)?;
        progress(format!("pausing n{id} (SIGSTOP)"));
        let t = now_us();
        send_signal(pid, libc::SIGSTOP);
        self.raw.action(
            t,
            "pause-node",
            &[id],
            json!({"pid": pid, "signal": "SIGSTOP"}),
        )
    }

    /// SIGCONTs node `id`.
    pub fn resume_node(&mut self, id: u32) -> Result<(), Error> {
        let pid = self.node_pid(id)?;
        progress(format!("resuming n{id} (SIGCONT)"));
        let t = now_us();
        send_signal(pid, libc::SIGCONT);
        self.raw.action(
            t,
            "resume-node",
            &[id],
            json!({"pid": pid, "signal": "SIGCONT"}),
        )
    }

    /// Applies a network fault of `kind` to node `id`'s fabric port inside the namespace (see
    /// [`crate::netfault`]); the faults already in force stay. Recorded as a `net-fault` action
    /// (detail: fault kind, port, rules) at the instant the rules were in place.
    pub fn apply_fault(&mut self, id: u32, kind: FaultKind) -> Result<Fault, Error> {
        let fault = Fault {
            node: id,
            port: self.cfg.node_meta(id).fabric_port,
            kind,
        };
        fault.check()?;
        progress(fault.text());
        let mut faults = self.faults.clone();
        faults.push(fault);
        netfault::run_nft(&self.ns.path(), &netfault::rules_script(&faults))?;
        let t = now_us();
        self.faults = faults;
        self.raw.action(t, "net-fault", &[id], fault.detail())?;
        Ok(fault)
    }

    /// The network faults in force, in the order they were applied.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Removes every network fault (our nft table) from the namespace; recorded as a
    /// `net-faults-cleared` action naming the nodes that were faulted. Does nothing (and
    /// records nothing) when no fault is in force.
    pub fn clear_faults(&mut self) -> Result<(), Error> {
        let all: Vec<u32> = self.faults.iter().map(|f| f.node).collect();
        self.clear_faults_of(&all)
    }

    /// Removes the network faults of `nodes` and keeps the others (the table is rewritten in
    /// one transaction, or removed when nothing is left); recorded as a `net-faults-cleared`
    /// action naming the nodes whose faults went. Does nothing when none of them is faulted.
    pub fn clear_faults_of(&mut self, nodes: &[u32]) -> Result<(), Error> {
        let (gone, kept): (Vec<Fault>, Vec<Fault>) =
            self.faults.iter().partition(|f| nodes.contains(&f.node));
        if gone.is_empty() {
            return Ok(());
        }
        let script = if kept.is_empty() {
            progress("clearing the network faults (nft delete table)");
            netfault::clear_script()
        } else {
            progress(format!(
                "clearing the network faults of {} (nft)",
                node_list(&gone.iter().map(|f| f.node).collect::<Vec<_>>())
            ));
            netfault::rules_script(&kept)
        };
        netfault::run_nft(&self.ns.path(), &script)?;
        let t = now_us();
        let mut cleared: Vec<u32> = gone.iter().map(|f| f.node).collect();
        cleared.sort_unstable();
        cleared.dedup();
        let kinds: Vec<&str> = gone.iter().map(|f| f.kind.name()).collect();
        self.faults = kept;
        self.raw.action(
            t,
            "net-faults-cleared",
            &cleared,
            json!({"faults": kinds, "left": self.faults.len()}),
        )
    }

    /// Waits until `port` on 127.0.0.1 inside the namespace accepts a TCP connection.
    pub fn wait_port(&self, port: u16, timeout: Duration) -> Result<(), Error> {
        let h = self.ns.spawn_thread("wait-port", move || {
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return true;
                }
                thread::sleep(Duration::from_millis(25));
            }
            false
        })?;
        if h.join().unwrap_or(false) {
            Ok(())
        } else {
            Err(Error::Timeout(format!(
                "port 127.0.0.1:{port} did not open within {timeout:?}"
            )))
        }
    }

    /// Provisions the cluster through node 1:
    /// `provision --log-provider replicated --log-replication R --num-partitions P`.
    pub fn provision(&self) -> Result<CtlRecord, Error> {
        let r = self.cfg.log_replication.to_string();
        let p = self.cfg.num_partitions.to_string();
        self.record_action("provision", &[], json!({"replication": r, "partitions": p}))?;
        let rec = self.ctl.run(&[
            "provision",
            "--log-provider",
            "replicated",
            "--log-replication",
            &r,
            "--num-partitions",
            &p,
        ])?;
        if rec.exit != Some(0) || !rec.stdout.contains("successfully provisioned") {
            return Err(Error::Restatectl {
                cmd: rec.cmd.join(" "),
                message: format!("{}{}", rec.stdout, rec.stderr),
            });
        }
        Ok(rec)
    }

    /// Starts a background [`Poller`].
    pub fn start_poller(&self, interval: Duration) -> Poller {
        progress(format!(
            "polling nodes, loglet_workers and logs every {} ms",
            interval.as_millis()
        ));
        Poller::start(self.ctl.clone(), interval)
    }

    /// Polls the `logs` table until log `log_id`'s tail segment is a replicated loglet, at most
    /// `timeout`.
    pub fn wait_for_log(&self, log_id: u64, timeout: Duration) -> Result<LogSegment, Error> {
        progress(format!(
            "waiting for log {log_id} to get a replicated loglet"
        ));
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(seg) = self.tail_segment(log_id)? {
                if seg.kind == "replicated" {
                    return Ok(seg);
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "log {log_id} did not appear in the logs table within {timeout:?}"
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The highest-index segment of log `log_id` in a fresh `logs` snapshot, if any.
    pub fn tail_segment(&self, log_id: u64) -> Result<Option<LogSegment>, Error> {
        let snap = self.ctl.snapshot_logs()?;
        Ok(snap
            .rows
            .iter()
            .filter_map(LogSegment::from_row)
            .filter(|s| s.log_id == log_id)
            .max_by_key(|s| s.segment_index))
    }

    /// Storage state of every node in a fresh `nodes` snapshot (`read-write`, `provisioning`, ...).
    pub fn storage_states(&self) -> Result<BTreeMap<u32, String>, Error> {
        let snap = self.ctl.snapshot_nodes()?;
        Ok(snap
            .rows
            .iter()
            .filter_map(|r| {
                let id = crate::text::plain_node_id(r.get("plain_node_id")?.as_str()?)?;
                Some((id, r.get("storage_state")?.as_str()?.to_string()))
            })
            .collect())
    }

    /// Polls `nodes` until `pred` holds on the storage states, at most `timeout`.
    pub fn wait_storage_states(
        &self,
        timeout: Duration,
        pred: impl Fn(&BTreeMap<u32, String>) -> bool,
    ) -> Result<BTreeMap<u32, String>, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let states = self.storage_states()?;
            if pred(&states) {
                return Ok(states);
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "storage states did not reach the expected condition within {timeout:?}; last seen {states:?}"
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `nodes set-storage-state --nodes N,.. --storage-state STATE [--force]`, recorded as an
    /// operator action.
    pub fn set_storage_state(
        &self,
        nodes: &[u32],
        state: &str,
        force: bool,
    ) -> Result<CtlRecord, Error> {
        let list: Vec<String> = nodes.iter().map(u32::to_string).collect();
        let list = list.join(",");
        self.record_action(
            "set-storage-state",
            nodes,
            json!({"storage_state": state, "force": force}),
        )?;
        let mut args = vec![
            "nodes",
            "set-storage-state",
            "--nodes",
            &list,
            "--storage-state",
            state,
        ];
        if force {
            args.push("--force");
        }
        self.ctl.run(&args)
    }

    /// `logs seal LOG` sent to node `via` only (`-S`), recorded as an operator action.
    pub fn seal_log(&self, log_id: u64, via: u32) -> Result<CtlRecord, Error> {
        self.record_action("seal-log", &[via], json!({"log_id": log_id, "via": via}))?;
        self.ctl
            .run_via(via, &["logs", "seal", &log_id.to_string()])
    }

    /// Stops the poller-independent part of the cluster: every server (SIGTERM, then SIGKILL
    /// after 15 s) and the namespace holder.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown_inner();
        Ok(())
    }

    fn shutdown_inner(&mut self) {
        // Faults first, so that the servers' shutdown seals are not cut off. The namespace goes
        // with its holder anyway, and its table with it.
        if let Err(e) = self.clear_faults() {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "sealcheck: {e}");
            self.faults.clear();
        }
        let ids: Vec<u32> = self.nodes.keys().copied().collect();
        let mut children = Vec::new();
        for id in ids {
            if let Some(mut child) = self.nodes.get_mut(&id).and_then(|n| n.child.take()) {
                let pid = child.id() as i32;
                if let Ok(None) = child.try_wait() {
                    send_signal(pid, libc::SIGCONT);
                    send_signal(pid, libc::SIGTERM);
                }
                children.push((id, child));
            }
        }
        if !children.is_empty() {
            progress(format!(
                "stopping the cluster ({} nodes, SIGTERM)",
                children.len()
            ));
            let _ = self
                .raw
                .action(now_us(), "shutdown", &[], json!({"nodes": children.len()}));
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        for (_, child) in children.iter_mut() {
            let left = deadline.saturating_duration_since(Instant::now());
            if process::wait_timeout(child, left).is_none() {
                kill_and_reap(child, Duration::from_secs(5));
            }
            process::unregister(child.id() as i32);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown_inner();
        // The namespace holder goes with `ns`, which is dropped after this; nothing of the
        // cluster writes into the work directory any more.
        if let Err(e) = process::release_scratch_dir(&self.cfg.work_dir) {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "sealcheck: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodeset_text_parses() {
        assert_eq!(parse_nodeset("[N3, N1, N2]"), vec![3, 1, 2]);
        assert_eq!(parse_nodeset("[]"), Vec::<u32>::new());
    }

    #[test]
    fn config_has_the_required_settings() {
        let cfg = ClusterConfig::new("/tmp/w", "/tmp/r");
        let t = cfg.node_toml(2);
        for needle in [
            "force-node-id = 2",
            "bind-address = \"127.0.0.1:25122\"",
            "auto-provision = false",
            "disable-auto-improvement = true",
            "default-provider = \"replicated\"",
            "\"http://127.0.0.1:35122/\"",
            "bind-address = \"127.0.0.1:29070\"",
            "bind-address = \"127.0.0.1:28080\"",
        ] {
            assert!(t.contains(needle), "missing {needle} in\n{t}");
        }
    }
}
