//! Go's formatting of durations (`30m0s`, `15.2s`, `100ms`), which Nomad's event messages
//! use and operators recognize.

use std::time::Duration;

const NS_PER_SEC: u128 = 1_000_000_000;

/// Formats a duration as Go's `time.Duration.String()` does.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < NS_PER_SEC {
        let (unit, div) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", decimal(nanos, div));
    }
    let total = d.as_secs();
    let (hours, minutes) = (total / 3600, (total % 3600) / 60);
    let secs = decimal(
        u128::from(total % 60) * NS_PER_SEC + u128::from(d.subsec_nanos()),
        NS_PER_SEC,
    );
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// `n / div` as a decimal with trailing zeros of the fraction removed.
fn decimal(n: u128, div: u128) -> String {
    let (whole, rem) = (n / div, n % div);
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let frac = format!("{rem:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(5), "5ns"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_secs(15), "15s"),
            (Duration::from_millis(15_200), "15.2s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(1800), "30m0s"),
            (Duration::from_secs(86_400), "24h0m0s"),
            (Duration::from_nanos(3_723_000_000_001), "1h2m3.000000001s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }
}
