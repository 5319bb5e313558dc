//! The metadata store and the client's snapshot of it. Every change of a storage state
//! publishes a new version of the nodes configuration; the client reads its own local snapshot,
//! which with stale views catches up asynchronously. A test client that joins the cluster
//! (`harness.client = "joining"`) does so after the harness's wait, and its first snapshot is
//! the latest version.

use super::action::Action;
use super::seal_model::SealModel;
use crate::config::{ClientStart, StorageState};
use crate::state::*;

impl SealModel {
    /// Publishes a new nodes-configuration version; without stale views the client sees it at
    /// once.
    pub(super) fn publish(&self, state: &mut State, config: Vec<StorageState>) {
        state.configs.push(config);
        if !self.cfg.stale_views {
            state.client.view = state.version();
        }
    }

    /// Whether the client is a test client that joins the cluster by a step of its own: only
    /// with stale views (without them every snapshot is the latest anyway).
    pub(super) fn client_joins(&self) -> bool {
        self.cfg.stale_views && self.cfg.harness.client == ClientStart::Joining
    }

    /// Guards: the client joins once the harness's wait is over; a joined client's stale
    /// snapshot catches up.
    pub(super) fn client_view_actions(&self, state: &State, actions: &mut Vec<Action>) {
        if !state.client.joined {
            if self.harness_wait_over(state) {
                actions.push(Action::ClientJoins);
            }
        } else if self.cfg.stale_views && state.client.view < state.version() {
            actions.push(Action::ClientViewCatchesUp);
        }
    }

    /// Effects of [`Action::ClientJoins`] and [`Action::ClientViewCatchesUp`].
    pub(super) fn apply_client_view(&self, state: &mut State, action: Action) {
        match action {
            Action::ClientViewCatchesUp => state.client.view = state.version(),
            Action::ClientJoins => {
                state.client.joined = true;
                state.client.view = state.version();
            }
            _ => unreachable!("not a step of the client's view: {action:?}"),
        }
    }
}
