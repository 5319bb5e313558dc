//! Trace validation: is a recorded run a behaviour of the model, and if not, where did it leave?
//!
//! # How the search works
//!
//! A trace is a sequence of items: events (labels of model steps) and observations (facts about
//! the state). The search keeps a *frontier*: every model state (deduplicated by fingerprint)
//! that explains the trace up to the current item, each with one path from the initial state.
//! For the current item it expands the frontier:
//!
//! - a step whose labels are all of kinds the trace does not log completely may happen unlogged:
//!   the new state stays at the same item (at most `max_hidden` such steps in a row);
//! - a step whose labels match the next items in order (unlogged labels may be skipped) moves
//!   the new state past those items; a step with a label of a completely logged kind that does
//!   not match is not allowed;
//! - an observation is consumed by every state that satisfies it.
//!
//! Items are read one at a time, with a few items of lookahead for steps that have several
//! labels, so memory does not grow with the length of a trace beyond the frontier and the
//! paths (a model behaviour is finite, so paths are bounded by the model, not the trace).
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
//! the candidate states and what the model would have allowed instead.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use sealcheck_model::trace::{labels, Event};
use sealcheck_model::{Bug, PropertyKind, SealModel, State};
use serde::Serialize;
use stateright::Model;

use crate::trace::{Header, Item, TraceError, TraceItem, TraceReader};

/// Items of lookahead: at least the most labels one model step has; more lets upcoming
/// observations prune unlogged steps earlier.
const LOOKAHEAD: usize = 32;

/// Options of a validation.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// Most unlogged steps in a row between two items.
    pub max_hidden: u32,
    /// Most states in one frontier; beyond it the verdict is inconclusive.
    pub max_frontier: usize,
    /// Validate against the permissive model (every seeded bug enabled) so that violations are
    /// told apart from divergences. Without it, a run that breaks a property diverges.
    pub permissive: bool,
    /// Try the depth-first search for one conforming explanation first (files up to
    /// [`DEPTH_FIRST_MAX_BYTES`]).
    pub depth_first: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            max_hidden: 256,
            max_frontier: 2_000_000,
            permissive: true,
            depth_first: true,
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
        /// How many distinct model states explain the whole trace.
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
        /// Explorer path of one explanation of the prefix.
        path: String,
    },
    /// The trace is explained up to `at`, but every explanation breaks `property`.
    Violates {
        /// The property.
        property: String,
        /// The item after which no explanation keeps the property.
        at: At,
        /// Explorer path of one explanation.
        path: String,
    },
    /// The search gave up (frontier too large).
    Inconclusive {
        /// Where.
        at: At,
        /// Why.
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
    /// Largest frontier (distinct states at one item, with unlogged steps).
    pub max_frontier: usize,
    /// States generated in total.
    pub states: usize,
    /// Wall-clock time.
    pub elapsed_ms: u64,
    /// How the verdict was found: `depth-first` (one conforming explanation) or
    /// `breadth-first` (every explanation, streaming).
    pub method: &'static str,
    /// The model the trace was validated against (for `--from-trace` reproduction).
    #[serde(skip)]
    pub header: Option<Header>,
}

/// Frontier states per item index (deduplicated by fingerprint).
type Layers = BTreeMap<usize, HashMap<u64, Node>>;

#[derive(Clone)]
struct Node {
    state: State,
    path: Vec<u32>,
    hidden: u32,
}

fn fingerprint(s: &State) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

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

/// Validates a trace file: first a depth-first search for one conforming explanation on the
/// scenario's own model (cheap when the trace conforms, even with many unlogged steps), then,
/// if there is none, the streaming breadth-first search that tells violations from
/// divergences and reports where.
pub fn validate_file(path: &Path, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    let small = opts.depth_first
        && std::fs::metadata(path)
            .map(|m| m.len() <= DEPTH_FIRST_MAX_BYTES)
            .unwrap_or(false);
    if small {
        let start = Instant::now();
        let reader = TraceReader::open(path)?;
        let header = reader.header().clone();
        let file = reader.file().to_string();
        let items: Vec<TraceItem> = reader.collect::<Result<_, _>>()?;
        let model = model_for(&header, false);
        let mut dfs = DepthFirst {
            model: &model,
            header: &header,
            items: &items,
            opts,
            visited: HashSet::new(),
            states: 0,
        };
        if dfs.search() {
            return Ok(Outcome {
                file,
                verdict: Verdict::Conforms { explanations: 1 },
                items: items.len(),
                max_frontier: 0,
                states: dfs.states,
                elapsed_ms: start.elapsed().as_millis() as u64,
                method: "depth-first",
                header: Some(header),
            });
        }
    }
    let reader = TraceReader::open(path)?;
    validate_reader(reader, opts)
}

/// Depth-first search for one behaviour of the scenario's own model (no seeded-bug steps) that
/// explains the whole trace and keeps every property. Visited (state, item) pairs are not
/// searched twice; the search gives up after `max_frontier` of them.
struct DepthFirst<'a> {
    model: &'a SealModel,
    header: &'a Header,
    items: &'a [TraceItem],
    opts: &'a ValidateOptions,
    visited: HashSet<(u64, usize)>,
    states: usize,
}

impl DepthFirst<'_> {
    fn clean_end(&self, s: &State) -> bool {
        let model = self.model;
        if self.header.run_complete {
            let mut acts = Vec::new();
            model.actions(s, &mut acts);
            if !acts.is_empty() {
                return false;
            }
        }
        model.property_list().iter().all(|p| match p.kind {
            PropertyKind::Always => (p.condition)(model, s),
            PropertyKind::Eventually => !self.header.run_complete || (p.condition)(model, s),
            PropertyKind::Sometimes => true,
        })
    }

    fn search(&mut self) -> bool {
        let search = Search {
            model: self.model,
            header: self.header,
            opts: self.opts,
            states: 0,
            max_frontier: 1,
        };
        let mut stack: Vec<(State, usize, u32)> = vec![(self.model.initial_state(), 0, 0)];
        while let Some((state, k, hidden)) = stack.pop() {
            if self.visited.len() > self.opts.max_frontier {
                return false;
            }
            if !self.visited.insert((fingerprint(&state), k)) {
                continue;
            }
            if k == self.items.len() && self.clean_end(&state) {
                return true;
            }
            let end = (k + LOOKAHEAD).min(self.items.len());
            let window: VecDeque<TraceItem> = self.items[k..end].iter().cloned().collect();
            let mut hidden_children = Vec::new();
            let mut consuming = Vec::new();
            if let Some(TraceItem {
                item: Item::Observe(o),
                ..
            }) = window.front()
            {
                if o.holds(self.model, &state) {
                    consuming.push((state.clone(), k + 1, 0));
                }
            }
            let mut actions = Vec::new();
            self.model.actions(&state, &mut actions);
            for a in actions {
                let next = self.model.next_state(&state, a.clone()).expect("enabled");
                self.states += 1;
                let ls = labels(self.model, &state, &a, &next);
                for m in search.consumptions(&ls, &window) {
                    if m == 0 {
                        if hidden >= self.opts.max_hidden {
                            continue;
                        }
                        let dead = window.iter().any(|i| match &i.item {
                            Item::Observe(o) => !o.may_still_hold(self.model, &next),
                            Item::Event(_) => false,
                        });
                        if !dead {
                            hidden_children.push((next.clone(), k, hidden + 1));
                        }
                    } else {
                        consuming.push((next.clone(), k + m, 0));
                    }
                }
            }
            // Steps that explain the next item are tried first (the stack pops the last push).
            stack.extend(hidden_children);
            stack.extend(consuming);
        }
        false
    }
}

struct Search<'a> {
    model: &'a SealModel,
    header: &'a Header,
    opts: &'a ValidateOptions,
    states: usize,
    max_frontier: usize,
}

impl Search<'_> {
    /// Possible numbers of window items a step with these labels consumes (0 = unlogged).
    fn consumptions(&self, labels: &[Event], window: &VecDeque<TraceItem>) -> Vec<usize> {
        fn rec(
            s: &Search<'_>,
            labels: &[Event],
            window: &VecDeque<TraceItem>,
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
            }) = window.get(wj)
            {
                if e.matches(l) {
                    rec(s, labels, window, li + 1, wj + 1, out);
                }
            }
            if !s.header.is_complete(l.kind()) {
                rec(s, labels, window, li + 1, wj, out);
            }
        }
        let mut out = Vec::new();
        rec(self, labels, window, 0, 0, &mut out);
        out
    }

    /// Successors of a node for the item at the front of the window: (items consumed, node).
    fn expand(&self, node: &Node, window: &VecDeque<TraceItem>) -> Vec<(usize, Node)> {
        let mut out = Vec::new();
        if let Some(TraceItem {
            item: Item::Observe(o),
            ..
        }) = window.front()
        {
            if o.holds(self.model, &node.state) {
                out.push((
                    1,
                    Node {
                        state: node.state.clone(),
                        path: node.path.clone(),
                        hidden: 0,
                    },
                ));
            }
        }
        let mut actions = Vec::new();
        self.model.actions(&node.state, &mut actions);
        for (ai, a) in actions.into_iter().enumerate() {
            let Some(next) = self.model.next_state(&node.state, a.clone()) else {
                continue;
            };
            let ls = labels(self.model, &node.state, &a, &next);
            for m in self.consumptions(&ls, window) {
                if m == 0 && node.hidden >= self.opts.max_hidden {
                    continue;
                }
                let mut path = node.path.clone();
                path.push(ai as u32);
                out.push((
                    m,
                    Node {
                        state: next.clone(),
                        path,
                        hidden: if m == 0 { node.hidden + 1 } else { 0 },
                    },
                ));
            }
        }
        out
    }

    /// Expands a frontier at the front item: returns the nodes per number of items consumed
    /// (>= 1) and the closure (every node reached by unlogged steps, for diagnostics).
    fn step(
        &mut self,
        frontier: HashMap<u64, Node>,
        window: &VecDeque<TraceItem>,
    ) -> Result<(Layers, Vec<Node>), String> {
        let mut seen: HashSet<u64> = frontier.keys().copied().collect();
        let mut queue: Vec<Node> = frontier.into_values().collect();
        let mut closure: Vec<Node> = Vec::new();
        let mut out: BTreeMap<usize, HashMap<u64, Node>> = BTreeMap::new();
        while !queue.is_empty() {
            let batch = std::mem::take(&mut queue);
            let results: Vec<Vec<(usize, Node)>> = if batch.len() >= 256 {
                batch.par_iter().map(|n| self.expand(n, window)).collect()
            } else {
                batch.iter().map(|n| self.expand(n, window)).collect()
            };
            closure.extend(batch);
            for r in results {
                for (m, node) in r {
                    self.states += 1;
                    let fp = fingerprint(&node.state);
                    if m == 0 {
                        // Tails and seal flags never move back: a state already past what an
                        // upcoming observation saw can never explain it.
                        let dead = window.iter().any(|i| match &i.item {
                            Item::Observe(o) => !o.may_still_hold(self.model, &node.state),
                            Item::Event(_) => false,
                        });
                        if dead {
                            continue;
                        }
                        if seen.insert(fp) {
                            queue.push(node);
                        }
                    } else {
                        out.entry(m).or_default().entry(fp).or_insert(node);
                    }
                }
            }
            if seen.len() > self.opts.max_frontier {
                return Err(format!(
                    "more than {} states explain the trace at this point (--max-frontier)",
                    self.opts.max_frontier
                ));
            }
        }
        self.max_frontier = self.max_frontier.max(seen.len());
        Ok((out, closure))
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

    fn path_of(node: &Node) -> String {
        let mut s = String::from("0");
        for i in &node.path {
            s.push('/');
            s.push_str(&i.to_string());
        }
        s
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
            path: closure
                .first()
                .map(Self::path_of)
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

/// Validates a trace from an open reader.
pub fn validate_reader(
    mut reader: TraceReader,
    opts: &ValidateOptions,
) -> Result<Outcome, TraceError> {
    let start = Instant::now();
    let header = reader.header().clone();
    let model = model_for(&header, opts.permissive);
    let mut search = Search {
        model: &model,
        header: &header,
        opts,
        states: 0,
        max_frontier: 1,
    };
    let mut layers: BTreeMap<usize, HashMap<u64, Node>> = BTreeMap::new();
    let init = model.initial_state();
    let mut first = HashMap::new();
    first.insert(
        fingerprint(&init),
        Node {
            state: init,
            path: Vec::new(),
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
            match reader.next_item() {
                None => eof = true,
                Some(Err(e)) => return Err(e),
                Some(Ok(item)) => window.push_back(item),
            }
        }
        let cur = layers.remove(&base).unwrap_or_default();
        if window.is_empty() {
            break finish(&mut search, cur, base);
        }
        if !cur.is_empty() {
            let (out, closure) = match search.step(cur, &window) {
                Ok(x) => x,
                Err(reason) => {
                    break Verdict::Inconclusive {
                        at: at_of(&window[0], base),
                        reason,
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
        base += 1;
        if let Some(layer) = layers.get(&base) {
            if let Some(p) = search.violated_by_all(layer.values()) {
                let node = layer.values().next().expect("non-empty");
                break Verdict::Violates {
                    property: p,
                    at: at_of(&consumed, base - 1),
                    path: Search::path_of(node),
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

    // Read the rest of the file so that a malformed line is never passed over.
    let mut items = base + window.len();
    while let Some(r) = reader.next_item() {
        r?;
        items += 1;
    }
    Ok(Outcome {
        file: reader.file().to_string(),
        verdict,
        items,
        max_frontier: search.max_frontier,
        states: search.states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        method: "breadth-first",
        header: Some(header),
    })
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
fn finish(search: &mut Search<'_>, cur: HashMap<u64, Node>, items: usize) -> Verdict {
    let model = search.model;
    let mut finals: Vec<Node> = cur.into_values().collect();
    if finals.is_empty() {
        return search.diverges(end_at(items), items, &[], &VecDeque::new());
    }
    if search.header.run_complete {
        // Unlogged steps may still happen before the run stops; keep the terminal states.
        let mut seen: HashSet<u64> = finals.iter().map(|n| fingerprint(&n.state)).collect();
        let mut queue = finals.clone();
        let mut terminal = Vec::new();
        while let Some(n) = queue.pop() {
            let mut actions = Vec::new();
            model.actions(&n.state, &mut actions);
            if actions.is_empty() {
                terminal.push(n);
                continue;
            }
            for (ai, a) in actions.into_iter().enumerate() {
                let next = model.next_state(&n.state, a.clone()).expect("enabled");
                let ls = labels(model, &n.state, &a, &next);
                if ls.iter().all(|l| !search.header.is_complete(l.kind()))
                    && n.hidden < search.opts.max_hidden
                    && seen.insert(fingerprint(&next))
                {
                    let mut path = n.path.clone();
                    path.push(ai as u32);
                    queue.push(Node {
                        state: next,
                        path,
                        hidden: n.hidden + 1,
                    });
                }
            }
        }
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
        path: Search::path_of(&finals[0]),
    }
}
