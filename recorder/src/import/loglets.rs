//! Every loglet of a run: discovery, partition of the facts, one translation per loglet.
//!
//! A recorded run holds several logs, and each log a chain of segments, each a replicated
//! loglet with its own nodeset, replication and sequencer. [`import_every_loglet`] translates
//! each into its own trace (its own instance of the model) and writes what ties them together
//! into a [`RunSummary`]:
//!
//! - **Discovery** ([`discover`]): a loglet is every id a `Creating a replicated loglet client`
//!   line, a `logs` row or any fact names. Its nodeset, sequencer and replication come from
//!   its first creation line, else from the `logs` table (replication then falls back to the
//!   run's); its base LSN from the `logs` table, its sealed tail LSN from the next segment's
//!   base LSN.
//! - **Partition** ([`loglet_run`]): the facts naming the loglet, plus the run-wide ones
//!   (operator actions, process starts, storage states, `restatectl` runs of its log), and the
//!   snapshots' `nodes` rows and its own `loglet_workers` rows. A `seal()` call that names no
//!   loglet belongs to the loglet of the next seal task on the same node. The partition is one
//!   pass over the facts per loglet over the facts it keeps, so the cost grows with the run's
//!   length times the (small) number of run-wide facts.
//! - **Translation**: the translator of [`super::import_run`], with the loglet's own setup in
//!   place of `meta.json`'s (the sealer stays the operator's `seal_via`; a cluster with
//!   separate roles when the sequencer is another node). Reconfiguration reseals
//!   (auto-improvement, failover) are announced like shutdown and assist seals. Offsets are
//!   compressed whenever two named offsets lie more than 2 apart ([`super::offsets`]): also
//!   a loglet that would fit, because the validator's search grows with the offsets.
//! - **Verdict per loglet**: a loglet whose translation dropped a record the model has no step
//!   for (another node's seal task, a second assist), or could not place a record, is not
//!   written: its import is *inconclusive* and names the step it needs. So is a loglet whose
//!   compressed offsets still exceed the model's limit. Never a silent conform.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sealcheck_model::config::MAX_APPENDS;
use sealcheck_model::observable::NodeId;

use super::offsets::OffsetMap;
use super::run::{
    ImportedRun, LogletEntry, Material, Reading, RunSummary, Untranslated, LOGLETS_DIR,
};
use super::{translate, DropReason, ImportError, ImportedTrace, Mode, Offsets};
use crate::parse::{Fact, RawRun, SqlRow, TimedFact};
use crate::text::RestateNode;

/// A loglet found in the raw material, with what the material says of its setup.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Discovered {
    /// Restate's loglet id, `<log>_<segment>`.
    pub loglet: String,
    /// Its log.
    pub log_id: u64,
    /// Its segment index.
    pub segment: u64,
    /// Its nodeset (plain node ids, printed order), if known.
    pub nodeset: Vec<u32>,
    /// Its sequencer, if known.
    pub sequencer: Option<RestateNode>,
    /// Its replication text (`{node: 2}`), if a creation line printed it.
    pub replication: Option<String>,
    /// Its base LSN from the `logs` table.
    pub base_lsn: Option<Reading>,
    /// The next segment's base LSN: this one's tail once sealed.
    pub sealed_tail_lsn: Option<Reading>,
    /// Times (µs since the epoch) of the first and last fact naming it.
    pub first_us: i64,
    /// See `first_us`.
    pub last_us: i64,
}

/// The loglet a fact names, if it names one (`<log>_<segment>`).
pub fn fact_loglet(fact: &Fact) -> Option<String> {
    match fact {
        Fact::LogletCreated { loglet, .. }
        | Fact::SequencerIsLocal { loglet, .. }
        | Fact::SealAssist { loglet, .. }
        | Fact::TailRepairStarted { loglet, .. }
        | Fact::TailRepairCompleted { loglet, .. }
        | Fact::SealStarted { loglet, .. }
        | Fact::AllProvisioningWarning { loglet, .. }
        | Fact::SealCompleted { loglet, .. }
        | Fact::SealReturned { loglet, .. }
        | Fact::SequencerDraining { loglet, .. }
        | Fact::LogServerSealed { loglet, .. }
        | Fact::LogletWorkerObserved { loglet, .. } => Some(loglet.clone()),
        Fact::SealRequested { loglet, .. }
        | Fact::SealFailed { loglet, .. }
        | Fact::RequestExhausted { loglet, .. }
        | Fact::WritesDisabled { loglet, .. } => loglet.clone(),
        Fact::AutoImprovement {
            log_id, segment, ..
        }
        | Fact::AppendReconfigure {
            log_id, segment, ..
        } => Some(format!("{log_id}_{segment}")),
        _ => None,
    }
}

fn split_id(loglet: &str) -> Option<(u64, u64)> {
    let (l, s) = loglet.split_once('_')?;
    Some((l.parse().ok()?, s.parse().ok()?))
}

/// The discovery entry of a loglet id (made on first sight), its window widened to `time_us`.
fn entry_of<'a>(
    found: &'a mut BTreeMap<(u64, u64), Discovered>,
    loglet: &str,
    time_us: i64,
) -> Option<&'a mut Discovered> {
    let (log_id, segment) = split_id(loglet)?;
    let d = found
        .entry((log_id, segment))
        .or_insert_with(|| Discovered {
            loglet: loglet.to_string(),
            log_id,
            segment,
            first_us: time_us,
            last_us: time_us,
            ..Discovered::default()
        });
    d.first_us = d.first_us.min(time_us);
    d.last_us = d.last_us.max(time_us);
    Some(d)
}

/// Every loglet of the run, by log and segment (see the module documentation).
pub fn discover(run: &RawRun) -> Vec<Discovered> {
    let mut found: BTreeMap<(u64, u64), Discovered> = BTreeMap::new();
    let mut chain_tails: BTreeMap<u64, Vec<(u64, Option<u64>, String)>> = BTreeMap::new();
    for f in &run.facts {
        match &f.fact {
            Fact::LogletCreated {
                loglet,
                nodeset,
                sequencer,
                replication,
                ..
            } => {
                if let Some(d) = entry_of(&mut found, loglet, f.time_us) {
                    if d.sequencer.is_none() || d.replication.is_none() {
                        d.nodeset = nodeset.clone();
                        d.sequencer = Some(*sequencer);
                        d.replication = Some(replication.clone());
                    }
                }
            }
            Fact::LogChainObserved { log_id, segments } => {
                let from = format!("{}:{}", f.source.file, f.source.line);
                for s in segments {
                    let Some(loglet) = &s.loglet else { continue };
                    if let Some(d) = entry_of(&mut found, loglet, f.time_us) {
                        if d.nodeset.is_empty() {
                            d.nodeset = s.nodeset.clone();
                        }
                        d.sequencer = d.sequencer.or(s.sequencer);
                        if let (None, Some(b)) = (&d.base_lsn, s.base_lsn) {
                            d.base_lsn = Some(Reading {
                                value: b,
                                from: from.clone(),
                            });
                        }
                    }
                }
                chain_tails.insert(
                    *log_id,
                    segments
                        .iter()
                        .map(|s| (s.segment_index, s.base_lsn, from.clone()))
                        .collect(),
                );
            }
            other => {
                if let Some(l) = fact_loglet(other) {
                    entry_of(&mut found, &l, f.time_us);
                }
            }
        }
    }
    for (log_id, segments) in chain_tails {
        for w in segments.windows(2) {
            if let (Some(d), Some(next_base)) = (found.get_mut(&(log_id, w[0].0)), w[1].1) {
                d.sealed_tail_lsn = Some(Reading {
                    value: next_base,
                    from: w[1].2.clone(),
                });
            }
        }
    }
    found.into_values().collect()
}

/// For each fact, the loglet it belongs to: the one it names, or, for a `seal()` call that
/// names none, the loglet of the next seal task of its log on the same node.
pub fn assign(facts: &[TimedFact]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = facts.iter().map(|f| fact_loglet(&f.fact)).collect();
    let mut next_task: BTreeMap<u32, String> = BTreeMap::new();
    for (i, f) in facts.iter().enumerate().rev() {
        match &f.fact {
            Fact::SealStarted { node, loglet, .. } => {
                next_task.insert(*node, loglet.clone());
            }
            Fact::SealRequested {
                node,
                log_id: Some(log),
                loglet: None,
                ..
            } => {
                out[i] = next_task
                    .get(node)
                    .filter(|l| split_id(l).is_some_and(|(g, _)| g == *log))
                    .cloned();
            }
            _ => {}
        }
    }
    out
}

/// Whether a fact that names no loglet is about the whole run (kept for every loglet) rather
/// than about one log (kept for that log's loglets) or the chain (kept for none).
fn run_wide(fact: &Fact, log_id: u64) -> bool {
    match fact {
        Fact::SealCommandReturned { log_id: l, .. } => *l == Some(log_id),
        Fact::SealRequested { .. } | Fact::LogChainObserved { .. } => false,
        Fact::ChainSealRepair { log_id: l, .. } => *l == Some(log_id),
        _ => true,
    }
}

/// The run as one loglet's translation sees it: its own setup in `meta`, its facts and the
/// run-wide ones, and of the snapshots the `nodes` rows and its own worker rows.
pub fn loglet_run(run: &RawRun, d: &Discovered, assigned: &[Option<String>]) -> RawRun {
    let facts: Vec<TimedFact> = run
        .facts
        .iter()
        .zip(assigned)
        .filter(|(f, a)| match a {
            Some(l) => *l == d.loglet,
            None => fact_loglet(&f.fact).is_none() && run_wide(&f.fact, d.log_id),
        })
        .map(|(f, _)| f.clone())
        .collect();
    let snapshots = run
        .snapshots
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.rows.retain(|r| match r {
                SqlRow::Nodes(_) => true,
                SqlRow::LogletWorkers(w) => w.loglet == d.loglet,
                SqlRow::Logs { .. } => false,
            });
            s
        })
        .collect();
    let mut meta = run.meta.clone();
    meta.loglet_id = Some(d.loglet.clone());
    meta.log_id = d.log_id;
    meta.nodeset = d.nodeset.clone();
    if d.replication.is_some() {
        meta.replication = d.replication.clone();
    }
    meta.sequencer = d.sequencer.map(|s| s.to_string());
    if meta.seal_via.is_none() {
        meta.seal_via = meta.nodes.iter().map(|n| n.id).min();
    }
    RawRun {
        meta,
        facts,
        snapshots,
        logs: run.logs.clone(),
        storage_runs: run.storage_runs.clone(),
        absent: run.absent.clone(),
        meta_derived: run.meta_derived,
        skipped: run.skipped.clone(),
    }
}

/// Translates one loglet's run: a first pass collects the offsets it names, and when they do
/// not fit the model a second pass maps them ([`OffsetMap`]). Records the model has no step
/// for, records not placed, and offsets past the model's limit even after the map make the
/// import inconclusive.
pub fn import_loglet(
    dir: &Path,
    run: &RawRun,
) -> Result<(ImportedTrace, Option<OffsetMap>), ImportError> {
    let (first, named) = translate(dir, run, Mode::RunLoglet, Offsets::Collect(BTreeSet::new()))?;
    let Offsets::Collect(named) = named else {
        unreachable!("the first pass collects")
    };
    // Compressed whenever that changes something, also when the loglet would fit: the search
    // grows with the offsets, not with the items.
    let compress = !OffsetMap::build(named.iter().copied()).is_identity();
    let (trace, map) = if !compress {
        let (t, _) = translate(dir, run, Mode::RunLoglet, Offsets::Identity)?;
        (t, None)
    } else {
        let map = OffsetMap::build(named.iter().copied());
        if map.max_image() - 1 > MAX_APPENDS as u64 {
            return Err(ImportError::Inconclusive {
                dir: dir.to_path_buf(),
                needs: vec![format!(
                    "a model that counts {} records: {} names {} distinct tails up to {}, which keep order and adjacency only in {} model offsets; the model allows at most {MAX_APPENDS} appends",
                    map.max_image() - 1,
                    first.header.config.loglet,
                    named.len(),
                    map.max_named() - 1,
                    map.max_image() - 1,
                )],
            });
        }
        let (mut t, _) = translate(dir, run, Mode::RunLoglet, Offsets::Map(map.clone()))?;
        t.notes.push(map.note());
        (t, Some(map))
    };
    let needs: BTreeSet<String> = trace
        .drops
        .iter()
        .filter_map(|d| match &d.reason {
            DropReason::NeedsModelStep(why) => Some(format!("model step for {why}")),
            DropReason::Unplaced(why) => Some(format!("a place for {} ({why})", d.kind)),
            _ => None,
        })
        .collect();
    if !needs.is_empty() {
        let mut listed: Vec<String> = needs.into_iter().collect();
        listed.extend(trace.drops.iter().filter_map(|d| match d.reason {
            DropReason::NeedsModelStep(_) | DropReason::Unplaced(_) => Some(format!(
                "(dropped {} {}:{} at {:.1} ms)",
                d.kind, d.source.file, d.source.line, d.at_ms
            )),
            _ => None,
        }));
        return Err(ImportError::Inconclusive {
            dir: dir.to_path_buf(),
            needs: listed,
        });
    }
    Ok((trace, map))
}

/// Imports every loglet of a parsed run (see the module documentation): one trace per loglet
/// it can stand behind, and the run summary. `source` names the run in `run.json`.
pub fn import_every_loglet(dir: &Path, run: &RawRun, source: &str) -> ImportedRun {
    import_loglets_except(dir, run, source, &BTreeSet::new())
}

/// [`import_every_loglet`] without the loglets of `skip` (neither translated nor listed as
/// untranslated): those `sealcheck follow` has already judged and forgotten.
pub fn import_loglets_except(
    dir: &Path,
    run: &RawRun,
    source: &str,
    skip: &BTreeSet<String>,
) -> ImportedRun {
    let assigned = assign(&run.facts);
    let found = discover(run);
    let mut summary = RunSummary {
        format: super::run::FORMAT.to_string(),
        version: super::run::VERSION,
        source: source.to_string(),
        material: if run.meta_derived {
            Material::Logs
        } else {
            Material::Full
        },
        notes: Vec::new(),
        drops: BTreeMap::new(),
        loglets: Vec::new(),
        untranslated: Vec::new(),
    };
    let mut traces = Vec::new();
    let mut untranslated = Vec::new();
    for log in &run.logs {
        if log.out_of_order_lines > 0 {
            summary.notes.push(format!(
                "{}: {} lines stamped before a line above them (at most {:.3} ms); their stamps are kept, the facts are in time order",
                log.file,
                log.out_of_order_lines,
                log.max_skew_us as f64 / 1000.0
            ));
        }
    }
    count_unassigned(run, &assigned, &found, &mut summary);
    let start_us = run.meta.started_us;
    for d in found.iter().filter(|d| !skip.contains(&d.loglet)) {
        let lrun = loglet_run(run, d, &assigned);
        match import_loglet(dir, &lrun) {
            Ok((trace, map)) => {
                count_drops(&trace, &mut summary.drops);
                summary.loglets.push(entry(d, run, &trace, map, start_us));
                traces.push(trace);
            }
            Err(e) => {
                let inconclusive = matches!(e, ImportError::Inconclusive { .. });
                let reason = match &e {
                    ImportError::Inconclusive { needs, .. } => {
                        format!("inconclusive: needs {}", needs.join("; and "))
                    }
                    other => format!("not translated: {other}"),
                };
                *summary
                    .drops
                    .entry(format!("loglet not translated ({})", d.loglet))
                    .or_default() += 1;
                summary.notes.push(format!("loglet {}: {reason}", d.loglet));
                let (global, after_seal) = tails(d, run);
                summary
                    .untranslated
                    .push(sealcheck_model::run_format::Untranslated {
                        loglet: d.loglet.clone(),
                        needs: reason.clone(),
                        log_id: Some(d.log_id as u32),
                        segment: Some(d.segment as u32),
                        base_lsn: d.base_lsn.clone(),
                        sealed_tail_lsn: d.sealed_tail_lsn.clone(),
                        max_known_global_tail: global,
                        local_tails_after_seal: after_seal,
                    });
                untranslated.push(Untranslated {
                    loglet: d.loglet.clone(),
                    reason,
                    inconclusive,
                });
            }
        }
    }
    ImportedRun {
        summary,
        traces,
        untranslated,
    }
}

/// Facts that no loglet's partition keeps, counted in the run's drops.
fn count_unassigned(
    run: &RawRun,
    assigned: &[Option<String>],
    found: &[Discovered],
    summary: &mut RunSummary,
) {
    let known: BTreeSet<&str> = found.iter().map(|d| d.loglet.as_str()).collect();
    let logs: BTreeSet<u64> = found.iter().map(|d| d.log_id).collect();
    for (f, a) in run.facts.iter().zip(assigned) {
        let why = match (a, &f.fact) {
            (Some(l), _) if known.contains(l.as_str()) => continue,
            (Some(_), _) => "facts naming a loglet id that is not `<log>_<segment>`",
            (None, Fact::LogChainObserved { .. }) => {
                "log-chain-observed: chain level, read into run.json (base_lsn, sealed_tail_lsn)"
            }
            (None, Fact::SealRequested { .. }) => {
                "seal-requested naming no loglet and followed by no seal task of its log on its node"
            }
            (None, fact) if logs.iter().any(|&g| run_wide(fact, g)) => continue,
            (None, _) => "facts about a log with no loglet in the material",
        };
        *summary.drops.entry(why.to_string()).or_default() += 1;
    }
    let logs_rows: usize = run
        .snapshots
        .iter()
        .map(|s| {
            s.rows
                .iter()
                .filter(|r| matches!(r, SqlRow::Logs { .. }))
                .count()
        })
        .sum();
    if logs_rows > 0 {
        *summary
            .drops
            .entry("logs rows: chain level, read into run.json (base_lsn, sealed_tail_lsn)".into())
            .or_default() += logs_rows as u64;
    }
}

/// Adds a loglet trace's dropped records to the run's counts, by reason.
fn count_drops(trace: &ImportedTrace, drops: &mut BTreeMap<String, u64>) {
    for d in &trace.drops {
        let why = match &d.reason {
            DropReason::OtherLoglet(l) => format!("other loglet or log ({l})"),
            DropReason::AfterCut => "after the trace's cut (the recorder's shutdown)".to_string(),
            DropReason::OutOfScope(why) => format!("{}: out of scope: {why}", d.kind),
            DropReason::NeedsModelStep(why) => format!("{}: needs model step: {why}", d.kind),
            DropReason::Coarse(why) => format!("{}: kept coarse: {why}", d.kind),
            DropReason::Unplaced(why) => format!("{}: NOT PLACED: {why}", d.kind),
        };
        *drops.entry(why).or_default() += 1;
    }
}

/// What the `loglet_workers` rows show of a loglet's tails: the largest known global tail, and
/// per member the largest local tail once its worker was sealed.
fn tails(d: &Discovered, run: &RawRun) -> (Option<Reading>, BTreeMap<NodeId, Reading>) {
    let mut global: Option<Reading> = None;
    let mut after_seal: BTreeMap<NodeId, Reading> = BTreeMap::new();
    for f in &run.facts {
        let Fact::LogletWorkerObserved {
            node,
            loglet,
            local_tail,
            known_global_tail,
            sealed,
            ..
        } = &f.fact
        else {
            continue;
        };
        if *loglet != d.loglet {
            continue;
        }
        let from = format!("{}:{}", f.source.file, f.source.line);
        if let Some(g) = known_global_tail.filter(|g| global.as_ref().is_none_or(|r| *g > r.value))
        {
            global = Some(Reading {
                value: g,
                from: from.clone(),
            });
        }
        if let (Some(true), Some(t)) = (sealed, local_tail) {
            let id = NodeId(*node as u8);
            if after_seal.get(&id).is_none_or(|r| *t > r.value) {
                after_seal.insert(id, Reading { value: *t, from });
            }
        }
    }
    (global, after_seal)
}

/// The run summary's entry of a translated loglet.
fn entry(
    d: &Discovered,
    run: &RawRun,
    trace: &ImportedTrace,
    map: Option<OffsetMap>,
    start_us: i64,
) -> LogletEntry {
    let (global, after_seal) = tails(d, run);
    let ms = |us: i64| ((us - start_us).max(0) / 1000) as u64;
    LogletEntry {
        loglet: d.loglet.clone(),
        log_id: d.log_id as u32,
        segment: d.segment as u32,
        file: format!("{LOGLETS_DIR}/{}.jsonl", d.loglet),
        nodeset: trace.header.config.nodeset.clone(),
        replication: trace.header.config.replication,
        sequencer: d.sequencer.map(|s| s.to_string()),
        window_ms: Some([ms(d.first_us), ms(d.last_us)]),
        base_lsn: d.base_lsn.clone(),
        sealed_tail_lsn: d.sealed_tail_lsn.clone(),
        max_known_global_tail: global,
        local_tails_after_seal: after_seal,
        offset_map: map.map(|m| m.pairs()).unwrap_or_default(),
        notes: trace.notes.clone(),
    }
}
