//! Where the processes of a run are, and how this process starts its workers among them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks, WorkerGuards};

use crate::connect::{connect, Wait};
use crate::liveness::Liveness;
use crate::outcome::Bounds;
use crate::secret::Secret;

/// Where the processes of a run are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Worker threads per process (timely's `-w`).
    pub workers: usize,
    /// Number of processes (`-n`).
    pub processes: usize,
    /// This process's index (`-p`), from 0.
    pub process: usize,
    /// The address (`host:port`) of every process, in process order; empty for one process.
    pub addresses: Vec<String>,
    /// The secret every process presents when it connects to another; required with several
    /// processes (a run without one is refused).
    pub secret: Option<Secret>,
}

impl Cluster {
    /// One process with `workers` threads.
    pub fn local(workers: usize) -> Cluster {
        Cluster {
            workers,
            processes: 1,
            process: 0,
            addresses: Vec::new(),
            secret: None,
        }
    }

    /// Total workers over all processes.
    pub fn peers(&self) -> usize {
        self.workers * self.processes
    }

    /// Reads a hostfile (`--hostfile`): one `host:port` per line, the first `processes` lines
    /// used; a regular file of at most 64 KiB, without port 0 or a repeated address. Errors
    /// name the flag, the file and the line.
    pub fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>, String> {
        crate::hostfile::read(path, processes)
    }

    /// How long connecting may take: [`CONNECT_WAIT`], or less with `--timeout` (which counts
    /// from `start`).
    fn wait(&self, bounds: &Bounds, start: Instant) -> Wait {
        let mut deadline = start + CONNECT_WAIT;
        let mut label = format!("within {} s", CONNECT_WAIT.as_secs());
        if let Some(t) = bounds.timeout.filter(|&t| start + t < deadline) {
            deadline = start + t;
            label = format!("within {} s (--timeout)", t.as_secs_f64());
        }
        Wait {
            deadline,
            label,
            interrupt: bounds.interrupt.clone(),
        }
    }

    /// Starts timely's workers for this process: threads in this process, and with several
    /// processes, the authenticated connections to the others (see [`crate::connect`]) and
    /// the heartbeats that watch them (returned with the workers).
    pub(crate) fn execute<T, F>(
        &self,
        bounds: &Bounds,
        start: Instant,
        func: F,
    ) -> Result<(WorkerGuards<T>, Option<Arc<Liveness>>), String>
    where
        T: Send + 'static,
        F: Fn(&mut timely::worker::Worker) -> T + Send + Sync + 'static,
    {
        if self.processes == 1 {
            let communication = if self.workers > 1 {
                timely::CommunicationConfig::Process(self.workers)
            } else {
                timely::CommunicationConfig::Thread
            };
            let guards = timely::execute(
                timely::Config {
                    communication,
                    worker: timely::WorkerConfig::default(),
                },
                func,
            )?;
            return Ok((guards, None));
        }
        let secret = self.secret.as_ref().ok_or_else(|| {
            format!(
                "{} processes need a shared secret (--secret-file)",
                self.processes
            )
        })?;
        let links = connect(
            &self.addresses,
            self.process,
            secret,
            &self.wait(bounds, start),
        )?;
        crate::liveness::install_panic_hook();
        let live = Liveness::start(self.processes, links.heartbeat);
        let hooks = Hooks::default();
        let local = ProcessBuilder::new_typed_vector(
            self.workers,
            hooks.refill.clone(),
            hooks.spill.clone(),
        );
        let (builders, guard) = initialize_networking_from_sockets(
            local,
            links.data,
            self.process,
            self.workers,
            hooks,
        )
        .map_err(|e| format!("process {}: {e}", self.process))?;
        let guards = timely::execute::execute_from(
            builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
            Box::new(guard),
            timely::WorkerConfig::default(),
            func,
        )?;
        Ok((guards, Some(live)))
    }
}

/// Most worker threads per process, and most processes, a cluster may have (as many as
/// `sealcheck check --threads` allows).
pub const MAX_COUNT: usize = 256;

/// Parses a count of workers or processes given to the command-line flag `flag`: a whole
/// number from 1 to [`MAX_COUNT`]. The error names the flag.
pub fn parse_count(text: &str, flag: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} must be a whole number from 1 to {MAX_COUNT}"
        )),
    }
}

/// How long a process waits for the others of its cluster to connect (less with `--timeout`).
pub const CONNECT_WAIT: Duration = Duration::from_secs(120);
