//! The network: a multiset of messages in flight. Stores from the sequencer to one log server
//! are delivered in order (one connection); everything else in any order. A bounded number of
//! messages may be lost or duplicated. Delivering a message hands it to its receiver: `Store`
//! to the log server, `Stored` to the sequencer, `Seal` and `Sealed` to the seal task's rules.

use super::action::Action;
use super::seal_model::SealModel;
use crate::state::*;

impl SealModel {
    /// The lowest offset of a store in flight to each log server (index), if any: stores to one
    /// server are delivered in order, so only a store at that offset is deliverable.
    /// O(servers × log packets).
    pub fn next_stores(state: &State) -> Vec<Option<Offset>> {
        (0..state.servers.len())
            .map(|i| state.network.min_store_to(i as u8))
            .collect()
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
    /// store it under the seeded bug), and, while faults are left, lost or duplicated. In the
    /// network's sorted order. Of a run of stores only the first can be deliverable (the
    /// others come later on their connection), so a run of stores costs O(1) here.
    pub(super) fn network_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let next_stores = Self::next_stores(state);
        for p in state.network.packets() {
            let msgs = match p.first() {
                Msg::Store { .. } => 0..1,
                _ => 0..p.distinct(),
            };
            for msg in msgs.map(|i| p.get(i)) {
                if Self::deliverable(state, &msg, &next_stores) {
                    if self.may_store_ignoring_seal(state, &msg) {
                        actions.push(Action::Deliver(msg.clone()));
                        actions.push(Action::StoreIgnoringSeal(msg));
                    } else {
                        actions.push(Action::Deliver(msg));
                    }
                }
            }
        }
        if state.losses_left > 0 || state.duplications_left > 0 {
            for msg in state.network.iter_distinct() {
                if state.losses_left > 0 {
                    actions.push(Action::Lose(msg.clone()));
                }
                if state.duplications_left > 0 {
                    actions.push(Action::Duplicate(msg));
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
