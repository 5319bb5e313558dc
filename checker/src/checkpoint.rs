//! Checkpoints of a breadth-first check (`check --checkpoint DIR`, `--resume DIR`), so that a
//! run of hours survives a crash, a kill or a reboot.
//!
//! stateright's own BFS cannot be saved from outside, so a checkpointed check runs this
//! module's breadth-first search instead. It explores exactly as stateright 0.31's BFS does
//! with one thread: the same order (first in, first out; actions in the model's order), the
//! same fingerprints (ahash with stateright's fixed seeds, [`fingerprint`]), the same counting
//! of generated and unique states and of depth, the same `--max-depth` cut and the same
//! evaluation of `always`, `sometimes` and `eventually` properties (eventually bits carried
//! along the first path to each state). Its unique count, verdicts and shortest
//! counterexamples therefore equal a plain `check`'s: the report is made by the same code
//! ([`crate::engine`]), including the shortest-path search that follows the exploration.
//!
//! The search keeps, per unique state, its fingerprint, its parent's fingerprint and the index
//! of the action that reached it (the paths to discoveries are rebuilt from these links), and
//! a queue of states still to expand. A checkpoint saves both with the counters and the
//! discoveries so far ([`mod@file`]); it is written between two states, at most every
//! `--checkpoint-every` minutes, and once more when a bound (`--timeout`, `--max-memory`,
//! `--max-states`) or Ctrl-C/SIGTERM ends the run. `--resume DIR` refuses a checkpoint of
//! another scenario, configuration, depth bound, format or sealcheck version.
//!
//! `--engine timely` has checkpoints of its own, at level boundaries, one file per worker
//! ([`mod@timely`]); they share this module's [`Identity`] and [`mod@file`]'s framing.

pub mod file;
pub mod timely;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealcheck_model::model::Deadline;
use sealcheck_model::{Config, PropertyKind, SealModel, State};
use serde::{Deserialize, Serialize};
use stateright::Model;

use crate::engine::{CheckOptions, CheckReport, Progress, RunStats, Stopped, Strategy};
use file::Manifest;

/// How the report names the engine of a checkpointed run.
pub const ENGINE_NAME: &str = "sealcheck's checkpointed breadth-first search (1 thread)";

/// The fingerprint stateright 0.31 gives a state: ahash with the crate's fixed seeds (its
/// private `fingerprint` function), so that unique counts equal stateright's.
// Hashed through a `Hasher` exactly as stateright does: `hash_one` may take another path in
// ahash (its specialisations) and give other values.
#[allow(clippy::manual_hash_one)]
pub fn fingerprint(state: &State) -> u64 {
    const KEY1: u64 = 123_456_789_987_654_321;
    const KEY2: u64 = 98_765_432_123_456_789;
    let mut h = ahash::RandomState::with_seeds(KEY1, KEY2, 0, 0).build_hasher();
    state.hash(&mut h);
    h.finish()
}

/// A hasher for keys that already are hashes (fingerprints).
#[derive(Default)]
pub struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The visited set: fingerprint -> (parent fingerprint, action index). An initial state has
/// parent 0 (no fingerprint is 0) and its index among the initial states.
pub type Visited = HashMap<u64, (u64, u32), BuildHasherDefault<FingerprintHasher>>;

/// A queued state: to be checked and expanded.
pub struct Node {
    /// The state.
    pub state: State,
    /// Its fingerprint.
    pub fp: u64,
    /// Its depth (initial states have depth 1, as in stateright).
    pub depth: u32,
    /// The `eventually` properties (bit = index in the model's property list) that have not
    /// held on the path that first reached it.
    pub ebits: u64,
}

/// What makes two runs the same run: a checkpoint of another identity is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// How reports name the scenario (its file, or the built-in scenario).
    pub scenario: String,
    /// FNV-1a 64 of the canonical (JSON) configuration, overrides applied, in hex.
    pub config_hash: String,
    /// The configuration itself, to name the fields that differ.
    pub config: serde_json::Value,
    /// The command-line overrides, as they must be repeated.
    pub overrides: Vec<String>,
    /// `--max-depth` (it changes which states are expanded).
    pub max_depth: Option<usize>,
}

impl Identity {
    /// The identity of a run of `config` (named `scenario`, with `overrides`) to `max_depth`.
    pub fn new(
        scenario: &str,
        config: &Config,
        overrides: &[String],
        max_depth: Option<usize>,
    ) -> Identity {
        let config = serde_json::to_value(config).expect("configurations serialize");
        let text = serde_json::to_string(&config).expect("JSON serializes");
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Identity {
            scenario: scenario.to_string(),
            config_hash: format!("{h:016x}"),
            config,
            overrides: overrides.to_vec(),
            max_depth,
        }
    }

    /// Why a checkpoint written by sealcheck `version` for the run `saved` cannot resume this
    /// run, one line each (none: it can): the version, the identity, then `more` (what an
    /// engine checks besides), and, only when nothing else differs, that the model's initial
    /// states hash differently (`same_init` false). Both engines refuse through it.
    pub(crate) fn refusals(
        &self,
        version: &str,
        saved: &Identity,
        more: Vec<String>,
        same_init: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let this = env!("CARGO_PKG_VERSION");
        if version != this {
            out.push(format!(
                "the sealcheck version: the checkpoint was written by {version}, this is {this}"
            ));
        }
        out.extend(self.differences(saved));
        out.extend(more);
        if out.is_empty() && !same_init {
            out.push("the model's initial states hash differently".to_string());
        }
        out
    }

    /// What differs between a checkpoint's identity (`saved`) and this run's, one line each.
    fn differences(&self, saved: &Identity) -> Vec<String> {
        let mut out = Vec::new();
        if saved.config_hash != self.config_hash {
            let mut fields: Vec<String> = match (&saved.config, &self.config) {
                (serde_json::Value::Object(a), serde_json::Value::Object(b)) => a
                    .keys()
                    .chain(b.keys().filter(|k| !a.contains_key(*k)))
                    .filter(|k| a.get(*k) != b.get(*k))
                    .map(|k| format!("`{k}`"))
                    .collect(),
                _ => Vec::new(),
            };
            fields.dedup();
            out.push(format!(
                "the scenario: the checkpoint is of {} (config hash {}), this run checks {} (config hash {}); fields that differ: {}",
                describe(&saved.scenario, &saved.overrides),
                saved.config_hash,
                describe(&self.scenario, &self.overrides),
                self.config_hash,
                if fields.is_empty() { "none at the top level".to_string() } else { fields.join(", ") }
            ));
        }
        if saved.max_depth != self.max_depth {
            let d = |m: Option<usize>| m.map_or("none".to_string(), |d| d.to_string());
            out.push(format!(
                "--max-depth: the checkpoint's run has {}, this run {}",
                d(saved.max_depth),
                d(self.max_depth)
            ));
        }
        out
    }
}

fn describe(scenario: &str, overrides: &[String]) -> String {
    if overrides.is_empty() {
        scenario.to_string()
    } else {
        format!("{scenario} with {}", overrides.join(" "))
    }
}

/// Where checkpoints go and where a run resumes from.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The directory checkpoints are written to (`--checkpoint`; with only `--resume`, the
    /// directory resumed from).
    pub dir: PathBuf,
    /// Whether to resume from the checkpoint in `dir` (`--resume`).
    pub resume: bool,
    /// Least time between two checkpoints.
    pub every: Duration,
    /// The run's identity, written into and checked against checkpoints.
    pub identity: Identity,
    /// Do not print a line per checkpoint on stderr.
    pub quiet: bool,
}

/// Why a checkpointed run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `--resume` names a directory without a checkpoint.
    #[error("{}: no checkpoint to resume (no {} in it)", .0.display(), file::FILE_NAME)]
    NotFound(PathBuf),
    /// `--checkpoint` names a directory that already holds one (it would be overwritten).
    #[error("{}: already holds a checkpoint; continue it with --resume {}, or remove it", .0.display(), .0.display())]
    Exists(PathBuf),
    /// The file is not a whole, intact checkpoint.
    #[error("{}: not a usable checkpoint: {what}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The checkpoint belongs to another run.
    #[error("{}: the checkpoint is of another run; {}", dir.display(), differences.join("; "))]
    Mismatch {
        /// Its directory.
        dir: PathBuf,
        /// What differs, one item each.
        differences: Vec<String>,
    },
    /// Options a checkpointed run does not support.
    #[error("{0}")]
    Unsupported(String),
}

/// The breadth-first search a checkpoint saves.
pub struct Search {
    visited: Visited,
    queue: VecDeque<Node>,
    states: usize,
    max_depth: usize,
    /// Per property (the model's list), the fingerprint of the state that decided it.
    discovered: Vec<Option<u64>>,
    /// Exploration time of earlier sessions.
    elapsed_before: Duration,
}

impl Search {
    /// A search at its start: the model's initial states queued.
    fn new(model: &SealModel) -> Search {
        let ebits = eventually_bits(model);
        let mut s = Search {
            visited: Visited::default(),
            queue: VecDeque::new(),
            states: 0,
            max_depth: 0,
            discovered: vec![None; model.property_list().len()],
            elapsed_before: Duration::ZERO,
        };
        for (i, state) in model.init_states().into_iter().enumerate() {
            if !model.within_boundary(&state) {
                continue;
            }
            s.states += 1;
            let fp = fingerprint(&state);
            if s.visited.insert(fp, (0, i as u32)).is_none() {
                s.queue.push_back(Node {
                    state,
                    fp,
                    depth: 1,
                    ebits,
                });
            }
        }
        s
    }

    /// Checks and expands one state, as stateright 0.31's BFS does.
    fn step(
        &mut self,
        model: &SealModel,
        node: Node,
        max_depth: Option<usize>,
        acts: &mut Vec<sealcheck_model::Action>,
    ) {
        self.max_depth = self.max_depth.max(node.depth as usize);
        if max_depth.is_some_and(|d| node.depth as usize >= d) {
            return;
        }
        let mut ebits = node.ebits;
        for (i, p) in model.property_list().iter().enumerate() {
            match p.kind {
                PropertyKind::Always | PropertyKind::Sometimes => {
                    if self.discovered[i].is_none() && p.is_target(model, &node.state, false) {
                        self.discovered[i] = Some(node.fp);
                    }
                }
                PropertyKind::Eventually => {
                    if ebits & (1 << i) != 0 && (p.condition)(model, &node.state) {
                        ebits &= !(1 << i);
                    }
                }
            }
        }
        let mut terminal = true;
        acts.clear();
        model.actions(&node.state, acts);
        for (ai, action) in acts.drain(..).enumerate() {
            let Some(next) = model.next_state(&node.state, action) else {
                continue;
            };
            if !model.within_boundary(&next) {
                continue;
            }
            self.states += 1;
            terminal = false;
            let fp = fingerprint(&next);
            if let std::collections::hash_map::Entry::Vacant(e) = self.visited.entry(fp) {
                e.insert((node.fp, ai as u32));
                self.queue.push_back(Node {
                    state: next,
                    fp,
                    depth: node.depth + 1,
                    ebits,
                });
            }
        }
        if terminal {
            for (i, d) in self.discovered.iter_mut().enumerate() {
                if ebits & (1 << i) != 0 && d.is_none() {
                    *d = Some(node.fp);
                }
            }
        }
    }

    /// The path (init-state index, then action indices) to the state with fingerprint `fp`.
    fn indices_to(&self, mut fp: u64) -> Vec<usize> {
        let mut out = Vec::new();
        loop {
            let (parent, idx) = self.visited[&fp];
            out.push(idx as usize);
            if parent == 0 {
                break;
            }
            fp = parent;
        }
        out.reverse();
        out
    }

    /// The counters and discoveries for the report; frees the visited set and the queue.
    fn into_stats(self, model: &SealModel) -> RunStats {
        let mut discoveries = Vec::new();
        for (i, d) in self.discovered.iter().enumerate() {
            if let Some(fp) = d {
                let indices = self.indices_to(*fp);
                let states = crate::shortest::states_along(model, &indices)
                    .expect("a path of the search replays");
                let actions =
                    crate::shortest::decode(model, &indices).expect("a path of the search replays");
                let last = states.into_iter().last().expect("at least the init state");
                discoveries.push((model.property_list()[i].name, actions, last));
            }
        }
        RunStats {
            states: self.states,
            unique: self.visited.len(),
            depth: self.max_depth,
            discoveries,
        }
    }

    fn manifest(&self, model: &SealModel, identity: &Identity, elapsed: Duration) -> Manifest {
        Manifest {
            format: file::FORMAT_VERSION,
            sealcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            identity: identity.clone(),
            init_fingerprints: init_fingerprints(model),
            level: self.queue.front().map_or(0, |n| n.depth as usize),
            unique_states: self.visited.len(),
            states: self.states,
            max_depth: self.max_depth,
            queued: self.queue.len(),
            elapsed_ms: elapsed.as_millis() as u64,
            discoveries: self
                .discovered
                .iter()
                .enumerate()
                .filter_map(|(i, d)| d.map(|fp| (model.property_list()[i].name.to_string(), fp)))
                .collect(),
        }
    }
}

fn eventually_bits(model: &SealModel) -> u64 {
    model
        .property_list()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == PropertyKind::Eventually)
        .fold(0, |bits, (i, _)| bits | (1 << i))
}

fn init_fingerprints(model: &SealModel) -> Vec<u64> {
    model.init_states().iter().map(fingerprint).collect()
}

/// Loads the checkpoint in `dir` after checking that it belongs to this run.
fn load(dir: &Path, model: &SealModel, identity: &Identity) -> Result<Search, CheckpointError> {
    let Some(path) = file::existing(dir) else {
        if dir.join("process-0").is_dir() {
            return Err(CheckpointError::Unsupported(format!(
                "{}: holds a checkpoint of --engine timely: resume it with --engine timely and the same processes and workers",
                dir.display()
            )));
        }
        return Err(CheckpointError::NotFound(dir.to_path_buf()));
    };
    let (m, reader) = file::open(&path)?;
    let differences = identity.refusals(
        &m.sealcheck_version,
        &m.identity,
        Vec::new(),
        m.init_fingerprints == init_fingerprints(model),
    );
    if !differences.is_empty() {
        return Err(CheckpointError::Mismatch {
            dir: dir.to_path_buf(),
            differences,
        });
    }
    let names: Vec<&str> = model.property_list().iter().map(|p| p.name).collect();
    let mut discovered = vec![None; names.len()];
    for (name, fp) in &m.discoveries {
        match names.iter().position(|n| n == name) {
            Some(i) => discovered[i] = Some(*fp),
            None => {
                return Err(CheckpointError::Corrupt {
                    path,
                    what: format!("it names a property this model does not have: {name}"),
                })
            }
        }
    }
    let (visited, queue) = reader.read_search()?;
    let consistent = visited.len() == m.unique_states
        && queue.len() == m.queued
        && discovered
            .iter()
            .flatten()
            .all(|fp| visited.contains_key(fp));
    if !consistent {
        return Err(CheckpointError::Corrupt {
            path,
            what: "its contents disagree with its manifest".to_string(),
        });
    }
    Ok(Search {
        visited,
        queue: queue.into(),
        states: m.states,
        max_depth: m.max_depth,
        discovered,
        elapsed_before: Duration::from_millis(m.elapsed_ms),
    })
}

/// Refuses options a checkpointed run does not support.
fn validate(model: &SealModel, opts: &CheckOptions) -> Result<(), CheckpointError> {
    if opts.strategy != Strategy::Bfs {
        return Err(CheckpointError::Unsupported(
            "--checkpoint and --resume need --strategy bfs (the default)".into(),
        ));
    }
    if opts.threads != 1 {
        return Err(CheckpointError::Unsupported(
            "--checkpoint and --resume run one thread: leave out --threads".into(),
        ));
    }
    if opts.symmetry {
        return Err(CheckpointError::Unsupported(
            "--checkpoint and --resume explore without --symmetry".into(),
        ));
    }
    if model.property_list().len() > 64 {
        return Err(CheckpointError::Unsupported(
            "--checkpoint supports models of at most 64 properties".into(),
        ));
    }
    Ok(())
}

/// Writes checkpoints on time.
struct Writer<'a> {
    plan: &'a Plan,
    last: Instant,
}

impl Writer<'_> {
    fn write(&mut self, model: &SealModel, search: &Search, elapsed: Duration) {
        let start = Instant::now();
        let manifest = search.manifest(model, &self.plan.identity, elapsed);
        match file::write(&self.plan.dir, &manifest, search) {
            Ok(bytes) if !self.plan.quiet => eprintln!(
                "  checkpoint: {} unique states, {} queued, {} in {:.2} s ({})",
                search.visited.len(),
                search.queue.len(),
                crate::bounds::human_size(bytes),
                start.elapsed().as_secs_f64(),
                self.plan.dir.join(file::FILE_NAME).display()
            ),
            Ok(_) => {}
            Err(e) => eprintln!("sealcheck: could not write the checkpoint: {e}"),
        }
        self.last = Instant::now();
    }
}

/// Runs a breadth-first check that writes checkpoints to `plan.dir` (and first resumes from
/// the one there, with `plan.resume`). The report equals that of [`crate::engine::check`]
/// with the same options: unique and generated state counts, depth, verdicts and shortest
/// counterexamples; its `elapsed_ms` adds up every session. A bound or an interrupt ends the
/// run as there (incomplete) after writing a last checkpoint from which it can be resumed.
pub fn check(
    model: &SealModel,
    opts: &CheckOptions,
    plan: &Plan,
    progress: &mut dyn FnMut(Progress),
) -> Result<CheckReport, CheckpointError> {
    validate(model, opts)?;
    let search = if plan.resume {
        let loading = Instant::now();
        let search = load(&plan.dir, model, &plan.identity)?;
        if !plan.quiet {
            eprintln!(
                "  resumed from {}: {} unique states, {} queued, depth {}, in {:.2} s",
                plan.dir.join(file::FILE_NAME).display(),
                search.visited.len(),
                search.queue.len(),
                search.queue.front().map_or(0, |n| n.depth),
                loading.elapsed().as_secs_f64()
            );
        }
        search
    } else {
        std::fs::create_dir_all(&plan.dir).map_err(|source| CheckpointError::Io {
            path: plan.dir.clone(),
            source,
        })?;
        // A checkpoint of either engine.
        if file::existing(&plan.dir).is_some() || plan.dir.join("process-0").is_dir() {
            return Err(CheckpointError::Exists(plan.dir.clone()));
        }
        let search = Search::new(model);
        // A first checkpoint at once: a directory that cannot take one fails the run now,
        // not after the first interval, and a run killed early resumes from its start.
        let manifest = search.manifest(model, &plan.identity, Duration::ZERO);
        file::write(&plan.dir, &manifest, &search)?;
        search
    };
    let start = Instant::now();
    let deadline = Arc::new(match opts.timeout {
        Some(t) => Deadline::after(t),
        None => Deadline::never(),
    });
    let mut writer = Writer {
        plan,
        last: Instant::now(),
    };
    let (search, stopped) = run(model, opts, &deadline, search, &mut writer, start, progress);
    let elapsed = search.elapsed_before + start.elapsed();
    let stats = search.into_stats(model);
    let mut report = crate::engine::finish(model, opts, &deadline, stats, stopped, elapsed);
    report.engine = Some(ENGINE_NAME.to_string());
    Ok(report)
}

/// The exploration loop: expands states until the queue is empty or a bound stops it, writing
/// checkpoints on time and a last one when a bound stops it.
fn run(
    model: &SealModel,
    opts: &CheckOptions,
    deadline: &Deadline,
    mut search: Search,
    writer: &mut Writer<'_>,
    start: Instant,
    progress: &mut dyn FnMut(Progress),
) -> (Search, Option<Stopped>) {
    let mut acts = Vec::new();
    let mut expanded: u64 = 0;
    let mut stopped = None;
    let mut bounded = false;
    let mut last_progress = Instant::now();
    while let Some(node) = search.queue.pop_front() {
        search.step(model, node, opts.max_depth, &mut acts);
        expanded += 1;
        if opts.max_states.is_some_and(|n| search.states >= n) {
            bounded = true;
            break;
        }
        if expanded % 1024 != 0 {
            continue;
        }
        if opts
            .interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
        {
            stopped = Some(Stopped::Interrupted);
            deadline.stop();
            break;
        }
        if deadline.check() {
            bounded = true;
            break;
        }
        if expanded % 16_384 == 0 {
            if let Some(rss) = opts
                .max_memory
                .and_then(|max| crate::bounds::rss_bytes().filter(|&r| r >= max))
            {
                stopped = Some(Stopped::Memory(rss));
                deadline.stop();
                break;
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            progress(Progress {
                states: search.states,
                unique: search.visited.len(),
                depth: search.max_depth,
                queued: Some(search.queue.len()),
                rss: crate::bounds::rss_bytes(),
                elapsed: search.elapsed_before + start.elapsed(),
            });
        }
        if writer.last.elapsed() >= writer.plan.every {
            writer.write(model, &search, search.elapsed_before + start.elapsed());
        }
    }
    if (bounded || stopped.is_some()) && !search.queue.is_empty() {
        writer.write(model, &search, search.elapsed_before + start.elapsed());
    }
    (search, stopped)
}
