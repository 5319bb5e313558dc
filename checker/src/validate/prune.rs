//! Pruning by later observations (module essay, "Pruning by later observations"): which
//! states can no longer explain an observation ahead of the next item, because tails and seal
//! flags never move back, a tail never passes the scenario's appends, unlogged steps alone
//! reach only so far, and logged seal events bound each other.

use sealcheck_model::config::StorageState;
use sealcheck_model::observable::{
    Event, MemberStatus, NodeId, NodesetStatus, Observation, RejectReason,
};
use sealcheck_model::state::{
    FindTail, HarnessPhase, MemberSeal, Msg, Offset, SequencerPhase, Status,
};
use sealcheck_model::{SealModel, State};

use super::context::Context;
use super::reduce::reader_may_query;
use crate::trace_reader::{Item, TraceItem};

/// Whether an observation holds in no state at all: a log server's tail past the scenario's
/// number of appends (offsets are below it, and a store moves a tail to its offset plus one).
pub(super) fn never_holds(model: &SealModel, o: &Observation) -> bool {
    matches!(
        o,
        Observation::ObserveLogServer {
            local_tail: Some(t),
            ..
        } if *t > model.cfg.appends
    )
}

/// Whether a tail repair may still write past a seal in this scenario (a find-tail reader of
/// a cluster, or other nodes' repairs): only then, seeded bugs aside, can a sealed server's
/// tail still grow.
pub(super) fn repairs_possible(cfg: &sealcheck_model::Config) -> bool {
    cfg.cluster.is_some() || cfg.faults.other_repairs > 0
}

/// Whether the harness's seal task can still end as a logged `seal-completed` that reports
/// `max_local_tail` `k` with the members `status` names confirming (module essay, "Pruning by
/// later observations"): `started` if the task the item ends is the one running in `state`,
/// otherwise it is still to start. A member's confirmation reports its local tail when it
/// handled the Seal (an answer in flight carries it), never below its tail now; the task's
/// highest reported tail only grows, and the outcome reports the highest of the answers
/// counted and of those of the call that leave the network as it ends. So the state is past
/// the item when the task already heard a tail above `k`, when a pending member the item
/// reports `S` can only answer with a tail above `k`, or when no member can answer with
/// exactly `k` (a sealed server's tail stays, unless a tail repair may still write to it).
pub(super) fn completion_may_match(
    model: &SealModel,
    state: &State,
    k: Offset,
    status: Option<&NodesetStatus>,
    started: bool,
) -> bool {
    let reported = |i: usize| -> Option<bool> {
        status.and_then(|st| {
            st.get(&NodeId(i as u8 + 1))
                .map(|m| *m == MemberStatus::Sealed)
        })
    };
    let repairs = repairs_possible(&model.cfg);
    let task = state.client.seal.as_ref();
    let mut source = false;
    if started {
        let Some(task) = task else {
            return true;
        };
        if task.max_local_tail > k {
            return false;
        }
        source = task.max_local_tail == k;
    }
    // Any member may be the source of the reported tail: the outcome's tail also counts the
    // answers of this call that leave the network in the step that ends the task, whoever
    // sent them. Only a member the item reports `S`, still pending, must answer at most `k`.
    for i in model.members() {
        let pending = match (started, task) {
            (true, Some(task)) => {
                task.members.get(i).copied().flatten() == Some(MemberSeal::Pending)
            }
            _ => true,
        };
        let Some(srv) = state.servers.get(i) else {
            return true;
        };
        let grows = !srv.sealed || repairs;
        let mut can_k = srv.local_tail == k || (grows && srv.local_tail < k);
        let mut lowest = srv.local_tail;
        if let (true, Some(task)) = (started, task) {
            // Seal and Sealed messages are packets of their own.
            for p in state.network.packets() {
                if let Msg::Sealed {
                    from,
                    attempt,
                    local_tail,
                    ..
                } = p.first()
                {
                    if *from as usize == i && *attempt == task.attempt {
                        can_k |= *local_tail == k;
                        lowest = lowest.min(*local_tail);
                    }
                }
            }
        }
        if pending && reported(i) == Some(true) && lowest > k {
            return false;
        }
        source |= can_k;
    }
    source
}

/// Whether, in a behaviour that takes no seeded-bug step, a log server the observation sees
/// with a tail above its own can no longer reach it: it is sealed, and no tail repair may
/// still write to it (a sealed server answers stores `Sealed` without storing them; only the
/// seeded `store-after-seal` stores past a seal).
pub(super) fn clean_tail_stuck(model: &SealModel, state: &State, o: &Observation) -> bool {
    let Observation::ObserveLogServer {
        node,
        local_tail: Some(t),
        ..
    } = o
    else {
        return false;
    };
    let repairs = repairs_possible(&model.cfg);
    (node.0 as usize)
        .checked_sub(1)
        .and_then(|i| state.servers.get(i))
        .is_some_and(|s| s.sealed && s.local_tail < *t && !repairs)
}

/// The first harness `seal-completed` of `window` that reports a tail and that `state` can
/// no longer reach ([`completion_may_match`]), as an index into `window`: the item must end
/// the task running in `state`, or the one a `seal-started` right before it (among the
/// harness's seal events) starts when none runs; otherwise nothing is claimed. Only when
/// the trace logs every start, refusal and failure of the harness's tasks (`logged`), so
/// that no task the window does not show can end or begin before the item.
pub(super) fn completion_dead(
    model: &SealModel,
    state: &State,
    window: &[TraceItem],
    logged: impl Fn(&str) -> bool,
) -> Option<usize> {
    if !(logged("seal-started") && logged("seal-failed") && logged("seal-rejected")) {
        return None;
    }
    let mut started = true;
    for (k, item) in window.iter().enumerate() {
        let Item::Event(e) = &item.item else {
            continue;
        };
        match e {
            Event::SealStarted { .. } if started && state.client.seal.is_none() => started = false,
            Event::SealCompleted {
                max_local_tail: Some(t),
                status,
                ..
            } => {
                return (!completion_may_match(model, state, *t, status.as_ref(), started))
                    .then_some(k);
            }
            Event::SealStarted { .. }
            | Event::SealCompleted { .. }
            | Event::SealFailed { .. }
            | Event::SealRejected { .. } => return None,
            _ => {}
        }
    }
    None
}

impl Context<'_> {
    /// Whether unlogged steps alone can lead from `state` to a state the observation sees (the
    /// bounds of the module essay, "Pruning by later observations"): a log server's tail can
    /// only reach the offset after the highest store in flight to it, or the scenario's number
    /// of appends if appends may still happen unlogged; its seal flag can only be set by a Seal
    /// request in flight to it, one the running seal task may re-send to it, or, if starting a
    /// seal is unlogged, a seal the harness may still start.
    pub(super) fn reachable_unlogged(&self, o: &Observation, state: &State) -> bool {
        if !o.may_still_hold(self.model, state) {
            return false;
        }
        let Observation::ObserveLogServer {
            node,
            local_tail,
            sealed,
        } = o
        else {
            return true;
        };
        let Some(i) = (node.0 as usize).checked_sub(1) else {
            return false;
        };
        let Some(srv) = state.servers.get(i) else {
            return false;
        };
        let (repair_left, assist_left) = self.finder_may_act(state);
        if let Some(t) = local_tail {
            if *t > self.tail_bound(state, i, srv.local_tail, repair_left) {
                return false;
            }
        }
        if *sealed == Some(true) && !srv.sealed {
            let in_flight = state
                .network
                .packets()
                .iter()
                .any(|p| matches!(p.first(), Msg::Seal { to, .. } if *to as usize == i));
            let resend = state
                .client
                .seal
                .as_ref()
                .is_some_and(|t| t.members.get(i) == Some(&Some(MemberSeal::Pending)));
            let call = !self.header.is_complete("seal-started")
                && matches!(
                    state.client.harness,
                    HarnessPhase::Ready | HarnessPhase::TrimPoint
                );
            // Another node's seal task may still start unlogged.
            let other = !self.header.is_complete("other-seal-started")
                && state.client.other_seals.started < self.model.cfg.faults.other_seals;
            if !(in_flight || resend || call || assist_left || other) {
                return false;
            }
        }
        true
    }

    /// Cluster only: whether a find-tail reader that has not returned (or another reader,
    /// `faults.other_repairs`) may still start, unlogged, a tail repair (stores of offsets some
    /// member holds, so below the scenario's appends) and an assist (Seal requests to the
    /// effective nodeset). The reader queries the log servers only once the sequencer's node
    /// crashed or let a request time out.
    fn finder_may_act(&self, state: &State) -> (bool, bool) {
        let may_query = self.model.cfg.cluster.is_some() && reader_may_query(state);
        let finder_may_act = may_query && !matches!(state.client.finder, FindTail::Sealed(_));
        // Another reader's repair may start (unlogged) whatever the model's reader did.
        let other_repair_left = may_query
            && state.client.other_repairs.started < self.model.cfg.faults.other_repairs
            && !self.header.is_complete("other-repair-started");
        let repair_left = (finder_may_act && !self.header.is_complete("tail-repair-started"))
            || other_repair_left;
        let assist_left = finder_may_act
            && state.client.finder == FindTail::Idle
            && !self.header.is_complete("seal-assist-started");
        (repair_left, assist_left)
    }

    /// The highest tail server `i` (now at `local_tail`) can reach by unlogged steps: the
    /// offset after the highest store in flight to it, or the scenario's appends if appends
    /// (or a tail repair) may still happen unlogged.
    fn tail_bound(&self, state: &State, i: usize, local_tail: Offset, repair_left: bool) -> Offset {
        let appends_left = repair_left
            || (!self.header.is_complete("append")
                && state.client.sequencer == SequencerPhase::Open
                && state.client.appends.len() < self.model.cfg.appends as usize);
        let mut ub = local_tail;
        if appends_left {
            ub = ub.max(self.model.cfg.appends);
        }
        if let Some(o) = state.network.max_store_to(i as u8) {
            ub = ub.max(o + 1);
        }
        ub
    }

    /// Whether no unlogged step can change what the observation sees: storage states change
    /// only when a log server provisions itself (`provisioned`; a refused provisioning changes
    /// nothing) or the operator sets one (`storage-state-set`), so when both are logged
    /// completely, the empty set is a stubborn set for an observation of a storage state.
    pub(super) fn unlogged_blind(&self, o: &Observation) -> bool {
        matches!(o, Observation::ObserveStorageState { .. })
            && self.header.is_complete("provisioned")
            && self.header.is_complete("storage-state-set")
    }

    /// The first observation or logged seal event of the window after the `m` items a step
    /// consumes, before the absolute index `prune_before`, that `state` is already past
    /// (absolute index, `base` being the window's first item), if any.
    pub(super) fn dead_ahead(
        &self,
        state: &State,
        window: &[TraceItem],
        base: usize,
        m: usize,
        prune_before: usize,
    ) -> Option<usize> {
        if prune_before <= base + m {
            return None;
        }
        let mut bounds = Ahead::new(self, state);
        for (k, item) in window.iter().enumerate().skip(m) {
            if base + k >= prune_before {
                break;
            }
            let ahead = k >= m.max(1);
            let dead = match &item.item {
                Item::Event(e) => bounds.event(e, ahead),
                Item::Observe(o) => bounds.observation(o, state, ahead),
            };
            if dead {
                return Some(base + k);
            }
        }
        None
    }
}

/// What the items ahead of a state force on it, raised item by item: lower bounds of each
/// server's tail and seal flag (the state's, raised by every observation it must still
/// explain, in order: tails and flags never go back) and what the logged seal events passed so
/// far allow.
struct Ahead<'c, 'a> {
    cx: &'c Context<'a>,
    /// Servers tracked (at most 16).
    n: usize,
    tail: [Offset; 16],
    sealed: [bool; 16],
    /// Whether a logged event before the observation may send a store or a seal request.
    sends: bool,
    /// Whether a seal task runs (or a logged `seal-started` before this point starts one).
    task: bool,
    /// The lowest tail the task's members can report, once `seal-started` was passed.
    floor: Option<Offset>,
    /// Whether the sequencer must still be Open: it may leave Open only after a logged
    /// `seal-completed` before this point.
    open: bool,
    /// Cluster: no server can be sealed yet, so every store is answered Ok (see
    /// [`Ahead::cluster_quiet`]).
    quiet: bool,
    members: Vec<usize>,
    /// Servers the window has shown holding every append while `quiet`.
    full: [bool; 16],
    /// Some member looks other than Provisioning in the client's view and in every newer
    /// configuration, and no forced operator move is left: no view the client can still
    /// reach has every member Provisioning (the state is never re-entered without `--force`),
    /// so no seal task can be refused for it.
    provisioning_gone: bool,
    /// Log servers whose storage state in the latest configuration is not Provisioning,
    /// while no forced operator move is left: none of them can provision itself again.
    provisioned_for_good: [bool; 16],
}

impl<'c, 'a> Ahead<'c, 'a> {
    /// The bounds `state` itself sets, before any item ahead.
    fn new(cx: &'c Context<'a>, state: &State) -> Self {
        let n = state.servers.len().min(16);
        let mut tail: [Offset; 16] = [0; 16];
        let mut sealed = [false; 16];
        for (i, s) in state.servers.iter().take(n).enumerate() {
            tail[i] = s.local_tail;
            sealed[i] = s.sealed;
        }
        let logged = |k: &str| cx.header.is_complete(k);
        // In a cluster the remote sequencer may also learn the seal from a store of its own
        // answered Sealed, before the admin's task reports; it can no more once every append
        // is made and resolved without such an answer (replies to resolved appends change
        // nothing), and then the rule holds there too.
        let learns_only_from_the_task = cx.model.cfg.cluster.is_none()
            || (state.client.appends.len() == cx.model.cfg.appends as usize
                && !state.history.store_answered_sealed
                && state.client.appends.all(|a| !a.in_flight()));
        // Another node's seal may close the sequencer without any `seal-completed`; and once
        // the harness's seal succeeded (the step that reached `state` may be the one labelled
        // with the `seal-completed` just consumed, which the window ahead no longer holds),
        // the sequencer may learn it and drain without another.
        let open = state.client.sequencer == SequencerPhase::Open
            && state.client.harness != HarnessPhase::Succeeded
            && logged("seal-completed")
            && learns_only_from_the_task
            && cx.model.cfg.faults.other_seals == 0;
        Ahead {
            cx,
            n,
            tail,
            sealed,
            sends: false,
            task: state.client.seal.is_some() || !logged("seal-started"),
            floor: None,
            open,
            quiet: Self::cluster_quiet(cx, state, open),
            members: cx.model.members().collect(),
            full: [false; 16],
            provisioning_gone: Self::provisioning_gone(cx, state),
            provisioned_for_good: Self::provisioned_for_good(cx, state, n),
        }
    }

    /// Whether the operator may still make a forced move (the only step that sets a storage
    /// state back to Provisioning).
    fn forced_move_left(cx: &Context<'_>, state: &State) -> bool {
        cx.model.cfg.faults.operator_force && state.operator_moves_left > 0
    }

    /// See [`Ahead::provisioning_gone`]: views only move to newer configurations, and only a
    /// forced operator move sets a storage state back to Provisioning.
    fn provisioning_gone(cx: &Context<'_>, state: &State) -> bool {
        if Self::forced_move_left(cx, state) {
            return false;
        }
        let from = state.client.view as usize - 1;
        cx.model.members().any(|i| {
            state.configs[from..]
                .iter()
                .all(|c| c[i] != StorageState::Provisioning)
        })
    }

    /// See [`Ahead::provisioned_for_good`]: a log server provisions itself only from
    /// Provisioning, which only a forced operator move re-enters.
    fn provisioned_for_good(cx: &Context<'_>, state: &State, n: usize) -> [bool; 16] {
        let mut out = [false; 16];
        if Self::forced_move_left(cx, state) {
            return out;
        }
        for (i, st) in state.latest().iter().take(n).enumerate() {
            out[i] = *st != StorageState::Provisioning;
        }
        out
    }

    /// Cluster: whether no server can be sealed (none is, no Seal or Sealed answer is in
    /// flight, no task runs, `seal-started` is logged and has not come, no reader can run, no
    /// message can be duplicated), so every store is answered Ok. Once the window has shown
    /// every member holding every append, no store is left to be answered Sealed, and the
    /// remote sequencer too can learn the seal only from the admin's completed task.
    fn cluster_quiet(cx: &Context<'_>, st: &State, open: bool) -> bool {
        let logged = |k: &str| cx.header.is_complete(k);
        cx.model.cfg.cluster.is_some()
            && !open
            && st.client.sequencer == SequencerPhase::Open
            && logged("seal-completed")
            && logged("seal-started")
            && st.client.seal.is_none()
            && st.client.other_seals.started == cx.model.cfg.faults.other_seals
            && st.client.other_seals.running == 0
            && st.crashes_left == 0
            && st.timeouts_left == 0
            && st.client.reader_timeouts_left == 0
            && st.duplications_left == 0
            && !st.client.sequencer_silent
            && st.servers.iter().all(|s| !s.sealed)
            // Seal is a packet of its own; a run of replies shares its status.
            && !st.network.packets().iter().any(|p| {
                matches!(
                    p.first(),
                    Msg::Seal { .. }
                        | Msg::Stored {
                            status: Status::Sealed,
                            ..
                        }
                )
            })
    }

    /// Passes a logged event; true if, `ahead` of the step, it cannot happen: a
    /// `seal-completed` with no task running or reporting a tail past the scenario's appends or
    /// below the task's floor, or a `sequencer-sealed` before any `seal-completed`.
    fn event(&mut self, e: &Event, ahead: bool) -> bool {
        if ahead {
            match e {
                // A seal task reports the highest tail of a member that confirmed: never past
                // the scenario's appends, never below the lowest tail every server had when
                // the task sent its requests, and only while a task runs (tasks start with a
                // logged `seal-started`).
                Event::SealCompleted {
                    max_local_tail: t, ..
                } if !self.task
                    || t.is_some_and(|t| {
                        t > self.cx.model.cfg.appends || self.floor.is_some_and(|f| t < f)
                    }) =>
                {
                    return true
                }
                // The sequencer seals only after a seal task succeeded (a logged
                // `seal-completed`).
                Event::SequencerSealed { .. } if self.open => return true,
                // A refusal because every member looks Provisioning, once one never will again.
                Event::SealRejected {
                    reason: Some(RejectReason::AllProvisioning),
                    ..
                }
                | Event::OtherSealRefused { .. }
                    if self.provisioning_gone =>
                {
                    return true
                }
                // A log server provisions itself only once, but for a forced move back.
                Event::Provisioned { node }
                    if (node.0 as usize)
                        .checked_sub(1)
                        .is_some_and(|i| i < self.n && self.provisioned_for_good[i]) =>
                {
                    return true
                }
                _ => {}
            }
        }
        match e {
            Event::SealStarted { .. } => {
                self.task = true;
                self.quiet = false;
                self.floor = self.tail[..self.n].iter().copied().min();
            }
            Event::SealCompleted { .. } => {
                self.open = false;
                self.quiet = false;
            }
            _ => {}
        }
        // A member a seal outcome reports `S` is sealed from here on.
        for node in e.reported_sealed() {
            if let Some(i) = (node.0 as usize).checked_sub(1).filter(|i| *i < self.n) {
                self.sealed[i] = true;
            }
        }
        if !matches!(e, Event::SequencerSealed { .. }) && e.kind() != "append" {
            // Any other logged step may be one that seals a server or sends a store: stop
            // reasoning about quiet.
            self.quiet &= matches!(
                e.kind(),
                "provisioned" | "stored" | "store-reply" | "append-acked"
            );
        }
        self.sends |= matches!(
            e.kind(),
            "append"
                | "seal-started"
                | "seal-request-resent"
                | "seal-assist-started"
                | "tail-repair-started"
                | "other-seal-started"
                | "other-repair-started"
        );
        false
    }

    /// Passes an observation; true if, `ahead` of the step, `state` can no longer explain it:
    /// it is past what the observation sees, the observation holds nowhere, unlogged steps
    /// alone cannot reach it (when no logged event before it sends a request), or it sees less
    /// than an earlier observation forces.
    fn observation(&mut self, o: &Observation, state: &State, ahead: bool) -> bool {
        let model = self.cx.model;
        if ahead
            && (!o.may_still_hold(model, state)
                || never_holds(model, o)
                || (!self.sends && !self.cx.reachable_unlogged(o, state)))
        {
            return true;
        }
        let Observation::ObserveLogServer {
            node,
            local_tail,
            sealed: flag,
        } = o
        else {
            return false;
        };
        let Some(i) = (node.0 as usize).checked_sub(1).filter(|i| *i < self.n) else {
            return false;
        };
        if ahead
            && (local_tail.is_some_and(|t| t < self.tail[i])
                || (*flag == Some(false) && self.sealed[i]))
        {
            return true;
        }
        if let Some(t) = local_tail {
            self.tail[i] = self.tail[i].max(*t);
        }
        self.sealed[i] |= *flag == Some(true);
        if self.quiet && *flag == Some(false) && self.tail[i] >= model.cfg.appends {
            self.full[i] = true;
            let full = &self.full;
            if self.members.iter().all(|&j| j < full.len() && full[j]) {
                self.open = true;
                self.quiet = false;
            }
        }
        false
    }
}
