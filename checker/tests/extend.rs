//! Validating a growing trace from the witness of its last conforming explanation
//! (`sealcheck::validate::extend_file`, what `sealcheck follow` does for a loglet whose logs
//! grow): a found extension is a conforming verdict the full validation also gives, and a
//! witness that does not fit (other earlier items, another header) or an extension that
//! diverges gives nothing, so the caller validates from the start.

use std::path::{Path, PathBuf};

use sealcheck::validate::{extend_file, validate_file, ValidateOptions, Verdict, Witness};
use serde_json::Value;

/// A loaded loglet of ten minutes: 827 items, nobody seals it.
const GROWING: &str = "../traces/restate-1.7.12/steady-load-10min/loglets/1_0.jsonl";

fn lines() -> (Value, Vec<String>) {
    let text = std::fs::read_to_string(GROWING).expect("committed trace");
    let mut it = text.lines();
    let header: Value = serde_json::from_str(it.next().expect("header")).expect("json");
    (header, it.map(str::to_string).collect())
}

fn write(dir: &Path, name: &str, header: &Value, items: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = header.to_string();
    text.push('\n');
    for i in items {
        text.push_str(i);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write");
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sealcheck-extend-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

/// The witness of the first `n` items' conforming explanation, under `header`.
fn witness(dir: &Path, header: &Value, items: &[String], n: usize) -> std::sync::Arc<Witness> {
    let path = write(dir, "prefix.jsonl", header, &items[..n]);
    let o = validate_file(&path, &ValidateOptions::default()).expect("valid");
    assert!(
        matches!(o.verdict, Verdict::Conforms { .. }),
        "{:?}",
        o.verdict
    );
    let w = o
        .witness
        .expect("a depth-first conforming verdict keeps its witness");
    assert_eq!(w.items(), n);
    w
}

/// The largest local tail the items show: the fewest appends that explain them.
fn max_tail(items: &[String]) -> u64 {
    items
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["local_tail"].as_u64())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_grown_trace_extends_from_its_witness_and_the_full_validation_agrees() {
    let dir = scratch("grows");
    let (header, items) = lines();
    let opts = ValidateOptions::default();
    // The importer raises `appends` as the logs grow: the prefix's header has fewer.
    let mut small = header.clone();
    small["config"]["appends"] = max_tail(&items[..300]).into();
    let mut w = witness(&dir, &small, &items, 300);
    for n in [301, 420, 600, items.len()] {
        let path = write(&dir, "grown.jsonl", &header, &items[..n]);
        let o = extend_file(&path, &w, &opts)
            .expect("valid")
            .unwrap_or_else(|| panic!("no extension to {n} items"));
        assert!(matches!(o.verdict, Verdict::Conforms { .. }));
        assert_eq!((o.items, o.method), (n, "depth-first-extended"));
        let full = validate_file(&path, &opts).expect("valid");
        assert_eq!(full.verdict.word(), "conforms");
        w = o.witness.expect("an extension keeps its own witness");
        assert_eq!(w.items(), n);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_extension_that_leaves_the_model_gives_nothing_and_the_full_validation_diverges_there() {
    let dir = scratch("diverges");
    let (header, mut items) = lines();
    let w = witness(&dir, &header, &items, 300);
    // A local tail that moves back after the witness.
    let at = items[300..]
        .iter()
        .position(|l| l.contains("\"local_tail\"") && !l.contains("\"local_tail\":0,"))
        .map(|i| i + 300)
        .expect("an observation of a tail");
    let mut v: Value = serde_json::from_str(&items[at]).expect("json");
    v["local_tail"] = 1.into();
    items[at] = v.to_string();
    let path = write(&dir, "grown.jsonl", &header, &items[..at + 5]);
    let opts = ValidateOptions::default();
    assert!(extend_file(&path, &w, &opts).expect("valid").is_none());
    // The full validation diverges there.
    let full = validate_file(&path, &opts).expect("valid");
    match full.verdict {
        Verdict::Diverges { at: d, .. } => assert_eq!(d.index, at),
        v => panic!("{v:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_witness_that_does_not_fit_the_trace_gives_nothing() {
    let dir = scratch("fit");
    let (header, items) = lines();
    let opts = ValidateOptions::default();
    let w = witness(&dir, &header, &items, 300);
    let extends = |h: &Value, its: &[String]| {
        let path = write(&dir, "grown.jsonl", h, its);
        extend_file(&path, &w, &opts).expect("valid")
    };
    assert!(extends(&header, &items[..400]).is_some());
    // An earlier item changed (a line read late, an offset map built again).
    let mut changed = items[..400].to_vec();
    changed.swap(3, 4);
    assert!(extends(&header, &changed).is_none());
    // Fewer items than the witness explains.
    assert!(extends(&header, &items[..299]).is_none());
    // Another fault budget: the witness's path is of another model.
    let mut other = header.clone();
    other["config"]["faults"]["crashes"] = 2.into();
    assert!(extends(&other, &items[..400]).is_none());
    // Fewer appends than the witness's model had.
    let mut fewer = header.clone();
    fewer["config"]["appends"] = max_tail(&items[..400]).into();
    assert!(fewer["config"]["appends"].as_u64() < header["config"]["appends"].as_u64());
    assert!(extends(&fewer, &items[..400]).is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
