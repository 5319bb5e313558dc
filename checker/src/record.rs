//! `sealcheck record`: run one scenario on a real Restate 1.7.12 cluster and import it.
//!
//! The recorder crate does the work ([`sealcheck_recorder::run_scenario`]): three nodes in a
//! private network namespace that has only `lo`, the scenario's operator actions, polled SQL
//! snapshots, and every process stopped by PID at the end, on error, and on Ctrl-C / SIGTERM
//! (its interrupt handler kills what it started and exits 130). This command adds the checks
//! that make failures clear before anything starts (binaries installed, root, namespace tools),
//! progress on stderr, and the import of the raw material into `OUT/trace.jsonl`.
//!
//! ```text
//! OUT/raw/            the raw material (meta.json, actions.jsonl, restatectl.jsonl, sql.jsonl, logs/)
//! OUT/trace.jsonl     the trace (sealcheck import OUT/raw)
//! OUT/import-notes.txt what the import dropped or assumed
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use sealcheck_recorder::{Binaries, Scenario, ScenarioOptions};

use crate::commands::UsageError;
use crate::import;

/// Arguments of `sealcheck record`.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The scenario to record (`--list` shows them).
    #[arg(required_unless_present = "list", value_name = "SCENARIO")]
    pub scenario: Option<String>,
    /// Directory to record into: raw material in OUT/raw, the trace in OUT/trace.jsonl. Both
    /// are replaced.
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// The restate-server binary (default: $SEALCHECK_RESTATE_SERVER, then the npm install
    /// under ROOT/restate).
    #[arg(long, value_name = "PATH")]
    pub server: Option<PathBuf>,
    /// The restatectl binary (default: $SEALCHECK_RESTATECTL, then the npm install under
    /// ROOT/restate).
    #[arg(long, value_name = "PATH")]
    pub restatectl: Option<PathBuf>,
    /// The project root whose restate/ holds the npm-installed binaries (default: the nearest
    /// directory at or above the current one that has restate/package.json).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// List the scenarios, one line each, and exit.
    #[arg(long, conflicts_with_all = ["scenario", "out"])]
    pub list: bool,
}

/// The `--list` text: one line per scenario, name then what it does.
pub fn scenario_list() -> String {
    let width = Scenario::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    Scenario::ALL
        .iter()
        .map(|s| format!("{:<width$}  {}\n", s.name(), s.summary()))
        .collect()
}

/// Parses a scenario name; the error lists the known ones.
pub fn parse_scenario(name: &str) -> Result<Scenario, UsageError> {
    Scenario::from_name(name).ok_or_else(|| {
        UsageError(format!(
            "unknown scenario `{name}`; known: {}",
            Scenario::ALL.map(|s| s.name()).join(", ")
        ))
    })
}

/// The nearest directory at or above `from` that has `restate/package.json`, else `from`.
pub fn project_root(from: &Path) -> PathBuf {
    from.ancestors()
        .find(|d| d.join("restate/package.json").is_file())
        .unwrap_or(from)
        .to_path_buf()
}

/// `sealcheck record`: exit 0 when the run was recorded and imported, 2 when it could not be
/// (missing binaries, not root, the cluster failed).
pub fn record(args: &RecordArgs) -> anyhow::Result<u8> {
    if args.list {
        print!("{}", scenario_list());
        return Ok(0);
    }
    let (Some(name), Some(out)) = (&args.scenario, &args.out) else {
        return Err(UsageError("record needs SCENARIO and --out DIR (or --list)".into()).into());
    };
    let scenario = parse_scenario(name)?;
    let root = match &args.root {
        Some(r) => r.clone(),
        None => project_root(&std::env::current_dir()?),
    };
    let bins = Binaries::discover(&root, args.server.clone(), args.restatectl.clone())
        .map_err(|e| UsageError(e.to_string()))?;
    sealcheck_recorder::check_can_record().map_err(|e| UsageError(e.to_string()))?;
    sealcheck_recorder::install_interrupt_handler().map_err(|e| UsageError(e.to_string()))?;

    std::fs::create_dir_all(out)
        .map_err(|e| UsageError(format!("cannot create --out {}: {e}", out.display())))?;
    // What an earlier recording into OUT left must not pass for this one's, should this one
    // be interrupted: its trace and notes go now (OUT/raw is replaced by the recorder).
    let trace_path = out.join("trace.jsonl");
    let notes_path = out.join("import-notes.txt");
    let partial = |p: &Path| p.with_extension("partial");
    for p in [
        &trace_path,
        &notes_path,
        &partial(&trace_path),
        &partial(&notes_path),
    ] {
        match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(UsageError(format!("cannot remove {}: {e}", p.display())).into())
            }
            _ => {}
        }
    }
    sealcheck_recorder::cluster::show_progress(true);
    let raw = out.join("raw");
    let work = std::env::temp_dir().join(format!(
        "sealcheck-record-{}-{}",
        std::process::id(),
        scenario.name()
    ));
    eprintln!(
        "sealcheck record: {} ({}); 3 Restate {} nodes in a private network namespace (127.0.0.1 only), raw material -> {}",
        scenario.name(),
        scenario.summary(),
        sealcheck_recorder::binaries::RESTATE_VERSION,
        raw.display()
    );
    eprintln!(
        "sealcheck record: server {}, restatectl {}",
        bins.server.display(),
        bins.restatectl.display()
    );
    let began = Instant::now();
    let opts = ScenarioOptions::new(&work, &raw);
    let result = sealcheck_recorder::run_scenario(scenario, &bins, &opts);
    let _ = std::fs::remove_dir_all(&work);
    let secs = began.elapsed().as_secs_f64();
    let report = result.map_err(|e| {
        UsageError(format!(
            "recording {} failed after {secs:.1} s: {e}; every process it started was stopped; the raw material so far is in {}",
            scenario.name(),
            raw.display()
        ))
    })?;
    eprintln!(
        "sealcheck record: recorded in {secs:.1} s: {}",
        report.summary
    );

    sealcheck_recorder::cluster::progress(format!(
        "importing {} into {}",
        raw.display(),
        trace_path.display()
    ));
    let trace = import::import_raw_dir(&raw)
        .map_err(|e| UsageError(format!("import of the recording: {e}")))?;
    // Written beside, then renamed: an interrupted write leaves no trace.jsonl at all.
    let mut notes = trace.notes.join("\n");
    notes.push('\n');
    let written = trace
        .write_file(&partial(&trace_path))
        .and_then(|()| std::fs::write(partial(&notes_path), notes))
        .and_then(|()| std::fs::rename(partial(&notes_path), &notes_path))
        .and_then(|()| std::fs::rename(partial(&trace_path), &trace_path));
    written.map_err(|e| UsageError(format!("cannot write {}: {e}", trace_path.display())))?;
    import::print_notes(&trace, Some(&trace_path));
    eprintln!(
        "sealcheck record: check it against the model with: sealcheck validate {}",
        trace_path.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_listed_on_one_line() {
        let list = scenario_list();
        assert_eq!(list.lines().count(), Scenario::ALL.len());
        for s in Scenario::ALL {
            assert!(
                list.lines().any(|l| l.starts_with(s.name())),
                "{} missing",
                s.name()
            );
        }
    }

    #[test]
    fn unknown_scenarios_list_the_known_ones() {
        let e = parse_scenario("incidnet").unwrap_err().to_string();
        assert!(e.contains("unknown scenario `incidnet`"), "{e}");
        assert!(e.contains("incident-forced"), "{e}");
    }

    #[test]
    fn the_project_root_is_found_from_below() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = project_root(&here.join("src"));
        assert!(root.join("restate/package.json").is_file(), "{root:?}");
    }
}
