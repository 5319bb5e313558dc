//! Reductions of the unlogged steps validation explores: canonical states and stubborn sets.
//!
//! Both are explained, with the argument that they keep every verdict, in the module essay of
//! [`crate::validate`] ("Why the reductions keep the verdicts"). This module holds their
//! mechanics:
//!
//! - [`canonical_fingerprint`] hashes a state with the data no future step, label, observation
//!   or property can read cleared;
//! - [`Reducer::needed`] picks, in a state at a given trace item, the unlogged steps that may
//!   be needed before that item can be explained (a stubborn set): steps are grouped in
//!   [`Class`]es, each with the state it reads, writes and is enabled by, and the set is closed
//!   under dependence and enabling, starting from the steps that can explain the item.

use std::hash::{Hash, Hasher};

use sealcheck_model::observable::{Event, Observation};
use sealcheck_model::offsets::Offset;
use sealcheck_model::state::{HarnessPhase, MemberSeal, Msg, Process};
use sealcheck_model::{Action, Bug, SealModel, State};

use crate::trace_reader::{Header, Item};

/// A set of state components, one bit each (see the `r_*` functions).
type Res = u64;

const SRV0: u32 = 0; // 8 bits: log server i (process, marker, stored, tails, seal flag)
const CFG: Res = 1 << 8; // nodes-configuration versions (the metadata store)
const VIEW: Res = 1 << 9; // the client's snapshot version
const CSEAL: Res = 1 << 10; // harness, `seal()` calls, the seal task
const CSEQ: Res = 1 << 11; // sequencer phase Open / Draining
const CSEQS: Res = 1 << 12; // sequencer phase Sealed
const CKGT: Res = 1 << 13; // the sequencer's known global tail
const CLEN: Res = 1 << 14; // how many appends were made
const CSTAT: Res = 1 << 15; // statuses and reply bits of the appends
const REQSTADD: Res = 1 << 16; // a new Store is sent (to anyone)
const BUD: Res = 1 << 17; // fault budgets
const CBITS: Res = 1 << 18; // which servers answered an append in flight
const FIND: Res = 1 << 19; // cluster: the find-tail reader and the admin's known global tail
const OTHER: Res = 1 << 20; // the seal tasks of other nodes (started, running)
const REQST0: u32 = 24; // 8 bits: Store requests to i
const REQSL0: u32 = 32; // 8 bits: Seal requests to i
const REPST0: u32 = 40; // 8 bits: Stored replies from i
const REPSL0: u32 = 48; // 8 bits: Sealed replies from i

fn srv(i: usize) -> Res {
    1 << (SRV0 + i as u32)
}
fn reqst(i: usize) -> Res {
    1 << (REQST0 + i as u32)
}
fn reqsl(i: usize) -> Res {
    1 << (REQSL0 + i as u32)
}
fn repst(i: usize) -> Res {
    1 << (REPST0 + i as u32)
}
fn repsl(i: usize) -> Res {
    1 << (REPSL0 + i as u32)
}
const ALL_SRV: Res = 0xff;
const ALL_REQST: Res = 0xff << REQST0;
const ALL_REQSL: Res = 0xff << REQSL0;
const ALL_REPST: Res = 0xff << REPST0;
const ALL_REPSL: Res = 0xff << REPSL0;
const ALL_CHANNELS: Res = ALL_REQST | ALL_REQSL | ALL_REPST | ALL_REPSL | REQSTADD;

/// A group of model steps that touch the same state: the unit of the stubborn-set closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// `LogServerProvisions(i)`.
    Provision(u8),
    /// `ClientViewCatchesUp`.
    ViewCatchesUp,
    /// `HarnessCallsSeal` / `SealRejectedAllProvisioning`.
    CallSeal,
    /// Delivery of a Seal request to i.
    DeliverSeal(u8),
    /// Delivery of a Store request to i (also the seeded `StoreIgnoringSeal`).
    DeliverStore(u8),
    /// Delivery of a Sealed reply from i that the seal task may still count.
    DeliverSealed(u8),
    /// Delivery of a Sealed reply from i that no seal task will ever count (single client:
    /// its task ended, or the task running is of a later `seal()` call, or it no longer
    /// waits on i; a task's member never becomes pending again and calls only count up).
    /// Delivering it only takes it out of the network.
    StaleSealed(u8),
    /// `SealRequestFails(i)`.
    SealRequestFails(u8),
    /// `SequencerDrains`.
    Drain,
    /// The seeded `SequencerSealsWithoutDrain`.
    SealWithoutDrain,
    /// `SequencerAppends` (also the seeded `SequencerAppendsToProvisioning`).
    Append,
    /// A Stored reply that may acknowledge or reject an append: for the append at the
    /// sequencer's known global tail, or not Ok.
    ReplyHead,
    /// An Ok Stored reply for a later append: it only records who answered.
    ReplyTail,
    /// Loss or duplication of a message.
    Network,
    /// `LogServerCrashes(i)`.
    Crash(u8),
    /// `LogServerRestarts(i)`.
    Restart(u8),
    /// `OperatorSetsStorageState(i, _)`.
    Operator(u8),
    /// The seeded `SealTaskCompletesEarly`.
    CompleteEarly,
    /// The seeded `SequencerAcksEarly`.
    AckEarly,
    /// `LogServerWritesMarker(i)` (three-step provisioning).
    WriteMarker(u8),
    /// `LogServerStartsRequestPump(i)` (three-step provisioning).
    StartPump(u8),
    /// `ClientJoins`: the joining client's first snapshot.
    Join,
    /// `HarnessGetsTrimPoint` / `TrimPointFails`.
    TrimPoint,
    /// `SealRequestResent(i)`: another attempt of a lost Seal request to i.
    Resend(u8),
    /// Cluster: `LogServerCrashes(i)` of the node that runs the sequencer (the sequencer dies
    /// with it, its stores and their answers are gone).
    CrashSequencer(u8),
    /// Cluster: `SequencerLearnsSealed`.
    SequencerLearns,
    /// Cluster: the find-tail reader's steps (`FindTailAssistsSeal`, `SealAssistCompletes`,
    /// `FindTailRepairsTail`, `TailRepairCompletes`, `FindTailFindsSealed`), and the other
    /// readers' repairs (`OtherRepairStarts`, `OtherRepairCompletes`), which read and write the
    /// same.
    Finder,
    /// Seal tasks of other nodes (`OtherSealStarts`, `OtherSealCompletes`, `OtherSealFails`,
    /// `OtherSealRefused`).
    OtherSeal,
    /// Cluster: `FindTailLosesSequencer` (`faults.reader_timeouts`), never logged.
    ReaderTimeout,
}

/// What a class reads, writes (in ways other steps can tell apart), may enable, and is enabled
/// by.
#[derive(Clone, Copy)]
struct Foot {
    read: Res,
    write: Res,
    enables: Res,
    guard: Res,
}

impl Foot {
    /// A footprint from (read, write, may enable, enabled by): a step reads what guards it.
    /// Removing a message only ever enables the next Store on the same connection, so
    /// removals are writes but enable nothing else.
    fn new(read: Res, write: Res, enables: Res, guard: Res) -> Foot {
        Foot {
            read: read | guard,
            write,
            enables,
            guard,
        }
    }
}

impl Class {
    /// The class of an enabled step in `state` of `model`.
    pub fn of(model: &SealModel, state: &State, action: &Action) -> Class {
        match action {
            Action::LogServerProvisions(i) => Class::Provision(*i),
            Action::ClientViewCatchesUp => Class::ViewCatchesUp,
            Action::HarnessCallsSeal | Action::SealRejectedAllProvisioning => Class::CallSeal,
            Action::Deliver(m) | Action::StoreIgnoringSeal(m) => match m {
                Msg::Seal { to, .. } => Class::DeliverSeal(*to),
                Msg::Store { to, .. } => Class::DeliverStore(*to),
                Msg::Sealed { from, attempt, .. } => {
                    if reply_stale(model, state, *from, *attempt) {
                        Class::StaleSealed(*from)
                    } else {
                        Class::DeliverSealed(*from)
                    }
                }
                Msg::Stored { offset, status, .. } => {
                    if *offset > state.client.known_global_tail
                        && *status == sealcheck_model::state::Status::Ok
                    {
                        Class::ReplyTail
                    } else {
                        Class::ReplyHead
                    }
                }
            },
            Action::SealRequestFails(i) => Class::SealRequestFails(*i),
            Action::SequencerDrains => Class::Drain,
            Action::SequencerSealsWithoutDrain => Class::SealWithoutDrain,
            Action::SequencerAppends | Action::SequencerAppendsToProvisioning => Class::Append,
            Action::Lose(_) | Action::Duplicate(_) => Class::Network,
            Action::LogServerCrashes(i) if model.cfg.sequencer_index() == Some(*i) => {
                Class::CrashSequencer(*i)
            }
            Action::LogServerCrashes(i) => Class::Crash(*i),
            Action::LogServerRestarts(i) => Class::Restart(*i),
            Action::OperatorSetsStorageState(i, _) => Class::Operator(*i),
            Action::SealTaskCompletesEarly => Class::CompleteEarly,
            Action::SequencerAcksEarly => Class::AckEarly,
            Action::LogServerWritesMarker(i) => Class::WriteMarker(*i),
            Action::LogServerStartsRequestPump(i) => Class::StartPump(*i),
            Action::ClientJoins => Class::Join,
            Action::HarnessGetsTrimPoint | Action::TrimPointFails => Class::TrimPoint,
            Action::SealRequestResent(i) => Class::Resend(*i),
            Action::SequencerLearnsSealed => Class::SequencerLearns,
            Action::FindTailAssistsSeal
            | Action::SealAssistCompletes
            | Action::FindTailRepairsTail { .. }
            | Action::TailRepairCompletes
            | Action::FindTailFindsSealed(_)
            | Action::OtherRepairStarts { .. }
            | Action::OtherRepairCompletes { .. } => Class::Finder,
            Action::OtherSealStarts
            | Action::OtherSealCompletes
            | Action::OtherSealFails
            | Action::OtherSealRefused => Class::OtherSeal,
            Action::FindTailLosesSequencer => Class::ReaderTimeout,
        }
    }

    /// The event kinds steps of this class may label themselves with, besides the ones that
    /// end a seal task or resolve an append (`ends`).
    fn kinds(self) -> &'static [&'static str] {
        match self {
            Class::Provision(_) => &["provisioned", "provision-refused"],
            Class::ViewCatchesUp => &["view-updated"],
            Class::CallSeal => &["seal-started", "seal-rejected"],
            Class::DeliverSeal(_) => &["seal-handled"],
            Class::DeliverStore(_) => &["stored"],
            Class::DeliverSealed(_) => &["seal-confirmed"],
            Class::StaleSealed(_) => &[],
            Class::SealRequestFails(_) => &["seal-request-failed"],
            Class::Drain | Class::SealWithoutDrain => &["sequencer-sealed"],
            Class::Append => &["append"],
            Class::ReplyHead | Class::ReplyTail => &["store-reply"],
            Class::Network => &["message-lost", "message-duplicated"],
            Class::Crash(_) => &["crashed"],
            Class::Restart(_) => &["restarted"],
            Class::Operator(_) => &["storage-state-set"],
            Class::CompleteEarly => &["seal-completed"],
            Class::AckEarly => &["append-acked"],
            Class::WriteMarker(_) => &["marker-written"],
            Class::StartPump(_) => &["request-pump-started"],
            Class::Join => &["view-updated"],
            Class::TrimPoint => &["trim-point-read", "trim-point-failed"],
            Class::Resend(_) => &["seal-request-resent"],
            Class::CrashSequencer(_) => &["crashed"],
            Class::SequencerLearns => &["sequencer-learns-sealed"],
            Class::Finder => &[
                "seal-assist-started",
                "seal-assist-completed",
                "tail-repair-started",
                "tail-repaired",
                "find-tail-sealed",
                "other-repair-started",
                "other-repair-completed",
            ],
            Class::OtherSeal => &[
                "other-seal-started",
                "other-seal-completed",
                "other-seal-failed",
                "other-seal-refused",
            ],
            Class::ReaderTimeout => &[],
        }
    }

    /// Footprint. `ends_hidden`: a step of this class that ends a seal task may be unlogged;
    /// `stamps_live`: the known global tail stamped on requests can still matter.
    fn foot(self, ends_hidden: bool, stamps_live: bool) -> Foot {
        let stamp = if stamps_live { CKGT } else { 0 };
        self.server_foot(ends_hidden, stamp)
            .unwrap_or_else(|| self.client_foot(stamp))
    }

    /// The footprint of a class of one log server's steps or of its messages (`None` for the
    /// other classes); `stamp` is what reading the stamped known global tail reads.
    fn server_foot(self, ends_hidden: bool, stamp: Res) -> Option<Foot> {
        let f = Foot::new;
        Some(match self {
            Class::Provision(i) => {
                let i = i as usize;
                let w = srv(i) | CFG | VIEW;
                f(CFG, w, w, srv(i))
            }
            Class::DeliverSeal(i) => {
                let i = i as usize;
                f(0, srv(i) | reqsl(i), srv(i) | repsl(i), srv(i) | reqsl(i))
            }
            Class::DeliverStore(i) => {
                let i = i as usize;
                f(
                    CFG,
                    srv(i) | reqst(i),
                    srv(i) | reqst(i) | repst(i),
                    srv(i) | reqst(i),
                )
            }
            // In a cluster a confirmation also raises the admin's known global tail (FIND).
            Class::DeliverSealed(i) => {
                let i = i as usize;
                let end = if ends_hidden { CSEQ | ALL_REPSL } else { 0 };
                f(
                    CSEAL | ALL_SRV | FIND,
                    CSEAL | repsl(i) | end | FIND,
                    CSEAL | (end & CSEQ) | FIND,
                    repsl(i),
                )
            }
            Class::StaleSealed(i) => {
                let i = i as usize;
                f(0, repsl(i), repsl(i), repsl(i))
            }
            Class::SealRequestFails(i) => {
                let i = i as usize;
                let end = if ends_hidden { CSEQ | ALL_REPSL } else { 0 };
                // FIND: a timeout of the sequencer's node lets the find-tail reader run.
                f(
                    ALL_SRV,
                    CSEAL | BUD | reqsl(i) | repsl(i) | end | FIND,
                    CSEAL | (end & CSEQ) | FIND,
                    CSEAL | srv(i) | reqsl(i) | repsl(i) | BUD,
                )
            }
            // What a crash drops depends on what was sent to i (a store an append sends to
            // a server that crashed first stays in flight).
            Class::Crash(i) => {
                let i = i as usize;
                f(
                    REQSTADD,
                    srv(i) | reqst(i) | reqsl(i) | repst(i) | repsl(i) | BUD,
                    srv(i),
                    srv(i) | BUD,
                )
            }
            Class::Restart(i) => f(CFG, srv(i as usize), srv(i as usize), srv(i as usize)),
            Class::Operator(_) => f(0, CFG | VIEW | BUD, CFG | VIEW, CFG | BUD),
            // The marker and the request pump are the server's own state; whether it serves
            // guards every delivery to it.
            Class::WriteMarker(i) | Class::StartPump(i) => {
                let i = i as usize;
                f(0, srv(i), srv(i), srv(i))
            }
            // A re-sent Seal is enabled while the task waits on i, has attempts left, i
            // serves, and neither the request nor its reply is in flight; it adds a Seal
            // request to i and counts the attempt (the task's state).
            Class::Resend(i) => {
                let i = i as usize;
                f(
                    stamp | FIND,
                    reqsl(i) | CSEAL,
                    reqsl(i) | CSEAL,
                    CSEAL | srv(i) | reqsl(i) | repsl(i),
                )
            }
            // The sequencer's node crashes: the server as any crash, and the sequencer dies
            // (its phase), its stores to anyone and their answers are gone.
            Class::CrashSequencer(i) => {
                let i = i as usize;
                let w = srv(i) | reqsl(i) | repsl(i) | BUD | CSEQ | ALL_REQST | ALL_REPST;
                f(CSEQ | CSEQS | REQSTADD, w, srv(i), srv(i) | BUD)
            }
            _ => return None,
        })
    }

    /// The footprint of a class of the client's, the harness's, the operator's or the
    /// network's steps; `stamp` is what reading the stamped known global tail reads.
    fn client_foot(self, stamp: Res) -> Foot {
        let f = Foot::new;
        match self {
            Class::ViewCatchesUp => f(0, VIEW, VIEW, VIEW | CFG),
            Class::CallSeal => f(
                stamp | FIND,
                CSEAL | ALL_REQSL,
                CSEAL | ALL_REQSL,
                CSEAL | CSEQ | VIEW | CFG,
            ),
            Class::Drain => f(
                CKGT | CSTAT,
                CSEQ | CSEQS | CSTAT | CSEAL | ALL_REPST,
                CSEQ | CSEQS | CSTAT | CSEAL,
                CSEQ,
            ),
            Class::SealWithoutDrain => f(
                CKGT | CSTAT,
                CSEQ | CSEQS | CSEAL,
                CSEQ | CSEQS | CSEAL,
                CSEQ,
            ),
            Class::Append => f(
                stamp,
                CLEN | REQSTADD,
                CLEN | REQSTADD | ALL_REQST,
                CSEQ | CLEN | VIEW | CFG,
            ),
            Class::ReplyHead => f(
                CSTAT | CBITS | CKGT | VIEW | CFG | CSEQS,
                CSTAT | CBITS | CKGT | ALL_REPST,
                CSTAT | CBITS | CKGT,
                ALL_REPST,
            ),
            Class::ReplyTail => f(CBITS, CBITS | ALL_REPST, CBITS, ALL_REPST),
            Class::Network => f(0, ALL_CHANNELS | BUD, ALL_CHANNELS, ALL_CHANNELS | BUD),
            Class::CompleteEarly => f(ALL_SRV, CSEAL | CSEQ | ALL_REPSL, CSEAL | CSEQ, CSEAL),
            Class::AckEarly => f(
                CSEQS | CBITS,
                CSTAT | CKGT | CBITS | ALL_REPST,
                CSTAT | CKGT | CBITS,
                CSTAT | CKGT,
            ),
            // Joining sets the client's snapshot (and that it joined, which guards the
            // harness, the appends and later catch-ups: all of them read VIEW).
            Class::Join => f(CFG, VIEW, VIEW, VIEW | CFG),
            // get_trim_point reads the client's snapshot and which members serve, and moves
            // the harness on.
            Class::TrimPoint => f(
                VIEW | CFG | ALL_SRV,
                CSEAL,
                CSEAL,
                CSEAL | VIEW | CFG | ALL_SRV,
            ),
            // Reads the harness's outcome and the appends' Sealed answers (why it checks),
            // which members serve sealed (its check), and the configuration; moves the
            // sequencer to Draining.
            // (And whether another node's seal task completed.)
            Class::SequencerLearns => f(
                ALL_SRV | CFG | VIEW | CSEAL | CSTAT | CBITS | OTHER,
                CSEQ,
                CSEQ,
                CSEQ | CSEQS | ALL_SRV | CFG | VIEW | CSEAL | CSTAT | CBITS | OTHER,
            ),
            // A start reads the client's snapshot (the all-Provisioning guard, the effective
            // nodeset) and the stamped known global tail (the admin's in a cluster), counts
            // itself and sends Seal to the effective nodeset; a completion reads which members
            // serve sealed. Both read and write the tasks' counters, which the sequencer's
            // check reads.
            Class::OtherSeal => f(
                ALL_SRV | CFG | VIEW | FIND | stamp,
                OTHER | ALL_REQSL,
                OTHER | ALL_REQSL,
                OTHER | ALL_SRV | CFG | VIEW,
            ),
            // Guarded by the sequencer's phase (not crashed), whether it is already silent and
            // the budget (both kept with the reader, FIND); sets it silent, which enables the
            // reader's own steps.
            Class::ReaderTimeout => f(CSEQ | FIND, FIND, FIND, CSEQ | FIND),
            // Reads every server (tails, seal flags, process), the configuration and its own
            // state; writes its state and the admin's known global tail, and sends Seal
            // (assist) or repair stores to any member.
            Class::Finder => f(
                ALL_SRV | CFG | VIEW | FIND,
                FIND | ALL_REQSL | ALL_REQST | REQSTADD,
                FIND | ALL_REQSL | ALL_REQST | REQSTADD,
                ALL_SRV | CFG | VIEW | FIND,
            ),
            _ => unreachable!("a log server's class has its footprint in `server_foot`"),
        }
    }
}

/// Whether two classes commute in every state where both are enabled, whatever their order:
/// their footprints are disjoint, or they are one of the pairs argued independent in the
/// essay of [`crate::validate`] (a later append's reply commutes with other replies and with
/// the drain, when the labels it might gain or lose are unlogged).
fn dependent(a: Option<Class>, fa: &Foot, b: Class, fb: &Foot, replies_hidden: bool) -> bool {
    if replies_hidden {
        if let Some(a) = a {
            let pair = |x: Class, y: Class| (a == x && b == y) || (a == y && b == x);
            if pair(Class::ReplyTail, Class::ReplyTail)
                || pair(Class::ReplyTail, Class::ReplyHead)
                || pair(Class::ReplyTail, Class::AckEarly)
                || pair(Class::ReplyTail, Class::Drain)
            {
                return false;
            }
            // A delivered store only adds its reply to the channel; steps that take replies
            // out (a reply's delivery, the early ack and the drain, with the stale replies they
            // drop) neither read nor remove a reply that is not there yet, and the store's
            // effect on its server does not read the replies. So the two orders reach the same
            // state: a reply the other step made stale is dropped as soon as it is added.
            let takes_replies = |c: Class| {
                matches!(
                    c,
                    Class::ReplyHead | Class::ReplyTail | Class::AckEarly | Class::Drain
                )
            };
            let store = |c: Class| matches!(c, Class::DeliverStore(_));
            if (store(a) && takes_replies(b)) || (store(b) && takes_replies(a)) {
                return false;
            }
        }
    }
    (fa.write & (fb.read | fb.write)) != 0 || (fb.write & fa.read) != 0
}

/// Cluster: whether a find-tail reader queries, or may still come to query, the log servers
/// itself: the sequencer's node died or let a Seal request time out (paused), or a crash, a
/// timeout or a reader's failed request to the live sequencer (`faults.reader_timeouts`) is
/// left that may make it so.
pub fn reader_may_query(s: &State) -> bool {
    s.client.sequencer == sealcheck_model::state::SequencerPhase::Crashed
        || s.client.sequencer_silent
        || s.crashes_left > 0
        || s.timeouts_left > 0
        || s.client.reader_timeouts_left > 0
}

/// Whether requests still carry a known global tail that can matter: it only decides whether
/// a store past a server's local tail is out of bounds, which needs a gap in what the server
/// received. Without losses, crashes, operator moves, and with every append sent to the whole
/// nodeset (all of it writable in the client's snapshot), no server ever has a gap, in this
/// state or any later one.
pub fn stamps_live(model: &SealModel, s: &State) -> bool {
    let members = model.nodeset;
    // In a cluster the find-tail reader reads the servers' known global tails.
    model.cluster()
        || !(s.losses_left == 0
            && s.crashes_left == 0
            && s.operator_moves_left == 0
            && model.writable(s.client_view()) == members
            && s.client.appends.all(|a| a.targets == members))
}

/// A fingerprint of `s` with dead data cleared: targets and reply bits of resolved appends,
/// history facts (which node, which seeded bug came first) reduced to whether they hold, the
/// fact that a store was answered Sealed outside a cluster (only a remote sequencer reads it),
/// the known global tail a Sealed reply carries (never above the sequencer's own, so it never
/// changes it), and, when [`stamps_live`] is false, the known global tails of the log servers
/// and of the requests.
pub fn canonical_fingerprint(model: &SealModel, s: &State) -> u64 {
    let (rest, flags) = canonical_parts(model, s);
    fingerprint_of(rest, flags)
}

/// The fingerprint of a state from its two [`canonical_parts`].
pub fn fingerprint_of(rest: u64, marks: Marks) -> u64 {
    rest ^ u64::from(marks).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Whether a state with `marks` is dominated by one of the same other parts whose marks are
/// `by` (a subset: the same marks or fewer).
pub fn dominated(marks: Marks, by: Marks) -> bool {
    by & !marks == 0
}

/// The marks a behaviour leaves in its history that no step, label or observation reads, only
/// the `always` properties and the search's notes on seeded bugs: a record stored while
/// Provisioning, a record stored after a seal, a tail moved back, a known global tail lowered,
/// an append acknowledged without a write quorum, a seeded-bug step taken. One bit each.
pub type Marks = u8;

/// The marks of `s` ([`Marks`]).
pub fn marks(s: &State) -> Marks {
    let h = &s.history;
    u8::from(h.stored_while_provisioning.is_some())
        | u8::from(h.stored_after_seal.is_some()) << 1
        | u8::from(h.tail_moved_back.is_some()) << 2
        | u8::from(h.global_tail_decreased.is_some()) << 3
        | u8::from(h.acked_without_quorum) << 4
        | u8::from(h.bug_step.is_some()) << 5
}

/// [`canonical_fingerprint`] in two parts: the fingerprint of everything but the [`Marks`], and
/// the marks. Two states with the same first part have the same steps, labels and observations
/// forever after, and the marks only grow, the same way in both: the one whose marks are a
/// subset of the other's explains every trace the other does, keeping every property the other
/// keeps and taking no seeded-bug step the other does not (validation keeps only it; module
/// essay of [`crate::validate`], "Dominated explanations").
pub fn canonical_parts(model: &SealModel, s: &State) -> (u64, Marks) {
    let flags = marks(s);
    let mut c = s.clone();
    c.client.appends.map_runs(|a| {
        if !a.in_flight() {
            a.targets = 0;
            a.stored = 0;
            a.sealed = 0;
        }
    });
    let live = stamps_live(model, s);
    if !live {
        for srv in &mut c.servers {
            srv.known_global_tail = 0;
        }
    }
    let cluster = model.cluster();
    // Stamps are shared by the messages of a run: clear them per packet.
    c.network = c.network.map_shared(|m| {
        match m {
            // In a cluster the admin's known global tail is its own, which a reply can raise.
            Msg::Sealed {
                known_global_tail, ..
            } if !cluster => *known_global_tail = 0,
            Msg::Store {
                known_global_tail, ..
            }
            | Msg::Seal {
                known_global_tail, ..
            } if !live => *known_global_tail = 0,
            _ => {}
        }
    });
    let h = &mut c.history;
    h.stored_while_provisioning = None;
    h.stored_after_seal = None;
    h.tail_moved_back = None;
    h.global_tail_decreased = None;
    h.acked_without_quorum = false;
    h.bug_step = None;
    if !cluster && model.cfg.faults.other_seals == 0 {
        // Only a sequencer that learns of a seal by itself reads it: a remote one, or one
        // whose loglet other nodes may seal.
        h.store_answered_sealed = false;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    c.hash(&mut hasher);
    (hasher.finish(), flags)
}

/// Chooses the unlogged steps to explore in a state (see [`Reducer::needed`]).
pub struct Reducer<'a> {
    model: &'a SealModel,
    header: &'a Header,
}

impl<'a> Reducer<'a> {
    /// A reducer for a trace's model and header.
    pub fn new(model: &'a SealModel, header: &'a Header) -> Self {
        Reducer { model, header }
    }

    fn hidden(&self, kind: &str) -> bool {
        !self.header.is_complete(kind)
    }

    /// The footprint of class `c` in this reducer's model: with abstract tails
    /// ([`SealModel::with_abstract_tails`]) a find-tail reader's decisions also read the bound
    /// on known global tails (the appends made, the sequencer's known global tail).
    fn foot(&self, c: Class, ends_hidden: bool, live: bool) -> Foot {
        let mut f = c.foot(ends_hidden, live);
        if c == Class::Finder && self.model.has_abstract_tails() {
            f.read |= CLEN | CKGT;
            f.guard |= CLEN | CKGT;
        }
        f
    }

    /// Whether a step of the class may happen unlogged at all.
    fn may_hide(&self, c: Class) -> bool {
        // A step without a label is never logged.
        c.kinds().is_empty() || c.kinds().iter().any(|k| self.hidden(k))
    }

    fn ends_hidden(&self) -> bool {
        self.hidden("seal-completed") || self.hidden("seal-failed")
    }

    fn replies_hidden(&self) -> bool {
        self.hidden("store-reply") && self.hidden("append-acked") && self.hidden("append-rejected")
    }

    /// The classes of `actions`, the steps enabled in `s`.
    fn enabled_classes(&self, s: &State, actions: &[Action]) -> Vec<Class> {
        let mut classes: Vec<Class> = actions
            .iter()
            .map(|a| Class::of(self.model, s, a))
            .collect();
        classes.sort();
        classes.dedup();
        classes
    }

    /// The classes whose steps may still happen in `s` (over-approximated), with the bugs the
    /// model has: each log server's, then the others.
    fn potential(&self, s: &State) -> Vec<Class> {
        let m = self.model;
        let append_may = s.client.sequencer == sealcheck_model::state::SequencerPhase::Open
            && s.client.appends.len() < m.cfg.appends as usize;
        let call_may = self.may_hide(Class::CallSeal)
            && matches!(
                s.client.harness,
                HarnessPhase::Ready | HarnessPhase::TrimPoint
            );
        let mut out = Vec::new();
        for i in 0..m.n() {
            self.potential_of_server(s, i, append_may, call_may, &mut out);
        }
        self.potential_of_others(s, append_may, call_may, &mut out);
        out
    }

    /// Adds the classes of log server `i`'s steps and messages that may still happen in `s`
    /// (`append_may`: an append may still be made; `call_may`: a seal may still be started
    /// unlogged).
    fn potential_of_server(
        &self,
        s: &State,
        i: usize,
        append_may: bool,
        call_may: bool,
        out: &mut Vec<Class>,
    ) {
        let m = self.model;
        // Every question asked is about fields the messages of a run share.
        let any_msg = |f: &dyn Fn(&Msg) -> bool| s.network.packets().iter().any(|p| f(p.first()));
        let iu = i as u8;
        let down = s.servers[i].process == Process::Down;
        if s.servers[i].process == Process::Starting || s.crashes_left > 0 || down {
            out.push(Class::Provision(iu));
        }
        let seal_to = any_msg(&|x| matches!(x, Msg::Seal { to, .. } if *to == iu));
        let store_to = any_msg(&|x| matches!(x, Msg::Store { to, .. } if *to == iu));
        let other_may = s.client.other_seals.started < m.cfg.faults.other_seals;
        if seal_to || call_may || other_may {
            out.push(Class::DeliverSeal(iu));
        }
        if store_to || append_may {
            out.push(Class::DeliverStore(iu));
        }
        let sealed_from = any_msg(&|x| matches!(x, Msg::Sealed { from, .. } if *from == iu));
        let pending = s
            .client
            .seal
            .as_ref()
            .is_some_and(|t| t.members[i] == Some(MemberSeal::Pending));
        // Single client: a reply from i counts only for a task that waits on i, now or after
        // a call still to come.
        let counts = m.cluster() || pending || call_may;
        if (sealed_from || seal_to || call_may) && counts {
            out.push(Class::DeliverSealed(iu));
        }
        if sealed_from || seal_to {
            out.push(Class::StaleSealed(iu));
        }
        if pending || call_may {
            out.push(Class::SealRequestFails(iu));
            out.push(Class::Resend(iu));
        }
        let starting = matches!(
            s.servers[i].process,
            Process::Starting | Process::NotReady | Process::Down
        );
        if m.cfg.provisioning_steps && (starting || s.crashes_left > 0) {
            out.push(Class::WriteMarker(iu));
            out.push(Class::StartPump(iu));
        }
        if s.crashes_left > 0 {
            out.push(if m.cfg.sequencer_index() == Some(iu) {
                Class::CrashSequencer(iu)
            } else {
                Class::Crash(iu)
            });
        }
        if down || s.crashes_left > 0 {
            out.push(Class::Restart(iu));
        }
        if s.operator_moves_left > 0 {
            out.push(Class::Operator(iu));
        }
    }

    /// Adds the classes of the client's, the harness's, the operator's and the network's
    /// steps that may still happen in `s`, seeded bugs included.
    fn potential_of_others(
        &self,
        s: &State,
        append_may: bool,
        call_may: bool,
        out: &mut Vec<Class>,
    ) {
        let m = self.model;
        let bugs = |b: Bug| m.cfg.has_bug(b);
        // Every question asked is about fields the messages of a run share.
        let any_msg = |f: &dyn Fn(&Msg) -> bool| s.network.packets().iter().any(|p| f(p.first()));
        if m.cfg.stale_views {
            out.push(Class::ViewCatchesUp);
        }
        let others = s.client.other_seals;
        if others.started < m.cfg.faults.other_seals || others.running > 0 {
            out.push(Class::OtherSeal);
        }
        if !m.cluster()
            && m.cfg.faults.other_seals > 0
            && s.client.sequencer == sealcheck_model::state::SequencerPhase::Open
        {
            out.push(Class::SequencerLearns);
        }
        if m.cluster() {
            if s.client.sequencer == sealcheck_model::state::SequencerPhase::Open {
                out.push(Class::SequencerLearns);
            }
            let may_query = reader_may_query(s);
            if SealModel::reader_may_lose_sequencer(s) {
                out.push(Class::ReaderTimeout);
            }
            let repairs = &s.client.other_repairs;
            let other_repair_may = !repairs.running.is_empty()
                || (repairs.started < m.cfg.faults.other_repairs && may_query);
            if (s.find_tail_sealed().is_none() && may_query) || other_repair_may {
                out.push(Class::Finder);
            }
        }
        if !s.client.joined {
            out.push(Class::Join);
        }
        if s.client.harness == HarnessPhase::TrimPoint {
            out.push(Class::TrimPoint);
        }
        out.push(Class::CallSeal);
        let draining = s.client.sequencer == sealcheck_model::state::SequencerPhase::Draining;
        let task = s.client.seal.is_some();
        // With other nodes' seals the sequencer may learn of a seal and drain at any time.
        let learns_may = m.cfg.faults.other_seals > 0
            && s.client.sequencer == sealcheck_model::state::SequencerPhase::Open;
        let may_drain = draining
            || (task && (self.ends_hidden() || bugs(Bug::SealOneConfirmation)))
            || call_may
            || learns_may;
        if may_drain {
            out.push(Class::Drain);
            if bugs(Bug::SealWithoutDrain) {
                out.push(Class::SealWithoutDrain);
            }
        }
        if append_may {
            out.push(Class::Append);
        }
        let replies = any_msg(&|x| matches!(x, Msg::Stored { .. }));
        if replies || append_may || any_msg(&|x| matches!(x, Msg::Store { .. })) {
            out.push(Class::ReplyHead);
            out.push(Class::ReplyTail);
        }
        if s.losses_left > 0 || s.duplications_left > 0 {
            out.push(Class::Network);
        }
        if bugs(Bug::SealOneConfirmation) && (task || call_may) {
            out.push(Class::CompleteEarly);
        }
        let sealed = matches!(
            s.client.sequencer,
            sealcheck_model::state::SequencerPhase::Sealed(_)
        );
        if bugs(Bug::AckBeforeQuorum)
            && !sealed
            && (append_may || s.client.appends.any(|a| a.in_flight()))
        {
            out.push(Class::AckEarly);
        }
    }

    /// The classes whose steps may explain the item: the steps that must be in every stubborn
    /// set, enabled or not.
    fn explaining(&self, item: &Item) -> (Vec<Class>, Res) {
        let n = self.model.n() as u8;
        let idx = |id: sealcheck_model::observable::NodeId| id.0.wrapping_sub(1);
        match item {
            Item::Observe(o) => {
                let read = match o {
                    Observation::ObserveLogServer { node, .. } => {
                        let i = idx(*node);
                        if i < n {
                            srv(i as usize)
                        } else {
                            0
                        }
                    }
                    Observation::ObserveStorageState { .. } => CFG,
                    Observation::ObserveSequencer { .. } => CKGT | CSEQ | CSEQS,
                };
                (Vec::new(), read)
            }
            Item::Event(e) => {
                let node = e.node().map(idx).unwrap_or(0);
                let all = |f: fn(u8) -> Class| (0..n).map(f).collect::<Vec<_>>();
                let classes = match e {
                    Event::Provisioned { .. } | Event::ProvisionRefused { .. } => {
                        vec![Class::Provision(node)]
                    }
                    Event::ViewUpdated { .. } => vec![Class::ViewCatchesUp, Class::Join],
                    Event::MarkerWritten { .. } => vec![Class::WriteMarker(node)],
                    Event::RequestPumpStarted { .. } => vec![Class::StartPump(node)],
                    Event::TrimPointRead { .. } | Event::TrimPointFailed { .. } => {
                        vec![Class::TrimPoint]
                    }
                    Event::SealRequestResent { peer, .. } => vec![Class::Resend(idx(*peer))],
                    Event::SealStarted { .. } | Event::SealRejected { .. } => {
                        vec![Class::CallSeal]
                    }
                    Event::SealRequestFailed { peer, .. } => {
                        vec![Class::SealRequestFails(idx(*peer))]
                    }
                    Event::SealHandled { .. } => vec![Class::DeliverSeal(node)],
                    Event::SealConfirmed { peer, .. } => vec![Class::DeliverSealed(idx(*peer))],
                    Event::SealCompleted { .. } | Event::SealFailed { .. } => {
                        let mut v = all(Class::DeliverSealed);
                        v.extend(all(Class::SealRequestFails));
                        v.push(Class::CompleteEarly);
                        v
                    }
                    Event::SequencerSealed { .. } => vec![Class::Drain, Class::SealWithoutDrain],
                    Event::Append { .. } => vec![Class::Append],
                    Event::Stored { .. } => vec![Class::DeliverStore(node)],
                    Event::StoreReply { .. }
                    | Event::AppendAcked { .. }
                    | Event::AppendRejected { .. } => {
                        vec![Class::ReplyHead, Class::ReplyTail, Class::AckEarly]
                    }
                    Event::MessageLost {} | Event::MessageDuplicated {} => vec![Class::Network],
                    Event::Crashed { .. } => vec![Class::Crash(node), Class::CrashSequencer(node)],
                    Event::SequencerLearnsSealed { .. } => vec![Class::SequencerLearns],
                    Event::SealAssistStarted { .. }
                    | Event::SealAssistCompleted { .. }
                    | Event::TailRepairStarted { .. }
                    | Event::TailRepaired { .. }
                    | Event::FindTailSealed { .. }
                    | Event::OtherRepairStarted { .. }
                    | Event::OtherRepairCompleted { .. } => vec![Class::Finder],
                    Event::OtherSealStarted { .. }
                    | Event::OtherSealCompleted { .. }
                    | Event::OtherSealFailed { .. }
                    | Event::OtherSealRefused { .. } => vec![Class::OtherSeal],
                    Event::Restarted { .. } => vec![Class::Restart(node)],
                    Event::StorageStateSet { .. } => vec![Class::Operator(node)],
                };
                (classes, 0)
            }
        }
    }

    /// The classes of a stubborn set for the item at the front of the window: every step that
    /// may explain the item, closed under "is dependent on a member" and "may enable a member",
    /// over the classes that can still take a step. Only enabled unlogged steps of these
    /// classes need to be explored before the item is explained; every other unlogged step can
    /// be taken after it, with the same result. `actions` are the steps enabled in `s`.
    pub fn needed(&self, s: &State, actions: &[Action], item: Option<&Item>) -> Vec<Class> {
        let live = stamps_live(self.model, s);
        let ends_hidden = self.ends_hidden();
        let replies_hidden = self.replies_hidden();
        let potential: Vec<(Class, Foot)> = self
            .potential(s)
            .into_iter()
            .filter(|c| self.may_hide(*c))
            .map(|c| (c, self.foot(c, ends_hidden, live)))
            .collect();
        let Some(item) = item else {
            // The end of the trace: every step may matter.
            return potential.into_iter().map(|(c, _)| c).collect();
        };
        // A reply's labels may move to another step when replies are reordered: not while
        // the item to explain is one of them.
        let replies_hidden = replies_hidden
            && !matches!(item, Item::Event(e) if matches!(
                e.kind(),
                "store-reply" | "append-acked" | "append-rejected"
            ));
        let (seeds, obs_read) = self.explaining(item);
        let mut inset = vec![false; potential.len()];
        let mut work: Vec<(Option<Class>, Foot)> = Vec::new();
        // The observation: a step that reads and changes nothing.
        if obs_read != 0 {
            work.push((
                None,
                Foot {
                    read: obs_read,
                    write: 0,
                    enables: 0,
                    guard: obs_read,
                },
            ));
        }
        let mut out: Vec<Class> = Vec::new();
        for c in seeds {
            // An explaining step with its full footprint (it may end the seal task).
            work.push((Some(c), self.foot(c, true, live)));
            out.push(c);
            for (k, (p, _)) in potential.iter().enumerate() {
                if *p == c {
                    inset[k] = true;
                }
            }
        }
        let next_stores = SealModel::next_stores(s);
        let enabled = self.enabled_classes(s, actions);
        // Classes met while disabled: they join only if a step outside the set could enable
        // them.
        let mut dormant = vec![false; potential.len()];
        loop {
            while let Some((a, f)) = work.pop() {
                for (k, (c, fc)) in potential.iter().enumerate() {
                    if inset[k] {
                        continue;
                    }
                    let enabler =
                        (fc.enables & f.guard) != 0 && !queued_behind(a, *c, &next_stores);
                    if !enabler && !dependent(a, &f, *c, fc, replies_hidden) {
                        continue;
                    }
                    if enabled.binary_search(c).is_err() {
                        dormant[k] = true;
                        continue;
                    }
                    inset[k] = true;
                    work.push((Some(*c), *fc));
                    out.push(*c);
                }
            }
            // A dormant class joins after all if steps outside the set may enable it.
            let outside = reachable_outside(&potential, &inset, &enabled);
            let woken: Vec<usize> = (0..potential.len())
                .filter(|&k| dormant[k] && !inset[k] && outside[k])
                .collect();
            if woken.is_empty() {
                break;
            }
            for k in woken {
                inset[k] = true;
                let (c, fc) = potential[k];
                work.push((Some(c), fc));
                out.push(c);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Which classes of `potential` a path of steps outside the set (`inset`) can take from a state
/// whose enabled classes are `enabled`: those enabled now and, transitively, those they may
/// enable.
fn reachable_outside(potential: &[(Class, Foot)], inset: &[bool], enabled: &[Class]) -> Vec<bool> {
    let mut outside: Vec<bool> = potential
        .iter()
        .enumerate()
        .map(|(k, (c, _))| !inset[k] && enabled.binary_search(c).is_ok())
        .collect();
    loop {
        let more: Vec<usize> = (0..potential.len())
            .filter(|&k| !inset[k] && !outside[k])
            .filter(|&k| {
                (0..potential.len())
                    .any(|j| outside[j] && (potential[j].1.enables & potential[k].1.guard) != 0)
            })
            .collect();
        if more.is_empty() {
            return outside;
        }
        for k in more {
            outside[k] = true;
        }
    }
}

/// Whether a Sealed reply from `from` of `seal()` call `attempt` is one no seal task of a
/// single client will ever count ([`Class::StaleSealed`]).
fn reply_stale(model: &SealModel, s: &State, from: u8, attempt: u8) -> bool {
    !model.cluster()
        && s.client.seal.as_ref().is_none_or(|t| {
            t.attempt != attempt || t.members[from as usize] != Some(MemberSeal::Pending)
        })
}

/// Whether the enabling edge from a step of class `c` to the class `a` of a stubborn set's
/// member can be left out because every store `c` may send to that server queues behind one
/// already in flight (module essay, reduction 2: a necessary enabling set).
///
/// A new append's stores carry the next offset, above every store in flight, and stores to one
/// server are delivered in offset order. So while a store to server `i` is in flight, no store
/// an append sends to `i` can be delivered before that one leaves the network: by its delivery
/// (`DeliverStore(i)`, the member itself), its loss (`Network`), a crash of `i` or of the
/// sequencer's node (each writes the requests to `i`, so each is already in the set by
/// dependence). The necessary enabling set of the later stores is therefore the member itself,
/// and the append need not join the set on their account. A find-tail reader's repair stores
/// may go below the stores in flight, so only `Append` loses the edge.
fn queued_behind(a: Option<Class>, c: Class, next_stores: &[Option<Offset>]) -> bool {
    matches!(
        (a, c),
        (Some(Class::DeliverStore(i)), Class::Append)
            if next_stores.get(i as usize).is_some_and(|o| o.is_some())
    )
}

impl Reducer<'_> {
    /// Whether the reduction treats `a` (a member of a stubborn set, any step) and `b` (an
    /// unlogged step outside it) as independent in `s`: then they must commute (the test
    /// `checker/tests/validate_reduce.rs` checks it on every reachable state of several
    /// scenarios).
    pub fn declared_independent(&self, s: &State, a: &Action, b: &Action) -> bool {
        let live = stamps_live(self.model, s);
        let (ca, cb) = (Class::of(self.model, s, a), Class::of(self.model, s, b));
        !dependent(
            Some(ca),
            &self.foot(ca, true, live),
            cb,
            &self.foot(cb, self.ends_hidden(), live),
            self.replies_hidden(),
        )
    }

    /// Whether the reduction knows that the unlogged step `a`, taken in `s`, may enable steps
    /// of class `b` (which the closure then includes whenever `b` is in a stubborn set).
    pub fn declared_enabler(&self, s: &State, a: &Action, b: Class) -> bool {
        let live = stamps_live(self.model, s);
        let ca = Class::of(self.model, s, a);
        self.foot(ca, self.ends_hidden(), live).enables & self.foot(b, true, live).guard != 0
    }

    /// Whether steps of class `c` may happen unlogged under this trace's header.
    pub fn may_be_unlogged(&self, c: Class) -> bool {
        self.may_hide(c)
    }
}
