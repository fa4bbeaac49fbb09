//! Dialing other agents over gRPC: one place builds every outbound channel, so TLS settings
//! apply to all of them.

use std::net::{IpAddr, SocketAddr};
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

/// Dials `addr` (`host:port`), with mutual TLS when `tls` is given. Connections leave from
/// `source` when given (see [`source_address`]).
pub async fn grpc_channel(
    addr: &str,
    tls: Option<RpcClientTls>,
    source: Option<IpAddr>,
    connect_timeout: Duration,
) -> Result<Channel, DialError> {
    let endpoint = match tls {
        Some(tls) => tls.endpoint(addr)?,
        None => Endpoint::from_shared(format!("http://{addr}"))?,
    };
    let local = source.filter(|s| usable_source(*s, addr));
    let channel = endpoint
        .local_address(local)
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_while_idle(true)
        .connect()
        .await?;
    Ok(channel)
}

/// The address a server's outgoing RPC connections leave from: its RPC bind address when that
/// is one specific IP, so peers (and firewalls) see the address the server is known by; none
/// when it listens on every interface.
pub fn source_address(rpc_bind: SocketAddr) -> Option<IpAddr> {
    let ip = rpc_bind.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// Whether connections to `addr` can leave from `source`: a loopback source reaches only
/// loopback targets, so a server bound to loopback that dials a name or another host leaves
/// the choice to the kernel.
fn usable_source(source: IpAddr, addr: &str) -> bool {
    if !source.is_loopback() {
        return true;
    }
    addr.parse::<SocketAddr>()
        .is_ok_and(|target| target.ip().is_loopback() && target.is_ipv4() == source.is_ipv4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_connections_leave_from_a_specific_bind_address_only() {
        assert_eq!(source_address("0.0.0.0:4647".parse().unwrap()), None);
        assert_eq!(source_address("[::]:4647".parse().unwrap()), None);
        let lo: IpAddr = "127.0.1.2".parse().unwrap();
        assert_eq!(source_address("127.0.1.2:4647".parse().unwrap()), Some(lo));
        assert!(usable_source(lo, "127.0.0.1:9000"));
        assert!(!usable_source(lo, "10.0.0.5:4647"));
        assert!(!usable_source(lo, "server-1:4647"));
        assert!(!usable_source(lo, "[::1]:4647"));
        assert!(usable_source("10.0.0.4".parse().unwrap(), "server-1:4647"));
    }
}
