//! `sealcheck campaign` on a real cluster: Ctrl-C in the middle of a run leaves no process,
//! namespace or scratch directory, and the reports of the runs made before it. (CI's short
//! campaign itself runs in `.ci/record.sh`, against its committed baseline.)
//!
//! Ignored by default: they need root and the Restate 1.7.12 binaries (`npm ci --prefix
//! restate`). Run them one at a time (one cluster at a time):
//! `cargo test -p sealcheck --test campaign_live -- --ignored --test-threads 1`.

mod live_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use live_support::{
    assert_all_gone, namespace_of, pids_in_actions, scratch_dirs, signal_and_wait, spawn_into,
};

fn scratch(tag: &str) -> PathBuf {
    live_support::scratch("campaign-live", tag)
}

/// Every PID any run of the campaign logged.
fn campaign_pids(out: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir(out.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path().join("raw/actions.jsonl")).unwrap_or_default();
        pids.extend(pids_in_actions(&text));
    }
    pids
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn ctrl_c_in_a_campaign_stops_everything_and_keeps_the_runs_made() {
    let dir = scratch("interrupted");
    let (out, tmp) = (dir.join("out"), dir.join("tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
    let child = spawn_into(
        &[
            "campaign",
            "specs/three_logserver_seal_empty.toml",
            "--runs-per-path",
            "2",
            "--out",
        ],
        &out,
        &tmp,
    );
    // Wait until the second run's path runs, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(240);
    let ns = loop {
        // campaign.json is written after each run: once it counts one, the second runs.
        let json = std::fs::read_to_string(out.join("campaign.json")).unwrap_or_default();
        let first_done = serde_json::from_str::<serde_json::Value>(&json)
            .is_ok_and(|v| v["coverage"]["runs"] == 1);
        let second = std::fs::read_dir(out.join("runs"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                first_done && !json.contains(&format!("runs/{name}\""))
            });
        if let Some(dir) = second {
            let raw = dir.join("raw");
            let actions = std::fs::read_to_string(raw.join("actions.jsonl")).unwrap_or_default();
            if actions.contains("\"reproduce-step\"") {
                break namespace_of(&raw);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the second run never started its path"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (status, stderr) = signal_and_wait(child, "INT");
    assert_eq!(status.code(), Some(130), "{stderr}");
    let pids = campaign_pids(&out);
    assert!(pids.len() >= 8, "two runs' holders and servers: {pids:?}");
    assert_all_gone(&pids, ns.as_deref());
    assert_eq!(scratch_dirs(&tmp), Vec::<PathBuf>::new());
    // The first run's report is there.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("campaign.json")).unwrap()).unwrap();
    assert_eq!(json["coverage"]["runs"], 1, "{json}");
    std::fs::remove_dir_all(&dir).unwrap();
}
