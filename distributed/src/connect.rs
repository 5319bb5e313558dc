//! The connections between the processes of a cluster, authenticated: each starts with a
//! handshake in which the connecting process presents the run's [`Secret`] and the accepting
//! one answers with it. A connection that does not present it within [`HANDSHAKE_WAIT`] is
//! closed and logged; it never becomes a peer. Every wait here is bounded: by the connection
//! wait (the smaller of [`CONNECT_WAIT`](crate::CONNECT_WAIT) and `--timeout`), by
//! [`HANDSHAKE_WAIT`] for a handshake, and by the interrupt flag.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::secret::Secret;

/// Longest a connection may take to present itself (or to answer, for the connecting side).
pub const HANDSHAKE_WAIT: Duration = Duration::from_secs(5);

/// The first bytes of every handshake.
const MAGIC: &[u8; 8] = b"SEALCHK1";

/// A connection timely's communication uses.
const DATA: u8 = 0;
/// A connection that carries heartbeats (see [`crate::liveness`]).
pub(crate) const HEARTBEAT: u8 = 1;

/// How long connecting may take, and what ends it early.
pub(crate) struct Wait {
    /// When to give up.
    pub(crate) deadline: Instant,
    /// What the deadline is, for messages (`within 120 s`, `within 3 s (--timeout)`).
    pub(crate) label: String,
    /// Ctrl-C: give up at once.
    pub(crate) interrupt: Option<Arc<AtomicBool>>,
}

impl Wait {
    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
    }
}

/// The authenticated connections of one process: per process index, the data connection
/// (`None` for this process), and the heartbeat connections with their peers' indices.
pub(crate) struct Links {
    pub(crate) data: Vec<Option<TcpStream>>,
    pub(crate) heartbeat: Vec<(usize, TcpStream)>,
}

/// Connects process `me` to the others at `addresses` (it dials the processes before it and
/// accepts the ones after it, two connections each: data and heartbeat).
pub(crate) fn connect(
    addresses: &[String],
    me: usize,
    secret: &Secret,
    wait: &Wait,
) -> Result<Links, String> {
    let listener = TcpListener::bind(&addresses[me])
        .map_err(|e| format!("process {me} cannot listen on {}: {e}", addresses[me]))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("process {me}: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let accepting = {
        let (secret, stop, n) = (secret.clone(), stop.clone(), addresses.len());
        std::thread::Builder::new()
            .name("sealcheck:accept".into())
            .spawn(move || accept_loop(listener, me, n, &secret, &tx, &stop))
            .map_err(|e| format!("process {me}: {e}"))?
    };
    let result = dial_and_collect(addresses, me, secret, wait, &rx);
    stop.store(true, Ordering::Relaxed);
    let _ = accepting.join();
    result
}

fn dial_and_collect(
    addresses: &[String],
    me: usize,
    secret: &Secret,
    wait: &Wait,
    rx: &mpsc::Receiver<(usize, u8, TcpStream)>,
) -> Result<Links, String> {
    let n = addresses.len();
    let mut data: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    let mut heartbeat = Vec::new();
    for (i, addr) in addresses.iter().enumerate().take(me) {
        data[i] = Some(dial(addr, me, i, DATA, secret, wait)?);
        heartbeat.push((i, dial(addr, me, i, HEARTBEAT, secret, wait)?));
    }
    let mut said = false;
    while data.iter().skip(me + 1).any(Option::is_none) || heartbeat.len() < n - 1 {
        if wait.interrupted() {
            return Err(format!(
                "process {me}: interrupted while waiting for the others to connect"
            ));
        }
        if Instant::now() >= wait.deadline {
            let missing: Vec<String> = (me + 1..n)
                .filter(|&j| data[j].is_none() || !heartbeat.iter().any(|(p, _)| *p == j))
                .map(|j| j.to_string())
                .collect();
            return Err(format!(
                "process {me} at {}: process(es) {} did not connect {}",
                addresses[me],
                missing.join(", "),
                wait.label
            ));
        }
        if !said {
            eprintln!(
                "process {me}: waiting for processes {}..{} to connect to {}",
                me + 1,
                n - 1,
                addresses[me]
            );
            said = true;
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((from, DATA, s)) if data[from].is_none() => data[from] = Some(s),
            Ok((from, HEARTBEAT, s)) if !heartbeat.iter().any(|(p, _)| *p == from) => {
                heartbeat.push((from, s))
            }
            Ok((from, _, s)) => {
                eprintln!(
                    "process {me}: refused a second connection announcing process {from} from {}",
                    peer_name(&s)
                );
            }
            Err(_) => {}
        }
    }
    Ok(Links { data, heartbeat })
}

/// Dials process `to` at `addr` until it answers or the wait ends, and runs the handshake.
fn dial(
    addr: &str,
    me: usize,
    to: usize,
    kind: u8,
    secret: &Secret,
    wait: &Wait,
) -> Result<TcpStream, String> {
    let mut said = false;
    loop {
        if wait.interrupted() {
            return Err(format!(
                "process {me}: interrupted while connecting to process {to} at {addr}"
            ));
        }
        let left = wait.deadline.saturating_duration_since(Instant::now());
        let err = match try_dial(addr, left.min(HANDSHAKE_WAIT)) {
            Ok(mut stream) => {
                return client_handshake(&mut stream, me, to, kind, secret)
                    .map(|()| stream)
                    .map_err(|e| {
                        format!("process {me}: process {to} at {addr} failed the handshake: {e}")
                    })
            }
            Err(e) => e,
        };
        if Instant::now() >= wait.deadline {
            return Err(format!(
                "process {me} could not reach process {to} at {addr} {}: {err}",
                wait.label
            ));
        }
        if !said {
            eprintln!("process {me}: waiting for process {to} at {addr} ({err})");
            said = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn try_dial(addr: &str, limit: Duration) -> std::io::Result<TcpStream> {
    let limit = limit.max(Duration::from_millis(10));
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, limit) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the address resolves to nothing")))
}

/// The connecting side: presents the secret, then expects it back.
fn client_handshake(
    stream: &mut TcpStream,
    me: usize,
    to: usize,
    kind: u8,
    secret: &Secret,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(HANDSHAKE_WAIT))?;
    stream.set_write_timeout(Some(HANDSHAKE_WAIT))?;
    let mut hello = Vec::with_capacity(19 + secret.bytes().len());
    hello.extend_from_slice(MAGIC);
    hello.push(kind);
    hello.extend_from_slice(&(me as u32).to_be_bytes());
    hello.extend_from_slice(&(to as u32).to_be_bytes());
    hello.extend_from_slice(&(secret.bytes().len() as u16).to_be_bytes());
    hello.extend_from_slice(secret.bytes());
    stream.write_all(&hello)?;
    let mut answer = vec![0u8; MAGIC.len() + secret.bytes().len()];
    stream.read_exact(&mut answer)?;
    if &answer[..MAGIC.len()] != MAGIC || !secret.matches(&answer[MAGIC.len()..]) {
        return Err(std::io::Error::other(
            "it did not answer with the run's secret",
        ));
    }
    ready(stream)
}

/// A stream handed to timely: blocking, without timeouts, without Nagle's delay.
fn ready(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    stream.set_nodelay(true)
}

/// Accepts connections until `stop`, each handshake in its own thread (a connection that says
/// nothing delays no other), and sends the authenticated ones on `tx`.
fn accept_loop(
    listener: TcpListener,
    me: usize,
    n: usize,
    secret: &Secret,
    tx: &mpsc::Sender<(usize, u8, TcpStream)>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, from)) => {
                let (secret, tx) = (secret.clone(), tx.clone());
                let _ = std::thread::Builder::new()
                    .name("sealcheck:handshake".into())
                    .spawn(move || match server_handshake(stream, me, n, &secret) {
                        Ok((p, kind, s)) => {
                            let _ = tx.send((p, kind, s));
                        }
                        Err(why) => {
                            eprintln!("process {me}: refused a connection from {from}: {why}")
                        }
                    });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                eprintln!("process {me}: accepting a connection: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// The accepting side: reads the header and the secret within [`HANDSHAKE_WAIT`], checks
/// them, and answers with the secret.
fn server_handshake(
    mut stream: TcpStream,
    me: usize,
    n: usize,
    secret: &Secret,
) -> Result<(usize, u8, TcpStream), String> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => format!(
            "it presented no handshake within {} s",
            HANDSHAKE_WAIT.as_secs()
        ),
        std::io::ErrorKind::UnexpectedEof => "it closed the connection during the handshake".into(),
        _ => format!("handshake: {e}"),
    };
    stream.set_nonblocking(false).map_err(io)?;
    stream.set_read_timeout(Some(HANDSHAKE_WAIT)).map_err(io)?;
    stream.set_write_timeout(Some(HANDSHAKE_WAIT)).map_err(io)?;
    let mut head = [0u8; 19];
    stream.read_exact(&mut head).map_err(io)?;
    if &head[..8] != MAGIC {
        return Err("not a sealcheck handshake".into());
    }
    let kind = head[8];
    let from = u32::from_be_bytes(head[9..13].try_into().expect("4 bytes")) as usize;
    let to = u32::from_be_bytes(head[13..17].try_into().expect("4 bytes")) as usize;
    let len = u16::from_be_bytes(head[17..19].try_into().expect("2 bytes")) as usize;
    if len != secret.bytes().len() {
        return Err("it did not present the run's secret".into());
    }
    let mut presented = vec![0u8; len];
    stream.read_exact(&mut presented).map_err(io)?;
    if !secret.matches(&presented) {
        return Err("it did not present the run's secret".into());
    }
    if to != me || from <= me || from >= n || kind > HEARTBEAT {
        return Err(format!(
            "it announced process {from} (connection kind {kind}) to process {to}, which this cluster does not expect"
        ));
    }
    let mut answer = MAGIC.to_vec();
    answer.extend_from_slice(secret.bytes());
    stream.write_all(&answer).map_err(io)?;
    ready(&stream).map_err(io)?;
    Ok((from, kind, stream))
}

/// `ip:port` of the other end, or `?`.
pub(crate) fn peer_name(s: &TcpStream) -> String {
    s.peer_addr()
        .map_or_else(|_| "?".to_string(), |a: SocketAddr| a.to_string())
}
