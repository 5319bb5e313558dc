//! Which model paths a campaign runs.
//!
//! A path can be run on the real cluster only if every step has a control in the
//! step-to-control table ([`sealcheck_recorder::reproduce::control_of`]): an operator action, a
//! party held paused, or a step the cluster takes by itself. For each scenario, one
//! breadth-first search over those steps only
//! ([`crate::shortest::shortest_paths_restricted`]) finds, for every step kind the table can
//! force or that happens by itself, a shortest path that ends with a step of that kind, and
//! for every property its shortest such counterexample (or example, for a `sometimes`
//! property). The campaign keeps every property path, then adds kind paths greedily (the one
//! that adds the most kinds not yet on a kept path, the shorter on a tie) until no kind that
//! some path reaches is missing, and orders the runs the same way, so that `--max-runs N`
//! runs the N paths that add the most.

use std::collections::BTreeSet;

use sealcheck_model::{Action, PropertyKind, SealModel};
use sealcheck_recorder::reproduce::{self as rr, Control};
use stateright::Model;

use crate::shortest::{self, SearchLimits, StepTarget, Target};
use crate::spec::Spec;

/// Unique states a scenario's search may visit (the campaign's scenarios have at most a few
/// hundred thousand).
pub const SEARCH_BUDGET: usize = 4_000_000;

/// Why a path is in the campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A shortest controllable path ending with a step of this kind.
    Kind(&'static str),
    /// A shortest controllable counterexample (or example) of this property. `shortest` is
    /// false when the property's shortest path over every step has a step no control forces
    /// (named), so the campaign runs a longer one.
    Property {
        /// The property.
        name: &'static str,
        /// `counterexample` or `example`.
        what: &'static str,
        /// Whether it is also the shortest path over all steps.
        shortest: bool,
    },
}

impl Reason {
    /// In words.
    pub fn text(&self) -> String {
        match self {
            Reason::Kind(k) => format!("takes step kind {k}"),
            Reason::Property {
                name,
                what,
                shortest: true,
            } => format!("shortest {what} of \"{name}\""),
            Reason::Property {
                name,
                what,
                shortest: false,
            } => format!("shortest {what} of \"{name}\" with controls only"),
        }
    }
}

/// A path the campaign runs.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// A short name, unique in the campaign: `SCENARIO-pN`.
    pub id: String,
    /// Index of its scenario in [`Selection::scenarios`].
    pub scenario: usize,
    /// The Explorer encoding (`0/3/0/0/0`).
    pub encoding: String,
    /// The path's actions.
    pub actions: Vec<Action>,
    /// Why it was chosen.
    pub reasons: Vec<Reason>,
    /// The step kinds along it.
    pub kinds: BTreeSet<&'static str>,
}

/// A scenario of the campaign.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// As the user named it (`the built-in scenario`, `specs/crash-restart.toml`).
    pub label: String,
    /// A short name for run ids.
    pub short: String,
    /// The scenario itself.
    pub spec: Spec,
    /// Its model.
    pub model: SealModel,
}

/// What was selected, and what could not be.
#[derive(Clone, Debug)]
pub struct Selection {
    /// The scenarios.
    pub scenarios: Vec<Scenario>,
    /// The paths, in run order.
    pub paths: Vec<Candidate>,
    /// The target kinds (the table can force them, or they happen by themselves), in the
    /// table's order.
    pub targets: Vec<&'static str>,
    /// Per scenario and property that has no path to run: why (it holds, or only steps no
    /// control forces reach it).
    pub unrunnable: Vec<String>,
}

/// The step kinds the campaign aims at: those whose table row has a control (not
/// [`Control::Cannot`]), in the table's order.
pub fn target_kinds() -> Vec<&'static str> {
    let (model, state) = rr::table_model();
    rr::step_kinds()
        .into_iter()
        .filter(|(_, a)| !matches!(rr::control_of(&model, &state, a), Control::Cannot(_)))
        .map(|(k, _)| k)
        .collect()
}

/// Whether a step can be made on the real cluster.
fn controllable(model: &SealModel, state: &sealcheck_model::State, a: &Action) -> bool {
    !matches!(rr::control_of(model, state, a), Control::Cannot(_))
}

/// Selects the campaign's paths over `scenarios` (each must be playable: three log servers,
/// all in the nodeset). `kinds_only` leaves the properties out.
pub fn select(scenarios: Vec<Scenario>, kinds_only: bool) -> Result<Selection, String> {
    let targets = target_kinds();
    let mut all: Vec<Candidate> = Vec::new();
    let mut unrunnable = Vec::new();
    for (si, sc) in scenarios.iter().enumerate() {
        let model = &sc.model;
        rr::plan(model, &[]).map_err(|e| format!("{}: {e}", sc.label))?;
        let props: Vec<_> = if kinds_only {
            Vec::new()
        } else {
            model.property_list().to_vec()
        };
        let state_targets: Vec<Target<'_, SealModel>> =
            props.iter().map(crate::explore::property_target).collect();
        let step_targets: Vec<StepTarget<'_, SealModel>> = targets
            .iter()
            .map(|k| {
                let k = *k;
                StepTarget {
                    name: k,
                    matches: Box::new(move |a: &Action| rr::step_kind(a) == k),
                }
            })
            .collect();
        let limits = SearchLimits::states(SEARCH_BUDGET);
        let found = shortest::shortest_paths_restricted(
            model,
            &state_targets,
            &step_targets,
            &controllable,
            &limits,
        );
        if let Some(stop) = found.stopped {
            return Err(format!(
                "{}: the search for controllable paths stopped ({stop}) after {} states",
                sc.label, found.visited
            ));
        }
        // The shortest paths over every step, to tell whether a property's controllable path
        // is also its shortest.
        let unrestricted = if props.is_empty() {
            None
        } else {
            Some(shortest::shortest_paths_within(
                model,
                &state_targets,
                &limits,
            ))
        };
        let mut add = |enc: String, actions: Vec<Action>, reason: Reason| {
            if let Some(c) = all
                .iter_mut()
                .find(|c| c.scenario == si && c.encoding == enc)
            {
                c.reasons.push(reason);
                return;
            }
            let kinds = actions.iter().map(rr::step_kind).collect();
            all.push(Candidate {
                id: String::new(),
                scenario: si,
                encoding: enc,
                actions,
                reasons: vec![reason],
                kinds,
            });
        };
        for p in &props {
            let what = match p.kind {
                PropertyKind::Sometimes => "example",
                _ => "counterexample",
            };
            let full = unrestricted.as_ref().and_then(|u| u.found.get(p.name));
            match (found.found.get(p.name), full) {
                (Some(path), full) => {
                    let shortest = full.is_some_and(|f| f.actions.len() == path.actions.len());
                    add(
                        path.encode(),
                        path.actions.clone(),
                        Reason::Property {
                            name: p.name,
                            what,
                            shortest,
                        },
                    );
                }
                (None, Some(full)) => {
                    let mut state = model.initial_state();
                    let mut why = String::from("a step no control forces");
                    for (i, a) in full.actions.iter().enumerate() {
                        if let Control::Cannot(c) = rr::control_of(model, &state, a) {
                            why = format!(
                                "step {} ({}): {c}",
                                i + 1,
                                sealcheck_model::describe::action(model, a)
                            );
                            break;
                        }
                        state = model.next_state(&state, a.clone()).expect("replays");
                    }
                    unrunnable.push(format!(
                        "{}: \"{}\": every {what} needs a step no control forces; the shortest ({}) at {why}",
                        sc.label,
                        p.name,
                        full.encode()
                    ));
                }
                (None, None) => {}
            }
        }
        for k in &targets {
            if let Some(path) = found.found.get(*k) {
                add(path.encode(), path.actions.clone(), Reason::Kind(k));
            }
        }
    }
    // Property paths are all kept; kind paths only where they add a kind.
    let (props, kinds): (Vec<Candidate>, Vec<Candidate>) = all.into_iter().partition(|c| {
        c.reasons
            .iter()
            .any(|r| matches!(r, Reason::Property { .. }))
    });
    let mut chosen = order_greedily(props, &BTreeSet::new());
    let covered: BTreeSet<&'static str> = chosen.iter().flat_map(|c| c.kinds.clone()).collect();
    let mut rest = kinds;
    let mut have = covered;
    loop {
        let best = rest
            .iter()
            .enumerate()
            .map(|(i, c)| (c.kinds.difference(&have).count(), c.actions.len(), i))
            .filter(|(gain, _, _)| *gain > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
        let Some((_, _, i)) = best else { break };
        let c = rest.remove(i);
        have.extend(c.kinds.iter().copied());
        chosen.push(c);
    }
    let mut paths = order_greedily(chosen, &BTreeSet::new());
    let mut per_scenario = vec![0usize; scenarios.len()];
    for c in &mut paths {
        per_scenario[c.scenario] += 1;
        c.id = format!(
            "{}-p{}",
            scenarios[c.scenario].short, per_scenario[c.scenario]
        );
    }
    Ok(Selection {
        scenarios,
        paths,
        targets,
        unrunnable,
    })
}

/// Orders paths so that each adds the most kinds not on the paths before it (the shorter, then
/// the earlier, on a tie).
fn order_greedily(mut list: Vec<Candidate>, start: &BTreeSet<&'static str>) -> Vec<Candidate> {
    let mut have = start.clone();
    let mut out = Vec::new();
    while !list.is_empty() {
        let (_, _, i) = list
            .iter()
            .enumerate()
            .map(|(i, c)| (c.kinds.difference(&have).count(), c.actions.len(), i))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)))
            .expect("not empty");
        let c = list.remove(i);
        have.extend(c.kinds.iter().copied());
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, spec: Spec) -> Scenario {
        let model = spec.config.clone().into_model().unwrap();
        Scenario {
            label: name.into(),
            short: name.into(),
            spec,
            model,
        }
    }

    #[test]
    fn every_path_has_controls_only_and_replays() {
        let sel = select(vec![scenario("incident", Spec::builtin())], false).unwrap();
        assert!(!sel.paths.is_empty());
        for c in &sel.paths {
            let sc = &sel.scenarios[c.scenario];
            let plan = rr::plan(&sc.model, &c.actions).unwrap();
            assert!(
                plan.steps
                    .iter()
                    .all(|s| !matches!(s.control, Control::Cannot(_))),
                "{}: {:?}",
                c.id,
                c.actions
            );
            let decoded = crate::follow::path_actions(&sc.model, &c.encoding).unwrap();
            assert_eq!(decoded, c.actions);
        }
    }

    #[test]
    fn the_incident_scenario_runs_its_counterexample_first() {
        let sel = select(vec![scenario("incident", Spec::builtin())], false).unwrap();
        let first = &sel.paths[0];
        assert_eq!(first.id, "incident-p1");
        // The race itself: the all-Provisioning refusal is on a property path.
        assert!(sel
            .paths
            .iter()
            .any(|c| c.kinds.contains("seal-refused-all-provisioning")
                && c.reasons
                    .iter()
                    .any(|r| matches!(r, Reason::Property { .. }))));
    }

    #[test]
    fn kinds_only_keeps_one_path_per_new_kind_and_no_property() {
        let sel = select(vec![scenario("incident", Spec::builtin())], true).unwrap();
        let mut have = BTreeSet::new();
        for c in &sel.paths {
            assert!(c.reasons.iter().all(|r| matches!(r, Reason::Kind(_))));
            assert!(
                c.kinds.difference(&have).count() > 0,
                "{} adds nothing",
                c.id
            );
            have.extend(c.kinds.iter().copied());
        }
    }

    #[test]
    fn the_targets_are_the_rows_with_a_control() {
        let t = target_kinds();
        for k in [
            "provisions",
            "seal-call",
            "seal-request-fails",
            "deliver",
            "crash",
        ] {
            assert!(t.contains(&k), "{k}");
        }
        for k in [
            "seal-request-to-sealer-fails",
            "lose",
            "sequencer-appends",
            "view-catches-up",
            "seeded-bug",
        ] {
            assert!(!t.contains(&k), "{k}");
        }
    }
}

#[cfg(test)]
mod steering_tests {
    use super::*;
    use std::path::Path;

    fn cluster_roles() -> SealModel {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/cluster-roles.toml");
        Spec::load(&p).unwrap().config.into_model().unwrap()
    }

    #[test]
    fn members_whose_seal_comes_after_a_kill_are_held_and_resumed_where_the_path_says() {
        let m = cluster_roles();
        // Seal call, Seal to N1, N3 crashes, find-tail assists, the assist's Seal to N2, the
        // assist completes.
        let path = crate::follow::path_actions(&m, "0/0/1/6/1/2/1").unwrap();
        let plan = rr::plan(&m, &path).unwrap();
        // The set-up puts the sequencer where the model runs it.
        assert_eq!(plan.sequencer, Some(3));
        assert_eq!(plan.steps[0].hold_until_delivered, vec![2, 3]);
        // N3 is killed while held; N2 (whose Seal of the call the path never delivers) is
        // resumed after the kill, before the find-tail reader asks it.
        assert_eq!(plan.steps[2].resume_after, vec![2]);
        // N2 is cut off, not paused: paused, it would handle the call's queued Seal once
        // resumed and the reader would find the loglet sealed.
        assert_eq!(plan.steps[0].cut_until_released, vec![2]);
        assert!(plan.steps.iter().all(|s| s.resume_before.is_empty()));
        assert!(plan.steps[3].wait_for_line);
        // Seal call, Seal to N1 and N2, N3 crashes, find-tail finds it sealed: N3 alone.
        let path = crate::follow::path_actions(&m, "0/0/1/1/6/1").unwrap();
        let plan = rr::plan(&m, &path).unwrap();
        assert_eq!(plan.steps[0].hold_until_delivered, vec![3]);
        assert!(plan.steps[3].resume_after.is_empty(), "killed, not resumed");
        assert!(plan.steps[0].cut_until_released.is_empty());
    }

    #[test]
    fn a_seal_with_no_driven_step_after_it_holds_nobody() {
        let m = cluster_roles();
        let path = crate::follow::path_actions(&m, "0/0/1/1/2/2/0/0").unwrap();
        let plan = rr::plan(&m, &path).unwrap();
        assert!(plan.steps.iter().all(|s| s.hold_until_delivered.is_empty()
            && s.resume_after.is_empty()
            && s.resume_before.is_empty()));
    }
}
