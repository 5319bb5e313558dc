//! Child processes: a private network namespace, bounded command runs, and clean-up by PID.
//!
//! Every process of a recorded cluster (servers, restatectl) runs inside one private network
//! namespace that has only `lo`, so that nothing leaves the machine (restate-server tries to reach
//! GitHub at startup). The namespace is kept alive by a *holder* process (`unshare --net sleep`);
//! other processes join it with `nsenter --net=/proc/PID/ns/net`, which `exec`s the program, so the
//! PID we hold is the program's own PID and signals (SIGSTOP, SIGKILL) reach it directly.
//! Threads of this process can join the namespace too ([`NetNs::spawn_thread`]): a network
//! namespace is a per-thread attribute on Linux, and sockets keep the namespace they were made in.
//!
//! Clean-up: every child is registered in a process-wide list of PIDs; [`NetNs`] and
//! [`crate::Cluster`] kill their children by PID on drop, and [`install_interrupt_handler`] kills
//! every registered PID on Ctrl-C / SIGTERM. Children also get `PR_SET_PDEATHSIG = SIGKILL`, so
//! they die if the thread that started them goes away. Every wait in this module is bounded.
//!
//! Scratch directories (a cluster's data, hundreds of MB): [`claim_scratch_dir`] creates one
//! with an owner file ([`SCRATCH_OWNER_FILE`]: this process's PID and start time) and registers
//! it; [`release_scratch_dir`] removes it, and so does the interrupt handler, after the children
//! are dead. A process killed outright (SIGKILL) cannot clean up: its directory is removed by
//! the next [`claim_scratch_dir`] beside it ([`remove_stale_scratch_dirs`]), which removes the
//! scratch directories whose owner is gone.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;

static CHILDREN: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Scratch directories this process claimed and has not released.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The file in a scratch directory that names its owner: `PID START_TIME` (start time in
/// clock ticks since boot, field 22 of `/proc/PID/stat`, so that a reused PID is not taken
/// for the owner).
pub const SCRATCH_OWNER_FILE: &str = ".sealcheck-owner";

/// Scratch directories are named `sealcheck-...`; only those are looked at for clean-up.
pub const SCRATCH_PREFIX: &str = "sealcheck-";

/// Start time of process `pid` (clock ticks since boot), `None` if it does not exist.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a scratch directory's owner is gone: its owner file names a process that does not
/// run any more (or a new process under a reused PID). A directory without an owner file is
/// judged by the PID in its name (`sealcheck-record-PID-...`, as recordings named it before
/// owner files), and never removed when it names none.
fn owner_gone(dir: &Path) -> bool {
    if let Ok(text) = std::fs::read_to_string(dir.join(SCRATCH_OWNER_FILE)) {
        let mut f = text.split_whitespace();
        let pid = f.next().and_then(|p| p.parse::<i32>().ok());
        let start = f.next().and_then(|t| t.parse::<u64>().ok());
        return match (pid, start) {
            (Some(pid), Some(start)) => start_time(pid) != Some(start),
            _ => false,
        };
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_prefix("sealcheck-record-")
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse::<i32>().ok())
        .is_some_and(|pid| start_time(pid).is_none())
}

/// Removes the scratch directories in `parent` (named [`SCRATCH_PREFIX`]`...`) whose owner
/// process is gone; returns those it removed.
pub fn remove_stale_scratch_dirs(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let ours = e.file_name().to_string_lossy().starts_with(SCRATCH_PREFIX);
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if ours && is_dir && owner_gone(&path) && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Creates `dir` (and its parents) as a scratch directory of this process: writes its owner
/// file and registers it, so that [`release_scratch_dir`] and the interrupt handler remove it.
/// First removes the stale scratch directories beside it ([`remove_stale_scratch_dirs`]);
/// returns those.
pub fn claim_scratch_dir(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let removed = dir
        .parent()
        .map(remove_stale_scratch_dirs)
        .unwrap_or_default();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let me = std::process::id() as i32;
    let owner = format!("{me} {}\n", start_time(me).unwrap_or(0));
    let owner_path = dir.join(SCRATCH_OWNER_FILE);
    std::fs::write(&owner_path, owner).map_err(|e| Error::io(&owner_path, e))?;
    let mut list = SCRATCH.lock().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|d| d == dir) {
        list.push(dir.to_path_buf());
    }
    Ok(removed)
}

/// Removes a scratch directory this process claimed, and forgets it.
pub fn release_scratch_dir(dir: &Path) -> Result<(), Error> {
    SCRATCH
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|d| d != dir);
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Waits (at most `timeout` in all) until none of `pids` runs any more; reaps those that are
/// our children.
fn wait_gone(pids: &[i32], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for &pid in pids {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with WNOHANG on a PID we started; no memory is shared.
            let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if rc == pid || start_time(pid).is_none() || Instant::now() > deadline {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Remembers a child PID so that the interrupt handler can kill it.
pub(crate) fn register(pid: i32) {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
}

/// Forgets a child PID (after it was reaped).
pub(crate) fn unregister(pid: i32) {
    CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
}

/// Installs a Ctrl-C / SIGTERM handler that resumes and kills (SIGKILL) every process the
/// recorder started and still holds, waits (at most 5 s) until they are gone, removes the
/// scratch directories this process claimed ([`claim_scratch_dir`]), then exits with status
/// 130. Call it once from a binary or an example; a library test run does not need it.
/// Calling it twice returns an error.
pub fn install_interrupt_handler() -> Result<(), Error> {
    ctrlc::set_handler(|| {
        let pids = CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for pid in pids.iter().rev() {
            send_signal(*pid, libc::SIGCONT);
            send_signal(*pid, libc::SIGKILL);
        }
        wait_gone(&pids, Duration::from_secs(5));
        let dirs = SCRATCH.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for dir in dirs {
            if !remove_settled(&dir) {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "sealcheck: could not remove the scratch directory {}",
                    dir.display()
                );
            }
        }
        std::process::exit(130);
    })
    .map_err(|e| Error::Process(format!("cannot install the interrupt handler: {e}")))
}

/// Removes `dir` and checks a moment later that it stays removed, up to 40 times: the
/// interrupted main thread (or a child the handler is still reaping) may write into it, or
/// create it again, while the handler removes it. Whether it is gone in the end.
fn remove_settled(dir: &Path) -> bool {
    for _ in 0..40 {
        let _ = std::fs::remove_dir_all(dir);
        thread::sleep(Duration::from_millis(25));
        if !dir.exists() {
            return true;
        }
    }
    false
}

/// The programs a recording runs besides the Restate binaries.
pub const REQUIRED_TOOLS: [&str; 3] = ["unshare", "nsenter", "ip"];

/// Checks that this process can record a cluster: it runs as root (network namespaces need
/// it) and [`REQUIRED_TOOLS`] are on `PATH`. Does not start anything. The error says what is
/// missing and how to fix it.
pub fn check_can_record() -> Result<(), Error> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        missing.push(
            "not running as root (a private network namespace needs `unshare --net`)".to_string(),
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in REQUIRED_TOOLS {
        if !std::env::split_paths(&path).any(|d| d.join(tool).is_file()) {
            missing.push(format!("`{tool}` is not on PATH"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Environment {
        details: missing.join("; "),
        fix: "run as root on Linux with util-linux (unshare, nsenter) and iproute2 (ip) installed"
            .into(),
    })
}

/// Sends `sig` to `pid`; returns false if the process does not exist (or cannot be signalled).
pub(crate) fn send_signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) has no memory-safety preconditions; the PID is one we started.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Makes the child die with SIGKILL when the thread that spawned it exits.
pub(crate) fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Kills a child (SIGCONT first, in case it is stopped, then SIGKILL) and reaps it, waiting at
/// most `timeout`.
pub(crate) fn kill_and_reap(child: &mut Child, timeout: Duration) {
    let pid = child.id() as i32;
    if let Ok(None) = child.try_wait() {
        send_signal(pid, libc::SIGCONT);
        let _ = child.kill();
    }
    let _ = wait_timeout(child, timeout);
    unregister(pid);
}

/// Waits for a child to exit, at most `timeout`; `None` if it is still running.
pub(crate) fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// What a bounded command run produced.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// Exit code; `None` if killed by a signal or by the timeout.
    pub exit: Option<i32>,
    /// Whether the run was killed because it exceeded its timeout.
    pub timed_out: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Runs `cmd` to completion with captured output, killing it after `timeout`.
pub(crate) fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<CommandOutput, Error> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Process(format!("cannot start {:?}: {e}", cmd.get_program())))?;
    let pid = child.id() as i32;
    register(pid);
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let status = wait_timeout(&mut child, timeout);
    let timed_out = status.is_none();
    if timed_out {
        kill_and_reap(&mut child, Duration::from_secs(5));
    }
    unregister(pid);
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ok(CommandOutput {
        exit: status.and_then(|s| s.code()),
        timed_out,
        stdout,
        stderr,
    })
}

/// A private network namespace with only the loopback interface, kept alive by a holder process.
///
/// Dropping it kills the holder; processes still inside keep the namespace alive, so drop the
/// [`crate::Cluster`] first (it owns its `NetNs` and does that in order).
#[derive(Debug)]
pub struct NetNs {
    holder: Child,
}

impl NetNs {
    /// Creates the namespace (needs root: `unshare --net`) and brings `lo` up. Waits at most
    /// five seconds for the holder to enter its namespace.
    pub fn create() -> Result<NetNs, Error> {
        let mut cmd = Command::new("unshare");
        cmd.args(["--net", "sleep", "86400"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        let holder = cmd
            .spawn()
            .map_err(|e| Error::Process(format!("cannot run `unshare --net`: {e}")))?;
        register(holder.id() as i32);
        let ns = NetNs { holder };
        let mine = std::fs::read_link("/proc/self/ns/net").ok();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let theirs = std::fs::read_link(ns.path()).ok();
            if theirs.is_some() && theirs != mine {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Process(
                    "the `unshare --net` holder did not enter a new network namespace within 5 s (are we root?)"
                        .into(),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
        let mut up = ns.command(Path::new("ip"));
        up.args(["link", "set", "lo", "up"]);
        let out = run_bounded(up, Duration::from_secs(10))?;
        if out.exit != Some(0) {
            return Err(Error::Process(format!(
                "`ip link set lo up` in the namespace failed: {}",
                out.stderr.trim()
            )));
        }
        Ok(ns)
    }

    /// PID of the holder process.
    pub fn holder_pid(&self) -> i32 {
        self.holder.id() as i32
    }

    /// `/proc/PID/ns/net` of the holder.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.holder_pid()))
    }

    /// A command that runs `program` inside the namespace (`nsenter --net=... program`).
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.path().display()))
            .arg(program);
        cmd
    }

    /// Runs `f` on a new thread that has joined the namespace; sockets it creates live there.
    pub fn spawn_thread<F, T>(&self, name: &str, f: F) -> Result<thread::JoinHandle<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let file = std::fs::File::open(self.path())
            .map_err(|e| Error::Process(format!("cannot open {}: {e}", self.path().display())))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                use std::os::fd::AsRawFd;
                // SAFETY: setns on a valid namespace fd only changes this thread's namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                let ok = rc == 0;
                let _ = tx.send(if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error().to_string())
                });
                drop(file);
                if !ok {
                    panic!("setns failed");
                }
                f()
            })
            .map_err(|e| Error::Process(format!("cannot spawn thread: {e}")))?;
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(e)) => Err(Error::Process(format!(
                "setns into the namespace failed: {e}"
            ))),
            Err(_) => Err(Error::Process("namespace thread did not start".into())),
        }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        kill_and_reap(&mut self.holder, Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("scratch-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The PID of a process that ran and is gone.
    fn dead_pid() -> i32 {
        let mut c = Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id() as i32
    }

    fn owned_by(dir: &Path, pid: i32, start: u64) {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join(SCRATCH_OWNER_FILE), format!("{pid} {start}\n")).unwrap();
    }

    #[test]
    fn a_claimed_scratch_dir_names_its_owner_and_is_removed_on_release() {
        let base = sandbox("claim");
        let dir = base.join("sealcheck-record-mine");
        assert!(claim_scratch_dir(&dir).unwrap().is_empty());
        let owner = std::fs::read_to_string(dir.join(SCRATCH_OWNER_FILE)).unwrap();
        let me = std::process::id() as i32;
        assert_eq!(owner, format!("{me} {}\n", start_time(me).unwrap()));
        assert!(SCRATCH.lock().unwrap().contains(&dir));
        // Its own directory is not stale.
        assert!(remove_stale_scratch_dirs(&base).is_empty());
        release_scratch_dir(&dir).unwrap();
        assert!(!dir.exists());
        assert!(!SCRATCH.lock().unwrap().contains(&dir));
        release_scratch_dir(&dir).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn scratch_dirs_whose_owner_is_gone_are_removed_and_no_other() {
        let base = sandbox("stale");
        let me = std::process::id() as i32;
        let my_start = start_time(me).unwrap();
        let dead = dead_pid();
        // Stale: the owner is gone; the PID now names another process (start time differs);
        // an old directory without owner file whose name holds a dead PID.
        let gone = base.join("sealcheck-record-a");
        owned_by(&gone, dead, 12345);
        let reused = base.join("sealcheck-record-b");
        owned_by(&reused, me, my_start + 1);
        let legacy = base.join(format!("sealcheck-record-{dead}-incident"));
        std::fs::create_dir_all(legacy.join("n1")).unwrap();
        // Kept: a live owner; not named sealcheck-; no owner file and no PID in the name; an
        // old-style name whose PID runs; an owner file that does not parse.
        let live = base.join("sealcheck-record-c");
        owned_by(&live, me, my_start);
        let other = base.join("other-tool-dir");
        owned_by(&other, dead, 1);
        let unknown = base.join("sealcheck-something");
        std::fs::create_dir_all(&unknown).unwrap();
        let running = base.join(format!("sealcheck-record-{me}-incident"));
        std::fs::create_dir_all(&running).unwrap();
        let garbled = base.join("sealcheck-record-d");
        std::fs::create_dir_all(&garbled).unwrap();
        std::fs::write(garbled.join(SCRATCH_OWNER_FILE), "not a pid").unwrap();

        let mut removed = remove_stale_scratch_dirs(&base);
        removed.sort();
        let mut want = vec![gone.clone(), reused.clone(), legacy.clone()];
        want.sort();
        assert_eq!(removed, want);
        for d in [&gone, &reused, &legacy] {
            assert!(!d.exists(), "{}", d.display());
        }
        for d in [&live, &other, &unknown, &running, &garbled] {
            assert!(d.exists(), "{}", d.display());
        }
        // Claiming a directory beside them cleans up too.
        let again = base.join("sealcheck-record-e");
        owned_by(&again, dead, 7);
        let mine = base.join("sealcheck-record-new");
        assert_eq!(claim_scratch_dir(&mine).unwrap(), vec![again.clone()]);
        release_scratch_dir(&mine).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
