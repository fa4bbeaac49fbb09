//! Time helpers: Nomad puts Unix nanoseconds on the wire for times and durations.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds in a second.
pub const NS_PER_SEC: i64 = 1_000_000_000;

/// The current wall-clock time in Unix nanoseconds.
///
/// Only callers outside the FSM may use this; raft commands carry the times they apply.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

/// A duration as Nomad's nanosecond integer.
pub fn duration_ns(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

/// A Nomad nanosecond integer as a duration (negative values become zero).
pub fn ns_duration(ns: i64) -> Duration {
    Duration::from_nanos(ns.max(0) as u64)
}

/// Unix nanoseconds formatted as RFC 3339 (UTC), as Nomad renders `time.Time` fields.
pub fn rfc3339(ns: i64) -> String {
    let t = UNIX_EPOCH + ns_duration(ns);
    humantime_rfc3339(t)
}

fn humantime_rfc3339(t: SystemTime) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date crate in the model.
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        // 2024-02-29T12:34:56.5Z
        assert_eq!(
            rfc3339(1_709_210_096_500_000_000),
            "2024-02-29T12:34:56.500000000Z"
        );
    }

    #[test]
    fn durations_round_trip() {
        assert_eq!(
            ns_duration(duration_ns(Duration::from_millis(1500))),
            Duration::from_millis(1500)
        );
        assert_eq!(ns_duration(-5), Duration::ZERO);
    }
}
