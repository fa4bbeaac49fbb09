//! The agent's TLS configurations, built from its `tls` block: the RPC listener (tonic),
//! outgoing RPC (tonic), and the HTTPS API (a rustls acceptor for axum/hyper).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use super::identity::{PeerIdentity, Role, peer_identity};
use super::pem::{load_identity, load_roots, parse_certs, read, required};
use super::{
    ALPN_H2, ALPN_HTTP1, HANDSHAKE_TIMEOUT, TlsConfig, TlsError, UNVERIFIED_SERVER_NAME, provider,
};

/// The region assumed when the `tls` block's region is empty (Nomad's default region).
const DEFAULT_REGION: &str = "global";

impl TlsConfig {
    /// The role and region this agent's own certificate (`cert_file`) names, so an agent can
    /// refuse to start as a server with a client certificate, or in the wrong region.
    pub fn identity(&self) -> Result<PeerIdentity, TlsError> {
        let cert = required(&self.cert_file, "cert_file")?;
        let certs = parse_certs(&read(cert, "certificate")?, cert, "certificate")?;
        peer_identity(&certs[0]).map_err(|e| match e {
            TlsError::InvalidCertificate { reason, .. } => TlsError::InvalidCertificate {
                origin: Some(cert.to_path_buf()),
                reason,
            },
            other => other,
        })
    }

    /// tonic server TLS for the RPC port: our certificate and key, and client certificates
    /// from the CA required (TLS 1.2/1.3, ALPN `h2`, handshake timeout
    /// [`HANDSHAKE_TIMEOUT`]). The files are read and checked now, so a bad path or a key
    /// that does not fit its certificate is reported here, naming the file.
    ///
    /// Roles are not checked by the handshake: every handler calls
    /// [`super::authorize_peer`].
    ///
    /// tonic builds its rustls config with the process-wide provider; when none is
    /// installed yet, this installs ring.
    pub fn rpc_server_tls(&self) -> Result<ServerTlsConfig, TlsError> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let ca = required(&self.ca_file, "ca_file")?;
        let identity = load_identity(
            required(&self.cert_file, "cert_file")?,
            required(&self.key_file, "key_file")?,
        )?;
        let (roots, ca_pem) = load_roots(ca)?;
        WebPkiClientVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|source| TlsError::Verifier {
                ca: ca.to_path_buf(),
                source,
            })?;
        Ok(ServerTlsConfig::new()
            .identity(Identity::from_pem(identity.cert_pem, identity.key_pem))
            .client_ca_root(Certificate::from_pem(ca_pem))
            .timeout(HANDSHAKE_TIMEOUT))
    }

    /// TLS for outgoing RPC: the CA, our identity, and the server name to verify —
    /// `server.<region>.nomadish` with `verify_server_hostname` (and then the server's
    /// certificate must also name exactly that role and region: no wildcard, no client
    /// certificate), else `localhost` (any agent certificate of the CA).
    /// Apply it to each endpoint with [`RpcClientTls::apply`].
    pub fn rpc_client_tls(&self) -> Result<RpcClientTls, TlsError> {
        let ca = required(&self.ca_file, "ca_file")?;
        let identity = load_identity(
            required(&self.cert_file, "cert_file")?,
            required(&self.key_file, "key_file")?,
        )?;
        let (roots, _) = load_roots(ca)?;
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|source| TlsError::Verifier {
                ca: ca.to_path_buf(),
                source,
            })?;
        let region = match self.region.trim() {
            "" => DEFAULT_REGION.to_string(),
            r => r.to_ascii_lowercase(),
        };
        let (server_name, expect_region) = if self.verify_server_hostname {
            (Role::Server.cert_name(&region), Some(region))
        } else {
            (UNVERIFIED_SERVER_NAME.to_string(), None)
        };
        let config = ClientTlsConfig::new()
            .identity(Identity::from_pem(identity.cert_pem, identity.key_pem))
            .domain_name(server_name.clone())
            .timeout(HANDSHAKE_TIMEOUT);
        Ok(RpcClientTls {
            config,
            verifier: Arc::new(ServerRoleVerifier {
                inner,
                expect_region,
            }),
            server_name,
        })
    }

    /// A rustls acceptor for the HTTPS API (ALPN `h2` and `http/1.1`); client certificates
    /// from the CA are required iff `verify_https_client` (any role is accepted).
    pub fn https_acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
        let cert = required(&self.cert_file, "cert_file")?;
        let key = required(&self.key_file, "key_file")?;
        let identity = load_identity(cert, key)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Config {
                context: "HTTPS",
                source,
            })?;
        let builder = if self.verify_https_client {
            let ca = required(&self.ca_file, "ca_file")?;
            let (roots, _) = load_roots(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|source| TlsError::Verifier {
                    ca: ca.to_path_buf(),
                    source,
                })?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(identity.certs, identity.key)
            .map_err(|source| TlsError::KeyMismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                source,
            })?;
        config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// TLS for outgoing RPC, built once by [`TlsConfig::rpc_client_tls`] and applied to every
/// endpoint dialled.
#[derive(Debug, Clone)]
pub struct RpcClientTls {
    config: ClientTlsConfig,
    verifier: Arc<ServerRoleVerifier>,
    server_name: String,
}

impl RpcClientTls {
    /// `endpoint` with this TLS (the endpoint's URI must be `https://host:port`).
    pub fn apply(&self, endpoint: Endpoint) -> Result<Endpoint, TlsError> {
        endpoint
            .tls_config_with_verifier(self.config.clone(), self.verifier.clone())
            .map_err(|source| TlsError::Endpoint { source })
    }

    /// An endpoint for `addr` (`host:port`) with this TLS.
    pub fn endpoint(&self, addr: &str) -> Result<Endpoint, TlsError> {
        let endpoint = Endpoint::from_shared(format!("https://{addr}"))
            .map_err(|source| TlsError::Endpoint { source })?;
        self.apply(endpoint)
    }

    /// The name the server's certificate is verified against (and sent as SNI).
    pub fn server_name(&self) -> &str {
        &self.server_name
    }
}

/// The CA's WebPKI check, plus — with `verify_server_hostname` — the requirement that the
/// server's certificate names exactly `server.<region>.nomadish` (a wildcard that WebPKI
/// would accept, or a certificate that also names another role, is refused).
#[derive(Debug)]
struct ServerRoleVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expect_region: Option<String>,
}

impl ServerCertVerifier for ServerRoleVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let Some(region) = &self.expect_region else {
            return Ok(verified);
        };
        match peer_identity(end_entity) {
            Ok(id) if id.role == Role::Server && id.region == *region => Ok(verified),
            Ok(id) => Err(not_valid_for(server_name, vec![id.name])),
            Err(e) => Err(not_valid_for(server_name, vec![e.to_string()])),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// rustls's "not valid for name" error, with what was presented.
fn not_valid_for(expected: &ServerName<'_>, presented: Vec<String>) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
        expected: expected.to_owned(),
        presented,
    })
}
