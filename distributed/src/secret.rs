//! The secret of a run: every process presents it when it connects to another, so a program
//! that does not know it never becomes a peer.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Largest secret file read, bytes.
const MAX_SECRET_BYTES: u64 = 4096;

/// Fewest bytes a secret must have.
const MIN_SECRET_BYTES: usize = 16;

/// The shared secret of a multi-process run (its bytes; `Debug` does not show them).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Secret {
    /// A fresh secret: 32 bytes of the operating system's randomness, hex-encoded.
    pub fn generate() -> std::io::Result<Secret> {
        Ok(Secret(hex(&random_bytes(32)?).into_bytes()))
    }

    /// A secret from bytes (surrounding whitespace removed); at least 16 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, String> {
        let text = bytes.trim_ascii();
        if text.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "a secret needs at least {MIN_SECRET_BYTES} bytes, found {}",
                text.len()
            ));
        }
        Ok(Secret(text.to_vec()))
    }

    /// Reads `--secret-file`: a regular file of at most 4 KiB that only its owner may read or
    /// write (mode 0600 or 0400, owned by this user); a file others can read is refused, as
    /// its secret is no secret. Errors name the flag and the file.
    pub fn read_file(path: &Path) -> Result<Secret, String> {
        let at = |what: String| format!("--secret-file {}: {what}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| at(format!("cannot read it: {e}")))?;
        if !meta.is_file() {
            return Err(at("not a regular file".into()));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(at(format!(
                "mode {:o}: the group or others may access it; make it readable by its owner only (chmod 600)",
                meta.permissions().mode() & 0o777
            )));
        }
        // The owner of /proc/self is this process's user: the file must be ours.
        let uid = std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(meta.uid());
        if meta.uid() != uid {
            return Err(at("owned by another user".into()));
        }
        if meta.len() > MAX_SECRET_BYTES {
            return Err(at(format!("larger than {MAX_SECRET_BYTES} bytes")));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_SECRET_BYTES).read_to_end(&mut bytes))
            .map_err(|e| at(format!("cannot read it: {e}")))?;
        Secret::from_bytes(&bytes).map_err(at)
    }

    /// Writes the secret to a new file `path` with mode 0600 (never an existing file).
    pub fn write_new_file(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(&self.0)?;
        f.write_all(b"\n")
    }

    /// The bytes presented in a handshake.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `other` is this secret, in time independent of where they differ.
    pub(crate) fn matches(&self, other: &[u8]) -> bool {
        self.0.len() == other.len()
            && self
                .0
                .iter()
                .zip(other)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

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
