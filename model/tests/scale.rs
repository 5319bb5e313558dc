//! Issue #17: a loglet of any number of records. The scenario bound is a million appends, and
//! offsets past the old 64-record limit run through the model.

use sealcheck_model::config::MAX_APPENDS;
use sealcheck_model::{Config, StorageState};

fn provisioned(appends: u32) -> Config {
    Config {
        initial_storage: vec![StorageState::ReadWrite; 3],
        appends,
        ..Config::incident()
    }
}

#[test]
fn a_thousand_appends_validate() {
    provisioned(1_000).validate().unwrap();
    provisioned(1_000).into_model().unwrap();
    provisioned(MAX_APPENDS).validate().unwrap();
}

#[test]
fn more_than_a_million_appends_are_refused_naming_the_field() {
    let e = provisioned(MAX_APPENDS + 1).validate().unwrap_err();
    assert_eq!(e.field, "appends");
    assert!(e.message.contains("at most 1000000"), "{e}");
}

/// A store past offset 64 (beyond the old bit mask) is written and extends the server's one
/// interval; `describe` prints short sets as before and long ones as their intervals.
#[test]
fn a_store_past_offset_64_extends_the_stored_interval() {
    use sealcheck_model::describe;
    use sealcheck_model::state::{Msg, OffsetSet};
    use sealcheck_model::Action;
    use stateright::Model;

    let m = provisioned(1_000).into_model().unwrap();
    let mut s = m.init_states().remove(0);
    s.servers[0].stored = OffsetSet::range(0..100);
    s.servers[0].local_tail = 100;
    s.servers[0].known_global_tail = 100;
    let store = Msg::Store {
        to: 0,
        offset: 100,
        known_global_tail: 100,
        repair: false,
    };
    s.send(store.clone());
    let next = m.next_state(&s, Action::Deliver(store)).unwrap();
    assert_eq!(next.servers[0].stored, OffsetSet::range(0..101));
    assert_eq!(next.servers[0].local_tail, 101);
    let mut gapped = next.clone();
    gapped.servers[0].stored.insert(1_001);
    gapped.servers[1].stored = OffsetSet::from([0, 1, 2]);
    let text = describe::state(&m, &gapped).join("\n");
    assert!(text.contains("stored {0..100,1001}"), "{text}");
    assert!(text.contains("stored {0,1,2}"), "{text}");
}
