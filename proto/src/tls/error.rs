//! [`TlsError`]: what went wrong loading, building, generating or reading certificates,
//! naming the file involved wherever there is one.

use std::path::PathBuf;

/// Errors from the TLS library.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A setting that names a file is empty.
    #[error("tls: {setting} is not set")]
    MissingSetting {
        /// The setting, e.g. `ca_file`.
        setting: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {what} {path:?}: {source}")]
    Read {
        /// What the file should hold ("CA certificate", "key", ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file does not hold the PEM certificate(s) expected.
    #[error("{what} {path:?} holds no PEM certificate{}", detail_suffix(.detail))]
    NoCertificate {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// A parser message, when there was one.
        detail: Option<String>,
    },
    /// A key file does not hold a PEM private key.
    #[error("key {path:?} holds no PEM private key (PKCS#8, PKCS#1 or SEC1){}", detail_suffix(.detail))]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
        /// A parser message, when there was one.
        detail: Option<String>,
    },
    /// The key does not belong to the certificate, or rustls refused the pair.
    #[error("the key {key:?} does not fit the certificate {cert:?}: {source}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// A certificate (from a file, a PEM string or the wire) could not be parsed as X.509.
    #[error("invalid certificate{}: {reason}", origin_suffix(.origin))]
    InvalidCertificate {
        /// Where it came from (a file), when known.
        origin: Option<PathBuf>,
        /// The parser's message.
        reason: String,
    },
    /// A certificate has no `<role>.<region>.nomadish` name (CN or DNS SAN).
    #[error(
        "the certificate names no nomadish role (server|client|cli.<region>.nomadish); it names {names:?}"
    )]
    NoRoleName {
        /// Every CN and DNS SAN found.
        names: Vec<String>,
    },
    /// A certificate names more than one role or region.
    #[error("the certificate names more than one nomadish role or region: {names:?}")]
    AmbiguousIdentity {
        /// The role names found.
        names: Vec<String>,
    },
    /// The CA certificate file holds no certificate usable as a trust anchor.
    #[error("CA certificate {path:?} is not a usable trust anchor: {reason}")]
    BadCa {
        /// The CA file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused to build a configuration.
    #[error("cannot build the TLS configuration ({context}): {source}")]
    Config {
        /// Which configuration.
        context: &'static str,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// The client-certificate verifier could not be built from the CA.
    #[error("cannot build the client-certificate verifier from {ca:?}: {source}")]
    Verifier {
        /// The CA file.
        ca: PathBuf,
        /// rustls's reason.
        source: rustls::server::VerifierBuilderError,
    },
    /// A server name is not a valid DNS name or IP address.
    #[error("invalid TLS server name {name:?}")]
    InvalidServerName {
        /// The name given.
        name: String,
    },
    /// tonic refused the endpoint or its TLS settings.
    #[error("cannot set up the RPC endpoint: {source}")]
    Endpoint {
        /// tonic's reason.
        source: tonic::transport::Error,
    },
    /// A client certificate was given without its key, or the other way round.
    #[error("a client certificate needs both a certificate and a key file (got only the {given})")]
    HalfIdentity {
        /// Which one was given ("certificate" or "key").
        given: &'static str,
    },
    /// The CLI has no CA certificate to verify the server with.
    #[error(
        "no CA certificate to verify the server with: set -ca-cert or NOMAD_CACERT (or -tls-skip-verify)"
    )]
    NoCa,
    /// A region is not usable in a certificate name.
    #[error("invalid region {region:?}: {reason}")]
    InvalidRegion {
        /// The region given.
        region: String,
        /// Why it is not usable.
        reason: &'static str,
    },
    /// An additional DNS name is not usable.
    #[error("invalid additional DNS name {name:?}: {reason}")]
    InvalidDnsName {
        /// The name given.
        name: String,
        /// Why it is not usable.
        reason: String,
    },
    /// A validity of zero days (or one too long to represent).
    #[error("invalid validity: {days} days")]
    InvalidDays {
        /// The days given.
        days: u32,
    },
    /// rcgen failed.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// What was being generated ("CA key", "certificate", ...).
        what: &'static str,
        /// rcgen's reason.
        source: rcgen::Error,
    },
    /// A freshly signed certificate does not verify against its CA (wrong CA key?).
    #[error(
        "the new certificate does not verify against the CA (is the CA key the CA's?): {source}"
    )]
    SelfCheck {
        /// rustls's reason.
        source: rustls::Error,
    },
}

/// `": detail"` or nothing.
fn detail_suffix(detail: &Option<String>) -> String {
    detail
        .as_ref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

/// `" in \"file\""` or nothing.
fn origin_suffix(origin: &Option<PathBuf>) -> String {
    origin
        .as_ref()
        .map(|p| format!(" in {p:?}"))
        .unwrap_or_default()
}
