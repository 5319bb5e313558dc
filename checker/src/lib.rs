//! sealcheck: check the seal protocol of Restate's replicated loglet.
//!
//! The library holds the logic; the `sealcheck` binary only parses arguments, calls
//! [`commands`] and exits with the [`exit::Exit`] they return.
//!
//! ```
//! use sealcheck::engine::{check, CheckOptions, Verdict};
//! use sealcheck::spec::Spec;
//!
//! let spec = Spec::builtin();
//! let model = spec.config.clone().into_model().unwrap();
//! let report = check(&model, &CheckOptions::default(), &mut |_| {});
//! assert!(report.incomplete.is_none());
//! let liveness = report
//!     .properties
//!     .iter()
//!     .find(|p| p.name == "a seal the harness starts eventually succeeds")
//!     .unwrap();
//! assert_eq!(liveness.verdict, Verdict::Violated);
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod bench_validate;
pub mod bounds;
pub mod campaign;
pub mod chain;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod exit;
pub mod explore;
pub mod follow;
pub mod generate;
pub mod import;
pub mod input;
pub mod limits;
pub mod mutate;
pub mod output;
pub mod record;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod shortest;
pub mod spec;
pub mod timely;
pub mod trace_reader;
pub mod validate;
pub mod watch;
