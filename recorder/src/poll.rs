//! Snapshots of a running cluster's SQL tables, taken with `restatectl sql`.
//!
//! The recorder (through [`crate::Ctl`], inside its namespace) and `sealcheck follow --sql`
//! (against any cluster it can reach) take the same three snapshots, [`TABLES`], and write
//! each as one `sql.jsonl` record ([`SqlRecord`]): the rows, or the error of a query that
//! failed. A failed query is evidence too (the node did not answer then), so it is written,
//! not skipped.
//!
//! [`SqlPoller`] takes them on a thread of its own into a file that must not exist yet: two
//! pollers writing one file would interleave two clocks' snapshots.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process;
use crate::raw::SqlRecord;
use crate::time::{format_rfc3339, now_us};
use crate::Error;

/// `nodes`: liveness and storage state with the nodes-configuration version.
pub const NODES_QUERY: &str = "SELECT plain_node_id, gen_node_id, state, storage_state, \
     worker_state, metadata_server_state, nodes_configuration_version FROM nodes";

/// `loglet_workers`: per log server and loglet, tails, seal flags and sequencer.
pub const LOGLET_WORKERS_QUERY: &str = "SELECT plain_node_id, gen_node_id, loglet_id, log_id, \
     segment_index, local_tail, staging_local_tail, known_global_tail, is_sealed, \
     seal_enqueued, accepting_writes, sequencer, trim_point, pending_seals FROM loglet_workers";

/// `logs`: the segments of every log chain.
pub const LOGS_QUERY: &str = "SELECT * FROM logs";

/// The tables a round of snapshots takes, in order, with their queries.
pub const TABLES: [(&str, &str); 3] = [
    ("nodes", NODES_QUERY),
    ("loglet_workers", LOGLET_WORKERS_QUERY),
    ("logs", LOGS_QUERY),
];

/// How long one query may take before it is killed and written as failed.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `restatectl` (`cmd`: the binary and its address arguments, maybe behind `nsenter`)
/// with `sql --jsonl QUERY` and short connect and request timeouts, and returns the snapshot:
/// the rows it printed, or the error of a run that failed or timed out. `Err` only when the
/// command cannot be started.
pub fn query(mut cmd: Command, table: &str, query: &str) -> Result<SqlRecord, Error> {
    cmd.args([
        "--connect-timeout",
        "1000",
        "--request-timeout",
        "3000",
        "sql",
        "--jsonl",
        query,
    ])
    .env("NO_COLOR", "1")
    .env_remove("RESTATECTL_ADDRESS");
    let start = now_us();
    let out = process::run_bounded(cmd, QUERY_TIMEOUT)?;
    let rows: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.is_object())
        .collect();
    let error = if out.exit == Some(0) {
        None
    } else {
        Some(format!(
            "exit={:?} timed_out={} stderr={}",
            out.exit,
            out.timed_out,
            out.stderr.trim()
        ))
    };
    Ok(SqlRecord {
        time: format_rfc3339(start),
        time_us: start,
        end_time_us: now_us(),
        table: table.to_string(),
        query: query.to_string(),
        rows,
        error,
    })
}

/// Takes a round of [`TABLES`] snapshots through `restatectl --address ADDR` every
/// `interval` (a round takes three restatectl runs) and appends them to a file, on a thread
/// of its own, until stopped or dropped.
#[derive(Debug)]
pub struct SqlPoller {
    thread: Background,
    failure: Arc<Mutex<Option<String>>>,
    rounds: Arc<std::sync::atomic::AtomicUsize>,
}

impl SqlPoller {
    /// Starts polling the cluster at `address` with the `restatectl` binary at `restatectl`
    /// into `out`, which must not exist yet (it is created). The first round starts at once.
    pub fn start(
        restatectl: &Path,
        address: &str,
        out: &Path,
        interval: Duration,
    ) -> Result<SqlPoller, Error> {
        if !restatectl.is_file() {
            return Err(Error::MissingBinaries {
                details: format!("restatectl not found at {}", restatectl.display()),
                fix: "pass --restatectl PATH, or set SEALCHECK_RESTATECTL".into(),
            });
        }
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(out)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::Process(format!(
                        "{} exists already: another poller (a recorder, an earlier follower) \
                         wrote snapshots there, and two pollers' snapshots must not mix; move \
                         it away, or leave out --sql to read it as it is",
                        out.display()
                    ))
                } else {
                    Error::io(out, e)
                }
            })?;
        let failure = Arc::new(Mutex::new(None));
        let rounds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (failed, done) = (failure.clone(), rounds.clone());
        let (restatectl, address, out) = (
            restatectl.to_path_buf(),
            address.to_string(),
            out.to_path_buf(),
        );
        let thread = Background::spawn(move |flag| {
            let mut file = file;
            while !flag.load(Ordering::SeqCst) {
                let until = Instant::now() + interval;
                if let Err(e) = round(&restatectl, &address, &out, &mut file) {
                    *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    return;
                }
                done.fetch_add(1, Ordering::SeqCst);
                while Instant::now() < until && !flag.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10));
                }
            }
        });
        Ok(SqlPoller {
            thread,
            failure,
            rounds,
        })
    }

    /// Why the poller stopped on its own (it could not start restatectl, or not write the
    /// file), if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rounds written so far.
    pub fn rounds(&self) -> usize {
        self.rounds.load(Ordering::SeqCst)
    }

    /// Stops and joins the thread (a round in progress finishes first).
    pub fn stop(mut self) {
        self.thread.stop();
    }
}

/// A thread that runs until it is told to stop: [`Background::stop`] and dropping it both set
/// its stop flag and join it (shared by the recorder's [`crate::cluster::Poller`] and
/// [`SqlPoller`]).
#[derive(Debug)]
pub(crate) struct Background {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Background {
    /// Runs `body` on a new thread; `body` gets the stop flag and returns once it is set.
    pub(crate) fn spawn(body: impl FnOnce(Arc<AtomicBool>) + Send + 'static) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        Background {
            stop,
            handle: Some(thread::spawn(move || body(flag))),
        }
    }

    /// Sets the stop flag and joins the thread (at once if it was joined already).
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One round: each table's snapshot, appended to `file` as one line each.
fn round(restatectl: &PathBuf, address: &str, out: &Path, file: &mut File) -> Result<(), Error> {
    for (table, q) in TABLES {
        let mut cmd = Command::new(restatectl);
        cmd.args(["--address", address]);
        let rec = query(cmd, table, q)?;
        let mut line = serde_json::to_string(&rec).expect("records serialize");
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(out, e))?;
    }
    Ok(())
}
