//! A seal task makes at most three attempts of its Seal request to each member
//! (`Attempts::exact(3)` in Restate's `tasks/seal.rs`): after two re-sends of a lost request the
//! member can only fail; a member whose request was lost still confirms on a later attempt.

use sealcheck_model::model::SEAL_REQUEST_ATTEMPTS;
use sealcheck_model::state::{MemberSeal, Msg, State};
use sealcheck_model::{Action, Config, Faults, SealModel, StorageState};
use stateright::Model;

fn model() -> SealModel {
    Config {
        initial_storage: vec![StorageState::ReadWrite; 3],
        faults: Faults {
            message_loss: 4,
            ..Default::default()
        },
        ..Config::incident()
    }
    .into_model()
    .unwrap()
}

fn enabled(m: &SealModel, s: &State) -> Vec<Action> {
    let mut a = Vec::new();
    m.actions(s, &mut a);
    a
}

fn take(m: &SealModel, s: &mut State, a: Action) {
    assert!(enabled(m, s).contains(&a), "{a:?} not enabled in\n{s:#?}");
    *s = m.next_state(s, a).unwrap();
}

fn lose_seal_to_n1(m: &SealModel, s: &mut State) {
    let msg = s
        .network
        .iter()
        .find(|x| matches!(x, Msg::Seal { to: 0, .. }))
        .expect("a Seal to N1 in flight");
    take(m, s, Action::Lose(msg));
}

#[test]
fn three_attempts_per_member_then_only_failure() {
    assert_eq!(SEAL_REQUEST_ATTEMPTS, 3);
    let m = model();
    let mut s = m.initial_state();
    take(&m, &mut s, Action::HarnessCallsSeal);
    for sent in 1..SEAL_REQUEST_ATTEMPTS {
        assert_eq!(s.client.seal.as_ref().unwrap().sends[0], sent);
        lose_seal_to_n1(&m, &mut s);
        take(&m, &mut s, Action::SealRequestResent(0));
    }
    assert_eq!(s.client.seal.as_ref().unwrap().sends[0], 3);
    lose_seal_to_n1(&m, &mut s);
    let acts = enabled(&m, &s);
    assert!(!acts.contains(&Action::SealRequestResent(0)), "{acts:?}");
    assert!(acts.contains(&Action::SealRequestFails(0)), "{acts:?}");
}

#[test]
fn a_lost_request_still_confirms_on_a_later_attempt() {
    let m = model();
    let mut s = m.initial_state();
    take(&m, &mut s, Action::HarnessCallsSeal);
    lose_seal_to_n1(&m, &mut s);
    take(&m, &mut s, Action::SealRequestResent(0));
    let seal = s
        .network
        .iter()
        .find(|x| matches!(x, Msg::Seal { to: 0, .. }))
        .unwrap();
    take(&m, &mut s, Action::Deliver(seal));
    let reply = s
        .network
        .iter()
        .find(|x| matches!(x, Msg::Sealed { from: 0, .. }))
        .unwrap();
    take(&m, &mut s, Action::Deliver(reply));
    assert_eq!(
        s.client.seal.as_ref().unwrap().members[0],
        Some(MemberSeal::Confirmed)
    );
}
