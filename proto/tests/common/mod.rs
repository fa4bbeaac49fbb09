//! A throwaway PKI for the TLS suites: one CA, certificates per role written to a temp dir,
//! and the odd certificates the library must refuse (wildcard, expired, another CA).

#![allow(dead_code)]

use std::path::PathBuf;

use nomadish_proto::tls::{CertPair, Role, TlsConfig, generate_ca, generate_cert};
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, SanType, date_time_ymd,
};

/// A CA and a directory to write certificates into.
pub struct Pki {
    /// Holds the files.
    pub dir: tempfile::TempDir,
    /// The cluster CA.
    pub ca: CertPair,
    /// Where the CA certificate is.
    pub ca_file: PathBuf,
}

impl Pki {
    /// A fresh CA.
    pub fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = generate_ca("", 30).expect("CA");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.cert_pem).expect("write CA");
        Self { dir, ca, ca_file }
    }

    /// A certificate of `role` in `region`, signed by the CA.
    pub fn cert(&self, role: Role, region: &str) -> CertPair {
        generate_cert(&self.ca, role, region, 30, &[], &[]).expect("cert")
    }

    /// Writes `pair` as `<name>.pem` and `<name>-key.pem`; returns both paths.
    pub fn write(&self, name: &str, pair: &CertPair) -> (PathBuf, PathBuf) {
        let cert = self.dir.path().join(format!("{name}.pem"));
        let key = self.dir.path().join(format!("{name}-key.pem"));
        std::fs::write(&cert, &pair.cert_pem).expect("write cert");
        std::fs::write(&key, &pair.key_pem).expect("write key");
        (cert, key)
    }

    /// An agent `tls` block using `pair` (written as `name`), trusting this CA.
    pub fn agent(&self, name: &str, pair: &CertPair) -> TlsConfig {
        let (cert_file, key_file) = self.write(name, pair);
        TlsConfig {
            http: true,
            rpc: true,
            ca_file: self.ca_file.clone(),
            cert_file,
            key_file,
            verify_server_hostname: true,
            verify_https_client: true,
            region: "global".into(),
        }
    }

    /// A wildcard certificate `*.global.nomadish` (server and client auth), signed by the CA.
    pub fn wildcard(&self) -> CertPair {
        let mut params = leaf_params("*.global.nomadish");
        params.subject_alt_names = vec![
            SanType::DnsName("*.global.nomadish".try_into().unwrap()),
            SanType::DnsName("localhost".try_into().unwrap()),
        ];
        self.sign(params)
    }

    /// A `server.global.nomadish` certificate that expired in 2020.
    pub fn expired_server(&self) -> CertPair {
        let mut params = leaf_params("server.global.nomadish");
        params.subject_alt_names = vec![
            SanType::DnsName("server.global.nomadish".try_into().unwrap()),
            SanType::DnsName("localhost".try_into().unwrap()),
        ];
        params.not_before = date_time_ymd(2019, 1, 1);
        params.not_after = date_time_ymd(2020, 1, 1);
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> CertPair {
        let ca_key = KeyPair::from_pem(&self.ca.key_pem).unwrap();
        let issuer = Issuer::from_ca_cert_pem(&self.ca.cert_pem, ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Leaf parameters with this CN and server+client auth.
fn leaf_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params
}
