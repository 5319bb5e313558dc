//! The network: a multiset of messages in flight. Stores from the sequencer to one log server
//! are delivered in order (one connection); everything else in any order. A bounded number of
//! messages may be lost or duplicated. Delivering a message hands it to its receiver: `Store`
//! to the log server, `Stored` to the sequencer, `Seal` and `Sealed` to the seal task's rules.

use super::action::Action;
use super::seal_model::SealModel;
use crate::in_flight::Packet;
use crate::offsets::Offset;
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
    /// With `skip_tail_replies`, an Ok store reply for an append in flight past the
    /// sequencer's known global tail is left out (see
    /// [`SealModel::actions_without_replies_past_head`]): of a run of Ok replies only the one
    /// at the known global tail, if any, and those for appends no longer in flight are listed.
    pub(super) fn network_actions(
        &self,
        state: &State,
        actions: &mut Vec<Action>,
        skip_tail_replies: bool,
    ) {
        let next_stores = Self::next_stores(state);
        for p in state.network.packets() {
            let msgs = match p.first() {
                Msg::Store { .. } => 0..1,
                Msg::Stored {
                    status: Status::Ok, ..
                } if skip_tail_replies => Self::unskipped_replies(state, p),
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

    /// The indexes (among the distinct messages of `p`, a packet of Ok replies) of the replies
    /// that are not for appends in flight past the known global tail: where every append of
    /// the run is in flight (the rule: stale replies are dropped after every step), at most
    /// the one at the known global tail. O(runs of appends the packet meets).
    fn unskipped_replies(state: &State, p: &Packet) -> std::ops::Range<Offset> {
        let all = 0..p.distinct();
        let Some(offsets) = p.offsets() else {
            return all;
        };
        let appends = &state.client.appends;
        let mut o = offsets.start;
        while o < offsets.end {
            match appends.run_at(o) {
                Some(run) if run.data.status == AppendStatus::InFlight => o = run.offsets().end,
                _ => return all,
            }
        }
        let kgt = state.client.known_global_tail;
        if offsets.contains(&kgt) {
            let at = kgt - offsets.start;
            at..at + 1
        } else if offsets.start > kgt {
            0..0
        } else {
            all
        }
    }

    /// How many deliveries [`SealModel::actions_without_replies_past_head`] leaves out before
    /// the delivery of `before` (all of them with `None`). O(packets).
    pub(super) fn replies_past_head_before(state: &State, before: Option<&Msg>) -> usize {
        let mut n = 0;
        for p in state.network.packets() {
            if before.is_some_and(|m| p.last() >= *m) {
                // The packet holding `before` lists its replies past the head after it.
                break;
            }
            if matches!(
                p.first(),
                Msg::Stored {
                    status: Status::Ok,
                    ..
                }
            ) {
                n += (p.distinct() - Self::unskipped_replies(state, p).len() as Offset) as usize;
            }
        }
        n
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
