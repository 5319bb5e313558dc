//! The seal task, every rule of it in one place. The harness calls `seal()` (at most
//! `max_attempts` times with the `retry` harness, once otherwise); the task checks its guard on
//! the client's snapshot (every nodeset member Provisioning: it fails with the retryable
//! `SealFailed`), then sends `Seal` to the effective nodeset (the nodeset minus Disabled
//! nodes). A log server that gets `Seal` durably seals and answers `Sealed`. Each request is
//! tried [`SEAL_REQUEST_ATTEMPTS`] times; a member whose request or reply is gone and which
//! serves again gets it re-sent, and a member that never confirms is given up. The task
//! succeeds once an f-majority (`max(N - R, 0) + 1` of the N members not Disabled) confirmed;
//! then the local sequencer drains. It fails (`SealFailed`, insufficient confirmations) once
//! no member is pending without that. Replies that can no longer count are dropped.
//!
//! The remote sequencer's seal check and a find-tail reader's assisting seal judge "sealed" by
//! the same f-majority over durably sealed, serving members ([`SealModel::f_majority_sealed`]).
//! [`f_majority_check`] is the checker's own f-majority test (Restate's `NodeSetChecker`,
//! written independently of the task's counting), which the property "a seal completes only
//! with an f-majority of confirmations" applies when the task reports success.

use super::action::Action;
use super::seal_model::SealModel;
use crate::config::{Bug, HarnessKind, StorageState};
use crate::state::*;

/// Attempts of one Seal request per member and seal task: `Attempts::exact(3)` in Restate's
/// `tasks/seal.rs`.
pub const SEAL_REQUEST_ATTEMPTS: u8 = 3;

impl SealModel {
    /// Confirmations a seal task needs over an effective nodeset of `effective` nodes.
    pub fn seal_quorum(&self, effective: usize) -> usize {
        self.cfg.f_majority(effective)
    }

    /// Whether a seal task whose nodes-configuration snapshot is `view` may report success
    /// once the members in `confirmed` answered: an f-majority of the effective nodeset
    /// (members not Disabled) confirmed, `max(n - R, 0) + 1` of them. DataLoss members count
    /// (Restate's `SuccessWithRisk` passes).
    pub fn seal_task_passes(&self, view: &[StorageState], confirmed: Bits) -> bool {
        let effective = self.effective(view);
        count(confirmed & effective) >= self.seal_quorum(count(effective))
    }

    /// The known global tail the seal task stamps on its requests and raises from replies: the
    /// sequencer's own without separate roles, the admin node's in a cluster.
    pub fn sealer_known_global_tail(&self, state: &State) -> Offset {
        if self.cluster() {
            state.client.sealer_known_global_tail
        } else {
            state.client.known_global_tail
        }
    }

    /// Whether a seal task that is not the harness's (the remote sequencer's check, a
    /// find-tail assist) finds the loglet sealed: an f-majority of the effective nodeset in the
    /// client's snapshot is durably sealed and serving.
    pub(super) fn f_majority_sealed(&self, state: &State) -> bool {
        let view = state.client_view();
        let sealed_serving = self
            .members()
            .filter(|&i| state.servers[i].sealed && state.servers[i].process == Process::Serving)
            .fold(0, |acc, i| acc | (1 << i));
        self.seal_task_passes(view, sealed_serving & self.effective(view))
    }

    /// How many times the harness calls `seal()`.
    fn max_seal_calls(&self) -> u8 {
        match self.cfg.harness.kind {
            HarnessKind::Retry => self.cfg.harness.max_attempts,
            _ => 1,
        }
    }

    /// Whether the harness calls `seal()` now: ready, no task running, calls left, the local
    /// sequencer still open, and the harness's wait over (or the test body already started).
    fn harness_may_call_seal(&self, state: &State) -> bool {
        let c = &state.client;
        if c.harness != HarnessPhase::Ready || c.seal.is_some() || !c.joined {
            return false;
        }
        if c.attempts >= self.max_seal_calls() {
            return false;
        }
        // Without other nodes' seals only the harness's own seal closes its sequencer; with
        // them the loglet may be sealed before the harness calls, and the call still runs.
        if c.sequencer != SequencerPhase::Open
            && !self.cluster()
            && self.cfg.faults.other_seals == 0
        {
            return false;
        }
        // The wait comes before the test body; with get_trim_point the body already started.
        self.cfg.harness.get_trim_point || self.harness_wait_over(state)
    }

    /// Guards of the seal task: the harness's call (rejected by the all-Provisioning guard or
    /// passing it), each pending member's request failing or being re-sent, and the seeded
    /// bug `seal-one-confirmation`.
    pub(super) fn seal_task_actions(&self, state: &State, actions: &mut Vec<Action>) {
        if self.harness_may_call_seal(state) {
            let all_provisioning = self.all_provisioning(state.client_view());
            actions.push(if all_provisioning {
                Action::SealRejectedAllProvisioning
            } else {
                Action::HarnessCallsSeal
            });
        }
        let Some(task) = &state.client.seal else {
            return;
        };
        for (i, m) in task.members.iter().enumerate() {
            let pending = *m == Some(MemberSeal::Pending);
            let serving = state.servers[i].process == Process::Serving;
            let lost = Self::seal_request_lost(state, i);
            // A request fails after its attempts when its member is not serving, when it or
            // its reply was lost, or (a bounded fault) when a serving member is too slow.
            if pending && (!serving || lost || state.timeouts_left > 0) {
                actions.push(Action::SealRequestFails(i as u8));
            }
            if pending && task.sends[i] < SEAL_REQUEST_ATTEMPTS && serving && lost {
                actions.push(Action::SealRequestResent(i as u8));
            }
        }
        if self.cfg.has_bug(Bug::SealOneConfirmation) {
            let confirmed = task
                .members
                .iter()
                .filter(|m| **m == Some(MemberSeal::Confirmed))
                .count();
            if confirmed >= 1 && confirmed < self.seal_quorum(task.effective as usize) {
                actions.push(Action::SealTaskCompletesEarly);
            }
        }
    }

    /// Effects of the seal task's steps.
    pub(super) fn apply_seal_task(&self, state: &mut State, action: Action) {
        match action {
            Action::HarnessCallsSeal => self.harness_calls_seal(state),
            Action::SealRejectedAllProvisioning => {
                state.client.attempts += 1;
                state.history.seal_rejected_all_provisioning = true;
                self.seal_call_failed(state);
            }
            Action::SealRequestFails(i) => self.seal_request_fails(state, i),
            Action::SealRequestResent(i) => {
                let task = state.client.seal.as_mut().expect("a task");
                task.sends[i as usize] += 1;
                let attempt = task.attempt;
                let kgt = self.sealer_known_global_tail(state);
                state.send(Msg::Seal {
                    to: i,
                    attempt,
                    known_global_tail: kgt,
                });
            }
            Action::SealTaskCompletesEarly => self.seal_task_succeeded(state),
            _ => unreachable!("not a step of the seal task: {action:?}"),
        }
    }

    /// Effect of [`Action::HarnessCallsSeal`]: a new task over the effective nodeset of the
    /// client's snapshot, and `Seal` to each member of it.
    fn harness_calls_seal(&self, state: &mut State) {
        state.client.attempts += 1;
        state.client.harness = HarnessPhase::Sealing;
        let view = state.client_view().to_vec();
        let effective = self.effective(&view);
        let attempt = state.client.attempts;
        let members = (0..self.n())
            .map(|i| has(effective, i).then_some(MemberSeal::Pending))
            .collect();
        state.client.seal = Some(SealTask {
            attempt,
            members,
            effective: count(effective) as u8,
            max_local_tail: 0,
            sends: (0..self.n()).map(|i| has(effective, i) as u8).collect(),
        });
        let kgt = self.sealer_known_global_tail(state);
        self.send_to(state, effective, |to| Msg::Seal {
            to,
            attempt,
            known_global_tail: kgt,
        });
        if count(effective) == 0 {
            self.seal_call_failed(state);
        }
    }

    /// Effect of [`Action::SealRequestFails`]: the task gives the member up (a timeout of a
    /// serving member uses up a fault), then settles.
    fn seal_request_fails(&self, state: &mut State, i: u8) {
        if state.servers[i as usize].process == Process::Serving
            && !Self::seal_request_lost(state, i as usize)
        {
            state.timeouts_left -= 1;
            if self.cfg.sequencer_index() == Some(i) {
                state.client.sequencer_silent = true;
            }
        }
        let task = state
            .client
            .seal
            .as_mut()
            .expect("enabled only with a task");
        let attempt = task.attempt;
        task.members[i as usize] = Some(MemberSeal::GaveUp);
        // A request to a server that is not serving never left (no connection); one
        // written to the connection of a serving but slow server may still be handled
        // later: a failed seal is not a no-op.
        if state.servers[i as usize].process != Process::Serving {
            state.network.retain_packets(|p| {
                !matches!(p.first(), Msg::Seal { to, attempt: a, .. } if *to == i && *a == attempt)
            });
        }
        self.settle_seal_task(state);
    }

    /// Whether the seal request to member `i` and its reply are both gone from the network.
    fn seal_request_lost(state: &State, i: usize) -> bool {
        let Some(task) = &state.client.seal else {
            return false;
        };
        let attempt = task.attempt;
        let i = i as u8;
        // Seal and Sealed messages are packets of their own.
        !state.network.packets().iter().any(|p| match p.first() {
            Msg::Seal { to, attempt: a, .. } => *to == i && *a == attempt,
            Msg::Sealed {
                from, attempt: a, ..
            } => *from == i && *a == attempt,
            _ => false,
        })
    }

    /// A log server handles `Seal`: it raises its known global tail, durably seals, and
    /// answers `Sealed`.
    pub(super) fn log_server_seals(
        &self,
        state: &mut State,
        to: u8,
        attempt: u8,
        known_global_tail: Offset,
    ) {
        let s = &mut state.servers[to as usize];
        s.known_global_tail = s.known_global_tail.max(known_global_tail);
        // Written with a sync write before `Sealed` goes out.
        s.sealed = true;
        let reply = Msg::Sealed {
            from: to,
            attempt,
            status: Status::Ok,
            local_tail: s.local_tail,
            known_global_tail: s.known_global_tail,
            sealed: true,
        };
        state.send(reply);
    }

    /// The seal task hears a `Sealed` reply: a confirmation from a member it waits for in this
    /// attempt counts, raises the sealer's known global tail, and may settle the task.
    pub(super) fn seal_task_hears(&self, state: &mut State, reply: Msg) {
        let Msg::Sealed {
            from,
            attempt,
            status,
            local_tail,
            known_global_tail,
            sealed,
        } = reply
        else {
            unreachable!("the seal task hears only Sealed");
        };
        let Some(task) = state.client.seal.as_mut() else {
            return; // the task is gone: the reply is dropped
        };
        if task.attempt != attempt || task.members[from as usize] != Some(MemberSeal::Pending) {
            return;
        }
        if !(status == Status::Ok || sealed) {
            return;
        }
        task.members[from as usize] = Some(MemberSeal::Confirmed);
        task.max_local_tail = task.max_local_tail.max(local_tail);
        let kgt = if self.cluster() {
            &mut state.client.sealer_known_global_tail
        } else {
            &mut state.client.known_global_tail
        };
        *kgt = (*kgt).max(known_global_tail);
        self.settle_seal_task(state);
    }

    /// Ends the seal task once its outcome is known: success as soon as enough members
    /// confirmed, failure (`SealFailed`, insufficient confirmations) once no member is pending.
    fn settle_seal_task(&self, state: &mut State) {
        let Some(task) = &state.client.seal else {
            return;
        };
        let confirmed = task
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| **m == Some(MemberSeal::Confirmed))
            .fold(0 as Bits, |acc, (i, _)| acc | (1 << i));
        let pending = task.members.contains(&Some(MemberSeal::Pending));
        let view = Self::task_view(state);
        if confirmed != 0 && self.seal_task_passes(&view, confirmed) {
            self.seal_task_succeeded(state);
        } else if !pending {
            state.history.seal_failed_insufficient = true;
            self.seal_call_failed(state);
        }
    }

    /// The storage states the running seal task judges its f-majority by: the client's
    /// snapshot, with the task's effective nodeset fixed when it started (a member outside it
    /// reads Disabled; a member inside it that became Disabled since stays a candidate).
    fn task_view(state: &State) -> Vec<StorageState> {
        let mut view = state.client_view().to_vec();
        if let Some(task) = &state.client.seal {
            for (i, m) in task.members.iter().enumerate() {
                match m {
                    None => view[i] = StorageState::Disabled,
                    Some(_) if view[i] == StorageState::Disabled => {
                        view[i] = StorageState::Provisioning
                    }
                    Some(_) => {}
                }
            }
        }
        view
    }

    /// The task reports success: the f-majority check of the durably sealed members is
    /// recorded for the properties, and the local sequencer drains (in a cluster the admin's
    /// `seal()` just returns).
    fn seal_task_succeeded(&self, state: &mut State) {
        let durably_sealed = self
            .members()
            .filter(|&i| state.servers[i].sealed)
            .fold(0 as Bits, |acc, i| acc | (1 << i));
        let config = Self::task_view(state);
        let states: Vec<StorageState> = self.members().map(|i| config[i]).collect();
        let sealed: Vec<bool> = self.members().map(|i| has(durably_sealed, i)).collect();
        let check = f_majority_check(&states, &sealed, self.cfg.replication);
        state.history.seal_succeeded_with.get_or_insert(check);
        state.client.seal = None;
        if self.cluster() {
            // The admin's sequencer is remote: nothing to drain here; seal() returns.
            state.client.harness = HarnessPhase::Succeeded;
        } else {
            // The local sequencer drains; seal() returns once it sealed. Another node's seal
            // may have drained it already (or be draining it).
            match state.client.sequencer {
                SequencerPhase::Open => state.client.sequencer = SequencerPhase::Draining,
                SequencerPhase::Sealed(_) => state.client.harness = HarnessPhase::Succeeded,
                SequencerPhase::Draining | SequencerPhase::Crashed => {}
            }
        }
    }

    /// After a failed `seal()`: retry if the harness does and may, else the test fails.
    fn seal_call_failed(&self, state: &mut State) {
        let c = &mut state.client;
        c.seal = None;
        c.harness = if self.cfg.harness.kind == HarnessKind::Retry
            && c.attempts < self.cfg.harness.max_attempts
        {
            HarnessPhase::Ready
        } else {
            HarnessPhase::Failed
        };
    }

    /// Drops `Sealed` replies for a seal call that is over or a member it no longer waits
    /// for. Delivering such a reply changes nothing but the network, so keeping it only
    /// multiplies states that behave the same (a standard reduction; it removes no behaviour a
    /// property or an observation can tell apart).
    pub(super) fn drop_stale_sealed(state: &mut State) {
        let seal = &state.client.seal;
        state.network.retain_packets(|p| match p.first() {
            Msg::Sealed { from, attempt, .. } => seal.as_ref().is_some_and(|t| {
                t.attempt == *attempt && t.members[*from as usize] == Some(MemberSeal::Pending)
            }),
            _ => true,
        });
    }
}

/// How one member's storage state takes part in an f-majority check: whether it is a
/// candidate at all, and whether its answer is authoritative. Written from the rules of
/// Restate's `NodeSetChecker` and `StorageState`, independently of the model's own code.
fn f_majority_role(state: StorageState) -> (bool, bool) {
    use StorageState::*;
    match state {
        // An unknown node id reads as Provisioning: authoritative.
        Provisioning => (true, true),
        ReadWrite => (true, true),
        ReadOnly => (true, true),
        Gone => (true, true),
        // Counted, but not authoritative.
        DataLoss => (true, false),
        // Not part of the effective nodeset.
        Disabled => (false, false),
    }
}

/// The f-majority check of a nodeset under replication `{node: R}`: `states[i]` is member
/// i's storage state, `matched[i]` whether it has the attribute (here: durably sealed).
/// The candidates are the members that are not Disabled; `max(candidates - R, 0) + 1` of them
/// must match (at least one, so an empty effective nodeset never passes).
pub fn f_majority_check(states: &[StorageState], matched: &[bool], replication: u8) -> FMajority {
    let mut candidates = 0usize;
    let mut authoritative = 0usize;
    let mut matched_auth = 0usize;
    let mut matched_other = 0usize;
    for (st, m) in states.iter().zip(matched) {
        let (candidate, auth) = f_majority_role(*st);
        if !candidate {
            continue;
        }
        candidates += 1;
        if auth {
            authoritative += 1;
        }
        if *m {
            if auth {
                matched_auth += 1;
            } else {
                matched_other += 1;
            }
        }
    }
    let needed = if candidates > replication as usize {
        candidates - replication as usize + 1
    } else {
        1
    };
    if matched_auth + matched_other >= needed {
        if matched_auth >= needed {
            FMajority::Success
        } else {
            FMajority::SuccessWithRisk
        }
    } else if matched_auth == authoritative {
        FMajority::BestEffort
    } else {
        FMajority::None
    }
}
