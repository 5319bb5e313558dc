//! The transition relation, one file per party: each says when its steps are enabled and what
//! they do, guard beside effect.
//!
//! - [`log_server`](self#parties): provisioning, stores, crashes and restarts;
//! - `client_view`: the metadata store's versions and the client's snapshot of them;
//! - `harness`: the test harness's wait and `get_trim_point()`;
//! - `seal_task`: every rule of the seal task, from the harness's `seal()` call to its f-majority;
//! - `sequencer`: appends, acknowledgements, draining, and the remote sequencer of a cluster;
//! - `find_tail`: a cluster's find-tail reader, its tail repair and assisting seal;
//! - `network`: delivery, loss and duplication;
//! - `operator`: `restatectl nodes set-storage-state`.
//!
//! # Parties
//!
//! Below the parties stand the step names (`action`), the model's shape (`seal_model`) and the
//! exploration stop signal (`deadline`); above them `from_config` builds a model and
//! `impl_model` is the [`stateright::Model`] that dispatches to the parties and renders steps.
//! `audit` checks every transition for moves no party may make.

mod action;
mod audit;
mod client_view;
mod deadline;
mod find_tail;
mod from_config;
mod harness;
mod impl_model;
mod log_server;
mod network;
mod operator;
mod seal_model;
mod seal_task;
mod sequencer;

pub use action::Action;
pub use deadline::{Deadline, STOP_PROPERTY};
pub use seal_model::{PropertyInfo, PropertyKind, SealModel};
pub use seal_task::{f_majority_check, SEAL_REQUEST_ATTEMPTS};
