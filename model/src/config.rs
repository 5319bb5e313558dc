//! The scenario a model is built from: cluster, replication, nodeset, test harness, faults and
//! seeded bugs.
//!
//! A [`Config`] is plain data. Scenario files under `specs/` deserialize into it (the `sealcheck`
//! crate reads TOML and reports file, line and field on error), tests and benchmarks build it in
//! code, and [`Config::into_model`] turns it into a [`SealModel`](crate::SealModel) after
//! [`Config::validate`] accepted it.

use serde::{Deserialize, Serialize};

use crate::offsets::Offset;

/// Most log servers a model may have: offsets, node sets and acknowledgements are bit sets.
pub const MAX_LOG_SERVERS: u8 = 8;
/// Most appends a scenario may ask for: a million records per loglet (validation of recorded
/// traces may need many; model checking more than a few is rarely feasible).
pub const MAX_APPENDS: Offset = 1_000_000;
/// Most seal attempts the `retry` harness may make.
pub const MAX_SEAL_ATTEMPTS: u8 = 16;

/// The storage state of a log server, as the nodes configuration records it
/// (Restate `crates/types/src/nodes_config.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorageState {
    /// A new node: authoritative in an f-majority, not writable. It moves itself to ReadWrite
    /// after writing its storage marker. Never re-entered.
    Provisioning,
    /// Normal operation: authoritative and writable.
    ReadWrite,
    /// Draining: authoritative, still accepts writes on existing nodesets, takes part in seals.
    ReadOnly,
    /// Some data may be lost: non-authoritative, not writable; may go back to ReadWrite.
    DataLoss,
    /// Never read nor written; dropped from the effective nodeset; never left.
    Disabled,
    /// Like ReadOnly, but the node and its data are permanently lost: authoritative in an
    /// f-majority, not writable, excluded from new nodesets. Set by the operator (`--force`).
    Gone,
}

impl StorageState {
    /// All states, in a fixed order (used to enumerate operator moves deterministically).
    pub const ALL: [StorageState; 6] = [
        StorageState::Provisioning,
        StorageState::ReadWrite,
        StorageState::ReadOnly,
        StorageState::DataLoss,
        StorageState::Disabled,
        StorageState::Gone,
    ];

    /// Whether the sequencer may send stores to a node in this state (Restate `can_write_to`).
    pub fn can_write_to(self) -> bool {
        matches!(self, StorageState::ReadWrite | StorageState::ReadOnly)
    }

    /// Whether a node in this state is a full (authoritative) voice in an f-majority: every
    /// state but DataLoss (Restate `is_authoritative`; Disabled is authoritative there too, but
    /// it is never a candidate, see [`StorageState::is_candidate`]).
    pub fn is_authoritative(self) -> bool {
        self != StorageState::DataLoss
    }

    /// Whether a nodeset member in this state belongs to the effective nodeset and so counts
    /// among the f-majority's candidates: every state but Disabled (Restate `!empty()`).
    pub fn is_candidate(self) -> bool {
        self != StorageState::Disabled
    }

    /// Whether the operator's move *to* this state needs restatectl's nodeset safety check
    /// without `--force`: every target but ReadWrite (Restate `!should_write_to()`).
    pub fn should_write_to(self) -> bool {
        self == StorageState::ReadWrite
    }

    /// The short name used in reports and traces (`provisioning`, `read-write`, ...).
    pub fn name(self) -> &'static str {
        match self {
            StorageState::Provisioning => "provisioning",
            StorageState::ReadWrite => "read-write",
            StorageState::ReadOnly => "read-only",
            StorageState::DataLoss => "data-loss",
            StorageState::Disabled => "disabled",
            StorageState::Gone => "gone",
        }
    }

    /// Parses the short name produced by [`StorageState::name`] (also accepts Restate's
    /// spellings such as `ReadWrite` and `read_write`).
    pub fn parse(text: &str) -> Option<StorageState> {
        let norm: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        StorageState::ALL
            .into_iter()
            .find(|s| s.name().replace('-', "") == norm)
    }
}

impl std::fmt::Display for StorageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            StorageState::Provisioning => "Provisioning",
            StorageState::ReadWrite => "ReadWrite",
            StorageState::ReadOnly => "ReadOnly",
            StorageState::DataLoss => "DataLoss",
            StorageState::Disabled => "Disabled",
            StorageState::Gone => "Gone",
        };
        f.write_str(s)
    }
}

/// How the test body around `seal()` behaves (the three variants of the incident's client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HarnessKind {
    /// The flaky test as it was: `wait_healthy` did not imply provisioned, `seal()` called once.
    SealOnce,
    /// Fix 1 (commit 55c212093): retry `seal()` on retryable errors, a bounded number of times.
    Retry,
    /// Fix 2 (commit 91f3839cb): wait until the metadata store shows no nodeset member
    /// Provisioning, then call `seal()` once.
    WaitProvisioned,
}

impl HarnessKind {
    /// The kebab-case name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            HarnessKind::SealOnce => "seal-once",
            HarnessKind::Retry => "retry",
            HarnessKind::WaitProvisioned => "wait-provisioned",
        }
    }
}

/// The test harness that drives the client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Harness {
    /// Which variant of the test body runs.
    pub kind: HarnessKind,
    /// Most `seal()` calls the `retry` harness makes. The real test makes one call and up to
    /// 10 retries (`RetryPolicy::exponential(.., Some(10), ..)`): 11 calls.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u8,
    /// How the sealing node got its nodes-configuration snapshot (matters with `stale_views`).
    /// Left out of serialized configs when it is the default, so that configs written before
    /// it existed read and write back the same.
    #[serde(default, skip_serializing_if = "ClientStart::is_default")]
    pub client: ClientStart,
    /// Whether the test body calls `get_trim_point()` before `seal()`, as Restate's
    /// `loglet_tests::seal_empty` does. It is not retried: when it fails the test fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub get_trim_point: bool,
}

fn default_max_attempts() -> u8 {
    11
}

impl Default for Harness {
    fn default() -> Self {
        Harness {
            kind: HarnessKind::SealOnce,
            max_attempts: default_max_attempts(),
            client: ClientStart::default(),
            get_trim_point: false,
        }
    }
}

/// How the node that runs the seal task came to have its nodes-configuration snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientStart {
    /// The test's client (`server/tests/common/replicated_loglet.rs`): a node created after
    /// `wait_healthy` whose join does a read-modify-write of the nodes configuration, so its
    /// first snapshot is the metadata's latest version when the test body starts. Later
    /// versions may still reach it late (`stale_views`).
    #[default]
    Joining,
    /// A node that was running all along (the admin node `restatectl logs seal` goes
    /// through): its snapshot starts at version 1 and catches up only by its own steps.
    Running,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A cluster whose seal task and sequencer run on different nodes (`restatectl logs seal` in a
/// real cluster), instead of the test's single client that is both.
///
/// The model's client is then the admin node `restatectl` goes through: it runs the harness and
/// the seal task, and its sequencer is remote, so a successful seal task does not drain anything
/// there (`replicated_loglet/loglet.rs`, `SequencerAccess::Remote`). The loglet's sequencer runs
/// on the log server `sequencer`: it drains and sets its sealed flag only once it learns the
/// loglet is sealed (the admin's find-tail asks it with a forced seal check, or one of its
/// stores came back Sealed), and it dies with its node. A find-tail reader may run an assisting
/// seal task and a tail repair (`tasks/find_tail.rs`, `tasks/repair_tail.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The log server (node id) that runs the loglet's sequencer.
    pub sequencer: u8,
}

impl ClientStart {
    /// Whether this is the default, [`ClientStart::Joining`].
    pub fn is_default(&self) -> bool {
        *self == ClientStart::Joining
    }

    /// The kebab-case name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ClientStart::Joining => "joining",
            ClientStart::Running => "running",
        }
    }
}

/// Faults and operator actions, each off unless the scenario asks for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// How many messages the network may lose in one behaviour.
    #[serde(default)]
    pub message_loss: u8,
    /// How many messages the network may duplicate in one behaviour.
    #[serde(default)]
    pub message_duplication: u8,
    /// How many log-server crashes (each followed by a possible restart) one behaviour may have.
    #[serde(default)]
    pub crashes: u8,
    /// How many seal requests to a *serving* log server may time out (a paused or slow
    /// server). Requests to a server that is not serving, or whose message was lost, may always
    /// time out.
    #[serde(default)]
    pub timeouts: u8,
    /// How many operator storage-state changes (`restatectl nodes set-storage-state`) one
    /// behaviour may have.
    #[serde(default)]
    pub operator_moves: u8,
    /// Whether the operator uses `--force` (any move, no check) rather than what restatectl
    /// allows without it: a move to the same state (a new version), Provisioning -> Disabled,
    /// ReadWrite <-> ReadOnly; and a move to any state other than ReadWrite only while enough
    /// other log servers stay ReadWrite to form a nodeset (at least R).
    #[serde(default)]
    pub operator_force: bool,
    /// How many seal tasks nodes other than the harness's may run on the loglet in one
    /// behaviour: an auto-improvement reseal, an appender's failover reseal or auto-recovery
    /// seal, a shutdown seal (Restate runs them on whichever node decides to). Each sends Seal
    /// to the effective nodeset and completes once an f-majority of it is durably sealed and
    /// serving; a sequencer learns of the seal the way it learns of the harness's. Left out of
    /// serialized configs when 0, so that configs written before it existed read and write
    /// back the same.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_seals: u8,
    /// Cluster only: how many tail repairs find-tail readers other than the model's one may
    /// run in one behaviour. Restate runs a reader per caller (the loglet's periodic tail
    /// checker, a partition processor's reader, ...), on every node; under load two or three of
    /// them decide to repair the same tail at once. Each takes the decision the model's reader
    /// takes (an f-majority sealed, the records between its known global tail and the highest
    /// sealed tail not on a write quorum), sends the same repair stores, and completes once its
    /// range is on a write quorum. Left out of serialized configs when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_repairs: u8,
    /// Cluster only: how many times a find-tail reader's `GetSequencerState` to the sequencer's
    /// node may fail while that node is up (the reader's own node cut off from it or paused,
    /// or the sequencer slow to answer): the reader then queries the log servers itself
    /// (`tasks/find_tail.rs`), as it does once the sequencer's node died. A pause or a time-out
    /// of the sequencer's own node already lets it (`timeouts`); this is for the readers of
    /// the other nodes. At most 1: from then on the reader finds the sequencer silent, as after
    /// a pause of its node, so a second failure would change nothing. Left out of serialized
    /// configs when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reader_timeouts: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// Most seal tasks of other nodes a scenario may allow.
pub const MAX_OTHER_SEALS: u8 = 250;

/// Most tail repairs of other find-tail readers a scenario may allow.
pub const MAX_OTHER_REPAIRS: u8 = 250;

/// Most failed `GetSequencerState` requests of find-tail readers a scenario may allow (the
/// first leaves the sequencer silent to the reader for good).
pub const MAX_READER_TIMEOUTS: u8 = 1;

/// A bug seeded into the model on purpose, to prove that a named property catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// A log server may accept (non-repair) stores after it durably sealed.
    StoreAfterSeal,
    /// The seal task may complete on a single confirmation instead of an f-majority.
    SealOneConfirmation,
    /// The sequencer may acknowledge an append before a write quorum stored it.
    AckBeforeQuorum,
    /// The sequencer may set its sealed flag without draining in-flight appends.
    SealWithoutDrain,
    /// The sequencer may count Provisioning nodes as writable.
    ProvisioningWritable,
}

impl Bug {
    /// All seeded bugs.
    pub const ALL: [Bug; 5] = [
        Bug::StoreAfterSeal,
        Bug::SealOneConfirmation,
        Bug::AckBeforeQuorum,
        Bug::SealWithoutDrain,
        Bug::ProvisioningWritable,
    ];

    /// The kebab-case name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Bug::StoreAfterSeal => "store-after-seal",
            Bug::SealOneConfirmation => "seal-one-confirmation",
            Bug::AckBeforeQuorum => "ack-before-quorum",
            Bug::SealWithoutDrain => "seal-without-drain",
            Bug::ProvisioningWritable => "provisioning-writable",
        }
    }
}

/// One scenario: everything the model is built from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A short name for reports.
    #[serde(default = "default_name")]
    pub name: String,
    /// Number of log servers; they are nodes N1..Nn.
    pub log_servers: u8,
    /// The loglet's nodeset, as node ids (1-based).
    pub nodeset: Vec<u8>,
    /// Replication property `{node: R}`: a write quorum is R distinct nodes.
    pub replication: u8,
    /// Node id of the client, which is also the loglet's local sequencer (N5 in the incident).
    #[serde(default = "default_client")]
    pub client: u8,
    /// The loglet id as Restate prints it (`<log>_<segment>`).
    #[serde(default = "default_loglet")]
    pub loglet: String,
    /// Storage state of each log server when the scenario starts (default: all Provisioning,
    /// a freshly started cluster).
    #[serde(default)]
    pub initial_storage: Vec<StorageState>,
    /// Log servers whose request pump already runs at the start although the metadata shows them
    /// Provisioning: nodes an operator forced back with `--force` while they were serving.
    #[serde(default)]
    pub forced_provisioning: Vec<u8>,
    /// How many appends the client makes (concurrently with the seal).
    #[serde(default)]
    pub appends: Offset,
    /// Whether the client's nodes-configuration view catches up asynchronously (an explicit
    /// step) instead of at once.
    #[serde(default)]
    pub stale_views: bool,
    /// Whether a log server's self-provisioning is three steps, as in Restate's
    /// `provision_node` and service start (storage marker; metadata compare-and-set; request
    /// pump start), instead of one. In between the metadata shows ReadWrite while the server
    /// answers "not ready" to every request.
    #[serde(default, skip_serializing_if = "is_false")]
    pub provisioning_steps: bool,
    /// The test harness around `seal()`.
    #[serde(default)]
    pub harness: Harness,
    /// Sealer and sequencer on different nodes (absent: the single client is both). Left out
    /// of serialized configs when absent, so that configs written before it existed read and
    /// write back the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
    /// Faults and operator actions.
    #[serde(default)]
    pub faults: Faults,
    /// Bugs seeded on purpose.
    #[serde(default)]
    pub bugs: Vec<Bug>,
    /// Reachability twins (`sometimes` properties) the scenario claims can never happen; the
    /// check proves them unreachable instead of asking for an example.
    #[serde(default)]
    pub unreachable: Vec<String>,
}

fn default_name() -> String {
    "unnamed".to_string()
}
fn default_client() -> u8 {
    5
}
fn default_loglet() -> String {
    "1_0".to_string()
}

/// A configuration the model cannot be built from: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field path, such as `nodeset` or `harness.max_attempts`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn bad(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_string(),
        message: message.into(),
    }
}

impl Config {
    /// The incident: 3 log servers N1..N3, all Provisioning, nodeset \[N1,N2,N3\],
    /// replication {node: 2}, client N5 as local sequencer (joining after `wait_healthy`), an
    /// empty loglet, and the flaky test's `seal-once` harness. The test body's
    /// `get_trim_point()` before `seal()` is off here (the built-in default scenario);
    /// `specs/three_logserver_seal_empty.toml` turns it on.
    pub fn incident() -> Config {
        Config {
            name: "three_logserver_seal_empty".to_string(),
            log_servers: 3,
            nodeset: vec![1, 2, 3],
            replication: 2,
            client: 5,
            loglet: default_loglet(),
            initial_storage: Vec::new(),
            forced_provisioning: Vec::new(),
            appends: 0,
            stale_views: false,
            provisioning_steps: false,
            harness: Harness::default(),
            cluster: None,
            faults: Faults::default(),
            bugs: Vec::new(),
            unreachable: Vec::new(),
        }
    }

    /// The storage state of every log server at the start, with defaults filled in.
    pub fn initial_states(&self) -> Vec<StorageState> {
        if self.initial_storage.is_empty() {
            vec![StorageState::Provisioning; self.log_servers as usize]
        } else {
            self.initial_storage.clone()
        }
    }

    /// The f-majority of a nodeset of `n` candidates under this replication, as Restate's
    /// `NodeSetChecker::check_fmajority` computes it: `max(n - R, 0) + 1`, so at least one
    /// confirmation even when fewer than R candidates remain.
    pub fn f_majority(&self, n: usize) -> usize {
        n.saturating_sub(self.replication as usize) + 1
    }

    /// The log-server index of the remote sequencer, in a cluster with separate roles.
    pub fn sequencer_index(&self) -> Option<u8> {
        self.cluster.as_ref().map(|c| c.sequencer - 1)
    }

    /// Whether a bug is seeded.
    pub fn has_bug(&self, bug: Bug) -> bool {
        self.bugs.contains(&bug)
    }

    /// Checks that the model can be built: ids in range, quorum possible, bounds respected.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_nodes()?;
        self.validate_initial_storage()?;
        if self.appends > MAX_APPENDS {
            return Err(bad(
                "appends",
                format!(
                    "at most {MAX_APPENDS} (records per loglet), got {}",
                    self.appends
                ),
            ));
        }
        if self.harness.max_attempts == 0 || self.harness.max_attempts > MAX_SEAL_ATTEMPTS {
            return Err(bad(
                "harness.max_attempts",
                format!(
                    "must be between 1 and {MAX_SEAL_ATTEMPTS}, got {}",
                    self.harness.max_attempts
                ),
            ));
        }
        if self.faults.other_seals > MAX_OTHER_SEALS {
            return Err(bad(
                "faults.other_seals",
                format!("at most {MAX_OTHER_SEALS}, got {}", self.faults.other_seals),
            ));
        }
        if self.faults.other_repairs > MAX_OTHER_REPAIRS {
            return Err(bad(
                "faults.other_repairs",
                format!(
                    "at most {MAX_OTHER_REPAIRS}, got {}",
                    self.faults.other_repairs
                ),
            ));
        }
        if self.faults.other_repairs > 0 && self.cluster.is_none() {
            return Err(bad(
                "faults.other_repairs",
                "other find-tail readers' tail repairs are modelled in a cluster with separate roles only (add a [cluster] table)",
            ));
        }
        if self.faults.reader_timeouts > MAX_READER_TIMEOUTS {
            return Err(bad(
                "faults.reader_timeouts",
                format!(
                    "at most {MAX_READER_TIMEOUTS}, got {}",
                    self.faults.reader_timeouts
                ),
            ));
        }
        if self.faults.reader_timeouts > 0 && self.cluster.is_none() {
            return Err(bad(
                "faults.reader_timeouts",
                "a find-tail reader that cannot reach the sequencer is modelled in a cluster with separate roles only (add a [cluster] table)",
            ));
        }
        if let Some(c) = &self.cluster {
            if c.sequencer == 0 || c.sequencer > self.log_servers {
                return Err(bad(
                    "cluster.sequencer",
                    format!(
                        "N{} is not a log server (log servers are N1..N{})",
                        c.sequencer, self.log_servers
                    ),
                ));
            }
            if self.stale_views {
                return Err(bad(
                    "cluster",
                    "a cluster with separate roles is modelled with fresh views only (stale_views = false)",
                ));
            }
        }
        if self.loglet.is_empty() {
            return Err(bad("loglet", "must not be empty"));
        }
        Ok(())
    }

    /// The log servers, the nodeset, the replication and the client node.
    fn validate_nodes(&self) -> Result<(), ConfigError> {
        if self.log_servers == 0 || self.log_servers > MAX_LOG_SERVERS {
            return Err(bad(
                "log_servers",
                format!(
                    "must be between 1 and {MAX_LOG_SERVERS}, got {}",
                    self.log_servers
                ),
            ));
        }
        if self.nodeset.is_empty() {
            return Err(bad("nodeset", "must name at least one log server"));
        }
        let mut seen = Vec::new();
        for &id in &self.nodeset {
            if id == 0 || id > self.log_servers {
                return Err(bad(
                    "nodeset",
                    format!(
                        "N{id} is not a log server (log servers are N1..N{})",
                        self.log_servers
                    ),
                ));
            }
            if seen.contains(&id) {
                return Err(bad("nodeset", format!("N{id} is listed twice")));
            }
            seen.push(id);
        }
        if self.replication == 0 || self.replication as usize > self.nodeset.len() {
            return Err(bad(
                "replication",
                format!(
                    "must be between 1 and the nodeset size {}, got {}",
                    self.nodeset.len(),
                    self.replication
                ),
            ));
        }
        if self.client == 0 {
            return Err(bad("client", "node ids start at 1, got 0"));
        }
        if self.client <= self.log_servers {
            return Err(bad(
                "client",
                format!(
                    "N{} is a log server; the client must be another node",
                    self.client
                ),
            ));
        }
        Ok(())
    }

    /// The initial storage states and the servers forced to start Provisioning.
    fn validate_initial_storage(&self) -> Result<(), ConfigError> {
        if !self.initial_storage.is_empty()
            && self.initial_storage.len() != self.log_servers as usize
        {
            return Err(bad(
                "initial_storage",
                format!(
                    "lists {} but there {}",
                    crate::words::count(self.initial_storage.len(), "state", "states"),
                    match self.log_servers {
                        1 => "is 1 log server".to_string(),
                        n => format!("are {n} log servers"),
                    }
                ),
            ));
        }
        let initial = self.initial_states();
        for (i, &id) in self.forced_provisioning.iter().enumerate() {
            if id == 0 || id > self.log_servers {
                return Err(bad(
                    "forced_provisioning",
                    format!("N{id} is not a log server"),
                ));
            }
            if self.forced_provisioning[..i].contains(&id) {
                return Err(bad("forced_provisioning", format!("N{id} is listed twice")));
            }
            if initial[id as usize - 1] != StorageState::Provisioning {
                return Err(bad(
                    "forced_provisioning",
                    format!("N{id} must start Provisioning to be forced into it"),
                ));
            }
        }
        Ok(())
    }
}
