//! Protocol words for actions, state changes and paths: what reports and the Explorer show.

use std::fmt::Write;

use crate::config::StorageState;
use crate::model::{Action, SealModel};
use crate::state::*;

fn n(model: &SealModel, index: u8) -> String {
    format!("N{}", model.server_id(index))
}

fn client(model: &SealModel) -> String {
    format!("N{}", model.cfg.client)
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
        } => format!(
            "{c} -> {}: Store(loglet {loglet}, offset {offset}, known global tail {known_global_tail})",
            n(model, *to)
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
        Action::LogServerProvisions(i) => format!(
            "{} writes its storage marker and provisions itself (Provisioning -> ReadWrite)",
            n(model, *i)
        ),
        Action::ClientViewCatchesUp => {
            format!("{c}'s nodes-configuration snapshot catches up")
        }
        Action::HarnessCallsSeal => format!(
            "{c}: seal() on loglet {}: Seal sent to the effective nodeset",
            model.cfg.loglet
        ),
        Action::SealRejectedAllProvisioning => format!(
            "{c}: seal() on loglet {} rejected: all nodeset members are in `Provisioning` storage state",
            model.cfg.loglet
        ),
        Action::Deliver(msg) => message(model, msg),
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
        Action::SequencerAppendsToProvisioning => format!(
            "BUG provisioning-writable: {c}: sequencer appends a record, counting Provisioning nodes as writable"
        ),
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

fn offsets_text(bits: Offsets) -> String {
    let offs: Vec<_> = (0..64)
        .filter(|&i| has_offset(bits, i))
        .map(|i| i.to_string())
        .collect();
    format!("{{{}}}", offs.join(","))
}

fn server_text(s: &LogServer) -> String {
    format!(
        "{:?}, local tail {}{}, known global tail {}, stored {}",
        s.process,
        s.local_tail,
        if s.sealed { " (sealed)" } else { "" },
        s.known_global_tail,
        offsets_text(s.stored)
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
        "{c}: view v{} ({}), harness {:?} after {} seal() call(s), sequencer {:?}, known global tail {}",
        s.client.view,
        config_text(model, s.client_view()),
        s.client.harness,
        s.client.attempts,
        s.client.sequencer,
        s.client.known_global_tail
    ));
    out.push(format!(
        "{c} seal task: {}",
        seal_text(model, &s.client.seal)
    ));
    for a in &s.client.appends {
        out.push(format!("{c} append {}", append_text(model, a)));
    }
    for m in &s.network {
        out.push(format!("in flight: {}", message(model, m)));
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
            "{c} harness: {:?} -> {:?} ({} seal() call(s))",
            pc.harness, nc.harness, nc.attempts
        ));
    }
    if pc.seal != nc.seal {
        out.push(format!("{c} seal task: {}", seal_text(model, &nc.seal)));
    }
    if pc.sequencer != nc.sequencer {
        out.push(format!(
            "{c} sequencer: {:?} -> {:?}",
            pc.sequencer, nc.sequencer
        ));
    }
    if pc.known_global_tail != nc.known_global_tail {
        out.push(format!(
            "{c} known global tail: {} -> {}",
            pc.known_global_tail, nc.known_global_tail
        ));
    }
    for b in &nc.appends {
        let before = pc.appends.iter().find(|a| a.offset == b.offset);
        if before != Some(b) {
            out.push(format!("{c} append {}", append_text(model, b)));
        }
    }
    let mut removed = prev.network.clone();
    let mut added = Vec::new();
    for m in &next.network {
        if let Some(pos) = removed.iter().position(|x| x == m) {
            removed.remove(pos);
        } else {
            added.push(m);
        }
    }
    for m in added {
        out.push(format!("sends {}", message(model, m)));
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
    if let (None, Some(k)) = (a.seal_succeeded_with, b.seal_succeeded_with) {
        fact(
            false,
            true,
            format!("the seal task reported success with {k} log server(s) durably sealed"),
        );
    }
    out
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A sequence diagram of a path: one lifeline for the client, the metadata store and each log
/// server; message arrows (sent where the request went out, drawn at delivery), and marks for
/// storage-state changes, snapshot catch-ups, seals and crashes.
pub fn svg(model: &SealModel, path: &[(State, Option<Action>)]) -> String {
    let lanes = model.n() + 2; // client, servers..., metadata
    let lane_w = 150usize;
    let row_h = 30usize;
    let width = lanes * lane_w + 40;
    let height = (path.len() + 2) * row_h + 40;
    let x_client = 20 + lane_w / 2;
    let x_server = |i: u8| 20 + lane_w / 2 + (i as usize + 1) * lane_w;
    let x_meta = 20 + lane_w / 2 + (model.n() + 1) * lane_w;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg version='1.1' baseProfile='full' width='{width}' height='{height}' viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"
    );
    s.push_str("<defs><marker class='svg-event-shape' id='arrow' markerWidth='12' markerHeight='10' refX='12' refY='5' orient='auto'><polygon points='0 0, 12 5, 0 10' /></marker></defs>");
    let mut header = |x: usize, label: &str| {
        let _ = write!(
            s,
            "<line x1='{x}' y1='30' x2='{x}' y2='{}' class='svg-actor-timeline' stroke='#999' />\
             <text x='{x}' y='20' text-anchor='middle' class='svg-actor-label'>{}</text>",
            height - 10,
            esc(label)
        );
    };
    header(x_client, &format!("{} (client)", client(model)));
    for i in 0..model.n() as u8 {
        header(x_server(i), &n(model, i));
    }
    header(x_meta, "metadata");
    for (row, (st, act)) in path.iter().enumerate() {
        let Some(act) = act else { continue };
        let y = 45 + row * row_h;
        let text = |s: &mut String, x: usize, label: String, color: &str| {
            let _ = write!(
                s,
                "<circle cx='{x}' cy='{y}' r='4' fill='{color}' /><text x='{}' y='{}' font-size='11' fill='{color}'>{}</text>",
                x + 6,
                y + 4,
                esc(&label)
            );
        };
        match act {
            Action::Deliver(msg) => {
                let (from, to) = match msg {
                    Msg::Seal { to, .. } | Msg::Store { to, .. } => (x_client, x_server(*to)),
                    Msg::Sealed { from, .. } | Msg::Stored { from, .. } => {
                        (x_server(*from), x_client)
                    }
                };
                let label = match msg {
                    Msg::Seal { .. } => "Seal".to_string(),
                    Msg::Store { offset, .. } => format!("Store@{offset}"),
                    Msg::Sealed { status, .. } => format!("Sealed({status:?})"),
                    Msg::Stored { status, offset, .. } => format!("Stored@{offset}({status:?})"),
                };
                let _ = write!(
                    s,
                    "<line x1='{from}' y1='{}' x2='{to}' y2='{y}' class='svg-event-line' stroke='#333' marker-end='url(#arrow)' />\
                     <text x='{}' y='{}' font-size='11' text-anchor='middle'>{}</text>",
                    y - row_h / 2,
                    (from + to) / 2,
                    y - 6,
                    esc(&label)
                );
            }
            Action::LogServerProvisions(i) => {
                text(&mut s, x_server(*i), "provisions: ReadWrite".into(), "#070");
                let _ = write!(
                    s,
                    "<line x1='{}' y1='{y}' x2='{x_meta}' y2='{y}' stroke='#070' stroke-dasharray='4' />",
                    x_server(*i)
                );
            }
            Action::OperatorSetsStorageState(i, to) => {
                text(
                    &mut s,
                    x_meta,
                    format!("operator: {}={to}", n(model, *i)),
                    "#a50",
                );
            }
            Action::ClientViewCatchesUp => {
                let _ = write!(
                    s,
                    "<line x1='{x_meta}' y1='{y}' x2='{x_client}' y2='{y}' stroke='#55a' stroke-dasharray='2' />"
                );
                text(
                    &mut s,
                    x_client,
                    format!("view -> v{}", st.version()),
                    "#55a",
                );
            }
            Action::HarnessCallsSeal => {
                let v = st.client.view;
                text(&mut s, x_client, format!("seal() (view v{v})"), "#000");
            }
            Action::SealRejectedAllProvisioning => {
                let v = st.client.view;
                text(
                    &mut s,
                    x_client,
                    format!("seal() REJECTED: all Provisioning in view v{v}"),
                    "#c00",
                );
            }
            Action::SealRequestFails(i) => {
                text(
                    &mut s,
                    x_client,
                    format!("Seal to {} failed", n(model, *i)),
                    "#c00",
                );
            }
            Action::SequencerDrains => text(
                &mut s,
                x_client,
                format!("drain + sealed at {}", st.client.known_global_tail),
                "#000",
            ),
            Action::SequencerAppends => text(
                &mut s,
                x_client,
                format!("append @{}", st.client.appends.len()),
                "#000",
            ),
            Action::Lose(msg) => text(
                &mut s,
                x_server(msg.server()),
                format!("lost: {}", short(msg)),
                "#c00",
            ),
            Action::Duplicate(msg) => text(
                &mut s,
                x_server(msg.server()),
                format!("duplicated: {}", short(msg)),
                "#a50",
            ),
            Action::LogServerCrashes(i) => text(&mut s, x_server(*i), "CRASH".into(), "#c00"),
            Action::StoreIgnoringSeal(msg) => text(
                &mut s,
                x_server(msg.server()),
                "BUG: stored after seal".into(),
                "#c00",
            ),
            Action::SealTaskCompletesEarly => {
                text(&mut s, x_client, "BUG: seal done early".into(), "#c00")
            }
            Action::SequencerAcksEarly => {
                text(&mut s, x_client, "BUG: ack before quorum".into(), "#c00")
            }
            Action::SequencerSealsWithoutDrain => {
                text(&mut s, x_client, "BUG: sealed without drain".into(), "#c00")
            }
            Action::SequencerAppendsToProvisioning => text(
                &mut s,
                x_client,
                format!(
                    "BUG: append @{} incl. Provisioning",
                    st.client.appends.len()
                ),
                "#c00",
            ),
            Action::LogServerRestarts(i) => text(&mut s, x_server(*i), "restart".into(), "#070"),
        }
    }
    s.push_str("</svg>");
    s
}

fn short(msg: &Msg) -> &'static str {
    match msg {
        Msg::Seal { .. } => "Seal",
        Msg::Sealed { .. } => "Sealed",
        Msg::Store { .. } => "Store",
        Msg::Stored { .. } => "Stored",
    }
}
