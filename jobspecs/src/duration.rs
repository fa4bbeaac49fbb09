//! Go-style duration strings (`"30s"`, `"1h30m"`, `"1.5h"`, `"250ms"`) to nanoseconds.
//!
//! Written here rather than taken from `humantime` on purpose: Nomad parses durations with
//! Go's `time.ParseDuration`, which accepts fractions (`"1.5h"`) that humantime rejects and
//! rejects units (`"1d"`, `"2w"`) that humantime accepts. Jobspecs must mean what they mean
//! in Nomad.

/// Go's units and their length in nanoseconds.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration into nanoseconds; the error says what is wrong with it.
pub(crate) fn parse_go_duration(text: &str) -> Result<i64, String> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err("an empty duration; write e.g. \"30s\"".to_string());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, tail) = parse_component(rest)?;
        total = total.saturating_add(nanos);
        rest = tail;
    }
    let total = i64::try_from(total).map_err(|_| "a duration that is too long".to_string())?;
    Ok(if negative { -total } else { total })
}

/// One `<number><unit>` component and what follows it.
fn parse_component(text: &str) -> Result<(u128, &str), String> {
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number = &text[..digits_end];
    let rest = &text[digits_end..];
    let unit_end = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let unit = &rest[..unit_end];
    let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(if unit.starts_with(char::is_whitespace) {
            "spaces are not allowed in a duration".to_string()
        } else if unit.is_empty() {
            "a number without a unit (use ns, us, ms, s, m or h)".to_string()
        } else {
            format!("unknown unit {unit:?} (use ns, us, ms, s, m or h)")
        });
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(format!("{number:?} is not a number"));
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| "a duration that is too long".to_string())?
    };
    let mut nanos = whole.saturating_mul(scale);
    let mut place = scale;
    for digit in fraction.bytes() {
        place /= 10;
        nanos = nanos.saturating_add(u128::from(digit - b'0') * place);
    }
    Ok((nanos, &rest[unit_end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_go_duration("30s"), Ok(30 * S));
        assert_eq!(parse_go_duration("5m"), Ok(300 * S));
        assert_eq!(parse_go_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_go_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5400 * S));
        assert_eq!(parse_go_duration(".5s"), Ok(S / 2));
        assert_eq!(parse_go_duration("2us"), Ok(2_000));
        assert_eq!(parse_go_duration("3µs"), Ok(3_000));
        assert_eq!(parse_go_duration("-2s"), Ok(-2 * S));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("1h0m0s"), Ok(3600 * S));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "5", "1d", "2w", "s", "1.2.3s", "abc", "1 h", "-", "."] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_go_duration("999999999999999999999h").is_err());
    }
}
