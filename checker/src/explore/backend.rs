//! The client side of stateright's own Explorer server: one request, one answer. [`super::page`]
//! uses it to take the page's files from the throwaway server it starts; the front
//! ([`super::proxy`]) shares its search for the end of a head.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Largest answer read from stateright's server.
const MAX_BACKEND_BYTES: usize = 64 * 1024 * 1024;
/// Largest answer head (status line and headers) read from stateright's server.
const MAX_ANSWER_HEAD_BYTES: usize = 16 * 1024;

/// An answer of stateright's server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendReply {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl BackendReply {
    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where a head (the lines before the empty line) ends in `buf`, if it is complete.
pub(super) fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn header_value<'h>(head: &'h str, wanted: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case(wanted)
            .then_some(value.trim())
    })
}

fn content_length(head: &str) -> Option<usize> {
    header_value(head, "content-length").and_then(|v| v.parse().ok())
}

/// Decodes a complete `Transfer-Encoding: chunked` body; `None` if it is malformed or cut.
pub fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 || &data[size..size + 2] != b"\r\n" {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Sends one request to stateright's server and reads its answer. The request is HTTP/1.0,
/// so that `tiny_http` closes the connection after the answer and does not chunk it (to an
/// HTTP/1.1 request it chunks large bodies); a chunked answer is decoded all the same.
pub fn backend_request(addr: SocketAddr, method: &str, path: &str) -> io::Result<BackendReply> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )?;
    s.flush()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 || buf.len() > MAX_ANSWER_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stateright's Explorer closed the connection without a complete answer",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))?;
    let mut body = buf.split_off(head_end);
    if header_value(&head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        (&mut s)
            .take((MAX_BACKEND_BYTES - body.len()) as u64)
            .read_to_end(&mut body)?;
        let body = dechunk(&body).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "malformed chunked answer")
        })?;
        return Ok(BackendReply { status, body });
    }
    match content_length(&head) {
        Some(len) if len > MAX_BACKEND_BYTES => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "answer too large",
            ))
        }
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "stateright's Explorer closed the connection mid-answer",
                    ));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None => {
            (&mut s)
                .take((MAX_BACKEND_BYTES - body.len()) as u64)
                .read_to_end(&mut body)?;
        }
    }
    Ok(BackendReply { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_answers_are_decoded() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n6;x=y\r\npedia \r\n0\r\n\r\n").as_deref(),
            Some(&b"Wikipedia "[..])
        );
        assert_eq!(dechunk(b"0\r\n\r\n").as_deref(), Some(&b""[..]));
        for bad in [
            &b"4\r\nWi"[..],
            b"zz\r\nabc\r\n0\r\n\r\n",
            b"3\r\nabcd\r\n0\r\n\r\n",
            b"3\r\nabc\r\n",
        ] {
            assert_eq!(dechunk(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
