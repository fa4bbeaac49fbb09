//! TLS for the API client: the rustls config from `-ca-cert`, `-client-cert`, `-client-key`,
//! `-tls-server-name`, `-tls-skip-verify`, and plain-language explanations of handshake
//! failures, which rustls reports as bare alerts and certificate-error codes.
//!
//! ```text
//! reqwest::Error -> hyper errors -> io::Error -> rustls::Error
//!                                                   |
//!   AlertReceived(CertificateRequired)  "the server requires a client certificate (...)"
//!   AlertReceived(UnknownCA | ...)      "the server rejected this client's certificate: ..."
//!   InvalidCertificate(..)              "the server's certificate is not trusted: ..."
//!   InvalidMessage(..)                  "the server did not answer with TLS ..."
//! ```

use std::error::Error;

use nomadish_proto::tls::CliTlsConfig;
use rustls::{AlertDescription, CertificateError};

/// What to tell the user when the server asks for a certificate we did not send.
pub const CLIENT_CERT_REQUIRED: &str = "the server requires a client certificate (set -client-cert and -client-key or NOMAD_CLIENT_CERT/NOMAD_CLIENT_KEY)";

/// The rustls client config for `tls`.
pub fn client_config(tls: &CliTlsConfig) -> Result<rustls::ClientConfig, super::api::ApiError> {
    nomadish_proto::tls::cli_client_config(tls).map_err(super::api::ApiError::TlsConfig)
}

/// A clear sentence for a request that failed in the TLS layer, or `None` when the failure
/// was not about TLS. `has_client_cert` says whether a client certificate was configured.
pub fn explain_tls_failure(err: &(dyn Error + 'static), has_client_cert: bool) -> Option<String> {
    let rustls_err = find_rustls_error(err)?;
    Some(match rustls_err {
        rustls::Error::AlertReceived(alert) => explain_alert(*alert, has_client_cert),
        rustls::Error::InvalidCertificate(cert_err) => format!(
            "the server's certificate is not trusted: {}",
            explain_server_cert(cert_err)
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateHandshakeMessage { .. } => {
            "the server did not answer with TLS (is it serving plain HTTP? then use an http:// address)".to_string()
        }
        rustls::Error::NoCertificatesPresented => {
            "the server's certificate is not trusted: it presented none".to_string()
        }
        other => format!("the TLS handshake failed: {other}"),
    })
}

/// The first `rustls::Error` in an error's chain, looking inside `io::Error`s (whose
/// `source()` skips the error they wrap).
fn find_rustls_error<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = find_rustls_error(inner)
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// An alert the server sent during (or just after) the handshake.
fn explain_alert(alert: AlertDescription, has_client_cert: bool) -> String {
    let rejected = |why: &str| format!("the server rejected this client's certificate: {why}");
    match alert {
        AlertDescription::CertificateRequired => CLIENT_CERT_REQUIRED.to_string(),
        AlertDescription::HandshakeFailure if !has_client_cert => CLIENT_CERT_REQUIRED.to_string(),
        AlertDescription::UnknownCA => {
            rejected("it is not signed by a CA the server trusts (unknown CA)")
        }
        AlertDescription::CertificateExpired => {
            rejected("it has expired or is not valid yet (certificate expired)")
        }
        AlertDescription::CertificateRevoked => rejected("it has been revoked"),
        AlertDescription::UnsupportedCertificate => {
            rejected("it cannot be used for client authentication (unsupported certificate)")
        }
        AlertDescription::BadCertificate => {
            rejected("the server found it invalid (bad certificate)")
        }
        AlertDescription::CertificateUnknown => {
            rejected("the server could not accept it (certificate unknown)")
        }
        AlertDescription::AccessDenied => rejected("access denied"),
        other => format!("the TLS handshake failed: the server sent the alert {other:?}"),
    }
}

/// Why the server's certificate failed verification.
fn explain_server_cert(err: &CertificateError) -> String {
    const NAME_HINT: &str =
        "use an address the certificate names, or set -tls-server-name / NOMAD_TLS_SERVER_NAME";
    match err {
        CertificateError::UnknownIssuer => {
            "it is not signed by the CA in -ca-cert/NOMAD_CACERT (unknown issuer)".to_string()
        }
        CertificateError::BadSignature => "its signature does not verify (bad signature)".into(),
        CertificateError::NotValidForName => {
            format!("it is not valid for the name connected to ({NAME_HINT})")
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "it is for {} and not for {:?} ({NAME_HINT})",
            presented.join(", "),
            expected.to_str()
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet (check the clocks)".into()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "it is not a server certificate (no serverAuth usage)".into()
        }
        CertificateError::Revoked => "it has been revoked".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
#[path = "api_tls_tests.rs"]
mod tests;
