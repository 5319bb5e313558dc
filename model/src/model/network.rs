//! The network: a multiset of messages in flight. Stores from the sequencer to one log server
//! are delivered in order (one connection); everything else in any order. A bounded number of
//! messages may be lost or duplicated. Delivering a message hands it to its receiver: `Store`
//! to the log server, `Stored` to the sequencer, `Seal` and `Sealed` to the seal task's rules.

use super::action::Action;
use super::seal_model::SealModel;
use crate::state::*;

impl SealModel {
    /// The lowest offset of a store in flight to each log server (index), if any: stores to one
    /// server are delivered in offset order, so only a store at that offset is deliverable.
    /// One pass over the network, so listing the deliverable messages costs O(messages).
    pub fn next_stores(state: &State) -> Vec<Option<Offset>> {
        let mut next = vec![None; state.servers.len()];
        for m in &state.network {
            if let Msg::Store { to, offset, .. } = m {
                let slot: &mut Option<Offset> = &mut next[*to as usize];
                if slot.is_none_or(|o| *offset < o) {
                    *slot = Some(*offset);
                }
            }
        }
        next
    }

    /// Whether `msg` can be delivered now: requests only to a serving log server, stores in
    /// order (`next_stores` from [`SealModel::next_stores`] of the same state).
    fn deliverable(state: &State, msg: &Msg, next_stores: &[Option<Offset>]) -> bool {
        match msg {
            Msg::Seal { to, .. } => state.servers[*to as usize].process == Process::Serving,
            Msg::Store { to, offset, .. } => {
                state.servers[*to as usize].process == Process::Serving
                    && next_stores[*to as usize] == Some(*offset)
            }
            Msg::Sealed { .. } | Msg::Stored { .. } => true,
        }
    }

    /// Guards: each distinct deliverable message may be delivered (a sealed server may also
    /// store it under the seeded bug), and, while faults are left, lost or duplicated.
    pub(super) fn network_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let next_stores = Self::next_stores(state);
        let mut last: Option<&Msg> = None;
        for msg in &state.network {
            if last == Some(msg) {
                continue;
            }
            last = Some(msg);
            if Self::deliverable(state, msg, &next_stores) {
                actions.push(Action::Deliver(msg.clone()));
                if self.may_store_ignoring_seal(state, msg) {
                    actions.push(Action::StoreIgnoringSeal(msg.clone()));
                }
            }
        }
        if state.losses_left > 0 || state.duplications_left > 0 {
            let mut last: Option<&Msg> = None;
            for msg in &state.network {
                if last == Some(msg) {
                    continue;
                }
                last = Some(msg);
                if state.losses_left > 0 {
                    actions.push(Action::Lose(msg.clone()));
                }
                if state.duplications_left > 0 {
                    actions.push(Action::Duplicate(msg.clone()));
                }
            }
        }
    }

    /// Effects of [`Action::Deliver`], [`Action::Lose`] and [`Action::Duplicate`].
    pub(super) fn apply_network(&self, state: &mut State, action: Action) {
        match action {
            Action::Deliver(msg) => {
                state.take(&msg);
                self.deliver(state, msg);
            }
            Action::Lose(msg) => {
                state.take(&msg);
                state.losses_left -= 1;
            }
            Action::Duplicate(msg) => {
                state.send(msg);
                state.duplications_left -= 1;
            }
            _ => unreachable!("not a step of the network: {action:?}"),
        }
    }

    /// Hands a delivered message to its receiver.
    fn deliver(&self, state: &mut State, msg: Msg) {
        match msg {
            Msg::Seal {
                to,
                attempt,
                known_global_tail,
            } => self.log_server_seals(state, to, attempt, known_global_tail),
            Msg::Store {
                to,
                offset,
                known_global_tail,
                repair,
            } => self.handle_store(state, to, offset, known_global_tail, repair, repair),
            Msg::Sealed { .. } => self.seal_task_hears(state, msg),
            Msg::Stored {
                from,
                offset,
                status,
                ..
            } => self.sequencer_hears_stored(state, from, offset, status),
        }
    }
}
