//! The seal task's nodeset status (`Seal task completed ... Nodeset status [N1(S), N2(S),
//! N3(?)]`) in the committed recordings: the importer carries it on the outcome, and a
//! snapshot that contradicts it (a member reported `S` seen unsealed right after) is rejected
//! at that snapshot.

use std::path::{Path, PathBuf};

use sealcheck::mutate::{self, Expect, Kind, Outcome};
use sealcheck::trace_reader::{write_trace, Item, Roles, TraceReader};
use sealcheck::validate::{validate_file, ValidateOptions, Verdict};
use sealcheck_model::observable::{Event, MemberStatus, NodeId, NodesetStatus};
use sealcheck_recorder::import::import_raw_dir;

fn recording(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/restate-1.7.12")
        .join(name)
}

fn status(letters: &str) -> NodesetStatus {
    letters
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let st = MemberStatus::parse(&c.to_string()).unwrap();
            (NodeId(i as u8 + 1), st)
        })
        .collect()
}

#[test]
fn seal_outcomes_carry_the_nodeset_status() {
    let t = import_raw_dir(&recording("kill-restart").join("raw")).unwrap();
    let outcomes: Vec<&Event> = t
        .items
        .iter()
        .filter_map(|i| match &i.item {
            Item::Event(e @ Event::SealCompleted { .. }) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 1);
    let Event::SealCompleted { status: s, .. } = outcomes[0] else {
        unreachable!()
    };
    assert_eq!(s.as_ref(), Some(&status("SS?")));
    let t = import_raw_dir(&recording("two-paused").join("raw")).unwrap();
    assert!(t.items.iter().any(|i| i.item
        == Item::Event(Event::SealFailed {
            node: NodeId(1),
            status: Some(status("SEE")),
        })));
}

fn items(path: &Path) -> (sealcheck::trace_reader::Header, Vec<(Option<f64>, Item)>) {
    let reader = TraceReader::open(path).unwrap();
    // The reader names the sealer and sequencer by the model's client: so do the mutants.
    let mut header = reader.header().clone();
    header.roles = Roles::default();
    let items = reader
        .map(|r| r.map(|i| (i.t, i.item)))
        .collect::<Result<_, _>>()
        .unwrap();
    (header, items)
}

fn verdict(
    dir: &Path,
    name: &str,
    header: &sealcheck::trace_reader::Header,
    items: &[(Option<f64>, Item)],
) -> Verdict {
    let f = dir.join(name);
    write_trace(&f, header, items).unwrap();
    validate_file(&f, &ValidateOptions::default())
        .unwrap()
        .verdict
}

/// Every status mutant of `kill-restart` (each member's status changed, each member reported
/// `S` seen unsealed in its next snapshot) is decided as `sealcheck::mutate` judges it; N1
/// seen unsealed right after the seal reported it `S` diverges at that snapshot.
#[test]
fn status_mutants_of_kill_restart_are_rejected_where_they_contradict() {
    let dir = std::env::temp_dir().join(format!("sealcheck-seal-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (header, items) = items(&recording("kill-restart").join("trace.jsonl"));
    let original = verdict(&dir, "original.jsonl", &header, &items);
    assert!(matches!(original, Verdict::Conforms { .. }), "{original:?}");
    let all = mutate::status_mutants(&items, None);
    assert_eq!(all.len(), 8, "six letters changed, N1 and N2 seen unsealed");
    assert_eq!(
        all.iter().filter(|m| m.kind == Kind::SealStatus).count(),
        6,
        "three members, two other letters each"
    );
    let mut n1_unsealed = false;
    for (k, m) in all.iter().enumerate() {
        let got = verdict(&dir, &format!("mutant-{k}.jsonl"), &header, &m.items);
        let outcome = m.judge(&original, &got);
        // With N3 down, a seal that only N2 confirmed is explained by the seeded bug alone
        // (validation is permissive): the status then says the seal broke the f-majority,
        // reported at the end of the trace.
        let only_by_the_bug = m.kind == Kind::SealStatus
            && matches!(&got, Verdict::Violates { property, .. }
                if property == "a seal completes only with an f-majority of confirmations");
        assert!(
            only_by_the_bug
                || matches!(
                    outcome,
                    Outcome::RejectedAtChange | Outcome::RejectedAtObserver | Outcome::Conforming
                ),
            "{}: {outcome:?} ({got:?})",
            m.what
        );
        if m.kind == Kind::UnsealedAfterSeal && m.what.contains("reported N1 S") {
            assert_eq!(m.expect, Expect::RejectedAtChange);
            assert!(
                matches!(&got, Verdict::Diverges { at, .. } if at.index == m.at),
                "{}: {got:?}",
                m.what
            );
            n1_unsealed = true;
        }
    }
    assert!(n1_unsealed, "no mutant flips N1 after the seal");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fixture pair: without its status, `invalid/seal-status-flipped.jsonl` is a behaviour
/// (N2 and N3 may have been the f-majority); the status is what rejects it.
#[test]
fn the_flipped_fixture_conforms_without_its_status() {
    let dir = std::env::temp_dir().join(format!("sealcheck-seal-blind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/invalid/seal-status-flipped.jsonl");
    let (header, mut items) = items(&path);
    let flipped = verdict(&dir, "flipped.jsonl", &header, &items);
    assert!(
        matches!(&flipped, Verdict::Diverges { at, .. } if at.index == 5),
        "{flipped:?}"
    );
    for (_, i) in &mut items {
        if let Item::Event(Event::SealCompleted { status, .. }) = i {
            *status = None;
        }
    }
    let blind = verdict(&dir, "blind.jsonl", &header, &items);
    assert!(matches!(blind, Verdict::Conforms { .. }), "{blind:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
