//! The ranges the run bounds accept (`--threads`, `--timeout`, `--max-memory`), one rule each,
//! shared by every command that takes the bound (`check`, `validate`) and by the engine that
//! checks its options.

/// Most worker threads `--threads` accepts.
pub const MAX_THREADS: usize = 256;

/// Longest `--timeout`, seconds (about 31 years).
pub const MAX_TIMEOUT_SECS: f64 = 1e9;

/// Smallest `--max-memory`, bytes: below this the process's own start-up trips the bound.
pub const MIN_MAX_MEMORY: u64 = 16 << 20;

/// `n` worker threads if it is 1 to [`MAX_THREADS`], else the message that says so.
pub fn check_threads(n: usize) -> Result<usize, String> {
    if (1..=MAX_THREADS).contains(&n) {
        Ok(n)
    } else {
        Err(threads_message())
    }
}

/// The message for a thread count outside 1 to [`MAX_THREADS`].
pub fn threads_message() -> String {
    format!("--threads must be a whole number from 1 to {MAX_THREADS}")
}

/// `secs` if it is a positive, finite number of seconds of at most [`MAX_TIMEOUT_SECS`] (so
/// that it converts to a `Duration`), else the message that says so.
pub fn check_timeout(secs: f64) -> Result<f64, String> {
    if secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS {
        Ok(secs)
    } else {
        Err(format!(
            "--timeout must be a positive number of seconds, at most {MAX_TIMEOUT_SECS:e}"
        ))
    }
}

/// `bytes` if it is at least [`MIN_MAX_MEMORY`], else the message that says so.
pub fn check_max_memory(bytes: u64) -> Result<u64, String> {
    if bytes < MIN_MAX_MEMORY {
        return Err("--max-memory must be at least 16M".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_outside_their_range_are_refused() {
        assert!(check_threads(0).is_err());
        assert_eq!(check_threads(MAX_THREADS), Ok(MAX_THREADS));
        assert!(check_threads(MAX_THREADS + 1).is_err());
        for bad in [0.0, -1.0, 1e20, f64::INFINITY, f64::NAN] {
            assert!(check_timeout(bad).is_err(), "{bad}");
        }
        assert_eq!(check_timeout(0.5), Ok(0.5));
        assert!(check_max_memory(MIN_MAX_MEMORY - 1).is_err());
        assert_eq!(check_max_memory(MIN_MAX_MEMORY), Ok(MIN_MAX_MEMORY));
    }
}
