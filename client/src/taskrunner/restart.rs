//! The restart policy, sans-IO: given the policy and the task's restart history, decide what
//! happens when a task exits or fails to start. Follows Nomad's restart tracker:
//!
//! ```text
//! exit / start error
//!   |-- attempts == 0 ------------------------> Fail ("Policy allows no restarts"),
//!   |                                            or Complete if batch and exit 0
//!   |-- interval elapsed since window start --> new window, count = 0
//!   |-- count += 1
//!   |-- unrecoverable start error ------------> Fail ("Error was unrecoverable")
//!   |-- exit 0 and not restart-on-success ----> Complete (batch jobs)
//!   |-- count > attempts, mode "fail" --------> Fail ("Exceeded allowed attempts ...")
//!   |-- count > attempts, mode "delay" -------> Restart after the window ends
//!   '-- otherwise ----------------------------> Restart after delay + up to 25% jitter
//! ```
//!
//! Time and randomness come in as arguments, so every decision is a plain function call.

use std::time::Duration;

use nomadish_proto::model::{
    JOB_TYPE_BATCH, JOB_TYPE_SYSBATCH, RESTART_MODE_DELAY, RestartPolicy, TaskLifecycle,
    ns_duration,
};
use tokio::time::Instant;

use crate::gofmt::go_duration;

/// The share of the delay added as random jitter (Nomad: 25%).
pub const JITTER: f64 = 0.25;
/// Reason: the policy has zero attempts.
pub const REASON_NO_RESTARTS: &str = "Policy allows no restarts";
/// Reason: the start error cannot be fixed by retrying.
pub const REASON_UNRECOVERABLE: &str = "Error was unrecoverable";
/// Reason: an ordinary restart.
pub const REASON_WITHIN_POLICY: &str = "Restart within policy";
/// Reason: mode `delay` waits for the next interval.
pub const REASON_DELAY: &str = "Exceeded allowed attempts, applying a delay";
/// Reason: a batch task exited 0.
pub const REASON_SUCCESS: &str = "Restart unnecessary as task terminated successfully";

/// How the task's last run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The task ran and exited; `success` is exit code 0.
    Exited { success: bool },
    /// The driver could not start the task.
    StartFailed { recoverable: bool },
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start the task again after `delay`.
    Restart { delay: Duration, reason: String },
    /// Give up: the task is dead and failed.
    Fail { reason: String },
    /// The task finished successfully and stays dead.
    Complete { reason: String },
}

/// A task's restart history under one policy.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    attempts: u32,
    interval: Duration,
    delay: Duration,
    mode_delay: bool,
    restart_on_success: bool,
    count: u32,
    window_start: Instant,
}

impl RestartTracker {
    /// A tracker for `policy` (zero durations take the job type's defaults), starting its
    /// first interval at `now`.
    pub fn new(
        policy: &RestartPolicy,
        job_type: &str,
        lifecycle: Option<&TaskLifecycle>,
        now: Instant,
    ) -> Self {
        let defaults = default_policy(job_type);
        let pick = |v: i64, d: i64| {
            if v > 0 {
                ns_duration(v)
            } else {
                ns_duration(d)
            }
        };
        Self {
            attempts: u32::try_from(policy.attempts.max(0)).unwrap_or(u32::MAX),
            interval: pick(policy.interval, defaults.interval),
            delay: ns_duration(policy.delay),
            mode_delay: policy.mode == RESTART_MODE_DELAY,
            restart_on_success: restart_on_success(job_type, lifecycle),
            count: 0,
            window_start: now,
        }
    }

    /// Decides what follows `outcome` at `now`; `jitter` is a random number in `[0, 1)`.
    pub fn decide(&mut self, outcome: Outcome, now: Instant, jitter: f64) -> Decision {
        let success = outcome == Outcome::Exited { success: true };
        if self.attempts == 0 {
            return if success && !self.restart_on_success {
                Decision::Complete {
                    reason: REASON_NO_RESTARTS.to_string(),
                }
            } else {
                Decision::Fail {
                    reason: REASON_NO_RESTARTS.to_string(),
                }
            };
        }
        if now > self.window_start + self.interval {
            self.count = 0;
            self.window_start = now;
        }
        self.count += 1;
        if outcome == (Outcome::StartFailed { recoverable: false }) {
            return Decision::Fail {
                reason: REASON_UNRECOVERABLE.to_string(),
            };
        }
        if success && !self.restart_on_success {
            return Decision::Complete {
                reason: REASON_SUCCESS.to_string(),
            };
        }
        if self.count > self.attempts {
            if self.mode_delay {
                return Decision::Restart {
                    delay: (self.window_start + self.interval).saturating_duration_since(now),
                    reason: REASON_DELAY.to_string(),
                };
            }
            return Decision::Fail {
                reason: format!(
                    "Exceeded allowed attempts {} in interval {} and mode is \"fail\"",
                    self.attempts,
                    go_duration(self.interval)
                ),
            };
        }
        Decision::Restart {
            delay: self.jittered_delay(jitter),
            reason: REASON_WITHIN_POLICY.to_string(),
        }
    }

    fn jittered_delay(&self, jitter: f64) -> Duration {
        let base = self.delay.max(Duration::from_nanos(1));
        base + base.mul_f64(jitter.clamp(0.0, 1.0) * JITTER)
    }
}

/// Nomad's restart policy for a job type.
pub fn default_policy(job_type: &str) -> RestartPolicy {
    if is_batch(job_type) {
        RestartPolicy::batch_default()
    } else {
        RestartPolicy::service_default()
    }
}

fn is_batch(job_type: &str) -> bool {
    job_type == JOB_TYPE_BATCH || job_type == JOB_TYPE_SYSBATCH
}

/// Whether a successful exit is restarted: not for batch jobs, and for lifecycle tasks only
/// when they are sidecars (poststop tasks never).
fn restart_on_success(job_type: &str, lifecycle: Option<&TaskLifecycle>) -> bool {
    match lifecycle.map(|l| (l.hook.as_str(), l.sidecar)) {
        Some(("prestart" | "poststart", sidecar)) => sidecar,
        Some(("poststop", _)) => false,
        _ => !is_batch(job_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{NS_PER_SEC, RESTART_MODE_FAIL};

    const SEC: Duration = Duration::from_secs(1);

    fn policy(attempts: i64, interval_s: i64, delay_s: i64, mode: &str) -> RestartPolicy {
        RestartPolicy {
            attempts,
            interval: interval_s * NS_PER_SEC,
            delay: delay_s * NS_PER_SEC,
            mode: mode.into(),
            render_templates: false,
        }
    }

    fn failed() -> Outcome {
        Outcome::Exited { success: false }
    }

    #[test]
    fn restarts_within_policy_then_fails_with_nomads_message() {
        let t0 = Instant::now();
        let mut t =
            RestartTracker::new(&policy(2, 1800, 15, RESTART_MODE_FAIL), "service", None, t0);
        for i in 1..=2 {
            let d = t.decide(failed(), t0 + SEC * i, 0.0);
            assert_eq!(
                d,
                Decision::Restart {
                    delay: 15 * SEC,
                    reason: REASON_WITHIN_POLICY.into()
                }
            );
        }
        let d = t.decide(failed(), t0 + 3 * SEC, 0.0);
        assert_eq!(
            d,
            Decision::Fail {
                reason: "Exceeded allowed attempts 2 in interval 30m0s and mode is \"fail\"".into()
            }
        );
    }

    #[test]
    fn jitter_adds_up_to_a_quarter_of_the_delay() {
        let t0 = Instant::now();
        let mut t = RestartTracker::new(&policy(5, 60, 10, RESTART_MODE_FAIL), "service", None, t0);
        let Decision::Restart { delay, .. } = t.decide(failed(), t0, 0.5) else {
            panic!("expected a restart");
        };
        assert_eq!(delay, Duration::from_millis(11_250));
        let Decision::Restart { delay, .. } = t.decide(failed(), t0, 0.999_999) else {
            panic!("expected a restart");
        };
        assert!(delay < Duration::from_millis(12_500) && delay > Duration::from_millis(12_499));
    }

    #[test]
    fn a_new_interval_resets_the_count() {
        let t0 = Instant::now();
        let mut t = RestartTracker::new(&policy(1, 60, 1, RESTART_MODE_FAIL), "service", None, t0);
        assert!(matches!(
            t.decide(failed(), t0 + SEC, 0.0),
            Decision::Restart { .. }
        ));
        assert!(matches!(
            t.decide(failed(), t0 + 61 * SEC, 0.0),
            Decision::Restart { .. }
        ));
        assert!(matches!(
            t.decide(failed(), t0 + 62 * SEC, 0.0),
            Decision::Fail { .. }
        ));
    }

    #[test]
    fn mode_delay_waits_for_the_interval_to_end() {
        let t0 = Instant::now();
        let mut t = RestartTracker::new(&policy(1, 60, 1, RESTART_MODE_DELAY), "service", None, t0);
        assert!(matches!(
            t.decide(failed(), t0 + SEC, 0.0),
            Decision::Restart { .. }
        ));
        assert_eq!(
            t.decide(failed(), t0 + 20 * SEC, 0.0),
            Decision::Restart {
                delay: 40 * SEC,
                reason: REASON_DELAY.into()
            }
        );
    }

    #[test]
    fn batch_success_completes_but_service_success_restarts() {
        let t0 = Instant::now();
        let ok = Outcome::Exited { success: true };
        let mut batch =
            RestartTracker::new(&policy(3, 86_400, 15, RESTART_MODE_FAIL), "batch", None, t0);
        assert_eq!(
            batch.decide(ok, t0, 0.0),
            Decision::Complete {
                reason: REASON_SUCCESS.into()
            }
        );
        let mut service =
            RestartTracker::new(&policy(2, 1800, 15, RESTART_MODE_FAIL), "service", None, t0);
        assert!(matches!(
            service.decide(ok, t0, 0.0),
            Decision::Restart { .. }
        ));
    }

    #[test]
    fn zero_attempts_fail_at_once_unless_a_batch_success() {
        let t0 = Instant::now();
        let p = policy(0, 60, 1, RESTART_MODE_FAIL);
        let mut service = RestartTracker::new(&p, "service", None, t0);
        assert_eq!(
            service.decide(Outcome::Exited { success: true }, t0, 0.0),
            Decision::Fail {
                reason: REASON_NO_RESTARTS.into()
            }
        );
        let mut batch = RestartTracker::new(&p, "batch", None, t0);
        assert!(matches!(
            batch.decide(Outcome::Exited { success: true }, t0, 0.0),
            Decision::Complete { .. }
        ));
        assert!(matches!(
            batch.decide(failed(), t0, 0.0),
            Decision::Fail { .. }
        ));
    }

    #[test]
    fn unrecoverable_start_errors_fail_recoverable_ones_restart() {
        let t0 = Instant::now();
        let mut t = RestartTracker::new(&policy(2, 60, 1, RESTART_MODE_FAIL), "service", None, t0);
        assert!(matches!(
            t.decide(Outcome::StartFailed { recoverable: true }, t0, 0.0),
            Decision::Restart { .. }
        ));
        assert_eq!(
            t.decide(Outcome::StartFailed { recoverable: false }, t0, 0.0),
            Decision::Fail {
                reason: REASON_UNRECOVERABLE.into()
            }
        );
    }

    #[test]
    fn lifecycle_sidecars_restart_on_success_poststop_never() {
        let t0 = Instant::now();
        let ok = Outcome::Exited { success: true };
        let p = policy(2, 60, 1, RESTART_MODE_FAIL);
        let sidecar = TaskLifecycle {
            hook: "prestart".into(),
            sidecar: true,
        };
        let init = TaskLifecycle {
            hook: "prestart".into(),
            sidecar: false,
        };
        let post = TaskLifecycle {
            hook: "poststop".into(),
            sidecar: false,
        };
        let mut t = RestartTracker::new(&p, "batch", Some(&sidecar), t0);
        assert!(matches!(t.decide(ok, t0, 0.0), Decision::Restart { .. }));
        let mut t = RestartTracker::new(&p, "service", Some(&init), t0);
        assert!(matches!(t.decide(ok, t0, 0.0), Decision::Complete { .. }));
        let mut t = RestartTracker::new(&p, "service", Some(&post), t0);
        assert!(matches!(t.decide(ok, t0, 0.0), Decision::Complete { .. }));
    }

    #[test]
    fn zero_interval_takes_the_job_type_default() {
        let t0 = Instant::now();
        let mut t = RestartTracker::new(&policy(1, 0, 1, RESTART_MODE_FAIL), "batch", None, t0);
        assert!(matches!(
            t.decide(failed(), t0 + SEC, 0.0),
            Decision::Restart { .. }
        ));
        assert_eq!(
            t.decide(failed(), t0 + 2 * SEC, 0.0),
            Decision::Fail {
                reason: "Exceeded allowed attempts 1 in interval 24h0m0s and mode is \"fail\""
                    .into()
            }
        );
    }
}
