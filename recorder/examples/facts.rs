//! Prints the facts of a raw directory, one JSON object per line.
//!
//! ```text
//! cargo run -p sealcheck-recorder --example facts -- traces/restate-1.7.12/incident/raw [--all]
//! ```
//! Without `--all`, observations from SQL snapshots and failure-detector lines are left out.

use std::path::PathBuf;
use std::process::ExitCode;

use sealcheck_recorder::{parse_raw_dir, Fact};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: facts RAW_DIR [--all]");
        return ExitCode::from(2);
    };
    let all = args.iter().any(|a| a == "--all");
    let run = match parse_raw_dir(&PathBuf::from(dir)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for f in &run.facts {
        let noisy = matches!(
            f.fact,
            Fact::LogletWorkerObserved { .. }
                | Fact::StorageStateObserved { .. }
                | Fact::LogChainObserved { .. }
                | Fact::PeerStateChanged { .. }
        );
        if all || !noisy {
            println!(
                "{} {}",
                f.time,
                serde_json::to_string(&f.fact).expect("facts serialize")
            );
        }
    }
    ExitCode::SUCCESS
}
