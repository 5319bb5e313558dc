//! Validating a recorded run: every loglet of every log, each as its own instance of the model,
//! and the chain that ties a log's segments together.
//!
//! A run directory holds `run.json` ([`sealcheck_model::run_format`]) and one ordinary trace per
//! loglet. [`validate_inputs`] validates every listed trace exactly as a single trace file is
//! validated ([`crate::validate::validate_file`], same options and bounds per trace, all traces
//! of all inputs in one parallel pool), then runs the chain check ([`crate::chain`]) on the facts
//! `run.json` carries. A loglet's trace must agree with its entry (nodeset and replication):
//! two files of one import that disagree are an input error, not a verdict.
//!
//! The run's verdict is the worst of its parts, in the order malformed > violates > diverges >
//! inconclusive > conforms; its exit status is that verdict's ([`RunResult::exit`]). A chain
//! check that lacks its facts is "not checked" and counts neither for nor against the run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use sealcheck_model::run_format::{self, Loglet, RunSummary, Untranslated};

use crate::chain::{self, ChainVerdict, Check};
use crate::exit::Exit;
use crate::input::{Input, Unreadable};
use crate::trace_reader::{TraceError, TraceReader};
use crate::validate::FileResult;
use crate::validate::{validate_file, Outcome, ValidateOptions, Verdict};

/// One loglet of a validated run: its entry in `run.json`, its trace's path and the trace's
/// outcome (or why it could not be validated).
#[derive(Debug)]
pub struct LogletResult {
    /// The entry as `run.json` lists it.
    pub entry: Loglet,
    /// The trace file: the run directory joined with the entry's `file`.
    pub path: PathBuf,
    /// The validation's outcome, or the input error (missing file, malformed trace, a trace
    /// that disagrees with its entry).
    pub result: Result<Outcome, TraceError>,
}

/// A validated run.
#[derive(Debug)]
pub struct RunResult {
    /// The run directory (the one holding `run.json`).
    pub dir: PathBuf,
    /// The run summary, or the error that names the place in `run.json` at fault (then no
    /// loglet is validated).
    pub summary: Result<RunSummary, TraceError>,
    /// Every loglet in `run.json`'s order.
    pub loglets: Vec<LogletResult>,
    /// Every check of the chain ([`chain::check`]).
    pub chain: Vec<Check>,
}

/// The verdict of a run, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunVerdict {
    /// `run.json` or a loglet's trace is malformed, missing or unreadable.
    Malformed,
    /// A loglet violates a property, or the chain does.
    Violates,
    /// A loglet diverges from the model.
    Diverges,
    /// A loglet is rejected (it diverges or violates), at an item the search did not localize
    /// within its bounds.
    Rejected,
    /// A bound stopped some loglet's search before it proved anything.
    Inconclusive,
    /// Every loglet conforms and no chain check is violated.
    Conforms,
}

impl RunVerdict {
    /// One word, as the reports print it.
    pub fn word(self) -> &'static str {
        match self {
            RunVerdict::Malformed => "malformed",
            RunVerdict::Violates => "violates",
            RunVerdict::Diverges => "diverges",
            RunVerdict::Rejected => "rejected",
            RunVerdict::Inconclusive => "inconclusive",
            RunVerdict::Conforms => "conforms",
        }
    }

    /// The exit status of a run with this verdict.
    pub fn exit(self) -> Exit {
        match self {
            RunVerdict::Malformed => Exit::UsageOrInput,
            RunVerdict::Violates | RunVerdict::Diverges | RunVerdict::Rejected => Exit::Violated,
            RunVerdict::Inconclusive => Exit::Incomplete,
            RunVerdict::Conforms => Exit::Holds,
        }
    }

    fn of_loglet(r: &Result<Outcome, TraceError>) -> RunVerdict {
        match r {
            Err(_) => RunVerdict::Malformed,
            Ok(o) => match o.verdict {
                Verdict::Conforms { .. } => RunVerdict::Conforms,
                Verdict::Diverges { .. } => RunVerdict::Diverges,
                Verdict::Violates { .. } => RunVerdict::Violates,
                Verdict::Rejected { .. } => RunVerdict::Rejected,
                Verdict::Inconclusive { .. } => RunVerdict::Inconclusive,
            },
        }
    }
}

impl RunResult {
    /// The verdict of the chain as a whole.
    pub fn chain_verdict(&self) -> ChainVerdict {
        ChainVerdict::of(&self.chain)
    }

    /// The loglets `run.json` lists as not translated (each with what it needs).
    pub fn untranslated(&self) -> &[Untranslated] {
        match &self.summary {
            Ok(s) => &s.untranslated,
            Err(_) => &[],
        }
    }

    /// The run's verdict: the worst of `run.json`, every loglet and the chain; a run with a
    /// loglet nobody could judge (listed as untranslated) is at best inconclusive.
    pub fn verdict(&self) -> RunVerdict {
        if self.summary.is_err() {
            return RunVerdict::Malformed;
        }
        let chain = match self.chain_verdict() {
            ChainVerdict::Violates => RunVerdict::Violates,
            _ => RunVerdict::Conforms,
        };
        let untranslated = if self.untranslated().is_empty() {
            RunVerdict::Conforms
        } else {
            RunVerdict::Inconclusive
        };
        self.loglets
            .iter()
            .map(|l| RunVerdict::of_loglet(&l.result))
            .chain([chain, untranslated])
            .min()
            .unwrap_or(RunVerdict::Conforms)
    }

    /// The exit status of the run: its verdict's.
    pub fn exit(&self) -> Exit {
        self.verdict().exit()
    }

    /// What decided the verdict, in a few words: the first loglet (in `run.json`'s order)
    /// or chain check that has the run's verdict, and where.
    pub fn reason(&self) -> String {
        let verdict = self.verdict();
        if let Err(e) = &self.summary {
            return e.to_string();
        }
        let n = self.loglets.len();
        if verdict == RunVerdict::Conforms {
            return format!(
                "{} conform",
                sealcheck_model::words::count(n, "loglet", "loglets")
            );
        }
        for l in &self.loglets {
            if RunVerdict::of_loglet(&l.result) != verdict {
                continue;
            }
            let id = &l.entry.loglet;
            return match &l.result {
                Err(e) => format!("loglet {id}: {e}"),
                Ok(o) => match &o.verdict {
                    Verdict::Violates { property, at, .. } => {
                        format!("loglet {id}: \"{property}\" at item {}", at.index)
                    }
                    Verdict::Diverges { at, .. } => format!("loglet {id} at item {}", at.index),
                    Verdict::Rejected { at, last, .. } => {
                        format!("loglet {id} between items {} and {last}", at.index)
                    }
                    Verdict::Inconclusive { at, .. } => format!("loglet {id} at item {}", at.index),
                    Verdict::Conforms { .. } => unreachable!("conforming loglets are skipped"),
                },
            };
        }
        if let Some(c) = self
            .chain
            .iter()
            .find(|c| c.status == chain::Status::Violates)
        {
            return format!("chain: \"{}\" at {}", c.property, c.subject);
        }
        match self.untranslated() {
            [] => String::new(),
            [u, ..] => format!(
                "{} not translated, first {}",
                sealcheck_model::words::count(self.untranslated().len(), "loglet", "loglets"),
                u.loglet
            ),
        }
    }
}

/// One validated input of `sealcheck validate`: a trace file, or a run.
// One value per input or trace, made once: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Validated {
    /// A trace file (or a path that could not be read), validated alone.
    File(FileResult),
    /// A run directory.
    Run(RunResult),
}

impl Validated {
    /// The exit status of this input.
    pub fn exit(&self) -> Exit {
        match self {
            Validated::File((_, Err(_))) => Exit::UsageOrInput,
            Validated::File((_, Ok(o))) => o.verdict.exit_code(),
            Validated::Run(r) => r.exit(),
        }
    }
}

fn err(file: &Path, line: usize, field: &str, message: impl Into<String>) -> TraceError {
    TraceError {
        file: file.display().to_string(),
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Reads and checks `DIR/run.json`: format and version, every field's type, each loglet's id
/// (`<log_id>_<segment>`, unique) and file (a relative path inside the run directory). An
/// error names the file, the line (for an entry's fault, the line of its `"loglet"`) and the
/// field (`loglets[1].replication`).
pub fn read_summary(dir: &Path) -> Result<RunSummary, TraceError> {
    let path = dir.join(run_format::FILE_NAME);
    let text = crate::input::read_text(&path, crate::input::MAX_RUN_BYTES)
        .map_err(|e| TraceError::unreadable(&path.display().to_string(), &e))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let run: RunSummary = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.line().max(1);
        let message = inner.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        let field = match (crate::spec::field_from_message(&message), at.as_str()) {
            (Some(f), ".") => f,
            (Some(f), p) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
            (Some(f), p) => format!("{p}.{f}"),
            (None, ".") => "-".to_string(),
            (None, p) => p.to_string(),
        };
        err(&path, line, &field, message)
    })?;
    check_summary(&path, &text, &run)?;
    Ok(run)
}

/// The checks serde cannot make: format, version, ids and files.
fn check_summary(path: &Path, text: &str, run: &RunSummary) -> Result<(), TraceError> {
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map_or(1, |i| i + 1)
    };
    if run.format != run_format::FORMAT {
        let message = format!(
            "expected \"{}\", found {:?}",
            run_format::FORMAT,
            run.format
        );
        return Err(err(path, line_of("\"format\""), "format", message));
    }
    if run.version != run_format::VERSION {
        let message = format!(
            "this build reads version {}, found {}",
            run_format::VERSION,
            run.version
        );
        return Err(err(path, line_of("\"version\""), "version", message));
    }
    if run.loglets.is_empty() && run.untranslated.is_empty() {
        return Err(err(
            path,
            line_of("\"loglets\""),
            "loglets",
            "lists no loglet (translated or untranslated)",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, l) in run.loglets.iter().enumerate() {
        let line = line_of(&format!("\"{}\"", l.loglet));
        let field = |f: &str| format!("loglets[{i}].{f}");
        if l.loglet != l.expected_id() {
            let message = format!(
                "log {} segment {} is loglet \"{}\", found {:?}",
                l.log_id,
                l.segment,
                l.expected_id(),
                l.loglet
            );
            return Err(err(path, line, &field("loglet"), message));
        }
        if !seen.insert(l.loglet.clone()) {
            let message = format!("loglet {} is listed twice", l.loglet);
            return Err(err(path, line, &field("loglet"), message));
        }
        let file = Path::new(&l.file);
        let inside = file
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if l.file.is_empty() || !inside {
            let message = format!(
                "expected a relative path inside the run directory, found {:?}",
                l.file
            );
            return Err(err(path, line, &field("file"), message));
        }
    }
    Ok(())
}

/// A way to validate a loglet's trace other than from its start, tried first
/// ([`validate_run_with`]): `None` to validate it as usual.
pub type Shortcut<'a> = dyn Fn(&Loglet, &Path) -> Option<Result<Outcome, TraceError>> + Sync + 'a;

/// Checks that a loglet's trace describes the instance its entry names (nodeset and
/// replication of the trace's config), then validates it like any trace file (unless
/// `shortcut` gives its outcome).
fn validate_loglet(
    path: &Path,
    entry: &Loglet,
    opts: &ValidateOptions,
    shortcut: &Shortcut<'_>,
) -> LogletResult {
    let agree = || -> Result<(), TraceError> {
        let reader = TraceReader::open(path)?;
        let config = &reader.header().config;
        let mismatch = |field: &str, trace: String, run: String| {
            let message = format!("the trace says {trace}, run.json says {run}");
            Err(err(path, 1, &format!("config.{field}"), message))
        };
        if config.nodeset != entry.nodeset {
            let (t, r) = (&config.nodeset, &entry.nodeset);
            return mismatch("nodeset", format!("{t:?}"), format!("{r:?}"));
        }
        if config.replication != entry.replication {
            let (t, r) = (config.replication, entry.replication);
            return mismatch("replication", t.to_string(), r.to_string());
        }
        Ok(())
    };
    let result = agree().and_then(|()| match shortcut(entry, path) {
        Some(r) => r,
        None => validate_file(path, opts),
    });
    LogletResult {
        entry: entry.clone(),
        path: path.to_path_buf(),
        result,
    }
}

/// One unit of work of [`validate_inputs`].
enum Job<'a> {
    File(&'a Path),
    Loglet(&'a Loglet, PathBuf),
}

/// Validates every input: trace files alone, runs with their loglets and chain. All traces
/// (files and loglets of every run) are validated in parallel in the current rayon pool, each
/// with `opts` as its own bounds. Results keep the inputs' order, and a run's loglets
/// `run.json`'s order.
pub fn validate_inputs(
    inputs: &[Result<Input, Unreadable>],
    opts: &ValidateOptions,
) -> Vec<Validated> {
    let summaries: Vec<Option<Result<RunSummary, TraceError>>> = inputs
        .iter()
        .map(|i| match i {
            Ok(Input::Run(dir)) => Some(read_summary(dir)),
            _ => None,
        })
        .collect();
    let mut jobs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match (input, &summaries[i]) {
            (Ok(Input::Trace(f)), _) => jobs.push((i, Job::File(f))),
            (Ok(Input::Run(dir)), Some(Ok(run))) => {
                for l in &run.loglets {
                    jobs.push((i, Job::Loglet(l, dir.join(&l.file))));
                }
            }
            _ => {}
        }
    }
    let done: Vec<(usize, Done)> = jobs
        .par_iter()
        .map(|(i, job)| match job {
            Job::File(f) => (*i, Done::File((f.to_path_buf(), validate_file(f, opts)))),
            Job::Loglet(entry, path) => (
                *i,
                Done::Loglet(validate_loglet(path, entry, opts, &|_, _| None)),
            ),
        })
        .collect();
    assemble(inputs, summaries, done)
}

/// Validates the run in `dir` as [`validate_inputs`] does, except that a loglet for which
/// `shortcut` gives an outcome gets that one (`sealcheck follow` extends the explanation of
/// a growing loglet from where the last one ended: [`crate::validate::extend_file`]).
pub fn validate_run_with(dir: &Path, opts: &ValidateOptions, shortcut: &Shortcut<'_>) -> RunResult {
    let summary = read_summary(dir);
    let loglets = match &summary {
        Ok(run) => run
            .loglets
            .par_iter()
            .map(|l| validate_loglet(&dir.join(&l.file), l, opts, shortcut))
            .collect(),
        Err(_) => Vec::new(),
    };
    let chain = summary.as_ref().map(chain::check).unwrap_or_default();
    RunResult {
        dir: dir.to_path_buf(),
        summary,
        loglets,
        chain,
    }
}

/// The result of one [`Job`].
#[allow(clippy::large_enum_variant)] // one per trace, moved once
enum Done {
    File(FileResult),
    Loglet(LogletResult),
}

/// Puts the parallel results back in the inputs' order, each run with its loglets and chain.
fn assemble(
    inputs: &[Result<Input, Unreadable>],
    summaries: Vec<Option<Result<RunSummary, TraceError>>>,
    done: Vec<(usize, Done)>,
) -> Vec<Validated> {
    let mut done = done.into_iter().peekable();
    let mut out = Vec::with_capacity(inputs.len());
    for ((i, input), summary) in inputs.iter().enumerate().zip(summaries) {
        match input {
            Err(u) => out.push(Validated::File((
                u.path.clone(),
                Err(TraceError::unreadable(
                    &u.path.display().to_string(),
                    &u.error,
                )),
            ))),
            Ok(Input::Trace(_)) => match done.next() {
                Some((_, Done::File(r))) => out.push(Validated::File(r)),
                _ => unreachable!("one file result per trace input, in order"),
            },
            Ok(Input::Run(dir)) => {
                let mut loglets = Vec::new();
                while let Some((_, Done::Loglet(l))) = done.next_if(|(j, _)| *j == i) {
                    loglets.push(l);
                }
                let summary = summary.expect("runs have a summary");
                let chain = summary.as_ref().map(chain::check).unwrap_or_default();
                out.push(Validated::Run(RunResult {
                    dir: dir.clone(),
                    summary,
                    loglets,
                    chain,
                }));
            }
        }
    }
    out
}
