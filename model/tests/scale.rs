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
