//! TLS for the CLI's HTTPS requests (`-ca-cert`, `-client-cert`, `-client-key`,
//! `-tls-server-name`, `-tls-skip-verify` and their `NOMAD_*` variables).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::pem::{load_identity, load_roots};
use super::{ALPN_HTTP1, SkipVerify, TlsError, provider};

/// The CLI's TLS settings. Empty means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliTlsConfig {
    /// CA certificate (PEM) that verifies the agent's certificate (`-ca-cert`, `NOMAD_CACERT`).
    pub ca_cert: Option<PathBuf>,
    /// Client certificate (`-client-cert`, `NOMAD_CLIENT_CERT`).
    pub client_cert: Option<PathBuf>,
    /// Client key (`-client-key`, `NOMAD_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
    /// Verify the agent's certificate against this name instead of the address's host
    /// (`-tls-server-name`, `NOMAD_TLS_SERVER_NAME`).
    pub server_name: Option<String>,
    /// Do not verify the agent's certificate at all (`-tls-skip-verify`, `NOMAD_SKIP_VERIFY`).
    pub skip_verify: bool,
}

impl CliTlsConfig {
    /// Whether a client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.client_cert.is_some() && self.client_key.is_some()
    }
}

/// A rustls client config for the CLI's HTTPS requests: trust the CA in `ca_cert` (required
/// unless `skip_verify`), present the client certificate when given, verify the agent's
/// certificate against `server_name` when given.
///
/// ALPN offers only `http/1.1`: through HTTP/2 (the `h2` crate) a TLS alert the server sends
/// after the handshake — "certificate required", "unknown CA" — reaches the caller as text,
/// while over HTTP/1.1 it stays a typed `rustls::Error` the CLI can explain.
pub fn cli_client_config(tls: &CliTlsConfig) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Config {
            context: "CLI HTTPS",
            source,
        })?;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.skip_verify {
        Arc::new(SkipVerify::new(provider))
    } else {
        let ca = tls.ca_cert.as_deref().ok_or(TlsError::NoCa)?;
        let (roots, _) = load_roots(ca)?;
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|source| TlsError::Verifier {
                ca: ca.to_path_buf(),
                source,
            })?;
        let name = match &tls.server_name {
            Some(n) => Some(
                ServerName::try_from(n.clone())
                    .map_err(|_| TlsError::InvalidServerName { name: n.clone() })?,
            ),
            None => None,
        };
        Arc::new(NamedVerifier { inner, name })
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let identity = load_identity(cert, key)?;
            builder
                .with_client_auth_cert(identity.certs, identity.key)
                .map_err(|source| TlsError::KeyMismatch {
                    cert: cert.clone(),
                    key: key.clone(),
                    source,
                })?
        }
        (Some(_), None) => {
            return Err(TlsError::HalfIdentity {
                given: "certificate",
            });
        }
        (None, Some(_)) => return Err(TlsError::HalfIdentity { given: "key" }),
        (None, None) => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// The CA's WebPKI check against the configured server name, or the address's host.
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: Option<ServerName<'static>>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = self.name.as_ref().unwrap_or(server_name);
        self.inner
            .verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
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
