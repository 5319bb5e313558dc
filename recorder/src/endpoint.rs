//! A stand-in service deployment and a minimal HTTP/1.1 client, both inside the namespace.
//!
//! Appending records to a partition's log through the ingress needs a registered service. The
//! records the `appends-then-seal` scenario produces are *delayed sends*
//! (`POST /Svc/handler/send?delay=1h`): the ingress appends one command per call to the
//! partition's log and nothing is invoked for an hour. So the deployment only has to answer
//! Restate's discovery request (`GET /discover`) with an endpoint manifest naming service `Svc`
//! with handler `handler`; it is registered with `use_http_11 = true` so plain HTTP/1.1 over
//! `std::net` is enough. Both the server and the client run on threads that joined the
//! cluster's network namespace ([`NetNs::spawn_thread`]), so they reach 127.0.0.1 there.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::NetNs;
use crate::Error;

/// Name of the stand-in service.
pub const SERVICE: &str = "Svc";
/// Name of its only handler.
pub const HANDLER: &str = "handler";

/// The endpoint manifest the stand-in deployment answers discovery with.
pub fn manifest() -> String {
    format!(
        r#"{{"protocolMode":"REQUEST_RESPONSE","minProtocolVersion":5,"maxProtocolVersion":5,"services":[{{"name":"{SERVICE}","ty":"SERVICE","handlers":[{{"name":"{HANDLER}"}}]}}]}}"#
    )
}

/// Picks the response content type from the discovery request's `Accept` header: the lowest
/// `application/vnd.restate.endpointmanifest.vN+json` offered (the manifest uses only v1 fields).
pub fn manifest_content_type(accept: &str) -> String {
    let mut offered: Vec<(u32, String)> = accept
        .split(',')
        .map(str::trim)
        .filter_map(|t| {
            let v = t
                .strip_prefix("application/vnd.restate.endpointmanifest.v")?
                .strip_suffix("+json")?;
            Some((v.parse().ok()?, t.to_string()))
        })
        .collect();
    offered.sort();
    offered
        .into_iter()
        .next()
        .map(|(_, t)| t)
        .unwrap_or_else(|| "application/vnd.restate.endpointmanifest.v1+json".into())
}

/// A running stand-in deployment. Stops (and joins its thread) on drop.
#[derive(Debug)]
pub struct StandInDeployment {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl StandInDeployment {
    /// Listens on 127.0.0.1:`port` inside `ns`.
    pub fn start(ns: &NetNs, port: u16) -> Result<StandInDeployment, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (flag, log) = (stop.clone(), requests.clone());
        let handle = ns.spawn_thread("stand-in-deployment", move || {
            let listener = match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = listener.set_nonblocking(true);
            let _ = tx.send(Ok(()));
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        if let Some(line) = serve(stream) {
                            log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        })?;
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(StandInDeployment {
                port,
                stop,
                requests,
                handle: Some(handle),
            }),
            Ok(Err(e)) => Err(Error::Http(format!("stand-in deployment cannot bind: {e}"))),
            Err(_) => Err(Error::Http("stand-in deployment did not start".into())),
        }
    }

    /// The URI to register (`http://127.0.0.1:PORT/`).
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Request lines served so far (`GET /discover`, ...).
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for StandInDeployment {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).into_owned();
            return Some((head, buf[pos + 4..].to_vec()));
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn serve(mut stream: TcpStream) -> Option<String> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let (head, _body) = read_head(&mut stream)?;
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let response = if path == "/discover" {
        let ct = manifest_content_type(header(&head, "accept").unwrap_or(""));
        let body = manifest();
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nx-restate-server: sealcheck-stand-in\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
    };
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    Some(request_line)
}

/// An HTTP response as the minimal client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body as received (chunked encoding is not decoded).
    pub body: String,
}

/// Sends one HTTP/1.1 request to 127.0.0.1:`port` inside `ns` and reads the whole response
/// (`Connection: close`), at most `timeout`.
pub fn http_request(
    ns: &NetNs,
    method: &str,
    port: u16,
    path: &str,
    json_body: Option<&str>,
    timeout: Duration,
) -> Result<HttpResponse, Error> {
    let (method_name, path_name) = (method.to_string(), path.to_string());
    let method = method.to_string();
    let path = path.to_string();
    let body = json_body.map(str::to_string);
    let h = ns.spawn_thread("http-client", move || -> Result<HttpResponse, String> {
        let deadline = Instant::now() + timeout;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        let _ = s.set_read_timeout(Some(timeout));
        let _ = s.set_write_timeout(Some(timeout));
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\naccept: application/json\r\n"
        );
        match &body {
            Some(b) => req.push_str(&format!(
                "content-type: application/json\r\ncontent-length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => req.push_str("content-length: 0\r\n\r\n"),
        }
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        while Instant::now() < deadline {
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP status line in {text:?}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok(HttpResponse { status, body })
    })?;
    h.join()
        .map_err(|_| Error::Http("http client thread panicked".into()))?
        .map_err(|e| Error::Http(format!("{method_name} 127.0.0.1:{port}{path_name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_is_the_lowest_offered_manifest_version() {
        let accept = "application/vnd.restate.endpointmanifest.v3+json, application/vnd.restate.endpointmanifest.v1+json";
        assert_eq!(
            manifest_content_type(accept),
            "application/vnd.restate.endpointmanifest.v1+json"
        );
    }

    #[test]
    fn manifest_is_json_naming_the_handler() {
        let v: serde_json::Value = serde_json::from_str(&manifest()).unwrap();
        assert_eq!(v["services"][0]["name"], "Svc");
        assert_eq!(v["services"][0]["handlers"][0]["name"], "handler");
    }
}
