//! Scenarios 19, 20 and 21 of RELIABILITY.md against a real server agent: which certificate may call which RPC, and who
//! may use the HTTPS API. Every RPC of every service comes from the compiled descriptors, so
//! an RPC added later is covered by its service's rule (and a service without a rule fails).

use std::path::PathBuf;

use bytes::{Buf, BufMut};
use nomadish_proto::tls::{CertPair, CliTlsConfig, Role, generate_ca, generate_cert};
use nomadish_tests::{Agent, AgentKind, Pki, test_dir};
use prost::Message;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, SanType, date_time_ymd,
};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};

/// The certificates a caller may present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Server,
    Client,
    Cli,
    OtherRegion,
    Wildcard,
    OtherCa,
    Expired,
    NoCert,
}

const CALLERS: [Caller; 8] = [
    Caller::Server,
    Caller::Client,
    Caller::Cli,
    Caller::OtherRegion,
    Caller::Wildcard,
    Caller::OtherCa,
    Caller::Expired,
    Caller::NoCert,
];

/// What a caller must get.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// Past the role check (the RPC's own answer, never PermissionDenied).
    Allowed,
    /// PermissionDenied.
    Denied,
    /// The TLS handshake fails.
    Handshake,
}

/// Which roles each service admits; a service missing here fails the test.
fn rule(service: &str) -> &'static [Role] {
    match service {
        "nomadish.node.v1.NodeService" => &[Role::Client, Role::Server],
        "nomadish.raft.v1.RaftService" | "nomadish.raft.v1.ClusterService" => &[Role::Server],
        other => panic!("no authorization rule for service {other}: add one to this test"),
    }
}

fn expect(caller: Caller, service: &str) -> Expect {
    let role = match caller {
        Caller::Server => Role::Server,
        Caller::Client => Role::Client,
        Caller::Cli | Caller::OtherRegion | Caller::Wildcard => return Expect::Denied,
        Caller::OtherCa | Caller::Expired | Caller::NoCert => return Expect::Handshake,
    };
    if rule(service).contains(&role) {
        Expect::Allowed
    } else {
        Expect::Denied
    }
}

/// Every RPC: `(service, method, client streaming, server streaming)`.
fn rpcs() -> Vec<(String, String, bool, bool)> {
    let set = prost_types::FileDescriptorSet::decode(nomadish_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            for m in &service.method {
                out.push((
                    full.clone(),
                    m.name().to_string(),
                    m.client_streaming(),
                    m.server_streaming(),
                ));
            }
        }
    }
    out
}

/// Raw bytes in, raw bytes out: calls any method with an empty message.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

/// The certificate files of every caller.
struct Callers {
    pki: Pki,
    dir: PathBuf,
}

impl Callers {
    fn new(dir: &std::path::Path) -> Callers {
        let pki = Pki::create(dir);
        let dir = dir.join("callers");
        std::fs::create_dir_all(&dir).expect("dir");
        let ca = CertPair {
            cert_pem: std::fs::read_to_string(pki.ca()).expect("ca"),
            key_pem: std::fs::read_to_string(pki.file("nomadish-agent-ca-key.pem"))
                .expect("ca key"),
        };
        let write = |name: &str, pair: &CertPair| {
            std::fs::write(dir.join(format!("{name}.pem")), &pair.cert_pem).expect("cert");
            std::fs::write(dir.join(format!("{name}-key.pem")), &pair.key_pem).expect("key");
        };
        write(
            "other-region",
            &generate_cert(&ca, Role::Server, "eu", 30, &[], &[]).expect("eu"),
        );
        let other_ca = generate_ca("Another CA", 30).expect("other ca");
        write(
            "other-ca",
            &generate_cert(&other_ca, Role::Server, "global", 30, &[], &[]).expect("cert"),
        );
        write("wildcard", &sign(&ca, "*.global.nomadish", false));
        write("expired", &sign(&ca, "server.global.nomadish", true));
        Callers { pki, dir }
    }

    /// `(cert, key)` for a caller, `None` for no certificate.
    fn pair(&self, caller: Caller) -> Option<(PathBuf, PathBuf)> {
        let file = |name: &str| {
            (
                self.dir.join(format!("{name}.pem")),
                self.dir.join(format!("{name}-key.pem")),
            )
        };
        match caller {
            Caller::Server => Some(self.pki.pair("server")),
            Caller::Client => Some(self.pki.pair("client")),
            Caller::Cli => Some(self.pki.pair("cli")),
            Caller::OtherRegion => Some(file("other-region")),
            Caller::Wildcard => Some(file("wildcard")),
            Caller::OtherCa => Some(file("other-ca")),
            Caller::Expired => Some(file("expired")),
            Caller::NoCert => None,
        }
    }
}

/// A CA-signed leaf with this name, server and client auth; optionally long expired.
fn sign(ca: &CertPair, name: &str, expired: bool) -> CertPair {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.subject_alt_names = vec![
        SanType::DnsName(name.try_into().expect("dns name")),
        SanType::DnsName("localhost".try_into().expect("dns name")),
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    if expired {
        params.not_before = date_time_ymd(2019, 1, 1);
        params.not_after = date_time_ymd(2020, 1, 1);
    }
    let issuer = Issuer::from_ca_cert_pem(
        &ca.cert_pem,
        KeyPair::from_pem(&ca.key_pem).expect("ca key"),
    )
    .expect("issuer");
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("sign");
    CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Calls one RPC with an empty message; the first status it ends with (Ok when it answers).
async fn call(
    rpc_addr: &str,
    callers: &Callers,
    caller: Caller,
    rpc: &(String, String, bool, bool),
) -> Result<(), Status> {
    let ca = std::fs::read_to_string(callers.pki.ca()).expect("ca");
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("server.global.nomadish");
    if let Some((cert, key)) = callers.pair(caller) {
        let (cert, key) = (
            std::fs::read(cert).expect("cert"),
            std::fs::read(key).expect("key"),
        );
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let endpoint = Endpoint::from_shared(format!("https://{rpc_addr}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls");
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Status::unavailable(format!("connect: {e}")))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path: http::uri::PathAndQuery = format!("/{}/{}", rpc.0, rpc.1).parse().expect("path");
    let (client_streaming, server_streaming) = (rpc.2, rpc.3);
    match (client_streaming, server_streaming) {
        (false, false) => grpc
            .unary(tonic::Request::new(Vec::new()), path, Raw)
            .await
            .map(|_| ()),
        (false, true) => {
            let mut stream = grpc
                .server_streaming(tonic::Request::new(Vec::new()), path, Raw)
                .await?
                .into_inner();
            stream.message().await.map(|_| ())
        }
        _ => {
            let input = futures::stream::iter(vec![Vec::new()]);
            let mut stream = grpc
                .streaming(tonic::Request::new(input), path, Raw)
                .await?
                .into_inner();
            stream.message().await.map(|_| ())
        }
    }
}

/// Whether `got` is what `want` asks for.
fn meets(want: &Expect, got: &Result<(), Status>) -> bool {
    match (want, got) {
        (Expect::Allowed, Ok(())) => true,
        (Expect::Allowed, Err(s)) => !matches!(
            s.code(),
            Code::PermissionDenied
                | Code::Unauthenticated
                | Code::Unknown
                | Code::Unavailable
                | Code::Cancelled
        ),
        (Expect::Denied, Err(s)) => s.code() == Code::PermissionDenied,
        // A refused handshake reaches the caller as a transport failure on its call.
        (Expect::Handshake, Err(s)) => {
            matches!(
                s.code(),
                Code::Unknown | Code::Unavailable | Code::Cancelled
            )
        }
        _ => false,
    }
}

/// Calls every RPC of the descriptors (those of services `only` accepts) as each of `who`
/// and asserts each answer meets [`expect`]; returns how many calls were made.
async fn check_rpcs(
    server: &Agent,
    callers: &Callers,
    who: &[Caller],
    only: impl Fn(&str) -> bool,
) -> usize {
    let rpcs: Vec<_> = rpcs().into_iter().filter(|r| only(&r.0)).collect();
    assert!(!rpcs.is_empty(), "no RPC selected");
    let mut failures = Vec::new();
    let mut calls = 0;
    for rpc in &rpcs {
        for caller in who {
            let want = expect(*caller, &rpc.0);
            let got = call(&server.rpc, callers, *caller, rpc).await;
            calls += 1;
            if !meets(&want, &got) {
                failures.push(format!(
                    "{}/{} as {caller:?}: expected {want:?}, got {got:?}",
                    rpc.0, rpc.1
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    calls
}

/// Services only servers may call.
fn server_only(service: &str) -> bool {
    rule(service) == [Role::Server]
}

/// Every server-only RPC, by name: a new one must be added here (scenario 20).
const SERVER_ONLY_RPCS: &[&str] = &[
    "nomadish.raft.v1.RaftService/AppendEntries",
    "nomadish.raft.v1.RaftService/Vote",
    "nomadish.raft.v1.RaftService/InstallSnapshot",
    "nomadish.raft.v1.RaftService/PreVote",
    "nomadish.raft.v1.ClusterService/Apply",
    "nomadish.raft.v1.ClusterService/ReadIndex",
    "nomadish.raft.v1.ClusterService/Join",
    "nomadish.raft.v1.ClusterService/Discover",
    "nomadish.raft.v1.ClusterService/StreamLogs",
    "nomadish.raft.v1.ClusterService/StreamFs",
    "nomadish.raft.v1.ClusterService/ForwardExec",
    "nomadish.raft.v1.ClusterService/ForwardTaskSignal",
    "nomadish.raft.v1.ClusterService/ForwardTaskRestart",
    "nomadish.raft.v1.ClusterService/ForwardAllocQuery",
    "nomadish.raft.v1.ClusterService/RemovePeer",
    "nomadish.raft.v1.ClusterService/TransferLeadership",
    "nomadish.raft.v1.ClusterService/Yield",
];

/// Scenario 19: only a `server.global.nomadish` certificate from the cluster CA makes Raft
/// and the other server-only RPCs; client, cli, another region's and wildcard certificates
/// get PermissionDenied (and the node RPCs admit client and server certificates only).
#[tokio::test]
async fn scenario_19_only_server_certificates_of_the_region_make_server_only_rpcs() {
    let dir = test_dir();
    let callers = Callers::new(dir.path());
    let server = Agent::start_tls(dir.path(), "server", AgentKind::Server, "", &callers.pki).await;
    let who = [
        Caller::Server,
        Caller::Client,
        Caller::Cli,
        Caller::OtherRegion,
        Caller::Wildcard,
    ];
    let calls = check_rpcs(&server, &callers, &who, |_| true).await;
    assert!(calls >= 5 * 20, "only {calls} calls");
}

/// Scenario 20: a client certificate gets PermissionDenied on every server-only RPC. The
/// RPCs come from the compiled descriptors; one missing from [`SERVER_ONLY_RPCS`] (a new
/// RPC without a case) fails the test.
#[tokio::test]
async fn scenario_20_a_client_certificate_is_denied_every_server_only_rpc() {
    let from_descriptors: std::collections::BTreeSet<String> = rpcs()
        .into_iter()
        .filter(|r| server_only(&r.0))
        .map(|r| format!("{}/{}", r.0, r.1))
        .collect();
    let cases: std::collections::BTreeSet<String> =
        SERVER_ONLY_RPCS.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = from_descriptors.difference(&cases).collect();
    assert!(
        missing.is_empty(),
        "server-only RPCs without a case in SERVER_ONLY_RPCS: {missing:?}"
    );
    let gone: Vec<_> = cases.difference(&from_descriptors).collect();
    assert!(
        gone.is_empty(),
        "cases for RPCs that do not exist: {gone:?}"
    );

    let dir = test_dir();
    let callers = Callers::new(dir.path());
    let server = Agent::start_tls(dir.path(), "server", AgentKind::Server, "", &callers.pki).await;
    let calls = check_rpcs(&server, &callers, &[Caller::Client], server_only).await;
    assert_eq!(calls, SERVER_ONLY_RPCS.len());
}

/// Scenario 21: no certificate, another CA's and an expired one fail the TLS handshake on
/// every listener: every RPC of the gRPC listener, and the HTTPS API.
#[tokio::test]
async fn scenario_21_no_foreign_or_expired_certificate_passes_the_handshake_on_any_listener() {
    let dir = test_dir();
    let callers = Callers::new(dir.path());
    let server = Agent::start_tls(dir.path(), "server", AgentKind::Server, "", &callers.pki).await;
    let who = [Caller::OtherCa, Caller::Expired, Caller::NoCert];
    check_rpcs(&server, &callers, &who, |_| true).await;
    https_api_needs_a_certificate_from_the_cluster_ca(&server, &callers).await;
}

/// The HTTPS listener: callers with a certificate from the cluster CA get answers (from the
/// API and the web UI alike), the others fail the handshake; plain HTTP gets nothing useful.
async fn https_api_needs_a_certificate_from_the_cluster_ca(server: &Agent, callers: &Callers) {
    for (caller, path) in CALLERS
        .into_iter()
        .flat_map(|c| ["/v1/agent/health", "/ui/"].map(|p| (c, p)))
    {
        let (cert, key) = callers.pair(caller).unzip();
        let tls = CliTlsConfig {
            ca_cert: Some(callers.pki.ca()),
            client_cert: cert,
            client_key: key,
            ..CliTlsConfig::default()
        };
        let http = Pki::http_client(&tls);
        let result = http.get(format!("{}{path}", server.http)).send().await;
        let signed_by_our_ca =
            !matches!(caller, Caller::OtherCa | Caller::Expired | Caller::NoCert);
        match result {
            Ok(r) => assert!(
                signed_by_our_ca && r.status().is_success(),
                "{caller:?} got {} from {path} over HTTPS",
                r.status()
            ),
            Err(e) => assert!(!signed_by_our_ca, "{caller:?} was refused {path}: {e}"),
        }
    }
    // Plain HTTP to the HTTPS port gets nothing useful either.
    let plain = reqwest::get(server.http.replace("https://", "http://") + "/v1/agent/health").await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
}
