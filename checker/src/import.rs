//! `sealcheck import`: glue over the recorder's importer ([`sealcheck_recorder::import`], where
//! the translation rules live): writes the trace and prints the notes.

use std::io::Write;

use crate::cli::ImportArgs;
use crate::exit::{Exit, UsageError};
use sealcheck_recorder::import::{import_raw_dir, ImportError, ImportedTrace};

/// `sealcheck import`: writes the trace, prints the notes on stderr; exit code 0, or 3 when
/// the raw material lacks an input the verdict depends on (the message names it).
pub fn import(args: &ImportArgs) -> anyhow::Result<Exit> {
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

/// Prints what an import wrote and its notes on stderr.
pub fn print_report(trace: &ImportedTrace, dest: &str) {
    for line in trace.report(dest) {
        eprintln!("{line}");
    }
}
