//! Trace validation: every trace under traces/ has its expected verdict (traces/expected.toml),
//! and the same checks run over traces the model generates (simulations, counterexamples) and
//! over mutated copies of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealcheck::bench_validate::{hidden_appends_trace, Ending};
use sealcheck::generate::{self, Rng};
use sealcheck::spec::Spec;
use sealcheck::trace_reader::{self, Header, Item, TraceError};
use sealcheck::validate::{validate_file, Outcome, ValidateOptions, Verdict};
use sealcheck_model::{Config, HarnessKind};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[derive(Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Expected {
    verdict: String,
    property: Option<String>,
    item: Option<usize>,
    line: Option<usize>,
    field: Option<String>,
    /// Validate against the scenario's model only (no seeded-bug steps): enough to show that
    /// a trace conforms, and far cheaper for recorded runs with unlogged appends.
    strict: Option<bool>,
    /// Frontier bound for this trace (default: `ValidateOptions::default()`).
    max_frontier: Option<usize>,
}

impl Expected {
    fn options(&self) -> ValidateOptions {
        let d = ValidateOptions::default();
        ValidateOptions {
            permissive: !self.strict.unwrap_or(false),
            max_frontier: self.max_frontier.unwrap_or(d.max_frontier),
            ..d
        }
    }
}

fn check_expected(file: &Path, expected: &Expected, got: &Result<Outcome, TraceError>) {
    let what = file.display();
    match got {
        Err(e) => {
            assert_eq!(expected.verdict, "malformed", "{what}: {e}");
            assert_eq!(expected.line, Some(e.line), "{what}: {e}");
            assert_eq!(
                expected.field.as_deref(),
                Some(e.field.as_str()),
                "{what}: {e}"
            );
        }
        Ok(o) => match &o.verdict {
            Verdict::Conforms { .. } => assert_eq!(expected.verdict, "conforms", "{what}"),
            Verdict::Diverges { at, .. } => {
                assert_eq!(expected.verdict, "diverges", "{what}: diverges at {at:?}");
                assert_eq!(expected.item, Some(at.index), "{what}");
            }
            Verdict::Violates { property, at, .. } => {
                assert_eq!(expected.verdict, "violates", "{what}: violates {property}");
                assert_eq!(
                    expected.property.as_deref(),
                    Some(property.as_str()),
                    "{what}"
                );
                assert_eq!(expected.item, Some(at.index), "{what}");
            }
            Verdict::Rejected { at, last, reason } => {
                panic!(
                    "{what}: rejected between items {} and {last}: {reason}",
                    at.index
                )
            }
            Verdict::Inconclusive { at, reason } => {
                assert_eq!(
                    expected.verdict, "inconclusive",
                    "{what}: inconclusive at {at:?}: {reason}"
                );
                assert_eq!(expected.item, Some(at.index), "{what}: {reason}");
            }
        },
    }
}

fn manifest() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(root().join("traces/expected.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn every_trace_has_its_expected_verdict() {
    let files = trace_reader::expand_paths(&[root().join("traces")]).unwrap();
    let manifest = manifest();
    let mut seen = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(root().join("traces"))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let expected = manifest
            .get(&rel)
            .unwrap_or_else(|| panic!("traces/expected.toml has no entry for {rel}"));
        check_expected(f, expected, &validate_file(f, &expected.options()));
        seen.push(rel);
    }
    for k in manifest.keys() {
        assert!(
            seen.contains(k),
            "traces/expected.toml names {k}, which does not exist"
        );
    }
    // The suite covers every verdict.
    for v in ["conforms", "diverges", "violates", "malformed"] {
        assert!(
            manifest.values().any(|e| e.verdict == v),
            "no fixture for {v}"
        );
    }
}

fn tmp(name: &str) -> PathBuf {
    // Under target/tmp, which cargo keeps for integration tests, not the system temp dir.
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("traces-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, header: &Header, items: &[Item]) -> PathBuf {
    let p = dir.join(name);
    let items: Vec<_> = items.iter().cloned().map(|i| (None, i)).collect();
    trace_reader::write_trace(&p, header, &items).unwrap();
    p
}

fn scenarios() -> Vec<Config> {
    let load = |f: &str| Spec::load(&root().join(f)).unwrap().config;
    let mut wp = Config::incident();
    wp.harness.kind = HarnessKind::WaitProvisioned;
    vec![
        wp,
        load("specs/appends-then-seal.toml"),
        load("specs/crash-restart.toml"),
        load("specs/message-loss.toml"),
        load("specs/paused-members.toml"),
    ]
}

/// Random behaviours of correct scenarios conform, fully observed or with per-message steps
/// hidden; the same check as for recorded traces.
#[test]
fn generated_traces_conform() {
    let dir = tmp("generated");
    let mut rng = Rng::new(42);
    let mut n = 0;
    for cfg in scenarios() {
        let model = cfg.clone().into_model().unwrap();
        for k in 0..8 {
            let (actions, terminal) = generate::random_walk(&model, &mut rng, 10_000);
            let (mut items, last) = generate::items_of_path(&model, &actions, k % 2 == 0);
            // A run whose harness failed breaks liveness; judge liveness only where it held.
            let live = last.client.harness == sealcheck_model::state::HarnessPhase::Succeeded;
            let mut header = Header::generated(cfg.clone(), "test", terminal && live);
            if k % 4 == 3 {
                generate::hide_kinds(
                    &mut header,
                    &mut items,
                    &[
                        "stored".into(),
                        "store-reply".into(),
                        "seal-handled".into(),
                        "seal-confirmed".into(),
                    ],
                );
            }
            let f = write(&dir, &format!("t{n}.jsonl"), &header, &items);
            let o = validate_file(&f, &ValidateOptions::default()).unwrap();
            assert!(
                matches!(o.verdict, Verdict::Conforms { .. }),
                "{}: {:?}",
                f.display(),
                o.verdict
            );
            n += 1;
        }
    }
}

/// `check --emit-trace` round trip: a seeded bug's counterexample, written as a trace, is read
/// back as "violates P" at its last item, P being the property the check named.
#[test]
fn counterexamples_round_trip_as_violations_at_their_last_item() {
    let dir = tmp("roundtrip");
    let none: &[&str] = &[];
    let bugs = [
        (
            "specs/bugs/ack-before-quorum.toml",
            "every acknowledged record is stored on a write quorum",
            none,
        ),
        (
            "specs/bugs/provisioning-writable.toml",
            "a Provisioning log server stores nothing",
            none,
        ),
        (
            "specs/bugs/seal-one-confirmation.toml",
            "a seal completes only with an f-majority of confirmations",
            none,
        ),
        (
            "specs/bugs/seal-without-drain.toml",
            "acknowledged offsets stay below the sealed tail",
            &["the sequencer seals only after draining"][..],
        ),
        (
            "specs/bugs/store-after-seal.toml",
            "a durably sealed log server accepts no new record",
            none,
        ),
    ];
    for (spec, property, also) in bugs {
        let out = dir.join(format!(
            "{}.jsonl",
            Path::new(spec).file_stem().unwrap().to_string_lossy()
        ));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_sealcheck"))
            .current_dir(root())
            .args(["check", spec, "-q", "--emit-trace"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(status.status.code(), Some(1), "{spec}");
        let items = trace_reader::TraceReader::open(&out).unwrap().count();
        let o = validate_file(&out, &ValidateOptions::default()).unwrap();
        match o.verdict {
            Verdict::Violates {
                property: p, at, ..
            } => {
                // A counterexample breaks the named property at its last step; where the check
                // also names a second failing property, validation may find that one first.
                if p == property {
                    assert_eq!(at.index, items - 1, "{spec}: violation at the last item");
                } else {
                    assert!(also.contains(&p.as_str()), "{spec}: {p}");
                    assert!(at.index < items, "{spec}");
                }
            }
            v => panic!("{spec}: {v:?}"),
        }
        // Without the seeded-bug steps the same trace is not a behaviour at all.
        let strict = ValidateOptions {
            permissive: false,
            ..ValidateOptions::default()
        };
        let header = trace_reader::TraceReader::open(&out)
            .unwrap()
            .header()
            .clone();
        if header.config.bugs.is_empty() {
            assert!(matches!(
                validate_file(&out, &strict).unwrap().verdict,
                Verdict::Diverges { .. }
            ));
        }
    }
}

/// Mutated copies of generated traces are rejected where the change is observable: dropping an
/// event of a fully logged, complete run, or flipping a seal flag / changing a tail in an
/// observation.
#[test]
fn mutated_traces_are_rejected() {
    let dir = tmp("mutated");
    let mut rng = Rng::new(7);
    let cfg = Spec::load(&root().join("specs/appends-then-seal.toml"))
        .unwrap()
        .config;
    let model = cfg.clone().into_model().unwrap();
    let mut checked = 0;
    for k in 0..6 {
        let (actions, terminal) = generate::random_walk(&model, &mut rng, 10_000);
        assert!(terminal);
        let (items, _) = generate::items_of_path(&model, &actions, true);
        let header = Header::generated(cfg.clone(), "test", true);
        // A reply delivered to the client can be unobservable: if the append or seal task it
        // belongs to ends anyway, the model may drop it as stale instead. Drop other events.
        let events: Vec<usize> = (0..items.len())
            .filter(|&i| matches!(&items[i], Item::Event(e) if e.kind() != "store-reply"))
            .collect();
        // Drop an event.
        let drop = events[(k * 5) % events.len()];
        let mut m = items.clone();
        m.remove(drop);
        let f = write(&dir, &format!("drop{k}.jsonl"), &header, &m);
        let v = validate_file(&f, &ValidateOptions::default())
            .unwrap()
            .verdict;
        assert!(
            matches!(v, Verdict::Diverges { .. }),
            "{}: dropped item {drop} {}: {v:?}",
            f.display(),
            items[drop].to_json()
        );
        // Flip a seal flag or change a tail in an observation.
        for (i, item) in items.iter().enumerate().skip(k * 7) {
            if let Item::Observe(sealcheck_model::observable::Observation::ObserveLogServer {
                node,
                local_tail,
                sealed,
            }) = item
            {
                let mut m = items.clone();
                m[i] = Item::Observe(if k % 2 == 0 {
                    sealcheck_model::observable::Observation::ObserveLogServer {
                        node: *node,
                        local_tail: *local_tail,
                        sealed: sealed.map(|s| !s),
                    }
                } else {
                    sealcheck_model::observable::Observation::ObserveLogServer {
                        node: *node,
                        local_tail: local_tail.map(|t| t + 1),
                        sealed: *sealed,
                    }
                });
                let f = write(&dir, &format!("flip{k}.jsonl"), &header, &m);
                match validate_file(&f, &ValidateOptions::default())
                    .unwrap()
                    .verdict
                {
                    Verdict::Diverges { at, .. } => assert_eq!(at.index, i, "mutation {k}"),
                    v => panic!("mutated observation {i}: {v:?}"),
                }
                checked += 1;
                break;
            }
        }
    }
    assert_eq!(checked, 6);
}

#[test]
fn a_one_gigabyte_line_is_refused_quickly() {
    let dir = tmp("huge");
    let p = dir.join("huge.jsonl");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(1 << 30).unwrap(); // sparse: 1 GiB of NUL bytes, no newline
    let start = std::time::Instant::now();
    let e = validate_file(&p, &ValidateOptions::default())
        .err()
        .unwrap();
    assert!(e.message.contains("longer than"), "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn validate_cli_exit_codes_and_reports() {
    let run = sealcheck;
    assert_eq!(run(&["validate", "traces/valid"]).status.code(), Some(0));
    assert_eq!(
        run(&["validate", "traces/invalid/ack-past-sealed-tail.jsonl"])
            .status
            .code(),
        Some(1)
    );
    let bad = run(&[
        "validate",
        "traces/valid",
        "traces/malformed/truncated.jsonl",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let text = String::from_utf8(bad.stdout).unwrap();
    assert!(
        text.contains("traces/malformed/truncated.jsonl:3: field `-`: truncated"),
        "{text}"
    );
    assert_eq!(
        run(&["validate", "traces/nope.jsonl"]).status.code(),
        Some(2)
    );
    let junit = tmp("junit").join("r.xml");
    let out = run(&[
        "validate",
        "traces/invalid",
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit_code"], 2);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<failure message=\"violates\">"));
    assert!(xml.contains("<error message=\"malformed\">"));
}

/// The Explorer path a violation report prints replays in the model the trace was validated
/// against, and ends where the property is broken.
#[test]
fn the_printed_explanation_path_replays() {
    let run = sealcheck;
    let file = "traces/invalid/ack-past-sealed-tail.jsonl";
    let out = String::from_utf8(run(&["validate", file]).stdout).unwrap();
    let path = out
        .split("--path ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no path in {out}"));
    let replay = run(&["replay", "--from-trace", file, "--path", path]);
    assert_eq!(replay.status.code(), Some(1));
    let text = String::from_utf8(replay.stdout).unwrap();
    assert!(
        text.contains("acknowledged offsets stay below the sealed tail: violated"),
        "{text}"
    );
}

fn sealcheck(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sealcheck"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

/// Twenty, 250 and 10,000 appends, their stores and replies all unlogged, then each of the
/// four endings: the verdict is the right one at the last item, never inconclusive
/// (`bench-validate --only-hidden-appends` measures the same traces). In a release build each
/// of the 10,000 is decided in under 10 s.
#[test]
fn unlogged_appends_are_decided_in_all_four_endings() {
    let dir = tmp("hidden-appends");
    for (k, ending) in [20, 250, 10_000]
        .into_iter()
        .flat_map(|k| Ending::ALL.into_iter().map(move |e| (k, e)))
    {
        let (header, items) = hidden_appends_trace(k, ending);
        let last = items.len() - 1;
        let f = write(&dir, &format!("{k}-{ending:?}.jsonl"), &header, &items);
        let started = std::time::Instant::now();
        let o = validate_file(&f, &ValidateOptions::default()).unwrap();
        if !cfg!(debug_assertions) && k == 10_000 {
            let s = started.elapsed().as_secs_f64();
            assert!(s < 10.0, "{k} appends, {ending:?}: {s:.1} s");
        }
        let (word, property) = ending.expected();
        match (&o.verdict, word) {
            (Verdict::Conforms { .. }, "conforms") => {}
            (Verdict::Diverges { at, .. }, "diverges") => assert_eq!(at.index, last, "{ending:?}"),
            (
                Verdict::Violates {
                    property: p, at, ..
                },
                "violates",
            ) => {
                assert_eq!(Some(p.as_str()), property, "{ending:?}");
                assert_eq!(at.index, last, "{ending:?}");
            }
            (v, _) => panic!("{ending:?}: {v:?}"),
        }
    }
}

/// A search cut by `--max-hidden` proves nothing: it is inconclusive, not "diverges".
#[test]
fn a_search_cut_by_max_hidden_is_inconclusive() {
    let opts = ValidateOptions {
        max_hidden: 0,
        ..ValidateOptions::default()
    };
    let f = root().join("traces/valid/appends-then-seal-partial.jsonl");
    let v = validate_file(&f, &opts).unwrap().verdict;
    assert!(matches!(v, Verdict::Inconclusive { .. }), "{v:?}");
    let out = sealcheck(&[
        "validate",
        "-q",
        "--max-hidden",
        "0",
        "traces/valid/appends-then-seal-partial.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(3));

    // A header-only trace of a complete run: the end of the trace needs unlogged steps.
    let dir = tmp("header-only");
    let cfg = Spec::load(&root().join("specs/bench-four-servers.toml"))
        .unwrap()
        .config;
    let header = Header::generated(cfg, "test", true);
    let mut header = header;
    header.complete = vec!["provisioned".into()];
    let f = write(&dir, "header-only.jsonl", &header, &[]);
    // (The depth-first phase finds a conforming end within 8 unlogged steps: a proof. The
    // breadth-first end-of-trace search is cut.)
    let opts = ValidateOptions {
        max_hidden: 8,
        depth_first: false,
        ..ValidateOptions::default()
    };
    let v = validate_file(&f, &opts).unwrap().verdict;
    assert!(matches!(v, Verdict::Inconclusive { .. }), "{v:?}");
}

/// Every bound is enforced where the work happens: the end-of-trace search, the frontier
/// (per state, not per layer), time, and the depth-first phase does not expand states that
/// already break a property.
#[test]
fn bounds_stop_every_phase_of_a_validation() {
    let dir = tmp("bounds");
    let cfg = Spec::load(&root().join("specs/bench-four-servers.toml"))
        .unwrap()
        .config;
    let mut header = Header::generated(cfg, "test", true);
    header.complete = vec!["provisioned".into()];
    let f = write(&dir, "header-only.jsonl", &header, &[]);
    // The end of the trace of a complete run: bounded by --max-frontier ...
    let start = std::time::Instant::now();
    let opts = ValidateOptions {
        max_frontier: 10_000,
        depth_first: false,
        ..ValidateOptions::default()
    };
    let o = validate_file(&f, &opts).unwrap();
    assert!(
        matches!(o.verdict, Verdict::Inconclusive { .. }),
        "{:?}",
        o.verdict
    );
    assert!(
        o.max_frontier <= 10_001 || o.states <= 200_000,
        "{}",
        o.max_frontier
    );
    // ... and by --timeout.
    let opts = ValidateOptions {
        timeout: Some(std::time::Duration::from_secs(1)),
        depth_first: false,
        ..ValidateOptions::default()
    };
    let o = validate_file(&f, &opts).unwrap();
    match &o.verdict {
        Verdict::Inconclusive { reason, .. } => assert!(reason.contains("--timeout"), "{reason}"),
        v => panic!("{v:?}"),
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(30));

    // The frontier bound holds inside one item's closure.
    let f = root().join("traces/restate-1.7.12/appends-then-seal/trace.jsonl");
    let opts = ValidateOptions {
        max_frontier: 50,
        depth_first: false,
        reduce: false,
        ..ValidateOptions::default()
    };
    let o = validate_file(&f, &opts).unwrap();
    assert!(
        matches!(o.verdict, Verdict::Inconclusive { .. }),
        "{:?}",
        o.verdict
    );
    assert!(o.max_frontier <= 51, "{}", o.max_frontier);

    // A forced move into Provisioning first, in a scenario with many behaviours: rejected at
    // item 0 at once, the depth-first phase does not wander through violating states.
    let mut cfg = Spec::load(&root().join("specs/operator-moves.toml"))
        .unwrap()
        .config;
    cfg.faults.operator_force = true;
    cfg.appends = 4;
    let header = Header::generated(cfg, "test", false);
    let items = vec![Item::Event(
        sealcheck_model::observable::Event::StorageStateSet {
            node: sealcheck_model::observable::NodeId(1),
            to: sealcheck_model::StorageState::ReadOnly,
        },
    )];
    let f = write(&dir, "forced-first.jsonl", &header, &items);
    let start = std::time::Instant::now();
    let o = validate_file(&f, &ValidateOptions::default()).unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(
        !matches!(o.verdict, Verdict::Inconclusive { .. }),
        "{:?}",
        o.verdict
    );
}

/// The same trace gives the same report every time, and the JSON report names the same
/// explanation path as the text report.
#[test]
fn validation_reports_are_deterministic() {
    for file in [
        "traces/invalid/observation-mismatch.jsonl",
        "traces/invalid/ack-past-sealed-tail.jsonl",
        "traces/restate-1.7.12/incident-forced/trace.jsonl",
    ] {
        let text: Vec<String> = (0..3)
            .map(|_| {
                String::from_utf8(sealcheck(&["validate", "-q", "--breadth-first", file]).stdout)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.contains(" ms"))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        assert_eq!(text[0], text[1], "{file}");
        assert_eq!(text[0], text[2], "{file}");
        let json = sealcheck(&[
            "validate",
            "-q",
            "--breadth-first",
            "--format",
            "json",
            file,
        ]);
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let path = v["traces"][0]["path"].as_str().unwrap().to_string();
        assert!(
            text[0].contains(&format!("--path {path} ")),
            "{file}: {path}\n{}",
            text[0]
        );
    }
}

/// Long validations print progress lines on stderr with the states held and the memory.
#[test]
fn long_validations_report_progress() {
    let dir = tmp("progress");
    let cfg = Spec::load(&root().join("specs/bench-four-servers.toml"))
        .unwrap()
        .config;
    let mut header = Header::generated(cfg, "test", true);
    header.complete = vec!["provisioned".into()];
    let f = write(&dir, "header-only.jsonl", &header, &[]);
    let out = sealcheck(&[
        "validate",
        "--breadth-first",
        "--timeout",
        "3",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("states held") && err.contains("RSS"), "{err}");
}

/// A bound that stops the localization of a rejection (pruning by later observations rejected
/// the trace earlier than the exact search) leaves the trace rejected, between items that hold
/// the exact item, with exit 1: never "inconclusive", never an item it did not prove.
#[test]
fn a_bounded_localization_is_a_rejection_between_items() {
    for name in ["observation-mismatch", "seal-status-flipped"] {
        let file = root().join(format!("traces/invalid/{name}.jsonl"));
        let exact = validate_file(&file, &ValidateOptions::default()).unwrap();
        let Verdict::Diverges { at: exact_at, .. } = &exact.verdict else {
            panic!("{name}: {:?}", exact.verdict)
        };
        let bounded = validate_file(
            &file,
            &ValidateOptions {
                max_frontier: 3,
                ..ValidateOptions::default()
            },
        )
        .unwrap();
        match &bounded.verdict {
            Verdict::Rejected { at, last, reason } => {
                assert!(
                    at.index <= exact_at.index && exact_at.index <= *last,
                    "{name}: {} to {last} misses {}",
                    at.index,
                    exact_at.index
                );
                assert!(reason.contains("--max-frontier"), "{name}: {reason}");
            }
            v => panic!("{name}: {v:?}"),
        }
        assert_eq!(bounded.verdict.exit_code().code(), 1, "{name}");
    }
}
