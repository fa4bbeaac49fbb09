//! mTLS on the RPC port, end to end over loopback: a tonic server behind
//! `TlsConfig::rpc_server_tls()` whose `ReadIndex` handler admits only
//! `server.global.nomadish`, dialled with every kind of certificate.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Pki;
use nomadish_proto::node_v1::StreamChunk;
use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;
use nomadish_proto::raft_v1::cluster_service_server::{ClusterService, ClusterServiceServer};
use nomadish_proto::raft_v1::{
    ApplyReply, ApplyRequest, DiscoverReply, DiscoverRequest, ForwardFsRequest, ForwardLogsRequest,
    JoinReply, JoinRequest, ReadIndexReply, ReadIndexRequest, RemovePeerReply, RemovePeerRequest,
    TransferLeadershipReply, TransferLeadershipRequest, YieldReply, YieldRequest,
};
use nomadish_proto::tls::{Role, TlsConfig, authorize_peer};
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Server};
use tonic::{Code, Request, Response, Status};

/// The index the test service answers with.
const INDEX: u64 = 42;
/// Upper bound on one dial-and-call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `ReadIndex` for servers of region global; everything else unimplemented.
struct ServersOnly;

#[tonic::async_trait]
impl ClusterService for ServersOnly {
    async fn apply(&self, _: Request<ApplyRequest>) -> Result<Response<ApplyReply>, Status> {
        Err(Status::unimplemented("apply"))
    }

    async fn read_index(
        &self,
        req: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        let peer = authorize_peer(&req, true, &[Role::Server], "global")?;
        assert_eq!(peer.expect("TLS is on").role, Role::Server);
        Ok(Response::new(ReadIndexReply { index: INDEX }))
    }

    async fn join(&self, _: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        Err(Status::unimplemented("join"))
    }

    async fn discover(
        &self,
        _: Request<DiscoverRequest>,
    ) -> Result<Response<DiscoverReply>, Status> {
        Err(Status::unimplemented("discover"))
    }

    async fn remove_peer(
        &self,
        _: Request<RemovePeerRequest>,
    ) -> Result<Response<RemovePeerReply>, Status> {
        Err(Status::unimplemented("remove_peer"))
    }

    async fn transfer_leadership(
        &self,
        _: Request<TransferLeadershipRequest>,
    ) -> Result<Response<TransferLeadershipReply>, Status> {
        Err(Status::unimplemented("transfer_leadership"))
    }

    async fn r#yield(&self, _: Request<YieldRequest>) -> Result<Response<YieldReply>, Status> {
        Err(Status::unimplemented("yield"))
    }

    type StreamLogsStream = tokio_stream::Empty<Result<StreamChunk, Status>>;

    async fn stream_logs(
        &self,
        _: Request<ForwardLogsRequest>,
    ) -> Result<Response<Self::StreamLogsStream>, Status> {
        Err(Status::unimplemented("stream_logs"))
    }

    type StreamFsStream = tokio_stream::Empty<Result<StreamChunk, Status>>;

    async fn stream_fs(
        &self,
        _: Request<ForwardFsRequest>,
    ) -> Result<Response<Self::StreamFsStream>, Status> {
        Err(Status::unimplemented("stream_fs"))
    }

    type ForwardExecStream =
        tokio_stream::Empty<Result<nomadish_proto::node_v1::ExecOutput, Status>>;

    async fn forward_exec(
        &self,
        _: Request<tonic::Streaming<nomadish_proto::raft_v1::ForwardExecMessage>>,
    ) -> Result<Response<Self::ForwardExecStream>, Status> {
        Err(Status::unimplemented("forward_exec"))
    }

    async fn forward_task_signal(
        &self,
        _: Request<nomadish_proto::raft_v1::ForwardTaskSignalRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::TaskSignalReply>, Status> {
        Err(Status::unimplemented("forward_task_signal"))
    }

    async fn forward_task_restart(
        &self,
        _: Request<nomadish_proto::raft_v1::ForwardTaskRestartRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::TaskRestartReply>, Status> {
        Err(Status::unimplemented("forward_task_restart"))
    }

    async fn forward_alloc_query(
        &self,
        _: Request<nomadish_proto::raft_v1::ForwardAllocQueryRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::AllocQueryReply>, Status> {
        Err(Status::unimplemented("forward_alloc_query"))
    }
}

/// A running test server; dropping it stops the server.
struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve(tls: &TlsConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::builder()
        .tls_config(tls.rpc_server_tls().expect("server TLS"))
        .expect("tonic accepts the TLS config")
        .add_service(ClusterServiceServer::new(ServersOnly));
    tokio::spawn(
        server.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
            let _ = stopped.await;
        }),
    );
    Running { addr, _stop: stop }
}

/// What a call came to.
#[derive(Debug)]
enum Outcome {
    /// The handler answered.
    Index(u64),
    /// The handler refused the peer.
    Denied(String),
    /// The connection or the call failed before the handler could answer.
    Failed(String),
}

async fn call_with(endpoint: Endpoint) -> Outcome {
    let attempt = async {
        let channel: Channel = match endpoint.connect().await {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("connect: {e:?}")),
        };
        match ClusterServiceClient::new(channel)
            .read_index(ReadIndexRequest {})
            .await
        {
            Ok(r) => Outcome::Index(r.into_inner().index),
            Err(s) if s.code() == Code::PermissionDenied => Outcome::Denied(s.message().into()),
            Err(s) => Outcome::Failed(format!("call: {s:?}")),
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| Outcome::Failed("timed out".into()))
}

/// Dials `server` with the agent TLS of `client`.
async fn call(server: &Running, client: &TlsConfig) -> Outcome {
    let tls = client.rpc_client_tls().expect("client TLS");
    call_with(tls.endpoint(&server.addr.to_string()).unwrap()).await
}

#[tokio::test]
async fn raft_rpc_admits_only_servers_of_the_region() {
    let pki = Pki::new();
    let server = serve(&pki.agent("srv", &pki.cert(Role::Server, "global"))).await;

    let as_server = pki.agent("peer", &pki.cert(Role::Server, "global"));
    assert!(matches!(
        call(&server, &as_server).await,
        Outcome::Index(INDEX)
    ));

    for (name, pair, role_hint) in [
        ("client", pki.cert(Role::Client, "global"), "role client"),
        ("cli", pki.cert(Role::Cli, "global"), "role cli"),
        ("eu-server", pki.cert(Role::Server, "eu"), "region eu"),
        ("wildcard", pki.wildcard(), "no nomadish role"),
    ] {
        match call(&server, &pki.agent(name, &pair)).await {
            Outcome::Denied(msg) => assert!(msg.contains(role_hint), "{name}: {msg}"),
            other => panic!("{name}: expected PermissionDenied, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn handshake_refuses_foreign_expired_and_missing_certificates() {
    let pki = Pki::new();
    let server = serve(&pki.agent("srv", &pki.cert(Role::Server, "global"))).await;

    let other = Pki::new();
    let mut foreign = pki.agent("foreign", &other.cert(Role::Server, "global"));
    foreign.ca_file = pki.ca_file.clone();
    let expired = pki.agent("expired", &pki.expired_server());
    for (name, client) in [("another CA", foreign), ("expired", expired)] {
        let outcome = call(&server, &client).await;
        assert!(matches!(outcome, Outcome::Failed(_)), "{name}: {outcome:?}");
    }

    let no_cert = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca.cert_pem))
        .domain_name("server.global.nomadish");
    let endpoint = Endpoint::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(no_cert)
        .unwrap();
    let outcome = call_with(endpoint).await;
    assert!(
        matches!(outcome, Outcome::Failed(_)),
        "no cert: {outcome:?}"
    );
}

#[tokio::test]
async fn verify_server_hostname_refuses_non_server_certificates() {
    let pki = Pki::new();
    let caller = pki.agent("caller", &pki.cert(Role::Server, "global"));

    let impostor = serve(&pki.agent("impostor", &pki.cert(Role::Client, "global"))).await;
    match call(&impostor, &caller).await {
        Outcome::Failed(e) => assert!(e.contains("NotValidForName"), "{e}"),
        other => panic!("a client certificate passed as a server: {other:?}"),
    }
    let wildcard = serve(&pki.agent("wild", &pki.wildcard())).await;
    let outcome = call(&wildcard, &caller).await;
    assert!(
        matches!(outcome, Outcome::Failed(_)),
        "wildcard: {outcome:?}"
    );
    let eu = serve(&pki.agent("eu", &pki.cert(Role::Server, "eu"))).await;
    let outcome = call(&eu, &caller).await;
    assert!(
        matches!(outcome, Outcome::Failed(_)),
        "other region: {outcome:?}"
    );

    // Without verify_server_hostname only the CA is checked ("localhost" is in every
    // agent certificate), so the impostor's handshake passes.
    let lax = TlsConfig {
        verify_server_hostname: false,
        ..caller.clone()
    };
    assert_eq!(lax.rpc_client_tls().unwrap().server_name(), "localhost");
    assert!(matches!(call(&impostor, &lax).await, Outcome::Index(INDEX)));
}

#[tokio::test]
async fn bad_files_are_reported_by_name() {
    let pki = Pki::new();
    let good = pki.agent("good", &pki.cert(Role::Server, "global"));

    let missing = TlsConfig {
        cert_file: pki.dir.path().join("nope.pem"),
        ..good.clone()
    };
    let err = missing.rpc_server_tls().unwrap_err().to_string();
    assert!(err.contains("nope.pem"), "{err}");

    let other_key = pki.write("other", &pki.cert(Role::Server, "global")).1;
    let mismatched = TlsConfig {
        key_file: other_key,
        ..good.clone()
    };
    let err = mismatched.rpc_client_tls().unwrap_err().to_string();
    assert!(err.contains("does not fit"), "{err}");

    let not_pem = TlsConfig {
        ca_file: good.key_file.clone(),
        ..good.clone()
    };
    let Err(err) = not_pem.https_acceptor() else {
        panic!("a key file passed as the CA");
    };
    let err = err.to_string();
    assert!(err.contains("holds no PEM certificate"), "{err}");

    let id = good.identity().unwrap();
    assert_eq!((id.role, id.region.as_str()), (Role::Server, "global"));
    let wild = pki.agent("wild", &pki.wildcard());
    let err = wild.identity().unwrap_err().to_string();
    assert!(err.contains("no nomadish role"), "{err}");

    let unset = TlsConfig::default();
    let err = unset.rpc_server_tls().unwrap_err().to_string();
    assert!(err.contains("ca_file is not set"), "{err}");
}
