//! Run mode of the importer: every loglet of every log of the steady-load recordings is
//! translated into its own trace or named as not translated with its reason, and the
//! committed `loglets/` and `run.json` are the import of their raw material.

use std::collections::BTreeSet;
use std::path::PathBuf;

use sealcheck::validate::{validate_file, ValidateOptions};
use sealcheck_recorder::import::import_raw_dir_loglets;
use sealcheck_recorder::import::loglets::discover;
use sealcheck_recorder::import::run::{FILE_NAME, LOGLETS_DIR};
use sealcheck_recorder::parse::parse_raw_dir;

const RUNS: [&str; 6] = [
    "steady-load",
    "steady-load-2",
    "steady-load-short",
    "steady-load-10min",
    "concurrent-readers",
    "steady-load-forced",
];

/// `sealcheck import --run --out OUT INPUT`.
fn import_run(input: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("sealcheck")
        .unwrap()
        .args(["import", "--run", "--out"])
        .arg(out)
        .arg(input)
        .output()
        .unwrap()
}

/// Copies the server logs in `logs` to `tmp/in` and imports them alone in run mode into
/// `tmp/out` (exit 0 required); returns `tmp/out`.
fn import_logs_only(logs: &std::path::Path, tmp: &std::path::Path) -> PathBuf {
    let (input, out) = (tmp.join("in"), tmp.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    for e in std::fs::read_dir(logs).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, input.join(p.file_name().unwrap())).unwrap();
    }
    let o = import_run(&input, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn run_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/restate-1.7.12")
        .join(name)
}

#[test]
fn every_loglet_of_every_log_is_translated_or_named_with_its_reason() {
    for name in RUNS {
        let raw = run_dir(name).join("raw");
        let parsed = parse_raw_dir(&raw).unwrap();
        let found: BTreeSet<String> = discover(&parsed).into_iter().map(|d| d.loglet).collect();
        assert!(
            found.contains("0_0") && found.contains("1_0"),
            "{name}: {found:?}"
        );
        let run = import_raw_dir_loglets(&raw).unwrap();
        let mut covered = BTreeSet::new();
        for (entry, trace) in run.summary.loglets.iter().zip(&run.traces) {
            assert!(
                trace.unplaced().is_empty(),
                "{name} {}: {:?}",
                entry.loglet,
                trace.unplaced()
            );
            assert!(
                trace.header.config.appends <= sealcheck_model::config::MAX_APPENDS,
                "{name} {}",
                entry.loglet
            );
            covered.insert(entry.loglet.clone());
        }
        for u in &run.untranslated {
            assert!(u.inconclusive, "{name} {}: {}", u.loglet, u.reason);
            assert!(u.reason.starts_with("inconclusive: needs "), "{}", u.reason);
            assert!(
                covered.insert(u.loglet.clone()),
                "{name}: {} twice",
                u.loglet
            );
        }
        assert_eq!(
            covered, found,
            "{name}: every discovered loglet is accounted for"
        );
        // Records dropped, by reason: none unplaced; every reason named.
        for (why, n) in &run.summary.drops {
            assert!(*n > 0 && !why.is_empty());
            assert!(!why.contains("NOT PLACED"), "{name}: {why}");
        }
        let untranslated: u64 = run
            .summary
            .drops
            .iter()
            .filter(|(k, _)| k.starts_with("loglet not translated"))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(untranslated as usize, run.untranslated.len(), "{name}");
    }
}

#[test]
fn committed_loglets_and_run_summaries_are_the_import_of_their_raw_material() {
    for name in RUNS {
        let dir = run_dir(name);
        let run = import_raw_dir_loglets(&dir.join("raw")).unwrap();
        for (entry, trace) in run.summary.loglets.iter().zip(&run.traces) {
            let committed = std::fs::read_to_string(dir.join(&entry.file)).unwrap();
            assert_eq!(
                trace.to_jsonl(),
                committed,
                "{name}: {} differs",
                entry.file
            );
        }
        let files: BTreeSet<String> = std::fs::read_dir(dir.join(LOGLETS_DIR))
            .unwrap()
            .map(|e| format!("{LOGLETS_DIR}/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        let listed: BTreeSet<String> = run.summary.loglets.iter().map(|e| e.file.clone()).collect();
        assert_eq!(
            files, listed,
            "{name}: loglets/ holds exactly the listed traces"
        );
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(FILE_NAME)).unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(&run.summary).unwrap(),
            committed,
            "{name}: run.json differs"
        );
        assert_eq!(committed["format"], "sealcheck-run");
        assert_eq!(committed["version"], 1);
    }
}

#[test]
fn long_loglets_are_compressed_and_keep_every_observation() {
    let dir = run_dir("steady-load");
    let run = import_raw_dir_loglets(&dir.join("raw")).unwrap();
    let (entry, trace) = run
        .summary
        .loglets
        .iter()
        .zip(&run.traces)
        .find(|(e, _)| e.loglet == "0_2")
        .unwrap();
    // 778 records in Restate, far past the model's 60 appends.
    assert!(
        entry.offset_map.iter().any(|p| p[0] > 700),
        "{:?}",
        entry.offset_map
    );
    assert!(trace.header.config.appends <= 60);
    assert!(entry
        .offset_map
        .windows(2)
        .all(|w| { w[0][0] < w[1][0] && w[1][1] - w[0][1] == (w[1][0] - w[0][0]).min(2) }));
    assert!(trace
        .notes
        .iter()
        .any(|n| n.starts_with("offsets compressed")));
    // 1_0 (1,069 records, 38 distinct tails) needs 74 model offsets after the map: past the
    // old 60-record limit, translated now that offsets are interval sets.
    let one = run
        .summary
        .loglets
        .iter()
        .find(|l| l.loglet == "1_0")
        .unwrap();
    assert!(one.offset_map.len() >= 38, "{:?}", one.offset_map);
    assert!(run.untranslated.iter().all(|u| u.loglet != "1_0"));
}

/// Every loglet of steady-load-short is translated, those sealed by other nodes (0_0 by an
/// auto-improvement reseal, 0_2 by a failover reseal, 0_4 by two nodes' tasks) included, so the
/// import exits 0.
#[test]
fn import_run_writes_loglets_and_run_json() {
    let out = std::env::temp_dir().join(format!("sealcheck-import-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = assert_cmd::Command::cargo_bin("sealcheck")
        .unwrap()
        .args(["import", "--run", "--out"])
        .arg(&out)
        .arg(run_dir("steady-load-short").join("raw"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("7 loglets translated, 0 not"), "{stderr}");
    assert!(stderr.contains("0_5: 15 items"), "{stderr}");
    assert!(stderr.contains("1_0: 97 items, model tail 74"), "{stderr}");
    assert!(stderr.contains("0_0: 53 items"), "{stderr}");
    let committed = run_dir("steady-load-short");
    for f in [
        FILE_NAME,
        "loglets/0_0.jsonl",
        "loglets/0_2.jsonl",
        "loglets/0_4.jsonl",
        "loglets/0_5.jsonl",
    ] {
        assert_eq!(
            std::fs::read_to_string(out.join(f)).unwrap(),
            std::fs::read_to_string(committed.join(f)).unwrap(),
            "{f}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
    // Without --out, --run is a usage error.
    let o = assert_cmd::Command::cargo_bin("sealcheck")
        .unwrap()
        .args(["import", "--run"])
        .arg(run_dir("steady-load-short").join("raw"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Issue #17, logs of any cluster, in run mode: steady-load-short's server logs alone (no
/// `meta.json`, SQL snapshots or records; renamed as another harness would name them) give
/// the same loglets as the full material, and every one is translated: N3's restart is
/// placed from its second process start with the crash before it left to the validator
/// (`crashed` not complete), and the operator's storage-state changes, which leave no server
/// log line, are `unknown` in each header. Every loglet conforms, and so does the run, its
/// chain not checked (the logs show no base LSN). With the operator's records added, the
/// loglets translated and not are those of the full material.
#[test]
fn logs_only_material_finds_every_loglet_and_says_what_it_assumed() {
    let raw = run_dir("steady-load-short").join("raw");
    let full = import_raw_dir_loglets(&raw).unwrap();
    let mut expected: BTreeSet<String> = full
        .summary
        .loglets
        .iter()
        .map(|l| l.loglet.clone())
        .collect();
    expected.extend(full.untranslated.iter().map(|u| u.loglet.clone()));
    assert_eq!(expected.len(), 7, "{expected:?}");

    let tmp = std::env::temp_dir().join(format!("sealcheck-logs-only-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (input, out) = (tmp.join("in"), tmp.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(raw.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    for (k, p) in logs.iter().enumerate() {
        let name = format!("server-{}.txt", (b'a' + k as u8) as char);
        std::fs::copy(p, input.join(name)).unwrap();
    }
    let o = import_run(&input, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let summary: sealcheck_model::run_format::RunSummary =
        serde_json::from_str(&std::fs::read_to_string(out.join(FILE_NAME)).unwrap()).unwrap();
    assert_eq!(
        summary.material,
        sealcheck_model::run_format::Material::Logs
    );
    assert!(summary.untranslated.is_empty());
    let named: BTreeSet<String> = summary.loglets.iter().map(|l| l.loglet.clone()).collect();
    assert_eq!(named, expected);
    let mut with_restart = 0;
    for l in &summary.loglets {
        assert!(l.base_lsn.is_none(), "{}", l.loglet);
        let t = sealcheck::trace_reader::TraceReader::open(&out.join(&l.file)).unwrap();
        let h = t.header();
        assert_eq!(h.unknown, vec!["storage-state-set".to_string()]);
        assert!(h.is_complete("restarted"));
        if h.config.faults.crashes > 0 {
            assert!(!h.is_complete("crashed"), "{}", l.loglet);
            with_restart += 1;
        }
    }
    assert!(with_restart > 0);
    let o = assert_cmd::Command::cargo_bin("sealcheck")
        .unwrap()
        .args(["validate", "-q"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("conforms (7 loglets conform); chain: not checked"),
        "{stdout}"
    );

    // With the operator's records added (still no meta.json, no SQL): each node's log is whole
    // from its process's start, so its storage state where a loglet begins is read from its
    // own lines. The same loglets are translated, the same are not, for the same reasons.
    for f in ["restatectl.jsonl", "actions.jsonl"] {
        std::fs::copy(raw.join(f), input.join(f)).unwrap();
    }
    let records = import_raw_dir_loglets(&input).unwrap();
    let ids = |r: &sealcheck_recorder::import::run::ImportedRun| -> Vec<String> {
        r.summary.loglets.iter().map(|l| l.loglet.clone()).collect()
    };
    assert_eq!(ids(&records), ids(&full));
    let needs = |r: &sealcheck_recorder::import::run::ImportedRun| -> Vec<(String, String)> {
        r.untranslated
            .iter()
            .map(|u| {
                let model_steps: Vec<&str> = u
                    .reason
                    .split("; and ")
                    .filter(|n| !n.starts_with("(dropped"))
                    .collect();
                (u.loglet.clone(), model_steps.join("; and "))
            })
            .collect()
    };
    assert_eq!(needs(&records), needs(&full));
    // Per loglet, the verdicts with the options of the committed loglets: every loglet conforms
    // on the server lines and the operator's records, as with the full material (a weaker
    // claim: fewer items to explain), never a contrary one; the loglets sealed by other nodes
    // (0_0, 0_2, 0_4) included.
    let opts = ValidateOptions {
        permissive: false,
        max_frontier: 2000,
        ..ValidateOptions::default()
    };
    let mut verdicts = Vec::new();
    for (entry, trace) in records.summary.loglets.iter().zip(&records.traces) {
        let path = tmp.join(format!("{}.jsonl", entry.loglet));
        trace.write_file(&path).unwrap();
        let o = validate_file(&path, &opts).unwrap();
        verdicts.push(format!("{} {}", entry.loglet, o.verdict.word()));
    }
    assert_eq!(
        verdicts,
        [
            "0_0 conforms",
            "0_1 conforms",
            "0_2 conforms",
            "0_3 conforms",
            "0_4 conforms",
            "0_5 conforms",
            "1_0 conforms"
        ]
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Run mode at Restate's default filter (INFO): a loglet's trace begins at its creation line,
/// which is DEBUG, so no loglet of steady-load-short is translated, and each names that line
/// (beginning at its first later record would assume a fresh loglet).
#[test]
fn info_only_logs_name_each_loglet_s_creation_line() {
    let raw = run_dir("steady-load-short").join("raw");
    let dir = std::env::temp_dir().join(format!("sealcheck-info-only-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    for e in std::fs::read_dir(&raw).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    for e in std::fs::read_dir(raw.join("logs")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("\"level\":\"DEBUG\"") && !l.contains("\"level\":\"TRACE\""))
            .collect();
        std::fs::write(
            dir.join("logs").join(p.file_name().unwrap()),
            kept.join("\n"),
        )
        .unwrap();
    }
    let run = import_raw_dir_loglets(&dir).unwrap();
    assert!(run.traces.is_empty());
    assert_eq!(run.untranslated.len(), 7);
    for u in &run.untranslated {
        let line = format!("needs the creation line of {}", u.loglet);
        assert!(u.reason.contains(&line), "{}", u.reason);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Another node's seal task that fails: steady-load-short's 0_2 was sealed by N1's failover
/// reseal; with that task's completion line replaced by a member given up (`Exhausted
/// attempts` for N3) and `Seal operation failed` naming N1 and N2 sealed, the loglet still
/// translates: `other-seal-failed` with its status, the member's failure dropped as kept
/// coarse (named in the notes). It conforms (the task's Seal requests sealed N1 and N2), and a
/// status that names N3 sealed where the snapshots show it unsealed makes it diverge.
#[test]
fn another_nodes_failed_seal_task_is_a_model_step() {
    let raw = run_dir("steady-load-short").join("raw");
    let tmp = std::env::temp_dir().join(format!("sealcheck-other-fails-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let copy = |status: &str, dir: &std::path::Path| {
        std::process::Command::new("cp")
            .arg("-a")
            .arg(&raw)
            .arg(dir)
            .status()
            .unwrap();
        let log = dir.join("logs/n1.log");
        let text = std::fs::read_to_string(&log).unwrap();
        let completed = text
            .lines()
            .find(|l| l.contains("Seal task completed") && l.contains("\"loglet_id\":\"0_2\""))
            .expect("0_2's seal task completes in n1.log")
            .to_string();
        let ts = &completed[completed.find("\"timestamp\":\"").unwrap() + 13..][..27];
        let exhausted = format!(
            r#"{{"timestamp":"{ts}","level":"DEBUG","fields":{{"message":"Request failed. Exhausted attempts after spending 1ms","err":"timeout","attempt":"3"}},"target":"restate_bifrost::providers::replicated_loglet::tasks::util","span":{{"loglet_id":"0_2","message":"Seal","node_id":"N3","name":"run"}},"spans":[{{"name":"seal"}},{{"name":"run"}},{{"loglet_id":"0_2","message":"Seal","node_id":"N3","name":"run"}}]}}"#
        );
        let failed = format!(
            r#"{{"timestamp":"{ts}","level":"WARN","fields":{{"message":"Seal operation failed","log_id":"0","segment":"2","err":"could not seal loglet because insufficient nodes confirmed the seal. The nodeset status is [{status}]"}},"target":"restate_bifrost::bifrost_admin","span":{{"name":"seal"}},"spans":[{{"name":"seal"}}]}}"#
        );
        std::fs::write(
            &log,
            text.replace(&completed, &format!("{exhausted}\n{failed}")),
        )
        .unwrap();
    };
    let opts = ValidateOptions {
        permissive: false,
        ..ValidateOptions::default()
    };
    let verdict = |dir: &std::path::Path| -> String {
        let run = import_raw_dir_loglets(dir).unwrap();
        let k = run
            .summary
            .loglets
            .iter()
            .position(|l| l.loglet == "0_2")
            .unwrap_or_else(|| panic!("0_2 not translated: {:?}", run.untranslated));
        let trace = &run.traces[k];
        let items = trace.to_jsonl();
        assert!(
            items.contains(r#""event":"other-seal-failed","node":"N1""#),
            "{items}"
        );
        assert!(!items.contains("other-seal-completed"), "{items}");
        assert!(
            trace
                .notes
                .iter()
                .any(
                    |n| n.contains("dropped seal-request-failed") && n.contains("kept coarse")
                        || n.contains("do not wait on members one by one")
                ),
            "{:#?}",
            trace.notes
        );
        let path = dir.join("0_2.jsonl");
        trace.write_file(&path).unwrap();
        validate_file(&path, &opts)
            .unwrap()
            .verdict
            .word()
            .to_string()
    };
    let (ok, bad) = (tmp.join("ok"), tmp.join("bad"));
    std::fs::create_dir_all(&tmp).unwrap();
    copy("N1(S), N2(S), N3(E)", &ok);
    assert_eq!(verdict(&ok), "conforms");
    copy("N1(S), N2(S), N3(S)", &bad);
    assert_eq!(verdict(&bad), "diverges");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A CI recording of steady-load-short in which three find-tail readers worked on loglet 0_1
/// at once after N3 (its sequencer) came back from SIGKILL: two readers of N1 each ran a seal
/// assist 0.05 ms apart and then a tail repair of the same record, and a reader of N3 sealed and
/// repaired it too. The model's reader is N1's first; the second assist is another node's seal
/// task, the other two repairs are other readers' (`other-repair-started`, with the range in
/// model offsets). Before, the loglet was not translated and the run was inconclusive. Now every
/// loglet conforms from the full material and from the server logs alone (whose appends count
/// the repair's target). A repair range no reader decides is rejected:
/// `traces/invalid/cluster-other-repair-past-tail.jsonl`.
#[test]
fn concurrent_find_tail_readers_are_translated_and_checked() {
    let dir = run_dir("concurrent-readers");
    let run = import_raw_dir_loglets(&dir.join("raw")).unwrap();
    assert!(run.untranslated.is_empty(), "{:?}", run.untranslated);
    let at = run
        .summary
        .loglets
        .iter()
        .position(|l| l.loglet == "0_1")
        .unwrap();
    let kinds: Vec<&str> = run.traces[at]
        .items
        .iter()
        .filter_map(|t| match &t.item {
            sealcheck_model::trace_format::Item::Event(e) => Some(e.kind()),
            _ => None,
        })
        .collect();
    let count = |k: &str| kinds.iter().filter(|&&x| x == k).count();
    assert_eq!(count("seal-assist-started"), 1, "{kinds:?}");
    assert_eq!(count("other-seal-started"), 2, "{kinds:?}");
    assert_eq!(count("tail-repair-started"), 1, "{kinds:?}");
    assert_eq!(count("other-repair-started"), 2, "{kinds:?}");
    assert_eq!(count("other-repair-completed"), 2, "{kinds:?}");
    assert_eq!(run.traces[at].header.config.faults.other_repairs, 2);

    let validate = |path: &std::path::Path| {
        assert_cmd::Command::cargo_bin("sealcheck")
            .unwrap()
            .arg("validate")
            .arg(path)
            .output()
            .unwrap()
    };
    let o = validate(&dir);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("conforms (5 loglets conform)"), "{stdout}");

    let tmp = std::env::temp_dir().join(format!(
        "sealcheck-concurrent-readers-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    // The server logs alone.
    let out = import_logs_only(&dir.join("raw/logs"), &tmp);
    let o = validate(&out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("conforms (5 loglets conform)"), "{stdout}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A node's log in rotated pieces (`n1.log.1` up to its line 100, `n1.log` after) reads as one
/// log: the same loglets with the same items as the whole file. A compressed piece is not read,
/// and the import's need names it. Two files of one node that overlap in time are not pieces
/// of one log: exit 2, naming both.
#[test]
fn a_rotated_log_reads_as_one_and_overlapping_logs_are_an_error() {
    let logs = run_dir("concurrent-readers").join("raw/logs");
    let tmp = std::env::temp_dir().join(format!("sealcheck-rotated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    // The same directory name: the scenario's name comes from it.
    let (whole, rotated) = (tmp.join("whole/logs"), tmp.join("rotated/logs"));
    std::fs::create_dir_all(&whole).unwrap();
    std::fs::create_dir_all(&rotated).unwrap();
    for n in ["n1.log", "n2.log", "n3.log"] {
        std::fs::copy(logs.join(n), whole.join(n)).unwrap();
        if n != "n1.log" {
            std::fs::copy(logs.join(n), rotated.join(n)).unwrap();
        }
    }
    let n1 = std::fs::read_to_string(logs.join("n1.log")).unwrap();
    let cut = n1.match_indices('\n').nth(99).unwrap().0 + 1;
    std::fs::write(rotated.join("n1.log.1"), &n1[..cut]).unwrap();
    std::fs::write(rotated.join("n1.log"), &n1[cut..]).unwrap();
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    for (input, out) in [(&whole, &a), (&rotated, &b)] {
        let o = import_run(input, out);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    for l in ["0_0", "0_1", "0_2", "0_3", "1_0"] {
        let f = format!("loglets/{l}.jsonl");
        let read = |d: &std::path::Path| std::fs::read_to_string(d.join(&f)).unwrap();
        assert_eq!(read(&a), read(&b), "{f}");
    }
    // The first piece compressed (not read): the second piece begins mid-run, and the need
    // names the file not read.
    std::fs::remove_file(rotated.join("n1.log.1")).unwrap();
    let gz: Vec<u8> = [0x1f, 0x8b, 0x08, 0x00]
        .into_iter()
        .chain((0..200u32).map(|i| (i * 7 % 251) as u8))
        .collect();
    std::fs::write(rotated.join("n1.log.1.gz"), gz).unwrap();
    let o = import_run(&rotated, &tmp.join("d"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("perhaps in the files not read") && stderr.contains("n1.log.1.gz"),
        "{stderr}"
    );
    std::fs::copy(logs.join("n2.log"), rotated.join("n2.old.log")).unwrap();
    let o = import_run(&rotated, &tmp.join("c"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a second log of N2 that overlaps"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// steady-load-forced's server logs alone: N3, forced to Provisioning and restarted under
/// load, provisions itself a second time, which no behaviour without `--force` explains. Every
/// loglet whose trace holds that line violates the legal moves there, decided at once
/// (checker/src/validate/storage.rs). 0_5 conforms: N2's two seal assists right after its
/// SIGCONT, with every process up, are explained by a reader of N2 that could not reach the
/// sequencer while N2 was paused (`faults.reader_timeouts`, which the import sets from the
/// failure detectors' lines: N3's saw N2 go from Alive to Dead); before, it ran about 50 s
/// and ended inconclusive.
#[test]
fn logs_only_forced_run_violates_at_the_second_provisioning() {
    let raw = run_dir("steady-load-forced").join("raw");
    let tmp =
        std::env::temp_dir().join(format!("sealcheck-logs-only-forced-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let out = import_logs_only(&raw.join("logs"), &tmp);
    let summary: sealcheck_model::run_format::RunSummary =
        serde_json::from_str(&std::fs::read_to_string(out.join(FILE_NAME)).unwrap()).unwrap();
    let opts = ValidateOptions {
        timeout: Some(std::time::Duration::from_secs(60)),
        ..ValidateOptions::default()
    };
    let mut violated = Vec::new();
    let o5 = summary.loglets.iter().find(|l| l.loglet == "0_5").unwrap();
    let text = std::fs::read_to_string(out.join(&o5.file)).unwrap();
    assert!(text.contains(r#""reader_timeouts":1"#), "{text}");
    assert!(text.contains(r#""event":"seal-assist-started""#), "{text}");
    for l in &summary.loglets {
        let o = validate_file(&out.join(&l.file), &opts).unwrap();
        match &o.verdict {
            sealcheck::validate::Verdict::Violates { property, at, .. } => {
                assert_eq!(property, "storage states only make legal moves");
                assert!(
                    at.text.contains(r#""event":"provisioned","node":"N3""#),
                    "{}: {}",
                    l.loglet,
                    at.text
                );
                violated.push(l.loglet.clone());
            }
            v => assert_eq!(v.word(), "conforms", "{}: {v:?}", l.loglet),
        }
    }
    assert_eq!(violated, ["0_0", "0_1", "0_2", "0_3", "1_0"]);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Without operator records and without a failure detector's line (the logs cut, or another
/// filter), the forced run's 0_5 still shows N2's find-tail assists with the sequencer N3 up:
/// the assist itself allows a reader that lost the live sequencer, the notes name its line,
/// and 0_5 conforms as from the whole logs (without it, it diverged at the assist).
#[test]
fn an_assist_alone_allows_a_reader_that_lost_the_sequencer() {
    let logs = run_dir("steady-load-forced").join("raw/logs");
    let tmp = std::env::temp_dir().join(format!(
        "sealcheck-assist-no-detector-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let thinned = tmp.join("logs");
    std::fs::create_dir_all(&thinned).unwrap();
    let mut removed = 0;
    for e in std::fs::read_dir(&logs).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("restate_node::failure_detector"))
            .collect();
        removed += text.lines().count() - kept.len();
        std::fs::write(thinned.join(p.file_name().unwrap()), kept.join("\n") + "\n").unwrap();
    }
    assert!(removed > 0, "the recording has failure-detector lines");
    let out = import_logs_only(&thinned, &tmp.join("import"));
    let text = std::fs::read_to_string(out.join("loglets/0_5.jsonl")).unwrap();
    assert!(text.contains(r#""reader_timeouts":1"#), "{text}");
    let run = std::fs::read_to_string(out.join(FILE_NAME)).unwrap();
    let summary: sealcheck_model::run_format::RunSummary = serde_json::from_str(&run).unwrap();
    let notes = &summary
        .loglets
        .iter()
        .find(|l| l.loglet == "0_5")
        .unwrap()
        .notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("a find-tail reader assisted a seal (n2.log:")),
        "{notes:#?}"
    );
    assert!(
        !notes
            .iter()
            .any(|n| n.contains("failure detectors saw peers")),
        "{notes:#?}"
    );
    let o = validate_file(
        &out.join("loglets/0_5.jsonl"),
        &ValidateOptions {
            timeout: Some(std::time::Duration::from_secs(60)),
            ..ValidateOptions::default()
        },
    )
    .unwrap();
    assert_eq!(o.verdict.word(), "conforms", "{:?}", o.verdict);
    let _ = std::fs::remove_dir_all(&tmp);
}
