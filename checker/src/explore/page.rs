//! stateright 0.31's Explorer page (`index.htm`, `app.js`, `app.css`, knockout), taken from
//! stateright itself at start, so that the front serves exactly the page of the stateright
//! version it is built with.
//!
//! stateright only hands its page out through its own server (`CheckerBuilder::serve`, which
//! binds a TCP port and never returns). So `explore` starts that server once, for a model with
//! no state at all ([`PageOnly`]: nothing to see, no work to start), on a free 127.0.0.1 port,
//! reads the four files, and then shuts that server's listening socket down: `tiny_http`'s
//! accept loop ends, and the port is closed. Only the front listens afterwards.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use stateright::Model;

use super::backend::backend_request;

/// Name of the thread that runs the throwaway stateright server.
pub(crate) const PAGE_THREAD: &str = "sealcheck-explorer-page";

/// Set once the throwaway server's socket was shut down on purpose: the panics that follow
/// in stateright's server threads (it unwraps the end of its accept loop) are expected.
pub(crate) static RETIRED: AtomicBool = AtomicBool::new(false);

/// A model without states: what the throwaway server is started with, so that while it
/// listens it has nothing to show and nothing to run.
#[derive(Clone, Copy, Debug)]
pub struct PageOnly;

impl Model for PageOnly {
    type State = ();
    type Action = ();
    fn init_states(&self) -> Vec<()> {
        Vec::new()
    }
    fn actions(&self, _: &(), _: &mut Vec<()>) {}
    fn next_state(&self, _: &(), _: ()) -> Option<()> {
        None
    }
}

/// The page's files: path, `Content-Type`, content.
#[derive(Clone, Debug, Default)]
pub struct PageFiles {
    files: Vec<(&'static str, &'static str, Vec<u8>)>,
}

/// The files of the page, with their content types.
pub const PAGE_FILES: [(&str, &str); 4] = [
    ("/", "text/html; charset=utf-8"),
    ("/app.js", "text/javascript; charset=utf-8"),
    ("/app.css", "text/css; charset=utf-8"),
    ("/knockout-3.5.0.js", "text/javascript; charset=utf-8"),
];

impl PageFiles {
    /// The content and type of a page file (`/`, `/app.js`, ...).
    pub fn get(&self, path: &str) -> Option<(&'static str, &[u8])> {
        self.files
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, t, body)| (*t, body.as_slice()))
    }

    /// Page files given directly (for tests of the front).
    pub fn from_parts(files: Vec<(&'static str, &'static str, Vec<u8>)>) -> PageFiles {
        PageFiles { files }
    }
}

/// Starts stateright's server for [`PageOnly`] on a free loopback port, reads the page's
/// files, and shuts the server down. A port picked free may be taken before stateright binds
/// it (stateright then panics in its thread): that is retried on another port.
pub fn fetch_page() -> anyhow::Result<PageFiles> {
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let handle = thread::Builder::new()
            .name(PAGE_THREAD.to_string())
            .spawn(move || {
                let _checker = PageOnly.checker().serve(addr);
            })?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let first = loop {
            if handle.is_finished() {
                last_error = format!("stateright's server could not listen on {addr}");
                break None;
            }
            match backend_request(addr, "GET", "/") {
                Ok(r) if r.status == 200 => break Some(r.body),
                Ok(r) => last_error = format!("{addr} answered {} to /", r.status),
                Err(e) => last_error = e.to_string(),
            }
            if Instant::now() > deadline {
                anyhow::bail!("stateright's server did not start on {addr}: {last_error}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let Some(index) = first else { continue };
        let mut files = vec![(PAGE_FILES[0].0, PAGE_FILES[0].1, index)];
        for (path, content_type) in &PAGE_FILES[1..] {
            let r = backend_request(addr, "GET", path)?;
            if r.status != 200 {
                anyhow::bail!("stateright's server answered {} for {path}", r.status);
            }
            files.push((path, content_type, r.body));
        }
        RETIRED.store(true, Ordering::SeqCst);
        if !shut_down_listener(addr) {
            eprintln!("sealcheck explore: note: could not close stateright's page server on {addr}; it serves an empty model");
        }
        return Ok(PageFiles { files });
    }
    anyhow::bail!("stateright's server did not start: {last_error}")
}

/// Finds this process's listening socket bound to `addr` (through `/proc/self/fd`) and shuts
/// it down. Returns whether one was found.
fn shut_down_listener(addr: SocketAddr) -> bool {
    use std::os::fd::FromRawFd;
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    let mut done = false;
    for entry in dir.flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: `fd` is an open socket of this process; ManuallyDrop never closes it (the
        // owner, tiny_http, does), and only getsockname/getpeername/shutdown are called on it.
        let s = std::mem::ManuallyDrop::new(unsafe { TcpStream::from_raw_fd(fd) });
        // A listener has the address and no peer; accepted connections have a peer.
        if s.local_addr().ok() == Some(addr) && s.peer_addr().is_err() {
            done |= s.shutdown(std::net::Shutdown::Both).is_ok();
        }
    }
    done
}
