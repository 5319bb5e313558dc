//! Command-line arguments (clap derive) and their validation into options. The binary only
//! parses, calls [`crate::commands`], prints and exits.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::{CheckOptions, Strategy};

/// Model-check the seal protocol of Restate's replicated loglet, and check recorded runs
/// against the model.
///
/// Exit codes: 0 every property holds on a complete exploration (or every trace conforms),
/// 1 a property is violated (or a trace diverges or violates one), 2 usage or input error,
/// 3 an incomplete run found nothing and proved nothing.
#[derive(Debug, Parser)]
#[command(name = "sealcheck", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explore every interleaving of a scenario and check its named properties.
    ///
    /// Without SPEC, checks the built-in incident scenario exactly as it was (3 log servers,
    /// all Provisioning, nodeset [N1,N2,N3], {node: 2}, client N5 seals an empty loglet once):
    /// it finds the race that made `three_logserver_seal_empty` flaky and exits 1.
    ///
    /// Counterexamples are shortest paths, printed step by step with what each step changed,
    /// followed by the `replay` and `explore` commands that reproduce them.
    Check(CheckArgs),
    /// Replay a path (as printed by `check`, e.g. 0/1/0/2) step by step and evaluate every
    /// property in its final state.
    Replay(ReplayArgs),
    /// List the properties of a scenario with what each states.
    Properties(ScenarioArgs),
    /// Measure exploration speed (unique states per second, bytes per state) on scenarios.
    Bench(BenchArgs),
    /// Serve stateright's Explorer for a scenario on a loopback address, optionally opened at a
    /// path (`--path`, as `check` prints it) or at the shortest counterexample or example of a
    /// property (`--property`). Stops cleanly on Ctrl-C.
    Explore(crate::explore::ExploreArgs),
    /// Turn the raw material of a recorded Restate run (a raw directory) into a trace.
    ///
    /// Translation rules: docs/real-cluster.md. The notes (what was dropped or assumed) go to
    /// stderr.
    Import(crate::import::ImportArgs),
    /// Record a scenario on a real Restate 1.7.12 cluster (needs root and
    /// `npm ci --prefix restate`) and import it: raw material in OUT/raw, the trace in
    /// OUT/trace.jsonl. `--list` shows the scenarios.
    Record(crate::record::RecordArgs),
}

/// A scenario: a file (or the built-in incident) and overrides of its fields, so that
/// variants are checked without editing files. Every command that prints a path repeats these
/// overrides in the commands that reproduce it.
#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// Scenario file (TOML, see specs/). Default: the built-in incident scenario.
    pub spec: Option<PathBuf>,
    /// Override the harness: seal-once (the flaky test), retry (fix 1), wait-provisioned (fix 2).
    #[arg(long, value_enum)]
    pub harness: Option<HarnessArg>,
    /// Override whether the client's nodes-configuration snapshot lags (catches up by a step of
    /// its own). `--stale-views` alone means true.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub stale_views: Option<bool>,
    /// Override the number of seal() calls the retry harness makes.
    #[arg(long)]
    pub max_attempts: Option<u8>,
    /// Override the number of appends.
    #[arg(long)]
    pub appends: Option<u8>,
    /// Seed a bug (repeatable): store-after-seal, seal-one-confirmation, ack-before-quorum,
    /// seal-without-drain, provisioning-writable.
    #[arg(long = "bug", value_enum)]
    pub bugs: Vec<BugArg>,
}

/// Harness names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HarnessArg {
    /// Call seal() once (the flaky test as it was).
    SealOnce,
    /// Retry seal() on retryable errors (fix 1).
    Retry,
    /// Wait until no nodeset member is Provisioning, then seal() (fix 2).
    WaitProvisioned,
}

/// Seeded-bug names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BugArg {
    /// A log server accepts stores after sealing.
    StoreAfterSeal,
    /// The seal completes on a single confirmation.
    SealOneConfirmation,
    /// An append is acknowledged before its write quorum.
    AckBeforeQuorum,
    /// The sequencer sets its sealed flag without draining.
    SealWithoutDrain,
    /// Provisioning nodes are counted as writable.
    ProvisioningWritable,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object, for tools.
    Json,
}

/// Exploration strategy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Breadth-first, exhaustive.
    Bfs,
    /// Depth-first, exhaustive; supports --symmetry.
    Dfs,
    /// Random walks (needs --max-states or --timeout; use --seed).
    Simulation,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// How to explore.
    #[arg(long, value_enum, default_value_t = StrategyArg::Bfs)]
    pub strategy: StrategyArg,
    /// Seed of `--strategy simulation`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Stop at this depth, counting the initial state as depth 1, so paths of at most N-1
    /// steps are explored (the run is then incomplete).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Stop after generating this many states (the run is then incomplete).
    #[arg(long)]
    pub max_states: Option<usize>,
    /// Stop after this many seconds (the run is then incomplete).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Explore one state per permutation of interchangeable log servers (with --strategy dfs;
    /// refused where log servers are not interchangeable).
    #[arg(long)]
    pub symmetry: bool,
    /// Also print an example path for every reachability property that was reached.
    #[arg(long)]
    pub examples: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not print progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The path: init-state index, then action indices, separated by `/` (e.g. 0/1/0/2).
    #[arg(long)]
    pub path: String,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenario files (`-` is the built-in incident scenario). Default: the built-in incident
    /// scenario and specs/bench-five-servers.toml.
    pub specs: Vec<PathBuf>,
    /// Strategies to measure.
    #[arg(long, value_enum, num_args = 1.., default_values_t = [StrategyArg::Bfs, StrategyArg::Dfs])]
    pub strategies: Vec<StrategyArg>,
    /// Thread counts to measure.
    #[arg(long, num_args = 1.., default_values_t = [1usize, 2])]
    pub threads: Vec<usize>,
    /// Runs per configuration (the fastest is reported).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Internal: measure one configuration in this process and print it as JSON.
    #[arg(long, hide = true)]
    pub child: bool,
}

impl CheckArgs {
    /// The validated check options.
    pub fn options(&self) -> Result<CheckOptions, String> {
        let strategy = strategy(self.strategy, self.seed);
        let timeout = match self.timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => {
                return Err(format!(
                    "--timeout must be a positive number of seconds, got {t}"
                ))
            }
        };
        if self.max_depth == Some(0) {
            return Err("--max-depth must be at least 1".into());
        }
        if self.max_states == Some(0) {
            return Err("--max-states must be at least 1".into());
        }
        Ok(CheckOptions {
            strategy,
            threads: self.threads,
            max_depth: self.max_depth,
            max_states: self.max_states,
            timeout,
            symmetry: self.symmetry,
            ..CheckOptions::default()
        })
    }
}

/// Turns a strategy name and seed into a [`Strategy`].
pub fn strategy(arg: StrategyArg, seed: u64) -> Strategy {
    match arg {
        StrategyArg::Bfs => Strategy::Bfs,
        StrategyArg::Dfs => Strategy::Dfs,
        StrategyArg::Simulation => Strategy::Simulation { seed },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
