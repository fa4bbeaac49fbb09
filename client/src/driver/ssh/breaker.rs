//! A circuit breaker per SSH endpoint: after N consecutive connection failures new tasks
//! fail fast until a cooldown has passed; then one probe connection is let through
//! (half-open), which closes the circuit on success or opens it again on failure.

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

    /// May a connection to `endpoint` be attempted now? Marks a half-open probe as taken.
    pub fn check(&self, endpoint: &str) -> Result<(), CircuitOpen> {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = states.get_mut(endpoint) else {
            return Ok(());
        };
        let Some(until) = state.open_until else {
            return Ok(());
        };
        if SystemTime::now() < until {
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

    /// A connection failed: counts towards opening the circuit (a failed probe reopens it).
    pub fn failure(&self, endpoint: &str) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let state = states.entry(endpoint.to_string()).or_default();
        state.failures = state.failures.saturating_add(1);
        state.probing = false;
        if state.failures >= self.threshold {
            state.open_until = Some(SystemTime::now() + self.cooldown);
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
        let b = Breakers::new(3, Duration::from_millis(100));
        for _ in 0..2 {
            b.failure("h:22");
            assert!(b.check("h:22").is_ok());
        }
        b.failure("h:22");
        let err = b.check("h:22").unwrap_err();
        assert!(
            err.to_string().starts_with("circuit open until 20"),
            "{err}"
        );
        assert!(b.check("other:22").is_ok());
        std::thread::sleep(Duration::from_millis(150));
        assert!(b.check("h:22").is_ok(), "one probe after the cooldown");
        assert!(matches!(b.check("h:22"), Err(CircuitOpen::Probing { .. })));
        b.failure("h:22");
        assert!(matches!(b.check("h:22"), Err(CircuitOpen::Open { .. })));
        std::thread::sleep(Duration::from_millis(150));
        assert!(b.check("h:22").is_ok());
        b.success("h:22");
        assert!(b.check("h:22").is_ok() && b.check("h:22").is_ok());
    }
}
