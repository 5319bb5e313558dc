//! The checkpoint file: one file per checkpoint, written to a temporary name, synced and
//! renamed, so that a crash at any moment leaves either the previous checkpoint or the new one.
//!
//! Layout (integers little-endian):
//!
//! | part | bytes |
//! |---|---|
//! | magic `SEALCKPT`, format version (u32) | 12 |
//! | manifest length (u64), the [`Manifest`] as JSON | 8 + its length |
//! | visited count (u64), then per unique state: fingerprint, parent fingerprint (0 for an initial state), action index (u32; the initial state's index for an initial state) | 8 + 20 per state |
//! | frontier count (u64), then per queued state: depth (u32), eventually bits (u64), length (u32), the state in bincode (variable-length integers) | 8 + 16 + the state |
//! | FNV-1a 64 checksum of every byte before it | 8 |
//!
//! The framing (magic, version, manifest, checksum, the atomic write) and the records (links,
//! states) are shared with the timely engine's checkpoints ([`super::timely`]), whose files
//! differ only in their magic, manifest and body.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bincode::Options;
use sealcheck_model::State;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{fingerprint, CheckpointError, Node, Search, Visited};

/// The checkpoint file's name in its directory.
pub const FILE_NAME: &str = "checkpoint.bin";
/// A copy of the manifest for people (`cat DIR/manifest.json`); never read back.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The version of the layout above; a checkpoint of another version is refused.
/// (2: a state carries the seal tasks of other nodes; 3: and the other readers' tail repairs.)
pub const FORMAT_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"SEALCKPT";
/// Largest manifest a reader accepts (a corrupted length must not allocate gigabytes).
const MAX_MANIFEST: u64 = 64 << 20;
/// Largest encoded state a reader accepts.
const MAX_STATE: u32 = 1 << 20;

/// What a checkpoint says about itself: the run it belongs to and where that run stood.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// The sealcheck version that wrote it (a model's states and fingerprints may change
    /// between versions).
    pub sealcheck_version: String,
    /// The scenario and options the run explores.
    pub identity: super::Identity,
    /// The fingerprints of the model's initial states: a guard against a model whose
    /// states hash differently.
    pub init_fingerprints: Vec<u64>,
    /// Depth of the first queued state (the level the search stood at).
    pub level: usize,
    /// Unique states found so far.
    pub unique_states: usize,
    /// States generated so far, repeats included.
    pub states: usize,
    /// Deepest depth reached so far.
    pub max_depth: usize,
    /// States queued (the frontier).
    pub queued: usize,
    /// Exploration time of every session so far, milliseconds.
    pub elapsed_ms: u64,
    /// The properties discovered so far: name and fingerprint of the state that decided it.
    pub discoveries: Vec<(String, u64)>,
}

/// The encoding of queued states: bincode with variable-length integers (lengths, enum tags
/// and small numbers take one byte), no trailing bytes allowed.
fn encoding() -> impl bincode::Options {
    bincode::DefaultOptions::new()
        .with_varint_encoding()
        .reject_trailing_bytes()
}

/// FNV-1a, 64 bits: independent of how the bytes are split into writes and reads.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn feed(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A writer that checksums what passes through it.
struct SumWriter<W: Write> {
    inner: W,
    sum: Fnv,
}

impl<W: Write> Write for SumWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sum.feed(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that checksums what passes through it.
struct SumReader<R: Read> {
    inner: R,
    sum: Fnv,
}

impl<R: Read> Read for SumReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sum.feed(&buf[..n]);
        Ok(n)
    }
}

/// Writes `search` with `manifest` into `dir` atomically (temporary file, fsync, rename,
/// fsync of the directory); returns the file's size in bytes.
pub fn write(dir: &Path, manifest: &Manifest, search: &Search) -> Result<u64, CheckpointError> {
    let bytes = write_atomic(dir, FILE_NAME, (MAGIC, FORMAT_VERSION), manifest, |w| {
        write_search(w, search)
    })?;
    if let Ok(text) = serde_json::to_string_pretty(manifest) {
        let _ = std::fs::write(dir.join(MANIFEST_NAME), text + "\n");
    }
    Ok(bytes)
}

/// Writes the file `name` in `dir` atomically: its magic and format `version`, `manifest` as
/// JSON, what `body` writes and the checksum, into a temporary file that is synced and then
/// renamed (the directory synced after). Returns the file's size in bytes.
pub(crate) fn write_atomic<M: Serialize>(
    dir: &Path,
    name: &str,
    (magic, version): (&[u8; 8], u32),
    manifest: &M,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64, CheckpointError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |source| CheckpointError::Io {
        path: tmp.clone(),
        source,
    };
    let file = File::create(&tmp).map_err(io)?;
    let mut w = SumWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        sum: Fnv::new(),
    };
    let header = |w: &mut SumWriter<_>| -> std::io::Result<()> {
        w.write_all(magic)?;
        w.write_all(&version.to_le_bytes())?;
        let json = serde_json::to_vec(manifest).map_err(std::io::Error::other)?;
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)
    };
    header(&mut w).map_err(io)?;
    body(&mut w).map_err(io)?;
    let sum = w.sum.0;
    let mut inner = w.inner;
    inner.write_all(&sum.to_le_bytes()).map_err(io)?;
    let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|source| CheckpointError::Io {
        path: path.clone(),
        source,
    })?;
    // The rename is durable once the directory is synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(bytes)
}

/// Writes one link of a visited set: fingerprint, parent fingerprint, action index (20 bytes).
pub(crate) fn write_link(
    w: &mut dyn Write,
    fp: u64,
    parent: u64,
    action: u32,
) -> std::io::Result<()> {
    let mut rec = [0u8; 20];
    rec[..8].copy_from_slice(&fp.to_le_bytes());
    rec[8..16].copy_from_slice(&parent.to_le_bytes());
    rec[16..].copy_from_slice(&action.to_le_bytes());
    w.write_all(&rec)
}

/// Writes one state: its length (u32), then the state in bincode; `buf` is scratch space.
pub(crate) fn write_state(
    w: &mut dyn Write,
    buf: &mut Vec<u8>,
    state: &State,
) -> std::io::Result<()> {
    buf.clear();
    encoding()
        .serialize_into(&mut *buf, state)
        .map_err(std::io::Error::other)?;
    w.write_all(&(buf.len() as u32).to_le_bytes())?;
    w.write_all(buf)
}

fn write_search(w: &mut dyn Write, search: &Search) -> std::io::Result<()> {
    w.write_all(&(search.visited.len() as u64).to_le_bytes())?;
    for (fp, (parent, action)) in &search.visited {
        write_link(w, *fp, *parent, *action)?;
    }
    w.write_all(&(search.queue.len() as u64).to_le_bytes())?;
    let mut buf = Vec::new();
    for node in &search.queue {
        w.write_all(&node.depth.to_le_bytes())?;
        w.write_all(&node.ebits.to_le_bytes())?;
        write_state(w, &mut buf, &node.state)?;
    }
    Ok(())
}

/// The checkpoint file of `dir`, if there is one.
pub fn existing(dir: &Path) -> Option<PathBuf> {
    let path = dir.join(FILE_NAME);
    path.exists().then_some(path)
}

/// Reads a checkpoint's manifest only (to refuse a mismatched run before loading gigabytes),
/// and returns it with the reader positioned after it.
pub fn open(path: &Path) -> Result<(Manifest, Reader), CheckpointError> {
    open_framed(path, (MAGIC, FORMAT_VERSION))
}

/// Opens a file written by [`write_atomic`] with this `magic` and format `version`, reads its
/// manifest and returns it with the reader positioned after it. Another version is a
/// [`CheckpointError::Mismatch`], anything else unreadable [`CheckpointError::Corrupt`].
pub(crate) fn open_framed<M: DeserializeOwned>(
    path: &Path,
    (magic_expected, version): (&[u8; 8], u32),
) -> Result<(M, Reader), CheckpointError> {
    let file = File::open(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let mut r = Reader {
        path: path.to_path_buf(),
        file_len,
        inner: SumReader {
            inner: BufReader::with_capacity(1 << 20, file),
            sum: Fnv::new(),
        },
    };
    let mut magic = [0u8; 8];
    r.exact(&mut magic, "the header")?;
    if &magic != magic_expected {
        return Err(r.corrupt("it does not start like a sealcheck checkpoint"));
    }
    let format = r.u32("the header")?;
    if format != version {
        return Err(CheckpointError::Mismatch {
            dir: path.parent().unwrap_or(path).to_path_buf(),
            differences: vec![format!(
                "checkpoint format version {format}, this sealcheck reads version {version}"
            )],
        });
    }
    let len = r.u64("the manifest")?;
    if len > MAX_MANIFEST.min(file_len) {
        return Err(r.corrupt("its manifest length is out of range"));
    }
    let mut json = vec![0u8; len as usize];
    r.exact(&mut json, "the manifest")?;
    let manifest: M = serde_json::from_slice(&json)
        .map_err(|e| r.corrupt(&format!("its manifest is not valid: {e}")))?;
    Ok((manifest, r))
}

/// A checkpoint file being read.
pub struct Reader {
    path: PathBuf,
    file_len: u64,
    inner: SumReader<BufReader<File>>,
}

impl Reader {
    /// The error for a file that is not a whole, intact checkpoint.
    pub(crate) fn corrupt(&self, what: &str) -> CheckpointError {
        CheckpointError::Corrupt {
            path: self.path.clone(),
            what: what.to_string(),
        }
    }

    fn exact(&mut self, buf: &mut [u8], part: &str) -> Result<(), CheckpointError> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.corrupt(&format!("it is truncated (in {part})"))
            } else {
                CheckpointError::Io {
                    path: self.path.clone(),
                    source: e,
                }
            }
        })
    }

    fn u32(&mut self, part: &str) -> Result<u32, CheckpointError> {
        let mut b = [0u8; 4];
        self.exact(&mut b, part)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self, part: &str) -> Result<u64, CheckpointError> {
        let mut b = [0u8; 8];
        self.exact(&mut b, part)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A record count of `part` (named `what` in errors), refused if the file cannot hold
    /// that many records of at least `min_bytes` each.
    pub(crate) fn count(
        &mut self,
        part: &str,
        what: &str,
        min_bytes: u64,
    ) -> Result<u64, CheckpointError> {
        let n = self.u64(part)?;
        if n > self.file_len / min_bytes {
            return Err(self.corrupt(&format!("its {what} count is out of range")));
        }
        Ok(n)
    }

    /// One link written by [`write_link`]: fingerprint, parent, action index.
    pub(crate) fn link(&mut self, part: &str) -> Result<(u64, u64, u32), CheckpointError> {
        let mut rec = [0u8; 20];
        self.exact(&mut rec, part)?;
        let word = |i: usize| u64::from_le_bytes(rec[i..i + 8].try_into().expect("8 bytes"));
        let action = u32::from_le_bytes(rec[16..].try_into().expect("4 bytes"));
        Ok((word(0), word(8), action))
    }

    /// One state written by [`write_state`]; `buf` is scratch space.
    pub(crate) fn state(
        &mut self,
        part: &str,
        buf: &mut Vec<u8>,
    ) -> Result<State, CheckpointError> {
        let len = self.u32(part)?;
        if len > MAX_STATE {
            return Err(self.corrupt("a queued state's length is out of range"));
        }
        buf.resize(len as usize, 0);
        self.exact(buf, part)?;
        encoding()
            .deserialize(buf)
            .map_err(|e| self.corrupt(&format!("a queued state does not decode: {e}")))
    }

    /// Checks the checksum after the last record and that nothing follows it.
    pub(crate) fn finish(mut self) -> Result<(), CheckpointError> {
        let computed = self.inner.sum.0;
        let mut stored = [0u8; 8];
        self.inner
            .inner
            .read_exact(&mut stored)
            .map_err(|_| self.corrupt("it is truncated (its checksum is missing)"))?;
        if u64::from_le_bytes(stored) != computed {
            return Err(self.corrupt("its checksum does not match its contents"));
        }
        let mut extra = [0u8; 1];
        if self.inner.inner.read(&mut extra).unwrap_or(0) != 0 {
            return Err(self.corrupt("bytes follow its checksum"));
        }
        Ok(())
    }

    /// Reads the visited set and the frontier, checks every queued state against the visited
    /// set and the checksum, and that nothing follows it.
    pub fn read_search(mut self) -> Result<(Visited, Vec<Node>), CheckpointError> {
        let n = self.count("the visited set", "visited-set", 20)?;
        let mut visited = Visited::default();
        visited.reserve(n as usize);
        for _ in 0..n {
            let (fp, parent, action) = self.link("the visited set")?;
            visited.insert(fp, (parent, action));
        }
        let q = self.count("the frontier", "frontier", 16)?;
        let mut queue = Vec::with_capacity(q as usize);
        let mut buf = Vec::new();
        for _ in 0..q {
            let depth = self.u32("the frontier")?;
            let ebits = self.u64("the frontier")?;
            let state = self.state("the frontier", &mut buf)?;
            let fp = fingerprint(&state);
            if !visited.contains_key(&fp) {
                return Err(self.corrupt("a queued state is not in its visited set"));
            }
            queue.push(Node {
                state,
                fp,
                depth,
                ebits,
            });
        }
        self.finish()?;
        Ok((visited, queue))
    }
}
