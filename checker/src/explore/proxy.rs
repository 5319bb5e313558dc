//! The front of `sealcheck explore`: a small HTTP/1.1 server on `std::net` that validates each
//! request and forwards the valid ones to stateright's Explorer on a private loopback port.
//!
//! One request per connection (`Connection: close`), bounded sizes and timeouts, a bounded
//! number of connections at once, and no `unwrap` on anything a client sends: a bad request
//! gets a JSON error and the server goes on. What stateright would answer vaguely (a
//! plain-text 404 for every bad path) is answered here first: 400 for a path that does not
//! parse, 404 for one that does not replay (with the step that fails), 404 for an unknown page,
//! 405 for a wrong method, 403 for a foreign `Host` on a loopback address (a web page that
//! rebinds its own host name to 127.0.0.1 cannot read the Explorer), 502 if stateright does not
//! answer.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sealcheck_model::SealModel;
use serde_json::json;

use crate::shortest::{self, PathError};

/// Largest request head (request line and headers) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest request body accepted (and discarded: no route reads a body).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest `/.states/...` path accepted, in characters.
pub const MAX_PATH_CHARS: usize = 4096;
/// Connections served at once; more get 503.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest answer read from stateright's Explorer.
const MAX_BACKEND_BYTES: usize = 64 * 1024 * 1024;
/// How long a client may take to send its request.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// stateright's Explorer, listening on a loopback port only the front knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backend {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Backend {
    /// Its `/.status`, parsed.
    pub fn status(&self) -> io::Result<serde_json::Value> {
        let r = backend_request(self.addr, "GET", "/.status")?;
        if r.status != 200 {
            return Err(io::Error::other(format!("/.status answered {}", r.status)));
        }
        serde_json::from_slice(&r.body).map_err(io::Error::other)
    }
}

/// An answer of stateright's Explorer.
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

fn find_head_end(buf: &[u8]) -> Option<usize> {
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

/// Sends one request to stateright's Explorer and reads its answer. The request is HTTP/1.0,
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
        if n == 0 || buf.len() > MAX_HEAD_BYTES {
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

/// A parsed request line and the headers the front uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent (`/.states/0/1?x`).
    pub target: String,
    /// The `Host` header, if any.
    pub host: Option<String>,
    /// The `Content-Length` header (0 if absent).
    pub content_length: usize,
}

/// A request the front refuses before routing it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Not an HTTP/1.x request head.
    #[error("malformed HTTP request: {0}")]
    Malformed(String),
    /// The head is larger than [`MAX_HEAD_BYTES`].
    #[error("request head larger than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("request body larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
}

impl HttpError {
    fn reply(&self) -> Reply {
        let status = match self {
            HttpError::Malformed(_) => 400,
            HttpError::HeadTooLarge => 431,
            HttpError::BodyTooLarge => 413,
        };
        Reply::error(status, self.to_string(), json!({}))
    }
}

/// Parses a request head (up to and including the empty line).
pub fn parse_request_head(head: &[u8]) -> Result<RequestHead, HttpError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| HttpError::Malformed("the request head is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed(format!(
            "bad request line `{}`",
            request_line.escape_debug()
        )));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(format!(
            "unsupported protocol `{}`",
            version.escape_debug()
        )));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpError::Malformed(format!(
            "bad method `{}`",
            method.escape_debug()
        )));
    }
    if !target.starts_with('/') {
        return Err(HttpError::Malformed(format!(
            "the request target `{}` is not a path",
            target.escape_debug()
        )));
    }
    let mut host = None;
    let mut content_length = 0usize;
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Malformed(format!(
                "bad header line `{}`",
                line.escape_debug()
            )));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("host") {
            host = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-length") {
            content_length = value
                .parse()
                .map_err(|_| HttpError::Malformed(format!("bad Content-Length `{value}`")))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HttpError::Malformed(
                "request bodies with Transfer-Encoding are not accepted".into(),
            ));
        }
    }
    if content_length > MAX_BODY_BYTES {
        return Err(HttpError::BodyTooLarge);
    }
    Ok(RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        host,
        content_length,
    })
}

/// An answer of the front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Extra headers (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON error: `{"error": message, "status": code, ...extra}`.
    pub fn error(status: u16, message: String, extra: serde_json::Value) -> Reply {
        let mut v = json!({ "error": message, "status": status });
        if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: serde_json::to_vec_pretty(&v).expect("JSON values serialize"),
        }
    }

    /// The parsed JSON body (for tests and callers that inspect errors).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What the front does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Forward to stateright's Explorer.
    Forward {
        /// `GET` or `POST`.
        method: &'static str,
        /// The (canonical) path to ask for.
        path: String,
        /// `Content-Type` of a successful answer.
        content_type: &'static str,
    },
    /// Answer directly.
    Reply(Reply),
}

/// The pages the Explorer has, for error messages.
const PAGES: [&str; 7] = [
    "GET /",
    "GET /app.js",
    "GET /app.css",
    "GET /knockout-3.5.0.js",
    "GET /.status",
    "GET /.states/<init>/<action>/... (e.g. /.states/0/3/1)",
    "POST /.runtocompletion",
];

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Whether a `Host` header names this machine: `localhost` or a loopback IP, any port.
pub fn host_is_local(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, _)) => ip,
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(crate::explore::is_loopback)
}

/// The validating front: routes each request, forwarding valid ones to the [`Backend`].
pub struct Front {
    model: SealModel,
    backend: Backend,
    loopback_only: bool,
}

impl Front {
    /// A front for a model served by `backend`. With `loopback_only`, requests whose `Host`
    /// names another machine are refused (403).
    pub fn new(model: SealModel, backend: Backend, loopback_only: bool) -> Front {
        Front {
            model,
            backend,
            loopback_only,
        }
    }

    /// Decides what to do with a request, without any I/O.
    pub fn route(&self, req: &RequestHead) -> Route {
        if self.loopback_only {
            if let Some(h) = req.host.as_deref().filter(|h| !host_is_local(h)) {
                return Route::Reply(Reply::error(
                    403,
                    format!(
                        "this Explorer only answers requests for localhost, not for Host `{h}`"
                    ),
                    json!({}),
                ));
            }
        }
        let path = req.target.split(['?', '#']).next().unwrap_or_default();
        let method = req.method.as_str();
        let forward = |m: &'static str, p: &str, content_type: &'static str| Route::Forward {
            method: m,
            path: p.to_string(),
            content_type,
        };
        let wrong_method = |allowed: &'static str| {
            let mut r = Reply::error(
                405,
                format!("{path} takes {allowed}, not {method}"),
                json!({}),
            );
            r.headers.push(("Allow", allowed.to_string()));
            Route::Reply(r)
        };
        let static_type = match path {
            "/" => Some("text/html; charset=utf-8"),
            "/app.js" | "/knockout-3.5.0.js" => Some("text/javascript; charset=utf-8"),
            "/app.css" => Some("text/css; charset=utf-8"),
            "/.status" => Some("application/json"),
            _ => None,
        };
        if let Some(content_type) = static_type {
            return match method {
                "GET" => forward("GET", path, content_type),
                _ => wrong_method("GET"),
            };
        }
        if path == "/.runtocompletion" {
            return match method {
                "POST" => forward("POST", path, "application/json"),
                _ => wrong_method("POST"),
            };
        }
        let Some(rest) = path
            .strip_prefix("/.states")
            .filter(|r| r.is_empty() || r.starts_with('/'))
        else {
            return Route::Reply(Reply::error(
                404,
                format!("no such page: {path}"),
                json!({ "pages": PAGES }),
            ));
        };
        if method != "GET" {
            return wrong_method("GET");
        }
        self.route_states(rest)
    }

    /// `/.states` plus `rest` (`""`, `/` or `/0/3/1`): the initial states, or the successors
    /// of the state the path leads to, once the path is known to replay.
    fn route_states(&self, rest: &str) -> Route {
        let text = rest.trim_start_matches('/').trim_end_matches('/');
        if text.is_empty() {
            return Route::Forward {
                method: "GET",
                path: "/.states".to_string(),
                content_type: "application/json",
            };
        }
        if text.len() > MAX_PATH_CHARS {
            return Route::Reply(Reply::error(
                414,
                format!("path longer than {MAX_PATH_CHARS} characters"),
                json!({}),
            ));
        }
        let indices = match shortest::parse_path(text) {
            Ok(i) => i,
            Err(e) => {
                return Route::Reply(Reply::error(
                    400,
                    e.to_string(),
                    json!({ "path": text, "expected": "/.states/<init>/<action>/..., e.g. /.states/0/3/1" }),
                ))
            }
        };
        match shortest::decode(&self.model, &indices) {
            Ok(_) => Route::Forward {
                method: "GET",
                path: format!("/.states/{}", shortest::encode(&indices)),
                content_type: "application/json",
            },
            Err(e @ PathError::NoSuchAction { .. }) => Route::Reply(Reply::error(
                404,
                format!("no state at path {text}: {e}"),
                json!({ "path": text }),
            )),
            Err(e) => Route::Reply(Reply::error(400, e.to_string(), json!({ "path": text }))),
        }
    }

    /// Routes a request and, if valid, forwards it and relays the answer.
    pub fn handle(&self, req: &RequestHead) -> Reply {
        match self.route(req) {
            Route::Reply(r) => r,
            Route::Forward {
                method,
                path,
                content_type,
            } => match backend_request(self.backend.addr, method, &path) {
                Ok(r) if r.status == 200 => Reply {
                    status: 200,
                    content_type,
                    headers: Vec::new(),
                    body: r.body,
                },
                Ok(r) => Reply::error(
                    r.status,
                    format!(
                        "stateright's Explorer answered {} for {path}: {}",
                        r.status,
                        r.body_text().trim()
                    ),
                    json!({}),
                ),
                Err(e) => Reply::error(
                    502,
                    format!("stateright's Explorer did not answer {method} {path}: {e}"),
                    json!({}),
                ),
            },
        }
    }
}

fn write_reply(s: &mut TcpStream, r: &Reply) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    for (name, value) in &r.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(&r.body)?;
    s.flush()
}

/// Reads one request from a connection; `Ok(None)` if the client left without sending one.
fn read_request(s: &mut TcpStream) -> Result<Option<RequestHead>, HttpError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(HttpError::HeadTooLarge);
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if head_end > MAX_HEAD_BYTES {
        return Err(HttpError::HeadTooLarge);
    }
    let head = parse_request_head(&buf[..head_end])?;
    // Discard the body (no route reads one), so that closing does not reset the connection.
    let mut left = head.content_length.saturating_sub(buf.len() - head_end);
    while left > 0 {
        match s.read(&mut chunk[..left.min(4096)]) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => left -= n,
        }
    }
    Ok(Some(head))
}

fn serve_connection(front: &Front, mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(CLIENT_TIMEOUT));
    let _ = s.set_write_timeout(Some(CLIENT_TIMEOUT));
    let reply = match read_request(&mut s) {
        Ok(None) => return,
        Ok(Some(req)) => front.handle(&req),
        Err(e) => e.reply(),
    };
    let _ = write_reply(&mut s, &reply);
    let _ = s.shutdown(Shutdown::Write);
}

/// Serves the front on `listener` from a background thread, one thread per connection (at
/// most [`MAX_CONNECTIONS`] at once). Never panics on client input; runs until the process
/// exits.
pub fn spawn_front(listener: TcpListener, front: Arc<Front>) -> io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    thread::Builder::new()
        .name("sealcheck-explorer-front".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let mut s = match conn {
                    Ok(s) => s,
                    Err(_) => {
                        // Out of file descriptors or similar: back off, keep serving.
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    active.fetch_sub(1, Ordering::SeqCst);
                    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                    let _ = write_reply(
                        &mut s,
                        &Reply::error(503, "too many connections at once".into(), json!({})),
                    );
                    continue;
                }
                let front = Arc::clone(&front);
                let active_conn = Arc::clone(&active);
                let spawned = thread::Builder::new()
                    .name("sealcheck-explorer-conn".into())
                    .spawn(move || {
                        serve_connection(&front, s);
                        active_conn.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    active.fetch_sub(1, Ordering::SeqCst);
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcheck_model::Config;

    fn front() -> Front {
        let model = Config::incident().into_model().unwrap();
        // The backend is never contacted by `route`.
        let backend = Backend {
            addr: "127.0.0.1:9".parse().unwrap(),
        };
        Front::new(model, backend, true)
    }

    fn req(method: &str, target: &str) -> RequestHead {
        RequestHead {
            method: method.into(),
            target: target.into(),
            host: Some("127.0.0.1:3000".into()),
            content_length: 0,
        }
    }

    fn error_of(route: Route) -> (u16, String) {
        match route {
            Route::Reply(r) => {
                let j = r.json().expect("errors are JSON");
                assert_eq!(j["status"], r.status);
                (r.status, j["error"].as_str().unwrap().to_string())
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    fn forwarded(route: Route) -> (&'static str, String) {
        match route {
            Route::Forward { method, path, .. } => (method, path),
            other => panic!("expected a forward, got {other:?}"),
        }
    }

    #[test]
    fn explorer_pages_are_forwarded() {
        let f = front();
        for p in ["/", "/app.js", "/app.css", "/knockout-3.5.0.js", "/.status"] {
            assert_eq!(forwarded(f.route(&req("GET", p))), ("GET", p.to_string()));
        }
        assert_eq!(
            forwarded(f.route(&req("GET", "/.status?x=1"))),
            ("GET", "/.status".to_string())
        );
        assert_eq!(
            forwarded(f.route(&req("POST", "/.runtocompletion"))),
            ("POST", "/.runtocompletion".to_string())
        );
    }

    #[test]
    fn valid_state_paths_are_forwarded_in_canonical_form() {
        let f = front();
        for (target, want) in [
            ("/.states", "/.states"),
            ("/.states/", "/.states"),
            ("/.states/0", "/.states/0"),
            ("/.states/0/3/0/0/0", "/.states/0/3/0/0/0"),
            ("/.states/0/3/", "/.states/0/3"),
        ] {
            assert_eq!(
                forwarded(f.route(&req("GET", target))),
                ("GET", want.to_string()),
                "{target}"
            );
        }
    }

    #[test]
    fn malformed_state_paths_are_400() {
        let f = front();
        for target in [
            "/.states/abc",
            "/.states/0//1",
            "/.states/0/-1",
            "/.states/0/1x",
        ] {
            let (status, msg) = error_of(f.route(&req("GET", target)));
            assert_eq!(status, 400, "{target}");
            assert!(msg.contains("is not a path"), "{target}: {msg}");
        }
        let long = format!("/.states/{}", "0/".repeat(MAX_PATH_CHARS));
        assert_eq!(error_of(f.route(&req("GET", &long))).0, 414);
    }

    #[test]
    fn state_paths_that_do_not_replay_are_404_naming_the_step() {
        let f = front();
        let (status, msg) = error_of(f.route(&req("GET", "/.states/0/99")));
        assert_eq!(status, 404);
        assert!(
            msg.contains("step 1 of the path names action 99, but only 4 are possible there"),
            "{msg}"
        );
        let (status, msg) = error_of(f.route(&req("GET", "/.states/7")));
        assert_eq!(status, 404);
        assert!(msg.contains("step 0"), "{msg}");
        let (status, _) = error_of(f.route(&req("GET", "/.states/0/3/0/0/0/0")));
        assert_eq!(status, 404);
        let (status, _) = error_of(f.route(&req("GET", "/.states/0/99999999999999999999999")));
        assert_eq!(status, 400);
    }

    #[test]
    fn unknown_pages_are_404_and_wrong_methods_405() {
        let f = front();
        for target in [
            "/nope",
            "/.statesX",
            "/.states0/1",
            "/index.html",
            "/../etc/passwd",
        ] {
            let (status, msg) = error_of(f.route(&req("GET", target)));
            assert_eq!(status, 404, "{target}");
            assert!(msg.contains("no such page"), "{msg}");
        }
        assert_eq!(error_of(f.route(&req("GET", "/.runtocompletion"))).0, 405);
        assert_eq!(error_of(f.route(&req("POST", "/.status"))).0, 405);
        assert_eq!(error_of(f.route(&req("DELETE", "/.states/0"))).0, 405);
        match f.route(&req("PUT", "/")) {
            Route::Reply(r) => assert!(r.headers.contains(&("Allow", "GET".to_string()))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn foreign_hosts_are_refused_on_loopback() {
        let f = front();
        let mut r = req("GET", "/.status");
        for host in ["localhost:3000", "127.0.0.1", "[::1]:3000", "LOCALHOST"] {
            r.host = Some(host.into());
            assert!(matches!(f.route(&r), Route::Forward { .. }), "{host}");
        }
        r.host = None;
        assert!(matches!(f.route(&r), Route::Forward { .. }));
        for host in [
            "evil.example:3000",
            "192.168.0.2:3000",
            "[::1",
            "localhost.evil",
        ] {
            r.host = Some(host.into());
            assert_eq!(error_of(f.route(&r)).0, 403, "{host}");
        }
        let open = Front::new(
            Config::incident().into_model().unwrap(),
            Backend {
                addr: "127.0.0.1:9".parse().unwrap(),
            },
            false,
        );
        r.host = Some("explorer.example:3000".into());
        assert!(matches!(open.route(&r), Route::Forward { .. }));
    }

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

    #[test]
    fn request_heads_parse_or_fail_clearly() {
        let h = parse_request_head(
            b"GET /.states/0 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/.states/0");
        assert_eq!(h.host.as_deref(), Some("127.0.0.1:3000"));
        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET /x\r\n\r\n",
            b"GET /x HTTP/2\r\n\r\n",
            b"get /x HTTP/1.1\r\n\r\n",
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET /x HTTP/1.1\r\nNoColon\r\n\r\n",
            b"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parse_request_head(bad), Err(HttpError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_request_head(b"POST /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            Err(HttpError::BodyTooLarge)
        );
    }
}
