//! Runs: a directory with `run.json` and one trace per loglet is validated as a whole. Every
//! run under traces/ has its expected verdict (traces/expected-runs.toml, as traces.rs does for
//! single traces with expected.toml); the binary's exit codes, reports and input errors for
//! runs; the walk that finds runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sealcheck::chain::{self, ChainVerdict, Status};
use sealcheck::input::{walk_inputs, Input};
use sealcheck::run::{validate_inputs, RunResult, RunVerdict, Validated};
use sealcheck::validate::{ValidateOptions, Verdict};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sealcheck() -> Command {
    let mut c = Command::cargo_bin("sealcheck").unwrap();
    c.current_dir(root());
    c
}

/// Runs `sealcheck ARGS`, checks the exit code and returns stdout.
fn stdout_of(args: &[&str], code: i32) -> String {
    let out = sealcheck().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    verdict: String,
    chain: Option<String>,
    loglet: Option<String>,
    item: Option<usize>,
    property: Option<String>,
    chain_property: Option<String>,
    chain_subject: Option<String>,
    line: Option<usize>,
    field: Option<String>,
    /// Validation options for the run's loglets, as traces/expected.toml gives them for single
    /// traces: `strict` (no seeded bug may explain) and a frontier bound (large recorded runs
    /// are pinned at the item where the bound stops the search: a bound, not a verdict).
    strict: Option<bool>,
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

fn check_expected(rel: &str, e: &Expected, run: &RunResult) {
    assert_eq!(run.verdict().word(), e.verdict, "{rel}: {}", run.reason());
    if let Err(err) = &run.summary {
        assert_eq!(e.line, Some(err.line), "{rel}: {err}");
        assert_eq!(e.field.as_deref(), Some(err.field.as_str()), "{rel}: {err}");
        return;
    }
    assert_eq!(
        e.chain.as_deref(),
        Some(run.chain_verdict().word()),
        "{rel}: {:?}",
        run.chain
    );
    if let Some(id) = &e.loglet {
        let l = run.loglets.iter().find(|l| &l.entry.loglet == id).unwrap();
        let o = l.result.as_ref().unwrap();
        let (at, property) = match &o.verdict {
            Verdict::Diverges { at, .. }
            | Verdict::Rejected { at, .. }
            | Verdict::Inconclusive { at, .. } => (at, None),
            Verdict::Violates { at, property, .. } => (at, Some(property.as_str())),
            Verdict::Conforms { .. } => panic!("{rel}: loglet {id} conforms"),
        };
        assert_eq!(e.item, Some(at.index), "{rel}");
        assert_eq!(e.property.as_deref(), property, "{rel}");
    } else {
        assert!(
            run.loglets
                .iter()
                .all(|l| matches!(&l.result, Ok(o) if o.verdict.word() == "conforms")),
            "{rel}: a loglet does not conform but the manifest names none"
        );
    }
    let violated: Vec<_> = run
        .chain
        .iter()
        .filter(|c| c.status == Status::Violates)
        .map(|c| (c.property, c.subject.as_str()))
        .collect();
    match (&e.chain_property, &e.chain_subject) {
        (Some(p), Some(s)) => assert_eq!(violated, [(p.as_str(), s.as_str())], "{rel}"),
        _ => assert!(violated.is_empty(), "{rel}: {violated:?}"),
    }
}

#[test]
fn every_run_has_its_expected_verdict() {
    let traces = root().join("traces");
    let text = std::fs::read_to_string(traces.join("expected-runs.toml")).unwrap();
    let manifest: BTreeMap<String, Expected> = toml::from_str(&text).unwrap();
    let inputs: Vec<_> = walk_inputs(std::slice::from_ref(&traces))
        .into_iter()
        .map(Result::unwrap)
        .filter(|i| matches!(i, Input::Run(_)))
        .map(Ok)
        .collect();
    let mut seen = Vec::new();
    for input in inputs {
        let Ok(Input::Run(dir)) = &input else {
            panic!("only runs were given")
        };
        let rel = dir.strip_prefix(&traces).unwrap().display().to_string();
        let e = manifest
            .get(&rel)
            .unwrap_or_else(|| panic!("traces/expected-runs.toml has no entry for {rel}"));
        for v in validate_inputs(std::slice::from_ref(&input), &e.options()) {
            let Validated::Run(run) = v else {
                panic!("only runs were given")
            };
            check_expected(&rel, e, &run);
        }
        seen.push(rel);
    }
    for k in manifest.keys() {
        assert!(
            seen.contains(k),
            "traces/expected-runs.toml names {k}, which holds no run.json"
        );
    }
    for v in ["conforms", "diverges", "violates", "malformed"] {
        assert!(manifest.values().any(|e| e.verdict == v), "no run for {v}");
    }
}

#[test]
fn a_conforming_run_exits_0_with_a_line_per_loglet_and_chain_check() {
    let out = stdout_of(&["validate", "-q", "traces/runs/two-loglets"], 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("conforms   traces/runs/two-loglets/loglets/0_0.jsonl ("));
    assert!(lines[1].starts_with("conforms   traces/runs/two-loglets/loglets/0_1.jsonl ("));
    assert_eq!(
        lines[3],
        "chain      traces/runs/two-loglets 0_0 -> 0_1: holds: \"a new segment starts at its \
         predecessor's sealed tail\": base LSN 2 (raw/sql.jsonl:14) of 0_1 vs sealed tail LSN 2 \
         (raw/restatectl.jsonl:2) of 0_0"
    );
    assert_eq!(
        lines[5],
        "run        traces/runs/two-loglets: conforms (2 loglets conform); chain: ok"
    );
    assert_eq!(
        lines[7],
        "2 traces: 2 conform, 0 diverge, 0 violate, 0 malformed, 0 inconclusive; 1 run: \
         1 conform, 0 diverge, 0 violate, 0 malformed, 0 inconclusive (exit 0)"
    );
}

#[test]
fn a_base_lsn_off_by_one_violates_and_exits_1() {
    let out = stdout_of(&["validate", "-q", "traces/runs/base-off-by-one"], 1);
    assert!(
        out.contains(
            "chain      traces/runs/base-off-by-one 0_0 -> 0_1: VIOLATES: \"a new segment \
             starts at its predecessor's sealed tail\": base LSN 3 (raw/sql.jsonl:14) of 0_1 vs \
             sealed tail LSN 2 (raw/restatectl.jsonl:2) of 0_0: off by +1\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "run        traces/runs/base-off-by-one: VIOLATES (chain: \"a new segment starts at \
             its predecessor's sealed tail\" at 0_0 -> 0_1); chain: violates\n"
        ),
        "{out}"
    );
}

#[test]
fn a_diverging_loglet_makes_the_run_diverge_and_exit_1() {
    let out = stdout_of(&["validate", "-q", "traces/runs/loglet-diverges"], 1);
    assert!(
        out.contains(
            "run        traces/runs/loglet-diverges: DIVERGES (loglet 0_1 at item 9); chain: ok\n"
        ),
        "{out}"
    );
}

#[test]
fn a_malformed_run_json_exits_2_naming_file_line_and_field() {
    let out = stdout_of(&["validate", "-q", "traces/runs/malformed-run-json"], 2);
    assert!(
        out.contains(
            "run        traces/runs/malformed-run-json: MALFORMED \
             (traces/runs/malformed-run-json/run.json:15: field `loglets[0].replication`: \
             invalid type: string \"two\", expected u8)\n"
        ),
        "{out}"
    );
}

/// The JSON report of a run, field by field (timings and state counts aside).
#[test]
fn the_json_report_carries_loglets_and_chain() {
    let out = stdout_of(
        &[
            "validate",
            "-q",
            "--format",
            "json",
            "traces/runs/base-off-by-one",
        ],
        1,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["traces"], serde_json::json!([]));
    let run = &v["runs"][0];
    assert_eq!(run["dir"], "traces/runs/base-off-by-one");
    assert_eq!(run["verdict"], "violates");
    assert_eq!(run["exit_code"], 1);
    assert_eq!(run["material"], "full");
    assert_eq!(
        run["reason"],
        "chain: \"a new segment starts at its predecessor's sealed tail\" at 0_0 -> 0_1"
    );
    let loglets = run["loglets"].as_array().unwrap();
    assert_eq!(loglets.len(), 2);
    for (l, id) in loglets.iter().zip(["0_0", "0_1"]) {
        assert_eq!(l["loglet"], id);
        assert_eq!(l["log_id"], 0);
        assert_eq!(l["verdict"], "conforms");
        assert_eq!(
            l["file"],
            format!("traces/runs/base-off-by-one/loglets/{id}.jsonl")
        );
    }
    assert_eq!(run["chain"]["verdict"], "violates");
    assert_eq!(
        run["chain"]["checks"][1],
        serde_json::json!({
            "property": chain::STARTS_AT_SEALED_TAIL,
            "log_id": 0,
            "subject": "0_0 -> 0_1",
            "status": "violates",
            "detail": "base LSN 3 (raw/sql.jsonl:14) of 0_1 vs sealed tail LSN 2 \
                       (raw/restatectl.jsonl:2) of 0_0: off by +1",
        })
    );
    assert_eq!(run["chain"]["checks"][0]["status"], "holds");
    assert_eq!(
        run["chain"]["checks"][0]["property"],
        chain::NOTHING_AFTER_SEAL
    );
}

#[test]
fn junit_has_a_case_per_loglet_and_one_for_the_chain() {
    let d = tempdir();
    let junit = d.join("junit.xml");
    let junit_arg = junit.display().to_string();
    stdout_of(
        &[
            "validate",
            "-q",
            "--junit",
            &junit_arg,
            "traces/runs/base-off-by-one",
        ],
        1,
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"3\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    assert!(xml.contains("name=\"traces/runs/base-off-by-one/loglets/0_1.jsonl\""));
    assert!(xml.contains(
        "<testcase name=\"traces/runs/base-off-by-one chain\"><failure message=\"violates\">"
    ));
    std::fs::remove_dir_all(&d).unwrap();
}

/// A directory walk lists each run once and not its loglets; a loglet named on the command
/// line is validated alone, and `run.json` named stands for its run.
#[test]
fn the_walk_finds_runs_and_leaves_their_loglets_to_them() {
    let runs = root().join("traces/runs");
    let inputs: Vec<Input> = walk_inputs(std::slice::from_ref(&runs))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let names = [
        "base-off-by-one",
        "loglet-diverges",
        "malformed-run-json",
        "two-loglets",
        "untranslated-chain-breaks",
        "untranslated-loglet",
    ];
    let expected: Vec<Input> = names.iter().map(|n| Input::Run(runs.join(n))).collect();
    assert_eq!(inputs, expected);
    let loglet = runs.join("two-loglets/loglets/0_1.jsonl");
    let run_json = runs.join("two-loglets/run.json");
    let named: Vec<Input> = walk_inputs(&[loglet.clone(), run_json])
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        named,
        [Input::Trace(loglet), Input::Run(runs.join("two-loglets"))]
    );
    let out = stdout_of(
        &[
            "validate",
            "-q",
            "traces/runs/two-loglets/loglets/0_1.jsonl",
        ],
        0,
    );
    assert!(out.ends_with(
        "1 trace: 1 conform, 0 diverge, 0 violate, 0 malformed, 0 inconclusive (exit 0)\n"
    ));
    // The single-trace walk (traces.rs) still lists every loglet, each with its own entry.
    let all = sealcheck::trace_reader::expand_paths(&[runs]).unwrap();
    assert_eq!(all.len(), 10);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sealcheck-runs-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A copy of traces/runs/two-loglets in a temporary directory.
fn copy_of_two_loglets() -> PathBuf {
    let src = root().join("traces/runs/two-loglets");
    let d = tempdir();
    std::fs::create_dir_all(d.join("loglets")).unwrap();
    for f in ["run.json", "loglets/0_0.jsonl", "loglets/0_1.jsonl"] {
        std::fs::copy(src.join(f), d.join(f)).unwrap();
    }
    d
}

#[test]
fn a_listed_loglet_that_is_missing_is_an_input_error_naming_it() {
    let d = copy_of_two_loglets();
    std::fs::remove_file(d.join("loglets/0_1.jsonl")).unwrap();
    let arg = d.display().to_string();
    let out = stdout_of(&["validate", "-q", &arg], 2);
    let missing = d.join("loglets/0_1.jsonl").display().to_string();
    assert!(
        out.contains(&format!("UNREADABLE {missing}: cannot read: ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("MALFORMED (loglet 0_1: {missing}: cannot read: ")),
        "{out}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_loglet_trace_that_disagrees_with_run_json_is_an_input_error() {
    let d = copy_of_two_loglets();
    let text = std::fs::read_to_string(d.join("run.json")).unwrap();
    std::fs::write(
        d.join("run.json"),
        text.replacen("\"nodeset\": [1, 2, 3]", "\"nodeset\": [1, 2]", 1),
    )
    .unwrap();
    let inputs = vec![Ok(Input::Run(d.clone()))];
    let out = validate_inputs(&inputs, &ValidateOptions::default());
    let Validated::Run(run) = &out[0] else {
        panic!()
    };
    assert_eq!(run.verdict(), RunVerdict::Malformed);
    let e = run.loglets[0].result.as_ref().unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (1, "config.nodeset"));
    assert_eq!(e.message, "the trace says [1, 2, 3], run.json says [1, 2]");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn run_json_errors_name_the_field() {
    let d = copy_of_two_loglets();
    let cases = [
        (
            "\"loglet\": \"0_1\"",
            "\"loglet\": \"0_2\"",
            "loglets[1].loglet",
        ),
        (
            "\"file\": \"loglets/0_1.jsonl\"",
            "\"file\": \"../0_1.jsonl\"",
            "loglets[1].file",
        ),
        ("\"version\": 1", "\"version\": 2", "version"),
        (
            "\"material\": \"full\"",
            "\"material\": \"all\"",
            "material",
        ),
        (
            "\"replication\": 2,",
            "\"replicas\": 2,",
            "loglets[0].replicas",
        ),
    ];
    let text = std::fs::read_to_string(d.join("run.json")).unwrap();
    for (from, to, field) in cases {
        std::fs::write(d.join("run.json"), text.replacen(from, to, 1)).unwrap();
        let e = sealcheck::run::read_summary(&d).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.line >= 1 && e.file.ends_with("run.json"), "{e}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn logs_only_material_leaves_the_chain_unchecked_and_the_run_conforms() {
    let d = copy_of_two_loglets();
    let text = std::fs::read_to_string(d.join("run.json")).unwrap();
    let mut run: serde_json::Value = serde_json::from_str(&text).unwrap();
    run["material"] = "logs".into();
    for l in run["loglets"].as_array_mut().unwrap() {
        l["base_lsn"] = serde_json::Value::Null;
    }
    std::fs::write(d.join("run.json"), run.to_string()).unwrap();
    let out = validate_inputs(&[Ok(Input::Run(d.clone()))], &ValidateOptions::default());
    let Validated::Run(run) = &out[0] else {
        panic!()
    };
    assert_eq!(run.verdict(), RunVerdict::Conforms);
    assert_eq!(run.chain_verdict(), ChainVerdict::NotChecked);
    assert!(run
        .chain
        .iter()
        .all(|c| c.status == Status::NotChecked && c.detail.starts_with("needs ")));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_run_with_an_untranslated_loglet_is_inconclusive_and_names_it() {
    let out = stdout_of(&["validate", "-q", "traces/runs/untranslated-loglet"], 3);
    assert!(
        out.contains(
            "untranslated traces/runs/untranslated-loglet 0_2: needs model step for an \
             auto-improvement reseal (n3.log:45)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "run        traces/runs/untranslated-loglet: INCONCLUSIVE (1 loglet not translated, \
             first 0_2); chain: ok"
        ),
        "{out}"
    );
}
