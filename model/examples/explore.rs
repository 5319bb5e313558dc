use sealcheck_model::*;
use stateright::{Checker, Model};
fn main() {
    for (kind, stale, appends) in [
        (HarnessKind::SealOnce, false, 0),
        (HarnessKind::Retry, false, 0),
        (HarnessKind::WaitProvisioned, false, 0),
        (HarnessKind::SealOnce, true, 0),
        (HarnessKind::Retry, true, 0),
        (HarnessKind::WaitProvisioned, true, 0),
        (HarnessKind::WaitProvisioned, false, 2),
    ] {
        let mut cfg = Config::incident();
        cfg.harness.kind = kind;
        cfg.stale_views = stale;
        cfg.appends = appends;
        let m = cfg.into_model().unwrap();
        let t = std::time::Instant::now();
        let c = m.clone().checker().threads(1).spawn_bfs().join();
        let mut d: Vec<_> = c
            .discoveries()
            .into_iter()
            .map(|(k, p)| (k, p.into_actions().len()))
            .collect();
        d.sort();
        println!(
            "{kind:?} stale={stale} appends={appends}: {} unique, {} total {:?} {:?}",
            c.unique_state_count(),
            c.state_count(),
            t.elapsed(),
            d
        );
    }
}
