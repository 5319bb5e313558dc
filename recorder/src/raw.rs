//! The raw directory: what one recorded run leaves on disk, and the record types of its files.
//!
//! ```text
//! <raw>/meta.json          Meta: scenario, nodes, target log, its loglet, nodeset, sequencer
//! <raw>/actions.jsonl      ActionRecord per operator action the recorder performed
//! <raw>/restatectl.jsonl   CtlRecord per restatectl run (argv, exit code, stdout, stderr)
//! <raw>/sql.jsonl          SqlRecord per `restatectl sql --jsonl` snapshot (parsed rows)
//! <raw>/logs/n<ID>.log     the server's stdout+stderr (JSON lines), appended across restarts
//! ```
//!
//! Every record carries `time` (UTC RFC 3339, microseconds) and `time_us` (microseconds since the
//! Unix epoch) taken on this machine's clock, the same clock the servers stamp their log lines
//! with, so the files can be merged into one order (see [`crate::parse`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::time::{format_rfc3339, Micros};
use crate::Error;

/// File name of the run description.
pub const META_FILE: &str = "meta.json";
/// File name of the operator actions.
pub const ACTIONS_FILE: &str = "actions.jsonl";
/// File name of the restatectl runs.
pub const CTL_FILE: &str = "restatectl.jsonl";
/// File name of the SQL snapshots.
pub const SQL_FILE: &str = "sql.jsonl";
/// Sub-directory of the server logs.
pub const LOGS_DIR: &str = "logs";
/// Largest `meta.json` [`crate::parse_raw_dir`] reads (a recorded one is a few KiB).
pub const MAX_META_BYTES: u64 = 1 << 20;
/// Largest record file or server log [`crate::parse_raw_dir`] reads: each is held in memory
/// while it is parsed (recorded ones are well under 1 MiB).
pub const MAX_RAW_FILE_BYTES: u64 = 256 << 20;

/// The server log file of node `id` inside a raw directory.
pub fn node_log_path(raw_dir: &Path, id: u32) -> PathBuf {
    raw_dir.join(LOGS_DIR).join(format!("n{id}.log"))
}

/// Opens an input file for reading, refusing anything that is not a regular file once symlinks
/// are followed: a FIFO would block the open (or the first read) until a writer comes, a device
/// such as `/dev/zero` never ends, a directory is not a file. The refusal is an
/// [`std::io::ErrorKind::InvalidInput`] error whose text says `not a regular file (a FIFO)`.
///
/// The file type is checked before opening (opening some devices has side effects), the open
/// itself does not block (`O_NONBLOCK`, which reads of regular files ignore), and the opened file
/// is checked again, in case the path was replaced in between.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    check_regular(&std::fs::metadata(path)?)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

fn check_regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    let t = meta.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "of an unknown type"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    ))
}

/// Reads a whole regular file (see [`open_regular`]) of at most `cap` bytes. A larger file is
/// refused before anything is read, with an [`std::io::ErrorKind::InvalidData`] error saying
/// `larger than the N-byte limit`; the cap is also enforced while reading, for files whose size
/// the file system does not know in advance.
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let too_large = |len: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{len} bytes: larger than the {cap}-byte limit for this file"),
        )
    };
    let len = file.metadata()?.len();
    if len > cap {
        return Err(too_large(len));
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

/// One operator action performed by the recorder (start, pause, kill, seal, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// When the action was performed (RFC 3339, UTC).
    pub time: String,
    /// The same instant in microseconds since the Unix epoch.
    pub time_us: Micros,
    /// Kebab-case action name, e.g. `pause-node`, `seal-log`, `set-storage-state`.
    pub action: String,
    /// Node ids the action targets (may be empty).
    #[serde(default)]
    pub nodes: Vec<u32>,
    /// Free-form details (PIDs, signal, log id, requested state, ...).
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// One restatectl run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtlRecord {
    /// Start time (RFC 3339, UTC).
    pub time: String,
    /// Start time in microseconds since the Unix epoch.
    pub time_us: Micros,
    /// End time in microseconds since the Unix epoch.
    pub end_time_us: Micros,
    /// argv after the restatectl binary.
    pub cmd: Vec<String>,
    /// Exit code, `None` if killed (e.g. timeout).
    pub exit: Option<i32>,
    /// Whether the recorder killed it at its timeout.
    #[serde(default)]
    pub timed_out: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// One SQL snapshot of a system table through `restatectl sql --jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlRecord {
    /// Start time (RFC 3339, UTC).
    pub time: String,
    /// Start time in microseconds since the Unix epoch.
    pub time_us: Micros,
    /// End time in microseconds since the Unix epoch.
    pub end_time_us: Micros,
    /// Table name (`loglet_workers`, `nodes`, `logs`).
    pub table: String,
    /// The query text.
    pub query: String,
    /// Rows (one JSON object each); empty if the query failed.
    pub rows: Vec<serde_json::Value>,
    /// Why the query failed (exit code and stderr), if it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// Ports of one node (all on 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMeta {
    /// Plain node id (1-based).
    pub id: u32,
    /// Node name in the cluster (`n<ID>`).
    pub name: String,
    /// Message fabric (node-to-node, restatectl) port.
    pub fabric_port: u16,
    /// Admin API port.
    pub admin_port: u16,
    /// HTTP ingress port.
    pub ingress_port: u16,
}

/// Description of a recorded run (`meta.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Scenario name (kebab-case).
    pub scenario: String,
    /// Restate version that was run.
    pub restate_version: String,
    /// Cluster name.
    pub cluster_name: String,
    /// The nodes, all running metadata-server, admin, worker, log-server, http-ingress.
    pub nodes: Vec<NodeMeta>,
    /// Partitions the cluster was provisioned with.
    pub num_partitions: u32,
    /// Log replication the cluster was provisioned with (`{node: 2}`).
    pub log_replication: String,
    /// The log the scenario seals.
    pub log_id: u64,
    /// Loglet id of the log's tail segment when the scenario acted (e.g. `0_0`), if known.
    pub loglet_id: Option<String>,
    /// Nodeset of that loglet, in the order the `logs` table prints it.
    pub nodeset: Vec<u32>,
    /// Replication property of that loglet as printed (`{node: 2}`).
    pub replication: Option<String>,
    /// Sequencer of that loglet (generational id, e.g. `N3:1`).
    pub sequencer: Option<String>,
    /// Node whose admin endpoint restatectl sent the seal to (`-S`), if a single one.
    pub seal_via: Option<u32>,
    /// Run start and end (microseconds since the Unix epoch).
    pub started_us: Micros,
    /// See `started_us`.
    pub ended_us: Micros,
    /// What the scenario did, in words, and anything noteworthy the runner saw.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Append-only writers for the files of a raw directory; shared between threads.
#[derive(Debug)]
pub struct RawWriter {
    dir: PathBuf,
    actions: Mutex<File>,
    ctl: Mutex<File>,
    sql: Mutex<File>,
}

fn append(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

fn write_line<T: Serialize>(file: &Mutex<File>, rec: &T) -> Result<(), Error> {
    let mut line = serde_json::to_string(rec).expect("records serialize");
    line.push('\n');
    let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
    f.write_all(line.as_bytes())
        .map_err(|e| Error::Process(format!("cannot write a raw record: {e}")))
}

impl RawWriter {
    /// Creates `dir` (and `dir/logs`) and opens the record files for appending.
    pub fn create(dir: &Path) -> Result<RawWriter, Error> {
        std::fs::create_dir_all(dir.join(LOGS_DIR)).map_err(|e| Error::io(dir, e))?;
        Ok(RawWriter {
            dir: dir.to_path_buf(),
            actions: Mutex::new(append(&dir.join(ACTIONS_FILE))?),
            ctl: Mutex::new(append(&dir.join(CTL_FILE))?),
            sql: Mutex::new(append(&dir.join(SQL_FILE))?),
        })
    }

    /// The raw directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records an operator action at `time_us`.
    pub fn action(
        &self,
        time_us: Micros,
        action: &str,
        nodes: &[u32],
        detail: serde_json::Value,
    ) -> Result<(), Error> {
        write_line(
            &self.actions,
            &ActionRecord {
                time: format_rfc3339(time_us),
                time_us,
                action: action.to_string(),
                nodes: nodes.to_vec(),
                detail,
            },
        )
    }

    /// Records a restatectl run.
    pub fn ctl(&self, rec: &CtlRecord) -> Result<(), Error> {
        write_line(&self.ctl, rec)
    }

    /// Records a SQL snapshot.
    pub fn sql(&self, rec: &SqlRecord) -> Result<(), Error> {
        write_line(&self.sql, rec)
    }

    /// Writes `meta.json` (pretty-printed), replacing an earlier one.
    pub fn meta(&self, meta: &Meta) -> Result<(), Error> {
        let path = self.dir.join(META_FILE);
        let text = serde_json::to_string_pretty(meta).expect("meta serializes");
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
    }
}
