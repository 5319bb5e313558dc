//! The row `sealcheck bench` measures for one configuration, which its child processes print
//! as JSON and `bench-distributed` reads back for its default-engine baselines.

/// One measured configuration of `bench`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchRow {
    /// Scenario.
    pub spec: String,
    /// Strategy.
    pub strategy: String,
    /// Threads.
    pub threads: usize,
    /// Unique states explored.
    pub unique_states: usize,
    /// States generated.
    pub states: usize,
    /// Best wall-clock seconds.
    pub seconds: f64,
    /// Unique states per second.
    pub unique_per_sec: f64,
    /// Growth of the peak resident set over the run, per unique state.
    pub bytes_per_state: Option<f64>,
}
