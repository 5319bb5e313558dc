//! Checkpoints of `check --engine timely`: one file per worker and level, in a directory per
//! process, behind the [`CheckpointStore`] the engine writes through (when and how the
//! processes agree on a level is the engine's: [`sealcheck_distributed::checkpoint`]).
//!
//! Layout of `DIR`:
//!
//! ```text
//! DIR/process-<I>/worker-<W>-level-<L>.ckpt   worker W's cut of level L (W: global index)
//! DIR/process-<I>/manifest.json               the manifest of the process's newest write, for people
//! ```
//!
//! A file has the default engine's framing ([`super::file`]: magic, format version, JSON
//! manifest, body, FNV-1a checksum; written to a temporary name, synced and renamed) with the
//! magic `SEALTCKP`, a [`TimelyManifest`] and this body: the visited-set count (u64), per
//! unique state its fingerprint, parent fingerprint and action index (20 bytes), the frontier
//! count (u64), per frontier state its length (u32) and the state in bincode.
//!
//! `--resume` refuses, before any process connects, a checkpoint of another scenario or
//! configuration, sealcheck version, format, `--symmetry`, process count or worker count.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sealcheck_distributed::checkpoint::{CheckpointStore, Cut, CutMeta, CutRef};
use sealcheck_distributed::{Cluster, Link, Visited};
use sealcheck_model::SealModel;
use serde::{Deserialize, Serialize};
use stateright::Model;

use super::file;
use super::{CheckpointError, Identity, Plan};

/// The magic of a timely checkpoint file.
const MAGIC: &[u8; 8] = b"SEALTCKP";
/// The version of the layout above; another version is refused.
/// (2: a state carries the seal tasks of other nodes; 3: and the other readers' tail repairs.)
pub const FORMAT_VERSION: u32 = 3;
/// The suffix of a cut's file.
const SUFFIX: &str = ".ckpt";

/// What a timely checkpoint file says about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimelyManifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// The sealcheck version that wrote it.
    pub sealcheck_version: String,
    /// The scenario and options the run explores.
    pub identity: Identity,
    /// Whether the run explores with `--symmetry` (another state space).
    pub symmetry: bool,
    /// The fingerprints of the model's initial states (their representatives with symmetry).
    pub init_fingerprints: Vec<u64>,
    /// Processes of the run.
    pub processes: usize,
    /// Worker threads per process.
    pub workers: usize,
    /// The process that wrote it.
    pub process: usize,
    /// The worker (global index) whose cut it holds.
    pub worker: usize,
    /// Entries of its visited set.
    pub visited: usize,
    /// States of its frontier.
    pub frontier: usize,
    /// The totals and counters of the cut (its level among them).
    pub cut: CutMeta,
}

/// The checkpoints of one process of a timely run.
pub struct TimelyStore {
    /// `DIR/process-<I>`.
    dir: PathBuf,
    identity: Identity,
    symmetry: bool,
    init_fingerprints: Vec<u64>,
    processes: usize,
    workers: usize,
    process: usize,
    quiet: bool,
}

/// `DIR/process-<I>`.
fn process_dir(root: &Path, process: usize) -> PathBuf {
    root.join(format!("process-{process}"))
}

fn file_name(worker: usize, level: u64) -> String {
    format!("worker-{worker}-level-{level}{SUFFIX}")
}

/// The worker and level of a cut's file name.
fn parse_name(name: &str) -> Option<(usize, u64)> {
    let rest = name.strip_prefix("worker-")?.strip_suffix(SUFFIX)?;
    let (w, l) = rest.split_once("-level-")?;
    Some((w.parse().ok()?, l.parse().ok()?))
}

impl TimelyStore {
    /// The store of `cluster`'s process for a run of `model` under `plan`; `symmetry`: the
    /// run uses symmetry reduction. A fresh run creates the process's directory and refuses
    /// one that holds checkpoints; a resumed run checks every checkpoint of the process
    /// against this run (a usage error naming what differs).
    pub fn open(
        plan: &Plan,
        model: &SealModel,
        symmetry: bool,
        cluster: &Cluster,
    ) -> Result<TimelyStore, CheckpointError> {
        let store = TimelyStore {
            dir: process_dir(&plan.dir, cluster.process),
            identity: plan.identity.clone(),
            symmetry,
            init_fingerprints: model
                .init_states()
                .into_iter()
                .map(|s| {
                    let s = if symmetry { s.representative() } else { s };
                    sealcheck_distributed::fingerprint(&s)
                })
                .collect(),
            processes: cluster.processes,
            workers: cluster.workers,
            process: cluster.process,
            quiet: plan.quiet,
        };
        let files = store.files()?;
        if plan.resume {
            if files.is_empty() {
                return Err(CheckpointError::Unsupported(format!(
                    "{}: no checkpoint of --engine timely to resume for process {} (no worker-*-level-*{SUFFIX} file in {})",
                    plan.dir.display(),
                    cluster.process,
                    store.dir.display()
                )));
            }
            for (_, _, path) in &files {
                let (m, _) = file::open_framed::<TimelyManifest>(path, (MAGIC, FORMAT_VERSION))?;
                store.check(&plan.dir, &m)?;
            }
        } else {
            if !files.is_empty() || file::existing(&plan.dir).is_some() {
                return Err(CheckpointError::Exists(plan.dir.clone()));
            }
            std::fs::create_dir_all(&store.dir).map_err(|source| CheckpointError::Io {
                path: store.dir.clone(),
                source,
            })?;
        }
        Ok(store)
    }

    /// The cut files of this process: worker, level, path.
    fn files(&self) -> Result<Vec<(usize, u64, PathBuf)>, CheckpointError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(CheckpointError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name();
            if let Some((w, l)) = name.to_str().and_then(parse_name) {
                out.push((w, l, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Refuses a manifest of another run (`root`: the checkpoint directory, for messages).
    fn check(&self, root: &Path, m: &TimelyManifest) -> Result<(), CheckpointError> {
        let mut more = Vec::new();
        if m.processes != self.processes || m.workers != self.workers {
            more.push(format!(
                "the cluster: the checkpoint's run has {} x {} (processes x workers), this run {} x {}; resume with the same -n (or --local-processes) and -w",
                m.processes, m.workers, self.processes, self.workers
            ));
        }
        if m.symmetry != self.symmetry {
            let on = |s: bool| if s { "with" } else { "without" };
            more.push(format!(
                "--symmetry: the checkpoint's run explores {} it, this run {}",
                on(m.symmetry),
                on(self.symmetry)
            ));
        }
        if m.process != self.process {
            more.push(format!(
                "the process: the checkpoint in {} was written by process {}, this is process {}",
                self.dir.display(),
                m.process,
                self.process
            ));
        }
        let differences = self.identity.refusals(
            &m.sealcheck_version,
            &m.identity,
            more,
            m.init_fingerprints == self.init_fingerprints,
        );
        if differences.is_empty() {
            Ok(())
        } else {
            Err(CheckpointError::Mismatch {
                dir: root.to_path_buf(),
                differences,
            })
        }
    }

    fn manifest(&self, worker: usize, cut: &CutRef<'_>) -> TimelyManifest {
        TimelyManifest {
            format: FORMAT_VERSION,
            sealcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            identity: self.identity.clone(),
            symmetry: self.symmetry,
            init_fingerprints: self.init_fingerprints.clone(),
            processes: self.processes,
            workers: self.workers,
            process: self.process,
            worker,
            visited: cut.visited.len(),
            frontier: cut.frontier.len(),
            cut: cut.meta.clone(),
        }
    }

    fn read_cut(&self, worker: usize, level: u64) -> Result<Cut, CheckpointError> {
        let path = self.dir.join(file_name(worker, level));
        let (m, mut r) = file::open_framed::<TimelyManifest>(&path, (MAGIC, FORMAT_VERSION))?;
        self.check(self.dir.parent().unwrap_or(&self.dir), &m)?;
        if m.worker != worker || m.cut.level != level {
            return Err(r.corrupt("its manifest names another worker or level than its name"));
        }
        let n = r.count("the visited set", "visited-set", 20)?;
        let mut visited = Visited::default();
        visited.reserve(n as usize);
        for _ in 0..n {
            let (fp, parent, action) = r.link("the visited set")?;
            visited.insert(fp, Link { parent, action });
        }
        let q = r.count("the frontier", "frontier", 4)?;
        let mut frontier = Vec::with_capacity(q as usize);
        let mut buf = Vec::new();
        for _ in 0..q {
            let state = r.state("the frontier", &mut buf)?;
            let fp = sealcheck_distributed::fingerprint(&state);
            if !visited.contains_key(&fp) {
                return Err(r.corrupt("a frontier state is not in its visited set"));
            }
            frontier.push((fp, state));
        }
        if visited.len() != m.visited || frontier.len() != m.frontier {
            return Err(r.corrupt("its contents disagree with its manifest"));
        }
        r.finish()?;
        Ok(Cut {
            meta: m.cut,
            visited,
            frontier,
        })
    }
}

impl CheckpointStore for TimelyStore {
    fn levels(&self, worker: usize) -> Result<Vec<u64>, String> {
        Ok(self
            .files()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|(w, _, _)| *w == worker)
            .map(|(_, l, _)| l)
            .collect())
    }

    fn write(&self, worker: usize, cut: CutRef<'_>) -> Result<u64, String> {
        let start = Instant::now();
        let manifest = self.manifest(worker, &cut);
        let name = file_name(worker, cut.meta.level);
        let bytes = file::write_atomic(&self.dir, &name, (MAGIC, FORMAT_VERSION), &manifest, |w| {
            w.write_all(&(cut.visited.len() as u64).to_le_bytes())?;
            for (fp, link) in cut.visited {
                file::write_link(w, *fp, link.parent, link.action)?;
            }
            w.write_all(&(cut.frontier.len() as u64).to_le_bytes())?;
            let mut buf = Vec::new();
            for (_, state) in cut.frontier {
                file::write_state(w, &mut buf, state)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        if worker % self.workers == 0 {
            if let Ok(text) = serde_json::to_string_pretty(&manifest) {
                let _ = std::fs::write(self.dir.join(file::MANIFEST_NAME), text + "\n");
            }
        }
        if !self.quiet {
            eprintln!(
                "  checkpoint: process {} worker {worker} level {}: {} visited, {} frontier, {} in {:.2} s ({})",
                self.process,
                cut.meta.level,
                cut.visited.len(),
                cut.frontier.len(),
                crate::bounds::human_size(bytes),
                start.elapsed().as_secs_f64(),
                self.dir.join(&name).display()
            );
        }
        Ok(bytes)
    }

    fn read(&self, worker: usize, level: u64) -> Result<Cut, String> {
        let start = Instant::now();
        let cut = self.read_cut(worker, level).map_err(|e| e.to_string())?;
        if !self.quiet {
            eprintln!(
                "  resuming: process {} worker {worker} level {level}: {} visited, {} frontier, read in {:.2} s",
                self.process,
                cut.visited.len(),
                cut.frontier.len(),
                start.elapsed().as_secs_f64()
            );
        }
        Ok(cut)
    }

    fn retain(&self, worker: usize, keep: &dyn Fn(u64) -> bool) {
        for (w, l, path) in self.files().unwrap_or_default() {
            if w == worker && !keep(l) {
                let _ = std::fs::remove_file(path);
            }
        }
        // Temporary files of this worker's writes that a kill interrupted (it is not writing
        // now: it is the caller).
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let interrupted = name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".tmp"))
                .and_then(parse_name)
                .is_some_and(|(w, _)| w == worker);
            if interrupted {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Before `--local-processes n` starts its processes (of `workers` workers each): the checks
/// every process's [`TimelyStore::open`] makes, once, so that a refused checkpoint is one
/// message and exit 2 instead of one per process.
pub fn check_local(
    plan: &Plan,
    model: &SealModel,
    symmetry: bool,
    n: usize,
    workers: usize,
) -> Result<(), CheckpointError> {
    for process in 0..n {
        let mut cluster = Cluster::local(workers);
        cluster.processes = n;
        cluster.process = process;
        TimelyStore::open(plan, model, symmetry, &cluster)?;
    }
    Ok(())
}
