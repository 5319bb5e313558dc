//! Traces generated from the model: a counterexample written as a trace (`check
//! --emit-trace`), and random walks (`simulate`). Both use the same labels the validator
//! matches, so a generated trace is a behaviour of the model by construction.

use sealcheck_model::observable::{labels, Observation};
use sealcheck_model::{Action, SealModel, State};
use stateright::Model;

use crate::trace_reader::{Header, Item};

/// The items of a path: the labels of each step, and optionally every observation after it.
pub fn items_of_path(model: &SealModel, actions: &[Action], observe: bool) -> (Vec<Item>, State) {
    let mut state = model.initial_state();
    let mut items = Vec::new();
    if observe {
        items.extend(
            Observation::all_of(model, &state)
                .into_iter()
                .map(Item::Observe),
        );
    }
    for a in actions {
        let next = model
            .next_state(&state, a.clone())
            .expect("every listed action is enabled");
        items.extend(labels(model, &state, a, &next).into_iter().map(Item::Event));
        if observe {
            items.extend(
                Observation::all_of(model, &next)
                    .into_iter()
                    .map(Item::Observe),
            );
        }
        state = next;
    }
    (items, state)
}

/// Whether a state has no successor.
pub fn is_terminal(model: &SealModel, state: &State) -> bool {
    model.is_terminal(state)
}

/// A small deterministic generator (xorshift64*), so that `--seed` reproduces a simulation on
/// every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// A random walk from the initial state to a terminal state (or `max_steps`).
pub fn random_walk(model: &SealModel, rng: &mut Rng, max_steps: usize) -> (Vec<Action>, bool) {
    walk(model, rng, max_steps, false)
}

/// A random walk that takes no `seal()` call before every append was made: long behaviours for
/// benchmarks of trace length.
pub fn random_walk_appending_first(
    model: &SealModel,
    rng: &mut Rng,
    max_steps: usize,
) -> (Vec<Action>, bool) {
    walk(model, rng, max_steps, true)
}

fn walk(
    model: &SealModel,
    rng: &mut Rng,
    max_steps: usize,
    appends_first: bool,
) -> (Vec<Action>, bool) {
    let mut state = model.initial_state();
    let mut path = Vec::new();
    for _ in 0..max_steps {
        let mut acts = Vec::new();
        model.actions(&state, &mut acts);
        if acts.is_empty() {
            return (path, true);
        }
        if appends_first && state.client.appends.len() < model.cfg.appends as usize {
            let others: Vec<Action> = acts
                .iter()
                .filter(|a| {
                    !matches!(
                        a,
                        Action::HarnessCallsSeal | Action::SealRejectedAllProvisioning
                    )
                })
                .cloned()
                .collect();
            if !others.is_empty() {
                acts = others;
            }
        }
        let a = acts.swap_remove(rng.below(acts.len()));
        state = model.next_state(&state, a.clone()).expect("enabled");
        path.push(a);
    }
    let terminal = is_terminal(model, &state);
    (path, terminal)
}

/// Removes the given event kinds from items and from the header's `complete` list.
pub fn hide_kinds(header: &mut Header, items: &mut Vec<Item>, hide: &[String]) {
    if hide.is_empty() {
        return;
    }
    items.retain(|i| !hide.iter().any(|h| h == i.kind()));
    let kinds: Vec<String> = sealcheck_model::observable::Event::KINDS
        .iter()
        .filter(|k| !hide.iter().any(|h| h == *k))
        .map(|k| k.to_string())
        .collect();
    header.complete = kinds;
}
