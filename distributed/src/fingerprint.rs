//! State fingerprints, their owners, and the visited set that keeps a link per fingerprint.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use sealcheck_model::State;

/// The fingerprint of a state: stateright 0.31's own (ahash with its fixed seeds), so that
/// this engine and `sealcheck check` count the same unique states. Never zero (stateright
/// rejects zero fingerprints; a zero would collide with the "no parent" mark of [`Link`]).
pub fn fingerprint(state: &State) -> u64 {
    // stateright 0.31, src/lib.rs, module `stable`.
    const KEY1: u64 = 123_456_789_987_654_321;
    const KEY2: u64 = 98_765_432_123_456_789;
    let fp = ahash::RandomState::with_seeds(KEY1, KEY2, 0, 0).hash_one(state);
    assert!(fp != 0, "a state hashed to the invalid fingerprint 0");
    fp
}

/// The worker (of `peers`) that owns a fingerprint. It uses the fingerprint's high bits, so the
/// low bits still spread each worker's partition over its hash table.
pub fn owner(fp: u64, peers: usize) -> usize {
    ((fp >> 40) % peers as u64) as usize
}

/// What the visited set keeps per state: the parent's fingerprint (0 for an initial state) and
/// the index of the action that led here among the parent's actions (for an initial state, its
/// index among the initial states).
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// Fingerprint of the parent, 0 for an initial state.
    pub parent: u64,
    /// Action index (init-state index for an initial state).
    pub action: u32,
}

/// Hashes a fingerprint to itself: fingerprints are already uniform.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One worker's partition of the visited set.
pub type Visited = HashMap<u64, Link, BuildHasherDefault<IdentityHasher>>;
