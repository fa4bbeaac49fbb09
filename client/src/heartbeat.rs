//! Registration and heartbeats: register the node (status `ready`), then heartbeat at
//! about half the TTL the server returns, with a little jitter. A heartbeat answered
//! `NotFound` means the server forgot the node: register again. A changed node (a driver's
//! health changed) is registered again at the next beat. Transport errors move to the next
//! server and retry with backoff. Each outcome goes to the [`ClientStatus`] the agent's
//! probes read, and each answered call's round trip to `nomad.client.heartbeat.rtt` (ms).
//!
//! ```text
//! Register ──ok──> [registered] ──sleep ttl/2 + jitter──> Heartbeat ──ok──┐
//!    ^  │ error: backoff, next server                          │ NotFound │
//!    │  v                                                      v          │
//!    └──┴──────────────────────────────────────────────────────┘  <───────┘
//! ```

use std::time::Duration;

use nomadish_proto::model::{NS_PER_SEC, Node, now_ns};
use nomadish_proto::node_v1::{HeartbeatRequest, RegisterRequest};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::error::ClientError;
use crate::servers::{RPC_TIMEOUT, ServerPool, is_transport_failure};
use crate::shutdown::Stop;
use crate::status::ClientStatus;

/// The sample of register/heartbeat round trips, in milliseconds.
pub const HEARTBEAT_RTT: &str = "nomad.client.heartbeat.rtt";

/// First retry delay after a failed register or heartbeat (Nomad retries within 1–30 s).
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// TTL assumed when a server returns none.
pub const FALLBACK_TTL: Duration = Duration::from_secs(10);
/// Share of the heartbeat interval added as random jitter.
pub const HEARTBEAT_JITTER: f64 = 0.1;

/// Registers and heartbeats until `stop`; sets `registered` after the first registration
/// and reports every outcome to `status`. `updates` carries the node; a new value is
/// registered at the next beat.
pub async fn run(
    pool: ServerPool,
    mut updates: watch::Receiver<Node>,
    registered: watch::Sender<bool>,
    status: ClientStatus,
    mut stop: Stop,
) {
    let mut node = updates.borrow_and_update().clone();
    let mut backoff = Backoff::new(RETRY_MIN, RETRY_MAX);
    let mut need_register = true;
    while !stop.is_stopped() {
        if updates.has_changed().unwrap_or(false) {
            node = updates.borrow_and_update().clone();
            need_register = true;
        }
        let started = std::time::Instant::now();
        let result = if need_register {
            node.status_updated_at = now_ns() / NS_PER_SEC;
            register(&pool, &node).await
        } else {
            heartbeat(&pool, &node).await
        };
        let delay = match result {
            Ok((server, ttl)) => {
                nomadish_metrics::measure_since(HEARTBEAT_RTT, &[], started);
                if need_register {
                    tracing::info!(node_id = %node.id, "node registered");
                }
                need_register = false;
                registered.send_replace(true);
                status.heartbeat_ok(&server, ttl, pool.servers());
                backoff.reset();
                heartbeat_interval(ttl, rand::random::<f64>())
            }
            Err(e) if e.rpc_code() == Some(tonic::Code::NotFound) => {
                nomadish_metrics::measure_since(HEARTBEAT_RTT, &[], started);
                tracing::warn!(error = %e, "server does not know this node; registering again");
                if let ClientError::Rpc { server, .. } = &e {
                    status.unknown_node(server);
                }
                need_register = true;
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, "register/heartbeat failed; retrying");
                status.failed(&e.to_string());
                backoff.next_delay()
            }
        };
        if stop.sleep(delay).await {
            return;
        }
    }
}

/// About half the TTL, plus up to [`HEARTBEAT_JITTER`] of that; `jitter` is in `[0, 1)`.
pub fn heartbeat_interval(ttl: Duration, jitter: f64) -> Duration {
    let ttl = if ttl.is_zero() { FALLBACK_TTL } else { ttl };
    let half = ttl / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0) * HEARTBEAT_JITTER)
}

/// Registers the node; returns the server that answered and the TTL it gave.
async fn register(pool: &ServerPool, node: &Node) -> Result<(String, Duration), ClientError> {
    let node_json = serde_json::to_vec(node).map_err(|source| ClientError::Encode {
        what: "node",
        source,
    })?;
    let (server, mut client) = pool.client();
    let mut request = tonic::Request::new(RegisterRequest { node_json });
    request.set_timeout(RPC_TIMEOUT);
    let response = client
        .register(request)
        .await
        .map_err(|status| rpc_error(pool, "Register", server.clone(), status))?
        .into_inner();
    pool.learn(&response.servers);
    Ok((server, Duration::from_millis(response.heartbeat_ttl_ms)))
}

/// Heartbeats; returns the server that answered and the TTL it gave.
async fn heartbeat(pool: &ServerPool, node: &Node) -> Result<(String, Duration), ClientError> {
    let (server, mut client) = pool.client();
    let mut request = tonic::Request::new(HeartbeatRequest {
        node_id: node.id.clone(),
        secret_id: node.secret_id.clone(),
    });
    request.set_timeout(RPC_TIMEOUT);
    let response = client
        .heartbeat(request)
        .await
        .map_err(|status| rpc_error(pool, "Heartbeat", server.clone(), status))?
        .into_inner();
    pool.learn(&response.servers);
    Ok((server, Duration::from_millis(response.heartbeat_ttl_ms)))
}

/// Wraps a failed call, failing over first when the server itself seems unusable.
pub(crate) fn rpc_error(
    pool: &ServerPool,
    op: &'static str,
    server: String,
    status: tonic::Status,
) -> ClientError {
    if is_transport_failure(&status) {
        pool.failover(&server);
    }
    ClientError::Rpc { op, server, status }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_half_the_ttl_plus_a_little_jitter() {
        let ttl = Duration::from_secs(10);
        assert_eq!(heartbeat_interval(ttl, 0.0), Duration::from_secs(5));
        assert_eq!(heartbeat_interval(ttl, 0.5), Duration::from_millis(5250));
        assert!(heartbeat_interval(ttl, 0.99) < Duration::from_millis(5500));
        assert_eq!(heartbeat_interval(Duration::ZERO, 0.0), FALLBACK_TTL / 2);
    }
}
