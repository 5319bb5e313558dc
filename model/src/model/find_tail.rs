//! Cluster only: a find-tail reader (`tasks/find_tail.rs`). It asks the sequencer first and
//! queries the log servers itself only when the sequencer is dead or does not answer in time.
//! Having heard from an f-majority of the effective nodeset, it returns Sealed at their tail,
//! repairs the tail first (stores that ignore the seal, to the serving members that lack a
//! record), or, if some but not an f-majority are sealed, runs a seal task to assist.

use super::action::Action;
use super::seal_model::SealModel;
use crate::state::*;

impl SealModel {
    /// Guards of the reader: an assist completes once an f-majority is sealed and serving, a
    /// repair once every record of its range is on a write quorum; an idle reader (or one whose
    /// assist completed) decides when the sequencer is dead or silent.
    pub(super) fn find_tail_actions(&self, state: &State, actions: &mut Vec<Action>) {
        let c = &state.client;
        match c.finder {
            FindTail::Assisting if self.f_majority_sealed(state) => {
                actions.push(Action::SealAssistCompletes)
            }
            FindTail::Repairing { from, to } => {
                let r = self.write_quorum();
                let replicated = (from..to).all(|o| {
                    state
                        .servers
                        .iter()
                        .filter(|s| s.stored.contains(o))
                        .count()
                        >= r
                });
                if replicated {
                    actions.push(Action::TailRepairCompletes);
                }
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
            if let Some(outcome) = self.find_tail_decides(state, heard) {
                found.push(outcome);
            }
            if heard == 0 {
                break;
            }
            heard = (heard - 1) & serving;
        }
        found.sort();
        found.dedup();
        actions.extend(found);
    }

    /// What a reader that heard from `responders` first decides, if anything.
    fn find_tail_decides(&self, state: &State, responders: Bits) -> Option<Action> {
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
            let assist = !sealed.is_empty() && state.client.finder == FindTail::Idle;
            return assist.then_some(Action::FindTailAssistsSeal);
        }
        let to = sealed
            .iter()
            .map(|&i| state.servers[i].local_tail)
            .max()
            .unwrap_or(0);
        let from = self
            .members()
            .filter(|&i| has(responders, i))
            .map(|i| state.servers[i].known_global_tail)
            .fold(state.client.sealer_known_global_tail, Offset::max);
        let at_tail = self
            .members()
            .filter(|&i| has(responders, i) && state.servers[i].local_tail >= to)
            .count();
        if to == from || (to > from && at_tail >= r) {
            Some(Action::FindTailFindsSealed(to))
        } else if to > from && count(responders) >= r {
            Some(Action::FindTailRepairsTail { from, to })
        } else {
            None
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
            _ => unreachable!("not a step of find-tail: {action:?}"),
        }
    }

    /// Effect of [`Action::FindTailRepairsTail`]: repair stores of every record in `from..to`
    /// that some member has, to each serving member that lacks it.
    fn find_tail_repairs(&self, state: &mut State, from: Offset, to: Offset) {
        state.client.finder = FindTail::Repairing { from, to };
        state.history.tail_repair_started = true;
        state.client.sealer_known_global_tail = state.client.sealer_known_global_tail.max(from);
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
