//! Reports of `sealcheck validate`: one line per trace and a summary (text), one JSON object,
//! or JUnit XML. A run ([`crate::run`]) reports each loglet as a trace, then each chain check,
//! then its own line.

use std::fmt::Write;

use crate::chain::Status;
use crate::exit::Exit;
use crate::report::DEFAULT_EXPLORER_ADDR;
use crate::run::{RunResult, RunVerdict, Validated};
use crate::spec::shell_quote;
use crate::trace_reader::TraceError;
use crate::validate::{Outcome, Verdict};
use sealcheck_model::run_format;

pub use super::FileResult;

/// Exit status over all inputs ([`Exit::worst`]): an input error if any file or run is
/// malformed or unreadable, else violated if any diverges or violates, else incomplete if any
/// search was inconclusive, else holds.
pub fn exit_code(results: &[Validated]) -> Exit {
    Exit::worst(results.iter().map(Validated::exit))
}

fn place(at: &crate::validate::At) -> String {
    if at.line == 0 {
        format!("at the end of the trace (after item {})", at.index)
    } else {
        format!("at item {} (line {}): {}", at.index, at.line, at.text)
    }
}

fn explore_cmd(file: &std::path::Path, path: &str) -> String {
    format!(
        "sealcheck explore --from-trace {} --path {path}  (opens http://{DEFAULT_EXPLORER_ADDR}/#/steps/{path})",
        shell_quote(&file.display().to_string())
    )
}

/// The human report: per file its verdict line (and, for a rejection, where, what the model
/// would have allowed and a command that opens the explanation); per run the same for each
/// loglet, one line per chain check and the run's line; then a summary line with the count per
/// verdict (loglets count as traces) and the exit code.
pub fn text(results: &[Validated]) -> String {
    let mut out = String::new();
    let mut tally = Tally::default();
    let mut runs = [0usize; 6];
    for v in results {
        match v {
            Validated::File((file, r)) => tally.file(&mut out, file, r),
            Validated::Run(run) => {
                run_text(&mut out, run, &mut tally);
                runs[run.verdict() as usize] += 1;
            }
        }
    }
    let unreadable = if tally.unreadable > 0 {
        format!(", {} unreadable", tally.unreadable)
    } else {
        String::new()
    };
    let c = tally.counts;
    // Rejections the search did not localize are rare: counted only when there are some.
    let rejected = |n: usize| {
        if n > 0 {
            format!(", {n} rejected")
        } else {
            String::new()
        }
    };
    let run_counts = if results.iter().any(|v| matches!(v, Validated::Run(_))) {
        let n = runs.iter().sum();
        format!(
            "; {}: {} conform, {} diverge, {} violate{}, {} malformed, {} inconclusive",
            sealcheck_model::words::count(n, "run", "runs"),
            runs[RunVerdict::Conforms as usize],
            runs[RunVerdict::Diverges as usize],
            runs[RunVerdict::Violates as usize],
            rejected(runs[RunVerdict::Rejected as usize]),
            runs[RunVerdict::Malformed as usize],
            runs[RunVerdict::Inconclusive as usize],
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n{}: {} conform, {} diverge, {} violate{}, {} malformed, {} inconclusive{unreadable}{run_counts} (exit {})",
        sealcheck_model::words::count(tally.traces, "trace", "traces"),
        c[0],
        c[1],
        c[2],
        rejected(c[5]),
        c[3],
        c[4],
        exit_code(results).code()
    );
    out
}

/// Counts of the text report's summary: traces (loglets included) per column (conform,
/// diverge, violate, malformed, inconclusive, rejected) and unreadable paths.
#[derive(Default)]
struct Tally {
    traces: usize,
    counts: [usize; 6],
    unreadable: usize,
}

impl Tally {
    /// Writes one validated file's lines and counts it.
    fn file(&mut self, out: &mut String, file: &std::path::Path, r: &Result<Outcome, TraceError>) {
        self.traces += 1;
        match r {
            Err(e) if e.is_unreadable() => {
                self.unreadable += 1;
                let _ = writeln!(out, "UNREADABLE {e}");
            }
            Err(e) => {
                self.counts[3] += 1;
                let _ = writeln!(out, "MALFORMED  {e}");
            }
            Ok(o) => {
                self.counts[outcome_text(out, file, o)] += 1;
            }
        }
    }
}

/// Writes a run's lines: each loglet as a trace, each chain check, then the run's verdict with
/// what decided it and the chain's verdict.
fn run_text(out: &mut String, run: &RunResult, tally: &mut Tally) {
    for l in &run.loglets {
        tally.file(out, &l.path, &l.result);
    }
    for u in run.untranslated() {
        let _ = writeln!(
            out,
            "untranslated {} {}: {}",
            run.dir.display(),
            u.loglet,
            u.needs
        );
    }
    for c in &run.chain {
        let status = match c.status {
            Status::Holds => "holds",
            Status::Violates => "VIOLATES",
            Status::NotChecked => "not checked",
        };
        let _ = writeln!(
            out,
            "chain      {} {}: {status}: \"{}\": {}",
            run.dir.display(),
            c.subject,
            c.property,
            c.detail
        );
    }
    let verdict = run.verdict();
    let word = if verdict == RunVerdict::Conforms {
        verdict.word().to_string()
    } else {
        verdict.word().to_uppercase()
    };
    let chain = if run.summary.is_ok() {
        format!("; chain: {}", run.chain_verdict().word())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "run        {}: {word} ({}){chain}",
        run.dir.display(),
        run.reason()
    );
}

/// Writes the lines of one validated file to `out`: the verdict with the file's statistics,
/// and for a rejection where it is, what the model would have allowed and a command that opens
/// the explanation. Returns the summary column it counts in (conform, diverge, violate, -,
/// inconclusive, rejected).
fn outcome_text(out: &mut String, file: &std::path::Path, o: &Outcome) -> usize {
    let column;
    let stats = if o.method != "breadth-first" {
        format!(
            "{} items, {}, {} states, {} ms",
            o.items, o.method, o.states, o.elapsed_ms
        )
    } else {
        format!(
            "{} items, frontier <= {}, {} ms",
            o.items, o.max_frontier, o.elapsed_ms
        )
    };
    match &o.verdict {
        Verdict::Conforms { explanations } => {
            column = 0;
            let found = if o.method == "depth-first" {
                "an explanation found".to_string()
            } else {
                sealcheck_model::words::count(*explanations, "explanation", "explanations")
            };
            let _ = writeln!(out, "conforms   {} ({stats}, {found})", file.display());
        }
        Verdict::Diverges {
            at,
            explained,
            candidates,
            allowed,
            path,
        } => {
            column = 1;
            let _ = writeln!(out, "DIVERGES   {} {} ({stats})", file.display(), place(at));
            let _ = writeln!(
                out,
                "           the model explains the first {}; no behaviour continues with this one",
                sealcheck_model::words::count(*explained, "item", "items")
            );
            let _ = writeln!(out, "           the model would have allowed instead:");
            for a in allowed.iter().take(12) {
                let _ = writeln!(out, "             {a}");
            }
            if allowed.len() > 12 {
                let _ = writeln!(out, "             ... {} more", allowed.len() - 12);
            }
            for (i, c) in candidates.iter().enumerate() {
                let _ = writeln!(out, "           candidate state {}:", i + 1);
                for l in c {
                    let _ = writeln!(out, "             {l}");
                }
            }
            let _ = writeln!(
                out,
                "           explained prefix: {}",
                explore_cmd(file, path)
            );
        }
        Verdict::Violates { property, at, path } => {
            column = 2;
            let _ = writeln!(
                out,
                "VIOLATES   {}: \"{property}\" {} ({stats})",
                file.display(),
                place(at)
            );
            let _ = writeln!(
                out,
                "           every behaviour of the model that explains the trace up to here breaks it"
            );
            let _ = writeln!(out, "           explanation: {}", explore_cmd(file, path));
        }
        Verdict::Rejected { at, last, reason } => {
            column = 5;
            let _ = writeln!(
                out,
                "REJECTED   {} between items {} (line {}) and {last} ({stats})",
                file.display(),
                at.index,
                at.line
            );
            let _ = writeln!(out, "           {reason}");
        }
        Verdict::Inconclusive { at, reason } => {
            column = 4;
            let _ = writeln!(
                out,
                "INCONCLUSIVE {} at item {} (line {}): {reason}",
                file.display(),
                at.index,
                at.line
            );
        }
    }
    column
}

/// One JSON object: per trace the verdict (or the malformed error), per run (under `runs`,
/// present only when there is one) its verdict, loglets and chain checks, and the exit code.
pub fn json(results: &[Validated]) -> String {
    let mut traces = Vec::new();
    let mut runs = Vec::new();
    for v in results {
        match v {
            Validated::File((file, r)) => traces.push(file_json(file, r)),
            Validated::Run(run) => runs.push(run_json(run)),
        }
    }
    let mut report = serde_json::json!({ "traces": traces });
    if !runs.is_empty() {
        report["runs"] = serde_json::Value::Array(runs);
    }
    report["exit_code"] = exit_code(results).code().into();
    serde_json::to_string_pretty(&report).expect("json")
}

/// A trace's JSON object: its outcome with the verdict's fields flattened in, or the error.
fn file_json(file: &std::path::Path, r: &Result<Outcome, TraceError>) -> serde_json::Value {
    match r {
        Err(e) => serde_json::json!({
            "file": file.display().to_string(),
            "verdict": if e.is_unreadable() { "unreadable" } else { "malformed" },
            "line": e.line,
            "field": e.field,
            "message": e.message,
        }),
        Ok(o) => {
            let mut v = serde_json::to_value(o).expect("outcomes serialize");
            let verdict = v["verdict"].clone();
            if let serde_json::Value::Object(m) = verdict {
                for (k, x) in m {
                    v[k] = x;
                }
            }
            v
        }
    }
}

/// A run's JSON object: directory, verdict and what decided it, exit code, the summary's
/// source and material (or `error`), each loglet's id, log, segment and trace object, and the
/// chain's verdict and checks.
fn run_json(run: &RunResult) -> serde_json::Value {
    let mut v = serde_json::json!({
        "dir": run.dir.display().to_string(),
        "verdict": run.verdict(),
        "reason": run.reason(),
        "exit_code": run.exit().code(),
    });
    match &run.summary {
        Ok(s) => {
            v["source"] = s.source.clone().into();
            v["material"] = serde_json::to_value(s.material).expect("material serializes");
        }
        Err(e) => {
            v["error"] = serde_json::json!({
                "file": e.file,
                "line": e.line,
                "field": e.field,
                "message": e.message,
            });
        }
    }
    let loglets: Vec<serde_json::Value> = run
        .loglets
        .iter()
        .map(|l| {
            let mut o = serde_json::json!({
                "loglet": l.entry.loglet,
                "log_id": l.entry.log_id,
                "segment": l.entry.segment,
            });
            if let serde_json::Value::Object(m) = file_json(&l.path, &l.result) {
                for (k, x) in m {
                    o[k] = x;
                }
            }
            o
        })
        .collect();
    v["loglets"] = serde_json::Value::Array(loglets);
    v["untranslated"] = serde_json::to_value(run.untranslated()).unwrap_or_default();
    v["chain"] = serde_json::json!({
        "verdict": run.chain_verdict().word(),
        "checks": run.chain,
    });
    v
}

pub(crate) fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per trace; diverges/violates are failures, malformed are errors. A
/// run adds one test case per loglet (named by its trace) and one for its chain (`DIR chain`,
/// a failure when a check violates), or one error for its `run.json`.
pub fn junit(results: &[Validated]) -> String {
    let mut cases = Vec::new();
    for v in results {
        match v {
            Validated::File((file, r)) => cases.push(file_case(file, r)),
            Validated::Run(run) => {
                if let Err(e) = &run.summary {
                    cases.push(Case {
                        xml: format!(
                            "  <testcase name=\"{}\"><error message=\"malformed\">{}</error></testcase>",
                            xml(&run.dir.join(run_format::FILE_NAME).display().to_string()),
                            xml(&e.to_string())
                        ),
                        failure: false,
                        error: true,
                    });
                    continue;
                }
                for l in &run.loglets {
                    cases.push(file_case(&l.path, &l.result));
                }
                cases.push(chain_case(run));
            }
        }
    }
    let failures = cases.iter().filter(|c| c.failure).count();
    let errors = cases.iter().filter(|c| c.error).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"sealcheck validate\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        cases.len()
    );
    for c in cases {
        out.push_str(&c.xml);
        out.push('\n');
    }
    out.push_str("</testsuite>\n");
    out
}

/// One JUnit test case, as its XML line, and whether it is a failure or an error.
struct Case {
    xml: String,
    failure: bool,
    error: bool,
}

/// The test case of a run's chain: a failure naming every violated check.
fn chain_case(run: &RunResult) -> Case {
    let name = xml(&format!("{} chain", run.dir.display()));
    let violated: Vec<String> = run
        .chain
        .iter()
        .filter(|c| c.status == Status::Violates)
        .map(|c| format!("\"{}\" at {}: {}", c.property, c.subject, c.detail))
        .collect();
    if violated.is_empty() {
        return Case {
            xml: format!("  <testcase name=\"{name}\"/>"),
            failure: false,
            error: false,
        };
    }
    Case {
        xml: format!(
            "  <testcase name=\"{name}\"><failure message=\"violates\">{}</failure></testcase>",
            xml(&violated.join("; "))
        ),
        failure: true,
        error: false,
    }
}

/// The test case of one trace.
fn file_case(file: &std::path::Path, r: &Result<Outcome, TraceError>) -> Case {
    let name = xml(&file.display().to_string());
    let o = match r {
        Err(e) => {
            return Case {
                xml: format!(
                    "  <testcase name=\"{name}\"><error message=\"{}\">{}</error></testcase>",
                    if e.is_unreadable() {
                        "unreadable"
                    } else {
                        "malformed"
                    },
                    xml(&e.to_string())
                ),
                failure: false,
                error: true,
            }
        }
        Ok(o) => o,
    };
    let time = o.elapsed_ms as f64 / 1000.0;
    let msg = match &o.verdict {
        Verdict::Conforms { .. } => {
            return Case {
                xml: format!("  <testcase name=\"{name}\" time=\"{time}\"/>"),
                failure: false,
                error: false,
            }
        }
        Verdict::Diverges { at, .. } => format!(
            "diverges at item {} (line {}): {}",
            at.index, at.line, at.text
        ),
        Verdict::Violates { property, at, .. } => format!(
            "violates \"{property}\" at item {} (line {})",
            at.index, at.line
        ),
        Verdict::Rejected { at, last, reason } => format!(
            "rejected between items {} (line {}) and {last}: {reason}",
            at.index, at.line
        ),
        Verdict::Inconclusive { reason, .. } => format!("inconclusive: {reason}"),
    };
    Case {
        xml: format!(
            "  <testcase name=\"{name}\" time=\"{time}\"><failure message=\"{}\">{}</failure></testcase>",
            xml(o.verdict.word()),
            xml(&msg)
        ),
        failure: o.verdict.exit_code() != Exit::Holds,
        error: false,
    }
}
