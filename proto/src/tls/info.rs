//! What `nomadish tls ca info` and `nomadish tls cert info` show about a certificate.

use std::net::IpAddr;
use std::path::Path;
use std::time::SystemTime;

use x509_parser::extensions::GeneralName;

use super::TlsError;

/// The facts about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Serial number, colon-separated hex.
    pub serial: String,
    /// Subject, e.g. `CN=server.global.nomadish`.
    pub subject: String,
    /// Subject common name(s), comma-separated.
    pub common_name: String,
    /// Issuer, e.g. `CN=Nomadish Agent CA 1234`.
    pub issuer: String,
    /// Issuer common name(s), comma-separated.
    pub issuer_common_name: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Whether it may sign certificates.
    pub is_ca: bool,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// IP subject alternative names.
    pub ip_addresses: Vec<IpAddr>,
    /// Permitted DNS subtrees of a name-constrained CA.
    pub permitted_dns_domains: Vec<String>,
}

/// The facts about the first certificate in PEM text; `origin` names the file in errors.
pub fn certificate_info(pem: &[u8], origin: &Path) -> Result<CertInfo, TlsError> {
    let certs = super::pem::parse_certs(pem, origin, "certificate")?;
    let invalid = |reason: String| TlsError::InvalidCertificate {
        origin: Some(origin.to_path_buf()),
        reason,
    };
    let (_, cert) =
        x509_parser::parse_x509_certificate(&certs[0]).map_err(|e| invalid(e.to_string()))?;
    let cn = |name: &x509_parser::x509::X509Name<'_>| {
        name.iter_common_name()
            .filter_map(|a| a.as_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut info = CertInfo {
        serial: cert.raw_serial_as_string(),
        subject: cert.subject().to_string(),
        common_name: cn(cert.subject()),
        issuer: cert.issuer().to_string(),
        issuer_common_name: cn(cert.issuer()),
        not_before: cert.validity().not_before.to_datetime().into(),
        not_after: cert.validity().not_after.to_datetime().into(),
        is_ca: cert.is_ca(),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        permitted_dns_domains: Vec::new(),
    };
    let san = cert
        .subject_alternative_name()
        .map_err(|e| invalid(e.to_string()))?;
    for name in san.iter().flat_map(|s| s.value.general_names.iter()) {
        match name {
            GeneralName::DNSName(d) => info.dns_names.push((*d).to_string()),
            GeneralName::IPAddress(bytes) => info.ip_addresses.extend(ip_from_bytes(bytes)),
            _ => {}
        }
    }
    let constraints = cert
        .name_constraints()
        .map_err(|e| invalid(e.to_string()))?;
    for subtree in constraints
        .iter()
        .flat_map(|c| c.value.permitted_subtrees.iter().flatten())
    {
        if let GeneralName::DNSName(d) = subtree.base {
            info.permitted_dns_domains.push(d.to_string());
        }
    }
    Ok(info)
}

/// An IP address from its 4 or 16 SAN bytes.
fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}
