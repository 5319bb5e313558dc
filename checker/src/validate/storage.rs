//! Storage states no behaviour reaches without `--force`.
//!
//! Only two kinds of step change a log server's storage state in the metadata store: the log
//! server provisioning itself (Provisioning -> ReadWrite) and the operator's
//! `set-storage-state`, which without `--force` moves only Provisioning -> Disabled and
//! ReadWrite <-> ReadOnly (or writes the same state again). So without `--force` a log server
//! that left Provisioning never looks Provisioning again, and one that never was Provisioning
//! never looks it at all. An item that needs such a look (a seal rejected because every member
//! looked Provisioning, a log server provisioning itself, an observed storage state) has no
//! explanation with the items before it, however many unlogged steps happened between them.
//! That decides at once what the breadth-first search would find only after holding every
//! interleaving of the unlogged steps before that item (on a loaded loglet with crashes and
//! unknown operator moves, millions of states).

use sealcheck_model::config::StorageState;
use sealcheck_model::observable::{Event, Observation, RejectReason};

use super::model_for;
use crate::trace_reader::{Header, Item, TraceItem};

/// A set of storage states, one bit per [`StorageState::ALL`] entry.
type States = u8;

fn bit(s: StorageState) -> States {
    let i = StorageState::ALL
        .iter()
        .position(|x| *x == s)
        .expect("every storage state is listed");
    1 << i
}

/// Every state the latest configuration may hold for one log server after any number of
/// unlogged steps from one of `from`, without `--force` (`operator`: whether operator moves
/// may happen at all). An over-approximation: the operator's guard (enough other ReadWrite
/// log servers) and its budget are ignored.
fn closure(from: States, operator: bool) -> States {
    use StorageState::*;
    let mut set = from;
    loop {
        let mut next = set;
        if set & bit(Provisioning) != 0 {
            next |= bit(ReadWrite);
            if operator {
                next |= bit(Disabled);
            }
        }
        if operator && set & (bit(ReadWrite) | bit(ReadOnly)) != 0 {
            next |= bit(ReadWrite) | bit(ReadOnly);
        }
        if next == set {
            return set;
        }
        set = next;
    }
}

/// The first item no behaviour of the trace's model explains with the items before it,
/// because it needs a log server in a storage state that only a forced operator move reaches,
/// with why; `None` when the model allows forced moves or there is no such item.
pub(super) fn first_unreachable_storage(
    items: &[TraceItem],
    header: &Header,
) -> Option<(usize, String)> {
    let faults = &header.config.faults;
    if faults.operator_force {
        return None;
    }
    let operator = faults.operator_moves > 0;
    let model = model_for(header, false);
    let members: Vec<usize> = model.members().collect();
    // Per log server: what the latest configuration may hold now, and what any configuration
    // so far may have held (a stale snapshot of the caller may show an old version).
    let mut now: Vec<States> = header
        .config
        .initial_states()
        .iter()
        .map(|s| closure(bit(*s), operator))
        .collect();
    let mut ever = now.clone();
    let stale = header.config.stale_views;
    let n = now.len();
    let index = |node: u8| (node as usize).checked_sub(1).filter(|i| *i < n);
    for (k, it) in items.iter().enumerate() {
        let prov = bit(StorageState::Provisioning);
        match &it.item {
            Item::Event(Event::SealRejected {
                reason: Some(RejectReason::AllProvisioning),
                ..
            })
            | Item::Event(Event::OtherSealRefused { .. }) => {
                let seen = if stale { &ever } else { &now };
                if let Some(&i) = members.iter().find(|&&i| seen[i] & prov == 0) {
                    return Some((
                        k,
                        format!(
                            "every nodeset member must look Provisioning, and without --force N{} never does by then (it was {}; only a forced `set-storage-state` moves a log server back to Provisioning)",
                            i + 1,
                            describe(seen[i]),
                        ),
                    ));
                }
            }
            Item::Event(Event::Provisioned { node }) => {
                if let Some(i) = index(node.0) {
                    if now[i] & prov == 0 {
                        return Some((
                            k,
                            format!(
                                "{node} provisions itself only from Provisioning, and without --force it is not Provisioning by then (it was {})",
                                describe(now[i]),
                            ),
                        ));
                    }
                    now[i] = closure(bit(StorageState::ReadWrite), operator);
                }
            }
            Item::Event(Event::StorageStateSet { node, to }) => {
                if let Some(i) = index(node.0) {
                    now[i] = closure(bit(*to), operator);
                }
            }
            Item::Observe(Observation::ObserveStorageState { node, state }) => {
                if let Some(i) = index(node.0) {
                    if now[i] & bit(*state) == 0 {
                        return Some((
                            k,
                            format!(
                                "without --force {node} is never {state:?} by then (it was {})",
                                describe(now[i]),
                            ),
                        ));
                    }
                    now[i] = closure(bit(*state), operator);
                }
            }
            _ => {}
        }
        for (e, n) in ever.iter_mut().zip(&now) {
            *e |= n;
        }
    }
    None
}

/// The states of a set, as a list.
fn describe(set: States) -> String {
    let names: Vec<String> = StorageState::ALL
        .iter()
        .filter(|s| set & bit(**s) != 0)
        .map(|s| format!("{s:?}"))
        .collect();
    names.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use StorageState::*;

    #[test]
    fn provisioning_is_left_for_good_without_force() {
        assert_eq!(
            closure(bit(ReadWrite), true),
            bit(ReadWrite) | bit(ReadOnly)
        );
        assert_eq!(
            closure(bit(Provisioning), true),
            bit(Provisioning) | bit(ReadWrite) | bit(ReadOnly) | bit(Disabled)
        );
        assert_eq!(
            closure(bit(Provisioning), false),
            bit(Provisioning) | bit(ReadWrite)
        );
        assert_eq!(closure(bit(ReadOnly), false), bit(ReadOnly));
        assert_eq!(closure(bit(Gone), true), bit(Gone));
    }
}
