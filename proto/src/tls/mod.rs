//! Mutual TLS for nomadish: the agent's `tls { ... }` settings, the rustls/tonic
//! configurations built from them, peer authorization by certificate role, and the
//! certificate generator behind `nomadish tls ...`.
//!
//! Certificates carry their role in their name, as Nomad's do with `.nomad`:
//! `server.<region>.nomadish`, `client.<region>.nomadish`, `cli.<region>.nomadish`.
//!
//! ```text
//!                      one CA (nomadish-agent-ca.pem)
//!                                   |
//!        +--------------------------+---------------------------+
//!  server.<region>.nomadish  client.<region>.nomadish   cli.<region>.nomadish
//!  (server+client auth)      (server+client auth)       (client auth only)
//!
//!  RPC port 4647 (tonic)    TlsConfig::rpc_server_tls   client cert from the CA required
//!    handler                authorize_peer(req, ...)    raft/cluster: Server
//!                                                       node:         Client | Server
//!  outgoing RPC             TlsConfig::rpc_client_tls   server must be server.<region>.nomadish
//!                                                       when verify_server_hostname
//!  HTTPS API 4646 (axum)    TlsConfig::https_acceptor   client cert required iff
//!                                                       verify_https_client
//!  CLI                      cli_client_config           CA, optional identity, server name
//! ```
//!
//! Every configuration is built with ring explicitly (`builder_with_provider`), so nothing
//! here depends on a process-wide default provider having been installed — except tonic's
//! own server TLS, which [`TlsConfig::rpc_server_tls`] covers by installing ring as the
//! default when no default exists yet.

mod cli;
mod config;
mod error;
mod generate;
mod identity;
mod info;
mod pem;
mod skip_verify;

use std::path::PathBuf;
use std::sync::Arc;

pub use cli::{CliTlsConfig, cli_client_config};
pub use config::RpcClientTls;
pub use error::TlsError;
pub use generate::{CA_DAYS, CERT_DAYS, CertPair, generate_ca, generate_cert};
pub use identity::{PeerIdentity, Role, authorize_peer, parse_role_name, peer_identity};
pub use info::{CertInfo, certificate_info};
pub use skip_verify::SkipVerify;

/// The domain in certificate names.
pub const CERT_DOMAIN: &str = "nomadish";

/// The name outgoing RPC verifies when `verify_server_hostname` is off: every agent
/// certificate made by `nomadish tls cert create` lists `localhost`.
pub const UNVERIFIED_SERVER_NAME: &str = "localhost";

/// How long a TLS handshake may take on the RPC port and on outgoing RPC before the
/// connection is dropped.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The agent's `tls` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    /// Serve the HTTP API over HTTPS.
    pub http: bool,
    /// Use TLS on the RPC port (node, raft and cluster gRPC services).
    pub rpc: bool,
    /// The CA certificate (PEM) that signs every agent and CLI certificate.
    pub ca_file: PathBuf,
    /// This agent's certificate (PEM).
    pub cert_file: PathBuf,
    /// This agent's private key (PEM).
    pub key_file: PathBuf,
    /// Outgoing RPC connections check that the server's certificate is for
    /// `server.<region>.nomadish`.
    pub verify_server_hostname: bool,
    /// HTTPS clients must present a certificate from the CA.
    pub verify_https_client: bool,
    /// The region the agent's certificates are for.
    pub region: String,
}

/// The one crypto provider of the workspace (ring), for `builder_with_provider`.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// ALPN id of HTTP/2.
pub(crate) const ALPN_H2: &[u8] = b"h2";
/// ALPN id of HTTP/1.1.
pub(crate) const ALPN_HTTP1: &[u8] = b"http/1.1";
