//! Randomness from the operating system, for names and secrets nobody can guess.

use std::io::Read;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads exactly `n` bytes of randomness from the operating system.
pub fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    let mut raw = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut raw)?;
    Ok(raw)
}
