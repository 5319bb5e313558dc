//! The run summary format (version 1): `run.json`, which ties the per-loglet traces of one
//! recorded run together.
//!
//! A recorded run of a Restate cluster holds several logs, and each log a chain of segments,
//! each segment a replicated loglet with its own nodeset, replication and sequencer. Each loglet
//! is translated into its own ordinary trace (a v1 trace file, [`crate::trace_format`]), which
//! is its own instance of the model. `run.json` lists those traces, and carries the facts that
//! tie the segments of a log together and that no single loglet instance can judge: where a
//! segment starts ([`Loglet::base_lsn`]), where its predecessor was sealed
//! ([`Loglet::sealed_tail_lsn`]), and what was seen of it after its seal.
//!
//! The recorder's importer writes it; `sealcheck validate DIR` reads it, validates every
//! listed trace and checks the chain. The format is documented for users in `traces/README.md`
//! ("Runs").
//!
//! Units: LSNs are Restate's log sequence numbers. A segment with base LSN `b` stores its
//! loglet offset `o` (from 1) at LSN `b + o - 1`, so a segment sealed with `n` records has the
//! tail LSN `b + n`, which is the next segment's base LSN. Tails ([`Loglet::max_known_global_tail`],
//! [`Loglet::local_tails_after_seal`]) are loglet offsets as Restate's `loglet_workers` table
//! shows them: the next offset to write, so `n + 1` after `n` records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::observable::NodeId;

/// The `format` value of a run summary.
pub const FORMAT: &str = "sealcheck-run";
/// The version this build reads and writes.
pub const VERSION: u32 = 1;
/// The name of the run summary inside a run directory.
pub const FILE_NAME: &str = "run.json";

/// What the run's material held, and so which facts the importer could read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Material {
    /// The recorder's full material: server logs, SQL snapshots (`logs`, `loglet_workers`,
    /// `nodes` tables) and the operator's commands.
    Full,
    /// Server logs only (a run from another harness): no base LSNs, no table rows.
    Logs,
}

/// A fact the importer read, with where it read it, so that a finding can cite both facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// The value (an LSN or a loglet offset, as the field says).
    pub value: u64,
    /// Where it was read, as `file:line` relative to the run's raw material (`raw/sql.jsonl:812`),
    /// or a short description when no line applies.
    pub from: String,
}

/// The run summary: the first and only JSON value of `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// Always `"sealcheck-run"`.
    pub format: String,
    /// Format version; this build reads 1.
    pub version: u32,
    /// Where the run comes from (free text: the scenario, the raw directory).
    pub source: String,
    /// Which material the importer had.
    pub material: Material,
    /// What the importer wants a reader to know about the whole run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Facts the importer left out, counted per reason (the reasons of the import notes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drops: BTreeMap<String, u64>,
    /// Every loglet of the run, each with its own trace. Listed in any order; the checker
    /// orders each log's segments by index.
    pub loglets: Vec<Loglet>,
    /// Loglets of the run the importer found but could not translate into a trace it stands
    /// behind (a behaviour the model has no step for, a limit), each with what it needs. A run
    /// that lists any is at best inconclusive: its verdict never rests on loglets nobody judged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untranslated: Vec<Untranslated>,
}

/// A loglet of the run without a trace, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Untranslated {
    /// Restate's loglet id, `<log>_<segment>`.
    pub loglet: String,
    /// What the import lacks to translate it (`needs model step for ...`, a limit), as the
    /// import said it.
    pub needs: String,
    /// The log the segment belongs to; absent in older summaries (the id then tells it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<u32>,
    /// The segment's index in its log's chain; absent in older summaries (the id then tells
    /// it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
    /// The LSN of the segment's first offset, if the material shows it: the chain checks use
    /// it as they use [`Loglet::base_lsn`], so a chain is checked across loglets without a
    /// trace too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_lsn: Option<Reading>,
    /// The segment's tail LSN once sealed, if seen (as [`Loglet::sealed_tail_lsn`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_tail_lsn: Option<Reading>,
    /// The largest known global tail any node reported for it (as
    /// [`Loglet::max_known_global_tail`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_known_global_tail: Option<Reading>,
    /// Per member, the largest local tail seen after the seal (as
    /// [`Loglet::local_tails_after_seal`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub local_tails_after_seal: BTreeMap<NodeId, Reading>,
}

impl Untranslated {
    /// Its log and segment: the fields, else the id's `<log>_<segment>`; `None` when neither
    /// tells.
    pub fn log_and_segment(&self) -> Option<(u32, u32)> {
        let from_id = || {
            let (l, s) = self.loglet.split_once('_')?;
            Some((l.parse().ok()?, s.parse().ok()?))
        };
        match (self.log_id, self.segment) {
            (Some(l), Some(s)) => Some((l, s)),
            _ => from_id(),
        }
    }
}

/// One loglet (one segment of one log) of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loglet {
    /// Restate's loglet id, `<log>_<segment>` (`"0_1"`).
    pub loglet: String,
    /// The log the segment belongs to.
    pub log_id: u32,
    /// The segment's index in its log's chain (from 0).
    pub segment: u32,
    /// Its trace, relative to the directory of `run.json` (`"loglets/0_1.jsonl"`), inside it.
    pub file: String,
    /// The loglet's nodeset (node numbers), as its trace's config has it.
    pub nodeset: Vec<u8>,
    /// The loglet's replication factor, as its trace's config has it.
    pub replication: u8,
    /// The loglet's sequencer as Restate names it (`"N3:1"`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
    /// The loglet's window in the run, milliseconds since the run's start: from its creation to
    /// the last fact naming it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<[u64; 2]>,
    /// The LSN of the segment's first offset, if known (the `logs` table).
    #[serde(default)]
    pub base_lsn: Option<Reading>,
    /// The segment's tail LSN once sealed (base LSN plus the records it holds), if it was
    /// sealed and the tail is known (`restatectl logs seal`'s `Tail LSN`, `Chain is sealed at
    /// lsn=`, the next segment's creation).
    #[serde(default)]
    pub sealed_tail_lsn: Option<Reading>,
    /// The largest known global tail (a loglet offset) any node reported for this loglet, if
    /// known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_known_global_tail: Option<Reading>,
    /// Per member, the largest local tail (a loglet offset) seen after the segment was
    /// sealed. Members not listed were not seen after the seal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub local_tails_after_seal: BTreeMap<NodeId, Reading>,
    /// How the importer mapped Restate's offsets to the trace's model offsets
    /// (`[restate, model]` pairs), when it compressed them; empty when offsets are unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offset_map: Vec<[u64; 2]>,
    /// What the importer wants a reader to know about this loglet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Loglet {
    /// The loglet id its log and segment make, `<log_id>_<segment>`; [`Loglet::loglet`] must be
    /// this.
    pub fn expected_id(&self) -> String {
        format!("{}_{}", self.log_id, self.segment)
    }

    /// The LSN of a loglet offset of this segment (`base + offset - 1`), if the base LSN is
    /// known.
    pub fn lsn_of_offset(&self, offset: u64) -> Option<u64> {
        let base = self.base_lsn.as_ref()?.value;
        Some((base + offset).saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_round_trips_and_omits_what_is_empty() {
        let text = r#"{"format":"sealcheck-run","version":1,"source":"s","material":"full",
            "loglets":[{"loglet":"0_1","log_id":0,"segment":1,"file":"loglets/0_1.jsonl",
            "nodeset":[1,3],"replication":2,"sequencer":"N3:1",
            "base_lsn":{"value":3,"from":"raw/sql.jsonl:7"},"sealed_tail_lsn":null,
            "local_tails_after_seal":{"N1":{"value":2,"from":"raw/sql.jsonl:9"}}}]}"#;
        let run: RunSummary = serde_json::from_str(text).unwrap();
        let l = &run.loglets[0];
        assert_eq!(l.expected_id(), "0_1");
        assert_eq!(l.lsn_of_offset(1), Some(3));
        assert_eq!(l.local_tails_after_seal[&NodeId(1)].value, 2);
        let back: RunSummary = serde_json::from_str(&serde_json::to_string(&run).unwrap()).unwrap();
        assert_eq!(back, run);
        let json = serde_json::to_string(&run).unwrap();
        assert!(
            !json.contains("notes") && !json.contains("offset_map"),
            "{json}"
        );
        let bad = text.replace("\"replication\":2", "\"replication\":2,\"replicas\":2");
        assert!(serde_json::from_str::<RunSummary>(&bad).is_err());
    }
}
