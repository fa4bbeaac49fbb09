//! TLS settings shared by servers, clients and the CLI (the agent's `tls { ... }` block).
//!
//! Certificates carry their role in their name, as Nomad's do with `.nomad`:
//! `server.<region>.nomadish`, `client.<region>.nomadish`, `cli.<region>.nomadish`.

use std::path::PathBuf;

/// The domain in certificate names.
pub const CERT_DOMAIN: &str = "nomadish";

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
