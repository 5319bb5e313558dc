//! The committed recordings: every scenario has a trace, and each trace is exactly what
//! `sealcheck import` makes of the raw material next to it (so the two cannot drift apart).

use std::path::{Path, PathBuf};

use sealcheck::trace::TraceReader;
use sealcheck_recorder::import::import_raw_dir;
use sealcheck_recorder::Scenario;

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/restate-1.7.12")
}

#[test]
fn every_scenario_has_a_committed_trace_and_raw_material() {
    for s in Scenario::ALL {
        let dir = recordings().join(s.name());
        assert!(
            dir.join("raw/meta.json").is_file(),
            "{}: raw/ missing",
            s.name()
        );
        assert!(
            dir.join("trace.jsonl").is_file(),
            "{}: trace.jsonl missing",
            s.name()
        );
        assert!(
            dir.join("import-notes.txt").is_file(),
            "{}: import-notes.txt missing",
            s.name()
        );
    }
}

#[test]
fn committed_traces_are_the_import_of_their_raw_material() {
    for s in Scenario::ALL {
        let dir = recordings().join(s.name());
        let fresh =
            import_raw_dir(&dir.join("raw")).unwrap_or_else(|e| panic!("{}: {e}", s.name()));
        let committed = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
        assert_eq!(
            fresh.to_jsonl(),
            committed,
            "{}: the committed trace differs from `sealcheck import {}/raw`; regenerate it",
            s.name(),
            dir.display()
        );
        let notes = std::fs::read_to_string(dir.join("import-notes.txt")).unwrap();
        assert_eq!(
            fresh.notes.join("\n") + "\n",
            notes,
            "{}: notes differ",
            s.name()
        );
    }
}

#[test]
fn committed_traces_read_back() {
    for s in Scenario::ALL {
        let path = recordings().join(s.name()).join("trace.jsonl");
        let reader = TraceReader::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!reader.header().run_complete);
        let items: Vec<_> = reader
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        let n = items.len();
        assert!(n > 5, "{}: only {n} items", s.name());
    }
}
