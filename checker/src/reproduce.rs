//! `sealcheck reproduce`: glue over the recorder's [`sealcheck_recorder::reproduce`] (the
//! step-to-control table and the runner), the importer, [`crate::validate`] and
//! [`crate::follow`]. It picks the path, prints the plan, runs it on a real cluster, and prints
//! per step whether the recording shows it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sealcheck_model::{Action, SealModel};
use sealcheck_recorder::reproduce::{self as rr, Plan};
use sealcheck_recorder::{Binaries, ScenarioOptions};
use stateright::Model;

use crate::cli::ReproduceArgs;
use crate::commands::load_scenario;
use crate::exit::{Exit, UsageError};
use crate::follow::{self, FollowOptions, FollowReport, FollowVerdict, StepStatus};
use crate::trace_reader::{TraceItem, TraceReader};
use crate::validate::{self, ValidateOptions};

/// The report file a reproduction leaves beside its trace.
pub const REPORT_FILE: &str = "reproduce.txt";

/// The file that says which path a reproduction walked (JSON, [`PathFile`]).
pub const PATH_FILE: &str = "path.json";

/// What `path.json` holds: enough to check the recording against its path again.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PathFile {
    /// The scenario file (as given), `None` for the built-in scenario or a trace's header.
    pub spec: Option<PathBuf>,
    /// Overrides given on the command line (must be repeated).
    pub overrides: Vec<String>,
    /// The trace whose explanation was the path (`--trace`), if any.
    pub trace: Option<PathBuf>,
    /// The path in the Explorer's encoding.
    pub path: String,
    /// The path in words.
    pub label: String,
    /// The path-following verdict of the recording (`follows`, `partly`, ...).
    pub follow: String,
    /// When the path started, in the trace's `t` (ms since the recording started).
    pub path_starts_at: Option<f64>,
}

/// The path to reproduce: its model, its Explorer encoding and its actions.
pub struct PathToRun {
    /// The scenario file, if one was given.
    pub spec: Option<PathBuf>,
    /// The command-line overrides of the scenario.
    pub overrides: Vec<String>,
    /// The model the path belongs to.
    pub model: SealModel,
    /// What the path is, in words (scenario and path).
    pub label: String,
    /// `0/3/0/0/0`.
    pub encoding: String,
    /// The path's actions, in order from the initial state.
    pub actions: Vec<Action>,
}

/// The Explorer encoding of a list of actions taken from the initial state.
pub fn encode_actions(model: &SealModel, actions: &[Action]) -> Result<String, String> {
    let mut state = model.initial_state();
    let mut s = String::from("0");
    for (i, a) in actions.iter().enumerate() {
        let mut acts = Vec::new();
        model.actions(&state, &mut acts);
        let idx = acts
            .iter()
            .position(|b| b == a)
            .ok_or_else(|| format!("step {} ({a:?}) is not enabled", i + 1))?;
        s.push('/');
        s.push_str(&idx.to_string());
        state = model.next_state(&state, a.clone()).expect("enabled");
    }
    Ok(s)
}

/// Picks the path from the arguments: `--path`, `--property` or `--trace`.
pub fn path_from_args(args: &ReproduceArgs) -> anyhow::Result<PathToRun> {
    if let Some(file) = &args.trace {
        let reader = TraceReader::open(file).map_err(|e| UsageError::new(e.to_string()))?;
        let header = reader.header().clone();
        let items: Vec<TraceItem> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| UsageError::new(e.to_string()))?;
        let r = follow::follow(&header, &items, &[], &FollowOptions::default());
        if r.verdict != FollowVerdict::Follows {
            return Err(UsageError::new(format!(
                "--trace {}: no behaviour of its model explains it ({:?}); `sealcheck validate` says where",
                file.display(),
                r.verdict
            ))
            .into());
        }
        let model = validate::model_for(&header, false);
        let encoding = encode_actions(&model, &r.explanation_actions).map_err(UsageError::new)?;
        return Ok(PathToRun {
            spec: None,
            overrides: Vec::new(),
            label: format!("the explanation of {}", file.display()),
            model,
            encoding,
            actions: r.explanation_actions,
        });
    }
    let spec = load_scenario(&args.scenario)?;
    let model = spec
        .config
        .clone()
        .into_model()
        .map_err(|e| UsageError::new(format!("{}: {e}", spec.display_name())))?;
    let (encoding, what) = match (&args.path, &args.property) {
        (Some(p), _) => (p.trim().to_string(), format!("path {}", p.trim())),
        (None, Some(name)) => {
            let o = crate::explore::open_property(&model, name, 2_000_000)?;
            (o.path.clone(), o.label)
        }
        (None, None) => {
            return Err(UsageError::new(
                "reproduce needs --path P, --property NAME or --trace FILE",
            )
            .into())
        }
    };
    let actions = follow::path_actions(&model, &encoding)
        .map_err(|e| UsageError::new(format!("--path {e}")))?;
    Ok(PathToRun {
        spec: spec.path.clone(),
        overrides: spec.overrides.clone(),
        label: format!("{} of {}", what, spec.display_name()),
        model,
        encoding,
        actions,
    })
}

/// The step-to-control table, one row per kind of step: model step, control, forceable.
pub fn controls_table() -> String {
    let (model, state) = rr::table_model();
    let mut out = String::from("| model step | control | forceable? |\n|---|---|---|\n");
    for a in rr::sample_steps() {
        let c = rr::control_of(&model, &state, &a);
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            sealcheck_model::describe::action(&model, &a),
            c.text(),
            c.forceable()
        ));
    }
    out
}

fn plan_text(path: &PathToRun, plan: &Plan) -> String {
    let mut s = format!(
        "sealcheck reproduce: {} ({} steps, path {})\nset-up:\n",
        path.label,
        plan.steps.len(),
        path.encoding
    );
    for line in plan.setup_text() {
        s.push_str(&format!("  - {line}\n"));
    }
    s.push_str("plan:\n");
    for st in &plan.steps {
        s.push_str(&format!(
            "  {:>2}. {}\n        control ({}): {}\n",
            st.step,
            st.description,
            st.control.forceable(),
            st.control.text()
        ));
        s.push_str(&steering_text(st));
    }
    s
}

/// The extra controls of a planned step, one line each (empty when it has none): members
/// held from before a seal call, resumed before a step, a line waited for.
pub fn steering_text(st: &rr::PlannedStep) -> String {
    let ids = |v: &[u32]| {
        v.iter()
            .map(|n| format!("N{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::new();
    let (held, cut) = st.held_and_cut();
    if !held.is_empty() {
        s.push_str(&format!(
            "        and: hold {} paused from before the call until the path delivers their Seal\n",
            ids(&held)
        ));
    }
    if !cut.is_empty() {
        s.push_str(&format!(
            "        and: cut {} off (TCP reset) from before the call: the path never delivers its Seal to them, and paused they would handle it once resumed\n",
            ids(&cut)
        ));
    }
    if !st.resume_before.is_empty() {
        s.push_str(&format!(
            "        and: resume {} first\n",
            ids(&st.resume_before)
        ));
    }
    if !st.resume_after.is_empty() {
        s.push_str(&format!(
            "        and: resume or reconnect {} after it (the call they were held for has returned)\n",
            ids(&st.resume_after)
        ));
    }
    if st.wait_for_line {
        s.push_str(&format!(
            "        and: wait for its line (at most {} s)\n",
            rr::BY_ITSELF_WITHIN.as_secs()
        ));
    }
    s
}

/// The per-step result: `could not be forced` when the plan had no control (or the run could
/// not apply it), else what the path-following check found.
pub fn step_word(forced: bool, status: &StepStatus) -> String {
    if !forced {
        return "could not be forced".into();
    }
    match status {
        StepStatus::Reproduced { at } => {
            format!("reproduced (item {}, line {})", at.index, at.line)
        }
        StepStatus::Unlogged => {
            "taken unlogged (consistent with the recording, not shown by it)".into()
        }
        StepStatus::NotObserved => "not observed".into(),
    }
}

/// A recording checked against its path ([`check_trace`]).
pub struct Checked {
    /// Validation's verdict and the per-step report, as text.
    pub text: String,
    /// The path-following report.
    pub follow: FollowReport,
    /// How the command ends: the follow verdict's exit code.
    pub exit: Exit,
    /// Validation's verdict of the trace.
    pub verdict: validate::Verdict,
}

/// Checks a recorded trace against the path: validation's verdict and the path-following
/// report.
pub fn check_trace(
    trace: &Path,
    path: &PathToRun,
    forced: &[bool],
    path_starts_at: Option<f64>,
) -> anyhow::Result<Checked> {
    let opts = ValidateOptions {
        timeout: Some(std::time::Duration::from_secs(120)),
        ..ValidateOptions::default()
    };
    let outcome =
        validate::validate_file(trace, &opts).map_err(|e| UsageError::new(e.to_string()))?;
    let reader = TraceReader::open(trace).map_err(|e| UsageError::new(e.to_string()))?;
    let header = reader.header().clone();
    let items: Vec<TraceItem> = reader
        .collect::<Result<_, _>>()
        .map_err(|e| UsageError::new(e.to_string()))?;
    let began = Instant::now();
    let fopts = FollowOptions {
        path_starts_at,
        ..FollowOptions::default()
    };
    let report = follow::follow(&header, &items, &path.actions, &fopts);
    let mut s = String::new();
    let verdict = match &outcome.verdict {
        validate::Verdict::Violates { property, at, .. } => format!(
            "violates \"{property}\" at item {} (line {}: {})",
            at.index, at.line, at.text
        ),
        validate::Verdict::Diverges { at, .. } => {
            format!(
                "diverges at item {} (line {}: {})",
                at.index, at.line, at.text
            )
        }
        validate::Verdict::Inconclusive { at, reason } => {
            format!("inconclusive at item {}: {reason}", at.index)
        }
        v => v.word().to_string(),
    };
    s.push_str(&format!(
        "validate {}: {verdict} ({} items, {} ms)\n",
        trace.display(),
        outcome.items,
        outcome.elapsed_ms
    ));
    s.push_str("per step:\n");
    for (i, st) in report.steps.iter().enumerate() {
        let f = forced.get(i).copied().unwrap_or(true);
        s.push_str(&format!(
            "  {:>2}. {}\n        {}\n",
            st.step,
            st.description,
            step_word(f, &st.status)
        ));
    }
    let n = path.actions.len();
    let line = match &report.verdict {
        FollowVerdict::Follows => format!(
            "follows: an explanation of the recording takes all {n} path steps in order"
        ),
        FollowVerdict::Partly { taken } => format!(
            "does not follow: the best explanation of the recording takes the first {taken} of {n} path steps"
        ),
        FollowVerdict::Unexplained => {
            "does not follow: no behaviour of the model explains the recording".into()
        }
        FollowVerdict::Inconclusive { reason, taken } => format!(
            "inconclusive: the search stopped ({reason}) with {taken} of {n} path steps taken"
        ),
    };
    s.push_str(&format!(
        "{line} ({} states, {} ms)\n",
        report.states,
        began.elapsed().as_millis()
    ));
    let code = report.verdict.exit_code();
    Ok(Checked {
        text: s,
        follow: report,
        exit: code,
        verdict: outcome.verdict,
    })
}

/// `sealcheck reproduce`.
pub fn reproduce(args: &ReproduceArgs) -> anyhow::Result<Exit> {
    if args.controls {
        crate::output::write_stdout(&controls_table())?;
        return Ok(Exit::Holds);
    }
    let path = path_from_args(args)?;
    let plan = rr::plan(&path.model, &path.actions).map_err(UsageError::new)?;
    let plan_txt = plan_text(&path, &plan);
    crate::output::write_stdout(&plan_txt)?;
    if args.dry_run {
        return Ok(Exit::Holds);
    }
    let out = args.out.clone().expect("clap requires --out");
    if args.recheck {
        let planned_forced: Vec<bool> = plan
            .steps
            .iter()
            .map(|s| !matches!(s.control, rr::Control::Cannot(_)))
            .collect();
        let start =
            rr::path_start_ms(&out.join("raw")).map_err(|e| UsageError::new(e.to_string()))?;
        let trace_path = out.join(sealcheck_recorder::record::TRACE_FILE);
        let checked = check_trace(&trace_path, &path, &planned_forced, start)?;
        crate::output::write_stdout(&checked.text)?;
        return Ok(checked.exit);
    }
    let bins = args.restate.binaries("sealcheck reproduce")?;
    sealcheck_recorder::check_can_record().map_err(|e| UsageError::new(e.to_string()))?;
    sealcheck_recorder::install_interrupt_handler().map_err(|e| UsageError::new(e.to_string()))?;
    sealcheck_recorder::cluster::show_progress(true);
    let ran = run_path(
        &path,
        &plan,
        &bins,
        &out,
        rr::Jitter::default(),
        args.trace.clone(),
    )?;
    crate::output::write_stdout(&ran.run_text)?;
    crate::output::write_stdout(&ran.checked.text)?;
    Ok(ran.checked.exit)
}

/// One run of a path on a real cluster ([`run_path`]).
pub struct PathRun {
    /// What the runner did per step, and the seals' outcome, as text.
    pub run_text: String,
    /// The recording checked against the path.
    pub checked: Checked,
    /// The records of the loglet the import could not place (kind, and why), and those that
    /// need a model step.
    pub gaps: Vec<(String, String)>,
    /// The run's wall-clock time, in seconds.
    pub secs: f64,
}

/// Runs `plan` (of `path`) on a fresh cluster recorded into `out` (OUT/raw, OUT/trace.jsonl,
/// OUT/import-notes.txt, OUT/path.json, OUT/reproduce.txt, replacing earlier ones), imports the
/// recording and checks it against the path. Needs root and the binaries; the caller installs
/// the interrupt handler. A cluster that fails is a [`UsageError`] naming the raw material.
pub fn run_path(
    path: &PathToRun,
    plan: &Plan,
    bins: &Binaries,
    out: &Path,
    jitter: rr::Jitter,
    trace_arg: Option<PathBuf>,
) -> anyhow::Result<PathRun> {
    let plan_txt = plan_text(path, plan);
    let trace_path = out.join(sealcheck_recorder::record::TRACE_FILE);
    std::fs::create_dir_all(out)
        .map_err(|e| UsageError::new(format!("cannot create --out {}: {e}", out.display())))?;
    let notes_path = out.join(sealcheck_recorder::record::NOTES_FILE);
    let report_path = out.join(REPORT_FILE);
    let path_file = out.join(PATH_FILE);
    for p in [&trace_path, &notes_path, &report_path, &path_file] {
        match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(UsageError::new(format!("cannot remove {}: {e}", p.display())).into())
            }
            _ => {}
        }
    }
    let raw = out.join("raw");
    let work = std::env::temp_dir().join(format!("sealcheck-reproduce-{}", std::process::id()));
    let opts = ScenarioOptions::new(&work, &raw);
    let began = Instant::now();
    let name = format!("reproduce {}", path.encoding);
    let result = rr::reproduce_jittered(&name, plan, bins, &opts, jitter);
    let _ = std::fs::remove_dir_all(&work);
    let secs = began.elapsed().as_secs_f64();
    let run = result.map_err(|e| {
        UsageError::new(format!(
            "reproduction failed after {secs:.1} s: {e}; every process it started was stopped; the raw material so far is in {}",
            raw.display()
        ))
    })?;
    eprintln!("sealcheck reproduce: ran in {secs:.1} s: {}", run.summary);
    let trace = sealcheck_recorder::import::import_raw_dir(&raw)
        .map_err(|e| UsageError::new(format!("import of the recording: {e}")))?;
    let unplaced = trace.unplaced().len();
    let gaps = gaps_of(&trace);
    trace
        .write_file(&trace_path)
        .and_then(|()| std::fs::write(&notes_path, trace.notes_text()))
        .map_err(|e| UsageError::new(format!("cannot write {}: {e}", trace_path.display())))?;
    let forced: Vec<bool> = run.steps.iter().map(|s| s.forced).collect();
    let mut done = String::from("run:\n");
    for s in &run.steps {
        done.push_str(&format!("  {:>2}. {}\n", s.step, s.done));
    }
    if jitter.max_ms > 0 {
        done.push_str(&format!(
            "  jitter: up to {} ms before each driven step (seed {}): {}\n",
            jitter.max_ms,
            jitter.seed,
            plan.steps
                .iter()
                .filter(|s| matches!(s.control, rr::Control::Drive(_)))
                .map(|s| format!("step {} {} ms", s.step, jitter.delay_ms(s.step)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    done.push_str(&format!("  ran in {secs:.1} s; {}\n", run.summary));
    if unplaced > 0 {
        done.push_str(&format!(
            "  CAUTION: the import left {} of the loglet NOT PLACED (import-notes.txt): the real run did something the model has no step for; the checks below speak of the trace without them\n",
            sealcheck_model::words::count(unplaced, "record", "records")
        ));
    }
    let start = rr::path_start_ms(&raw).map_err(|e| UsageError::new(e.to_string()))?;
    let checked = check_trace(&trace_path, path, &forced, start)?;
    let file = PathFile {
        spec: path.spec.clone(),
        overrides: path.overrides.clone(),
        trace: trace_arg,
        path: path.encoding.clone(),
        label: path.label.clone(),
        follow: follow_word(&checked.follow.verdict),
        path_starts_at: start,
    };
    let json = serde_json::to_string_pretty(&file).expect("json") + "\n";
    std::fs::write(&path_file, json)
        .and_then(|()| std::fs::write(&report_path, format!("{plan_txt}{done}{}", checked.text)))
        .map_err(|e| UsageError::new(format!("cannot write {}: {e}", report_path.display())))?;
    Ok(PathRun {
        run_text: done,
        checked,
        gaps,
        secs,
    })
}

/// The records of an import that are candidate gaps of the model: those that need a model
/// step, then those not placed, each as (its kind, why).
pub fn gaps_of(trace: &sealcheck_recorder::import::ImportedTrace) -> Vec<(String, String)> {
    use sealcheck_recorder::import::DropReason;
    let needs = trace.drops.iter().filter_map(|d| match &d.reason {
        DropReason::NeedsModelStep(why) => {
            Some((d.kind.clone(), format!("needs a model step: {why}")))
        }
        _ => None,
    });
    let unplaced = trace.unplaced().into_iter().map(|d| {
        let why = match &d.reason {
            DropReason::Unplaced(why) => why.clone(),
            DropReason::OutOfScope(why)
            | DropReason::NeedsModelStep(why)
            | DropReason::Coarse(why) => (*why).to_string(),
            DropReason::OtherLoglet(l) => format!("about loglet {l}"),
            DropReason::AfterCut => "after the recorder's shutdown".into(),
        };
        (d.kind.clone(), format!("NOT PLACED: {why}"))
    });
    needs.chain(unplaced).collect()
}

/// The path-following verdict in one word: `follows`, `partly N`, `unexplained`,
/// `inconclusive`.
pub fn follow_word(v: &FollowVerdict) -> String {
    match v {
        FollowVerdict::Follows => "follows".into(),
        FollowVerdict::Partly { taken } => format!("partly {taken}"),
        FollowVerdict::Unexplained => "unexplained".into(),
        FollowVerdict::Inconclusive { .. } => "inconclusive".into(),
    }
}
