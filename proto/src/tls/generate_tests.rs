//! Certificate generation: names, SANs, usages, validity, and the CA self-check.

use std::path::Path;

use std::time::SystemTime;

use x509_parser::extensions::ParsedExtension;

use super::*;
use crate::tls::certificate_info;

/// Whole days from now until `t`.
fn days_until(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::now()).unwrap().as_secs() / 86_400
}

fn info(pair: &CertPair) -> crate::tls::CertInfo {
    certificate_info(pair.cert_pem.as_bytes(), Path::new("mem")).unwrap()
}

/// (serverAuth, clientAuth) of a PEM certificate's EKU extension.
fn eku(pair: &CertPair) -> (bool, bool) {
    let der = crate::tls::pem::parse_certs(pair.cert_pem.as_bytes(), Path::new("m"), "c")
        .unwrap()
        .remove(0);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    for ext in cert.extensions() {
        if let ParsedExtension::ExtendedKeyUsage(e) = ext.parsed_extension() {
            return (e.server_auth, e.client_auth);
        }
    }
    panic!("no EKU extension");
}

#[test]
fn ca_is_a_ca_with_nomads_default_name_and_validity() {
    let ca = generate_ca("", CA_DAYS).unwrap();
    assert!(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(ca.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let i = info(&ca);
    assert!(i.is_ca);
    assert!(
        i.common_name.starts_with("Nomadish Agent CA "),
        "{}",
        i.common_name
    );
    assert_eq!(i.common_name, i.issuer_common_name, "self-signed");
    let days = days_until(i.not_after);
    assert!(
        (u64::from(CA_DAYS) - 1..=u64::from(CA_DAYS)).contains(&days),
        "{days}"
    );
    assert!(i.not_before <= SystemTime::now());
    let named = generate_ca("My Org CA", 10).unwrap();
    assert_eq!(info(&named).common_name, "My Org CA");
    assert_ne!(info(&ca).serial, info(&named).serial);
}

#[test]
fn server_cert_names_sans_and_usages() {
    let ca = generate_ca("", 30).unwrap();
    let extra_dns = vec!["nomad.example.com".to_string(), "localhost".to_string()];
    let extra_ips = vec!["10.0.0.5".parse().unwrap()];
    let pair = generate_cert(
        &ca,
        Role::Server,
        "global",
        CERT_DAYS,
        &extra_dns,
        &extra_ips,
    )
    .unwrap();
    let i = info(&pair);
    assert!(!i.is_ca);
    assert_eq!(i.common_name, "server.global.nomadish");
    assert_eq!(i.issuer_common_name, info(&ca).common_name);
    assert_eq!(
        i.dns_names,
        ["server.global.nomadish", "localhost", "nomad.example.com"]
    );
    let ips: Vec<String> = i.ip_addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "10.0.0.5"]);
    assert_eq!(eku(&pair), (true, true));
    let days = days_until(i.not_after);
    assert!((364..=365).contains(&days), "{days}");
}

#[test]
fn client_and_cli_certs() {
    let ca = generate_ca("", 30).unwrap();
    let client = generate_cert(&ca, Role::Client, "eu", 5, &[], &[]).unwrap();
    let i = info(&client);
    assert_eq!(i.dns_names, ["client.eu.nomadish", "localhost"]);
    assert_eq!(i.ip_addresses.len(), 1);
    assert_eq!(eku(&client), (true, true));

    let cli = generate_cert(&ca, Role::Cli, "global", 5, &[], &[]).unwrap();
    let i = info(&cli);
    assert_eq!(i.common_name, "cli.global.nomadish");
    assert_eq!(i.dns_names, ["cli.global.nomadish", "localhost"]);
    assert!(i.ip_addresses.is_empty(), "cli certs get no 127.0.0.1");
    assert_eq!(eku(&cli), (false, true));
}

#[test]
fn bad_inputs_are_refused() {
    let ca = generate_ca("", 30).unwrap();
    for region in ["", "a.b", "*", "-x"] {
        assert!(
            matches!(
                generate_cert(&ca, Role::Server, region, 5, &[], &[]),
                Err(TlsError::InvalidRegion { .. })
            ),
            "{region:?}"
        );
    }
    let other_role = vec!["client.global.nomadish".to_string()];
    assert!(matches!(
        generate_cert(&ca, Role::Server, "global", 5, &other_role, &[]),
        Err(TlsError::InvalidDnsName { .. })
    ));
    assert!(matches!(
        generate_cert(&ca, Role::Server, "global", 0, &[], &[]),
        Err(TlsError::InvalidDays { days: 0 })
    ));
    assert!(matches!(
        generate_ca("", 0),
        Err(TlsError::InvalidDays { .. })
    ));
}

#[test]
fn a_ca_key_that_is_not_the_cas_is_caught() {
    let ca = generate_ca("", 30).unwrap();
    let other = generate_ca("", 30).unwrap();
    let mixed = CertPair {
        cert_pem: ca.cert_pem.clone(),
        key_pem: other.key_pem,
    };
    let err = generate_cert(&mixed, Role::Client, "global", 5, &[], &[]).unwrap_err();
    assert!(matches!(err, TlsError::SelfCheck { .. }), "{err}");
    let garbage = CertPair {
        cert_pem: "nope".into(),
        key_pem: ca.key_pem,
    };
    assert!(generate_cert(&garbage, Role::Client, "global", 5, &[], &[]).is_err());
}

#[test]
fn debug_hides_the_key() {
    let ca = generate_ca("", 1).unwrap();
    let shown = format!("{ca:?}");
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains("PRIVATE KEY"));
}
