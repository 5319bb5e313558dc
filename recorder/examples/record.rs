//! Records scenarios against a real Restate cluster (needs root and `npm ci --prefix restate`).
//!
//! ```text
//! cargo run -p sealcheck-recorder --example record -- [SCENARIO...]
//! ```
//! With no scenario names, records all of them. Raw material goes to
//! `traces/restate-1.7.12/<scenario>/raw/` under the current directory (the project root);
//! node data goes to a scratch directory under `$TMPDIR` that is deleted afterwards.

use std::path::PathBuf;
use std::process::ExitCode;

use sealcheck_recorder::{
    install_interrupt_handler, run_scenario, Binaries, Scenario, ScenarioOptions,
};

fn main() -> ExitCode {
    let root = PathBuf::from(".");
    let names: Vec<String> = std::env::args().skip(1).collect();
    let scenarios: Vec<Scenario> = if names.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        let mut v = Vec::new();
        for n in &names {
            match Scenario::from_name(n) {
                Some(s) => v.push(s),
                None => {
                    eprintln!("error: unknown scenario {n:?}");
                    return ExitCode::from(2);
                }
            }
        }
        v
    };
    let bins = match Binaries::from_env(&root) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = install_interrupt_handler() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for s in scenarios {
        let work = std::env::temp_dir().join(format!(
            "sealcheck-work-{}-{}",
            std::process::id(),
            s.name()
        ));
        let raw = root
            .join("traces/restate-1.7.12")
            .join(s.name())
            .join("raw");
        let opts = ScenarioOptions::new(&work, &raw);
        eprintln!("recording {} into {}", s.name(), raw.display());
        match run_scenario(s, &bins, &opts) {
            Ok(r) => eprintln!("{}: {}", s.name(), r.summary),
            Err(e) => {
                eprintln!("{}: error: {e}", s.name());
                failed = true;
            }
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
