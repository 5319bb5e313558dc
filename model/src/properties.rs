//! The named properties. Their names are the user interface: reports, `--property`, scenario
//! files and traces refer to them by these short English phrases.
//!
//! Every safety property (`always`) has a reachability twin (`sometimes`) that shows the states
//! it speaks about are reached at all, so a model that cannot reach them fails loudly instead of
//! passing vacuously. Liveness (`eventually`) is checked on a model whose every behaviour is
//! finite (every step uses up a bounded resource), with a condition that, once true, stays true:
//! on such a model stateright's terminal-state check of `eventually` is exact (see
//! `../shared/stateright-notes.md` for where it is not).

use crate::config::{Config, StorageState};
use crate::model::SealModel;
pub use crate::model::{PropertyInfo, PropertyKind};
use crate::state::*;

/// "acknowledged offsets stay below the sealed tail"
pub const ACKED_BELOW_SEALED_TAIL: &str = "acknowledged offsets stay below the sealed tail";
/// "every acknowledged record is stored on a write quorum"
pub const ACKED_ON_WRITE_QUORUM: &str = "every acknowledged record is stored on a write quorum";
/// "a seal completes only with an f-majority of confirmations"
pub const SEAL_NEEDS_F_MAJORITY: &str = "a seal completes only with an f-majority of confirmations";
/// "a sealed tail never unseals and tails never move back"
pub const TAILS_NEVER_MOVE_BACK: &str = "a sealed tail never unseals and tails never move back";
/// "the known global tail never decreases"
pub const GLOBAL_TAIL_MONOTONE: &str = "the known global tail never decreases";
/// "a durably sealed log server accepts no new record"
pub const SEALED_SERVER_REJECTS_STORES: &str = "a durably sealed log server accepts no new record";
/// "a Provisioning log server stores nothing"
pub const PROVISIONING_STORES_NOTHING: &str = "a Provisioning log server stores nothing";
/// "storage states only make legal moves"
pub const LEGAL_STORAGE_MOVES: &str = "storage states only make legal moves";
/// "the sequencer seals only after draining"
pub const SEALS_AFTER_DRAIN: &str = "the sequencer seals only after draining";
/// "the loglet gets sealed"
pub const LOGLET_GETS_SEALED: &str = "the loglet gets sealed";
/// "an append is acknowledged"
pub const APPEND_ACKNOWLEDGED: &str = "an append is acknowledged";
/// "a seal is rejected because all members look Provisioning"
pub const SEAL_REJECTED_ALL_PROVISIONING: &str =
    "a seal is rejected because all members look Provisioning";
/// "a seal fails for lack of confirmations"
pub const SEAL_FAILS_INSUFFICIENT: &str = "a seal fails for lack of confirmations";
/// "an append is rejected as sealed"
pub const APPEND_REJECTED_SEALED: &str = "an append is rejected as sealed";
/// "find-tail assists a seal" (cluster only)
pub const FIND_TAIL_ASSISTS_SEAL: &str = "find-tail assists a seal";
/// "find-tail repairs the tail" (cluster only)
pub const FIND_TAIL_REPAIRS_TAIL: &str = "find-tail repairs the tail";
/// "find-tail returns the loglet sealed" (cluster only)
pub const FIND_TAIL_RETURNS_SEALED: &str = "find-tail returns the loglet sealed";
/// "the remote sequencer drains after the seal" (cluster only)
pub const REMOTE_SEQUENCER_SEALS: &str = "the remote sequencer drains after the seal";
/// "another node's seal task completes" (with `faults.other_seals`)
pub const OTHER_SEAL_COMPLETES: &str = "another node's seal task completes";
/// "another reader's tail repair completes" (with `faults.other_repairs`)
pub const OTHER_REPAIR_COMPLETES: &str = "another reader's tail repair completes";
/// "a seal the harness starts eventually succeeds"
pub const SEAL_EVENTUALLY_SUCCEEDS: &str = "a seal the harness starts eventually succeeds";

/// The offsets of the acknowledged appends, as ranges (one per run). O(runs).
fn acked(state: &State) -> impl Iterator<Item = std::ops::Range<Offset>> + '_ {
    state
        .client
        .appends
        .runs()
        .filter(|r| r.data.status == AppendStatus::Acked)
        .map(|r| r.offsets())
}

/// Whether every offset of `range` is stored on at least `r` of `servers`: the count is
/// constant between the interval ends of the servers' sets, so one offset per piece is
/// counted. O(servers × their intervals).
fn stored_on_at_least(servers: &[LogServer], range: std::ops::Range<Offset>, r: usize) -> bool {
    let mut cuts: Vec<Offset> = servers
        .iter()
        .flat_map(|s| s.stored.intervals())
        .flat_map(|i| [i.start, i.end])
        .filter(|o| range.contains(o))
        .collect();
    cuts.push(range.start);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.iter()
        .all(|&o| servers.iter().filter(|s| s.stored.contains(o)).count() >= r)
}

fn acked_below_sealed_tail(_: &SealModel, s: &State) -> bool {
    // Every tail the loglet was sealed at: the sequencer's own, and (cluster) the one a
    // find-tail reader returned, which the chain is sealed at.
    [s.sealed_tail(), s.find_tail_sealed()]
        .into_iter()
        .flatten()
        .all(|tail| acked(s).all(|offsets| offsets.end <= tail))
}

fn acked_on_write_quorum(m: &SealModel, s: &State) -> bool {
    !s.history.acked_without_quorum
        && acked(s)
            .all(|offsets| stored_on_at_least(&s.servers, offsets, m.cfg.replication as usize))
}

fn seal_needs_f_majority(_: &SealModel, s: &State) -> bool {
    // Judged when the task reported success, by the checker's rules (`f_majority_check`) over
    // the storage states the task read and the servers durably sealed then; not by the
    // model's own quorum code.
    s.history.seal_succeeded_with.is_none_or(FMajority::passed)
}

fn tails_never_move_back(_: &SealModel, s: &State) -> bool {
    s.history.tail_moved_back.is_none()
}

fn global_tail_monotone(_: &SealModel, s: &State) -> bool {
    s.history.global_tail_decreased.is_none()
}

fn sealed_server_rejects_stores(_: &SealModel, s: &State) -> bool {
    s.history.stored_after_seal.is_none()
}

fn provisioning_stores_nothing(_: &SealModel, s: &State) -> bool {
    s.history.stored_while_provisioning.is_none()
}

/// Whether a storage-state change is one of the protocol's legal moves: a log server provisions
/// itself (Provisioning -> ReadWrite) or detects lost data (ReadWrite/ReadOnly -> DataLoss); the
/// operator may disable a Provisioning node, move ReadWrite <-> ReadOnly, or bring a repaired
/// DataLoss node back to ReadWrite. Nothing re-enters Provisioning, nothing leaves Disabled.
pub fn legal_move(from: StorageState, to: StorageState) -> bool {
    use StorageState::*;
    from == to
        || matches!(
            (from, to),
            (Provisioning, ReadWrite)
                | (Provisioning, Disabled)
                | (ReadWrite, ReadOnly)
                | (ReadOnly, ReadWrite)
                | (ReadWrite, DataLoss)
                | (ReadOnly, DataLoss)
                | (DataLoss, ReadWrite)
        )
}

fn legal_storage_moves(_: &SealModel, s: &State) -> bool {
    s.configs
        .windows(2)
        .all(|w| w[0].iter().zip(&w[1]).all(|(a, b)| legal_move(*a, *b)))
}

fn seals_after_drain(_: &SealModel, s: &State) -> bool {
    !s.history.sealed_with_appends_in_flight
}

fn loglet_gets_sealed(_: &SealModel, s: &State) -> bool {
    s.sealed_tail().is_some()
}

fn find_tail_assists_seal(_: &SealModel, s: &State) -> bool {
    s.history.find_tail_assisted
}

fn find_tail_repairs_tail(_: &SealModel, s: &State) -> bool {
    s.history.tail_repair_started
}

fn find_tail_returns_sealed(_: &SealModel, s: &State) -> bool {
    s.find_tail_sealed().is_some()
}

fn remote_sequencer_seals(_: &SealModel, s: &State) -> bool {
    s.history.sequencer_sealed_remotely
}

fn other_seal_completes(_: &SealModel, s: &State) -> bool {
    s.client.other_seals.completed()
}

fn other_repair_completes(_: &SealModel, s: &State) -> bool {
    s.client.other_repairs.completed
}

fn append_acknowledged(_: &SealModel, s: &State) -> bool {
    acked(s).next().is_some()
}

fn seal_rejected_all_provisioning(_: &SealModel, s: &State) -> bool {
    s.history.seal_rejected_all_provisioning
}

fn seal_fails_insufficient(_: &SealModel, s: &State) -> bool {
    s.history.seal_failed_insufficient
}

fn append_rejected_sealed(_: &SealModel, s: &State) -> bool {
    s.history.append_rejected_sealed
}

fn seal_eventually_succeeds(_: &SealModel, s: &State) -> bool {
    s.client.harness == HarnessPhase::Succeeded
}

/// The properties a scenario checks, in report order. Append properties are left out of
/// scenarios without appends, where their reachability twins could never be reached; cluster
/// properties out of scenarios without separate roles.
pub fn for_config(cfg: &Config) -> Vec<PropertyInfo> {
    let mut list = safety_properties();
    if cfg.appends > 0 {
        list.extend(append_properties());
    }
    if cfg.cluster.is_some() {
        list.extend(remote_sequencer_properties());
    }
    // A find-tail reader queries the log servers itself only once the sequencer's node died,
    // or once its request to the live sequencer failed (`faults.reader_timeouts`).
    if cfg.cluster.is_some() && (cfg.faults.crashes > 0 || cfg.faults.reader_timeouts > 0) {
        list.extend(find_tail_properties());
    }
    if cfg.faults.other_seals > 0 {
        list.push(PropertyInfo {
            name: OTHER_SEAL_COMPLETES,
            kind: PropertyKind::Sometimes,
            condition: other_seal_completes,
            about: "a seal task of a node other than the harness's (auto-improvement, failover, auto-recovery, shutdown) completes on an f-majority",
            guard: false,
        });
    }
    if cfg.cluster.is_some() && cfg.faults.crashes > 0 && cfg.faults.other_repairs > 0 {
        list.push(PropertyInfo {
            name: OTHER_REPAIR_COMPLETES,
            kind: PropertyKind::Sometimes,
            condition: other_repair_completes,
            about: "a tail repair of a find-tail reader other than the model's one (Restate runs one per caller, on every node) completes",
            guard: false,
        });
    }
    list.extend(seal_outcome_properties());
    list
}

/// The safety properties, and the reachability twin that guards them all.
fn safety_properties() -> Vec<PropertyInfo> {
    use PropertyKind::*;
    vec![
        PropertyInfo {
            name: ACKED_BELOW_SEALED_TAIL,
            kind: Always,
            condition: acked_below_sealed_tail,
            about: "after seal() succeeds no append is acknowledged at or past the sealed tail",
            guard: false,
        },
        PropertyInfo {
            name: ACKED_ON_WRITE_QUORUM,
            kind: Always,
            condition: acked_on_write_quorum,
            about: "an acknowledged append is durably stored on R distinct log servers",
            guard: false,
        },
        PropertyInfo {
            name: SEAL_NEEDS_F_MAJORITY,
            kind: Always,
            condition: seal_needs_f_majority,
            about: "when the seal task reports success, an f-majority (max(N - R, 0) + 1 of the N members not Disabled, judged by Restate's checker rules) is durably sealed",
            guard: false,
        },
        PropertyInfo {
            name: TAILS_NEVER_MOVE_BACK,
            kind: Always,
            condition: tails_never_move_back,
            about: "durable local tails and seal flags only move forward",
            guard: false,
        },
        PropertyInfo {
            name: GLOBAL_TAIL_MONOTONE,
            kind: Always,
            condition: global_tail_monotone,
            about: "the sequencer's and every running log server's known global tail is monotone",
            guard: false,
        },
        PropertyInfo {
            name: SEALED_SERVER_REJECTS_STORES,
            kind: Always,
            condition: sealed_server_rejects_stores,
            about: "a log server that durably sealed the loglet answers Sealed to every non-repair store",
            guard: false,
        },
        PropertyInfo {
            name: PROVISIONING_STORES_NOTHING,
            kind: Always,
            condition: provisioning_stores_nothing,
            about: "no record is stored on a log server while the metadata shows it Provisioning",
            guard: false,
        },
        PropertyInfo {
            name: LEGAL_STORAGE_MOVES,
            kind: Always,
            condition: legal_storage_moves,
            about: "nothing re-enters Provisioning or leaves Disabled; only the moves Restate allows",
            guard: false,
        },
        PropertyInfo {
            name: SEALS_AFTER_DRAIN,
            kind: Always,
            condition: seals_after_drain,
            about: "the sequencer sets its sealed flag only after cancelling in-flight appends",
            guard: false,
        },
        PropertyInfo {
            name: LOGLET_GETS_SEALED,
            kind: Sometimes,
            condition: loglet_gets_sealed,
            about: "some behaviour seals the loglet (twin of the seal safety properties)",
            guard: true,
        },
    ]
}

/// The reachability properties of appends (scenarios with appends).
fn append_properties() -> Vec<PropertyInfo> {
    use PropertyKind::*;
    vec![
        PropertyInfo {
            name: APPEND_ACKNOWLEDGED,
            kind: Sometimes,
            condition: append_acknowledged,
            about: "some behaviour acknowledges an append (twin of the append safety properties)",
            guard: true,
        },
        PropertyInfo {
            name: APPEND_REJECTED_SEALED,
            kind: Sometimes,
            condition: append_rejected_sealed,
            about: "some append fails because an f-majority answered Sealed",
            guard: false,
        },
    ]
}

/// Cluster only: the remote sequencer seals.
fn remote_sequencer_properties() -> Vec<PropertyInfo> {
    use PropertyKind::*;
    vec![
        PropertyInfo {
            name: REMOTE_SEQUENCER_SEALS,
            kind: Sometimes,
            condition: remote_sequencer_seals,
            about: "the sequencer on another node than the sealer drains and sets its sealed flag after the seal",
            guard: false,
        },
    ]
}

/// Cluster with crashes only: what a find-tail reader does.
fn find_tail_properties() -> Vec<PropertyInfo> {
    use PropertyKind::*;
    vec![
        PropertyInfo {
            name: FIND_TAIL_RETURNS_SEALED,
            kind: Sometimes,
            condition: find_tail_returns_sealed,
            about: "a find-tail reader returns the loglet sealed at a tail (twin of the sealed-tail property for the tail find-tail returns)",
            guard: true,
        },
        PropertyInfo {
            name: FIND_TAIL_ASSISTS_SEAL,
            kind: Sometimes,
            condition: find_tail_assists_seal,
            about: "a find-tail reader sees some but not an f-majority of members sealed and runs a seal task to assist",
            guard: false,
        },
        PropertyInfo {
            name: FIND_TAIL_REPAIRS_TAIL,
            kind: Sometimes,
            condition: find_tail_repairs_tail,
            about: "a find-tail reader finds records past its known global tail without a write quorum and repairs them with stores that ignore the seal",
            guard: false,
        },
    ]
}

/// How the seal calls end: rejected, failed, and (liveness) eventually succeeded.
fn seal_outcome_properties() -> Vec<PropertyInfo> {
    use PropertyKind::*;
    vec![
        PropertyInfo {
            name: SEAL_REJECTED_ALL_PROVISIONING,
            kind: Sometimes,
            condition: seal_rejected_all_provisioning,
            about: "the seal task's guard rejects a seal: every nodeset member looks Provisioning to the caller",
            guard: false,
        },
        PropertyInfo {
            name: SEAL_FAILS_INSUFFICIENT,
            kind: Sometimes,
            condition: seal_fails_insufficient,
            about: "a seal task fails because fewer than an f-majority confirmed",
            guard: false,
        },
        PropertyInfo {
            name: SEAL_EVENTUALLY_SUCCEEDS,
            kind: Eventually,
            condition: seal_eventually_succeeds,
            about: "every complete behaviour ends with the harness's seal() having succeeded",
            guard: false,
        },
    ]
}
