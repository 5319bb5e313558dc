//! The row `sealcheck bench` measures for one configuration, which its child processes print
//! as JSON and `bench-distributed` reads back for its default-engine baselines.

/// One measured configuration of `bench`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchRow {
    /// The scenario's name.
    pub spec: String,
    /// The strategy, with " + symmetry" when symmetry reduction was on.
    pub strategy: String,
    /// Worker threads of the run.
    pub threads: usize,
    /// Unique states explored.
    pub unique_states: usize,
    /// States generated.
    pub states: usize,
    /// Wall-clock seconds of the run (of the fastest run when several were measured).
    pub seconds: f64,
    /// Unique states per second.
    pub unique_per_sec: f64,
    /// Growth of the peak resident set over the run, per unique state.
    pub bytes_per_state: Option<f64>,
}
