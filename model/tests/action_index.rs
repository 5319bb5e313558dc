//! `SealModel::action_index` (the index of a step in an Explorer path, counted without listing
//! every reply in flight) equals the step's position in `Model::actions`, on every reachable
//! state of small scenarios with appends, losses, duplications, crashes, operator moves and a
//! cluster.

use std::collections::HashSet;

use sealcheck_model::{Bug, Cluster, Config, Faults, SealModel, StorageState};
use stateright::Model;

fn check_every_state(model: &SealModel, limit: usize) -> usize {
    let mut seen = HashSet::new();
    let mut queue = vec![model.initial_state()];
    let mut checked = 0;
    while let Some(s) = queue.pop() {
        if !seen.insert(s.clone()) || seen.len() > limit {
            continue;
        }
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        for (i, a) in actions.iter().enumerate() {
            assert_eq!(
                model.action_index(&s, a),
                Some(actions.iter().position(|b| b == a).unwrap()),
                "step {i} {a:?} of {s:?}"
            );
            checked += 1;
            if let Some(next) = model.next_state(&s, a.clone()) {
                queue.push(next);
            }
        }
    }
    checked
}

fn config(appends: u32, faults: Faults) -> Config {
    Config {
        name: "action-index".into(),
        initial_storage: vec![StorageState::ReadWrite; 3],
        appends,
        faults,
        ..Config::incident()
    }
}

#[test]
fn action_index_is_the_position_among_the_enabled_steps() {
    let plain = config(4, Faults::default());
    let faulty = config(
        2,
        Faults {
            message_loss: 1,
            message_duplication: 1,
            crashes: 1,
            operator_moves: 1,
            operator_force: true,
            ..Faults::default()
        },
    );
    let cluster = Config {
        cluster: Some(Cluster { sequencer: 3 }),
        ..config(
            3,
            Faults {
                crashes: 1,
                ..Faults::default()
            },
        )
    };
    let mut bugs = config(3, Faults::default());
    bugs.bugs = vec![Bug::AckBeforeQuorum, Bug::StoreAfterSeal];
    for cfg in [plain, faulty, cluster, bugs] {
        let name = cfg.name.clone();
        let model = cfg.into_model().unwrap();
        let checked = check_every_state(&model, 60_000);
        assert!(checked > 10_000, "{name}: only {checked} steps checked");
    }
}
