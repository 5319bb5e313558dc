//! A check of the transition code itself: after every step, moves that no party may make
//! (durable tails moving back, seals undone, known global tails of running parties decreasing)
//! are recorded in the history, where properties find them.

use super::seal_model::SealModel;
use crate::state::*;

impl SealModel {
    /// Records moves that properties forbid: durable tails moving back, seals undone, known
    /// global tails of running parties decreasing. This checks the transition code itself.
    pub(super) fn audit(&self, prev: &State, next: &mut State) {
        for (a, b) in prev.servers.iter().zip(&next.servers) {
            if a.sealed && !b.sealed {
                next.history
                    .tail_moved_back
                    .get_or_insert("a log server unsealed");
            }
            if b.local_tail < a.local_tail || !a.stored.is_subset(&b.stored) {
                next.history
                    .tail_moved_back
                    .get_or_insert("a log server's local tail moved back");
            }
            if a.process == Process::Serving
                && b.process == Process::Serving
                && b.known_global_tail < a.known_global_tail
            {
                next.history
                    .global_tail_decreased
                    .get_or_insert("a log server's known global tail decreased");
            }
        }
        match (prev.client.sequencer, next.client.sequencer) {
            (SequencerPhase::Sealed(_), SequencerPhase::Open | SequencerPhase::Draining) => {
                next.history
                    .tail_moved_back
                    .get_or_insert("the sequencer unsealed");
            }
            (SequencerPhase::Sealed(x), SequencerPhase::Sealed(y)) if x != y => {
                next.history
                    .tail_moved_back
                    .get_or_insert("the sequencer's sealed tail moved");
            }
            _ => {}
        }
        if next.client.sealer_known_global_tail < prev.client.sealer_known_global_tail {
            next.history
                .global_tail_decreased
                .get_or_insert("the sealer's known global tail decreased");
        }
        if let (FindTail::Sealed(x), y) = (prev.client.finder, next.client.finder) {
            if y != FindTail::Sealed(x) {
                next.history
                    .tail_moved_back
                    .get_or_insert("a tail find-tail returned as sealed moved");
            }
        }
        if next.client.known_global_tail < prev.client.known_global_tail {
            next.history
                .global_tail_decreased
                .get_or_insert("the sequencer's known global tail decreased");
        }
    }
}
