//! Mutations of a trace, and what validation must say about each.
//!
//! A mutant is a copy of a trace with one change: an item dropped, two adjacent items swapped,
//! a tail changed, a seal flag flipped, a member's status in a seal outcome changed, or a member
//! the outcome reports sealed (`S`) seen unsealed in its next snapshot. [`mutants`] generates
//! every one of the first four kinds, [`status_mutants`] the last two;
//! [`Mutant::judge`] says whether the verdict validation gave a mutant is acceptable.
//!
//! # Where a change is observed
//!
//! Each item reads and writes parts of the model state, at the granularity the trace can see:
//! the storage state of node n in the metadata (`cfg n`), log server n's copy (`srv n`: tail,
//! seal flag), the seal task (`task`) and the sequencer (`seq`):
//!
//! | item | reads | writes |
//! |---|---|---|
//! | `observe-log-server` n | srv n | - |
//! | `observe-storage-state` n | cfg n | - |
//! | `observe-sequencer` | seq | - |
//! | `provisioned` / `provision-refused` n | cfg n | cfg n, srv n |
//! | `crashed` / `restarted` n | cfg n, srv n | cfg n, srv n |
//! | `storage-state-set` n | - | cfg n |
//! | `seal-started` / `seal-rejected` | every cfg, task | task |
//! | `seal-completed` / `seal-failed` | task, every srv | task, seq |
//! | `sequencer-sealed` | seq | seq |
//! | any other event on n | srv n, task, seq | srv n, task, seq |
//!
//! Unlogged steps carry a write further: appends read every `cfg` (who is writable) and `seq`
//! (open) and write every `srv`; the seal requests of a task write every `srv`. So a write of
//! any `cfg`, of `task` or of `seq` also writes every `srv` (and a write of `task` writes
//! `seq`). The change a mutant makes *writes* the parts its changed items write, and, for an
//! observation whose value changed or which moved before or after another observation of the
//! same part, the part it reads (its value now has to be explained at another point).
//!
//! The *observing item* of a mutant is the first item at or after the change, in the mutant,
//! that reads a part the change writes (the end of the trace if none does). A rejection is
//! localized when it is at an item from the first changed item to the observing item; before
//! the first changed item the mutant and the original agree, so a rejection there is a bug.
//!
//! # Independent judgements
//!
//! Some verdicts are known without the validator:
//!
//! - **Unchanged.** The mutant has the original's verdict (its item mapped to the mutant's
//!   positions) when the change lies after the item the original is rejected at (the prefix up
//!   to it is the same), when an observation is dropped (every explanation of the original
//!   explains the mutant, and a step-local violation stays where it was), and when two
//!   observations are swapped one of which reads only a storage state (storage states change
//!   only by logged events when `provisioned` and `storage-state-set` are logged completely, so
//!   both observations see the same values in either order).
//! - **Rejected at the change.** A tail above the scenario's number of appends, a tail below an
//!   earlier observation of the same server (tails never move back), a seal flag seen false
//!   after it was seen true, or seen true before any seal started, or seen false after a seal
//!   outcome reported the server `S` (a log server confirms a seal only once it is durably
//!   sealed), is rejected at the changed item, provided the original explained the items
//!   before it.
//!
//! Every other mutant is *open*: it must be either rejected at a localized item, or keep the
//! original's verdict (a mutation the model can explain: it is a behaviour too). It must never
//! be inconclusive.

use sealcheck_model::observable::{Event, MemberStatus, NodesetStatus, Observation};
use sealcheck_model::offsets::Offset;

use crate::trace_reader::{Header, Item};
use crate::validate::Verdict;

/// What a mutation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An item removed.
    Drop,
    /// Two adjacent items of different parties exchanged (their time stamps stay in place).
    Swap,
    /// A tail in an observation or a seal item changed.
    Tail,
    /// A seal flag of an observation flipped.
    SealFlag,
    /// One member's status in a seal outcome's nodeset status changed to another of `S`, `E`,
    /// `?`.
    SealStatus,
    /// The next snapshot of a member a seal outcome reports `S` shows it unsealed.
    UnsealedAfterSeal,
}

impl Kind {
    /// The four kinds [`mutants`] generates, in table order.
    pub const ALL: [Kind; 4] = [Kind::Drop, Kind::Swap, Kind::Tail, Kind::SealFlag];

    /// The two kinds [`status_mutants`] generates.
    pub const STATUS: [Kind; 2] = [Kind::SealStatus, Kind::UnsealedAfterSeal];

    /// The kind's name in the mutation table (`drop`, `swap`, `tail change`,
    /// `seal-flag flip`, `seal-status flip`, `unsealed after S`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Drop => "drop",
            Kind::Swap => "swap",
            Kind::Tail => "tail change",
            Kind::SealFlag => "seal-flag flip",
            Kind::SealStatus => "seal-status flip",
            Kind::UnsealedAfterSeal => "unsealed after S",
        }
    }
}

/// What must be said about a mutant, known without the validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The original's verdict, items mapped.
    Unchanged,
    /// Rejected (diverges or violates) at the changed item exactly.
    RejectedAtChange,
    /// Rejected at a localized item, or the original's verdict.
    Open,
}

/// One mutant of a trace.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// What kind of change.
    pub kind: Kind,
    /// The change in words (original item indices).
    pub what: String,
    /// The mutant's items with their time stamps.
    pub items: Vec<(Option<f64>, Item)>,
    /// Index (in the mutant) of the first changed item.
    pub at: usize,
    /// Index (in the mutant) of the observing item (the item count for the end of the trace).
    pub observer: usize,
    /// What the verdict must be, judged from the change alone (not by the validator).
    pub expect: Expect,
    /// Original index -> mutant index (None: dropped).
    map: Vec<Option<usize>>,
}

/// How a mutant's verdict was classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rejected at the first changed item.
    RejectedAtChange,
    /// Rejected after the first changed item, at or before the observing item.
    RejectedAtObserver,
    /// Rejected after the observing item (a mutant whose change the judgement leaves open):
    /// the first item that reads what the change wrote could still be explained, a later one
    /// could not. The mutant is caught; the validator's localization is exact (the prefix
    /// before that item is explained, the one with it is not), so only the judgement's guess of
    /// where the change shows was early.
    RejectedLater,
    /// Rejected between two items, the search bounded before it localized the first item
    /// none explains: the mutant is caught, and the range is consistent with the judgement
    /// (it holds the changed item, or for a mutant the judgement leaves open, ends at or after
    /// it; for an unchanged one it holds the original's item).
    RejectedUnlocalized,
    /// The original's verdict: the mutant is a behaviour as good (or as bad) as the original;
    /// or it conforms because the item the original was rejected at was dropped.
    Conforming,
    /// A bound stopped the validation.
    Inconclusive,
    /// A verdict the judgement does not allow (in words).
    Wrong(String),
}

/// Parts of the state (bits): cfg n at bit n-1, srv n at 16 + n-1, task at 32, seq at 33.
type Parts = u64;
const TASK: Parts = 1 << 32;
const SEQ: Parts = 1 << 33;
const ALL_CFG: Parts = 0xffff;
const ALL_SRV: Parts = 0xffff << 16;

fn cfg(n: u8) -> Parts {
    1 << (n.saturating_sub(1) as u32 & 15)
}
fn srv(n: u8) -> Parts {
    1 << (16 + (n.saturating_sub(1) as u32 & 15))
}

/// (reads, writes) of an item, per the table in the module documentation.
fn footprint(item: &Item) -> (Parts, Parts) {
    match item {
        Item::Observe(o) => match o {
            Observation::ObserveLogServer { node, .. } => (srv(node.0), 0),
            Observation::ObserveStorageState { node, .. } => (cfg(node.0), 0),
            Observation::ObserveSequencer { .. } => (SEQ, 0),
        },
        Item::Event(e) => {
            let n = e.node().map(|n| n.0).unwrap_or(0);
            match e {
                // Provisioning reads the storage state and the process, not the copy.
                Event::Provisioned { .. } | Event::ProvisionRefused { .. } => {
                    (cfg(n), cfg(n) | srv(n))
                }
                Event::Crashed { .. } | Event::Restarted { .. } => {
                    (cfg(n) | srv(n), cfg(n) | srv(n))
                }
                Event::StorageStateSet { .. } => (0, cfg(n)),
                Event::SealStarted { .. } | Event::SealRejected { .. } => (ALL_CFG | TASK, TASK),
                Event::SealCompleted { .. } | Event::SealFailed { .. } => {
                    (TASK | ALL_SRV, TASK | SEQ)
                }
                Event::SequencerSealed { .. } => (SEQ, SEQ),
                _ => (srv(n) | TASK | SEQ, srv(n) | TASK | SEQ),
            }
        }
    }
}

/// What a write reaches through unlogged steps (module documentation).
fn closure(w: Parts) -> Parts {
    let mut w = w;
    if w & TASK != 0 {
        w |= SEQ;
    }
    if w & (ALL_CFG | TASK | SEQ) != 0 {
        w |= ALL_SRV;
    }
    w
}

fn is_observation(i: &Item) -> bool {
    matches!(i, Item::Observe(_))
}

fn reads_only_cfg(i: &Item) -> bool {
    matches!(i, Item::Observe(Observation::ObserveStorageState { .. }))
}

/// The party an item belongs to (for swaps: items of the same party are not exchanged).
fn party(header: &Header, i: &Item) -> String {
    match i {
        Item::Observe(o) => format!("{}:{}", o.kind(), o.node()),
        Item::Event(e) => {
            let k = e.kind();
            if Event::is_sealer_kind(k) {
                "sealer".to_string()
            } else if Event::is_sequencer_kind(k) {
                "sequencer".to_string()
            } else {
                let _ = header;
                format!(
                    "node {}",
                    e.node().map(|n| n.to_string()).unwrap_or_default()
                )
            }
        }
    }
}

fn log_server(i: &Item) -> Option<(u8, Option<Offset>, Option<bool>)> {
    match i {
        Item::Observe(Observation::ObserveLogServer {
            node,
            local_tail,
            sealed,
        }) => Some((node.0, *local_tail, *sealed)),
        _ => None,
    }
}

impl Mutant {
    fn new(
        kind: Kind,
        what: String,
        items: Vec<(Option<f64>, Item)>,
        at: usize,
        written: Parts,
        map: Vec<Option<usize>>,
        expect: Expect,
    ) -> Mutant {
        let w = closure(written);
        let observer = (at..items.len())
            .find(|&j| footprint(&items[j].1).0 & w != 0)
            .unwrap_or(items.len());
        Mutant {
            kind,
            what,
            items,
            at,
            observer,
            expect,
            map,
        }
    }

    /// Maps an item index of the original trace to the mutant (a dropped item maps to the item
    /// that took its place).
    pub fn map(&self, original: usize) -> usize {
        if original >= self.map.len() {
            return original + self.items.len() - self.map.len();
        }
        self.map[original].unwrap_or(original)
    }

    /// Classifies the verdict `got` of this mutant, given the original trace's verdict.
    pub fn judge(&self, original: &Verdict, got: &Verdict) -> Outcome {
        let rejected_at = |v: &Verdict| match v {
            Verdict::Diverges { at, .. } | Verdict::Violates { at, .. } => Some(at.index),
            _ => None,
        };
        let property = |v: &Verdict| match v {
            Verdict::Violates { property, .. } => Some(property.clone()),
            _ => None,
        };
        let same_as_original = match (original, got) {
            (Verdict::Conforms { .. }, Verdict::Conforms { .. }) => true,
            (o, g) if o.word() == g.word() => {
                rejected_at(o).map(|x| self.map(x)) == rejected_at(g) && property(o) == property(g)
            }
            _ => false,
        };
        if matches!(got, Verdict::Inconclusive { .. }) {
            return Outcome::Inconclusive;
        }
        if let Verdict::Rejected { at, last, .. } = got {
            let holds = |x: usize| at.index <= x && x <= *last;
            let consistent = match self.expect {
                Expect::Unchanged => rejected_at(original).is_some_and(|x| holds(self.map(x))),
                Expect::RejectedAtChange => holds(self.at),
                Expect::Open => *last >= self.at,
            };
            if consistent {
                return Outcome::RejectedUnlocalized;
            }
        }
        let describe = |v: &Verdict| match v {
            Verdict::Conforms { .. } => "conforms".to_string(),
            Verdict::Diverges { at, .. } => format!("diverges at {}", at.index),
            Verdict::Violates { at, property, .. } => {
                format!("violates {property} at {}", at.index)
            }
            Verdict::Rejected { at, last, .. } => {
                format!("rejected between {} and {last}", at.index)
            }
            Verdict::Inconclusive { at, .. } => format!("inconclusive at {}", at.index),
        };
        let wrong = |why: &str| {
            Outcome::Wrong(format!(
                "{why}: got {}, original {}, change at {}, observer {}",
                describe(got),
                describe(original),
                self.at,
                self.observer
            ))
        };
        match self.expect {
            Expect::Unchanged => {
                if same_as_original {
                    Outcome::Conforming
                } else {
                    wrong("expected the original's verdict")
                }
            }
            Expect::RejectedAtChange => match rejected_at(got) {
                Some(x) if x == self.at => Outcome::RejectedAtChange,
                _ => wrong("expected a rejection at the changed item"),
            },
            Expect::Open => match rejected_at(got) {
                Some(x) if x == self.at => Outcome::RejectedAtChange,
                Some(x) if x > self.at && x <= self.observer => Outcome::RejectedAtObserver,
                _ if same_as_original => Outcome::Conforming,
                // The item the original was rejected at is dropped: what rejected it may be
                // gone with it (a refusal for all-Provisioning members that only a forced move
                // nobody logged explains), so conforming is a right answer too.
                None if self.kind == Kind::Drop && rejected_at(original) == Some(self.at) => {
                    Outcome::Conforming
                }
                Some(x) if x > self.observer => Outcome::RejectedLater,
                _ => wrong("neither localized nor the original's verdict"),
            },
        }
    }
}

/// Every mutant of a trace, given the original's verdict (the item it is rejected at, if any):
/// every item dropped, every adjacent pair of items of different parties swapped, every tail of
/// an `observe-log-server` or `seal-completed` item set to t-1, t+1, t+2, 0 and the number of
/// appends plus one (each value once, never the original), every seal flag flipped.
pub fn mutants(
    header: &Header,
    items: &[(Option<f64>, Item)],
    rejected_at: Option<usize>,
) -> Vec<Mutant> {
    let mut out = drops(items, rejected_at);
    out.extend(swaps(header, items, rejected_at));
    for i in 0..items.len() {
        out.extend(value_changes(header, items, rejected_at, i));
    }
    out
}

/// Every mutant that contradicts a seal outcome's nodeset status, given the original's verdict:
/// each member's status changed to each other value ([`Kind::SealStatus`]), and for each
/// member reported `S` its next `observe-log-server` made to say `sealed: false`
/// ([`Kind::UnsealedAfterSeal`]). Kept apart from [`mutants`]: on a recording with unlogged
/// appends (`appends-then-seal`) the validator cannot yet decide a status no behaviour
/// produces within its bounds (inconclusive), so they are not in the measured table.
pub fn status_mutants(items: &[(Option<f64>, Item)], rejected_at: Option<usize>) -> Vec<Mutant> {
    (0..items.len())
        .flat_map(|i| status_changes(items, rejected_at, i))
        .collect()
}

/// Whether a change at item `i` comes after the item the original is rejected at (the
/// verdict cannot change then).
fn after_rejection(rejected_at: Option<usize>, i: usize) -> bool {
    rejected_at.is_some_and(|r| i > r)
}

/// Every item dropped: a dropped observation changes nothing unless the original is rejected
/// at it; any other drop may move the verdict anywhere up to its observer.
fn drops(items: &[(Option<f64>, Item)], rejected_at: Option<usize>) -> Vec<Mutant> {
    let n = items.len();
    let after_rejection = |i: usize| after_rejection(rejected_at, i);
    let mut out = Vec::new();
    for i in 0..n {
        let mut m = items.to_vec();
        let removed = m.remove(i);
        let map: Vec<Option<usize>> = (0..n)
            .map(|k| match k.cmp(&i) {
                std::cmp::Ordering::Less => Some(k),
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Greater => Some(k - 1),
            })
            .collect();
        let expect = if after_rejection(i) || (is_observation(&removed.1) && rejected_at != Some(i))
        {
            Expect::Unchanged
        } else {
            Expect::Open
        };
        let written = footprint(&removed.1).1;
        out.push(Mutant::new(
            Kind::Drop,
            format!("drop item {i} {}", removed.1.to_json()),
            m,
            i,
            written,
            map,
            expect,
        ));
    }
    out
}

/// Every adjacent pair of items of different parties swapped: two observations that only read
/// the configuration commute when the configuration's changes are logged completely.
fn swaps(
    header: &Header,
    items: &[(Option<f64>, Item)],
    rejected_at: Option<usize>,
) -> Vec<Mutant> {
    let n = items.len();
    let logged_cfg = header.is_complete("provisioned") && header.is_complete("storage-state-set");
    let after_rejection = |i: usize| after_rejection(rejected_at, i);
    let identity: Vec<Option<usize>> = (0..n).map(Some).collect();
    let mut out = Vec::new();
    for i in 0..n.saturating_sub(1) {
        let (a, b) = (&items[i].1, &items[i + 1].1);
        if party(header, a) == party(header, b) {
            continue;
        }
        let mut m = items.to_vec();
        let (ta, tb) = (m[i].0, m[i + 1].0);
        m.swap(i, i + 1);
        m[i].0 = ta;
        m[i + 1].0 = tb;
        let mut map = identity.clone();
        map[i] = Some(i + 1);
        map[i + 1] = Some(i);
        let commuting = logged_cfg
            && is_observation(a)
            && is_observation(b)
            && (reads_only_cfg(a) || reads_only_cfg(b));
        let expect = if after_rejection(i) || commuting {
            Expect::Unchanged
        } else {
            Expect::Open
        };
        let (ra, wa) = footprint(a);
        let (rb, wb) = footprint(b);
        // Two reads of one part moved relative to each other are a change to it too.
        let mut written = wa | wb | (ra & rb);
        if is_observation(a) {
            written |= ra & (wb | rb);
        }
        if is_observation(b) {
            written |= rb & (wa | ra);
        }
        // The observing item is at or after the first of the two.
        let mut mu = Mutant::new(
            Kind::Swap,
            format!("swap items {i} and {}", i + 1),
            m,
            i,
            written,
            map,
            expect,
        );
        // The moved items themselves read what they read: either may be where it shows.
        mu.observer = mu.observer.max(i + 1);
        out.push(mu);
    }
    out
}

/// The values a tail `t` is changed to: t-1, t+1, t+2, 0 and the number of appends plus one,
/// each once, never `t` itself.
fn changed_values(t: Offset, appends: Offset) -> Vec<Offset> {
    let mut v: Vec<Offset> = Vec::new();
    for c in [
        t.checked_sub(1),
        t.checked_add(1),
        t.checked_add(2),
        Some(0),
        appends.checked_add(1),
    ]
    .into_iter()
    .flatten()
    {
        if c != t && !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// The changes of item `i`'s tails and seal flag (an `observe-log-server` or a
/// `seal-completed` item): a change the earlier items already contradict (a tail below one
/// seen before, past the appends, a flag cleared after it was seen set, set before any seal
/// started) must be rejected right there.
fn value_changes(
    header: &Header,
    items: &[(Option<f64>, Item)],
    rejected_at: Option<usize>,
    i: usize,
) -> Vec<Mutant> {
    let n = items.len();
    let appends = header.config.appends;
    let after_rejection = |i: usize| after_rejection(rejected_at, i);
    let identity: Vec<Option<usize>> = (0..n).map(Some).collect();
    let mut out = Vec::new();
    let item = &items[i].1;
    let earlier = &items[..i];
    // A seal task (the harness's, another node's, a find-tail assist) logged before, or one
    // that may start unlogged, may have set a seal flag.
    let started_before = earlier.iter().any(|(_, x)| {
        matches!(
            x,
            Item::Event(
                Event::SealStarted { .. }
                    | Event::OtherSealStarted { .. }
                    | Event::SealAssistStarted { .. }
            )
        )
    }) || !header.is_complete("seal-started")
        || (header.config.faults.other_seals > 0 && !header.is_complete("other-seal-started"));
    let rejected_before = rejected_at.is_some_and(|r| r < i);
    // The next snapshot of the same log server can see a changed tail or flag (tails never
    // move back, a seal never lifts) even after items that read other parts: a rejection
    // there is placed too.
    let next_same_server = log_server(item).and_then(|(node, _, _)| {
        (i + 1..n).find(|&j| log_server(&items[j].1).is_some_and(|(nn, _, _)| nn == node))
    });
    let mut push = |kind: Kind, what: String, new: Item, sure_reject: bool| {
        let mut m = items.to_vec();
        m[i].1 = new;
        let (r, w) = footprint(item);
        let expect = if after_rejection(i) {
            Expect::Unchanged
        } else if sure_reject && !rejected_before {
            Expect::RejectedAtChange
        } else {
            Expect::Open
        };
        let mut mu = Mutant::new(kind, what, m, i, r | w, identity.clone(), expect);
        if let Some(j) = next_same_server {
            mu.observer = mu.observer.max(j);
        }
        out.push(mu);
    };
    if let Some((node, tail, sealed)) = log_server(item) {
        let seen_before = |f: &dyn Fn(Option<Offset>, Option<bool>) -> bool| {
            earlier.iter().any(|(_, x)| match log_server(x) {
                Some((nn, t, s)) => nn == node && f(t, s),
                None => false,
            })
        };
        if let Some(t) = tail {
            for v in changed_values(t, appends) {
                let sure = v > appends || seen_before(&|t2, _| t2.is_some_and(|t2| t2 > v));
                push(
                    Kind::Tail,
                    format!("item {i}: local_tail {t} -> {v}"),
                    Item::Observe(Observation::ObserveLogServer {
                        node: sealcheck_model::observable::NodeId(node),
                        local_tail: Some(v),
                        sealed,
                    }),
                    sure,
                );
            }
        }
        if let Some(s) = sealed {
            let sure = if s {
                seen_before(&|_, s2| s2 == Some(true))
            } else {
                !started_before
            };
            push(
                Kind::SealFlag,
                format!("item {i}: sealed {s} -> {}", !s),
                Item::Observe(Observation::ObserveLogServer {
                    node: sealcheck_model::observable::NodeId(node),
                    local_tail: tail,
                    sealed: Some(!s),
                }),
                sure,
            );
        }
    }
    if let Item::Event(
        e @ Event::SealCompleted {
            max_local_tail: Some(t),
            ..
        },
    ) = item
    {
        for v in changed_values(*t, appends) {
            let mut changed = e.clone();
            if let Event::SealCompleted { max_local_tail, .. } = &mut changed {
                *max_local_tail = Some(v);
            }
            push(
                Kind::Tail,
                format!("item {i}: max_local_tail {t} -> {v}"),
                Item::Event(changed),
                v > appends,
            );
        }
    }
    out
}

/// The nodeset status a seal outcome item carries, if any.
fn outcome_status(item: &Item) -> Option<&NodesetStatus> {
    match item {
        Item::Event(Event::SealCompleted {
            status: Some(s), ..
        })
        | Item::Event(Event::SealFailed {
            status: Some(s), ..
        })
        | Item::Event(Event::OtherSealCompleted {
            status: Some(s), ..
        })
        | Item::Event(Event::OtherSealFailed {
            status: Some(s), ..
        }) => Some(s),
        _ => None,
    }
}

/// The changes of the nodeset status of item `i` (a `seal-completed` or `seal-failed` with a
/// status): each member's status set to each other value (open: another behaviour may explain
/// it), and for each member reported `S`, its next `observe-log-server` set to `sealed: false`
/// (rejected right there: a member confirms a seal only once it is durably sealed, and a seal
/// is never lost).
fn status_changes(
    items: &[(Option<f64>, Item)],
    rejected_at: Option<usize>,
    i: usize,
) -> Vec<Mutant> {
    let Some(status) = outcome_status(&items[i].1) else {
        return Vec::new();
    };
    let identity: Vec<Option<usize>> = (0..items.len()).map(Some).collect();
    let rejected_before = |j: usize| rejected_at.is_some_and(|r| r < j);
    let mut out = Vec::new();
    for (&node, &was) in status {
        for to in [
            MemberStatus::Sealed,
            MemberStatus::Error,
            MemberStatus::Unknown,
        ] {
            if to == was {
                continue;
            }
            let mut m = items.to_vec();
            if let Item::Event(
                Event::SealCompleted {
                    status: Some(s), ..
                }
                | Event::SealFailed {
                    status: Some(s), ..
                },
            ) = &mut m[i].1
            {
                s.insert(node, to);
            }
            let (r, w) = footprint(&items[i].1);
            let expect = if rejected_before(i) {
                Expect::Unchanged
            } else {
                Expect::Open
            };
            out.push(Mutant::new(
                Kind::SealStatus,
                format!(
                    "item {i}: status {node} {} -> {}",
                    was.letter(),
                    to.letter()
                ),
                m,
                i,
                r | w,
                identity.clone(),
                expect,
            ));
        }
        if was != MemberStatus::Sealed {
            continue;
        }
        let next = (i + 1..items.len())
            .find(|&j| log_server(&items[j].1).is_some_and(|(n, _, _)| n == node.0));
        let Some(j) = next else { continue };
        let Some((_, local_tail, sealed)) = log_server(&items[j].1) else {
            continue;
        };
        if sealed == Some(false) {
            continue;
        }
        let mut m = items.to_vec();
        m[j].1 = Item::Observe(Observation::ObserveLogServer {
            node,
            local_tail,
            sealed: Some(false),
        });
        let expect = if rejected_before(j) {
            Expect::Unchanged
        } else {
            Expect::RejectedAtChange
        };
        let (r, w) = footprint(&items[j].1);
        out.push(Mutant::new(
            Kind::UnsealedAfterSeal,
            format!("item {j}: sealed {sealed:?} -> false after item {i} reported {node} S"),
            m,
            j,
            r | w,
            identity.clone(),
            expect,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::At;

    fn at(i: usize) -> At {
        At {
            index: i,
            line: i + 2,
            text: String::new(),
        }
    }

    fn mutant(expect: Expect, change: usize) -> Mutant {
        Mutant {
            kind: Kind::Tail,
            what: String::new(),
            items: Vec::new(),
            at: change,
            observer: change + 2,
            expect,
            map: (0..10).map(Some).collect(),
        }
    }

    fn rejected(from: usize, last: usize) -> Verdict {
        Verdict::Rejected {
            at: at(from),
            last,
            reason: String::new(),
        }
    }

    #[test]
    fn a_rejection_not_localized_counts_only_where_its_range_fits() {
        let conforms = Verdict::Conforms { explanations: 1 };
        let diverges_at_6 = Verdict::Diverges {
            at: at(6),
            explained: 6,
            candidates: Vec::new(),
            allowed: Vec::new(),
            path: String::new(),
        };
        let caught = Outcome::RejectedUnlocalized;
        let change = mutant(Expect::RejectedAtChange, 4);
        assert_eq!(change.judge(&conforms, &rejected(3, 8)), caught);
        assert!(matches!(
            change.judge(&conforms, &rejected(5, 8)),
            Outcome::Wrong(_)
        ));
        let open = mutant(Expect::Open, 4);
        assert_eq!(open.judge(&conforms, &rejected(4, 9)), caught);
        assert!(matches!(
            open.judge(&conforms, &rejected(1, 3)),
            Outcome::Wrong(_)
        ));
        // A mutant that must keep the original's verdict: rejecting a conforming trace is
        // wrong; a range that holds the original's rejection is consistent.
        let same = mutant(Expect::Unchanged, 4);
        assert!(matches!(
            same.judge(&conforms, &rejected(4, 9)),
            Outcome::Wrong(_)
        ));
        assert_eq!(same.judge(&diverges_at_6, &rejected(5, 7)), caught);
        assert!(matches!(
            same.judge(&diverges_at_6, &rejected(7, 9)),
            Outcome::Wrong(_)
        ));
    }
}
