//! The sequencer: it appends by reserving the next offset and sending `Store` to every
//! writable node of the nodeset (as its snapshot shows them), acknowledges in offset order once
//! a write quorum of R nodes answered `Stored` (raising its known global tail first), and fails
//! an append once an f-majority answered `Sealed`. After a successful seal task it drains:
//! cancels in-flight appends, then sets its sealed flag at its known global tail. In a cluster
//! it runs on another node and learns of the seal by itself; it dies with its node.

use super::action::Action;
use super::seal_model::SealModel;
use crate::config::Bug;
use crate::state::*;

impl SealModel {
    /// Guard of [`Action::SequencerLearnsSealed`] (in a cluster with separate roles, or with
    /// seal tasks of other nodes): the sequencer has a reason to check (the admin's seal
    /// succeeded, a store came back Sealed, or another node's seal task completed) and an
    /// f-majority of the serving effective nodeset is sealed.
    pub(super) fn remote_sequencer_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let c = &state.client;
        let maybe_sealed = c.harness == HarnessPhase::Succeeded
            || state.history.store_answered_sealed
            || c.other_seals.completed();
        if c.sequencer == SequencerPhase::Open && maybe_sealed && self.f_majority_sealed(state) {
            actions.push(Action::SequencerLearnsSealed);
        }
    }

    /// Guards of the local sequencer: drain after the seal (or, seeded, seal without
    /// draining); append while open (or, seeded, append counting Provisioning nodes); and the
    /// seeded early acknowledgement.
    pub(super) fn sequencer_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let c = &state.client;
        if c.sequencer == SequencerPhase::Draining {
            actions.push(Action::SequencerDrains);
            if self.cfg.has_bug(Bug::SealWithoutDrain) {
                actions.push(Action::SequencerSealsWithoutDrain);
            }
        }
        if c.sequencer == SequencerPhase::Open
            && c.joined
            && c.appends.len() < self.cfg.appends as usize
        {
            let view = state.client_view();
            let r = self.cfg.replication as usize;
            if count(self.writable(view)) >= r {
                actions.push(Action::SequencerAppends);
            }
            if self.cfg.has_bug(Bug::ProvisioningWritable)
                && self.writable_counting(view, true) != self.writable(view)
                && count(self.writable_counting(view, true)) >= r
            {
                actions.push(Action::SequencerAppendsToProvisioning);
            }
        }
        if self.acks_early_enabled(state) {
            actions.push(Action::SequencerAcksEarly);
        }
    }

    /// Whether the seeded [`Action::SequencerAcksEarly`] is enabled in `state`: the bug is
    /// seeded, the sequencer has not sealed, and the head append (at its known global tail) is
    /// in flight with some but fewer than a write quorum of Ok answers.
    pub fn acks_early_enabled(&self, state: &State) -> bool {
        let c = &state.client;
        self.cfg.has_bug(Bug::AckBeforeQuorum)
            && !matches!(c.sequencer, SequencerPhase::Sealed(_))
            && c.append_at(c.known_global_tail).is_some_and(|a| {
                a.status == AppendStatus::InFlight
                    && a.stored != 0
                    && count(a.stored) < self.write_quorum()
            })
    }

    /// Effects of the sequencer's steps.
    pub(super) fn apply_sequencer(&self, state: &mut State, action: Action) {
        match action {
            Action::SequencerLearnsSealed => state.client.sequencer = SequencerPhase::Draining,
            Action::SequencerDrains => {
                state.client.appends.map_runs(|a| {
                    if a.in_flight() {
                        a.status = AppendStatus::Cancelled;
                    }
                });
                self.sequencer_seals(state);
            }
            Action::SequencerSealsWithoutDrain => self.sequencer_seals(state),
            Action::SequencerAppends => self.append(state, false),
            Action::SequencerAppendsToProvisioning => self.append(state, true),
            Action::SequencerAcksEarly => {
                let kgt = state.client.known_global_tail;
                let quorum = self.write_quorum();
                let acked = state.client.appends.update(kgt, |a| {
                    a.status = AppendStatus::Acked;
                    count(a.stored) < quorum
                });
                if let Some(without_quorum) = acked {
                    if without_quorum {
                        state.history.acked_without_quorum = true;
                    }
                    state.client.known_global_tail = kgt + 1;
                }
                self.commit_in_order(state);
            }
            _ => unreachable!("not a step of the sequencer: {action:?}"),
        }
    }

    /// Sets the sealed flag at the known global tail (noting appends still in flight); without
    /// separate roles the harness's `seal()` returns, if its task is over (a drain another
    /// node's seal caused leaves a harness that has not called, or whose task still runs,
    /// where it is).
    fn sequencer_seals(&self, state: &mut State) {
        let c = &mut state.client;
        if c.appends.any(AppendData::in_flight) {
            state.history.sealed_with_appends_in_flight = true;
        }
        c.sequencer = SequencerPhase::Sealed(c.known_global_tail);
        if self.cluster() {
            state.history.sequencer_sealed_remotely = true;
        } else if c.harness == HarnessPhase::Sealing && c.seal.is_none() {
            c.harness = HarnessPhase::Succeeded;
        }
    }

    /// Reserves the next offset and sends `Store` to the writable members.
    fn append(&self, state: &mut State, provisioning_counts: bool) {
        let offset = state.client.appends.end();
        let targets = self.writable_counting(state.client_view(), provisioning_counts);
        state.client.appends.push(Append {
            offset,
            targets,
            stored: 0,
            sealed: 0,
            status: AppendStatus::InFlight,
        });
        let kgt = state.client.known_global_tail;
        self.send_to(state, targets, |to| Msg::Store {
            to,
            offset,
            known_global_tail: kgt,
            repair: false,
        });
    }

    /// The sequencer hears `Stored`: a stored answer counts towards the write quorum, a
    /// Sealed answer from an f-majority fails the append.
    pub(super) fn sequencer_hears_stored(
        &self,
        state: &mut State,
        from: u8,
        offset: Offset,
        status: Status,
    ) {
        let sealed_quorum = self
            .cfg
            .f_majority(count(self.effective(state.client_view())));
        if state
            .client
            .append_at(offset)
            .is_none_or(|a| a.status != AppendStatus::InFlight)
        {
            return;
        }
        let mut answered_sealed = false;
        let rejected = state.client.appends.update(offset, |a| match status {
            Status::Ok => {
                a.stored |= 1 << from;
                false
            }
            Status::Sealed => {
                answered_sealed = true;
                a.sealed |= 1 << from;
                if count(a.sealed) >= sealed_quorum {
                    a.status = AppendStatus::RejectedSealed;
                }
                a.status == AppendStatus::RejectedSealed
            }
            Status::OutOfBounds => false,
        });
        if rejected == Some(true) {
            state.history.append_rejected_sealed = true;
        }
        state.history.store_answered_sealed |= answered_sealed;
        self.commit_in_order(state);
    }

    /// Acknowledges, in offset order, every append whose write quorum is complete.
    fn commit_in_order(&self, state: &mut State) {
        let quorum = self.write_quorum();
        if matches!(state.client.sequencer, SequencerPhase::Sealed(_))
            && !state.history.sealed_with_appends_in_flight
        {
            // A drained sequencer has no append left to acknowledge.
            return;
        }
        loop {
            let kgt = state.client.known_global_tail;
            let Some(a) = state.client.append_at(kgt) else {
                break;
            };
            if a.status != AppendStatus::InFlight || count(a.stored) < quorum {
                break;
            }
            // Raise the known global tail first, then resolve the append.
            state.client.known_global_tail = kgt + 1;
            state
                .client
                .appends
                .update(kgt, |a| a.status = AppendStatus::Acked);
        }
    }

    /// The sequencer's node crashed: unless it already sealed, the sequencer dies with it; its
    /// stores and their answers are gone, and a restarted node is a new generation, not the
    /// loglet's sequencer.
    pub(super) fn sequencer_node_crashed(&self, state: &mut State) {
        if !matches!(state.client.sequencer, SequencerPhase::Sealed(_)) {
            state.client.sequencer = SequencerPhase::Crashed;
            state
                .network
                .retain_packets(|p| !matches!(p.first(), Msg::Store { repair: false, .. }));
        }
    }

    /// Drops `Stored` replies for an append that is already resolved (acknowledged, rejected
    /// or cancelled) or whose sequencer crashed: delivering one changes nothing but the
    /// network, so keeping it only multiplies states that behave the same. Other packets are
    /// kept whole; a run of replies costs one append look-up per offset (the appends are one
    /// entry per offset), and no message is built.
    pub(super) fn drop_stale_stored(state: &mut State) {
        let client = &state.client;
        let crashed = client.sequencer == SequencerPhase::Crashed;
        let is_stored = |p: &Packet| matches!(p.first(), Msg::Stored { .. });
        if crashed {
            state.network.retain_packets(|p| !is_stored(p));
            return;
        }
        // The sub-ranges of a run whose appends are still in flight: one look-up per run of
        // appends the range meets, not per offset.
        state.network.retain_offsets(is_stored, |range, kept| {
            let mut o = range.start;
            while o < range.end {
                let Some(run) = client.appends.run_at(o) else {
                    break;
                };
                let end = run.offsets().end.min(range.end);
                if run.data.status == AppendStatus::InFlight {
                    match kept.last_mut() {
                        Some(last) if last.end == o => last.end = end,
                        _ => kept.push(o..end),
                    }
                }
                o = end;
            }
        });
    }
}
