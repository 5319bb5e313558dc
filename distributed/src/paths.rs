//! The path dataflow: after the exploration, each discovery's path is followed back through
//! the parent links, each hop a lookup sent to the owner of the fingerprint.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{ConnectLoop, Feedback, Probe};
use timely::dataflow::ProbeHandle;

use crate::fingerprint::{owner, Visited};

/// The messages of the path reconstruction. `dest` is the receiving worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum PathMsg {
    /// Look up `fp`'s link, the `step`-th from the end of discovery `target`'s path.
    Lookup {
        dest: u32,
        target: u32,
        fp: u64,
        step: u32,
    },
    /// The action index of step `step` (from the end) of discovery `target`'s path.
    Link {
        dest: u32,
        target: u32,
        step: u32,
        action: u32,
    },
}

impl PathMsg {
    fn dest(&self) -> u64 {
        match self {
            PathMsg::Lookup { dest, .. } | PathMsg::Link { dest, .. } => u64::from(*dest),
        }
    }
}

/// Follows parent links on one worker: answers the lookups of the fingerprints it owns.
struct PathFinder {
    visited: Rc<RefCell<Visited>>,
    peers: usize,
}

impl PathFinder {
    /// Looks up `fp`, the `step`-th state from the end of discovery `target`'s path: its
    /// action index goes to every worker, the lookup of its parent to the parent's owner.
    fn lookup(&self, target: u32, fp: u64, step: u32, out: &mut Vec<PathMsg>) {
        let link = *self
            .visited
            .borrow()
            .get(&fp)
            .expect("every discovered state and its ancestors are visited");
        for d in 0..self.peers {
            out.push(PathMsg::Link {
                dest: d as u32,
                target,
                step,
                action: link.action,
            });
        }
        if link.parent != 0 {
            out.push(PathMsg::Lookup {
                dest: owner(link.parent, self.peers) as u32,
                target,
                fp: link.parent,
                step: step + 1,
            });
        }
    }
}

/// Builds the path dataflow on `worker` for the discovered fingerprints `targets` (property
/// index, fingerprint). Every worker collects, in the returned list, (target index, step from
/// the end, action index) for every step of every path once the returned probe is done.
#[allow(clippy::type_complexity)]
pub(crate) fn dataflow(
    worker: &mut timely::worker::Worker,
    visited: Rc<RefCell<Visited>>,
    targets: Vec<(u32, u64)>,
) -> (ProbeHandle<u64>, Rc<RefCell<Vec<(u32, u32, u32)>>>) {
    let index = worker.index();
    let peers = worker.peers();
    let links: Rc<RefCell<Vec<(u32, u32, u32)>>> = Rc::new(RefCell::new(Vec::new()));
    let probe = ProbeHandle::new();
    let links_in = links.clone();
    let probe_in = probe.clone();
    let finder = PathFinder { visited, peers };
    worker.dataflow::<u64, _, _>(move |scope| {
        let (handle, stream) = scope.feedback(1u64);
        stream
            .unary_frontier(
                Exchange::new(|m: &PathMsg| m.dest()),
                "paths",
                move |cap0, _info| {
                    let mut first = Some(cap0);
                    move |(input, _frontier), output| {
                        let mut out = Vec::new();
                        if let Some(cap) = first.take() {
                            for (t, &(_, fp)) in targets.iter().enumerate() {
                                if owner(fp, peers) == index {
                                    finder.lookup(t as u32, fp, 0, &mut out);
                                }
                            }
                            let mut session = output.session(&cap);
                            for m in out.drain(..) {
                                session.give(m);
                            }
                        }
                        input.for_each(|cap, data| {
                            for m in data.drain(..) {
                                match m {
                                    PathMsg::Link {
                                        target,
                                        step,
                                        action,
                                        ..
                                    } => links_in.borrow_mut().push((target, step, action)),
                                    PathMsg::Lookup {
                                        target, fp, step, ..
                                    } => finder.lookup(target, fp, step, &mut out),
                                }
                            }
                            if let Some(cap) = cap.retain_least(output.output_index()) {
                                let mut session = output.session(&cap);
                                for m in out.drain(..) {
                                    session.give(m);
                                }
                            }
                        });
                    }
                },
            )
            .probe_with(&probe_in)
            .connect_loop(handle);
    });
    (probe, links)
}
