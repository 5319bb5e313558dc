//! Building a model from a scenario: its nodeset, its properties and its single initial state.

use super::seal_model::{PropertyKind, SealModel};
use crate::config::{bad, Config, ConfigError, StorageState};
use crate::properties;
use crate::state::*;

impl Config {
    /// Validates the configuration and builds the model.
    pub fn into_model(self) -> Result<SealModel, ConfigError> {
        self.validate()?;
        let model = SealModel::new(self);
        for name in &model.cfg.unreachable {
            let known = model
                .property_list()
                .iter()
                .any(|p| p.name == name && p.kind == PropertyKind::Sometimes);
            if !known {
                let names: Vec<_> = model
                    .property_list()
                    .iter()
                    .filter(|p| p.kind == PropertyKind::Sometimes)
                    .map(|p| p.name)
                    .collect();
                return Err(bad(
                    "unreachable",
                    format!(
                        "`{name}` is not a reachability property of this scenario; known: {}",
                        names.join("; ")
                    ),
                ));
            }
        }
        Ok(model)
    }
}

impl SealModel {
    pub(crate) fn new(cfg: Config) -> SealModel {
        let nodeset = cfg
            .nodeset
            .iter()
            .fold(0 as Bits, |acc, id| acc | (1 << (id - 1)));
        let properties = properties::for_config(&cfg);
        SealModel {
            cfg,
            nodeset,
            properties,
            deadline: None,
            forgetful: false,
            abstract_tails: false,
        }
    }

    /// The single initial state.
    pub fn initial_state(&self) -> State {
        let initial = self.cfg.initial_states();
        let servers = (0..self.n())
            .map(|i| {
                let id = i as u8 + 1;
                let state = initial[i];
                let forced = self.cfg.forced_provisioning.contains(&id);
                let process = match state {
                    StorageState::Provisioning if forced => Process::Serving,
                    StorageState::Provisioning => Process::Starting,
                    StorageState::ReadWrite | StorageState::ReadOnly | StorageState::Gone => {
                        Process::Serving
                    }
                    StorageState::DataLoss | StorageState::Disabled => Process::Refused,
                };
                LogServer {
                    process,
                    marker: process == Process::Serving,
                    stored: OffsetSet::new(),
                    local_tail: 0,
                    sealed: false,
                    known_global_tail: 0,
                }
            })
            .collect();
        State {
            configs: vec![initial],
            servers,
            client: Client {
                view: 1,
                joined: !self.client_joins(),
                harness: if self.cfg.harness.get_trim_point {
                    HarnessPhase::TrimPoint
                } else {
                    HarnessPhase::Ready
                },
                attempts: 0,
                seal: None,
                sequencer: SequencerPhase::Open,
                known_global_tail: 0,
                appends: AppendLog::new(),
                sealer_known_global_tail: 0,
                finder: FindTail::Idle,
                sequencer_silent: false,
                other_seals: OtherSeals::default(),
                other_repairs: OtherRepairs::default(),
                reader_timeouts_left: self.cfg.faults.reader_timeouts,
            },
            network: Network::new(),
            losses_left: self.cfg.faults.message_loss,
            duplications_left: self.cfg.faults.message_duplication,
            crashes_left: self.cfg.faults.crashes,
            timeouts_left: self.cfg.faults.timeouts,
            operator_moves_left: self.cfg.faults.operator_moves,
            history: History::default(),
        }
    }
}
