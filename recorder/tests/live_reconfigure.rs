//! The natural route to the seed's race, tried on a real cluster: `restatectl logs reconfigure`
//! with an explicit `--nodeset` of log servers that have not provisioned (node ids 4, 5, 6,
//! never started: Restate treats unknown ids as Provisioning). If 1.7.12 accepted it, a seal of
//! the new loglet would meet an all-Provisioning nodeset without any `--force`. It does not:
//! the cluster controller builds the new nodeset from ReadWrite log servers only
//! (`logserver_candidate_filter`), and the explicit nodeset is a preference. The test records
//! what it does instead (docs/reproducing.md).
//!
//! Ignored by default: it needs root and the Restate binaries. Run with
//! `cargo test -p sealcheck-recorder --test live_reconfigure -- --ignored`.

use std::path::Path;
use std::time::Duration;

use sealcheck_recorder::{Binaries, Cluster, ClusterConfig};

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn reconfigure_onto_unprovisioned_log_servers_is_not_honoured() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bins = Binaries::from_env(&root).expect("binaries");
    let tmp = std::env::temp_dir().join(format!("sealcheck-live-reconf-{}", std::process::id()));
    let cfg = ClusterConfig::new(tmp.join("work"), tmp.join("raw"));
    let cluster = Cluster::start(&bins, cfg).expect("cluster starts");
    cluster.provision().expect("provisions");
    let before = cluster
        .wait_for_log(0, Duration::from_secs(90))
        .expect("log 0");
    cluster
        .wait_storage_states(Duration::from_secs(30), |s| {
            s.len() == 3 && s.values().all(|v| v == "read-write")
        })
        .expect("all ReadWrite");
    let rec = cluster
        .ctl()
        .run_via(
            1,
            &[
                "logs",
                "reconfigure",
                "--log-id",
                "0",
                "--provider",
                "replicated",
                "--replication",
                "{node: 2}",
                "--nodeset",
                "4,5,6",
            ],
        )
        .expect("restatectl runs");
    eprintln!(
        "restatectl logs reconfigure --nodeset 4,5,6: exit {:?}\nstdout: {}\nstderr: {}",
        rec.exit, rec.stdout, rec.stderr
    );
    std::thread::sleep(Duration::from_secs(2));
    let after = cluster.tail_segment(0).expect("logs").expect("log 0");
    eprintln!("before: {before:?}\nafter: {after:?}");
    // Whatever restatectl said, no segment of log 0 has a nodeset of unprovisioned nodes.
    assert!(
        !after.nodeset.iter().any(|n| *n >= 4),
        "1.7.12 put unprovisioned nodes into a nodeset: {after:?}"
    );
    cluster.shutdown().expect("shutdown");
    std::fs::remove_dir_all(&tmp).unwrap();
}
