//! The sequence diagram of a path, as stateright's Explorer shows it next to each state.
//!
//! One lifeline for the client, one per log server and one for the metadata store; one row per
//! step, numbered as the Explorer's "Path of Actions" list, with a short note in protocol words
//! on the right. What the incident turns on is drawn, not only written:
//!
//! - a log server's lifeline is styled by its storage state in the metadata store (dashed grey
//!   while Provisioning, solid green ReadWrite, amber ReadOnly, red DataLoss or Disabled), so a
//!   storage-state change shows where the line changes;
//! - every new nodes-configuration version is a `vN` box on the metadata lifeline, with an arrow
//!   from the log server that provisioned itself or to the server the operator changed;
//! - every change of the client's snapshot is a dashed blue arrow from the metadata store to the
//!   client (`view vN`), so a client acting on an old view is visible as a missing arrow;
//! - messages are arrows at the step that delivers them; seals, rejections, crashes and losses
//!   are marks on the lifeline concerned.
//!
//! The colours are for the Explorer's dark panel; the diagram paints its own background so it
//! reads the same anywhere.

use std::fmt::Write;

use crate::config::StorageState;
use crate::model::{Action, SealModel};
use crate::state::*;

const BG: &str = "#142b46";
const FG: &str = "#e7ecef";
const DIM: &str = "#9fb3c8";
const RED: &str = "#ff8a80";
const GREEN: &str = "#8fe388";
const BLUE: &str = "#8ab4f8";
const AMBER: &str = "#f2cc60";

const STEP_W: usize = 34;
const LANE_W: usize = 92;
const NOTE_W: usize = 470;
const HEAD_H: usize = 56;
const ROW_H: usize = 28;
const FOOT_H: usize = 92;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

fn n(model: &SealModel, index: u8) -> String {
    format!("N{}", model.server_id(index))
}

fn client(model: &SealModel) -> String {
    format!("N{}", model.cfg.client)
}

/// The x of each lifeline.
struct Lanes {
    servers: usize,
}

impl Lanes {
    fn client(&self) -> usize {
        STEP_W + LANE_W / 2
    }
    fn server(&self, i: u8) -> usize {
        STEP_W + LANE_W / 2 + (i as usize + 1) * LANE_W
    }
    fn meta(&self) -> usize {
        STEP_W + LANE_W / 2 + (self.servers + 1) * LANE_W
    }
    fn notes(&self) -> usize {
        STEP_W + (self.servers + 2) * LANE_W + 8
    }
    fn width(&self) -> usize {
        self.notes() + NOTE_W
    }
}

/// How a lifeline is drawn for a storage state: colour, width, dash pattern.
fn lifeline_style(s: StorageState) -> (&'static str, f32, &'static str) {
    match s {
        StorageState::Provisioning => (DIM, 1.5, "4 3"),
        StorageState::ReadWrite => (GREEN, 3.0, ""),
        StorageState::ReadOnly => (AMBER, 3.0, ""),
        StorageState::DataLoss => (RED, 3.0, "6 3"),
        StorageState::Disabled => (RED, 1.5, "1 3"),
        StorageState::Gone => (DIM, 3.0, "2 2"),
    }
}

fn line(
    s: &mut String,
    (x1, y1): (usize, usize),
    (x2, y2): (usize, usize),
    color: &str,
    dash: &str,
    arrow: bool,
) {
    let _ = write!(
        s,
        "<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='{color}' stroke-width='1.5'{}{} />",
        if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray='{dash}'")
        },
        if arrow {
            format!(" marker-end='url(#sc-arrow-{})'", &color[1..])
        } else {
            String::new()
        }
    );
}

fn text(s: &mut String, x: usize, y: usize, anchor: &str, size: u8, color: &str, body: &str) {
    let _ = write!(
        s,
        "<text x='{x}' y='{y}' text-anchor='{anchor}' font-size='{size}' fill='{color}'>{}</text>",
        esc(body)
    );
}

fn dot(s: &mut String, x: usize, y: usize, color: &str) {
    let _ = write!(s, "<circle cx='{x}' cy='{y}' r='4' fill='{color}' />");
}

fn cross(s: &mut String, x: usize, y: usize, color: &str) {
    let _ = write!(
        s,
        "<path d='M{} {} L{} {} M{} {} L{} {}' stroke='{color}' stroke-width='2' />",
        x - 5,
        y - 5,
        x + 5,
        y + 5,
        x - 5,
        y + 5,
        x + 5,
        y - 5
    );
}

/// Messages in `next`'s network that were not in `prev`'s.
fn sent(prev: &State, next: &State) -> Vec<Msg> {
    let mut before: Vec<Msg> = prev.network.iter().collect();
    let mut out = Vec::new();
    for m in &next.network {
        if let Some(i) = before.iter().position(|x| *x == m) {
            before.remove(i);
        } else {
            out.push(m);
        }
    }
    out
}

fn short_msg(msg: &Msg) -> String {
    match msg {
        Msg::Seal { attempt, .. } => format!("Seal#{attempt}"),
        Msg::Sealed { status, .. } => format!("Sealed({status:?})"),
        Msg::Store { offset, .. } => format!("Store@{offset}"),
        Msg::Stored { offset, status, .. } => format!("Stored@{offset}({status:?})"),
    }
}

fn bits_names(model: &SealModel, bits: Bits) -> String {
    let names: Vec<_> = (0..model.n())
        .filter(|&i| has(bits, i))
        .map(|i| n(model, i as u8))
        .collect();
    names.join(",")
}

/// The note of one step: what happened, in protocol words, and its colour.
fn note(model: &SealModel, prev: &State, action: &Action, next: &State) -> (String, &'static str) {
    let c = client(model);
    match action {
        Action::LogServerProvisions(i) if next.version() != prev.version() => (
            format!(
                "{} provisions itself: Provisioning -> ReadWrite, metadata v{}",
                n(model, *i),
                next.version()
            ),
            GREEN,
        ),
        Action::LogServerProvisions(i) => (
            format!(
                "{} refuses to start: its storage state is no longer Provisioning",
                n(model, *i)
            ),
            RED,
        ),
        Action::ClientViewCatchesUp => (
            format!("{c}'s snapshot catches up: view v{}", next.client.view),
            BLUE,
        ),
        Action::ClientJoins => (format!("{c} joins: view v{}", next.client.view), BLUE),
        Action::LogServerWritesMarker(i) => {
            (format!("{} writes its storage marker", n(model, *i)), FG)
        }
        Action::LogServerStartsRequestPump(i) => {
            (format!("{} starts its request pump", n(model, *i)), GREEN)
        }
        Action::HarnessGetsTrimPoint => (format!("{c}: get_trim_point() answers"), FG),
        Action::SealRequestResent(i) => (format!("{c}: Seal re-sent to {}", n(model, *i)), FG),
        Action::SequencerLearnsSealed => (
            "remote sequencer learns the loglet is sealed: draining".to_string(),
            BLUE,
        ),
        Action::FindTailAssistsSeal => (format!("{c}: find-tail assists: Seal to all"), AMBER),
        Action::SealAssistCompletes => (format!("{c}: seal assist completed"), FG),
        Action::OtherSealStarts => ("another node: Seal to all".to_string(), AMBER),
        Action::OtherSealCompletes => ("another node's seal completed".to_string(), FG),
        Action::OtherSealFails => ("another node's seal failed".to_string(), RED),
        Action::OtherSealRefused => ("another node's seal refused".to_string(), RED),
        Action::OtherRepairStarts { from, to } => (
            format!("another reader repairs {from}..{to} (ignore seal)"),
            AMBER,
        ),
        Action::OtherRepairCompletes { from, to } => {
            (format!("another reader repaired {from}..{to}"), GREEN)
        }
        Action::FindTailRepairsTail { from, to } => (
            format!("{c}: find-tail repairs {from}..{to} (ignore seal)"),
            AMBER,
        ),
        Action::TailRepairCompletes => (format!("{c}: tail repaired: Sealed"), GREEN),
        Action::FindTailFindsSealed(t) => (format!("{c}: find-tail: Sealed@{t}"), GREEN),
        Action::FindTailLosesSequencer => ("a reader loses the sequencer".to_string(), AMBER),
        Action::TrimPointFails => (format!("{c}: get_trim_point() fails"), RED),
        Action::HarnessCallsSeal => {
            let to: Bits = sent(prev, next)
                .iter()
                .filter(|m| matches!(m, Msg::Seal { .. }))
                .fold(0, |acc, m| acc | (1 << m.server()));
            (
                format!(
                    "{c}: seal() call {} in view v{}: Seal to [{}]",
                    next.client.attempts,
                    prev.client.view,
                    bits_names(model, to)
                ),
                FG,
            )
        }
        Action::SealRejectedAllProvisioning => (
            format!(
                "{c}: seal() REJECTED: all nodeset members Provisioning in view v{}",
                prev.client.view
            ),
            RED,
        ),
        Action::Deliver(msg) => delivery_note(model, prev, msg, next),
        Action::SealRequestFails(i) => (
            format!("{c}: Seal to {} failed for good", n(model, *i)),
            RED,
        ),
        Action::SequencerDrains => (
            format!(
                "{c}: sequencer drains, sealed at tail {}",
                next.client.known_global_tail
            ),
            FG,
        ),
        Action::SequencerAppends => {
            let targets = next.client.appends.last().map(|a| a.targets).unwrap_or(0);
            (
                format!(
                    "{c}: append @{}: Store to [{}]",
                    prev.client.appends.end(),
                    bits_names(model, targets)
                ),
                FG,
            )
        }
        Action::Lose(msg) => (format!("network loses {}", short_msg(msg)), RED),
        Action::Duplicate(msg) => (format!("network duplicates {}", short_msg(msg)), AMBER),
        Action::LogServerCrashes(i) => (format!("{} crashes", n(model, *i)), RED),
        Action::LogServerRestarts(i) => (format!("{} restarts", n(model, *i)), GREEN),
        Action::OperatorSetsStorageState(i, to) => (
            format!(
                "operator sets {} to {to}, metadata v{}",
                n(model, *i),
                next.version()
            ),
            AMBER,
        ),
        Action::StoreIgnoringSeal(_)
        | Action::SealTaskCompletesEarly
        | Action::SequencerAcksEarly
        | Action::SequencerSealsWithoutDrain
        | Action::SequencerAppendsToProvisioning => bug_note(model, prev, action, next),
    }
}

/// The note of a delivery: who gets what, and what the seal task made of a `Sealed`.
fn delivery_note(
    model: &SealModel,
    prev: &State,
    msg: &Msg,
    next: &State,
) -> (String, &'static str) {
    let c = client(model);
    let replies = sent(prev, next);
    match msg {
        Msg::Seal { to, .. } => (
            format!(
                "{} seals the loglet (durably), replies Sealed",
                n(model, *to)
            ),
            FG,
        ),
        Msg::Store { to, offset, .. } => {
            let status = replies
                .iter()
                .find_map(|m| match m {
                    Msg::Stored { status, .. } => Some(format!("{status:?}")),
                    _ => None,
                })
                .unwrap_or_default();
            (
                format!(
                    "{} gets Store@{offset}, replies Stored({status})",
                    n(model, *to)
                ),
                if status == "Ok" { FG } else { AMBER },
            )
        }
        Msg::Sealed { from, status, .. } => {
            let outcome = match (&prev.client.seal, &next.client.seal) {
                (Some(_), None)
                    if next.history.seal_succeeded_with.is_some()
                        && prev.history.seal_succeeded_with.is_none() =>
                {
                    ": seal task succeeds".to_string()
                }
                (Some(_), None) => ": seal task fails".to_string(),
                (_, Some(t)) => {
                    let confirmed = t
                        .members
                        .iter()
                        .filter(|m| **m == Some(MemberSeal::Confirmed))
                        .count();
                    format!(
                        ": {confirmed} of {} confirmations",
                        model.seal_quorum(t.effective as usize)
                    )
                }
                (None, None) => " (no seal task: dropped)".to_string(),
            };
            (
                format!(
                    "{c} gets Sealed({status:?}) from {}{outcome}",
                    n(model, *from)
                ),
                FG,
            )
        }
        Msg::Stored {
            from,
            offset,
            status,
            ..
        } => (
            format!(
                "{c} gets Stored@{offset}({status:?}) from {}",
                n(model, *from)
            ),
            FG,
        ),
    }
}

/// The note of a seeded-bug step.
fn bug_note(
    model: &SealModel,
    prev: &State,
    action: &Action,
    next: &State,
) -> (String, &'static str) {
    let c = client(model);
    match action {
        Action::StoreIgnoringSeal(msg) => (
            format!(
                "BUG store-after-seal: sealed {} stores {}",
                n(model, msg.server()),
                short_msg(msg)
            ),
            RED,
        ),
        Action::SealTaskCompletesEarly => (
            format!("BUG seal-one-confirmation: {c}'s seal task succeeds early"),
            RED,
        ),
        Action::SequencerAcksEarly => (
            format!(
                "BUG ack-before-quorum: {c} acks @{} without a write quorum",
                prev.client.known_global_tail
            ),
            RED,
        ),
        Action::SequencerSealsWithoutDrain => (
            format!(
                "BUG seal-without-drain: {c} sealed at tail {} without draining",
                next.client.known_global_tail
            ),
            RED,
        ),
        Action::SequencerAppendsToProvisioning => {
            let targets = next.client.appends.last().map(|a| a.targets).unwrap_or(0);
            (
                format!(
                    "BUG provisioning-writable: append @{}: Store to [{}]",
                    prev.client.appends.end(),
                    bits_names(model, targets)
                ),
                RED,
            )
        }
        _ => unreachable!("not a seeded-bug step: {action:?}"),
    }
}

/// Draws the marks of one step at row height `y`.
fn marks(s: &mut String, lanes: &Lanes, prev: &State, action: &Action, next: &State, y: usize) {
    let top = y - ROW_H / 2 + 3;
    match action {
        Action::Deliver(msg) => delivery_marks(s, lanes, prev, msg, y),
        Action::LogServerProvisions(i) => {
            if next.version() != prev.version() {
                line(s, (lanes.server(*i), y), (lanes.meta(), y), GREEN, "", true);
            } else {
                cross(s, lanes.server(*i), y, RED);
            }
        }
        Action::OperatorSetsStorageState(i, _) => {
            line(
                s,
                (lanes.meta(), y),
                (lanes.server(*i), y),
                AMBER,
                "6 3",
                true,
            );
        }
        Action::HarnessCallsSeal => dot(s, lanes.client(), y, FG),
        Action::SealRejectedAllProvisioning => cross(s, lanes.client(), y, RED),
        Action::SealRequestFails(i) => {
            line(
                s,
                (lanes.client(), y),
                (lanes.server(*i), y),
                RED,
                "2 3",
                false,
            );
            cross(s, lanes.server(*i), y, RED);
        }
        Action::SequencerDrains | Action::SequencerAppends => dot(s, lanes.client(), y, FG),
        Action::ClientViewCatchesUp | Action::ClientJoins => {}
        Action::SealRequestResent(i) => line(
            s,
            (lanes.client(), y),
            (lanes.server(*i), y),
            FG,
            "2 3",
            true,
        ),
        Action::LogServerWritesMarker(i) => dot(s, lanes.server(*i), y, FG),
        Action::LogServerStartsRequestPump(i) => dot(s, lanes.server(*i), y, GREEN),
        Action::HarnessGetsTrimPoint => dot(s, lanes.client(), y, FG),
        Action::TrimPointFails => cross(s, lanes.client(), y, RED),
        Action::Lose(msg) => cross(s, lanes.server(msg.server()), y, RED),
        Action::Duplicate(msg) => dot(s, lanes.server(msg.server()), y, AMBER),
        Action::LogServerCrashes(i) => cross(s, lanes.server(*i), y, RED),
        Action::LogServerRestarts(i) => dot(s, lanes.server(*i), y, GREEN),
        Action::StoreIgnoringSeal(msg) => {
            let to = lanes.server(msg.server());
            line(s, (lanes.client(), top), (to, y), RED, "", true);
            text(
                s,
                (lanes.client() + to) / 2,
                y - 8,
                "middle",
                10,
                RED,
                &short_msg(msg),
            );
            cross(s, to, y, RED);
        }
        Action::SealTaskCompletesEarly
        | Action::SequencerAcksEarly
        | Action::SequencerSealsWithoutDrain => cross(s, lanes.client(), y, RED),
        Action::SequencerAppendsToProvisioning => dot(s, lanes.client(), y, RED),
        Action::SequencerLearnsSealed
        | Action::SealAssistCompletes
        | Action::TailRepairCompletes
        | Action::FindTailFindsSealed(_) => dot(s, lanes.client(), y, BLUE),
        Action::FindTailAssistsSeal
        | Action::FindTailRepairsTail { .. }
        | Action::FindTailLosesSequencer => dot(s, lanes.client(), y, AMBER),
        Action::OtherSealStarts | Action::OtherRepairStarts { .. } => {
            dot(s, lanes.client(), y, AMBER)
        }
        Action::OtherRepairCompletes { .. } => dot(s, lanes.client(), y, BLUE),
        Action::OtherSealCompletes => dot(s, lanes.client(), y, BLUE),
        Action::OtherSealFails | Action::OtherSealRefused => cross(s, lanes.client(), y, RED),
    }
    metadata_marks(s, lanes, prev, next, y);
}

/// Draws a delivered message as an arrow at row height `y`, and a seal's first durable mark.
fn delivery_marks(s: &mut String, lanes: &Lanes, prev: &State, msg: &Msg, y: usize) {
    let top = y - ROW_H / 2 + 3;
    let (from, to, color) = match msg {
        Msg::Seal { to, .. } | Msg::Store { to, .. } => (lanes.client(), lanes.server(*to), FG),
        Msg::Sealed { from, .. } | Msg::Stored { from, .. } => {
            (lanes.server(*from), lanes.client(), FG)
        }
    };
    line(s, (from, top), (to, y), color, "", true);
    text(
        s,
        (from + to) / 2,
        y - 8,
        "middle",
        10,
        color,
        &short_msg(msg),
    );
    if let Msg::Seal { to, .. } = msg {
        if !prev.servers[*to as usize].sealed {
            let x = lanes.server(*to);
            let _ = write!(
                s,
                "<rect x='{}' y='{}' width='8' height='8' fill='{AMBER}' />",
                x - 4,
                y - 4
            );
        }
    }
}

/// Draws, at row height `y`, a new metadata version on the metadata lifeline and a change of
/// the client's snapshot as an arrow to the client.
fn metadata_marks(s: &mut String, lanes: &Lanes, prev: &State, next: &State, y: usize) {
    if next.version() != prev.version() {
        let x = lanes.meta();
        let _ = write!(
            s,
            "<rect x='{}' y='{}' width='28' height='16' rx='3' fill='{BG}' stroke='{AMBER}' />",
            x - 14,
            y - 8
        );
        text(
            s,
            x,
            y + 4,
            "middle",
            10,
            AMBER,
            &format!("v{}", next.version()),
        );
    }
    if next.client.view != prev.client.view {
        let yv = y + 6;
        line(
            s,
            (lanes.meta() - 14, yv),
            (lanes.client(), yv),
            BLUE,
            "3 3",
            true,
        );
        text(
            s,
            lanes.client() + 8,
            yv + 11,
            "start",
            10,
            BLUE,
            &format!("view v{}", next.client.view),
        );
    }
}

/// The sequence diagram of a path: `path[i]` is a state and the action taken from it (the last
/// has none), as [`stateright::Path::into_vec`] gives them.
pub fn svg(model: &SealModel, path: &[(State, Option<Action>)]) -> String {
    let lanes = Lanes { servers: model.n() };
    let steps: Vec<(&State, &Action, &State)> = path
        .windows(2)
        .filter_map(|w| w[0].1.as_ref().map(|a| (&w[0].0, a, &w[1].0)))
        .collect();
    let width = lanes.width();
    let height = HEAD_H + steps.len() * ROW_H + FOOT_H;
    let mut s = String::new();
    open_svg(&mut s, width, height);
    // Lifelines: the client and the metadata store plain, log servers styled by storage state.
    let bottom = height - FOOT_H + 8;
    let Some(first) = path.first().map(|(st, _)| st) else {
        s.push_str("</svg>");
        return s;
    };
    lifelines(&mut s, model, &lanes, first, &steps, bottom);
    headers(&mut s, model, &lanes, first);
    for (k, (prev, action, next)) in steps.iter().enumerate() {
        let y = row_y(k);
        text(
            &mut s,
            STEP_W - 8,
            y + 4,
            "end",
            11,
            DIM,
            &(k + 1).to_string(),
        );
        marks(&mut s, &lanes, prev, action, next, y);
        let (body, color) = note(model, prev, action, next);
        text(&mut s, lanes.notes(), y + 4, "start", 12, color, &body);
    }
    // Where everyone ends up.
    let last = path.last().map(|(st, _)| st).unwrap_or(first);
    footers(&mut s, &lanes, last, height);
    legend(&mut s, height);
    s.push_str("</svg>");
    s
}

/// The y of the row of step `k + 1`.
fn row_y(k: usize) -> usize {
    HEAD_H + k * ROW_H + ROW_H / 2
}

/// Opens the SVG: its size, the arrow heads of each colour, the background.
fn open_svg(s: &mut String, width: usize, height: usize) {
    let _ = write!(
        s,
        "<svg version='1.1' width='{width}' height='{height}' viewBox='0 0 {width} {height}' style='max-width:100%;height:auto' font-family='monospace' xmlns='http://www.w3.org/2000/svg'>"
    );
    s.push_str("<defs>");
    for color in [FG, GREEN, BLUE, AMBER, RED] {
        let _ = write!(
            s,
            "<marker id='sc-arrow-{}' markerUnits='userSpaceOnUse' markerWidth='9' markerHeight='7' refX='9' refY='3.5' orient='auto'><polygon points='0 0, 9 3.5, 0 7' fill='{color}' /></marker>",
            &color[1..]
        );
    }
    s.push_str("</defs>");
    let _ = write!(
        s,
        "<rect x='0' y='0' width='{width}' height='{height}' fill='{BG}' />"
    );
}

/// The lifelines: the client and the metadata store plain, each log server in segments styled
/// by its storage state in the metadata store.
fn lifelines(
    s: &mut String,
    model: &SealModel,
    lanes: &Lanes,
    first: &State,
    steps: &[(&State, &Action, &State)],
    bottom: usize,
) {
    line(
        s,
        (lanes.client(), 40),
        (lanes.client(), bottom),
        DIM,
        "",
        false,
    );
    line(
        s,
        (lanes.meta(), 40),
        (lanes.meta(), bottom),
        DIM,
        "",
        false,
    );
    for i in 0..model.n() {
        let mut y0 = 40;
        let mut current = first.latest()[i];
        let mut segments = Vec::new();
        for (k, (_, _, next)) in steps.iter().enumerate() {
            let st = next.latest()[i];
            if st != current {
                let y = row_y(k);
                segments.push((y0, y, current));
                y0 = y;
                current = st;
            }
        }
        segments.push((y0, bottom, current));
        for (a, b, st) in segments {
            let (color, w, dash) = lifeline_style(st);
            let x = lanes.server(i as u8);
            let _ = write!(
                s,
                "<line x1='{x}' y1='{a}' x2='{x}' y2='{b}' stroke='{color}' stroke-width='{w}'{} />",
                if dash.is_empty() {
                    String::new()
                } else {
                    format!(" stroke-dasharray='{dash}'")
                }
            );
        }
    }
}

/// The headers: who, and what each starts as.
fn headers(s: &mut String, model: &SealModel, lanes: &Lanes, first: &State) {
    let head = |s: &mut String, x: usize, label: &str, sub: &str| {
        text(s, x, 18, "middle", 12, FG, label);
        text(s, x, 32, "middle", 10, DIM, sub);
    };
    head(
        s,
        lanes.client(),
        &format!("{} client", client(model)),
        &format!("view v{}", first.client.view),
    );
    for i in 0..model.n() {
        let member = has(model.nodeset, i);
        head(
            s,
            lanes.server(i as u8),
            &format!(
                "{}{}",
                n(model, i as u8),
                if member { "" } else { " (not in nodeset)" }
            ),
            &first.latest()[i].to_string(),
        );
    }
    head(
        s,
        lanes.meta(),
        "metadata",
        &format!("v{}", first.version()),
    );
    text(s, 4, 18, "start", 12, DIM, "step");
    text(s, lanes.notes(), 18, "start", 12, FG, "what happens");
}

/// The footers: where everyone ends up.
fn footers(s: &mut String, lanes: &Lanes, last: &State, height: usize) {
    let y = height - FOOT_H + 26;
    let foot = |s: &mut String, x: usize, lines: &[String]| {
        for (j, l) in lines.iter().enumerate() {
            text(s, x, y + j * 13, "middle", 10, FG, l);
        }
    };
    foot(
        s,
        lanes.client(),
        &[
            format!("harness {:?}", last.client.harness),
            format!(
                "sequencer {}",
                match last.client.sequencer {
                    SequencerPhase::Open => "Open".to_string(),
                    SequencerPhase::Draining => "Draining".to_string(),
                    SequencerPhase::Sealed(t) => format!("Sealed@{t}"),
                    SequencerPhase::Crashed => "Crashed".to_string(),
                }
            ),
            format!("view v{}", last.client.view),
        ],
    );
    for (i, srv) in last.servers.iter().enumerate() {
        let mut lines = vec![last.latest()[i].to_string(), format!("{:?}", srv.process)];
        if srv.sealed {
            lines.push("sealed".into());
        }
        foot(s, lanes.server(i as u8), &lines);
    }
    foot(s, lanes.meta(), &[format!("v{}", last.version())]);
}

/// The legend of lifeline styles and marks at the bottom.
fn legend(s: &mut String, height: usize) {
    let legend_y = height - 12;
    let mut x = 4;
    text(s, x, legend_y, "start", 10, DIM, "storage state:");
    x += 96;
    for st in StorageState::ALL {
        let (color, w, dash) = lifeline_style(st);
        let _ = write!(
            s,
            "<line x1='{x}' y1='{}' x2='{}' y2='{}' stroke='{color}' stroke-width='{w}'{} />",
            legend_y - 4,
            x + 22,
            legend_y - 4,
            if dash.is_empty() {
                String::new()
            } else {
                format!(" stroke-dasharray='{dash}'")
            }
        );
        text(s, x + 26, legend_y, "start", 10, DIM, &st.to_string());
        x += 26 + 8 * st.to_string().len() + 12;
    }
    let _ = write!(
        s,
        "<rect x='{}' y='{}' width='8' height='8' fill='{AMBER}' />",
        x,
        legend_y - 8
    );
    text(s, x + 12, legend_y, "start", 10, DIM, "sealed");
    x += 64;
    line(
        s,
        (x, legend_y - 4),
        (x + 26, legend_y - 4),
        BLUE,
        "3 3",
        true,
    );
    text(
        s,
        x + 30,
        legend_y,
        "start",
        10,
        DIM,
        "client view catches up",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Bug, Config};
    use stateright::Model;

    /// The states and actions along a path of action indices (init index 0).
    fn walk(model: &SealModel, indices: &[usize]) -> Vec<(State, Option<Action>)> {
        let mut state = model.init_states().remove(0);
        let mut out = Vec::new();
        for &i in indices {
            let mut acts = Vec::new();
            model.actions(&state, &mut acts);
            let a = acts.remove(i);
            let next = model.next_state(&state, a.clone()).unwrap();
            out.push((state, Some(a)));
            state = next;
        }
        out.push((state, None));
        out
    }

    #[test]
    fn the_incident_reads_as_rejection_then_provisioning() {
        let model = Config::incident().into_model().unwrap();
        // seal() rejected, then N1, N2, N3 provision themselves.
        let svg = svg(&model, &walk(&model, &[3, 0, 0, 0]));
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("N5: seal() REJECTED: all nodeset members Provisioning in view v1"));
        for (server, version) in [("N1", 2), ("N2", 3), ("N3", 4)] {
            assert!(
                svg.contains(&format!(
                    "{server} provisions itself: Provisioning -&gt; ReadWrite, metadata v{version}"
                )),
                "{svg}"
            );
            // The metadata store's new version and the client's view following it.
            assert!(svg.contains(&format!(">v{version}</text>")));
            assert!(svg.contains(&format!(">view v{version}</text>")));
        }
        // Step numbers 1..4, and no fifth.
        assert!(svg.contains(">4</text>") && !svg.contains(">5</text>"));
        // Each server's lifeline changes from the Provisioning style to the ReadWrite one.
        let (rw, _, _) = lifeline_style(StorageState::ReadWrite);
        assert_eq!(
            svg.matches(&format!("stroke='{rw}' stroke-width='3'"))
                .count(),
            3 + 1, // three lifeline segments and the legend
        );
    }

    #[test]
    fn a_successful_seal_marks_sealed_servers_and_the_lagging_view() {
        let mut cfg = Config::incident();
        cfg.stale_views = true;
        // A sealer running all along: its view lags (a joining client's first view is current).
        cfg.harness.client = crate::config::ClientStart::Running;
        let model = cfg.into_model().unwrap();
        // Find a path where the seal succeeds: provision all, catch up, seal, deliver.
        let mut state = model.init_states().remove(0);
        let mut path = Vec::new();
        for _ in 0..30 {
            let mut acts = Vec::new();
            model.actions(&state, &mut acts);
            let Some(a) = acts
                .iter()
                .find(|a| {
                    !matches!(
                        a,
                        Action::SealRejectedAllProvisioning | Action::HarnessCallsSeal
                    )
                })
                .or_else(|| acts.first())
                .cloned()
            else {
                break;
            };
            let next = model.next_state(&state, a.clone()).unwrap();
            path.push((state, Some(a)));
            state = next;
        }
        path.push((state, None));
        let svg = svg(&model, &path);
        assert!(
            svg.contains("N5&#39;s snapshot catches up: view v4"),
            "{svg}"
        );
        assert!(
            svg.contains("seal() call 1 in view v4: Seal to [N1,N2,N3]"),
            "{svg}"
        );
        assert!(svg.contains("seals the loglet (durably)"), "{svg}");
        assert!(svg.contains("seal task succeeds"), "{svg}");
        assert!(svg.contains(">sealed</text>"));
    }

    /// A shortest path (breadth-first) to the first state where `wanted` is enabled, then that
    /// action.
    fn path_to_action(
        model: &SealModel,
        wanted: impl Fn(&Action) -> bool,
    ) -> Vec<(State, Option<Action>)> {
        use std::collections::{HashMap, VecDeque};
        let init = model.init_states().remove(0);
        let mut parent: HashMap<State, (State, Action)> = HashMap::new();
        let mut queue = VecDeque::from([init.clone()]);
        while let Some(state) = queue.pop_front() {
            let mut acts = Vec::new();
            model.actions(&state, &mut acts);
            if let Some(a) = acts.iter().find(|a| wanted(a)) {
                let next = model.next_state(&state, a.clone()).unwrap();
                let mut path = vec![(next, None), (state.clone(), Some(a.clone()))];
                let mut at = state;
                while let Some((prev, act)) = parent.get(&at) {
                    path.push((prev.clone(), Some(act.clone())));
                    at = prev.clone();
                }
                path.reverse();
                return path;
            }
            for a in acts {
                let next = model.next_state(&state, a.clone()).unwrap();
                if next != init && !parent.contains_key(&next) {
                    parent.insert(next.clone(), (state.clone(), a));
                    queue.push_back(next);
                }
            }
        }
        panic!("no state enables the action");
    }

    #[test]
    fn seeded_bugs_are_drawn_in_red_with_their_name() {
        for bug in Bug::ALL {
            let mut cfg = Config::incident();
            cfg.appends = 1;
            cfg.bugs = vec![bug];
            let model = cfg.into_model().unwrap();
            let path = path_to_action(&model, |a| {
                matches!(
                    a,
                    Action::StoreIgnoringSeal(_)
                        | Action::SealTaskCompletesEarly
                        | Action::SequencerAcksEarly
                        | Action::SequencerSealsWithoutDrain
                        | Action::SequencerAppendsToProvisioning
                )
            });
            let svg = svg(&model, &path);
            let note = format!("fill='{RED}'>BUG {}: ", bug.name());
            assert!(svg.contains(&note), "{bug:?}: {svg}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b>&'c"), "a&lt;b&gt;&amp;&#39;c");
    }
}
