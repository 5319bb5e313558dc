//! A bounded ingress load generator: delayed sends at a steady rate, inside the namespace.
//!
//! The `steady-load` scenarios keep a partition's log busy for minutes: every call
//! `POST /Svc/handler/send?delay=1h` on a node's ingress appends one record to a partition's log
//! and invokes nothing (see [`crate::endpoint`]). At 50 calls a second a process per call (curl
//! through `nsenter`) is too slow, so a few worker threads that joined the cluster's network
//! namespace ([`NetNs::spawn_thread`]) each keep one HTTP/1.1 connection alive to
//! 127.0.0.1:PORT and send in turn.
//!
//! Pacing: call `i` is due at `start + i / rate`. A worker takes the next call number, sleeps
//! until it is due and sends it; a call more than [`MAX_LAG`] late (the ingress stalled: a node
//! was killed or paused, a partition moved) is *skipped*, not sent in a burst, so the offered
//! rate never exceeds `rate` by more than one second's worth. The generator is bounded twice:
//! at most `rate * duration` calls, and every worker stops by itself at `duration` plus one
//! request timeout. Nothing is recorded per call: a reporter thread writes one
//! `ingress-load-progress` action a second (calls sent, answered 2xx, answered otherwise,
//! failed, skipped in that second; latencies), framed by `ingress-load-started` and
//! `ingress-load-stopped` (the totals).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::process::NetNs;
use crate::raw::RawWriter;
use crate::time::now_us;
use crate::Error;

/// How late a call may be and still be sent; later calls are skipped.
pub const MAX_LAG: Duration = Duration::from_secs(1);

/// What to send, how fast and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadConfig {
    /// The ingress port on 127.0.0.1 inside the namespace.
    pub port: u16,
    /// The request path (e.g. `/Svc/handler/send?delay=1h`); the body is `{}`.
    pub path: String,
    /// Calls per second offered.
    pub rate_per_s: u32,
    /// How long calls are offered; the generator sends at most `rate_per_s * duration` calls.
    pub duration: Duration,
    /// Worker threads, one keep-alive connection each.
    pub connections: usize,
    /// Connect, write and read timeout of one call.
    pub request_timeout: Duration,
}

impl LoadConfig {
    /// The number of calls planned: `rate_per_s * duration` (rounded down).
    pub fn planned_calls(&self) -> u64 {
        (self.rate_per_s as f64 * self.duration.as_secs_f64()) as u64
    }

    /// When call `i` (from 0) is due, counted from the start.
    pub fn due(&self, i: u64) -> Duration {
        Duration::from_secs_f64(i as f64 / self.rate_per_s.max(1) as f64)
    }
}

/// Counts of one interval or of the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// Calls sent (a request was written).
    pub sent: u64,
    /// Calls answered with a 2xx status.
    pub ok: u64,
    /// Calls answered with another status, by status.
    pub other_status: BTreeMap<u16, u64>,
    /// Calls that failed (connect, write, read, timeout, unreadable answer).
    pub failed: u64,
    /// Calls skipped because they were more than [`MAX_LAG`] late.
    pub skipped: u64,
    /// Sum of the latencies of answered calls, in microseconds.
    pub latency_sum_us: u64,
    /// Highest latency of an answered call, in microseconds.
    pub latency_max_us: u64,
}

impl LoadCounts {
    fn answered(&mut self, status: u16, latency_us: u64) {
        if (200..300).contains(&status) {
            self.ok += 1;
        } else {
            *self.other_status.entry(status).or_default() += 1;
        }
        self.latency_sum_us += latency_us;
        self.latency_max_us = self.latency_max_us.max(latency_us);
    }

    fn add(&mut self, o: &LoadCounts) {
        self.sent += o.sent;
        self.ok += o.ok;
        for (s, n) in &o.other_status {
            *self.other_status.entry(*s).or_default() += n;
        }
        self.failed += o.failed;
        self.skipped += o.skipped;
        self.latency_sum_us += o.latency_sum_us;
        self.latency_max_us = self.latency_max_us.max(o.latency_max_us);
    }

    /// The counts as the `detail` of an action record.
    pub fn to_json(&self) -> serde_json::Value {
        let answered = self.ok + self.other_status.values().sum::<u64>();
        json!({
            "sent": self.sent,
            "ok": self.ok,
            "other_status": self.other_status.iter().map(|(s, n)| (s.to_string(), *n)).collect::<BTreeMap<_, _>>(),
            "failed": self.failed,
            "skipped": self.skipped,
            "latency_mean_ms": if answered == 0 { 0.0 } else { self.latency_sum_us as f64 / answered as f64 / 1000.0 },
            "latency_max_ms": self.latency_max_us as f64 / 1000.0,
        })
    }
}

/// A running generator; [`LoadGenerator::wait`] joins it.
#[derive(Debug)]
pub struct LoadGenerator {
    stop: Arc<AtomicBool>,
    workers: Vec<thread::JoinHandle<()>>,
    reporter: Option<thread::JoinHandle<LoadCounts>>,
    done: Arc<AtomicBool>,
}

/// State the workers and the reporter share.
struct Shared {
    cfg: LoadConfig,
    start: Instant,
    next: AtomicU64,
    stop: Arc<AtomicBool>,
    interval: Mutex<LoadCounts>,
}

impl LoadGenerator {
    /// Starts `cfg.connections` workers inside `ns` and a reporter writing to `raw` (action
    /// `ingress-load-started` now, `ingress-load-progress` every second, `ingress-load-stopped`
    /// when the last worker ended, naming `node`).
    pub fn start(
        ns: &NetNs,
        cfg: LoadConfig,
        raw: Arc<RawWriter>,
        node: u32,
    ) -> Result<LoadGenerator, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        raw.action(
            now_us(),
            "ingress-load-started",
            &[node],
            json!({
                "port": cfg.port,
                "path": cfg.path,
                "rate_per_s": cfg.rate_per_s,
                "duration_s": cfg.duration.as_secs_f64(),
                "planned_calls": cfg.planned_calls(),
                "connections": cfg.connections,
            }),
        )?;
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            start: Instant::now(),
            next: AtomicU64::new(0),
            stop: stop.clone(),
            interval: Mutex::new(LoadCounts::default()),
        });
        let mut gen = LoadGenerator {
            stop,
            workers: vec![],
            reporter: None,
            done: done.clone(),
        };
        for w in 0..cfg.connections.max(1) {
            let sh = shared.clone();
            match ns.spawn_thread(&format!("ingress-load-{w}"), move || worker(&sh)) {
                Ok(h) => gen.workers.push(h),
                Err(e) => {
                    gen.stop.store(true, Ordering::SeqCst);
                    gen.done.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        let sh = shared;
        gen.reporter = Some(thread::spawn(move || reporter(&sh, &raw, node, &done)));
        Ok(gen)
    }

    /// Waits for every worker (they stop by themselves) and returns the totals.
    pub fn wait(mut self) -> LoadCounts {
        self.join()
    }

    fn join(&mut self) -> LoadCounts {
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
        self.done.store(true, Ordering::SeqCst);
        self.reporter
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for LoadGenerator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.join();
    }
}

fn record(sh: &Shared, f: impl FnOnce(&mut LoadCounts)) {
    f(&mut sh.interval.lock().unwrap_or_else(|e| e.into_inner()));
}

fn worker(sh: &Shared) {
    let cfg = &sh.cfg;
    let planned = cfg.planned_calls();
    let hard_end = sh.start + cfg.duration + cfg.request_timeout;
    let mut conn: Option<TcpStream> = None;
    while !sh.stop.load(Ordering::SeqCst) {
        let i = sh.next.fetch_add(1, Ordering::SeqCst);
        if i >= planned {
            return;
        }
        let due = sh.start + cfg.due(i);
        let now = Instant::now();
        if now >= hard_end {
            return;
        }
        if now < due {
            thread::sleep(due - now);
        } else if now - due > MAX_LAG {
            record(sh, |c| c.skipped += 1);
            continue;
        }
        let began = Instant::now();
        record(sh, |c| c.sent += 1);
        match call(&mut conn, cfg) {
            Ok(status) => {
                let us = began.elapsed().as_micros() as u64;
                record(sh, |c| c.answered(status, us));
            }
            Err(_) => {
                conn = None;
                record(sh, |c| c.failed += 1);
            }
        }
    }
}

/// One call over the kept-alive connection (opened if there is none); returns the status.
fn call(conn: &mut Option<TcpStream>, cfg: &LoadConfig) -> std::io::Result<u16> {
    if conn.is_none() {
        let addr = SocketAddr::from(([127, 0, 0, 1], cfg.port));
        let s = TcpStream::connect_timeout(&addr, cfg.request_timeout)?;
        s.set_read_timeout(Some(cfg.request_timeout))?;
        s.set_write_timeout(Some(cfg.request_timeout))?;
        s.set_nodelay(true)?;
        *conn = Some(s);
    }
    let s = conn.as_mut().expect("connected above");
    let req = format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nconnection: keep-alive\r\naccept: application/json\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}",
        cfg.path, cfg.port
    );
    s.write_all(req.as_bytes())?;
    let (status, keep) = read_response(s)?;
    if !keep {
        *conn = None;
    }
    Ok(status)
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one response (head, then a `content-length` or chunked body); returns its status and
/// whether the connection stays open.
fn read_response(s: &mut TcpStream) -> std::io::Result<(u16, bool)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(bad("response head over 64 KiB"));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(bad("connection closed before the response head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let keep = header("connection").as_deref() != Some("close");
    let mut body = buf[head_end..].to_vec();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(bad("connection closed inside the body"));
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !body.windows(5).any(|w| w == b"0\r\n\r\n") {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(bad("connection closed inside a chunked body"));
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if status >= 200 && status != 204 && status != 304 {
        // No length: the body runs to the end of the connection.
        return Ok((status, false));
    }
    Ok((status, keep))
}

fn reporter(sh: &Shared, raw: &RawWriter, node: u32, done: &AtomicBool) -> LoadCounts {
    let mut total = LoadCounts::default();
    let mut second = 0u64;
    loop {
        let finished = done.load(Ordering::SeqCst);
        second += 1;
        let until = sh.start + Duration::from_secs(second);
        while !finished && Instant::now() < until && !done.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
        let c = std::mem::take(&mut *sh.interval.lock().unwrap_or_else(|e| e.into_inner()));
        total.add(&c);
        if c != LoadCounts::default() {
            let mut detail = c.to_json();
            detail["second"] = json!(second);
            let _ = raw.action(now_us(), "ingress-load-progress", &[node], detail);
        }
        if finished || done.load(Ordering::SeqCst) {
            break;
        }
    }
    // Calls counted after the last interval was taken.
    total.add(&std::mem::take(
        &mut *sh.interval.lock().unwrap_or_else(|e| e.into_inner()),
    ));
    let mut detail = total.to_json();
    detail["planned_calls"] = json!(sh.cfg.planned_calls());
    detail["elapsed_s"] = json!(sh.start.elapsed().as_secs_f64());
    let _ = raw.action(now_us(), "ingress-load-stopped", &[node], detail);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rate: u32, secs: u64) -> LoadConfig {
        LoadConfig {
            port: 18080,
            path: "/Svc/handler/send?delay=1h".into(),
            rate_per_s: rate,
            duration: Duration::from_secs(secs),
            connections: 4,
            request_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_plan_is_bounded_and_evenly_paced() {
        let c = cfg(50, 180);
        assert_eq!(c.planned_calls(), 9_000);
        assert_eq!(c.due(0), Duration::ZERO);
        assert_eq!(c.due(50), Duration::from_secs(1));
        assert!(c.due(c.planned_calls() - 1) < c.duration);
        assert_eq!(cfg(50, 45).planned_calls(), 2_250);
    }

    #[test]
    fn counts_add_up_and_print_as_json() {
        let mut a = LoadCounts {
            sent: 3,
            failed: 1,
            ..LoadCounts::default()
        };
        a.answered(200, 10_000);
        a.answered(503, 30_000);
        let mut t = LoadCounts::default();
        t.add(&a);
        t.add(&a);
        assert_eq!(t.sent, 6);
        assert_eq!(t.ok, 2);
        assert_eq!(t.other_status[&503], 2);
        let j = t.to_json();
        assert_eq!(j["latency_mean_ms"], 20.0);
        assert_eq!(j["latency_max_ms"], 30.0);
        assert_eq!(j["other_status"]["503"], 2);
    }
}
