//! Dialing other agents over gRPC: one place builds every outbound channel, so TLS settings
//! apply to all of them.

use std::time::Duration;

use nomadish_proto::tls::RpcClientTls;
use tonic::transport::{Channel, Endpoint};

/// Keepalive interval on long-lived server-to-server channels.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Why a channel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The address or TLS settings are unusable.
    #[error("{0}")]
    Tls(#[from] nomadish_proto::tls::TlsError),
    /// The address is malformed, or connecting failed.
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Dials `addr` (`host:port`), with mutual TLS when `tls` is given.
pub async fn grpc_channel(
    addr: &str,
    tls: Option<RpcClientTls>,
    connect_timeout: Duration,
) -> Result<Channel, DialError> {
    let endpoint = match tls {
        Some(tls) => tls.endpoint(addr)?,
        None => Endpoint::from_shared(format!("http://{addr}"))?,
    };
    let channel = endpoint
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_while_idle(true)
        .connect()
        .await?;
    Ok(channel)
}
