//! The `sealcheck` binary: parse arguments, run the command, print errors, exit.

use std::process::ExitCode;

use clap::Parser;
use sealcheck::cli::{Cli, Command};
use sealcheck::commands;
use sealcheck::exit::{Exit, UsageError};

fn run(cli: Cli) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Check(a) => commands::check(a),
        Command::Replay(a) => commands::replay(a),
        Command::Properties(a) => commands::properties(a),
        Command::Bench(a) => commands::bench(a),
        Command::Explore(a) => sealcheck::explore::explore(a),
        Command::Validate(a) => commands::validate(a),
        Command::Simulate(a) => commands::simulate(a),
        Command::BenchValidate(a) => sealcheck::bench_validate::run(a),
        Command::BenchDistributed(a) => sealcheck::timely::bench(a),
        Command::Import(a) => sealcheck::import::import(a),
        Command::Follow(a) => commands::follow(a),
        Command::Record(a) => sealcheck::record::record(a),
        Command::Reproduce(a) => sealcheck::reproduce::reproduce(a),
        Command::Campaign(a) => sealcheck::campaign::campaign(a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(e) => {
            let io_kind = e
                .chain()
                .find_map(|c| c.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            // The reader of our output went away (`sealcheck check | head -1`): nothing more can
            // be said to it, and it is not an error (as in other Unix tools).
            if io_kind == Some(std::io::ErrorKind::BrokenPipe) {
                return Exit::Holds.into();
            }
            eprintln!("sealcheck: error: {e:#}");
            // Usage and input errors, and I/O errors (a full disk, a missing permission), are
            // the user's to fix; anything else is ours (the same code, but said differently so
            // that it gets reported).
            if e.downcast_ref::<UsageError>().is_none() && io_kind.is_none() {
                eprintln!("sealcheck: this looks like a bug in sealcheck; please report it");
            }
            Exit::UsageOrInput.into()
        }
    }
}
