//! `sealcheck record`: glue over the recorder's [`sealcheck_recorder::record`] (run one scenario
//! on a real Restate 1.7.12 cluster and import it). Progress and the import notes go to stderr.

use sealcheck_recorder::record::{
    parse_scenario, record as record_run, scenario_list, RecordRequest,
};

use crate::cli::RecordArgs;
use crate::exit::{Exit, UsageError};

/// `sealcheck record`: exit 0 when the run was recorded and imported, 2 when it could not be
/// (missing binaries, not root, the cluster failed).
pub fn record(args: &RecordArgs) -> anyhow::Result<Exit> {
    if args.list {
        crate::output::write_stdout(&scenario_list())?;
        return Ok(Exit::Holds);
    }
    let (Some(name), Some(out)) = (&args.scenario, &args.out) else {
        return Err(UsageError::new("record needs SCENARIO and --out DIR (or --list)").into());
    };
    let scenario = parse_scenario(name).map_err(UsageError::new)?;
    // With --restate-version the binaries are installed (if need be) now, and named
    // explicitly to the recorder.
    let (server, restatectl) = match &args.restate.restate_version {
        Some(_) => {
            let bins = args.restate.binaries("sealcheck record")?;
            (Some(bins.server), Some(bins.restatectl))
        }
        None => (args.restate.server.clone(), args.restate.restatectl.clone()),
    };
    let req = RecordRequest {
        scenario,
        out: out.clone(),
        root: args.restate.project_root()?,
        server,
        restatectl,
    };
    let done = record_run(&req, &mut |line| eprintln!("sealcheck record: {line}"))
        .map_err(UsageError::new)?;
    crate::import::print_report(&done.trace, &done.trace_path.display().to_string());
    eprintln!(
        "sealcheck record: check it against the model with: sealcheck validate {}",
        done.trace_path.display()
    );
    Ok(Exit::Holds)
}
