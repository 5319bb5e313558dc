//! Helpers shared by the live tests of a real cluster (`record_live`, `reproduce_live`,
//! `campaign_live`, `netfault_live`): which processes a run started, whether they still run,
//! and what they left behind; the project root, a scratch directory and the binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The project root.
#[allow(dead_code)] // not every live test crate runs the binary from here
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh, empty directory `target/AREA/TAG-PID` of the project.
#[allow(dead_code)]
pub fn scratch(area: &str, tag: &str) -> PathBuf {
    let d = root()
        .join("target")
        .join(area)
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `sealcheck` binary, run from the project root.
#[allow(dead_code)]
pub fn sealcheck() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("sealcheck"));
    c.current_dir(root());
    c
}

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

#[allow(dead_code)]
/// The namespace of the holder the run logged first (`net:[inode]`), while it runs.
pub fn namespace_of(raw: &Path) -> Option<String> {
    let text = std::fs::read_to_string(raw.join("actions.jsonl")).ok()?;
    let holder = text.lines().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        v["detail"]["holder_pid"].as_i64()
    })?;
    std::fs::read_link(format!("/proc/{holder}/ns/net"))
        .ok()
        .map(|l| l.display().to_string())
}

#[allow(dead_code)]
/// Every PID in `pids` is gone within 10 s, and nothing runs in `ns` any more.
pub fn assert_all_gone(pids: &[i32], ns: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        let in_ns = ns.map(processes_in).unwrap_or_default();
        if left.is_empty() && in_ns.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running: {left:?}; in the namespace: {in_ns:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `sealcheck ARGS OUT` started with `tmp` as its temporary directory, stdout discarded and
/// stderr piped (for [`signal_and_wait`]).
#[allow(dead_code)]
pub fn spawn_into(args: &[&str], out: &Path, tmp: &Path) -> Child {
    sealcheck()
        .args(args)
        .arg(out)
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`INT`, `TERM`, `KILL`) to `child` and waits for it: how it ended and its
/// stderr.
#[allow(dead_code)]
pub fn signal_and_wait(child: Child, signal: &str) -> (ExitStatus, String) {
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    (o.status, String::from_utf8_lossy(&o.stderr).into_owned())
}
