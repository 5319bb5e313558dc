//! End-to-end: records the `incident` scenario on a real cluster and parses it back.
//!
//! Ignored by default: it needs root (network namespaces) and the Restate binaries
//! (`npm ci --prefix restate`, or SEALCHECK_RESTATE_SERVER / SEALCHECK_RESTATECTL). Run with
//! `cargo test -p sealcheck-recorder --test live_incident -- --ignored`.

use std::path::Path;

use sealcheck_recorder::{parse_raw_dir, run_scenario, Binaries, Fact, Scenario, ScenarioOptions};

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn incident_records_and_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bins = Binaries::from_env(&root).expect("binaries");
    let tmp = std::env::temp_dir().join(format!("sealcheck-live-{}", std::process::id()));
    let opts = ScenarioOptions::new(tmp.join("work"), tmp.join("raw"));
    let report = run_scenario(Scenario::Incident, &bins, &opts).expect("scenario runs");
    assert!(
        report
            .seals
            .iter()
            .any(sealcheck_recorder::scenario::seal_succeeded),
        "{}",
        report.summary
    );
    let run = parse_raw_dir(&opts.raw_dir).expect("raw dir parses");
    assert_eq!(run.meta.loglet_id.as_deref(), Some("0_0"));
    assert!(run
        .facts
        .iter()
        .any(|f| matches!(f.fact, Fact::SelfProvisioned { .. })));
    assert!(run
        .facts
        .iter()
        .any(|f| matches!(&f.fact, Fact::SealCompleted { loglet, .. } if loglet == "0_0")));
    std::fs::remove_dir_all(&tmp).unwrap();
}
