//! What both searches share: one [`Context`] (the model, the trace's header, the options and
//! the bounds of the validation) and the questions about a state and the items ahead of it that
//! the depth-first and the breadth-first search both ask.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sealcheck_model::observable::Event;
use sealcheck_model::state::{AppendStatus, Msg, Status};
use sealcheck_model::{Action, SealModel, State};
use stateright::Model;

use super::reduce::{canonical_fingerprint, Class, Reducer};
use super::{memory_mib, ValidateOptions};
use crate::trace_reader::{Header, Item, TraceItem};

/// Items of lookahead: at least the most labels one model step has; more lets upcoming
/// observations prune unlogged steps earlier.
pub(super) const LOOKAHEAD: usize = 32;

/// Time and memory bounds and progress lines of one validation phase. Its clock starts with
/// the validation (`start`), so every phase counts the time of the phases before it.
pub(super) struct Limits<'a> {
    opts: &'a ValidateOptions,
    start: Instant,
    file: String,
    last_progress: Mutex<Instant>,
    ticks: AtomicU64,
}

impl<'a> Limits<'a> {
    /// Bounds of a phase of the validation that began at `start`; the first progress line comes
    /// a second after `progress_from`.
    pub(super) fn new(
        opts: &'a ValidateOptions,
        start: Instant,
        file: String,
        progress_from: Instant,
    ) -> Self {
        Limits {
            opts,
            start,
            file,
            last_progress: Mutex::new(progress_from),
            ticks: AtomicU64::new(0),
        }
    }

    /// Checks the time and memory bounds (memory every 4096 calls); prints progress. Returns
    /// the bound that was passed, if any.
    pub(super) fn check(&self, item: usize, held: usize, states: usize) -> Option<String> {
        if let Some(t) = self.opts.timeout {
            if self.start.elapsed() >= t {
                return Some(format!(
                    "time limit of {} s reached (--timeout)",
                    t.as_secs_f64()
                ));
            }
        }
        let n = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 4096 != 0 {
            return None;
        }
        let (rss, _) = memory_mib();
        if let Some(m) = self.opts.max_memory_mib {
            if rss > m {
                return Some(format!(
                    "memory limit of {m} MiB reached (--max-memory; resident {rss} MiB)"
                ));
            }
        }
        let mut last = self.last_progress.lock().expect("progress clock");
        if self.opts.progress && last.elapsed() >= Duration::from_secs(1) {
            *last = Instant::now();
            eprintln!(
                "validate {}: item {item}, {held} states held, {states} generated, RSS {rss} MiB, {:.1} s",
                self.file,
                self.start.elapsed().as_secs_f64()
            );
        }
        None
    }
}

/// The search context: what a search of one trace (or prefix) against one model reads and
/// never changes. Both searches are built on one.
pub(super) struct Context<'a> {
    /// The model the trace is validated against (the scenario's own, or the permissive one).
    pub(super) model: &'a SealModel,
    /// The trace's header; for a prefix, one that says the run is not complete.
    pub(super) header: &'a Header,
    pub(super) opts: &'a ValidateOptions,
    pub(super) limits: &'a Limits<'a>,
    /// Picks the unlogged steps worth taking (stubborn sets).
    pub(super) reducer: Reducer<'a>,
}

impl<'a> Context<'a> {
    /// The context of a search of a trace with this header against `model`.
    pub(super) fn new(
        model: &'a SealModel,
        header: &'a Header,
        opts: &'a ValidateOptions,
        limits: &'a Limits<'a>,
    ) -> Self {
        Context {
            model,
            header,
            opts,
            limits,
            reducer: Reducer::new(model, header),
        }
    }

    /// With the reductions on, the two parts of the fingerprint of `s`
    /// ([`super::reduce::canonical_parts`]); `None` without them (no state dominates another).
    pub(super) fn parts(&self, s: &State) -> Option<(u64, super::reduce::Marks)> {
        self.opts
            .reduce
            .then(|| super::reduce::canonical_parts(self.model, s))
    }

    /// The key states are deduplicated by: the canonical fingerprint with `reduce`, else a
    /// hash of the whole state.
    pub(super) fn fingerprint(&self, s: &State) -> u64 {
        if self.opts.reduce {
            canonical_fingerprint(self.model, s)
        } else {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        }
    }

    /// The classes of unlogged steps worth taking in `s` (whose enabled steps are `actions`)
    /// before the window's front item (`None`: all of them).
    pub(super) fn needed(
        &self,
        s: &State,
        actions: &[sealcheck_model::Action],
        window: &[TraceItem],
    ) -> Option<Vec<Class>> {
        self.opts.reduce.then(|| {
            self.reducer
                .needed(s, actions, window.first().map(|i| &i.item))
        })
    }

    /// Whether the search may pass over step `a` of `s` without computing its successor: the
    /// stubborn set (`needed`) leaves it out, so it is only worth taking if it explains an item
    /// of the window, and its class can label it with nothing the window holds. Only the
    /// classes whose labels are known before the step is taken are passed over: an Ok reply
    /// past the known global tail (it labels itself `store-reply` at most) and a Sealed reply
    /// no task counts (no label). They are most of the steps of a long pipeline, and passing
    /// over them keeps the cost of a state from growing with the replies in flight.
    pub(super) fn passes_over(
        &self,
        s: &State,
        a: &sealcheck_model::Action,
        needed: Option<&Vec<Class>>,
        window: &[TraceItem],
    ) -> bool {
        let Some(needed) = needed else {
            return false;
        };
        let class = Class::of(self.model, s, a);
        let labels: &[&str] = match class {
            Class::ReplyTail => &["store-reply"],
            Class::StaleSealed(_) => &[],
            _ => return false,
        };
        !needed.contains(&class)
            && !window.iter().any(
                |i| matches!(&i.item, crate::trace_reader::Item::Event(e) if labels.contains(&e.kind())),
            )
    }

    /// Whether the search delivers Ok store replies only in batches that acknowledge the head
    /// append (see [`Context::moves`]) in a state whose window is `window`. Off without the
    /// reductions, for a complete run (its explanations end in terminal states,
    /// which a reply that never completes a quorum still has to reach), and wherever a store
    /// reply may be an item: when the trace logs them all, or one is in the window.
    fn batches_replies(&self, window: &[TraceItem]) -> bool {
        self.opts.reduce
            && !self.header.run_complete
            && !self.header.is_complete("store-reply")
            && !window
                .iter()
                .any(|i| matches!(&i.item, Item::Event(e) if e.kind() == "store-reply"))
    }

    /// The enabled steps of `s` that [`Context::moves`] needs, in model order: with reply
    /// batches, without the replies for appends past the head, which it never takes on their
    /// own (listing them would cost a step per reply in flight).
    pub(super) fn enabled(&self, s: &State, window: &[TraceItem], actions: &mut Vec<Action>) {
        if self.batches_replies(window) {
            self.model.actions_without_replies_past_head(s, actions);
        } else {
            self.model.actions(s, actions);
        }
    }

    /// The ways the search may leave `s`, whose enabled steps are `actions` (in model order):
    /// every step, except that an Ok store reply for an append in flight that acknowledges
    /// nothing ("silent": it only records who answered) is not taken on its own. Instead,
    /// where the silent replies for the head append (at the sequencer's known global tail)
    /// come from enough servers, one move delivers them in model order until the head is
    /// acknowledged. The argument that this keeps every verdict is in the module essay
    /// ("Store replies in batches"): a silent reply is read by nothing before its append
    /// becomes the head and its quorum completes, so delivering it can wait until then.
    pub(super) fn moves(&self, s: &State, actions: Vec<Action>, window: &[TraceItem]) -> Vec<Move> {
        let single = |action: Action| Move {
            before: Vec::new(),
            from: None,
            action,
        };
        if !self.batches_replies(window) {
            return actions.into_iter().map(single).collect();
        }
        let mut head = Vec::new();
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            match self.reply_kind(s, &a) {
                Reply::NotSilent => out.push(single(a)),
                Reply::SilentHead => head.push(a),
                Reply::Silent => {}
            }
        }
        if let Some(first) = head.first() {
            out.extend(self.reply_then_ack_early(s, first));
        }
        out.extend(self.head_batch(s, head));
        out
    }

    /// Under the seeded early acknowledgement, which reads the head's answers before its
    /// quorum: the move that delivers one silent head reply and then acknowledges the head
    /// early (further replies before it would only be forgotten with the head's answers).
    fn reply_then_ack_early(&self, s: &State, reply: &Action) -> Option<Move> {
        let next = self.model.next_state(s, reply.clone())?;
        self.model.acks_early_enabled(&next).then(|| Move {
            before: vec![reply.clone()],
            from: Some(next),
            action: Action::SequencerAcksEarly,
        })
    }

    /// Whether step `a` of `s` is a silent Ok store reply (see [`Context::moves`]), and for the
    /// head append.
    fn reply_kind(&self, s: &State, a: &Action) -> Reply {
        let Action::Deliver(Msg::Stored {
            offset,
            status: Status::Ok,
            ..
        }) = a
        else {
            return Reply::NotSilent;
        };
        let c = &s.client;
        if c.append_at(*offset)
            .is_none_or(|x| x.status != AppendStatus::InFlight)
        {
            return Reply::NotSilent;
        }
        if *offset != c.known_global_tail {
            // Acknowledgements go in offset order: nothing past the head is acknowledged
            // before the head is.
            return Reply::Silent;
        }
        match self.model.next_state(s, a.clone()) {
            Some(next) if !Self::acknowledged(s, &next) => Reply::SilentHead,
            _ => Reply::NotSilent,
        }
    }

    /// Whether a step from `s` to `next` acknowledged or resolved an append.
    fn acknowledged(s: &State, next: &State) -> bool {
        let kgt = s.client.known_global_tail;
        next.client.known_global_tail != kgt
            || next.client.append_at(kgt).map(|a| a.status)
                != s.client.append_at(kgt).map(|a| a.status)
    }

    /// The move that delivers the silent head replies `head` (enabled in `s`, in model order)
    /// one server at a time until the head append is acknowledged, if they are enough.
    fn head_batch(&self, s: &State, head: Vec<Action>) -> Option<Move> {
        let mut cur: Option<State> = None;
        let mut before = Vec::new();
        let mut from_seen: u32 = 0;
        for a in head {
            let Action::Deliver(m) = &a else {
                unreachable!("a reply")
            };
            if from_seen & (1 << m.server()) != 0 {
                continue;
            }
            from_seen |= 1 << m.server();
            let base = cur.as_ref().unwrap_or(s);
            let next = self.model.next_state(base, a.clone())?;
            if Self::acknowledged(base, &next) {
                return Some(Move {
                    before,
                    from: cur,
                    action: a,
                });
            }
            before.push(a);
            cur = Some(next);
        }
        None
    }

    /// Possible numbers of window items a step with these labels consumes (0 = unlogged).
    pub(super) fn consumptions(&self, labels: &[Event], window: &[TraceItem]) -> Vec<usize> {
        label_consumptions(self.header, labels, |j| window.get(j))
    }
}

/// One way a search leaves a state (see [`Context::moves`]): a model step, after the store
/// replies of a batch where there are some.
pub(super) struct Move {
    /// The replies a batch delivers before `action`, in order.
    pub(super) before: Vec<Action>,
    /// The state `action` is taken in, after the batch's replies (`None`: the state itself).
    pub(super) from: Option<State>,
    /// The step.
    pub(super) action: Action,
}

impl Move {
    /// The state the move's step is taken in, given the state the move leaves.
    pub(super) fn base<'s>(&'s self, s: &'s State) -> &'s State {
        self.from.as_ref().unwrap_or(s)
    }

    /// The step the move takes in the state it leaves: `action`, or the batch's first reply.
    pub(super) fn first(&self) -> &Action {
        self.before.first().unwrap_or(&self.action)
    }

    /// How many model steps the move takes.
    pub(super) fn steps(&self) -> u32 {
        self.before.len() as u32 + 1
    }

    /// Its model steps, in order.
    pub(super) fn all_steps(&self) -> impl Iterator<Item = &Action> {
        self.before.iter().chain(std::iter::once(&self.action))
    }
}

/// The parent links of a search: each state it holds names its link, and a link is its
/// parent's link with the step from the parent's state. Link 0 is the initial state. Steps
/// are kept as actions, not as indexes among the enabled steps, so that a search need not list
/// every enabled step of a state; the Explorer path is made by replaying them
/// ([`Links::path_text`]).
pub(super) struct Links(Vec<(u32, Option<Action>)>);

impl Links {
    /// Only the initial state.
    pub(super) fn new() -> Links {
        Links(vec![(0, None)])
    }

    /// Adds the steps of `mv` after `link`; returns the link of their end.
    pub(super) fn push_move(&mut self, mut link: u32, mv: &Move) -> u32 {
        for a in mv.all_steps() {
            link = self.push(link, a.clone());
        }
        link
    }

    /// Adds one step after `link`; returns the new link.
    pub(super) fn push(&mut self, link: u32, action: Action) -> u32 {
        self.0.push((link, Some(action)));
        self.0.len() as u32 - 1
    }

    /// The Explorer path (`0/3/1/...`) of the state `link` leads to: each step's index among
    /// the enabled steps of the state it is taken in, found by replaying the steps from the
    /// initial state of `model`.
    pub(super) fn path_text(&self, model: &SealModel, link: u32) -> String {
        path_text_of(model, self.actions(link))
    }

    /// The steps from the search's start to the state `link` leads to, in order.
    pub(super) fn actions(&self, mut link: u32) -> Vec<Action> {
        let mut steps = Vec::new();
        while link != 0 {
            let (parent, action) = &self.0[link as usize];
            steps.extend(action.clone());
            link = *parent;
        }
        steps.reverse();
        steps
    }
}

/// The Explorer path (`0/3/1/...`) of the steps `steps` taken from the initial state of
/// `model`: each step's index among the enabled steps of the state it is taken in.
pub(super) fn path_text_of(model: &SealModel, steps: Vec<Action>) -> String {
    let mut text = String::from("0");
    let mut s = model.initial_state();
    for a in steps {
        let Some(i) = model.action_index(&s, &a) else {
            // Not a step of the model from here: nothing a search records.
            text.push_str("/?");
            break;
        };
        text.push('/');
        text.push_str(&i.to_string());
        match model.next_state(&s, a) {
            Some(next) => s = next,
            None => break,
        }
    }
    text
}

/// What a store reply is to [`Context::moves`].
enum Reply {
    /// Not an Ok reply for an append in flight, or one that acknowledges or resolves it.
    NotSilent,
    /// A silent reply for an append past the head.
    Silent,
    /// A silent reply for the head append.
    SilentHead,
}

/// Possible numbers of trace items a step with these labels consumes, from the item `item(0)`
/// on (0: the step is unlogged). A label matches the next item if it is that event; a label of
/// a kind the trace does not log completely may also be skipped. Shared by validation and the
/// path-following check.
pub(crate) fn label_consumptions<'a>(
    header: &Header,
    labels: &[Event],
    item: impl Fn(usize) -> Option<&'a TraceItem>,
) -> Vec<usize> {
    fn rec<'a>(
        header: &Header,
        labels: &[Event],
        item: &dyn Fn(usize) -> Option<&'a TraceItem>,
        li: usize,
        wj: usize,
        out: &mut Vec<usize>,
    ) {
        if li == labels.len() {
            if !out.contains(&wj) {
                out.push(wj);
            }
            return;
        }
        let l = &labels[li];
        if let Some(TraceItem {
            item: Item::Event(e),
            ..
        }) = item(wj)
        {
            if e.matches(l) {
                rec(header, labels, item, li + 1, wj + 1, out);
            }
        }
        if !header.is_complete(l.kind()) {
            rec(header, labels, item, li + 1, wj, out);
        }
    }
    let mut out = Vec::new();
    rec(header, labels, &item, 0, 0, &mut out);
    out
}
