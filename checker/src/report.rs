//! Human and JSON renderings of a [`CheckReport`].

use std::fmt::Write;

use sealcheck_model::{Config, PropertyKind};
use serde::Serialize;

use sealcheck_model::words::count;

use crate::engine::{CheckReport, PropertyResult, Strategy, Trail, Verdict};
use crate::exit::Exit;
use crate::spec::Spec;

/// Default address of `sealcheck explore`.
pub const DEFAULT_EXPLORER_ADDR: &str = "127.0.0.1:3000";

/// The commands that reproduce a path.
#[derive(Clone, Debug, Serialize)]
pub struct Reproduce {
    /// Prints the steps again and re-checks every property along them.
    pub replay: String,
    /// Opens the path in the Explorer.
    pub explore: String,
    /// The Explorer page of the path once `explore` runs.
    pub explorer_url: String,
}

/// The reproduction commands for a path of a spec.
pub fn reproduce(spec: &Spec, path: &str) -> Reproduce {
    let arg = spec.command_arg();
    Reproduce {
        replay: format!("sealcheck replay{arg} --path {path}"),
        explore: format!("sealcheck explore{arg} --path {path}"),
        explorer_url: format!("http://{DEFAULT_EXPLORER_ADDR}/#/steps/{path}"),
    }
}

/// One line describing the scenario.
pub fn scenario_line(cfg: &Config) -> String {
    let nodeset: Vec<_> = cfg.nodeset.iter().map(|n| format!("N{n}")).collect();
    let mut s = format!(
        "harness {}, {} log servers, nodeset [{}], replication {{node: {}}}, client N{}, {}, stale views {}",
        cfg.harness.kind.name(),
        cfg.log_servers,
        nodeset.join(","),
        cfg.replication,
        cfg.client,
        count(cfg.appends as usize, "append", "appends"),
        if cfg.stale_views { "on" } else { "off" },
    );
    if cfg.harness.kind == sealcheck_model::HarnessKind::Retry {
        let _ = write!(
            s,
            ", at most {}",
            count(
                cfg.harness.max_attempts as usize,
                "seal() call",
                "seal() calls"
            )
        );
    }
    let f = &cfg.faults;
    let counted = [
        (f.message_loss, "lost message", "lost messages"),
        (
            f.message_duplication,
            "duplicated message",
            "duplicated messages",
        ),
        (f.crashes, "crash", "crashes"),
        (f.operator_moves, "operator move", "operator moves"),
        (
            f.other_seals,
            "seal task of another node",
            "seal tasks of other nodes",
        ),
        (
            f.other_repairs,
            "tail repair of another reader",
            "tail repairs of other readers",
        ),
    ];
    let faults: Vec<String> = counted
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|&(n, one, many)| {
            let force = one == "operator move" && f.operator_force;
            format!(
                "{}{}",
                count(n as usize, one, many),
                if force { " with --force" } else { "" }
            )
        })
        .collect();
    if !faults.is_empty() {
        let _ = write!(s, ", faults: {}", faults.join(", "));
    }
    if !cfg.bugs.is_empty() {
        let bugs: Vec<_> = cfg.bugs.iter().map(|b| b.name()).collect();
        let _ = write!(s, ", SEEDED BUGS: {}", bugs.join(", "));
    }
    s
}

fn verdict_word(p: &PropertyResult) -> String {
    let base = match p.verdict {
        Verdict::Holds => "holds",
        Verdict::Violated => "VIOLATED",
        Verdict::Reached => "reached",
        Verdict::Unreachable => "unreachable",
        Verdict::Undecided => "undecided (incomplete run)",
    };
    match (p.verdict, p.expected_unreachable) {
        (Verdict::Reached, true) => "REACHED, but the scenario says unreachable".to_string(),
        (Verdict::Unreachable, true) => "unreachable, as the scenario says".to_string(),
        (Verdict::Unreachable, false) if p.guard => {
            "NEVER REACHED: the safety properties it guards may hold vacuously".to_string()
        }
        _ => base.to_string(),
    }
}

/// Writes a trail as numbered steps with the changes of each.
pub fn write_trail(out: &mut String, trail: &Trail) {
    for (i, step) in trail.steps.iter().enumerate() {
        let _ = writeln!(out, "  {:>2}. {}", i + 1, step.action);
        for c in &step.changes {
            let _ = writeln!(out, "        {c}");
        }
    }
    let _ = writeln!(out, "  final state:");
    for l in &trail.final_state {
        let _ = writeln!(out, "        {l}");
    }
}

/// The human report.
pub fn text(spec: &Spec, report: &CheckReport, show_examples: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sealcheck check: {} ({})",
        report.scenario,
        spec.display_name()
    );
    let _ = writeln!(out, "  {}", scenario_line(&spec.config));
    let coverage = match &report.incomplete {
        None => "complete".to_string(),
        Some(why) => format!("INCOMPLETE: {why}; no property is proven"),
    };
    let counted = match report.strategy {
        // stateright counts every state of every walk: a state that several walks visit is
        // counted once per walk, and distinct states are not tracked.
        Strategy::Simulation { .. } => format!(
            "visited {} along random walks (a state counts once per walk that visits it; distinct states are not tracked), depth {}",
            count(report.states, "state", "states"),
            report.max_depth
        ),
        _ => format!(
            "explored {} ({} generated, depth {})",
            count(report.unique_states, "unique state", "unique states"),
            report.states,
            report.max_depth
        ),
    };
    let how = match &report.engine {
        Some(engine) => format!(
            "{}{} on {engine}",
            report.strategy.name(),
            if report.symmetry { " + symmetry" } else { "" },
        ),
        None => format!(
            "{}{}, {}",
            report.strategy.name(),
            if report.symmetry { " + symmetry" } else { "" },
            count(report.threads, "thread", "threads"),
        ),
    };
    let _ = writeln!(
        out,
        "{counted} in {:.2} s with {how}: {coverage}",
        report.elapsed_ms as f64 / 1000.0,
    );
    let _ = writeln!(out);
    let width = report
        .properties
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for p in &report.properties {
        let mark = if p.failure {
            "FAIL"
        } else if p.verdict == Verdict::Undecided {
            "?   "
        } else {
            "ok  "
        };
        let _ = writeln!(
            out,
            "  {mark}  {:<10} {:<width$}  {}",
            p.kind.name(),
            p.name,
            verdict_word(p)
        );
    }
    for p in &report.properties {
        let Some(trail) = &p.trail else { continue };
        if !p.failure && !show_examples {
            continue;
        }
        let what = match (p.kind, p.failure) {
            (PropertyKind::Sometimes, false) => "example",
            _ => "counterexample",
        };
        let _ = writeln!(
            out,
            "\n{what} for \"{}\" ({}{}):",
            p.name,
            count(trail.steps.len(), "step", "steps"),
            if trail.shortest {
                ", shortest"
            } else {
                ", not proven shortest"
            }
        );
        write_trail(&mut out, trail);
        let r = reproduce(spec, &trail.path);
        let _ = writeln!(out, "  replay:  {}", r.replay);
        let _ = writeln!(out, "  explore: {}  (opens {})", r.explore, r.explorer_url);
    }
    if let Some(note) = &report.shortest_search {
        let _ = writeln!(out, "\nnote: {note}");
    }
    let failures = report.properties.iter().filter(|p| p.failure).count();
    let _ = writeln!(out);
    let exit = report.exit_code();
    let code = exit.code();
    let summary = match exit {
        Exit::Holds => {
            format!("result: every property holds on a complete exploration (exit {code})")
        }
        Exit::Violated => format!(
            "result: {failures} propert{} failed (exit {code})",
            if failures == 1 { "y" } else { "ies" }
        ),
        Exit::UsageOrInput | Exit::Incomplete => {
            format!("result: INCOMPLETE run, no violation found, nothing proven (exit {code})")
        }
    };
    let _ = writeln!(out, "{summary}");
    out
}

/// The JSON report (one object).
pub fn json(spec: &Spec, report: &CheckReport) -> String {
    let properties: Vec<serde_json::Value> = report
        .properties
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).expect("results serialize");
            if let Some(t) = &p.trail {
                v["reproduce"] = serde_json::to_value(reproduce(spec, &t.path)).expect("serialize");
            }
            v
        })
        .collect();
    let mut j = serde_json::json!({
        "spec": spec.display_name(),
        "scenario": report.scenario,
        "config": spec.config,
        "strategy": report.strategy,
        "threads": report.threads,
        "symmetry": report.symmetry,
        "complete": report.incomplete.is_none(),
        "incomplete": report.incomplete.as_ref().map(|i| i.to_string()),
        // Simulation does not track distinct states (see the text report).
        "unique_states": match report.strategy {
            Strategy::Simulation { .. } => serde_json::Value::Null,
            _ => report.unique_states.into(),
        },
        "states": report.states,
        "max_depth": report.max_depth,
        "elapsed_ms": report.elapsed_ms,
        "properties": properties,
        "shortest_search": report.shortest_search,
        "exit_code": report.exit_code().code(),
    });
    if let Some(engine) = &report.engine {
        j["engine"] = engine.as_str().into();
    }
    serde_json::to_string_pretty(&j).expect("reports serialize")
}
