//! What both searches share: one [`Context`] (the model, the trace's header, the options and
//! the bounds of the validation) and the questions about a state and the items ahead of it that
//! the depth-first and the breadth-first search both ask.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sealcheck_model::observable::Event;
use sealcheck_model::{SealModel, State};

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

    /// Possible numbers of window items a step with these labels consumes (0 = unlogged).
    pub(super) fn consumptions(&self, labels: &[Event], window: &[TraceItem]) -> Vec<usize> {
        label_consumptions(self.header, labels, |j| window.get(j))
    }
}

/// The Explorer path (`0/3/1/...`) of the state a parent link leads to; links are
/// (parent link, action index) and link 0 is the initial state.
pub(super) fn path_text(links: &[(u32, u32)], mut link: u32) -> String {
    let mut steps = Vec::new();
    while link != 0 {
        let (parent, action) = links[link as usize];
        steps.push(action);
        link = parent;
    }
    let mut s = String::from("0");
    for a in steps.iter().rev() {
        s.push('/');
        s.push_str(&a.to_string());
    }
    s
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
