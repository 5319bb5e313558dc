//! The subcommands as library functions: each takes validated arguments, writes its report to
//! stdout (progress to stderr) and returns the process exit code.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use sealcheck_model::words::count;
use sealcheck_model::{Bug, HarnessKind, PropertyKind, SealModel};
use stateright::Model;

use crate::bench::BenchRow;
use crate::cli::{
    BenchArgs, BugArg, CheckArgs, EngineArg, FollowArgs, Format, HarnessArg, ReplayArgs,
    ScenarioArgs, SimulateArgs, ValidateArgs,
};
use crate::engine::{self, CheckOptions, Progress};
use crate::exit::{Exit, UsageError};
use crate::output::print_out;
use crate::report;
use crate::shortest;
use crate::spec::Spec;

/// Loads the spec argument, or the built-in scenario.
pub fn load_spec(path: Option<&Path>) -> anyhow::Result<Spec> {
    match path {
        None => Ok(Spec::builtin()),
        Some(p) => Spec::load(p).map_err(|e| UsageError::new(e.to_string()).into()),
    }
}

/// Loads a scenario and applies the command-line overrides.
pub fn load_scenario(args: &ScenarioArgs) -> anyhow::Result<Spec> {
    let mut spec = match &args.from_trace {
        Some(t) => {
            let reader = crate::trace_reader::TraceReader::open(t)
                .map_err(|e| UsageError::new(e.to_string()))?;
            let model = crate::validate::model_for(reader.header(), true);
            Spec {
                path: None,
                config: model.cfg,
                overrides: Vec::new(),
                from_trace: Some(t.clone()),
            }
        }
        None => load_spec(args.spec.as_deref())?,
    };
    let cfg = &mut spec.config;
    if let Some(h) = args.harness {
        cfg.harness.kind = match h {
            HarnessArg::SealOnce => HarnessKind::SealOnce,
            HarnessArg::Retry => HarnessKind::Retry,
            HarnessArg::WaitProvisioned => HarnessKind::WaitProvisioned,
        };
        spec.overrides
            .push(format!("--harness {}", cfg.harness.kind.name()));
    }
    if let Some(s) = args.stale_views {
        cfg.stale_views = s;
        spec.overrides.push(format!("--stale-views={s}"));
    }
    if let Some(n) = args.max_attempts {
        cfg.harness.max_attempts = n;
        spec.overrides.push(format!("--max-attempts {n}"));
    }
    if let Some(n) = args.appends {
        cfg.appends = n;
        spec.overrides.push(format!("--appends {n}"));
    }
    for b in &args.bugs {
        let bug = match b {
            BugArg::StoreAfterSeal => Bug::StoreAfterSeal,
            BugArg::SealOneConfirmation => Bug::SealOneConfirmation,
            BugArg::AckBeforeQuorum => Bug::AckBeforeQuorum,
            BugArg::SealWithoutDrain => Bug::SealWithoutDrain,
            BugArg::ProvisioningWritable => Bug::ProvisioningWritable,
        };
        if !cfg.bugs.contains(&bug) {
            cfg.bugs.push(bug);
        }
        spec.overrides.push(format!("--bug {}", bug.name()));
    }
    if !spec.overrides.is_empty() {
        cfg.validate().map_err(|e| {
            UsageError::new(format!(
                "{} with {}: {e}",
                spec.display_name(),
                spec.overrides.join(" ")
            ))
        })?;
    }
    Ok(spec)
}

fn model_of(spec: &Spec) -> anyhow::Result<SealModel> {
    spec.config
        .clone()
        .into_model()
        .map_err(|e| UsageError::new(format!("{}: {e}", spec.display_name())).into())
}

fn progress_printer(quiet: bool) -> impl FnMut(Progress) {
    move |p: Progress| {
        if quiet {
            return;
        }
        let secs = p.elapsed.as_secs_f64().max(1e-9);
        let queued = p
            .queued
            .map(|q| format!(", {q} queued"))
            .unwrap_or_default();
        let rss = p
            .rss
            .map(|r| format!(", rss {}", crate::bounds::human_size(r)))
            .unwrap_or_default();
        eprintln!(
            "  ... {:.0} s: {} states, {} unique, depth {}{queued}, {:.0} unique/s{rss}",
            p.elapsed.as_secs_f64(),
            p.states,
            p.unique,
            p.depth,
            p.unique as f64 / secs
        );
    }
}

/// `sealcheck check`.
pub fn check(args: &CheckArgs) -> anyhow::Result<Exit> {
    let spec = load_scenario(&args.scenario)?;
    let model = model_of(&spec)?;
    let mut opts = args.options().map_err(UsageError::new)?;
    let timely = args.engine == EngineArg::Timely;
    if timely {
        crate::timely::validate(&opts, &model).map_err(UsageError::new)?;
    } else {
        opts.validate(&model)
            .map_err(|e| UsageError::new(e.to_string()))?;
    }
    let plan = checkpoint_plan(args, &spec)?;
    let cluster = if timely {
        if let Some(n) = args.local_processes {
            if let Some(plan) = &plan {
                let workers = args.workers.unwrap_or(1);
                crate::checkpoint::timely::check_local(plan, &model, opts.symmetry, n, workers)
                    .map_err(|e| UsageError::new(e.to_string()))?;
            }
            return crate::timely::launch_local(n);
        }
        Some(
            crate::timely::cluster(
                args.workers,
                args.processes,
                args.process,
                args.hostfile.as_deref(),
                args.secret_file.as_deref(),
            )
            .map_err(UsageError::new)?,
        )
    } else {
        if args.workers.is_some()
            || args.processes.is_some()
            || args.process.is_some()
            || args.hostfile.is_some()
            || args.secret_file.is_some()
            || args.local_processes.is_some()
        {
            return Err(UsageError::new(
                "-w, -n, -p, -h, --secret-file and --local-processes need --engine timely",
            )
            .into());
        }
        None
    };
    // Ctrl-C stops the run, which then reports what it explored (INCOMPLETE); a second Ctrl-C
    // ends the process at once.
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            std::process::exit(crate::exit::INTERRUPTED);
        }
        eprintln!("sealcheck: interrupted; stopping and reporting what was explored (Ctrl-C again to quit now)");
    });
    opts.interrupt = Some(interrupt);
    let report = match &cluster {
        Some(cluster) => {
            crate::timely::check_with_checkpoints(&model, &opts, cluster, args.quiet, plan.as_ref())
                .map_err(|e| UsageError::new(format!("the timely engine could not run: {e}")))?
        }
        None if plan.is_some() => {
            let mut progress = progress_printer(args.quiet);
            let plan = plan.as_ref().expect("checked");
            crate::checkpoint::check(&model, &opts, plan, &mut progress)
                .map_err(|e| UsageError::new(e.to_string()))?
        }
        None => {
            let mut progress = progress_printer(args.quiet);
            engine::check(&model, &opts, &mut progress)
        }
    };
    let out = match args.format {
        Format::Text => report::text(&spec, &report, args.examples),
        Format::Json => report::json(&spec, &report),
    };
    print_out(&out)?;
    if let Some(path) = &args.emit_trace {
        emit_trace(&spec, &model, &report, path, args.emit_property.as_deref())?;
    }
    Ok(report.exit_code())
}

/// The checkpoint plan of `check --checkpoint DIR` / `--resume DIR`, if either is given.
fn checkpoint_plan(
    args: &CheckArgs,
    spec: &Spec,
) -> anyhow::Result<Option<crate::checkpoint::Plan>> {
    let Some(dir) = args.checkpoint.clone().or_else(|| args.resume.clone()) else {
        return Ok(None);
    };
    if let (Some(c), Some(r)) = (&args.checkpoint, &args.resume) {
        if c != r {
            return Err(UsageError::new(
                "--checkpoint and --resume name different directories: resume writes its checkpoints where it resumed from",
            )
            .into());
        }
    }
    Ok(Some(crate::checkpoint::Plan {
        dir,
        resume: args.resume.is_some(),
        every: std::time::Duration::from_secs_f64(args.checkpoint_every * 60.0),
        identity: crate::checkpoint::Identity::new(
            &spec.display_name(),
            &spec.config,
            &spec.overrides,
            args.max_depth,
        ),
        quiet: args.quiet,
    }))
}

/// `sealcheck replay`.
pub fn replay(args: &ReplayArgs) -> anyhow::Result<Exit> {
    let spec = load_scenario(&args.scenario)?;
    let model = model_of(&spec)?;
    let indices =
        shortest::parse_path(&args.path).map_err(|e| UsageError::new(format!("--path: {e}")))?;
    let states = shortest::states_along(&model, &indices)
        .map_err(|e| UsageError::new(format!("--path {}: {e}", args.path)))?;
    let trail = engine::trail_from_path(&model, &args.path)
        .map_err(|e| UsageError::new(format!("--path {}: {e}", args.path)))?;
    let last = states.last().expect("at least the init state");
    let mut acts = Vec::new();
    model.actions(last, &mut acts);
    let terminal = acts.is_empty();
    let mut failed = false;
    let mut lines = Vec::new();
    let mut json_props = Vec::new();
    for p in model.property_list() {
        let (verdict, at) = match p.kind {
            PropertyKind::Always => match states.iter().position(|s| !(p.condition)(&model, s)) {
                Some(i) => {
                    failed = true;
                    ("violated", Some(i))
                }
                None => ("holds along the path", None),
            },
            PropertyKind::Sometimes => match states.iter().position(|s| (p.condition)(&model, s)) {
                Some(i) => ("reached", Some(i)),
                None => ("not reached on this path", None),
            },
            PropertyKind::Eventually => {
                if states.iter().any(|s| (p.condition)(&model, s)) {
                    ("satisfied on this path", None)
                } else if terminal {
                    failed = true;
                    (
                        "violated: the path ends in a terminal state without it",
                        None,
                    )
                } else {
                    ("not yet satisfied (the path is not complete)", None)
                }
            }
        };
        let at_text = at.map(|i| format!(" at step {i}")).unwrap_or_default();
        lines.push(format!(
            "  {:<10} {}: {verdict}{at_text}",
            p.kind.name(),
            p.name
        ));
        json_props.push(serde_json::json!({
            "name": p.name, "kind": p.kind, "verdict": verdict, "step": at,
        }));
    }
    let out = match args.format {
        Format::Text => {
            let mut out = format!(
                "sealcheck replay: {} ({}), path {} ({}{})\n",
                spec.config.name,
                spec.display_name(),
                trail.path,
                count(trail.steps.len(), "step", "steps"),
                if terminal {
                    ", ends in a terminal state"
                } else {
                    ""
                }
            );
            report::write_trail(&mut out, &trail);
            out.push_str("properties along the path:\n");
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
            out
        }
        Format::Json => serde_json::to_string_pretty(&serde_json::json!({
            "spec": spec.display_name(),
            "path": trail.path,
            "terminal": terminal,
            "steps": trail.steps,
            "final_state": trail.final_state,
            "properties": json_props,
        }))?,
    };
    print_out(&out)?;
    Ok(if failed { Exit::Violated } else { Exit::Holds })
}

/// `sealcheck properties`.
pub fn properties(args: &ScenarioArgs) -> anyhow::Result<Exit> {
    let spec = load_scenario(args)?;
    let model = model_of(&spec)?;
    let mut out = format!(
        "properties of {} ({}):\n",
        spec.config.name,
        spec.display_name()
    );
    for p in model.property_list() {
        out.push_str(&format!(
            "  {:<10} {}\n             {}\n",
            p.kind.name(),
            p.name,
            p.about
        ));
    }
    print_out(&out)?;
    Ok(Exit::Holds)
}

/// `sealcheck bench`: runs each scenario with each strategy and thread count, every
/// configuration in a fresh child process so that its peak memory is its own.
pub fn bench(args: &BenchArgs) -> anyhow::Result<Exit> {
    if args.child {
        return bench_child(args);
    }
    let specs: Vec<PathBuf> = if args.specs.is_empty() {
        vec![
            PathBuf::from("-"),
            PathBuf::from("specs/bench-five-servers.toml"),
        ]
    } else {
        args.specs.clone()
    };
    for s in &specs {
        if s.as_os_str() != "-" {
            let spec = Spec::load(s).map_err(|e| UsageError::new(e.to_string()))?;
            model_of(&spec)?;
        }
    }
    let exe = std::env::current_exe().context("cannot find the sealcheck executable")?;
    let mut rows: Vec<BenchRow> = Vec::new();
    for spec in &specs {
        for &s in &args.strategies {
            for &threads in &args.threads {
                let mut best: Option<BenchRow> = None;
                for _ in 0..args.runs.max(1) {
                    let strategy = s.to_possible_value().expect("named").get_name().to_string();
                    let out = std::process::Command::new(&exe)
                        .arg("bench")
                        .arg(spec)
                        .args(["--child", "--strategies", &strategy, "--threads"])
                        .arg(threads.to_string())
                        .stderr(std::process::Stdio::inherit())
                        .output()
                        .context("cannot run a bench child process")?;
                    if !out.status.success() {
                        anyhow::bail!("bench child for {} failed: {}", spec.display(), out.status);
                    }
                    let row: BenchRow = serde_json::from_slice(&out.stdout)
                        .context("bench child printed no row")?;
                    eprintln!(
                        "  {} {} x{}: {} unique in {:.2} s",
                        row.spec, row.strategy, row.threads, row.unique_states, row.seconds
                    );
                    if best.as_ref().is_none_or(|b| row.seconds < b.seconds) {
                        best = Some(row);
                    }
                }
                rows.extend(best);
            }
        }
    }
    let out = match args.format {
        Format::Json => serde_json::to_string_pretty(&rows)?,
        Format::Text => {
            let mut out = String::from(
                "| scenario | strategy | threads | unique states | generated | seconds | unique states/s | bytes/unique state |\n|---|---|---|---|---|---|---|---|\n",
            );
            for r in &rows {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {} |\n",
                    r.spec,
                    r.strategy,
                    r.threads,
                    r.unique_states,
                    r.states,
                    r.seconds,
                    r.unique_per_sec,
                    r.bytes_per_state
                        .map(|b| format!("{b:.0}"))
                        .unwrap_or_else(|| "n/a".into())
                ));
            }
            out
        }
    };
    print_out(&out)?;
    Ok(Exit::Holds)
}

fn bench_child(args: &BenchArgs) -> anyhow::Result<Exit> {
    let spec = match args.specs.first() {
        Some(p) if p.as_os_str() != "-" => load_spec(Some(p))?,
        _ => Spec::builtin(),
    };
    let model = model_of(&spec)?;
    let opts = CheckOptions {
        strategy: crate::cli::strategy(args.strategies[0], 0),
        threads: args.threads[0],
        shortest_budget: 0,
        symmetry: args.symmetry,
        ..CheckOptions::default()
    };
    opts.validate(&model)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let before = crate::bounds::rss_bytes();
    let start = Instant::now();
    let mut quiet = |_p: Progress| {};
    let report = engine::check(&model, &opts, &mut quiet);
    let secs = start.elapsed().as_secs_f64();
    let bytes = match (before, crate::bounds::peak_rss_bytes()) {
        (Some(b), Some(p)) if report.unique_states > 0 && p > b => {
            Some((p - b) as f64 / report.unique_states as f64)
        }
        _ => None,
    };
    let row = BenchRow {
        spec: spec.config.name.clone(),
        strategy: format!(
            "{}{}",
            opts.strategy.name(),
            if opts.symmetry { " + symmetry" } else { "" }
        ),
        threads: opts.threads,
        unique_states: report.unique_states,
        states: report.states,
        seconds: secs,
        unique_per_sec: report.unique_states as f64 / secs.max(1e-9),
        bytes_per_state: bytes,
    };
    print_out(&serde_json::to_string(&row)?)?;
    Ok(Exit::Holds)
}

/// Writes the trail of a property's counterexample (or example) as a trace.
fn emit_trace(
    spec: &Spec,
    model: &SealModel,
    report: &engine::CheckReport,
    path: &Path,
    property: Option<&str>,
) -> anyhow::Result<()> {
    let chosen = match property {
        Some(name) => report
            .properties
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| UsageError::new(format!("--emit-property: no property named `{name}`")))?,
        None => report
            .properties
            .iter()
            .find(|p| p.failure && p.trail.is_some())
            .ok_or_else(|| {
                UsageError::new(
                    "--emit-trace: no property failed, so there is no counterexample to write (name one with --emit-property)",
                )
            })?,
    };
    let trail = chosen.trail.as_ref().ok_or_else(|| {
        UsageError::new(format!(
            "--emit-trace: `{}` has no counterexample or example in this run",
            chosen.name
        ))
    })?;
    let (items, last) = crate::generate::items_of_path(model, &trail.actions, false);
    let terminal = crate::generate::is_terminal(model, &last);
    let header = crate::trace_reader::Header::generated(
        spec.config.clone(),
        &format!(
            "sealcheck check{} --emit-trace: \"{}\", path {}",
            spec.command_arg(),
            chosen.name,
            trail.path
        ),
        terminal,
    );
    let items: Vec<(Option<f64>, crate::trace_reader::Item)> = items
        .into_iter()
        .enumerate()
        .map(|(i, it)| (Some(i as f64), it))
        .collect();
    crate::trace_reader::write_trace(path, &header, &items)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "wrote {} ({}) for \"{}\"",
        path.display(),
        count(items.len(), "event", "events"),
        chosen.name
    );
    Ok(())
}

/// `sealcheck simulate`.
pub fn simulate(args: &SimulateArgs) -> anyhow::Result<Exit> {
    let spec = load_scenario(&args.scenario)?;
    let model = model_of(&spec)?;
    for h in &args.hide {
        if !sealcheck_model::observable::Event::KINDS.contains(&h.as_str()) {
            return Err(UsageError::new(format!(
                "--hide: unknown event kind `{h}`; known: {}",
                sealcheck_model::observable::Event::KINDS.join(", ")
            ))
            .into());
        }
    }
    if args.out.exists() && !args.out.is_dir() {
        return Err(UsageError::new(format!(
            "--out {}: exists and is not a directory",
            args.out.display()
        ))
        .into());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| {
        UsageError::new(format!("--out {}: cannot create: {e}", args.out.display()))
    })?;
    let mut rng = crate::generate::Rng::new(args.seed);
    for n in 0..args.traces {
        let (actions, terminal) = crate::generate::random_walk(&model, &mut rng, 10_000);
        let (mut items, _) = crate::generate::items_of_path(&model, &actions, args.observe);
        let mut header = crate::trace_reader::Header::generated(
            spec.config.clone(),
            &format!(
                "sealcheck simulate{} --seed {} (trace {n})",
                spec.command_arg(),
                args.seed
            ),
            terminal,
        );
        crate::generate::hide_kinds(&mut header, &mut items, &args.hide);
        let items: Vec<_> = items
            .into_iter()
            .enumerate()
            .map(|(i, it)| (Some(i as f64), it))
            .collect();
        let file = args.out.join(format!("trace-{n:04}.jsonl"));
        crate::trace_reader::write_trace(&file, &header, &items)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    eprintln!(
        "wrote {} to {}",
        count(args.traces, "trace", "traces"),
        args.out.display()
    );
    Ok(Exit::Holds)
}

/// `sealcheck follow`: the verdicts of a directory of logs as they are written
/// ([`crate::watch`]); stops on Ctrl-C or when idle.
pub fn follow(args: &FollowArgs) -> anyhow::Result<Exit> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    let opts = crate::watch::FollowOptions {
        interval: std::time::Duration::from_secs_f64(args.interval),
        exit_when_idle: args.exit_when_idle.map(std::time::Duration::from_secs_f64),
        validate: crate::validate::ValidateOptions {
            max_frontier: args.max_frontier,
            timeout: args.timeout.map(std::time::Duration::from_secs_f64),
            max_memory_mib: Some(args.max_memory),
            progress: false,
            ..Default::default()
        },
        json: args.format == Format::Json,
        close_after: (args.close_after > 0.0)
            .then(|| std::time::Duration::from_secs_f64(args.close_after)),
        sql: match &args.sql {
            Some(address) => {
                let root = sealcheck_recorder::record::project_root(&std::env::current_dir()?);
                let restatectl =
                    sealcheck_recorder::binaries::find_restatectl(&root, args.restatectl.clone())
                        .map_err(|e| UsageError::new(format!("follow --sql: {e}")))?;
                Some(crate::watch::SqlSource {
                    restatectl,
                    address: address.clone(),
                })
            }
            None => None,
        },
    };
    let mut print = |line: &str| {
        use std::io::Write;
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        let _ = writeln!(lock, "{line}");
        let _ = lock.flush();
    };
    crate::watch::follow(&args.dir, &opts, stop, &mut print)
        .map_err(|e| UsageError::new(format!("follow: {e}")).into())
}

/// `sealcheck validate`.
pub fn validate(args: &ValidateArgs) -> anyhow::Result<Exit> {
    // Paths that cannot be read (a missing argument, a sub-directory that cannot be listed)
    // stay in their place and are reported as unreadable; the others are validated, runs
    // (directories holding run.json) as runs.
    let inputs = crate::input::walk_inputs(&args.traces);
    if inputs.is_empty() {
        return Err(UsageError::new("no trace files (*.jsonl) or runs (run.json) found").into());
    }
    // --timeout, --threads and --max-memory were range-checked when parsed (crate::limits).
    let timeout = args.timeout.map(std::time::Duration::from_secs_f64);
    let opts = crate::validate::ValidateOptions {
        max_hidden: args.max_hidden,
        max_frontier: args.max_frontier,
        permissive: !args.strict,
        depth_first: !args.breadth_first,
        timeout,
        max_memory_mib: Some(args.max_memory),
        progress: !args.quiet,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let results = pool.install(|| crate::run::validate_inputs(&inputs, &opts));
    let out = match args.format {
        Format::Text => crate::validate::report::text(&results),
        Format::Json => crate::validate::report::json(&results),
    };
    print_out(&out)?;
    if let Some(j) = &args.junit {
        std::fs::write(j, crate::validate::report::junit(&results))
            .with_context(|| format!("cannot write {}", j.display()))?;
    }
    Ok(crate::validate::report::exit_code(&results))
}
