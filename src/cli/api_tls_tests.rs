//! TLS in the API client: error translation on synthetic chains, and end to end against a
//! small blocking HTTPS server behind `TlsConfig::https_acceptor()`'s rustls config.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use nomadish_proto::tls::{CertPair, CliTlsConfig, Role, TlsConfig, generate_ca, generate_cert};
use rustls::{AlertDescription, CertificateError};
use serde_json::Value;

use super::*;
use crate::cli::api::{ApiClient, ApiConfig, ApiError};

/// An io::Error wrapping a rustls error, as tokio-rustls produces.
fn io_wrapped(err: rustls::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, err)
}

#[test]
fn alerts_become_sentences() {
    let required = io_wrapped(rustls::Error::AlertReceived(
        AlertDescription::CertificateRequired,
    ));
    assert_eq!(
        explain_tls_failure(&required, false).unwrap(),
        CLIENT_CERT_REQUIRED
    );
    let tls12 = io_wrapped(rustls::Error::AlertReceived(
        AlertDescription::HandshakeFailure,
    ));
    assert_eq!(
        explain_tls_failure(&tls12, false).unwrap(),
        CLIENT_CERT_REQUIRED
    );
    assert!(
        explain_tls_failure(&tls12, true)
            .unwrap()
            .contains("HandshakeFailure")
    );
    let unknown_ca = io_wrapped(rustls::Error::AlertReceived(AlertDescription::UnknownCA));
    assert_eq!(
        explain_tls_failure(&unknown_ca, true).unwrap(),
        "the server rejected this client's certificate: it is not signed by a CA the server trusts (unknown CA)"
    );
    let expired = io_wrapped(rustls::Error::AlertReceived(
        AlertDescription::CertificateExpired,
    ));
    assert!(
        explain_tls_failure(&expired, true)
            .unwrap()
            .starts_with("the server rejected this client's certificate: it has expired")
    );
}

#[test]
fn server_certificate_errors_become_sentences() {
    // Nested twice, as hyper-util's connector reports it.
    let unknown = std::io::Error::other(io_wrapped(rustls::Error::InvalidCertificate(
        CertificateError::UnknownIssuer,
    )));
    assert_eq!(
        explain_tls_failure(&unknown, false).unwrap(),
        "the server's certificate is not trusted: it is not signed by the CA in -ca-cert/NOMAD_CACERT (unknown issuer)"
    );
    let name = io_wrapped(rustls::Error::InvalidCertificate(
        CertificateError::NotValidForNameContext {
            expected: "server.eu.nomadish".try_into().unwrap(),
            presented: vec!["server.global.nomadish".into(), "localhost".into()],
        },
    ));
    let text = explain_tls_failure(&name, false).unwrap();
    assert!(
        text.contains(
            "it is for server.global.nomadish, localhost and not for \"server.eu.nomadish\""
        ),
        "{text}"
    );
    assert!(text.contains("-tls-server-name"), "{text}");
    let expired = io_wrapped(rustls::Error::InvalidCertificate(CertificateError::Expired));
    assert_eq!(
        explain_tls_failure(&expired, false).unwrap(),
        "the server's certificate is not trusted: it has expired"
    );
}

#[test]
fn non_tls_errors_are_left_alone() {
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    assert_eq!(explain_tls_failure(&refused, false), None);
    let plain = std::io::Error::other("boom");
    assert_eq!(explain_tls_failure(&plain, true), None);
}

/// A CA, certificates, and an HTTPS server that answers every request with `{}`.
struct Fixture {
    dir: tempfile::TempDir,
    ca: CertPair,
    ca_file: PathBuf,
    url: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = generate_ca("", 5).unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.cert_pem).unwrap();
        let mut fixture = Self {
            dir,
            ca,
            ca_file,
            url: String::new(),
        };
        let (cert_file, key_file) = fixture.write("srv", Role::Server, &fixture.ca.clone());
        let agent = TlsConfig {
            ca_file: fixture.ca_file.clone(),
            cert_file,
            key_file,
            verify_https_client: true,
            ..Default::default()
        };
        let Ok(acceptor) = agent.https_acceptor() else {
            panic!("acceptor");
        };
        fixture.url = serve_blocking(acceptor.config().clone());
        fixture
    }

    /// Writes a `role` certificate signed by `ca`; returns (cert, key) paths.
    fn write(&self, name: &str, role: Role, ca: &CertPair) -> (PathBuf, PathBuf) {
        let pair = generate_cert(ca, role, "global", 5, &[], &[]).unwrap();
        let cert = self.dir.path().join(format!("{name}.pem"));
        let key = self.dir.path().join(format!("{name}-key.pem"));
        std::fs::write(&cert, pair.cert_pem).unwrap();
        std::fs::write(&key, pair.key_pem).unwrap();
        (cert, key)
    }

    fn client(&self, tls: CliTlsConfig) -> Result<ApiClient, ApiError> {
        ApiClient::new(ApiConfig {
            address: self.url.clone(),
            tls,
            ..Default::default()
        })
    }

    /// `GET /v1/agent/self` with these settings; the error's text on failure.
    async fn get(&self, tls: CliTlsConfig) -> Result<Value, String> {
        let api = self.client(tls).map_err(|e| e.to_string())?;
        match api.get::<Value>("/v1/agent/self", &[]).await {
            Ok(resp) => Ok(resp.body),
            Err(e @ ApiError::Tls { .. }) => Err(e.to_string()),
            Err(other) => panic!("expected a TLS error, got {other:?}"),
        }
    }
}

/// Serves HTTPS on a loopback port from plain threads; returns `https://127.0.0.1:PORT`.
fn serve_blocking(config: Arc<rustls::ServerConfig>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                let mut line = String::new();
                while tls.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = tls.get_mut().write_all(reply.as_bytes());
                let _ = tls.get_mut().flush();
            });
        }
    });
    url
}

#[tokio::test]
async fn https_with_a_cli_certificate_works() {
    let f = Fixture::new();
    let (cert, key) = f.write("cli", Role::Cli, &f.ca);
    let tls = CliTlsConfig {
        ca_cert: Some(f.ca_file.clone()),
        client_cert: Some(cert),
        client_key: Some(key),
        ..Default::default()
    };
    assert_eq!(f.get(tls.clone()).await.unwrap(), serde_json::json!({}));
    let named = CliTlsConfig {
        server_name: Some("server.global.nomadish".into()),
        ..tls
    };
    assert!(f.get(named).await.is_ok());
}

#[tokio::test]
async fn handshake_failures_are_explained() {
    let f = Fixture::new();
    let ca = Some(f.ca_file.clone());
    let no_cert = CliTlsConfig {
        ca_cert: ca.clone(),
        ..Default::default()
    };
    let err = f.get(no_cert).await.unwrap_err();
    assert!(err.ends_with(CLIENT_CERT_REQUIRED), "{err}");

    let other_ca = generate_ca("", 5).unwrap();
    let (cert, key) = f.write("foreign", Role::Cli, &other_ca);
    let foreign = CliTlsConfig {
        ca_cert: ca.clone(),
        client_cert: Some(cert.clone()),
        client_key: Some(key.clone()),
        ..Default::default()
    };
    let err = f.get(foreign).await.unwrap_err();
    assert!(
        err.contains("the server rejected this client's certificate: it is not signed by a CA"),
        "{err}"
    );

    let other_ca_file = f.dir.path().join("other-ca.pem");
    std::fs::write(&other_ca_file, &other_ca.cert_pem).unwrap();
    let untrusted = CliTlsConfig {
        ca_cert: Some(other_ca_file),
        ..Default::default()
    };
    let err = f.get(untrusted).await.unwrap_err();
    assert!(
        err.contains("the server's certificate is not trusted: it is not signed by the CA"),
        "{err}"
    );

    let (cli_cert, cli_key) = f.write("cli", Role::Cli, &f.ca);
    let wrong_name = CliTlsConfig {
        ca_cert: ca,
        client_cert: Some(cli_cert),
        client_key: Some(cli_key),
        server_name: Some("server.eu.nomadish".into()),
        ..Default::default()
    };
    let err = f.get(wrong_name).await.unwrap_err();
    assert!(err.contains("not for \"server.eu.nomadish\""), "{err}");
}

#[tokio::test]
async fn settings_errors_and_plain_http() {
    let f = Fixture::new();
    let err = f.client(CliTlsConfig::default()).unwrap_err();
    assert!(matches!(err, ApiError::TlsConfig(_)), "{err:?}");
    assert!(err.to_string().contains("NOMAD_CACERT"), "{err}");

    let plain = crate::cli::test_server::serve(axum::Router::new()).await;
    let api = ApiClient::new(ApiConfig {
        address: plain.replace("http://", "https://"),
        tls: CliTlsConfig {
            ca_cert: Some(f.ca_file.clone()),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let err = api.get::<Value>("/v1/agent/self", &[]).await.unwrap_err();
    assert!(err.to_string().contains("did not answer with TLS"), "{err}");

    // An http:// address ignores the TLS settings entirely.
    let ignored = ApiClient::new(ApiConfig {
        address: plain,
        tls: CliTlsConfig {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    assert!(ignored.is_ok());
}
