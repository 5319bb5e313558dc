//! The operator: `restatectl nodes set-storage-state` moves a log server's storage state in the
//! metadata store, a bounded number of times per behaviour.

use super::action::Action;
use super::seal_model::SealModel;
use crate::config::StorageState;
use crate::state::*;

impl SealModel {
    /// Whether `restatectl nodes set-storage-state` accepts moving log server `i` of the
    /// configuration `config` to `to` (`tools/restatectl/.../storage_state.rs`). With
    /// `--force` it accepts anything. Without it: a move to the same state (it still writes a
    /// new version), Provisioning -> Disabled, ReadWrite <-> ReadOnly; and a move to any state
    /// other than ReadWrite only if the other log servers still hold R ReadWrite nodes to form
    /// a nodeset from.
    pub fn operator_may(&self, config: &[StorageState], i: usize, to: StorageState) -> bool {
        use StorageState::*;
        if self.cfg.faults.operator_force {
            return true;
        }
        let from = config[i];
        let pair = from == to
            || matches!(
                (from, to),
                (Provisioning, Disabled) | (ReadWrite, ReadOnly) | (ReadOnly, ReadWrite)
            );
        if !pair {
            return false;
        }
        if to.should_write_to() {
            return true;
        }
        let others = (0..self.n())
            .filter(|&j| j != i && config[j] == ReadWrite)
            .count();
        others >= self.cfg.replication as usize
    }

    /// Guard: every move `restatectl` accepts, while operator moves are left.
    pub(super) fn operator_actions(&self, state: &State, actions: &mut Vec<Action>) {
        if state.operator_moves_left > 0 {
            let latest = state.latest();
            for i in 0..latest.len() {
                for to in StorageState::ALL {
                    if self.operator_may(latest, i, to) {
                        actions.push(Action::OperatorSetsStorageState(i as u8, to));
                    }
                }
            }
        }
    }

    /// Effect of [`Action::OperatorSetsStorageState`]: a new configuration version.
    pub(super) fn operator_sets_storage_state(&self, state: &mut State, i: u8, to: StorageState) {
        state.operator_moves_left -= 1;
        let mut config = state.latest().to_vec();
        config[i as usize] = to;
        self.publish(state, config);
    }
}
