//! Where the processes of a run are, and the connections between them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks, WorkerGuards};

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
}

impl Cluster {
    /// One process with `workers` threads.
    pub fn local(workers: usize) -> Cluster {
        Cluster {
            workers,
            processes: 1,
            process: 0,
            addresses: Vec::new(),
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

    /// Connects to the other processes (timely's protocol: each process connects to the
    /// processes before it and accepts the ones after it, each connection starting with the
    /// connecting process's index), within `wait`, saying on stderr what it waits for.
    /// timely's own set-up prints to stdout and retries forever; this one keeps stdout for the
    /// report and gives up with an error naming the missing process.
    fn connect(&self, wait: Duration) -> Result<Vec<Option<TcpStream>>, String> {
        let me = self.process;
        let deadline = Instant::now() + wait;
        let listener = TcpListener::bind(&self.addresses[me])
            .map_err(|e| format!("process {me} cannot listen on {}: {e}", self.addresses[me]))?;
        let mut sockets: Vec<Option<TcpStream>> = Vec::new();
        for (i, addr) in self.addresses.iter().enumerate().take(me) {
            let mut said = false;
            let mut stream = loop {
                match TcpStream::connect(addr) {
                    Ok(s) => break s,
                    Err(e) if Instant::now() < deadline => {
                        if !said {
                            eprintln!("process {me}: waiting for process {i} at {addr} ({e})");
                            said = true;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) => {
                        return Err(format!(
                            "process {me} could not reach process {i} at {addr} within {} s: {e}",
                            wait.as_secs()
                        ))
                    }
                }
            };
            stream
                .set_nodelay(true)
                .and_then(|_| stream.write_all(&(me as u64).to_be_bytes()))
                .map_err(|e| format!("process {me}: connection to process {i} at {addr}: {e}"))?;
            sockets.push(Some(stream));
        }
        sockets.push(None);
        let later = self.processes - me - 1;
        let mut accepted: Vec<Option<TcpStream>> = (0..later).map(|_| None).collect();
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("process {me}: {e}"))?;
        let mut said = false;
        while accepted.iter().any(Option::is_none) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let mut buf = [0u8; 8];
                    stream
                        .set_nonblocking(false)
                        .and_then(|_| stream.set_nodelay(true))
                        .and_then(|_| stream.read_exact(&mut buf))
                        .map_err(|e| format!("process {me}: incoming connection: {e}"))?;
                    let from = u64::from_be_bytes(buf) as usize;
                    if from <= me || from >= self.processes || accepted[from - me - 1].is_some() {
                        return Err(format!(
                            "process {me}: unexpected connection announcing process {from}"
                        ));
                    }
                    accepted[from - me - 1] = Some(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let missing: Vec<String> = accepted
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| s.is_none())
                            .map(|(j, _)| (me + 1 + j).to_string())
                            .collect();
                        return Err(format!(
                            "process {me} at {}: processes {} did not connect within {} s",
                            self.addresses[me],
                            missing.join(", "),
                            wait.as_secs()
                        ));
                    }
                    if !said {
                        eprintln!(
                            "process {me}: waiting for processes {}..{} to connect to {}",
                            me + 1,
                            self.processes - 1,
                            self.addresses[me]
                        );
                        said = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(format!("process {me}: {e}")),
            }
        }
        sockets.extend(accepted);
        Ok(sockets)
    }

    /// Starts timely's workers for this process: threads in this process, and with several
    /// processes, the connections to the others (see [`Cluster::connect`]).
    pub(crate) fn execute<T, F>(&self, func: F) -> Result<WorkerGuards<T>, String>
    where
        T: Send + 'static,
        F: Fn(&mut timely::worker::Worker) -> T + Send + Sync + 'static,
    {
        if self.processes > 1 {
            let sockets = self.connect(CONNECT_WAIT)?;
            let hooks = Hooks::default();
            let local = ProcessBuilder::new_typed_vector(
                self.workers,
                hooks.refill.clone(),
                hooks.spill.clone(),
            );
            let (builders, guard) = initialize_networking_from_sockets(
                local,
                sockets,
                self.process,
                self.workers,
                hooks,
            )
            .map_err(|e| format!("process {}: {e}", self.process))?;
            timely::execute::execute_from(
                builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
                Box::new(guard),
                timely::WorkerConfig::default(),
                func,
            )
        } else {
            let communication = if self.workers > 1 {
                timely::CommunicationConfig::Process(self.workers)
            } else {
                timely::CommunicationConfig::Thread
            };
            timely::execute(
                timely::Config {
                    communication,
                    worker: timely::WorkerConfig::default(),
                },
                func,
            )
        }
    }
}

/// How long a process waits for the others of its cluster to connect.
pub const CONNECT_WAIT: Duration = Duration::from_secs(120);
