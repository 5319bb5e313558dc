//! Parser tests on trimmed copies of material captured from Restate 1.7.12.

use std::path::{Path, PathBuf};

use sealcheck_recorder::parse::NodeStatus;
use sealcheck_recorder::{parse_raw_dir, Error, Fact, NodeSealStatus, RawRun};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn parse(name: &str) -> RawRun {
    parse_raw_dir(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn position(run: &RawRun, pred: impl Fn(&Fact) -> bool) -> usize {
    run.facts
        .iter()
        .position(|f| pred(&f.fact))
        .expect("a matching fact")
}

#[test]
fn facts_are_ordered_by_time() {
    for name in ["incident-forced", "two-paused"] {
        let run = parse(name);
        assert!(run.facts.windows(2).all(|w| w[0].time_us <= w[1].time_us));
        assert!(!run.facts.is_empty());
    }
}

#[test]
fn incident_forced_shows_the_all_provisioning_refusal() {
    let run = parse("incident-forced");
    assert_eq!(run.meta.scenario, "incident-forced");
    // Every log server self-provisioned at start-up.
    for node in 1..=3 {
        assert!(run
            .facts
            .iter()
            .any(|f| f.fact == Fact::SelfProvisioned { node }));
    }
    // The operator forced everyone to Provisioning; restatectl confirmed it.
    let forced = position(
        &run,
        |f| matches!(f, Fact::StorageStateSet { to, .. } if to == "provisioning"),
    );
    // N1's seal task refused with the warning, and the admin reported the empty nodeset status.
    let warned = position(
        &run,
        |f| matches!(f, Fact::AllProvisioningWarning { node: 1, loglet } if loglet == "0_0"),
    );
    let failed = position(&run, |f| {
        matches!(f, Fact::SealFailed { node: 1, loglet: Some(l), nodeset_status, .. }
            if l == "0_0" && nodeset_status.is_empty())
    });
    assert!(forced < warned && warned < failed);
    // restatectl exited 0 but the fact records the failure.
    assert!(run.facts.iter().any(|f| matches!(
        &f.fact,
        Fact::SealCommandReturned { via: Some(1), log_id: Some(0), succeeded: false, error: Some(e), .. }
            if e.contains("The nodeset status is []")
    )));
    // After the restart the seal completed on an f-majority.
    let done = position(
        &run,
        |f| matches!(f, Fact::SealCompleted { node: 1, loglet, .. } if loglet == "0_0"),
    );
    assert!(done > failed);
    assert!(run.facts.iter().any(|f| matches!(
        &f.fact,
        Fact::SealCommandReturned {
            succeeded: true,
            tail_lsn: Some(3),
            ..
        }
    )));
}

#[test]
fn loglet_creation_carries_nodeset_sequencer_and_replication() {
    let run = parse("incident-forced");
    let created = run
        .facts
        .iter()
        .find_map(|f| match &f.fact {
            Fact::LogletCreated {
                loglet,
                nodeset,
                sequencer,
                replication,
                ..
            } if loglet == "0_0" => {
                Some((nodeset.clone(), sequencer.to_string(), replication.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        created,
        (
            run.meta.nodeset.clone(),
            run.meta.sequencer.clone().unwrap(),
            "{node: 2}".to_string()
        )
    );
}

#[test]
fn two_paused_seal_fails_with_two_errors() {
    let run = parse("two-paused");
    let status = run
        .facts
        .iter()
        .find_map(|f| match &f.fact {
            Fact::SealFailed {
                node: 1,
                nodeset_status,
                ..
            } => Some(nodeset_status.clone()),
            _ => None,
        })
        .expect("a SealFailed fact");
    assert_eq!(
        status,
        vec![
            NodeStatus {
                node: 1,
                status: NodeSealStatus::Sealed
            },
            NodeStatus {
                node: 2,
                status: NodeSealStatus::Error
            },
            NodeStatus {
                node: 3,
                status: NodeSealStatus::Error
            },
        ]
    );
    // Each paused peer exhausted its three Seal attempts before the failure was reported.
    let exhausted: Vec<u32> = run
        .facts
        .iter()
        .filter_map(|f| match &f.fact {
            Fact::RequestExhausted {
                peer: Some(p),
                message: Some(m),
                ..
            } if m == "Seal" => Some(*p),
            _ => None,
        })
        .collect();
    assert!(
        exhausted.contains(&2) && exhausted.contains(&3),
        "{exhausted:?}"
    );
    // The pauses are in the operator actions.
    let paused = run
        .facts
        .iter()
        .filter(
            |f| matches!(&f.fact, Fact::OperatorAction { action, .. } if action == "pause-node"),
        )
        .count();
    assert_eq!(paused, 2);
}

#[test]
fn snapshots_become_change_only_observations() {
    let run = parse("incident-forced");
    let provisioning = run.facts.iter().filter(|f| {
        matches!(
            &f.fact,
            Fact::StorageStateObserved { state, .. } if state == "provisioning"
        )
    });
    assert!(provisioning.count() >= 3);
    let workers = run
        .facts
        .iter()
        .filter_map(|f| match &f.fact {
            Fact::LogletWorkerObserved {
                node,
                loglet,
                local_tail,
                known_global_tail,
                sealed,
                ..
            } => Some((
                *node,
                loglet.clone(),
                *local_tail,
                *known_global_tail,
                *sealed,
            )),
            _ => None,
        })
        .collect::<Vec<_>>();
    // No two consecutive observations of the same worker are equal.
    for (i, a) in workers.iter().enumerate() {
        if let Some(b) = workers[i + 1..].iter().find(|b| b.0 == a.0 && b.1 == a.1) {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn missing_meta_and_bad_records_are_errors_not_facts() {
    let dir = std::env::temp_dir().join(format!("sealcheck-parse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(parse_raw_dir(&dir), Err(Error::Io { .. })));
    std::fs::copy(
        fixture("two-paused").join("meta.json"),
        dir.join("meta.json"),
    )
    .unwrap();
    std::fs::write(dir.join("actions.jsonl"), "{\"time\": 1}\n").unwrap();
    match parse_raw_dir(&dir) {
        Err(Error::Malformed { line, file, .. }) => {
            assert_eq!(line, 1);
            assert!(file.ends_with("actions.jsonl"));
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fact_kinds_and_nodes_are_those_of_their_json() {
    for name in ["incident-forced", "two-paused"] {
        let run = parse(name);
        for f in &run.facts {
            let v = serde_json::to_value(&f.fact).unwrap();
            assert_eq!(v["kind"].as_str(), Some(f.fact.kind()), "{v}");
            let node = v.get("node").and_then(|n| n.as_u64()).map(|n| n as u32);
            assert_eq!(node, f.fact.node(), "{v}");
        }
    }
}

#[test]
fn sql_rows_are_parsed_once_and_the_observed_facts_come_from_them() {
    use sealcheck_recorder::SqlRow;
    let run = parse("incident-forced");
    assert!(!run.snapshots.is_empty());
    // Every loglet-worker fact is one typed row of the snapshot on its line.
    for f in &run.facts {
        if let Fact::LogletWorkerObserved {
            node,
            loglet,
            local_tail,
            sealed,
            ..
        } = &f.fact
        {
            let snap = run
                .snapshots
                .iter()
                .find(|s| s.line == f.source.line)
                .unwrap();
            assert!(snap.rows.iter().any(|r| matches!(r,
                SqlRow::LogletWorkers(w) if w.node == *node && &w.loglet == loglet
                    && w.local_tail == *local_tail && w.sealed == *sealed)));
        }
    }
}
