//! What a run is given (its bounds) and what it returns (its outcome, its progress).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How many states a worker expands between two checks of the time limit, the state bound
/// and the interrupt flag, and reads the memory bound (the thread that waits for the workers
/// also reads it every 50 ms).
pub const CHECK_EVERY: usize = 1024;

/// The bounds of a run. Each is enforced by the workers while they expand states.
#[derive(Clone, Debug, Default)]
pub struct Bounds {
    /// Stop after generating this many states (over all processes; each process stops when
    /// its own share, scaled by the number of processes, reaches it).
    pub max_states: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Stop when this process's resident memory reaches this many bytes.
    pub max_memory: Option<u64>,
    /// Stop when this flag is set (Ctrl-C).
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Bounds {
    /// Whether the interrupt flag is set (Ctrl-C or SIGTERM arrived).
    pub fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|i| i.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Why a run stopped before covering the state space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stop {
    /// The state bound (the bound).
    States(u64),
    /// The time limit (milliseconds since the start when it tripped).
    Timeout(u64),
    /// The memory bound: resident memory seen and the bound, bytes.
    Memory {
        /// Resident memory when the bound tripped.
        rss: u64,
        /// The bound.
        limit: u64,
    },
    /// The interrupt flag.
    Interrupted,
    /// A peer process (its index) died, stopped answering or closed its connection.
    PeerLost(usize),
}

impl Stop {
    pub(crate) fn code(self) -> u8 {
        match self {
            Stop::States(_) => 1,
            Stop::Timeout(_) => 2,
            Stop::Memory { .. } => 3,
            Stop::Interrupted => 4,
            Stop::PeerLost(_) => 0,
        }
    }
}

/// The statistics of one breadth-first level, as a process prints them.
#[derive(Clone, Debug)]
pub struct LevelProgress {
    /// The level (0: the initial states).
    pub level: usize,
    /// States generated so far, all processes (stateright's count, initial states included).
    pub states: u64,
    /// Unique states so far, all processes.
    pub unique: u64,
    /// New states of this level: the frontier the next level expands.
    pub frontier: u64,
    /// This process's index.
    pub process: usize,
    /// Unique states in this process's partitions of the visited set.
    pub process_unique: u64,
    /// This process's resident memory, bytes.
    pub rss: Option<u64>,
    /// Time since the start.
    pub elapsed: Duration,
}

/// Called by the first worker of each process after every level.
pub type ProgressFn = Arc<dyn Fn(&LevelProgress) + Send + Sync>;

/// What a run found. Every process computes the same outcome (totals are exchanged).
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Unique states, all processes.
    pub unique: u64,
    /// States generated (with repeats, initial states included), all processes.
    pub states: u64,
    /// Deepest level expanded, counting the initial states as depth 1 (stateright's depth).
    pub max_depth: usize,
    /// `None` if the exploration covered every reachable state or decided every property.
    pub stopped: Option<Stop>,
    /// Per discovered property (in the model's order): its name and the path to the first
    /// state found at the smallest depth, as the Explorer encodes it (init index, then action
    /// indices).
    pub discoveries: Vec<(&'static str, Vec<usize>)>,
    /// Unique states this process held (its workers' partitions).
    pub process_unique: u64,
    /// This process's peak resident memory seen at the level boundaries, bytes.
    pub process_peak_rss: Option<u64>,
    /// Bytes this process's partitions of the visited set take (table capacity times the
    /// size of an entry plus its control byte): the part of the memory that grows with the
    /// state space; the rest is the frontier and fixed costs.
    pub process_visited_bytes: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Resident memory of this process (`VmRSS`), bytes; `None` where /proc is unavailable.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
