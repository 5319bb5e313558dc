//! Path following: does a recorded trace have an explanation that takes the steps of a model
//! path, in order?
//!
//! `sealcheck reproduce` drives a real cluster along a path of the model (a counterexample,
//! say) and records it. Validation ([`crate::validate`]) says whether *some* behaviour of the
//! model explains the recording; this module asks the narrower question: is there an
//! explanation whose steps contain the path's steps as a subsequence, in the path's order (other
//! steps may come before, between and after them: the cluster's start-up, the set-up moves, the
//! aftermath)?
//!
//! # The search
//!
//! A depth-first search over the trace's own model ([`crate::validate::model_for`] without the
//! seeded-bug steps) whose nodes are (state, items explained, path steps taken). A step explains
//! trace items exactly as in validation: its labels ([`sealcheck_model::observable::labels`]) must
//! match the next events in order, a label of a kind the trace logs completely must be matched,
//! the others may stay unlogged; an observation is consumed by a state that satisfies it. A step
//! equal to the next path step advances the path (taking it at its first chance is never worse
//! for a subsequence; [`same_step`] says when two steps are the same). Properties are *not* required to hold: a reproduction may pass through
//! moves the protocol forbids (a forced storage-state change), and validation reports those.
//!
//! The search keeps the explanation of the whole trace that took the most path steps. The path
//! is *followed* when one takes them all. A step the best explanation took is
//! [`StepStatus::Reproduced`] when one of its labels matched a trace event (the item is named),
//! [`StepStatus::Unlogged`] when it was taken without a logged label (the recording cannot show
//! it: it is inferred); the steps after the last one taken are [`StepStatus::NotObserved`].
//!
//! # Bounds
//!
//! Visited (state, item, path step) triples are not searched twice; the search stops after
//! `max_states` generated states, `max_hidden` unlogged steps in a row, or `timeout`. A search
//! that stopped is [`FollowVerdict::Inconclusive`] unless it already found an explanation that
//! takes every path step: a cut search never claims that a step was not observed.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sealcheck_model::observable::{labels, Event};
use sealcheck_model::{Action, SealModel, State};
use serde::Serialize;
use stateright::Model;

use crate::exit::Exit;
use crate::trace_reader::{Header, Item, TraceItem};
use crate::validate::reduce::canonical_fingerprint;
use crate::validate::{model_for, At};

/// Bounds of a path-following search.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Most states generated in all.
    pub max_states: usize,
    /// Most unlogged steps in a row between two trace items.
    pub max_hidden: u32,
    /// Wall-clock bound of the search (`None`: unbounded); past it the verdict is inconclusive
    /// unless every path step was already taken.
    pub timeout: Option<Duration>,
    /// When the path started (in the trace's `t` unit): a path step may only be taken once
    /// every item before this time is explained, so that a step the set-up took (a log
    /// server's first self-provisioning at start-up) does not pass for the path's.
    pub path_starts_at: Option<f64>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            max_states: 2_000_000,
            max_hidden: 40,
            timeout: Some(Duration::from_secs(60)),
            path_starts_at: None,
        }
    }
}

/// What became of one path step.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum StepStatus {
    /// The explanation took the step, and one of its labels matched this trace event.
    Reproduced {
        /// The trace event that shows it.
        at: At,
    },
    /// The explanation took the step without a logged label: the recording is consistent
    /// with it but does not show it.
    Unlogged,
    /// No explanation of the trace took this step after the steps before it.
    NotObserved,
}

impl StepStatus {
    /// One word for reports.
    pub fn word(&self) -> &'static str {
        match self {
            StepStatus::Reproduced { .. } => "reproduced",
            StepStatus::Unlogged => "unlogged",
            StepStatus::NotObserved => "not observed",
        }
    }
}

/// One path step and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// 1-based position on the path.
    pub step: usize,
    /// The step in words (the model's description).
    pub description: String,
    /// What the search found.
    #[serde(flatten)]
    pub status: StepStatus,
}

/// The verdict of a path-following search.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum FollowVerdict {
    /// An explanation of the whole trace takes every path step in order.
    Follows,
    /// The best explanation of the whole trace takes only the first `taken` path steps.
    Partly {
        /// Path steps taken, in order, by the best explanation.
        taken: usize,
    },
    /// No behaviour of the model explains the whole trace (validate says where).
    Unexplained,
    /// A bound stopped the search before it found an explanation that takes every step.
    Inconclusive {
        /// Which bound stopped it, with its value (`max_states`, `max_hidden` or the time limit).
        reason: String,
        /// Path steps the best explanation found so far takes.
        taken: usize,
    },
}

impl FollowVerdict {
    /// Exit status: holds when the path is followed, violated when partly or unexplained,
    /// incomplete when inconclusive.
    pub fn exit_code(&self) -> Exit {
        match self {
            FollowVerdict::Follows => Exit::Holds,
            FollowVerdict::Partly { .. } | FollowVerdict::Unexplained => Exit::Violated,
            FollowVerdict::Inconclusive { .. } => Exit::Incomplete,
        }
    }
}

/// The result of a path-following search.
#[derive(Clone, Debug, Serialize)]
pub struct FollowReport {
    /// Whether the path is followed (flattened into the report's JSON object).
    #[serde(flatten)]
    pub verdict: FollowVerdict,
    /// One entry per path step.
    pub steps: Vec<StepResult>,
    /// The best explanation of the whole trace (its actions in words), if one was found.
    pub explanation: Vec<String>,
    /// The same explanation as actions of the trace's model.
    #[serde(skip)]
    pub explanation_actions: Vec<Action>,
    /// Per action of the explanation: whether one of its labels matched a trace event (false:
    /// taken unlogged).
    #[serde(skip)]
    pub explanation_logged: Vec<bool>,
    /// States generated.
    pub states: usize,
}

/// A node of the search: where it is, and its parent link.
struct Node {
    state: State,
    /// Trace items explained.
    k: usize,
    /// Path steps taken.
    p: usize,
    hidden: u32,
    link: usize,
}

/// A parent link: the parent's link, the action, the items it consumed (first index, count)
/// and whether it advanced the path.
struct Link {
    parent: usize,
    action: Option<Action>,
    first_item: usize,
    consumed: usize,
    advanced: bool,
}

/// Possible numbers of items (from `k` on) a step with these labels consumes (0: unlogged).
fn consumptions(header: &Header, labels: &[Event], items: &[TraceItem], k: usize) -> Vec<usize> {
    crate::validate::label_consumptions(header, labels, |j| items.get(k + j))
}

/// Searches for an explanation of `items` (a trace with `header`) that takes `path`'s steps in
/// order. `path` is a list of actions of a model of the same shape (node indices mean the same
/// log servers). See the module documentation.
pub fn follow(
    header: &Header,
    items: &[TraceItem],
    path: &[Action],
    opts: &FollowOptions,
) -> FollowReport {
    // The first item at or after the path's start; path steps are taken from there on.
    let first = match opts.path_starts_at {
        None => 0,
        Some(t0) => items
            .iter()
            .position(|i| i.t.is_some_and(|t| t >= t0))
            .unwrap_or(items.len()),
    };
    let mut follower = Follower {
        model: model_for(header, false),
        header,
        items,
        path,
        opts,
        first,
        start: Instant::now(),
        links: vec![Link {
            parent: 0,
            action: None,
            first_item: 0,
            consumed: 0,
            advanced: false,
        }],
        states: 0,
        stopped: None,
    };
    let best = follower.search();
    follower.report(best)
}

/// One path-following search: the trace, the path, the bounds, and what the search has
/// generated so far (parent links, states, the bound that stopped it).
struct Follower<'a> {
    /// The trace's own model (no seeded-bug steps).
    model: SealModel,
    header: &'a Header,
    items: &'a [TraceItem],
    path: &'a [Action],
    opts: &'a FollowOptions,
    /// The first item path steps may be taken at.
    first: usize,
    start: Instant,
    links: Vec<Link>,
    states: usize,
    /// Why the search stopped before it explored everything, if it did.
    stopped: Option<String>,
}

impl Follower<'_> {
    /// The depth-first search: returns the explanation of the whole trace that took the most
    /// path steps, as (path steps taken, link), if one was found.
    fn search(&mut self) -> Option<(usize, usize)> {
        let mut visited: HashSet<(u64, usize, usize)> = HashSet::new();
        let mut stack = vec![Node {
            state: self.model.initial_state(),
            k: 0,
            p: 0,
            hidden: 0,
            link: 0,
        }];
        let mut best: Option<(usize, usize)> = None;
        while let Some(node) = stack.pop() {
            if let Some(reason) = self.bound_passed() {
                self.stopped = Some(reason);
                break;
            }
            if !visited.insert((
                canonical_fingerprint(&self.model, &node.state),
                node.k,
                node.p,
            )) {
                continue;
            }
            if node.k == self.items.len() && ends_here(&self.model, self.header, &node.state) {
                if best.is_none_or(|(p, _)| node.p > p) {
                    best = Some((node.p, node.link));
                }
                if node.p == self.path.len() {
                    break;
                }
            }
            let (later, sooner) = self.expand(&node);
            // The stack pops the last push: steps that advance the path or explain items
            // first.
            stack.extend(later);
            stack.extend(sooner);
        }
        best
    }

    /// The `max_states` or time bound, if the search has passed it.
    fn bound_passed(&self) -> Option<String> {
        if self.states >= self.opts.max_states {
            return Some(format!(
                "{} states generated (max_states)",
                self.opts.max_states
            ));
        }
        if self.opts.timeout.is_some_and(|t| self.start.elapsed() >= t) {
            return Some(format!(
                "time limit of {} s",
                self.opts.timeout.unwrap_or_default().as_secs_f64()
            ));
        }
        None
    }

    /// The children of a node: (later, sooner), where sooner are the steps that advance the
    /// path or explain items (and the node itself past an observation it satisfies), later
    /// the other unlogged steps. Notes a `max_hidden` cut in `stopped`.
    fn expand(&mut self, node: &Node) -> (Vec<Node>, Vec<Node>) {
        let (model, items) = (&self.model, self.items);
        let mut later = Vec::new();
        let mut sooner = Vec::new();
        let observation = match items.get(node.k) {
            Some(TraceItem {
                item: Item::Observe(o),
                ..
            }) => Some(o),
            _ => None,
        };
        if observation.is_some_and(|o| o.holds(model, &node.state)) {
            sooner.push(Node {
                state: node.state.clone(),
                k: node.k + 1,
                p: node.p,
                hidden: 0,
                link: node.link,
            });
        }
        let mut actions = Vec::new();
        model.actions(&node.state, &mut actions);
        for a in actions {
            let Some(next) = model.next_state(&node.state, a.clone()) else {
                continue;
            };
            self.states += 1;
            let advanced =
                node.k >= self.first && self.path.get(node.p).is_some_and(|b| same_step(b, &a));
            let ls = labels(model, &node.state, &a, &next);
            for m in consumptions(self.header, &ls, items, node.k) {
                if m == 0 && node.hidden >= self.opts.max_hidden {
                    let max_hidden = self.opts.max_hidden;
                    self.stopped.get_or_insert_with(|| {
                        format!(
                            "{max_hidden} unlogged steps in a row (max_hidden) at item {}",
                            node.k
                        )
                    });
                    continue;
                }
                // Tails and seal flags never move back: a state past what the next
                // observation sees cannot explain it.
                if m == 0 && observation.is_some_and(|o| !o.may_still_hold(model, &next)) {
                    continue;
                }
                self.links.push(Link {
                    parent: node.link,
                    action: Some(a.clone()),
                    first_item: node.k,
                    consumed: m,
                    advanced,
                });
                let child = Node {
                    state: next.clone(),
                    k: node.k + m,
                    p: node.p + usize::from(advanced),
                    hidden: if m == 0 { node.hidden + 1 } else { 0 },
                    link: self.links.len() - 1,
                };
                if advanced || m > 0 {
                    sooner.push(child);
                } else {
                    later.push(child);
                }
            }
        }
        (later, sooner)
    }

    /// The report on the best explanation (path steps taken, link): the verdict, each path
    /// step's status and the explanation's actions, walked back from its last link.
    fn report(self, best: Option<(usize, usize)>) -> FollowReport {
        let (model, items, links) = (&self.model, self.items, &self.links);
        let taken = best.map(|(p, _)| p).unwrap_or(0);
        let verdict = match (best, &self.stopped) {
            (Some((p, _)), _) if p == self.path.len() => FollowVerdict::Follows,
            (_, Some(reason)) => FollowVerdict::Inconclusive {
                reason: reason.clone(),
                taken,
            },
            (Some((p, _)), None) => FollowVerdict::Partly { taken: p },
            (None, None) => FollowVerdict::Unexplained,
        };
        // Walk the best explanation back: which link took each path step, and what it
        // consumed.
        let mut chain = Vec::new();
        if let Some((_, mut link)) = best {
            while link != 0 {
                chain.push(link);
                link = links[link].parent;
            }
            chain.reverse();
        }
        let mut steps: Vec<StepResult> = self
            .path
            .iter()
            .enumerate()
            .map(|(i, a)| StepResult {
                step: i + 1,
                description: sealcheck_model::describe::action(model, a),
                status: StepStatus::NotObserved,
            })
            .collect();
        let mut p = 0;
        let mut explanation = Vec::new();
        let mut explanation_actions = Vec::new();
        let mut explanation_logged = Vec::new();
        for &l in &chain {
            let link = &links[l];
            let a = link.action.as_ref().expect("non-root link");
            explanation_actions.push(a.clone());
            explanation_logged.push(link.consumed > 0);
            explanation.push(sealcheck_model::describe::action(model, a));
            if link.advanced {
                steps[p].status = if link.consumed > 0 {
                    let idx = link.first_item;
                    StepStatus::Reproduced {
                        at: At {
                            index: idx,
                            line: items[idx].line,
                            text: items[idx].text.clone(),
                        },
                    }
                } else {
                    StepStatus::Unlogged
                };
                p += 1;
            }
        }
        FollowReport {
            verdict,
            steps,
            explanation,
            explanation_actions,
            explanation_logged,
            states: self.states,
        }
    }
}

/// Whether two steps are the same step of the protocol: equal, except for the tails a
/// message carries (its sender's known global tail, a reply's local tail) and the tail a
/// find-tail reader finds sealed, which are not compared. The real loglet holds records the
/// path's model never appended (a partition's own), so a reply's tails differ from the
/// path's while the step (who sends what to whom, in which seal call, with which status) is
/// the same.
pub fn same_step(a: &Action, b: &Action) -> bool {
    fn key(a: &Action) -> Action {
        use sealcheck_model::state::Msg;
        let strip = |m: &Msg| match m.clone() {
            Msg::Seal { to, attempt, .. } => Msg::Seal {
                to,
                attempt,
                known_global_tail: 0,
            },
            Msg::Sealed {
                from,
                attempt,
                status,
                sealed,
                ..
            } => Msg::Sealed {
                from,
                attempt,
                status,
                local_tail: 0,
                known_global_tail: 0,
                sealed,
            },
            Msg::Store {
                to, offset, repair, ..
            } => Msg::Store {
                to,
                offset,
                known_global_tail: 0,
                repair,
            },
            Msg::Stored {
                from,
                offset,
                status,
                sealed,
                ..
            } => Msg::Stored {
                from,
                offset,
                status,
                local_tail: 0,
                sealed,
            },
        };
        match a {
            Action::Deliver(m) => Action::Deliver(strip(m)),
            Action::Lose(m) => Action::Lose(strip(m)),
            Action::Duplicate(m) => Action::Duplicate(strip(m)),
            Action::StoreIgnoringSeal(m) => Action::StoreIgnoringSeal(strip(m)),
            // The tail a find-tail reader returns is the loglet's, records included.
            Action::FindTailFindsSealed(_) => Action::FindTailFindsSealed(0),
            other => other.clone(),
        }
    }
    a == b || key(a) == key(b)
}

/// Whether a behaviour may end in `s`: always, unless the run is complete (then nothing may
/// be enabled).
fn ends_here(model: &SealModel, header: &Header, s: &State) -> bool {
    if !header.run_complete {
        return true;
    }
    let mut acts = Vec::new();
    model.actions(s, &mut acts);
    acts.is_empty()
}

/// The actions of an Explorer path (`0/3/0/0/0`) of `model`, or an error naming the step that
/// does not replay.
pub fn path_actions(model: &SealModel, text: &str) -> Result<Vec<Action>, String> {
    let indices = crate::shortest::parse_path(text).map_err(|e| e.to_string())?;
    crate::shortest::decode(model, &indices).map_err(|e| format!("{}: {e}", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace_reader::TraceReader;

    fn incident_model() -> SealModel {
        crate::spec::Spec::builtin()
            .config
            .into_model()
            .expect("built-in")
    }

    fn read(text: &str) -> (Header, Vec<TraceItem>) {
        let r =
            TraceReader::from_reader("t.jsonl", Box::new(std::io::Cursor::new(text.to_string())))
                .expect("header");
        let h = r.header().clone();
        let items = r.collect::<Result<Vec<_>, _>>().expect("items");
        (h, items)
    }

    const HEADER: &str = r#"{"format":"sealcheck-trace","version":1,"config":{"log_servers":3,"nodeset":[1,2,3],"replication":2,"client":9,"harness":{"kind":"seal-once"}},"complete":["provisioned","seal-started","seal-rejected","seal-completed","seal-failed"]}"#;

    #[test]
    fn the_incident_trace_follows_the_incident_path_and_a_reordered_one_does_not() {
        let model = incident_model();
        let path = path_actions(&model, "0/3/0/0/0").unwrap();
        assert_eq!(path.len(), 4);
        let trace = format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n",
            r#"{"event":"seal-rejected","node":"N9","reason":"all-provisioning"}"#,
            r#"{"event":"provisioned","node":"N1"}"#,
            r#"{"event":"provisioned","node":"N2"}"#,
            r#"{"event":"provisioned","node":"N3"}"#,
        );
        let (h, items) = read(&trace);
        let r = follow(&h, &items, &path, &FollowOptions::default());
        assert_eq!(r.verdict, FollowVerdict::Follows, "{r:?}");
        for (i, s) in r.steps.iter().enumerate() {
            match &s.status {
                StepStatus::Reproduced { at } => assert_eq!(at.index, i),
                other => panic!("step {} {other:?}", i + 1),
            }
        }
        // N2 provisions before N1 in this run: the path's order is not followed past step 1.
        let swapped = format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n",
            r#"{"event":"seal-rejected","node":"N9","reason":"all-provisioning"}"#,
            r#"{"event":"provisioned","node":"N2"}"#,
            r#"{"event":"provisioned","node":"N1"}"#,
            r#"{"event":"provisioned","node":"N3"}"#,
        );
        let (h, items) = read(&swapped);
        let r = follow(&h, &items, &path, &FollowOptions::default());
        assert_eq!(r.verdict, FollowVerdict::Partly { taken: 2 }, "{r:?}");
        assert!(matches!(r.steps[1].status, StepStatus::Reproduced { .. }));
        assert_eq!(r.steps[2].status, StepStatus::NotObserved);
        assert_eq!(r.steps[3].status, StepStatus::NotObserved);
    }

    #[test]
    fn unlogged_path_steps_are_inferred_not_reproduced() {
        let model = incident_model();
        // The example of "a seal fails for lack of confirmations": N1 provisions, seal, the
        // requests to N2 and N3 fail, N1 confirms, the seal fails.
        let search = crate::shortest::shortest_paths(
            &model,
            &[crate::explore::property_target(
                model
                    .property_info("a seal fails for lack of confirmations")
                    .unwrap(),
            )],
            1_000_000,
        );
        let path = search.found["a seal fails for lack of confirmations"]
            .actions
            .clone();
        let trace = format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n{}\n",
            r#"{"event":"provisioned","node":"N1"}"#,
            r#"{"event":"seal-started","node":"N9"}"#,
            r#"{"event":"seal-request-failed","node":"N9","peer":"N2"}"#,
            r#"{"event":"seal-request-failed","node":"N9","peer":"N3"}"#,
            r#"{"event":"seal-failed","node":"N9"}"#,
        );
        let (h, items) = read(&trace);
        let r = follow(&h, &items, &path, &FollowOptions::default());
        assert_eq!(r.verdict, FollowVerdict::Follows, "{r:?}");
        let words: Vec<&str> = r.steps.iter().map(|s| s.status.word()).collect();
        assert_eq!(
            words,
            [
                "reproduced",
                "reproduced",
                "reproduced",
                "reproduced",
                "unlogged",
                "reproduced"
            ]
        );
    }

    #[test]
    fn path_steps_before_the_path_start_do_not_count() {
        let model = incident_model();
        // N1 provisions at start-up (t 1), then again after the path started (t 10): with
        // the start given, the path's first step is the second one.
        let path = vec![Action::LogServerProvisions(0)];
        let mut cfg = sealcheck_model::Config::incident();
        cfg.client = 9;
        cfg.faults.operator_moves = 1;
        cfg.faults.operator_force = true;
        cfg.faults.crashes = 1;
        let h = Header::generated(cfg, "test", false);
        let header = serde_json::to_string(&h).unwrap();
        let trace = format!(
            "{header}\n{}\n{}\n{}\n{}\n{}\n",
            r#"{"t":1,"event":"provisioned","node":"N1"}"#,
            r#"{"t":5,"event":"storage-state-set","node":"N1","to":"provisioning"}"#,
            r#"{"t":6,"event":"crashed","node":"N1"}"#,
            r#"{"t":7,"event":"restarted","node":"N1"}"#,
            r#"{"t":10,"event":"provisioned","node":"N1"}"#,
        );
        let (h, items) = read(&trace);
        let r = follow(&h, &items, &path, &FollowOptions::default());
        assert!(matches!(&r.steps[0].status, StepStatus::Reproduced { at } if at.index == 0));
        let opts = FollowOptions {
            path_starts_at: Some(8.0),
            ..FollowOptions::default()
        };
        let r = follow(&h, &items, &path, &opts);
        assert_eq!(r.verdict, FollowVerdict::Follows, "{r:?}");
        assert!(matches!(&r.steps[0].status, StepStatus::Reproduced { at } if at.index == 4));
        let _ = model;
    }

    #[test]
    fn a_trace_no_behaviour_explains_is_unexplained() {
        let model = incident_model();
        let path = path_actions(&model, "0/3/0/0/0").unwrap();
        let trace = format!(
            "{HEADER}\n{}\n",
            r#"{"event":"seal-completed","node":"N9","max_local_tail":0}"#
        );
        let (h, items) = read(&trace);
        let r = follow(&h, &items, &path, &FollowOptions::default());
        assert_eq!(r.verdict, FollowVerdict::Unexplained);
        assert!(r.steps.iter().all(|s| s.status == StepStatus::NotObserved));
    }

    #[test]
    fn a_cut_search_is_inconclusive_not_a_verdict() {
        let model = incident_model();
        let path = path_actions(&model, "0/3/0/0/0").unwrap();
        let trace = format!("{HEADER}\n{}\n", r#"{"event":"provisioned","node":"N3"}"#);
        let (h, items) = read(&trace);
        let opts = FollowOptions {
            max_states: 3,
            ..FollowOptions::default()
        };
        let r = follow(&h, &items, &path, &opts);
        assert!(
            matches!(r.verdict, FollowVerdict::Inconclusive { .. }),
            "{r:?}"
        );
    }
}
