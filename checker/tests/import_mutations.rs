//! Mutated copies of the recorded Restate traces: a change the model can see is rejected at
//! the item where it becomes visible (a divergence, or a violation where only a seeded-bug step
//! explains it), a change it cannot see (which member answered a seal
//! late) still conforms. The same checks `traces.rs` runs on generated traces, run on real runs.

use std::path::{Path, PathBuf};

use sealcheck::validate::{validate_file, ValidateOptions, Verdict};

fn recorded(scenario: &str) -> (String, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/restate-1.7.12")
        .join(scenario)
        .join("trace.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn write(tag: &str, header: &str, items: &[String]) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "sealcheck-mutation-{}-{tag}.jsonl",
        std::process::id()
    ));
    let mut text = header.to_string();
    for i in items {
        text.push('\n');
        text.push_str(i);
    }
    text.push('\n');
    std::fs::write(&p, text).unwrap();
    p
}

/// The index of the only item containing all of `needles`.
fn find(items: &[String], needles: &[&str]) -> usize {
    let hits: Vec<usize> = (0..items.len())
        .filter(|&i| needles.iter().all(|n| items[i].contains(n)))
        .collect();
    assert_eq!(hits.len(), 1, "{needles:?} matches {hits:?}");
    hits[0]
}

fn verdict(tag: &str, header: &str, items: &[String], strict: bool) -> Verdict {
    let f = write(tag, header, items);
    let opts = ValidateOptions {
        permissive: !strict,
        ..ValidateOptions::default()
    };
    let v = validate_file(&f, &opts)
        .unwrap_or_else(|e| panic!("{tag}: {e}"))
        .verdict;
    std::fs::remove_file(&f).unwrap();
    v
}

#[track_caller]
fn assert_diverges_at(v: Verdict, index: usize, tag: &str) {
    match v {
        Verdict::Diverges { at, .. } => assert_eq!(at.index, index, "{tag}: {}", at.text),
        other => panic!("{tag}: expected a divergence at item {index}, got {other:?}"),
    }
}

/// Swaps what two items say, keeping each line's time (lines must stay in time order).
fn swap_keeping_time(items: &mut [String], a: usize, b: usize) {
    let split = |l: &str| {
        let comma = l.find(',').expect("a `t` field first");
        (l[..comma].to_string(), l[comma..].to_string())
    };
    let (ta, ra) = split(&items[a]);
    let (tb, rb) = split(&items[b]);
    items[a] = format!("{ta}{rb}");
    items[b] = format!("{tb}{ra}");
}

fn set_field(item: &str, field: &str, from: &str, to: &str) -> String {
    let old = format!("\"{field}\":{from}");
    assert!(item.contains(&old), "{item} has no {old}");
    item.replace(&old, &format!("\"{field}\":{to}"))
}

#[test]
fn the_unmutated_traces_conform() {
    for s in ["incident", "one-paused"] {
        let (h, items) = recorded(s);
        let v = verdict(&format!("{s}-as-recorded"), &h, &items, false);
        assert!(matches!(v, Verdict::Conforms { .. }), "{s}: {v:?}");
    }
}

#[test]
fn dropping_a_completely_logged_event_diverges() {
    let (h, items) = recorded("incident");
    // Without `seal-started`, nothing explains the completion: seal-started is logged
    // completely, so the seal task cannot have started unlogged.
    let started = find(&items, &["seal-started"]);
    let mut m = items.clone();
    m.remove(started);
    assert_diverges_at(
        verdict("drop-seal-started", &h, &m, false),
        started,
        "drop seal-started",
    );

    // Without N1's self-provisioning, N1 is never ReadWrite: its read-write observation
    // diverges.
    let prov = find(&items, &["provisioned", "N1"]);
    let mut m = items.clone();
    m.remove(prov);
    let first_n1 = m
        .iter()
        .position(|i| i.contains("observe-storage-state") && i.contains("\"N1\""))
        .unwrap();
    assert_diverges_at(
        verdict("drop-provisioned", &h, &m, false),
        first_n1,
        "drop provisioned N1",
    );
}

#[test]
fn swapping_two_events_diverges() {
    let (h, items) = recorded("incident");
    // The sequencer seals only after the seal task succeeded.
    let done = find(&items, &["seal-completed"]);
    let drained = find(&items, &["sequencer-sealed"]);
    assert_eq!(drained, done + 1);
    let mut m = items.clone();
    swap_keeping_time(&mut m, done, drained);
    assert_diverges_at(
        verdict("swap-drain", &h, &m, false),
        done,
        "swap completion and drain",
    );

    // A seal task cannot complete before it started.
    let started = find(&items, &["seal-started"]);
    let mut m = items.clone();
    swap_keeping_time(&mut m, started, done);
    assert_diverges_at(
        verdict("swap-seal", &h, &m, false),
        started,
        "swap start and completion",
    );
}

#[test]
fn changing_a_tail_in_an_observation_diverges() {
    let (h, items) = recorded("one-paused");
    // The loglet holds no record (appends = 0): a tail of 1 cannot be seen.
    let i = find(&items, &["observe-log-server", "N2", "\"sealed\":false"]);
    let mut m = items.clone();
    m[i] = set_field(&m[i], "local_tail", "0", "1");
    assert_diverges_at(verdict("tail", &h, &m, false), i, "tail 0 -> 1");

    // The seal's max_local_tail is Restate's minus one; Restate's own value does not fit.
    let done = find(&items, &["seal-completed"]);
    let mut m = items.clone();
    m[done] = set_field(&m[done], "max_local_tail", "0", "1");
    let v = verdict("max-local-tail", &h, &m, false);
    assert!(
        matches!(&v, Verdict::Diverges { at, .. } if at.index == done),
        "max_local_tail 1: {v:?}"
    );
}

#[test]
fn flipping_a_seal_flag_diverges_where_it_is_observable() {
    let (h, items) = recorded("one-paused");
    // Before any seal task, no log server is sealed.
    let before = find(&items, &["observe-log-server", "N1", "\"sealed\":false"]);
    let mut m = items.clone();
    m[before] = set_field(&m[before], "sealed", "false", "true");
    assert_diverges_at(
        verdict("flip-before", &h, &m, false),
        before,
        "sealed before the seal",
    );

    // The seal completed with status [N1(S), N2(S), N3(?)]: N3 may still be unsealed (it
    // answered late), so that flip is not observable; a member reported `S` is durably sealed,
    // so N1 seen unsealed diverges right there.
    let n1 = find(&items, &["observe-log-server", "N1", "\"sealed\":true"]);
    let n2 = find(&items, &["observe-log-server", "N2", "\"sealed\":true"]);
    let n3 = find(&items, &["observe-log-server", "N3", "\"sealed\":true"]);
    let mut m = items.clone();
    m[n3] = set_field(&m[n3], "sealed", "true", "false");
    let v = verdict("flip-one", &h, &m, false);
    assert!(
        matches!(v, Verdict::Conforms { .. }),
        "one member answering late is a behaviour: {v:?}"
    );
    let mut m = items.clone();
    m[n1] = set_field(&m[n1], "sealed", "true", "false");
    assert_diverges_at(
        verdict("flip-reported", &h, &m, false),
        n1,
        "a member reported S seen unsealed",
    );
    // Without the status, at most one member may still be unsealed (the f-majority of three
    // is two): one flip is not observable, two are.
    let done = find(&items, &["seal-completed"]);
    let mut m = items.clone();
    m[done] = m[done].replace(r#","status":{"N1":"S","N2":"S","N3":"?"}"#, "");
    assert_ne!(m[done], items[done]);
    m[n1] = set_field(&m[n1], "sealed", "true", "false");
    let v = verdict("flip-one-blind", &h, &m, false);
    assert!(
        matches!(v, Verdict::Conforms { .. }),
        "without the status, one member answering late is a behaviour: {v:?}"
    );
    m[n2] = set_field(&m[n2], "sealed", "true", "false");
    // The recording is a cluster (sealer N1, sequencer N3): the sequencer drained (before
    // these observations) only because it found an f-majority sealed. Two unsealed members
    // after that are no behaviour, not even with a seal task that completes on one
    // confirmation (the seeded bug is the admin's; the sequencer's check is its own): the run
    // diverges at the second unsealed observation (up to the first one, a correct seal
    // explains the prefix).
    let second = n1.max(n2);
    let drained = find(&items, &["sequencer-sealed"]);
    assert!(drained < n1.min(n2));
    assert_diverges_at(
        verdict("flip-two", &h, &m, false),
        second,
        "two unsealed after the drain",
    );
    // Against the scenario's model alone (no seeded-bug steps), it diverges there.
    assert_diverges_at(
        verdict("flip-two-strict", &h, &m, true),
        second,
        "two unsealed, strict",
    );
}

#[test]
fn a_seal_cannot_complete_once_two_requests_failed() {
    let (h, items) = recorded("two-paused");
    // Both requests to the paused members failed: only N1 can confirm, one short of the
    // f-majority, so turning the failure into a completion is impossible.
    let failed = find(&items, &["seal-failed"]);
    let mut m = items.clone();
    m[failed] = m[failed].replace(
        "\"event\":\"seal-failed\",\"node\":\"N1\"",
        "\"event\":\"seal-completed\",\"node\":\"N1\",\"max_local_tail\":2",
    );
    assert_ne!(m[failed], items[failed]);
    assert_diverges_at(
        verdict("fail-to-complete", &h, &m, true),
        failed,
        "completion after two failed requests",
    );
}
