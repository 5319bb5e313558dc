//! The run summary `run.json` an import in run mode writes next to `loglets/<id>.jsonl`.
//!
//! Its field names are those of the run format (`format: "sealcheck-run"`, version 1: one
//! entry per translated loglet with its trace file, nodeset, replication, sequencer, window,
//! base and sealed tail LSNs, and notes; drops counted by reason). [`RunSummary`] is the one
//! struct that writes it, so it can be swapped for the model's own run-format types.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sealcheck_model::trace::NodeId;
use serde::{Deserialize, Serialize};

use super::ImportedTrace;

/// The `format` value of a run summary.
pub const FORMAT: &str = "sealcheck-run";
/// The run summary version written.
pub const VERSION: u32 = 1;
/// The run summary's file name inside the output directory.
pub const FILE_NAME: &str = "run.json";
/// The directory, inside the output directory, of the per-loglet traces.
pub const LOGLETS_DIR: &str = "loglets";

/// A value the importer read, and the file and line it read it from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// The value (an LSN or a loglet offset, as the field says).
    pub value: u64,
    /// Where it was read, `file:line` relative to the raw directory (`sql.jsonl:812`).
    pub from: String,
}

/// The run summary: one JSON value, `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Where the run comes from (the scenario and its recording).
    pub source: String,
    /// `full` (the recorder's material) or `logs` (server logs without `meta.json`).
    pub material: String,
    /// What a reader of the whole run must know: loglets not translated and why, the
    /// timestamp order of the logs, the SQL rows no loglet took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Records no loglet trace holds, counted by reason (over all loglets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drops: BTreeMap<String, u64>,
    /// The translated loglets, by log and segment.
    pub loglets: Vec<LogletEntry>,
}

/// One translated loglet of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogletEntry {
    /// Restate's loglet id, `<log>_<segment>`.
    pub loglet: String,
    /// Its log.
    pub log_id: u32,
    /// Its segment index in the log's chain.
    pub segment: u32,
    /// Its trace, relative to the output directory (`loglets/0_1.jsonl`).
    pub file: String,
    /// Its nodeset (node numbers, sorted).
    pub nodeset: Vec<u8>,
    /// Its replication factor.
    pub replication: u8,
    /// Its sequencer as Restate names it (`N3:1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
    /// Milliseconds since the run's start of the first and last fact naming the loglet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<[u64; 2]>,
    /// The LSN of its first offset (the `logs` table), if known.
    #[serde(default)]
    pub base_lsn: Option<Reading>,
    /// Its tail LSN once sealed (the next segment's base LSN), if known.
    #[serde(default)]
    pub sealed_tail_lsn: Option<Reading>,
    /// The largest known global tail (a Restate loglet offset) any worker row showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_known_global_tail: Option<Reading>,
    /// Per member, the largest local tail a row showing it sealed had.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub local_tails_after_seal: BTreeMap<NodeId, Reading>,
    /// `[restate, compressed]` offset pairs when the import compressed offsets
    /// ([`super::offsets::OffsetMap`]); empty when they are unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offset_map: Vec<[u64; 2]>,
    /// The loglet import's notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A loglet of the run the import could not translate into a trace it stands behind.
#[derive(Clone, Debug, PartialEq)]
pub struct Untranslated {
    /// Restate's loglet id.
    pub loglet: String,
    /// Why, as the import error says it (`inconclusive: needs ...`).
    pub reason: String,
    /// Whether it is an inconclusive import (exit 3) rather than an error in the material.
    pub inconclusive: bool,
}

/// Every loglet of a run, imported.
#[derive(Debug)]
pub struct ImportedRun {
    /// The summary, as `run.json` will hold it.
    pub summary: RunSummary,
    /// The trace of every entry of [`RunSummary::loglets`], in the same order.
    pub traces: Vec<ImportedTrace>,
    /// Loglets without a trace, with the reason.
    pub untranslated: Vec<Untranslated>,
}

impl ImportedRun {
    /// Writes `dir/loglets/<id>.jsonl` for every translated loglet and `dir/run.json`;
    /// returns the files written.
    pub fn write_to_dir(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir.join(LOGLETS_DIR))?;
        let mut written = Vec::new();
        for (entry, trace) in self.summary.loglets.iter().zip(&self.traces) {
            let path = dir.join(&entry.file);
            trace.write_file(&path)?;
            written.push(path);
        }
        let path = dir.join(FILE_NAME);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        serde_json::to_writer_pretty(&mut f, &self.summary)?;
        f.write_all(b"\n")?;
        f.flush()?;
        written.push(path);
        Ok(written)
    }

    /// Whether some loglet's import was inconclusive (the import's exit code is then 3).
    pub fn inconclusive(&self) -> bool {
        self.untranslated.iter().any(|u| u.inconclusive)
    }

    /// What `sealcheck import --run` prints on stderr: one line per loglet, then the run's
    /// notes.
    pub fn report(&self, dest: &str) -> Vec<String> {
        let mut out = vec![format!(
            "sealcheck import: {} loglets translated, {} not -> {dest}",
            self.traces.len(),
            self.untranslated.len()
        )];
        for (e, t) in self.summary.loglets.iter().zip(&self.traces) {
            out.push(format!(
                "  {}: {} items, model tail {} -> {}",
                e.loglet,
                t.items.len(),
                t.header.config.appends,
                e.file
            ));
        }
        for u in &self.untranslated {
            out.push(format!("  {}: {}", u.loglet, u.reason));
        }
        out.extend(self.summary.notes.iter().map(|n| format!("  note: {n}")));
        out
    }
}
