//! Offsets and tails of a loglet, and sets of offsets.
//!
//! Every offset, local tail, known global tail and sealed tail in the model is an [`Offset`]:
//! wide enough for any loglet a recorded run or a validation needs (the limits are
//! [`crate::config::MAX_APPENDS`] and [`crate::trace_format::MAX_OFFSET`]).
//!
//! A log server's stored records are an [`OffsetSet`]: a sorted list of disjoint, non-adjacent
//! half-open intervals. A log server stores in order, so its set is a prefix; only a lost
//! store, a crash or a tail repair leaves gaps. Its size is the number of gaps plus one, not
//! the number of records, so a million records cost as little as one.

use std::cmp::{Ordering, Reverse};
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An offset of a record in a loglet, or a tail (the first offset after the last record).
pub type Offset = u32;

/// A set of offsets, kept as its maximal intervals: sorted, disjoint and non-adjacent
/// half-open ranges `lo..hi` with `lo < hi`. The representation is canonical (one list per
/// set), so the derived equality and hash hold exactly when the sets are equal.
///
/// The order is the order of the sets as 64-bit masks (bit `o` for offset `o`), extended to
/// any offsets: the set with the highest element the two do not share is the greater. Sorted
/// log servers, networks and symmetry representatives therefore keep the order they had when
/// sets were bit masks. Offsets must stay below [`Offset::MAX`].
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct OffsetSet {
    /// The only interval while there is at most one: `(0, 0)` when the set is empty or when
    /// `more` holds the intervals. A log server's usual set, a prefix, lives here.
    one: (Offset, Offset),
    /// The maximal intervals, lowest first, once there are two or more (behind one thin
    /// pointer, so that a set is 16 bytes and a prefix needs no allocation).
    #[allow(clippy::box_collection)] // the box is the thin pointer: a bare Vec is 24 bytes
    more: Option<Box<Vec<(Offset, Offset)>>>,
}

impl OffsetSet {
    /// The empty set.
    pub fn new() -> OffsetSet {
        OffsetSet::default()
    }

    /// Every offset in `range` (empty for an empty range).
    pub fn range(range: Range<Offset>) -> OffsetSet {
        let mut s = OffsetSet::new();
        s.insert_range(range);
        s
    }

    /// The maximal intervals, lowest first.
    fn runs(&self) -> &[(Offset, Offset)] {
        match &self.more {
            Some(runs) => runs,
            None if self.one.0 < self.one.1 => std::slice::from_ref(&self.one),
            None => &[],
        }
    }

    /// The set of these maximal intervals (lowest first), in its one representation.
    fn from_runs(runs: Vec<(Offset, Offset)>) -> OffsetSet {
        match runs.len() {
            0 => OffsetSet::default(),
            1 => OffsetSet {
                one: runs[0],
                more: None,
            },
            _ => OffsetSet {
                one: (0, 0),
                more: Some(Box::new(runs)),
            },
        }
    }

    /// Changes the list of intervals; `f` must leave it sorted, disjoint and non-adjacent.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<(Offset, Offset)>)) {
        let mut runs = match self.more.take() {
            Some(runs) => *runs,
            None => self.runs().to_vec(),
        };
        f(&mut runs);
        *self = OffsetSet::from_runs(runs);
    }

    /// The index of the first interval that starts after `o`.
    fn after(&self, o: Offset) -> usize {
        self.runs().partition_point(|&(lo, _)| lo <= o)
    }

    /// Whether offset `o` is in the set (a binary search over the intervals).
    pub fn contains(&self, o: Offset) -> bool {
        let i = self.after(o);
        i > 0 && self.runs()[i - 1].1 > o
    }

    /// Adds offset `o`, merging it with the intervals it touches; false if it was in already.
    pub fn insert(&mut self, o: Offset) -> bool {
        if self.more.is_none() {
            // At most one interval: a store at the tail extends it without allocating.
            let (lo, hi) = self.one;
            if lo == hi {
                self.one = (o, o + 1);
                return true;
            }
            if (lo..hi).contains(&o) {
                return false;
            }
            if o == hi {
                self.one.1 = o + 1;
                return true;
            }
            if o + 1 == lo {
                self.one.0 = o;
                return true;
            }
        }
        let i = self.after(o);
        if i > 0 && self.runs()[i - 1].1 > o {
            return false;
        }
        self.edit(|runs| {
            let joins_left = i > 0 && runs[i - 1].1 == o;
            let joins_right = i < runs.len() && runs[i].0 == o + 1;
            match (joins_left, joins_right) {
                (true, true) => {
                    runs[i - 1].1 = runs[i].1;
                    runs.remove(i);
                }
                (true, false) => runs[i - 1].1 = o + 1,
                (false, true) => runs[i].0 = o,
                (false, false) => runs.insert(i, (o, o + 1)),
            }
        });
        true
    }

    /// Adds every offset of `range`, merging the intervals it overlaps or touches.
    pub fn insert_range(&mut self, range: Range<Offset>) {
        let (lo, hi) = (range.start, range.end);
        if lo >= hi {
            return;
        }
        // Intervals that end before `lo` without touching it stay; so do those starting after
        // `hi`. The ones in between merge with the range.
        self.edit(|runs| {
            let first = runs.partition_point(|&(_, h)| h < lo);
            let last = runs.partition_point(|&(l, _)| l <= hi);
            if first == last {
                runs.insert(first, (lo, hi));
            } else {
                let merged = (lo.min(runs[first].0), hi.max(runs[last - 1].1));
                runs[first] = merged;
                runs.drain(first + 1..last);
            }
        });
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.runs().is_empty()
    }

    /// The number of offsets in the set.
    pub fn len(&self) -> u64 {
        self.runs().iter().map(|&(lo, hi)| u64::from(hi - lo)).sum()
    }

    /// The highest offset in the set (not `max`, which `Ord` names).
    pub fn max_offset(&self) -> Option<Offset> {
        self.runs().last().map(|&(_, hi)| hi - 1)
    }

    /// Whether every offset of this set is in `other`: each interval lies inside one of
    /// `other`'s (they are maximal), found by a binary search.
    pub fn is_subset(&self, other: &OffsetSet) -> bool {
        self == other
            || self.runs().iter().all(|&(lo, hi)| {
                let i = other.after(lo);
                i > 0 && other.runs()[i - 1].1 >= hi
            })
    }

    /// The maximal intervals, lowest first.
    pub fn intervals(&self) -> impl DoubleEndedIterator<Item = Range<Offset>> + '_ {
        self.runs().iter().map(|&(lo, hi)| lo..hi)
    }

    /// The offsets, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = Offset> + '_ {
        self.intervals().flatten()
    }
}

impl Ord for OffsetSet {
    /// From the top: the set whose highest interval ends higher is greater; of two that end
    /// at the same offset, the one reaching lower holds the highest offset the other lacks
    /// (the other's next interval does not touch its start); equal intervals pass to the next
    /// pair, and a set with intervals left over is the greater. This is the bit-mask order.
    fn cmp(&self, other: &OffsetSet) -> Ordering {
        let key = |&(lo, hi): &(Offset, Offset)| (hi, Reverse(lo));
        self.runs()
            .iter()
            .rev()
            .map(key)
            .cmp(other.runs().iter().rev().map(key))
    }
}

impl PartialOrd for OffsetSet {
    fn partial_cmp(&self, other: &OffsetSet) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for OffsetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.intervals()).finish()
    }
}

impl FromIterator<Offset> for OffsetSet {
    fn from_iter<I: IntoIterator<Item = Offset>>(iter: I) -> OffsetSet {
        let mut s = OffsetSet::new();
        for o in iter {
            s.insert(o);
        }
        s
    }
}

impl<const N: usize> From<[Offset; N]> for OffsetSet {
    fn from(offsets: [Offset; N]) -> OffsetSet {
        offsets.into_iter().collect()
    }
}

impl Serialize for OffsetSet {
    /// The intervals as `[lo, hi]` pairs (half-open), lowest first.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.runs().iter())
    }
}

impl<'de> Deserialize<'de> for OffsetSet {
    /// Any list of `[lo, hi]` pairs; overlapping or touching ones merge, so the result is
    /// canonical.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OffsetSet, D::Error> {
        let pairs: Vec<(Offset, Offset)> = Vec::deserialize(d)?;
        let mut s = OffsetSet::new();
        for (lo, hi) in pairs {
            s.insert_range(lo..hi);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    const N: u32 = 10;

    /// The set that mask `m` stands for.
    fn set(m: u64) -> OffsetSet {
        (0..64).filter(|&o| m & (1 << o) != 0).collect()
    }

    fn hash(s: &OffsetSet) -> u64 {
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    }

    fn canonical(s: &OffsetSet) -> bool {
        let runs = s.runs();
        let one_place = match &s.more {
            Some(more) => more.len() >= 2 && s.one == (0, 0),
            None => s.one.0 < s.one.1 || s.one == (0, 0),
        };
        one_place
            && runs.iter().all(|&(lo, hi)| lo < hi)
            && runs.windows(2).all(|w| w[0].1 < w[1].0)
    }

    #[test]
    fn every_subset_of_ten_offsets_behaves_as_its_bit_mask() {
        let sets: Vec<OffsetSet> = (0..1u64 << N).map(set).collect();
        for (m, s) in sets.iter().enumerate() {
            let m = m as u64;
            assert!(canonical(s), "{m:b}: {s:?}");
            assert_eq!(s.len(), u64::from(m.count_ones()), "{m:b}");
            assert_eq!(s.is_empty(), m == 0);
            assert_eq!(
                s.max_offset(),
                (m != 0).then(|| 63 - m.leading_zeros()),
                "{m:b}"
            );
            assert_eq!(s.iter().map(|o| 1u64 << o).sum::<u64>(), m, "{m:b}");
            for o in 0..N + 2 {
                assert_eq!(s.contains(o), m & (1 << o) != 0, "{m:b} contains {o}");
                let mut t = s.clone();
                assert_eq!(t.insert(o), m & (1 << o) == 0, "{m:b} insert {o}");
                assert!(canonical(&t), "{m:b} insert {o}: {t:?}");
                assert_eq!(t, set(m | 1 << o), "{m:b} insert {o}");
            }
        }
        for (a, sa) in sets.iter().enumerate() {
            for (b, sb) in sets.iter().enumerate() {
                assert_eq!(sa.cmp(sb), a.cmp(&b), "{a:b} vs {b:b}");
                assert_eq!(sa == sb, a == b, "{a:b} vs {b:b}");
                assert_eq!(sa.is_subset(sb), a & !b == 0, "{a:b} vs {b:b}");
                if a == b {
                    assert_eq!(hash(sa), hash(sb));
                }
            }
        }
    }

    #[test]
    fn ranges_merge_with_what_they_overlap_or_touch() {
        for a in 0..1u64 << 8 {
            for lo in 0..9 {
                for hi in lo..10 {
                    let mut s = set(a);
                    s.insert_range(lo..hi);
                    let mask = a | ((1u64 << hi) - 1) & !((1u64 << lo) - 1);
                    assert!(canonical(&s), "{a:b} + {lo}..{hi}: {s:?}");
                    assert_eq!(s, set(mask), "{a:b} + {lo}..{hi}");
                }
            }
        }
    }

    #[test]
    fn a_set_is_two_words_and_a_prefix_does_not_allocate() {
        assert_eq!(std::mem::size_of::<OffsetSet>(), 16);
        let mut s = OffsetSet::new();
        for o in 0..100 {
            s.insert(o);
        }
        assert!(s.more.is_none());
        s.insert(200);
        assert!(s.more.is_some());
        s.insert_range(100..200);
        assert!(s.more.is_none(), "back to one interval: {s:?}");
    }

    #[test]
    fn a_million_records_are_one_interval() {
        let mut s = OffsetSet::range(0..1_000_000);
        assert_eq!(s.intervals().count(), 1);
        assert_eq!((s.len(), s.max_offset()), (1_000_000, Some(999_999)));
        s.insert(1_000_001);
        assert_eq!(
            s.intervals().collect::<Vec<_>>(),
            [0..1_000_000, 1_000_001..1_000_002]
        );
        assert!(!s.contains(1_000_000) && s.contains(999_999));
        s.insert(1_000_000);
        assert_eq!(s, OffsetSet::range(0..1_000_002));
        assert!(OffsetSet::range(0..1_000_000) < s);
        assert!(OffsetSet::from([999_999]) > OffsetSet::range(0..999_999));
    }

    #[test]
    fn serde_writes_the_intervals_and_reads_them_back_canonical() {
        let s = OffsetSet::from([0, 1, 2, 5]);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, "[[0,3],[5,6]]");
        assert_eq!(serde_json::from_str::<OffsetSet>(&text).unwrap(), s);
        let messy: OffsetSet = serde_json::from_str("[[5,6],[0,2],[2,3],[4,4]]").unwrap();
        assert_eq!(messy, s);
    }
}
