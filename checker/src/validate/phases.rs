//! The phases of one validation and their order: the depth-first search for one conforming
//! explanation, the search for a violation by one explanation, the streaming breadth-first
//! search, and the localization of a rejection that pruning ahead may have moved.

use std::path::Path;
use std::time::Instant;

use super::breadth_first::{self, Items};
use super::context::{Context, Limits};
use super::depth_first::{has_step_local_violation, one_explanation_violation, DepthFirst};
use super::localize::{localize, rejected};
use super::{memory_mib, model_for, Outcome, ValidateOptions, Verdict, DEPTH_FIRST_MAX_BYTES};
use crate::trace_reader::{TraceError, TraceItem, TraceReader};

/// Validates a trace file: first a depth-first search for one conforming explanation on the
/// scenario's own model (cheap when the trace conforms, even with many unlogged steps), then
/// a search for one explanation of a step that breaks a property whatever the state, then,
/// if neither decides, the streaming breadth-first search that tells violations from
/// divergences and reports where.
pub fn validate_file(path: &Path, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    let small = opts.depth_first
        && std::fs::metadata(path)
            .map(|m| m.len() <= DEPTH_FIRST_MAX_BYTES)
            .unwrap_or(false);
    let start = Instant::now();
    let mut furthest = 0;
    if small {
        match validate_in_memory(path, opts, start)? {
            (Some(outcome), _) => return Ok(outcome),
            (None, f) => furthest = f,
        }
    }
    let reader = TraceReader::open(path)?;
    let mut outcome = validate_reader_from(reader, opts, start, Some(path))?;
    // A bound that stopped the breadth-first search may have been spent by the depth-first
    // phase: say how far that got, which the breadth-first search's item does not show.
    if let Verdict::Inconclusive { at, reason } = &mut outcome.verdict {
        if furthest > at.index {
            reason.push_str(&format!(
                "; the depth-first search had found a clean explanation of the first {furthest} items before it"
            ));
        }
    }
    Ok(outcome)
}

/// The phases that hold a small file's items in memory: the depth-first search for one
/// conforming explanation (skipped when a step breaks a property whatever the state), then
/// the search for a violation by one explanation. `None` if neither decides.
fn validate_in_memory(
    path: &Path,
    opts: &ValidateOptions,
    start: Instant,
) -> Result<(Option<Outcome>, usize), TraceError> {
    let reader = TraceReader::open(path)?;
    let header = reader.header().clone();
    let file = reader.file().to_string();
    let items: Vec<TraceItem> = reader.collect::<Result<_, _>>()?;
    // The depth-first phases may spend at most half of the time bound: when they find
    // nothing, the breadth-first search that decides the rejection still gets the rest.
    let dfs_opts = ValidateOptions {
        timeout: opts.timeout.map(|t| t / 2),
        ..opts.clone()
    };
    let opts = &dfs_opts;
    let limits = Limits::new(opts, start, file.clone(), start);
    let outcome = |verdict, states, method| Outcome {
        file: file.clone(),
        verdict,
        items: items.len(),
        max_frontier: 0,
        states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        method,
        header: Some(header.clone()),
    };
    let mut states = 0;
    let mut furthest = 0;
    // A step that breaks a property whatever the state leaves no clean explanation of the
    // whole trace: do not search for one.
    if !has_step_local_violation(&items) {
        let strict = model_for(&header, false);
        let mut dfs = DepthFirst::new(Context::new(&strict, &header, opts, &limits));
        if dfs.search(&items, items.len(), true).is_some() {
            return Ok((
                Some(outcome(
                    Verdict::Conforms { explanations: 1 },
                    dfs.states,
                    "depth-first",
                )),
                dfs.furthest,
            ));
        }
        states = dfs.states;
        furthest = dfs.furthest;
    }
    let (found, more) = one_explanation_violation(&header, &items, opts, &limits);
    Ok((
        found.map(|v| outcome(v, states + more, "one-explanation")),
        furthest,
    ))
}

/// Validates a trace from an open reader (the streaming breadth-first search only).
pub fn validate_reader(reader: TraceReader, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    validate_reader_from(reader, opts, Instant::now(), None)
}

/// The streaming breadth-first search of the trace `reader` reads (from the file `source`,
/// if any), pruning by later observations when the file can be read again to localize a
/// rejection that pruning may have moved.
fn validate_reader_from(
    reader: TraceReader,
    opts: &ValidateOptions,
    start: Instant,
    source: Option<&Path>,
) -> Result<Outcome, TraceError> {
    let ahead = opts.prune_ahead && opts.reduce && source.is_some();
    let header = reader.header().clone();
    let file = reader.file().to_string();
    let (first, pruned) = breadth_first::run(
        Items::Reader(Box::new(reader)),
        &header,
        &file,
        opts,
        start,
        None,
        if ahead { usize::MAX } else { 0 },
    )?;
    let (Some(d), Some(source)) = (rejected(&first.verdict), source) else {
        return Ok(first);
    };
    if pruned.is_none_or(|j| j <= d) {
        return Ok(first);
    }
    // A later observation pruned states that might have explained items after `d`: find the
    // first prefix no explanation survives (module essay, "Pruning by later observations").
    localize(first, d, source, opts, start)
}
