//! The Explorer's data, answered in this process: `/.status`, `/.states/...` and
//! `POST /.runtocompletion` in the JSON shapes stateright 0.31's Explorer page (`app.js`) reads.
//!
//! stateright's own server (`CheckerBuilder::serve`) listens on a TCP port that every local
//! process, and every web page through the browser, can reach directly, it answers any `Host`
//! and `Origin`, and its "run to completion" is unbounded. So the front answers these requests
//! itself, from the model and from a bounded run of [`crate::engine::check`]: no second port,
//! and a run that stops at `--run-max-states` generated states or after `--run-timeout`, and
//! then says so (`done` stays false, `recent_path` and `run` say where it stopped).

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sealcheck_model::{Action, PropertyKind, SealModel};
use serde_json::{json, Value};
use stateright::{Model, Path};

use crate::engine::{self, CheckOptions, CheckReport, Progress};
use crate::shortest::{self, PathError};

/// How often a running run to completion is announced.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Bounds of a run to completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunBounds {
    /// Generated states (with repeats) after which the run stops. Also the budget of the
    /// shortest-path search that follows it.
    pub max_states: usize,
    /// Wall-clock time after which the run stops.
    pub timeout: Duration,
}

/// Where the run to completion is.
#[derive(Clone, Debug)]
enum Run {
    /// Nobody asked yet.
    Idle,
    /// Running since `started`; the latest progress, if any.
    Running {
        started: Instant,
        progress: Option<Progress>,
    },
    /// Over: complete (`report.incomplete` is `None`) or cut short by a bound.
    Finished {
        report: Box<CheckReport>,
        elapsed: Duration,
    },
}

/// What `POST /.runtocompletion` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunRequest {
    /// A run started now.
    Started,
    /// One was already running.
    AlreadyRunning,
    /// One already finished (complete or cut short); it is not run again.
    AlreadyFinished,
}

impl RunRequest {
    /// `started`, `already-running` or `already-finished`.
    pub fn name(self) -> &'static str {
        match self {
            RunRequest::Started => "started",
            RunRequest::AlreadyRunning => "already-running",
            RunRequest::AlreadyFinished => "already-finished",
        }
    }
}

/// How a run's progress (every 10 s) and its end are announced, one line each (by
/// [`ExplorerApi::run_to_completion`]'s thread; `explore` prints them on stdout).
pub type Announce = Box<dyn Fn(&str) + Send + Sync>;

/// The model and its one bounded run to completion.
pub struct ExplorerApi {
    model: SealModel,
    bounds: RunBounds,
    run: Mutex<Run>,
    announce: Announce,
}

fn expectation(kind: PropertyKind) -> &'static str {
    match kind {
        PropertyKind::Always => "Always",
        PropertyKind::Sometimes => "Sometimes",
        PropertyKind::Eventually => "Eventually",
    }
}

impl ExplorerApi {
    /// The API for `model`; a run to completion is bounded by `bounds`, and its end is passed
    /// to `announce` as one line.
    pub fn new(model: SealModel, bounds: RunBounds, announce: Announce) -> Arc<ExplorerApi> {
        Arc::new(ExplorerApi {
            model,
            bounds,
            run: Mutex::new(Run::Idle),
            announce,
        })
    }

    /// The bounds of a run to completion.
    pub fn bounds(&self) -> RunBounds {
        self.bounds
    }

    fn run(&self) -> std::sync::MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the bounded run to completion on a thread, unless one ran or runs already.
    pub fn run_to_completion(self: &Arc<Self>) -> RunRequest {
        let mut run = self.run();
        match *run {
            Run::Running { .. } => return RunRequest::AlreadyRunning,
            Run::Finished { .. } => return RunRequest::AlreadyFinished,
            Run::Idle => {}
        }
        let started = Instant::now();
        *run = Run::Running {
            started,
            progress: None,
        };
        drop(run);
        let api = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("sealcheck-explorer-run".into())
            .spawn(move || {
                let opts = CheckOptions {
                    max_states: Some(api.bounds.max_states),
                    timeout: Some(api.bounds.timeout),
                    shortest_budget: api.bounds.max_states,
                    max_memory: crate::bounds::default_max_memory(),
                    ..CheckOptions::default()
                };
                let mut noted = Instant::now();
                let report = engine::check(&api.model, &opts, &mut |p| {
                    if let Run::Running { progress, .. } = &mut *api.run() {
                        *progress = Some(p);
                    }
                    if noted.elapsed() >= PROGRESS_EVERY {
                        noted = Instant::now();
                        (api.announce)(&format!(
                            "  ... running to completion: {} states ({} unique) after {:.0} s",
                            p.states,
                            p.unique,
                            p.elapsed.as_secs_f64()
                        ));
                    }
                });
                let elapsed = started.elapsed();
                let line = finished_line(&report, elapsed, api.bounds);
                *api.run() = Run::Finished {
                    report: Box::new(report),
                    elapsed,
                };
                (api.announce)(&line);
            });
        if spawned.is_err() {
            *self.run() = Run::Idle;
        }
        RunRequest::Started
    }

    /// Whether the run to completion finished (complete or cut short).
    pub fn finished(&self) -> bool {
        matches!(*self.run(), Run::Finished { .. })
    }

    /// `[expectation, name, path or null]` per property, in the model's order; a path only for
    /// what a finished run found.
    fn properties(&self, report: Option<&CheckReport>) -> Vec<Value> {
        self.model
            .property_list()
            .iter()
            .map(|p| {
                let path = report
                    .and_then(|r| r.properties.iter().find(|q| q.name == p.name))
                    .and_then(|q| q.trail.as_ref())
                    .map(|t| t.path.clone());
                json!([expectation(p.kind), p.name, path])
            })
            .collect()
    }

    /// `/.status`: stateright's fields (`done` is true only for a complete run), plus `run`:
    /// its state (`idle`, `running`, `complete`, `cut-short`), its bounds, and why it stopped.
    pub fn status(&self) -> Value {
        let run = self.run().clone();
        let bounds = json!({
            "max_states": self.bounds.max_states,
            "timeout_s": self.bounds.timeout.as_secs_f64(),
        });
        let model = std::any::type_name::<SealModel>();
        match run {
            Run::Idle => json!({
                "done": false,
                "model": model,
                "state_count": 0,
                "unique_state_count": 0,
                "max_depth": 0,
                "properties": self.properties(None),
                "recent_path": "not run yet: press \"Run to completion\"",
                "run": { "state": "idle", "bounds": bounds },
            }),
            Run::Running { started, progress } => {
                let p = progress.unwrap_or(Progress {
                    states: 0,
                    unique: 0,
                    depth: 0,
                    queued: None,
                    rss: None,
                    elapsed: started.elapsed(),
                });
                json!({
                    "done": false,
                    "model": model,
                    "state_count": p.states,
                    "unique_state_count": p.unique,
                    "max_depth": p.depth,
                    "properties": self.properties(None),
                    "recent_path": format!("running for {:.0} s", started.elapsed().as_secs_f64()),
                    "run": { "state": "running", "bounds": bounds },
                })
            }
            Run::Finished { report, elapsed } => {
                let cut = report
                    .incomplete
                    .as_ref()
                    .map(|_| cut_short_reason(&report, self.bounds));
                let mut v = json!({
                    "done": cut.is_none(),
                    "model": model,
                    "state_count": report.states,
                    "unique_state_count": report.unique_states,
                    "max_depth": report.max_depth,
                    "properties": self.properties(Some(&report)),
                    "recent_path": Value::Null,
                    "run": {
                        "state": if cut.is_some() { "cut-short" } else { "complete" },
                        "bounds": bounds,
                        "elapsed_s": elapsed.as_secs_f64(),
                    },
                });
                if let Some(reason) = cut {
                    // The page shows `recent_path` as its progress while not done.
                    v["recent_path"] = json!(format!("CUT SHORT: {reason}"));
                    v["run"]["cut_short"] = json!(reason);
                }
                v
            }
        }
    }

    /// `/.states` (no indices: the initial states) or `/.states/<init>/<action>/...` (the
    /// steps possible after that path), as stateright's Explorer answers them. The path must
    /// replay ([`shortest::decode`]).
    pub fn states(&self, indices: &[usize]) -> Result<Value, PathError> {
        let report = match &*self.run() {
            Run::Finished { report, .. } => Some(report.clone()),
            _ => None,
        };
        let properties = self.properties(report.as_deref());
        let inits = self.model.init_states();
        let Some((&init_index, _)) = indices.split_first() else {
            let views = inits
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let svg =
                        Path::from_actions(&self.model, s.clone(), std::iter::empty::<&Action>())
                            .and_then(|p| self.model.as_svg(p));
                    json!({
                        "state": format!("{s:#?}"),
                        "properties": properties,
                        "svg": svg,
                        "actionIndex": i,
                    })
                })
                .collect();
            return Ok(Value::Array(views));
        };
        let actions = shortest::decode(&self.model, indices)?;
        let init = inits[init_index].clone();
        let mut last = init.clone();
        for a in &actions {
            last = self
                .model
                .next_state(&last, a.clone())
                .expect("decode replays every action");
        }
        let mut possible = Vec::new();
        self.model.actions(&last, &mut possible);
        let views = possible
            .into_iter()
            .enumerate()
            .map(|(i, action)| {
                let mut view = json!({
                    "action": self.model.format_action(&action),
                    "properties": properties,
                    "actionIndex": i,
                });
                if let Some(outcome) = self.model.format_step(&last, action.clone()) {
                    view["outcome"] = json!(outcome);
                }
                if let Some(next) = self.model.next_state(&last, action.clone()) {
                    view["state"] = json!(format!("{next:#?}"));
                    let mut along = actions.clone();
                    along.push(action);
                    if let Some(svg) = Path::from_actions(&self.model, init.clone(), &along)
                        .and_then(|p| self.model.as_svg(p))
                    {
                        view["svg"] = json!(svg);
                    }
                }
                view
            })
            .collect();
        Ok(Value::Array(views))
    }
}

/// Why a run stopped before covering every state, in the page's words.
fn cut_short_reason(report: &CheckReport, bounds: RunBounds) -> String {
    match report.incomplete {
        Some(engine::Incomplete::Timeout(ms)) => format!(
            "stopped after {:.0} s (--run-timeout {} s); properties without a path are undecided",
            ms as f64 / 1000.0,
            bounds.timeout.as_secs()
        ),
        _ => format!(
            "stopped at {} states (--run-max-states {}); properties without a path are undecided",
            report.states, bounds.max_states
        ),
    }
}

/// The line printed when a run to completion ends.
fn finished_line(report: &CheckReport, elapsed: Duration, bounds: RunBounds) -> String {
    let found = report
        .properties
        .iter()
        .filter(|p| p.trail.is_some())
        .count();
    let figures = format!(
        "{} states ({} unique, depth {}), {} discover{}",
        report.states,
        report.unique_states,
        report.max_depth,
        found,
        if found == 1 { "y" } else { "ies" }
    );
    match report.incomplete {
        None => format!(
            "run to completion finished in {:.2} s: {figures}; the page shows every property's status",
            elapsed.as_secs_f64()
        ),
        Some(_) => format!(
            "run to completion CUT SHORT after {:.2} s: {figures}; {}",
            elapsed.as_secs_f64(),
            cut_short_reason(report, bounds)
        ),
    }
}
