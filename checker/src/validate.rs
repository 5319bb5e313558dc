//! Trace validation: is a recorded run a behaviour of the model, and if not, where did it leave?
//!
//! # How the search works
//!
//! A trace is a sequence of items: events (labels of model steps) and observations (facts about
//! the state). The search keeps a *frontier*: the model states (deduplicated by a canonical
//! fingerprint) in which a behaviour can be right after explaining the items so far, each with
//! one path from the initial state (a parent link per state). For the current item it
//! explores the frontier's *closure*:
//!
//! - a step whose labels are all of kinds the trace does not log completely may happen unlogged:
//!   the new state stays at the same item;
//! - a step whose labels match the next items in order (unlogged labels may be skipped) moves
//!   the new state past those items; a step with a label of a completely logged kind that does
//!   not match is not allowed;
//! - an observation is consumed by every state that satisfies it.
//!
//! Items are read one at a time, with a few items of lookahead for steps that have several
//! labels, so memory does not grow with the length of a trace beyond the frontier and the
//! parent links.
//!
//! # Verdicts
//!
//! Validation runs on the *permissive* model: the trace's configuration with every seeded bug
//! enabled. Seeded bugs are alternative steps, so the permissive model contains every correct
//! behaviour and the buggy ones. A trace that only buggy behaviours explain breaks the property
//! the bug breaks: once every explanation of the prefix violates a property `P` (properties are
//! sticky: they record the breaking step), the verdict is *violates P at that item*. If some
//! explanation of the whole trace keeps every property, the trace *conforms*. If no behaviour
//! explains an item, the trace *diverges* there, and the report shows the explained prefix,
//! the candidate states and what the model would have allowed instead. If a bound stopped the
//! search (`max_hidden`, `max_frontier`, `timeout`, `max_memory`) before it proved one of
//! these, the verdict is *inconclusive* and says at which item: a bound never turns into a
//! verdict it did not prove. Only "conforms" survives a cut search, because it rests on one
//! explanation that was found.
//!
//! # Why the reductions keep the verdicts
//!
//! Restate logs no individual append, so a real run leaves appends, their stores and their
//! replies unlogged; every interleaving of them is a different model state, and holding all of
//! them is exponential in the number of appends. Three reductions make it polynomial.
//!
//! **1. The frontier keeps entry states only.** A state `b` that an unlogged path reaches from
//! another state `a` at the same item is *subsumed* by `a`: every continuation of `b` is one of
//! `a` (take the path first), and because properties are sticky, if `b` keeps a property so
//! does `a`, and if `a` breaks it so does `b`. So "some explanation keeps every property",
//! "every explanation breaks P" and "no explanation is left" are the same whether or not `b`
//! is held. The frontier at an item therefore holds the states right after a step explained
//! the previous item; the unlogged steps before the next item are explored transiently.
//!
//! **2. Stubborn sets: unlogged steps only when needed.** In a state `s` before item `j`, the
//! search only takes the unlogged steps of a *stubborn set* `T` (`validate_reduce`): `T`
//! contains every step that may explain item `j` (for an observation, every step that writes
//! what it reads), and is closed under dependence (a step that does not commute with a member)
//! and enabling (a step that may enable a disabled member), over the steps that can still
//! happen. Take any path `s -t1..tn-> s' -c-> t` where `c` explains item `j` and `t1..tn` are
//! unlogged. `c` is in `T`, so let `u` be the first step of the path in `T`. Every step before
//! `u` is outside `T`, so it commutes with `u` and cannot enable it: `u` can be taken first and
//! the rest of the path still leads to the same state (a step `u` absorbs, such as a reply the
//! drain makes stale, is simply dropped). By induction on the path length, the search reaches
//! `c(s'')` for a state `s''` from which the steps postponed past `c` lead to `t`: `c(s'')`
//! subsumes `t` (reduction 1). Only steps whose labels are all unlogged are ever postponed,
//! so they stay unlogged after `c`, and the pruning by upcoming observations (tails and seal
//! flags never move back) is monotone along the postponed steps, so it cuts nothing the
//! unreduced search keeps. The dependences are written per group of steps (`Class`) as the
//! state each reads and writes; the exceptions are argued where they are declared: a store
//! request commutes with a new append (a new, higher offset does not change which store is
//! next on a connection); an Ok reply for an append past the sequencer's known global tail only
//! records who answered, so it commutes with other replies and with acknowledgements (which
//! appends are acknowledged depends on the set of replies, not their order) and with the drain
//! (it cancels the append; the reply then goes stale), as long as the labels it may gain or
//! lose (`store-reply`, `append-acked`, `append-rejected`) are unlogged.
//! `checker/tests/validate_reduce.rs` checks every declared independence and every enabling
//! relation on every reachable state of several scenarios, seeded bugs included.
//!
//! **3. Canonical states.** States are deduplicated by a fingerprint with data cleared that no
//! later step, label, observation or property reads: reply bits of resolved appends, which
//! node a history fact names, the known global tail in a Sealed reply (never above the
//! sequencer's own, so taking the maximum changes nothing), and, when no server can ever
//! receive a store past its local tail (no losses, crashes or operator moves left, every
//! append sent to the whole nodeset), the known global tails servers hold and requests carry:
//! they only decide whether such a store is out of bounds. Two states with the same
//! fingerprint have the same futures, so either one may stand for both.
//!
//! **4. Pruning by later observations.** Tails and seal flags never move back (no step, seeded
//! bugs included, lowers a tail or clears a flag), and a tail never passes the scenario's
//! number of appends (offsets are below it). So a state whose server already has a higher tail
//! or a set flag where an observation in the lookahead sees less, or where an earlier
//! observation in the lookahead forces more than a later one allows, explains no continuation
//! that reaches that observation. Logged seal events bound each other: a `seal-completed` needs
//! a running task or a `seal-started` before it, reports a tail no lower than every server had
//! when that `seal-started` sent the requests, and `sequencer-sealed` needs a `seal-completed`
//! before it (a single client's sequencer drains only after its own task succeeded; a
//! cluster's remote sequencer may learn the seal from a store answered Sealed first, so there
//! the rule waits until every append is made and resolved without one). Within the items
//! before a logged event that may send a store or a seal request (`append`, `seal-started`,
//! `seal-request-resent`, and in a cluster `seal-assist-started`, `tail-repair-started`; a
//! find-tail reader that may still assist or repair unlogged lifts the bounds), unlogged steps alone
//! bound what is reachable: a server's tail reaches at most the offset after the highest store
//! in flight to it, or the number of appends if appends may still happen unlogged; its flag is
//! set only by a Seal request in flight to it, one the running task may re-send to it, or a
//! seal the harness may still start unlogged. States beyond these bounds are dropped. Dropping
//! them keeps every explanation of the whole trace, so "conforms" is exact; but a dropped state
//! may have explained some items before it dies, so a rejection at item `d` is exact only if no
//! observation after `d` dropped anything. Otherwise the search localizes: whether
//! `items[..=m]` is rejected is monotone in `m` and decided exactly by a search of that prefix
//! alone (first the depth-first search for one clean explanation, then the breadth-first
//! search pruning only by items of the prefix), so a binary search over `m` from `d` finds the
//! first item no explanation survives. Its report shows the explanation of the items before it
//! that the depth-first search found. Observations of storage states need no unlogged step at
//! all when `provisioned` and `storage-state-set` are logged completely: only those steps
//! change storage states (a refused provisioning changes nothing), so the empty set is a
//! stubborn set for them.
//!
//! **Violations by one explanation.** A step that breaks a property whatever the state it is
//! taken in (an operator move into Provisioning breaks "storage states only make legal moves":
//! no state may legally enter it) needs no search of all explanations: if some explanation of
//! the items before it keeps every property, and some explanation goes on to explain the
//! step, then the first item every explanation breaks a property at is this one, and the
//! property is the step's. Properties whose breach depends on the state (acknowledged past the
//! sealed tail, a seal on too few confirmations) keep the all-explanations rule.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sealcheck_model::trace::{labels, Event};
use sealcheck_model::{Bug, PropertyKind, SealModel, State, StorageState};
use serde::Serialize;
use stateright::Model;

use crate::trace::{Header, Item, TraceError, TraceItem, TraceReader};
use crate::validate_reduce::{canonical_fingerprint, Class, Reducer};

/// Items of lookahead: at least the most labels one model step has; more lets upcoming
/// observations prune unlogged steps earlier.
const LOOKAHEAD: usize = 32;

/// Options of a validation.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// Most unlogged steps in a row between two items; a search cut by it is inconclusive
    /// unless it found a conforming explanation.
    pub max_hidden: u32,
    /// Most states the search holds for one item (its closure included); beyond it the verdict
    /// is inconclusive.
    pub max_frontier: usize,
    /// Validate against the permissive model (every seeded bug enabled) so that violations are
    /// told apart from divergences. Without it, a run that breaks a property diverges.
    pub permissive: bool,
    /// Try the depth-first search for one conforming explanation first (files up to
    /// [`DEPTH_FIRST_MAX_BYTES`]).
    pub depth_first: bool,
    /// Explore only the unlogged steps a stubborn set needs and deduplicate by canonical
    /// fingerprints (see the module essay). Off only to measure what it saves.
    pub reduce: bool,
    /// Wall-clock bound of one validation; beyond it the verdict is inconclusive.
    pub timeout: Option<Duration>,
    /// Resident-memory bound of the process in MiB; beyond it the verdict is inconclusive.
    pub max_memory_mib: Option<u64>,
    /// Print progress lines on stderr about once a second on long validations.
    pub progress: bool,
    /// Prune states by every observation in the lookahead, not only the next item (module
    /// essay, "Pruning by later observations"; only when validating a file, which can be read
    /// again to localize a rejection). Off only to check that it changes no verdict.
    pub prune_ahead: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            max_hidden: 100_000,
            max_frontier: 2_000_000,
            permissive: true,
            depth_first: true,
            reduce: true,
            timeout: None,
            max_memory_mib: None,
            progress: false,
            prune_ahead: true,
        }
    }
}

/// Where in a trace something happened.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct At {
    /// 0-based index of the item (events and observations, header excluded).
    pub index: usize,
    /// 1-based line in the file (0 for the end of the trace).
    pub line: usize,
    /// The line as written, or `<end of trace>`.
    pub text: String,
}

/// What validation concluded.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// A behaviour of the model produces the trace and keeps every property.
    Conforms {
        /// How many distinct model states (up to the reductions) explain the whole trace; 1
        /// when the depth-first search found one.
        explanations: usize,
    },
    /// No behaviour explains the item at `at`.
    Diverges {
        /// The first item no behaviour explains.
        at: At,
        /// Items explained before it.
        explained: usize,
        /// A few candidate states the explained prefix can end in, one fact per line.
        candidates: Vec<Vec<String>>,
        /// What the model would have allowed instead (logged events, or what the observation
        /// would have seen).
        allowed: Vec<String>,
        /// Explorer path of one explanation of the prefix (the shortest the search met).
        path: String,
    },
    /// The trace is explained up to `at`, but every explanation breaks `property`.
    Violates {
        /// The property.
        property: String,
        /// The item after which no explanation keeps the property.
        at: At,
        /// Explorer path of one explanation (the shortest the search met).
        path: String,
    },
    /// A bound stopped the search before it proved a verdict.
    Inconclusive {
        /// The item the search was at.
        at: At,
        /// Which bound, and its value.
        reason: String,
    },
}

impl Verdict {
    /// Exit code of this verdict: 0 conforms, 1 diverges or violates, 3 inconclusive.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Conforms { .. } => 0,
            Verdict::Diverges { .. } | Verdict::Violates { .. } => 1,
            Verdict::Inconclusive { .. } => 3,
        }
    }

    /// One word: conforms / diverges / violates / inconclusive.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Conforms { .. } => "conforms",
            Verdict::Diverges { .. } => "diverges",
            Verdict::Violates { .. } => "violates",
            Verdict::Inconclusive { .. } => "inconclusive",
        }
    }
}

/// The result of validating one trace.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The trace file.
    pub file: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Items read (events and observations).
    pub items: usize,
    /// Largest number of states held for one item (frontier and closure).
    pub max_frontier: usize,
    /// States generated in total.
    pub states: usize,
    /// Wall-clock time.
    pub elapsed_ms: u64,
    /// Peak resident memory of the process when the validation ended, MiB (the process's
    /// high-water mark: with several files validated in one process it covers them all).
    pub peak_rss_mib: u64,
    /// How the verdict was found: `depth-first` (one conforming explanation),
    /// `one-explanation` (a step that breaks a property whatever the state), or
    /// `breadth-first` (every explanation, streaming).
    pub method: &'static str,
    /// The model the trace was validated against (for `--from-trace` reproduction).
    #[serde(skip)]
    pub header: Option<Header>,
}

/// A state the search holds: the state, its parent link and how many unlogged steps in a row
/// led to it.
#[derive(Clone)]
struct Node {
    state: State,
    /// Index into the parent links; 0 is the initial state.
    link: u32,
    /// Length of the path.
    depth: u32,
    hidden: u32,
}

/// Frontier states per item index, ordered by fingerprint (so every run visits them in the
/// same order).
type Layer = BTreeMap<u64, Node>;

/// The model a trace is validated against.
pub fn model_for(header: &Header, permissive: bool) -> SealModel {
    let mut cfg = header.config.clone();
    if permissive {
        for b in Bug::ALL {
            if !cfg.bugs.contains(&b) {
                cfg.bugs.push(b);
            }
        }
    }
    cfg.unreachable.clear();
    cfg.into_model()
        .expect("the reader validated the header's config")
}

/// Files up to this size are first searched depth-first for one explanation (the items are
/// held in memory for that); larger ones go straight to the streaming search.
pub const DEPTH_FIRST_MAX_BYTES: u64 = 64 << 20;

/// The depth-first phase may hold at most this many states (or `max_frontier`, if smaller)
/// before it hands over to the breadth-first search.
pub const DEPTH_FIRST_MAX_STATES: usize = 50_000;

/// Resident and peak resident memory of this process, MiB.
pub fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|k| k.parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Bounds and progress shared by every phase of one validation.
struct Limits<'a> {
    opts: &'a ValidateOptions,
    start: Instant,
    file: String,
    last_progress: std::sync::Mutex<Instant>,
    ticks: std::sync::atomic::AtomicU64,
}

impl Limits<'_> {
    /// Checks the time and memory bounds (memory every 4096 calls); prints progress. Returns
    /// the bound that was passed, if any.
    fn check(&self, item: usize, held: usize, states: usize) -> Option<String> {
        if let Some(t) = self.opts.timeout {
            if self.start.elapsed() >= t {
                return Some(format!(
                    "time limit of {} s reached (--timeout)",
                    t.as_secs_f64()
                ));
            }
        }
        let n = self
            .ticks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if n % 4096 != 0 {
            return None;
        }
        let (rss, _) = memory_mib();
        if let Some(m) = self.opts.max_memory_mib {
            if rss > m {
                return Some(format!(
                    "memory limit of {m} MiB reached (--max-memory; resident {rss} MiB)"
                ));
            }
        }
        let mut last = self.last_progress.lock().expect("progress clock");
        if self.opts.progress && last.elapsed() >= Duration::from_secs(1) {
            *last = Instant::now();
            eprintln!(
                "validate {}: item {item}, {held} states held, {states} generated, RSS {rss} MiB, {:.1} s",
                self.file,
                self.start.elapsed().as_secs_f64()
            );
        }
        None
    }
}

/// Validates a trace file: first a depth-first search for one conforming explanation on the
/// scenario's own model (cheap when the trace conforms, even with many unlogged steps), then
/// a search for one explanation of a step that breaks a property whatever the state, then,
/// if neither decides, the streaming breadth-first search that tells violations from
/// divergences and reports where.
pub fn validate_file(path: &Path, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    let small = opts.depth_first
        && std::fs::metadata(path)
            .map(|m| m.len() <= DEPTH_FIRST_MAX_BYTES)
            .unwrap_or(false);
    let start = Instant::now();
    if small {
        let reader = TraceReader::open(path)?;
        let header = reader.header().clone();
        let file = reader.file().to_string();
        let items: Vec<TraceItem> = reader.collect::<Result<_, _>>()?;
        let limits = Limits {
            opts,
            start,
            file: file.clone(),
            last_progress: std::sync::Mutex::new(start),
            ticks: std::sync::atomic::AtomicU64::new(0),
        };
        let outcome = |verdict, states, method| Outcome {
            file: file.clone(),
            verdict,
            items: items.len(),
            max_frontier: 0,
            states,
            elapsed_ms: start.elapsed().as_millis() as u64,
            peak_rss_mib: memory_mib().1,
            method,
            header: Some(header.clone()),
        };
        // A step that breaks a property whatever the state leaves no clean explanation of the
        // whole trace: do not search for one.
        let step_local = items
            .iter()
            .any(|i| matches!(&i.item, Item::Event(e) if step_local_violation(e).is_some()));
        let mut states = 0;
        if !step_local {
            let strict = model_for(&header, false);
            let mut dfs = DepthFirst::new(&strict, &header, opts, &limits);
            if dfs.search(&items, items.len(), true).is_some() {
                return Ok(outcome(
                    Verdict::Conforms { explanations: 1 },
                    dfs.states,
                    "depth-first",
                ));
            }
            states = dfs.states;
        }
        let (found, more) = one_explanation_violation(&header, &items, opts, &limits);
        if let Some(v) = found {
            return Ok(outcome(v, states + more, "one-explanation"));
        }
    }
    let reader = TraceReader::open(path)?;
    validate_reader_from(reader, opts, start, Some(path))
}

/// The property a logged event breaks whatever the state its step is taken in, if any: a
/// storage-state change into a state no other state may legally move to.
pub fn step_local_violation(event: &Event) -> Option<&'static str> {
    match event {
        Event::StorageStateSet { to, .. } => {
            let reachable = StorageState::ALL
                .iter()
                .any(|from| from != to && sealcheck_model::properties::legal_move(*from, *to));
            (!reachable).then_some(sealcheck_model::properties::LEGAL_STORAGE_MOVES)
        }
        _ => None,
    }
}

/// "Violations by one explanation" (module essay): the first item whose event breaks a
/// property whatever the state; if the scenario's own model explains every item before it with
/// every property kept, and the permissive model explains the item from such a prefix, the
/// verdict is a violation at that item.
fn one_explanation_violation(
    header: &Header,
    items: &[TraceItem],
    opts: &ValidateOptions,
    limits: &Limits<'_>,
) -> (Option<Verdict>, usize) {
    let Some((x, property)) = items.iter().enumerate().find_map(|(i, it)| match &it.item {
        Item::Event(e) => step_local_violation(e).map(|p| (i, p)),
        Item::Observe(_) => None,
    }) else {
        return (None, 0);
    };
    let model = model_for(header, opts.permissive);
    if model.property_info(property).is_none() {
        return (None, 0);
    }
    // Clean explanations of items[..x] on the permissive model (a clean state has taken no
    // seeded-bug step), each tried for a step explaining item x.
    let mut dfs = DepthFirst::new(&model, header, opts, limits);
    let found = dfs.search(items, x, false).map(|path| Verdict::Violates {
        property: property.to_string(),
        at: at_of(&items[x], x),
        path,
    });
    (found, dfs.states)
}

/// Depth-first search for one behaviour that explains `items[..target]` and keeps every
/// property (and, `to_end`, can end there). Visited (state, item) pairs are not searched twice;
/// states that break a property or took a seeded-bug step are not expanded. Gives up after
/// [`DEPTH_FIRST_MAX_STATES`] (or `max_frontier`) states, or at a time or memory bound.
struct DepthFirst<'a> {
    model: &'a SealModel,
    header: &'a Header,
    opts: &'a ValidateOptions,
    limits: &'a Limits<'a>,
    visited: HashSet<(u64, usize)>,
    states: usize,
    /// The last state of the explanation found (with `to_end`).
    witness: Option<State>,
}

impl<'a> DepthFirst<'a> {
    fn new(
        model: &'a SealModel,
        header: &'a Header,
        opts: &'a ValidateOptions,
        limits: &'a Limits<'a>,
    ) -> Self {
        DepthFirst {
            model,
            header,
            opts,
            limits,
            visited: HashSet::new(),
            states: 0,
            witness: None,
        }
    }

    fn clean(&self, s: &State) -> bool {
        s.history.bug_step.is_none()
            && self
                .model
                .property_list()
                .iter()
                .all(|p| p.kind != PropertyKind::Always || (p.condition)(self.model, s))
    }

    fn clean_end(&self, s: &State) -> bool {
        let model = self.model;
        if self.header.run_complete {
            let mut acts = Vec::new();
            model.actions(s, &mut acts);
            if !acts.is_empty() {
                return false;
            }
            return model
                .property_list()
                .iter()
                .all(|p| p.kind != PropertyKind::Eventually || (p.condition)(model, s));
        }
        true
    }

    /// With `to_end`, finds a clean behaviour explaining the whole trace; without, a clean
    /// explanation of `items[..target]` from which a step explains item `target` (that step
    /// may break a property). Returns the Explorer path of the last state.
    fn search(&mut self, items: &[TraceItem], target: usize, to_end: bool) -> Option<String> {
        let search = Search::new(self.model, self.header, self.opts, self.limits);
        let budget = DEPTH_FIRST_MAX_STATES.min(self.opts.max_frontier);
        let mut links: Vec<(u32, u32)> = vec![(0, 0)];
        let mut stack: Vec<(State, usize, u32, u32)> = vec![(self.model.initial_state(), 0, 0, 0)];
        let model = self.model;
        let items = &items[..items.len().min(if to_end { target } else { target + 1 })];
        while let Some((state, k, hidden, link)) = stack.pop() {
            if self.visited.len() > budget
                || self
                    .limits
                    .check(k, self.visited.len(), self.states)
                    .is_some()
            {
                return None;
            }
            if !self
                .visited
                .insert((canonical_fingerprint(model, &state), k))
            {
                continue;
            }
            if to_end && k == items.len() && self.clean_end(&state) {
                self.witness = Some(state);
                return Some(path_text(&links, link));
            }
            let end = (k + LOOKAHEAD).min(items.len());
            let window: VecDeque<TraceItem> = items[k..end].iter().cloned().collect();
            let mut hidden_children = Vec::new();
            let mut consuming = Vec::new();
            if let Some(TraceItem {
                item: Item::Observe(o),
                ..
            }) = window.front()
            {
                if o.holds(model, &state) {
                    consuming.push((state.clone(), k + 1, 0, link));
                }
                if self.opts.reduce
                    && (!search.reachable_unlogged(o, &state) || search.unlogged_blind(o))
                {
                    stack.extend(consuming);
                    continue;
                }
            }
            let needed = search.needed(&state, &window);
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            for (ai, a) in actions.into_iter().enumerate() {
                let next = model.next_state(&state, a.clone()).expect("enabled");
                self.states += 1;
                let ls = labels(model, &state, &a, &next);
                for m in search.consumptions(&ls, &window) {
                    if !to_end && k + m > target {
                        // The step explains item `target`: the violation is found.
                        links.push((link, ai as u32));
                        return Some(path_text(&links, links.len() as u32 - 1));
                    }
                    if !self.clean(&next) {
                        continue;
                    }
                    if m == 0 {
                        if hidden >= self.opts.max_hidden
                            || !needed
                                .as_ref()
                                .is_none_or(|n| n.contains(&Class::of(self.model, &state, &a)))
                        {
                            continue;
                        }
                        let dead = window.iter().any(|i| match &i.item {
                            Item::Observe(o) => {
                                !o.may_still_hold(model, &next) || never_holds(model, o)
                            }
                            Item::Event(_) => false,
                        });
                        if !dead {
                            links.push((link, ai as u32));
                            hidden_children.push((
                                next.clone(),
                                k,
                                hidden + 1,
                                links.len() as u32 - 1,
                            ));
                        }
                    } else {
                        links.push((link, ai as u32));
                        consuming.push((next.clone(), k + m, 0, links.len() as u32 - 1));
                    }
                }
            }
            // Steps that explain the next item are tried first (the stack pops the last push).
            stack.extend(hidden_children);
            stack.extend(consuming);
        }
        None
    }
}

/// Whether an observation holds in no state at all: a log server's tail past the scenario's
/// number of appends (offsets are below it, and a store moves a tail to its offset plus one).
fn never_holds(model: &SealModel, o: &sealcheck_model::trace::Observation) -> bool {
    matches!(
        o,
        sealcheck_model::trace::Observation::ObserveLogServer {
            local_tail: Some(t),
            ..
        } if *t > model.cfg.appends
    )
}

fn path_text(links: &[(u32, u32)], mut link: u32) -> String {
    let mut steps = Vec::new();
    while link != 0 {
        let (parent, action) = links[link as usize];
        steps.push(action);
        link = parent;
    }
    let mut s = String::from("0");
    for a in steps.iter().rev() {
        s.push('/');
        s.push_str(&a.to_string());
    }
    s
}

/// Successors of a node (items consumed, state, action index, unlogged steps in a row),
/// whether `max_hidden` cut one, and the furthest observation that pruned one ahead.
type Expansion = (Vec<(usize, State, u32, u32)>, bool, Option<usize>);

struct Search<'a> {
    model: &'a SealModel,
    header: &'a Header,
    opts: &'a ValidateOptions,
    limits: &'a Limits<'a>,
    reducer: Reducer<'a>,
    states: usize,
    max_frontier: usize,
    /// Parent links: (parent link, action index).
    links: Vec<(u32, u32)>,
    /// Whether `max_hidden` cut an unlogged path somewhere.
    cut_hidden: bool,
    /// Observations at indices below this bound prune states ahead of the next item.
    prune_before: usize,
    /// The furthest observation (absolute index) that pruned a state ahead of the next item.
    pruned_ahead: Option<usize>,
}

impl<'a> Search<'a> {
    fn new(
        model: &'a SealModel,
        header: &'a Header,
        opts: &'a ValidateOptions,
        limits: &'a Limits<'a>,
    ) -> Self {
        Search {
            model,
            header,
            opts,
            limits,
            reducer: Reducer::new(model, header),
            states: 0,
            max_frontier: 1,
            links: vec![(0, 0)],
            cut_hidden: false,
            prune_before: 0,
            pruned_ahead: None,
        }
    }

    fn fingerprint(&self, s: &State) -> u64 {
        if self.opts.reduce {
            canonical_fingerprint(self.model, s)
        } else {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        }
    }

    /// The classes of unlogged steps worth taking in `s` before the window's front item
    /// (`None`: all of them).
    fn needed(&self, s: &State, window: &VecDeque<TraceItem>) -> Option<Vec<Class>> {
        self.opts
            .reduce
            .then(|| self.reducer.needed(s, window.front().map(|i| &i.item)))
    }

    /// Possible numbers of window items a step with these labels consumes (0 = unlogged).
    fn consumptions(&self, labels: &[Event], window: &VecDeque<TraceItem>) -> Vec<usize> {
        label_consumptions(self.header, labels, |j| window.get(j))
    }

    /// Successors of a node for the item at the front of the window: (items consumed, state,
    /// action index, unlogged steps in a row), and whether `max_hidden` cut one.
    fn expand(&self, node: &Node, window: &VecDeque<TraceItem>, base: usize) -> Expansion {
        let mut out = Vec::new();
        let mut cut = false;
        // The furthest observation (absolute index) that pruned a successor ahead of the next
        // item.
        let mut pruned_ahead: Option<usize> = None;
        if let Some(TraceItem {
            item: Item::Observe(o),
            ..
        }) = window.front()
        {
            if o.holds(self.model, &node.state) {
                out.push((1, node.state.clone(), u32::MAX, 0));
            }
            if self.opts.reduce
                && (!self.reachable_unlogged(o, &node.state) || self.unlogged_blind(o))
            {
                // No unlogged path leads to a state the observation sees, or no unlogged step
                // changes what it sees (then every unlogged step can be taken after it).
                return (out, cut, pruned_ahead);
            }
        }
        let needed = self.needed(&node.state, window);
        let mut actions = Vec::new();
        self.model.actions(&node.state, &mut actions);
        for (ai, a) in actions.into_iter().enumerate() {
            let Some(next) = self.model.next_state(&node.state, a.clone()) else {
                continue;
            };
            let ls = labels(self.model, &node.state, &a, &next);
            for m in self.consumptions(&ls, window) {
                if m == 0 {
                    if !needed
                        .as_ref()
                        .is_none_or(|n| n.contains(&Class::of(self.model, &node.state, &a)))
                    {
                        continue;
                    }
                    if node.hidden >= self.opts.max_hidden {
                        cut = true;
                        continue;
                    }
                    // Tails and seal flags never move back: a state already past what the next
                    // observation sees can never explain it.
                    let dead = match window.front().map(|i| &i.item) {
                        Some(Item::Observe(o)) => {
                            !o.may_still_hold(self.model, &next)
                                || (self.opts.reduce && !self.reachable_unlogged(o, &next))
                        }
                        _ => false,
                    };
                    if dead {
                        continue;
                    }
                }
                // Pruning ahead ("Pruning by later observations" in the module essay): nor
                // can it explain a later observation it is already past.
                if let Some(j) = self.dead_ahead(&next, window, base, m) {
                    pruned_ahead = pruned_ahead.max(Some(j));
                    continue;
                }
                let hidden = if m == 0 { node.hidden + 1 } else { 0 };
                out.push((m, next.clone(), ai as u32, hidden));
            }
        }
        (out, cut, pruned_ahead)
    }

    /// Whether unlogged steps alone can lead from `state` to a state the observation sees (the
    /// bounds of the module essay, "Pruning by later observations"): a log server's tail can
    /// only reach the offset after the highest store in flight to it, or the scenario's number
    /// of appends if appends may still happen unlogged; its seal flag can only be set by a Seal
    /// request in flight to it, one the running seal task may re-send to it, or, if starting a
    /// seal is unlogged, a seal the harness may still start.
    fn reachable_unlogged(&self, o: &sealcheck_model::trace::Observation, state: &State) -> bool {
        use sealcheck_model::state::{HarnessPhase, MemberSeal, Msg, SequencerPhase};
        use sealcheck_model::trace::Observation;
        if !o.may_still_hold(self.model, state) {
            return false;
        }
        let Observation::ObserveLogServer {
            node,
            local_tail,
            sealed,
        } = o
        else {
            return true;
        };
        let Some(i) = (node.0 as usize).checked_sub(1) else {
            return false;
        };
        let Some(srv) = state.servers.get(i) else {
            return false;
        };
        // Cluster only: a find-tail reader that has not returned may still start, unlogged, a
        // tail repair (stores of offsets some member holds, so below the scenario's appends) or
        // an assist (Seal requests to the effective nodeset).
        // The reader queries the log servers only once the sequencer's node crashed or let a
        // request time out.
        let finder_may_act = self.model.cfg.cluster.is_some()
            && !matches!(
                state.client.finder,
                sealcheck_model::state::FindTail::Sealed(_)
            )
            && (state.client.sequencer == SequencerPhase::Crashed
                || state.client.sequencer_silent
                || state.crashes_left > 0
                || state.timeouts_left > 0);
        let repair_left = finder_may_act && !self.header.is_complete("tail-repair-started");
        let assist_left = finder_may_act
            && state.client.finder == sealcheck_model::state::FindTail::Idle
            && !self.header.is_complete("seal-assist-started");
        if let Some(t) = local_tail {
            let appends_left = repair_left
                || (!self.header.is_complete("append")
                    && state.client.sequencer == SequencerPhase::Open
                    && state.client.appends.len() < self.model.cfg.appends as usize);
            let mut ub = srv.local_tail;
            if appends_left {
                ub = ub.max(self.model.cfg.appends);
            }
            for m in &state.network {
                if let Msg::Store { to, offset, .. } = m {
                    if *to as usize == i {
                        ub = ub.max(offset + 1);
                    }
                }
            }
            if *t > ub {
                return false;
            }
        }
        if *sealed == Some(true) && !srv.sealed {
            let in_flight = state
                .network
                .iter()
                .any(|m| matches!(m, Msg::Seal { to, .. } if *to as usize == i));
            let resend = state
                .client
                .seal
                .as_ref()
                .is_some_and(|t| t.members.get(i) == Some(&Some(MemberSeal::Pending)));
            let call = !self.header.is_complete("seal-started")
                && matches!(
                    state.client.harness,
                    HarnessPhase::Ready | HarnessPhase::TrimPoint
                );
            if !(in_flight || resend || call || assist_left) {
                return false;
            }
        }
        true
    }

    /// Whether no unlogged step can change what the observation sees: storage states change
    /// only when a log server provisions itself (`provisioned`; a refused provisioning changes
    /// nothing) or the operator sets one (`storage-state-set`), so when both are logged
    /// completely, the empty set is a stubborn set for an observation of a storage state.
    fn unlogged_blind(&self, o: &sealcheck_model::trace::Observation) -> bool {
        matches!(
            o,
            sealcheck_model::trace::Observation::ObserveStorageState { .. }
        ) && self.header.is_complete("provisioned")
            && self.header.is_complete("storage-state-set")
    }

    /// The first observation of the window after the `m` items a step consumes, before the
    /// pruning bound, that `state` is already past (absolute index), if any.
    fn dead_ahead(
        &self,
        state: &State,
        window: &VecDeque<TraceItem>,
        base: usize,
        m: usize,
    ) -> Option<usize> {
        use sealcheck_model::trace::Observation;
        if self.prune_before <= base + m {
            return None;
        }
        // Lower bounds of each server's tail and seal flag: the state's, raised by every
        // observation the state must still explain, in order (tails and flags never go back).
        let n = state.servers.len().min(16);
        let mut tail = [0u8; 16];
        let mut sealed = [false; 16];
        for (i, s) in state.servers.iter().take(n).enumerate() {
            tail[i] = s.local_tail;
            sealed[i] = s.sealed;
        }
        let tail = &mut tail[..n];
        let sealed = &mut sealed[..n];
        // Whether a logged event before the observation may send a store or a seal request.
        let mut sends = false;
        let logged = |k: &str| self.header.is_complete(k);
        // Whether a seal task runs (or a logged `seal-started` before this point starts one),
        // the lowest tail its members can report if `seal-started` was passed, and whether the
        // sequencer may have left Open (a logged `seal-completed` before this point).
        let mut task = state.client.seal.is_some() || !logged("seal-started");
        let mut floor: Option<u8> = None;
        // In a cluster the remote sequencer may also learn the seal from a store of its own
        // answered Sealed, before the admin's task reports; it can no more once every append
        // is made and resolved without such an answer (replies to resolved appends change
        // nothing), and then the rule holds there too.
        let learns_only_from_the_task = self.model.cfg.cluster.is_none()
            || (state.client.appends.len() == self.model.cfg.appends as usize
                && state.client.appends.iter().all(|a| {
                    a.sealed == 0 && a.status != sealcheck_model::state::AppendStatus::InFlight
                }));
        let mut open = state.client.sequencer == sealcheck_model::state::SequencerPhase::Open
            && logged("seal-completed")
            && learns_only_from_the_task;
        // Cluster: while no server can be sealed (none is, no Seal or Sealed answer is in
        // flight, no task runs, `seal-started` is logged and has not come, no reader can run,
        // no message can be duplicated), every store is answered Ok. Once the window has shown
        // every member holding every append, no store is left to be answered Sealed, and the
        // remote sequencer too can learn the seal only from the admin's completed task.
        let cluster_quiet = |st: &State| {
            use sealcheck_model::state::{Msg, SequencerPhase, Status};
            self.model.cfg.cluster.is_some()
                && !open
                && st.client.sequencer == SequencerPhase::Open
                && logged("seal-completed")
                && logged("seal-started")
                && st.client.seal.is_none()
                && st.crashes_left == 0
                && st.timeouts_left == 0
                && st.duplications_left == 0
                && !st.client.sequencer_silent
                && st.servers.iter().all(|s| !s.sealed)
                && !st.network.iter().any(|m| {
                    matches!(
                        m,
                        Msg::Seal { .. }
                            | Msg::Stored {
                                status: Status::Sealed,
                                ..
                            }
                    )
                })
        };
        let mut quiet = cluster_quiet(state);
        let members: Vec<usize> = self.model.members().collect();
        let mut full = [false; 16];
        for (k, item) in window.iter().enumerate().skip(m) {
            if base + k >= self.prune_before {
                break;
            }
            let ahead = k >= m.max(1);
            let o = match &item.item {
                Item::Event(e) => {
                    if ahead {
                        match e {
                            // A seal task reports the highest tail of a member that confirmed:
                            // never past the scenario's appends, never below the lowest tail
                            // every server had when the task sent its requests, and only while
                            // a task runs (tasks start with a logged `seal-started`).
                            Event::SealCompleted {
                                max_local_tail: t, ..
                            } if !task
                                || t.is_some_and(|t| {
                                    t > self.model.cfg.appends || floor.is_some_and(|f| t < f)
                                }) =>
                            {
                                return Some(base + k)
                            }
                            // The sequencer seals only after a seal task succeeded (a logged
                            // `seal-completed`).
                            Event::SequencerSealed { .. } if open => return Some(base + k),
                            _ => {}
                        }
                    }
                    match e {
                        Event::SealStarted { .. } => {
                            task = true;
                            quiet = false;
                            floor = tail.iter().copied().min();
                        }
                        Event::SealCompleted { .. } => {
                            open = false;
                            quiet = false;
                        }
                        _ => {}
                    }
                    if !matches!(e, Event::SequencerSealed { .. }) && e.kind() != "append" {
                        // Any other logged step may be one that seals a server or sends a
                        // store: stop reasoning about quiet.
                        quiet &= matches!(
                            e.kind(),
                            "provisioned" | "stored" | "store-reply" | "append-acked"
                        );
                    }
                    sends |= matches!(
                        e.kind(),
                        "append"
                            | "seal-started"
                            | "seal-request-resent"
                            | "seal-assist-started"
                            | "tail-repair-started"
                    );
                    continue;
                }
                Item::Observe(o) => o,
            };
            if ahead
                && (!o.may_still_hold(self.model, state)
                    || never_holds(self.model, o)
                    || (!sends && !self.reachable_unlogged(o, state)))
            {
                return Some(base + k);
            }
            if let Observation::ObserveLogServer {
                node,
                local_tail,
                sealed: flag,
            } = o
            {
                let Some(i) = (node.0 as usize).checked_sub(1).filter(|i| *i < tail.len()) else {
                    continue;
                };
                if ahead
                    && (local_tail.is_some_and(|t| t < tail[i])
                        || (*flag == Some(false) && sealed[i]))
                {
                    return Some(base + k);
                }
                if let Some(t) = local_tail {
                    tail[i] = tail[i].max(*t);
                }
                sealed[i] |= *flag == Some(true);
                if quiet && *flag == Some(false) && tail[i] >= self.model.cfg.appends {
                    full[i] = true;
                    if members.iter().all(|&j| j < full.len() && full[j]) {
                        open = true;
                        quiet = false;
                    }
                }
            }
        }
        None
    }

    /// Expands a frontier at the front item: returns the nodes per number of items consumed
    /// (>= 1) and a sample of the closure (for diagnostics), or the bound that stopped it.
    #[allow(clippy::type_complexity)]
    fn step(
        &mut self,
        frontier: Layer,
        window: &VecDeque<TraceItem>,
        item: usize,
    ) -> Result<(BTreeMap<usize, Layer>, Vec<Node>), String> {
        let mut seen: HashSet<u64> = frontier.keys().copied().collect();
        let mut queue: Vec<Node> = frontier.into_values().collect();
        let mut sample: Vec<Node> = Vec::new();
        let mut out: BTreeMap<usize, Layer> = BTreeMap::new();
        while !queue.is_empty() {
            let batch = std::mem::take(&mut queue);
            let results: Vec<Expansion> = if batch.len() >= 256 {
                batch
                    .par_iter()
                    .map(|n| self.expand(n, window, item))
                    .collect()
            } else {
                batch.iter().map(|n| self.expand(n, window, item)).collect()
            };
            for (parent, (children, cut, ahead)) in batch.iter().zip(results) {
                self.cut_hidden |= cut;
                self.pruned_ahead = self.pruned_ahead.max(ahead);
                for (m, state, action, hidden) in children {
                    self.states += 1;
                    if let Some(reason) =
                        self.limits.check(item, seen.len() + out.len(), self.states)
                    {
                        return Err(reason);
                    }
                    let fp = self.fingerprint(&state);
                    let (link, depth) = if action == u32::MAX {
                        (parent.link, parent.depth)
                    } else {
                        (u32::MAX, parent.depth + 1)
                    };
                    let mut make = |state: State| {
                        let link = if link == u32::MAX {
                            self.links.push((parent.link, action));
                            self.links.len() as u32 - 1
                        } else {
                            link
                        };
                        Node {
                            state,
                            link,
                            depth,
                            hidden,
                        }
                    };
                    if m == 0 {
                        if seen.insert(fp) {
                            if seen.len() > self.opts.max_frontier {
                                return Err(format!(
                                    "more than {} states explain the trace at this point (--max-frontier)",
                                    self.opts.max_frontier
                                ));
                            }
                            queue.push(make(state));
                        }
                    } else {
                        let layer = out.entry(m).or_default();
                        if let std::collections::btree_map::Entry::Vacant(e) = layer.entry(fp) {
                            e.insert(make(state));
                        }
                    }
                }
            }
            if sample.len() < 2000 {
                sample.extend(batch.into_iter().take(2000 - sample.len()));
            }
        }
        self.max_frontier = self.max_frontier.max(seen.len());
        Ok((out, sample))
    }

    /// The property every node violates, if there is one (first in model order).
    fn violated_by_all<'n>(&self, nodes: impl Iterator<Item = &'n Node> + Clone) -> Option<String> {
        nodes.clone().next()?;
        self.model
            .property_list()
            .iter()
            .filter(|p| p.kind == PropertyKind::Always)
            .find(|p| nodes.clone().all(|n| !(p.condition)(self.model, &n.state)))
            .map(|p| p.name.to_string())
    }

    fn path_of(&self, node: &Node) -> String {
        path_text(&self.links, node.link)
    }

    /// The node with the shortest path (ties: the first in order).
    fn shortest<'n>(nodes: impl Iterator<Item = &'n Node>) -> Option<&'n Node> {
        nodes.min_by_key(|n| n.depth)
    }

    fn diverges(
        &self,
        at: At,
        explained: usize,
        closure: &[Node],
        window: &VecDeque<TraceItem>,
    ) -> Verdict {
        let mut allowed: Vec<String> = Vec::new();
        let mut push = |s: String| {
            if !allowed.contains(&s) && allowed.len() < 24 {
                allowed.push(s);
            }
        };
        for n in closure.iter().take(2000) {
            match window.front().map(|i| &i.item) {
                Some(Item::Observe(o)) => push(format!(
                    "observation would see {}",
                    serde_json::to_string(&o.actual(self.model, &n.state)).expect("json")
                )),
                _ => {
                    let mut actions = Vec::new();
                    self.model.actions(&n.state, &mut actions);
                    for a in actions {
                        let next = self.model.next_state(&n.state, a.clone()).expect("enabled");
                        for mut l in labels(self.model, &n.state, &a, &next) {
                            if self.header.is_complete(l.kind()) {
                                // Name the trace's own nodes, not the model's client.
                                let roles = &self.header.roles;
                                if Event::is_sealer_kind(l.kind()) {
                                    if let Some(s) = roles.sealer {
                                        l.set_node(s);
                                    }
                                } else if Event::is_sequencer_kind(l.kind()) {
                                    if let Some(s) = roles.sequencer {
                                        l.set_node(s);
                                    }
                                } else if Event::is_finder_kind(l.kind()) {
                                    if let Some(s) = roles.finder.or(roles.sealer) {
                                        l.set_node(s);
                                    }
                                }
                                push(serde_json::to_string(&l).expect("json"));
                            }
                        }
                    }
                }
            }
        }
        if allowed.is_empty() {
            allowed.push("nothing: every candidate state is terminal".to_string());
        }
        let mut candidates: Vec<Vec<String>> = Vec::new();
        for n in closure {
            let mut lines = sealcheck_model::describe::state(self.model, &n.state);
            let roles = &self.header.roles;
            if roles.sealer.is_some() || roles.sequencer.is_some() {
                lines.push(format!(
                    "(N{} is the model's client: the trace's sealer {} and sequencer {})",
                    self.model.cfg.client,
                    roles
                        .sealer
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    roles
                        .sequencer
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                ));
            }
            if !candidates.contains(&lines) {
                candidates.push(lines);
            }
            if candidates.len() == 3 {
                break;
            }
        }
        Verdict::Diverges {
            at,
            explained,
            candidates,
            allowed,
            path: Self::shortest(closure.iter())
                .map(|n| self.path_of(n))
                .unwrap_or_else(|| "0".into()),
        }
    }
}

fn at_of(item: &TraceItem, index: usize) -> At {
    At {
        index,
        line: item.line,
        text: item.text.clone(),
    }
}

/// Validates a trace from an open reader (the streaming breadth-first search only).
pub fn validate_reader(reader: TraceReader, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    validate_reader_from(reader, opts, Instant::now(), None)
}

fn validate_reader_from(
    reader: TraceReader,
    opts: &ValidateOptions,
    start: Instant,
    source: Option<&Path>,
) -> Result<Outcome, TraceError> {
    let ahead = opts.prune_ahead && opts.reduce && source.is_some();
    let (first, pruned) = search_run(
        reader,
        opts,
        start,
        None,
        if ahead { usize::MAX } else { 0 },
    )?;
    let rejected = |v: &Verdict| match v {
        Verdict::Diverges { at, .. } | Verdict::Violates { at, .. } => Some(at.index),
        _ => None,
    };
    let (Some(d), Some(source)) = (rejected(&first.verdict), source) else {
        return Ok(first);
    };
    if pruned.is_none_or(|j| j <= d) {
        return Ok(first);
    }
    // A later observation pruned states that might have explained items after `d`: find the
    // first prefix no explanation survives (module essay, "Pruning by later observations").
    let total = first.items;
    let all: Vec<TraceItem> = TraceReader::open(source)?.collect::<Result<_, _>>()?;
    let header = first.header.clone().expect("a search names its header");
    let strict = model_for(&header, false);
    let limits = Limits {
        opts,
        start,
        file: source.display().to_string(),
        last_progress: std::sync::Mutex::new(Instant::now()),
        ticks: std::sync::atomic::AtomicU64::new(0),
    };
    let mut states = first.states;
    let mut max_frontier = first.max_frontier;
    // Explanations of prefixes, by the depth-first search: (prefix length, last state, path).
    let mut witness: Option<(usize, State, String)> = None;
    // Whether items[..=m] is rejected, with the breadth-first outcome when it is.
    let mut probe = |m: usize| -> Result<(bool, Option<Outcome>), TraceError> {
        let limit = (m + 1 < total).then_some(m + 1);
        let step_local = all[..=m]
            .iter()
            .any(|i| matches!(&i.item, Item::Event(e) if step_local_violation(e).is_some()));
        if opts.depth_first && !step_local {
            // One clean explanation of the prefix is enough to know it is not rejected.
            let mut h = header.clone();
            if limit.is_some() {
                h.run_complete = false;
            }
            let mut dfs = DepthFirst::new(&strict, &h, opts, &limits);
            let found = dfs.search(&all, m + 1, true);
            states += dfs.states;
            if let (Some(path), Some(state)) = (found, dfs.witness.take()) {
                if witness.as_ref().is_none_or(|(k, _, _)| *k < m + 1) {
                    witness = Some((m + 1, state, path));
                }
                return Ok((false, None));
            }
        }
        let (o, _) = search_run(TraceReader::open(source)?, opts, start, limit, m + 1)?;
        states += o.states;
        max_frontier = max_frontier.max(o.max_frontier);
        Ok((rejected(&o.verdict).is_some(), Some(o)))
    };
    let (mut lo, mut hi) = (d, total.saturating_sub(1));
    let mut found: Option<(usize, Outcome)> = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match probe(mid)? {
            (_, Some(o)) if matches!(o.verdict, Verdict::Inconclusive { .. }) => {
                return Ok(Outcome { items: total, ..o })
            }
            (true, Some(o)) => {
                hi = mid;
                found = Some((mid, o));
            }
            _ => lo = mid + 1,
        }
    }
    let o = match found {
        Some((m, o)) if m == lo => o,
        _ => match probe(lo)? {
            (_, Some(o)) => o,
            // Unreachable: the whole trace is rejected; keep the first search's verdict.
            (_, None) => first,
        },
    };
    // The search of items[..=lo] may have stopped every explanation before item `lo` by the
    // observation at `lo` itself: the verdict is still at `lo`, after the explanations of the
    // items before it (one of which the depth-first search found, when it ran).
    let verdict = match o.verdict {
        Verdict::Diverges { at, .. } if at.index < lo && lo < all.len() => {
            let model = model_for(&header, opts.permissive);
            let (candidates, path) = match &witness {
                Some((k, state, path)) if *k == lo => (
                    vec![sealcheck_model::describe::state(&model, state)],
                    path.clone(),
                ),
                _ => (Vec::new(), "0".to_string()),
            };
            let _ = at;
            Verdict::Diverges {
                at: at_of(&all[lo], lo),
                explained: lo,
                candidates,
                allowed: vec![format!(
                    "no explanation of the items before it reaches what item {lo} says (no unlogged steps lead there)"
                )],
                path,
            }
        }
        // The explanations of the items before `lo` that pruning by item `lo` kept all break
        // the property, but some explanation of the items before `lo` keeps every property.
        // Whether the violating ones reach item `lo` (a violation there) or none does (a
        // divergence there), only a search without pruning ahead can tell: run it on
        // items[..=lo]; it stops at `lo` at the latest.
        Verdict::Violates { at, .. } if at.index < lo && lo < all.len() => {
            let limit = (lo + 1 < total).then_some(lo + 1);
            let (exact, _) = search_run(TraceReader::open(source)?, opts, start, limit, 0)?;
            states += exact.states;
            max_frontier = max_frontier.max(exact.max_frontier);
            exact.verdict
        }
        v => v,
    };
    Ok(Outcome {
        verdict,
        items: total,
        states,
        max_frontier,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        ..o
    })
}

/// One breadth-first search over `items[..limit]` (all of them without a limit; a prefix is
/// never a complete run), pruning states ahead of the next item by observations at indices
/// below `prune_before`. Returns the outcome and the furthest observation that pruned ahead.
fn search_run(
    mut reader: TraceReader,
    opts: &ValidateOptions,
    start: Instant,
    limit: Option<usize>,
    prune_before: usize,
) -> Result<(Outcome, Option<usize>), TraceError> {
    let mut header = reader.header().clone();
    if limit.is_some() {
        header.run_complete = false;
    }
    let model = model_for(&header, opts.permissive);
    let limits = Limits {
        opts,
        start,
        file: reader.file().to_string(),
        last_progress: std::sync::Mutex::new(Instant::now()),
        ticks: std::sync::atomic::AtomicU64::new(0),
    };
    let mut search = Search::new(&model, &header, opts, &limits);
    search.prune_before = prune_before;
    let mut layers: BTreeMap<usize, Layer> = BTreeMap::new();
    let mut read = 0usize;
    let mut last_item: Option<TraceItem> = None;
    let init = model.initial_state();
    let mut first = Layer::new();
    first.insert(
        search.fingerprint(&init),
        Node {
            state: init,
            link: 0,
            depth: 0,
            hidden: 0,
        },
    );
    layers.insert(0, first);
    let mut window: VecDeque<TraceItem> = VecDeque::new();
    let mut base = 0usize;
    let mut eof = false;
    // The first item after which only behaviours with seeded-bug steps explain the trace.
    let mut only_buggy: Option<(At, &'static str)> = None;

    let verdict = loop {
        while !eof && window.len() < LOOKAHEAD {
            if limit.is_some_and(|l| read >= l) {
                eof = true;
                break;
            }
            match reader.next_item() {
                None => eof = true,
                Some(Err(e)) => return Err(e),
                Some(Ok(item)) => {
                    read += 1;
                    window.push_back(item)
                }
            }
        }
        let cur = layers.remove(&base).unwrap_or_default();
        if window.is_empty() {
            break finish(&mut search, cur, base);
        }
        if !cur.is_empty() {
            let (out, closure) = match search.step(cur, &window, base) {
                Ok(x) => x,
                Err(reason) => {
                    break Verdict::Inconclusive {
                        at: at_of(&window[0], base),
                        reason: format!("{reason}, at item {base}"),
                    }
                }
            };
            for (m, nodes) in out {
                let layer = layers.entry(base + m).or_default();
                for (fp, n) in nodes {
                    layer.entry(fp).or_insert(n);
                }
            }
            if layers.is_empty() {
                break search.diverges(at_of(&window[0], base), base, &closure, &window);
            }
        } else if layers.is_empty() {
            // Nothing explains this item (the frontier died at an earlier multi-item step).
            break search.diverges(at_of(&window[0], base), base, &[], &window);
        }
        let consumed = window.pop_front().expect("non-empty");
        last_item = Some(consumed.clone());
        base += 1;
        if let Some(layer) = layers.get(&base) {
            if let Some(p) = search.violated_by_all(layer.values()) {
                let node = Search::shortest(layer.values()).expect("non-empty");
                break Verdict::Violates {
                    property: p,
                    at: at_of(&consumed, base - 1),
                    path: search.path_of(node),
                };
            }
            let all_buggy = layers
                .values()
                .flat_map(|l| l.values())
                .all(|n| n.state.history.bug_step.is_some());
            if all_buggy && only_buggy.is_none() {
                let bug = layer
                    .values()
                    .find_map(|n| n.state.history.bug_step)
                    .map(|b| b.name())
                    .unwrap_or("?");
                only_buggy = Some((at_of(&consumed, base - 1), bug));
            }
        }
    };
    // Explained only by seeded-bug steps that break no property: still not a behaviour of the
    // scenario's model.
    let verdict = match (verdict, only_buggy) {
        (Verdict::Conforms { explanations: 0 }, None) => Verdict::Diverges {
            explained: base,
            allowed: vec![
                "the run cannot end here without a seeded-bug step; the scenario's behaviours would continue".into(),
            ],
            candidates: Vec::new(),
            path: "0".into(),
            at: end_at(base),
        },
        (Verdict::Conforms { .. }, Some((at, bug))) | (Verdict::Diverges { .. }, Some((at, bug))) => {
            Verdict::Diverges {
                explained: at.index,
                allowed: vec![format!(
                    "no behaviour of the scenario explains this item; only behaviours with the seeded-bug step `{bug}` do (and they break no named property)"
                )],
                candidates: Vec::new(),
                path: "0".to_string(),
                at,
            }
        }
        (v, _) => v,
    };
    // A search cut by --max-hidden proved nothing but what it found.
    let verdict = match verdict {
        Verdict::Diverges { at, .. } | Verdict::Violates { at, .. } if search.cut_hidden => {
            Verdict::Inconclusive {
                reason: format!(
                    "unlogged paths longer than {} steps were cut (--max-hidden) before item {}; no verdict is proved",
                    opts.max_hidden, at.index
                ),
                at,
            }
        }
        v => v,
    };

    // The end of a prefix is its last item, not the end of the trace.
    let verdict = match (verdict, &last_item, limit) {
        (Verdict::Violates { property, at, path }, Some(last), Some(_)) if at.line == 0 => {
            Verdict::Violates {
                property,
                at: at_of(last, at.index),
                path,
            }
        }
        (v, _, _) => v,
    };
    // Read the rest of the file so that a malformed line is never passed over.
    let mut items = base + window.len();
    if limit.is_none() {
        while let Some(r) = reader.next_item() {
            r?;
            items += 1;
        }
    }
    let pruned_ahead = search.pruned_ahead;
    let outcome = Outcome {
        file: reader.file().to_string(),
        verdict,
        items,
        max_frontier: search.max_frontier,
        states: search.states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        method: "breadth-first",
        header: Some(header),
    };
    Ok((outcome, pruned_ahead))
}

fn end_at(index: usize) -> At {
    At {
        index,
        line: 0,
        text: "<end of trace>".to_string(),
    }
}

/// The end of the trace: some explanation must keep every property; for a complete run the
/// behaviour must also be able to stop there, and `eventually` properties are judged.
fn finish(search: &mut Search<'_>, cur: Layer, items: usize) -> Verdict {
    let model = search.model;
    let mut finals: Vec<Node> = cur.into_values().collect();
    if finals.is_empty() {
        return search.diverges(end_at(items), items, &[], &VecDeque::new());
    }
    if search.header.run_complete {
        // Unlogged steps may still happen before the run stops; keep the terminal states.
        let mut seen: HashSet<u64> = finals
            .iter()
            .map(|n| search.fingerprint(&n.state))
            .collect();
        let mut queue: VecDeque<Node> = finals.iter().cloned().collect();
        let mut terminal = Vec::new();
        while let Some(n) = queue.pop_front() {
            search.states += 1;
            if let Some(reason) = search.limits.check(items, seen.len(), search.states) {
                return Verdict::Inconclusive {
                    at: end_at(items),
                    reason: format!("{reason}, at the end of the trace"),
                };
            }
            let mut actions = Vec::new();
            model.actions(&n.state, &mut actions);
            if actions.is_empty() {
                terminal.push(n);
                continue;
            }
            for (ai, a) in actions.into_iter().enumerate() {
                let next = model.next_state(&n.state, a.clone()).expect("enabled");
                let ls = labels(model, &n.state, &a, &next);
                if ls.iter().any(|l| search.header.is_complete(l.kind())) {
                    continue;
                }
                if n.hidden >= search.opts.max_hidden {
                    search.cut_hidden = true;
                    continue;
                }
                if seen.insert(search.fingerprint(&next)) {
                    if seen.len() > search.opts.max_frontier {
                        return Verdict::Inconclusive {
                            at: end_at(items),
                            reason: format!(
                                "more than {} states end the trace (--max-frontier), at the end of the trace",
                                search.opts.max_frontier
                            ),
                        };
                    }
                    search.links.push((n.link, ai as u32));
                    queue.push_back(Node {
                        state: next,
                        link: search.links.len() as u32 - 1,
                        depth: n.depth + 1,
                        hidden: n.hidden + 1,
                    });
                }
            }
        }
        search.max_frontier = search.max_frontier.max(seen.len());
        if terminal.is_empty() {
            let closure = finals.clone();
            return search.diverges(end_at(items), items, &closure, &VecDeque::new());
        }
        finals = terminal;
    }
    let clean = |n: &Node| {
        n.state.history.bug_step.is_none()
            && model.property_list().iter().all(|p| match p.kind {
                PropertyKind::Always => (p.condition)(model, &n.state),
                PropertyKind::Eventually => {
                    !search.header.run_complete || (p.condition)(model, &n.state)
                }
                PropertyKind::Sometimes => true,
            })
    };
    let clean_count = finals.iter().filter(|n| clean(n)).count();
    if clean_count > 0 {
        return Verdict::Conforms {
            explanations: clean_count,
        };
    }
    let property = search.violated_by_all(finals.iter()).or_else(|| {
        model
            .property_list()
            .iter()
            .filter(|p| p.kind == PropertyKind::Eventually)
            .find(|p| finals.iter().all(|n| !(p.condition)(model, &n.state)))
            .map(|p| p.name.to_string())
    });
    let property = property.or_else(|| {
        // Every explanation breaks some property, not all the same one: name the most common.
        model
            .property_list()
            .iter()
            .filter(|p| p.kind != PropertyKind::Sometimes)
            .map(|p| {
                let n = finals
                    .iter()
                    .filter(|n| !(p.condition)(model, &n.state))
                    .count();
                (n, p.name)
            })
            .filter(|(n, _)| *n > 0)
            .max_by_key(|(n, _)| *n)
            .map(|(_, name)| name.to_string())
    });
    let Some(property) = property else {
        // Only behaviours with seeded-bug steps explain the trace, and they break nothing:
        // the caller reports where the scenario's own behaviours stopped explaining it.
        return Verdict::Conforms { explanations: 0 };
    };
    Verdict::Violates {
        property,
        at: At {
            index: items.saturating_sub(1),
            line: 0,
            text: "<end of trace>".to_string(),
        },
        path: search.path_of(Search::shortest(finals.iter()).expect("non-empty")),
    }
}

/// Possible numbers of trace items a step with these labels consumes, from the item `item(0)`
/// on (0: the step is unlogged). A label matches the next item if it is that event; a label of
/// a kind the trace does not log completely may also be skipped. Shared by validation and the
/// path-following check.
pub(crate) fn label_consumptions<'a>(
    header: &Header,
    labels: &[Event],
    item: impl Fn(usize) -> Option<&'a TraceItem>,
) -> Vec<usize> {
    fn rec<'a>(
        header: &Header,
        labels: &[Event],
        item: &dyn Fn(usize) -> Option<&'a TraceItem>,
        li: usize,
        wj: usize,
        out: &mut Vec<usize>,
    ) {
        if li == labels.len() {
            if !out.contains(&wj) {
                out.push(wj);
            }
            return;
        }
        let l = &labels[li];
        if let Some(TraceItem {
            item: Item::Event(e),
            ..
        }) = item(wj)
        {
            if e.matches(l) {
                rec(header, labels, item, li + 1, wj + 1, out);
            }
        }
        if !header.is_complete(l.kind()) {
            rec(header, labels, item, li + 1, wj, out);
        }
    }
    let mut out = Vec::new();
    rec(header, labels, &item, 0, 0, &mut out);
    out
}
