//! Time functions: timestamp (the current time, evaluated at parse time as Nomad does),
//! formatdate and timeadd over RFC 3339 timestamps.

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, TimeDelta, Timelike, Utc};
use serde_json::Value;

use super::Func;
use crate::duration::parse_go_duration;

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("timestamp", |a| {
        a.exactly(0)?;
        Ok(Value::String(
            Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        ))
    }),
    ("formatdate", |a| {
        a.exactly(2)?;
        let t = parse_time(&a.str(1)?)?;
        Ok(Value::String(formatdate(&a.str(0)?, &t)?))
    }),
    ("timeadd", |a| {
        a.exactly(2)?;
        let t = parse_time(&a.str(0)?)?;
        let d = a.str(1)?;
        let nanos = parse_go_duration(&d).map_err(|e| format!("invalid duration {d:?}: {e}"))?;
        let t = t
            .checked_add_signed(TimeDelta::nanoseconds(nanos))
            .ok_or("the result is out of range")?;
        let utc = t.offset().local_minus_utc() == 0;
        Ok(Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, utc)))
    }),
];

fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|e| format!("{s:?} is not an RFC 3339 timestamp: {e}"))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Terraform/Nomad's `formatdate` spec: runs of letters (`YYYY`, `MMM`, `DD`, `hh`, `mm`,
/// `ss`, `EEE`, `ZZZ`, `aa`...) and 'quoted literals'.
fn formatdate(spec: &str, t: &DateTime<FixedOffset>) -> Result<String, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                out.push(chars[j]);
                j += 1;
            }
            if j == chars.len() {
                return Err("unterminated quoted literal in the format".to_string());
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        i += n;
        let month = t.month0() as usize;
        let day = t.weekday().num_days_from_monday() as usize;
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let offset = t.offset().local_minus_utc();
        let (sign, off) = if offset < 0 {
            ('-', -offset)
        } else {
            ('+', offset)
        };
        let (oh, om) = (off / 3600, (off % 3600) / 60);
        out.push_str(&match (c, n) {
            ('Y', 4) => format!("{:04}", t.year()),
            ('Y', 2) => format!("{:02}", t.year() % 100),
            ('M', 4) => MONTHS[month].to_string(),
            ('M', 3) => MONTHS[month][..3].to_string(),
            ('M', 2) => format!("{:02}", t.month()),
            ('M', 1) => t.month().to_string(),
            ('D', 2) => format!("{:02}", t.day()),
            ('D', 1) => t.day().to_string(),
            ('E', 4) => DAYS[day].to_string(),
            ('E', 3) => DAYS[day][..3].to_string(),
            ('h', 2) => format!("{:02}", t.hour()),
            ('h', 1) => t.hour().to_string(),
            ('H', 2) => format!("{hour12:02}"),
            ('H', 1) => hour12.to_string(),
            ('A', 2) => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            ('a', 2) => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            ('m', 2) => format!("{:02}", t.minute()),
            ('m', 1) => t.minute().to_string(),
            ('s', 2) => format!("{:02}", t.second()),
            ('s', 1) => t.second().to_string(),
            ('Z', 1) if offset == 0 => "Z".to_string(),
            ('Z', 1) => format!("{sign}{oh:02}:{om:02}"),
            ('Z', 3) if offset == 0 => "UTC".to_string(),
            ('Z', 3) | ('Z', 4) => format!("{sign}{oh:02}{om:02}"),
            ('Z', 5) => format!("{sign}{oh:02}:{om:02}"),
            _ => {
                let run: String = std::iter::repeat_n(c, n).collect();
                return Err(format!("invalid date format verb {run:?}"));
            }
        });
    }
    Ok(out)
}
