//! The campaign's report: per step kind, per path and run, the gaps, and what changed since
//! the campaign it replaces; as text, JSON ([`CampaignReport`]) and JUnit XML.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sealcheck_recorder::reproduce as rr;

use super::select::{Reason, Selection};
use crate::cli::CampaignArgs;
use crate::exit::{Exit, UsageError};

/// The format of `campaign.json`; raised when a field changes meaning.
pub const FORMAT: u32 = 1;

/// One step kind of the table.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KindRow {
    /// The kind (`seal-call`).
    pub kind: String,
    /// A step of it in words.
    pub sample: String,
    /// Whether the table can force it (`yes`, `yes, by holding ...`, `happens by itself`,
    /// `no`).
    pub forceable: String,
    /// Whether the campaign aims at it (it has a control).
    pub target: bool,
    /// Paths of the campaign that take it.
    pub paths: usize,
    /// Runs whose explanation took it.
    pub runs_taken: usize,
    /// Runs whose explanation took it with a logged line.
    pub runs_logged: usize,
    /// Runs that followed a path step of this kind.
    pub runs_followed: usize,
    /// Why no run took it (for a kind no run took).
    pub why_not: Option<String>,
}

/// One run of a path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRow {
    /// Its directory (raw material, trace, notes, reproduce.txt), relative to the campaign's
    /// OUT (`runs/ID-rN`).
    pub dir: PathBuf,
    /// The seed of its delays.
    pub jitter_seed: u64,
    /// Wall-clock seconds.
    pub secs: f64,
    /// `follows`, `partly: K of N steps`, `unexplained`, `inconclusive ...`, `failed`.
    pub status: String,
    /// The first path step not followed, for a partly followed path.
    pub not_followed_at: Option<String>,
    /// Validation's verdict.
    pub validate: String,
    /// Whether the violation is the one the set-up's forced move makes by design.
    pub violation_by_design: bool,
    /// A divergence, an unexplained recording, or a violation not made by design.
    pub finding: bool,
    /// Validation or path following stopped at a bound.
    pub inconclusive: bool,
    /// Step kinds the explanation took.
    pub kinds_taken: Vec<String>,
    /// Step kinds the explanation took with a logged line.
    pub kinds_logged: Vec<String>,
    /// Step kinds of the path steps followed.
    pub kinds_followed: Vec<String>,
    /// Records the import could not place or needs a model step for: (kind, why).
    pub gaps: Vec<(String, String)>,
    /// Why the run failed (no cluster, a control that failed), if it did.
    pub error: Option<String>,
    /// What the campaign saw about the run that explains a result (the cluster's roles not
    /// the path's model's).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl RunRow {
    /// A run that failed before it could be checked.
    pub fn failed(dir: &Path, seed: u64, error: String) -> RunRow {
        RunRow {
            dir: dir.to_path_buf(),
            jitter_seed: seed,
            secs: 0.0,
            status: "failed".into(),
            not_followed_at: None,
            validate: "not validated".into(),
            violation_by_design: false,
            finding: false,
            inconclusive: false,
            kinds_taken: Vec::new(),
            kinds_logged: Vec::new(),
            kinds_followed: Vec::new(),
            gaps: Vec::new(),
            error: Some(error),
            notes: Vec::new(),
        }
    }
}

/// One path of the campaign.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PathRow {
    /// `SCENARIO-pN`.
    pub id: String,
    /// The scenario.
    pub scenario: String,
    /// The Explorer encoding.
    pub encoding: String,
    /// Why it was chosen.
    pub why: Vec<String>,
    /// Its steps: `[kind] description`.
    pub steps: Vec<String>,
    /// Its runs.
    pub runs: Vec<RunRow>,
}

/// Records of one kind and reason the importer could not place, or needs a model step for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GapRow {
    /// The record's kind.
    pub kind: String,
    /// Why.
    pub why: String,
    /// How many records.
    pub records: usize,
    /// The runs they appeared in.
    pub runs: Vec<String>,
}

/// The coverage figures.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Coverage {
    /// Kinds the campaign aims at.
    pub targets: usize,
    /// Of those, on some path.
    pub planned: usize,
    /// Of those, taken by some run's explanation.
    pub taken: usize,
    /// Of those, taken with a logged line by some run.
    pub logged: usize,
    /// Runs made, and of them followed wholly, partly, diverged or violated (not by design),
    /// failed, inconclusive.
    pub runs: usize,
    /// Runs that followed their whole path.
    pub followed: usize,
    /// Runs with a finding.
    pub findings: usize,
    /// Runs that failed.
    pub failed: usize,
    /// Runs whose checks stopped at a bound.
    pub inconclusive: usize,
}

/// `campaign.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CampaignReport {
    /// [`FORMAT`].
    pub format: u32,
    /// What `restate-server --version` printed.
    pub restate_version: Option<String>,
    /// The scenarios.
    pub scenarios: Vec<String>,
    /// `--runs-per-path`.
    pub runs_per_path: u32,
    /// `--jitter`, in ms.
    pub jitter_ms: u64,
    /// `--seed`.
    pub seed: u64,
    /// `--kinds-only`.
    pub kinds_only: bool,
    /// Figures.
    pub coverage: Coverage,
    /// Per step kind, in the table's order.
    pub kinds: Vec<KindRow>,
    /// Per path, in run order.
    pub paths: Vec<PathRow>,
    /// Records not placed or needing a model step, by kind and reason.
    pub gaps: Vec<GapRow>,
    /// Properties with no path to run, and why.
    pub unrunnable: Vec<String>,
    /// Why the campaign stopped before its last run (`--max-runs`, `--timeout`).
    pub stopped: Option<String>,
    /// Whether it was `--timeout` (a bound) rather than `--max-runs` (a choice).
    pub stopped_is_bound: bool,
    /// What changed since the campaign this one replaced in OUT.
    pub changes: Vec<String>,
    /// Kinds `--baseline` had taken and no run took here.
    pub below_baseline: Vec<String>,
}

impl CampaignReport {
    /// An empty report of a selection.
    pub fn new(sel: &Selection, args: &CampaignArgs, version: Option<String>) -> CampaignReport {
        let paths = sel
            .paths
            .iter()
            .map(|c| {
                let model = &sel.scenarios[c.scenario].model;
                PathRow {
                    id: c.id.clone(),
                    scenario: sel.scenarios[c.scenario].label.clone(),
                    encoding: c.encoding.clone(),
                    why: c.reasons.iter().map(Reason::text).collect(),
                    steps: c
                        .actions
                        .iter()
                        .map(|a| {
                            format!(
                                "[{}] {}",
                                rr::step_kind(a),
                                sealcheck_model::describe::action(model, a)
                            )
                        })
                        .collect(),
                    runs: Vec::new(),
                }
            })
            .collect();
        CampaignReport {
            format: FORMAT,
            restate_version: version,
            scenarios: sel.scenarios.iter().map(|s| s.label.clone()).collect(),
            runs_per_path: args.runs_per_path,
            jitter_ms: args.jitter,
            seed: args.seed,
            kinds_only: args.kinds_only,
            coverage: Coverage::default(),
            kinds: Vec::new(),
            paths,
            gaps: Vec::new(),
            unrunnable: sel.unrunnable.clone(),
            stopped: None,
            stopped_is_bound: false,
            changes: Vec::new(),
            below_baseline: Vec::new(),
        }
    }

    /// Recomputes the kinds, gaps, figures, changes and baseline check from the runs so far.
    pub fn finish(
        &mut self,
        sel: &Selection,
        previous: Option<&CampaignReport>,
        baseline: Option<&BTreeSet<String>>,
    ) {
        let runs: Vec<&RunRow> = self.paths.iter().flat_map(|p| &p.runs).collect();
        let (model, state) = rr::table_model();
        self.kinds = rr::step_kinds()
            .into_iter()
            .map(|(kind, sample)| {
                let control = rr::control_of(&model, &state, &sample);
                let target = sel.targets.contains(&kind);
                let count = |f: &dyn Fn(&RunRow) -> &Vec<String>| {
                    runs.iter()
                        .filter(|r| f(r).iter().any(|k| k == kind))
                        .count()
                };
                let paths = sel.paths.iter().filter(|c| c.kinds.contains(kind)).count();
                let runs_taken = count(&|r| &r.kinds_taken);
                let why_not = (runs_taken == 0).then(|| {
                    if !target {
                        format!("no control forces it: {}", control.text())
                    } else if paths == 0 {
                        "no path of these scenarios takes it with controls only".to_string()
                    } else {
                        let planned: Vec<&str> = sel
                            .paths
                            .iter()
                            .filter(|c| c.kinds.contains(kind))
                            .map(|c| c.id.as_str())
                            .collect();
                        format!(
                            "on path {}, but no run made so far was explained with it",
                            planned.join(", ")
                        )
                    }
                });
                KindRow {
                    kind: kind.to_string(),
                    sample: sealcheck_model::describe::action(&model, &sample),
                    forceable: control.forceable().to_string(),
                    target,
                    paths,
                    runs_taken,
                    runs_logged: count(&|r| &r.kinds_logged),
                    runs_followed: count(&|r| &r.kinds_followed),
                    why_not,
                }
            })
            .collect();
        let mut gaps: BTreeMap<(String, String), (usize, BTreeSet<String>)> = BTreeMap::new();
        for p in &self.paths {
            for (i, r) in p.runs.iter().enumerate() {
                for g in &r.gaps {
                    let e = gaps.entry(g.clone()).or_default();
                    e.0 += 1;
                    e.1.insert(format!("{}-r{}", p.id, i + 1));
                }
            }
        }
        self.gaps = gaps
            .into_iter()
            .map(|((kind, why), (records, runs))| GapRow {
                kind,
                why,
                records,
                runs: runs.into_iter().collect(),
            })
            .collect();
        let targets: Vec<&KindRow> = self.kinds.iter().filter(|k| k.target).collect();
        self.coverage = Coverage {
            targets: targets.len(),
            planned: targets.iter().filter(|k| k.paths > 0).count(),
            taken: targets.iter().filter(|k| k.runs_taken > 0).count(),
            logged: targets.iter().filter(|k| k.runs_logged > 0).count(),
            runs: runs.len(),
            followed: runs.iter().filter(|r| r.status == "follows").count(),
            findings: runs.iter().filter(|r| r.finding).count(),
            failed: runs.iter().filter(|r| r.error.is_some()).count(),
            inconclusive: runs.iter().filter(|r| r.inconclusive).count(),
        };
        self.changes = previous.map(|p| self.changes_since(p)).unwrap_or_default();
        self.below_baseline = baseline
            .map(|b| {
                b.iter()
                    .filter(|k| !self.kinds.iter().any(|r| &r.kind == *k && r.runs_taken > 0))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
    }

    /// What changed since `p`: kinds newly taken or no longer taken, and paths whose
    /// follow status changed.
    fn changes_since(&self, p: &CampaignReport) -> Vec<String> {
        let taken = |r: &CampaignReport| -> BTreeSet<String> {
            r.kinds
                .iter()
                .filter(|k| k.runs_taken > 0)
                .map(|k| k.kind.clone())
                .collect()
        };
        let (before, now) = (taken(p), taken(self));
        let mut out = Vec::new();
        for k in now.difference(&before) {
            out.push(format!("step kind {k} taken now, by no run before"));
        }
        for k in before.difference(&now) {
            out.push(format!(
                "step kind {k} no longer taken (some run took it before)"
            ));
        }
        for path in &self.paths {
            let Some(old) = p
                .paths
                .iter()
                .find(|o| o.scenario == path.scenario && o.encoding == path.encoding)
            else {
                if !path.runs.is_empty() {
                    out.push(format!("path {} ({}) is new", path.id, path.encoding));
                }
                continue;
            };
            let st =
                |r: &PathRow| -> Vec<String> { r.runs.iter().map(|x| x.status.clone()).collect() };
            if !path.runs.is_empty() && st(old) != st(path) {
                out.push(format!(
                    "path {} ({}): runs were [{}], now [{}]",
                    path.id,
                    path.encoding,
                    st(old).join(", "),
                    st(path).join(", ")
                ));
            }
        }
        if out.is_empty() {
            out.push(
                "the same step kinds taken and the same path results as the campaign it replaces"
                    .into(),
            );
        }
        out
    }

    /// How the command ends.
    pub fn exit(&self) -> Exit {
        let c = &self.coverage;
        if c.findings > 0 || !self.below_baseline.is_empty() {
            Exit::Violated
        } else if c.runs > 0 && c.failed == c.runs {
            Exit::UsageOrInput
        } else if self.stopped_is_bound || c.failed > 0 || c.inconclusive > 0 {
            Exit::Incomplete
        } else {
            Exit::Holds
        }
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let c = &self.coverage;
        let pct = |n: usize| {
            if c.targets == 0 {
                0.0
            } else {
                100.0 * n as f64 / c.targets as f64
            }
        };
        let mut s = format!(
            "sealcheck campaign on restate-server {}: {} runs over {} paths of {} scenarios ({} per path, jitter up to {} ms, seed {})\n",
            self.restate_version.as_deref().unwrap_or("(version unknown)"),
            c.runs,
            self.paths.len(),
            self.scenarios.len(),
            self.runs_per_path,
            self.jitter_ms,
            self.seed
        );
        if let Some(st) = &self.stopped {
            s.push_str(&format!("stopped early: {st}\n"));
        }
        s.push_str(&format!(
            "coverage: {} of {} step kinds that the table can force or that happen by themselves were taken by some run ({:.0} %), {} of them with a logged line ({:.0} %); {} were on a path\n",
            c.taken,
            c.targets,
            pct(c.taken),
            c.logged,
            pct(c.logged),
            c.planned
        ));
        s.push_str(&format!(
            "runs: {} followed their whole path, {} with a finding (diverged, unexplained, or a violation not made by design), {} failed, {} inconclusive\n\n",
            c.followed, c.findings, c.failed, c.inconclusive
        ));
        s.push_str("| step kind | forceable | paths | runs took it | with a logged line | runs followed it |\n|---|---|---|---|---|---|\n");
        for k in &self.kinds {
            s.push_str(&format!(
                "| {}{} | {} | {} | {} | {} | {} |\n",
                k.kind,
                if k.target { "" } else { " (no control)" },
                k.forceable,
                k.paths,
                k.runs_taken,
                k.runs_logged,
                k.runs_followed
            ));
        }
        let never: Vec<&KindRow> = self.kinds.iter().filter(|k| k.runs_taken == 0).collect();
        if !never.is_empty() {
            s.push_str("\nstep kinds no run took, and why:\n");
            for k in never {
                s.push_str(&format!(
                    "  {}: {}\n",
                    k.kind,
                    k.why_not.as_deref().unwrap_or("")
                ));
            }
        }
        s.push_str("\npaths:\n");
        for p in &self.paths {
            s.push_str(&format!(
                "  {}\n",
                path_line(&p.id, &p.scenario, p.steps.len(), &p.encoding, &p.why)
            ));
            if p.runs.is_empty() {
                s.push_str("    not run\n");
            }
            for (i, r) in p.runs.iter().enumerate() {
                s.push_str(&format!(
                    "    run {}: {}{}; validate: {}{}; {} s; {}\n",
                    i + 1,
                    r.status,
                    r.not_followed_at
                        .as_ref()
                        .map(|a| format!(" (not followed at {a})"))
                        .unwrap_or_default(),
                    r.validate,
                    if r.violation_by_design {
                        " (the set-up's forced move, by design)"
                    } else if r.finding {
                        " <- FINDING"
                    } else {
                        ""
                    },
                    r.secs,
                    r.dir.display()
                ));
                if let Some(e) = &r.error {
                    s.push_str(&format!("      failed: {e}\n"));
                }
                for n in &r.notes {
                    s.push_str(&format!("      note: {n}\n"));
                }
            }
        }
        if !self.gaps.is_empty() {
            s.push_str("\nrecords the import could not place, or needs a model step for (each a candidate gap of the model):\n");
            for g in &self.gaps {
                s.push_str(&format!(
                    "  {} x {}: {} (runs {})\n",
                    g.records,
                    g.kind,
                    g.why,
                    g.runs.join(", ")
                ));
            }
        }
        for u in &self.unrunnable {
            s.push_str(&format!("not run: {u}\n"));
        }
        if !self.changes.is_empty() {
            s.push_str("\nsince the campaign this one replaced:\n");
            for ch in &self.changes {
                s.push_str(&format!("  {ch}\n"));
            }
        }
        if !self.below_baseline.is_empty() {
            s.push_str(&format!(
                "\nCOVERAGE DROPPED: the baseline's runs took {}, no run here did\n",
                self.below_baseline.join(", ")
            ));
        }
        s
    }

    /// The report as JUnit XML: a test case per run (a finding is a failure, a failed run an
    /// error) and one for the baseline's coverage.
    pub fn junit(&self) -> String {
        use crate::validate::report::xml;
        let mut cases = Vec::new();
        let (mut failures, mut errors) = (0, 0);
        for p in &self.paths {
            for (i, r) in p.runs.iter().enumerate() {
                let name = xml(&format!("{}-r{} {}", p.id, i + 1, p.encoding));
                let body = if let Some(e) = &r.error {
                    errors += 1;
                    format!("<error message=\"failed\">{}</error>", xml(e))
                } else if r.finding {
                    failures += 1;
                    format!(
                        "<failure message=\"finding\">{}</failure>",
                        xml(&format!("{}; validate: {}", r.status, r.validate))
                    )
                } else {
                    String::new()
                };
                cases.push(if body.is_empty() {
                    format!("  <testcase name=\"{name}\"/>")
                } else {
                    format!("  <testcase name=\"{name}\">{body}</testcase>")
                });
            }
        }
        let cov = if self.below_baseline.is_empty() {
            "  <testcase name=\"coverage\"/>".to_string()
        } else {
            failures += 1;
            format!(
                "  <testcase name=\"coverage\"><failure message=\"coverage dropped\">{}</failure></testcase>",
                xml(&self.below_baseline.join(", "))
            )
        };
        cases.push(cov);
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"sealcheck campaign\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n{}\n</testsuite>\n",
            cases.len(),
            cases.join("\n")
        )
    }

    /// Writes the three reports into `out`.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("json") + "\n";
        for (f, text) in [
            (super::TEXT_FILE, self.text()),
            (super::JSON_FILE, json),
            (super::JUNIT_FILE, self.junit()),
        ] {
            let p = out.join(f);
            std::fs::write(&p, text)
                .map_err(|e| UsageError::new(format!("cannot write {}: {e}", p.display())))?;
        }
        Ok(())
    }
}

/// A selected path in one line, as the dry run and the report give it: its id, scenario,
/// length and encoding, and why it was selected.
pub(super) fn path_line(
    id: &str,
    scenario: &str,
    steps: usize,
    encoding: &str,
    why: &[String],
) -> String {
    format!(
        "{id} ({scenario}, {steps} steps, path {encoding}): {}",
        why.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::select::{select, Scenario};
    use crate::spec::Spec;
    use clap::Parser;

    fn selection() -> Selection {
        let spec = Spec::builtin();
        let model = spec.config.clone().into_model().unwrap();
        let sc = Scenario {
            label: "incident".into(),
            short: "incident".into(),
            spec,
            model,
        };
        select(vec![sc], false).unwrap()
    }

    fn report(sel: &Selection) -> CampaignReport {
        let cli = crate::cli::Cli::try_parse_from(["sealcheck", "campaign", "--dry-run"]).unwrap();
        let crate::cli::Command::Campaign(args) = cli.command else {
            panic!("campaign")
        };
        CampaignReport::new(sel, &args, Some("1.7.12".into()))
    }

    fn run(kinds: &[&str], logged: &[&str], status: &str) -> RunRow {
        let mut r = RunRow::failed(Path::new("runs/x"), 1, String::new());
        r.error = None;
        r.status = status.into();
        r.validate = "conforms".into();
        r.kinds_taken = kinds.iter().map(|k| k.to_string()).collect();
        r.kinds_logged = logged.iter().map(|k| k.to_string()).collect();
        r
    }

    #[test]
    fn coverage_counts_runs_per_kind_and_the_exit_follows_the_runs() {
        let sel = selection();
        let mut rep = report(&sel);
        rep.finish(&sel, None, None);
        assert_eq!(rep.coverage.runs, 0);
        assert_eq!(rep.coverage.taken, 0);
        assert_eq!(rep.exit(), Exit::Holds);
        rep.paths[0]
            .runs
            .push(run(&["seal-call", "deliver"], &["seal-call"], "follows"));
        rep.paths[0]
            .runs
            .push(run(&["seal-call"], &["seal-call"], "partly: 1 of 4 steps"));
        rep.finish(&sel, None, None);
        let k = |name: &str| rep.kinds.iter().find(|k| k.kind == name).unwrap().clone();
        assert_eq!(
            (k("seal-call").runs_taken, k("seal-call").runs_logged),
            (2, 2)
        );
        assert_eq!((k("deliver").runs_taken, k("deliver").runs_logged), (1, 0));
        assert!(k("deliver").why_not.is_none());
        assert!(k("crash")
            .why_not
            .unwrap()
            .contains("no path of these scenarios"));
        assert!(k("lose")
            .why_not
            .unwrap()
            .starts_with("no control forces it"));
        assert_eq!(rep.coverage.taken, 2);
        assert_eq!(rep.coverage.logged, 1);
        assert_eq!(rep.coverage.followed, 1);
        assert_eq!(
            rep.exit(),
            Exit::Holds,
            "a partly followed path is reported, not a failure"
        );
        rep.paths[0].runs[1].finding = true;
        rep.finish(&sel, None, None);
        assert_eq!(rep.exit(), Exit::Violated);
        assert!(rep.junit().contains("failures=\"1\""));
        assert!(rep.text().contains("<- FINDING"));
    }

    #[test]
    fn a_kind_the_baseline_took_and_no_run_took_here_fails() {
        let sel = selection();
        let mut rep = report(&sel);
        rep.paths[0]
            .runs
            .push(run(&["seal-call"], &["seal-call"], "follows"));
        let base: BTreeSet<String> = ["seal-call".to_string(), "provisions".to_string()].into();
        rep.finish(&sel, None, Some(&base));
        assert_eq!(rep.below_baseline, ["provisions"]);
        assert_eq!(rep.exit(), Exit::Violated);
        assert!(rep.text().contains("COVERAGE DROPPED"));
        assert!(rep.junit().contains("coverage dropped"));
        rep.paths[0].runs[0].kinds_taken.push("provisions".into());
        rep.finish(&sel, None, Some(&base));
        assert!(rep.below_baseline.is_empty());
        assert_eq!(rep.exit(), Exit::Holds);
    }

    #[test]
    fn a_rerun_says_what_changed_or_that_nothing_did() {
        let sel = selection();
        let mut before = report(&sel);
        before.paths[0]
            .runs
            .push(run(&["seal-call", "provisions"], &[], "follows"));
        before.finish(&sel, None, None);
        let json = serde_json::to_string(&before).unwrap();
        let before: CampaignReport = serde_json::from_str(&json).unwrap();
        let mut same = report(&sel);
        same.paths[0]
            .runs
            .push(run(&["seal-call", "provisions"], &[], "follows"));
        same.finish(&sel, Some(&before), None);
        assert_eq!(same.changes.len(), 1);
        assert!(
            same.changes[0].starts_with("the same step kinds"),
            "{:?}",
            same.changes
        );
        let mut other = report(&sel);
        other.paths[0]
            .runs
            .push(run(&["seal-call", "crash"], &[], "partly: 2 of 4 steps"));
        other.finish(&sel, Some(&before), None);
        let text = other.changes.join("\n");
        assert!(text.contains("step kind crash taken now"), "{text}");
        assert!(
            text.contains("step kind provisions no longer taken"),
            "{text}"
        );
        assert!(
            text.contains("runs were [follows], now [partly: 2 of 4 steps]"),
            "{text}"
        );
    }

    #[test]
    fn a_timeout_or_a_failed_run_is_incomplete_and_all_failed_is_an_error() {
        let sel = selection();
        let mut rep = report(&sel);
        rep.paths[0].runs.push(run(&["seal-call"], &[], "follows"));
        rep.stopped = Some("--timeout 1 s passed".into());
        rep.stopped_is_bound = true;
        rep.finish(&sel, None, None);
        assert_eq!(rep.exit(), Exit::Incomplete);
        rep.stopped_is_bound = false;
        rep.finish(&sel, None, None);
        assert_eq!(
            rep.exit(),
            Exit::Holds,
            "--max-runs is a choice, not a bound"
        );
        rep.paths[1]
            .runs
            .push(RunRow::failed(Path::new("runs/y"), 2, "no cluster".into()));
        rep.finish(&sel, None, None);
        assert_eq!(rep.exit(), Exit::Incomplete);
        rep.paths[0].runs.clear();
        rep.finish(&sel, None, None);
        assert_eq!(rep.exit(), Exit::UsageOrInput);
        assert!(rep
            .junit()
            .contains("<error message=\"failed\">no cluster</error>"));
    }
}
