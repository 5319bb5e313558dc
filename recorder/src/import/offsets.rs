//! Restate offsets of a long loglet mapped onto the model's few offsets.
//!
//! A loaded loglet holds hundreds or thousands of records; the model counts at most
//! [`MAX_APPENDS`](sealcheck_model::config::MAX_APPENDS). The trace of a loglet names only some
//! offsets: the local tails of the `loglet_workers` rows it keeps, a seal's `max_local_tail`,
//! a tail repair's bounds. [`OffsetMap::build`] maps exactly those onto model offsets so that
//! their **order and equality are kept, and so is adjacency**: two named tails one record
//! apart stay one apart, while any larger gap becomes 2 ("some records in between"). The
//! empty tail (Restate's 1, the model's 0) is always a point of the map, so "nothing stored
//! yet" stays exact too.
//!
//! Every observation stays in the trace: the map compresses distances, it never thins rows.
//!
//! **The limit of this abstraction.** The model's steps compare offsets only by order and
//! adjacency (a log server stores in order; an offset past `max(local, known global tail)` is
//! out of bounds), so a behaviour the model allows for the real distances it also allows for
//! the mapped ones and vice versa, except where a divergence depends only on *how many*
//! unlogged records lie between two named tails: such a divergence is not seen. The map is
//! written into the loglet's notes and `run.json` (`offset_map`).

use std::collections::BTreeMap;

/// The largest gap between two consecutive named offsets that the map keeps as it is.
pub const MAX_GAP: u64 = 2;

/// An order- and adjacency-preserving map from Restate offsets (tails count from 1) to
/// compressed Restate offsets (also from 1; the model's offset is the value minus 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetMap {
    points: BTreeMap<u64, u64>,
}

impl OffsetMap {
    /// The map of a set of named offsets: the empty tail 1 maps to 1, and each next named
    /// offset to the previous one's image plus `min(gap, 2)`. Zero (not a Restate offset) is
    /// ignored: the translator refuses it with its own error.
    pub fn build(named: impl IntoIterator<Item = u64>) -> OffsetMap {
        let mut values: Vec<u64> = named.into_iter().filter(|&v| v >= 1).collect();
        values.push(1);
        values.sort_unstable();
        values.dedup();
        let mut points = BTreeMap::new();
        let (mut prev, mut image) = (1u64, 1u64);
        for v in values {
            image += (v - prev).min(MAX_GAP);
            points.insert(v, image);
            prev = v;
        }
        OffsetMap { points }
    }

    /// The image of a named offset. An offset the map was not built from maps to the image of
    /// the largest named offset below it plus 1: it lies strictly between that offset's image
    /// and the next named offset's (which is then more than one away), so order is kept.
    pub fn apply(&self, value: u64) -> u64 {
        if let Some(&m) = self.points.get(&value) {
            return m;
        }
        match self.points.range(..value).next_back() {
            Some((_, &m)) => m + 1,
            None => value,
        }
    }

    /// The largest image: the compressed tail of the loglet (model offsets up to it minus 1).
    pub fn max_image(&self) -> u64 {
        self.points.values().copied().max().unwrap_or(1)
    }

    /// The largest named offset.
    pub fn max_named(&self) -> u64 {
        self.points.keys().copied().max().unwrap_or(1)
    }

    /// Whether the map changes nothing (every named offset is its own image).
    pub fn is_identity(&self) -> bool {
        self.points.iter().all(|(k, v)| k == v)
    }

    /// The `[restate, compressed]` pairs, by offset.
    pub fn pairs(&self) -> Vec<[u64; 2]> {
        self.points.iter().map(|(&k, &v)| [k, v]).collect()
    }

    /// The map as one line of notes: `restate->trace` pairs in model offsets (value minus 1).
    pub fn note(&self) -> String {
        let pairs: Vec<String> = self
            .points
            .iter()
            .filter(|(&k, _)| k > 1)
            .map(|(k, v)| format!("{}->{}", k - 1, v - 1))
            .collect();
        format!(
            "offsets compressed (order and adjacency kept, gaps over {MAX_GAP} become {MAX_GAP}; a divergence that depends only on how many unlogged records lie between two named tails is not seen): {} named tails, Restate tail {} -> model tail {}: {}",
            self.points.len() - 1,
            self.max_named() - 1,
            self.max_image() - 1,
            pairs.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_of_one_stay_and_larger_gaps_become_two() {
        // Model offsets 0 (empty), then gaps 1, 5 and 300.
        let m = OffsetMap::build([2, 7, 307]);
        assert_eq!(m.apply(1), 1);
        assert_eq!(m.apply(2), 2);
        assert_eq!(m.apply(7), 4);
        assert_eq!(m.apply(307), 6);
        assert_eq!(m.pairs(), vec![[1, 1], [2, 2], [7, 4], [307, 6]]);
        assert!(!m.is_identity());
        assert!(OffsetMap::build([2, 3, 5]).is_identity());
    }

    #[test]
    fn order_and_equality_are_kept() {
        let named = [900, 3, 450, 451, 3, 1000, 2];
        let m = OffsetMap::build(named);
        let mut sorted = named.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let images: Vec<u64> = sorted.iter().map(|&v| m.apply(v)).collect();
        assert!(images.windows(2).all(|w| w[0] < w[1]), "{images:?}");
        assert_eq!(m.apply(451) - m.apply(450), 1);
        assert_eq!(m.apply(900) - m.apply(451), 2);
        // An offset between two named ones stays between their images.
        assert!(m.apply(452) > m.apply(451) && m.apply(452) < m.apply(900));
    }
}
