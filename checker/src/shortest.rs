//! Shortest paths to the states a property speaks about.
//!
//! stateright 0.31's BFS keeps replacing an already found discovery while other properties are
//! still open, so the path it reports is often not the shortest (see
//! `../shared/stateright-notes.md`). This module runs its own breadth-first search with parent
//! links and stops at the first state that matches each target, which makes every returned
//! path a shortest one. It also decodes the `0/3/1` path encoding the Explorer uses.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sealcheck_model::model::Deadline;

use stateright::Model;

/// A predicate on (model, state, whether the state has no successor).
pub type Matcher<'a, M> = Box<dyn Fn(&M, &<M as Model>::State, bool) -> bool + 'a>;

/// A predicate on an action.
pub type ActionMatcher<'a, M> = Box<dyn Fn(&<M as Model>::Action) -> bool + 'a>;

/// Which steps a restricted search may take: a predicate on (model, state, action).
pub type Allow<'a, M> = &'a dyn Fn(&M, &<M as Model>::State, &<M as Model>::Action) -> bool;

/// What a search looks for: a predicate on a state and whether it has no successor.
pub struct Target<'a, M: Model> {
    /// A label to report the result under.
    pub name: &'a str,
    /// Matches on (model, state, is_terminal).
    pub matches: Matcher<'a, M>,
}

/// A path found by [`shortest_paths`]: the action indices (as the Explorer encodes them) and
/// the actions.
#[derive(Clone, Debug)]
pub struct FoundPath<A> {
    /// Index of the init state, then the index of each action among `Model::actions`.
    pub indices: Vec<usize>,
    /// The actions taken.
    pub actions: Vec<A>,
}

impl<A> FoundPath<A> {
    /// The Explorer encoding, `0/3/1`.
    pub fn encode(&self) -> String {
        encode(&self.indices)
    }
}

/// Why a search stopped before finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchStop {
    /// It visited its budget of unique states.
    States(usize),
    /// The run's deadline passed or a stop was requested (timeout, Ctrl-C, memory bound of
    /// the run).
    Stopped,
    /// The process's resident memory reached the bound (bytes).
    Memory(u64),
}

impl std::fmt::Display for SearchStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchStop::States(n) => write!(f, "it reached its budget of {n} unique states"),
            SearchStop::Stopped => write!(f, "the run was stopped (time, memory or Ctrl-C)"),
            SearchStop::Memory(m) => write!(
                f,
                "resident memory reached the bound of {}",
                crate::bounds::human_size(*m)
            ),
        }
    }
}

/// The bounds of one search.
#[derive(Clone, Debug)]
pub struct SearchLimits {
    /// Most unique states to visit.
    pub max_states: usize,
    /// Stops when this deadline passes or is stopped.
    pub deadline: Option<Arc<Deadline>>,
    /// Stops when the process's resident memory reaches this many bytes.
    pub max_memory: Option<u64>,
    /// Stops when this flag is set (Ctrl-C).
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl SearchLimits {
    /// A budget of unique states and the default memory bound
    /// ([`crate::bounds::default_max_memory`]), no deadline.
    pub fn states(max_states: usize) -> SearchLimits {
        SearchLimits {
            max_states,
            deadline: None,
            max_memory: crate::bounds::default_max_memory(),
            interrupt: None,
        }
    }
}

/// Result of a search: the path per target name (absent when none was found), and whether the
/// search covered what it had to (`stopped` is `None`) or stopped at one of its limits.
pub struct SearchResult<A> {
    /// Shortest path per target that was found.
    pub found: HashMap<String, FoundPath<A>>,
    /// Unique states visited.
    pub visited: usize,
    /// The search stopped at a limit before finding every target or exhausting the space.
    pub exhausted_budget: bool,
    /// Which limit stopped it.
    pub stopped: Option<SearchStop>,
}

fn fingerprint<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Breadth-first search from the init states for the shortest path to each target. Stops when
/// every target is found, the space is exhausted, or `state_budget` unique states were visited
/// (or the default memory bound was reached: see [`SearchLimits::states`]).
pub fn shortest_paths<M>(
    model: &M,
    targets: &[Target<'_, M>],
    state_budget: usize,
) -> SearchResult<M::Action>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    shortest_paths_within(model, targets, &SearchLimits::states(state_budget))
}

/// [`shortest_paths`] within explicit limits: the state budget, a deadline and an interrupt
/// flag (checked every 1,024 states) and a memory bound (checked every 16,384 states). Paths found before a limit
/// stopped the search are still shortest.
pub fn shortest_paths_within<M>(
    model: &M,
    targets: &[Target<'_, M>],
    limits: &SearchLimits,
) -> SearchResult<M::Action>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    shortest_paths_restricted(model, targets, &[], &|_, _, _| true, limits)
}

/// A step a search looks for: a path whose last step's action matches.
pub struct StepTarget<'a, M: Model> {
    /// A label to report the result under (distinct from every state target's).
    pub name: &'a str,
    /// Matches on the action.
    pub matches: ActionMatcher<'a, M>,
}

/// [`shortest_paths_within`] over the steps `allow` admits only (on model, state, action),
/// also looking for `steps`: for each, a shortest path of admitted steps that ends with a
/// matching one. Whether a state is terminal (for `eventually` targets) counts every action of
/// the model, admitted or not. Action indices in the paths are among all of the model's
/// actions, as the Explorer encodes them.
pub fn shortest_paths_restricted<M>(
    model: &M,
    targets: &[Target<'_, M>],
    steps: &[StepTarget<'_, M>],
    allow: Allow<'_, M>,
    limits: &SearchLimits,
) -> SearchResult<M::Action>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let wanted = targets.len() + steps.len();
    // Step targets found: (the node the step is taken from, the step's action index).
    let mut found_step: HashMap<usize, (u32, u32)> = HashMap::new();
    // nodes[i] = (parent node, action index); roots have parent u32::MAX and the action index is
    // the init-state index.
    let mut nodes: Vec<(u32, u32)> = Vec::new();
    let mut seen: HashMap<u64, ()> = HashMap::new();
    let mut queue: VecDeque<(M::State, u32)> = VecDeque::new();
    let mut found_at: HashMap<usize, u32> = HashMap::new();
    let mut stopped = None;
    let must_stop = || {
        limits.deadline.as_ref().is_some_and(|d| d.check())
            || limits
                .interrupt
                .as_ref()
                .is_some_and(|i| i.load(Ordering::Relaxed))
    };
    if must_stop() {
        stopped = Some(SearchStop::Stopped);
    } else {
        for (i, s) in model.init_states().into_iter().enumerate() {
            if let Entry::Vacant(e) = seen.entry(fingerprint(&s)) {
                e.insert(());
                nodes.push((u32::MAX, i as u32));
                queue.push_back((s, nodes.len() as u32 - 1));
            }
        }
    }
    let mut actions = Vec::new();
    let mut expanded: usize = 0;
    while stopped.is_none() {
        let Some((state, node)) = queue.pop_front() else {
            break;
        };
        actions.clear();
        model.actions(&state, &mut actions);
        let terminal = actions.is_empty();
        for (t, target) in targets.iter().enumerate() {
            if !found_at.contains_key(&t) && (target.matches)(model, &state, terminal) {
                found_at.insert(t, node);
            }
        }
        if found_at.len() + found_step.len() == wanted {
            break;
        }
        for (ai, action) in actions.drain(..).enumerate() {
            if !allow(model, &state, &action) {
                continue;
            }
            let matching: Vec<usize> = (0..steps.len())
                .filter(|t| !found_step.contains_key(t) && (steps[*t].matches)(&action))
                .collect();
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            for t in matching {
                found_step.insert(t, (node, ai as u32));
            }
            if let Entry::Vacant(e) = seen.entry(fingerprint(&next)) {
                e.insert(());
                nodes.push((node, ai as u32));
                queue.push_back((next, nodes.len() as u32 - 1));
            }
        }
        expanded += 1;
        if nodes.len() >= limits.max_states {
            stopped = Some(SearchStop::States(limits.max_states));
        } else if expanded % 1024 == 0 && must_stop() {
            stopped = Some(SearchStop::Stopped);
        } else if expanded % 16_384 == 0 {
            if let Some(max) = limits.max_memory {
                if crate::bounds::rss_bytes().is_some_and(|r| r >= max) {
                    stopped = Some(SearchStop::Memory(max));
                }
            }
        }
    }
    // A limit that stopped the search after it found everything changes nothing.
    if found_at.len() + found_step.len() == wanted {
        stopped = None;
    }
    drop(queue);
    drop(seen);
    let path_to = |node: u32| {
        let mut indices = Vec::new();
        let mut n = node;
        loop {
            let (parent, idx) = nodes[n as usize];
            indices.push(idx as usize);
            if parent == u32::MAX {
                break;
            }
            n = parent;
        }
        indices.reverse();
        indices
    };
    let mut found = HashMap::new();
    for (t, node) in found_at {
        let indices = path_to(node);
        let actions = decode(model, &indices).expect("a path the search found replays");
        found.insert(targets[t].name.to_string(), FoundPath { indices, actions });
    }
    for (t, (node, ai)) in found_step {
        let mut indices = path_to(node);
        indices.push(ai as usize);
        let actions = decode(model, &indices).expect("a path the search found replays");
        found.insert(steps[t].name.to_string(), FoundPath { indices, actions });
    }
    SearchResult {
        found,
        visited: nodes.len(),
        exhausted_budget: stopped.is_some(),
        stopped,
    }
}

/// Encodes action indices as the Explorer does: `0/3/1`.
pub fn encode(indices: &[usize]) -> String {
    indices
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why an encoded path does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not of the form `0/3/1`.
    #[error("`{0}` is not a path: expected numbers separated by `/`, such as 0/3/1")]
    Malformed(String),
    /// Index `index` at position `position` names no init state or action.
    #[error(
        "step {position} of the path names action {index}, but only {} possible there",
        match available { 1 => "1 is".to_string(), n => format!("{n} are") }
    )]
    NoSuchAction {
        /// Position in the path (0 = the init state).
        position: usize,
        /// The index given.
        index: usize,
        /// How many choices there were.
        available: usize,
    },
}

/// Parses `0/3/1` into indices.
pub fn parse_path(text: &str) -> Result<Vec<usize>, PathError> {
    let t = text.trim().trim_matches('/');
    if t.is_empty() {
        return Err(PathError::Malformed(text.to_string()));
    }
    // Only ASCII digits: `usize::from_str` alone would also take `+1` for `1`.
    t.split('/')
        .map(|p| {
            Some(p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<usize>().ok())
                .ok_or_else(|| PathError::Malformed(text.to_string()))
        })
        .collect()
}

/// Replays action indices from the init state, returning the actions.
pub fn decode<M>(model: &M, indices: &[usize]) -> Result<Vec<M::Action>, PathError>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone,
{
    let Some((&init, rest)) = indices.split_first() else {
        return Err(PathError::Malformed(String::new()));
    };
    let inits = model.init_states();
    let mut state = inits.get(init).cloned().ok_or(PathError::NoSuchAction {
        position: 0,
        index: init,
        available: inits.len(),
    })?;
    let mut out = Vec::new();
    for (pos, &i) in rest.iter().enumerate() {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let available = actions.len();
        let action = actions.into_iter().nth(i).ok_or(PathError::NoSuchAction {
            position: pos + 1,
            index: i,
            available,
        })?;
        out.push(action.clone());
        if let Some(next) = model.next_state(&state, action) {
            state = next;
        }
    }
    Ok(out)
}

/// Replays action indices and returns every state along the path (init first).
pub fn states_along<M>(model: &M, indices: &[usize]) -> Result<Vec<M::State>, PathError>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone,
{
    let actions = decode(model, indices)?;
    let mut state = model.init_states()[indices[0]].clone();
    let mut out = vec![state.clone()];
    for a in actions {
        if let Some(next) = model.next_state(&state, a) {
            state = next;
        }
        out.push(state.clone());
    }
    Ok(out)
}
