//! What the client knows about its own standing with the servers, for a client-only agent's
//! probes (`/health`, `/ready`) and `/v1/agent/self`. The heartbeat loop reports each
//! register/heartbeat outcome; the probes read a [`StatusReport`].
//!
//! ```text
//!   heartbeat loop ── registered(ttl) / replied_unknown_node / failed(err) ──> ClientStatus
//!   watcher        ── node id, name ────────────────────────────────────────┘      │
//!   GET /health  <── connected: the last call got a reply, within the TTL ──────────┤
//!   GET /ready   <── connected, node registered, last heartbeat within the TTL ─────┘
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::heartbeat::FALLBACK_TTL;

/// The client's standing with the servers; cheap to clone, shared by the heartbeat loop and
/// the agent's HTTP listener.
#[derive(Debug, Clone)]
pub struct ClientStatus {
    started: Instant,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    node_id: String,
    node_name: String,
    /// The server answered the last register/heartbeat with success.
    registered: bool,
    /// When a server last answered at all (even "unknown node"), and which.
    last_reply: Option<(Instant, String)>,
    /// The last successful register or heartbeat and the TTL it returned.
    last_heartbeat: Option<(Instant, Duration)>,
    /// The error of the last call when it got no answer from any server.
    failure: Option<String>,
    known_servers: Vec<String>,
}

/// A point-in-time copy of [`ClientStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The node's ID (empty until the client has prepared its identity).
    pub node_id: String,
    /// The node's name.
    pub node_name: String,
    /// Whether the last register/heartbeat succeeded.
    pub registered: bool,
    /// The server that answered last.
    pub server: Option<String>,
    /// Time since a server last answered.
    pub since_reply: Option<Duration>,
    /// Time since the last successful heartbeat, and the TTL it was given.
    pub since_heartbeat: Option<(Duration, Duration)>,
    /// The last call's error, if it got no answer.
    pub failure: Option<String>,
    /// Servers the client knows, in failover order.
    pub known_servers: Vec<String>,
    /// Time since the client started.
    pub uptime: Duration,
}

impl Default for ClientStatus {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientStatus {
    /// A status with no contact yet.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the node's identity.
    pub fn set_node(&self, id: &str, name: &str) {
        let mut inner = self.lock();
        inner.node_id = id.to_string();
        inner.node_name = name.to_string();
    }

    /// A register or heartbeat to `server` succeeded with this TTL.
    pub fn heartbeat_ok(&self, server: &str, ttl: Duration, known_servers: Vec<String>) {
        let now = Instant::now();
        let ttl = if ttl.is_zero() { FALLBACK_TTL } else { ttl };
        let mut inner = self.lock();
        inner.registered = true;
        inner.last_reply = Some((now, server.to_string()));
        inner.last_heartbeat = Some((now, ttl));
        inner.failure = None;
        inner.known_servers = known_servers;
    }

    /// `server` answered but does not know this node (it will be registered again).
    pub fn unknown_node(&self, server: &str) {
        let mut inner = self.lock();
        inner.registered = false;
        inner.last_reply = Some((Instant::now(), server.to_string()));
        inner.failure = None;
    }

    /// A register or heartbeat got no usable answer.
    pub fn failed(&self, error: &str) {
        self.lock().failure = Some(error.to_string());
    }

    /// The status now.
    pub fn report(&self) -> StatusReport {
        self.report_at(Instant::now())
    }

    /// The status as it will be at `now` (ages measured up to it), if nothing changes.
    pub fn report_at(&self, now: Instant) -> StatusReport {
        let inner = self.lock();
        StatusReport {
            node_id: inner.node_id.clone(),
            node_name: inner.node_name.clone(),
            registered: inner.registered,
            server: inner.last_reply.as_ref().map(|(_, s)| s.clone()),
            since_reply: inner.last_reply.as_ref().map(|(at, _)| now - *at),
            since_heartbeat: inner.last_heartbeat.map(|(at, ttl)| (now - at, ttl)),
            failure: inner.failure.clone(),
            known_servers: inner.known_servers.clone(),
            uptime: now - self.started,
        }
    }
}

impl StatusReport {
    /// The TTL the servers last gave (the fallback before any).
    fn ttl(&self) -> Duration {
        self.since_heartbeat.map_or(FALLBACK_TTL, |(_, ttl)| ttl)
    }

    /// `Ok(message)` when the client has a live connection to a server: the last call got an
    /// answer, less than one TTL ago; else why not.
    pub fn health(&self) -> Result<String, String> {
        if let Some(error) = &self.failure {
            return Err(format!("no connection to any server: {error}"));
        }
        match self.since_reply {
            None => Err("not connected to a server yet".into()),
            Some(age) if age > self.ttl() => Err(format!(
                "no answer from a server for {}s (heartbeat TTL {}s)",
                age.as_secs(),
                self.ttl().as_secs()
            )),
            Some(_) => Ok("ok".into()),
        }
    }

    /// `Ok(message)` when the node is registered and its heartbeat is current with a server
    /// (connected, last heartbeat less than one TTL ago); else why not.
    pub fn readiness(&self) -> Result<String, String> {
        self.health()?;
        if !self.registered {
            return Err("node not registered with a server".into());
        }
        match self.since_heartbeat {
            Some((age, ttl)) if age <= ttl => Ok(format!(
                "node registered; last heartbeat {}ms ago to {} (TTL {}ms)",
                age.as_millis(),
                self.server.as_deref().unwrap_or("?"),
                ttl.as_millis()
            )),
            Some((age, ttl)) => Err(format!(
                "last heartbeat {}ms ago, past the TTL of {}ms",
                age.as_millis(),
                ttl.as_millis()
            )),
            None => Err("node not registered with a server".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn not_healthy_nor_ready_before_the_first_answer() {
        let status = ClientStatus::new();
        let report = status.report();
        assert!(report.health().unwrap_err().contains("not connected"));
        assert!(report.readiness().is_err());
    }

    #[test]
    fn a_heartbeat_makes_it_ready_until_the_ttl_passes() {
        let status = ClientStatus::new();
        status.heartbeat_ok("s1:4647", TTL, vec!["s1:4647".into()]);
        let report = status.report();
        assert_eq!(report.health(), Ok("ok".into()));
        assert!(report.readiness().unwrap().contains("s1:4647"));
        let later = status.report_at(Instant::now() + TTL + Duration::from_millis(50));
        assert!(later.health().unwrap_err().contains("no answer"));
        assert!(later.readiness().is_err());
    }

    #[test]
    fn a_failed_call_fails_both_probes_at_once_and_a_success_clears_it() {
        let status = ClientStatus::new();
        status.heartbeat_ok("s1:4647", TTL, Vec::new());
        status.failed("connection refused");
        let report = status.report();
        assert!(report.health().unwrap_err().contains("connection refused"));
        assert!(
            report
                .readiness()
                .unwrap_err()
                .contains("connection refused")
        );
        status.heartbeat_ok("s2:4647", TTL, Vec::new());
        assert!(status.report().readiness().is_ok());
    }

    #[test]
    fn an_unknown_node_answer_is_a_connection_but_not_readiness() {
        let status = ClientStatus::new();
        status.heartbeat_ok("s1:4647", TTL, Vec::new());
        status.unknown_node("s1:4647");
        let report = status.report();
        assert!(report.health().is_ok());
        assert!(report.readiness().unwrap_err().contains("not registered"));
    }
}
