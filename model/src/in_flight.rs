//! The messages in flight, kept run-length: a [`Network`].
//!
//! A sequencer with many appends in flight has one `Store` per append and per target in the
//! network, and a log server answers each with a `Stored` reply. Kept one entry per message,
//! every clone, hash and scan of a state would cost the number of appends in flight. A
//! [`Network`] keeps the same sorted multiset as a list of [`Packet`]s instead: a packet is one
//! message, or a *run* of messages that differ only by consecutive offsets (stores to one
//! server with one stamp; replies from one server with one status and a local tail that is
//! fixed or grows with the offset, `offset + 1` for a gap-free server), each message with the
//! same number of copies (a duplication puts a second copy in flight). A steady pipeline is a
//! few packets however many records it carries.
//!
//! The representation is canonical: the packets, expanded in order, are the multiset as a
//! sorted list (duplicates adjacent), and they are the greedy grouping of that list, left to
//! right: a message joins the packet before it exactly when it continues that packet's run
//! with the same number of copies. One multiset has one list of packets, so the derived
//! equality and hash hold exactly when the multisets are equal, and the hand-written order is
//! the order of the expanded lists (so states sort as they did when the network was a sorted
//! `Vec<Msg>`). Serde writes the expanded list, as before.

use std::cmp::Ordering;
use std::fmt;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::offsets::Offset;
use crate::state::Msg;

/// One message with its copies, or a run of consecutive-offset messages with the same number
/// of copies each. Runs are only of `Store` (same receiver, stamp and repair flag) and `Stored`
/// (same sender, status and sealed flag; the local tail fixed, or growing by one per offset).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The lowest message of the run.
    first: Msg,
    /// Number of distinct messages in the run (at least 1).
    len: Offset,
    /// Whether the local tail of a `Stored` run grows with the offset (false for a single
    /// message, so that the representation is canonical).
    tail_grows: bool,
    /// Copies of each message in flight (at least 1).
    copies: u8,
}

impl Packet {
    /// A single message with one copy.
    fn single(msg: Msg) -> Packet {
        Packet {
            first: msg,
            len: 1,
            tail_grows: false,
            copies: 1,
        }
    }

    /// The lowest message of the packet. O(1).
    pub fn first(&self) -> &Msg {
        &self.first
    }

    /// The highest message of the packet. O(1).
    pub fn last(&self) -> Msg {
        self.get(self.len - 1)
    }

    /// Number of distinct messages in the packet (at least 1). O(1).
    pub fn distinct(&self) -> Offset {
        self.len
    }

    /// Copies in flight of each of its messages (at least 1). O(1).
    pub fn copies(&self) -> u8 {
        self.copies
    }

    /// The log server every message of the packet goes to or comes from. O(1).
    pub fn server(&self) -> u8 {
        self.first.server()
    }

    /// The offsets of a run of `Store` or `Stored` messages (`None` for `Seal` and `Sealed`).
    /// O(1).
    pub fn offsets(&self) -> Option<std::ops::Range<Offset>> {
        match self.first {
            Msg::Store { offset, .. } | Msg::Stored { offset, .. } => {
                Some(offset..offset + self.len)
            }
            _ => None,
        }
    }

    /// The `i`-th distinct message (`i < distinct()`). O(1).
    pub fn get(&self, i: Offset) -> Msg {
        step(&self.first, i, self.tail_grows)
    }

    /// The distinct messages `range` of the packet, as a packet with the same copies.
    fn slice(&self, range: std::ops::Range<Offset>) -> Packet {
        let len = range.end - range.start;
        Packet {
            first: self.get(range.start),
            len,
            tail_grows: self.tail_grows && len > 1,
            copies: self.copies,
        }
    }

    /// Number of its distinct messages that are `<= msg`. O(log distinct()).
    fn rank(&self, msg: &Msg) -> Offset {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid) <= *msg {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Whether the packets generate the same messages from the same start on: same kind of
    /// run, same copies (lengths aside).
    fn same_generator(&self, other: &Packet) -> bool {
        self.copies == other.copies
            && (self.tail_grows == other.tail_grows || self.len == 1 || other.len == 1)
    }
}

/// The message `i` offsets after `m` in a run (its local tail moved too if `tail_grows`).
fn step(m: &Msg, i: Offset, tail_grows: bool) -> Msg {
    if i == 0 {
        return m.clone();
    }
    let mut m = m.clone();
    match &mut m {
        Msg::Store { offset, .. } => *offset += i,
        Msg::Stored {
            offset, local_tail, ..
        } => {
            *offset += i;
            if tail_grows {
                *local_tail += i;
            }
        }
        Msg::Seal { .. } | Msg::Sealed { .. } => unreachable!("Seal and Sealed form no runs"),
    }
    m
}

/// How `b` continues a run ending at `a`: `Some(tail_grows)` when `b` is the next message of
/// such a run, `None` when the two cannot share a run.
fn link(a: &Msg, b: &Msg) -> Option<bool> {
    match (a, b) {
        (
            Msg::Store {
                to,
                offset,
                known_global_tail,
                repair,
            },
            Msg::Store {
                to: to2,
                offset: offset2,
                known_global_tail: kgt2,
                repair: repair2,
            },
        ) => (to == to2
            && offset.checked_add(1) == Some(*offset2)
            && known_global_tail == kgt2
            && repair == repair2)
            .then_some(false),
        (
            Msg::Stored {
                from,
                offset,
                status,
                local_tail,
                sealed,
            },
            Msg::Stored {
                from: from2,
                offset: offset2,
                status: status2,
                local_tail: tail2,
                sealed: sealed2,
            },
        ) => {
            if from != from2
                || offset.checked_add(1) != Some(*offset2)
                || status != status2
                || sealed != sealed2
            {
                None
            } else if local_tail == tail2 {
                Some(false)
            } else if local_tail.checked_add(1) == Some(*tail2) {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Appends `atom` (a valid run that sorts after everything in `out`) to the greedy grouping
/// `out`: it joins the last packet as far as it continues its run. True if it was pushed
/// unchanged as a packet of its own (then the grouping after it is what it was).
fn push_greedy(out: &mut Vec<Packet>, atom: Packet) -> bool {
    if let Some(cur) = out.last_mut() {
        if cur.copies == atom.copies {
            if let Some(grows) = link(&cur.last(), &atom.first) {
                if cur.len == 1 || cur.tail_grows == grows {
                    cur.tail_grows = grows;
                    if atom.len == 1 || atom.tail_grows == grows {
                        cur.len += atom.len;
                    } else {
                        cur.len += 1;
                        out.push(atom.slice(1..atom.len));
                    }
                    return false;
                }
            }
        }
    }
    out.push(atom);
    true
}

/// The messages in flight between the client and the log servers: a sorted multiset, kept as
/// canonical run-length [`Packet`]s (see the module essay). Equality and hash are those of the
/// multiset; the order is that of the sorted lists of messages.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Network {
    /// The greedy grouping of the sorted messages, lowest first.
    packets: Vec<Packet>,
}

impl Network {
    /// The empty network.
    pub fn new() -> Network {
        Network::default()
    }

    /// The network of these messages, in any order. O(m log m) for m messages.
    pub fn from_msgs(msgs: impl IntoIterator<Item = Msg>) -> Network {
        let mut msgs: Vec<Msg> = msgs.into_iter().collect();
        msgs.sort();
        let mut atoms: Vec<Packet> = Vec::new();
        for m in msgs {
            match atoms.last_mut() {
                Some(p) if p.first == m => p.copies += 1,
                _ => atoms.push(Packet::single(m)),
            }
        }
        Network::from_atoms(atoms)
    }

    /// The greedy grouping of `atoms`: valid runs, sorted and disjoint. O(atoms).
    fn from_atoms(atoms: impl IntoIterator<Item = Packet>) -> Network {
        let mut packets = Vec::new();
        for a in atoms {
            push_greedy(&mut packets, a);
        }
        Network { packets }
    }

    /// The packets, lowest first: the network in O(packets) for readers whose question
    /// depends only on what a run's messages share (kind, server, stamp, status) or on its
    /// offset range. O(1).
    pub fn packets(&self) -> &[Packet] {
        &self.packets
    }

    /// Number of messages in flight, copies counted. O(packets).
    pub fn len(&self) -> usize {
        self.packets
            .iter()
            .map(|p| p.len as usize * p.copies as usize)
            .sum()
    }

    /// Whether no message is in flight. O(1).
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Every message in flight, copies included, in sorted order (the order of the former
    /// sorted `Vec<Msg>`), expanded lazily: O(1) per message, O(messages) in all.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            packets: &self.packets,
            at: 0,
            i: 0,
            copy: 0,
            distinct: false,
        }
    }

    /// Each distinct message in flight once, in sorted order: O(1) per message.
    pub fn iter_distinct(&self) -> Iter<'_> {
        Iter {
            distinct: true,
            ..self.iter()
        }
    }

    /// Where `msg` is: the index of the packet whose first message is the last one `<= msg`,
    /// if `msg` sorts within that packet, with the packet's count of messages `<= msg`.
    fn locate(&self, msg: &Msg) -> (usize, Option<Offset>) {
        let idx = self.packets.partition_point(|p| p.first <= *msg);
        if idx > 0 {
            let p = &self.packets[idx - 1];
            if p.len == 1 || p.last() >= *msg {
                return (idx - 1, Some(p.rank(msg)));
            }
        }
        (idx, None)
    }

    /// Whether at least one copy of `msg` is in flight. O(log packets + log run).
    pub fn contains(&self, msg: &Msg) -> bool {
        match self.locate(msg) {
            (at, Some(r)) => self.packets[at].get(r - 1) == *msg,
            _ => false,
        }
    }

    /// Copies of `msg` in flight. O(log packets + log run).
    pub fn count(&self, msg: &Msg) -> u8 {
        match self.locate(msg) {
            (at, Some(r)) if self.packets[at].get(r - 1) == *msg => self.packets[at].copies,
            _ => 0,
        }
    }

    /// Adds one copy of `msg`. O(log packets) to find its place, then O(packets) at worst to
    /// move the packets after it (a split or merge moves only its neighbours).
    pub fn send(&mut self, msg: Msg) {
        match self.locate(&msg) {
            (at, Some(r)) => {
                let p = self.packets[at].clone();
                let mut atoms = [None, None, None];
                if p.get(r - 1) == msg {
                    atoms[0] = (r > 1).then(|| p.slice(0..r - 1));
                    let mut one = p.slice(r - 1..r);
                    one.copies += 1;
                    atoms[1] = Some(one);
                } else {
                    atoms[0] = Some(p.slice(0..r));
                    atoms[1] = Some(Packet::single(msg));
                }
                atoms[2] = (r < p.len).then(|| p.slice(r..p.len));
                self.replace(at, 1, atoms.into_iter().flatten());
            }
            (at, None) => self.replace(at, 0, [Packet::single(msg)]),
        }
    }

    /// Removes one copy of `msg`; false if none was in flight. Costs as [`Network::send`].
    pub fn take(&mut self, msg: &Msg) -> bool {
        let (at, Some(r)) = self.locate(msg) else {
            return false;
        };
        let p = self.packets[at].clone();
        if p.get(r - 1) != *msg {
            return false;
        }
        let mut one = p.slice(r - 1..r);
        one.copies -= 1;
        let atoms = [
            (r > 1).then(|| p.slice(0..r - 1)),
            (one.copies > 0).then_some(one),
            (r < p.len).then(|| p.slice(r..p.len)),
        ];
        self.replace(at, 1, atoms.into_iter().flatten());
        true
    }

    /// Replaces the packets `at..at + remove` with `atoms` (valid runs, sorted, fitting
    /// there) and groups again from the packet before them until the grouping is the old one.
    fn replace(&mut self, at: usize, remove: usize, atoms: impl IntoIterator<Item = Packet>) {
        let start = at.saturating_sub(1);
        let mut out: Vec<Packet> = self.packets[start..at].to_vec();
        for a in atoms {
            push_greedy(&mut out, a);
        }
        let mut end = at + remove;
        while end < self.packets.len() {
            let settled = push_greedy(&mut out, self.packets[end].clone());
            end += 1;
            if settled {
                break;
            }
        }
        self.packets.splice(start..end, out);
    }

    /// Keeps the whole packets `keep` accepts and drops the others, then groups again.
    /// O(packets). For questions about what a run's messages share (server, kind, stamp).
    pub fn retain_packets(&mut self, mut keep: impl FnMut(&Packet) -> bool) {
        let before = self.packets.len();
        let kept: Vec<Packet> = self.packets.drain(..).filter(|p| keep(p)).collect();
        *self = if kept.len() == before {
            Network { packets: kept }
        } else {
            Network::from_atoms(kept)
        };
    }

    /// Keeps the messages `keep` accepts (every copy of a message, or none), asking only in
    /// the packets `select` picks: the others are kept whole. O(packets) plus one call of
    /// `keep` per distinct message of a selected packet.
    pub fn retain_where(
        &mut self,
        mut select: impl FnMut(&Packet) -> bool,
        mut keep: impl FnMut(&Msg) -> bool,
    ) {
        let mut atoms: Vec<Packet> = Vec::with_capacity(self.packets.len());
        let mut changed = false;
        for p in &self.packets {
            if !select(p) {
                atoms.push(p.clone());
                continue;
            }
            let mut from = None;
            for i in 0..p.len {
                if keep(&p.get(i)) {
                    from.get_or_insert(i);
                } else {
                    changed = true;
                    if let Some(f) = from.take() {
                        atoms.push(p.slice(f..i));
                    }
                }
            }
            if let Some(f) = from {
                atoms.push(p.slice(f..p.len));
            }
        }
        if changed {
            *self = Network::from_atoms(atoms);
        }
    }

    /// Keeps, of each run of `Store` or `Stored` messages that `select` picks, the offsets
    /// `keep` pushes: it is handed the run's offsets and pushes the sub-ranges to keep,
    /// sorted and disjoint. Other packets are kept whole. O(packets) plus what `keep` costs,
    /// so a caller that knows its answer per range of offsets pays nothing per message.
    pub fn retain_offsets(
        &mut self,
        mut select: impl FnMut(&Packet) -> bool,
        mut keep: impl FnMut(std::ops::Range<Offset>, &mut Vec<std::ops::Range<Offset>>),
    ) {
        let mut atoms: Vec<Packet> = Vec::with_capacity(self.packets.len());
        let mut changed = false;
        let mut kept = Vec::new();
        for p in &self.packets {
            let Some(range) = p.offsets().filter(|_| select(p)) else {
                atoms.push(p.clone());
                continue;
            };
            kept.clear();
            keep(range.clone(), &mut kept);
            if kept.len() == 1 && kept[0] == range {
                atoms.push(p.clone());
                continue;
            }
            changed = true;
            for r in kept.iter().filter(|r| r.start < r.end) {
                assert!(
                    range.start <= r.start && r.end <= range.end,
                    "{r:?} not in {range:?}"
                );
                atoms.push(p.slice(r.start - range.start..r.end - range.start));
            }
        }
        if changed {
            *self = Network::from_atoms(atoms);
        }
    }

    /// Keeps the messages `keep` accepts (every copy of a message, or none). O(messages):
    /// prefer [`Network::retain_packets`] or [`Network::retain_where`] on hot paths.
    pub fn retain(&mut self, keep: impl FnMut(&Msg) -> bool) {
        self.retain_where(|_| true, keep)
    }

    /// The packets of `Store` messages to log server `i`, lowest first. O(log packets).
    fn stores_to(&self, i: u8) -> &[Packet] {
        let is_before = |p: &Packet| match p.first {
            Msg::Seal { .. } | Msg::Sealed { .. } => true,
            Msg::Store { to, .. } => to < i,
            Msg::Stored { .. } => false,
        };
        let lo = self.packets.partition_point(is_before);
        let len = self.packets[lo..]
            .partition_point(|p| matches!(p.first, Msg::Store { to, .. } if to == i));
        &self.packets[lo..lo + len]
    }

    /// The lowest offset of a `Store` in flight to log server `i` (the only deliverable one:
    /// stores to one server are delivered in order). O(log packets).
    pub fn min_store_to(&self, i: u8) -> Option<Offset> {
        self.stores_to(i)
            .first()
            .and_then(|p| p.offsets())
            .map(|r| r.start)
    }

    /// The highest offset of a `Store` in flight to log server `i`. O(packets to `i`).
    pub fn max_store_to(&self, i: u8) -> Option<Offset> {
        self.stores_to(i)
            .iter()
            .filter_map(|p| p.offsets())
            .map(|r| r.end - 1)
            .max()
    }

    /// The same network with every log-server index renamed by `f`, which must not map two
    /// servers with messages in flight to one, grouped again. O(packets log packets).
    pub fn renamed(&self, f: &dyn Fn(u8) -> u8) -> Network {
        let mut atoms: Vec<Packet> = self
            .packets
            .iter()
            .map(|p| Packet {
                first: p.first.renamed(f),
                ..p.clone()
            })
            .collect();
        atoms.sort_by(|a, b| a.first.cmp(&b.first));
        Network::from_atoms(atoms)
    }

    /// The messages to or from log server `i` only. O(packets).
    pub fn of_server(&self, i: u8) -> Network {
        Network {
            packets: self
                .packets
                .iter()
                .filter(|p| p.server() == i)
                .cloned()
                .collect(),
        }
    }

    /// The network with `f` applied to the first message of every packet (`f` must change
    /// only fields a run's messages share, such as a stamp), sorted and grouped again.
    /// O(packets log packets).
    pub fn map_shared(&self, mut f: impl FnMut(&mut Msg)) -> Network {
        let mut atoms: Vec<Packet> = self
            .packets
            .iter()
            .map(|p| {
                let mut p = p.clone();
                f(&mut p.first);
                p
            })
            .collect();
        // Runs that now share messages (a stamp cleared on two of them) merge copies.
        atoms.sort_by(|a, b| a.first.cmp(&b.first));
        if atoms.windows(2).all(|w| w[0].last() < w[1].first) {
            Network::from_atoms(atoms)
        } else {
            Network::from_msgs(atoms.iter().flat_map(|p| {
                (0..p.len).flat_map(move |i| std::iter::repeat_n(p.get(i), p.copies as usize))
            }))
        }
    }
}

/// The messages of a [`Network`], in sorted order: every copy, or each distinct message once.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    packets: &'a [Packet],
    at: usize,
    i: Offset,
    copy: u8,
    distinct: bool,
}

impl Iterator for Iter<'_> {
    type Item = Msg;

    fn next(&mut self) -> Option<Msg> {
        let p = self.packets.get(self.at)?;
        let m = p.get(self.i);
        self.copy += 1;
        if self.distinct || self.copy == p.copies {
            self.copy = 0;
            self.i += 1;
            if self.i == p.len {
                self.i = 0;
                self.at += 1;
            }
        }
        Some(m)
    }
}

impl<'a> IntoIterator for &'a Network {
    type Item = Msg;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Msg> for Network {
    fn from_iter<T: IntoIterator<Item = Msg>>(iter: T) -> Network {
        Network::from_msgs(iter)
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Ord for Network {
    /// The order of the sorted lists of messages, compared lexicographically, in
    /// O(packets × copies): equal stretches of two runs that generate the same messages are
    /// skipped whole.
    fn cmp(&self, other: &Network) -> Ordering {
        let (a, b) = (&self.packets, &other.packets);
        // (packet, distinct message, copy) on each side.
        let (mut x, mut y) = ((0, 0, 0u8), (0, 0, 0u8));
        loop {
            let (pa, pb) = match (a.get(x.0), b.get(y.0)) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(pa), Some(pb)) => (pa, pb),
            };
            let (ma, mb) = (pa.get(x.1), pb.get(y.1));
            match ma.cmp(&mb) {
                Ordering::Equal => {}
                o => return o,
            }
            // Equal messages: skip as far as both go on generating the same ones.
            let skip = if x.2 == y.2 && pa.same_generator(pb) && x.2 + 1 == pa.copies {
                (pa.len - x.1).min(pb.len - y.1)
            } else {
                1
            };
            for (pos, p) in [(&mut x, pa), (&mut y, pb)] {
                if skip > 1 {
                    pos.1 += skip;
                    pos.2 = 0;
                } else {
                    pos.2 += 1;
                    if pos.2 == p.copies {
                        pos.2 = 0;
                        pos.1 += 1;
                    }
                }
                if pos.1 == p.len {
                    *pos = (pos.0 + 1, 0, 0);
                }
            }
        }
    }
}

impl PartialOrd for Network {
    fn partial_cmp(&self, other: &Network) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Network {
    /// The sorted list of messages, copies included (the format of the former `Vec<Msg>`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // With its length first: bincode (checkpoints, the distributed engine) needs it.
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for m in self.iter() {
            seq.serialize_element(&m)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Network {
    /// Reads a list of messages in any order.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Network, D::Error> {
        Ok(Network::from_msgs(Vec::<Msg>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Status;
    use std::hash::{DefaultHasher, Hash, Hasher};

    use crate::test_rng::Rng;

    /// A message from a small space, so that runs, duplicates and interleavings are common.
    fn random_msg(r: &mut Rng) -> Msg {
        let offset = r.below(8) as Offset;
        match r.below(6) {
            0 => Msg::Seal {
                to: r.below(2) as u8,
                attempt: r.below(2) as u8,
                known_global_tail: 0,
            },
            1 => Msg::Sealed {
                from: r.below(2) as u8,
                attempt: 1,
                status: Status::Ok,
                local_tail: r.below(3) as Offset,
                known_global_tail: 0,
                sealed: true,
            },
            2 | 3 => Msg::Store {
                to: r.below(2) as u8,
                offset,
                known_global_tail: r.below(2) as Offset,
                repair: r.below(4) == 0,
            },
            _ => Msg::Stored {
                from: r.below(2) as u8,
                offset,
                status: if r.below(4) == 0 {
                    Status::Sealed
                } else {
                    Status::Ok
                },
                local_tail: match r.below(3) {
                    0 => offset + 1,
                    1 => 3,
                    _ => offset + r.below(3) as Offset,
                },
                sealed: false,
            },
        }
    }

    fn hash(n: &Network) -> u64 {
        let mut h = DefaultHasher::new();
        n.hash(&mut h);
        h.finish()
    }

    /// Checks `n` against its shadow: the expansion, canonical form and counts agree.
    fn check(n: &Network, shadow: &[Msg]) {
        assert_eq!(n.iter().collect::<Vec<_>>(), shadow);
        assert_eq!(n.len(), shadow.len());
        assert_eq!(n.is_empty(), shadow.is_empty());
        let rebuilt = Network::from_msgs(shadow.iter().rev().cloned());
        assert_eq!(*n, rebuilt, "not canonical: {:?}", n.packets());
        assert_eq!(hash(n), hash(&rebuilt));
        let mut distinct = shadow.to_vec();
        distinct.dedup();
        assert_eq!(n.iter_distinct().collect::<Vec<_>>(), distinct);
        for i in 0..2u8 {
            let stores = shadow.iter().filter_map(|m| match m {
                Msg::Store { to, offset, .. } if *to == i => Some(*offset),
                _ => None,
            });
            assert_eq!(n.min_store_to(i), stores.clone().min());
            assert_eq!(n.max_store_to(i), stores.max());
        }
    }

    #[test]
    fn random_operations_agree_with_a_sorted_vec() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut old: Option<(Network, Vec<Msg>)> = None;
        // Packets seen: single, fixed run, growing run; then the same with copies.
        let mut seen = [0; 6];
        for _ in 0..300 {
            let (mut n, mut shadow) = (Network::new(), Vec::<Msg>::new());
            for _ in 0..60 {
                let m = random_msg(&mut r);
                match r.below(11) {
                    0..=5 => {
                        n.send(m.clone());
                        let at = shadow.partition_point(|x| *x <= m);
                        shadow.insert(at, m);
                    }
                    6 | 7 => {
                        // Take a message in flight, or one that may not be.
                        let m = if !shadow.is_empty() && r.below(2) == 0 {
                            shadow[r.below(shadow.len() as u64) as usize].clone()
                        } else {
                            m
                        };
                        let found = shadow.binary_search(&m).ok();
                        assert_eq!(n.contains(&m), found.is_some());
                        assert_eq!(n.take(&m), found.is_some());
                        if let Some(i) = found {
                            shadow.remove(i);
                        }
                    }
                    8 if r.below(2) == 0 => {
                        // Keep the replies of offsets below a bound, by ranges.
                        let bound = r.below(9) as Offset;
                        n.retain_offsets(
                            |p| matches!(p.first(), Msg::Stored { .. }),
                            |range, kept| {
                                kept.push(range.start..range.end.min(bound).max(range.start))
                            },
                        );
                        shadow.retain(
                            |m| !matches!(m, Msg::Stored { offset, .. } if *offset >= bound),
                        );
                    }
                    8 => {
                        let odd = r.below(2) as Offset;
                        let keep = |m: &Msg| match m {
                            Msg::Stored { offset, .. } => offset % 2 == odd,
                            _ => true,
                        };
                        n.retain_where(|p| matches!(p.first(), Msg::Stored { .. }), keep);
                        shadow.retain(keep);
                    }
                    9 => {
                        // Duplicate everything to or from one server: runs with copies.
                        let s = r.below(2) as u8;
                        for m in shadow.clone().into_iter().filter(|m| m.server() == s) {
                            n.send(m.clone());
                            let at = shadow.partition_point(|x| *x <= m);
                            shadow.insert(at, m);
                        }
                    }
                    _ => {
                        let s = r.below(2) as u8;
                        n.retain_packets(|p| p.server() != s);
                        shadow.retain(|m| m.server() != s);
                    }
                }
                check(&n, &shadow);
                for p in n.packets() {
                    let kind = usize::from(p.distinct() > 1) + usize::from(p.tail_grows);
                    seen[kind + 3 * usize::from(p.copies() > 1)] += 1;
                }
            }
            if let Some((o, os)) = &old {
                assert_eq!(n.cmp(o), shadow.cmp(os));
                assert_eq!(o.cmp(&n), os.cmp(&shadow));
                assert_eq!(n.cmp(&n.clone()), Ordering::Equal);
            }
            let mapped = n.map_shared(|m| {
                if let Msg::Store {
                    known_global_tail, ..
                } = m
                {
                    *known_global_tail = 0;
                }
            });
            let mut expected: Vec<Msg> = shadow.clone();
            for m in &mut expected {
                if let Msg::Store {
                    known_global_tail, ..
                } = m
                {
                    *known_global_tail = 0;
                }
            }
            expected.sort();
            check(&mapped, &expected);
            let swapped = n.renamed(&|i| 1 - i);
            let mut expected: Vec<Msg> = shadow.iter().map(|m| m.renamed(&|i| 1 - i)).collect();
            expected.sort();
            check(&swapped, &expected);
            let json = serde_json::to_string(&n).unwrap();
            assert_eq!(json, serde_json::to_string(&shadow).unwrap());
            assert_eq!(serde_json::from_str::<Network>(&json).unwrap(), n);
            old = Some((n, shadow));
        }
        assert!(seen.iter().all(|&c| c > 0), "{seen:?}");
    }

    /// Orders of networks that share long prefixes, compared as sorted lists.
    #[test]
    fn order_is_that_of_the_sorted_lists() {
        let stored = |offset: Offset, local_tail: Offset| Msg::Stored {
            from: 0,
            offset,
            status: Status::Ok,
            local_tail,
            sealed: false,
        };
        let mut r = Rng(7);
        let lists: Vec<Vec<Msg>> = (0..40)
            .map(|_| {
                let mut v: Vec<Msg> = (0..r.below(12) as Offset)
                    .map(|o| stored(o, o + 1))
                    .collect();
                for _ in 0..r.below(3) {
                    let o = r.below(12) as Offset;
                    v.push(stored(o, if r.below(2) == 0 { o + 1 } else { 5 }));
                }
                v.sort();
                v
            })
            .collect();
        for a in &lists {
            for b in &lists {
                let (na, nb): (Network, Network) =
                    (a.iter().cloned().collect(), b.iter().cloned().collect());
                assert_eq!(na.cmp(&nb), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    /// A steady pipeline is a few packets however long.
    #[test]
    fn a_pipeline_is_one_packet_per_server_and_kind() {
        let mut n = Network::new();
        for o in 0..1000 {
            for to in 0..3 {
                n.send(Msg::Store {
                    to,
                    offset: o,
                    known_global_tail: 0,
                    repair: false,
                });
                n.send(Msg::Stored {
                    from: to,
                    offset: o,
                    status: Status::Ok,
                    local_tail: o + 1,
                    sealed: false,
                });
            }
        }
        assert_eq!(n.packets().len(), 6);
        assert_eq!(n.len(), 6000);
    }
}
