//! Seal tasks of other nodes (`faults.other_seals`). In a loaded Restate cluster the harness's
//! (the operator's) seal is not the only one: the bifrost watchdog reseals a loglet to move its
//! sequencer or grow its nodeset (auto-improvement), an appender whose batch failed reseals to
//! reconfigure the log (failover), a writer that met a sealed sequencer seals before it extends
//! the chain (auto-recovery), and a node being stopped seals what it sequences (shutdown). They
//! run the same seal task (`tasks/seal.rs`) on whichever node decided to, concurrently with the
//! harness's or after it.
//!
//! The model keeps such a task as coarse as the find-tail reader's assisting seal: it sends
//! `Seal` to the effective nodeset of the client's snapshot (attempt 0: its answers are not
//! counted reply by reply) and completes once an f-majority of that nodeset is durably sealed
//! and serving, the condition under which the real task's confirmations can reach the
//! f-majority. It may also fail at any time while it runs (its members did not answer in time:
//! the model does not wait on them one by one), and a task whose node died simply stays
//! running. It takes the all-Provisioning guard like the harness's task: while every member
//! looks Provisioning in the client's snapshot it is refused at its start and sends nothing.
//! Its nodes are not told apart. A completed task
//! is a reason for the sequencer to check whether the loglet is sealed (the task's node drains
//! its own sequencer; any other learns from its stores or a seal check), in a cluster with
//! separate roles as in a run whose client is both sealer and sequencer.

use super::action::Action;
use super::seal_model::SealModel;
use crate::state::*;

impl SealModel {
    /// Guards of the other nodes' seal tasks: one may start while the scenario allows more
    /// (refused if every member looks Provisioning); a running one completes once an
    /// f-majority is sealed and serving, and may fail at any time.
    pub(super) fn other_seal_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let o = state.client.other_seals;
        if o.started < self.cfg.faults.other_seals {
            actions.push(if self.all_provisioning(state.client_view()) {
                Action::OtherSealRefused
            } else {
                Action::OtherSealStarts
            });
        }
        if o.running > 0 && self.f_majority_sealed(state) {
            actions.push(Action::OtherSealCompletes);
        }
        if o.running > 0 {
            actions.push(Action::OtherSealFails);
        }
    }

    /// Effects of the other nodes' seal tasks.
    pub(super) fn apply_other_seal(&self, state: &mut State, action: Action) {
        match action {
            Action::OtherSealStarts => {
                state.client.other_seals.started += 1;
                state.client.other_seals.running += 1;
                let effective = self.effective(state.client_view());
                let kgt = self.sealer_known_global_tail(state);
                // Attempt 0, like a find-tail's assist: the replies are not counted one by one.
                self.send_to(state, effective, |to| Msg::Seal {
                    to,
                    attempt: 0,
                    known_global_tail: kgt,
                });
            }
            Action::OtherSealCompletes => {
                state.client.other_seals.running -= 1;
                state.client.other_seals.completed = true;
            }
            Action::OtherSealFails => state.client.other_seals.running -= 1,
            Action::OtherSealRefused => state.client.other_seals.started += 1,
            _ => unreachable!("not a step of another node's seal task: {action:?}"),
        }
    }
}
