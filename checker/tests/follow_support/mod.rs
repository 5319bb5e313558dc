//! Helpers shared by the `follow` tests (`follow_logs`, `follow_sql`, `follow_live`): what a
//! one-time `import --run` + `validate` says of a directory, to compare with what `follow`
//! said last.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sealcheck::input::Input;
use sealcheck::run::{validate_inputs, Validated};
use sealcheck::validate::{ValidateOptions, Verdict};
use sealcheck_recorder::import::import_raw_dir_loglets;

/// The validation bounds of the comparisons.
pub fn opts() -> ValidateOptions {
    ValidateOptions {
        progress: false,
        timeout: Some(Duration::from_secs(120)),
        ..ValidateOptions::default()
    }
}

/// Per loglet, the verdict word and the item of `import --run` + `validate` of `dir` (the
/// run written to `out`, whose `loglets/<id>.jsonl` hold the traces).
pub fn judged_once(dir: &Path, out: &Path) -> BTreeMap<String, (String, Option<usize>)> {
    let run = import_raw_dir_loglets(dir).unwrap();
    run.write_to_dir(out).unwrap();
    let Some(Validated::Run(r)) =
        validate_inputs(&[Ok(Input::Run(out.to_path_buf()))], &opts()).pop()
    else {
        panic!("not a run")
    };
    r.loglets
        .iter()
        .map(|l| {
            let o = l.result.as_ref().unwrap();
            let item = match &o.verdict {
                Verdict::Conforms { .. } => None,
                Verdict::Diverges { at, .. }
                | Verdict::Violates { at, .. }
                | Verdict::Rejected { at, .. }
                | Verdict::Inconclusive { at, .. } => Some(at.index),
            };
            (l.entry.loglet.clone(), (o.verdict.word().to_string(), item))
        })
        .collect()
}

/// Per loglet, the verdict word and item of the summary object `follow --format json` ends
/// with (the chain, the import and loglets not translated left out).
pub fn followed(summary: &serde_json::Value) -> BTreeMap<String, (String, Option<usize>)> {
    summary["summary"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["subject"] != "chain" && s["subject"] != "import")
        .filter(|s| s["verdict"] != "not-translated")
        .map(|s| {
            (
                s["subject"].as_str().unwrap().to_string(),
                (
                    s["verdict"].as_str().unwrap().to_string(),
                    s["item"].as_u64().map(|i| i as usize),
                ),
            )
        })
        .collect()
}
