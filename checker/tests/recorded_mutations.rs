//! Mutations of the recorded runs with unlogged appends (`appends-then-seal`,
//! `incident-forced-appends`) are decided: rejected at the changed item or at the first item that
//! observes the change, or recognized as behaviours as good as the original, never
//! inconclusive.
//!
//! What "observes" means, and the independent judgements the verdicts are checked against, are
//! defined from the trace in `sealcheck::mutate` (module documentation): each item's footprint
//! over storage states, log-server copies, the seal task and the sequencer, carried further by
//! the unlogged appends and seal requests.
//!
//! The full set (every drop, every adjacent swap of items of different parties, every tail
//! changed by -1, +1, +2, to 0 and past the appends, every seal flag flipped; 168 mutants) is
//! measured by `sealcheck bench-validate --mutations` (docs/validation.md, "Mutations of recorded runs").
//! A debug build is too slow for all of them in CI, so this test validates a fixed sample:
//! for each recording and mutation kind, three mutants drawn with `Rng::new(9)`.

use std::path::{Path, PathBuf};

use sealcheck::bench_validate::validate_mutants;
use sealcheck::generate::Rng;
use sealcheck::mutate::{self, Kind};
use sealcheck::trace_reader::TraceReader;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The sample: per kind, three mutant indices drawn without repetition.
fn sample(path: &Path, rng: &mut Rng) -> Vec<usize> {
    let reader = TraceReader::open(path).unwrap();
    let header = reader.header().clone();
    let items: Vec<_> = reader
        .map(|r| r.map(|i| (i.t, i.item)))
        .collect::<Result<_, _>>()
        .unwrap();
    // The original's rejection item only changes which judgement applies, not which mutants
    // exist.
    let all = mutate::mutants(&header, &items, None);
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let mut of_kind: Vec<usize> = (0..all.len()).filter(|&k| all[k].kind == kind).collect();
        for _ in 0..3.min(of_kind.len()) {
            out.push(of_kind.remove(rng.below(of_kind.len())));
        }
    }
    out
}

#[test]
fn mutations_of_recorded_runs_are_decided_and_localized() {
    let dir = std::env::temp_dir().join(format!(
        "sealcheck-recorded-mutations-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng::new(9);
    let mut decided = 0;
    let mut rejected = 0;
    for name in ["appends-then-seal", "incident-forced-appends"] {
        let path = root().join(format!("traces/restate-1.7.12/{name}/trace.jsonl"));
        let chosen = sample(&path, &mut rng);
        let rows = validate_mutants(&path, &dir, 60.0, |k, _| chosen.contains(&k), |_| {}).unwrap();
        assert_eq!(rows.len(), chosen.len(), "{name}");
        for r in &rows {
            assert!(
                matches!(
                    r.outcome.as_str(),
                    "rejected at change" | "rejected at observer" | "conforming"
                ),
                "{name}: {} -> {} ({}; change at {}, observing item {})",
                r.what,
                r.verdict,
                r.outcome,
                r.at,
                r.observer
            );
            decided += 1;
            rejected += r.outcome.starts_with("rejected") as usize;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(decided, 24);
    assert!(
        rejected > 0,
        "the sample rejects nothing: it proves nothing about localization"
    );
}

/// Pruning by later observations (module essay of `sealcheck::validate`) never changes a
/// verdict: every fixture under `traces/valid` and `traces/invalid`, the unlogged-append traces
/// of `bench-validate` with two appends in all four endings, and their mutants, validated
/// breadth-first with the pruning on and off, get the same verdict at the same item.
#[test]
fn pruning_by_later_observations_changes_no_verdict() {
    use sealcheck::bench_validate::{hidden_appends_trace, Ending};
    use sealcheck::validate::{validate_file, ValidateOptions, Verdict};
    let dir = std::env::temp_dir().join(format!("sealcheck-prune-ahead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["traces/valid", "traces/invalid"] {
        files.extend(sealcheck::trace_reader::expand_paths(&[root().join(sub)]).unwrap());
    }
    for ending in Ending::ALL {
        let (header, items) = hidden_appends_trace(2, ending);
        let items: Vec<_> = items.into_iter().map(|i| (None, i)).collect();
        let f = dir.join(format!("{ending:?}.jsonl"));
        sealcheck::trace_reader::write_trace(&f, &header, &items).unwrap();
        files.push(f);
        for (k, m) in mutate::mutants(&header, &items, None)
            .into_iter()
            .enumerate()
        {
            let f = dir.join(format!("{ending:?}-mutant-{k}.jsonl"));
            sealcheck::trace_reader::write_trace(&f, &header, &m.items).unwrap();
            files.push(f);
        }
    }
    let key = |v: &Verdict| match v {
        Verdict::Conforms { .. } => "conforms".to_string(),
        Verdict::Diverges { at, .. } => format!("diverges at {}", at.index),
        Verdict::Violates { property, at, .. } => format!("violates {property} at {}", at.index),
        Verdict::Rejected { at, last, .. } => format!("rejected between {} and {last}", at.index),
        Verdict::Inconclusive { at, reason } => format!("inconclusive at {}: {reason}", at.index),
    };
    let mut compared = 0;
    for f in &files {
        let run = |prune_ahead: bool| {
            let opts = ValidateOptions {
                depth_first: false,
                prune_ahead,
                timeout: Some(std::time::Duration::from_secs(30)),
                ..ValidateOptions::default()
            };
            validate_file(f, &opts).map(|o| key(&o.verdict))
        };
        let (on, off) = (run(true), run(false));
        match (on, off) {
            (Ok(a), Ok(b)) => {
                assert!(!b.starts_with("inconclusive"), "{}: {b}", f.display());
                assert_eq!(a, b, "{}", f.display());
                compared += 1;
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("{}: {a:?} / {b:?}", f.display()),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(compared > 100, "only {compared} traces compared");
}
