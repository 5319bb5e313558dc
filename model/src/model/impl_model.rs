//! The stateright [`Model`] of the seal protocol: the layer above the parties. `actions` asks
//! each party in turn for its enabled steps (this order is the order of action indices in
//! stored paths, so it never changes), `next_state` hands a step to the party that takes it,
//! and the rendering hooks call [`crate::describe`].

use std::sync::atomic::Ordering;

use stateright::Model;

use super::action::Action;
use super::deadline::STOP_PROPERTY;
use super::seal_model::{PropertyKind, SealModel};
use crate::state::*;

impl SealModel {
    /// The enabled steps of `state`, in the order of [`Model::actions`], but without the
    /// deliveries of Ok store replies for appends in flight past the sequencer's known global
    /// tail. A search that delivers such a reply only with its append's acknowledgement never
    /// takes them on their own, and listing them costs one step per reply in flight; the rest
    /// of the list costs O(packets) of the network.
    pub fn actions_without_replies_past_head(&self, state: &State, actions: &mut Vec<Action>) {
        self.listed_actions(state, actions, true);
    }

    /// The index `action` has among the enabled steps of `state` as [`Model::actions`] lists
    /// them (the index in an Explorer path), if it is enabled. It lists the steps without the
    /// Ok replies past the head and counts those it left out before `action`, so it costs
    /// O(packets) of the network, not a step per reply in flight (unless `action` is such a
    /// reply).
    pub fn action_index(&self, state: &State, action: &Action) -> Option<usize> {
        let mut listed = Vec::new();
        self.actions_without_replies_past_head(state, &mut listed);
        let Some(j) = listed.iter().position(|a| a == action) else {
            // A reply past the head itself: list them all.
            listed.clear();
            self.actions(state, &mut listed);
            return listed.iter().position(|a| a == action);
        };
        let skipped = match action {
            Action::Deliver(m) | Action::StoreIgnoringSeal(m) => {
                Self::replies_past_head_before(state, Some(m))
            }
            // Listed after every delivery (the network's losses and duplications, then
            // crashes, restarts and operator moves).
            Action::Lose(_)
            | Action::Duplicate(_)
            | Action::LogServerCrashes(_)
            | Action::LogServerRestarts(_)
            | Action::OperatorSetsStorageState(..) => Self::replies_past_head_before(state, None),
            _ => 0,
        };
        Some(j + skipped)
    }

    /// The steps of every party in turn (the order of action indices in stored paths).
    fn listed_actions(&self, state: &State, actions: &mut Vec<Action>, skip_tail_replies: bool) {
        self.provisioning_actions(state, actions);
        self.client_view_actions(state, actions);
        self.trim_point_actions(state, actions);
        self.seal_task_actions(state, actions);
        if self.cluster() {
            self.remote_sequencer_actions(state, actions);
            self.find_tail_actions(state, actions);
            if self.cfg.faults.other_repairs > 0 {
                self.other_repair_actions(state, actions);
            }
        } else if self.cfg.faults.other_seals > 0 {
            // Another node's seal: the client's own sequencer learns of it like a remote one.
            self.remote_sequencer_actions(state, actions);
        }
        self.other_seal_actions(state, actions);
        self.sequencer_actions(state, actions);
        self.network_actions(state, actions, skip_tail_replies);
        self.crash_actions(state, actions);
        self.operator_actions(state, actions);
    }

    /// Whether `state` has no successor: the run can only stop there. `eventually` properties
    /// are judged in such states; every engine and validation ask this one question.
    pub fn is_terminal(&self, state: &State) -> bool {
        let mut acts = Vec::new();
        self.actions(state, &mut acts);
        acts.is_empty()
    }

    /// Applies one step: the party that takes it changes `state`.
    fn apply(&self, state: &mut State, action: Action) {
        use Action::*;
        match action {
            LogServerProvisions(_) | LogServerWritesMarker(_) | LogServerStartsRequestPump(_) => {
                self.apply_provisioning(state, action)
            }
            ClientViewCatchesUp | ClientJoins => self.apply_client_view(state, action),
            HarnessGetsTrimPoint | TrimPointFails => self.apply_trim_point(state, action),
            HarnessCallsSeal
            | SealRejectedAllProvisioning
            | SealRequestFails(_)
            | SealRequestResent(_)
            | SealTaskCompletesEarly => self.apply_seal_task(state, action),
            Deliver(_) | Lose(_) | Duplicate(_) => self.apply_network(state, action),
            StoreIgnoringSeal(msg) => self.store_ignoring_seal(state, msg),
            LogServerCrashes(i) => self.log_server_crashes(state, i),
            LogServerRestarts(i) => self.log_server_restarts(state, i),
            OperatorSetsStorageState(i, to) => self.operator_sets_storage_state(state, i, to),
            SequencerLearnsSealed
            | SequencerDrains
            | SequencerSealsWithoutDrain
            | SequencerAppends
            | SequencerAppendsToProvisioning
            | SequencerAcksEarly => self.apply_sequencer(state, action),
            FindTailAssistsSeal
            | SealAssistCompletes
            | FindTailRepairsTail { .. }
            | TailRepairCompletes
            | FindTailFindsSealed(_)
            | FindTailLosesSequencer => self.apply_find_tail(state, action),
            OtherSealStarts | OtherSealCompletes | OtherSealFails | OtherSealRefused => {
                self.apply_other_seal(state, action)
            }
            OtherRepairStarts { .. } | OtherRepairCompletes { .. } => {
                self.apply_other_repair(state, action)
            }
        }
    }
}

impl Model for SealModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.initial_state()]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.listed_actions(state, actions, false);
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut next = last.clone();
        if let Some(bug) = action.seeded_bug() {
            next.history.bug_step.get_or_insert(bug);
        }
        self.apply(&mut next, action);
        Self::drop_stale_stored(&mut next);
        Self::drop_stale_sealed(&mut next);
        self.audit(last, &mut next);
        if self.forgetful {
            next.client.appends.forget_resolved_replies();
        }
        if self.abstract_tails {
            self.forget_tails(&mut next);
        }
        Some(next)
    }

    fn format_action(&self, action: &Action) -> String {
        crate::describe::action(self, action)
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let next = self.next_state(last, action.clone())?;
        let mut out = crate::describe::action(self, &action);
        for line in crate::describe::changes(self, last, &next) {
            out.push_str("\n  ");
            out.push_str(&line);
        }
        Some(out)
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(crate::describe::svg(self, &path.into_vec()))
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        self.properties
            .iter()
            .map(|p| match p.kind {
                PropertyKind::Always => stateright::Property::always(p.name, p.condition),
                PropertyKind::Sometimes => stateright::Property::sometimes(p.name, p.condition),
                PropertyKind::Eventually => stateright::Property::eventually(p.name, p.condition),
            })
            .chain(self.deadline.is_some().then(|| {
                stateright::Property::always(STOP_PROPERTY, |m: &SealModel, _| {
                    m.deadline.as_ref().is_none_or(|d| {
                        d.checked.fetch_add(1, Ordering::Relaxed);
                        !d.check()
                    })
                })
            }))
            .collect()
    }
}
