//! How a command ends: the [`Exit`] status every command returns, with its process exit code
//! (the only place the numbers are written), and [`UsageError`], the error the user caused.
//!
//! The codes, as docs/checking.md (exit codes) and `sealcheck --help` state them: 0 every property
//! holds on a complete exploration (or every trace conforms, or the command did what it was
//! asked), 1 a property is violated (or a trace diverges or violates one, or a recording does
//! not follow its path), 2 usage or input error, 3 an incomplete or inconclusive run found
//! nothing and proved nothing.

use std::process::ExitCode;

/// The outcome of a command, as its process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Exit 0: every property holds on a complete exploration, every trace conforms, or the
    /// command did what it was asked.
    Holds,
    /// Exit 1: a property is violated, a trace diverges or violates one, or a recording does
    /// not follow its path.
    Violated,
    /// Exit 2: the arguments or an input file are wrong (also the code of every error `main`
    /// prints).
    UsageOrInput,
    /// Exit 3: a bound or an interruption stopped the run before it found a violation or
    /// proved anything.
    Incomplete,
}

/// Exit status of a process that a second Ctrl-C ends at once (128 + SIGINT, as shells do).
pub const INTERRUPTED: i32 = 130;

impl Exit {
    /// Every status, in the order of their codes.
    pub const ALL: [Exit; 4] = [
        Exit::Holds,
        Exit::Violated,
        Exit::UsageOrInput,
        Exit::Incomplete,
    ];

    /// The process exit code: 0, 1, 2 or 3.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Holds => 0,
            Exit::Violated => 1,
            Exit::UsageOrInput => 2,
            Exit::Incomplete => 3,
        }
    }

    /// The worst of several statuses, as a run over several inputs reports it: an input error
    /// before a violation, a violation before an incomplete run, and [`Exit::Holds`] only when
    /// every status holds (also for none).
    pub fn worst(statuses: impl IntoIterator<Item = Exit>) -> Exit {
        let rank = |e: Exit| match e {
            Exit::Holds => 0,
            Exit::Incomplete => 1,
            Exit::Violated => 2,
            Exit::UsageOrInput => 3,
        };
        statuses
            .into_iter()
            .max_by_key(|e| rank(*e))
            .unwrap_or(Exit::Holds)
    }

    /// The status whose [`code`](Exit::code) is `code` (for example a child process's), if
    /// any.
    pub fn from_code(code: i32) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| i32::from(e.code()) == code)
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// An error the user caused (bad arguments or input): `main` prints it and exits with
/// [`Exit::UsageOrInput`], without calling it a bug.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// A usage error with this message (which names the flag or file at fault).
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}
