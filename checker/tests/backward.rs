//! A trace whose observation sees a log server's tail lower, or its seal flag cleared, after
//! an earlier item saw it higher or set: no behaviour explains it, and when the items before
//! it are explained cleanly the verdict is a divergence right there, decided without the
//! breadth-first search. Checked against the breadth-first search alone on mutants of every
//! recorded trace, and on loaded loglets whose breadth-first search does not finish.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sealcheck::trace_reader::TraceReader;
use sealcheck::validate::{validate_file, validate_reader, ValidateOptions, Verdict};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sealcheck-backward-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

/// Mutants of the trace at `path`: each observation of a log server that an earlier item saw
/// with a higher or equal positive tail gets a tail one lower than the highest seen; each that
/// sees the flag set after an earlier one did, or after a seal outcome reported the member
/// `S`, sees it cleared; each that sees it unset before any seal task started sees it set;
/// the last observation of each server sees a tail past the appends, and each seal completion
/// a `max_local_tail` past them.
fn mutants(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).expect("committed trace");
    let lines: Vec<&str> = text.lines().collect();
    let header: Value = serde_json::from_str(lines[0]).expect("header");
    let appends = header["config"]["appends"].as_u64().expect("appends");
    let mut out = Vec::new();
    let mut highest: std::collections::BTreeMap<String, (u64, bool)> = Default::default();
    let mut last: std::collections::BTreeMap<String, usize> = Default::default();
    let mut started = false;
    let mutant = |k: usize, v: &Value| {
        let mut m: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        m[k] = v.to_string();
        (k - 1, m.join("\n") + "\n")
    };
    for (k, line) in lines.iter().enumerate().skip(1) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(status) = v["status"].as_object() {
            for (node, st) in status {
                if st == "S" {
                    highest.entry(node.clone()).or_default().1 = true;
                }
            }
        }
        let kind = v["event"].as_str().unwrap_or("");
        started |= ["seal-started", "other-seal-started", "seal-assist-started"].contains(&kind);
        if v["event"] == "seal-completed" && v["max_local_tail"].is_u64() {
            let mut w = v.clone();
            w["max_local_tail"] = (appends + 1).into();
            out.push(mutant(k, &w));
        }
        if v["event"] != "observe-log-server" {
            continue;
        }
        let node = v["node"].as_str().unwrap_or("").to_string();
        let (high, set) = highest.get(&node).copied().unwrap_or((0, false));
        if high > 0 && v["local_tail"].as_u64().is_some() {
            let mut w = v.clone();
            w["local_tail"] = (high - 1).into();
            out.push(mutant(k, &w));
        }
        if !started && v["sealed"] == false {
            let mut w = v.clone();
            w["sealed"] = true.into();
            out.push(mutant(k, &w));
        }
        if set && v["sealed"] == true {
            let mut w = v.clone();
            w["sealed"] = false.into();
            out.push(mutant(k, &w));
        }
        let tail = v["local_tail"].as_u64().unwrap_or(0);
        highest.insert(node.clone(), (high.max(tail), set || v["sealed"] == true));
        if v["local_tail"].as_u64().is_some() {
            last.insert(node, k);
        }
    }
    for &k in last.values() {
        let mut w: Value = serde_json::from_str(lines[k]).expect("json");
        w["local_tail"] = (appends + 1).into();
        out.push(mutant(k, &w));
    }
    out
}

fn recorded_traces() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = Path::new("../traces/restate-1.7.12");
    for e in std::fs::read_dir(root).expect("recordings") {
        let dir = e.expect("entry").path();
        let t = dir.join("trace.jsonl");
        if t.is_file() {
            out.push(t);
        }
        if let Ok(inner) = std::fs::read_dir(&dir) {
            for e in inner {
                let t = e.expect("entry").path().join("trace.jsonl");
                if t.is_file() {
                    out.push(t);
                }
            }
        }
    }
    out.sort();
    out
}

/// Validates each of a trace's mutants (`(item changed, text)`, at most `per_trace` of them,
/// spread over the list) by the default phases and by the breadth-first search alone, and
/// asserts the same verdict word and item wherever the breadth-first search decides; with
/// `rejected`, asserts that no mutant conforms. Returns how many both decided and how many
/// diverge at their change.
fn compare_with_breadth_first(
    dir: &Path,
    trace: &Path,
    all: Vec<(usize, String)>,
    per_trace: usize,
    rejected: bool,
) -> (usize, usize) {
    let opts = ValidateOptions::default();
    let bfs_opts = ValidateOptions {
        timeout: Some(Duration::from_secs(1)),
        max_frontier: 200_000,
        ..ValidateOptions::default()
    };
    let at = |v: &Verdict| match v {
        Verdict::Diverges { at, .. }
        | Verdict::Violates { at, .. }
        | Verdict::Inconclusive { at, .. }
        | Verdict::Rejected { at, .. } => Some(at.index),
        Verdict::Conforms { .. } => None,
    };
    let (mut compared, mut diverged) = (0, 0);
    let step = all.len().div_ceil(per_trace).max(1);
    for (n, (item, text)) in all.into_iter().step_by(step).enumerate() {
        let path = dir.join(format!("m{n}.jsonl"));
        std::fs::write(&path, text).expect("write");
        let got = validate_file(&path, &opts).expect("valid");
        let bfs =
            validate_reader(TraceReader::open(&path).expect("open"), &bfs_opts).expect("valid");
        if rejected {
            assert_ne!(
                got.verdict.word(),
                "conforms",
                "{} item {item}",
                trace.display()
            );
        }
        if matches!(got.verdict, Verdict::Diverges { .. }) && at(&got.verdict) == Some(item) {
            diverged += 1;
        }
        if bfs.verdict.word() == "inconclusive" {
            continue;
        }
        compared += 1;
        assert_eq!(
            (got.verdict.word(), at(&got.verdict)),
            (bfs.verdict.word(), at(&bfs.verdict)),
            "{} item {item}: {:?}",
            trace.display(),
            got.verdict
        );
    }
    (compared, diverged)
}

#[test]
fn a_tail_moving_back_gets_the_verdict_of_the_breadth_first_search() {
    let dir = scratch("recorded");
    let (mut compared, mut diverged) = (0, 0);
    for trace in recorded_traces() {
        // At most 12 a trace, spread over it, to keep the test short.
        let (c, d) = compare_with_breadth_first(&dir, &trace, mutants(&trace), 12, true);
        compared += c;
        diverged += d;
    }
    eprintln!("{compared} mutants decided by both searches, {diverged} diverging at their change");
    assert!(compared >= 60, "only {compared} mutants decided by both");
    assert!(
        diverged >= 50,
        "only {diverged} mutants diverge at their change"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_loaded_loglet_whose_tail_moves_back_diverges_there_at_once() {
    let dir = scratch("loaded");
    let opts = ValidateOptions {
        timeout: Some(Duration::from_secs(60)),
        ..ValidateOptions::default()
    };
    for trace in [
        "../traces/restate-1.7.12/steady-load-10min/loglets/1_0.jsonl",
        "../traces/restate-1.7.12/steady-load-short/loglets/0_0.jsonl",
    ] {
        let all = mutants(Path::new(trace));
        assert!(all.len() > 10, "{trace}");
        // One in the middle, and the last server's tail past the appends.
        for (item, text) in [&all[all.len() / 2], &all[all.len() - 1]] {
            let path = dir.join("m.jsonl");
            std::fs::write(&path, text).expect("write");
            let got = validate_file(&path, &opts).expect("valid");
            match &got.verdict {
                Verdict::Diverges { at, .. } => assert_eq!(at.index, *item, "{trace}"),
                v => panic!("{trace} item {item}: {v:?}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mutants of the trace at `path` that need a log server back in Provisioning: a second
/// `provisioned` of a log server right after its first, at the end of the trace, and a seal
/// refused for all-Provisioning members after the last `provisioned`. Each with the item it
/// inserts; the inserted line takes the stamp of the line before it.
fn storage_mutants(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).expect("committed trace");
    let lines: Vec<&str> = text.lines().collect();
    let header: Value = serde_json::from_str(lines[0]).expect("header");
    let sealer = header["roles"]["sealer"]
        .as_str()
        .unwrap_or("N1")
        .to_string();
    let insert = |at: usize, mut v: Value| {
        let before: Value = serde_json::from_str(lines[at - 1]).unwrap_or_default();
        v["t"] = before["t"].clone();
        let mut m: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        m.insert(at, v.to_string());
        (at - 1, m.join("\n") + "\n")
    };
    let provisioned: Vec<(usize, Value)> = lines
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(k, l)| serde_json::from_str::<Value>(l).ok().map(|v| (k, v)))
        .filter(|(_, v)| v["event"] == "provisioned")
        .collect();
    let mut out = Vec::new();
    for (k, v) in &provisioned {
        let again = serde_json::json!({"event": "provisioned", "node": v["node"].clone()});
        out.push(insert(k + 1, again.clone()));
        out.push(insert(lines.len(), again));
    }
    if let Some((k, _)) = provisioned.last() {
        let refused = serde_json::json!({"event": "seal-rejected", "node": sealer, "reason": "all-provisioning"});
        out.push(insert(k + 1, refused));
    }
    out
}

/// An item that needs a log server back in Provisioning without `--force` (checker/src/
/// validate/storage.rs) is decided at once and gets the breadth-first search's verdict and
/// item, on mutants of every recorded trace.
#[test]
fn a_storage_state_only_force_reaches_gets_the_verdict_of_the_breadth_first_search() {
    let dir = scratch("storage");
    let (mut compared, mut diverged) = (0, 0);
    for trace in recorded_traces() {
        // The rule is about runs without --force (the forced recordings' mutants are
        // explained by a forced move, which the breadth-first search would have to find).
        let header: Value = serde_json::from_str(
            std::fs::read_to_string(&trace)
                .expect("committed trace")
                .lines()
                .next()
                .expect("header"),
        )
        .expect("header");
        if header["config"]["faults"]["operator_force"] == true {
            continue;
        }
        let (c, d) = compare_with_breadth_first(&dir, &trace, storage_mutants(&trace), 6, false);
        compared += c;
        diverged += d;
    }
    eprintln!(
        "{compared} storage mutants decided by both searches, {diverged} diverging at their change"
    );
    assert!(compared >= 20, "only {compared} mutants decided by both");
    assert!(
        diverged >= 15,
        "only {diverged} mutants diverge at their change"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mutants of the trace at `path` in which a server seen sealed is seen with a tail one lower
/// there than a later observation of it sees (and not lower than an earlier one saw): only a
/// store past the seal explains the later one (module essay, "Tails only a seeded bug raises"). Traces with cluster roles, whose tail
/// repairs may write past a seal, have none.
fn raised_sealed_tail_mutants(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).expect("committed trace");
    let lines: Vec<&str> = text.lines().collect();
    let header: Value = serde_json::from_str(lines[0]).expect("header");
    if !header["config"]["cluster"].is_null() {
        return Vec::new();
    }
    let obs: Vec<(usize, Value)> = lines
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(k, l)| serde_json::from_str::<Value>(l).ok().map(|v| (k, v)))
        .filter(|(_, v)| v["event"] == "observe-log-server" && v["local_tail"].as_u64().is_some())
        .collect();
    let mut out = Vec::new();
    for (i, (k, v)) in obs.iter().enumerate() {
        let tail = v["local_tail"].as_u64().unwrap_or(0);
        if v["sealed"] != true || tail == 0 {
            continue;
        }
        let later = obs[i + 1..]
            .iter()
            .any(|(_, w)| w["node"] == v["node"] && w["local_tail"].as_u64() >= Some(tail));
        // Not below what an earlier item saw (that is a tail moving back, decided above).
        let earlier = obs[..i]
            .iter()
            .filter(|(_, w)| w["node"] == v["node"])
            .filter_map(|(_, w)| w["local_tail"].as_u64())
            .max()
            .unwrap_or(0);
        if !later || tail - 1 < earlier {
            continue;
        }
        let mut w = v.clone();
        w["local_tail"] = (tail - 1).into();
        let mut m: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        m[*k] = w.to_string();
        out.push((k - 1, m.join("\n") + "\n"));
    }
    out
}

#[test]
fn a_sealed_tail_raised_gets_the_verdict_of_the_breadth_first_search() {
    use sealcheck::bench_validate::{hidden_appends_trace, Ending};
    let dir = scratch("raised");
    // Small generated runs whose breadth-first search finishes: a member seen sealed one record
    // short, then with it (bench-validate's "late state-dependent violation").
    let mut compared = 0;
    for k in 1..=6 {
        let (header, items) = hidden_appends_trace(k, Ending::StateDependentViolation);
        let items: Vec<_> = items.into_iter().map(|i| (None, i)).collect();
        let f = dir.join(format!("hidden-{k}.jsonl"));
        sealcheck::trace_reader::write_trace(&f, &header, &items).expect("write");
        let text = std::fs::read_to_string(&f).expect("read");
        let last = text.lines().count() - 2;
        let (c, _) = compare_with_breadth_first(&dir, &f, vec![(last, text)], 1, true);
        compared += c;
        let got = validate_file(&f, &ValidateOptions::default()).expect("valid");
        assert_eq!(got.method, "depth-first", "k = {k}: {:?}", got.verdict);
    }
    assert_eq!(compared, 6, "the breadth-first search decides each");
    // A loaded loglet whose breadth-first search does not finish: each such mutant is decided
    // at once, as the violation.
    let trace = Path::new("../traces/restate-1.7.12/steady-load-short/loglets/0_0.jsonl");
    let mut violated = 0;
    for (n, (_, text)) in raised_sealed_tail_mutants(trace).into_iter().enumerate() {
        let path = dir.join(format!("loaded-{n}.jsonl"));
        std::fs::write(&path, text).expect("write");
        let opts = ValidateOptions {
            timeout: Some(Duration::from_secs(60)),
            ..ValidateOptions::default()
        };
        let got = validate_file(&path, &opts).expect("valid");
        match &got.verdict {
            Verdict::Violates { property, .. } => {
                assert_eq!(
                    property,
                    "a durably sealed log server accepts no new record"
                );
                assert_eq!(got.method, "depth-first");
                violated += 1;
            }
            v => panic!("mutant {n}: {v:?}"),
        }
    }
    assert!(violated >= 2, "only {violated} violations");
    let _ = std::fs::remove_dir_all(&dir);
}
