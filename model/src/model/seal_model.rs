//! The model itself: the scenario it was built from, the nodeset, its named properties, and the
//! questions about the cluster's shape that every party asks (which log servers are members,
//! which of them are writable or effective in a configuration). The steps live in one file per
//! party next to this one.

use std::sync::Arc;

use serde::Serialize;

use super::deadline::Deadline;
use crate::config::{Config, StorageState};
use crate::state::*;

/// The stateright model of one loglet's seal protocol, built from a [`Config`].
#[derive(Clone, Debug)]
pub struct SealModel {
    /// The scenario the model was built from ([`Config::into_model`]); the steps read their
    /// bounds and seeded bugs from it.
    pub cfg: Config,
    /// Nodeset membership as a bit set over log-server indices.
    pub nodeset: Bits,
    pub(super) properties: Vec<PropertyInfo>,
    pub(super) deadline: Option<Arc<Deadline>>,
    /// Whether every step forgets the reply bits of resolved appends ([`SealModel::forgetful`]).
    pub(super) forgetful: bool,
    /// Whether the known global tails of the log servers and of the requests and replies are
    /// abstracted ([`SealModel::with_abstract_tails`]).
    pub(super) abstract_tails: bool,
}

/// The three kinds of property stateright checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyKind {
    /// Safety: holds in every reachable state.
    Always,
    /// Reachability: holds in some reachable state.
    Sometimes,
    /// Liveness: holds at some point of every complete behaviour.
    Eventually,
}

impl PropertyKind {
    /// `always`, `sometimes` or `eventually`.
    pub fn name(self) -> &'static str {
        match self {
            PropertyKind::Always => "always",
            PropertyKind::Sometimes => "sometimes",
            PropertyKind::Eventually => "eventually",
        }
    }
}

/// A named property of the model (the catalogue is [`crate::properties`]). It is defined
/// beside [`SealModel`] because each holds the other: the model its list of properties, a
/// property a condition over the model.
#[derive(Clone, Debug)]
pub struct PropertyInfo {
    /// Its name, a short English phrase.
    pub name: &'static str,
    /// Whether stateright checks it as safety, reachability or liveness.
    pub kind: PropertyKind,
    /// The state predicate: for `always` it must hold in every state, for `sometimes` in
    /// some, for `eventually` in the end of every complete behaviour.
    pub condition: fn(&SealModel, &State) -> bool,
    /// The protocol clause it stands for (for reports and `--help`).
    pub about: &'static str,
    /// For `sometimes`: whether it guards the safety properties against passing vacuously
    /// (the check fails if it is never reached). Other reachability properties are observations:
    /// reported, and asserted only where the scenario lists them as `unreachable`.
    pub guard: bool,
}

impl PropertyInfo {
    /// Whether `state` is what a search for this property looks for: a state that violates an
    /// `always`, a state that satisfies a `sometimes`, a terminal state (one without successors,
    /// `terminal`) where an `eventually` condition does not hold. The conditions of `eventually`
    /// properties are stable once true ([`crate::properties`]), so a terminal state that breaks
    /// one is a counterexample. Every engine, the Explorer and validation ask this one question.
    pub fn is_target(&self, model: &SealModel, state: &State, terminal: bool) -> bool {
        match self.kind {
            PropertyKind::Always => !(self.condition)(model, state),
            PropertyKind::Sometimes => (self.condition)(model, state),
            PropertyKind::Eventually => terminal && !(self.condition)(model, state),
        }
    }
}

impl SealModel {
    /// The same model with a stop signal for exploration (see [`Deadline`]): it has one more
    /// property, [`STOP_PROPERTY`](super::deadline::STOP_PROPERTY), in
    /// [`stateright::Model::properties`] (not in [`SealModel::property_list`]).
    pub fn with_deadline(mut self, deadline: Arc<Deadline>) -> SealModel {
        self.deadline = Some(deadline);
        self
    }

    /// The same model, except that every step ends by clearing the `stored` and `sealed` reply
    /// bits of the resolved (acknowledged, rejected or cancelled) appends
    /// ([`AppendLog::forget_resolved_replies`]), so that a long pipeline's resolved appends collapse
    /// into a few runs. No step reads those bits once an append is resolved (the remote
    /// sequencer's reason to look for a seal is the sticky
    /// [`History::store_answered_sealed`]); only descriptions show them, and they say the
    /// replies were forgotten. Validation uses this model (its fingerprint ignores those bits
    /// anyway); model checking never does, so its states and counts keep every bit.
    pub fn forgetful(mut self) -> SealModel {
        self.forgetful = true;
        self
    }

    /// Whether the model forgets resolved appends' replies ([`SealModel::forgetful`]).
    pub fn is_forgetful(&self) -> bool {
        self.forgetful
    }

    /// An over-approximation of the model for validation: every step ends by clearing the
    /// known global tails the log servers hold and the requests and replies carry, and where
    /// one would be read, any value a run could have given it is allowed. A find-tail reader
    /// (the model's or another) then decides with any known global tail from 0 to
    /// [`SealModel::tail_bound`]. A store past a server's local tail but within that bound may
    /// be accepted or out of bounds depending on the tail the server knew: the abstract model
    /// accepts it, and validation does not trust the abstract search past such a step
    /// ([`SealModel::store_ambiguous`]). Every behaviour of the model is one of the abstract
    /// model's with the same labels, so a trace the abstract model cannot explain, the model
    /// cannot either. The sequencer's own known global tail stays exact: observations read it.
    pub fn with_abstract_tails(mut self) -> SealModel {
        self.abstract_tails = true;
        self
    }

    /// Whether the model abstracts known global tails ([`SealModel::with_abstract_tails`]).
    pub fn has_abstract_tails(&self) -> bool {
        self.abstract_tails
    }

    /// A bound no known global tail of `state` exceeds, in any party or message: every one is
    /// the sequencer's (acknowledged appends), a log server's local tail, or a tail a reader
    /// found, and none of these exceeds the appends made or the highest local tail.
    pub fn tail_bound(&self, state: &State) -> Offset {
        let tails = state
            .servers
            .iter()
            .map(|s| s.local_tail)
            .max()
            .unwrap_or(0);
        (state.client.appends.len() as Offset)
            .max(tails)
            .max(state.client.known_global_tail)
            .max(state.client.sealer_known_global_tail)
    }

    /// With abstract tails, whether the step `action` in `state` delivers a store whose answer
    /// depends on the known global tail its server has, which the abstract model does not
    /// keep: past the server's local tail, within [`SealModel::tail_bound`], to a server that
    /// does not answer Sealed.
    pub fn store_ambiguous(&self, state: &State, action: &crate::Action) -> bool {
        if !self.abstract_tails {
            return false;
        }
        let (msg, ignore_seal) = match action {
            crate::Action::Deliver(m) => (m, false),
            crate::Action::StoreIgnoringSeal(m) => (m, true),
            _ => return false,
        };
        let Msg::Store {
            to, offset, repair, ..
        } = msg
        else {
            return false;
        };
        let s = &state.servers[*to as usize];
        let sealed_answer = s.sealed && !(ignore_seal || *repair);
        !sealed_answer && *offset > s.local_tail && *offset <= self.tail_bound(state)
    }

    /// With abstract tails, clears the known global tails of the log servers and of the
    /// messages in flight (the end of every step).
    pub(super) fn forget_tails(&self, state: &mut State) {
        for s in &mut state.servers {
            s.known_global_tail = 0;
        }
        state.network = state.network.map_shared(|m| match m {
            Msg::Store {
                known_global_tail, ..
            }
            | Msg::Seal {
                known_global_tail, ..
            }
            | Msg::Sealed {
                known_global_tail, ..
            } => *known_global_tail = 0,
            _ => {}
        });
    }

    /// Whether log servers are interchangeable, so that [`State::representative`] is a sound
    /// symmetry reduction: every log server is in the nodeset (their initial storage states and
    /// forced flags are part of the state and permute with them).
    pub fn symmetric(&self) -> bool {
        self.members().count() == self.n() && self.cfg.cluster.is_none()
    }

    /// Whether the seal task and the sequencer run on different nodes ([`crate::Cluster`]).
    pub fn cluster(&self) -> bool {
        self.cfg.cluster.is_some()
    }

    /// The named properties this scenario checks, in report order.
    pub fn property_list(&self) -> &[PropertyInfo] {
        &self.properties
    }

    /// Looks a property up by its name.
    pub fn property_info(&self, name: &str) -> Option<&PropertyInfo> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The node id of log server `index` (N1 is index 0).
    pub fn server_id(&self, index: u8) -> u8 {
        index + 1
    }

    /// Number of log servers.
    pub fn n(&self) -> usize {
        self.cfg.log_servers as usize
    }

    /// Log-server indices of the nodeset, in order.
    pub fn members(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.n()).filter(|&i| has(self.nodeset, i))
    }

    /// Nodes of the nodeset the sequencer writes to in a given configuration (`can_write_to`).
    pub fn writable(&self, config: &[StorageState]) -> Bits {
        self.writable_counting(config, false)
    }

    /// Like [`SealModel::writable`], optionally counting Provisioning nodes as writable (the
    /// seeded bug `provisioning-writable`).
    pub fn writable_counting(&self, config: &[StorageState], provisioning_counts: bool) -> Bits {
        self.members()
            .filter(|&i| {
                config[i].can_write_to()
                    || (provisioning_counts && config[i] == StorageState::Provisioning)
            })
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// The effective nodeset in a configuration: the nodeset minus Disabled nodes.
    pub fn effective(&self, config: &[StorageState]) -> Bits {
        self.members()
            .filter(|&i| config[i] != StorageState::Disabled)
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// Stored replies an append needs before it is acknowledged.
    pub fn write_quorum(&self) -> usize {
        self.cfg.replication as usize
    }

    /// Whether every nodeset member looks Provisioning in a configuration (Restate
    /// `all_provisioning`, the guard of the seal and get-trim-point tasks).
    pub(super) fn all_provisioning(&self, config: &[StorageState]) -> bool {
        self.members()
            .all(|i| config[i] == StorageState::Provisioning)
    }

    /// Sends one message to each log server in `targets`.
    pub(super) fn send_to(&self, state: &mut State, targets: Bits, msg: impl Fn(u8) -> Msg) {
        for i in 0..self.n() {
            if has(targets, i) {
                state.send(msg(i as u8));
            }
        }
    }
}
