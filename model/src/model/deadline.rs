//! A stop signal for an exploration, checked by one extra `always` property.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The name of the extra `always` property a model with a [`Deadline`] has: it fails in every
/// state checked after the deadline passed or a stop was requested.
pub const STOP_PROPERTY: &str = "sealcheck: the exploration was stopped";

/// A stop signal for an exploration: a wall-clock limit, a stop requested from outside (a
/// memory bound, Ctrl-C), or both.
///
/// A model with a deadline ([`SealModel::with_deadline`](crate::SealModel::with_deadline)) has one more `always` property,
/// [`STOP_PROPERTY`], whose condition fails in every state checked once the deadline passed or
/// [`Deadline::stop`] was called. A stateright checker built with
/// `finish_when(HasDiscoveries::AnyOf({STOP_PROPERTY}))` therefore stops within one block of
/// states (1,500 per thread in stateright 0.31) instead of draining its queue, with one thread
/// as with many (stateright 0.31 ignores its own timeout with one thread). The property also
/// counts the states checked, so that a caller can tell how many generated states still wait.
#[derive(Debug)]
pub struct Deadline {
    at: Option<Instant>,
    tripped: AtomicBool,
    pub(super) checked: AtomicUsize,
}

impl Deadline {
    /// A deadline `after` from now (never, if that is beyond what the clock can represent).
    pub fn after(after: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(after),
            tripped: AtomicBool::new(false),
            checked: AtomicUsize::new(0),
        }
    }

    /// No time limit: the exploration stops only when [`Deadline::stop`] is called.
    pub fn never() -> Deadline {
        Deadline {
            at: None,
            tripped: AtomicBool::new(false),
            checked: AtomicUsize::new(0),
        }
    }

    /// Requests a stop now.
    pub fn stop(&self) {
        self.tripped.store(true, Ordering::Relaxed);
    }

    /// Whether the deadline passed or a stop was requested (and remembers that it did).
    pub fn check(&self) -> bool {
        if self.tripped.load(Ordering::Relaxed) {
            return true;
        }
        if self.at.is_some_and(|at| Instant::now() >= at) {
            self.tripped.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Whether [`Deadline::check`] ever saw the deadline pass, or a stop was requested: the run
    /// was cut short.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// How many states had their properties checked (each state a checker expands once).
    pub fn checked(&self) -> usize {
        self.checked.load(Ordering::Relaxed)
    }
}
