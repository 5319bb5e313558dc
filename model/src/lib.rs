//! A stateright model of the seal protocol of Restate's replicated loglet.
//!
//! # The protocol
//!
//! Restate's log (Bifrost) keeps each segment in a *replicated loglet* stored on *log servers*.
//! A log server starts in storage state Provisioning; at startup it writes a storage marker and
//! moves itself to ReadWrite by a compare-and-set on the nodes configuration in the metadata
//! store, and only then starts handling requests. The *sequencer* appends by reserving an offset
//! and sending `Store` to every writable node of the nodeset; it acknowledges once a write quorum
//! of R nodes answered `Stored`, raising its known global tail first. To *seal* the loglet, a
//! seal task sends `Seal` to the effective nodeset (the nodeset minus Disabled nodes) and
//! succeeds once an f-majority (`max(N - R, 0) + 1` of the N members not Disabled, so at
//! least one) confirmed; the local sequencer then drains in-flight
//! appends and sets its sealed flag at its known global tail. A sealed log server answers
//! `Sealed` to every store.
//!
//! The seal task first checks a guard on the caller's *local snapshot* of the nodes
//! configuration: if every nodeset member looks Provisioning it fails with the retryable
//! `SealFailed`. That snapshot catches up with the metadata store asynchronously. Restate's test
//! `three_logserver_seal_empty` failed at random because it sealed while every log server still
//! looked Provisioning; [`Config::incident`] is that test, and the three
//! [`HarnessKind`]s are the test as it was and its two fixes. The test's client joins the
//! cluster after the harness's wait, so its first snapshot is current ([`ClientStart`]); a
//! sealer that was running all along (the admin node of `restatectl logs seal`) can lag.
//!
//! # The model
//!
//! [`SealModel`] is a hand-written [`stateright::Model`]: the metadata store (every version of
//! the nodes configuration), the log servers, the client (harness, seal task, sequencer) and a
//! multiset of messages in flight. Stores between the sequencer and one log server are delivered
//! in order (one connection); everything else in any order. Faults (loss, duplication, crashes,
//! operator storage-state changes) are bounded per behaviour, so every behaviour is finite, which
//! keeps stateright's `eventually` check exact. The properties live in [`properties`]; their
//! names are the user interface.
//!
//! ```
//! use sealcheck_model::{Config, properties};
//! use stateright::{Checker, Model};
//!
//! let model = Config::incident().into_model().unwrap();
//! let checker = model.checker().spawn_bfs().join();
//! // The flaky test's harness can fail: some behaviour rejects the seal because every
//! // nodeset member still looks Provisioning.
//! assert!(checker.discovery(properties::SEAL_REJECTED_ALL_PROVISIONING).is_some());
//! assert!(checker.discovery(properties::SEAL_EVENTUALLY_SUCCEEDS).is_some());
//! ```

#![warn(missing_docs)]

pub mod appends;
pub mod config;
pub mod describe;
pub mod diagram;
pub mod in_flight;
pub mod model;
pub mod observable;
pub mod offsets;
pub mod properties;
pub mod run_format;
pub mod state;
#[cfg(test)]
mod test_rng;
pub mod trace_format;
pub mod words;

pub use config::{
    Bug, ClientStart, Cluster, Config, ConfigError, Faults, Harness, HarnessKind, StorageState,
};
pub use model::{Action, SealModel};
pub use properties::{PropertyInfo, PropertyKind};
pub use state::State;
