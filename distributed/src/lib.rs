//! Exhaustive breadth-first checking of the seal model on timely dataflow, across worker
//! threads and processes.
//!
//! # How a run goes
//!
//! Every state has a 64-bit fingerprint, computed exactly as stateright 0.31 computes it (ahash
//! with stateright's fixed seeds), so this engine deduplicates states exactly as `sealcheck
//! check` does and finds the same unique-state counts. The worker that *owns* a fingerprint
//! ([`owner`]) keeps it in its partition of the visited set, with the fingerprint of its
//! parent and the index of the action that led to it (a [`Link`]): tens of bytes per state,
//! never the state itself.
//!
//! Breadth-first levels are timely timestamps: the candidates of level `L` travel at time `L`.
//! At time `L`, once timely's progress tracking says no more candidates of level `L` can
//! arrive, each worker inserts the fingerprints of its candidates it has not seen, with their
//! links, evaluates every property on these new states, generates their successors and sends
//! each successor (state, fingerprint, parent, action index; one copy per fingerprint and
//! sending worker) to its owner for level `L + 1`. A state is thus expanded by its owner, so
//! the work spreads over the workers as the fingerprints do. States are dropped once
//! expanded: the visited set holds links only.
//!
//! Statistics (states inserted, expanded and generated, discoveries, why a worker stopped) go
//! to every worker with the candidates, so every worker, in every process, knows the same
//! global totals after each level. The run ends when a level adds no new state: nothing is
//! sent any more, the dataflow's frontier empties, and timely's progress tracking ends it.
//!
//! # Properties
//!
//! `always` and `sometimes` properties are evaluated on every new state; `eventually`
//! properties on states without successors (terminal states), where their condition must hold.
//! This is stateright's semantics for the seal model, whose state graph is acyclic and whose
//! liveness conditions are sticky (once true, true in every later state), so "not satisfied
//! along the path" is "not satisfied in the terminal state". The first level at which a
//! property is discovered is the length of its shortest counterexample; one discovery per
//! property is kept (the smallest fingerprint at that level, so every process picks the same).
//!
//! # Counterexamples
//!
//! After the exploration, a second dataflow follows the parent links: each hop is a lookup sent
//! to the owner of the fingerprint, which answers the action index to every worker and sends
//! the next lookup to the parent's owner, until the initial state. The result is the path in
//! the Explorer encoding (init-state index, then action indices), which `sealcheck replay`
//! replays.
//!
//! # Symmetry
//!
//! With symmetry reduction (sound only where the scenario's log servers are interchangeable,
//! [`SealModel::symmetric`]), every generated state is replaced by its representative
//! ([`State::representative`]) before it is fingerprinted, routed and expanded: the visited set
//! holds one entry per orbit of states under permutations of the servers, the count stateright's
//! depth-first search reports with `symmetry_fn`. A breadth-first level of the quotient is the
//! set of orbits first reached at that depth, so discoveries stay shortest. The action indices of
//! the parent links then refer to representatives; [`concretize`] turns such a path into one of
//! the model itself by choosing, at each step, an action of the concrete state whose successor
//! has the recorded successor's representative.
//!
//! # Bounds
//!
//! The time limit, the memory bound (this process's resident memory), the state bound
//! (generated states, as stateright counts them) and an interrupt flag are checked while a
//! worker expands states, every [`CHECK_EVERY`] states. A worker that trips one stops at once,
//! and so do the other workers of its process; the workers of other processes stop when the
//! level's statistics reach them. The outcome then says which bound stopped the run.
//!
//! # Checkpoints
//!
//! With [`check_checkpointed`], each worker writes its cut of a level boundary (its partition
//! of the visited set, its new states of the level, the totals so far) through a
//! [`CheckpointStore`] the caller provides, when a worker's clock says so or a bound stops the
//! run; the statistics that every worker receives carry the decision, so all write the same
//! level. A level counts as whole only once every worker reported its write, and the previous
//! whole level is kept until then; a resumed run starts from the newest level every worker
//! holds. See [`checkpoint`].
//!
//! # Peers
//!
//! With several processes, every connection is authenticated by the run's [`Secret`] (see
//! [`connect`]), every wait for a peer is bounded, and every peer is watched by a heartbeat
//! ([`liveness`]). A peer that dies or stops answering ends the run in every other process with
//! [`Stop::PeerLost`] and the totals of the last complete level, never a hang or a panic.
//!
//! [`CheckpointStore`]: checkpoint::CheckpointStore
//! [`SealModel::symmetric`]: sealcheck_model::SealModel::symmetric
//! [`State::representative`]: sealcheck_model::State::representative

pub mod checkpoint;
mod cluster;
pub mod connect;
mod explore;
mod fingerprint;
mod hostfile;
pub mod liveness;
mod outcome;
mod paths;
mod secret;
mod symmetry;
mod worker;

pub use cluster::{parse_count, Cluster, CONNECT_WAIT, MAX_COUNT};
pub use connect::HANDSHAKE_WAIT;
pub use fingerprint::{fingerprint, owner, IdentityHasher, Link, Visited};
pub use hostfile::MAX_HOSTFILE_BYTES;
pub use liveness::PEER_SILENCE;
pub use outcome::{rss_bytes, Bounds, LevelProgress, Outcome, ProgressFn, Stop, CHECK_EVERY};
pub use secret::{hex, random_bytes, Secret};
pub use symmetry::concretize;
pub use worker::{check, check_checkpointed};
