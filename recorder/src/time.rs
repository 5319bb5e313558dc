//! Timestamps as microseconds since the Unix epoch, and their RFC 3339 form.
//!
//! Everything the recorder writes carries a wall-clock time so that lines from the three server
//! logs, restatectl runs, SQL snapshots and operator actions can be merged into one order. The
//! servers print UTC RFC 3339 times with microseconds (`2026-11-27T03:15:17.561634Z`); the
//! recorder writes the same form plus the plain integer, so no date library is needed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (UTC).
pub type Micros = i64;

/// The current wall-clock time in microseconds since the Unix epoch.
pub fn now_us() -> Micros {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    d.as_micros() as Micros
}

// Days from 1970-01-01 to the given civil date (proleptic Gregorian), after H. Hinnant.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a time as UTC RFC 3339 with microseconds, e.g. `2026-11-27T03:15:17.561634Z`.
pub fn format_rfc3339(us: Micros) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Parses a UTC RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, as printed by
/// restate-server). Returns `None` for anything else, including non-UTC offsets.
pub fn parse_rfc3339(s: &str) -> Option<Micros> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: i64 = dp.next()?.parse().ok()?;
    let d: i64 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, ""),
    };
    let mut tp = hms.split(':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next()?.parse().ok()?;
    if tp.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut micros = 0i64;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += (c as i64 - '0' as i64) * 10i64.pow(5 - i as u32);
    }
    let secs = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_server_timestamps() {
        let s = "2026-11-27T03:15:17.561634Z";
        let us = parse_rfc3339(s).unwrap();
        assert_eq!(format_rfc3339(us), s);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00.5Z"),
            Some(951_868_800_500_000)
        );
    }

    #[test]
    fn rejects_offsets_and_garbage() {
        assert_eq!(parse_rfc3339("2026-11-27T03:15:17+01:00"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-13-27T03:15:17Z"), None);
    }
}
