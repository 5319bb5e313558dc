//! The breadth-first search that tells violations from divergences: it streams the trace with a
//! window of [`LOOKAHEAD`] items and holds, per item index, the layer of entry states that
//! explain the items before it (module essay, "How the search works" and reduction 1).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use rayon::prelude::*;
use sealcheck_model::observable::{labels, Event};
use sealcheck_model::{Action, PropertyKind, State};
use stateright::Model;

use super::context::{Context, Limits, Links, Move, LOOKAHEAD};
use super::reduce::{dominated, fingerprint_of, Class, Marks};
use super::{memory_mib, model_for, At, Outcome, ValidateOptions, Verdict};
use crate::trace_reader::{Header, Item, TraceError, TraceItem, TraceReader};

/// A state the search holds: the state, its parent link and how many unlogged steps in a row
/// led to it.
#[derive(Clone)]
struct Node {
    state: State,
    /// Index into the parent links; 0 is the initial state.
    link: u32,
    /// Length of the path.
    depth: u32,
    /// Unlogged steps in a row that led to it (bounded by `max_hidden`).
    hidden: u32,
}

/// Frontier states per item index, ordered by fingerprint (so every run visits them in the
/// same order).
type Layer = BTreeMap<u64, Node>;

/// The [`Marks`] of the states met, by the rest of their fingerprint.
type Twins = HashMap<u64, Vec<Marks>>;

/// Successors of a node (items consumed, state, action index, unlogged steps in a row),
/// whether `max_hidden` cut one, and the furthest observation that pruned one ahead.
/// Most nodes of a closure expanded (in parallel) between two checks of the bounds.
const BATCH: usize = 1024;

/// The last element is set when a step of the abstract model needed a known global tail it
/// does not keep ([`sealcheck_model::SealModel::store_ambiguous`]).
type Expansion = (
    Vec<(usize, State, Option<Move>, u32)>,
    bool,
    Option<usize>,
    bool,
);

/// Where the search reads its items from: a trace file, streamed, or items already in memory
/// (the localization searches prefixes of the items it read once).
pub(super) enum Items<'t> {
    /// The rest of an open trace file.
    Reader(Box<TraceReader>),
    /// The rest of a trace's items in memory.
    Slice(std::slice::Iter<'t, TraceItem>),
}

impl Items<'_> {
    /// The next item, an error if the file has a malformed line, or `None` at the end.
    fn next_item(&mut self) -> Option<Result<TraceItem, TraceError>> {
        match self {
            Items::Reader(r) => r.next_item(),
            Items::Slice(s) => s.next().cloned().map(Ok),
        }
    }
}

/// One breadth-first search over `items[..limit]` (all of them without a limit; a prefix is
/// never a complete run) of a trace with this header, pruning states ahead of the next item by
/// observations at indices below `prune_before`. Returns the outcome and the furthest
/// observation that pruned ahead.
pub(super) fn run(
    items: Items<'_>,
    header: &Header,
    file: &str,
    opts: &ValidateOptions,
    start: Instant,
    limit: Option<usize>,
    prune_before: usize,
) -> Result<(Outcome, Option<usize>), TraceError> {
    run_model(items, header, file, opts, start, limit, prune_before, false)
}

/// The start of the reason of a search of the abstract model that stopped at a step it cannot
/// take faithfully.
pub(super) const AMBIGUOUS: &str = "abstract tails";

/// [`run`], on the model with abstract known global tails
/// ([`sealcheck_model::SealModel::with_abstract_tails`]) if `abstract_tails`: such a search
/// stops, inconclusive with a reason starting with [`AMBIGUOUS`], at a step whose effect
/// depends on a tail it does not keep.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_model(
    mut items: Items<'_>,
    header: &Header,
    file: &str,
    opts: &ValidateOptions,
    start: Instant,
    limit: Option<usize>,
    prune_before: usize,
    abstract_tails: bool,
) -> Result<(Outcome, Option<usize>), TraceError> {
    let mut header = header.clone();
    if limit.is_some() {
        header.run_complete = false;
    }
    let mut model = model_for(&header, opts.permissive);
    if abstract_tails {
        model = model.with_abstract_tails();
    }
    let limits = Limits::new(opts, start, file.to_string(), Instant::now());
    let mut bfs = BreadthFirst::new(
        Context::new(&model, &header, opts, &limits),
        limit,
        prune_before,
    );
    let verdict = bfs.walk(&mut items)?;
    let verdict = bfs.settle(verdict);
    // Read the rest of the file so that a malformed line is never passed over.
    let mut read = bfs.base + bfs.window.len();
    if limit.is_none() {
        while let Some(r) = items.next_item() {
            r?;
            read += 1;
        }
    }
    let (max_frontier, states, pruned_ahead) = (bfs.max_frontier, bfs.states, bfs.pruned_ahead);
    let outcome = Outcome {
        file: file.to_string(),
        verdict,
        items: read,
        max_frontier,
        states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        method: "breadth-first",
        header: Some(header.clone()),
        witness: None,
    };
    Ok((outcome, pruned_ahead))
}

/// The breadth-first search of one trace (or prefix): its context, the layers of states per
/// item index, the lookahead window, and what it has counted and learned so far.
struct BreadthFirst<'a> {
    cx: Context<'a>,
    /// Items to read at most (a prefix), or `None` for the whole trace.
    limit: Option<usize>,
    /// Observations at indices below this bound prune states ahead of the next item.
    prune_before: usize,
    /// Frontier layers by the index of the item they explain next.
    layers: BTreeMap<usize, Layer>,
    /// The items from `base` on that have been read (at most [`LOOKAHEAD`]).
    window: Vec<TraceItem>,
    /// Index of the window's first item: the item being explained.
    base: usize,
    /// Items read so far.
    read: usize,
    /// Whether the items (or the prefix) are all read.
    eof: bool,
    /// The last item explained.
    last_item: Option<TraceItem>,
    /// The first item after which only behaviours with seeded-bug steps explain the trace.
    only_buggy: Option<(At, &'static str)>,
    /// States generated.
    states: usize,
    /// Largest number of states held for one item.
    max_frontier: usize,
    /// Parent links of the states held.
    links: Links,
    /// Whether `max_hidden` cut an unlogged path somewhere.
    cut_hidden: bool,
    /// The furthest observation (absolute index) that pruned a state ahead of the next item.
    pruned_ahead: Option<usize>,
    /// Set when a prefix ended with explanations that all break properties but no property in
    /// common (the prefix is then not rejected).
    mixed_violations: bool,
}

impl<'a> BreadthFirst<'a> {
    /// A search whose only layer is the initial state, before item 0.
    fn new(cx: Context<'a>, limit: Option<usize>, prune_before: usize) -> Self {
        let init = cx.model.initial_state();
        let mut first = Layer::new();
        first.insert(
            cx.fingerprint(&init),
            Node {
                state: init,
                link: 0,
                depth: 0,
                hidden: 0,
            },
        );
        BreadthFirst {
            cx,
            limit,
            prune_before,
            layers: BTreeMap::from([(0, first)]),
            window: Vec::new(),
            base: 0,
            read: 0,
            eof: false,
            last_item: None,
            only_buggy: None,
            states: 0,
            max_frontier: 1,
            links: Links::new(),
            cut_hidden: false,
            pruned_ahead: None,
            mixed_violations: false,
        }
    }

    /// Explains the items one at a time until a verdict is reached.
    fn walk(&mut self, items: &mut Items<'_>) -> Result<Verdict, TraceError> {
        loop {
            self.fill_window(items)?;
            if let Some(v) = self.advance() {
                return Ok(v);
            }
        }
    }

    /// Reads items until the window holds [`LOOKAHEAD`] of them or the trace (or prefix) ends.
    fn fill_window(&mut self, items: &mut Items<'_>) -> Result<(), TraceError> {
        while !self.eof && self.window.len() < LOOKAHEAD {
            if self.limit.is_some_and(|l| self.read >= l) {
                self.eof = true;
                break;
            }
            match items.next_item() {
                None => self.eof = true,
                Some(Err(e)) => return Err(e),
                Some(Ok(item)) => {
                    self.read += 1;
                    self.window.push(item)
                }
            }
        }
        Ok(())
    }

    /// Explains the window's front item from the layer before it, then moves past it. Decides
    /// the verdict when the trace ends, a bound stops the search, nothing explains the item,
    /// or every explanation of it breaks a property.
    fn advance(&mut self) -> Option<Verdict> {
        let base = self.base;
        let cur = self.layers.remove(&base).unwrap_or_default();
        if self.window.is_empty() {
            return Some(self.finish(cur));
        }
        if !cur.is_empty() {
            let (out, closure) = match self.step(cur) {
                Ok(x) => x,
                Err(reason) => {
                    return Some(Verdict::Inconclusive {
                        at: At::of(&self.window[0], base),
                        reason: format!("{reason}, at item {base}"),
                    })
                }
            };
            for (m, nodes) in out {
                let layer = self.layers.entry(base + m).or_default();
                for (fp, n) in nodes {
                    layer.entry(fp).or_insert(n);
                }
            }
            if self.layers.is_empty() {
                let at = At::of(&self.window[0], base);
                return Some(self.diverges(at, base, &closure, self.next_item()));
            }
        } else if self.layers.is_empty() {
            // Nothing explains this item (the frontier died at an earlier multi-item step).
            let at = At::of(&self.window[0], base);
            return Some(self.diverges(at, base, &[], self.next_item()));
        }
        let consumed = self.window.remove(0);
        self.base += 1;
        let verdict = self.judge_layer(&consumed);
        self.last_item = Some(consumed);
        verdict
    }

    /// The item being explained, if any.
    fn next_item(&self) -> Option<&Item> {
        self.window.first().map(|i| &i.item)
    }

    /// After `consumed` was explained: a violation if every state of the next layer breaks the
    /// same property; and notes the first item after which only seeded-bug steps that break no
    /// property explain the trace.
    fn judge_layer(&mut self, consumed: &TraceItem) -> Option<Verdict> {
        let base = self.base;
        let layer = self.layers.get(&base)?;
        if let Some(p) = self.violated_by_all(layer.values()) {
            let node = shortest(layer.values()).expect("non-empty");
            return Some(Verdict::Violates {
                property: p,
                at: At::of(consumed, base - 1),
                path: self.path_of(node),
            });
        }
        // Only seeded-bug steps explain the items so far, and none of them breaks a property
        // (explanations that break properties are judged by them, not as a divergence).
        let model = self.cx.model;
        let all_buggy = self.layers.values().flat_map(|l| l.values()).all(|n| {
            n.state.history.bug_step.is_some()
                && model
                    .property_list()
                    .iter()
                    .all(|p| p.kind != PropertyKind::Always || (p.condition)(model, &n.state))
        });
        if all_buggy && self.only_buggy.is_none() {
            let bug = layer
                .values()
                .find_map(|n| n.state.history.bug_step)
                .map(|b| b.name())
                .unwrap_or("?");
            self.only_buggy = Some((At::of(consumed, base - 1), bug));
        }
        None
    }

    /// The verdict as the search proved it: explained only by seeded-bug steps is a
    /// divergence; a rejection cut by `max_hidden` is inconclusive; a violation at the end of
    /// a prefix is at its last item.
    fn settle(&self, verdict: Verdict) -> Verdict {
        let base = self.base;
        // Explained only by seeded-bug steps that break no property: still not a behaviour of
        // the scenario's model.
        let verdict = match (verdict, self.only_buggy.clone()) {
            // A prefix whose explanations all break properties, not one in common.
            (v @ Verdict::Conforms { .. }, _) if self.mixed_violations => v,
            (Verdict::Conforms { explanations: 0 }, None) => Verdict::Diverges {
                explained: base,
                allowed: vec![
                    "the run cannot end here without a seeded-bug step; the scenario's behaviours would continue".into(),
                ],
                candidates: Vec::new(),
                path: "0".into(),
                at: At::end(base),
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
            Verdict::Diverges { at, .. } | Verdict::Violates { at, .. } if self.cut_hidden => {
                Verdict::Inconclusive {
                    reason: format!(
                        "unlogged paths longer than {} steps were cut (--max-hidden) before item {}; no verdict is proved",
                        self.cx.opts.max_hidden, at.index
                    ),
                    at,
                }
            }
            v => v,
        };
        // The end of a prefix is its last item, not the end of the trace.
        match (verdict, &self.last_item, self.limit) {
            (Verdict::Violates { property, at, path }, Some(last), Some(_)) if at.line == 0 => {
                Verdict::Violates {
                    property,
                    at: At::of(last, at.index),
                    path,
                }
            }
            (v, _, _) => v,
        }
    }

    /// Successors of a node for the window's front item: (items consumed, state, action
    /// index, unlogged steps in a row), whether `max_hidden` cut one, and the furthest
    /// observation that pruned one ahead.
    fn expand(&self, node: &Node) -> Expansion {
        let (cx, window, base) = (&self.cx, &self.window[..], self.base);
        let mut out = Vec::new();
        let mut cut = false;
        // The furthest observation (absolute index) that pruned a successor ahead of the next
        // item.
        let mut pruned_ahead: Option<usize> = None;
        if let Some(Item::Observe(o)) = self.next_item() {
            if o.holds(cx.model, &node.state) {
                out.push((1, node.state.clone(), None, 0));
            }
            if cx.opts.reduce && (!cx.reachable_unlogged(o, &node.state) || cx.unlogged_blind(o)) {
                // No unlogged path leads to a state the observation sees, or no unlogged step
                // changes what it sees (then every unlogged step can be taken after it).
                return (out, cut, pruned_ahead, false);
            }
        }
        let mut actions = Vec::new();
        cx.enabled(&node.state, window, &mut actions);
        let moves = cx.moves(&node.state, actions, window);
        let firsts: Vec<Action> = moves.iter().map(|mv| mv.first().clone()).collect();
        let needed = cx.needed(&node.state, &firsts, window);
        let mut ambiguous = false;
        for mv in moves {
            let (from, a) = (mv.base(&node.state), &mv.action);
            if cx.passes_over(from, a, needed.as_ref(), window) {
                continue;
            }
            if cx.model.store_ambiguous(from, a) {
                ambiguous = true;
                continue;
            }
            let Some(next) = cx.model.next_state(from, a.clone()) else {
                continue;
            };
            let ls = labels(cx.model, from, a, &next);
            for m in cx.consumptions(&ls, window) {
                if m == 0 {
                    if !needed
                        .as_ref()
                        .is_none_or(|n| n.contains(&Class::of(cx.model, &node.state, mv.first())))
                    {
                        continue;
                    }
                    if node.hidden >= cx.opts.max_hidden {
                        cut = true;
                        continue;
                    }
                    // Tails and seal flags never move back: a state already past what the next
                    // observation sees can never explain it.
                    let dead = match self.next_item() {
                        Some(Item::Observe(o)) => {
                            !o.may_still_hold(cx.model, &next)
                                || (cx.opts.reduce && !cx.reachable_unlogged(o, &next))
                        }
                        _ => false,
                    };
                    if dead {
                        continue;
                    }
                }
                // Pruning ahead ("Pruning by later observations" in the module essay): nor
                // can it explain a later observation it is already past.
                if let Some(j) = cx.dead_ahead(&next, window, base, m, self.prune_before) {
                    pruned_ahead = pruned_ahead.max(Some(j));
                    continue;
                }
                let hidden = if m == 0 { node.hidden + mv.steps() } else { 0 };
                let step = Move {
                    before: mv.before.clone(),
                    from: None,
                    action: mv.action.clone(),
                };
                out.push((m, next.clone(), Some(step), hidden));
            }
        }
        (out, cut, pruned_ahead, ambiguous)
    }

    /// Expands a frontier at the front item: returns the nodes per number of items consumed
    /// (>= 1) and a sample of the closure (for diagnostics), or the bound that stopped it.
    #[allow(clippy::type_complexity)]
    fn step(&mut self, frontier: Layer) -> Result<(BTreeMap<usize, Layer>, Vec<Node>), String> {
        let item = self.base;
        let mut seen: HashSet<u64> = frontier.keys().copied().collect();
        // The marks of the states met, by the rest of their fingerprint: a state whose twin
        // with a subset of its marks was met is dominated and dropped ("Dominated
        // explanations" in the module essay); in the closure, and per layer of the next items
        // (where a state that dominates one already there also takes its place).
        let mut twins: Twins = Twins::new();
        for n in frontier.values() {
            if let Some((rest, mk)) = self.cx.parts(&n.state) {
                twins.entry(rest).or_default().push(mk);
            }
        }
        let mut out_twins: BTreeMap<usize, Twins> = BTreeMap::new();
        let mut queue: Vec<Node> = frontier.into_values().collect();
        let mut sample: Vec<Node> = Vec::new();
        let mut out: BTreeMap<usize, Layer> = BTreeMap::new();
        while !queue.is_empty() {
            // At most BATCH nodes are expanded between two checks of the bounds, so that a
            // closure of millions of states stops near its time or memory limit. Children go
            // after the rest of the queue, so the order is that of one batch per level.
            let rest = queue.split_off(BATCH.min(queue.len()));
            let batch = std::mem::replace(&mut queue, rest);
            if let Some(reason) = self
                .cx
                .limits
                .check(item, seen.len() + out.len(), self.states)
            {
                return Err(reason);
            }
            let results: Vec<Expansion> = if batch.len() >= 256 {
                batch.par_iter().map(|n| self.expand(n)).collect()
            } else {
                batch.iter().map(|n| self.expand(n)).collect()
            };
            for (parent, (children, cut, ahead, ambiguous)) in batch.iter().zip(results) {
                if ambiguous {
                    return Err(format!(
                        "{AMBIGUOUS}: a store past its server's local tail, whose answer depends on a known global tail the abstract model does not keep"
                    ));
                }
                self.cut_hidden |= cut;
                self.pruned_ahead = self.pruned_ahead.max(ahead);
                for (m, state, action, hidden) in children {
                    self.states += 1;
                    if let Some(reason) =
                        self.cx
                            .limits
                            .check(item, seen.len() + out.len(), self.states)
                    {
                        return Err(reason);
                    }
                    let parts = self.cx.parts(&state);
                    let fp = match parts {
                        Some((rest, mk)) => fingerprint_of(rest, mk),
                        None => self.cx.fingerprint(&state),
                    };
                    let depth = parent.depth + action.as_ref().map_or(0, |mv| mv.steps());
                    let mut make = |state: State| {
                        let link = match &action {
                            Some(mv) => self.links.push_move(parent.link, mv),
                            None => parent.link,
                        };
                        Node {
                            state,
                            link,
                            depth,
                            hidden,
                        }
                    };
                    if m == 0 {
                        if let Some((rest, mk)) = parts {
                            let met = twins.entry(rest).or_default();
                            if met.iter().any(|&by| dominated(mk, by)) {
                                continue;
                            }
                            met.push(mk);
                        }
                        if seen.insert(fp) {
                            if seen.len() > self.cx.opts.max_frontier {
                                return Err(format!(
                                    "more than {} states explain the trace at this point (--max-frontier)",
                                    self.cx.opts.max_frontier
                                ));
                            }
                            queue.push(make(state));
                        }
                    } else {
                        let layer = out.entry(m).or_default();
                        if let Some((rest, mk)) = parts {
                            let met = out_twins.entry(m).or_default().entry(rest).or_default();
                            if met.iter().any(|&by| dominated(mk, by)) {
                                continue;
                            }
                            // The ones it dominates leave the layer.
                            met.retain(|&other| {
                                let keep = !dominated(other, mk);
                                if !keep {
                                    layer.remove(&fingerprint_of(rest, other));
                                }
                                keep
                            });
                            met.push(mk);
                        }
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
        self.cx
            .model
            .property_list()
            .iter()
            .filter(|p| p.kind == PropertyKind::Always)
            .find(|p| {
                nodes
                    .clone()
                    .all(|n| !(p.condition)(self.cx.model, &n.state))
            })
            .map(|p| p.name.to_string())
    }

    /// The Explorer path of a node.
    fn path_of(&self, node: &Node) -> String {
        self.links.path_text(self.cx.model, node.link)
    }

    /// The divergence at `at`, after `explained` items: what the candidate states of the
    /// closure would have allowed instead of the next item, a few of them described, and the
    /// shortest path to one.
    fn diverges(&self, at: At, explained: usize, closure: &[Node], next: Option<&Item>) -> Verdict {
        Verdict::Diverges {
            at,
            explained,
            candidates: self.candidates(closure),
            allowed: self.allowed(closure, next),
            path: shortest(closure.iter())
                .map(|n| self.path_of(n))
                .unwrap_or_else(|| "0".into()),
        }
    }

    /// What the model would have allowed instead of the item `next` (at most 24 distinct
    /// lines): what the observation would have seen in each candidate, or the logged events
    /// its steps could have labelled, named after the trace's own nodes.
    fn allowed(&self, closure: &[Node], next: Option<&Item>) -> Vec<String> {
        let (model, header) = (self.cx.model, self.cx.header);
        let mut allowed: Vec<String> = Vec::new();
        let mut push = |s: String| {
            if !allowed.contains(&s) && allowed.len() < 24 {
                allowed.push(s);
            }
        };
        for n in closure.iter().take(2000) {
            if let Some(Item::Observe(o)) = next {
                push(format!(
                    "observation would see {}",
                    serde_json::to_string(&o.actual(model, &n.state)).expect("json")
                ));
                continue;
            }
            let mut actions = Vec::new();
            model.actions(&n.state, &mut actions);
            for a in actions {
                let next = model.next_state(&n.state, a.clone()).expect("enabled");
                for mut l in labels(model, &n.state, &a, &next) {
                    if header.is_complete(l.kind()) {
                        self.name_trace_node(&mut l);
                        push(serde_json::to_string(&l).expect("json"));
                    }
                }
            }
        }
        if allowed.is_empty() {
            allowed.push("nothing: every candidate state is terminal".to_string());
        }
        allowed
    }

    /// Names the trace's own node in a label, not the model's client.
    fn name_trace_node(&self, l: &mut Event) {
        let roles = &self.cx.header.roles;
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
    }

    /// Up to three distinct candidate states of the closure, one fact per line, with a note
    /// mapping the model's client to the trace's sealer and sequencer.
    fn candidates(&self, closure: &[Node]) -> Vec<Vec<String>> {
        let model = self.cx.model;
        let roles = &self.cx.header.roles;
        let mut candidates: Vec<Vec<String>> = Vec::new();
        for n in closure {
            let mut lines = sealcheck_model::describe::state(model, &n.state);
            if roles.sealer.is_some() || roles.sequencer.is_some() {
                lines.push(format!(
                    "(N{} is the model's client: the trace's sealer {} and sequencer {})",
                    model.cfg.client,
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
        candidates
    }

    /// The end of the trace: some explanation must keep every property; for a complete run the
    /// behaviour must also be able to stop there, and `eventually` properties are judged.
    fn finish(&mut self, cur: Layer) -> Verdict {
        let items = self.base;
        let finals: Vec<Node> = cur.into_values().collect();
        if finals.is_empty() {
            return self.diverges(At::end(items), items, &[], None);
        }
        if !self.cx.header.run_complete {
            return self.judge_end(finals);
        }
        match self.terminal_states(&finals) {
            Ok(terminal) if terminal.is_empty() => {
                self.diverges(At::end(items), items, &finals, None)
            }
            Ok(terminal) => self.judge_end(terminal),
            Err(v) => v,
        }
    }

    /// A complete run: the terminal states the final states reach by unlogged steps (unlogged
    /// steps may still happen before the run stops), or the inconclusive verdict of a bound.
    fn terminal_states(&mut self, finals: &[Node]) -> Result<Vec<Node>, Verdict> {
        let (model, items) = (self.cx.model, self.base);
        let mut seen: HashSet<u64> = finals
            .iter()
            .map(|n| self.cx.fingerprint(&n.state))
            .collect();
        let mut queue: VecDeque<Node> = finals.iter().cloned().collect();
        let mut terminal = Vec::new();
        while let Some(n) = queue.pop_front() {
            self.states += 1;
            if let Some(reason) = self.cx.limits.check(items, seen.len(), self.states) {
                return Err(Verdict::Inconclusive {
                    at: At::end(items),
                    reason: format!("{reason}, at the end of the trace"),
                });
            }
            let mut actions = Vec::new();
            model.actions(&n.state, &mut actions);
            if actions.is_empty() {
                terminal.push(n);
                continue;
            }
            for a in actions {
                let next = model.next_state(&n.state, a.clone()).expect("enabled");
                let ls = labels(model, &n.state, &a, &next);
                if ls.iter().any(|l| self.cx.header.is_complete(l.kind())) {
                    continue;
                }
                if n.hidden >= self.cx.opts.max_hidden {
                    self.cut_hidden = true;
                    continue;
                }
                if seen.insert(self.cx.fingerprint(&next)) {
                    if seen.len() > self.cx.opts.max_frontier {
                        return Err(Verdict::Inconclusive {
                            at: At::end(items),
                            reason: format!(
                                "more than {} states end the trace (--max-frontier), at the end of the trace",
                                self.cx.opts.max_frontier
                            ),
                        });
                    }
                    let link = self.links.push(n.link, a);
                    queue.push_back(Node {
                        state: next,
                        link,
                        depth: n.depth + 1,
                        hidden: n.hidden + 1,
                    });
                }
            }
        }
        self.max_frontier = self.max_frontier.max(seen.len());
        Ok(terminal)
    }

    /// The verdict on the states that end the trace: conforms if one is clean; else violates
    /// the property every one breaks (an `always` one first, then an `eventually` one for a
    /// complete run), or the one most of them break; `Conforms { explanations: 0 }` if they
    /// break nothing but took seeded-bug steps (the caller turns that into a divergence).
    fn judge_end(&mut self, finals: Vec<Node>) -> Verdict {
        let (model, complete) = (self.cx.model, self.cx.header.run_complete);
        let clean = |n: &Node| {
            n.state.history.bug_step.is_none()
                && model.property_list().iter().all(|p| match p.kind {
                    PropertyKind::Always => (p.condition)(model, &n.state),
                    PropertyKind::Eventually => !complete || (p.condition)(model, &n.state),
                    PropertyKind::Sometimes => true,
                })
        };
        let clean_count = finals.iter().filter(|n| clean(n)).count();
        if clean_count > 0 {
            return Verdict::Conforms {
                explanations: clean_count,
            };
        }
        // An `eventually` property is judged only at the end of a complete run: a prefix, or
        // a run that was cut, may still reach what it waits for.
        let judged = |p: &&sealcheck_model::PropertyInfo| match p.kind {
            PropertyKind::Always => true,
            PropertyKind::Eventually => complete,
            PropertyKind::Sometimes => false,
        };
        let property = self.violated_by_all(finals.iter()).or_else(|| {
            model
                .property_list()
                .iter()
                .filter(|p| p.kind == PropertyKind::Eventually && complete)
                .find(|p| finals.iter().all(|n| !(p.condition)(model, &n.state)))
                .map(|p| p.name.to_string())
        });
        if property.is_none() && self.limit.is_some() {
            // A prefix (a localization probe) whose explanations all took seeded-bug steps but
            // break no property in common is not rejected yet: the items after it may leave
            // only explanations that break one property, and the verdict is where they do.
            self.mixed_violations = true;
            return Verdict::Conforms {
                explanations: finals.len(),
            };
        }
        let property = property.or_else(|| {
            // Every explanation breaks some property, not all the same one: name the most
            // common.
            model
                .property_list()
                .iter()
                .filter(judged)
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
                index: self.base.saturating_sub(1),
                line: 0,
                text: "<end of trace>".to_string(),
            },
            path: self.path_of(shortest(finals.iter()).expect("non-empty")),
        }
    }
}

/// The node with the shortest path (ties: the first in order).
fn shortest<'n>(nodes: impl Iterator<Item = &'n Node>) -> Option<&'n Node> {
    nodes.min_by_key(|n| n.depth)
}
