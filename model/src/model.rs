//! The transition relation, one file per party. Each says when its steps are enabled and what
//! they do, guard beside effect:
//!
//! - `log_server`: provisioning, stores, crashes and restarts;
//! - `client_view`: the metadata store's versions and the client's snapshot of them;
//! - `harness`: the test harness's wait and `get_trim_point()`;
//! - `seal_task`: every rule of the seal task, from the harness's `seal()` call, through the
//!   log servers' handling of `Seal` and the task's f-majority, to its success or failure;
//! - `sequencer`: appends, acknowledgements, draining, and the remote sequencer of a cluster;
//! - `find_tail`: a cluster's find-tail reader, its tail repair and its assisting seal, and the
//!   tail repairs of other readers (`faults.other_repairs`);
//! - `network`: delivery (handing each message to its receiver), loss and duplication;
//! - `operator`: `restatectl nodes set-storage-state`;
//! - `other_seals`: seal tasks other nodes run on the loglet (`faults.other_seals`).
//!
//! Below the parties stand the step names ([`Action`]), the model's shape ([`SealModel`]: its
//! nodeset, its properties, which members are writable or effective) and the exploration stop
//! signal ([`Deadline`]). Above them, `from_config` builds a model ([`crate::Config::into_model`])
//! and `impl_model` is the [`stateright::Model`]: it asks the parties for their steps in a fixed
//! order (stored paths are action indices), hands each step to its party, and renders steps
//! with [`crate::describe`]. `audit` checks every transition for moves no party may make.

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
mod other_seals;
mod seal_model;
mod seal_task;
mod sequencer;

pub use action::Action;
pub use deadline::{Deadline, STOP_PROPERTY};
pub use seal_model::{PropertyInfo, PropertyKind, SealModel};
pub use seal_task::{f_majority_check, SEAL_REQUEST_ATTEMPTS};
