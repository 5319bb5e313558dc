//! Cluster only: a find-tail reader (`tasks/find_tail.rs`). It asks the sequencer first and
//! queries the log servers itself only when the sequencer is dead or does not answer in time.
//! Having heard from an f-majority of the effective nodeset, it returns Sealed at their tail,
//! repairs the tail first (stores that ignore the seal, to the serving members that lack a
//! record), or, if some but not an f-majority are sealed, runs a seal task to assist.
//!
//! Restate runs such a reader per caller on every node; the model has one, and with
//! `faults.other_repairs` the tail repairs of the others: each decides as the model's reader
//! does and sends the same repair stores (their assists are seal tasks of other nodes,
//! `faults.other_seals`).

use super::action::Action;
use super::seal_model::SealModel;
use crate::state::*;

impl SealModel {
    /// Guards of the reader: an assist completes once an f-majority is sealed and serving, a
    /// repair once every record of its range is on a write quorum; an idle reader (or one whose
    /// assist completed) decides when the sequencer is dead or silent; and, within
    /// `faults.reader_timeouts`, a reader's request to the live sequencer may fail.
    pub(super) fn find_tail_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let c = &state.client;
        match c.finder {
            FindTail::Assisting if self.f_majority_sealed(state) => {
                actions.push(Action::SealAssistCompletes)
            }
            FindTail::Repairing { from, to } if self.range_replicated(state, from, to) => {
                actions.push(Action::TailRepairCompletes)
            }
            // A reader asks the sequencer first; it queries the log servers itself only when
            // the sequencer is dead (`is_sequencer_alive` in `tasks/find_tail.rs`) or does not
            // answer in time (its node paused).
            FindTail::Idle | FindTail::Assisted
                if c.sequencer == SequencerPhase::Crashed || c.sequencer_silent =>
            {
                self.find_tail_outcomes(state, actions);
            }
            _ => {}
        }
        if Self::reader_may_lose_sequencer(state) {
            actions.push(Action::FindTailLosesSequencer);
        }
    }

    /// Whether [`Action::FindTailLosesSequencer`] is enabled: `faults.reader_timeouts` left, the
    /// sequencer alive and not silent yet.
    pub fn reader_may_lose_sequencer(state: &State) -> bool {
        let c = &state.client;
        c.reader_timeouts_left > 0 && !c.sequencer_silent && c.sequencer != SequencerPhase::Crashed
    }

    /// What a find-tail reader may decide, over every set of serving effective members it may
    /// have heard from first (an f-majority or more; `tasks/find_tail.rs`): sealed (with or
    /// without a repair), or an assisting seal task. One step per distinct outcome, sorted.
    fn find_tail_outcomes(&self, state: &State, actions: &mut Vec<Action>) {
        let serving = self.serving_effective(state);
        let mut found: Vec<Action> = Vec::new();
        let mut heard: Bits = serving;
        loop {
            // Every subset of `serving`, largest first.
            found.extend(self.find_tail_decides(state, heard));
            if heard == 0 {
                break;
            }
            heard = (heard - 1) & serving;
        }
        found.sort();
        found.dedup();
        actions.extend(found);
    }

    /// What the model's reader that heard from `responders` first may decide (with abstract
    /// tails, one decision per known global tail it may have read).
    fn find_tail_decides(&self, state: &State, responders: Bits) -> Vec<Action> {
        let base = state.client.sealer_known_global_tail;
        self.reader_decisions(state, responders, base)
            .into_iter()
            .filter_map(|d| match d {
                Decision::Assist => {
                    (state.client.finder == FindTail::Idle).then_some(Action::FindTailAssistsSeal)
                }
                Decision::Sealed(to) => Some(Action::FindTailFindsSealed(to)),
                Decision::Repair { from, to } => Some(Action::FindTailRepairsTail { from, to }),
            })
            .collect()
    }

    /// The decisions of a reader whose own known global tail is `base`, having heard from
    /// `responders` first ([`SealModel::reader_decides`]); with abstract tails
    /// ([`SealModel::with_abstract_tails`]) the known global tail it starts its repair from may
    /// be any value up to [`SealModel::tail_bound`], each a decision of its own.
    fn reader_decisions(&self, state: &State, responders: Bits, base: Offset) -> Vec<Decision> {
        if !self.abstract_tails {
            return self
                .reader_decides(state, responders, base)
                .into_iter()
                .collect();
        }
        (0..=self.tail_bound(state))
            .filter_map(|from| self.decides_from(state, responders, from))
            .collect()
    }

    /// What a find-tail reader whose own known global tail is `base` decides, having heard from
    /// `responders` first: too few answers decide nothing; fewer than an f-majority sealed, with
    /// some sealed, is an assist; else Sealed at the highest sealed tail, after a repair of the
    /// records from the known global tail (its own or a responder's, the highest) up to it when
    /// they are not on a write quorum.
    fn reader_decides(&self, state: &State, responders: Bits, base: Offset) -> Option<Decision> {
        let from = self
            .members()
            .filter(|&i| has(responders, i))
            .map(|i| state.servers[i].known_global_tail)
            .fold(base, Offset::max);
        self.decides_from(state, responders, from)
    }

    /// What a reader decides having heard from `responders` first, with `from` the highest
    /// known global tail among its own and theirs.
    fn decides_from(&self, state: &State, responders: Bits, from: Offset) -> Option<Decision> {
        let quorum = self.seal_quorum(count(self.effective(state.client_view())));
        let r = self.write_quorum();
        if count(responders) < quorum {
            return None;
        }
        let sealed: Vec<usize> = self
            .members()
            .filter(|&i| has(responders, i) && state.servers[i].sealed)
            .collect();
        if sealed.len() < quorum {
            return (!sealed.is_empty()).then_some(Decision::Assist);
        }
        let to = sealed
            .iter()
            .map(|&i| state.servers[i].local_tail)
            .max()
            .unwrap_or(0);
        let at_tail = self
            .members()
            .filter(|&i| has(responders, i) && state.servers[i].local_tail >= to)
            .count();
        if to == from || (to > from && at_tail >= r) {
            Some(Decision::Sealed(to))
        } else if to > from && count(responders) >= r {
            Some(Decision::Repair { from, to })
        } else {
            None
        }
    }

    /// Whether every record of `from..to` is on a write quorum: a repair of that range is done.
    fn range_replicated(&self, state: &State, from: Offset, to: Offset) -> bool {
        let r = self.write_quorum();
        (from..to).all(|o| {
            state
                .servers
                .iter()
                .filter(|s| s.stored.contains(o))
                .count()
                >= r
        })
    }

    /// `faults.other_repairs`: the steps of find-tail readers other than the model's one. One
    /// may start a repair while the scenario allows more, under the model's reader's condition
    /// (the sequencer's node died or let a request time out), over every set of serving
    /// members it may have heard from first; its own known global tail is not modelled per
    /// node, so it may be the admin's (the model's reader's) or lower than every responder's.
    /// A running repair completes once its range is on a write quorum.
    pub(super) fn other_repair_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let c = &state.client;
        let mut found: Vec<Action> = Vec::new();
        let may_query = c.sequencer == SequencerPhase::Crashed || c.sequencer_silent;
        if c.other_repairs.started < self.cfg.faults.other_repairs && may_query {
            let serving = self.serving_effective(state);
            let mut heard: Bits = serving;
            loop {
                for base in [0, c.sealer_known_global_tail] {
                    for d in self.reader_decisions(state, heard, base) {
                        if let Decision::Repair { from, to } = d {
                            found.push(Action::OtherRepairStarts { from, to });
                        }
                    }
                }
                if heard == 0 {
                    break;
                }
                heard = (heard - 1) & serving;
            }
        }
        for &(from, to) in &c.other_repairs.running {
            if self.range_replicated(state, from, to) {
                found.push(Action::OtherRepairCompletes { from, to });
            }
        }
        found.sort();
        found.dedup();
        actions.extend(found);
    }

    /// Effects of the other readers' repairs.
    pub(super) fn apply_other_repair(&self, state: &mut State, action: Action) {
        match action {
            Action::OtherRepairStarts { from, to } => {
                let o = &mut state.client.other_repairs;
                o.started += 1;
                let at = o.running.partition_point(|&r| r < (from, to));
                o.running.insert(at, (from, to));
                self.send_repair_stores(state, from, to);
            }
            Action::OtherRepairCompletes { from, to } => {
                let o = &mut state.client.other_repairs;
                if let Some(at) = o.running.iter().position(|&r| r == (from, to)) {
                    o.running.remove(at);
                }
                o.completed = true;
            }
            _ => unreachable!("not a step of another reader's repair: {action:?}"),
        }
    }

    /// The members of the effective nodeset (in the client's snapshot) that serve requests.
    fn serving_effective(&self, state: &State) -> Bits {
        let effective = self.effective(state.client_view());
        self.members()
            .filter(|&i| has(effective, i) && state.servers[i].process == Process::Serving)
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// Effects of the reader's steps.
    pub(super) fn apply_find_tail(&self, state: &mut State, action: Action) {
        match action {
            Action::FindTailAssistsSeal => {
                state.client.finder = FindTail::Assisting;
                state.history.find_tail_assisted = true;
                let effective = self.effective(state.client_view());
                let kgt = state.client.sealer_known_global_tail;
                // Attempt 0: no `seal()` call of the harness; the answers go to the assist,
                // which the model does not wait on message by message.
                self.send_to(state, effective, |to| Msg::Seal {
                    to,
                    attempt: 0,
                    known_global_tail: kgt,
                });
            }
            Action::SealAssistCompletes => state.client.finder = FindTail::Assisted,
            Action::FindTailRepairsTail { from, to } => self.find_tail_repairs(state, from, to),
            Action::TailRepairCompletes => {
                if let FindTail::Repairing { to, .. } = state.client.finder {
                    state.client.finder = FindTail::Sealed(to);
                    state.client.sealer_known_global_tail =
                        state.client.sealer_known_global_tail.max(to);
                }
            }
            Action::FindTailFindsSealed(tail) => {
                state.client.finder = FindTail::Sealed(tail);
                state.client.sealer_known_global_tail =
                    state.client.sealer_known_global_tail.max(tail);
            }
            Action::FindTailLosesSequencer => {
                state.client.reader_timeouts_left -= 1;
                state.client.sequencer_silent = true;
            }
            _ => unreachable!("not a step of find-tail: {action:?}"),
        }
    }

    /// Effect of [`Action::FindTailRepairsTail`]: repair stores of every record in `from..to`
    /// that some member has, to each serving member that lacks it.
    fn find_tail_repairs(&self, state: &mut State, from: Offset, to: Offset) {
        state.client.finder = FindTail::Repairing { from, to };
        state.history.tail_repair_started = true;
        state.client.sealer_known_global_tail = state.client.sealer_known_global_tail.max(from);
        self.send_repair_stores(state, from, to);
    }

    /// The repair stores of a reader's repair of `from..to`: every record of the range that some
    /// member has, to each serving member that lacks it.
    fn send_repair_stores(&self, state: &mut State, from: Offset, to: Offset) {
        let serving = self.serving_effective(state);
        for o in from..to {
            let holders = self
                .members()
                .filter(|&i| state.servers[i].stored.contains(o));
            if holders.count() == 0 {
                continue;
            }
            for j in self.members() {
                if has(serving, j) && !state.servers[j].stored.contains(o) {
                    state.send(Msg::Store {
                        to: j as u8,
                        offset: o,
                        known_global_tail: from,
                        repair: true,
                    });
                }
            }
        }
    }
}

/// What a find-tail reader decides once it heard from enough members.
enum Decision {
    /// Some but fewer than an f-majority sealed: it runs a seal task to assist.
    Assist,
    /// An f-majority sealed and the tail replicated: Sealed at this tail.
    Sealed(Offset),
    /// An f-majority sealed, but `from..to` is not on a write quorum: it repairs first.
    Repair {
        /// The first offset repaired.
        from: Offset,
        /// The tail repaired to.
        to: Offset,
    },
}
