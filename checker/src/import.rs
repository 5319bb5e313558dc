//! `sealcheck import`: glue over the recorder's importer ([`sealcheck_recorder::import`], where
//! the translation rules live): writes the trace and prints the notes.

use std::io::Write;

use crate::cli::ImportArgs;
use crate::exit::{Exit, UsageError};
use sealcheck_recorder::import::run::ImportedRun;
use sealcheck_recorder::import::{
    import_raw_dir, import_raw_dir_loglets, ImportError, ImportedTrace,
};

/// `sealcheck import`: writes the trace, prints the notes on stderr; exit code 0, or 3 when
/// the raw material lacks an input the verdict depends on (the message names it). With
/// `--run`, or when `--out` is an existing directory, every loglet of the run: exit 3 when
/// some loglet's import is inconclusive.
pub fn import(args: &ImportArgs) -> anyhow::Result<Exit> {
    if let Some(out) = args.out.as_deref().filter(|o| args.run || o.is_dir()) {
        return import_loglets(args, out);
    }
    if args.run {
        return Err(UsageError::new("import --run needs --out DIR").into());
    }
    let trace = match import_raw_dir(&args.raw_dir) {
        Err(e @ ImportError::Inconclusive { .. }) => {
            eprintln!("sealcheck import: {e}");
            return Ok(Exit::Incomplete);
        }
        r => r.map_err(|e| UsageError::new(format!("import: {e}")))?,
    };
    match &args.out {
        Some(path) => trace
            .write_file(path)
            .map_err(|e| UsageError::new(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            trace.write_to(&mut lock)?;
            lock.flush()?;
        }
    }
    if !args.quiet {
        let dest = args
            .out
            .as_deref()
            .map_or("stdout".to_string(), |p| p.display().to_string());
        print_report(&trace, &dest);
    }
    Ok(Exit::Holds)
}

/// Every loglet of the run into `out/loglets/` and `out/run.json`.
fn import_loglets(args: &ImportArgs, out: &std::path::Path) -> anyhow::Result<Exit> {
    let run = import_raw_dir_loglets(&args.raw_dir)
        .map_err(|e| UsageError::new(format!("import: {e}")))?;
    run.write_to_dir(out)
        .map_err(|e| UsageError::new(format!("cannot write {}: {e}", out.display())))?;
    if !args.quiet {
        print_run_report(&run, &out.display().to_string());
    }
    Ok(if run.inconclusive() {
        Exit::Incomplete
    } else {
        Exit::Holds
    })
}

/// Prints what an import wrote and its notes on stderr.
pub fn print_report(trace: &ImportedTrace, dest: &str) {
    for line in trace.report(dest) {
        eprintln!("{line}");
    }
}

/// Prints what a run import wrote, per loglet, and the run's notes on stderr.
pub fn print_run_report(run: &ImportedRun, dest: &str) {
    for line in run.report(dest) {
        eprintln!("{line}");
    }
}
