//! Heartbeat tracking on the leader: every ready node has a deadline; a node whose deadline
//! passes is marked `down`.
//!
//! ```text
//!   Register/Heartbeat ──reset(node)──> deadline = now + ttl + grace
//!   timer loop ──pop_expired(now)──> on_expired(node) ──> raft: node down + evaluations
//! ```
//!
//! The TTL follows Nomad's formula: `max(min_ttl, nodes / max_per_second)` plus a random stagger
//! of up to one TTL, so heartbeats of many nodes spread out.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::model::{duration_ns, now_ns};
use tokio::sync::Notify;

use crate::config::HeartbeatConfig;

/// Longest sleep of the timer loop when no deadline is near.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Deadlines per node, without I/O.
#[derive(Debug, Default)]
pub struct HeartbeatCore {
    deadlines: HashMap<String, i64>,
    order: BTreeSet<(i64, String)>,
}

impl HeartbeatCore {
    /// Sets a node's deadline (Unix ns).
    pub fn reset(&mut self, node_id: &str, deadline: i64) {
        if let Some(old) = self.deadlines.insert(node_id.to_string(), deadline) {
            self.order.remove(&(old, node_id.to_string()));
        }
        self.order.insert((deadline, node_id.to_string()));
    }

    /// Stops tracking a node.
    pub fn remove(&mut self, node_id: &str) {
        if let Some(old) = self.deadlines.remove(node_id) {
            self.order.remove(&(old, node_id.to_string()));
        }
    }

    /// Removes and returns every node whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: i64) -> Vec<String> {
        let mut expired = Vec::new();
        while let Some((at, id)) = self.order.first().cloned() {
            if at > now {
                break;
            }
            self.order.pop_first();
            self.deadlines.remove(&id);
            expired.push(id);
        }
        expired
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<i64> {
        self.order.first().map(|(at, _)| *at)
    }

    /// Number of tracked nodes.
    pub fn len(&self) -> usize {
        self.deadlines.len()
    }

    /// Whether no node is tracked.
    pub fn is_empty(&self) -> bool {
        self.deadlines.is_empty()
    }
}

/// Nomad's TTL for a cluster of `nodes`, with `stagger` in [0, 1) picking the random part.
pub fn heartbeat_ttl(config: &HeartbeatConfig, nodes: usize, stagger: f64) -> Duration {
    let scaled =
        Duration::from_secs_f64(nodes as f64 / config.max_per_second.max(f64::MIN_POSITIVE));
    let base = scaled.max(config.min_ttl);
    base + base.mul_f64(stagger.clamp(0.0, 0.999))
}

/// The leader's heartbeat tracker.
#[derive(Debug, Clone)]
pub struct HeartbeatTracker {
    core: Arc<Mutex<HeartbeatCore>>,
    changed: Arc<Notify>,
    config: HeartbeatConfig,
}

impl HeartbeatTracker {
    /// A tracker with this timing.
    pub fn new(config: HeartbeatConfig) -> Self {
        Self {
            core: Arc::default(),
            changed: Arc::default(),
            config,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HeartbeatCore) -> R) -> R {
        let mut core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut core)
    }

    /// Records a heartbeat; returns the TTL to hand the client.
    pub fn reset(&self, node_id: &str, total_nodes: usize) -> Duration {
        let ttl = heartbeat_ttl(&self.config, total_nodes, rand::random::<f64>());
        self.reset_with_ttl(node_id, ttl);
        ttl
    }

    /// Sets a node's deadline to `ttl` (plus grace) from now.
    pub fn reset_with_ttl(&self, node_id: &str, ttl: Duration) {
        let deadline = now_ns() + duration_ns(ttl + self.config.grace);
        self.with(|c| c.reset(node_id, deadline));
        self.changed.notify_one();
    }

    /// Stops tracking a node.
    pub fn remove(&self, node_id: &str) {
        self.with(|c| c.remove(node_id));
    }

    /// How many nodes' heartbeat deadlines are tracked (nodes alive, on the leader).
    pub fn active(&self) -> usize {
        self.with(|c| c.len())
    }

    /// Forgets every node (leadership lost).
    pub fn clear(&self) {
        self.with(|c| *c = HeartbeatCore::default());
    }

    /// The failover TTL handed to every node when a server becomes leader.
    pub fn failover_ttl(&self) -> Duration {
        self.config.failover_ttl
    }

    /// Calls `on_expired` for each node whose deadline passes, until `shutdown`.
    pub async fn run(
        &self,
        mut on_expired: impl FnMut(Vec<String>),
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let now = now_ns();
            let (expired, next) = self.with(|c| (c.pop_expired(now), c.next_deadline()));
            if !expired.is_empty() {
                on_expired(expired);
            }
            let sleep = next
                .map(|at| Duration::from_nanos((at - now).max(0) as u64).min(IDLE_TICK))
                .unwrap_or(IDLE_TICK);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.changed.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_expire_in_order_and_resets_move_them() {
        let mut c = HeartbeatCore::default();
        c.reset("a", 10);
        c.reset("b", 20);
        c.reset("a", 30);
        assert_eq!(c.next_deadline(), Some(20));
        assert_eq!(c.pop_expired(25), vec!["b".to_string()]);
        assert_eq!(c.pop_expired(29), Vec::<String>::new());
        c.remove("a");
        assert!(c.is_empty());
    }

    #[test]
    fn ttl_follows_nomads_formula() {
        let cfg = HeartbeatConfig::default();
        assert_eq!(heartbeat_ttl(&cfg, 10, 0.0), Duration::from_secs(10));
        assert_eq!(heartbeat_ttl(&cfg, 5000, 0.0), Duration::from_secs(100));
        assert_eq!(heartbeat_ttl(&cfg, 10, 0.5), Duration::from_secs(15));
        assert!(heartbeat_ttl(&cfg, 10, 5.0) < Duration::from_secs(20));
    }
}
