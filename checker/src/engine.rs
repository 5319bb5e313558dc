//! Running a check: stateright explores the scenario, then this module turns its discoveries
//! into verdicts and shortest counterexamples.
//!
//! stateright 0.31 reports `is_done()` for runs cut short by a state or depth bound or a
//! timeout, ignores its timeout with one thread, and does not report shortest BFS paths. This
//! module therefore keeps its own account: a run is *complete* only when no bound stopped it
//! and the strategy is exhaustive; the time limit, the memory bound and Ctrl-C stop the
//! checker through the model's stop property ([`SealModel::with_deadline`]), so that it ends
//! within one block of states instead of draining its queue; and every discovery is replaced
//! by a shortest path from [`crate::shortest`], searched within the same bounds. A property
//! without a discovery on an incomplete run is *undecided*, never "holds".

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealcheck_model::model::{Deadline, STOP_PROPERTY};
use sealcheck_model::{Action, PropertyInfo, PropertyKind, SealModel, State};
use serde::Serialize;
use stateright::{Checker, HasDiscoveries, Model, UniformChooser};

use crate::exit::Exit;
use crate::limits::MAX_THREADS;
use crate::shortest::{self, FoundPath, SearchLimits, Target};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Strategy {
    /// Breadth-first, exhaustive.
    Bfs,
    /// Depth-first, exhaustive; the only exhaustive strategy that honours symmetry.
    Dfs,
    /// Random walks from the initial state, never exhaustive.
    Simulation {
        /// Seed of the random choices.
        seed: u64,
    },
}

impl Strategy {
    /// `bfs`, `dfs` or `simulation`.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Bfs => "bfs",
            Strategy::Dfs => "dfs",
            Strategy::Simulation { .. } => "simulation",
        }
    }
}

/// Options of one check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// How to explore: breadth-first, depth-first or random walks.
    pub strategy: Strategy,
    /// Worker threads of stateright's checker, 1 to [`MAX_THREADS`].
    pub threads: usize,
    /// Stop expanding states at this depth.
    pub max_depth: Option<usize>,
    /// Stop after generating this many states.
    pub max_states: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Stop when the process's resident memory reaches this many bytes (checked about every
    /// 50 ms while exploring, and by the shortest-path search).
    pub max_memory: Option<u64>,
    /// Explore one representative per permutation of interchangeable log servers (DFS only).
    pub symmetry: bool,
    /// Budget of unique states for the shortest-path search (0: no search). `max_states`,
    /// `timeout`, `max_memory` and `interrupt` bound it too.
    pub shortest_budget: usize,
    /// Set from outside (a Ctrl-C handler) to stop the run; it then reports what it explored.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Bfs,
            threads: 1,
            max_depth: None,
            max_states: None,
            timeout: None,
            max_memory: None,
            symmetry: false,
            shortest_budget: 20_000_000,
            interrupt: None,
        }
    }
}

/// Options that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Symmetry reduction needs DFS or simulation.
    #[error("--symmetry needs --strategy dfs or --engine timely (stateright 0.31 honours symmetry only in DFS and simulation)")]
    SymmetryNeedsDfs,
    /// The scenario's log servers are not interchangeable.
    #[error("--symmetry is unsound for this scenario: not every log server is in the nodeset, so log servers are not interchangeable")]
    SymmetryUnsound,
    /// Simulation never ends by itself.
    #[error("--strategy simulation never finishes by itself: give --max-states or --timeout")]
    SimulationNeedsBound,
    /// Zero threads, or more than [`MAX_THREADS`].
    #[error("--threads must be a whole number from 1 to {MAX_THREADS}")]
    NoThreads,
}

impl CheckOptions {
    /// Checks that the options make sense for this model.
    pub fn validate(&self, model: &SealModel) -> Result<(), OptionsError> {
        if crate::limits::check_threads(self.threads).is_err() {
            return Err(OptionsError::NoThreads);
        }
        if self.symmetry {
            if self.strategy == Strategy::Bfs {
                return Err(OptionsError::SymmetryNeedsDfs);
            }
            if !model.symmetric() {
                return Err(OptionsError::SymmetryUnsound);
            }
        }
        if matches!(self.strategy, Strategy::Simulation { .. })
            && self.max_states.is_none()
            && self.timeout.is_none()
        {
            return Err(OptionsError::SimulationNeedsBound);
        }
        Ok(())
    }
}

/// What a check concluded about one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// `always`/`eventually`: no counterexample in a complete exploration.
    Holds,
    /// `always`/`eventually`: a counterexample exists.
    Violated,
    /// `sometimes`: an example exists.
    Reached,
    /// `sometimes`: no example in a complete exploration.
    Unreachable,
    /// The run was incomplete and found nothing: no conclusion.
    Undecided,
}

/// A path through the model, ready to print.
#[derive(Clone, Debug, Serialize)]
pub struct Trail {
    /// The Explorer encoding (`0/3/1`).
    pub path: String,
    /// Whether it is proven shortest (the shortest-path search finished).
    pub shortest: bool,
    /// One entry per step.
    pub steps: Vec<Step>,
    /// The final state, one fact per line.
    pub final_state: Vec<String>,
    #[serde(skip)]
    /// The actions (for traces and replays).
    pub actions: Vec<Action>,
}

/// One step of a [`Trail`].
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// The action in protocol words.
    pub action: String,
    /// What changed, one line per change.
    pub changes: Vec<String>,
}

/// The outcome for one property.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    /// The property's name, as the model declares it.
    pub name: &'static str,
    /// always / sometimes / eventually.
    pub kind: PropertyKind,
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the scenario declares this reachability property unreachable.
    pub expected_unreachable: bool,
    /// Whether this reachability property guards safety properties against vacuity.
    pub guard: bool,
    /// Whether this result makes the check fail.
    pub failure: bool,
    /// Counterexample or example.
    pub trail: Option<Trail>,
}

/// Why a run did not cover the whole state space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Incomplete {
    /// `--max-depth` stopped it.
    DepthBound(usize),
    /// `--max-states` stopped it.
    StateBound(usize),
    /// `--timeout` stopped it.
    Timeout(u64),
    /// `--max-memory` stopped it: the resident memory seen, and the bound (bytes).
    Memory {
        /// Resident memory when the bound tripped.
        rss: u64,
        /// The bound.
        limit: u64,
    },
    /// Ctrl-C stopped it.
    Interrupted,
    /// `--engine timely`: a peer process (its index) died or stopped answering.
    PeerLost(usize),
    /// Simulation is never exhaustive.
    Simulation,
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incomplete::DepthBound(d) => write!(f, "stopped at the depth bound {d} (--max-depth)"),
            Incomplete::StateBound(n) => {
                write!(f, "stopped at the state bound {n} (--max-states)")
            }
            Incomplete::Timeout(ms) => {
                write!(f, "stopped by the timeout after {ms} ms (--timeout)")
            }
            Incomplete::Memory { rss, limit } => write!(
                f,
                "stopped at the memory bound: resident memory reached {} (--max-memory {})",
                crate::bounds::human_size(*rss),
                crate::bounds::human_size(*limit)
            ),
            Incomplete::Interrupted => write!(f, "interrupted by Ctrl-C"),
            Incomplete::PeerLost(p) => write!(f, "stopped: process {p} of the cluster was lost"),
            Incomplete::Simulation => write!(f, "random simulation is never exhaustive"),
        }
    }
}

/// Everything a check found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The scenario's name (its `name` field).
    pub scenario: String,
    /// The strategy the run explored with.
    pub strategy: Strategy,
    /// Worker threads of the run.
    pub threads: usize,
    /// Whether the run explored one state per permutation of interchangeable log servers.
    pub symmetry: bool,
    /// `None` if the exploration covered every reachable state (or decided every property).
    pub incomplete: Option<Incomplete>,
    /// Unique states explored. For simulation, states visited along the random walks, counted
    /// again when a later walk revisits them (stateright does not track distinct states there).
    pub unique_states: usize,
    /// States generated, with repeats.
    pub states: usize,
    /// Deepest depth reached.
    pub max_depth: usize,
    /// Wall-clock time of the exploration.
    pub elapsed_ms: u64,
    /// Per property, in the model's order.
    pub properties: Vec<PropertyResult>,
    /// Why the shortest-path search did not finish (its trails are then the checker's own,
    /// not proven shortest), or `None` if it finished or was not needed.
    pub shortest_search: Option<String>,
    /// The engine, when not stateright's checker in this process (e.g. "timely dataflow, 2
    /// processes x 1 worker").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

impl CheckReport {
    /// Whether some property failed.
    pub fn failed(&self) -> bool {
        self.properties.iter().any(|p| p.failure)
    }

    /// Whether some property is undecided.
    pub fn undecided(&self) -> bool {
        self.properties
            .iter()
            .any(|p| p.verdict == Verdict::Undecided)
    }

    /// How the run ends: [`Exit::Violated`] if a property failed, [`Exit::Incomplete`] if the
    /// run was incomplete and left a property undecided, [`Exit::Holds`] if every property
    /// holds on a complete exploration.
    pub fn exit_code(&self) -> Exit {
        if self.failed() {
            Exit::Violated
        } else if self.undecided() {
            Exit::Incomplete
        } else {
            Exit::Holds
        }
    }
}

/// Progress of a running exploration.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// States generated so far, repeats included.
    pub states: usize,
    /// Distinct states seen so far.
    pub unique: usize,
    /// Deepest depth reached so far.
    pub depth: usize,
    /// Generated states waiting to be checked (BFS and DFS; an estimate: unique states
    /// minus states checked).
    pub queued: Option<usize>,
    /// Resident memory of the process, bytes.
    pub rss: Option<u64>,
    /// Time since the start.
    pub elapsed: Duration,
}

/// What an exploration leaves for the report: its counters and, per property it discovered,
/// the path to the discovery and the state at its end.
pub(crate) struct RunStats {
    pub(crate) states: usize,
    pub(crate) unique: usize,
    pub(crate) depth: usize,
    pub(crate) discoveries: Vec<(&'static str, Vec<Action>, State)>,
}

/// Why the engine itself stopped a run (a passed deadline is the timeout).
pub(crate) enum Stopped {
    Memory(u64),
    Interrupted,
}

/// What the polling loop watches while a checker runs.
struct Watch<'a> {
    deadline: &'a Deadline,
    max_memory: Option<u64>,
    interrupt: Option<&'a AtomicBool>,
    exhaustive: bool,
    start: Instant,
}

fn drive<C: Checker<SealModel>>(
    checker: C,
    watch: &Watch<'_>,
    progress: &mut dyn FnMut(Progress),
) -> (RunStats, Option<Stopped>) {
    let mut stopped = None;
    let mut last = Instant::now();
    let mut last_memory = Instant::now();
    let mut nap = Duration::from_micros(200);
    while !checker.is_done() {
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
        if stopped.is_none() {
            if watch.interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
                stopped = Some(Stopped::Interrupted);
                watch.deadline.stop();
            } else if let Some(max) = watch.max_memory {
                if last_memory.elapsed() >= Duration::from_millis(50) {
                    last_memory = Instant::now();
                    if let Some(rss) = crate::bounds::rss_bytes().filter(|&r| r >= max) {
                        stopped = Some(Stopped::Memory(rss));
                        watch.deadline.stop();
                    }
                }
            }
        }
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let unique = checker.unique_state_count();
            progress(Progress {
                states: checker.state_count(),
                unique,
                depth: checker.max_depth(),
                queued: watch
                    .exhaustive
                    .then(|| unique.saturating_sub(watch.deadline.checked())),
                rss: crate::bounds::rss_bytes(),
                elapsed: watch.start.elapsed(),
            });
        }
    }
    let checker = checker.join();
    let discoveries = checker
        .discoveries()
        .into_iter()
        .filter(|(name, _)| *name != STOP_PROPERTY)
        .map(|(name, path)| {
            let last = path.last_state().clone();
            (name, path.into_actions(), last)
        })
        .collect();
    let stats = RunStats {
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        depth: checker.max_depth(),
        discoveries,
    };
    // The checker's visited set and queue go before the shortest-path search starts.
    drop(checker);
    (stats, stopped)
}

/// Checks a model with the given options. `progress` is called about once a second while the
/// exploration runs.
///
/// Every bound ends the run promptly (within one block of 1,500 states per thread once a
/// deadline passes, the memory bound trips or `interrupt` is set; stateright's own
/// `target_state_count` for `max_states`), and the run is then reported incomplete unless every
/// property was decided. The shortest-path search that follows runs within the same deadline,
/// memory bound and state bound, and the report says when it could not finish.
pub fn check(
    model: &SealModel,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> CheckReport {
    let start = Instant::now();
    let deadline = Arc::new(match opts.timeout {
        Some(t) => Deadline::after(t),
        None => Deadline::never(),
    });
    let (stats, stopped) = explore(model, opts, &deadline, start, progress);
    finish(model, opts, &deadline, stats, stopped, start.elapsed())
}

/// The report of an exploration that ended (by itself, or stopped by a bound): verdicts from
/// its discoveries, shortest paths searched within the run's bounds, and why it is
/// incomplete. `elapsed` is the time the exploration took.
pub(crate) fn finish(
    model: &SealModel,
    opts: &CheckOptions,
    deadline: &Arc<Deadline>,
    stats: RunStats,
    stopped: Option<Stopped>,
    elapsed: Duration,
) -> CheckReport {
    let mut incomplete = incomplete_of(opts, &stats, stopped, deadline, elapsed);

    let infos = model.property_list();
    let discovered = decided_discoveries(model, &stats);
    if discovered.len() == infos.len() {
        // Every property has its verdict: nothing a longer run could change.
        incomplete = None;
    }
    let search = shortest_search(model, opts, deadline, infos, &discovered);
    let shortest_search = search.as_ref().and_then(shortest_search_note);

    let properties = property_results(model, incomplete.is_some(), |name| {
        if !discovered.contains(&name) {
            return None;
        }
        let from_search = search.as_ref().and_then(|s| s.found.get(name));
        Some(match from_search {
            Some(fp) => (fp.actions.clone(), true),
            None => {
                let (_, actions, _) = stats
                    .discoveries
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .expect("discovered");
                (actions.clone(), false)
            }
        })
    });

    CheckReport {
        scenario: model.cfg.name.clone(),
        strategy: opts.strategy,
        threads: opts.threads,
        symmetry: opts.symmetry,
        incomplete,
        unique_states: stats.unique,
        states: stats.states,
        max_depth: stats.depth,
        elapsed_ms: elapsed.as_millis() as u64,
        properties,
        shortest_search,
        engine: None,
    }
}

/// Runs stateright's checker with the options' strategy and bounds until it finishes or one
/// of the bounds stops it.
fn explore(
    model: &SealModel,
    opts: &CheckOptions,
    deadline: &Arc<Deadline>,
    start: Instant,
    progress: &mut dyn FnMut(Progress),
) -> (RunStats, Option<Stopped>) {
    let run_model = model.clone().with_deadline(deadline.clone());
    let mut builder = run_model
        .checker()
        .threads(opts.threads)
        .finish_when(HasDiscoveries::AnyOf([STOP_PROPERTY].into()));
    if let Some(d) = opts.max_depth {
        builder = builder.target_max_depth(d);
    }
    if let Some(n) = opts.max_states {
        builder = builder.target_state_count(n);
    }
    if opts.symmetry {
        builder = builder.symmetry_fn(State::representative);
    }
    let watch = Watch {
        deadline,
        max_memory: opts.max_memory,
        interrupt: opts.interrupt.as_deref(),
        exhaustive: !matches!(opts.strategy, Strategy::Simulation { .. }),
        start,
    };
    match opts.strategy {
        Strategy::Bfs => drive(builder.spawn_bfs(), &watch, progress),
        Strategy::Dfs => drive(builder.spawn_dfs(), &watch, progress),
        Strategy::Simulation { seed } => drive(
            builder.spawn_simulation(seed, UniformChooser),
            &watch,
            progress,
        ),
    }
}

/// Why the run is incomplete, if it is: what stopped it, or the bound it reached.
fn incomplete_of(
    opts: &CheckOptions,
    stats: &RunStats,
    stopped: Option<Stopped>,
    deadline: &Deadline,
    elapsed: Duration,
) -> Option<Incomplete> {
    match stopped {
        Some(Stopped::Interrupted) => Some(Incomplete::Interrupted),
        Some(Stopped::Memory(rss)) => Some(Incomplete::Memory {
            rss,
            limit: opts.max_memory.unwrap_or(rss),
        }),
        None if deadline.tripped() => Some(Incomplete::Timeout(elapsed.as_millis() as u64)),
        None if matches!(opts.strategy, Strategy::Simulation { .. }) => {
            Some(Incomplete::Simulation)
        }
        None if opts.max_states.is_some_and(|n| stats.states >= n) => {
            Some(Incomplete::StateBound(opts.max_states.unwrap()))
        }
        None if opts.max_depth.is_some_and(|d| stats.depth >= d) => {
            Some(Incomplete::DepthBound(opts.max_depth.unwrap()))
        }
        None => None,
    }
}

/// The properties the run decided by a discovery. A discovery of an `eventually` property is
/// a terminal state where it never held; on a run cut by a bound the "terminal" state may only
/// be the edge of the bound: it counts only if the state truly has no successor.
fn decided_discoveries(model: &SealModel, stats: &RunStats) -> Vec<&'static str> {
    stats
        .discoveries
        .iter()
        .filter(|(name, _, last)| {
            let kind = model.property_info(name).map(|p| p.kind);
            kind != Some(PropertyKind::Eventually) || {
                let mut acts = Vec::new();
                model.actions(last, &mut acts);
                acts.is_empty()
            }
        })
        .map(|(name, _, _)| *name)
        .collect()
}

/// Shortest paths for every discovery, in one breadth-first search within the run's deadline,
/// memory bound and state bound; `None` when there is nothing to search for or no budget.
fn shortest_search(
    model: &SealModel,
    opts: &CheckOptions,
    deadline: &Arc<Deadline>,
    infos: &[PropertyInfo],
    discovered: &[&'static str],
) -> Option<shortest::SearchResult<Action>> {
    let targets: Vec<Target<'_, SealModel>> = infos
        .iter()
        .filter(|p| discovered.contains(&p.name))
        .map(|p| {
            let matches: shortest::Matcher<'_, SealModel> =
                Box::new(move |m, s, t| p.is_target(m, s, t));
            Target {
                name: p.name,
                matches,
            }
        })
        .collect();
    if targets.is_empty() || opts.shortest_budget == 0 {
        return None;
    }
    let limits = SearchLimits {
        max_states: opts
            .max_states
            .map_or(opts.shortest_budget, |n| n.min(opts.shortest_budget)),
        deadline: Some(deadline.clone()),
        max_memory: opts.max_memory,
        interrupt: opts.interrupt.clone(),
    };
    Some(shortest::shortest_paths_within(model, &targets, &limits))
}

/// The report's note when the shortest-path search could not finish.
fn shortest_search_note(s: &shortest::SearchResult<Action>) -> Option<String> {
    s.stopped.map(|why| {
        let what = if s.visited == 0 {
            "did not run".to_string()
        } else {
            format!(
                "stopped after {}",
                sealcheck_model::words::count(s.visited, "unique state", "unique states")
            )
        };
        format!(
            "the shortest-path search {what} because {why}; paths marked \"not proven shortest\" are the ones the exploration found"
        )
    })
}

/// The result of every property, in the model's order, from what a run discovered: `found`
/// gives, for a property with a discovery, the path to it and whether it is proven shortest;
/// `incomplete` says whether the run was cut short (a property without a discovery is then
/// undecided).
pub fn property_results(
    model: &SealModel,
    incomplete: bool,
    mut found: impl FnMut(&'static str) -> Option<(Vec<Action>, bool)>,
) -> Vec<PropertyResult> {
    model
        .property_list()
        .iter()
        .map(|p| {
            let path = found(p.name);
            let verdict = match (p.kind, path.is_some(), incomplete) {
                (PropertyKind::Sometimes, true, _) => Verdict::Reached,
                (PropertyKind::Sometimes, false, false) => Verdict::Unreachable,
                (_, true, _) => Verdict::Violated,
                (_, false, false) => Verdict::Holds,
                (_, false, true) => Verdict::Undecided,
            };
            let expected_unreachable = model.cfg.unreachable.iter().any(|u| u == p.name);
            let failure = match verdict {
                Verdict::Violated => true,
                Verdict::Reached => expected_unreachable,
                Verdict::Unreachable => p.guard && !expected_unreachable,
                Verdict::Holds | Verdict::Undecided => false,
            };
            PropertyResult {
                name: p.name,
                kind: p.kind,
                verdict,
                expected_unreachable,
                guard: p.guard,
                failure,
                trail: path.map(|(actions, shortest)| trail(model, &actions, shortest)),
            }
        })
        .collect()
}

/// Builds a printable trail from actions taken from the init state.
pub fn trail(model: &SealModel, actions: &[Action], shortest: bool) -> Trail {
    let mut state = model.initial_state();
    let mut indices = vec![0usize];
    let mut steps = Vec::new();
    for a in actions {
        let mut avail = Vec::new();
        model.actions(&state, &mut avail);
        let idx = avail
            .iter()
            .position(|x| x == a)
            .expect("a discovered path replays");
        indices.push(idx);
        let next = model
            .next_state(&state, a.clone())
            .expect("every action is enabled");
        steps.push(Step {
            action: model.format_action(a),
            changes: sealcheck_model::describe::changes(model, &state, &next),
        });
        state = next;
    }
    Trail {
        path: shortest::encode(&indices),
        shortest,
        steps,
        final_state: sealcheck_model::describe::state(model, &state),
        actions: actions.to_vec(),
    }
}

/// Builds a trail from an Explorer path (`0/3/1`).
pub fn trail_from_path(model: &SealModel, path: &str) -> Result<Trail, shortest::PathError> {
    let indices = shortest::parse_path(path)?;
    let actions = shortest::decode(model, &indices)?;
    Ok(trail(model, &actions, false))
}

/// Re-export for callers that want the raw found path type.
pub type Found = FoundPath<Action>;
