//! `sealcheck campaign`: how much of the model a real Restate cluster has been seen to do.
//!
//! [`mod@select`] picks the paths: for every step kind the step-to-control table can force or
//! that happens by itself, a shortest path of controllable steps that takes it, and every
//! property's shortest controllable counterexample or example. Each path is run on a fresh
//! cluster with [`crate::reproduce::run_path`] (`--runs-per-path` times, with `--jitter`
//! random delays before its driven steps), imported, validated and path-followed. The
//! [`mod@report`] counts, per step kind, the runs whose explanation took it (with a logged line,
//! or unlogged) and the runs that followed a path step of that kind; it lists the kinds never
//! taken and why, the paths not followed and at which step, and every record the importer
//! could not place or needs a model step for, with the runs it appeared in.
//!
//! A run's explanation is the path-following search's best explanation of the whole
//! recording ([`crate::follow::FollowReport::explanation_actions`]): a behaviour of the model
//! that produces every logged line of the run. A step the explanation takes without a logged
//! line (a Seal delivered: Restate logs no per-message handling) is counted as taken
//! unlogged, apart from the logged ones.

pub mod report;
pub mod select;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sealcheck_recorder::reproduce::{self as rr, Control, Op};

use crate::cli::CampaignArgs;
use crate::commands::load_spec;
use crate::exit::{Exit, UsageError};
use crate::follow::{FollowVerdict, StepStatus};
use crate::reproduce::{run_path, PathToRun};
use crate::validate::Verdict;

pub use report::{CampaignReport, RunRow};
pub use select::{select, Candidate, Scenario, Selection};

/// The scenarios a campaign runs when none is named: the built-in incident scenario, then
/// these files under the project root's specs/.
pub const DEFAULT_SPECS: [&str; 4] = [
    "specs/crash-restart.toml",
    "specs/cluster-roles.toml",
    "specs/paused-members.toml",
    "specs/message-loss.toml",
];

/// The report files a campaign writes into OUT.
pub const TEXT_FILE: &str = "campaign.txt";
/// The JSON report ([`CampaignReport`]).
pub const JSON_FILE: &str = "campaign.json";
/// The JUnit report.
pub const JUNIT_FILE: &str = "campaign.junit.xml";

/// Loads the campaign's scenarios: the named files, or the defaults.
pub fn load_scenarios(specs: &[PathBuf], root: &Path) -> anyhow::Result<Vec<Scenario>> {
    let mut list: Vec<(Option<PathBuf>, String)> = Vec::new();
    if specs.is_empty() {
        list.push((None, "incident".into()));
        for s in DEFAULT_SPECS {
            let p = root.join(s);
            if !p.is_file() {
                return Err(UsageError::new(format!(
                    "the default scenario {} is not there (is {} the project root? name the SPEC files, or run from the project)",
                    p.display(),
                    root.display()
                ))
                .into());
            }
            list.push((Some(p), String::new()));
        }
    } else {
        list.extend(specs.iter().map(|p| (Some(p.clone()), String::new())));
    }
    let mut out: Vec<Scenario> = Vec::new();
    for (path, short) in list {
        let spec = load_spec(path.as_deref())?;
        let model = spec
            .config
            .clone()
            .into_model()
            .map_err(|e| UsageError::new(format!("{}: {e}", spec.display_name())))?;
        let mut short = if short.is_empty() {
            path.as_deref()
                .and_then(Path::file_stem)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "incident".into())
        } else {
            short
        };
        while out.iter().any(|s| s.short == short) {
            short.push('x');
        }
        out.push(Scenario {
            label: spec.display_name(),
            short,
            spec,
            model,
        });
    }
    Ok(out)
}

/// The selection as text: per path, its scenario, why, and a control per step.
pub fn selection_text(sel: &Selection, runs_per_path: u32) -> String {
    let mut s = format!(
        "sealcheck campaign: {} scenarios, {} paths, {} runs ({} per path)\n",
        sel.scenarios.len(),
        sel.paths.len(),
        sel.paths.len() * runs_per_path as usize,
        runs_per_path
    );
    let planned: BTreeSet<&str> = sel.paths.iter().flat_map(|c| c.kinds.clone()).collect();
    let missing: Vec<&str> = sel
        .targets
        .iter()
        .copied()
        .filter(|k| !planned.contains(k))
        .collect();
    s.push_str(&format!(
        "step kinds the table can force or that happen by themselves: {}; on the paths: {}{}\n",
        sel.targets.len(),
        sel.targets.iter().filter(|k| planned.contains(*k)).count(),
        if missing.is_empty() {
            String::new()
        } else {
            format!(" (no controllable path takes {})", missing.join(", "))
        }
    ));
    for c in &sel.paths {
        let sc = &sel.scenarios[c.scenario];
        let why: Vec<String> = c.reasons.iter().map(select::Reason::text).collect();
        s.push_str(&report::path_line(
            &c.id,
            &sc.label,
            c.actions.len(),
            &c.encoding,
            &why,
        ));
        s.push('\n');
        match rr::plan(&sc.model, &c.actions) {
            Ok(plan) => {
                for st in &plan.steps {
                    s.push_str(&format!(
                        "  {:>2}. [{}] {}\n        control: {}\n",
                        st.step,
                        rr::step_kind(&c.actions[st.step - 1]),
                        st.description,
                        st.control.text()
                    ));
                    s.push_str(&crate::reproduce::steering_text(st));
                }
            }
            Err(e) => s.push_str(&format!("  cannot be planned: {e}\n")),
        }
    }
    for u in &sel.unrunnable {
        s.push_str(&format!("not run: {u}\n"));
    }
    s
}

/// A 64-bit FNV-1a hash, to derive each run's jitter seed from the campaign's seed, the path
/// and the run.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether validation's violation is the one the set-up makes by design: "storage states only
/// make legal moves", in a run whose set-up forces members back to Provisioning or whose path
/// has a forced operator move.
pub fn violation_by_design(verdict: &Verdict, plan: &rr::Plan) -> bool {
    let Verdict::Violates { property, .. } = verdict else {
        return false;
    };
    property == sealcheck_model::properties::LEGAL_STORAGE_MOVES
        && (!plan.force_provisioning.is_empty()
            || plan.steps.iter().any(|s| {
                matches!(
                    s.control,
                    Control::Drive(Op::SetStorageState { force: true, .. })
                )
            }))
}

/// Validation's verdict in one line.
pub fn verdict_line(v: &Verdict) -> String {
    match v {
        Verdict::Violates { property, at, .. } => {
            format!(
                "violates \"{property}\" at item {} (line {})",
                at.index, at.line
            )
        }
        Verdict::Diverges { at, .. } => format!("diverges at item {} (line {})", at.index, at.line),
        Verdict::Rejected { at, last, .. } => {
            format!("rejected between items {} and {last}", at.index)
        }
        Verdict::Inconclusive { at, reason } => {
            format!("inconclusive at item {}: {reason}", at.index)
        }
        Verdict::Conforms { .. } => "conforms".into(),
    }
}

/// Builds a run's row from its result.
fn run_row(
    dir: &Path,
    model: &sealcheck_model::SealModel,
    c: &Candidate,
    plan: &rr::Plan,
    seed: u64,
    ran: &crate::reproduce::PathRun,
) -> RunRow {
    let follow = &ran.checked.follow;
    let n = c.actions.len();
    let (status, not_followed_at) = match &follow.verdict {
        FollowVerdict::Follows => ("follows".to_string(), None),
        FollowVerdict::Partly { taken } => (
            format!("partly: {taken} of {n} steps"),
            follow
                .steps
                .get(*taken)
                .map(|s| format!("step {}: {}", s.step, s.description)),
        ),
        FollowVerdict::Unexplained => ("unexplained".to_string(), None),
        FollowVerdict::Inconclusive { reason, taken } => (
            format!("inconclusive after {taken} of {n} steps: {reason}"),
            None,
        ),
    };
    let mut taken = BTreeSet::new();
    let mut logged = BTreeSet::new();
    for (a, l) in follow
        .explanation_actions
        .iter()
        .zip(&follow.explanation_logged)
    {
        taken.insert(rr::step_kind(a).to_string());
        if *l {
            logged.insert(rr::step_kind(a).to_string());
        }
    }
    let mut followed = BTreeSet::new();
    for (st, a) in follow.steps.iter().zip(&c.actions) {
        if !matches!(st.status, StepStatus::NotObserved) {
            followed.insert(rr::step_kind(a).to_string());
        }
    }
    let verdict = &ran.checked.verdict;
    let by_design = violation_by_design(verdict, plan);
    let finding = match verdict {
        Verdict::Diverges { .. } | Verdict::Rejected { .. } => true,
        Verdict::Violates { .. } => !by_design,
        _ => false,
    } || follow.verdict == FollowVerdict::Unexplained;
    let inconclusive = matches!(verdict, Verdict::Inconclusive { .. })
        || matches!(follow.verdict, FollowVerdict::Inconclusive { .. });
    let mut notes = Vec::new();
    if let Some(c) = &model.cfg.cluster {
        let header = crate::trace_reader::TraceReader::open(
            &dir.join(sealcheck_recorder::record::TRACE_FILE),
        )
        .ok()
        .map(|r| r.header().clone());
        let real = header.as_ref().and_then(|h| h.roles.sequencer);
        if real != Some(sealcheck_model::observable::NodeId(c.sequencer)) {
            notes.push(format!(
                "the path's model runs the sequencer on N{}, the recorded cluster ran it on {}: steps that need the sequencer's node down, or a sequencer apart from the sealer, cannot be followed",
                c.sequencer,
                real.map(|n| format!("N{}", n.0)).unwrap_or_else(|| "an unknown node".into())
            ));
        }
    }
    RunRow {
        notes,
        dir: dir.to_path_buf(),
        jitter_seed: seed,
        secs: (ran.secs * 10.0).round() / 10.0,
        status,
        not_followed_at,
        validate: verdict_line(verdict),
        violation_by_design: by_design,
        finding,
        inconclusive,
        kinds_taken: taken.into_iter().collect(),
        kinds_logged: logged.into_iter().collect(),
        kinds_followed: followed.into_iter().collect(),
        gaps: ran.gaps.clone(),
        error: None,
    }
}

/// Refuses an OUT that holds something other than an earlier campaign.
fn check_out(out: &Path) -> anyhow::Result<()> {
    let json = out.join(JSON_FILE);
    if out.is_file() {
        return Err(UsageError::new(format!(
            "--out {} is a file, not a directory",
            out.display()
        ))
        .into());
    }
    if out.exists() {
        let non_empty = std::fs::read_dir(out)
            .map_err(|e| UsageError::new(format!("cannot read --out {}: {e}", out.display())))?
            .next()
            .is_some();
        if non_empty && !json.is_file() {
            return Err(UsageError::new(format!(
                "--out {} holds files but no {JSON_FILE}: not an earlier campaign, so it is not replaced; name an empty or new directory",
                out.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// Prepares OUT (checked by [`check_out`]): clears an earlier campaign's runs and reports,
/// returning its JSON report if it can be read.
fn prepare_out(out: &Path) -> anyhow::Result<Option<CampaignReport>> {
    let json = out.join(JSON_FILE);
    let previous = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str::<CampaignReport>(&t).ok());
    for f in [TEXT_FILE, JSON_FILE, JUNIT_FILE] {
        let _ = std::fs::remove_file(out.join(f));
    }
    let runs = out.join("runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs).map_err(|e| {
            UsageError::new(format!("cannot remove the earlier {}: {e}", runs.display()))
        })?;
    }
    std::fs::create_dir_all(&runs)
        .map_err(|e| UsageError::new(format!("cannot create {}: {e}", runs.display())))?;
    Ok(previous)
}

/// Reads `--baseline`: an earlier `campaign.json` (the step kinds some run took there), or a
/// text file of step kinds, one per line (`#` starts a comment).
pub fn read_baseline(file: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError::new(format!("--baseline {}: cannot read: {e}", file.display())))?;
    if text.trim_start().starts_with('{') {
        let r: CampaignReport = serde_json::from_str(&text).map_err(|e| {
            UsageError::new(format!(
                "--baseline {}: line {}, column {}: not a campaign.json: {e}",
                file.display(),
                e.line(),
                e.column()
            ))
        })?;
        return Ok(r
            .kinds
            .into_iter()
            .filter(|k| k.runs_taken > 0)
            .map(|k| k.kind)
            .collect());
    }
    let known: Vec<&str> = rr::step_kinds().into_iter().map(|(k, _)| k).collect();
    let mut kinds = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let kind = line.split('#').next().unwrap_or("").trim();
        if kind.is_empty() {
            continue;
        }
        if !known.contains(&kind) {
            return Err(UsageError::new(format!(
                "--baseline {}: line {}: `{kind}` is not a step kind (one of: {})",
                file.display(),
                n + 1,
                known.join(", ")
            ))
            .into());
        }
        kinds.insert(kind.to_string());
    }
    Ok(kinds)
}

/// `sealcheck campaign`.
pub fn campaign(args: &CampaignArgs) -> anyhow::Result<Exit> {
    let root = args.restate.project_root()?;
    let baseline = match &args.baseline {
        Some(f) => Some(read_baseline(f)?),
        None => None,
    };
    let scenarios = load_scenarios(&args.specs, &root)?;
    let sel = select(scenarios, args.kinds_only).map_err(UsageError::new)?;
    let sel_text = selection_text(&sel, args.runs_per_path);
    crate::output::write_stdout(&sel_text)?;
    if args.dry_run {
        return Ok(Exit::Holds);
    }
    let out = args.out.clone().expect("clap requires --out");
    check_out(&out)?;
    let bins = args.restate.binaries("sealcheck campaign")?;
    sealcheck_recorder::check_can_record().map_err(|e| UsageError::new(e.to_string()))?;
    let previous = prepare_out(&out)?;
    sealcheck_recorder::install_interrupt_handler().map_err(|e| UsageError::new(e.to_string()))?;
    let version = bins.server_version().ok();
    let mut rep = CampaignReport::new(&sel, args, version);
    let deadline = args
        .timeout
        .map(|s| Instant::now() + Duration::from_secs(s));
    let planned = sel.paths.len() * args.runs_per_path as usize;
    let total = args.max_runs.map_or(planned, |m| {
        planned.min(usize::try_from(m).unwrap_or(usize::MAX))
    });
    let began = Instant::now();
    let mut made: u64 = 0;
    'runs: for r in 1..=args.runs_per_path {
        for (pi, c) in sel.paths.iter().enumerate() {
            if args.max_runs.is_some_and(|m| made >= m) {
                rep.stopped = Some(format!(
                    "--max-runs {}: {made} of the selection's {planned} runs made",
                    args.max_runs.unwrap_or(0),
                ));
                rep.stopped_is_bound = false;
                break 'runs;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                rep.stopped = Some(format!(
                    "--timeout {} s passed after {made} of {total} runs; no run started after it",
                    args.timeout.unwrap_or(0)
                ));
                rep.stopped_is_bound = true;
                break 'runs;
            }
            let sc = &sel.scenarios[c.scenario];
            let plan = rr::plan(&sc.model, &c.actions).map_err(UsageError::new)?;
            let dir = out.join("runs").join(format!("{}-r{r}", c.id));
            let seed = args.seed ^ fnv(&format!("{}-r{r}", c.id));
            let jitter = rr::Jitter {
                max_ms: args.jitter,
                seed,
            };
            let path = PathToRun {
                spec: sc.spec.path.clone(),
                overrides: sc.spec.overrides.clone(),
                model: sc.model.clone(),
                label: format!("{} of {}", c.id, sc.label),
                encoding: c.encoding.clone(),
                actions: c.actions.clone(),
            };
            made += 1;
            eprintln!(
                "sealcheck campaign: run {made} of {total} ({:.0} s in): {} run {r}, {} steps, path {}",
                began.elapsed().as_secs_f64(),
                c.id,
                c.actions.len(),
                c.encoding
            );
            let mut row = match run_path(&path, &plan, &bins, &dir, jitter, None) {
                Ok(ran) => run_row(&dir, &sc.model, c, &plan, seed, &ran),
                Err(e) => RunRow::failed(&dir, seed, format!("{e:#}")),
            };
            // The reports name a run's directory relative to OUT, where they are.
            row.dir = dir.strip_prefix(&out).map(Path::to_path_buf).unwrap_or(dir);
            eprintln!(
                "sealcheck campaign:   {}: {}; validate: {}{}",
                c.id,
                row.status,
                row.validate,
                if row.finding {
                    "  <- a divergence or a violation not made by design"
                } else {
                    ""
                }
            );
            rep.paths[pi].runs.push(row);
            rep.finish(&sel, previous.as_ref(), baseline.as_ref());
            rep.write(&out)?;
        }
    }
    rep.finish(&sel, previous.as_ref(), baseline.as_ref());
    rep.write(&out)?;
    crate::output::write_stdout(&rep.text())?;
    Ok(rep.exit())
}
