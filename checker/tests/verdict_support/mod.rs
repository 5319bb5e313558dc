//! Helpers shared by the tests that compare two searches' verdicts (`abstract_tails`,
//! `reductions_agree`).

use sealcheck::validate::Verdict;

/// The verdict in a form two searches must agree on: its word, the item and the property;
/// `None` for a verdict a bound decided (rejected or inconclusive).
pub fn gist(v: &Verdict) -> Option<String> {
    match v {
        Verdict::Conforms { .. } => Some("conforms".into()),
        Verdict::Diverges { at, .. } => Some(format!("diverges at {}", at.index)),
        Verdict::Violates { property, at, .. } => {
            Some(format!("violates {property:?} at {}", at.index))
        }
        _ => None,
    }
}
