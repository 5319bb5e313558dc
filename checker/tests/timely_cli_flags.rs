//! Command-line edges of the timely engine: `--secret-file` without `--engine timely` is a
//! usage error (it used to be ignored), and SIGTERM to `bench-distributed` stops the
//! processes it measures and removes its temporary files.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sealcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcheck"));
    c.current_dir(root());
    c
}

#[test]
fn secret_file_without_the_timely_engine_is_a_usage_error() {
    let out = sealcheck()
        .args([
            "check",
            "specs/crash-restart.toml",
            "--secret-file",
            "no-such-secret",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--secret-file"), "{err}");
    assert!(err.contains("need --engine timely"), "{err}");
    assert!(out.stdout.is_empty());
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            out.push(child);
        }
    }
    out
}

/// SIGTERM to `bench-distributed` while it measures two processes: it ends within seconds
/// with exit 2, its child processes are gone and its temporary directory (hostfile, secret)
/// is removed.
#[test]
fn sigterm_to_bench_distributed_stops_its_children_and_removes_its_files() {
    let tmp = std::env::temp_dir().join(format!("sealcheck-bench-sig-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).unwrap();
    let mut parent = sealcheck()
        .args([
            "bench-distributed",
            "specs/bench-four-servers.toml",
            "--processes",
            "2",
            "--baseline",
        ])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let kids = loop {
        let kids = children_of(parent.id());
        if kids.len() == 2 {
            break kids;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no children");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 1, "no bench dir");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .args(["-TERM", &parent.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let took = Instant::now();
    let status = loop {
        if let Some(s) = parent.try_wait().unwrap() {
            break s;
        }
        assert!(took.elapsed() < Duration::from_secs(5), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut parent.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    for k in kids {
        assert!(
            !Path::new(&format!("/proc/{k}")).exists(),
            "child {k} still there"
        );
    }
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "bench-distributed left files in TMPDIR"
    );
    std::fs::remove_dir(&tmp).unwrap();
}
