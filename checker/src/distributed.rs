//! Glue between `sealcheck check --engine timely` and the `sealcheck-distributed` crate: the
//! cluster from the command line, the launcher of `--local-processes`, and the outcome turned
//! into the same [`CheckReport`] (verdicts, shortest trails, exit codes) as the default engine.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use sealcheck_distributed::{Bounds, Cluster, LevelProgress, Outcome, Stop};
use sealcheck_model::SealModel;

use crate::engine::{self, CheckOptions, CheckReport, Incomplete, Strategy};
use crate::shortest;

/// The cluster of `-w`, `-n`, `-p`, `-h` (timely's flags). Errors are usage errors.
pub fn cluster(
    workers: Option<usize>,
    processes: Option<usize>,
    process: Option<usize>,
    hostfile: Option<&Path>,
) -> Result<Cluster, String> {
    let workers = workers.unwrap_or(1);
    let processes = processes.unwrap_or(1);
    let process = process.unwrap_or(0);
    if process >= processes {
        return Err(format!(
            "-p {process} names no process: with -n {processes} the indices are 0 to {}",
            processes - 1
        ));
    }
    let addresses = if processes > 1 {
        match hostfile {
            Some(h) => Cluster::read_hostfile(h, processes)?,
            // timely's default without a hostfile.
            None => (0..processes)
                .map(|i| format!("localhost:{}", 2101 + i))
                .collect(),
        }
    } else {
        Vec::new()
    };
    Ok(Cluster {
        workers,
        processes,
        process,
        addresses,
    })
}

/// Checks that the options of a check make sense with `--engine timely`.
pub fn validate(opts: &CheckOptions) -> Result<(), String> {
    if opts.strategy != Strategy::Bfs {
        return Err("--engine timely is breadth-first only: drop --strategy".into());
    }
    if opts.symmetry {
        return Err("--engine timely does not support --symmetry".into());
    }
    if opts.max_depth.is_some() {
        return Err("--engine timely does not support --max-depth".into());
    }
    if opts.threads != 1 {
        return Err("--engine timely takes its worker threads from -w, not --threads".into());
    }
    Ok(())
}

/// One progress line per level and process.
pub fn progress_line(p: &LevelProgress) -> String {
    let rss = p.rss.unwrap_or(0);
    let per_state = if p.process_unique > 0 {
        format!("{:.0}", rss as f64 / p.process_unique as f64)
    } else {
        "-".into()
    };
    format!(
        "  ... process {} level {}: {:.1} s, {} states, {} unique, frontier {}; this process: {} unique, rss {}, {per_state} bytes/unique state",
        p.process,
        p.level,
        p.elapsed.as_secs_f64(),
        p.states,
        p.unique,
        p.frontier,
        p.process_unique,
        crate::bounds::human_size(rss),
    )
}

/// Runs the timely engine and builds the report (same verdict rules as [`engine::check`]).
pub fn check(
    model: &SealModel,
    opts: &CheckOptions,
    cluster: &Cluster,
    quiet: bool,
) -> Result<CheckReport, String> {
    let bounds = Bounds {
        max_states: opts.max_states,
        timeout: opts.timeout,
        max_memory: opts.max_memory,
        interrupt: opts.interrupt.clone(),
    };
    let progress: Option<sealcheck_distributed::ProgressFn> = if quiet {
        None
    } else {
        // As the default engine: nothing for runs shorter than a second.
        Some(Arc::new(|p: &LevelProgress| {
            if p.elapsed >= std::time::Duration::from_secs(1) {
                eprintln!("{}", progress_line(p))
            }
        }))
    };
    let outcome = sealcheck_distributed::check(model, cluster, &bounds, progress)?;
    Ok(report(model, cluster, &outcome))
}

/// Turns an outcome into a [`CheckReport`].
pub fn report(model: &SealModel, cluster: &Cluster, o: &Outcome) -> CheckReport {
    let mut incomplete = o.stopped.map(|s| match s {
        Stop::States(n) => Incomplete::StateBound(n as usize),
        Stop::Timeout(ms) => Incomplete::Timeout(ms),
        Stop::Memory { rss, limit } => Incomplete::Memory { rss, limit },
        Stop::Interrupted => Incomplete::Interrupted,
    });
    if o.discoveries.len() == model.property_list().len() {
        // Every property has its verdict: nothing a longer run could change.
        incomplete = None;
    }
    let properties = engine::property_results(model, incomplete.is_some(), |name| {
        let (_, indices) = o.discoveries.iter().find(|(n, _)| *n == name)?;
        let actions =
            shortest::decode(model, indices).expect("a path the timely engine found replays");
        // Every level before the discovery's was explored completely: the path is shortest.
        Some((actions, true))
    });
    let workers = sealcheck_model::words::count(cluster.workers, "worker", "workers");
    CheckReport {
        scenario: model.cfg.name.clone(),
        strategy: Strategy::Bfs,
        threads: cluster.peers(),
        symmetry: false,
        incomplete,
        unique_states: o.unique as usize,
        states: o.states as usize,
        max_depth: o.max_depth,
        elapsed_ms: o.elapsed.as_millis() as u64,
        properties,
        shortest_search: None,
        engine: Some(if cluster.processes > 1 {
            format!(
                "timely dataflow, {} processes x {workers} (this is process {})",
                cluster.processes, cluster.process
            )
        } else {
            format!("timely dataflow, 1 process x {workers}")
        }),
    }
}

/// Free TCP ports on 127.0.0.1 (bound, read, released: another program could take one in
/// between, and then the run fails to connect and says so).
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// `--local-processes N`: runs this same command as N processes on 127.0.0.1 (a temporary
/// hostfile with free ports), with process 0's standard output as this process's, and the
/// others' discarded (every process computes the same report). Returns the exit code of
/// process 0, or an error if the processes disagree or one dies.
pub fn launch_local(n: usize) -> anyhow::Result<u8> {
    let ports = free_ports(n)?;
    let dir = std::env::temp_dir().join(format!("sealcheck-hosts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let hostfile = dir.join("hosts");
    let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    std::fs::write(&hostfile, text)?;
    let exe = std::env::current_exe()?;
    let mut args: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--local-processes" {
            it.next();
        } else if !a.starts_with("--local-processes=") {
            args.push(a);
        }
    }
    let mut children = Vec::new();
    for i in 0..n {
        let mut c = Command::new(&exe);
        c.args(&args)
            .args(["-n", &n.to_string(), "-p", &i.to_string(), "-h"])
            .arg(&hostfile)
            .stdin(Stdio::null());
        if i > 0 {
            c.stdout(Stdio::null());
        }
        children.push(c.spawn()?);
    }
    let mut codes = Vec::new();
    for mut c in children {
        codes.push(c.wait()?.code());
    }
    let _ = std::fs::remove_dir_all(&dir);
    match codes[0] {
        Some(code) if codes.iter().all(|c| *c == Some(code)) => Ok(code as u8),
        _ => anyhow::bail!(
            "the {n} local processes ended differently (exit codes {codes:?}; None is a signal)"
        ),
    }
}
