//! The recorder's importer (`sealcheck_recorder::import`) on the trimmed raw fixtures of the
//! recorder (material captured from Restate 1.7.12): the events, observations and header it
//! derives, and its errors on broken raw directories.

use std::path::{Path, PathBuf};

use sealcheck::trace_reader::{Item, TraceReader};
use sealcheck_model::observable::{
    Event, MemberStatus, NodeId, NodesetStatus, Observation, RejectReason,
};
use sealcheck_model::{HarnessKind, StorageState};
use sealcheck_recorder::import::{
    import_raw_dir, ImportError, ImportedTrace, CLIENT_ID, COMPLETE_KINDS,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../recorder/tests/fixtures")
        .join(name)
}

fn import(name: &str) -> ImportedTrace {
    import_raw_dir(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn events(t: &ImportedTrace) -> Vec<Event> {
    t.items
        .iter()
        .filter_map(|i| match &i.item {
            Item::Event(e) => Some(e.clone()),
            Item::Observe(_) => None,
        })
        .collect()
}

fn n(id: u8) -> NodeId {
    NodeId(id)
}

/// A nodeset status as the log prints it: `status("S?S")` is `[N1(S), N2(?), N3(S)]`.
fn status(letters: &str) -> Option<NodesetStatus> {
    let member = |c: char| MemberStatus::parse(&c.to_string()).unwrap();
    Some(
        letters
            .chars()
            .enumerate()
            .map(|(i, c)| (n(i as u8 + 1), member(c)))
            .collect(),
    )
}

/// A scratch copy of a fixture that a test may break.
fn scratch_copy(name: &str, tag: &str) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = std::env::temp_dir().join(format!(
        "sealcheck-import-test-{}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    copy(&fixture(name), &dir);
    dir
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

#[test]
fn incident_forced_events_are_the_scenario_in_model_terms() {
    let t = import("incident-forced");
    use Event::*;
    let mut expected = vec![
        Provisioned { node: n(2) },
        Provisioned { node: n(1) },
        Provisioned { node: n(3) },
    ];
    // restatectl forced all three in one command; it printed N3, N1, N2.
    for id in [3, 1, 2] {
        expected.push(StorageStateSet {
            node: n(id),
            to: StorageState::Provisioning,
        });
    }
    expected.push(SealRejected {
        node: n(1),
        reason: Some(RejectReason::AllProvisioning),
    });
    expected.push(Crashed { node: n(1) });
    expected.push(Crashed { node: n(2) });
    // N3, being stopped, runs a shutdown seal, refused while every member is Provisioning.
    expected.push(OtherSealRefused { node: n(3) });
    expected.push(Crashed { node: n(3) });
    for id in [1, 2, 3] {
        expected.push(Restarted { node: n(id) });
    }
    for id in [3, 1, 2] {
        expected.push(Provisioned { node: n(id) });
    }
    expected.push(SealStarted { node: n(1) });
    // Restate's max_local_tail 3 is the model's 2.
    expected.push(SealCompleted {
        node: n(1),
        max_local_tail: Some(2),
        status: status("S?S"),
    });
    assert_eq!(events(&t), expected);
}

#[test]
fn incident_forced_header_describes_the_run() {
    let t = import("incident-forced");
    let h = &t.header;
    let c = &h.config;
    assert_eq!((c.log_servers, c.replication, c.client), (3, 2, CLIENT_ID));
    assert_eq!(c.nodeset, vec![1, 2, 3]);
    assert_eq!(c.loglet, "0_0");
    assert_eq!(c.initial_storage, vec![StorageState::Provisioning; 3]);
    assert_eq!(c.appends, 2);
    assert_eq!(c.harness.kind, HarnessKind::Retry);
    assert_eq!(c.harness.max_attempts, 2);
    assert_eq!(c.faults.crashes, 3);
    assert_eq!(c.faults.timeouts, 0);
    assert_eq!(c.faults.operator_moves, 3);
    assert!(c.faults.operator_force);
    assert!(!c.stale_views);
    assert_eq!(h.roles.sealer, Some(n(1)));
    assert_eq!(h.roles.sequencer, Some(n(3)));
    assert_eq!(h.complete, COMPLETE_KINDS.map(String::from).to_vec());
    assert!(!h.run_complete);
    c.validate().unwrap();
}

#[test]
fn incident_forced_notes_name_what_was_dropped() {
    let t = import("incident-forced");
    let notes = t.notes.join("\n");
    // N3's shutdown seal of the same loglet is refused (every member looked Provisioning): a
    // seal task of another node, `other-seal-refused`, named with its kind.
    assert!(
        notes.contains("N3 runs a shutdown seal of 0_0 at 8559.6 ms (logs/n3.log:14), refused as every member looks Provisioning: other-seal-refused"),
        "{notes}"
    );
    assert!(!notes.contains("needs model step"), "{notes}");
    assert!(
        notes.contains("dropped 1 seal-started: other loglets or logs (1_0)"),
        "{notes}"
    );
    assert!(notes.contains("2 reached a seal task of 0_0"), "{notes}");
    assert!(notes.contains("the sequencer N3 was stopped"), "{notes}");
}

#[test]
fn incident_forced_observations_shift_offsets_and_follow_storage_states() {
    let t = import("incident-forced");
    let obs: Vec<&Observation> = t
        .items
        .iter()
        .filter_map(|i| match &i.item {
            Item::Observe(o) => Some(o),
            Item::Event(_) => None,
        })
        .collect();
    // The empty loglet (Restate local tail 1) and then two records (Restate 3).
    assert!(obs.contains(&&Observation::ObserveLogServer {
        node: n(2),
        local_tail: Some(0),
        sealed: Some(false)
    }));
    assert!(obs.contains(&&Observation::ObserveLogServer {
        node: n(2),
        local_tail: Some(2),
        sealed: Some(false)
    }));
    // The forced states are observed after the operator set them, and not before.
    let set = t.position("storage-state-set", Some(3)).unwrap();
    let forced = |i: &sealcheck_recorder::import::TimedItem| {
        i.item
            == Item::Observe(Observation::ObserveStorageState {
                node: n(3),
                state: StorageState::Provisioning,
            })
    };
    assert!(!t.items[..set].iter().any(forced));
    assert!(t.items[set + 1..].iter().any(|i| i.item
        == Item::Observe(Observation::ObserveStorageState {
            node: n(3),
            state: StorageState::Provisioning
        })));
}

#[test]
fn two_paused_fails_the_seal_on_two_timeouts() {
    let t = import("two-paused");
    use Event::*;
    let seal = seal_events(&t);
    assert_eq!(
        seal,
        vec![
            SealStarted { node: n(1) },
            SealRequestFailed {
                node: n(1),
                peer: n(2)
            },
            SealRequestFailed {
                node: n(1),
                peer: n(3)
            },
            SealFailed {
                node: n(1),
                status: status("SEE")
            },
        ]
    );
    let c = &t.header.config;
    assert_eq!(c.harness.kind, HarnessKind::SealOnce);
    assert_eq!(
        c.faults.timeouts, 2,
        "N2 and N3 were paused during the seal"
    );
    assert_eq!(c.faults.crashes, 0);
    assert_eq!(c.nodeset, vec![1, 2, 3]);
    // N1 is both the sealer and the sequencer in this run.
    assert_eq!(t.header.roles.sealer, Some(n(1)));
    assert_eq!(t.header.roles.sequencer, Some(n(1)));
    // The failed seal is not a no-op: N1's own copy is sealed afterwards.
    let failed = t.position("seal-failed", None).unwrap();
    assert!(t.items[failed..].iter().any(|i| i.item
        == Item::Observe(Observation::ObserveLogServer {
            node: n(1),
            local_tail: Some(2),
            sealed: Some(true)
        })));
    // Auto recovery's new loglet 0_1 and the shutdown seals are gone.
    assert!(!t.to_jsonl().contains("0_1"));
    assert!(t.notes.join("\n").contains("the recorder's shutdown"));
}

#[test]
fn times_start_at_zero_and_never_go_back() {
    for name in ["incident-forced", "two-paused"] {
        let t = import(name);
        assert!(t.items.first().unwrap().t >= 0.0);
        assert!(
            t.items.windows(2).all(|w| w[0].t <= w[1].t),
            "{name}: items out of time order"
        );
    }
}

#[test]
fn written_traces_read_back_with_the_trace_reader() {
    for name in ["incident-forced", "two-paused"] {
        let t = import(name);
        let text = t.to_jsonl();
        let reader = TraceReader::from_reader(
            name,
            Box::new(std::io::Cursor::new(text.clone().into_bytes())),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(reader.header(), &t.header);
        let items: Vec<_> = reader
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(items.len(), t.items.len());
        let client = NodeId(CLIENT_ID);
        for (read, ours) in items.iter().zip(&t.items) {
            assert_eq!(read.t, Some(ours.t));
            // The reader renames the sealer and the sequencer to the model's client.
            let mut expected = ours.item.clone();
            if let Item::Event(e) = &mut expected {
                if Event::is_sealer_kind(e.kind()) || Event::is_sequencer_kind(e.kind()) {
                    e.set_node(client);
                }
            }
            assert_eq!(read.item, expected);
        }
    }
}

#[test]
fn a_missing_directory_is_named() {
    let e = import_raw_dir(Path::new("/nonexistent/raw")).unwrap_err();
    assert!(matches!(e, ImportError::NotRawDir { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/raw"), "{e}");
}

#[test]
fn a_directory_without_meta_is_imported_from_its_server_logs() {
    let dir = scratch_copy("two-paused", "nometa");
    std::fs::remove_file(dir.join("meta.json")).unwrap();
    let t = import_raw_dir(&dir).unwrap();
    assert!(
        t.notes.iter().any(|n| n.starts_with("no meta.json")),
        "{:?}",
        t.notes
    );
    std::fs::remove_dir_all(dir.join("logs")).unwrap();
    let e = import_raw_dir(&dir).unwrap_err().to_string();
    assert!(e.contains("meta.json is missing"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_meta_without_loglet_names_the_field() {
    let dir = scratch_copy("two-paused", "nologlet");
    edit(&dir.join("meta.json"), |t| {
        t.replace("\"loglet_id\": \"0_0\"", "\"loglet_id\": null")
    });
    let e = import_raw_dir(&dir).unwrap_err();
    assert!(
        matches!(&e, ImportError::Meta { field, .. } if field == "loglet_id"),
        "{e}"
    );
    assert!(
        e.to_string().contains("meta.json: field `loglet_id`"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_zero_local_tail_is_refused_with_file_and_line() {
    let dir = scratch_copy("two-paused", "zerotail");
    let sql = dir.join("sql.jsonl");
    let text = std::fs::read_to_string(&sql).unwrap();
    let line = text
        .lines()
        .position(|l| {
            l.contains("\"table\":\"loglet_workers\"") && l.contains("\"loglet_id\":\"0_0\"")
        })
        .expect("a 0_0 row")
        + 1;
    edit(&sql, |t| {
        t.lines()
            .enumerate()
            .map(|(i, l)| {
                if i + 1 == line {
                    l.replace("\"local_tail\":3", "\"local_tail\":0")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let e = import_raw_dir(&dir).unwrap_err().to_string();
    assert!(
        e.contains(&format!("sql.jsonl:{line}: local_tail is 0")),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_broken_record_line_is_named() {
    let dir = scratch_copy("two-paused", "badaction");
    edit(&dir.join("actions.jsonl"), |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        lines[2] = "{\"time\": 5}".into();
        lines.join("\n")
    });
    let e = import_raw_dir(&dir).unwrap_err().to_string();
    assert!(e.contains("actions.jsonl:3:"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_storage_state_is_refused() {
    let dir = scratch_copy("incident-forced", "badstate");
    edit(&dir.join("restatectl.jsonl"), |t| {
        t.replace("to provisioning", "to sideways")
    });
    let e = import_raw_dir(&dir).unwrap_err().to_string();
    assert!(e.contains("restatectl.jsonl:"), "{e}");
    assert!(e.contains("storage state `sideways`"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_member_without_its_debug_line_is_taken_from_the_final_status() {
    // Restate gives up on a member without the `Exhausted attempts` line when the member
    // answered with an error; the seal task's status `[N1(S), N2(E), N3(E)]` still says so.
    let dir = scratch_copy("two-paused", "noexhausted");
    edit(&dir.join("logs/n1.log"), |t| {
        t.lines()
            .filter(|l| !(l.contains("Exhausted attempts") && l.contains("\"node_id\":\"N2\"")))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let t = import_raw_dir(&dir).unwrap();
    use Event::*;
    let seal = seal_events(&t);
    assert_eq!(
        seal,
        vec![
            SealStarted { node: n(1) },
            SealRequestFailed {
                node: n(1),
                peer: n(3)
            },
            SealRequestFailed {
                node: n(1),
                peer: n(2)
            },
            SealFailed {
                node: n(1),
                status: status("SEE")
            },
        ]
    );
    let failed = t.position("seal-failed", None).unwrap();
    assert_eq!(
        t.items[failed - 1].t,
        t.items[failed].t,
        "placed at the outcome"
    );
    assert!(
        t.notes
            .join("\n")
            .contains("N2(E) but no `Exhausted attempts` line"),
        "{:?}",
        t.notes
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The seal-related events of an imported trace, in order.
fn seal_events(t: &ImportedTrace) -> Vec<Event> {
    events(t)
        .into_iter()
        .filter(|e| e.kind().starts_with("seal"))
        .collect()
}

#[test]
fn a_seal_task_the_importer_cannot_attribute_is_reported_unplaced() {
    // Without the sealer's `Attempting to seal loglet` lines, its seal tasks are neither the
    // scenario's (no restatectl seal() before them) nor a seal assist or shutdown seal: the
    // importer must not drop them silently.
    assert!(import("incident-forced").unplaced().is_empty());
    let dir = scratch_copy("incident-forced", "unplaced");
    edit(&dir.join("logs/n1.log"), |text| {
        text.lines()
            .filter(|l| !l.contains("\"Attempting to seal loglet\""))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let t = import_raw_dir(&dir).unwrap();
    let unplaced = t.unplaced();
    assert!(
        unplaced.iter().any(|d| d.kind == "seal-started"),
        "{unplaced:#?}"
    );
    assert!(
        t.notes.iter().any(|n| n.contains("NOT PLACED")),
        "{:#?}",
        t.notes
    );
    let _ = std::fs::remove_dir_all(&dir);
}
