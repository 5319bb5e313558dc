//! One run: the workers of this process, each running the exploration dataflow and then the
//! path dataflow, and the outcome they agree on.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use sealcheck_model::{SealModel, State};
use stateright::Model;

use crate::cluster::Cluster;
use timely::communication::WorkerGuards;

use crate::checkpoint::{Checkpointing, CutMeta, WorkerCheckpoints};
use crate::explore::{Expander, Explorer, ProcessShared, Snapshot, Totals};
use crate::fingerprint::{fingerprint, Link, Visited};
use crate::liveness::Liveness;
use crate::outcome::{rss_bytes, Bounds, Outcome, ProgressFn, Stop};
use crate::symmetry::{canonical, concretize};

/// Longest a worker with nothing to do sleeps before looking again (it is woken earlier when
/// messages arrive): idle workers do not spin, which matters on shared machines.
const PARK: Duration = Duration::from_millis(5);

/// How often the thread that waits for the workers looks at the bounds and the peers.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// With several processes, how long after the time limit or an interrupt the workers have to
/// finish their level before this process reports what it saw (a stopped peer would hold
/// them forever).
const GRACE: Duration = Duration::from_secs(5);

/// How long after a peer is found lost the workers have to finish before the report.
const PEER_GRACE: Duration = Duration::from_secs(1);

/// Checks the model exhaustively, breadth-first, on the workers and processes of `cluster`,
/// within `bounds`, with symmetry reduction if `symmetry` (an error where the model's servers
/// are not interchangeable). `progress` is called by the first worker of this process after each
/// level. Returns this process's view of the outcome (every process computes the same), or
/// an error when timely cannot start (for example, when a process of the cluster cannot be
/// reached, or does not present the run's secret, within the connection wait, the time limit
/// or an interrupt). A peer lost during the run (dead, stopped, or its connection closed)
/// ends it with [`Stop::PeerLost`](crate::Stop::PeerLost) and the totals of the last level
/// this process completed.
pub fn check(
    model: &SealModel,
    cluster: &Cluster,
    bounds: &Bounds,
    symmetry: bool,
    progress: Option<ProgressFn>,
) -> Result<Outcome, String> {
    check_checkpointed(model, cluster, bounds, symmetry, progress, None)
}

/// [`check`] with checkpoints: each worker writes its cut of a level boundary through
/// `checkpoints.store` every `checkpoints.every` and when a bound or an interrupt stops the
/// run, and with `checkpoints.resume` the run first resumes from the newest level every
/// worker holds (see [`crate::checkpoint`]). An error if the run cannot resume (no level
/// whole on every worker, a cut that cannot be read); every process then returns it.
pub fn check_checkpointed(
    model: &SealModel,
    cluster: &Cluster,
    bounds: &Bounds,
    symmetry: bool,
    progress: Option<ProgressFn>,
    checkpoints: Option<Checkpointing>,
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
        snapshot: Mutex::new(Snapshot::default()),
    });
    let args = WorkerArgs {
        model,
        bounds: bounds.clone(),
        shared: shared.clone(),
        symmetry,
        progress,
        processes: cluster.processes,
        workers: cluster.workers,
        process: cluster.process,
        start,
        checkpoints,
    };
    let (guards, live) =
        cluster.execute(&bounds, start, move |worker| run_worker(worker, &args))?;
    let watch = Watch {
        shared,
        bounds,
        start,
        process: cluster.process,
        several: cluster.processes > 1,
        live,
    };
    watch.wait(guards)
}

/// The thread that waits for the workers of this process, and meanwhile watches the memory
/// bound, the time limit, the interrupt flag and the peers.
struct Watch {
    shared: Arc<ProcessShared>,
    bounds: Bounds,
    start: Instant,
    process: usize,
    several: bool,
    live: Option<Arc<Liveness>>,
}

impl Watch {
    fn wait(self, guards: WorkerGuards<Result<Outcome, String>>) -> Result<Outcome, String> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sealcheck:join".into())
            .spawn(move || {
                let results: Vec<Result<Outcome, String>> = guards
                    .join()
                    .into_iter()
                    .map(|r| r.and_then(|o| o))
                    .collect();
                let _ = tx.send(results);
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let mut give_up: Option<(Instant, Stop)> = None;
        loop {
            match rx.recv_timeout(WATCH_EVERY) {
                Ok(results) => return self.joined(results),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Joining panicked: timely's communication failed.
                    return match self.lost() {
                        Some((p, why)) => Ok(self.partial(Stop::PeerLost(p), &why)),
                        None => Err("the workers failed".into()),
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some(stop) = self.tripped() {
                let now = Instant::now();
                let grace = if matches!(stop, Stop::PeerLost(_)) {
                    PEER_GRACE
                } else {
                    GRACE
                };
                if let Stop::PeerLost(p) = stop {
                    if !matches!(give_up, Some((_, Stop::PeerLost(_)))) {
                        let why = self.lost().map(|l| l.1).unwrap_or_default();
                        eprintln!(
                            "process {}: lost process {p}: {why}; stopping",
                            self.process
                        );
                        give_up = None;
                    }
                }
                self.shared.request_stop(stop);
                let (at, stop) = *give_up.get_or_insert((now + grace, stop));
                if self.several && now >= at {
                    let why = match stop {
                        Stop::PeerLost(_) => self.lost().map(|l| l.1).unwrap_or_default(),
                        _ => "the workers did not finish their level in time".into(),
                    };
                    return Ok(self.partial(stop, &why));
                }
            }
        }
    }

    /// The first peer found lost, and why.
    fn lost(&self) -> Option<(usize, String)> {
        match &self.live {
            Some(l) => l.lost(),
            None => crate::liveness::comm_failure().map(|p| (p, "its connection failed".into())),
        }
    }

    /// A reason to stop that the workers may not see by themselves.
    fn tripped(&self) -> Option<Stop> {
        if let Some((p, _)) = self.lost() {
            return Some(Stop::PeerLost(p));
        }
        if let Some(limit) = self.bounds.max_memory {
            if let Some(rss) = rss_bytes().filter(|&r| r >= limit) {
                return Some(Stop::Memory { rss, limit });
            }
        }
        if let Some(t) = self.bounds.timeout {
            let e = self.start.elapsed();
            if e >= t {
                return Some(Stop::Timeout(e.as_millis() as u64));
            }
        }
        if self.bounds.interrupted() {
            return Some(Stop::Interrupted);
        }
        None
    }

    /// The workers' outcome once they all ended.
    fn joined(&self, results: Vec<Result<Outcome, String>>) -> Result<Outcome, String> {
        if let Some(l) = &self.live {
            l.finish();
        }
        let mut outcome = None;
        for r in results {
            match r {
                Ok(o) => {
                    outcome.get_or_insert(o);
                }
                Err(e) => {
                    return match self.lost() {
                        Some((p, why)) => Ok(self.partial(Stop::PeerLost(p), &why)),
                        None => Err(format!("a worker failed: {e}")),
                    }
                }
            }
        }
        let mut o = outcome.ok_or("no worker ran")?;
        o.elapsed = self.start.elapsed();
        Ok(o)
    }

    /// What this process reports when its workers cannot finish: the totals of the last level
    /// it completed, without paths (they need every process).
    fn partial(&self, stop: Stop, why: &str) -> Outcome {
        let s = *self.shared.snapshot.lock().expect("snapshot lock");
        let depth = s.deepest.map_or(0, |d| d + 1);
        eprintln!(
            "process {}: the run cannot finish ({why}); reporting what was explored: {} unique states, {} generated, depth {depth}",
            self.process, s.unique, s.states
        );
        Outcome {
            unique: s.unique,
            states: s.states,
            max_depth: depth,
            stopped: Some(stop),
            discoveries: Vec::new(),
            process_unique: self.shared.inserted.load(Ordering::Relaxed),
            process_peak_rss: Some(self.shared.peak_rss.load(Ordering::Relaxed)).filter(|&r| r > 0),
            process_visited_bytes: 0,
            elapsed: self.start.elapsed(),
        }
    }
}

/// What every worker of this process is given.
struct WorkerArgs {
    model: Arc<SealModel>,
    bounds: Bounds,
    shared: Arc<ProcessShared>,
    symmetry: bool,
    progress: Option<ProgressFn>,
    processes: usize,
    workers: usize,
    process: usize,
    start: Instant,
    checkpoints: Option<Checkpointing>,
}

/// The totals before level 0: the initial states, counted as stateright counts them.
fn initial_totals(inits: &[State]) -> Totals {
    let mut seen = Vec::new();
    for s in inits {
        let fp = fingerprint(s);
        if !seen.contains(&fp) {
            seen.push(fp);
        }
    }
    Totals {
        states: inits.len() as u64,
        unique: seen.len() as u64,
        ..Totals::default()
    }
}

/// A worker's visited set, totals, checkpointing and (on resume) the level it resumes from
/// with its frontier.
type Start = (
    Visited,
    Totals,
    Option<WorkerCheckpoints>,
    Option<(CutMeta, Vec<(u64, State)>)>,
);

/// Where a worker starts: afresh, or from the cut of a checkpoint (whose counters it adds
/// to its process's).
fn start_of(
    worker: &mut timely::worker::Worker,
    args: &WorkerArgs,
    inits: &[State],
) -> Result<Start, String> {
    let Some(conf) = &args.checkpoints else {
        return Ok((Visited::default(), initial_totals(inits), None, None));
    };
    let mut ck = WorkerCheckpoints {
        conf: conf.clone(),
        worker: worker.index(),
        last_write: None,
        pending: None,
        start: args.start,
    };
    if !conf.resume {
        return Ok((Visited::default(), initial_totals(inits), Some(ck), None));
    }
    let cut = crate::checkpoint::resume(worker, conf)?;
    ck.last_write = Some(Instant::now());
    ck.conf.elapsed_before = Duration::from_millis(cut.meta.elapsed_ms);
    let shared = &args.shared;
    shared
        .inserted
        .fetch_add(cut.visited.len() as u64, Ordering::Relaxed);
    shared
        .generated
        .fetch_add(cut.meta.generated, Ordering::Relaxed);
    let totals = Totals::from_cut(&cut.meta);
    Ok((
        cut.visited,
        totals,
        Some(ck),
        Some((cut.meta, cut.frontier)),
    ))
}

fn run_worker(worker: &mut timely::worker::Worker, args: &WorkerArgs) -> Result<Outcome, String> {
    let index = worker.index();
    let peers = worker.peers();
    let properties = args.model.property_list().to_vec();

    // The initial states (their representatives with symmetry): every worker knows them; their
    // owners insert them.
    let inits: Vec<State> = args
        .model
        .init_states()
        .into_iter()
        .map(|s| canonical(args.symmetry, s))
        .collect();
    let (visited, totals, ckpt, resumed) = start_of(worker, args, &inits)?;
    let generated_here = resumed.as_ref().map_or(0, |(m, _)| m.generated);
    let visited: Rc<RefCell<Visited>> = Rc::new(RefCell::new(visited));
    let totals: Rc<RefCell<Totals>> = Rc::new(RefCell::new(totals));
    if index % args.workers == 0 {
        *args.shared.snapshot.lock().expect("snapshot lock") = totals.borrow().snapshot();
    }

    // ---- Phase 1: the exploration. ----
    let explorer = Explorer {
        ex: Expander {
            model: args.model.clone(),
            properties: properties.clone(),
            bounds: args.bounds.clone(),
            shared: args.shared.clone(),
            processes: args.processes,
            peers,
            start: args.start,
            inits: inits.len() as u64,
            actions: Vec::new(),
            sent: HashSet::default(),
            symmetry: args.symmetry,
            generated_here,
        },
        visited: visited.clone(),
        totals: totals.clone(),
        shared: args.shared.clone(),
        inits,
        index,
        first_local: index % args.workers == 0,
        process: args.process,
        progress: args.progress.clone(),
        ckpt,
        resumed,
    };
    let probe = crate::explore::dataflow(worker, explorer);
    worker.step_or_park_while(Some(PARK), || !probe.done());

    // ---- Phase 2: the paths of the discoveries. ----
    let targets: Vec<(u32, u64)> = totals
        .borrow()
        .discoveries
        .iter()
        .map(|(&p, &(_, fp))| (p, fp))
        .collect();
    let mut links = Vec::new();
    if !targets.is_empty() {
        let (probe, found) = crate::paths::dataflow(worker, visited.clone(), targets.clone());
        worker.step_or_park_while(Some(PARK), || !probe.done());
        links = found.take();
    }

    let shared = &args.shared;
    shared
        .visited_bytes
        .fetch_add(table_bytes(&visited.borrow()), Ordering::Relaxed);
    let t = totals.borrow();
    let discoveries = targets
        .iter()
        .enumerate()
        .map(|(ti, &(p, _))| (properties[p as usize].name, path_of(args, ti, &links)))
        .collect();
    shared.done.fetch_add(1, Ordering::Relaxed);
    // Every worker of this process has added its table before the outcome is read.
    while shared.done.load(Ordering::Relaxed) < args.workers {
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(Outcome {
        unique: t.unique,
        states: t.states,
        max_depth: t.deepest.map_or(0, |d| d + 1),
        stopped: t.stop,
        discoveries,
        process_unique: shared.inserted.load(Ordering::Relaxed),
        process_peak_rss: Some(shared.peak_rss.load(Ordering::Relaxed)).filter(|&r| r > 0),
        process_visited_bytes: shared.visited_bytes.load(Ordering::Relaxed),
        elapsed: args.start.elapsed(),
    })
}

/// The path of discovery `target` from the links the path dataflow collected (target, step
/// from the end, action index): the Explorer encoding, concretized with symmetry.
fn path_of(args: &WorkerArgs, target: usize, links: &[(u32, u32, u32)]) -> Vec<usize> {
    let mut steps: Vec<(u32, u32)> = links
        .iter()
        .filter(|(t, _, _)| *t as usize == target)
        .map(|&(_, s, a)| (s, a))
        .collect();
    steps.sort();
    let path: Vec<usize> = steps.iter().rev().map(|&(_, a)| a as usize).collect();
    if args.symmetry {
        concretize(&args.model, &path)
            .expect("the representative function commutes with the model's steps")
    } else {
        path
    }
}

/// Bytes a partition of the visited set takes: its hash table's buckets times the size of an
/// entry plus its control byte.
fn table_bytes(vis: &Visited) -> u64 {
    let entry = std::mem::size_of::<(u64, Link)>() as u64 + 1;
    // hashbrown keeps 1/8 of its buckets free: capacity is 7/8 of the buckets.
    (vis.capacity() as u64 * 8).div_ceil(7) * entry
}
