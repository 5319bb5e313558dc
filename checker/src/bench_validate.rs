//! `sealcheck bench-validate`: how fast validation is, measured, not hoped for.
//!
//! Three series, each trace validated in a fresh child process so that its peak memory is its
//! own:
//! 1. a long fully observed trace (`--items`, default one million): one random behaviour of a
//!    scenario with appends, every event logged, and a poll of every observation repeated
//!    between steps, as a recorder polling a quiet cluster produces;
//! 2. trace length: fully observed behaviours with 2 to 32 appends;
//! 3. hidden steps: one behaviour with more and more event kinds left unlogged;
//! 4. hidden appends (`hidden_axis`): k appends, their stores and replies all unlogged (as in
//!    every real Restate run), then a conforming end, a late divergence, a late step-local
//!    violation or a late state-dependent violation; each validation is bounded in time and
//!    memory so that a search that cannot decide says so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use sealcheck_model::observable::Observation;
use sealcheck_model::offsets::Offset;
use sealcheck_model::Config;
use serde::{Deserialize, Serialize};

use crate::cli::{BenchValidateArgs, Format};
use crate::exit::Exit;
use crate::generate::{self, Rng};
use crate::trace_reader::{self, Header, Item};
use crate::validate::{validate_file, ValidateOptions, Verdict};

/// One measured trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Which series and case.
    pub case: String,
    /// Items (lines after the header).
    pub items: usize,
    /// Model steps in the behaviour.
    pub steps: usize,
    /// Event kinds left unlogged.
    pub hidden_kinds: usize,
    /// The verdict in one word (conforms / diverges / violates / inconclusive).
    pub verdict: String,
    /// Most model states the search held for one point of the trace.
    pub max_frontier: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Items per second.
    pub items_per_sec: f64,
    /// Peak resident memory of the validating process, MiB.
    pub peak_rss_mib: f64,
    /// Where the verdict was found (item index) and why, as the report words it.
    #[serde(default)]
    pub detail: String,
    /// How the verdict was found (depth-first, one-explanation, breadth-first).
    #[serde(default)]
    pub method: String,
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn scenario(appends: Offset) -> Config {
    Config {
        name: format!("bench-{appends}-appends"),
        initial_storage: vec![sealcheck_model::StorageState::ReadWrite; 3],
        appends,
        ..Config::incident()
    }
}

/// Writes one behaviour as a trace; `polls` repeats the observation poll after each step.
fn write_case(
    dir: &Path,
    name: &str,
    cfg: &Config,
    seed: u64,
    polls: usize,
    hide: &[&str],
) -> anyhow::Result<(PathBuf, usize)> {
    let model = cfg
        .clone()
        .into_model()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rng = Rng::new(seed);
    let (actions, terminal) = generate::random_walk_appending_first(&model, &mut rng, 100_000);
    let mut header = Header::generated(cfg.clone(), "sealcheck bench-validate", terminal);
    let hide: Vec<String> = hide.iter().map(|s| s.to_string()).collect();
    let mut items: Vec<Item> = Vec::new();
    let mut state = model.initial_state();
    for a in &actions {
        let next = stateright::Model::next_state(&model, &state, a.clone()).expect("enabled");
        items.extend(
            sealcheck_model::observable::labels(&model, &state, a, &next)
                .into_iter()
                .map(Item::Event),
        );
        for _ in 0..polls {
            items.extend(
                Observation::all_of(&model, &next)
                    .into_iter()
                    .map(Item::Observe),
            );
        }
        state = next;
    }
    generate::hide_kinds(&mut header, &mut items, &hide);
    let path = dir.join(format!("{name}.jsonl"));
    let items: Vec<_> = items.into_iter().map(|i| (None, i)).collect();
    trace_reader::write_trace(&path, &header, &items)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((path, actions.len()))
}

fn child(file: &Path, breadth_first: bool, timeout: f64) -> anyhow::Result<Exit> {
    let start = Instant::now();
    let opts = ValidateOptions {
        depth_first: !breadth_first,
        timeout: Some(std::time::Duration::from_secs_f64(timeout)),
        max_memory_mib: Some(4096),
        ..ValidateOptions::default()
    };
    let o = validate_file(file, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let row = Row {
        case: String::new(),
        items: o.items,
        steps: 0,
        hidden_kinds: 0,
        verdict: o.verdict.word().to_string(),
        max_frontier: o.max_frontier,
        seconds: secs,
        items_per_sec: o.items as f64 / secs.max(1e-9),
        peak_rss_mib: peak_rss_mib(),
        detail: match &o.verdict {
            Verdict::Conforms { .. } => String::new(),
            Verdict::Diverges { at, .. } => format!("at item {}", at.index),
            Verdict::Violates { property, at, .. } => {
                format!("\"{property}\" at item {}", at.index)
            }
            Verdict::Rejected { at, last, .. } => {
                format!("between items {} and {last}", at.index)
            }
            Verdict::Inconclusive { reason, .. } => reason.clone(),
        },
        method: o.method.to_string(),
    };
    crate::output::write_stdout(&format!("{}\n", serde_json::to_string(&row)?))?;
    Ok(Exit::Holds)
}

/// One case of the series: its name, its trace file, its model steps, its number of hidden
/// event kinds, and whether it is validated breadth-first only.
type Case = (String, PathBuf, usize, usize, bool);

/// Writes the series' traces into `dir`: the long fully observed trace of about `items` items,
/// the trace-length axis and the hidden-step axis.
fn series_cases(dir: &Path, items: usize) -> anyhow::Result<Vec<Case>> {
    let mut cases: Vec<Case> = Vec::new();

    // 1. The long fully observed trace.
    let cfg = scenario(8);
    let (probe, steps) = write_case(dir, "probe", &cfg, 1, 1, &[])?;
    let per_poll = 3 * 2 + 1;
    let probe_items = trace_reader::TraceReader::open(&probe)?.count();
    let events = probe_items - steps * per_poll;
    let polls = ((items.saturating_sub(events)) / (steps * per_poll).max(1)).max(1);
    let (long, steps) = write_case(dir, "long-fully-observed", &cfg, 1, polls, &[])?;
    cases.push(("fully observed, polled".into(), long, steps, 0, false));

    // 2. Trace length.
    for appends in [2, 4, 8, 16, 32] {
        let (p, steps) = write_case(
            dir,
            &format!("length-{appends}"),
            &scenario(appends),
            3,
            1,
            &[],
        )?;
        cases.push((
            format!("length: {appends} appends, fully observed"),
            p,
            steps,
            0,
            false,
        ));
    }

    // 3. Hidden steps.
    let hidden: [&[&str]; 5] = [
        &[],
        &["stored"],
        &["stored", "store-reply"],
        &["stored", "store-reply", "seal-handled", "seal-confirmed"],
        &[
            "stored",
            "store-reply",
            "seal-handled",
            "seal-confirmed",
            "append-acked",
            "append",
        ],
    ];
    for h in hidden {
        let (p, steps) = write_case(dir, &format!("hidden-{}", h.len()), &scenario(4), 5, 1, h)?;
        for bf in [false, true] {
            let method = if bf { "breadth-first" } else { "depth-first" };
            cases.push((
                format!(
                    "hidden: {} unlogged, 4 appends, {method}",
                    sealcheck_model::words::count(h.len(), "kind", "kinds")
                ),
                p.clone(),
                steps,
                h.len(),
                bf,
            ));
        }
    }

    Ok(cases)
}

/// Validates each case in a child process of its own and collects the rows they print.
fn run_cases(cases: Vec<Case>) -> anyhow::Result<Vec<Row>> {
    let exe = std::env::current_exe().context("cannot find the sealcheck executable")?;
    let mut rows = Vec::new();
    for (case, path, steps, hidden_kinds, breadth_first) in cases {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["bench-validate", "--child"]).arg(&path);
        if breadth_first {
            cmd.arg("--child-breadth-first");
        }
        let out = cmd
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("cannot run a bench child")?;
        if !out.status.success() {
            anyhow::bail!("bench child for {} failed: {}", path.display(), out.status);
        }
        let mut row: Row = serde_json::from_slice(&out.stdout).context("no row from child")?;
        row.case = case;
        row.steps = steps;
        row.hidden_kinds = hidden_kinds;
        eprintln!(
            "  {}: {} items in {:.2} s ({})",
            row.case, row.items, row.seconds, row.verdict
        );
        rows.push(row);
    }
    Ok(rows)
}

/// Prints the series' rows as JSON or as a Markdown table.
fn print_rows(format: Format, rows: &[Row]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(rows)?)?,
        Format::Text => {
            writeln!(stdout, "| case | items | model steps | verdict | max frontier | seconds | items/s | peak RSS MiB |")?;
            writeln!(stdout, "|---|---|---|---|---|---|---|---|")?;
            for r in rows {
                writeln!(
                    stdout,
                    "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {:.0} |",
                    r.case,
                    r.items,
                    r.steps,
                    r.verdict,
                    r.max_frontier,
                    r.seconds,
                    r.items_per_sec,
                    r.peak_rss_mib
                )?;
            }
        }
    }
    Ok(())
}

/// `sealcheck bench-validate`: the series (the long fully observed trace, trace lengths, hidden
/// steps), each case validated in a child process of its own, or one of the axes
/// (`--only-hidden-appends`, `--mutations`), or, with `--child`, one validation.
pub fn run(args: &BenchValidateArgs) -> anyhow::Result<Exit> {
    if let Some(f) = &args.child {
        return child(f, args.child_breadth_first, args.child_timeout);
    }
    if args.only_hidden_appends {
        return hidden_axis(args);
    }
    if !args.mutations.is_empty() {
        return mutation_axis(args);
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            std::env::temp_dir().join(format!("sealcheck-bench-validate-{}", std::process::id()))
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cases = series_cases(&dir, args.items)?;
    let rows = run_cases(cases)?;
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    print_rows(args.format, &rows)?;
    Ok(Exit::Holds)
}

/// The four endings of the hidden-append axis.
#[derive(Clone, Copy, Debug)]
pub enum Ending {
    /// Tails k everywhere, a seal at tail k, every copy sealed: conforms.
    Conforming,
    /// ... then a copy's tail is seen below k: no behaviour explains the last item.
    LateDivergence,
    /// ... then the operator forces a member back to Provisioning: every step that explains it
    /// breaks "storage states only make legal moves".
    StepLocalViolation,
    /// One member misses the last record before the seal, then is seen sealed with it: only a
    /// sealed server that stores explains it.
    StateDependentViolation,
}

impl Ending {
    /// All four, in table order.
    pub const ALL: [Ending; 4] = [
        Ending::Conforming,
        Ending::LateDivergence,
        Ending::StepLocalViolation,
        Ending::StateDependentViolation,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Ending::Conforming => "conforming end",
            Ending::LateDivergence => "late divergence",
            Ending::StepLocalViolation => "late step-local violation",
            Ending::StateDependentViolation => "late state-dependent violation",
        }
    }

    /// The verdict validation must give: word, and the item (from the end) or property.
    pub fn expected(self) -> (&'static str, Option<&'static str>) {
        match self {
            Ending::Conforming => ("conforms", None),
            Ending::LateDivergence => ("diverges", None),
            Ending::StepLocalViolation => (
                "violates",
                Some(sealcheck_model::properties::LEGAL_STORAGE_MOVES),
            ),
            Ending::StateDependentViolation => (
                "violates",
                Some(sealcheck_model::properties::SEALED_SERVER_REJECTS_STORES),
            ),
        }
    }
}

/// A trace of `k` unlogged appends on a provisioned 3-server cluster ({node: 2}) with the
/// kinds a real Restate run logs, ending as `ending` says. Returns the header and items; the
/// verdict's item is always the last one.
pub fn hidden_appends_trace(k: Offset, ending: Ending) -> (Header, Vec<Item>) {
    use sealcheck_model::observable::{Event, NodeId};
    let mut cfg = Config {
        name: format!("bench-hidden-{k}-appends"),
        initial_storage: vec![sealcheck_model::StorageState::ReadWrite; 3],
        appends: k,
        ..Config::incident()
    };
    if matches!(ending, Ending::StepLocalViolation) {
        cfg.faults.operator_moves = 1;
        cfg.faults.operator_force = true;
    }
    let client = NodeId(cfg.client);
    let mut header = Header::generated(cfg, "sealcheck bench-validate", false);
    // Logged like a recorded Restate run: appends, stores and replies are unlogged.
    header.complete = sealcheck_recorder::import::COMPLETE_KINDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let obs = |node: u8, tail: Offset, sealed: bool| {
        Item::Observe(Observation::ObserveLogServer {
            node: NodeId(node),
            local_tail: Some(tail),
            sealed: Some(sealed),
        })
    };
    let lagging = matches!(ending, Ending::StateDependentViolation) && k > 0;
    let tail_of = |n: u8| if lagging && n == 1 { k - 1 } else { k };
    let mut items = vec![obs(1, 0, false), obs(2, 0, false), obs(3, 0, false)];
    for n in 1..=3 {
        items.push(obs(n, tail_of(n), false));
    }
    items.push(Item::Event(Event::SealStarted { node: client }));
    items.push(Item::Event(Event::SealCompleted {
        node: client,
        max_local_tail: Some(k),
        status: None,
    }));
    for n in 1..=3 {
        items.push(obs(n, tail_of(n), true));
    }
    match ending {
        Ending::Conforming => {}
        Ending::LateDivergence => items.push(obs(1, k.saturating_sub(1), true)),
        Ending::StepLocalViolation => items.push(Item::Event(Event::StorageStateSet {
            node: NodeId(1),
            to: sealcheck_model::StorageState::Provisioning,
        })),
        Ending::StateDependentViolation => items.push(obs(1, k, true)),
    }
    (header, items)
}

fn hidden_axis(args: &BenchValidateArgs) -> anyhow::Result<Exit> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("sealcheck-bench-hidden-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the sealcheck executable")?;
    let mut rows = Vec::new();
    for &k in &args.hidden_appends {
        for ending in Ending::ALL {
            if k == 0
                && matches!(
                    ending,
                    Ending::StateDependentViolation | Ending::LateDivergence
                )
            {
                // No record to miss or to see go back.
                continue;
            }
            let (header, items) = hidden_appends_trace(k, ending);
            let path = dir.join(format!(
                "hidden-{k}-{}.jsonl",
                ending.name().replace(' ', "-")
            ));
            let n = items.len();
            let items: Vec<_> = items.into_iter().map(|i| (None, i)).collect();
            trace_reader::write_trace(&path, &header, &items)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let out = std::process::Command::new(&exe)
                .args(["bench-validate", "--child"])
                .arg(&path)
                .arg("--child-timeout")
                .arg(args.child_timeout.to_string())
                .stderr(std::process::Stdio::inherit())
                .output()
                .context("cannot run a bench child")?;
            let mut row: Row = serde_json::from_slice(&out.stdout).context("no row from child")?;
            row.case = format!("k = {k}, {}", ending.name());
            row.steps = k as usize;
            let (word, property) = ending.expected();
            let right = row.verdict == word
                && property.is_none_or(|p| row.detail.contains(p))
                && (word == "conforms" || row.detail.ends_with(&format!("at item {}", n - 1)));
            eprintln!(
                "  {}: {} {} in {:.2} s, {:.0} MiB{}",
                row.case,
                row.verdict,
                row.detail,
                row.seconds,
                row.peak_rss_mib,
                if right {
                    ""
                } else {
                    "  (NOT the expected verdict)"
                }
            );
            rows.push((row, right));
        }
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let rows: Vec<&Row> = rows.iter().map(|(r, _)| r).collect();
            writeln!(stdout, "{}", serde_json::to_string_pretty(&rows)?)?
        }
        Format::Text => {
            writeln!(
                stdout,
                "| unlogged appends | ending | verdict | method | seconds | peak RSS MiB | expected |"
            )?;
            writeln!(stdout, "|---|---|---|---|---|---|---|")?;
            for (r, right) in &rows {
                let (k, ending) = r.case.split_once(", ").unwrap_or((&r.case, ""));
                writeln!(
                    stdout,
                    "| {} | {ending} | {} {} | {} | {:.3} | {:.0} | {} |",
                    k.trim_start_matches("k = "),
                    r.verdict,
                    r.detail,
                    r.method,
                    r.seconds,
                    r.peak_rss_mib,
                    if *right { "yes" } else { "**no**" }
                )?;
            }
        }
    }
    Ok(if rows.iter().all(|(_, r)| *r) {
        Exit::Holds
    } else {
        Exit::Violated
    })
}

/// One mutant measured by the mutation axis.
#[derive(Debug, Clone, Serialize)]
pub struct MutantRow {
    /// The trace mutated.
    pub trace: String,
    /// Kind of mutation.
    pub kind: String,
    /// The change.
    pub what: String,
    /// The verdict, in words.
    pub verdict: String,
    /// Index of the first changed item and of the observing item.
    pub at: usize,
    /// See [`crate::mutate::Mutant::observer`].
    pub observer: usize,
    /// How the verdict was classified (`rejected at change`, `rejected at observer`,
    /// `conforming`, `inconclusive`, or why it is wrong).
    pub outcome: String,
    /// How the verdict was found.
    pub method: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

fn verdict_words(v: &Verdict) -> String {
    match v {
        Verdict::Conforms { .. } => "conforms".into(),
        Verdict::Diverges { at, .. } => format!("diverges at {}", at.index),
        Verdict::Violates { property, at, .. } => {
            format!("violates \"{property}\" at {}", at.index)
        }
        Verdict::Rejected { at, last, .. } => {
            format!("rejected between items {} and {last}", at.index)
        }
        Verdict::Inconclusive { at, reason } => format!("inconclusive at {}: {reason}", at.index),
    }
}

/// Validates the mutants of a trace that `keep` selects (by their index in
/// [`crate::mutate::mutants`]; in this process, each bounded by `timeout` seconds and 4 GiB) and
/// classifies each verdict against the original's (`crate::mutate`).
pub fn validate_mutants(
    path: &Path,
    dir: &Path,
    timeout: f64,
    mut keep: impl FnMut(usize, &crate::mutate::Mutant) -> bool,
    mut each: impl FnMut(&MutantRow),
) -> anyhow::Result<Vec<MutantRow>> {
    let opts = ValidateOptions {
        timeout: Some(std::time::Duration::from_secs_f64(timeout)),
        max_memory_mib: Some(4096),
        ..ValidateOptions::default()
    };
    let original = validate_file(path, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let reader = trace_reader::TraceReader::open(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The reader names the sealer and sequencer by the model's client: so do the mutants.
    let mut header = reader.header().clone();
    header.roles = trace_reader::Roles::default();
    let items: Vec<(Option<f64>, Item)> = reader
        .map(|r| r.map(|i| (i.t, i.item)))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rejected_at = match &original.verdict {
        Verdict::Diverges { at, .. } | Verdict::Violates { at, .. } => Some(at.index),
        Verdict::Conforms { .. } => None,
        Verdict::Inconclusive { .. } | Verdict::Rejected { .. } => anyhow::bail!(
            "{}: the original is {}",
            path.display(),
            verdict_words(&original.verdict)
        ),
    };
    let name = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut rows = Vec::new();
    for (k, m) in crate::mutate::mutants(&header, &items, rejected_at)
        .into_iter()
        .enumerate()
    {
        if !keep(k, &m) {
            continue;
        }
        let file = dir.join(format!("{name}-mutant-{k}.jsonl"));
        trace_reader::write_trace(&file, &header, &m.items)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let start = Instant::now();
        let o = validate_file(&file, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
        let seconds = start.elapsed().as_secs_f64();
        let outcome = match m.judge(&original.verdict, &o.verdict) {
            crate::mutate::Outcome::RejectedAtChange => "rejected at change".to_string(),
            crate::mutate::Outcome::RejectedAtObserver => "rejected at observer".to_string(),
            crate::mutate::Outcome::RejectedLater => "rejected later".to_string(),
            crate::mutate::Outcome::RejectedUnlocalized => "rejected, not localized".to_string(),
            crate::mutate::Outcome::Conforming => "conforming".to_string(),
            crate::mutate::Outcome::Inconclusive => "inconclusive".to_string(),
            crate::mutate::Outcome::Wrong(w) => format!("WRONG: {w}"),
        };
        let row = MutantRow {
            trace: name.clone(),
            kind: m.kind.name().to_string(),
            what: m.what.clone(),
            verdict: verdict_words(&o.verdict),
            at: m.at,
            observer: m.observer,
            outcome,
            method: o.method.to_string(),
            seconds,
        };
        each(&row);
        let _ = std::fs::remove_file(&file);
        rows.push(row);
    }
    Ok(rows)
}

fn mutation_axis(args: &BenchValidateArgs) -> anyhow::Result<Exit> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            std::env::temp_dir().join(format!("sealcheck-bench-mutants-{}", std::process::id()))
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut rows = Vec::new();
    for path in &args.mutations {
        rows.extend(validate_mutants(
            path,
            &dir,
            args.child_timeout,
            |_, _| true,
            |r| {
                eprintln!(
                    "  {} {}: {} -> {} ({}, {:.3} s)",
                    r.trace, r.what, r.verdict, r.outcome, r.method, r.seconds
                )
            },
        )?);
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&rows)?)?,
        Format::Text => {
            writeln!(
                stdout,
                "| recording | mutation | count | rejected at the changed item | rejected at the observing item | rejected later | rejected, not localized | conforming | inconclusive | wrong | max seconds |"
            )?;
            writeln!(stdout, "|---|---|---|---|---|---|---|---|---|---|---|")?;
            let mut traces: Vec<&str> = rows.iter().map(|r| r.trace.as_str()).collect();
            traces.dedup();
            for t in traces {
                for kind in crate::mutate::Kind::ALL {
                    let rs: Vec<&MutantRow> = rows
                        .iter()
                        .filter(|r| r.trace == t && r.kind == kind.name())
                        .collect();
                    let c = |o: &str| rs.iter().filter(|r| r.outcome == o).count();
                    let wrong = rs.iter().filter(|r| r.outcome.starts_with("WRONG")).count();
                    let max = rs.iter().map(|r| r.seconds).fold(0.0, f64::max);
                    writeln!(
                        stdout,
                        "| {t} | {} | {} | {} | {} | {} | {} | {} | {} | {wrong} | {max:.2} |",
                        kind.name(),
                        rs.len(),
                        c("rejected at change"),
                        c("rejected at observer"),
                        c("rejected later"),
                        c("rejected, not localized"),
                        c("conforming"),
                        c("inconclusive"),
                    )?;
                }
            }
        }
    }
    let bad = rows
        .iter()
        .any(|r| r.outcome == "inconclusive" || r.outcome.starts_with("WRONG"));
    Ok(if bad { Exit::Violated } else { Exit::Holds })
}
