//! Network faults inside a cluster's private namespace, with nftables.
//!
//! The namespace's loopback never loses, delays or partitions anything by itself. A [`Fault`]
//! makes it do so for one node's fabric port (the port the other nodes, the sealer's seal task
//! and restatectl reach the node on, [`crate::NodeMeta::fabric_port`]): the rules go into a
//! table of our own, `table inet sealcheck`, with one chain on the `output` hook. On `lo` every
//! packet leaves through `output` once, so a rule on the destination port cuts what is sent to
//! the node and a rule on the source port what the node sends back; every fault writes both, so
//! that connections already open are cut in both directions, not just new ones.
//!
//! - [`FaultKind::Partition`]: `tcp dport P drop` and `tcp sport P drop`. The node's process
//!   keeps running (unlike a pause) but nothing reaches it and nothing it answers arrives:
//!   requests to it time out.
//! - [`FaultKind::Loss`]: the same with `numgen random mod 100 < N`: each packet is lost with
//!   probability N %; TCP retransmits, so a request is late rather than lost unless the loss
//!   lasts.
//! - [`FaultKind::Reset`]: `reject with tcp reset`: every connection to the port is broken at
//!   once and new ones are refused.
//!
//! [`rules_script`] writes the whole table for the faults in force, so applying a fault replaces
//! the table in one nft transaction (`table inet sealcheck {}`, `delete table inet sealcheck`,
//! then the new table: the first line makes the delete succeed when there is no table yet);
//! [`clear_script`] removes the table. [`crate::Cluster::apply_fault`] and
//! [`crate::Cluster::clear_faults`] run them with `nsenter --net=<namespace> nft <script>` and
//! record each as an operator action (`net-fault`, `net-faults-cleared`) in `actions.jsonl`.
//!
//! Clean-up: the cluster clears its faults when it shuts down, on error and on drop (before it
//! stops the servers, so the shutdown seals are not cut off); and the table lives in the
//! namespace, which goes when its holder and the servers are gone, so a killed recorder leaves no
//! rule behind either. `tc netem` (delays) is not used: the kernels this runs on lack it.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::process::{run_bounded, CommandOutput};
use crate::Error;

/// The nftables table that holds every fault (family `inet`).
pub const TABLE: &str = "sealcheck";

/// The program the rules are applied with.
pub const NFT: &str = "nft";

/// What a fault does to the packets of one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Every packet to and from the port is dropped.
    Partition,
    /// Each packet to and from the port is dropped with this probability, in percent (1..=100).
    Loss(u8),
    /// Every packet to and from the port is answered with a TCP reset.
    Reset,
    /// The connections to the port that were open when the fault began are dropped both ways;
    /// connections opened later pass (conntrack marks them). Cuts a node's long-lived
    /// connections (to itself, from its peers) while a new restatectl call still reaches it.
    CutEstablished,
}

impl FaultKind {
    /// The kind's name in `actions.jsonl` (`partition`, `loss`, `reset`).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Loss(_) => "loss",
            FaultKind::Reset => "reset",
            FaultKind::CutEstablished => "cut-established",
        }
    }

    /// The nft statement that follows the port match (`drop`, `numgen random mod 100 < 30
    /// drop`, `reject with tcp reset`).
    fn statement(self) -> String {
        match self {
            FaultKind::Partition => "drop".into(),
            FaultKind::Loss(p) => format!("numgen random mod 100 < {p} drop"),
            FaultKind::Reset => "reject with tcp reset".into(),
            FaultKind::CutEstablished => "ct mark != 0x1 drop".into(),
        }
    }
}

/// A fault on one node's fabric port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The node whose port is faulted.
    pub node: u32,
    /// Its fabric port.
    pub port: u16,
    /// What happens to the port's packets.
    pub kind: FaultKind,
}

impl Fault {
    /// Checks the fault's parameters: a loss between 1 and 100 %, a port other than 0.
    pub fn check(&self) -> Result<(), Error> {
        if self.port == 0 {
            return Err(Error::Process(format!(
                "net fault on N{}: port 0 is not a node's port",
                self.node
            )));
        }
        if let FaultKind::Loss(p) = self.kind {
            if p == 0 || p > 100 {
                return Err(Error::Process(format!(
                    "net fault on N{}: loss={p} is not a percentage in 1..=100",
                    self.node
                )));
            }
        }
        Ok(())
    }

    /// The fault's rules: one per direction (destination port, then source port), after the
    /// rule that marks new connections for [`FaultKind::CutEstablished`].
    pub fn rules(&self) -> Vec<String> {
        let s = self.kind.statement();
        let mut v = Vec::new();
        if self.kind == FaultKind::CutEstablished {
            v.push(format!(
                "tcp dport {} ct state new ct mark set 0x1",
                self.port
            ));
        }
        v.push(format!("tcp dport {} {s}", self.port));
        v.push(format!("tcp sport {} {s}", self.port));
        v
    }

    /// The fault as the `detail` of its `net-fault` action: kind, port, loss percentage (for
    /// `loss`) and the rules.
    pub fn detail(&self) -> Value {
        let mut d = json!({
            "fault": self.kind.name(),
            "port": self.port,
            "rules": self.rules(),
        });
        if let FaultKind::Loss(p) = self.kind {
            d["loss_percent"] = json!(p);
        }
        d
    }

    /// The fault in words (`partition N2's port 25122 (nft drop, both directions)`).
    pub fn text(&self) -> String {
        let what = match self.kind {
            FaultKind::Partition => "partition".to_string(),
            FaultKind::Loss(p) => format!("lose {p} % of the packets of"),
            FaultKind::Reset => "reset every connection of".to_string(),
            FaultKind::CutEstablished => "cut the open connections of".to_string(),
        };
        format!(
            "{what} N{}'s port {} (nft {}, both directions)",
            self.node,
            self.port,
            self.kind.statement()
        )
    }
}

/// The nft script that replaces our table with one holding `faults` (one transaction).
pub fn rules_script(faults: &[Fault]) -> String {
    let mut s = clear_script();
    s.push_str(&format!(
        "table inet {TABLE} {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n"
    ));
    for f in faults {
        for r in f.rules() {
            s.push_str(&format!("    {r}\n"));
        }
    }
    s.push_str("  }\n}\n");
    s
}

/// The nft script that removes our table (and succeeds when there is none).
pub fn clear_script() -> String {
    format!("table inet {TABLE} {{}}\ndelete table inet {TABLE}\n")
}

/// Runs `nft <script>` inside the namespace at `ns_path` (`/proc/PID/ns/net`); errors when nft
/// cannot be started, fails or takes more than 10 s.
pub(crate) fn run_nft(ns_path: &Path, script: &str) -> Result<(), Error> {
    let mut cmd = std::process::Command::new("nsenter");
    cmd.arg(format!("--net={}", ns_path.display()))
        .arg(NFT)
        .arg(script);
    let out: CommandOutput = run_bounded(cmd, Duration::from_secs(10))?;
    if out.exit == Some(0) {
        return Ok(());
    }
    Err(Error::Process(format!(
        "`nft` in the namespace failed (exit={:?}, timed_out={}): {}; the script was:\n{script}",
        out.exit,
        out.timed_out,
        out.stderr.trim()
    )))
}

/// Lists our table inside the namespace at `ns_path` (`nft list table inet sealcheck`):
/// `None` when there is none.
pub fn list_table(ns_path: &Path) -> Result<Option<String>, Error> {
    let mut cmd = std::process::Command::new("nsenter");
    cmd.arg(format!("--net={}", ns_path.display()))
        .args([NFT, "list", "table", "inet", TABLE]);
    let out = run_bounded(cmd, Duration::from_secs(10))?;
    Ok((out.exit == Some(0)).then_some(out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_drops_both_directions_of_the_port() {
        let f = Fault {
            node: 2,
            port: 25122,
            kind: FaultKind::Partition,
        };
        assert_eq!(
            f.rules(),
            [
                "tcp dport 25122 drop".to_string(),
                "tcp sport 25122 drop".to_string()
            ]
        );
        let cut = Fault {
            kind: FaultKind::CutEstablished,
            ..f
        };
        assert_eq!(
            cut.rules()[0],
            "tcp dport 25122 ct state new ct mark set 0x1"
        );
        assert_eq!(
            f.text(),
            "partition N2's port 25122 (nft drop, both directions)"
        );
        assert_eq!(f.detail()["fault"], "partition");
    }

    #[test]
    fn the_script_replaces_our_table_in_one_transaction() {
        let s = rules_script(&[
            Fault {
                node: 2,
                port: 25122,
                kind: FaultKind::Loss(30),
            },
            Fault {
                node: 3,
                port: 35122,
                kind: FaultKind::Reset,
            },
        ]);
        assert!(s.starts_with("table inet sealcheck {}\ndelete table inet sealcheck\n"));
        assert!(s.contains("type filter hook output priority 0; policy accept;"));
        assert!(s.contains("tcp sport 25122 numgen random mod 100 < 30 drop"));
        assert!(s.contains("tcp dport 35122 reject with tcp reset"));
        assert_eq!(
            clear_script(),
            "table inet sealcheck {}\ndelete table inet sealcheck\n"
        );
    }

    #[test]
    fn a_loss_outside_one_to_a_hundred_percent_is_refused() {
        let mut f = Fault {
            node: 2,
            port: 25122,
            kind: FaultKind::Loss(0),
        };
        assert!(f.check().unwrap_err().to_string().contains("loss=0"));
        f.kind = FaultKind::Loss(100);
        assert!(f.check().is_ok());
        f.kind = FaultKind::Loss(101);
        assert!(f.check().is_err());
    }
}
