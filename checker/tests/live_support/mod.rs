//! Helpers shared by the live tests of a real cluster (`record_live`, `reproduce_live`): which
//! processes a run started, whether they still run, and what they left behind.

use std::path::{Path, PathBuf};

/// The PIDs a run logged in its `actions.jsonl` text: the namespace holder and every server
/// start.
pub fn pids_in_actions(text: &str) -> Vec<i32> {
    text.lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let d = &v["detail"];
            d["holder_pid"]
                .as_i64()
                .or_else(|| {
                    (v["action"] == "start-node")
                        .then(|| d["pid"].as_i64())
                        .flatten()
                })
                .map(|p| p as i32)
        })
        .collect()
}

/// Whether `pid` runs (exists and is not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// The live processes whose network namespace is `ns` (`net:[inode]`).
pub fn processes_in(ns: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(link) = std::fs::read_link(format!("/proc/{pid}/ns/net")) else {
            continue;
        };
        if link.display().to_string() == ns && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// The scratch directories (`sealcheck-*`) in `tmp`.
pub fn scratch_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("sealcheck-"))
        .map(|e| e.path())
        .collect()
}
