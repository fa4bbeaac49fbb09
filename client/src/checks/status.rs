//! Check results to statuses, sans-IO: Consul's thresholds (`success_before_passing`,
//! `failures_before_warning`, `failures_before_critical`), `check_restart` counting, and
//! whether an allocation's checks make it healthy for a deployment.
//!
//! ```text
//!   probe result ──> CheckState::record ──> status (passing|warning|critical)
//!                                              ├──> RestartWatch::observe ──> restart task?
//!                                              └──> checks_healthy(all checks) ──> deployment
//! ```

use nomadish_proto::model::{CheckRestart, ServiceCheck};
use serde::Serialize;

/// A check's status, as Consul and Nomad name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passing,
    Warning,
    Critical,
}

impl Status {
    /// The status named by `initial_status` (`critical` when unset, as Consul starts checks).
    pub fn initial(name: &str) -> Self {
        match name {
            "passing" => Status::Passing,
            "warning" => Status::Warning,
            _ => Status::Critical,
        }
    }
}

/// The reported state of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckState {
    #[serde(rename = "Status")]
    pub status: Status,
    /// What the last probe said.
    #[serde(rename = "Output")]
    pub output: String,
    /// When the last probe finished (Unix ns); 0 before the first.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(skip)]
    successes: i64,
    #[serde(skip)]
    failures: i64,
    #[serde(skip)]
    thresholds: (i64, i64, i64),
}

impl CheckState {
    /// The state before the first probe.
    pub fn new(check: &ServiceCheck) -> Self {
        Self {
            status: Status::initial(&check.initial_status),
            output: String::new(),
            timestamp: 0,
            successes: 0,
            failures: 0,
            thresholds: (
                check.success_before_passing,
                check.failures_before_warning,
                check.failures_before_critical,
            ),
        }
    }

    /// Folds one probe result: passing and warning results count as successes, critical as
    /// failures; the status moves once the consecutive count reaches its threshold.
    pub fn record(&mut self, result: Status, output: String, now: i64) {
        let (before_passing, before_warning, before_critical) = self.thresholds;
        self.output = output;
        self.timestamp = now;
        if result == Status::Critical {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= before_critical {
                self.status = Status::Critical;
            } else if before_warning > 0 && self.failures >= before_warning {
                self.status = Status::Warning;
            }
        } else {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= before_passing {
                self.status = result;
            }
        }
    }
}

/// `check_restart`: counts consecutive unhealthy statuses after the grace period and says
/// when the task must be restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartWatch {
    policy: CheckRestart,
    /// When the task (re)started, Unix ns.
    started_at: i64,
    unhealthy: i64,
}

impl RestartWatch {
    /// A watch for a task started at `started_at`, or `None` when the policy is off.
    pub fn new(policy: Option<&CheckRestart>, started_at: i64) -> Option<Self> {
        let policy = policy.filter(|p| p.limit > 0)?.clone();
        Some(Self {
            policy,
            started_at,
            unhealthy: 0,
        })
    }

    /// Folds a status at `now`; true when the task must be restarted (the count starts over).
    pub fn observe(&mut self, status: Status, now: i64) -> bool {
        if now < self.started_at.saturating_add(self.policy.grace) {
            return false;
        }
        let unhealthy = match status {
            Status::Passing => false,
            Status::Warning => !self.policy.ignore_warnings,
            Status::Critical => true,
        };
        if !unhealthy {
            self.unhealthy = 0;
            return false;
        }
        self.unhealthy += 1;
        if self.unhealthy >= self.policy.limit {
            self.unhealthy = 0;
            self.started_at = now;
            return true;
        }
        false
    }
}

/// Whether one check lets its allocation be healthy, per its `on_update`: `ignore` always,
/// `ignore_warnings` when passing or warning, otherwise only when passing.
pub fn check_healthy(on_update: &str, status: Status) -> bool {
    match on_update {
        "ignore" => true,
        "ignore_warnings" => status != Status::Critical,
        _ => status == Status::Passing,
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
