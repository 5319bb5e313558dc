//! End-to-end: records the `incident` scenario on a real cluster and parses it back; network
//! faults (nft) cut a node's port inside the namespace and clearing them, or dropping the
//! cluster, removes them.
//!
//! Ignored by default: it needs root (network namespaces) and the Restate binaries
//! (`npm ci --prefix restate`, or SEALCHECK_RESTATE_SERVER / SEALCHECK_RESTATECTL). Run with
//! `cargo test -p sealcheck-recorder --test live_incident -- --ignored`.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use sealcheck_recorder::netfault::{list_table, FaultKind};
use sealcheck_recorder::{
    parse_raw_dir, run_scenario, Binaries, Cluster, ClusterConfig, Fact, Scenario, ScenarioOptions,
};

#[test]
#[ignore = "needs root and the Restate 1.7.12 binaries (npm ci --prefix restate)"]
fn incident_records_and_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bins = Binaries::from_env(&root).expect("binaries");
    let tmp = std::env::temp_dir().join(format!("sealcheck-live-{}", std::process::id()));
    let opts = ScenarioOptions::new(tmp.join("work"), tmp.join("raw"));
    let report = run_scenario(Scenario::Incident, &bins, &opts).expect("scenario runs");
    assert!(
        report
            .seals
            .iter()
            .any(sealcheck_recorder::scenario::seal_succeeded),
        "{}",
        report.summary
    );
    let run = parse_raw_dir(&opts.raw_dir).expect("raw dir parses");
    assert_eq!(run.meta.loglet_id.as_deref(), Some("0_0"));
    assert!(run
        .facts
        .iter()
        .any(|f| matches!(f.fact, Fact::SelfProvisioned { .. })));
    assert!(run
        .facts
        .iter()
        .any(|f| matches!(&f.fact, Fact::SealCompleted { loglet, .. } if loglet == "0_0")));
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Whether a TCP connection to 127.0.0.1:`port` inside the cluster's namespace is accepted and
/// answered within 1 s: a connect that is dropped times out.
fn connects(cluster: &Cluster, port: u16) -> bool {
    cluster
        .netns()
        .spawn_thread("connect", move || {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
#[ignore = "needs root, nft (Debian nftables) and the Restate 1.7.12 binaries"]
fn net_faults_cut_a_port_and_are_cleared_on_request_and_on_drop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bins = Binaries::from_env(&root).expect("binaries");
    let tmp = std::env::temp_dir().join(format!("sealcheck-live-nft-{}", std::process::id()));
    let cfg = ClusterConfig::new(tmp.join("work"), tmp.join("raw"));
    let (p2, p3) = (cfg.node_meta(2).fabric_port, cfg.node_meta(3).fabric_port);
    let mut cluster = Cluster::start(&bins, cfg).expect("cluster starts");
    let ns = cluster.netns().path();
    assert_eq!(
        list_table(&ns).unwrap(),
        None,
        "a fresh namespace has no table"
    );
    assert!(connects(&cluster, p2));

    cluster.apply_fault(2, FaultKind::Partition).unwrap();
    let table = list_table(&ns).unwrap().expect("our table");
    assert!(table.contains(&format!("tcp dport {p2} drop")), "{table}");
    assert!(table.contains(&format!("tcp sport {p2} drop")), "{table}");
    assert!(!connects(&cluster, p2), "N2's port still answers");
    assert!(connects(&cluster, p3), "N3's port is cut too");
    assert!(cluster.is_running(2), "a partition stops no process");

    cluster.clear_faults().unwrap();
    assert_eq!(list_table(&ns).unwrap(), None);
    assert!(cluster.faults().is_empty());
    assert!(
        connects(&cluster, p2),
        "N2's port is still cut after clearing"
    );

    // A fault left in force is cleared by the teardown, before the servers are stopped.
    cluster.apply_fault(3, FaultKind::Reset).unwrap();
    assert!(!connects(&cluster, p3));
    drop(cluster);
    let actions = std::fs::read_to_string(tmp.join("raw/actions.jsonl")).unwrap();
    let kinds: Vec<String> = actions
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].to_string())
        .filter(|a| a.contains("net-fault") || a.contains("shutdown"))
        .collect();
    assert_eq!(
        kinds,
        [
            "\"net-fault\"",
            "\"net-faults-cleared\"",
            "\"net-fault\"",
            "\"net-faults-cleared\"",
            "\"shutdown\""
        ],
        "{actions}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
