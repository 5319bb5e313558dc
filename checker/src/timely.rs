//! Glue between `sealcheck check --engine timely` (and `bench-distributed`) and the
//! `sealcheck-distributed` crate: the
//! cluster from the command line, the launcher of `--local-processes`, and the outcome turned
//! into the same [`CheckReport`] (verdicts, shortest trails, exit codes) as the default engine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sealcheck_distributed::{Bounds, Cluster, LevelProgress, Outcome, Secret, Stop};
use sealcheck_model::SealModel;

use crate::engine::{self, CheckOptions, CheckReport, Incomplete, Strategy};
use crate::exit::Exit;
use crate::shortest;

/// The cluster of `-w`, `-n`, `-p`, `-h` (timely's flags) and `--secret-file` (required with
/// several processes). Errors are usage errors.
pub fn cluster(
    workers: Option<usize>,
    processes: Option<usize>,
    process: Option<usize>,
    hostfile: Option<&Path>,
    secret_file: Option<&Path>,
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
    let secret = match (processes > 1, secret_file) {
        (true, Some(f)) => Some(Secret::read_file(f)?),
        (true, None) => return Err(format!(
            "-n {processes} needs --secret-file FILE: the same secret for every process, in a file only its owner can read (e.g. `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > FILE; chmod 600 FILE`)"
        )),
        (false, _) => None,
    };
    Ok(Cluster {
        workers,
        processes,
        process,
        addresses,
        secret,
    })
}

/// Checks that the options of a check make sense with `--engine timely` (which replaces
/// [`CheckOptions::validate`] for this engine): breadth-first only, worker threads from `-w`,
/// and `--symmetry` only where the scenario's log servers are interchangeable.
pub fn validate(opts: &CheckOptions, model: &SealModel) -> Result<(), String> {
    if opts.strategy != Strategy::Bfs {
        return Err("--engine timely is breadth-first only: drop --strategy".into());
    }
    if opts.symmetry && !model.symmetric() {
        return Err(engine::OptionsError::SymmetryUnsound.to_string());
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
    check_with_checkpoints(model, opts, cluster, quiet, None)
}

/// [`check`] with the checkpoints of `plan` (`--checkpoint DIR`, `--resume DIR`): this
/// process's cuts go to `DIR/process-<I>/` ([`crate::checkpoint::timely`]). A checkpoint of
/// another run, or one no level of which every process completed, is an error.
pub fn check_with_checkpoints(
    model: &SealModel,
    opts: &CheckOptions,
    cluster: &Cluster,
    quiet: bool,
    plan: Option<&crate::checkpoint::Plan>,
) -> Result<CheckReport, String> {
    let checkpoints = match plan {
        Some(plan) => {
            let store =
                crate::checkpoint::timely::TimelyStore::open(plan, model, opts.symmetry, cluster)
                    .map_err(|e| e.to_string())?;
            Some(sealcheck_distributed::checkpoint::Checkpointing {
                store: Arc::new(store),
                every: plan.every,
                resume: plan.resume,
                elapsed_before: Duration::ZERO,
            })
        }
        None => None,
    };
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
    let outcome = sealcheck_distributed::check_checkpointed(
        model,
        cluster,
        &bounds,
        opts.symmetry,
        progress,
        checkpoints,
    )?;
    Ok(report(model, cluster, opts.symmetry, &outcome))
}

/// Turns an outcome into a [`CheckReport`] (`symmetry`: whether the run used symmetry
/// reduction).
pub fn report(model: &SealModel, cluster: &Cluster, symmetry: bool, o: &Outcome) -> CheckReport {
    let mut incomplete = o.stopped.map(|s| match s {
        Stop::States(n) => Incomplete::StateBound(n as usize),
        Stop::Timeout(ms) => Incomplete::Timeout(ms),
        Stop::Memory { rss, limit } => Incomplete::Memory { rss, limit },
        Stop::Interrupted => Incomplete::Interrupted,
        Stop::PeerLost(p) => Incomplete::PeerLost(p),
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
        symmetry,
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

/// A directory only this user can enter, created fresh for one run (never an existing path,
/// never through a symbolic link: creation fails if the name exists) and removed, with its
/// files, when dropped.
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// A new directory `sealcheck-TAG-PID-RANDOM` in the temporary directory, mode 0700.
    pub fn new(tag: &str) -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        for _ in 0..16 {
            let name = format!(
                "sealcheck-{tag}-{}-{}",
                std::process::id(),
                sealcheck_distributed::hex(&sealcheck_distributed::random_bytes(8)?)
            );
            let path = std::env::temp_dir().join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(PrivateDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "cannot create a fresh temporary directory",
        ))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a new file `name` (mode 0600, never an existing file) in the directory.
    pub fn write_new(&self, name: &str, text: &str) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.0.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?
            .write_all(text.as_bytes())?;
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// For `n` processes on 127.0.0.1 with free ports, in a new private directory named after
/// `tag`: the directory (removed when dropped), its hostfile and its secret file (`secret`,
/// a fresh secret).
fn loopback_cluster_files(n: usize, tag: &str) -> std::io::Result<(PrivateDir, PathBuf, PathBuf)> {
    let ports = free_ports(n)?;
    let dir = PrivateDir::new(tag)?;
    let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    let hostfile = dir.write_new("hosts", &text)?;
    let secret = dir.path().join("secret");
    Secret::generate()?.write_new_file(&secret)?;
    Ok((dir, hostfile, secret))
}

/// Kills and waits for every child still running.
fn stop_children(children: &mut [Child]) {
    for c in children.iter_mut() {
        let _ = c.kill();
    }
    for c in children.iter_mut() {
        let _ = c.wait();
    }
}

/// The flag the first Ctrl-C or SIGTERM sets, for a command that starts child processes and
/// must stop them (and remove its temporary files) when it is stopped.
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}

/// Waits for `children`, whose standard output is piped and short (one line: a pipe's buffer
/// holds it until it is read here); on the first Ctrl-C or SIGTERM (`stop`) kills them and
/// returns an error. Returns each child's exit code (`None`: ended by a signal) and output.
fn outputs_of(
    mut children: Vec<Child>,
    stop: &AtomicBool,
) -> anyhow::Result<Vec<(Option<i32>, Vec<u8>)>> {
    use std::io::Read;
    let Some(codes) = wait_children(&mut children, stop)? else {
        anyhow::bail!(
            "interrupted: the {} child processes were stopped",
            children.len()
        );
    };
    let mut out = Vec::new();
    for (c, code) in children.iter_mut().zip(codes) {
        let mut text = Vec::new();
        if let Some(mut s) = c.stdout.take() {
            s.read_to_end(&mut text)?;
        }
        out.push((code, text));
    }
    Ok(out)
}

/// Waits for every child; on the first Ctrl-C or SIGTERM (`stop`), kills them instead. Returns
/// the exit codes (`None`: ended by a signal), or `None` if stopped.
fn wait_children(
    children: &mut [Child],
    stop: &AtomicBool,
) -> std::io::Result<Option<Vec<Option<i32>>>> {
    let mut codes: Vec<Option<Option<i32>>> = vec![None; children.len()];
    while codes.iter().any(Option::is_none) {
        if stop.load(Ordering::Relaxed) {
            stop_children(children);
            return Ok(None);
        }
        for (c, code) in children.iter_mut().zip(codes.iter_mut()) {
            if code.is_none() {
                if let Some(status) = c.try_wait()? {
                    *code = Some(status.code());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Some(codes.into_iter().flatten().collect()))
}

/// `--local-processes N`: runs this same command as N processes on 127.0.0.1 (a hostfile with
/// free ports and a fresh secret, in a private temporary directory), with process 0's standard
/// output as this process's, and the others' discarded (every process computes the same
/// report). Returns the exit code of process 0, or an error if the processes disagree or one
/// dies. The first Ctrl-C or SIGTERM kills the processes; the directory is removed on every
/// way out.
pub fn launch_local(n: usize) -> anyhow::Result<Exit> {
    let (dir, hostfile, secret) = loopback_cluster_files(n, "hosts")?;
    let stop = stop_flag();
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
            .arg("--secret-file")
            .arg(&secret)
            .stdin(Stdio::null());
        if i > 0 {
            c.stdout(Stdio::null());
        }
        match c.spawn() {
            Ok(child) => children.push(child),
            Err(e) => {
                stop_children(&mut children);
                return Err(e.into());
            }
        }
    }
    let codes = wait_children(&mut children, &stop);
    drop(dir);
    let Some(codes) = codes? else {
        anyhow::bail!("interrupted: the {n} local processes were stopped");
    };
    match codes[0] {
        Some(code) if codes.iter().all(|c| *c == Some(code)) => Exit::from_code(code)
            .ok_or_else(|| anyhow::anyhow!("the {n} local processes ended with exit code {code}")),
        _ => anyhow::bail!(
            "the {n} local processes ended differently (exit codes {codes:?}; None is a signal)"
        ),
    }
}

/// One process's measurement in `bench-distributed`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildRow {
    /// The process index.
    pub process: usize,
    /// Unique states, all processes.
    pub unique: u64,
    /// Generated states, all processes.
    pub states: u64,
    /// Seconds from the start of the check to its end in this process (connection set-up
    /// excluded).
    pub seconds: f64,
    /// Peak resident memory of this process minus its resident memory before the check.
    pub rss_growth: u64,
    /// Bytes of this process's partitions of the visited set.
    pub visited_bytes: u64,
    /// Whether the run was complete.
    pub complete: bool,
}

/// A row of the `bench-distributed` table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DistributedRow {
    /// `timely` or the default engine's strategy.
    pub engine: String,
    /// Processes (1 for the default engine).
    pub processes: usize,
    /// Unique states.
    pub unique_states: u64,
    /// Generated states.
    pub states: u64,
    /// Wall-clock seconds (the slowest process).
    pub seconds: f64,
    /// Unique states per second.
    pub unique_per_sec: f64,
    /// Peak-RSS growth of all processes, per unique state.
    pub bytes_per_state: Option<f64>,
    /// The visited sets alone, per unique state (timely only).
    pub visited_bytes_per_state: Option<f64>,
}

/// `sealcheck bench-distributed`.
pub fn bench(args: &crate::cli::BenchDistributedArgs) -> anyhow::Result<Exit> {
    let spec =
        crate::spec::Spec::load(&args.spec).map_err(|e| crate::exit::UsageError(e.to_string()))?;
    let model = spec
        .config
        .clone()
        .into_model()
        .map_err(|e| crate::exit::UsageError(format!("{}: {e}", spec.display_name())))?;
    if let Some(child) = &args.child {
        return bench_child(&model, child, args.symmetry);
    }
    if args.symmetry && !model.symmetric() {
        return Err(
            crate::exit::UsageError(engine::OptionsError::SymmetryUnsound.to_string()).into(),
        );
    }
    // Ctrl-C or SIGTERM stops the measured processes; the temporary files go with them.
    let stop = stop_flag();
    let mut rows = Vec::new();
    for &n in &args.processes {
        rows.push(bench_timely(args, n, &stop)?);
    }
    for &s in &args.baseline {
        rows.push(bench_baseline(args, s, &stop)?);
    }
    let out = match args.format {
        crate::cli::Format::Json => serde_json::to_string_pretty(&rows)?,
        crate::cli::Format::Text => bench_table(&spec.display_name(), &rows),
    };
    crate::output::write_stdout(&format!("{out}\n"))?;
    Ok(Exit::Holds)
}

/// `bench-distributed --child P N HOSTFILE`: one process of a measured cluster, which prints
/// its [`ChildRow`].
fn bench_child(model: &SealModel, child: &[String], symmetry: bool) -> anyhow::Result<Exit> {
    let bad = || crate::exit::UsageError("--child P N HOSTFILE".into());
    let p: usize = child[0].parse().map_err(|_| bad())?;
    let n: usize = child[1].parse().map_err(|_| bad())?;
    let hostfile = Path::new(&child[2]);
    // The launcher writes the secret next to the hostfile.
    let secret = hostfile.with_file_name("secret");
    let cluster = cluster(Some(1), Some(n), Some(p), Some(hostfile), Some(&secret))
        .map_err(crate::exit::UsageError)?;
    let before = crate::bounds::rss_bytes().unwrap_or(0);
    let o = sealcheck_distributed::check(model, &cluster, &Bounds::default(), symmetry, None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let peak = crate::bounds::peak_rss_bytes().unwrap_or(0);
    let row = ChildRow {
        process: p,
        unique: o.unique,
        states: o.states,
        seconds: o.elapsed.as_secs_f64(),
        rss_growth: peak.saturating_sub(before),
        visited_bytes: o.process_visited_bytes,
        complete: o.stopped.is_none(),
    };
    crate::output::write_stdout(&format!("{}\n", serde_json::to_string(&row)?))?;
    Ok(Exit::Holds)
}

/// Measures the timely engine with `n` processes (one worker each) on 127.0.0.1; `stop`:
/// the flag of Ctrl-C and SIGTERM, which stop the processes.
fn bench_timely(
    args: &crate::cli::BenchDistributedArgs,
    n: usize,
    stop: &AtomicBool,
) -> anyhow::Result<DistributedRow> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("cannot find the sealcheck executable")?;
    let (dir, hostfile, _secret) = loopback_cluster_files(n, "bench")?;
    let mut children = Vec::new();
    for i in 0..n {
        let child = {
            let mut c = Command::new(&exe);
            c.arg("bench-distributed")
                .arg(&args.spec)
                .arg("--child")
                .args([i.to_string(), n.to_string()])
                .arg(&hostfile);
            if args.symmetry {
                c.arg("--symmetry");
            }
            c.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()
        };
        match child {
            Ok(c) => children.push(c),
            Err(e) => {
                stop_children(&mut children);
                return Err(e.into());
            }
        }
    }
    let mut got = Vec::new();
    // Every child's output is read before the directory goes (it is removed when dropped, on
    // every way out).
    for (code, stdout) in outputs_of(children, stop)? {
        if code != Some(0) {
            anyhow::bail!("a bench process failed: exit code {code:?} (None: a signal)");
        }
        let row: ChildRow =
            serde_json::from_slice(&stdout).context("a bench process printed no row")?;
        got.push(row);
    }
    drop(dir);
    if got.iter().any(|r| !r.complete || r.unique != got[0].unique) {
        anyhow::bail!("the {n} processes did not all complete with the same count: {got:?}");
    }
    let unique = got[0].unique;
    let seconds = got.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let row = DistributedRow {
        engine: if args.symmetry {
            "timely + symmetry".into()
        } else {
            "timely".into()
        },
        processes: n,
        unique_states: unique,
        states: got[0].states,
        seconds,
        unique_per_sec: unique as f64 / seconds.max(1e-9),
        bytes_per_state: Some(
            got.iter().map(|r| r.rss_growth).sum::<u64>() as f64 / unique.max(1) as f64,
        ),
        visited_bytes_per_state: Some(
            got.iter().map(|r| r.visited_bytes).sum::<u64>() as f64 / unique.max(1) as f64,
        ),
    };
    eprintln!(
        "  timely x{n}: {} unique in {:.2} s",
        row.unique_states, row.seconds
    );
    Ok(row)
}

/// Measures the default engine with strategy `s` in a `bench --child` process; `stop`: the
/// flag of Ctrl-C and SIGTERM, which stop the process.
fn bench_baseline(
    args: &crate::cli::BenchDistributedArgs,
    s: crate::cli::StrategyArg,
    stop: &AtomicBool,
) -> anyhow::Result<DistributedRow> {
    use anyhow::Context;
    use clap::ValueEnum;
    let exe = std::env::current_exe().context("cannot find the sealcheck executable")?;
    let strategy = s.to_possible_value().expect("named").get_name().to_string();
    let mut c = Command::new(&exe);
    c.arg("bench")
        .arg(&args.spec)
        .args(["--child", "--strategies", &strategy, "--threads", "1"]);
    // stateright 0.31 honours symmetry only depth-first.
    if args.symmetry && s == crate::cli::StrategyArg::Dfs {
        c.arg("--symmetry");
    }
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run a bench child process")?;
    let (code, stdout) = outputs_of(vec![child], stop)?.remove(0);
    if code != Some(0) {
        anyhow::bail!("bench child failed: exit code {code:?} (None: a signal)");
    }
    let r: crate::bench::BenchRow =
        serde_json::from_slice(&stdout).context("bench child printed no row")?;
    eprintln!(
        "  {}: {} unique in {:.2} s",
        r.strategy, r.unique_states, r.seconds
    );
    Ok(DistributedRow {
        engine: format!("default {}", r.strategy),
        processes: 1,
        unique_states: r.unique_states as u64,
        states: r.states as u64,
        seconds: r.seconds,
        unique_per_sec: r.unique_per_sec,
        bytes_per_state: r.bytes_per_state,
        visited_bytes_per_state: None,
    })
}

/// The Markdown table of `bench-distributed`, under the scenario's name.
fn bench_table(name: &str, rows: &[DistributedRow]) -> String {
    let mut out = format!(
        "{name}\n\n| engine | processes | unique states | generated | seconds | unique states/s | bytes/unique state (peak RSS growth) | visited set, bytes/unique state |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |b| format!("{b:.0}"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {:.0} | {} | {} |\n",
            r.engine,
            r.processes,
            r.unique_states,
            r.states,
            r.seconds,
            r.unique_per_sec,
            f(r.bytes_per_state),
            f(r.visited_bytes_per_state)
        ));
    }
    out
}
