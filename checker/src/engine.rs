//! Running a check: stateright explores the scenario, then this module turns its discoveries
//! into verdicts and shortest counterexamples.
//!
//! stateright 0.31 reports `is_done()` for runs cut short by a state or depth bound or a
//! timeout, ignores its timeout with one thread, and does not report shortest BFS paths. This
//! module therefore keeps its own account: a run is *complete* only when no bound stopped it
//! and the strategy is exhaustive; a wall-clock limit is enforced through the model's boundary
//! ([`SealModel::with_deadline`]); and every discovery is replaced by a shortest path from
//! [`crate::shortest`]. A property without a discovery on an incomplete run is *undecided*,
//! never "holds".

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealcheck_model::model::Deadline;
use sealcheck_model::{Action, PropertyKind, SealModel, State};
use serde::Serialize;
use stateright::{Checker, Model, UniformChooser};

use crate::shortest::{self, FoundPath, Target};

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
    /// Exploration strategy.
    pub strategy: Strategy,
    /// Worker threads.
    pub threads: usize,
    /// Stop expanding states at this depth.
    pub max_depth: Option<usize>,
    /// Stop after generating this many states.
    pub max_states: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Explore one representative per permutation of interchangeable log servers (DFS only).
    pub symmetry: bool,
    /// Budget of unique states for each shortest-path search.
    pub shortest_budget: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Bfs,
            threads: 1,
            max_depth: None,
            max_states: None,
            timeout: None,
            symmetry: false,
            shortest_budget: 20_000_000,
        }
    }
}

/// Options that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Symmetry reduction needs DFS or simulation.
    #[error("--symmetry needs --strategy dfs (stateright 0.31 honours symmetry only in DFS and simulation)")]
    SymmetryNeedsDfs,
    /// The scenario's log servers are not interchangeable.
    #[error("--symmetry is unsound for this scenario: not every log server is in the nodeset, so log servers are not interchangeable")]
    SymmetryUnsound,
    /// Simulation never ends by itself.
    #[error("--strategy simulation never finishes by itself: give --max-states or --timeout")]
    SimulationNeedsBound,
    /// Zero threads.
    #[error("--threads must be at least 1")]
    NoThreads,
}

impl CheckOptions {
    /// Checks that the options make sense for this model.
    pub fn validate(&self, model: &SealModel) -> Result<(), OptionsError> {
        if self.threads == 0 {
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
    /// Property name.
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
            Incomplete::Simulation => write!(f, "random simulation is never exhaustive"),
        }
    }
}

/// Everything a check found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// Scenario name.
    pub scenario: String,
    /// Strategy used.
    pub strategy: Strategy,
    /// Threads used.
    pub threads: usize,
    /// Symmetry reduction used.
    pub symmetry: bool,
    /// `None` if the exploration covered every reachable state (or decided every property).
    pub incomplete: Option<Incomplete>,
    /// Unique states explored.
    pub unique_states: usize,
    /// States generated, with repeats.
    pub states: usize,
    /// Deepest depth reached.
    pub max_depth: usize,
    /// Wall-clock time of the exploration.
    pub elapsed_ms: u64,
    /// Per property, in the model's order.
    pub properties: Vec<PropertyResult>,
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

    /// Process exit code: 1 if a property failed, 3 if the run was incomplete and left a
    /// property undecided, 0 if every property holds on a complete exploration.
    pub fn exit_code(&self) -> u8 {
        if self.failed() {
            1
        } else if self.undecided() {
            3
        } else {
            0
        }
    }
}

/// Progress of a running exploration.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// States generated.
    pub states: usize,
    /// Unique states.
    pub unique: usize,
    /// Deepest depth.
    pub depth: usize,
    /// Time since the start.
    pub elapsed: Duration,
}

struct RunStats {
    states: usize,
    unique: usize,
    depth: usize,
    discoveries: Vec<(&'static str, Vec<Action>, State)>,
}

fn drive<C: Checker<SealModel>>(
    checker: C,
    start: Instant,
    progress: &mut dyn FnMut(Progress),
) -> RunStats {
    let mut last = Instant::now();
    let mut nap = Duration::from_micros(200);
    while !checker.is_done() {
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            progress(Progress {
                states: checker.state_count(),
                unique: checker.unique_state_count(),
                depth: checker.max_depth(),
                elapsed: start.elapsed(),
            });
        }
    }
    let checker = checker.join();
    let discoveries = checker
        .discoveries()
        .into_iter()
        .map(|(name, path)| {
            let last = path.last_state().clone();
            (name, path.into_actions(), last)
        })
        .collect();
    RunStats {
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        depth: checker.max_depth(),
        discoveries,
    }
}

/// Checks a model with the given options. `progress` is called about once a second while the
/// exploration runs.
pub fn check(
    model: &SealModel,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> CheckReport {
    let start = Instant::now();
    let deadline = opts.timeout.map(|t| Arc::new(Deadline::after(t)));
    let mut run_model = model.clone();
    if let Some(d) = &deadline {
        run_model = run_model.with_deadline(d.clone());
    }
    let mut builder = run_model.checker().threads(opts.threads);
    if let Some(d) = opts.max_depth {
        builder = builder.target_max_depth(d);
    }
    if let Some(n) = opts.max_states {
        builder = builder.target_state_count(n);
    }
    if opts.symmetry {
        builder = builder.symmetry_fn(State::representative);
    }
    let stats = match opts.strategy {
        Strategy::Bfs => drive(builder.spawn_bfs(), start, progress),
        Strategy::Dfs => drive(builder.spawn_dfs(), start, progress),
        Strategy::Simulation { seed } => drive(
            builder.spawn_simulation(seed, UniformChooser),
            start,
            progress,
        ),
    };
    let elapsed = start.elapsed();

    let timed_out = deadline.as_ref().is_some_and(|d| d.tripped());
    let mut incomplete = if timed_out {
        Some(Incomplete::Timeout(elapsed.as_millis() as u64))
    } else if matches!(opts.strategy, Strategy::Simulation { .. }) {
        Some(Incomplete::Simulation)
    } else if opts.max_states.is_some_and(|n| stats.states >= n) {
        Some(Incomplete::StateBound(opts.max_states.unwrap()))
    } else if opts.max_depth.is_some_and(|d| stats.depth >= d) {
        Some(Incomplete::DepthBound(opts.max_depth.unwrap()))
    } else {
        None
    };

    let infos = model.property_list();
    // A discovery of an `eventually` property is a terminal state where it never held; on a run
    // cut by a bound the "terminal" state may only be the edge of the bound: keep it only if the
    // state truly has no successor.
    let discovered: Vec<&'static str> = stats
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
        .collect();
    if discovered.len() == infos.len() {
        // Every property has its verdict: nothing a longer run could change.
        incomplete = None;
    }

    // Shortest paths for every discovery, in one breadth-first search.
    let targets: Vec<Target<'_, SealModel>> = infos
        .iter()
        .filter(|p| discovered.contains(&p.name))
        .map(|p| {
            let cond = p.condition;
            let matches: shortest::Matcher<'_, SealModel> = match p.kind {
                PropertyKind::Always => Box::new(move |m, s, _| !cond(m, s)),
                PropertyKind::Sometimes => Box::new(move |m, s, _| cond(m, s)),
                PropertyKind::Eventually => Box::new(move |m, s, t| t && !cond(m, s)),
            };
            Target {
                name: p.name,
                matches,
            }
        })
        .collect();
    let search = if targets.is_empty() || opts.shortest_budget == 0 {
        None
    } else {
        Some(shortest::shortest_paths(
            model,
            &targets,
            opts.shortest_budget,
        ))
    };

    let properties = infos
        .iter()
        .map(|p| {
            let found = discovered.contains(&p.name);
            let verdict = match (p.kind, found, incomplete.is_some()) {
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
            let trail = if found {
                let from_search = search.as_ref().and_then(|s| s.found.get(p.name));
                let (actions, shortest) = match from_search {
                    Some(fp) => (fp.actions.clone(), true),
                    None => {
                        let (_, actions, _) = stats
                            .discoveries
                            .iter()
                            .find(|(n, _, _)| *n == p.name)
                            .expect("discovered");
                        (actions.clone(), false)
                    }
                };
                Some(trail(model, &actions, shortest))
            } else {
                None
            };
            PropertyResult {
                name: p.name,
                kind: p.kind,
                verdict,
                expected_unreachable,
                guard: p.guard,
                failure,
                trail,
            }
        })
        .collect();

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
    }
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
