//! The model against rules written down from Restate's code, independently of the model's own
//! functions: the f-majority of the seal task (`crates/types/src/replication/checker.rs`), the
//! checks of `restatectl nodes set-storage-state` without `--force`, and a few log-server
//! details (`crates/log-server/src/loglet_worker.rs`).

use sealcheck_model::properties::{f_majority_check, FMajority};
use sealcheck_model::state::{has, Bits, LogServer, Process, Status};
use sealcheck_model::{Config, SealModel, StorageState};

/// One row per kind of nodeset member: (name, storage state the model reads it as, counted
/// among the f-majority's candidates, authoritative). From the checker's rules: Provisioning
/// and unknown ids authoritative, DataLoss counted but not authoritative ("success with
/// risk"), Disabled excluded, ReadOnly and Gone authoritative.
const RULES: &[(&str, StorageState, bool, bool)] = &[
    ("provisioning", StorageState::Provisioning, true, true),
    ("unknown id", StorageState::Provisioning, true, true),
    ("read-write", StorageState::ReadWrite, true, true),
    ("read-only", StorageState::ReadOnly, true, true),
    ("gone", StorageState::Gone, true, true),
    ("data-loss", StorageState::DataLoss, true, false),
    ("disabled", StorageState::Disabled, false, false),
];

/// What the table says a seal with these members and confirmations gets.
fn expected(rows: &[usize], confirmed: &[bool], r: usize) -> FMajority {
    let candidates = rows.iter().filter(|&&k| RULES[k].2).count();
    // Restate: candidate_domains.saturating_sub(R) + 1.
    let needed = if candidates >= r {
        candidates - r + 1
    } else {
        1
    };
    let auth = rows
        .iter()
        .zip(confirmed)
        .filter(|(&k, &c)| c && RULES[k].2 && RULES[k].3)
        .count();
    let other = rows
        .iter()
        .zip(confirmed)
        .filter(|(&k, &c)| c && RULES[k].2 && !RULES[k].3)
        .count();
    let all_auth = rows.iter().filter(|&&k| RULES[k].2 && RULES[k].3).count();
    if auth + other >= needed {
        if auth >= needed {
            FMajority::Success
        } else {
            FMajority::SuccessWithRisk
        }
    } else if auth == all_auth {
        FMajority::BestEffort
    } else {
        FMajority::None
    }
}

fn model(n: usize, r: usize, states: &[StorageState]) -> SealModel {
    Config {
        log_servers: n as u8,
        nodeset: (1..=n as u8).collect(),
        replication: r as u8,
        client: 9,
        initial_storage: states.to_vec(),
        ..Config::incident()
    }
    .into_model()
    .unwrap()
}

/// Every configuration with n = 1..5 members, R = 1..n, every mix of member kinds and every
/// set of confirmations: the property's check and the seal task's decision agree with the
/// table. With the earlier `(n + 1) - R` a nodeset of fewer than R candidates needed no
/// confirmation at all, which this test rejects (n = 3, R = 2, one candidate).
#[test]
fn f_majority_follows_the_checkers_rules_on_every_small_configuration() {
    let mut cases = 0u64;
    for n in 1..=5usize {
        let mixes = RULES.len().pow(n as u32);
        for mix in 0..mixes {
            let rows: Vec<usize> = (0..n)
                .map(|i| (mix / RULES.len().pow(i as u32)) % RULES.len())
                .collect();
            let states: Vec<StorageState> = rows.iter().map(|&k| RULES[k].1).collect();
            for r in 1..=n {
                let m = model(n, r, &states);
                for set in 0..(1u32 << n) {
                    let confirmed: Vec<bool> = (0..n).map(|i| set & (1 << i) != 0).collect();
                    let want = expected(&rows, &confirmed, r);
                    let got = f_majority_check(&states, &confirmed, r as u8);
                    let names: Vec<&str> = rows.iter().map(|&k| RULES[k].0).collect();
                    assert_eq!(
                        got, want,
                        "property check: n={n} R={r} members={names:?} confirmed={confirmed:?}"
                    );
                    assert_eq!(
                        m.seal_task_passes(&states, set as Bits),
                        want.passed(),
                        "seal task: n={n} R={r} members={names:?} confirmed={confirmed:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 1_000_000, "{cases} cases");
}

#[test]
fn fewer_candidates_than_r_need_one_confirmation_and_none_fails() {
    use StorageState::*;
    let states = [ReadWrite, Disabled, Disabled];
    let m = model(3, 2, &states);
    assert_eq!(m.seal_quorum(1), 1);
    assert!(!m.seal_task_passes(&states, 0));
    assert!(m.seal_task_passes(&states, 0b001));
    assert_eq!(
        f_majority_check(&states, &[false, false, false], 2),
        FMajority::None
    );
    // An empty effective nodeset never passes.
    let all = [Disabled, Disabled, Disabled];
    assert!(!f_majority_check(&all, &[true, true, true], 2).passed());
}

/// `restatectl nodes set-storage-state` without `--force`
/// (`tools/restatectl/src/commands/node/storage_state.rs`).
#[test]
fn restatectl_without_force_checks_the_pair_and_the_remaining_read_write_nodes() {
    use StorageState::*;
    let m = model(3, 2, &[ReadWrite, ReadWrite, ReadWrite]);
    let all_rw = [ReadWrite, ReadWrite, ReadWrite];
    // A move to the same state is accepted (and writes a new version).
    assert!(m.operator_may(&all_rw, 0, ReadWrite));
    // ReadWrite -> ReadOnly needs R = 2 other ReadWrite nodes: yes for the first...
    assert!(m.operator_may(&all_rw, 0, ReadOnly));
    // ... not for the second.
    let one_ro = [ReadOnly, ReadWrite, ReadWrite];
    assert!(!m.operator_may(&one_ro, 1, ReadOnly));
    // Even a same-state move to a non-ReadWrite state runs the check.
    let two_ro = [ReadOnly, ReadOnly, ReadWrite];
    assert!(!m.operator_may(&two_ro, 0, ReadOnly));
    // Back to ReadWrite is always fine.
    assert!(m.operator_may(&two_ro, 0, ReadWrite));
    // DataLoss -> ReadWrite, anything -> Gone, and re-entering Provisioning need --force.
    let dl = [DataLoss, ReadWrite, ReadWrite];
    assert!(!m.operator_may(&dl, 0, ReadWrite));
    assert!(!m.operator_may(&all_rw, 0, Gone));
    assert!(!m.operator_may(&all_rw, 0, Provisioning));
    let forced = Config {
        faults: sealcheck_model::Faults {
            operator_force: true,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap();
    assert!(forced.operator_may(&dl, 0, ReadWrite));
    assert!(forced.operator_may(&all_rw, 0, Gone));
}

/// A duplicate store below the local tail is answered Ok (the status function), and the
/// server's answer to a store past `max(local tail, known global tail)` is OutOfBounds.
#[test]
fn store_status_follows_the_loglet_worker() {
    let s = LogServer {
        process: Process::Serving,
        marker: true,
        stored: 0b11,
        local_tail: 2,
        sealed: false,
        known_global_tail: 2,
    };
    assert_eq!(SealModel::store_status(&s, 0, 0, false), Status::Ok);
    assert_eq!(SealModel::store_status(&s, 2, 0, false), Status::Ok);
    assert_eq!(
        SealModel::store_status(&s, 3, 0, false),
        Status::OutOfBounds
    );
    assert_eq!(SealModel::store_status(&s, 3, 3, false), Status::Ok);
    let sealed = LogServer { sealed: true, ..s };
    assert_eq!(
        SealModel::store_status(&sealed, 0, 0, false),
        Status::Sealed
    );
    assert!(has(0b11, 1));
}
