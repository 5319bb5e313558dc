//! Exhaustive breadth-first checking of the seal model on timely dataflow, across worker
//! threads and processes.
//!
//! # How a run goes
//!
//! Every state has a 64-bit fingerprint, computed exactly as stateright 0.31 computes it (ahash
//! with stateright's fixed seeds), so this engine deduplicates states exactly as `sealcheck
//! check` does and finds the same unique-state counts. The worker that *owns* a fingerprint
//! ([`owner`]) keeps it in its partition of the visited set, with the fingerprint of its
//! parent and the index of the action that led to it (a [`Link`]): tens of bytes per state,
//! never the state itself.
//!
//! Breadth-first levels are timely timestamps: the candidates of level `L` travel at time `L`.
//! At time `L`, once timely's progress tracking says no more candidates of level `L` can
//! arrive, each worker inserts the fingerprints of its candidates it has not seen, with their
//! links, evaluates every property on these new states, generates their successors and sends
//! each successor (state, fingerprint, parent, action index; one copy per fingerprint and
//! sending worker) to its owner for level `L + 1`. A state is thus expanded by its owner, so
//! the work spreads over the workers as the fingerprints do. States are dropped once
//! expanded: the visited set holds links only.
//!
//! Statistics (states inserted, expanded and generated, discoveries, why a worker stopped) go
//! to every worker with the candidates, so every worker, in every process, knows the same
//! global totals after each level. The run ends when a level adds no new state: nothing is
//! sent any more, the dataflow's frontier empties, and timely's progress tracking ends it.
//!
//! # Properties
//!
//! `always` and `sometimes` properties are evaluated on every new state; `eventually`
//! properties on states without successors (terminal states), where their condition must hold.
//! This is stateright's semantics for the seal model, whose state graph is acyclic and whose
//! liveness conditions are sticky (once true, true in every later state), so "not satisfied
//! along the path" is "not satisfied in the terminal state". The first level at which a
//! property is discovered is the length of its shortest counterexample; one discovery per
//! property is kept (the smallest fingerprint at that level, so every process picks the same).
//!
//! # Counterexamples
//!
//! After the exploration, a second dataflow follows the parent links: each hop is a lookup sent
//! to the owner of the fingerprint, which answers the action index to every worker and sends
//! the next lookup to the parent's owner, until the initial state. The result is the path in
//! the Explorer encoding (init-state index, then action indices), which `sealcheck replay`
//! replays.
//!
//! # Symmetry
//!
//! With symmetry reduction (sound only where the scenario's log servers are interchangeable,
//! [`SealModel::symmetric`]), every generated state is replaced by its representative
//! ([`State::representative`]) before it is fingerprinted, routed and expanded: the visited set
//! holds one entry per orbit of states under permutations of the servers, the count stateright's
//! depth-first search reports with `symmetry_fn`. A breadth-first level of the quotient is the
//! set of orbits first reached at that depth, so discoveries stay shortest. The action indices of
//! the parent links then refer to representatives; [`concretize`] turns such a path into one of
//! the model itself by choosing, at each step, an action of the concrete state whose successor
//! has the recorded successor's representative.
//!
//! # Bounds
//!
//! The time limit, the memory bound (this process's resident memory), the state bound
//! (generated states, as stateright counts them) and an interrupt flag are checked while a
//! worker expands states, every [`CHECK_EVERY`] states. A worker that trips one stops at once,
//! and so do the other workers of its process; the workers of other processes stop when the
//! level's statistics reach them. The outcome then says which bound stopped the run.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sealcheck_model::{SealModel, State};
use serde::{Deserialize, Serialize};
use stateright::Model;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks, WorkerGuards};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{Capability, ConnectLoop, Feedback, Probe};
use timely::dataflow::ProbeHandle;

/// How many states a worker expands between two checks of the time limit, the state bound
/// and the interrupt flag (the memory bound is read every `16 * CHECK_EVERY` states).
pub const CHECK_EVERY: usize = 1024;

/// The fingerprint of a state: stateright 0.31's own (ahash with its fixed seeds), so that
/// this engine and `sealcheck check` count the same unique states. Never zero (stateright
/// rejects zero fingerprints; a zero would collide with the "no parent" mark of [`Link`]).
pub fn fingerprint(state: &State) -> u64 {
    // stateright 0.31, src/lib.rs, module `stable`.
    const KEY1: u64 = 123_456_789_987_654_321;
    const KEY2: u64 = 98_765_432_123_456_789;
    let fp = ahash::RandomState::with_seeds(KEY1, KEY2, 0, 0).hash_one(state);
    assert!(fp != 0, "a state hashed to the invalid fingerprint 0");
    fp
}

/// The worker (of `peers`) that owns a fingerprint. It uses the fingerprint's high bits, so the
/// low bits still spread each worker's partition over its hash table.
pub fn owner(fp: u64, peers: usize) -> usize {
    ((fp >> 40) % peers as u64) as usize
}

/// What the visited set keeps per state: the parent's fingerprint (0 for an initial state) and
/// the index of the action that led here among the parent's actions (for an initial state, its
/// index among the initial states).
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// Fingerprint of the parent, 0 for an initial state.
    pub parent: u64,
    /// Action index (init-state index for an initial state).
    pub action: u32,
}

/// Hashes a fingerprint to itself: fingerprints are already uniform.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One worker's partition of the visited set.
pub type Visited = HashMap<u64, Link, BuildHasherDefault<IdentityHasher>>;

/// Where the processes of a run are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Worker threads per process (timely's `-w`).
    pub workers: usize,
    /// Number of processes (`-n`).
    pub processes: usize,
    /// This process's index (`-p`), from 0.
    pub process: usize,
    /// The address (`host:port`) of every process, in process order; empty for one process.
    pub addresses: Vec<String>,
}

impl Cluster {
    /// One process with `workers` threads.
    pub fn local(workers: usize) -> Cluster {
        Cluster {
            workers,
            processes: 1,
            process: 0,
            addresses: Vec::new(),
        }
    }

    /// Total workers over all processes.
    pub fn peers(&self) -> usize {
        self.workers * self.processes
    }

    /// Reads a hostfile as timely does: one `host:port` per line, the first `processes` lines
    /// used. Errors name the file and the line.
    pub fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the hostfile: {e}", path.display()))?;
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate().take(processes) {
            let addr = line.trim();
            if addr
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                return Err(format!(
                    "{}, line {}: expected an address host:port, found `{addr}`",
                    path.display(),
                    i + 1
                ));
            }
            out.push(addr.to_string());
        }
        if out.len() < processes {
            return Err(format!(
                "{}: {} processes (-n) need {processes} lines (one host:port per process), found {}",
                path.display(),
                processes,
                out.len()
            ));
        }
        Ok(out)
    }

    /// Connects to the other processes (timely's protocol: each process connects to the
    /// processes before it and accepts the ones after it, each connection starting with the
    /// connecting process's index), within `wait`, saying on stderr what it waits for.
    /// timely's own set-up prints to stdout and retries forever; this one keeps stdout for the
    /// report and gives up with an error naming the missing process.
    fn connect(&self, wait: Duration) -> Result<Vec<Option<TcpStream>>, String> {
        let me = self.process;
        let deadline = Instant::now() + wait;
        let listener = TcpListener::bind(&self.addresses[me])
            .map_err(|e| format!("process {me} cannot listen on {}: {e}", self.addresses[me]))?;
        let mut sockets: Vec<Option<TcpStream>> = Vec::new();
        for (i, addr) in self.addresses.iter().enumerate().take(me) {
            let mut said = false;
            let mut stream = loop {
                match TcpStream::connect(addr) {
                    Ok(s) => break s,
                    Err(e) if Instant::now() < deadline => {
                        if !said {
                            eprintln!("process {me}: waiting for process {i} at {addr} ({e})");
                            said = true;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) => {
                        return Err(format!(
                            "process {me} could not reach process {i} at {addr} within {} s: {e}",
                            wait.as_secs()
                        ))
                    }
                }
            };
            stream
                .set_nodelay(true)
                .and_then(|_| stream.write_all(&(me as u64).to_be_bytes()))
                .map_err(|e| format!("process {me}: connection to process {i} at {addr}: {e}"))?;
            sockets.push(Some(stream));
        }
        sockets.push(None);
        let later = self.processes - me - 1;
        let mut accepted: Vec<Option<TcpStream>> = (0..later).map(|_| None).collect();
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("process {me}: {e}"))?;
        let mut said = false;
        while accepted.iter().any(Option::is_none) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let mut buf = [0u8; 8];
                    stream
                        .set_nonblocking(false)
                        .and_then(|_| stream.set_nodelay(true))
                        .and_then(|_| stream.read_exact(&mut buf))
                        .map_err(|e| format!("process {me}: incoming connection: {e}"))?;
                    let from = u64::from_be_bytes(buf) as usize;
                    if from <= me || from >= self.processes || accepted[from - me - 1].is_some() {
                        return Err(format!(
                            "process {me}: unexpected connection announcing process {from}"
                        ));
                    }
                    accepted[from - me - 1] = Some(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let missing: Vec<String> = accepted
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| s.is_none())
                            .map(|(j, _)| (me + 1 + j).to_string())
                            .collect();
                        return Err(format!(
                            "process {me} at {}: processes {} did not connect within {} s",
                            self.addresses[me],
                            missing.join(", "),
                            wait.as_secs()
                        ));
                    }
                    if !said {
                        eprintln!(
                            "process {me}: waiting for processes {}..{} to connect to {}",
                            me + 1,
                            self.processes - 1,
                            self.addresses[me]
                        );
                        said = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(format!("process {me}: {e}")),
            }
        }
        sockets.extend(accepted);
        Ok(sockets)
    }

    /// Starts timely's workers for this process: threads in this process, and with several
    /// processes, the connections to the others (see [`Cluster::connect`]).
    fn execute<T, F>(&self, func: F) -> Result<WorkerGuards<T>, String>
    where
        T: Send + 'static,
        F: Fn(&mut timely::worker::Worker) -> T + Send + Sync + 'static,
    {
        if self.processes > 1 {
            let sockets = self.connect(CONNECT_WAIT)?;
            let hooks = Hooks::default();
            let local = ProcessBuilder::new_typed_vector(
                self.workers,
                hooks.refill.clone(),
                hooks.spill.clone(),
            );
            let (builders, guard) = initialize_networking_from_sockets(
                local,
                sockets,
                self.process,
                self.workers,
                hooks,
            )
            .map_err(|e| format!("process {}: {e}", self.process))?;
            timely::execute::execute_from(
                builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
                Box::new(guard),
                timely::WorkerConfig::default(),
                func,
            )
        } else {
            let communication = if self.workers > 1 {
                timely::CommunicationConfig::Process(self.workers)
            } else {
                timely::CommunicationConfig::Thread
            };
            timely::execute(
                timely::Config {
                    communication,
                    worker: timely::WorkerConfig::default(),
                },
                func,
            )
        }
    }
}

/// Longest a worker with nothing to do sleeps before looking again (it is woken earlier when
/// messages arrive): idle workers do not spin, which matters on shared machines.
const PARK: Duration = Duration::from_millis(5);

/// How long a process waits for the others of its cluster to connect.
pub const CONNECT_WAIT: Duration = Duration::from_secs(120);

/// The bounds of a run. Each is enforced by the workers while they expand states.
#[derive(Clone, Debug, Default)]
pub struct Bounds {
    /// Stop after generating this many states (over all processes; each process stops when
    /// its own share, scaled by the number of processes, reaches it).
    pub max_states: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Stop when this process's resident memory reaches this many bytes.
    pub max_memory: Option<u64>,
    /// Stop when this flag is set (Ctrl-C).
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// Why a run stopped before covering the state space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stop {
    /// The state bound (the bound).
    States(u64),
    /// The time limit (milliseconds since the start when it tripped).
    Timeout(u64),
    /// The memory bound: resident memory seen and the bound, bytes.
    Memory {
        /// Resident memory when the bound tripped.
        rss: u64,
        /// The bound.
        limit: u64,
    },
    /// The interrupt flag.
    Interrupted,
}

impl Stop {
    fn code(self) -> u8 {
        match self {
            Stop::States(_) => 1,
            Stop::Timeout(_) => 2,
            Stop::Memory { .. } => 3,
            Stop::Interrupted => 4,
        }
    }
}

/// The statistics of one breadth-first level, as a process prints them.
#[derive(Clone, Debug)]
pub struct LevelProgress {
    /// The level (0: the initial states).
    pub level: usize,
    /// States generated so far, all processes (stateright's count, initial states included).
    pub states: u64,
    /// Unique states so far, all processes.
    pub unique: u64,
    /// New states of this level: the frontier the next level expands.
    pub frontier: u64,
    /// This process's index.
    pub process: usize,
    /// Unique states in this process's partitions of the visited set.
    pub process_unique: u64,
    /// This process's resident memory, bytes.
    pub rss: Option<u64>,
    /// Time since the start.
    pub elapsed: Duration,
}

/// Called by the first worker of each process after every level.
pub type ProgressFn = Arc<dyn Fn(&LevelProgress) + Send + Sync>;

/// What a run found. Every process computes the same outcome (totals are exchanged).
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Unique states, all processes.
    pub unique: u64,
    /// States generated (with repeats, initial states included), all processes.
    pub states: u64,
    /// Deepest level expanded, counting the initial states as depth 1 (stateright's depth).
    pub max_depth: usize,
    /// `None` if the exploration covered every reachable state or decided every property.
    pub stopped: Option<Stop>,
    /// Per discovered property (in the model's order): its name and the path to the first
    /// state found at the smallest depth, as the Explorer encodes it (init index, then action
    /// indices).
    pub discoveries: Vec<(&'static str, Vec<usize>)>,
    /// Unique states this process held (its workers' partitions).
    pub process_unique: u64,
    /// This process's peak resident memory seen at the level boundaries, bytes.
    pub process_peak_rss: Option<u64>,
    /// Bytes this process's partitions of the visited set take (table capacity times the
    /// size of an entry plus its control byte): the part of the memory that grows with the
    /// state space; the rest is the frontier and fixed costs.
    pub process_visited_bytes: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// The state the engine keeps for `state`: its representative under server permutations
/// with symmetry reduction, itself otherwise.
fn canonical(symmetry: bool, state: State) -> State {
    if symmetry {
        state.representative()
    } else {
        state
    }
}

/// Turns a path found with symmetry reduction (init-state index, then action indices, each
/// relative to the *representative* of the state it is taken from) into a path of the model
/// itself (each index relative to the concrete state), which `sealcheck replay` replays and
/// whose states are, step by step, permutations of the representatives'. Returns `None` if
/// some step has no matching action (it cannot happen for a representative function that
/// commutes with the model's steps; a `None` means a broken symmetry).
pub fn concretize(model: &SealModel, path: &[usize]) -> Option<Vec<usize>> {
    let (&init, steps) = path.split_first()?;
    let mut state = model.init_states().into_iter().nth(init)?;
    let mut rep = state.representative();
    let mut out = vec![init];
    let mut actions = Vec::new();
    for &a in steps {
        actions.clear();
        model.actions(&rep, &mut actions);
        let action = actions.get(a)?.clone();
        let target = fingerprint(&model.next_state(&rep, action)?.representative());
        actions.clear();
        model.actions(&state, &mut actions);
        let (b, next) = actions.drain(..).enumerate().find_map(|(b, action)| {
            let next = model.next_state(&state, action)?;
            (fingerprint(&next.representative()) == target).then_some((b, next))
        })?;
        out.push(b);
        rep = next.representative();
        state = next;
    }
    Some(out)
}

/// Resident memory of this process (`VmRSS`), bytes; `None` where /proc is unavailable.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Per-level statistics one worker sends to every worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct WorkerStats {
    inserted: u64,
    expanded: u64,
    generated: u64,
    /// (property index, fingerprint).
    discoveries: Vec<(u32, u64)>,
    stop: Option<Stop>,
}

/// The messages of the exploration. `dest` is the receiving worker.
// Candidates are nearly every message: boxing their state would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Msg {
    /// A generated state, sent to the owner of its fingerprint, which keeps it if new and
    /// then expands it.
    Candidate {
        dest: u32,
        fp: u64,
        parent: u64,
        action: u32,
        state: State,
    },
    /// Statistics of the sender's last step, sent to every worker.
    Stats { dest: u32, stats: Box<WorkerStats> },
}

impl Msg {
    fn dest(&self) -> u64 {
        match self {
            Msg::Candidate { dest, .. } | Msg::Stats { dest, .. } => u64::from(*dest),
        }
    }
}

/// The messages of the path reconstruction. `dest` is the receiving worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum PathMsg {
    /// Look up `fp`'s link, the `step`-th from the end of discovery `target`'s path.
    Lookup {
        dest: u32,
        target: u32,
        fp: u64,
        step: u32,
    },
    /// The action index of step `step` (from the end) of discovery `target`'s path.
    Link {
        dest: u32,
        target: u32,
        step: u32,
        action: u32,
    },
}

impl PathMsg {
    fn dest(&self) -> u64 {
        match self {
            PathMsg::Lookup { dest, .. } | PathMsg::Link { dest, .. } => u64::from(*dest),
        }
    }
}

/// What every process shares between its workers.
struct ProcessShared {
    /// Set by the first worker of this process that stops; the others stop too.
    stop: Mutex<Option<Stop>>,
    stopping: AtomicBool,
    /// States generated by this process's workers (initial states not included).
    generated: AtomicU64,
    /// States this process's workers inserted.
    inserted: AtomicU64,
    peak_rss: AtomicU64,
    /// Bytes the visited-set partitions of this process's workers take (hash-table capacity
    /// times entry size, control bytes included), added by each worker at the end.
    visited_bytes: AtomicU64,
    /// Workers of this process that finished.
    done: AtomicUsize,
}

impl ProcessShared {
    fn request_stop(&self, why: Stop) {
        let mut s = self.stop.lock().expect("stop lock");
        if s.is_none() {
            *s = Some(why);
        }
        self.stopping.store(true, Ordering::Relaxed);
    }
    fn stopped(&self) -> Option<Stop> {
        if self.stopping.load(Ordering::Relaxed) {
            *self.stop.lock().expect("stop lock")
        } else {
            None
        }
    }
}

/// Totals every worker accumulates from the statistics of all workers.
#[derive(Default)]
struct Totals {
    unique: u64,
    states: u64,
    /// Deepest level with an expanded state.
    deepest: Option<usize>,
    /// Per property index: (level, fingerprint) of the kept discovery.
    discoveries: BTreeMap<u32, (usize, u64)>,
    stop: Option<Stop>,
    /// Every property discovered: nothing left to decide.
    finished: bool,
    /// New states per level.
    new_at: BTreeMap<usize, u64>,
}

impl Totals {
    /// Adds one worker's statistics of `level` (sent at time `level`).
    fn add(&mut self, level: u64, s: &WorkerStats) {
        let level = level as usize;
        self.unique += s.inserted;
        self.states += s.generated;
        if s.inserted > 0 {
            *self.new_at.entry(level).or_default() += s.inserted;
        }
        if s.expanded > 0 {
            self.deepest = Some(self.deepest.map_or(level, |d| d.max(level)));
        }
        for &(p, fp) in &s.discoveries {
            let e = self.discoveries.entry(p).or_insert((level, fp));
            if (level, fp) < *e {
                *e = (level, fp);
            }
        }
        if let Some(why) = s.stop {
            // Every process must settle on the same reason: keep the lowest code.
            if self.stop.is_none_or(|cur| why.code() < cur.code()) {
                self.stop = Some(why);
            }
        }
    }
}

/// Checks the model exhaustively, breadth-first, on the workers and processes of `cluster`,
/// within `bounds`, with symmetry reduction if `symmetry` (an error where the model's servers
/// are not interchangeable). `progress` is called by the first worker of this process after each
/// level. Returns this process's view of the outcome (every process computes the same), or
/// an error when timely cannot start (for example, when a process of the cluster cannot be
/// reached).
pub fn check(
    model: &SealModel,
    cluster: &Cluster,
    bounds: &Bounds,
    symmetry: bool,
    progress: Option<ProgressFn>,
) -> Result<Outcome, String> {
    if symmetry && !model.symmetric() {
        return Err(
            "symmetry reduction is unsound for this scenario: its log servers are not interchangeable"
                .into(),
        );
    }
    let start = Instant::now();
    let model = Arc::new(model.clone());
    let bounds = bounds.clone();
    let shared = Arc::new(ProcessShared {
        stop: Mutex::new(None),
        stopping: AtomicBool::new(false),
        generated: AtomicU64::new(0),
        inserted: AtomicU64::new(0),
        peak_rss: AtomicU64::new(0),
        visited_bytes: AtomicU64::new(0),
        done: AtomicUsize::new(0),
    });
    let processes = cluster.processes;
    let workers = cluster.workers;
    let process = cluster.process;
    let guards = cluster.execute(move |worker| {
        run_worker(
            worker,
            &model,
            &bounds,
            &shared,
            symmetry,
            progress.clone(),
            processes,
            workers,
            process,
            start,
        )
    })?;
    let mut outcome = None;
    for r in guards.join() {
        let o = r.map_err(|e| format!("a worker failed: {e}"))?;
        outcome.get_or_insert(o);
    }
    let mut o = outcome.ok_or("no worker ran")?;
    o.elapsed = start.elapsed();
    Ok(o)
}

#[allow(clippy::too_many_arguments)]
fn run_worker(
    worker: &mut timely::worker::Worker,
    model: &Arc<SealModel>,
    bounds: &Bounds,
    shared: &Arc<ProcessShared>,
    symmetry: bool,
    progress: Option<ProgressFn>,
    processes: usize,
    workers: usize,
    process: usize,
    start: Instant,
) -> Outcome {
    let index = worker.index();
    let peers = worker.peers();
    let first_local = index % workers == 0;
    let visited: Rc<RefCell<Visited>> = Rc::new(RefCell::new(Visited::default()));
    let totals: Rc<RefCell<Totals>> = Rc::new(RefCell::new(Totals::default()));
    let properties = model.property_list().to_vec();

    // The initial states (their representatives with symmetry): every worker knows them; their
    // owners insert them.
    let inits: Vec<State> = model
        .init_states()
        .into_iter()
        .map(|s| canonical(symmetry, s))
        .collect();
    {
        let mut t = totals.borrow_mut();
        t.states = inits.len() as u64;
        let mut seen = Vec::new();
        for s in &inits {
            let fp = fingerprint(s);
            if !seen.contains(&fp) {
                seen.push(fp);
            }
        }
        t.unique = seen.len() as u64;
    }

    // ---- Phase 1: the exploration. ----
    let probe = ProbeHandle::new();
    {
        let model = model.clone();
        let bounds = bounds.clone();
        let shared = shared.clone();
        let visited = visited.clone();
        let totals = totals.clone();
        let properties = properties.clone();
        let probe = probe.clone();
        worker.dataflow::<u64, _, _>(move |scope| {
            let (handle, stream) = scope.feedback(1u64);
            stream
                .unary_frontier(
                    Exchange::new(|m: &Msg| m.dest()),
                    "explore",
                    move |cap0, _info| {
                        let mut first: Option<Capability<u64>> = Some(cap0);
                        // Messages per time, with a capability to send at that time.
                        let mut stash: BTreeMap<u64, (Capability<u64>, Vec<Msg>)> = BTreeMap::new();
                        let mut ex = Expander {
                            model: model.clone(),
                            properties: properties.clone(),
                            bounds: bounds.clone(),
                            shared: shared.clone(),
                            processes,
                            peers,
                            start,
                            inits: inits.len() as u64,
                            actions: Vec::new(),
                            sent: HashSet::default(),
                            symmetry,
                        };
                        move |(input, frontier), output| {
                            if let Some(cap) = first.take() {
                                // Level 0: the initial states this worker owns.
                                let mut mine = Vec::new();
                                let mut vis = visited.borrow_mut();
                                for (i, s) in inits.iter().enumerate() {
                                    let fp = fingerprint(s);
                                    if owner(fp, peers) == index && !vis.contains_key(&fp) {
                                        vis.insert(
                                            fp,
                                            Link {
                                                parent: 0,
                                                action: i as u32,
                                            },
                                        );
                                        shared.inserted.fetch_add(1, Ordering::Relaxed);
                                        mine.push((fp, s.clone()));
                                    }
                                }
                                drop(vis);
                                let mut session = output.session(&cap);
                                let base = totals.borrow().states;
                                let (stats, out) = ex.expand(mine, base);
                                for m in with_stats(out, stats, peers) {
                                    session.give(m);
                                }
                            }
                            input.for_each_stamp(|cap, data| {
                                if let Some(cap) = cap.retain_least(output.output_index()) {
                                    let time = *cap.time();
                                    let entry =
                                        stash.entry(time).or_insert_with(|| (cap, Vec::new()));
                                    for batch in data {
                                        entry.1.append(batch);
                                    }
                                }
                            });
                            while let Some(time) = stash.keys().next().copied() {
                                if frontier.frontier().less_equal(&time) {
                                    break;
                                }
                                let (cap, msgs) = stash.remove(&time).expect("stashed");
                                // The candidates of level `time`, and the statistics of
                                // level `time - 1`.
                                let mut candidates = Vec::new();
                                {
                                    let mut t = totals.borrow_mut();
                                    for m in msgs {
                                        match m {
                                            Msg::Stats { stats, .. } => t.add(time - 1, &stats),
                                            Msg::Candidate {
                                                fp,
                                                parent,
                                                action,
                                                state,
                                                ..
                                            } => candidates.push((fp, parent, action, state)),
                                        }
                                    }
                                    if t.discoveries.len() == properties.len() {
                                        t.finished = true;
                                    }
                                    if t.stop.is_none() {
                                        if let Some(why) = shared.stopped() {
                                            t.stop = Some(why);
                                        }
                                    }
                                }
                                if first_local {
                                    let t = totals.borrow();
                                    let lp = level_progress(
                                        &t,
                                        (time - 1) as usize,
                                        process,
                                        &shared,
                                        start,
                                    );
                                    if let Some(p) = &progress {
                                        p(&lp);
                                    }
                                }
                                let (stopped, finished) = {
                                    let t = totals.borrow();
                                    (t.stop.is_some(), t.finished)
                                };
                                if stopped || finished {
                                    continue;
                                }
                                // Insert the new states of this level, then expand them.
                                let mut fresh = Vec::new();
                                {
                                    let mut vis = visited.borrow_mut();
                                    for (fp, parent, action, state) in candidates {
                                        if let std::collections::hash_map::Entry::Vacant(e) =
                                            vis.entry(fp)
                                        {
                                            e.insert(Link { parent, action });
                                            fresh.push((fp, state));
                                        }
                                    }
                                }
                                let inserted = fresh.len() as u64;
                                shared.inserted.fetch_add(inserted, Ordering::Relaxed);
                                let base = totals.borrow().states;
                                let mut session = output.session(&cap);
                                let (stats, out) = ex.expand(fresh, base);
                                let stats = match stats {
                                    Some(mut s) => {
                                        s.inserted = inserted;
                                        Some(s)
                                    }
                                    None if inserted > 0 => Some(WorkerStats {
                                        inserted,
                                        ..WorkerStats::default()
                                    }),
                                    None => None,
                                };
                                for m in with_stats(out, stats, peers) {
                                    session.give(m);
                                }
                            }
                        }
                    },
                )
                .probe_with(&probe)
                .connect_loop(handle);
        });
    }
    worker.step_or_park_while(Some(PARK), || !probe.done());

    // ---- Phase 2: the paths of the discoveries. ----
    let targets: Vec<(u32, u64)> = totals
        .borrow()
        .discoveries
        .iter()
        .map(|(&p, &(_, fp))| (p, fp))
        .collect();
    let links: Rc<RefCell<Vec<(u32, u32, u32)>>> = Rc::new(RefCell::new(Vec::new()));
    if !targets.is_empty() {
        let probe = ProbeHandle::new();
        let visited = visited.clone();
        let links_in = links.clone();
        let targets_in = targets.clone();
        let probe_in = probe.clone();
        worker.dataflow::<u64, _, _>(move |scope| {
            let (handle, stream) = scope.feedback(1u64);
            stream
                .unary_frontier(
                    Exchange::new(|m: &PathMsg| m.dest()),
                    "paths",
                    move |cap0, _info| {
                        let mut first = Some(cap0);
                        let lookup =
                            move |target: u32, fp: u64, step: u32, out: &mut Vec<PathMsg>| {
                                let link = *visited
                                    .borrow()
                                    .get(&fp)
                                    .expect("every discovered state and its ancestors are visited");
                                for d in 0..peers {
                                    out.push(PathMsg::Link {
                                        dest: d as u32,
                                        target,
                                        step,
                                        action: link.action,
                                    });
                                }
                                if link.parent != 0 {
                                    out.push(PathMsg::Lookup {
                                        dest: owner(link.parent, peers) as u32,
                                        target,
                                        fp: link.parent,
                                        step: step + 1,
                                    });
                                }
                            };
                        move |(input, _frontier), output| {
                            let mut out = Vec::new();
                            if let Some(cap) = first.take() {
                                for (t, &(_, fp)) in targets_in.iter().enumerate() {
                                    if owner(fp, peers) == index {
                                        lookup(t as u32, fp, 0, &mut out);
                                    }
                                }
                                let mut session = output.session(&cap);
                                for m in out.drain(..) {
                                    session.give(m);
                                }
                            }
                            input.for_each(|cap, data| {
                                for m in data.drain(..) {
                                    match m {
                                        PathMsg::Link {
                                            target,
                                            step,
                                            action,
                                            ..
                                        } => links_in.borrow_mut().push((target, step, action)),
                                        PathMsg::Lookup {
                                            target, fp, step, ..
                                        } => lookup(target, fp, step, &mut out),
                                    }
                                }
                                if let Some(cap) = cap.retain_least(output.output_index()) {
                                    let mut session = output.session(&cap);
                                    for m in out.drain(..) {
                                        session.give(m);
                                    }
                                }
                            });
                        }
                    },
                )
                .probe_with(&probe_in)
                .connect_loop(handle);
        });
        worker.step_or_park_while(Some(PARK), || !probe.done());
    }

    {
        let vis = visited.borrow();
        let entry = std::mem::size_of::<(u64, Link)>() as u64 + 1;
        shared
            .visited_bytes
            // hashbrown keeps 1/8 of its buckets free: capacity is 7/8 of the buckets.
            .fetch_add(
                (vis.capacity() as u64 * 8).div_ceil(7) * entry,
                Ordering::Relaxed,
            );
    }
    let t = totals.borrow();
    let mut discoveries = Vec::new();
    for (ti, &(p, _)) in targets.iter().enumerate() {
        let mut steps: Vec<(u32, u32)> = links
            .borrow()
            .iter()
            .filter(|(t, _, _)| *t as usize == ti)
            .map(|&(_, s, a)| (s, a))
            .collect();
        steps.sort();
        let mut path: Vec<usize> = steps.iter().rev().map(|&(_, a)| a as usize).collect();
        if symmetry {
            path = concretize(model, &path)
                .expect("the representative function commutes with the model's steps");
        }
        discoveries.push((properties[p as usize].name, path));
    }
    shared.done.fetch_add(1, Ordering::Relaxed);
    // Every worker of this process has added its table before the outcome is read.
    while shared.done.load(Ordering::Relaxed) < workers {
        std::thread::sleep(Duration::from_millis(1));
    }
    Outcome {
        unique: t.unique,
        states: t.states,
        max_depth: t.deepest.map_or(0, |d| d + 1),
        stopped: t.stop,
        discoveries,
        process_unique: shared.inserted.load(Ordering::Relaxed),
        process_peak_rss: Some(shared.peak_rss.load(Ordering::Relaxed)).filter(|&r| r > 0),
        process_visited_bytes: shared.visited_bytes.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    }
}

fn level_progress(
    t: &Totals,
    level: usize,
    process: usize,
    shared: &ProcessShared,
    start: Instant,
) -> LevelProgress {
    let rss = rss_bytes();
    if let Some(r) = rss {
        shared.peak_rss.fetch_max(r, Ordering::Relaxed);
    }
    LevelProgress {
        level,
        states: t.states,
        unique: t.unique,
        frontier: t.new_at.get(&level).copied().unwrap_or(0),
        process,
        process_unique: shared.inserted.load(Ordering::Relaxed),
        rss,
        elapsed: start.elapsed(),
    }
}

/// A worker's candidates, then its statistics once for every worker.
fn with_stats(mut out: Vec<Msg>, stats: Option<WorkerStats>, peers: usize) -> Vec<Msg> {
    if let Some(stats) = stats {
        for d in 0..peers {
            out.push(Msg::Stats {
                dest: d as u32,
                stats: Box::new(stats.clone()),
            });
        }
    }
    out
}

/// Expands the states of one level on one worker.
struct Expander {
    model: Arc<SealModel>,
    properties: Vec<sealcheck_model::PropertyInfo>,
    bounds: Bounds,
    shared: Arc<ProcessShared>,
    processes: usize,
    peers: usize,
    start: Instant,
    inits: u64,
    actions: Vec<sealcheck_model::Action>,
    /// Fingerprints this worker sent in the current level (each is sent once).
    sent: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
    /// Whether generated states are replaced by their representatives.
    symmetry: bool,
}

impl Expander {
    /// Evaluates the properties on the new `states` of a level, generates their successors
    /// and returns the statistics to send (if any state was expanded or the run stopped) and
    /// the candidates for the next level, one per fingerprint.
    fn expand(
        &mut self,
        states: Vec<(u64, State)>,
        states_before: u64,
    ) -> (Option<WorkerStats>, Vec<Msg>) {
        let mut stats = WorkerStats::default();
        let mut out = Vec::new();
        let model = &*self.model;
        self.sent.clear();
        for (n, (fp, state)) in states.into_iter().enumerate() {
            if n % CHECK_EVERY == 0 {
                if let Some(why) = self.must_stop(n, states_before) {
                    self.shared.request_stop(why);
                    stats.stop = Some(why);
                    break;
                }
            }
            self.actions.clear();
            model.actions(&state, &mut self.actions);
            let terminal = self.actions.is_empty();
            for (i, p) in self.properties.iter().enumerate() {
                if !p.is_target(model, &state, terminal) {
                    continue;
                }
                // Keep the smallest fingerprint, as the totals do.
                match stats.discoveries.iter_mut().find(|d| d.0 == i as u32) {
                    Some(d) => d.1 = d.1.min(fp),
                    None => stats.discoveries.push((i as u32, fp)),
                }
            }
            stats.expanded += 1;
            let mut generated = 0u64;
            for (ai, action) in self.actions.drain(..).enumerate() {
                let Some(next) = model.next_state(&state, action) else {
                    continue;
                };
                let next = canonical(self.symmetry, next);
                generated += 1;
                let nfp = fingerprint(&next);
                if self.sent.insert(nfp) {
                    out.push(Msg::Candidate {
                        dest: owner(nfp, self.peers) as u32,
                        fp: nfp,
                        parent: fp,
                        action: ai as u32,
                        state: next,
                    });
                }
            }
            stats.generated += generated;
            self.shared
                .generated
                .fetch_add(generated, Ordering::Relaxed);
        }
        self.sent.clear();
        if stats.stop.is_none() {
            if let Some(why) = self.shared.stopped() {
                stats.stop = Some(why);
            }
        }
        let worked = stats.expanded > 0 || stats.stop.is_some();
        (worked.then_some(stats), out)
    }

    fn must_stop(&self, n: usize, states_before: u64) -> Option<Stop> {
        if let Some(why) = self.shared.stopped() {
            return Some(why);
        }
        if self
            .bounds
            .interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
        {
            return Some(Stop::Interrupted);
        }
        if let Some(t) = self.bounds.timeout {
            let e = self.start.elapsed();
            if e >= t {
                return Some(Stop::Timeout(e.as_millis() as u64));
            }
        }
        if let Some(max) = self.bounds.max_states {
            // This process's generated states, scaled by the number of processes: exact with
            // one process, an estimate of the global count with several.
            let here = self.inits + self.shared.generated.load(Ordering::Relaxed);
            if states_before.max(here * self.processes as u64) >= max as u64 {
                return Some(Stop::States(max as u64));
            }
        }
        if let Some(limit) = self.bounds.max_memory {
            if n % (16 * CHECK_EVERY) == 0 {
                if let Some(rss) = rss_bytes().filter(|&r| r >= limit) {
                    return Some(Stop::Memory { rss, limit });
                }
            }
        }
        None
    }
}
