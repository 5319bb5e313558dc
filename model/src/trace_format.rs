//! The trace file format (version 1): what a trace file says besides the model's observable
//! vocabulary ([`crate::observable`]).
//!
//! A trace is JSON Lines: a [`Header`] line, then one [`Item`] (an event or an observation) per
//! line, optionally with a time `t`. Both ends of the format use these types: the recorder's
//! importer writes traces of real runs ([`write_header`], [`write_item`]), and the checker
//! reads and validates them (its `trace_reader` module is the streaming reader). The format is
//! documented for users in `traces/README.md`.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::observable::{Event, NodeId, Observation};
use crate::offsets::Offset;
use crate::Config;

/// The `format` value of a header.
pub const FORMAT: &str = "sealcheck-trace";
/// The version this build reads and writes.
pub const VERSION: u32 = 1;
/// Highest offset or tail a trace may name: [`crate::config::MAX_APPENDS`], the most records
/// a loglet of the model holds.
pub const MAX_OFFSET: Offset = crate::config::MAX_APPENDS;

/// Which nodes of a recorded run play the model's client. In the incident the client N5 both
/// runs `seal()` and is the loglet's sequencer; in a real cluster the seal task may run on the
/// node `restatectl` talks to while another node is the sequencer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// The node that runs the seal task (default: the config's client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealer: Option<NodeId>,
    /// The loglet's sequencer (default: the config's client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<NodeId>,
    /// The node whose find-tail reader runs the seal assist and the tail repair (cluster only;
    /// default: the sealer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finder: Option<NodeId>,
}

/// The first line of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always `"sealcheck-trace"`.
    pub format: String,
    /// Format version; this build reads 1.
    pub version: u32,
    /// The scenario the run belongs to (the same fields as a spec file).
    pub config: Config,
    /// Which nodes play the client's roles.
    #[serde(default)]
    pub roles: Roles,
    /// Event kinds the trace logs completely: a step of such a kind always appears. Kinds not
    /// listed may happen unlogged. `["*"]` (the default) means every kind.
    #[serde(default = "all_kinds")]
    pub complete: Vec<String>,
    /// The recorded run ended: nothing happened after the last line, so the behaviour must be
    /// able to stop there, and `eventually` properties are judged.
    #[serde(default)]
    pub run_complete: bool,
    /// Event kinds the material the trace was made from cannot show at all (an input was
    /// missing), as opposed to kinds merely not [`complete`](Header::complete): their steps
    /// may have happened unlogged, within the config's budget, but a conforming verdict must
    /// not rest on one. The validator first explains the trace with none of them (their
    /// budget 0); only if that fails does it allow them, and then a conforming explanation
    /// is inconclusive (it needs the missing input) while a rejection holds whatever they
    /// were. Known: `storage-state-set` (budget `faults.operator_moves`). Left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// Where the trace comes from (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn all_kinds() -> Vec<String> {
    vec!["*".to_string()]
}

impl Header {
    /// A header for a trace generated from a model config: every kind logged.
    pub fn generated(config: Config, source: &str, run_complete: bool) -> Header {
        Header {
            format: FORMAT.to_string(),
            version: VERSION,
            config,
            roles: Roles::default(),
            complete: all_kinds(),
            run_complete,
            unknown: Vec::new(),
            source: Some(source.to_string()),
        }
    }

    /// The kinds of [`Header::unknown`] this build can assume away.
    pub const ASSUMABLE_UNKNOWN: [&'static str; 1] = ["storage-state-set"];

    /// This header as if no step of an [`unknown`](Header::unknown) kind happened: their
    /// budgets 0, the kinds logged completely (none is logged), `unknown` empty.
    pub fn assuming_unknown_absent(&self) -> Header {
        let mut h = self.clone();
        for kind in std::mem::take(&mut h.unknown) {
            if kind == "storage-state-set" {
                h.config.faults.operator_moves = 0;
                h.config.faults.operator_force = false;
            }
            if !h.is_complete(&kind) {
                h.complete.push(kind);
            }
        }
        h
    }

    /// This header with only the steps of its [`unknown`](Header::unknown) kinds that break no
    /// property: the operator's moves without `--force`.
    pub fn with_legal_unknown(&self) -> Header {
        let mut h = self.clone();
        if h.unknown.iter().any(|k| k == "storage-state-set") {
            h.config.faults.operator_force = false;
        }
        h
    }

    /// Whether an event kind is logged completely.
    pub fn is_complete(&self, kind: &str) -> bool {
        self.complete.iter().any(|k| k == "*" || k == kind)
    }
}

/// One line after the header.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// Something that happened.
    Event(Event),
    /// Something seen of the state.
    Observe(Observation),
}

impl Item {
    /// The kind as written in `"event"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Event(e) => e.kind(),
            Item::Observe(o) => o.kind(),
        }
    }

    /// The node the item names (an event's acting node, an observation's node).
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Item::Event(e) => e.node(),
            Item::Observe(o) => Some(o.node()),
        }
    }

    /// The line as JSON (without `t`).
    pub fn to_json(&self) -> String {
        match self {
            Item::Event(e) => serde_json::to_string(e),
            Item::Observe(o) => serde_json::to_string(o),
        }
        .expect("items serialize")
    }
}

/// Writes the header line.
pub fn write_header(out: &mut dyn Write, header: &Header) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string(header).expect("headers serialize")
    )
}

/// Writes one item line with its time `t` (milliseconds, at most three decimals) first:
/// `{"t":12.5,"event":...}`.
pub fn write_item(out: &mut dyn Write, t_ms: f64, item: &Item) -> std::io::Result<()> {
    let body = item.to_json();
    let rest = body.strip_prefix('{').expect("items are JSON objects");
    writeln!(out, "{{\"t\":{},{rest}", format_ms(t_ms))
}

/// Milliseconds with at most three decimals (microseconds), without a trailing `.0`.
pub fn format_ms(t: f64) -> String {
    let us = (t * 1000.0).round() as i64;
    if us % 1000 == 0 {
        format!("{}", us / 1000)
    } else {
        let s = format!("{}.{:03}", us / 1000, us % 1000);
        s.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_print_compactly() {
        assert_eq!(format_ms(0.0), "0");
        assert_eq!(format_ms(12.5), "12.5");
        assert_eq!(format_ms(8093.123), "8093.123");
        assert_eq!(format_ms(7.0), "7");
        assert_eq!(format_ms(0.001), "0.001");
    }

    #[test]
    fn item_lines_put_t_first() {
        let mut out = Vec::new();
        let item = Item::Event(Event::Provisioned { node: NodeId(2) });
        write_item(&mut out, 1.5, &item).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with("{\"t\":1.5,\"event\":\"provisioned\""),
            "{line}"
        );
    }
}
