//! Recording one scenario end to end: the checks that make failures clear before anything
//! starts (binaries installed, root, namespace tools), the run ([`crate::run_scenario`]: three
//! nodes in a private network namespace that has only `lo`, every process stopped by PID at the
//! end, on error, and on Ctrl-C / SIGTERM), and the import of the raw material.
//!
//! ```text
//! OUT/raw/             the raw material (meta.json, actions.jsonl, restatectl.jsonl, sql.jsonl, logs/)
//! OUT/trace.jsonl      the trace (sealcheck import OUT/raw)
//! OUT/import-notes.txt what the import dropped or assumed
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::import::{import_raw_dir, ImportedTrace};
use crate::{Binaries, Scenario, ScenarioOptions};

/// The trace file of a recording directory.
pub const TRACE_FILE: &str = "trace.jsonl";
/// The import notes of a recording directory.
pub const NOTES_FILE: &str = "import-notes.txt";

/// One line per scenario: its name, then what it does.
pub fn scenario_list() -> String {
    let width = Scenario::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    Scenario::ALL
        .iter()
        .map(|s| format!("{:<width$}  {}\n", s.name(), s.summary()))
        .collect()
}

/// Parses a scenario name; the error lists the known ones.
pub fn parse_scenario(name: &str) -> Result<Scenario, String> {
    Scenario::from_name(name).ok_or_else(|| {
        format!(
            "unknown scenario `{name}`; known: {}",
            Scenario::ALL.map(|s| s.name()).join(", ")
        )
    })
}

/// The nearest directory at or above `from` that has `restate/package.json`, else `from`.
pub fn project_root(from: &Path) -> PathBuf {
    from.ancestors()
        .find(|d| d.join("restate/package.json").is_file())
        .unwrap_or(from)
        .to_path_buf()
}

/// What to record, and where.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    /// The scenario.
    pub scenario: Scenario,
    /// The recording directory: raw material in OUT/raw, the trace and the notes next to it.
    pub out: PathBuf,
    /// The project root whose restate/ holds the npm-installed binaries.
    pub root: PathBuf,
    /// The restate-server binary, if not the default.
    pub server: Option<PathBuf>,
    /// The restatectl binary, if not the default.
    pub restatectl: Option<PathBuf>,
}

/// A finished recording.
#[derive(Debug)]
pub struct Recorded {
    /// The imported trace.
    pub trace: ImportedTrace,
    /// Where it was written.
    pub trace_path: PathBuf,
}

/// Records a scenario and imports it. `progress` receives one line per stage (what runs, with
/// which binaries, how long it took). The error is a sentence for the user naming what failed
/// (missing binaries, not root, the cluster, the import, a file that cannot be written); every
/// process the recording started is stopped by then.
pub fn record(req: &RecordRequest, progress: &mut dyn FnMut(String)) -> Result<Recorded, String> {
    let scenario = req.scenario;
    let bins = Binaries::discover(&req.root, req.server.clone(), req.restatectl.clone())
        .map_err(|e| e.to_string())?;
    crate::check_can_record().map_err(|e| e.to_string())?;
    crate::install_interrupt_handler().map_err(|e| e.to_string())?;

    let out = &req.out;
    std::fs::create_dir_all(out)
        .map_err(|e| format!("cannot create --out {}: {e}", out.display()))?;
    // What an earlier recording into OUT left must not pass for this one's, should this one
    // be interrupted: its trace and notes go now (OUT/raw is replaced by the recorder).
    let trace_path = out.join(TRACE_FILE);
    let notes_path = out.join(NOTES_FILE);
    let partial = |p: &Path| p.with_extension("partial");
    for p in [
        &trace_path,
        &notes_path,
        &partial(&trace_path),
        &partial(&notes_path),
    ] {
        match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot remove {}: {e}", p.display()))
            }
            _ => {}
        }
    }
    for (p, dir) in [
        (out.join(crate::import::run::FILE_NAME), false),
        (out.join(crate::import::run::LOGLETS_DIR), true),
    ] {
        let removed = if dir {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot remove {}: {e}", p.display()))
            }
            _ => {}
        }
    }
    crate::cluster::show_progress(true);
    let raw = out.join("raw");
    let work = std::env::temp_dir().join(format!(
        "sealcheck-record-{}-{}",
        std::process::id(),
        scenario.name()
    ));
    progress(format!(
        "{} ({}); 3 Restate {} nodes in a private network namespace (127.0.0.1 only), raw material -> {}",
        scenario.name(),
        scenario.summary(),
        bins.server_version().map_err(|e| e.to_string())?,
        raw.display()
    ));
    progress(format!(
        "server {}, restatectl {}",
        bins.server.display(),
        bins.restatectl.display()
    ));
    let began = Instant::now();
    let opts = ScenarioOptions::new(&work, &raw);
    let result = crate::run_scenario(scenario, &bins, &opts);
    let _ = std::fs::remove_dir_all(&work);
    let secs = began.elapsed().as_secs_f64();
    let report = result.map_err(|e| {
        format!(
            "recording {} failed after {secs:.1} s: {e}; every process it started was stopped; the raw material so far is in {}",
            scenario.name(),
            raw.display()
        )
    })?;
    progress(format!("recorded in {secs:.1} s: {}", report.summary));

    crate::cluster::progress(format!(
        "importing {} into {}",
        raw.display(),
        trace_path.display()
    ));
    let run_written = write_every_loglet(&raw, out, progress);
    let trace = import_raw_dir(&raw).map_err(|e| {
        format!(
            "import of the recording: {e}; the raw material is kept in {}{run_written}",
            raw.display()
        )
    })?;
    // Written beside, then renamed: an interrupted write leaves no trace.jsonl at all.
    let written = trace
        .write_file(&partial(&trace_path))
        .and_then(|()| std::fs::write(partial(&notes_path), trace.notes_text()))
        .and_then(|()| std::fs::rename(partial(&notes_path), &notes_path))
        .and_then(|()| std::fs::rename(partial(&trace_path), &trace_path));
    written.map_err(|e| format!("cannot write {}: {e}", trace_path.display()))?;
    Ok(Recorded { trace, trace_path })
}

/// Imports every loglet of the recording into `out/loglets/` and `out/run.json` when it has
/// more than one; returns a clause for an error message saying so (empty when nothing was
/// written).
fn write_every_loglet(raw: &Path, out: &Path, progress: &mut dyn FnMut(String)) -> String {
    let run = match crate::import::import_raw_dir_loglets(raw) {
        Ok(run) if run.summary.loglets.len() + run.untranslated.len() > 1 => run,
        Ok(_) => return String::new(),
        Err(e) => {
            progress(format!("every loglet: not imported: {e}"));
            return String::new();
        }
    };
    match run.write_to_dir(out) {
        Ok(_) => {
            for line in run.report(&out.display().to_string()) {
                progress(line);
            }
            format!(
                "; every loglet was imported into {} and {}",
                out.join(crate::import::run::LOGLETS_DIR).display(),
                out.join(crate::import::run::FILE_NAME).display()
            )
        }
        Err(e) => {
            progress(format!("every loglet: cannot write {}: {e}", out.display()));
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_listed_on_one_line() {
        let list = scenario_list();
        assert_eq!(list.lines().count(), Scenario::ALL.len());
        for s in Scenario::ALL {
            assert!(
                list.lines().any(|l| l.starts_with(s.name())),
                "{} missing",
                s.name()
            );
        }
    }

    #[test]
    fn unknown_scenarios_list_the_known_ones() {
        let e = parse_scenario("incidnet").unwrap_err();
        assert!(e.contains("unknown scenario `incidnet`"), "{e}");
        assert!(e.contains("incident-forced"), "{e}");
    }

    #[test]
    fn the_project_root_is_found_from_below() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = project_root(&here.join("src"));
        assert!(root.join("restate/package.json").is_file(), "{root:?}");
    }
}
