//! The run summary `run.json` an import in run mode writes next to `loglets/<id>.jsonl`.
//!
//! Its field names are those of the run format (`format: "sealcheck-run"`, version 1: one
//! entry per translated loglet with its trace file, nodeset, replication, sequencer, window,
//! base and sealed tail LSNs, and notes; drops counted by reason; the loglets left untranslated
//! with what they need). The types are the model's ([`sealcheck_model::run_format`]), which
//! the checker reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ImportedTrace;

pub use sealcheck_model::run_format::{
    Loglet as LogletEntry, Material, Reading, RunSummary, FILE_NAME, FORMAT, VERSION,
};

/// The directory, inside the output directory, of the per-loglet traces.
pub const LOGLETS_DIR: &str = "loglets";

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
