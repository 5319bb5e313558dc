//! The sequencer's appends, kept as runs.
//!
//! The sequencer reserves offsets from 0 upwards, one per append, and remembers for each
//! append the nodes its stores went to, the nodes that answered, and its status. A steady
//! pipeline makes thousands of appends that differ in nothing but their offset: acknowledged
//! by the same write quorum, or cancelled by the same drain. An [`AppendLog`] stores them as
//! maximal runs of consecutive appends with equal [`AppendData`], so a state's cost (clone,
//! hash, compare, the scans of the steps) grows with the number of runs, not of appends.
//!
//! Adjacent runs never hold equal data: every edit merges them again. The representation is
//! therefore canonical, and the derived equality and hash hold exactly when the expanded
//! sequences of [`Append`]s are equal. The order is written by hand to be the order of the
//! expanded `Vec<Append>` (the order of `State` picks symmetry representatives and sorts
//! frontiers, so it must not change with the representation).

use std::cmp::Ordering;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::offsets::Offset;
use crate::state::{Append, AppendStatus, Bits};

/// Everything about one append but its offset: what a run of appends shares.
///
/// Its fields, and their order (which decides the derived order), are those of [`Append`]
/// after `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppendData {
    /// Nodes the stores went to (writable in the sequencer's view).
    pub targets: Bits,
    /// Nodes that replied Stored(Ok).
    pub stored: Bits,
    /// Nodes that replied Sealed.
    pub sealed: Bits,
    /// In flight, acknowledged, rejected as sealed, or cancelled.
    pub status: AppendStatus,
}

impl AppendData {
    /// The append at `offset` with this data.
    pub fn at(self, offset: Offset) -> Append {
        Append {
            offset,
            targets: self.targets,
            stored: self.stored,
            sealed: self.sealed,
            status: self.status,
        }
    }

    /// Whether the append is still in flight (its reply bits can still change).
    pub fn in_flight(&self) -> bool {
        self.status == AppendStatus::InFlight
    }
}

impl Append {
    /// The append without its offset.
    pub fn data(&self) -> AppendData {
        AppendData {
            targets: self.targets,
            stored: self.stored,
            sealed: self.sealed,
            status: self.status,
        }
    }
}

/// A view of one run: the appends at offsets `start..start + len`, all with `data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendRun {
    /// The offset of its first append.
    pub start: Offset,
    /// How many appends it holds (at least one).
    pub len: Offset,
    /// What its appends share.
    pub data: AppendData,
}

impl AppendRun {
    /// The offsets of its appends.
    pub fn offsets(&self) -> Range<Offset> {
        self.start..self.start + self.len
    }
}

/// One stored run: the appends below `end` and at or after the previous run's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Run {
    /// The offset after its last append.
    end: Offset,
    /// What its appends share.
    data: AppendData,
}

/// The appends a sequencer made, in offset order from 0, as maximal runs of equal
/// [`AppendData`] (see the module essay). Equality and hash are those of the expanded
/// sequences; so is the order ([`Ord`] walks both run lists, O(runs)).
///
/// Serialized as its list of runs (each with the offset after its last append); reading
/// refuses a list that is not in that one form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RunList")]
pub struct AppendLog {
    /// Maximal runs, lowest offsets first; adjacent runs hold different data.
    runs: Vec<Run>,
}

/// An [`AppendLog`] as read, before its form is checked.
#[derive(Deserialize)]
struct RunList {
    runs: Vec<Run>,
}

impl TryFrom<RunList> for AppendLog {
    type Error = String;

    /// The log, if the runs are non-empty, in offset order and maximal.
    fn try_from(list: RunList) -> Result<AppendLog, String> {
        let mut start = 0;
        for (i, r) in list.runs.iter().enumerate() {
            if r.end <= start {
                return Err(format!("append run {i} ends at {} after {start}", r.end));
            }
            if i > 0 && list.runs[i - 1].data == r.data {
                return Err(format!("append runs {} and {i} are not merged", i - 1));
            }
            start = r.end;
        }
        Ok(AppendLog { runs: list.runs })
    }
}

impl AppendLog {
    /// No appends.
    pub fn new() -> AppendLog {
        AppendLog::default()
    }

    /// How many appends were made (the next offset to reserve). O(1).
    pub fn len(&self) -> usize {
        self.end() as usize
    }

    /// The offset the next append reserves. O(1).
    pub fn end(&self) -> Offset {
        self.runs.last().map_or(0, |r| r.end)
    }

    /// Whether no append was made. O(1).
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The number of runs. O(1).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// The index of the run holding offset `o` (a binary search), if it was made.
    fn run_index(&self, o: Offset) -> Option<usize> {
        let i = self.runs.partition_point(|r| r.end <= o);
        (i < self.runs.len()).then_some(i)
    }

    /// The first offset of run `i`.
    fn start_of(&self, i: usize) -> Offset {
        if i == 0 {
            0
        } else {
            self.runs[i - 1].end
        }
    }

    /// The append at offset `o`, if it was made. O(log runs).
    pub fn get(&self, o: Offset) -> Option<Append> {
        self.run_index(o).map(|i| self.runs[i].data.at(o))
    }

    /// The run holding offset `o`, if it was made. O(log runs).
    pub fn run_at(&self, o: Offset) -> Option<AppendRun> {
        self.run_index(o).map(|i| self.view(i))
    }

    /// The view of run `i`.
    fn view(&self, i: usize) -> AppendRun {
        let start = self.start_of(i);
        AppendRun {
            start,
            len: self.runs[i].end - start,
            data: self.runs[i].data,
        }
    }

    /// The last append made, if any. O(1).
    pub fn last(&self) -> Option<Append> {
        self.runs.last().map(|r| r.data.at(r.end - 1))
    }

    /// Appends `a`, whose offset must be [`AppendLog::end`] (appends are made in offset
    /// order); it joins the last run when its data is the same. O(1) amortized.
    pub fn push(&mut self, a: Append) {
        assert_eq!(a.offset, self.end(), "appends are made in offset order");
        self.push_run(a.data(), 1);
    }

    /// Adds `len` appends with `data` after the last one, merging with the last run.
    fn push_run(&mut self, data: AppendData, len: Offset) {
        if len == 0 {
            return;
        }
        match self.runs.last_mut() {
            Some(r) if r.data == data => r.end += len,
            _ => {
                let end = self.end() + len;
                self.runs.push(Run { end, data })
            }
        }
    }

    /// Changes the append at offset `o` with `f` (which must not change its offset) and
    /// returns what `f` returns; `None`, without calling `f`, if `o` was not made. The run
    /// holding `o` is split around it and merged again with its neighbours. O(log runs) to
    /// find it, plus O(runs) to shift the list when it splits or merges.
    pub fn update<R>(&mut self, o: Offset, f: impl FnOnce(&mut Append) -> R) -> Option<R> {
        let i = self.run_index(o)?;
        let old = self.runs[i].data;
        let mut a = old.at(o);
        let out = f(&mut a);
        assert_eq!(a.offset, o, "an update keeps the append's offset");
        let new = a.data();
        if new != old {
            self.set(i, o, new);
        }
        Some(out)
    }

    /// Gives offset `o`, in run `i`, new data `new` (different from the run's), splitting the
    /// run and merging the pieces with equal neighbours.
    fn set(&mut self, i: usize, o: Offset, new: AppendData) {
        let start = self.start_of(i);
        let Run { end, data: old } = self.runs[i];
        // Up to three pieces replace run i: [start, o) old, [o, o+1) new, [o+1, end) old.
        let mut pieces: Vec<Run> = Vec::with_capacity(3);
        if start < o {
            pieces.push(Run { end: o, data: old });
        }
        pieces.push(Run {
            end: o + 1,
            data: new,
        });
        if o + 1 < end {
            pieces.push(Run { end, data: old });
        }
        // Merge with the neighbours when the pieces at the edges equal them.
        let mut lo = i;
        if start == o && i > 0 && self.runs[i - 1].data == new {
            // The left neighbour ends at `o`: the first piece, ending at o+1, absorbs it.
            lo = i - 1;
        }
        let mut hi = i + 1;
        if o + 1 == end && hi < self.runs.len() && self.runs[hi].data == new {
            let last = pieces.len() - 1;
            pieces[last].end = self.runs[hi].end;
            hi += 1;
        }
        self.runs.splice(lo..hi, pieces);
    }

    /// Every append, lowest offset first. O(appends): for descriptions and tests; a step of
    /// the model or of the validator works on [`AppendLog::runs`].
    pub fn iter(&self) -> impl Iterator<Item = Append> + '_ {
        self.runs()
            .flat_map(|r| r.offsets().map(move |o| r.data.at(o)))
    }

    /// The runs, lowest offsets first. O(1) per run.
    pub fn runs(&self) -> impl DoubleEndedIterator<Item = AppendRun> + ExactSizeIterator + '_ {
        (0..self.runs.len()).map(|i| self.view(i))
    }

    /// Whether some append's data satisfies `p`. O(runs).
    pub fn any(&self, mut p: impl FnMut(&AppendData) -> bool) -> bool {
        self.runs.iter().any(|r| p(&r.data))
    }

    /// Whether every append's data satisfies `p` (true when there is none). O(runs).
    pub fn all(&self, mut p: impl FnMut(&AppendData) -> bool) -> bool {
        self.runs.iter().all(|r| p(&r.data))
    }

    /// Changes the data of every run with `f`, then merges the runs that became equal (the
    /// drain cancels every append in flight; a forgetful state clears the reply bits of every
    /// resolved append). O(runs).
    pub fn map_runs(&mut self, mut f: impl FnMut(&mut AppendData)) {
        let old = std::mem::take(&mut self.runs);
        let mut start = 0;
        for mut r in old {
            let len = r.end - start;
            start = r.end;
            f(&mut r.data);
            self.push_run(r.data, len);
        }
    }

    /// Clears the reply bits (`stored`, `sealed`) of every resolved (not in flight) append:
    /// no step reads them once the append is resolved, so a validation state forgets them
    /// ([`crate::SealModel::forgetful`]) and its resolved appends fall into a few runs. The
    /// targets stay: the validator reads them to know whether every store went to the whole
    /// nodeset. O(runs).
    pub fn forget_resolved_replies(&mut self) {
        self.map_runs(|d| {
            if !d.in_flight() {
                d.stored = 0;
                d.sealed = 0;
            }
        });
    }

    /// The pieces of offsets on which both logs are constant, lowest first, covering the
    /// offsets either made: each with the data of `self` and of `other` there (`None` past
    /// a log's end). O(runs of both).
    pub fn zip_runs(
        &self,
        other: &AppendLog,
    ) -> Vec<(Range<Offset>, Option<AppendData>, Option<AppendData>)> {
        let mut out = Vec::new();
        let (mut i, mut j, mut at) = (0, 0, 0);
        while i < self.runs.len() || j < other.runs.len() {
            let a = self.runs.get(i);
            let b = other.runs.get(j);
            let end = match (a, b) {
                (Some(a), Some(b)) => a.end.min(b.end),
                (Some(a), None) => a.end,
                (None, Some(b)) => b.end,
                (None, None) => unreachable!(),
            };
            out.push((at..end, a.map(|r| r.data), b.map(|r| r.data)));
            at = end;
            if a.is_some_and(|r| r.end == end) {
                i += 1;
            }
            if b.is_some_and(|r| r.end == end) {
                j += 1;
            }
        }
        out
    }

    /// The runs as `(len, data)` pairs, lowest offsets first.
    fn lengths(&self) -> impl Iterator<Item = (Offset, AppendData)> + '_ {
        self.runs().map(|r| (r.len, r.data))
    }
}

impl FromIterator<Append> for AppendLog {
    /// The log of these appends, which must come in offset order from 0.
    fn from_iter<I: IntoIterator<Item = Append>>(iter: I) -> AppendLog {
        let mut log = AppendLog::new();
        for a in iter {
            log.push(a);
        }
        log
    }
}

/// Compares two sequences given as runs `(len, value)` (lengths of zero allowed, equal
/// adjacent values allowed) by the lexicographic order of their expansions, where a proper
/// prefix is the smaller. O(runs of both).
pub fn cmp_expanded<T: Ord>(
    a: impl IntoIterator<Item = (Offset, T)>,
    b: impl IntoIterator<Item = (Offset, T)>,
) -> Ordering {
    let mut a = a.into_iter().filter(|r| r.0 > 0);
    let mut b = b.into_iter().filter(|r| r.0 > 0);
    let (mut x, mut y) = (a.next(), b.next());
    loop {
        match (&mut x, &mut y) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((la, va)), Some((lb, vb))) => {
                let o = Ord::cmp(&*va, &*vb);
                if o != Ordering::Equal {
                    return o;
                }
                let step = (*la).min(*lb);
                *la -= step;
                *lb -= step;
                if *la == 0 {
                    x = a.next();
                }
                if *lb == 0 {
                    y = b.next();
                }
            }
        }
    }
}

impl Ord for AppendLog {
    /// The order of the expanded `Vec<Append>`: at each offset both appends have the same
    /// offset, so the first differing data decides, and a proper prefix is the smaller.
    /// O(runs of both).
    fn cmp(&self, other: &AppendLog) -> Ordering {
        cmp_expanded(self.lengths(), other.lengths())
    }
}

impl PartialOrd for AppendLog {
    fn partial_cmp(&self, other: &AppendLog) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    use super::*;

    use crate::test_rng::Rng;

    impl Rng {
        /// Data from a small alphabet, so that runs form and merge often.
        fn data(&mut self) -> AppendData {
            let status = [
                AppendStatus::InFlight,
                AppendStatus::Acked,
                AppendStatus::RejectedSealed,
                AppendStatus::Cancelled,
            ][self.below(4) as usize];
            AppendData {
                targets: 0b111,
                stored: self.below(2) as Bits,
                sealed: self.below(2) as Bits,
                status,
            }
        }
    }

    fn hash(x: &impl Hash) -> u64 {
        let mut h = DefaultHasher::new();
        x.hash(&mut h);
        h.finish()
    }

    /// The invariant: maximal runs, each non-empty.
    fn check(log: &AppendLog, shadow: &[Append]) {
        let mut start = 0;
        for (i, r) in log.runs.iter().enumerate() {
            assert!(r.end > start, "empty run");
            if i > 0 {
                assert_ne!(log.runs[i - 1].data, r.data, "unmerged runs");
            }
            start = r.end;
        }
        assert_eq!(log.iter().collect::<Vec<_>>(), shadow);
        assert_eq!(log.len(), shadow.len());
        assert_eq!(log.last(), shadow.last().cloned());
        for o in 0..shadow.len() as Offset + 2 {
            assert_eq!(log.get(o), shadow.get(o as usize).cloned());
        }
        assert_eq!(shadow.iter().cloned().collect::<AppendLog>(), *log);
    }

    /// Random pushes, updates and maps agree with a plain `Vec<Append>`.
    #[test]
    fn agrees_with_a_vec() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let mut log = AppendLog::new();
            let mut shadow: Vec<Append> = Vec::new();
            for _ in 0..40 {
                match rng.below(5) {
                    0 | 1 => {
                        let a = rng.data().at(shadow.len() as Offset);
                        log.push(a.clone());
                        shadow.push(a);
                    }
                    2 | 3 => {
                        let o = rng.below(shadow.len() as u64 + 1) as Offset;
                        let d = rng.data();
                        let r = log.update(o, |a| {
                            a.targets = d.targets;
                            a.stored = d.stored;
                            a.sealed = d.sealed;
                            a.status = d.status;
                            a.offset
                        });
                        assert_eq!(r, shadow.get(o as usize).map(|a| a.offset));
                        if let Some(a) = shadow.get_mut(o as usize) {
                            *a = d.at(o);
                        }
                    }
                    _ => {
                        let f = |d: &mut AppendData| {
                            if d.status == AppendStatus::InFlight {
                                d.status = AppendStatus::Cancelled;
                            } else {
                                d.stored = 0;
                            }
                        };
                        log.map_runs(f);
                        for a in &mut shadow {
                            let mut d = a.data();
                            f(&mut d);
                            *a = d.at(a.offset);
                        }
                    }
                }
                check(&log, &shadow);
            }
        }
    }

    /// Every pair of logs over a two-letter alphabet up to length 6: the order, equality and
    /// hash equality are those of the expanded vectors, and `zip_runs` covers both.
    #[test]
    fn order_equality_and_hash_are_those_of_the_vectors() {
        let letters = [
            AppendData {
                targets: 1,
                stored: 0,
                sealed: 0,
                status: AppendStatus::InFlight,
            },
            AppendData {
                targets: 1,
                stored: 1,
                sealed: 0,
                status: AppendStatus::Acked,
            },
        ];
        let mut all: Vec<Vec<Append>> = Vec::new();
        for len in 0..=6u32 {
            for mask in 0..(1u32 << len) {
                all.push(
                    (0..len)
                        .map(|o| letters[(mask >> o & 1) as usize].at(o))
                        .collect(),
                );
            }
        }
        let logs: Vec<AppendLog> = all.iter().map(|v| v.iter().cloned().collect()).collect();
        for (va, la) in all.iter().zip(&logs) {
            for (vb, lb) in all.iter().zip(&logs) {
                assert_eq!(la.cmp(lb), va.cmp(vb), "{va:?} vs {vb:?}");
                assert_eq!(la == lb, va == vb);
                if va == vb {
                    assert_eq!(hash(la), hash(lb));
                }
                let mut covered = 0;
                for (range, a, b) in la.zip_runs(lb) {
                    assert_eq!(range.start, covered);
                    covered = range.end;
                    for o in range {
                        assert_eq!(a, va.get(o as usize).map(Append::data));
                        assert_eq!(b, vb.get(o as usize).map(Append::data));
                    }
                }
                assert_eq!(covered as usize, va.len().max(vb.len()));
            }
        }
    }

    /// `cmp_expanded` accepts empty and unmerged runs.
    #[test]
    fn cmp_expanded_ignores_the_cut() {
        assert_eq!(
            cmp_expanded([(2, 'a'), (0, 'z'), (1, 'a')], [(3, 'a')]),
            Ordering::Equal
        );
        assert_eq!(cmp_expanded([(2, 'a')], [(3, 'a')]), Ordering::Less);
        assert_eq!(
            cmp_expanded([(2, 'a'), (1, 'b')], [(3, 'a')]),
            Ordering::Greater
        );
    }

    /// The serialized form is the run list, and it reads back.
    #[test]
    fn serde_round_trip() {
        let log: AppendLog = (0..5)
            .map(|o| {
                AppendData {
                    targets: 3,
                    stored: 3,
                    sealed: 0,
                    status: AppendStatus::Acked,
                }
                .at(o)
            })
            .collect();
        let json = serde_json::to_string(&log).unwrap();
        assert_eq!(log.run_count(), 1);
        assert_eq!(serde_json::from_str::<AppendLog>(&json).unwrap(), log);
        let d = r#"{"targets":3,"stored":3,"sealed":0,"status":"Acked"}"#;
        for bad in [
            format!(r#"{{"runs":[{{"end":2,"data":{d}}},{{"end":4,"data":{d}}}]}}"#),
            format!(r#"{{"runs":[{{"end":0,"data":{d}}}]}}"#),
        ] {
            assert!(serde_json::from_str::<AppendLog>(&bad).is_err(), "{bad}");
        }
    }
}
