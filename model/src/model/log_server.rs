//! A log server: it provisions itself at startup (writes its storage marker and moves itself
//! Provisioning -> ReadWrite by a compare-and-set on the metadata store, in one step or, with
//! `provisioning_steps`, in three), stores records, and crashes and restarts (a bounded fault;
//! what is durable survives). How it handles `Seal` is a rule of the seal task
//! ([`super::seal_task`]).

use super::action::Action;
use super::seal_model::SealModel;
use crate::config::{Bug, StorageState};
use crate::state::*;

impl SealModel {
    /// Guards of provisioning: a starting server provisions (after its marker with
    /// `provisioning_steps`), writes its marker, or starts its request pump.
    pub(super) fn provisioning_actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (i, s) in state.servers.iter().enumerate() {
            if s.process == Process::Starting && (s.marker || !self.cfg.provisioning_steps) {
                actions.push(Action::LogServerProvisions(i as u8));
            }
        }
        if self.cfg.provisioning_steps {
            for (i, s) in state.servers.iter().enumerate() {
                if s.process == Process::Starting && !s.marker {
                    actions.push(Action::LogServerWritesMarker(i as u8));
                }
                if s.process == Process::NotReady {
                    actions.push(Action::LogServerStartsRequestPump(i as u8));
                }
            }
        }
    }

    /// Effects of the provisioning steps.
    pub(super) fn apply_provisioning(&self, state: &mut State, action: Action) {
        match action {
            Action::LogServerProvisions(i) => {
                let idx = i as usize;
                if state.latest()[idx] == StorageState::Provisioning {
                    state.servers[idx].marker = true;
                    let mut config = state.latest().to_vec();
                    config[idx] = StorageState::ReadWrite;
                    self.publish(state, config);
                    state.servers[idx].process = if self.cfg.provisioning_steps {
                        Process::NotReady
                    } else {
                        Process::Serving
                    };
                } else {
                    // The compare-and-set expected Provisioning: the server refuses to start.
                    state.servers[idx].process = Process::Refused;
                }
            }
            Action::LogServerWritesMarker(i) => state.servers[i as usize].marker = true,
            Action::LogServerStartsRequestPump(i) => {
                state.servers[i as usize].process = Process::Serving
            }
            _ => unreachable!("not a provisioning step: {action:?}"),
        }
    }

    /// Guards of the process faults: a running server may crash while crashes are left; a
    /// crashed one restarts.
    pub(super) fn crash_actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (i, s) in state.servers.iter().enumerate() {
            if state.crashes_left > 0
                && matches!(
                    s.process,
                    Process::Serving | Process::Starting | Process::NotReady
                )
            {
                actions.push(Action::LogServerCrashes(i as u8));
            }
            if s.process == Process::Down {
                actions.push(Action::LogServerRestarts(i as u8));
            }
        }
    }

    /// Effect of [`Action::LogServerCrashes`]: connections break, and a sequencer on the node
    /// dies with it.
    pub(super) fn log_server_crashes(&self, state: &mut State, i: u8) {
        state.crashes_left -= 1;
        // The known global tail is persisted by the log store and reloaded on restart.
        state.servers[i as usize].process = Process::Down;
        // Connections break: whatever was in flight to or from it is gone.
        state.network.retain_packets(|p| p.server() != i);
        if self.cfg.sequencer_index() == Some(i) {
            self.sequencer_node_crashed(state);
        }
    }

    /// Effect of [`Action::LogServerRestarts`]: what it does next depends on the storage state
    /// the metadata store shows and on its marker.
    pub(super) fn log_server_restarts(&self, state: &mut State, i: u8) {
        let idx = i as usize;
        let storage = state.latest()[idx];
        let s = &mut state.servers[idx];
        s.process = match storage {
            StorageState::Provisioning => Process::Starting,
            StorageState::ReadWrite | StorageState::ReadOnly if s.marker => Process::Serving,
            StorageState::Gone => Process::Serving,
            _ => Process::Refused,
        };
    }

    /// How a log server in state `server` answers `Store(offset)` carrying the sender's known
    /// global tail: Sealed once durably sealed (unless the seeded bug ignores the seal),
    /// OutOfBounds past what it can accept (stores arrive in order), else Ok.
    pub fn store_status(
        server: &LogServer,
        offset: Offset,
        known_global_tail: Offset,
        ignore_seal: bool,
    ) -> Status {
        let kgt = server.known_global_tail.max(known_global_tail);
        if server.sealed && !ignore_seal {
            Status::Sealed
        } else if offset > server.local_tail.max(kgt) {
            Status::OutOfBounds
        } else {
            Status::Ok
        }
    }

    /// Guard of the seeded bug `store-after-seal`, asked for each deliverable `Store`: a
    /// durably sealed server may store it anyway ([`Action::StoreIgnoringSeal`]).
    pub(super) fn may_store_ignoring_seal(&self, state: &State, msg: &Msg) -> bool {
        matches!(msg, Msg::Store { to, .. }
            if self.cfg.has_bug(Bug::StoreAfterSeal) && state.servers[*to as usize].sealed)
    }

    /// Effect of [`Action::StoreIgnoringSeal`].
    pub(super) fn store_ignoring_seal(&self, state: &mut State, msg: Msg) {
        state.take(&msg);
        if let Msg::Store {
            to,
            offset,
            known_global_tail,
            ..
        } = msg
        {
            self.handle_store(state, to, offset, known_global_tail, true, false);
        }
    }

    /// A log server handles `Store`: `ignore_seal` for a tail repair's store (`repair`) and
    /// under the seeded bug. A repair store is answered to the repair task, which the model
    /// does not wait on, so its answer is dropped.
    pub(super) fn handle_store(
        &self,
        state: &mut State,
        to: u8,
        offset: Offset,
        known_global_tail: Offset,
        ignore_seal: bool,
        repair: bool,
    ) {
        let provisioning = state.latest()[to as usize] == StorageState::Provisioning;
        let status = Self::store_status(
            &state.servers[to as usize],
            offset,
            known_global_tail,
            ignore_seal,
        );
        let s = &mut state.servers[to as usize];
        s.known_global_tail = s.known_global_tail.max(known_global_tail);
        let status = if status != Status::Ok {
            status
        } else if !ignore_seal && offset < s.local_tail {
            // A duplicate of a record below the local tail: answered Ok without writing
            // (`loglet_worker.rs`, the full-duplicate fast path).
            Status::Ok
        } else {
            if s.sealed && !repair {
                state.history.stored_after_seal.get_or_insert(to);
            }
            if provisioning {
                state.history.stored_while_provisioning.get_or_insert(to);
            }
            let s = &mut state.servers[to as usize];
            s.stored.insert(offset);
            s.local_tail = s.local_tail.max(offset + 1);
            Status::Ok
        };
        if repair {
            return;
        }
        let s = &state.servers[to as usize];
        let reply = Msg::Stored {
            from: to,
            offset,
            status,
            local_tail: s.local_tail,
            sealed: s.sealed,
        };
        state.send(reply);
    }
}
