//! The depth-first search for one clean explanation (cheap when a trace conforms, even with
//! many unlogged steps), and its use for "Violations by one explanation" (module essay).

use std::collections::HashSet;

use sealcheck_model::observable::{labels, Event, NodeId, Observation, RejectReason};
use sealcheck_model::state::Msg;
use sealcheck_model::{Action, PropertyKind, State, StorageState};
use stateright::Model;

use super::context::{Context, Limits, Links, LOOKAHEAD};
use super::prune::{clean_tail_stuck, completion_dead, never_holds};
use super::reduce::{canonical_fingerprint, Class};
use super::{model_for, At, ValidateOptions, Verdict, DEPTH_FIRST_MAX_STATES};
use crate::trace_reader::{Header, Item, TraceItem};

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

/// Whether any event of `items` breaks a property whatever the state (then no clean
/// explanation of them exists, and the depth-first search for one is skipped).
pub(super) fn has_step_local_violation(items: &[TraceItem]) -> bool {
    items
        .iter()
        .any(|i| matches!(&i.item, Item::Event(e) if step_local_violation(e).is_some()))
}

/// "Violations by one explanation" (module essay): the first item whose event breaks a
/// property whatever the state; if the scenario's own model explains every item before it with
/// every property kept, and the permissive model explains the item from such a prefix, the
/// verdict is a violation at that item. Returns it, if found, and the states generated.
pub(super) fn one_explanation_violation(
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
    let mut dfs = DepthFirst::new(Context::new(&model, header, opts, limits));
    let found = dfs.search(items, x, false).map(|path| Verdict::Violates {
        property: property.to_string(),
        at: At::of(&items[x], x),
        path,
    });
    (found, dfs.states)
}

/// Whether moving log server `i` to `to` in `state` is a move back to Provisioning that the
/// next items need: a `provisioned` of that server in the window, or, next, a refusal
/// because every member looks Provisioning.
fn needs_provisioning(state: &State, i: u8, to: StorageState, window: &[TraceItem]) -> bool {
    if to != StorageState::Provisioning || state.latest()[i as usize] == StorageState::Provisioning
    {
        return false;
    }
    // A restarted server provisions itself only if it comes back Provisioning: the move may
    // be needed before the restart that precedes its `provisioned`.
    let provisions_soon = window
        .iter()
        .any(|w| matches!(&w.item, Item::Event(Event::Provisioned { node }) if node.0 == i + 1));
    provisions_soon
        || matches!(
            window.first().map(|w| &w.item),
            Some(Item::Event(Event::SealRejected {
                reason: Some(RejectReason::AllProvisioning),
                ..
            })) | Some(Item::Event(Event::OtherSealRefused { .. }))
        )
}

/// Whether the next item is the restart of log server `i` (whose crash must come first).
fn restarts_next(i: u8, window: &[TraceItem]) -> bool {
    matches!(
        window.first().map(|w| &w.item),
        Some(Item::Event(Event::Restarted { node })) if node.0 == i + 1
    )
}

/// Whether the item is an event that starts a seal task (the harness's, another node's, or a
/// find-tail reader's assist).
fn starts_a_seal(item: &Item) -> bool {
    matches!(item, Item::Event(e) if matches!(
        e.kind(),
        "seal-started" | "other-seal-started" | "seal-assist-started"
    ))
}

/// A state on the depth-first stack: the state, items explained, unlogged steps in a row and
/// its parent link.
type Entry = (State, usize, u32, u32);

/// Depth-first search for one behaviour that explains `items[..target]` and keeps every
/// property (and, `to_end`, can end there). Visited (state, item) pairs are not searched twice;
/// states that break a property or took a seeded-bug step are not expanded. Gives up after
/// [`DEPTH_FIRST_MAX_STATES`] (or `max_frontier`) states, or at a time or memory bound.
pub(super) struct DepthFirst<'a> {
    cx: Context<'a>,
    visited: HashSet<(u64, usize)>,
    /// States generated.
    pub(super) states: usize,
    /// The last state of the explanation found (with `to_end`).
    pub(super) witness: Option<State>,
    /// The steps of the explanation found (with `to_end`), from the search's start.
    pub(super) steps: Vec<Action>,
    /// The most items a clean behaviour the search met explained (the furthest it got).
    pub(super) furthest: usize,
    /// Parent links: (parent link, action index); link 0 is the initial state.
    links: Links,
    /// Whether a clean state may break `always` properties (the search for any explanation,
    /// by a forced operator move nobody logged, once none keeps every property).
    pub(super) tolerate: bool,
    /// A seeded bug whose steps the search may take, and the one property they may break
    /// (the search for one explanation of an item only that bug explains).
    pub(super) allow_bug: Option<(sealcheck_model::config::Bug, &'static str)>,
    /// With `allow_bug`: the one log server (index) whose stores past a seal it may take.
    pub(super) bug_server: Option<u8>,
    /// Per item index: the log servers (bit i for N(i+1)) due to crash there ([`crash_due`]).
    due: Vec<u16>,
}

/// Per item index of `items`: the log servers (bit i for N(i+1)) that a later logged
/// `restarted` needs down, that an observation of their tails saw up before (with no restart
/// or logged crash since), and that no observation sees again before that restart. There an
/// unlogged crash of such a server is tried before any other unlogged step: it lands right
/// after the last observation that saw the server up, as a node killed between two
/// snapshots, before the appends that follow send it stores (a crash drops what is in flight
/// to it; what is sent after waits for its restart). Placed as late as possible instead, it
/// drops the stores of every append made in between, which the server's later tails need,
/// and a long loglet has too many other places to try. A server no observation saw up keeps
/// the usual order (nothing tells where its crash belongs). Only the order of the search
/// changes.
fn crash_due(items: &[TraceItem]) -> Vec<u16> {
    let bit = |n: NodeId| {
        (n.0 as u32)
            .checked_sub(1)
            .filter(|i| *i < 16)
            .map_or(0, |i| 1u16 << i)
    };
    let observed = |it: &TraceItem| match &it.item {
        Item::Observe(o @ Observation::ObserveLogServer { .. }) => bit(o.node()),
        _ => 0,
    };
    let restart_or_crash = |it: &TraceItem| match &it.item {
        Item::Event(Event::Restarted { node }) | Item::Event(Event::Crashed { node }) => bit(*node),
        _ => 0,
    };
    // Backward: whose next mention from j on is a logged restart.
    let mut restart_next = vec![0u16; items.len()];
    let mut flags = 0u16;
    for (j, it) in items.iter().enumerate().rev() {
        match &it.item {
            Item::Event(Event::Restarted { node }) => flags |= bit(*node),
            Item::Event(Event::Crashed { node }) => flags &= !bit(*node),
            _ => flags &= !observed(it),
        }
        restart_next[j] = flags;
    }
    // Forward: who was seen up by an observation since the start or their last restart.
    let mut seen = 0u16;
    let mut due = vec![0u16; items.len()];
    for (j, it) in items.iter().enumerate() {
        due[j] = restart_next[j] & seen;
        seen = (seen | observed(it)) & !restart_or_crash(it);
    }
    due
}

/// What expanding one stack entry found: successors to push, or the path of the step that
/// explains the target item (the search is over).
enum Expanded {
    Push {
        hidden: Vec<Entry>,
        consuming: Vec<Entry>,
    },
    Found(String),
}

impl<'a> DepthFirst<'a> {
    /// A search in this context, with nothing visited yet.
    pub(super) fn new(cx: Context<'a>) -> Self {
        DepthFirst {
            cx,
            visited: HashSet::new(),
            states: 0,
            witness: None,
            furthest: 0,
            links: Links::new(),
            tolerate: false,
            allow_bug: None,
            bug_server: None,
            due: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Whether `s` took no seeded-bug step and keeps every `always` property.
    fn clean(&self, s: &State) -> bool {
        let allowed = |name: &str| self.allow_bug.is_some_and(|(_, p)| p == name);
        (s.history.bug_step.is_none() || self.allow_bug.map(|(b, _)| b) == s.history.bug_step)
            && self.cx.model.property_list().iter().all(|p| {
                p.kind != PropertyKind::Always
                    || self.tolerate
                    || allowed(p.name)
                    || (p.condition)(self.cx.model, s)
            })
    }

    /// Whether an explanation may end in `s`: for a complete run, `s` is terminal and keeps
    /// every `eventually` property; otherwise any state may end a prefix.
    fn clean_end(&self, s: &State) -> bool {
        let model = self.cx.model;
        if self.cx.header.run_complete {
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
    pub(super) fn search(
        &mut self,
        items: &[TraceItem],
        target: usize,
        to_end: bool,
    ) -> Option<String> {
        let start = self.cx.model.initial_state();
        self.search_from(start, items, target, to_end)
    }

    /// [`DepthFirst::search`] from `start` instead of the initial state: `start` is where a
    /// clean behaviour may be before `items[0]` (the last state of an explanation of the
    /// items before them).
    pub(super) fn search_from(
        &mut self,
        start: State,
        items: &[TraceItem],
        target: usize,
        to_end: bool,
    ) -> Option<String> {
        // A path explains each append, store and reply on its own: the budget grows with the
        // records a loglet may hold, so that a long pipeline is not cut for its length.
        let per_record = 16 * self.cx.model.cfg.appends as usize;
        // The search for any explanation by a forced move runs after every cheaper pass has
        // rejected the trace, and is the only one that can tell a violation from a
        // divergence there: it gets a larger budget.
        let scale = if self.tolerate { 40 } else { 1 };
        let budget = (scale * DEPTH_FIRST_MAX_STATES + per_record).min(self.cx.opts.max_frontier);
        self.links = Links::new();
        let mut stack: Vec<Entry> = vec![(start, 0, 0, 0)];
        let items = &items[..items.len().min(if to_end { target } else { target + 1 })];
        self.due = crash_due(items);
        while let Some((state, k, hidden, link)) = stack.pop() {
            self.furthest = self.furthest.max(k);
            if self.visited.len() > budget
                || self
                    .cx
                    .limits
                    .check(k, self.visited.len(), self.states)
                    .is_some()
            {
                return None;
            }
            if !self
                .visited
                .insert((canonical_fingerprint(self.cx.model, &state), k))
            {
                continue;
            }
            if to_end && k == items.len() && self.clean_end(&state) {
                self.witness = Some(state);
                self.steps = self.links.actions(link);
                return Some(self.links.path_text(self.cx.model, link));
            }
            let window = &items[k..(k + LOOKAHEAD).min(items.len())];
            let unlogged_first = window.first().is_some_and(|i| starts_a_seal(&i.item));
            match self.expand((state, k, hidden, link), window, target, to_end) {
                Expanded::Found(path) => return Some(path),
                // Before an item that starts a seal task, unlogged steps are tried first: what
                // is in flight usually lands before a seal, and a seal started too early seals
                // members below the tails later observations show. Otherwise the steps that
                // explain the next item are tried first (the stack pops the last push).
                Expanded::Push { hidden, consuming } if unlogged_first => {
                    stack.extend(consuming);
                    stack.extend(hidden);
                }
                Expanded::Push { hidden, consuming } => {
                    stack.extend(hidden);
                    stack.extend(consuming);
                }
            }
        }
        None
    }

    /// The successors of one entry at item `k` (the window's front): the unlogged steps the
    /// stubborn set needs that no observation of the window rules out, and the clean steps
    /// that explain the next items; or, without `to_end`, the path of a step that explains
    /// item `target`.
    fn expand(
        &mut self,
        (state, k, hidden, link): Entry,
        window: &[TraceItem],
        target: usize,
        to_end: bool,
    ) -> Expanded {
        let model = self.cx.model;
        let mut hidden_children = Vec::new();
        let mut late = Vec::new();
        let mut urgent = Vec::new();
        let mut first = Vec::new();
        let mut consuming = Vec::new();
        if let Some(TraceItem {
            item: Item::Observe(o),
            ..
        }) = window.first()
        {
            if o.holds(model, &state) {
                consuming.push((state.clone(), k + 1, 0, link));
            }
            if self.cx.opts.reduce
                && (!self.cx.reachable_unlogged(o, &state) || self.cx.unlogged_blind(o))
            {
                return Expanded::Push {
                    hidden: Vec::new(),
                    consuming,
                };
            }
        }
        let mut actions = Vec::new();
        self.cx.enabled(&state, window, &mut actions);
        let moves = self.cx.moves(&state, actions, window);
        let firsts: Vec<Action> = moves.iter().map(|mv| mv.first().clone()).collect();
        let needed = self.cx.needed(&state, &firsts, window);
        for mv in moves {
            let (base, a) = (mv.base(&state), &mv.action);
            if self.cx.passes_over(base, a, needed.as_ref(), window) {
                continue;
            }
            if let (Some(i), Action::StoreIgnoringSeal(Msg::Store { to, .. })) =
                (self.bug_server, a)
            {
                if *to != i {
                    continue;
                }
            }
            let next = model.next_state(base, a.clone()).expect("enabled");
            self.states += mv.steps() as usize;
            let ls = labels(model, base, a, &next);
            for m in self.cx.consumptions(&ls, window) {
                if !to_end && k + m > target {
                    // The step explains item `target`: the violation is found.
                    let end = self.links.push_move(link, &mv);
                    return Expanded::Found(self.links.path_text(model, end));
                }
                if !self.clean(&next) {
                    continue;
                }
                if m == 0 {
                    if hidden >= self.cx.opts.max_hidden
                        || !needed
                            .as_ref()
                            .is_none_or(|n| n.contains(&Class::of(model, &state, mv.first())))
                    {
                        continue;
                    }
                    // The cuts by a sealed server's tail hold only where no step stores
                    // past a seal.
                    let clean_cuts = self.allow_bug.is_none();
                    let dead = window.iter().any(|i| match &i.item {
                        Item::Observe(o) => {
                            !o.may_still_hold(model, &next)
                                || never_holds(model, o)
                                || (clean_cuts && clean_tail_stuck(model, &next, o))
                        }
                        Item::Event(_) => false,
                    }) || (clean_cuts
                        && completion_dead(model, &next, window, |k| {
                            self.cx.header.is_complete(k)
                        })
                        .is_some());
                    if !dead {
                        let end = self.links.push_move(link, &mv);
                        let child = (next.clone(), k, hidden + mv.steps(), end);
                        // Searching for a forced move nobody logged (module essay, "Inputs
                        // the material lacks"): a move back to Provisioning that the next item
                        // needs is tried first, any other move last.
                        match mv.first() {
                            Action::OperatorSetsStorageState(i, to) if self.tolerate => {
                                if needs_provisioning(&state, *i, *to, window) {
                                    urgent.push(child);
                                } else {
                                    late.push(child);
                                }
                            }
                            // The crash the next item's restart needs is tried first.
                            Action::LogServerCrashes(i)
                                if self.due.get(k).is_some_and(|d| d >> i & 1 == 1) =>
                            {
                                first.push(child)
                            }
                            Action::LogServerCrashes(i) if restarts_next(*i, window) => {
                                urgent.push(child)
                            }
                            // Any other crash is tried last: a crash uses up the budget
                            // that a restart ahead may need.
                            Action::LogServerCrashes(_) => late.push(child),
                            _ => hidden_children.push(child),
                        }
                    }
                } else {
                    let end = self.links.push_move(link, &mv);
                    consuming.push((next.clone(), k + m, 0, end));
                }
            }
        }
        // The stack pops the last push: a crash that is due comes first, then what is in
        // flight lands, then the operator's moves and crashes the next item needs, then the
        // others.
        late.extend(urgent);
        late.extend(hidden_children);
        late.extend(first);
        let hidden_children = late;
        Expanded::Push {
            hidden: hidden_children,
            consuming,
        }
    }
}
