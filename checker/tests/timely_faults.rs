//! The timely engine against an unfriendly network and unreliable peers, on 127.0.0.1 only:
//! strangers that connect, peers that die or stop, signals to the launcher, hostfiles that
//! are not lists of distinct addresses, and planted temporary files. Every case ends within
//! its bound with exit 2 (before the search) or 3 (INCOMPLETE) and a message, never a panic,
//! and leaves no process running and nothing on disk.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sealcheck::timely::{free_ports, PrivateDir};
use sealcheck_distributed::Secret;

/// A scenario checked in well under a second.
const QUICK: &str = "specs/crash-restart.toml";
/// A scenario that takes minutes: runs that must be cut short.
const LONG: &str = "specs/bench-four-servers.toml";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sealcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcheck"));
    c.current_dir(root()).stdin(Stdio::null());
    c
}

/// Two loopback processes' files in a private directory: hostfile and secret file.
fn two_process_files() -> (PrivateDir, PathBuf, PathBuf, Vec<u16>) {
    let dir = PrivateDir::new("test").unwrap();
    let ports = free_ports(2).unwrap();
    let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    let hosts = dir.write_new("hosts", &text).unwrap();
    let secret = dir.path().join("secret");
    Secret::generate().unwrap().write_new_file(&secret).unwrap();
    (dir, hosts, secret, ports)
}

/// Process `p` of two, with `extra` flags, its stdout and stderr piped.
fn process(spec: &str, p: usize, hosts: &Path, secret: &Path, extra: &[&str]) -> Child {
    sealcheck()
        .args([
            "check",
            spec,
            "--engine",
            "timely",
            "-n",
            "2",
            "-p",
            &p.to_string(),
            "-h",
        ])
        .arg(hosts)
        .arg("--secret-file")
        .arg(secret)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `bound`; kills it (and fails) past that. Returns its output and
/// how long it took.
fn finish_within(mut child: Child, bound: Duration, what: &str) -> (Output, Duration) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > bound {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: still running after {bound:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = start.elapsed();
    (child.wait_with_output().unwrap(), took)
}

/// Exit `code`, a stderr that says `says`, and no panic.
fn assert_ends(out: &Output, code: i32, says: &[&str], what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    for s in says {
        assert!(err.contains(s), "{what}: expected `{s}` in stderr: {err}");
    }
    assert!(!err.contains("panicked"), "{what}: a panic: {err}");
}

/// Connects to `port` on 127.0.0.1 once something listens there (within 10 s).
fn connect_when_listening(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the run of `child` has expanded a level (its stderr says so); returns the
/// thread that keeps reading its stderr, which yields all of it.
fn when_searching(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        let mut said = false;
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if !said && String::from_utf8_lossy(&all).contains(" level ") {
                let _ = tx.send(());
                said = true;
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the run reports a level within 30 s");
    reader
}

/// A connection that sends nothing is closed after the handshake wait and logged; the
/// process still honours --timeout and ends with exit 2 (no peer ever connected).
#[test]
fn a_stranger_that_sends_nothing_is_refused_and_the_timeout_holds() {
    let (_dir, hosts, secret, ports) = two_process_files();
    let p0 = process(QUICK, 0, &hosts, &secret, &["--timeout", "7"]);
    let _stranger = connect_when_listening(ports[0]);
    let (out, took) = finish_within(p0, Duration::from_secs(15), "stranger sends nothing");
    assert_ends(
        &out,
        2,
        &[
            "refused a connection from 127.0.0.1",
            "presented no handshake within 5 s",
            "did not connect within 7 s (--timeout)",
        ],
        "stranger sends nothing",
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// A stranger that announces itself as process 1 without the secret is refused at once and
/// never becomes a peer: the real process 1 then connects and the run completes.
#[test]
fn a_stranger_announcing_itself_as_a_peer_is_refused() {
    let (_dir, hosts, secret, ports) = two_process_files();
    let p0 = process(QUICK, 0, &hosts, &secret, &["-q", "--timeout", "60"]);
    // timely's own header (the process index), then one in sealcheck's format with a forged
    // secret.
    let mut old = connect_when_listening(ports[0]);
    old.write_all(&1u64.to_be_bytes()).unwrap();
    let mut forged = connect_when_listening(ports[0]);
    let mut hello = b"SEALCHK1\0".to_vec();
    hello.extend_from_slice(&1u32.to_be_bytes());
    hello.extend_from_slice(&0u32.to_be_bytes());
    hello.extend_from_slice(&64u16.to_be_bytes());
    hello.extend_from_slice(&[b'x'; 64]);
    forged.write_all(&hello).unwrap();
    let mut answer = Vec::new();
    let _ = forged.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = forged.read_to_end(&mut answer);
    assert!(
        answer.is_empty(),
        "the forged peer got an answer: {answer:?}"
    );
    let p1 = process(QUICK, 1, &hosts, &secret, &["-q", "--timeout", "60"]);
    let (out0, _) = finish_within(p0, Duration::from_secs(30), "process 0");
    let (out1, _) = finish_within(p1, Duration::from_secs(30), "process 1");
    let code = out1.status.code();
    assert!(matches!(code, Some(0) | Some(1)), "{out1:?}");
    assert_ends(
        &out0,
        code.unwrap(),
        &["did not present the run's secret"],
        "forged peer",
    );
    assert!(String::from_utf8_lossy(&out0.stdout).contains("unique states"));
}

/// A peer killed mid-run: the survivor ends with INCOMPLETE naming it, without a panic.
#[test]
fn a_killed_peer_ends_the_survivor_incomplete() {
    let (_dir, hosts, secret, _) = two_process_files();
    let mut p0 = process(LONG, 0, &hosts, &secret, &[]);
    let mut p1 = process(LONG, 1, &hosts, &secret, &["-q"]);
    let err0 = when_searching(&mut p0);
    p1.kill().unwrap();
    p1.wait().unwrap();
    let (out, took) = finish_within(p0, Duration::from_secs(15), "survivor of a killed peer");
    let err = err0.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("lost process 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("process 1 of the cluster was lost"),
        "{report}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A stopped peer (SIGSTOP) holds the survivor only until --timeout and its grace: it ends
/// with INCOMPLETE, reporting what it explored.
#[test]
fn a_stopped_peer_ends_the_survivor_at_its_timeout() {
    let (_dir, hosts, secret, _) = two_process_files();
    let mut p0 = process(LONG, 0, &hosts, &secret, &["--timeout", "4"]);
    let p1 = process(LONG, 1, &hosts, &secret, &["-q"]);
    let err0 = when_searching(&mut p0);
    signal(p1.id(), "STOP");
    let (out, took) = finish_within(p0, Duration::from_secs(20), "survivor of a stopped peer");
    let err = err0.join().unwrap();
    signal(p1.id(), "KILL");
    let (_, _) = finish_within(p1, Duration::from_secs(5), "the stopped peer");
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("reporting what was explored"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("INCOMPLETE"));
    assert!(took < Duration::from_secs(15), "{took:?}");
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
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

/// SIGTERM to the `--local-processes` launcher kills its children and removes its temporary
/// directory; a planted symbolic link where the old predictable directory was is not followed.
#[test]
fn sigterm_to_the_launcher_stops_its_children_and_removes_its_files() {
    let tmp = PrivateDir::new("test-tmp").unwrap();
    // Plant links at the names the launcher used to choose (its pid), pointing at a file of
    // ours that must stay as it is.
    let victim = tmp.write_new("victim", "precious\n").unwrap();
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1000);
    for pid in last + 1..last + 300 {
        std::os::unix::fs::symlink(&victim, tmp.path().join(format!("sealcheck-hosts-{pid}")))
            .unwrap();
    }
    let before = std::fs::read_dir(tmp.path()).unwrap().count();
    let parent = sealcheck()
        .args([
            "check",
            LONG,
            "--engine",
            "timely",
            "--local-processes",
            "2",
            "-q",
        ])
        .env("TMPDIR", tmp.path())
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
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(500));
    signal(parent.id(), "TERM");
    let (out, took) = finish_within(parent, Duration::from_secs(5), "launcher on SIGTERM");
    assert_ends(&out, 2, &["interrupted", "stopped"], "launcher on SIGTERM");
    assert!(took < Duration::from_secs(3), "{took:?}");
    for k in kids {
        assert!(
            !Path::new(&format!("/proc/{k}")).exists(),
            "child {k} still there"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        before,
        "the launcher left files in TMPDIR"
    );
}

/// Hostfiles that are not a short list of distinct, fixed addresses are refused before any
/// connection, with exit 2 and a message naming --hostfile and the line.
#[test]
fn hostfiles_that_are_not_lists_of_distinct_addresses_are_refused() {
    let dir = PrivateDir::new("test").unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let [a, b] = free_ports(2).unwrap()[..] else {
        unreachable!()
    };
    let dup = dir
        .write_new("dup", &format!("127.0.0.1:{a}\n127.0.0.1:{a}\n"))
        .unwrap();
    let alias = dir
        .write_new("alias", &format!("127.0.0.1:{a}\nlocalhost:{a}\n"))
        .unwrap();
    let zero = dir
        .write_new("zero", &format!("127.0.0.1:{b}\n127.0.0.1:0\n"))
        .unwrap();
    let big = dir.write_new("big", &"#".repeat(70_000)).unwrap();
    for (file, says) in [
        (PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo.clone(), "not a regular file"),
        (dir.path().to_path_buf(), "not a regular file"),
        (dup, "line 2: `127.0.0.1"),
        (alias, "line 2: `localhost"),
        (zero, "line 2: port 0"),
        (big, "more than the 65536"),
    ] {
        let child = sealcheck()
            .args([
                "check", QUICK, "--engine", "timely", "-n", "2", "-p", "0", "-h",
            ])
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let what = file.display().to_string();
        let (out, _) = finish_within(child, Duration::from_secs(5), &what);
        assert_ends(&out, 2, &["--hostfile", says], &what);
    }
}

/// Flag errors name their flag; a run of several processes needs a private secret file; with
/// no peer at all, --timeout and SIGTERM end the wait with exit 2.
#[test]
fn flags_secrets_and_a_missing_peer_are_usage_errors() {
    for (args, says) in [
        (
            &["check", QUICK, "--engine", "timely", "-w", "0"][..],
            "-w/--workers must be",
        ),
        (
            &["check", QUICK, "--engine", "timely", "-n", "0"][..],
            "-n/--processes must be",
        ),
        (
            &[
                "check",
                QUICK,
                "--engine",
                "timely",
                "--local-processes",
                "0",
            ][..],
            "--local-processes must be",
        ),
        (
            &["bench-distributed", QUICK, "--processes", "0"][..],
            "bench-distributed --processes must be",
        ),
    ] {
        let out = sealcheck().args(args).output().unwrap();
        assert_ends(&out, 2, &[says], &format!("{args:?}"));
    }
    let (dir, hosts, secret, _) = two_process_files();
    let out = sealcheck()
        .args([
            "check", QUICK, "--engine", "timely", "-n", "2", "-p", "0", "-h",
        ])
        .arg(&hosts)
        .output()
        .unwrap();
    assert_ends(&out, 2, &["needs --secret-file"], "no secret");
    let open = dir
        .write_new("open-secret", "0123456789abcdef0123\n")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let c = process(QUICK, 0, &hosts, &open, &[]);
    let (out, _) = finish_within(c, Duration::from_secs(5), "open secret");
    assert_ends(&out, 2, &["--secret-file", "chmod 600"], "open secret");
    let p0 = process(QUICK, 0, &hosts, &secret, &["--timeout", "2"]);
    let (out, took) = finish_within(p0, Duration::from_secs(8), "no peer");
    assert_ends(
        &out,
        2,
        &["did not connect within 2 s (--timeout)"],
        "no peer",
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    let p0 = process(QUICK, 0, &hosts, &secret, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    signal(p0.id(), "TERM");
    let (out, took) = finish_within(p0, Duration::from_secs(5), "no peer, SIGTERM");
    assert_ends(&out, 2, &["interrupted while waiting"], "no peer, SIGTERM");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// `--secret-file` is a flag of the timely engine: given without it, a usage error (it used
/// to be ignored).
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
