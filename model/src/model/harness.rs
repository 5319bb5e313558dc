//! The test harness around the seal: Restate's `three_logserver_seal_empty` waits (or not)
//! until no nodeset member looks Provisioning, optionally asks `get_trim_point()` first, and
//! then calls `seal()`. Its calls of `seal()` (and their retries) are the seal task's steps
//! ([`super::seal_task`]); here are the wait and the trim point.

use super::action::Action;
use super::seal_model::SealModel;
use crate::config::{HarnessKind, StorageState};
use crate::state::*;

impl SealModel {
    /// Whether the harness's wait before the test body is over: `wait-provisioned` waits
    /// until the metadata store shows no nodeset member Provisioning.
    pub(super) fn harness_wait_over(&self, state: &State) -> bool {
        match self.cfg.harness.kind {
            HarnessKind::WaitProvisioned => {
                let latest = state.latest();
                self.members()
                    .all(|i| latest[i] != StorageState::Provisioning)
            }
            _ => true,
        }
    }

    /// Guards of `get_trim_point()`: answered at once when every member looks Provisioning,
    /// else by a serving member of the effective nodeset; it fails when none serves.
    pub(super) fn trim_point_actions(&self, state: &State, actions: &mut Vec<Action>) {
        if !(state.client.joined
            && state.client.harness == HarnessPhase::TrimPoint
            && self.harness_wait_over(state))
        {
            return;
        }
        let view = state.client_view();
        let effective = self.effective(view);
        if self.all_provisioning(view) {
            actions.push(Action::HarnessGetsTrimPoint);
            return;
        }
        if self
            .members()
            .any(|i| has(effective, i) && state.servers[i].process == Process::Serving)
        {
            actions.push(Action::HarnessGetsTrimPoint);
        }
        // Every request may exhaust its attempts while no member serves.
        if self
            .members()
            .all(|i| !has(effective, i) || state.servers[i].process != Process::Serving)
        {
            actions.push(Action::TrimPointFails);
        }
    }

    /// Effects of [`Action::HarnessGetsTrimPoint`] and [`Action::TrimPointFails`].
    pub(super) fn apply_trim_point(&self, state: &mut State, action: Action) {
        match action {
            Action::HarnessGetsTrimPoint => state.client.harness = HarnessPhase::Ready,
            Action::TrimPointFails => state.client.harness = HarnessPhase::Failed,
            _ => unreachable!("not a step of get_trim_point(): {action:?}"),
        }
    }
}
