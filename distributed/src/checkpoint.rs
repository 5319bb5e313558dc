//! Checkpoints of a run at a level boundary, so that a run of hours survives a crash, a kill
//! or a reboot of any of its processes.
//!
//! # The cut
//!
//! A checkpoint of level `L` is, per worker, what that worker holds once it has inserted its
//! new states of level `L` and before it expands them: its partition of the visited set
//! (fingerprint, parent, action index: the links counterexamples are rebuilt from), its new
//! states of level `L` (the frontier, with the states themselves) and the global totals of
//! levels `0..L` ([`CutMeta`]). No worker inserts a state of level `L + 1` before every worker
//! is done with level `L`, so the cuts of all workers are one consistent cut of the run.
//! Resuming from it expands the frontier of level `L` and goes on as the uninterrupted run
//! did: the same unique and generated counts, the same discoveries at the same levels,
//! counterexamples as short.
//!
//! # When, and agreeing on it
//!
//! When the statistics of level `L - 1` (which every worker receives, so every worker decides
//! alike) say that some worker's `--checkpoint-every` clock ran out, every worker writes its
//! cut of level `L` once it has inserted the new states of `L` and before it expands them; a
//! fresh run also writes level 0. The frontier is written from the states the worker is about
//! to expand anyway: checkpoints cost no memory beyond the engine's own. A worker that could
//! not write says so in its statistics of `L`. Once the statistics of level `L` show no
//! failure, level `L` is whole on every process, and each worker removes its older
//! checkpoints; until then the previous whole level stays. A kill at any moment (even in the
//! middle of a write, which goes to a temporary file renamed when complete) thus leaves on
//! every process the newest level that every process completed.
//!
//! A bound or an interrupt stops the run at once, as without checkpoints (a cut of the
//! level it stopped in would need that level's frontier, which expanding frees as it goes):
//! the run resumes from the newest whole level, written at most `--checkpoint-every` plus a
//! level before the stop.
//!
//! On resume every worker lists the levels it holds, the workers exchange the lists, and all
//! take the newest level that every worker holds; each loads its cut of that level, the
//! workers confirm that all loaded, and the exploration restarts at that level. Checkpoints of
//! newer levels (incomplete on some process) are removed.
//!
//! The file format, the run's identity and the refusal of another run's checkpoint belong to
//! the caller, through [`CheckpointStore`].

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealcheck_model::State;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::ToStream;
use timely::dataflow::operators::{Exchange, Inspect, Probe};

use crate::fingerprint::Visited;

/// The global totals of levels `0..level` and this worker's own counters, saved with a cut.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutMeta {
    /// The level whose new states are the cut's frontier.
    pub level: u64,
    /// What this worker's statistics of `level` count as inserted when the frontier is
    /// expanded (its new states of `level`; 0 at level 0, whose initial states are counted
    /// in advance).
    pub inserted: u64,
    /// States this worker generated before expanding `level`.
    pub generated: u64,
    /// Unique states, all workers, before `level`'s statistics.
    pub unique: u64,
    /// Generated states, all workers, initial states included, before `level`'s statistics.
    pub states: u64,
    /// Deepest level with an expanded state, before `level`.
    pub deepest: Option<usize>,
    /// The discoveries so far: property index, level, fingerprint.
    pub discoveries: Vec<(u32, usize, u64)>,
    /// New states per level so far: level, count.
    pub new_at: Vec<(usize, u64)>,
    /// Time the run had taken when the cut was written, all sessions, milliseconds.
    pub elapsed_ms: u64,
}

/// One worker's checkpoint, as loaded.
pub struct Cut {
    /// Totals and counters.
    pub meta: CutMeta,
    /// The worker's partition of the visited set.
    pub visited: Visited,
    /// The worker's new states of `meta.level`, with their fingerprints.
    pub frontier: Vec<(u64, State)>,
}

/// One worker's checkpoint, as written.
pub struct CutRef<'a> {
    /// Totals and counters.
    pub meta: &'a CutMeta,
    /// The worker's partition of the visited set.
    pub visited: &'a Visited,
    /// The worker's new states of `meta.level`, with their fingerprints.
    pub frontier: &'a [(u64, State)],
}

/// Where the checkpoints of this process's workers go. Workers are named by their global
/// index (`process * workers + local index`). Implementations write atomically: a level a
/// [`CheckpointStore::levels`] lists is whole.
pub trait CheckpointStore: Send + Sync {
    /// The levels of which worker `worker` holds a whole checkpoint.
    fn levels(&self, worker: usize) -> Result<Vec<u64>, String>;
    /// Writes worker `worker`'s cut (replacing one of the same level); returns its size in
    /// bytes.
    fn write(&self, worker: usize, cut: CutRef<'_>) -> Result<u64, String>;
    /// Reads worker `worker`'s cut of `level`, refusing a damaged or foreign one.
    fn read(&self, worker: usize, level: u64) -> Result<Cut, String>;
    /// Removes worker `worker`'s checkpoints whose level `keep` rejects, and what its writes
    /// that a kill interrupted left. Called by that worker only, never while it writes.
    fn retain(&self, worker: usize, keep: &dyn Fn(u64) -> bool);
}

/// Checkpointing of a run: where, how often, and whether to resume.
#[derive(Clone)]
pub struct Checkpointing {
    /// Where the checkpoints go.
    pub store: Arc<dyn CheckpointStore>,
    /// Least time between two checkpoints (each worker's clock; the first that runs out
    /// decides for all).
    pub every: Duration,
    /// Resume from the newest level every worker holds instead of starting afresh.
    pub resume: bool,
    /// Time of earlier sessions, added to the elapsed time saved in checkpoints (set on
    /// resume from the loaded cut).
    pub elapsed_before: Duration,
}

/// One worker's checkpointing state.
pub(crate) struct WorkerCheckpoints {
    pub(crate) conf: Checkpointing,
    pub(crate) worker: usize,
    /// When this worker last wrote (`None`: never).
    pub(crate) last_write: Option<Instant>,
    /// A level written and not yet confirmed whole on every worker.
    pub(crate) pending: Option<u64>,
    /// When this session started.
    pub(crate) start: Instant,
}

impl WorkerCheckpoints {
    /// Whether this worker's clock says a checkpoint is due.
    pub(crate) fn due(&self) -> bool {
        self.last_write
            .is_none_or(|t| t.elapsed() >= self.conf.every)
    }

    /// The elapsed time to save: this session's plus earlier ones'.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        (self.conf.elapsed_before + self.start.elapsed()).as_millis() as u64
    }

    /// Once level `level`'s new states are inserted and before they are expanded: confirms
    /// the level written at `level - 1` unless a worker reported a failed write
    /// (`someone_failed`; without a failure its older checkpoints are removed), then, if
    /// `cut` is given, writes it. Returns whether this worker failed to write it.
    pub(crate) fn at_level(
        &mut self,
        level: u64,
        someone_failed: bool,
        cut: Option<CutRef<'_>>,
    ) -> bool {
        if let Some(p) = self.pending.filter(|&p| p + 1 == level) {
            self.pending = None;
            if !someone_failed {
                self.conf.store.retain(self.worker, &|l| l >= p);
            }
        }
        let Some(cut) = cut else {
            return false;
        };
        match self.conf.store.write(self.worker, cut) {
            Ok(_) => {
                self.pending = Some(level);
                self.last_write = Some(Instant::now());
                false
            }
            Err(e) => {
                eprintln!(
                    "worker {}: could not write the checkpoint of level {level}: {e}",
                    self.worker
                );
                true
            }
        }
    }
}

/// Longest a worker waiting for the others' values sleeps before looking again.
const PARK: Duration = Duration::from_millis(5);

/// Sends `value` to every worker and returns every worker's value, in worker order: a
/// barrier that also exchanges data. Every worker must call it, in the same order as any
/// other dataflow it builds.
pub(crate) fn all_gather<D>(worker: &mut timely::worker::Worker, value: D) -> Vec<D>
where
    D: timely::ExchangeData + Clone,
{
    let index = worker.index() as u32;
    let peers = worker.peers();
    let got: Rc<RefCell<Vec<(u32, D)>>> = Rc::new(RefCell::new(Vec::new()));
    let got_in = got.clone();
    let msgs: Vec<(u32, u32, D)> = (0..peers as u32)
        .map(|d| (d, index, value.clone()))
        .collect();
    let probe = worker.dataflow::<u64, _, _>(move |scope| {
        let (probe, _) = msgs
            .to_stream(scope)
            .exchange(|m: &(u32, u32, D)| u64::from(m.0))
            .inspect(move |m: &(u32, u32, D)| got_in.borrow_mut().push((m.1, m.2.clone())))
            .probe();
        probe
    });
    worker.step_or_park_while(Some(PARK), || !probe.done());
    let mut all = got.take();
    all.sort_by_key(|(w, _)| *w);
    all.into_iter().map(|(_, d)| d).collect()
}

/// On resume: agrees with every worker on the newest level all of them hold, and loads this
/// worker's cut of it. Every worker returns the same error if any worker cannot resume.
pub(crate) fn resume(
    worker: &mut timely::worker::Worker,
    conf: &Checkpointing,
) -> Result<Cut, String> {
    let index = worker.index();
    let mine = conf.store.levels(index);
    let all = all_gather(
        worker,
        mine.clone().map_err(|e| format!("worker {index}: {e}")),
    );
    let mut common: Option<Vec<u64>> = None;
    for levels in &all {
        let levels = levels.as_ref().map_err(Clone::clone)?;
        common = Some(match common {
            None => levels.clone(),
            Some(c) => c.into_iter().filter(|l| levels.contains(l)).collect(),
        });
    }
    let level = common.unwrap_or_default().into_iter().max();
    let loaded = match level {
        Some(l) => conf.store.read(index, l),
        None => Err(
            "no checkpoint level is whole on every process (the run was killed before its first checkpoint was complete): start it again with --checkpoint"
                .to_string(),
        ),
    };
    let status = loaded.as_ref().map(|_| ()).map_err(Clone::clone);
    for s in all_gather(worker, status) {
        s?;
    }
    let cut = loaded?;
    // Newer levels are incomplete somewhere, older ones superseded.
    conf.store.retain(index, &|l| l == cut.meta.level);
    Ok(cut)
}
