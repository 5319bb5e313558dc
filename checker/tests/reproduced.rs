//! The committed reproductions (`traces/restate-1.7.12/reproduced/<name>/`, made by `sealcheck
//! reproduce`): each trace is exactly the import of its raw material, its `path.json` names a
//! path that replays on its scenario, and the path-following check of the trace against that
//! path gives the verdict the run recorded (all of them follow today).

use std::path::{Path, PathBuf};

use sealcheck::commands::load_spec;
use sealcheck::follow::{follow, path_actions, FollowOptions, FollowVerdict};
use sealcheck::reproduce::{follow_word, PathFile, PATH_FILE};
use sealcheck::trace_reader::TraceReader;
use sealcheck_recorder::import::import_raw_dir;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reproductions() -> Vec<PathBuf> {
    let dir = root().join("traces/restate-1.7.12/reproduced");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn the_incident_reproduction_is_committed() {
    assert!(reproductions()
        .iter()
        .any(|p| p.ends_with("reproduced/incident")));
}

#[test]
fn committed_reproductions_are_the_import_of_their_raw_material() {
    for dir in reproductions() {
        let fresh = import_raw_dir(&dir.join("raw")).unwrap_or_else(|e| panic!("{e}"));
        let committed = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
        assert_eq!(
            fresh.to_jsonl(),
            committed,
            "{}: the trace is not `sealcheck import raw`",
            dir.display()
        );
        let notes = std::fs::read_to_string(dir.join("import-notes.txt")).unwrap();
        assert_eq!(fresh.notes.join("\n") + "\n", notes, "{}", dir.display());
        assert!(
            fresh.unplaced().is_empty(),
            "{}: records of a kind the model has a step for were dropped: {:#?}",
            dir.display(),
            fresh.unplaced()
        );
    }
}

#[test]
fn committed_reproductions_follow_their_paths() {
    for dir in reproductions() {
        let text = std::fs::read_to_string(dir.join(PATH_FILE)).unwrap();
        let pf: PathFile = serde_json::from_str(&text).unwrap();
        assert!(pf.overrides.is_empty() && pf.trace.is_none(), "{pf:?}");
        let spec = load_spec(pf.spec.as_deref().map(|p| root().join(p)).as_deref()).unwrap();
        let model = spec.config.into_model().unwrap();
        let path = path_actions(&model, &pf.path).unwrap();
        let reader = TraceReader::open(&dir.join("trace.jsonl")).unwrap();
        let header = reader.header().clone();
        let items: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        let r = follow(&header, &items, &path, &FollowOptions::default());
        assert_eq!(
            follow_word(&r.verdict),
            pf.follow,
            "{}: {r:?}",
            dir.display()
        );
        assert_eq!(r.verdict, FollowVerdict::Follows, "{}", dir.display());
    }
}

/// The follow check is not a formality: the committed incident recording does not follow the
/// same path with two provisioning steps swapped (N2 before N1), nor a path whose seal is
/// accepted.
#[test]
fn the_incident_reproduction_does_not_follow_other_paths() {
    let dir = root().join("traces/restate-1.7.12/reproduced/incident");
    let reader = TraceReader::open(&dir.join("trace.jsonl")).unwrap();
    let header = reader.header().clone();
    let items: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    let model = load_spec(None).unwrap().config.into_model().unwrap();
    let mut swapped = path_actions(&model, "0/3/0/0/0").unwrap();
    swapped.swap(1, 2);
    let r = follow(&header, &items, &swapped, &FollowOptions::default());
    assert_eq!(r.verdict, FollowVerdict::Partly { taken: 2 }, "{r:?}");
    // N1 provisions, then the seal passes its guard: the recording's seal was rejected.
    let accepted = path_actions(&model, "0/0/2").unwrap();
    let r = follow(&header, &items, &accepted, &FollowOptions::default());
    assert!(
        matches!(r.verdict, FollowVerdict::Partly { taken } if taken < 2),
        "{r:?}"
    );
}

fn sealcheck(args: &[&str]) -> std::process::Output {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("sealcheck"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn reproduce_recheck_controls_and_dry_run_need_no_cluster() {
    let dir = "traces/restate-1.7.12/reproduced/incident";
    let o = sealcheck(&[
        "reproduce",
        "--path",
        "0/3/0/0/0",
        "--out",
        dir,
        "--recheck",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("follows: an explanation of the recording takes all 4 path steps"));
    assert_eq!(out.matches("reproduced (item ").count(), 4, "{out}");
    // The same recording against a path it did not take: exit 1, with the steps not observed.
    let o = sealcheck(&["reproduce", "--path", "0/0/2", "--out", dir, "--recheck"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("not observed"), "{out}");
    // The table has a row per sample step, and says which cannot be forced.
    let o = sealcheck(&["reproduce", "--controls"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        out.lines().count(),
        2 + sealcheck_recorder::reproduce::sample_steps().len()
    );
    assert!(out.contains("| no |") && out.contains("| yes |"), "{out}");
    // A dry run prints the plan and runs nothing.
    let o = sealcheck(&[
        "reproduce",
        "--property",
        "lack of confirmations",
        "--dry-run",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("hold N2 paused (SIGSTOP)"), "{out}");
    // A path that does not replay, and a scenario the cluster cannot play: usage errors.
    let o = sealcheck(&["reproduce", "--path", "0/99", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    let o = sealcheck(&[
        "reproduce",
        "specs/bench-four-servers.toml",
        "--path",
        "0",
        "--dry-run",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("3 log servers"), "{err}");
    let o = sealcheck(&["reproduce", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
}

/// In `reproduced/incident-auto-recovery`, the sequencer's node N1 was killed for the path's
/// second step while N3's partition processor was appending: N3's appender then ran Bifrost's
/// auto-recovery seal of 0_0 again and again (refused while every member was Provisioning) and
/// finally sealed it. The importer translates each try as a seal task of another node: nine
/// `other-seal-refused`, then `other-seal-started` / `other-seal-completed` (and its reader's
/// later seal assist is one more such task); without the
/// `seal_and_auto_extend_chain` span that tells them apart, the same records are reported NOT
/// PLACED (so the test can fail).
#[test]
fn an_appenders_auto_recovery_seal_is_named_not_left_unplaced() {
    let dir = root().join("traces/restate-1.7.12/reproduced/incident-auto-recovery/raw");
    let t = import_raw_dir(&dir).unwrap();
    let named = |t: &sealcheck_recorder::import::ImportedTrace, kind: &str| {
        t.notes
            .iter()
            .filter(|n| {
                n.starts_with(&format!("dropped {kind} (N3's"))
                    && n.contains("an auto-recovery seal")
            })
            .count()
    };
    assert_eq!(named(&t, "seal-started"), 0, "{:#?}", t.notes);
    assert_eq!(named(&t, "seal-completed"), 0, "{:#?}", t.notes);
    let kinds = other_seal_kinds(&t);
    let mut expected = vec!["other-seal-refused"; 9];
    expected.extend(["other-seal-started", "other-seal-completed"]);
    // Then N3's find-tail reader assists (the run has no separate roles): another node's task.
    expected.extend(["other-seal-started", "other-seal-completed"]);
    assert_eq!(kinds, expected);
    assert_eq!(t.header.config.faults.other_seals, 11);
    assert!(t
        .notes
        .iter()
        .any(|n| n.starts_with("N3 runs a seal assist of 0_0")));
    assert!(t
        .notes
        .iter()
        .any(|n| n.starts_with("N3 runs an auto-recovery seal of 0_0")));
    assert!(t.unplaced().is_empty(), "{:#?}", t.unplaced());

    let scratch = std::env::temp_dir().join(format!(
        "sealcheck-auto-recovery-test-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&dir)
        .arg(&scratch)
        .status()
        .unwrap();
    assert!(status.success());
    let log = scratch.join("logs/n3.log");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(
        &log,
        text.replace("seal_and_auto_extend_chain", "elsewhere"),
    )
    .unwrap();
    let stripped = import_raw_dir(&scratch).unwrap();
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        stripped.unplaced().iter().any(|d| d.kind == "seal-started"),
        "{:#?}",
        stripped.notes
    );
}

/// CI's live incident reproduction once met N3's find-tail readers sealing the loglet after
/// the restarts ("Detected gone (or likely gone) sequencer and inconsistent tail. Sealing the
/// loglet to repair the tail"), two tasks at once. The importer translates both as seal tasks
/// of another node; without that announcement they are NOT PLACED (so the test can fail).
#[test]
fn a_find_tail_seal_is_named_not_left_unplaced() {
    let dir = root().join("traces/restate-1.7.12/reproduced/incident-find-tail-seal/raw");
    let t = import_raw_dir(&dir).unwrap();
    assert!(
        !t.notes.iter().any(|n| n.contains("NOT PLACED")),
        "{:#?}",
        t.notes
    );
    assert_eq!(
        t.notes
            .iter()
            .filter(|n| n.contains("runs a find-tail seal of 0_0"))
            .count(),
        2,
        "{:#?}",
        t.notes
    );
    assert_eq!(
        other_seal_kinds(&t),
        [
            "other-seal-started",
            "other-seal-started",
            "other-seal-completed",
            "other-seal-completed"
        ]
    );
}

/// The kinds of the other nodes' seal steps of an imported trace, in order.
fn other_seal_kinds(t: &sealcheck_recorder::import::ImportedTrace) -> Vec<&'static str> {
    t.items
        .iter()
        .filter_map(|i| match &i.item {
            sealcheck_model::trace_format::Item::Event(e) => Some(e.kind()),
            _ => None,
        })
        .filter(|k| k.starts_with("other-seal"))
        .collect()
}
