//! Records what a real Restate 1.7.12 cluster does around the seal of a replicated loglet.
//!
//! sealcheck checks a model of the seal protocol against real runs. This crate produces and reads
//! the *raw material* of those runs:
//!
//! - [`Binaries`] finds `restate-server` and `restatectl` (npm-pinned under `restate/`);
//!   [`versions`] installs other published Restate versions, each pinned by a committed
//!   lockfile, into a cache (`--restate-version`).
//! - [`Cluster`] runs three nodes inside a private network namespace that has only `lo`, records
//!   every operator action, restatectl run and SQL snapshot, and stops everything by PID.
//! - [`run_scenario`] drives one [`Scenario`] (seal on a fresh cluster, with appends, with paused,
//!   killed, cut-off or re-stated log servers) and leaves a raw directory behind (layout in
//!   [`raw`]).
//! - [`netfault`] cuts a node's fabric port off inside the namespace with nft (a partition,
//!   packet loss, connection resets): [`Cluster::apply_fault`], [`Cluster::clear_faults`].
//! - [`parse_raw_dir`] reads a raw directory back into a [`RawRun`]: one time-ordered list of
//!   neutral [`Fact`]s (self-provisioning, loglet creation, seal start/completion/failure, the
//!   all-Provisioning warning, observed storage states and loglet workers, operator actions)
//!   and the typed SQL snapshots. Restate's printed forms (node ids, nodesets, replication) are
//!   parsed in [`text`].
//! - [`import::import_raw_dir`] translates a raw directory into a trace of the model (the
//!   translation rules are [`import`]'s documentation; [`mod@import::scope`] says what becomes of
//!   every kind of record).
//! - [`record::record`] records a scenario end to end and imports it (what `sealcheck record`
//!   runs).
//! - [`reproduce`] walks a path of the model on the cluster: [`reproduce::control_of`] is the
//!   step-to-control table, [`reproduce::plan`] and [`reproduce::reproduce`] plan and run it
//!   (what `sealcheck reproduce` runs).
//!
//! Running a cluster needs root (network namespaces) and the npm binaries; parsing needs neither:
//!
//! ```no_run
//! use std::path::Path;
//! use sealcheck_recorder::{parse_raw_dir, Fact};
//!
//! let run = parse_raw_dir(Path::new("traces/restate-1.7.12/incident-forced/raw"))?;
//! for f in &run.facts {
//!     if let Fact::AllProvisioningWarning { node, loglet } = &f.fact {
//!         println!("{} N{node} refused to seal {loglet}", f.time);
//!     }
//! }
//! # Ok::<(), sealcheck_recorder::Error>(())
//! ```
//!
//! Recording (as root):
//!
//! ```no_run
//! use std::path::Path;
//! use sealcheck_recorder::{run_scenario, Binaries, Scenario, ScenarioOptions};
//!
//! let bins = Binaries::from_env(Path::new("."))?;
//! let opts = ScenarioOptions::new("/tmp/sealcheck-work", "traces/restate-1.7.12/incident/raw");
//! let report = run_scenario(Scenario::Incident, &bins, &opts)?;
//! println!("{}", report.summary);
//! # Ok::<(), sealcheck_recorder::Error>(())
//! ```

#![warn(missing_docs)]

pub mod binaries;
pub mod cluster;
pub mod endpoint;
pub mod import;
pub mod load;
pub mod netfault;
pub mod parse;
pub mod poll;
pub mod process;
pub mod raw;
pub mod record;
pub mod reproduce;
pub mod scenario;
pub mod text;
pub mod time;
pub mod versions;

use std::path::{Path, PathBuf};

pub use binaries::Binaries;
pub use cluster::{Cluster, ClusterConfig, Ctl, LogSegment, Poller};
pub use parse::{parse_raw_dir, Fact, NodeSealStatus, RawRun, SqlRow, SqlSnapshot, TimedFact};
pub use process::{check_can_record, install_interrupt_handler, NetNs};
pub use raw::{ActionRecord, CtlRecord, Meta, NodeMeta, SqlRecord};
pub use scenario::{run_scenario, Scenario, ScenarioOptions, ScenarioReport};

/// Everything that can go wrong while recording or parsing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Restate binary is missing.
    #[error("Restate binaries missing: {details}; to fix: {fix}")]
    MissingBinaries {
        /// Which binary, where it was looked for.
        details: String,
        /// How to install them.
        fix: String,
    },
    /// Installing a Restate version ([`versions::Installer::install`]) failed.
    #[error("installing Restate {version} failed: {details}; to do it by hand: {by_hand}")]
    Install {
        /// The version.
        version: String,
        /// What failed.
        details: String,
        /// The commands that install it by hand.
        by_hand: String,
    },
    /// This machine or user cannot run a cluster (not root, `unshare` missing, ...).
    #[error("cannot record here: {details}; to fix: {fix}")]
    Environment {
        /// What is missing.
        details: String,
        /// What to do about it.
        fix: String,
    },
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Starting, signalling or waiting for a process failed.
    #[error("process error: {0}")]
    Process(String),
    /// A bounded wait ran out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// restatectl failed where the recorder needed it to succeed.
    #[error("restatectl {cmd} failed: {message}")]
    Restatectl {
        /// The arguments.
        cmd: String,
        /// Its output.
        message: String,
    },
    /// The stand-in deployment or an HTTP call into the cluster failed.
    #[error("http error: {0}")]
    Http(String),
    /// A raw-directory file is ill-formed.
    #[error("{file}:{line}: {message}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// 1-based line number (0 for the whole file).
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
