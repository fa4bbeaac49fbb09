//! Dialing other agents over gRPC: one place builds every outbound channel, so TLS settings
//! apply to all of them.

use std::time::Duration;

use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

/// Keepalive interval on long-lived server-to-server channels.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Dials `addr` (`host:port`), with TLS when `tls` is given.
pub async fn grpc_channel(
    addr: &str,
    tls: Option<ClientTlsConfig>,
    connect_timeout: Duration,
) -> Result<Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_while_idle(true);
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint.connect().await
}
