//! Whether the peers of a multi-process run are alive: a heartbeat on a connection of its own
//! to every peer, and a panic hook that turns the panics of timely's communication threads
//! (which is how timely reports a peer that went away) into a lost peer instead of a crash.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

/// How often a process tells each peer it is alive.
const BEAT: Duration = Duration::from_millis(500);

/// How long a peer may stay silent before it counts as lost (stopped, or its host gone).
pub const PEER_SILENCE: Duration = Duration::from_secs(10);

/// The heartbeat byte, and the byte a process sends when its run has ended normally.
const ALIVE: u8 = 1;
const DONE: u8 = 2;

/// Set once a timely communication thread panicked (a peer's connection failed).
static COMM_FAILED: AtomicBool = AtomicBool::new(false);
/// The peer of the first communication thread that panicked (`usize::MAX`: none).
static COMM_PEER: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Set once a heartbeat found a peer lost.
static PEER_LOST: AtomicBool = AtomicBool::new(false);

/// The heartbeats of one process with its peers.
pub(crate) struct Liveness {
    lost: Mutex<Option<(usize, String)>>,
    finished: AtomicBool,
    peer_done: Vec<AtomicBool>,
    streams: Vec<(usize, TcpStream)>,
}

impl Liveness {
    /// Starts a writer and a reader thread per peer on the heartbeat connections.
    pub(crate) fn start(processes: usize, heartbeat: Vec<(usize, TcpStream)>) -> Arc<Liveness> {
        let live = Arc::new(Liveness {
            lost: Mutex::new(None),
            finished: AtomicBool::new(false),
            peer_done: (0..processes).map(|_| AtomicBool::new(false)).collect(),
            streams: heartbeat,
        });
        for (peer, stream) in &live.streams {
            let (Ok(mut w), Ok(mut r)) = (stream.try_clone(), stream.try_clone()) else {
                live.lose(*peer, "its heartbeat connection could not be used".into());
                continue;
            };
            let (lw, lr, peer) = (live.clone(), live.clone(), *peer);
            let _ = std::thread::Builder::new()
                .name(format!("sealcheck:beat-{peer}"))
                .spawn(move || {
                    let _ = w.set_write_timeout(Some(PEER_SILENCE));
                    while !lw.finished.load(Ordering::Relaxed) {
                        if let Err(e) = w.write_all(&[ALIVE]) {
                            lw.lose(peer, format!("its heartbeat connection failed ({e})"));
                            return;
                        }
                        std::thread::sleep(BEAT);
                    }
                });
            let _ = std::thread::Builder::new()
                .name(format!("sealcheck:listen-{peer}"))
                .spawn(move || lr.listen(peer, &mut r));
        }
        live
    }

    fn listen(&self, peer: usize, r: &mut TcpStream) {
        let _ = r.set_read_timeout(Some(PEER_SILENCE));
        let mut buf = [0u8; 64];
        loop {
            match r.read(&mut buf) {
                Ok(0) => {
                    return self.lose(
                        peer,
                        "it closed its connection (it ended or was killed)".into(),
                    )
                }
                Ok(n) => {
                    if buf[..n].contains(&DONE) {
                        self.peer_done[peer].store(true, Ordering::Relaxed);
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return self.lose(
                        peer,
                        format!(
                            "it sent nothing for {} s (stopped, or unreachable)",
                            PEER_SILENCE.as_secs()
                        ),
                    )
                }
                Err(e) => return self.lose(peer, format!("its heartbeat connection failed ({e})")),
            }
        }
    }

    /// Records `peer` as lost (the first loss is kept), unless it said its run ended or this
    /// process's run has ended.
    fn lose(&self, peer: usize, why: String) {
        if self.finished.load(Ordering::Relaxed) || self.peer_done[peer].load(Ordering::Relaxed) {
            return;
        }
        PEER_LOST.store(true, Ordering::Relaxed);
        let mut lost = self.lost.lock().expect("lost lock");
        lost.get_or_insert((peer, why));
    }

    /// The first peer found lost, and why.
    pub(crate) fn lost(&self) -> Option<(usize, String)> {
        if let Some(l) = self.lost.lock().expect("lost lock").clone() {
            return Some(l);
        }
        comm_failure().map(|p| (p, "its connection failed".to_string()))
    }

    /// Tells every peer this process's run has ended normally (its connections closing next is
    /// no loss).
    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
        for (_, s) in &self.streams {
            let mut s = s;
            let _ = s.write_all(&[DONE]);
        }
    }
}

/// The peer whose timely communication thread panicked first, if any did.
pub(crate) fn comm_failure() -> Option<usize> {
    COMM_FAILED.load(Ordering::Relaxed).then(|| {
        let p = COMM_PEER.load(Ordering::Relaxed);
        (p != usize::MAX).then_some(p)
    })?
}

/// Installs (once) a panic hook that keeps quiet about the panics of timely's communication
/// threads (`timely:send-P`, `timely:recv-P`: the connection to process P failed) and, once
/// one happened or a heartbeat found a peer lost, about the panics this causes in the
/// workers and in the thread that joins them. Every other panic goes to the previous hook.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            let comm = name
                .strip_prefix("timely:send-")
                .or_else(|| name.strip_prefix("timely:recv-"));
            if let Some(peer) = comm {
                COMM_FAILED.store(true, Ordering::Relaxed);
                if let Ok(p) = peer.parse::<usize>() {
                    let _ = COMM_PEER.compare_exchange(
                        usize::MAX,
                        p,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                return;
            }
            let after_loss =
                COMM_FAILED.load(Ordering::Relaxed) || PEER_LOST.load(Ordering::Relaxed);
            if after_loss && (name.starts_with("timely:work") || name == "sealcheck:join") {
                return;
            }
            previous(info)
        }));
    });
}
