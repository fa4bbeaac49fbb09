//! Text layout shared by the commands, matching Nomad's CLI output:
//!
//! - [`format_list`]: aligned columns separated by two spaces, blanks shown as `<none>`
//!   (Nomad's `formatList`, built on columnize);
//! - [`format_kv`]: `Key   = value` blocks (Nomad's `formatKV`);
//! - time (`2024-05-01T12:00:00Z`, `3m12s ago`), sizes (`300 MiB`) and IDs (`limit`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Characters of an ID shown unless `-verbose` asks for all of them.
pub const SHORT_ID_LENGTH: usize = 8;
/// Length of a full UUID.
pub const FULL_ID_LENGTH: usize = 36;
/// What an empty cell shows in lists and key/value blocks.
pub const EMPTY_CELL: &str = "<none>";

/// Aligns rows into columns; empty cells become `<none>`.
pub fn format_list(rows: &[Vec<String>]) -> String {
    columnize(rows, "  ", Some(EMPTY_CELL))
}

/// Aligns rows into columns, leaving empty cells blank.
pub fn format_list_with_spaces(rows: &[Vec<String>]) -> String {
    columnize(rows, "  ", None)
}

/// Formats `(key, value)` pairs as an aligned `key = value` block.
pub fn format_kv(pairs: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.clone()])
        .collect();
    columnize(&rows, " = ", Some(EMPTY_CELL))
}

/// Column layout as columnize does it: cells trimmed, every column but a row's last padded
/// to the widest cell of that column, columns joined by `glue`, no trailing newline.
fn columnize(rows: &[Vec<String>], glue: &str, empty: Option<&str>) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| {
                    let cell = cell.trim();
                    match empty {
                        Some(placeholder) if cell.is_empty() => placeholder.to_string(),
                        _ => cell.to_string(),
                    }
                })
                .collect()
        })
        .collect();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in &cells {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let lines: Vec<String> = cells
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                    line.push_str(glue);
                }
            }
            line
        })
        .collect();
    lines.join("\n")
}

/// The first `length` characters of an ID (all of it when shorter).
pub fn limit(id: &str, length: usize) -> &str {
    id.get(..length).unwrap_or(id)
}

/// The ID length to print: full with `-verbose`, 8 characters otherwise.
pub fn id_length(verbose: bool) -> usize {
    if verbose {
        FULL_ID_LENGTH
    } else {
        SHORT_ID_LENGTH
    }
}

/// A wall-clock time as Nomad prints it (`2024-05-01T12:00:00Z`); empty before 1970-01-01T00:00:01.
pub fn format_time(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) if d.as_secs() >= 1 => humantime::format_rfc3339_seconds(t).to_string(),
        _ => String::new(),
    }
}

/// Unix nanoseconds formatted with [`format_time`].
pub fn format_unix_nanos(ns: i64) -> String {
    if ns <= 0 {
        return String::new();
    }
    format_time(UNIX_EPOCH + Duration::from_nanos(ns as u64))
}

/// An RFC 3339 string re-rendered with [`format_time`]; `N/A` when absent (task times).
pub fn format_task_time(value: Option<&str>) -> String {
    match value.filter(|v| !v.is_empty()) {
        None => "N/A".to_string(),
        Some(text) => match humantime::parse_rfc3339_weak(text) {
            Ok(t) if format_time(t).is_empty() => "N/A".to_string(),
            Ok(t) => format_time(t),
            Err(_) => text.to_string(),
        },
    }
}

/// The current time, formatted for monitor lines.
pub fn now_stamp() -> String {
    format_time(SystemTime::now())
}

/// How long ago (or from now) `ns` is relative to `now_ns`, in Nomad's compact form:
/// the two largest non-zero units of years, months (30 d), days, hours, minutes, seconds,
/// e.g. `1h5m ago`, `0s ago`, `2d3h from now`. Empty for a zero time.
pub fn pretty_time_diff(ns: i64, now_ns: i64) -> String {
    if ns <= 0 {
        return String::new();
    }
    let round = |v: i64| (v + 500_000_000).div_euclid(1_000_000_000);
    let (first, second) = (round(ns), round(now_ns));
    let (secs, suffix) = if second >= first {
        ((second - first) as u64, "ago")
    } else {
        ((first - second) as u64, "from now")
    };
    let units = [
        (secs / (60 * 60 * 24 * 30 * 12), "y"),
        (secs / (60 * 60 * 24 * 30) % 12, "mo"),
        (secs / (60 * 60 * 24) % 30, "d"),
        (secs / (60 * 60) % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let parts: Vec<String> = units
        .iter()
        .filter(|(v, _)| *v > 0)
        .take(2)
        .map(|(v, unit)| format!("{v}{unit}"))
        .collect();
    if parts.is_empty() {
        format!("0s {suffix}")
    } else {
        format!("{} {suffix}", parts.concat())
    }
}

/// Bytes in IEC units as go-humanize's `IBytes` prints them (`0 B`, `300 MiB`, `1.5 GiB`).
pub fn ibytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 10 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1024f64.ln()).floor() as usize;
    let exp = exp.min(UNITS.len() - 1);
    let value = (bytes as f64 / 1024f64.powi(exp as i32) * 10.0 + 0.5).floor() / 10.0;
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[exp])
    } else {
        format!("{value:.0} {}", UNITS[exp])
    }
}

/// Megabytes in IEC units (`300` -> `300 MiB`).
pub fn mib(megabytes: i64) -> String {
    ibytes((megabytes.max(0) as u64) * 1024 * 1024)
}

/// A value as pretty JSON with Nomad's four-space indent.
pub fn pretty_json<T: serde::Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    match value.serialize(&mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn list_aligns_columns_and_fills_blanks() {
        let out = format_list(&[
            row(&["ID", "Type", "Priority", "Status"]),
            row(&["example", "service", "50", "running"]),
            row(&["a", "", "100", "dead (stopped)"]),
        ]);
        let expected = "\
ID       Type     Priority  Status
example  service  50        running
a        <none>   100       dead (stopped)";
        assert_eq!(out, expected);
    }

    #[test]
    fn last_column_is_not_padded() {
        let out = format_list(&[row(&["a", "long value"]), row(&["bbb", "x"])]);
        assert_eq!(out, "a    long value\nbbb  x");
        assert!(out.lines().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn with_spaces_keeps_blanks() {
        let out = format_list_with_spaces(&[row(&["CPU", "Memory"]), row(&["100 MHz", ""])]);
        assert_eq!(out, "CPU      Memory\n100 MHz  ");
    }

    #[test]
    fn kv_uses_equals_glue() {
        let out = format_kv(&[
            ("ID", "web".to_string()),
            ("Submit Date", "2024-01-01T00:00:00Z".to_string()),
            ("Class", String::new()),
        ]);
        let expected = "\
ID          = web
Submit Date = 2024-01-01T00:00:00Z
Class       = <none>";
        assert_eq!(out, expected);
    }

    #[test]
    fn time_formats() {
        assert_eq!(format_unix_nanos(0), "");
        assert_eq!(
            format_unix_nanos(1_709_210_096_500_000_000),
            "2024-02-29T12:34:56Z"
        );
        assert_eq!(format_task_time(None), "N/A");
        assert_eq!(
            format_task_time(Some("2024-02-29T12:34:56.123456789Z")),
            "2024-02-29T12:34:56Z"
        );
    }

    #[test]
    fn pretty_diffs_keep_two_largest_units() {
        let s = 1_000_000_000i64;
        let base = 1_700_000_000 * s;
        assert_eq!(pretty_time_diff(base, base), "0s ago");
        assert_eq!(pretty_time_diff(base, base + 5 * s), "5s ago");
        assert_eq!(pretty_time_diff(base, base + 3605 * s), "1h5s ago");
        assert_eq!(pretty_time_diff(base, base + 93_784 * s), "1d2h ago");
        assert_eq!(pretty_time_diff(base + 90 * s, base), "1m30s from now");
        assert_eq!(pretty_time_diff(0, base), "");
    }

    #[test]
    fn bytes_like_go_humanize() {
        assert_eq!(ibytes(0), "0 B");
        assert_eq!(ibytes(9), "9 B");
        assert_eq!(ibytes(1024), "1.0 KiB");
        assert_eq!(mib(300), "300 MiB");
        assert_eq!(mib(1536), "1.5 GiB");
        assert_eq!(mib(10 * 1024), "10 GiB");
    }

    #[test]
    fn json_uses_four_space_indent() {
        let out = pretty_json(&serde_json::json!({"Job": {"ID": "x"}}));
        assert_eq!(out, "{\n    \"Job\": {\n        \"ID\": \"x\"\n    }\n}");
    }

    #[test]
    fn limit_truncates_ids() {
        assert_eq!(limit("0123456789abcdef", SHORT_ID_LENGTH), "01234567");
        assert_eq!(limit("abc", SHORT_ID_LENGTH), "abc");
    }
}
