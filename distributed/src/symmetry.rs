//! Symmetry reduction: the state kept for a generated state, and paths of representatives
//! turned back into paths of the model.

use sealcheck_model::{SealModel, State};
use stateright::Model;

use crate::fingerprint::fingerprint;

/// The state the engine keeps for `state`: its representative under server permutations
/// with symmetry reduction, itself otherwise.
pub(crate) fn canonical(symmetry: bool, state: State) -> State {
    if symmetry {
        state.representative()
    } else {
        state
    }
}

/// Turns a path found with symmetry reduction (init-state index, then action indices, each
/// relative to the *representative* of the state it is taken from) into a path of the model
/// itself (each index relative to the concrete state), which `sealcheck replay` replays and
/// whose states are, step by step, permutations of the representatives'. Returns `None` if
/// some step has no matching action (it cannot happen for a representative function that
/// commutes with the model's steps; a `None` means a broken symmetry).
pub fn concretize(model: &SealModel, path: &[usize]) -> Option<Vec<usize>> {
    let (&init, steps) = path.split_first()?;
    let mut state = model.init_states().into_iter().nth(init)?;
    let mut rep = state.representative();
    let mut out = vec![init];
    let mut actions = Vec::new();
    for &a in steps {
        actions.clear();
        model.actions(&rep, &mut actions);
        let action = actions.get(a)?.clone();
        let target = fingerprint(&model.next_state(&rep, action)?.representative());
        actions.clear();
        model.actions(&state, &mut actions);
        let (b, next) = actions.drain(..).enumerate().find_map(|(b, action)| {
            let next = model.next_state(&state, action)?;
            (fingerprint(&next.representative()) == target).then_some((b, next))
        })?;
        out.push(b);
        rep = next.representative();
        state = next;
    }
    Some(out)
}
