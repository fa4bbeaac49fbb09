//! A circuit breaker per SSH endpoint: after N consecutive connection failures new tasks
//! fail fast until a cooldown has passed; then one probe connection is let through
//! (half-open), which closes the circuit on success or opens it again on failure.
//!
//! ```text
//!            failure (< N in a row)
//!              ┌──────┐
//!              v      │        N-th failure
//!          ┌────────────┐ ─────────────────────> ┌──────────────────────┐
//!  ──────> │   closed   │                        │ open until now+cool  │  check: "circuit open
//!          └────────────┘ <──────┐               └──────────────────────┘   until <time>"
//!                ^               │ success                 │ cooldown over: the next
//!                │ success  ┌────────────┐                 │ check takes the probe
//!                └──────────│ half-open  │ <───────────────┘
//!                           │ (1 probe)  │ ── failure ──> open again
//!                           └────────────┘
//! ```
//!
//! The breaker does no I/O and reads no clock: callers pass the time in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nomadish_proto::model::rfc3339;

/// Why a connection attempt was not even tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitOpen {
    /// The cooldown has not passed yet.
    #[error(
        "circuit open until {until} after {failures} consecutive connection failures to {endpoint}"
    )]
    Open {
        endpoint: String,
        until: String,
        failures: u32,
    },
    /// The cooldown passed and another task's probe connection is under way.
    #[error("circuit half-open for {endpoint}: a probe connection is under way")]
    Probing { endpoint: String },
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    open_until: Option<SystemTime>,
    probing: bool,
}

/// The breakers of every endpoint (`host:port`) the client talks to.
#[derive(Debug)]
pub struct Breakers {
    threshold: u32,
    cooldown: Duration,
    states: Mutex<HashMap<String, State>>,
}

impl Breakers {
    /// Breakers opening after `threshold` failures for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// May a connection to `endpoint` be attempted at `now`? Marks a half-open probe as taken.
    pub fn check(&self, endpoint: &str, now: SystemTime) -> Result<(), CircuitOpen> {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = states.get_mut(endpoint) else {
            return Ok(());
        };
        let Some(until) = state.open_until else {
            return Ok(());
        };
        if now < until {
            let ns = until
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as i64)
                .unwrap_or_default();
            return Err(CircuitOpen::Open {
                endpoint: endpoint.to_string(),
                until: rfc3339(ns),
                failures: state.failures,
            });
        }
        if state.probing {
            return Err(CircuitOpen::Probing {
                endpoint: endpoint.to_string(),
            });
        }
        state.probing = true;
        Ok(())
    }

    /// A connection succeeded: the circuit closes.
    pub fn success(&self, endpoint: &str) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.remove(endpoint);
    }

    /// A connection failed at `now`: counts towards opening the circuit (a failed probe
    /// reopens it).
    pub fn failure(&self, endpoint: &str, now: SystemTime) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let state = states.entry(endpoint.to_string()).or_default();
        state.failures = state.failures.saturating_add(1);
        state.probing = false;
        if state.failures >= self.threshold {
            state.open_until = Some(now + self.cooldown);
            tracing::warn!(%endpoint, failures = state.failures, cooldown = ?self.cooldown, "ssh circuit opened");
        }
    }

    /// A connection attempt ended without saying anything about the host (e.g. the key was
    /// refused): a probe slot taken by [`Breakers::check`] is given back.
    pub fn neutral(&self, endpoint: &str) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = states.get_mut(endpoint) {
            state.probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_lets_one_probe_through() {
        let b = Breakers::new(3, Duration::from_secs(30));
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for _ in 0..2 {
            b.failure("h:22", t0);
            assert!(b.check("h:22", t0).is_ok());
        }
        b.failure("h:22", t0);
        let err = b.check("h:22", t0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "circuit open until 2027-01-15T08:00:30.000000000Z after 3 consecutive connection failures to h:22"
        );
        assert!(b.check("other:22", t0).is_ok());
        let later = t0 + Duration::from_secs(31);
        assert!(
            b.check("h:22", later).is_ok(),
            "one probe after the cooldown"
        );
        assert!(matches!(
            b.check("h:22", later),
            Err(CircuitOpen::Probing { .. })
        ));
        b.failure("h:22", later);
        assert!(matches!(
            b.check("h:22", later),
            Err(CircuitOpen::Open { .. })
        ));
        let later = later + Duration::from_secs(31);
        assert!(b.check("h:22", later).is_ok());
        b.success("h:22");
        assert!(b.check("h:22", later).is_ok() && b.check("h:22", later).is_ok());
    }

    #[test]
    fn a_neutral_outcome_gives_the_probe_back() {
        let b = Breakers::new(1, Duration::from_secs(1));
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        b.failure("h:22", t0);
        let later = t0 + Duration::from_secs(2);
        assert!(b.check("h:22", later).is_ok());
        b.neutral("h:22");
        assert!(b.check("h:22", later).is_ok());
    }
}
