//! `sealcheck record` on a real cluster: a recording imports into a trace and shows its phases,
//! and every process it started, its network namespace and its scratch directory are gone
//! afterwards, also after SIGINT, SIGTERM or SIGKILL (then the next recording removes the
//! scratch directory); an interrupted re-recording leaves no old trace behind.
//!
//! Ignored by default: they need root (network namespaces) and the Restate 1.7.12 binaries
//! (`npm ci --prefix restate`, which `.ci/setup` runs). `.ci/run` runs them in their own step:
//! `cargo test -p sealcheck --test record_live -- --ignored --test-threads 1`.

mod live_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use live_support::{
    alive, pids_in_actions, processes_in, root, scratch_dirs, sealcheck, signal_and_wait,
    spawn_into,
};

use sealcheck::trace_reader::TraceReader;

fn scratch(tag: &str) -> PathBuf {
    let d = root()
        .join("target/record-live")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The network namespace the recording's processes run in (`net:[inode]`), read from the
/// holder PID the recorder logs first.
fn namespace_of(raw: &Path, within: Duration) -> (String, Vec<i32>) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(text) = std::fs::read_to_string(raw.join("actions.jsonl")) {
            let mut pids = Vec::new();
            let mut ns = None;
            let mut started = 0;
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let pid = |k: &str| v["detail"][k].as_i64().map(|p| p as i32);
                match v["action"].as_str() {
                    Some("create-namespace") => {
                        let holder = pid("holder_pid").unwrap();
                        pids.push(holder);
                        ns = std::fs::read_link(format!("/proc/{holder}/ns/net"))
                            .ok()
                            .map(|l| l.display().to_string());
                    }
                    Some("start-node") => {
                        started += 1;
                        pids.extend(pid("pid"));
                    }
                    _ => {}
                }
            }
            if let (Some(ns), true) = (ns, started >= 3) {
                return (ns, pids);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the recording did not start its nodes in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_all_gone(ns: &str, pids: &[i32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_in(ns);
        let alive: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|p| Path::new(&format!("/proc/{p}")).exists() && processes_in(ns).contains(p))
            .collect();
        if left.is_empty() && alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes still running in {ns}: {left:?} (recorded PIDs alive: {alive:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn record_writes_raw_material_and_a_trace_and_leaves_nothing_running() {
    let out = scratch("incident-forced");
    let child = spawn_record("incident-forced", &out);
    let (ns, pids) = namespace_of(&out.join("raw"), Duration::from_secs(60));
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("sealcheck record: recorded in"), "{stderr}");
    // Its phases, in order, as they happen.
    let mut from = 0;
    for phase in [
        "creating a private network namespace",
        "starting restate-server n1",
        "starting restate-server n3",
        "waiting for the 3 nodes' fabric ports",
        "polling nodes, loglet_workers and logs every",
        "provision ",
        "set-storage-state n1,n2,n3",
        "seal-log n",
        "stopping the cluster (3 nodes, SIGTERM)",
        "importing ",
    ] {
        let at = stderr[from..]
            .find(phase)
            .unwrap_or_else(|| panic!("no `{phase}` after byte {from}: {stderr}"));
        from += at;
    }
    assert_all_gone(&ns, &pids);
    let trace = TraceReader::open(&out.join("trace.jsonl")).unwrap();
    // The refused seal, then seals retried until one succeeds: at least two calls, more when
    // the restarted nodes are slow to serve (a clean-clone CI run once saw three).
    let attempts = trace.header().config.harness.max_attempts;
    assert!(attempts >= 2, "{attempts} seal calls");
    let kinds: Vec<&'static str> = trace.map(|i| i.unwrap().item.kind()).collect();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("no {k}: {kinds:?}"))
    };
    assert!(at("storage-state-set") < at("seal-rejected"));
    assert!(at("seal-rejected") < at("crashed"));
    assert!(at("restarted") < at("seal-started"));
    assert!(at("seal-started") < at("seal-completed"));
    assert!(out.join("import-notes.txt").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}

/// A temporary directory of its own for a recording (`TMPDIR`), to see what it leaves there.
fn tmpdir(tag: &str) -> PathBuf {
    let d = scratch(&format!("tmp-{tag}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts a recording into `out` (which already holds an earlier recording's trace and notes)
/// with `tmp` as its temporary directory, waits until its servers run, and sends `signal`.
/// Returns how it ended, its stderr, and where its scratch directory was.
fn interrupt_a_recording(
    signal: &str,
    out: &Path,
    tmp: &Path,
) -> (std::process::ExitStatus, String, PathBuf) {
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("trace.jsonl"), "an earlier recording's trace\n").unwrap();
    std::fs::write(out.join("import-notes.txt"), "its notes\n").unwrap();
    let child = spawn_into(&["record", "appends-then-seal", "--out"], out, tmp);
    let pid = child.id();
    let (ns, pids) = namespace_of(&out.join("raw"), Duration::from_secs(60));
    let work = tmp.join(format!("sealcheck-record-{pid}-appends-then-seal"));
    assert!(
        work.join(".sealcheck-owner").is_file(),
        "{}",
        work.display()
    );
    // Let the servers come up and the poller run restatectl, then interrupt.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !processes_in(&ns).is_empty(),
        "nothing was running in the namespace when we interrupted"
    );
    // The old trace is gone as soon as the recording starts.
    assert!(!out.join("trace.jsonl").exists());
    assert!(!out.join("import-notes.txt").exists());
    let (status, stderr) = signal_and_wait(child, signal);
    assert_all_gone(&ns, &pids);
    assert!(!out.join("trace.jsonl").exists(), "a trace after {signal}");
    assert!(!out.join("import-notes.txt").exists());
    (status, stderr, work)
}

/// A recording interrupted by `signal` exits 130 and leaves no process, namespace or scratch
/// directory behind.
fn an_interrupted_recording_cleans_up(signal: &str, out_name: &str, tmp_name: &str) {
    let out = scratch(out_name);
    let tmp = tmpdir(tmp_name);
    let (status, stderr, work) = interrupt_a_recording(signal, &out, &tmp);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!work.exists(), "{} is left: {stderr}", work.display());
    assert_eq!(scratch_dirs(&tmp), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn ctrl_c_stops_every_process_and_removes_the_scratch_directory() {
    an_interrupted_recording_cleans_up("INT", "interrupted", "int");
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn sigterm_stops_every_process_and_removes_the_scratch_directory() {
    an_interrupted_recording_cleans_up("TERM", "terminated", "term");
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn after_sigkill_nothing_runs_and_the_next_recording_removes_the_scratch_directory() {
    use std::os::unix::process::ExitStatusExt;
    let out = scratch("killed");
    let tmp = tmpdir("kill");
    let (status, stderr, work) = interrupt_a_recording("KILL", &out, &tmp);
    assert_eq!(status.signal(), Some(9), "{stderr}");
    // A killed process cleans up nothing: its servers died with it (parent-death signal), its
    // scratch directory is left for the next recording.
    assert!(work.is_dir());
    let next = scratch("after-kill");
    let o = sealcheck()
        .args(["record", "incident", "--restatectl", "/bin/false", "--out"])
        .arg(&next)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "removed {}, left behind by a recording that was killed",
            work.display()
        )),
        "{stderr}"
    );
    assert!(!work.exists());
    // The failing recording removed its own, too.
    assert_eq!(scratch_dirs(&tmp), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&next).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// The PIDs the recorder logged (namespace holder and servers) once the recording is over.
fn recorded_pids(raw: &Path) -> Vec<i32> {
    pids_in_actions(&std::fs::read_to_string(raw.join("actions.jsonl")).unwrap())
}

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn a_failing_recording_exits_2_and_stops_every_process() {
    let out = scratch("failing");
    // A restatectl that always fails: the servers start, then provisioning fails.
    let o = sealcheck()
        .args(["record", "incident", "--restatectl", "/bin/false", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("recording incident failed"), "{stderr}");
    let pids = recorded_pids(&out.join("raw"));
    assert!(pids.len() >= 4, "holder and three servers: {pids:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) {
        assert!(
            Instant::now() < deadline,
            "still running: {:?}",
            pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Starts `sealcheck record SCENARIO --out OUT`, its stderr captured.
fn spawn_record(scenario: &str, out: &std::path::Path) -> std::process::Child {
    sealcheck()
        .args(["record", scenario, "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
