//! Certificate generation for `nomadish tls ca create` and `nomadish tls cert create`
//! (rcgen, ECDSA P-256), with Nomad's validity periods.
//!
//! ```text
//! generate_ca("", 1825)                      CN "Nomadish Agent CA <serial>", CA:TRUE
//!      |
//!      v
//! generate_cert(&ca, Role::Server, "global", 365, extra_dns, extra_ips)
//!      CN  server.global.nomadish
//!      SAN server.global.nomadish, localhost, extra DNS names, 127.0.0.1 (server/client), extra IPs
//!      EKU serverAuth + clientAuth (server, client) | clientAuth (cli)
//!      -> verified against the CA before it is returned
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, UnixTime};
use time::OffsetDateTime;

use super::identity::{Role, is_region_label, parse_role_name};
use super::{TlsError, provider};

/// Nomad's default CA validity, in days.
pub const CA_DAYS: u32 = 1825;
/// Nomad's default certificate validity, in days.
pub const CERT_DAYS: u32 = 365;
/// Certificates are valid from this long before they are made, so peers whose clocks run
/// a little behind accept them at once.
const BACKDATE: time::Duration = time::Duration::minutes(5);
/// The common name of a CA made without `-common-name`; the serial number is appended.
const DEFAULT_CA_NAME: &str = "Nomadish Agent CA";

/// A certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct CertPair {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
}

impl fmt::Debug for CertPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertPair")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A new self-signed CA valid for `days`; an empty `common_name` gives
/// `Nomadish Agent CA <serial>` (Nomad's `Nomad Agent CA <serial>`).
pub fn generate_ca(common_name: &str, days: u32) -> Result<CertPair, TlsError> {
    let serial = random_serial();
    let name = match common_name.trim() {
        "" => format!("{DEFAULT_CA_NAME} {serial}"),
        given => given.to_string(),
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_dn(&name);
    params.serial_number = Some(serial_number(serial));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params.not_before, params.not_after) = validity(days)?;
    let key = new_key()?;
    let cert = params
        .self_signed(&key)
        .map_err(|source| TlsError::Generate {
            what: "CA certificate",
            source,
        })?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A new certificate for `role` in `region`, signed by `ca`, valid for `days`.
///
/// CN and first SAN are `<role>.<region>.nomadish`; the SANs also hold `localhost`, the
/// `extra_dns` names, `127.0.0.1` for server and client certificates, and the `extra_ips`.
/// An extra DNS name may not be another role's name (the certificate would be ambiguous).
/// The result is checked against the CA, so a CA key that is not the CA's is caught here.
pub fn generate_cert(
    ca: &CertPair,
    role: Role,
    region: &str,
    days: u32,
    extra_dns: &[String],
    extra_ips: &[IpAddr],
) -> Result<CertPair, TlsError> {
    if !is_region_label(region) {
        return Err(TlsError::InvalidRegion {
            region: region.to_string(),
            reason: "a region is one DNS label: letters, digits, '-' and '_'",
        });
    }
    let name = role.cert_name(region);
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_dn(&name);
    params.serial_number = Some(serial_number(random_serial()));
    params.subject_alt_names = subject_alt_names(role, &name, extra_dns, extra_ips)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = match role {
        Role::Server | Role::Client => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        Role::Cli => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    params.use_authority_key_identifier_extension = true;
    (params.not_before, params.not_after) = validity(days)?;

    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(|source| TlsError::Generate {
        what: "CA key (parsing it)",
        source,
    })?;
    let issuer =
        Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key).map_err(|source| TlsError::Generate {
            what: "CA certificate (parsing it)",
            source,
        })?;
    let key = new_key()?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|source| TlsError::Generate {
            what: "certificate",
            source,
        })?;
    verify_against_ca(&ca.cert_pem, cert.der())?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The SAN list: the role name, localhost, extra names, then the IPs; duplicates dropped.
fn subject_alt_names(
    role: Role,
    name: &str,
    extra_dns: &[String],
    extra_ips: &[IpAddr],
) -> Result<Vec<SanType>, TlsError> {
    let mut dns: Vec<String> = vec![name.to_string(), "localhost".to_string()];
    for extra in extra_dns {
        let extra = extra.trim().to_ascii_lowercase();
        if extra.is_empty() {
            continue;
        }
        if let Some((other_role, other_region)) = parse_role_name(&extra)
            && other_role.cert_name(&other_region) != name
        {
            return Err(TlsError::InvalidDnsName {
                name: extra,
                reason: format!("it names another role or region than {name}"),
            });
        }
        if !dns.contains(&extra) {
            dns.push(extra);
        }
    }
    let mut sans = Vec::new();
    for d in dns {
        let ia5 = d
            .as_str()
            .try_into()
            .map_err(|e: rcgen::Error| TlsError::InvalidDnsName {
                name: d.clone(),
                reason: e.to_string(),
            })?;
        sans.push(SanType::DnsName(ia5));
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    if role != Role::Cli {
        ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    for ip in extra_ips {
        if !ips.contains(ip) {
            ips.push(*ip);
        }
    }
    sans.extend(ips.into_iter().map(SanType::IpAddress));
    Ok(sans)
}

/// Checks a freshly signed certificate against its CA, the way a TLS peer will.
fn verify_against_ca(ca_pem: &str, der: &CertificateDer<'_>) -> Result<(), TlsError> {
    let self_check = |source: rustls::Error| TlsError::SelfCheck { source };
    let ca_path = std::path::Path::new("<CA certificate>");
    let certs = super::pem::parse_certs(ca_pem.as_bytes(), ca_path, "CA certificate")?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c).map_err(self_check)?;
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
            .build()
            .map_err(|e| self_check(rustls::Error::General(e.to_string())))?;
    verifier
        .verify_client_cert(der, &[], UnixTime::now())
        .map(|_| ())
        .map_err(self_check)
}

/// A distinguished name holding only a CN.
fn common_name_dn(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// `not_before` and `not_after` for a validity of `days` from now.
fn validity(days: u32) -> Result<(OffsetDateTime, OffsetDateTime), TlsError> {
    if days == 0 || days > 100 * 366 {
        return Err(TlsError::InvalidDays { days });
    }
    let now = OffsetDateTime::now_utc();
    Ok((now - BACKDATE, now + time::Duration::days(i64::from(days))))
}

/// A new ECDSA P-256 key.
fn new_key() -> Result<KeyPair, TlsError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| TlsError::Generate {
        what: "key",
        source,
    })
}

/// A random positive 127-bit serial number.
fn random_serial() -> u128 {
    uuid::Uuid::new_v4().as_u128() >> 1
}

/// The DER bytes of a serial number.
fn serial_number(serial: u128) -> SerialNumber {
    SerialNumber::from_slice(&serial.to_be_bytes())
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
