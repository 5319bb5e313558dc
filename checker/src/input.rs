//! Reading input files safely: only regular files, with size caps, and directory walks that
//! never follow a symlinked directory.
//!
//! A FIFO given where a file is expected would block forever, a device such as `/dev/zero`
//! would be read until memory runs out, and symlinks that point back up a tree make a walk that
//! follows them exponential. Every file sealcheck reads (scenario files, traces, a recorded run's
//! raw files) is opened through [`open_regular`], and `validate DIR` lists its traces and runs
//! with [`walk_inputs`].
//!
//! The limits (also listed in docs/validation.md, "Input limits"):
//!
//! - a scenario file: at most [`MAX_SPEC_BYTES`];
//! - a trace: any size (it is streamed), each line at most [`crate::trace_reader::MAX_LINE`] bytes
//!   without its line ending;
//! - a recorded run's `meta.json`: at most [`sealcheck_recorder::raw::MAX_META_BYTES`]; each
//!   record file and server log: at most [`sealcheck_recorder::raw::MAX_RAW_FILE_BYTES`].

use std::io;
use std::path::{Path, PathBuf};

pub use sealcheck_recorder::raw::{open_regular, read_capped};

/// Largest scenario file read (the scenarios under `specs/` are under 2 KiB).
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

/// Largest `run.json` read (one entry is well under 1 KiB).
pub const MAX_RUN_BYTES: u64 = 16 << 20;

/// Reads a whole regular file of at most `cap` bytes as UTF-8 text (see [`read_capped`]).
pub fn read_text(path: &Path, cap: u64) -> io::Result<String> {
    let bytes = read_capped(path, cap)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A path `validate` could not read: the path (a directory, or an argument that does not
/// exist) and why.
#[derive(Debug)]
pub struct Unreadable {
    /// The path as it was given or found.
    pub path: PathBuf,
    /// Why it could not be read.
    pub error: io::Error,
}

/// The trace files (`*.jsonl`) under the given paths, in order, and the paths that could not be
/// read, each in its place.
///
/// - A path given as an argument is taken as it is when it is not a directory (symlinks
///   followed); a path that does not exist is [`Unreadable`]. Opening the file refuses it
///   later if it is not a regular file, naming it.
/// - Directories are walked in name order. Entries that are symlinks to directories are not
///   followed (so a symlink loop cannot make the walk endless or exponential); symlinks to
///   files are. An entry named `*.jsonl` that is not a regular file (a FIFO) is listed, so that
///   opening it refuses it by name instead of it being silently skipped.
/// - A sub-directory that cannot be listed is [`Unreadable`]; the walk goes on with the rest.
/// - Directories that hold a recorder's raw material (a `meta.json` next to JSON Lines
///   records that are not traces, see `sealcheck-recorder`'s `raw` module) are skipped.
pub fn walk_traces(paths: &[PathBuf]) -> Vec<Result<PathBuf, Unreadable>> {
    walk(paths, false)
        .into_iter()
        .map(|r| {
            r.map(|i| match i {
                Input::Trace(p) | Input::Run(p) => p,
            })
        })
        .collect()
}

/// One input of `validate`: a trace file validated alone, or a run directory (one that holds
/// `run.json`, see `crate::run`) validated as a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A trace file.
    Trace(PathBuf),
    /// A run directory.
    Run(PathBuf),
}

/// The inputs under the given paths, as [`walk_traces`] lists them, except that runs are
/// found:
///
/// - a directory that holds a `run.json` (given, or met in the walk) is an [`Input::Run`],
///   listed before the traces under it; the trace files its `run.json` lists are not listed
///   again (when `run.json` cannot be read or parsed, those under its `loglets/` are not: the
///   run reports the error);
/// - a `run.json` given as an argument stands for its directory;
/// - a trace given as an argument is an [`Input::Trace`] even if a run lists it, so that one
///   loglet can be validated alone.
pub fn walk_inputs(paths: &[PathBuf]) -> Vec<Result<Input, Unreadable>> {
    walk(paths, true)
}

fn walk(paths: &[PathBuf], runs: bool) -> Vec<Result<Input, Unreadable>> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Err(error) => out.push(Err(Unreadable {
                path: p.clone(),
                error,
            })),
            Ok(m) if m.is_dir() => walk_dir(p, runs, &mut out),
            Ok(_) if runs && p.file_name().is_some_and(|n| n == RUN_FILE) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                out.push(Ok(Input::Run(dir)));
            }
            Ok(_) => out.push(Ok(Input::Trace(p.clone()))),
        }
    }
    out
}

const RUN_FILE: &str = sealcheck_model::run_format::FILE_NAME;

/// The trace files a run directory's `run.json` lists, or, when it cannot be read, the
/// directory's `loglets/` as a prefix: what a walk leaves to the run.
fn run_files(dir: &Path) -> (Vec<PathBuf>, Option<PathBuf>) {
    let listed = read_text(&dir.join(RUN_FILE), MAX_RUN_BYTES)
        .ok()
        .and_then(|t| serde_json::from_str::<sealcheck_model::run_format::RunSummary>(&t).ok());
    match listed {
        Some(run) => (
            run.loglets.iter().map(|l| dir.join(&l.file)).collect(),
            None,
        ),
        None => (Vec::new(), Some(dir.join("loglets"))),
    }
}

fn walk_dir(top: &Path, runs: bool, out: &mut Vec<Result<Input, Unreadable>>) {
    let mut stack = vec![top.to_path_buf()];
    let mut skip_files: Vec<PathBuf> = Vec::new();
    let mut skip_under: Vec<PathBuf> = Vec::new();
    while let Some(d) = stack.pop() {
        let entries = match list_dir(&d) {
            Ok(e) => e,
            Err(error) => {
                out.push(Err(Unreadable { path: d, error }));
                continue;
            }
        };
        if runs
            && entries
                .iter()
                .any(|(p, ty)| ty.is_file() && p.ends_with(RUN_FILE))
        {
            out.push(Ok(Input::Run(d.clone())));
            let (files, under) = run_files(&d);
            skip_files.extend(files);
            skip_under.extend(under);
        }
        let mut subdirs = Vec::new();
        for (path, ty) in entries {
            if ty.is_dir() {
                if path.join("meta.json").is_file() {
                    continue; // recorder raw material
                }
                subdirs.push(path);
            } else if path.extension().is_some_and(|x| x == "jsonl") {
                if skip_files.contains(&path) || skip_under.iter().any(|u| path.starts_with(u)) {
                    continue; // a run's loglet: the run validates it
                }
                // A symlink to a directory named *.jsonl is listed too: opening it says
                // "not a regular file (a directory)".
                out.push(Ok(Input::Trace(path)));
            }
        }
        // Depth-first in name order: push in reverse so that the first pops first.
        stack.extend(subdirs.into_iter().rev());
    }
}

/// The entries of a directory in name order, each with its own type (symlinks not followed).
fn list_dir(d: &Path) -> io::Result<Vec<(PathBuf, std::fs::FileType)>> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(d)? {
        let e = e?;
        entries.push((e.path(), e.file_type()?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_text_refuses_what_is_over_the_cap() {
        let d = std::env::temp_dir().join(format!("sealcheck-input-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("f.txt");
        std::fs::write(&f, "abcd").unwrap();
        assert_eq!(read_text(&f, 4).unwrap(), "abcd");
        let e = read_text(&f, 3).unwrap_err();
        assert!(
            e.to_string().contains("larger than the 3-byte limit"),
            "{e}"
        );
        let e = read_text(&d, 10).unwrap_err();
        assert!(
            e.to_string().contains("not a regular file (a directory)"),
            "{e}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
