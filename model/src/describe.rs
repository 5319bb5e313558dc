//! Protocol words for actions, state changes and paths: what reports and the Explorer show.

use crate::config::StorageState;
use crate::model::{Action, SealModel};
use crate::state::*;

fn n(model: &SealModel, index: u8) -> String {
    format!("N{}", model.server_id(index))
}

fn client(model: &SealModel) -> String {
    format!("N{}", model.cfg.client)
}

/// The node of the sequencer: the client's, or the remote sequencer's in a cluster.
fn sequencer(model: &SealModel) -> String {
    match model.cfg.cluster.as_ref() {
        Some(c) => format!("N{}", c.sequencer),
        None => client(model),
    }
}

/// A message as `from -> to: Kind(fields)`.
pub fn message(model: &SealModel, msg: &Msg) -> String {
    let loglet = &model.cfg.loglet;
    let c = client(model);
    match msg {
        Msg::Seal {
            to,
            attempt,
            known_global_tail,
        } => format!(
            "{c} -> {}: Seal(loglet {loglet}, seal call {attempt}, known global tail {known_global_tail})",
            n(model, *to)
        ),
        Msg::Sealed {
            from,
            attempt,
            status,
            local_tail,
            known_global_tail,
            sealed,
        } => format!(
            "{} -> {c}: Sealed({status:?}, seal call {attempt}, local tail {local_tail}, known global tail {known_global_tail}{})",
            n(model, *from),
            if *sealed { ", sealed" } else { "" }
        ),
        Msg::Store {
            to,
            offset,
            known_global_tail,
            repair,
        } => format!(
            "{} -> {}: Store(loglet {loglet}, offset {offset}, known global tail {known_global_tail}{})",
            if *repair { "repair" } else { c.as_str() },
            n(model, *to),
            if *repair { ", ignore seal" } else { "" }
        ),
        Msg::Stored {
            from,
            offset,
            status,
            local_tail,
            sealed,
        } => format!(
            "{} -> {c}: Stored({status:?}, offset {offset}, local tail {local_tail}{})",
            n(model, *from),
            if *sealed { ", sealed" } else { "" }
        ),
    }
}

/// One line naming an action in protocol words.
pub fn action(model: &SealModel, action: &Action) -> String {
    let c = client(model);
    match action {
        Action::LogServerProvisions(i) if model.cfg.provisioning_steps => format!(
            "{} provisions itself in the metadata (Provisioning -> ReadWrite); its request pump is not running yet",
            n(model, *i)
        ),
        Action::LogServerProvisions(i) => format!(
            "{} writes its storage marker and provisions itself (Provisioning -> ReadWrite)",
            n(model, *i)
        ),
        Action::LogServerWritesMarker(i) => {
            format!("{} writes its log-server storage marker", n(model, *i))
        }
        Action::LogServerStartsRequestPump(i) => format!(
            "{} starts its request pump and answers requests",
            n(model, *i)
        ),
        Action::ClientViewCatchesUp => {
            format!("{c}'s nodes-configuration snapshot catches up")
        }
        Action::ClientJoins => format!(
            "{c} joins the cluster: its first nodes-configuration snapshot is the latest version"
        ),
        Action::HarnessGetsTrimPoint => format!(
            "{c}: get_trim_point() on loglet {} answers",
            model.cfg.loglet
        ),
        Action::TrimPointFails => format!(
            "{c}: get_trim_point() on loglet {} fails: no nodeset member answered (not retried)",
            model.cfg.loglet
        ),
        Action::HarnessCallsSeal => format!(
            "{c}: seal() on loglet {}: Seal sent to the effective nodeset",
            model.cfg.loglet
        ),
        Action::SealRejectedAllProvisioning => format!(
            "{c}: seal() on loglet {} rejected: all nodeset members are in `Provisioning` storage state",
            model.cfg.loglet
        ),
        Action::Deliver(msg) => message(model, msg),
        Action::SealRequestResent(i) => {
            format!("{c}: the seal task's next attempt re-sends Seal to {}", n(model, *i))
        }
        Action::SealRequestFails(i) => {
            format!("{c}: every attempt of Seal to {} failed", n(model, *i))
        }
        Action::SequencerDrains => {
            format!("{c}: sequencer drains in-flight appends and sets its sealed flag")
        }
        Action::SequencerAppends => format!("{c}: sequencer appends a record"),
        Action::Lose(msg) => format!("network loses [{}]", message(model, msg)),
        Action::Duplicate(msg) => format!("network duplicates [{}]", message(model, msg)),
        Action::LogServerCrashes(i) => format!("{} crashes", n(model, *i)),
        Action::LogServerRestarts(i) => format!("{} restarts", n(model, *i)),
        Action::OperatorSetsStorageState(i, to) => format!(
            "operator: restatectl nodes set-storage-state --nodes {} --storage-state {}{}",
            model.server_id(*i),
            to.name(),
            if model.cfg.faults.operator_force {
                " --force"
            } else {
                ""
            }
        ),
        Action::StoreIgnoringSeal(msg) => format!(
            "BUG store-after-seal: [{}] stored although the loglet is sealed there",
            message(model, msg)
        ),
        Action::SealTaskCompletesEarly => format!(
            "BUG seal-one-confirmation: {c}'s seal task reports success before an f-majority confirmed"
        ),
        Action::SequencerAcksEarly => format!(
            "BUG ack-before-quorum: {c}'s sequencer acknowledges the next append before a write quorum stored it"
        ),
        Action::SequencerSealsWithoutDrain => format!(
            "BUG seal-without-drain: {c}'s sequencer sets its sealed flag without draining in-flight appends"
        ),
        Action::SequencerLearnsSealed => format!(
            "sequencer on {}: learns that an f-majority is sealed and starts draining",
            sequencer(model)
        ),
        Action::FindTailAssistsSeal => format!(
            "{c}: find-tail heard from some sealed members but no sealed f-majority: runs a seal task to assist (Seal to the effective nodeset)"
        ),
        Action::SealAssistCompletes => {
            format!("{c}: the assisting seal task completed on an f-majority")
        }
        Action::FindTailRepairsTail { from, to } => format!(
            "{c}: find-tail: an f-majority is sealed, records {from}..{to} lack a write quorum: tail repair (stores that ignore the seal)"
        ),
        Action::TailRepairCompletes => {
            format!("{c}: the tail repair completed: find-tail returns Sealed")
        }
        Action::FindTailFindsSealed(t) => {
            format!("{c}: find-tail: an f-majority is sealed: returns Sealed at tail {t}")
        }
        Action::FindTailLosesSequencer => format!(
            "a find-tail reader's GetSequencerState to the sequencer on {} fails while its node is up (the reader's node cut off or paused): the reader queries the log servers itself",
            sequencer(model)
        ),
        Action::SequencerAppendsToProvisioning => format!(
            "BUG provisioning-writable: {c}: sequencer appends a record, counting Provisioning nodes as writable"
        ),
        Action::OtherSealStarts => {
            "another node starts a seal task (Seal to the effective nodeset)".to_string()
        }
        Action::OtherSealCompletes => {
            "another node's seal task completed on an f-majority".to_string()
        }
        Action::OtherSealRefused => {
            "another node's seal task is refused: every member looks Provisioning".to_string()
        }
        Action::OtherSealFails => {
            "another node's seal task failed (too few members answered in time)".to_string()
        }
        Action::OtherRepairStarts { from, to } => format!(
            "another find-tail reader: an f-majority is sealed, records {from}..{to} lack a write quorum: tail repair (stores that ignore the seal)"
        ),
        Action::OtherRepairCompletes { from, to } => {
            format!("another reader's tail repair of {from}..{to} completed")
        }
    }
}

fn config_text(model: &SealModel, config: &[StorageState]) -> String {
    config
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}={s}", n(model, i as u8)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn bits_text(model: &SealModel, bits: Bits) -> String {
    let names: Vec<_> = (0..model.n())
        .filter(|&i| has(bits, i))
        .map(|i| n(model, i as u8))
        .collect();
    format!("[{}]", names.join(","))
}

/// A set of offsets as `{0,1,2}`; past 64 offsets as its intervals, `{0..999,1001}` (each
/// `a..b` from `a` to `b` inclusive), so a long loglet stays one short line.
fn offsets_text(set: &OffsetSet) -> String {
    let parts: Vec<String> = if set.len() <= 64 {
        set.iter().map(|o| o.to_string()).collect()
    } else {
        set.intervals()
            .map(|r| match r.end - r.start {
                1 => r.start.to_string(),
                _ => format!("{}..{}", r.start, r.end - 1),
            })
            .collect()
    };
    format!("{{{}}}", parts.join(","))
}

fn server_text(s: &LogServer) -> String {
    format!(
        "{:?}, local tail {}{}, known global tail {}, stored {}",
        s.process,
        s.local_tail,
        if s.sealed { " (sealed)" } else { "" },
        s.known_global_tail,
        offsets_text(&s.stored)
    )
}

fn seal_text(model: &SealModel, task: &Option<SealTask>) -> String {
    match task {
        None => "none".to_string(),
        Some(t) => {
            let members: Vec<_> = t
                .members
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    m.map(|m| {
                        let tag = match m {
                            MemberSeal::Pending => "?",
                            MemberSeal::Confirmed => "S",
                            MemberSeal::GaveUp => "E",
                        };
                        format!("{}({tag})", n(model, i as u8))
                    })
                })
                .collect();
            format!(
                "call {}: [{}], needs {}",
                t.attempt,
                members.join(", "),
                model.seal_quorum(t.effective as usize)
            )
        }
    }
}

fn append_text(model: &SealModel, a: &Append) -> String {
    if model.is_forgetful() && a.status != AppendStatus::InFlight {
        return format!(
            "offset {}: {:?}, stores to {} (replies forgotten)",
            a.offset,
            a.status,
            bits_text(model, a.targets)
        );
    }
    format!(
        "offset {}: {:?}, stores to {}, Stored(Ok) from {}{}",
        a.offset,
        a.status,
        bits_text(model, a.targets),
        bits_text(model, a.stored),
        if a.sealed != 0 {
            format!(", Sealed from {}", bits_text(model, a.sealed))
        } else {
            String::new()
        }
    )
}

/// The whole state, one fact per line.
pub fn state(model: &SealModel, s: &State) -> Vec<String> {
    let mut out = vec![format!(
        "metadata v{}: {}",
        s.version(),
        config_text(model, s.latest())
    )];
    for (i, srv) in s.servers.iter().enumerate() {
        out.push(format!("{}: {}", n(model, i as u8), server_text(srv)));
    }
    let c = client(model);
    out.push(format!(
        "{c}: view v{} ({}), harness {:?} after {}, sequencer {:?}, known global tail {}",
        s.client.view,
        config_text(model, s.client_view()),
        s.client.harness,
        crate::words::count(s.client.attempts as usize, "seal() call", "seal() calls"),
        s.client.sequencer,
        s.client.known_global_tail
    ));
    out.push(format!(
        "{c} seal task: {}",
        seal_text(model, &s.client.seal)
    ));
    if model.cluster() {
        out.push(format!(
            "{c} (admin) known global tail {}, find-tail {:?}; the sequencer runs on {}",
            s.client.sealer_known_global_tail,
            s.client.finder,
            sequencer(model)
        ));
    }
    for a in s.client.appends.iter() {
        out.push(format!("{c} append {}", append_text(model, &a)));
    }
    for m in &s.network {
        out.push(format!("in flight: {}", message(model, &m)));
    }
    out
}

/// What changed between two states, one line per change.
pub fn changes(model: &SealModel, prev: &State, next: &State) -> Vec<String> {
    let mut out = Vec::new();
    if next.version() != prev.version() {
        out.push(format!(
            "metadata v{} -> v{}: {}",
            prev.version(),
            next.version(),
            config_text(model, next.latest())
        ));
    }
    for (i, (a, b)) in prev.servers.iter().zip(&next.servers).enumerate() {
        if a != b {
            out.push(format!("{}: {}", n(model, i as u8), server_text(b)));
        }
    }
    let c = client(model);
    let (pc, nc) = (&prev.client, &next.client);
    if pc.view != nc.view {
        out.push(format!(
            "{c} view v{} -> v{}: {}",
            pc.view,
            nc.view,
            config_text(model, next.client_view())
        ));
    }
    if pc.harness != nc.harness || pc.attempts != nc.attempts {
        out.push(format!(
            "{c} harness: {:?} -> {:?} ({})",
            pc.harness,
            nc.harness,
            crate::words::count(nc.attempts as usize, "seal() call", "seal() calls")
        ));
    }
    if pc.seal != nc.seal {
        out.push(format!("{c} seal task: {}", seal_text(model, &nc.seal)));
    }
    if pc.sequencer != nc.sequencer {
        out.push(format!(
            "{} sequencer: {:?} -> {:?}",
            sequencer(model),
            pc.sequencer,
            nc.sequencer
        ));
    }
    if pc.sealer_known_global_tail != nc.sealer_known_global_tail {
        out.push(format!(
            "{c} (admin) known global tail: {} -> {}",
            pc.sealer_known_global_tail, nc.sealer_known_global_tail
        ));
    }
    if pc.finder != nc.finder {
        out.push(format!("{c} find-tail: {:?} -> {:?}", pc.finder, nc.finder));
    }
    if pc.known_global_tail != nc.known_global_tail {
        out.push(format!(
            "{c} known global tail: {} -> {}",
            pc.known_global_tail, nc.known_global_tail
        ));
    }
    for (offsets, before, after) in pc.appends.zip_runs(&nc.appends) {
        let Some(after) = after.filter(|a| before != Some(*a)) else {
            continue;
        };
        for offset in offsets {
            out.push(format!(
                "{c} append {}",
                append_text(model, &after.at(offset))
            ));
        }
    }
    let mut removed: Vec<Msg> = prev.network.iter().collect();
    let mut added = Vec::new();
    for m in &next.network {
        if let Some(pos) = removed.iter().position(|x| *x == m) {
            removed.remove(pos);
        } else {
            added.push(m);
        }
    }
    for m in added {
        out.push(format!("sends {}", message(model, &m)));
    }
    for m in removed {
        out.push(format!("gone from the network: {}", message(model, &m)));
    }
    out.extend(history_changes(model, &prev.history, &next.history));
    out
}

/// The history facts a step newly established, in words.
pub fn history_changes(model: &SealModel, a: &History, b: &History) -> Vec<String> {
    let mut out = Vec::new();
    let mut fact = |was: bool, is: bool, text: String| {
        if is && !was {
            out.push(format!("noted: {text}"));
        }
    };
    fact(
        a.seal_rejected_all_provisioning,
        b.seal_rejected_all_provisioning,
        "a seal was rejected because every nodeset member looked Provisioning".into(),
    );
    fact(
        a.seal_failed_insufficient,
        b.seal_failed_insufficient,
        "a seal task failed: insufficient nodes confirmed the seal".into(),
    );
    fact(
        a.append_rejected_sealed,
        b.append_rejected_sealed,
        "an append failed: an f-majority answered Sealed".into(),
    );
    if let (None, Some(i)) = (a.stored_while_provisioning, b.stored_while_provisioning) {
        fact(
            false,
            true,
            format!("{} stored a record while Provisioning", n(model, i)),
        );
    }
    if let (None, Some(i)) = (a.stored_after_seal, b.stored_after_seal) {
        fact(
            false,
            true,
            format!("{} stored a record after it sealed", n(model, i)),
        );
    }
    if let (None, Some(w)) = (a.tail_moved_back, b.tail_moved_back) {
        fact(false, true, w.to_string());
    }
    if let (None, Some(w)) = (a.global_tail_decreased, b.global_tail_decreased) {
        fact(false, true, w.to_string());
    }
    fact(
        a.acked_without_quorum,
        b.acked_without_quorum,
        "an append was acknowledged before a write quorum stored it".into(),
    );
    fact(
        a.sealed_with_appends_in_flight,
        b.sealed_with_appends_in_flight,
        "the sequencer set its sealed flag with appends in flight".into(),
    );
    if let (None, Some(bug)) = (a.bug_step, b.bug_step) {
        fact(
            false,
            true,
            format!("seeded bug `{}` took a step", bug.name()),
        );
    }
    if let (None, Some(check)) = (a.seal_succeeded_with, b.seal_succeeded_with) {
        fact(
            false,
            true,
            format!(
                "the seal task reported success; durably sealed: {}",
                check.describe()
            ),
        );
    }
    out
}

/// A sequence diagram of a path (see [`crate::diagram`]): one lifeline for the client, the
/// metadata store and each log server, styled by storage state; message arrows, new metadata
/// versions, client view catch-ups, seals, rejections and crashes marked; a note per step.
pub fn svg(model: &SealModel, path: &[(State, Option<Action>)]) -> String {
    crate::diagram::svg(model, path)
}
