//! The chain check: the facts of a run that tie the segments of a log together, which no single
//! loglet instance of the model can judge.
//!
//! Each loglet of a run is validated as its own instance of the model ([`crate::run`]). What
//! happens *between* loglets is Restate's chain of segments: when a segment is sealed at tail
//! LSN `t`, the next segment of the log starts at base LSN `t`, and the sealed segment takes
//! nothing more. [`check`] judges the facts `run.json` carries about that
//! ([`sealcheck_model::run_format`]), per log, segments in index order:
//!
//! - [`STARTS_AT_SEALED_TAIL`]: segment `i + 1`'s base LSN equals segment `i`'s sealed tail LSN,
//!   that is `i`'s base LSN plus the records it holds;
//! - [`NOTHING_AFTER_SEAL`]: the largest known global tail reported for a sealed segment stays
//!   at most the sealed tail (a tail offset `o` of a segment with base `b` stands at LSN
//!   `b + o - 1`): nothing is committed past the seal. A member's local tail after its seal
//!   may pass the sealed tail (a record it stored before its seal that was never committed:
//!   the sequencer's own copy of an append in flight, cut off by the seal; recorded in
//!   `steady-load-forced`); the check names such records and does not count them, and whether
//!   a member's tail moved after its seal is judged by the loglet's model.
//!
//! The loglets `run.json` lists as untranslated take part with the LSN facts the import read of
//! them ([`Untranslated::base_lsn`] and the rest): a loglet without a trace is still a segment
//! of its chain, so a chain that breaks at it is caught (the run stays at best inconclusive
//! for the loglet nobody judged, and violates when the chain does).
//!
//! A fact that is missing (a run imported from server logs alone has no base LSNs) makes its
//! check [`Status::NotChecked`], saying what it needs. Such a check is no evidence either way:
//! a chain whose checks are all unchecked is [`ChainVerdict::NotChecked`], never "holds".

use std::collections::BTreeMap;

use serde::Serialize;

use sealcheck_model::run_format::{Loglet, Reading, RunSummary, Untranslated};

/// The property of consecutive segments of a log: the new one starts where the sealed one
/// ended.
pub const STARTS_AT_SEALED_TAIL: &str = "a new segment starts at its predecessor's sealed tail";

/// The property of a sealed segment: no tail moves past its sealed tail.
pub const NOTHING_AFTER_SEAL: &str = "a sealed segment accepts nothing after its seal";

/// What one check of the chain found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The facts were there and keep the property.
    Holds,
    /// The facts break the property.
    Violates,
    /// A fact the check needs is missing; nothing is claimed.
    NotChecked,
}

impl Status {
    /// One word: holds / violates / not checked.
    pub fn word(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::Violates => "violates",
            Status::NotChecked => "not checked",
        }
    }
}

/// One check of the chain: a property applied to one segment or one pair of segments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The property checked ([`STARTS_AT_SEALED_TAIL`] or [`NOTHING_AFTER_SEAL`]).
    pub property: &'static str,
    /// The log whose chain it is.
    pub log_id: u32,
    /// What was checked: a loglet (`"0_1"`) or a pair of consecutive ones (`"0_0 -> 0_1"`).
    pub subject: String,
    /// What the check found.
    pub status: Status,
    /// The facts compared, each with where it was read; for an unchecked one, `needs ...`.
    pub detail: String,
}

/// The verdict of the chain as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainVerdict {
    /// At least one check ran and none found a violation.
    Holds,
    /// Some check found a violation.
    Violates,
    /// No check had the facts it needs (or the run has no two segments and no seal facts).
    NotChecked,
}

impl ChainVerdict {
    /// The verdict over some checks: violates if one violates, holds if one holds, else not
    /// checked.
    pub fn of(checks: &[Check]) -> ChainVerdict {
        if checks.iter().any(|c| c.status == Status::Violates) {
            ChainVerdict::Violates
        } else if checks.iter().any(|c| c.status == Status::Holds) {
            ChainVerdict::Holds
        } else {
            ChainVerdict::NotChecked
        }
    }

    /// One word: ok / violates / not checked.
    pub fn word(self) -> &'static str {
        match self {
            ChainVerdict::Holds => "ok",
            ChainVerdict::Violates => "violates",
            ChainVerdict::NotChecked => "not checked",
        }
    }
}

/// Every check of the run's chains: per log (in id order), for each segment in index order its
/// [`NOTHING_AFTER_SEAL`] check, and for each pair of consecutive segments their
/// [`STARTS_AT_SEALED_TAIL`] check. The segments are the translated loglets and the
/// untranslated ones whose log and segment are known (an id listed as both counts once, as
/// translated). The loglets' ids are assumed unique (the run reader refuses duplicates).
pub fn check(run: &RunSummary) -> Vec<Check> {
    let stand_ins: Vec<Loglet> = run
        .untranslated
        .iter()
        .filter(|u| !run.loglets.iter().any(|l| l.loglet == u.loglet))
        .filter_map(untranslated_segment)
        .collect();
    let mut logs: BTreeMap<u32, Vec<&Loglet>> = BTreeMap::new();
    for l in run.loglets.iter().chain(&stand_ins) {
        logs.entry(l.log_id).or_default().push(l);
    }
    let mut checks = Vec::new();
    for (log_id, mut segments) in logs {
        segments.sort_by_key(|l| l.segment);
        for (i, l) in segments.iter().enumerate() {
            if i > 0 {
                checks.push(starts_at_sealed_tail(log_id, segments[i - 1], l));
            }
            checks.push(nothing_after_seal(log_id, l));
        }
    }
    checks
}

/// An untranslated loglet as a segment of its chain: its LSN facts and no trace.
fn untranslated_segment(u: &Untranslated) -> Option<Loglet> {
    let (log_id, segment) = u.log_and_segment()?;
    Some(Loglet {
        loglet: u.loglet.clone(),
        log_id,
        segment,
        file: String::new(),
        nodeset: Vec::new(),
        replication: 0,
        sequencer: None,
        window_ms: None,
        base_lsn: u.base_lsn.clone(),
        sealed_tail_lsn: u.sealed_tail_lsn.clone(),
        max_known_global_tail: u.max_known_global_tail.clone(),
        local_tails_after_seal: u.local_tails_after_seal.clone(),
        offset_map: Vec::new(),
        notes: Vec::new(),
    })
}

fn cite(what: &str, r: &Reading) -> String {
    format!("{what} {} ({})", r.value, r.from)
}

fn not_checked(property: &'static str, log_id: u32, subject: String, needs: String) -> Check {
    Check {
        property,
        log_id,
        subject,
        status: Status::NotChecked,
        detail: format!("needs {needs}"),
    }
}

/// [`STARTS_AT_SEALED_TAIL`] for segment `next` right after `prev`.
fn starts_at_sealed_tail(log_id: u32, prev: &Loglet, next: &Loglet) -> Check {
    let subject = format!("{} -> {}", prev.loglet, next.loglet);
    let property = STARTS_AT_SEALED_TAIL;
    if next.segment != prev.segment + 1 {
        let missing = if next.segment == prev.segment + 2 {
            format!("segment {log_id}_{} (not in run.json)", prev.segment + 1)
        } else {
            format!(
                "segments {log_id}_{} to {log_id}_{} (not in run.json)",
                prev.segment + 1,
                next.segment - 1
            )
        };
        return not_checked(property, log_id, subject, missing);
    }
    let (Some(tail), Some(base)) = (&prev.sealed_tail_lsn, &next.base_lsn) else {
        let needs = match (&prev.sealed_tail_lsn, &next.base_lsn) {
            (None, None) => format!(
                "the sealed tail LSN of {} and the base LSN of {}",
                prev.loglet, next.loglet
            ),
            (None, _) => format!("the sealed tail LSN of {}", prev.loglet),
            _ => format!("the base LSN of {}", next.loglet),
        };
        return not_checked(property, log_id, subject, needs);
    };
    let facts = format!(
        "{} of {} vs {} of {}",
        cite("base LSN", base),
        next.loglet,
        cite("sealed tail LSN", tail),
        prev.loglet
    );
    let (status, detail) = if base.value == tail.value {
        (Status::Holds, facts)
    } else {
        let off = i128::from(base.value) - i128::from(tail.value);
        (Status::Violates, format!("{facts}: off by {off:+}"))
    };
    Check {
        property,
        log_id,
        subject,
        status,
        detail,
    }
}

/// [`NOTHING_AFTER_SEAL`] for one segment: its known global tail and its members' local tails
/// after the seal against its sealed tail.
fn nothing_after_seal(log_id: u32, l: &Loglet) -> Check {
    let property = NOTHING_AFTER_SEAL;
    let subject = l.loglet.clone();
    let Some(sealed) = &l.sealed_tail_lsn else {
        return not_checked(property, log_id, subject, "a sealed tail LSN".to_string());
    };
    let Some(global) = &l.max_known_global_tail else {
        let needs = "a known global tail (a member's local tail past the sealed tail is no evidence: it may hold a record stored before its seal and never committed)".to_string();
        return not_checked(property, log_id, subject, needs);
    };
    if l.base_lsn.is_none() {
        let needs = "the base LSN (tails are loglet offsets)".to_string();
        return not_checked(property, log_id, subject, needs);
    }
    let lsn = |r: &Reading| l.lsn_of_offset(r.value).expect("the base LSN is known");
    let fact = format!(
        "{} = LSN {}",
        cite("known global tail", global),
        lsn(global)
    );
    let cited = cite("sealed tail LSN", sealed);
    // A sealed member may hold records past the sealed tail: stored before its seal, never
    // acknowledged (the sequencer's own copy of an append in flight), and cut off by the
    // seal. Whether its tail moved after its seal is the loglet model's to judge.
    let past: Vec<String> = l
        .local_tails_after_seal
        .iter()
        .filter(|(_, r)| lsn(r) > sealed.value)
        .map(|(node, r)| {
            format!(
                "{} = LSN {}",
                cite(&format!("{node}'s local tail after the seal"), r),
                lsn(r)
            )
        })
        .collect();
    let uncommitted = if past.is_empty() {
        String::new()
    } else {
        format!(
            "; past it, not committed (stored before the member's seal, cut off by it): {}",
            past.join(", ")
        )
    };
    let (status, detail) = if lsn(global) > sealed.value {
        (
            Status::Violates,
            format!("{fact} past {cited}{uncommitted}"),
        )
    } else {
        (Status::Holds, format!("{fact} within {cited}{uncommitted}"))
    };
    Check {
        property,
        log_id,
        subject,
        status,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcheck_model::observable::NodeId;
    use sealcheck_model::run_format::Material;

    fn reading(value: u64, from: &str) -> Option<Reading> {
        Some(Reading {
            value,
            from: from.to_string(),
        })
    }

    fn loglet(segment: u32, base: Option<u64>, sealed: Option<u64>) -> Loglet {
        Loglet {
            loglet: format!("0_{segment}"),
            log_id: 0,
            segment,
            file: format!("loglets/0_{segment}.jsonl"),
            nodeset: vec![1, 2, 3],
            replication: 2,
            sequencer: None,
            window_ms: None,
            base_lsn: base.and_then(|b| reading(b, "sql:1")),
            sealed_tail_lsn: sealed.and_then(|t| reading(t, "restatectl:2")),
            max_known_global_tail: None,
            local_tails_after_seal: BTreeMap::new(),
            offset_map: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn run(loglets: Vec<Loglet>) -> RunSummary {
        RunSummary {
            format: "sealcheck-run".into(),
            version: 1,
            source: "test".into(),
            material: Material::Full,
            notes: Vec::new(),
            drops: BTreeMap::new(),
            loglets,
            untranslated: Vec::new(),
        }
    }

    #[test]
    fn a_base_lsn_off_by_one_violates_and_cites_both_facts() {
        let checks = check(&run(vec![
            loglet(1, Some(4), None),
            loglet(0, Some(1), Some(3)),
        ]));
        let link = checks.iter().find(|c| c.subject == "0_0 -> 0_1").unwrap();
        assert_eq!(link.status, Status::Violates);
        assert_eq!(link.property, STARTS_AT_SEALED_TAIL);
        assert_eq!(
            link.detail,
            "base LSN 4 (sql:1) of 0_1 vs sealed tail LSN 3 (restatectl:2) of 0_0: off by +1"
        );
        assert_eq!(ChainVerdict::of(&checks), ChainVerdict::Violates);
    }

    #[test]
    fn missing_facts_are_not_checked_and_prove_nothing() {
        let checks = check(&run(vec![loglet(0, None, None), loglet(2, None, None)]));
        assert!(checks.iter().all(|c| c.status == Status::NotChecked));
        assert_eq!(
            checks[1].detail, "needs segment 0_1 (not in run.json)",
            "{checks:?}"
        );
        assert_eq!(ChainVerdict::of(&checks), ChainVerdict::NotChecked);
    }

    #[test]
    fn the_chain_is_checked_across_an_untranslated_loglet() {
        let mut r = run(vec![loglet(0, Some(1), Some(3)), loglet(2, Some(6), None)]);
        r.untranslated.push(Untranslated {
            loglet: "0_1".into(),
            needs: "inconclusive: needs a model step".into(),
            log_id: None,
            segment: None,
            base_lsn: reading(3, "sql:4"),
            sealed_tail_lsn: reading(5, "sql:8"),
            max_known_global_tail: None,
            local_tails_after_seal: BTreeMap::new(),
        });
        let checks = check(&r);
        let subjects: Vec<(&str, Status)> = checks
            .iter()
            .map(|c| (c.subject.as_str(), c.status))
            .collect();
        assert_eq!(
            subjects,
            [
                ("0_0", Status::NotChecked),
                ("0_0 -> 0_1", Status::Holds),
                ("0_1", Status::NotChecked),
                ("0_1 -> 0_2", Status::Violates),
                ("0_2", Status::NotChecked),
            ]
        );
        assert_eq!(
            checks[3].detail,
            "base LSN 6 (sql:1) of 0_2 vs sealed tail LSN 5 (sql:8) of 0_1: off by +1"
        );
    }

    #[test]
    fn a_committed_tail_past_the_seal_violates() {
        let mut l = loglet(0, Some(1), Some(3));
        l.max_known_global_tail = reading(4, "workers:5");
        let checks = check(&run(vec![l]));
        assert_eq!(checks[0].status, Status::Violates);
        assert_eq!(
            checks[0].detail,
            "known global tail 4 (workers:5) = LSN 4 past sealed tail LSN 3 (restatectl:2)"
        );
    }

    /// Recorded (steady-load-forced, loglet 0_3): the sequencer N1 stored a record that N2
    /// never got; the seal cut it off at the committed tail, and N1 kept it.
    #[test]
    fn an_uncommitted_record_past_the_seal_is_named_not_a_violation() {
        let mut l = loglet(0, Some(1), Some(3));
        l.max_known_global_tail = reading(3, "workers:5");
        l.local_tails_after_seal
            .insert(NodeId(2), reading(4, "workers:9").unwrap());
        let checks = check(&run(vec![l.clone()]));
        assert_eq!(checks[0].status, Status::Holds);
        assert_eq!(
            checks[0].detail,
            "known global tail 3 (workers:5) = LSN 3 within sealed tail LSN 3 (restatectl:2); past it, not committed (stored before the member's seal, cut off by it): N2's local tail after the seal 4 (workers:9) = LSN 4"
        );
        // Local tails alone prove nothing either way.
        l.max_known_global_tail = None;
        assert_eq!(check(&run(vec![l]))[0].status, Status::NotChecked);
    }
}
