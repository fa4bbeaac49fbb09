//! Role names, `peer_identity` and the authorization decision.

use rcgen::{CertificateParams, DnType, KeyPair, SanType};
use rustls::pki_types::CertificateDer;

use super::*;
use crate::tls::{CertPair, generate_ca, generate_cert};

/// A self-signed certificate with this CN and these DNS SANs.
fn cert_with_names(cn: &str, sans: &[&str]) -> CertificateDer<'static> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans
        .iter()
        .map(|s| SanType::DnsName((*s).try_into().unwrap()))
        .collect();
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn der_of(pair: &CertPair) -> CertificateDer<'static> {
    crate::tls::pem::parse_certs(pair.cert_pem.as_bytes(), std::path::Path::new("t"), "cert")
        .unwrap()
        .remove(0)
}

#[test]
fn role_names_parse_exactly() {
    assert_eq!(
        parse_role_name("server.global.nomadish"),
        Some((Role::Server, "global".into()))
    );
    assert_eq!(
        parse_role_name("CLIENT.EU-West.nomadish"),
        Some((Role::Client, "eu-west".into()))
    );
    assert_eq!(
        parse_role_name("cli.global.nomadish."),
        Some((Role::Cli, "global".into()))
    );
    for bad in [
        "*.global.nomadish",
        "server.*.nomadish",
        "server.global.nomad",
        "server.global.nomadish.evil.com",
        "x.server.global.nomadish",
        "admin.global.nomadish",
        "server..nomadish",
        "server.global",
        "localhost",
        "",
    ] {
        assert_eq!(parse_role_name(bad), None, "{bad}");
    }
}

#[test]
fn role_display_and_cert_name() {
    assert_eq!(Role::Server.to_string(), "server");
    assert_eq!(Role::Client.to_string(), "client");
    assert_eq!(Role::Cli.to_string(), "cli");
    assert_eq!(Role::Cli.cert_name("EU"), "cli.eu.nomadish");
}

#[test]
fn generated_certs_carry_role_and_region() {
    let ca = generate_ca("", 30).unwrap();
    for (role, region) in [
        (Role::Server, "global"),
        (Role::Client, "eu"),
        (Role::Cli, "us-east-1"),
    ] {
        let pair = generate_cert(&ca, role, region, 30, &[], &[]).unwrap();
        let id = peer_identity(&der_of(&pair)).unwrap();
        assert_eq!(id.role, role);
        assert_eq!(id.region, region);
        assert_eq!(id.name, format!("{role}.{region}.nomadish"));
    }
}

#[test]
fn wildcards_and_foreign_names_are_refused() {
    let wildcard = cert_with_names("*.global.nomadish", &["*.global.nomadish", "localhost"]);
    assert!(matches!(
        peer_identity(&wildcard),
        Err(TlsError::NoRoleName { .. })
    ));
    let foreign = cert_with_names("server.global.nomad", &["server.global.nomad"]);
    let err = peer_identity(&foreign).unwrap_err();
    assert!(
        err.to_string().contains("server.global.nomad"),
        "the error lists the names found: {err}"
    );
    let region_wildcard = cert_with_names("x", &["server.*.nomadish"]);
    assert!(peer_identity(&region_wildcard).is_err());
}

#[test]
fn a_role_name_in_cn_or_san_alone_is_enough() {
    let cn_only = cert_with_names("client.global.nomadish", &["localhost"]);
    assert_eq!(peer_identity(&cn_only).unwrap().role, Role::Client);
    let san_only = cert_with_names("some host", &["localhost", "server.eu.nomadish"]);
    let id = peer_identity(&san_only).unwrap();
    assert_eq!((id.role, id.region.as_str()), (Role::Server, "eu"));
}

#[test]
fn two_roles_or_regions_are_ambiguous() {
    let two_roles = cert_with_names("server.global.nomadish", &["client.global.nomadish"]);
    assert!(matches!(
        peer_identity(&two_roles),
        Err(TlsError::AmbiguousIdentity { .. })
    ));
    let two_regions = cert_with_names("x", &["server.eu.nomadish", "server.us.nomadish"]);
    assert!(matches!(
        peer_identity(&two_regions),
        Err(TlsError::AmbiguousIdentity { .. })
    ));
}

#[test]
fn garbage_is_an_invalid_certificate() {
    assert!(matches!(
        peer_identity(b"not a certificate"),
        Err(TlsError::InvalidCertificate { .. })
    ));
}

#[test]
fn authorization_decisions() {
    let server = cert_with_names("server.global.nomadish", &[]);
    let client = cert_with_names("client.global.nomadish", &[]);
    let other_region = cert_with_names("server.eu.nomadish", &[]);
    let servers = [Role::Server];

    let ok = authorize_certs(Some(&[server][..]), true, &servers, "global").unwrap();
    assert_eq!(ok.unwrap().role, Role::Server);

    let denied =
        authorize_certs(Some(&[client.clone()][..]), true, &servers, "global").unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(
        denied.message().contains("role client"),
        "{}",
        denied.message()
    );
    assert!(
        denied.message().contains("server.global.nomadish"),
        "{}",
        denied.message()
    );

    let node_roles = [Role::Client, Role::Server];
    assert!(authorize_certs(Some(&[client][..]), true, &node_roles, "GLOBAL").is_ok());

    let wrong_region =
        authorize_certs(Some(&[other_region][..]), true, &servers, "global").unwrap_err();
    assert_eq!(wrong_region.code(), tonic::Code::PermissionDenied);
    assert!(wrong_region.message().contains("region eu"));

    assert_eq!(
        authorize_certs(None, false, &servers, "global").unwrap(),
        None
    );
    let missing = authorize_certs(None, true, &servers, "global").unwrap_err();
    assert_eq!(missing.code(), tonic::Code::Unauthenticated);
}

#[test]
fn authorize_peer_without_tls_passes_plain_requests() {
    let req = tonic::Request::new(());
    assert_eq!(
        authorize_peer(&req, false, &[Role::Server], "global").unwrap(),
        None
    );
    let err = authorize_peer(&req, true, &[Role::Server], "global").unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
}
