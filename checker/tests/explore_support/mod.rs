//! Shared by the `explore` tests: start `sealcheck explore` on a loopback port, talk HTTP to
//! it with a plain `std::net` client, and always stop it (the guard kills and reaps the process
//! when dropped, also when a test fails).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The incident's shortest counterexample for "a seal the harness starts eventually succeeds".
pub const INCIDENT_PATH: &str = "0/3/0/0/0";
/// The liveness property it violates.
pub const LIVENESS: &str = "a seal the harness starts eventually succeeds";
/// The rejection, as the action reads in the Explorer.
pub const REJECTION: &str =
    "N5: seal() on loglet 1_0 rejected: all nodeset members are in `Provisioning` storage state";

/// The `sealcheck` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sealcheck")
}

/// The workspace root (where `specs/` is).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the checker crate is in the workspace")
        .to_path_buf()
}

/// The target directory the binary was built in (for test artifacts).
pub fn target_dir() -> std::path::PathBuf {
    std::path::Path::new(bin())
        .parent()
        .and_then(|p| p.parent())
        .expect("the binary lives in <target>/<profile>/")
        .to_path_buf()
}

/// A free loopback port (free when this returns; the OS may hand it out again later).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `sealcheck explore`; dropped, it kills and reaps the process.
pub struct Explorer {
    child: Child,
    /// The address it printed.
    pub addr: SocketAddr,
    stdout: Lines,
    stderr: Lines,
}

type Lines = Arc<Mutex<Vec<String>>>;

/// Reads a pipe line by line on a thread; the handle finishes when the pipe closes.
fn collect_until_closed(pipe: impl Read + Send + 'static) -> (Lines, thread::JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let handle = thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    (lines, handle)
}

fn collect(pipe: impl Read + Send + 'static) -> Lines {
    collect_until_closed(pipe).0
}

impl Explorer {
    /// Starts `sealcheck explore ARGS` (add `--addr`; use port 0 for a free one) and waits
    /// until it printed its address and answers `/.status`.
    pub fn start(args: &[&str]) -> Explorer {
        Explorer::start_in(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), args)
    }

    /// [`Explorer::start`] with `dir` as the working directory (scenario paths are relative
    /// to it).
    pub fn start_in(dir: &std::path::Path, args: &[&str]) -> Explorer {
        let mut e = Explorer::spawn_in(dir, args);
        e.wait_serving(args);
        e
    }

    /// Starts `sealcheck explore ARGS` in `dir` without waiting for anything.
    pub fn spawn_in(dir: &std::path::Path, args: &[&str]) -> Explorer {
        let child = Command::new(bin())
            .current_dir(dir)
            .arg("explore")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sealcheck starts");
        let mut child = child;
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Explorer {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            stdout,
            stderr,
        }
    }

    /// Waits until it printed its address and answers `/.status`.
    fn wait_serving(&mut self, args: &[&str]) {
        let e = self;
        let deadline = Instant::now() + Duration::from_secs(120);
        let addr = loop {
            if let Some(addr) = e.stdout().iter().find_map(|l| {
                l.strip_prefix("Explorer: http://")
                    .and_then(|rest| rest.strip_suffix('/'))
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            }) {
                break addr;
            }
            if let Some(status) = e.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "sealcheck explore {args:?} exited ({status}) before serving:\n{}\n{}",
                    e.stdout().join("\n"),
                    e.stderr().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "sealcheck explore {args:?} printed no address in time:\n{}",
                e.stdout().join("\n")
            );
            thread::sleep(Duration::from_millis(20));
        };
        e.addr = addr;
        // Poll until it answers.
        loop {
            if let Ok(r) = http(addr, "GET", "/.status") {
                if r.status == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "{addr} never answered /.status");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits (at most `limit`) for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `/.status` until stateright reports its run done; returns the status.
    pub fn wait_done(&self, limit: Duration) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let s = http(self.addr, "GET", "/.status").expect("/.status answers");
            let v: serde_json::Value = serde_json::from_slice(&s.body).expect("/.status is JSON");
            if v["done"] == true {
                return v;
            }
            assert!(Instant::now() < deadline, "the run never finished: {v}");
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Head (status line and headers).
    pub head: String,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends raw bytes and reads the whole answer (the front closes after one answer).
pub fn raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP head"))?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok(Answer {
        status,
        head,
        body: buf[end + 4..].to_vec(),
    })
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<Answer> {
    raw(
        addr,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
}

/// Runs a command to its end, killing it (and its process group) after `limit`.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("the command starts");
    let (out, out_done) = collect_until_closed(child.stdout.take().unwrap());
    let (err, err_done) = collect_until_closed(child.stderr.take().unwrap());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            // The whole group: chromium starts helper processes.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {limit:?}:\n{}\n{}",
                out.lock().unwrap().join("\n"),
                err.lock().unwrap().join("\n")
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    // Read the pipes to their end (a helper process left behind could hold them open: then
    // take what was read after a while).
    let drained = Instant::now() + Duration::from_secs(10);
    while !(out_done.is_finished() && err_done.is_finished()) && Instant::now() < drained {
        thread::sleep(Duration::from_millis(10));
    }
    let join = |v: &Lines| {
        let mut s = v.lock().unwrap().join("\n");
        s.push('\n');
        s.into_bytes()
    };
    Output {
        status,
        stdout: join(&out),
        stderr: join(&err),
    }
}
