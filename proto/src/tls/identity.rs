//! Who is on the other end: the role and region a certificate's name carries, and the check
//! every gRPC handler makes before it acts.
//!
//! A name is a role name when it is exactly `<role>.<region>.nomadish` with role `server`,
//! `client` or `cli` and a region made of letters, digits, `-` and `_`. Wildcards never
//! match: `*.global.nomadish` is not a role name, and neither is `server.*.nomadish`.

use std::collections::BTreeSet;
use std::fmt;

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;

use super::{CERT_DOMAIN, TlsError};

/// The role a certificate grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A server: raft, cluster and node RPCs.
    Server,
    /// A client agent: node RPCs.
    Client,
    /// The command-line tool: the HTTPS API only.
    Cli,
}

impl Role {
    /// Every role, in the order they are listed in messages.
    pub const ALL: [Role; 3] = [Role::Server, Role::Client, Role::Cli];

    /// The name's first label: `server`, `client` or `cli`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
            Role::Cli => "cli",
        }
    }

    /// The role a label names, if any.
    pub fn from_label(label: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == label)
    }

    /// The full certificate name of this role in `region`: `<role>.<region>.nomadish`.
    pub fn cert_name(self, region: &str) -> String {
        format!(
            "{}.{}.{CERT_DOMAIN}",
            self.as_str(),
            region.to_ascii_lowercase()
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity a peer's certificate proves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    /// The role.
    pub role: Role,
    /// The region, lowercase.
    pub region: String,
    /// The full name, `<role>.<region>.nomadish`.
    pub name: String,
}

/// Whether `label` can be a region in a certificate name (no wildcard, no dot, not empty).
pub(crate) fn is_region_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// The role and region a name carries, when it is exactly `<role>.<region>.nomadish`
/// (compared case-insensitively; wildcards never match).
pub fn parse_role_name(name: &str) -> Option<(Role, String)> {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    let mut labels = lower.split('.');
    let (role, region, domain) = (labels.next()?, labels.next()?, labels.next()?);
    if labels.next().is_some() || domain != CERT_DOMAIN || !is_region_label(region) {
        return None;
    }
    Some((Role::from_label(role)?, region.to_string()))
}

/// The role, region and name of a DER certificate, from its CN and DNS SANs. The certificate
/// must name exactly one role and region (it may list the same role name twice, e.g. as CN
/// and SAN, and any number of names that are not role names).
pub fn peer_identity(der: &[u8]) -> Result<PeerIdentity, TlsError> {
    let names = certificate_names(der)?;
    let found: BTreeSet<(Role, String)> = names.iter().filter_map(|n| parse_role_name(n)).collect();
    let mut iter = found.iter();
    match (iter.next(), iter.next()) {
        (None, _) => Err(TlsError::NoRoleName { names }),
        (Some((role, region)), None) => Ok(PeerIdentity {
            role: *role,
            region: region.clone(),
            name: role.cert_name(region),
        }),
        (Some(_), Some(_)) => Err(TlsError::AmbiguousIdentity {
            names: found.iter().map(|(r, g)| r.cert_name(g)).collect(),
        }),
    }
}

/// The subject CNs followed by the DNS SANs of a DER certificate.
fn certificate_names(der: &[u8]) -> Result<Vec<String>, TlsError> {
    let invalid = |reason: String| TlsError::InvalidCertificate {
        origin: None,
        reason,
    };
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| invalid(e.to_string()))?;
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_string)
        .collect();
    let san = cert
        .subject_alternative_name()
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(san) = san {
        for general in &san.value.general_names {
            if let GeneralName::DNSName(dns) = general {
                names.push((*dns).to_string());
            }
        }
    }
    Ok(names)
}

/// Checks the peer of a tonic request before a handler acts.
///
/// - With certificates (TLS on): the leaf must name one of the `allowed` roles in `region`,
///   else `PermissionDenied` naming the role it has and the roles allowed. Returns the
///   identity.
/// - Without certificates and `tls_enabled == false`: `Ok(None)` (plaintext RPC, e.g. `-dev`).
/// - Without certificates and `tls_enabled == true`: `Unauthenticated` (cannot happen behind
///   [`super::TlsConfig::rpc_server_tls`], which makes the handshake demand a certificate).
///
/// The certificates come from `Request::peer_certs()`, which tonic fills for connections
/// accepted behind `Server::tls_config(..)` (or a `tokio_rustls` server stream).
pub fn authorize_peer<T>(
    req: &tonic::Request<T>,
    tls_enabled: bool,
    allowed: &[Role],
    region: &str,
) -> Result<Option<PeerIdentity>, tonic::Status> {
    let certs = req.peer_certs();
    authorize_certs(
        certs.as_deref().map(Vec::as_slice),
        tls_enabled,
        allowed,
        region,
    )
}

/// [`authorize_peer`] on the peer's certificate chain (leaf first), if there is one.
pub(crate) fn authorize_certs(
    certs: Option<&[CertificateDer<'static>]>,
    tls_enabled: bool,
    allowed: &[Role],
    region: &str,
) -> Result<Option<PeerIdentity>, tonic::Status> {
    let Some(leaf) = certs.and_then(|c| c.first()) else {
        if tls_enabled {
            return Err(tonic::Status::unauthenticated(
                "TLS is on but the peer presented no certificate",
            ));
        }
        return Ok(None);
    };
    let identity = peer_identity(leaf).map_err(|e| {
        tonic::Status::permission_denied(format!("the peer's certificate is not accepted: {e}"))
    })?;
    let region_ok = identity.region.eq_ignore_ascii_case(region);
    if allowed.contains(&identity.role) && region_ok {
        return Ok(Some(identity));
    }
    let allowed_names: Vec<String> = allowed.iter().map(|r| r.cert_name(region)).collect();
    Err(tonic::Status::permission_denied(format!(
        "the peer's certificate is {} (role {} in region {}); this RPC accepts only {}",
        identity.name,
        identity.role,
        identity.region,
        allowed_names.join(" or ")
    )))
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
