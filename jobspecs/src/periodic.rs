//! Cron schedules of periodic jobs: parsing Nomad's cron syntax (five fields, an optional
//! leading seconds field, `@hourly`-style shorthands) in a time zone, and computing the next
//! launch time. Pure: the caller passes the current time.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use nomadish_proto::model::PeriodicConfig;

/// Why a periodic block cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A cron expression does not parse.
    #[error("Invalid cron spec {spec:?}: {reason}")]
    Cron {
        /// The expression.
        spec: String,
        /// What the parser said.
        reason: String,
    },
    /// The time zone is not an IANA name.
    #[error("Invalid time zone {zone:?}: unknown time zone {zone}")]
    TimeZone {
        /// The name given.
        zone: String,
    },
    /// Neither `cron` nor `crons` was given.
    #[error("Must specify a spec")]
    NoSpec,
}

/// A parsed periodic schedule: one or more cron expressions in one time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    crons: Vec<Cron>,
    zone: Tz,
}

/// Parses one cron expression (5 fields, or 6 with seconds first).
pub fn parse_cron(spec: &str) -> Result<Cron, ScheduleError> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(spec.trim())
        .map_err(|e| ScheduleError::Cron {
            spec: spec.to_string(),
            reason: e.to_string(),
        })
}

/// Parses a time zone name; empty means UTC, as in Nomad.
pub fn parse_time_zone(zone: &str) -> Result<Tz, ScheduleError> {
    if zone.is_empty() {
        return Ok(Tz::UTC);
    }
    zone.parse::<Tz>().map_err(|_| ScheduleError::TimeZone {
        zone: zone.to_string(),
    })
}

/// Every cron expression of a periodic block (`cron` and `crons`).
pub fn cron_specs(p: &PeriodicConfig) -> Vec<&str> {
    std::iter::once(p.spec.as_str())
        .filter(|s| !s.is_empty())
        .chain(p.specs.iter().map(String::as_str))
        .collect()
}

impl Schedule {
    /// Parses a periodic block's expressions and time zone.
    pub fn new(p: &PeriodicConfig) -> Result<Self, ScheduleError> {
        let specs = cron_specs(p);
        if specs.is_empty() {
            return Err(ScheduleError::NoSpec);
        }
        let crons = specs
            .into_iter()
            .map(parse_cron)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            crons,
            zone: parse_time_zone(&p.time_zone)?,
        })
    }

    /// The first launch strictly after `after_ns` (Unix ns), in Unix ns; `None` when no
    /// expression ever fires again.
    pub fn next_after(&self, after_ns: i64) -> Option<i64> {
        let after: DateTime<Utc> = Utc.timestamp_nanos(after_ns);
        let local = after.with_timezone(&self.zone);
        self.crons
            .iter()
            .filter_map(|c| c.find_next_occurrence(&local, false).ok())
            .filter_map(|t| t.with_timezone(&Utc).timestamp_nanos_opt())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn config(specs: &[&str], zone: &str) -> PeriodicConfig {
        PeriodicConfig {
            enabled: true,
            specs: specs.iter().map(|s| s.to_string()).collect(),
            time_zone: zone.to_string(),
            ..PeriodicConfig::default()
        }
    }

    #[test]
    fn five_field_cron_fires_on_the_next_minute() {
        let s = Schedule::new(&config(&["* * * * *"], "")).unwrap();
        // 2024-01-01T00:00:30Z -> 00:01:00
        let t = 1_704_067_230 * SEC;
        assert_eq!(s.next_after(t), Some(1_704_067_260 * SEC));
    }

    #[test]
    fn seconds_field_is_supported_and_next_is_strictly_after() {
        let s = Schedule::new(&config(&["*/5 * * * * *"], "UTC")).unwrap();
        let t = 1_704_067_230 * SEC;
        assert_eq!(s.next_after(t), Some(1_704_067_235 * SEC));
    }

    #[test]
    fn earliest_of_several_crons_wins() {
        let s = Schedule::new(&config(&["0 5 * * *", "30 0 * * *"], "")).unwrap();
        let midnight = 1_704_067_200 * SEC;
        assert_eq!(s.next_after(midnight), Some(midnight + 30 * 60 * SEC));
    }

    #[test]
    fn time_zone_shifts_the_launch() {
        let s = Schedule::new(&config(&["0 9 * * *"], "America/New_York")).unwrap();
        let midnight = 1_704_067_200 * SEC; // 2024-01-01 00:00 UTC = 19:00 EST the day before
        // 09:00 EST on 2024-01-01 = 14:00 UTC
        assert_eq!(s.next_after(midnight), Some(midnight + 14 * 3600 * SEC));
    }

    #[test]
    fn bad_input_is_reported() {
        assert!(matches!(
            Schedule::new(&config(&["not a cron"], "")),
            Err(ScheduleError::Cron { .. })
        ));
        assert!(matches!(
            Schedule::new(&config(&["* * * * *"], "Mars/Olympus")),
            Err(ScheduleError::TimeZone { .. })
        ));
        assert_eq!(
            Schedule::new(&config(&[], "")).unwrap_err(),
            ScheduleError::NoSpec
        );
    }
}
