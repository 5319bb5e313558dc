//! Validating a trace that grows, from where its last conforming explanation ended.
//!
//! `sealcheck follow` validates a loglet again each time its logs gain lines. A loglet that
//! stays open for hours would be searched from its first item at every look, its cost
//! growing with the run. When the previous look's trace conformed by the depth-first search,
//! the search kept the last state of its explanation: a [`Witness`]. [`extend_file`]
//! searches the grown trace's new items from that state only.
//!
//! # Why a found extension proves the grown trace conforms
//!
//! The witness ends a path of clean steps (no seeded-bug step, every `always` property kept)
//! that explains the old items. If the grown trace starts with exactly those items, and a
//! clean path from the witness explains the new ones (and, for a complete run, ends in a
//! terminal state that keeps every `eventually` property), the two paths together are one
//! clean explanation of the whole grown trace, provided the first path is a behaviour of
//! the grown trace's model too. The witness is used only when the two headers, after the
//! same treatment of unknown kinds as [`validate_file`](super::validate_file), are equal but
//! for the number of appends (as long as the loglet's logs grow, its importer raises it) and
//! a run that was not complete and now is. More appends only enable more steps: the
//! sequencer's append is the one step the bound guards (`appends.len() < appends`), and the
//! properties a scenario checks depend only on whether there are appends at all, which both
//! headers agree on. A trace whose earlier items changed (an offset map rebuilt, a line
//! from a log read late), or any other difference in the header, gets no extension.
//!
//! # What a failed extension means
//!
//! Nothing: another explanation of the old items may explain the new ones. The caller then
//! validates the trace from its start, so every verdict but "conforms" still comes from the
//! full search.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sealcheck_model::State;

use super::context::{Context, Limits};
use super::depth_first::{has_step_local_violation, DepthFirst};
use super::{memory_mib, model_for, Outcome, UnknownSteps, ValidateOptions, Verdict};
use crate::trace_reader::{Header, TraceError, TraceItem, TraceReader};

/// The last state of a conforming depth-first explanation of a trace's first items, and what
/// identifies that prefix: the header the search used and a digest of the items' lines.
#[derive(Debug)]
pub struct Witness {
    state: State,
    items: usize,
    header: Header,
    digest: u128,
}

impl Witness {
    /// The witness of an explanation of `items` (all of them) under `header` (as searched,
    /// after [`ValidateOptions::header_for`]) that ends in `state`.
    pub(super) fn new(state: State, header: &Header, items: &[TraceItem]) -> Witness {
        Witness {
            state,
            items: items.len(),
            header: header.clone(),
            digest: digest(items),
        }
    }

    /// How many items the explanation explains.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Whether an explanation under this witness's header is one under `h` (module
    /// documentation).
    fn fits(&self, h: &Header) -> bool {
        let old = &self.header;
        let mut same = old.clone();
        same.config.appends = h.config.appends;
        same.run_complete = h.run_complete;
        same == *h
            && h.config.appends >= old.config.appends
            && (old.config.appends > 0) == (h.config.appends > 0)
            && (!old.run_complete || h.run_complete)
    }
}

/// A digest of the items' lines as written (128 bits: two keyed hashes), so that a witness
/// need not hold the items it explains.
fn digest(items: &[TraceItem]) -> u128 {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    0x5ea1_c4ecu32.hash(&mut b);
    for i in items {
        i.text.hash(&mut a);
        i.text.hash(&mut b);
    }
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// The options the first search of [`validate_file`](super::validate_file) uses for a trace
/// with header `h`: a trace whose material lacks an input is first searched as if none of
/// its unknown steps happened.
fn first_pass(h: &Header, opts: &ValidateOptions) -> ValidateOptions {
    let mut o = opts.clone();
    if !h.unknown.is_empty() && o.unknown == UnknownSteps::AsWritten {
        o.unknown = UnknownSteps::Absent;
    }
    o
}

/// Validates the trace file `path` from `witness` (module documentation): `Some` conforming
/// outcome, with the witness of its own explanation, if a clean path from the witness
/// explains the items after it; `None` if the witness does not fit the trace (another
/// header, other earlier items) or the search found no such path within its bounds (half of
/// `opts.timeout`, as the depth-first phase of a full validation). A malformed file is an
/// error, as for a full validation.
pub fn extend_file(
    path: &Path,
    witness: &Witness,
    opts: &ValidateOptions,
) -> Result<Option<Outcome>, TraceError> {
    let start = Instant::now();
    let reader = TraceReader::open(path)?;
    let written = reader.header().clone();
    let file = reader.file().to_string();
    let items: Vec<TraceItem> = reader.collect::<Result<_, _>>()?;
    let opts = first_pass(&written, opts);
    let header = opts.header_for(&written);
    if !opts.depth_first
        || !witness.fits(&header)
        || items.len() < witness.items
        || digest(&items[..witness.items]) != witness.digest
    {
        return Ok(None);
    }
    let new = &items[witness.items..];
    if has_step_local_violation(new) {
        return Ok(None);
    }
    let dfs_opts = ValidateOptions {
        timeout: opts.timeout.map(|t| t / 2),
        progress: false,
        ..opts.clone()
    };
    let limits = Limits::new(&dfs_opts, start, file.clone(), start);
    let strict = model_for(&header, false);
    let mut dfs = DepthFirst::new(Context::new(&strict, &header, &dfs_opts, &limits));
    if dfs
        .search_from(witness.state.clone(), new, new.len(), true)
        .is_none()
    {
        return Ok(None);
    }
    let Some(state) = dfs.witness.take() else {
        return Ok(None);
    };
    Ok(Some(Outcome {
        file,
        verdict: Verdict::Conforms { explanations: 1 },
        items: items.len(),
        max_frontier: 0,
        states: dfs.states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        method: "depth-first-extended",
        witness: Some(Arc::new(Witness::new(state, &header, &items))),
        header: Some(written),
    }))
}
