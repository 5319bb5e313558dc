//! The phases of one validation and their order: the depth-first search for one conforming
//! explanation, the search for a violation by one explanation, the streaming breadth-first
//! search, and the localization of a rejection that pruning ahead may have moved.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::breadth_first::{self, Items};
use super::context::{path_text_of, Context, Limits};
use super::depth_first::{has_step_local_violation, one_explanation_violation, DepthFirst};
use super::extend::Witness;
use super::localize::{localize, rejected};
use super::storage::first_unreachable_storage;
use super::{
    memory_mib, model_for, Outcome, UnknownSteps, ValidateOptions, Verdict, DEPTH_FIRST_MAX_BYTES,
};
use crate::trace_reader::{Header, Item, TraceError, TraceItem, TraceReader};
use sealcheck_model::observable::{Event, Observation};
use sealcheck_model::properties::LEGAL_STORAGE_MOVES;
use sealcheck_model::PropertyKind;

/// Validates a trace file: first a depth-first search for one conforming explanation on the
/// scenario's own model (cheap when the trace conforms, even with many unlogged steps), then
/// a search for one explanation of a step that breaks a property whatever the state, then,
/// if neither decides, the streaming breadth-first search that tells violations from
/// divergences and reports where.
pub fn validate_file(path: &Path, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    let header = TraceReader::open(path)?.header().clone();
    if header.unknown.is_empty() || opts.unknown != UnknownSteps::AsWritten {
        return validate_file_once(path, opts);
    }
    validate_with_unknown(path, &header, opts)
}

/// A trace whose material lacks an input (its header's [`unknown`](Header::unknown) kinds),
/// in up to three passes (module essay, "Inputs the material lacks"): as if none of their
/// steps happened; if that rejects the trace, with the steps that break no property (a
/// conforming explanation then needs one of them: inconclusive, naming the input); if that
/// rejects it too, no operator behaviour makes it conform, and a depth-first search with
/// forced moves tells whether one explains it at all (a violation of the legal moves) or the
/// rejection stands.
fn validate_with_unknown(
    path: &Path,
    header: &Header,
    opts: &ValidateOptions,
) -> Result<Outcome, TraceError> {
    let start = Instant::now();
    let pass = |unknown, start: Instant| {
        validate_file_once(
            path,
            &ValidateOptions {
                unknown,
                timeout: opts.timeout.map(|t| t.saturating_sub(start.elapsed())),
                ..opts.clone()
            },
        )
    };
    let first = pass(UnknownSteps::Absent, start)?;
    if !matches!(
        first.verdict,
        Verdict::Diverges { .. } | Verdict::Violates { .. } | Verdict::Rejected { .. }
    ) {
        return Ok(Outcome {
            header: Some(header.clone()),
            ..first
        });
    }
    // Pass 2 holds every interleaving of the legal moves with the other unlogged steps: bounded
    // to a share of the frontier and of the time left, so that pass 3 keeps its share and a
    // pass that cannot finish ends early as "inconclusive, needs" the missing input.
    let second = validate_file_once(
        path,
        &ValidateOptions {
            unknown: UnknownSteps::Legal,
            timeout: opts.timeout.map(|t| t.saturating_sub(start.elapsed()) / 2),
            max_frontier: (opts.max_frontier / LEGAL_PASS_FRONTIER_SHARE).max(1),
            ..opts.clone()
        },
    )?;
    let total = |o: Outcome, more: usize| Outcome {
        states: o.states + first.states + more,
        max_frontier: o.max_frontier.max(first.max_frontier),
        elapsed_ms: start.elapsed().as_millis() as u64,
        header: Some(header.clone()),
        // A conforming explanation of the second pass needs a step the material cannot show.
        witness: None,
        ..o
    };
    let at = match &second.verdict {
        Verdict::Inconclusive { reason, .. } => {
            let Some(first_at) = rejected_at(&first.verdict) else {
                unreachable!("the first pass rejected")
            };
            let reason = format!(
                "needs {}: without {} the trace {} at item {} (line {}); whether such a step the material cannot show explains it was not decided ({reason}; this pass may hold at most 1/{LEGAL_PASS_FRONTIER_SHARE} of --max-frontier and half the time left)",
                inputs(header),
                unknown_steps(header),
                first.verdict.word(),
                first_at.index,
                first_at.line,
            );
            let Verdict::Inconclusive { at, .. } = second.verdict.clone() else {
                unreachable!("matched above")
            };
            return Ok(total(
                Outcome {
                    verdict: Verdict::Inconclusive { at, reason },
                    ..second
                },
                0,
            ));
        }
        Verdict::Conforms { .. } => {
            let Some(at) = rejected_at(&first.verdict) else {
                unreachable!("the first pass rejected")
            };
            let reason = format!(
                "needs {}: without {} the trace {} at this item; it is explained only if such a step happened unlogged, and the material that would show it is missing",
                inputs(header),
                unknown_steps(header),
                first.verdict.word(),
            );
            return Ok(total(
                Outcome {
                    verdict: Verdict::Inconclusive { at, reason },
                    ..second
                },
                0,
            ));
        }
        // Rejected, but where is not localized: whether a forced move explains it is moot.
        Verdict::Rejected { .. } => return Ok(total(second, 0)),
        v => rejected_at(v).expect("a rejection"),
    };
    if !header.config.faults.operator_force {
        return Ok(total(second, 0));
    }
    // No explanation keeps every property whatever the operator did; one that only breaks
    // the legal moves is a violation by a forced move nobody logged.
    let (found, states) = forced_move_explanation(path, header, opts, start)?;
    match found {
        Some((path, property)) => Ok(total(
            Outcome {
                verdict: Verdict::Violates { property, at, path },
                method: "depth-first",
                ..second
            },
            states,
        )),
        None => {
            let reason = format!(
                "the trace is rejected whatever the operator did without --force (with such changes it {} at this item); whether a forced change nobody logged explains it (a violation of `{LEGAL_STORAGE_MOVES}`) or nothing does (a divergence), the depth-first search did not find within its bound: needs {}",
                second.verdict.word(),
                inputs(header),
            );
            Ok(total(
                Outcome {
                    verdict: Verdict::Inconclusive { at, reason },
                    ..second
                },
                states,
            ))
        }
    }
}

/// Where a rejection is.
fn rejected_at(v: &Verdict) -> Option<super::At> {
    match v {
        Verdict::Diverges { at, .. }
        | Verdict::Violates { at, .. }
        | Verdict::Rejected { at, .. } => Some(at.clone()),
        _ => None,
    }
}

/// A depth-first search on the scenario's own model, forced operator moves allowed and
/// properties not required, for any explanation of the whole trace (files up to
/// [`DEPTH_FIRST_MAX_BYTES`]): its path and the property it breaks (the legal moves if it
/// breaks them, else the first the model lists), if found; and the states generated.
fn forced_move_explanation(
    path: &Path,
    header: &Header,
    opts: &ValidateOptions,
    start: Instant,
) -> Result<(Option<(String, String)>, usize), TraceError> {
    let small = std::fs::metadata(path)
        .map(|m| m.len() <= DEPTH_FIRST_MAX_BYTES)
        .unwrap_or(false);
    if !small {
        return Ok((None, 0));
    }
    let reader = TraceReader::open(path)?;
    let file = reader.file().to_string();
    let items: Vec<TraceItem> = reader.collect::<Result<_, _>>()?;
    let limits = Limits::new(opts, start, file, Instant::now());
    let strict = model_for(header, false);
    let mut dfs = DepthFirst::new(Context::new(&strict, header, opts, &limits));
    dfs.tolerate = true;
    let found = dfs.search(&items, items.len(), true);
    let broken = dfs.witness.as_ref().and_then(|s| {
        let broken: Vec<&'static str> = strict
            .property_list()
            .iter()
            .filter(|p| p.kind == PropertyKind::Always && !(p.condition)(&strict, s))
            .map(|p| p.name)
            .collect();
        broken
            .iter()
            .find(|p| **p == LEGAL_STORAGE_MOVES)
            .or(broken.first())
            .map(|p| p.to_string())
    });
    Ok((found.zip(broken), dfs.states))
}

/// The share of `--max-frontier` the pass with legal unknown steps may hold.
const LEGAL_PASS_FRONTIER_SHARE: usize = 4;

/// The header's unknown kinds as steps: "a `storage-state-set` step".
fn unknown_steps(header: &Header) -> String {
    header
        .unknown
        .iter()
        .map(|k| format!("a `{k}` step"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The inputs that show the steps of the header's unknown kinds.
fn inputs(header: &Header) -> String {
    header
        .unknown
        .iter()
        .map(|k| unknown_input(k))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The input that shows the steps of an unknown kind.
fn unknown_input(kind: &str) -> &'static str {
    match kind {
        "storage-state-set" => "the operator's storage-state changes (restatectl.jsonl: `restatectl nodes set-storage-state` leaves no server-log line)",
        _ => "the input that logs them",
    }
}

/// One validation of a trace file with the header as `opts` says ([`validate_file`]).
fn validate_file_once(path: &Path, opts: &ValidateOptions) -> Result<Outcome, TraceError> {
    let small = opts.depth_first
        && std::fs::metadata(path)
            .map(|m| m.len() <= DEPTH_FIRST_MAX_BYTES)
            .unwrap_or(false);
    let start = Instant::now();
    let mut furthest = 0;
    if small {
        // An item no state can satisfy leaves no conforming explanation to search for.
        if let Some(outcome) = backward_rejection(path, opts, start)? {
            return Ok(outcome);
        }
        if let Some(outcome) = raised_sealed_tail_violation(path, opts, start)? {
            return Ok(outcome);
        }
        match validate_in_memory(path, opts, start)? {
            (Some(outcome), _) => return Ok(outcome),
            (None, f) => furthest = f,
        }
        if opts.abstract_tails && opts.reduce {
            if let Some(outcome) = abstract_rejection(path, opts, start)? {
                return Ok(outcome);
            }
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

/// A small trace file read whole: the header a search with `opts` uses, the file's name as
/// reports give it, and every item.
fn read_whole(
    path: &Path,
    opts: &ValidateOptions,
) -> Result<(Header, String, Vec<TraceItem>), TraceError> {
    let reader = TraceReader::open(path)?;
    let header = opts.header_for(reader.header());
    let file = reader.file().to_string();
    let items = reader.collect::<Result<_, _>>()?;
    Ok((header, file, items))
}

/// The first item that no state can satisfy after the items before it: one that sees a log
/// server's tail lower than an earlier item saw it, or past the scenario's `appends` (offsets
/// are below it; so is a seal's `max_local_tail`, the highest of its confirmations' tails),
/// or its seal flag cleared after an earlier item saw it set or a seal outcome reported it
/// `S` (a log server answers Sealed only once its seal is durable), or its flag set before
/// any item started a seal task where starting one is logged completely. No step of the
/// model, seeded bugs included, lowers a tail or clears a flag, and only a task's Seal
/// request sets one, so no behaviour explains the items up to it. Logged steps bound each
/// other the same way: a seal task of the harness, of another node or of a find-tail reader
/// ends (completed or failed) only after it started, so where its start is logged
/// completely, an item that ends more tasks of its kind than items before it started is
/// explained by no behaviour; and a log server goes down only by a crash and comes back only
/// by a restart (every server runs at the start), so where crashes are logged completely a
/// `restarted` of a server no `crashed` took down since the start or its last restart, and
/// where restarts are too a second `crashed` without a `restarted` between, is explained by
/// none either.
fn first_backward(items: &[TraceItem], header: &Header) -> Option<usize> {
    let appends = u64::from(header.config.appends);
    // Only a Seal request sets a flag, and only a step that starts a seal task sends one
    // (a re-sent request belongs to a task already started).
    let starts = ["seal-started", "other-seal-started", "seal-assist-started"];
    let starts_logged = starts.iter().all(|k| header.is_complete(k));
    let mut started = false;
    let mut seen: std::collections::BTreeMap<u8, (Option<u64>, bool)> = Default::default();
    // Per kind of task (its start, and the kinds that end it): starts minus ends so far.
    let tasks: [(&str, &[&str]); 3] = [
        ("seal-started", &["seal-completed", "seal-failed"]),
        (
            "other-seal-started",
            &["other-seal-completed", "other-seal-failed"],
        ),
        ("seal-assist-started", &["seal-assist-completed"]),
    ];
    let mut open = [0i64; 3];
    let (crashes_logged, restarts_logged) = (
        header.is_complete("crashed"),
        header.is_complete("restarted"),
    );
    let mut down: std::collections::BTreeSet<u8> = Default::default();
    for (k, it) in items.iter().enumerate() {
        if let Item::Event(e) = &it.item {
            started |= starts.contains(&e.kind());
            for (t, (start, ends)) in tasks.iter().enumerate() {
                if e.kind() == *start {
                    open[t] += 1;
                } else if ends.contains(&e.kind()) {
                    open[t] -= 1;
                    if open[t] < 0 && header.is_complete(start) {
                        return Some(k);
                    }
                }
            }
            let impossible = match e {
                Event::Crashed { node } => {
                    !down.insert(node.0) && crashes_logged && restarts_logged
                }
                Event::Restarted { node } => !down.remove(&node.0) && crashes_logged,
                _ => false,
            };
            if impossible {
                return Some(k);
            }
        }
        match &it.item {
            Item::Observe(Observation::ObserveLogServer {
                node,
                local_tail,
                sealed,
            }) => {
                let (tail, flag) = seen.entry(node.0).or_insert((None, false));
                let t = local_tail.map(u64::from);
                let lower = matches!((t, *tail), (Some(t), Some(before)) if t < before);
                let cleared = *flag && *sealed == Some(false);
                let unsent = starts_logged && !started && *sealed == Some(true);
                if lower || t.is_some_and(|t| t > appends) || cleared || unsent {
                    return Some(k);
                }
                if let Some(t) = t {
                    *tail = Some(tail.map_or(t, |b| b.max(t)));
                }
                *flag |= *sealed == Some(true);
            }
            Item::Event(Event::SealCompleted {
                max_local_tail: Some(m),
                ..
            }) if u64::from(*m) > appends => return Some(k),
            Item::Event(e) => {
                for node in e.reported_sealed() {
                    seen.entry(node.0).or_insert((None, false)).1 = true;
                }
            }
            _ => {}
        }
    }
    None
}

/// A trace with an item that sees a tail move back or a seal flag cleared
/// ([`first_backward`]), or needs a storage state only a forced move reaches
/// ([`first_unreachable_storage`]): no behaviour explains the items up to it, so if the depth-first
/// search explains every item before it cleanly, the trace diverges exactly there (the same
/// verdict and item as the breadth-first search, which on a loaded loglet may not finish).
/// `None` when there is no such item or the items before it have no clean explanation within
/// the depth-first search's bounds: the breadth-first search follows.
fn backward_rejection(
    path: &Path,
    opts: &ValidateOptions,
    start: Instant,
) -> Result<Option<Outcome>, TraceError> {
    let (header, file, items) = read_whole(path, opts)?;
    let tails = first_backward(&items, &header).map(|d| (d, "no step lowers a log server's local tail past what an earlier item saw, moves a tail past the appends, clears a seal flag an earlier item saw set or a seal outcome reported `S`, or sets one before any item started a seal task (starting one is logged completely); no seal task ends before it started, no server restarts that did not crash, and none crashes twice without a restart (where these steps are logged completely)".to_string()));
    let storage = first_unreachable_storage(&items, &header);
    let Some((d, why)) = [tails, storage]
        .into_iter()
        .flatten()
        .min_by_key(|(d, _)| *d)
    else {
        return Ok(None);
    };
    let dfs_opts = ValidateOptions {
        timeout: opts.timeout.map(|t| t.saturating_sub(start.elapsed()) / 4),
        ..opts.clone()
    };
    let proof = Rejection {
        at: d,
        why,
        states: 0,
        max_frontier: 0,
        method: "depth-first",
    };
    Ok(diverges_if_explained_before(
        proof, &items, &header, file, opts, &dfs_opts, start,
    ))
}

/// The first item that sees a log server's tail above the tail an earlier item saw it sealed
/// with, and that server, in a scenario where no tail repair can write (no cluster roles, no
/// repairs of other nodes): a sealed server answers stores `Sealed` without storing them, so
/// only the seeded `store-after-seal` raises its tail.
fn first_raised_sealed_tail(items: &[TraceItem], header: &Header) -> Option<(u8, usize)> {
    if super::prune::repairs_possible(&header.config) {
        return None;
    }
    let mut sealed_at: std::collections::BTreeMap<u8, u64> = Default::default();
    for (k, it) in items.iter().enumerate() {
        if let Item::Observe(Observation::ObserveLogServer {
            node,
            local_tail: Some(t),
            sealed,
        }) = &it.item
        {
            let t = u64::from(*t);
            if sealed_at.get(&node.0).is_some_and(|s| t > *s) {
                return Some((node.0, k));
            }
            if *sealed == Some(true) {
                sealed_at.entry(node.0).or_insert(t);
            }
        }
    }
    None
}

/// A trace with an item that sees a sealed server's tail raised ([`first_raised_sealed_tail`]),
/// decided without the breadth-first search (module essay, "Tails only a seeded bug raises"):
/// every behaviour that explains the items up to it takes a `store-after-seal` step before it,
/// which breaks "a durably sealed log server accepts no new record" for good. If the
/// depth-first search explains the items before it cleanly (no violation and no divergence
/// comes earlier) and finds one behaviour of the permissive model that explains the item too
/// (its seeded-bug steps only that one), the trace violates the property exactly there.
/// `None` otherwise (`--strict`, no such item, or either search found nothing within its
/// bounds): the other phases follow.
fn raised_sealed_tail_violation(
    path: &Path,
    opts: &ValidateOptions,
    start: Instant,
) -> Result<Option<Outcome>, TraceError> {
    use sealcheck_model::config::Bug;
    use sealcheck_model::properties::SEALED_SERVER_REJECTS_STORES;
    if !opts.permissive {
        return Ok(None);
    }
    let (header, file, items) = read_whole(path, opts)?;
    let Some((node, d)) = first_raised_sealed_tail(&items, &header) else {
        return Ok(None);
    };
    let model = model_for(&header, true);
    if !model.cfg.has_bug(Bug::StoreAfterSeal)
        || model.property_info(SEALED_SERVER_REJECTS_STORES).is_none()
    {
        return Ok(None);
    }
    let dfs_opts = ValidateOptions {
        timeout: opts.timeout.map(|t| t.saturating_sub(start.elapsed()) / 4),
        ..opts.clone()
    };
    let limits = Limits::new(&dfs_opts, start, file.clone(), Instant::now());
    let mut h = header.clone();
    h.run_complete = false;
    // A clean explanation of the items before `d` (nothing earlier rejects the trace), and one
    // of the items up to `d` on the permissive model whose only seeded-bug steps store past a
    // seal on that server (if either search finds nothing, nothing is claimed).
    let strict = model_for(&header, false);
    let mut before = DepthFirst::new(Context::new(&strict, &h, &dfs_opts, &limits));
    if before.search(&items, d, true).is_none() {
        return Ok(None);
    }
    let mut buggy = DepthFirst::new(Context::new(&model, &h, &dfs_opts, &limits));
    buggy.allow_bug = Some((Bug::StoreAfterSeal, SEALED_SERVER_REJECTS_STORES));
    buggy.bug_server = node.checked_sub(1);
    if buggy.search(&items, d + 1, true).is_none() {
        return Ok(None);
    }
    let path_text = path_text_of(&model, std::mem::take(&mut buggy.steps));
    Ok(Some(Outcome {
        file,
        verdict: Verdict::Violates {
            property: SEALED_SERVER_REJECTS_STORES.to_string(),
            at: super::At::of(&items[d], d),
            path: path_text,
        },
        items: items.len(),
        max_frontier: 0,
        states: before.states + buggy.states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        method: "depth-first",
        header: Some(header.clone()),
        witness: None,
    }))
}

/// An item `at` that no behaviour explains together with the items before it, why, and what
/// proving it cost.
struct Rejection {
    at: usize,
    why: String,
    states: usize,
    max_frontier: usize,
    method: &'static str,
}

/// The verdict once `items[..=at]` is known to be explained by no behaviour: if the
/// depth-first search (bounded by `limit_opts`) explains `items[..at]` cleanly on the
/// scenario's own model, as if the run went on, the trace diverges exactly at `at` (not a
/// violation: a clean explanation of the items before it exists, and nothing explains item
/// `at`, with seeded-bug steps or without). `None` if it finds none.
fn diverges_if_explained_before(
    proof: Rejection,
    items: &[TraceItem],
    header: &Header,
    file: String,
    opts: &ValidateOptions,
    limit_opts: &ValidateOptions,
    start: Instant,
) -> Option<Outcome> {
    let d = proof.at;
    let strict = model_for(header, false);
    let limits = Limits::new(limit_opts, start, file.clone(), Instant::now());
    let mut h = header.clone();
    h.run_complete = false;
    let mut dfs = DepthFirst::new(Context::new(&strict, &h, limit_opts, &limits));
    let (path_text, state) = if d == 0 {
        ("0".to_string(), strict.initial_state())
    } else {
        match (dfs.search(items, d, true), dfs.witness.take()) {
            (Some(p), Some(s)) => (p, s),
            _ => return None,
        }
    };
    let model = model_for(header, opts.permissive);
    Some(Outcome {
        file,
        verdict: Verdict::Diverges {
            at: super::At::of(&items[d], d),
            explained: d,
            candidates: vec![sealcheck_model::describe::state(&model, &state)],
            allowed: vec![proof.why],
            path: path_text,
        },
        items: items.len(),
        max_frontier: proof.max_frontier,
        states: proof.states + dfs.states,
        elapsed_ms: start.elapsed().as_millis() as u64,
        peak_rss_mib: memory_mib().1,
        method: proof.method,
        header: Some(header.clone()),
        witness: None,
    })
}

/// The search of the model with abstract known global tails (cluster only; module essay,
/// "Abstract tails"): every behaviour of the model is one of the abstract model's, so an item
/// no abstract behaviour reaches, no behaviour reaches; if the depth-first search explains
/// every item before it cleanly, the trace diverges exactly there. `None` when that does not
/// decide (not a cluster, the abstract search stopped or explained more, or the items before
/// its rejection have no clean explanation): the breadth-first search of the model follows.
/// It gets at most a quarter of the time left (30 s without a time bound).
fn abstract_rejection(
    path: &Path,
    opts: &ValidateOptions,
    start: Instant,
) -> Result<Option<Outcome>, TraceError> {
    let (header, file, items) = read_whole(path, opts)?;
    if !model_for(&header, false).cluster() {
        return Ok(None);
    }
    let left = opts
        .timeout
        .map_or(std::time::Duration::from_secs(30), |t| {
            t.saturating_sub(start.elapsed()) / 4
        });
    let abs_opts = ValidateOptions {
        timeout: Some(left),
        progress: false,
        ..opts.clone()
    };
    let (o, _) = breadth_first::run_model(
        Items::Slice(items.iter()),
        &header,
        &file,
        &abs_opts,
        Instant::now(),
        None,
        0,
        true,
    )?;
    let d = match &o.verdict {
        Verdict::Diverges { at, .. } if at.index < items.len() => at.index,
        _ => return Ok(None),
    };
    let proof = Rejection {
        at: d,
        why: format!(
            "no behaviour that explains the items before it reaches what item {d} says, whatever the known global tails of the log servers (no unlogged steps lead there)"
        ),
        states: o.states,
        max_frontier: o.max_frontier,
        method: "abstract-tails",
    };
    Ok(diverges_if_explained_before(
        proof, &items, &header, file, opts, opts, start,
    ))
}

/// The phases that hold a small file's items in memory: the depth-first search for one
/// conforming explanation (skipped when a step breaks a property whatever the state), then
/// the search for a violation by one explanation. `None` if neither decides.
fn validate_in_memory(
    path: &Path,
    opts: &ValidateOptions,
    start: Instant,
) -> Result<(Option<Outcome>, usize), TraceError> {
    let (header, file, items) = read_whole(path, opts)?;
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
        witness: None,
    };
    let mut states = 0;
    let mut furthest = 0;
    // A step that breaks a property whatever the state leaves no clean explanation of the
    // whole trace: do not search for one.
    if !has_step_local_violation(&items) {
        let strict = model_for(&header, false);
        let mut dfs = DepthFirst::new(Context::new(&strict, &header, opts, &limits));
        if dfs.search(&items, items.len(), true).is_some() {
            let witness = dfs
                .witness
                .take()
                .map(|state| Arc::new(Witness::new(state, &header, &items)));
            return Ok((
                Some(Outcome {
                    witness,
                    ..outcome(
                        Verdict::Conforms { explanations: 1 },
                        dfs.states,
                        "depth-first",
                    )
                }),
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
    let header = opts.header_for(reader.header());
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
