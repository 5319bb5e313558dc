//! The incident's race without `--force` (traces/restate-1.7.12/natural-route/): log 0's chain
//! written by hand with a nodeset of log servers that were not started yet, sealed while they
//! were absent and while they were Provisioning. Restate 1.7.12 refused every such seal with
//! the incident's error, ran the first one after a member was ReadWrite, and the logs alone
//! import into traces that conform to the model.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/restate-1.7.12/natural-route")
        .join(name)
}

fn sealcheck(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sealcheck"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_seal_while_the_members_looked_provisioning_was_refused_and_the_logs_conform() {
    for (name, refusals) in [("stop", 4), ("loop", 4)] {
        let dir = run_dir(name);
        let n1 = std::fs::read_to_string(dir.join("logs/n1.log")).unwrap();
        assert_eq!(
            n1.matches(
                "Cannot seal the loglet as all nodeset members are in `Provisioning` storage state"
            )
            .count(),
            refusals,
            "{name}"
        );
        let commands = std::fs::read_to_string(dir.join("commands.txt")).unwrap();
        assert!(!commands.contains("--force"), "{name}");
        let out = std::env::temp_dir().join(format!(
            "sealcheck-natural-{name}-{}.jsonl",
            std::process::id()
        ));
        let o = sealcheck(&[
            "import".as_ref(),
            "-q".as_ref(),
            dir.join("logs").as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let trace = std::fs::read_to_string(&out).unwrap();
        let events: Vec<&str> = trace
            .lines()
            .skip(1)
            .filter_map(|l| l.split("\"event\":\"").nth(1))
            .filter_map(|r| r.split('"').next())
            .collect();
        let rejected = events.iter().filter(|e| **e == "seal-rejected").count();
        assert_eq!(rejected, refusals, "{name}: {events:?}");
        let completed = events.iter().position(|e| *e == "seal-completed").unwrap();
        let last_rejected = events.iter().rposition(|e| *e == "seal-rejected").unwrap();
        assert!(last_rejected < completed, "{name}: {events:?}");
        let o = sealcheck(&["validate".as_ref(), out.as_os_str()]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{name}: {stdout}");
        assert!(stdout.contains("1 conform"), "{name}: {stdout}");
        let _ = std::fs::remove_file(&out);
    }
}
