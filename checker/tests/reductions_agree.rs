//! The stubborn sets keep every verdict (module essay of `sealcheck::validate`, reduction 2):
//! on random behaviours of several scenarios, logged the way a recorded Restate run is logged
//! (appends, stores, replies and the per-member seal steps unlogged), and on their mutants, the
//! reduced search and the full search give the same verdict, at the same item, for the same
//! property. Runs the full search may not finish within its bound are skipped and counted.

mod verdict_support;
use verdict_support::gist;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sealcheck::bench_validate::{hidden_appends_trace, Ending};
use sealcheck::generate::{self, Rng};
use sealcheck::mutate;
use sealcheck::spec::Spec;
use sealcheck::trace_reader::{self, Header, Item};
use sealcheck::validate::{validate_file, ValidateOptions, Verdict};
use sealcheck_model::observable::Event;
use sealcheck_model::Config;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Validates `items` under `header` with and without the stubborn sets (the full search
/// bounded by `full_secs`); returns whether both decided, and notes in `wrong` where they
/// disagree.
fn agree(
    dir: &Path,
    name: &str,
    header: &Header,
    items: &[(Option<f64>, Item)],
    full_secs: u64,
    wrong: &mut Vec<String>,
) -> bool {
    let path = dir.join(name);
    trace_reader::write_trace(&path, header, items).unwrap();
    let bounded = |reduce: bool| ValidateOptions {
        reduce,
        timeout: Some(Duration::from_secs(if reduce { 60 } else { full_secs })),
        ..ValidateOptions::default()
    };
    let full = validate_file(&path, &bounded(false)).unwrap();
    let Some(want) = gist(&full.verdict) else {
        return false;
    };
    let reduced = validate_file(&path, &bounded(true)).unwrap();
    let got = gist(&reduced.verdict);
    if got.as_deref() != Some(want.as_str()) {
        wrong.push(format!(
            "{}: full search {want}, reduced {got:?}",
            path.display()
        ));
    }
    true
}

fn scenarios() -> Vec<Config> {
    let load = |f: &str| Spec::load(&root().join(f)).unwrap().config;
    let mut forced = load("specs/operator-moves.toml");
    forced.faults.operator_force = true;
    // The incident with another node's seal task, which the all-Provisioning guard may refuse.
    let mut incident_other = load("specs/three_logserver_seal_empty.toml");
    incident_other.faults.other_seals = 1;
    vec![
        Config::incident(),
        load("specs/appends-then-seal.toml"),
        load("specs/crash-restart.toml"),
        load("specs/message-loss.toml"),
        load("specs/paused-members.toml"),
        forced,
        load("specs/bugs/ack-before-quorum.toml"),
        load("specs/bugs/seal-without-drain.toml"),
        load("specs/bugs/store-after-seal.toml"),
        load("specs/other-seals.toml"),
        load("specs/other-seals-cluster.toml"),
        load("specs/other-repairs-cluster.toml"),
        incident_other,
        // A find-tail reader that loses the live sequencer (`faults.reader_timeouts`), whose
        // unlogged step only enables the reader's own.
        load("specs/cluster-partitioned-member.toml"),
    ]
}

/// The hidden-append axis (`bench-validate --only-hidden-appends`) at every k the full search
/// still finishes: the same verdict at the same item with and without the reductions.
#[test]
fn stubborn_sets_keep_verdicts_on_the_hidden_append_axis() {
    let dir =
        std::env::temp_dir().join(format!("sealcheck-reductions-axis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut wrong = Vec::new();
    let mut compared = 0;
    for k in 1..=4 {
        for ending in Ending::ALL {
            let (header, items) = hidden_appends_trace(k, ending);
            let items: Vec<(Option<f64>, Item)> = items.into_iter().map(|i| (None, i)).collect();
            let name = format!("{k}-{ending:?}.jsonl");
            // The full search gets 10 s here: the threshold below counts how many finish, and
            // on two shared cores 3 s was once too little for the fifth of them.
            compared += usize::from(agree(&dir, &name, &header, &items, 10, &mut wrong));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        compared >= 12,
        "the full search finished only {compared} of 16"
    );
}

/// One mutant in this many is compared (`SEALCHECK_AGREE_EVERY` sets it: 5 compares 1,579
/// traces in about 9 minutes of a release build; the default, one in 25, fits CI's time).
fn mutant_stride() -> usize {
    std::env::var("SEALCHECK_AGREE_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(25)
}

#[test]
fn stubborn_sets_keep_verdicts_on_behaviours_logged_like_restate_and_their_mutants() {
    let stride = mutant_stride();
    let dir = std::env::temp_dir().join(format!("sealcheck-reductions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unlogged: Vec<String> = Event::KINDS
        .iter()
        .filter(|k| !sealcheck_recorder::import::COMPLETE_KINDS.contains(k))
        .map(|k| k.to_string())
        .collect();
    let mut rng = Rng::new(7);
    let (mut compared, mut skipped, mut rejected) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (c, cfg) in scenarios().into_iter().enumerate() {
        let model = cfg.clone().into_model().unwrap();
        for w in 0..3 {
            let (actions, terminal) = generate::random_walk(&model, &mut rng, 10_000);
            let (mut items, _) = generate::items_of_path(&model, &actions, w != 1);
            let mut header = Header::generated(cfg.clone(), "test", false);
            let _ = terminal;
            generate::hide_kinds(&mut header, &mut items, &unlogged);
            let items: Vec<(Option<f64>, Item)> = items.into_iter().map(|i| (None, i)).collect();
            let name = format!("s{c}-w{w}.jsonl");
            if agree(&dir, &name, &header, &items, 3, &mut wrong) {
                compared += 1;
            } else {
                skipped += 1;
            }
            for (m, mutant) in mutate::mutants(&header, &items, None)
                .into_iter()
                .enumerate()
                .filter(|(m, _)| m % stride == w % stride)
            {
                let name = format!("s{c}-w{w}-m{m}.jsonl");
                if agree(&dir, &name, &header, &mutant.items, 3, &mut wrong) {
                    compared += 1;
                    rejected += usize::from(!matches!(
                        validate_file(&dir.join(&name), &ValidateOptions::default())
                            .unwrap()
                            .verdict,
                        Verdict::Conforms { .. }
                    ));
                } else {
                    skipped += 1;
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the reduced search disagrees with the full one on {} traces:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    std::fs::remove_dir_all(&dir).ok();
    eprintln!("{compared} traces compared ({rejected} rejected), {skipped} skipped");
    assert!(
        compared >= 100,
        "only {compared} compared ({skipped} skipped)"
    );
    assert!(
        rejected >= 20,
        "only {rejected} rejected mutants among the compared"
    );
}
