//! The hostfile (`--hostfile`): one `host:port` per process, read as untrusted input.

use std::io::Read;
use std::net::ToSocketAddrs;
use std::path::Path;

/// Largest hostfile read, bytes: a hostfile is a few lines; anything larger is refused rather
/// than read into memory.
pub const MAX_HOSTFILE_BYTES: u64 = 64 * 1024;

/// Reads the addresses of `processes` processes from a hostfile: one `host:port` per line, the
/// first `processes` lines used. The file must be a regular file (a FIFO, a device or a
/// directory is refused before it is opened) of at most [`MAX_HOSTFILE_BYTES`]; port 0 and two
/// lines naming the same address (after resolving them) are refused. Errors name the flag, the
/// file and the line.
pub fn read(path: &Path, processes: usize) -> Result<Vec<String>, String> {
    let at = |what: String| format!("--hostfile {}: {what}", path.display());
    let text = read_capped(path).map_err(at)?;
    let mut out: Vec<String> = Vec::new();
    let mut resolved: Vec<(usize, Vec<std::net::SocketAddr>)> = Vec::new();
    for (i, line) in text.lines().enumerate().take(processes) {
        let addr = line.trim();
        let line_err =
            |what: String| format!("--hostfile {}, line {}: {what}", path.display(), i + 1);
        let port = match addr.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => p.parse::<u16>().ok(),
            _ => None,
        };
        match port {
            None => {
                return Err(line_err(format!(
                    "expected an address host:port, found `{}`",
                    addr.escape_debug()
                )))
            }
            Some(0) => {
                return Err(line_err(format!(
                    "port 0 in `{addr}`: every process needs a fixed port the others can reach"
                )))
            }
            Some(_) => {}
        }
        if let Some(j) = out.iter().position(|a| a.eq_ignore_ascii_case(addr)) {
            return Err(line_err(format!(
                "`{addr}` is already the address of line {}",
                j + 1
            )));
        }
        let addrs: Vec<_> = addr
            .to_socket_addrs()
            .map(Iterator::collect)
            .unwrap_or_default();
        if let Some((j, _)) = resolved
            .iter()
            .find(|(_, other)| other.iter().any(|a| addrs.contains(a)))
        {
            return Err(line_err(format!(
                "`{addr}` is the same address as line {} (`{}`)",
                j + 1,
                out[*j]
            )));
        }
        resolved.push((i, addrs));
        out.push(addr.to_string());
    }
    if out.len() < processes {
        return Err(at(format!(
            "{processes} processes (-n) need {processes} lines (one host:port per process), found {}",
            out.len()
        )));
    }
    Ok(out)
}

/// The text of a regular file of at most [`MAX_HOSTFILE_BYTES`].
fn read_capped(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the hostfile: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (a FIFO, a device or a directory is refused)".into());
    }
    if meta.len() > MAX_HOSTFILE_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_HOSTFILE_BYTES} a hostfile may have",
            meta.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the hostfile: {e}"))?;
    // The file could have changed between the two looks: check the open file too.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the hostfile: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (a FIFO, a device or a directory is refused)".into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_HOSTFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the hostfile: {e}"))?;
    if bytes.len() as u64 > MAX_HOSTFILE_BYTES {
        return Err(format!(
            "more than the {MAX_HOSTFILE_BYTES} bytes a hostfile may have"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not text (UTF-8)".into())
}
