//! `tls ca create`, `tls cert create` and the info commands in a temporary directory.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nomadish_proto::tls::{Role, certificate_info, peer_identity};
use rustls::pki_types::pem::PemObject;

use super::tls::*;

fn ca_args() -> CaCreateArgs {
    CaCreateArgs {
        days: 1825,
        domain: "nomadish".into(),
        common_name: None,
    }
}

fn cert_args(role: Role) -> CertCreateArgs {
    CertCreateArgs {
        server: role == Role::Server,
        client: role == Role::Client,
        cli: role == Role::Cli,
        region: "global".into(),
        days: 365,
        ca: None,
        key: None,
        additional_dnsname: Vec::new(),
        additional_ipaddress: Vec::new(),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn text(buf: Vec<u8>) -> String {
    String::from_utf8(buf).unwrap()
}

#[test]
fn ca_create_writes_both_files_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    ca_create(&ca_args(), dir.path(), &mut out).unwrap();
    assert_eq!(
        text(out),
        "==> CA certificate saved to: nomadish-agent-ca.pem\n==> CA certificate key saved to: nomadish-agent-ca-key.pem\n"
    );
    let cert = dir.path().join("nomadish-agent-ca.pem");
    let key = dir.path().join("nomadish-agent-ca-key.pem");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&cert) & 0o600, 0o600);
    let before = std::fs::read(&cert).unwrap();
    let info = certificate_info(&before, &cert).unwrap();
    assert!(info.is_ca);
    assert!(info.common_name.starts_with("Nomadish Agent CA "));

    let err = ca_create(&ca_args(), dir.path(), &mut Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CA certificate file 'nomadish-agent-ca.pem' already exists"
    );
    assert_eq!(std::fs::read(&cert).unwrap(), before, "left untouched");

    std::fs::remove_file(&cert).unwrap();
    let err = ca_create(&ca_args(), dir.path(), &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("CA key file"), "{err}");
    assert!(!cert.exists(), "nothing written when the key exists");
}

#[test]
fn ca_create_takes_domain_and_common_name() {
    let dir = tempfile::tempdir().unwrap();
    let args = CaCreateArgs {
        days: 10,
        domain: "acme".into(),
        common_name: Some("Acme CA".into()),
    };
    ca_create(&args, dir.path(), &mut Vec::new()).unwrap();
    let cert = dir.path().join("acme-agent-ca.pem");
    let info = certificate_info(&std::fs::read(&cert).unwrap(), &cert).unwrap();
    assert_eq!(info.common_name, "Acme CA");
    assert!(dir.path().join("acme-agent-ca-key.pem").exists());
}

#[test]
fn cert_create_for_each_role() {
    let dir = tempfile::tempdir().unwrap();
    ca_create(&ca_args(), dir.path(), &mut Vec::new()).unwrap();
    let mut args = cert_args(Role::Server);
    args.additional_dnsname = vec!["nomad.example.com".into()];
    args.additional_ipaddress = vec!["10.1.2.3".parse().unwrap()];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    cert_create(&args, dir.path(), &mut out, &mut err).unwrap();
    let out = text(out);
    assert!(out.contains("==> Server Certificate saved to global-server-nomadish.pem\n"));
    assert!(out.contains("==> Server Certificate key saved to global-server-nomadish-key.pem\n"));
    assert!(text(err).contains("WARNING: Server Certificates grants authority"));

    let cert = dir.path().join("global-server-nomadish.pem");
    assert_eq!(
        mode(&dir.path().join("global-server-nomadish-key.pem")),
        0o600
    );
    let info = certificate_info(&std::fs::read(&cert).unwrap(), &cert).unwrap();
    assert_eq!(info.subject, "CN=server.global.nomadish");
    assert_eq!(
        info.dns_names,
        ["server.global.nomadish", "localhost", "nomad.example.com"]
    );
    let ips: Vec<String> = info.ip_addresses.iter().map(|i| i.to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "10.1.2.3"]);

    for (role, file) in [
        (Role::Client, "global-client-nomadish.pem"),
        (Role::Cli, "global-cli-nomadish.pem"),
    ] {
        let mut err = Vec::new();
        cert_create(&cert_args(role), dir.path(), &mut Vec::new(), &mut err).unwrap();
        assert!(err.is_empty(), "no warning for {role}");
        let pem = std::fs::read(dir.path().join(file)).unwrap();
        let der = rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(peer_identity(&der).unwrap().role, role);
    }
}

#[test]
fn cert_create_refuses_overwrite_and_needs_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let err = cert_create(
        &cert_args(Role::Client),
        dir.path(),
        &mut Vec::new(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("Error reading CA"), "{err}");
    assert!(err.to_string().contains("nomadish-agent-ca.pem"), "{err}");

    ca_create(&ca_args(), dir.path(), &mut Vec::new()).unwrap();
    let mut args = cert_args(Role::Client);
    args.region = "eu".into();
    cert_create(&args, dir.path(), &mut Vec::new(), &mut Vec::new()).unwrap();
    let err = cert_create(&args, dir.path(), &mut Vec::new(), &mut Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Certificate file 'eu-client-nomadish.pem' already exists"
    );

    args.region = "bad.region".into();
    let err = cert_create(&args, dir.path(), &mut Vec::new(), &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("invalid region"), "{err}");
    assert!(!dir.path().join("bad.region-client-nomadish.pem").exists());
}

#[test]
fn cert_create_with_explicit_ca_files() {
    let ca_dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    ca_create(&ca_args(), ca_dir.path(), &mut Vec::new()).unwrap();
    let mut args = cert_args(Role::Cli);
    args.ca = Some(ca_dir.path().join("nomadish-agent-ca.pem"));
    args.key = Some(ca_dir.path().join("nomadish-agent-ca-key.pem"));
    let mut out = Vec::new();
    cert_create(&args, out_dir.path(), &mut out, &mut Vec::new()).unwrap();
    assert!(text(out).contains("==> Cli Certificate saved to global-cli-nomadish.pem"));
}

#[test]
fn info_prints_nomads_rows() {
    let dir = tempfile::tempdir().unwrap();
    ca_create(&ca_args(), dir.path(), &mut Vec::new()).unwrap();
    cert_create(
        &cert_args(Role::Server),
        dir.path(),
        &mut Vec::new(),
        &mut Vec::new(),
    )
    .unwrap();

    let mut out = Vec::new();
    let args = InfoArgs {
        file: dir.path().join("global-server-nomadish.pem"),
    };
    info(&args, false, &mut out).unwrap();
    let out = text(out);
    for needle in [
        "Serial Number",
        "Issuer CN",
        "Nomadish Agent CA ",
        "Common Name",
        "CN=server.global.nomadish",
        "Not Before",
        "Expiry Date",
        "DNS Names",
        "[server.global.nomadish localhost]",
        "IP Addresses",
        "[127.0.0.1]",
    ] {
        assert!(out.contains(needle), "{needle} missing in:\n{out}");
    }

    let mut out = Vec::new();
    let args = InfoArgs {
        file: dir.path().join("nomadish-agent-ca.pem"),
    };
    info(&args, true, &mut out).unwrap();
    assert!(text(out).contains("Permitted DNS Domains"));

    let missing = InfoArgs {
        file: dir.path().join("nope.pem"),
    };
    let err = info(&missing, false, &mut Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Error reading certificate file"),
        "{err}"
    );
    let not_pem = InfoArgs {
        file: dir.path().join("nomadish-agent-ca-key.pem"),
    };
    let err = info(&not_pem, true, &mut Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
}
