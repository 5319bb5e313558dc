//! The search of the model with abstract known global tails keeps every verdict (module essay
//! of `sealcheck::validate`, "Abstract tails"): on every mutant of cluster traces (fixtures and
//! recorded loglets), validation with and without it gives the same verdict at the same item
//! for the same property. Mutants that either validation leaves undecided within its bound are
//! skipped and counted. `SEALCHECK_ABSTRACT_ALL=1` adds the loglets of the loaded recordings
//! (minutes more).

mod verdict_support;
use verdict_support::gist;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sealcheck::mutate;
use sealcheck::trace_reader::{self, Item, TraceReader};
use sealcheck::validate::{validate_file, ValidateOptions, Verdict};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn traces() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "traces/valid/cluster-assist-and-repair.jsonl",
        "traces/valid/cluster-other-repair.jsonl",
        "traces/invalid/cluster-other-repair-past-tail.jsonl",
        "traces/invalid/cluster-repair-past-tail.jsonl",
        "traces/restate-1.7.12/kill-restart/trace.jsonl",
    ]
    .iter()
    .map(|p| root().join(p))
    .collect();
    if std::env::var("SEALCHECK_ABSTRACT_ALL").is_ok() {
        for p in [
            "traces/restate-1.7.12/incident-forced/trace.jsonl",
            "traces/restate-1.7.12/concurrent-readers/loglets/0_0.jsonl",
            "traces/restate-1.7.12/concurrent-readers/loglets/0_3.jsonl",
            "traces/restate-1.7.12/concurrent-readers/loglets/0_1.jsonl",
            "traces/restate-1.7.12/concurrent-readers/loglets/0_2.jsonl",
            "traces/restate-1.7.12/steady-load-short/loglets/0_2.jsonl",
            "traces/restate-1.7.12/steady-load-short/loglets/0_4.jsonl",
            "traces/restate-1.7.12/steady-load/loglets/0_3.jsonl",
        ] {
            out.push(root().join(p));
        }
    }
    out
}

#[test]
fn the_abstract_search_changes_no_verdict() {
    let dir = std::env::temp_dir().join(format!("sealcheck-abstract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = |abstract_tails: bool| ValidateOptions {
        abstract_tails,
        timeout: Some(Duration::from_secs(5)),
        ..ValidateOptions::default()
    };
    let (mut compared, mut by_abstract, mut skipped) = (0, 0, 0);
    let mut wrong = Vec::new();
    for trace in traces() {
        let started = std::time::Instant::now();
        let reader = TraceReader::open(&trace).unwrap();
        let mut header = reader.header().clone();
        header.roles = trace_reader::Roles::default();
        let items: Vec<(Option<f64>, Item)> =
            reader.map(|r| r.map(|i| (i.t, i.item)).unwrap()).collect();
        let original = validate_file(&trace, &opts(false)).unwrap();
        let rejected = match &original.verdict {
            Verdict::Diverges { at, .. } | Verdict::Violates { at, .. } => Some(at.index),
            _ => None,
        };
        for (k, m) in mutate::mutants(&header, &items, rejected)
            .into_iter()
            .enumerate()
        {
            let f = dir.join(format!("m{k}.jsonl"));
            trace_reader::write_trace(&f, &header, &m.items).unwrap();
            let with = validate_file(&f, &opts(true)).unwrap();
            let without = validate_file(&f, &opts(false)).unwrap();
            match (gist(&with.verdict), gist(&without.verdict)) {
                (Some(a), Some(b)) => {
                    compared += 1;
                    by_abstract += usize::from(with.method == "abstract-tails");
                    if a != b {
                        eprintln!("DISAGREE {} mutant {k}: {a} vs {b}", trace.display());
                        wrong.push(format!(
                            "{} mutant {k} ({}): with abstract tails {a}, without {b}",
                            trace.display(),
                            m.what
                        ));
                    }
                }
                _ => skipped += 1,
            }
        }
        eprintln!(
            "{}: {compared} compared so far, {:.1} s",
            trace.display(),
            started.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "{compared} mutants compared ({by_abstract} decided by the abstract search), {skipped} undecided by one of them"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(by_abstract > 0, "the abstract search decided nothing");
    let _ = std::fs::remove_dir_all(&dir);
}
