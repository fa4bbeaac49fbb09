//! The HTTPS API behind `TlsConfig::https_acceptor()`, called with `cli_client_config`:
//! an axum router served through hyper-util on loopback, the pattern the agent uses.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::Pki;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use nomadish_proto::tls::{CliTlsConfig, Role, TlsConfig, cli_client_config};

/// Upper bound on one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves a one-route router over HTTPS until the test ends.
async fn serve_https(tls: &TlsConfig) -> SocketAddr {
    let acceptor = tls.https_acceptor().expect("acceptor");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/v1/status/leader", get(|| async { "\"127.0.0.1:4647\"" }));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                // A failed handshake only ends this connection.
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = TowerToHyperService::new(router);
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn get_leader(addr: SocketAddr, tls: &CliTlsConfig) -> Result<String, reqwest::Error> {
    let config = cli_client_config(tls).expect("client config");
    let resp = get_with(addr, config).await?;
    assert_eq!(
        resp.version(),
        reqwest::Version::HTTP_11,
        "the CLI offers only http/1.1"
    );
    resp.text().await
}

async fn get_with(
    addr: SocketAddr,
    config: rustls::ClientConfig,
) -> Result<reqwest::Response, reqwest::Error> {
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap();
    client
        .get(format!("https://{addr}/v1/status/leader"))
        .send()
        .await
}

#[tokio::test]
async fn verify_https_client_requires_a_certificate_from_the_ca() {
    let pki = Pki::new();
    let addr = serve_https(&pki.agent("srv", &pki.cert(Role::Server, "global"))).await;
    let (cli_cert, cli_key) = pki.write("cli", &pki.cert(Role::Cli, "global"));
    let with_cert = CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        client_cert: Some(cli_cert),
        client_key: Some(cli_key),
        ..Default::default()
    };
    assert_eq!(
        get_leader(addr, &with_cert).await.unwrap(),
        "\"127.0.0.1:4647\""
    );

    let without_cert = CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        ..Default::default()
    };
    assert!(get_leader(addr, &without_cert).await.is_err());

    let other = Pki::new();
    let (foreign_cert, foreign_key) = other.write("foreign", &other.cert(Role::Cli, "global"));
    let foreign = CliTlsConfig {
        client_cert: Some(foreign_cert),
        client_key: Some(foreign_key),
        ..with_cert.clone()
    };
    assert!(get_leader(addr, &foreign).await.is_err());
}

#[tokio::test]
async fn the_acceptor_speaks_http2_to_clients_that_offer_it() {
    let pki = Pki::new();
    let addr = serve_https(&pki.agent("srv", &pki.cert(Role::Server, "global"))).await;
    let (cert, key) = pki.write("cli", &pki.cert(Role::Cli, "global"));
    let mut config = cli_client_config(&CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        client_cert: Some(cert),
        client_key: Some(key),
        ..Default::default()
    })
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let resp = get_with(addr, config).await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.text().await.unwrap(), "\"127.0.0.1:4647\"");
}

#[tokio::test]
async fn without_verify_https_client_any_caller_with_the_ca_gets_in() {
    let pki = Pki::new();
    let tls = TlsConfig {
        verify_https_client: false,
        ..pki.agent("srv", &pki.cert(Role::Server, "global"))
    };
    let addr = serve_https(&tls).await;
    let anonymous = CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        ..Default::default()
    };
    assert!(get_leader(addr, &anonymous).await.is_ok());
}

#[tokio::test]
async fn server_name_override_and_skip_verify() {
    let pki = Pki::new();
    let addr = serve_https(&pki.agent("srv", &pki.cert(Role::Server, "global"))).await;
    let (cert, key) = pki.write("cli", &pki.cert(Role::Cli, "global"));
    let base = CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        client_cert: Some(cert),
        client_key: Some(key),
        ..Default::default()
    };
    let named = CliTlsConfig {
        server_name: Some("server.global.nomadish".into()),
        ..base.clone()
    };
    assert!(get_leader(addr, &named).await.is_ok());
    let wrong_name = CliTlsConfig {
        server_name: Some("server.eu.nomadish".into()),
        ..base.clone()
    };
    assert!(get_leader(addr, &wrong_name).await.is_err());

    let other = Pki::new();
    let untrusting = CliTlsConfig {
        ca_cert: Some(other.ca_file.clone()),
        ..base.clone()
    };
    assert!(get_leader(addr, &untrusting).await.is_err());
    let skipping = CliTlsConfig {
        skip_verify: true,
        ..untrusting
    };
    assert!(get_leader(addr, &skipping).await.is_ok());
}

#[test]
fn cli_config_errors() {
    let pki = Pki::new();
    let err = cli_client_config(&CliTlsConfig::default()).unwrap_err();
    assert!(err.to_string().contains("NOMAD_CACERT"), "{err}");
    let half = CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        client_cert: Some(pki.ca_file.clone()),
        ..Default::default()
    };
    let err = cli_client_config(&half).unwrap_err();
    assert!(err.to_string().contains("only the certificate"), "{err}");
    let bad_name = CliTlsConfig {
        ca_cert: Some(pki.ca_file.clone()),
        server_name: Some("not a name".into()),
        ..Default::default()
    };
    assert!(cli_client_config(&bad_name).is_err());
}
