//! The connection to the servers: one lazily connected tonic channel to the current server,
//! shared by every part of the client, with failover to the next server when a call fails.
//!
//! Channel construction lives in [`endpoint`] alone, so mTLS can be added in one place.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::node_v1::node_service_client::NodeServiceClient;
use nomadish_proto::tls::RpcClientTls;
use tonic::transport::{Channel, Endpoint};

use crate::error::ClientError;

/// How long to wait for a TCP connection to a server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest message the client accepts or sends (allocation lists can be large).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;
/// Deadline of unary calls (register, heartbeat, updates).
pub const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 keepalive ping interval, so broken long-lived streams are noticed.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// How long a keepalive ping may go unanswered before the connection is dropped.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// A node-service client bound to one server.
pub type NodeClient = NodeServiceClient<Channel>;

/// The endpoint for one server address (`host:port`): mutual TLS when `tls` is given,
/// plaintext HTTP/2 otherwise.
pub fn endpoint(addr: &str, tls: Option<&RpcClientTls>) -> Result<Endpoint, ClientError> {
    let invalid = |source| ClientError::InvalidServerAddress {
        addr: addr.to_string(),
        source,
    };
    let endpoint = match tls {
        Some(tls) => tls
            .endpoint(addr)
            .map_err(|source| ClientError::Tls { source })?,
        None => Endpoint::from_shared(format!("http://{addr}")).map_err(invalid)?,
    };
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true))
}

/// The known servers and the channel to the current one.
#[derive(Debug, Clone)]
pub struct ServerPool {
    inner: Arc<Mutex<PoolInner>>,
}

#[derive(Debug)]
struct PoolInner {
    servers: Vec<String>,
    current: usize,
    channel: Option<(String, Channel)>,
    tls: Option<RpcClientTls>,
}

impl ServerPool {
    /// A pool over the configured servers, dialing with `tls` when given; fails when no
    /// server is given or one is malformed.
    pub fn new(servers: Vec<String>, tls: Option<RpcClientTls>) -> Result<Self, ClientError> {
        if servers.is_empty() {
            return Err(ClientError::NoServers);
        }
        for addr in &servers {
            endpoint(addr, tls.as_ref())?;
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(PoolInner {
                servers,
                current: 0,
                channel: None,
                tls,
            })),
        })
    }

    /// The current server's address and a client for it (connecting lazily).
    pub fn client(&self) -> (String, NodeClient) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let addr = inner.servers[inner.current].clone();
        let channel = match &inner.channel {
            Some((a, ch)) if *a == addr => ch.clone(),
            _ => {
                // Validated in `new`/`learn`, so this cannot fail here.
                let ch = endpoint(&addr, inner.tls.as_ref())
                    .map(|e| e.connect_lazy())
                    .unwrap_or_else(|_| unreachable_endpoint());
                inner.channel = Some((addr.clone(), ch.clone()));
                ch
            }
        };
        let client = NodeServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        (addr, client)
    }

    /// Moves on to the next server if `failed` is still the current one (several loops may
    /// report the same failure; only the first moves the pool).
    pub fn failover(&self, failed: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.servers[inner.current] == failed {
            inner.current = (inner.current + 1) % inner.servers.len();
            inner.channel = None;
            tracing::warn!(failed, next = %inner.servers[inner.current], "failing over to next server");
        }
    }

    /// Adds servers a server told us about (valid, not yet known) after the configured ones.
    pub fn learn(&self, servers: &[String]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for s in servers {
            if !inner.servers.contains(s) && endpoint(s, inner.tls.as_ref()).is_ok() {
                inner.servers.push(s.clone());
            }
        }
    }

    /// The servers known now, in failover order.
    pub fn servers(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.servers.clone()
    }
}

/// A channel to an address that refuses connections; only used if validation was bypassed.
fn unreachable_endpoint() -> Channel {
    Endpoint::from_static("http://127.0.0.1:1").connect_lazy()
}

/// Whether a failed call means "this server is unusable; try another one".
pub fn is_transport_failure(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Internal
            | tonic::Code::Cancelled
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_malformed_servers_are_rejected() {
        assert!(matches!(
            ServerPool::new(vec![], None),
            Err(ClientError::NoServers)
        ));
        assert!(matches!(
            ServerPool::new(vec!["bad host:x:y".into()], None),
            Err(ClientError::InvalidServerAddress { .. })
        ));
    }

    #[tokio::test]
    async fn failover_rotates_once_per_failure_and_learns_servers() {
        let pool = ServerPool::new(vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()], None).unwrap();
        assert_eq!(pool.client().0, "127.0.0.1:1");
        pool.failover("127.0.0.1:1");
        pool.failover("127.0.0.1:1");
        assert_eq!(pool.client().0, "127.0.0.1:2");
        pool.learn(&["127.0.0.1:3".into(), "127.0.0.1:2".into()]);
        assert_eq!(pool.servers().len(), 3);
        pool.failover("127.0.0.1:2");
        assert_eq!(pool.client().0, "127.0.0.1:3");
        pool.failover("127.0.0.1:3");
        assert_eq!(pool.client().0, "127.0.0.1:1");
    }
}
