//! Reports of `sealcheck validate`: one line per trace and a summary (text), one JSON object,
//! or JUnit XML.

use std::fmt::Write;
use std::path::PathBuf;

use crate::exit::Exit;
use crate::report::DEFAULT_EXPLORER_ADDR;
use crate::spec::shell_quote;
use crate::trace::TraceError;
use crate::validate::{Outcome, Verdict};

/// One validated file: its path and the outcome or the reason it could not be read.
pub type FileResult = (PathBuf, Result<Outcome, TraceError>);

/// Exit status over all files ([`Exit::worst`]): an input error if any is malformed or
/// unreadable, else violated if any diverges or violates, else incomplete if any search was
/// inconclusive, else holds.
pub fn exit_code(results: &[FileResult]) -> Exit {
    Exit::worst(results.iter().map(|(_, r)| match r {
        Err(_) => Exit::UsageOrInput,
        Ok(o) => o.verdict.exit_code(),
    }))
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
/// would have allowed and a command that opens the explanation), then a summary line with the
/// count per verdict and the exit code.
pub fn text(results: &[FileResult]) -> String {
    let mut out = String::new();
    let mut counts = [0usize; 5];
    let mut unreadable = 0;
    for (file, r) in results {
        match r {
            Err(e) if e.is_unreadable() => {
                unreadable += 1;
                let _ = writeln!(out, "UNREADABLE {e}");
            }
            Err(e) => {
                counts[3] += 1;
                let _ = writeln!(out, "MALFORMED  {e}");
            }
            Ok(o) => {
                counts[outcome_text(&mut out, file, o)] += 1;
            }
        }
    }
    let unreadable = if unreadable > 0 {
        format!(", {unreadable} unreadable")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n{}: {} conform, {} diverge, {} violate, {} malformed, {} inconclusive{unreadable} (exit {})",
        sealcheck_model::words::count(results.len(), "trace", "traces"),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        exit_code(results).code()
    );
    out
}

/// Writes the lines of one validated file to `out`: the verdict with the file's statistics,
/// and for a rejection where it is, what the model would have allowed and a command that opens
/// the explanation. Returns the summary column it counts in (conform, diverge, violate, -,
/// inconclusive).
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

/// One JSON object: per trace the verdict (or the malformed error), and the exit code.
pub fn json(results: &[FileResult]) -> String {
    let traces: Vec<serde_json::Value> = results
        .iter()
        .map(|(file, r)| match r {
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
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "traces": traces,
        "exit_code": exit_code(results).code(),
    }))
    .expect("json")
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per trace; diverges/violates are failures, malformed are errors.
pub fn junit(results: &[FileResult]) -> String {
    let failures = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(o) if o.verdict.exit_code() != Exit::Holds))
        .count();
    let errors = results.iter().filter(|(_, r)| r.is_err()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"sealcheck validate\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        results.len()
    );
    for (file, r) in results {
        let name = xml(&file.display().to_string());
        match r {
            Err(e) => {
                let _ = writeln!(
                    out,
                    "  <testcase name=\"{name}\"><error message=\"{}\">{}</error></testcase>",
                    if e.is_unreadable() {
                        "unreadable"
                    } else {
                        "malformed"
                    },
                    xml(&e.to_string())
                );
            }
            Ok(o) => {
                let time = o.elapsed_ms as f64 / 1000.0;
                match &o.verdict {
                    Verdict::Conforms { .. } => {
                        let _ = writeln!(out, "  <testcase name=\"{name}\" time=\"{time}\"/>");
                    }
                    v => {
                        let msg = match v {
                            Verdict::Diverges { at, .. } => {
                                format!(
                                    "diverges at item {} (line {}): {}",
                                    at.index, at.line, at.text
                                )
                            }
                            Verdict::Violates { property, at, .. } => format!(
                                "violates \"{property}\" at item {} (line {})",
                                at.index, at.line
                            ),
                            Verdict::Inconclusive { reason, .. } => {
                                format!("inconclusive: {reason}")
                            }
                            Verdict::Conforms { .. } => unreachable!(),
                        };
                        let _ = writeln!(
                            out,
                            "  <testcase name=\"{name}\" time=\"{time}\"><failure message=\"{}\">{}</failure></testcase>",
                            xml(v.word()),
                            xml(&msg)
                        );
                    }
                }
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}
