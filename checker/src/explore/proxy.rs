//! The front of `sealcheck explore`: a small HTTP/1.1 server on `std::net` that validates each
//! request and answers the valid ones from stateright's page ([`super::page`]) and the
//! Explorer's data ([`super::api`]), in this process: it is the only port `explore` listens on.
//!
//! One request per connection (`Connection: close`), bounded sizes, a bounded number of
//! connections at once, and no `unwrap` on anything a client sends: a bad request gets a JSON
//! error and the server goes on. Answers: 400 for a path that does not parse, 404 for one that
//! does not replay (with the step that fails), 404 for an unknown page, 405 for a wrong method,
//! 403 for a foreign `Host` on a loopback address (a web page that rebinds its own host name to
//! 127.0.0.1 cannot read the Explorer) and for a foreign `Origin` or `Referer` (a web page on
//! another site cannot start a run through the user's browser), 408 for a request not received
//! within [`REQUEST_DEADLINE`].
//!
//! Slow clients: each request must arrive whole within [`REQUEST_DEADLINE`] (a total, not a
//! per-read timeout), and when every slot is taken (or a client holds
//! [`MAX_CONNECTIONS_PER_CLIENT`]), a new connection evicts the oldest one that has been
//! sending its request for more than [`STALLED_AFTER`]: a browser sends its request at once, so
//! connections that dribble bytes cannot keep everyone else out.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sealcheck_model::SealModel;
use serde_json::json;

use super::api::ExplorerApi;
use super::backend::find_head_end;
use super::page::{PageFiles, PAGE_FILES};
use crate::shortest::{self, PathError};

/// Largest request head (request line and headers) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest request body accepted (and discarded: no route reads a body).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest `/.states/...` path accepted, in characters.
pub const MAX_PATH_CHARS: usize = 4096;
/// Connections served at once; past it a new connection evicts a stalled one, or gets 503.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections one client address may hold at once; past it, as for [`MAX_CONNECTIONS`].
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// Time a client has to send its whole request (head and body), in total.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// A connection still sending its request after this long may be evicted for a new one.
pub const STALLED_AFTER: Duration = Duration::from_millis(500);
/// How long writing an answer may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// The `Referer` header, if any.
    pub referer: Option<String>,
}

/// A request the front refuses before routing it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Not an HTTP/1.x request head.
    #[error("malformed HTTP request: {0}")]
    Malformed(String),
    /// The head is larger than the limit (`MAX_HEAD_BYTES`).
    #[error("request head larger than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    /// The body is larger than the limit (`MAX_BODY_BYTES`).
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
    let mut origin = None;
    let mut referer = None;
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
        } else if name.eq_ignore_ascii_case("origin") {
            origin = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("referer") {
            referer = Some(value.to_string());
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
        origin,
        referer,
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
    /// Answer from the page files or the Explorer's data.
    Serve {
        /// `GET` or `POST`.
        method: &'static str,
        /// The (canonical) path.
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
        408 => "Request Timeout",
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
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(is_loopback)
}

/// Whether an address only accepts connections from this machine (127.0.0.0/8, ::1, or
/// ::ffff:127.x.y.z). The unspecified addresses 0.0.0.0 and :: listen on every interface and
/// are not loopback.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The validating front: routes each request and answers it.
pub struct Front {
    model: SealModel,
    api: Arc<ExplorerApi>,
    page: PageFiles,
    loopback_only: bool,
}

/// Whether `origin` (an `Origin` value, or a `Referer` URL) is a page of the server the
/// request was sent to: `http://` followed by exactly the request's `Host`, then nothing
/// (`Origin`) or a `/` (`Referer`).
pub fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let Some(rest) = origin.strip_prefix("http://") else {
        return false;
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    authority.eq_ignore_ascii_case(host) && (tail.is_empty() || tail.starts_with('/'))
}

impl Front {
    /// A front for a model whose data `api` answers, with stateright's `page`. With
    /// `loopback_only`, requests whose `Host` names another machine are refused (403).
    pub fn new(
        model: SealModel,
        api: Arc<ExplorerApi>,
        page: PageFiles,
        loopback_only: bool,
    ) -> Front {
        Front {
            model,
            api,
            page,
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
        // A browser names the page a request comes from: a page of another site (or another
        // port) must not start a run, nor read anything, through the user's browser. Clients
        // that send neither header (curl) are not browsers.
        let host = req.host.as_deref();
        let foreign = match (&req.origin, &req.referer) {
            (Some(o), _) => (!same_origin(o, host)).then(|| format!("Origin `{o}`")),
            (None, Some(r)) => (!same_origin(r, host)).then(|| format!("Referer `{r}`")),
            (None, None) => None,
        };
        if let Some(what) = foreign {
            return Route::Reply(Reply::error(
                403,
                format!(
                    "refused: the request comes from a page of another site ({what}); the Explorer only answers its own page"
                ),
                json!({}),
            ));
        }
        let path = req.target.split(['?', '#']).next().unwrap_or_default();
        let method = req.method.as_str();
        let serve = |m: &'static str, p: &str, content_type: &'static str| Route::Serve {
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
        let static_type = PAGE_FILES
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, t)| *t)
            .or((path == "/.status").then_some("application/json"));
        if let Some(content_type) = static_type {
            return match method {
                "GET" => serve("GET", path, content_type),
                _ => wrong_method("GET"),
            };
        }
        if path == "/.runtocompletion" {
            return match method {
                "POST" => serve("POST", path, "application/json"),
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
            return Route::Serve {
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
            Ok(_) => Route::Serve {
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

    /// Routes a request and answers it.
    pub fn handle(&self, req: &RequestHead) -> Reply {
        let (path, content_type) = match self.route(req) {
            Route::Reply(r) => return r,
            Route::Serve {
                path, content_type, ..
            } => (path, content_type),
        };
        let ok = |body: Vec<u8>| Reply {
            status: 200,
            content_type,
            headers: Vec::new(),
            body,
        };
        let to_json = |v: &serde_json::Value| serde_json::to_vec(v).expect("JSON values serialize");
        if PAGE_FILES.iter().any(|(p, _)| *p == path) {
            return match self.page.get(&path) {
                Some((_, body)) => ok(body.to_vec()),
                None => Reply::error(
                    500,
                    format!("stateright's page file {path} was not loaded"),
                    json!({}),
                ),
            };
        }
        let indices = match path.as_str() {
            "/.status" => return ok(to_json(&self.api.status())),
            "/.runtocompletion" => {
                let what = self.api.run_to_completion();
                return ok(to_json(&json!({ "run": what.name() })));
            }
            "/.states" => Ok(Vec::new()),
            other => match other.strip_prefix("/.states/") {
                Some(p) => shortest::parse_path(p),
                None => {
                    return Reply::error(404, format!("no such page: {path}"), json!({}));
                }
            },
        };
        match indices.and_then(|i| self.api.states(&i)) {
            Ok(v) => ok(to_json(&v)),
            Err(e) => Reply::error(404, e.to_string(), json!({ "path": path })),
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

/// Why no request was read from a connection.
#[derive(Debug)]
enum ReadError {
    /// The client left (or was evicted) without sending a whole request.
    Gone,
    /// The request did not arrive within [`REQUEST_DEADLINE`].
    TooSlow,
    /// The request is bad.
    Http(HttpError),
}

/// Reads from `s` with what is left of the deadline as the timeout.
fn read_by(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<usize, ReadError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ReadError::TooSlow);
    }
    let _ = s.set_read_timeout(Some(left));
    match s.read(buf) {
        Ok(0) => Err(ReadError::Gone),
        Ok(n) => Ok(n),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(ReadError::TooSlow)
        }
        Err(_) => Err(ReadError::Gone),
    }
}

/// Reads one request from a connection, head and body within [`REQUEST_DEADLINE`] in total.
fn read_request(s: &mut TcpStream) -> Result<RequestHead, ReadError> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ReadError::Http(HttpError::HeadTooLarge));
        }
        let n = read_by(s, &mut chunk, deadline)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD_BYTES {
        return Err(ReadError::Http(HttpError::HeadTooLarge));
    }
    let head = parse_request_head(&buf[..head_end]).map_err(ReadError::Http)?;
    // Discard the body (no route reads one), so that closing does not reset the connection.
    let mut left = head.content_length.saturating_sub(buf.len() - head_end);
    while left > 0 {
        left -= read_by(s, &mut chunk[..left.min(4096)], deadline)?;
    }
    Ok(head)
}

/// The connections being served, for the limits on slow clients.
#[derive(Default)]
struct Connections {
    next_id: u64,
    /// Every open connection: its client address.
    open: HashMap<u64, IpAddr>,
    /// Those still sending their request: since when, and a handle to close them.
    reading: HashMap<u64, (Instant, TcpStream)>,
}

impl Connections {
    fn count_of(&self, ip: IpAddr) -> usize {
        self.open.values().filter(|c| **c == ip).count()
    }

    /// Closes the connection (of `ip` only, if given) that has been sending its request the
    /// longest, if that is longer than [`STALLED_AFTER`]. Returns whether it closed one.
    fn evict_stalled(&mut self, ip: Option<IpAddr>) -> bool {
        let victim = self
            .reading
            .iter()
            .filter(|(id, (since, _))| {
                since.elapsed() >= STALLED_AFTER
                    && ip.is_none_or(|ip| self.open.get(id) == Some(&ip))
            })
            .min_by_key(|(_, (since, _))| *since)
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.reading.remove(&id)) {
            Some((_, stream)) => {
                let _ = stream.shutdown(Shutdown::Both);
                true
            }
            None => false,
        }
    }

    /// Makes room for a connection from `ip`: evicts stalled connections while a limit is
    /// reached. Returns false if a limit is reached and nothing can be evicted.
    fn admit(&mut self, ip: IpAddr) -> bool {
        if self.count_of(ip) >= MAX_CONNECTIONS_PER_CLIENT && !self.evict_stalled(Some(ip)) {
            return false;
        }
        self.open.len() < MAX_CONNECTIONS || self.evict_stalled(None)
    }
}

fn serve_connection(front: &Front, mut s: TcpStream, conns: &Mutex<Connections>, id: u64) {
    let _ = s.set_write_timeout(Some(WRITE_TIMEOUT));
    let read = read_request(&mut s);
    conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .reading
        .remove(&id);
    let reply = match read {
        Err(ReadError::Gone) => return,
        Err(ReadError::TooSlow) => Reply::error(
            408,
            format!(
                "the request did not arrive within {} s",
                REQUEST_DEADLINE.as_secs()
            ),
            json!({}),
        ),
        Err(ReadError::Http(e)) => e.reply(),
        Ok(req) => front.handle(&req),
    };
    let _ = write_reply(&mut s, &reply);
    let _ = s.shutdown(Shutdown::Write);
}

/// Serves the front on `listener` from a background thread, one thread per connection (at
/// most [`MAX_CONNECTIONS`] at once, [`MAX_CONNECTIONS_PER_CLIENT`] per client address; see
/// the module documentation for stalled connections). Never panics on client input; runs
/// until the process exits.
pub fn spawn_front(listener: TcpListener, front: Arc<Front>) -> io::Result<()> {
    let conns = Arc::new(Mutex::new(Connections::default()));
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
                let Ok(peer) = s.peer_addr() else { continue };
                let id = {
                    let mut c = conns.lock().unwrap_or_else(|e| e.into_inner());
                    if !c.admit(peer.ip()) {
                        drop(c);
                        let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                        let _ = write_reply(
                            &mut s,
                            &Reply::error(503, "too many connections at once".into(), json!({})),
                        );
                        continue;
                    }
                    let Ok(handle) = s.try_clone() else { continue };
                    let id = c.next_id;
                    c.next_id += 1;
                    c.open.insert(id, peer.ip());
                    c.reading.insert(id, (Instant::now(), handle));
                    id
                };
                let front = Arc::clone(&front);
                let conns_conn = Arc::clone(&conns);
                let spawned = thread::Builder::new()
                    .name("sealcheck-explorer-conn".into())
                    .spawn(move || {
                        serve_connection(&front, s, &conns_conn, id);
                        conns_conn
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .open
                            .remove(&id);
                    });
                if spawned.is_err() {
                    let mut c = conns.lock().unwrap_or_else(|e| e.into_inner());
                    c.open.remove(&id);
                    c.reading.remove(&id);
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcheck_model::Config;

    fn front_with(loopback_only: bool) -> Front {
        let model = Config::incident().into_model().unwrap();
        let bounds = crate::explore::RunBounds {
            max_states: 1000,
            timeout: Duration::from_secs(10),
        };
        let api = ExplorerApi::new(model.clone(), bounds, Box::new(|_| {}));
        Front::new(model, api, PageFiles::default(), loopback_only)
    }

    fn front() -> Front {
        front_with(true)
    }

    fn req(method: &str, target: &str) -> RequestHead {
        RequestHead {
            method: method.into(),
            target: target.into(),
            host: Some("127.0.0.1:3000".into()),
            content_length: 0,
            origin: None,
            referer: None,
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
            Route::Serve { method, path, .. } => (method, path),
            other => panic!("expected it served, got {other:?}"),
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
            // `usize::from_str` takes a sign; a path index is digits only.
            "/.states/0/3/+1",
            "/.states/+0",
            "/.states/0/%2B1",
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
            assert!(matches!(f.route(&r), Route::Serve { .. }), "{host}");
        }
        r.host = None;
        assert!(matches!(f.route(&r), Route::Serve { .. }));
        for host in [
            "evil.example:3000",
            "192.168.0.2:3000",
            "[::1",
            "localhost.evil",
        ] {
            r.host = Some(host.into());
            assert_eq!(error_of(f.route(&r)).0, 403, "{host}");
        }
        let open = front_with(false);
        r.host = Some("explorer.example:3000".into());
        assert!(matches!(open.route(&r), Route::Serve { .. }));
    }

    #[test]
    fn requests_from_pages_of_other_sites_are_refused() {
        let f = front();
        let mut r = req("POST", "/.runtocompletion");
        // The Explorer's own page (Host 127.0.0.1:3000), and clients that are not browsers.
        for (origin, referer) in [
            (Some("http://127.0.0.1:3000"), None),
            (None, Some("http://127.0.0.1:3000/")),
            (None, Some("http://127.0.0.1:3000/#/steps/0/3")),
            (
                Some("http://127.0.0.1:3000"),
                Some("http://127.0.0.1:3000/"),
            ),
            (None, None),
        ] {
            r.origin = origin.map(String::from);
            r.referer = referer.map(String::from);
            assert!(
                matches!(f.route(&r), Route::Serve { .. }),
                "{origin:?} {referer:?}"
            );
        }
        for (origin, referer) in [
            (Some("http://evil.example"), None),
            (Some("null"), None),
            (Some("http://127.0.0.1:3001"), None),
            (Some("https://127.0.0.1:3000"), None),
            (Some("http://127.0.0.1:3000.evil.example"), None),
            (None, Some("http://evil.example/page")),
            (None, Some("http://127.0.0.1:30001/")),
            (None, Some("http://localhost:3000/")),
            // Origin decides when both are sent.
            (Some("http://evil.example"), Some("http://127.0.0.1:3000/")),
        ] {
            r.origin = origin.map(String::from);
            r.referer = referer.map(String::from);
            let (status, msg) = error_of(f.route(&r));
            assert_eq!(status, 403, "{origin:?} {referer:?}");
            assert!(msg.contains("another site"), "{msg}");
        }
        // Reading is refused too, not only the run.
        r.method = "GET".into();
        r.target = "/.status".into();
        r.origin = Some("http://evil.example".into());
        assert_eq!(error_of(f.route(&r)).0, 403);
    }

    #[test]
    fn the_front_answers_from_the_model_and_says_when_a_page_file_is_missing() {
        let f = front();
        let r = f.handle(&req("GET", "/.states/0"));
        assert_eq!(r.status, 200);
        let steps: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(steps.as_array().unwrap().len(), 4);
        let r = f.handle(&req("GET", "/.states"));
        let inits: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(inits.as_array().unwrap().len(), 1);
        assert_eq!(inits[0]["actionIndex"], 0);
        // This front was given no page files: a clear 500, not the states of another route.
        let r = f.handle(&req("GET", "/"));
        assert_eq!(r.status, 500);
        let status = f.handle(&req("GET", "/.status")).json().unwrap();
        assert_eq!(status["run"]["state"], "idle");
        assert_eq!(status["done"], false);
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
