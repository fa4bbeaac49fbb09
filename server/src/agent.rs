//! Starting and stopping a server: storage, raft, the gRPC and HTTP listeners, the
//! leadership loop, bootstrap — and a clean shutdown of all of it.
//!
//! ```text
//!   run(config, shutdown)
//!     ├─ node id (data_dir/server/node-id), sled store, raft
//!     ├─ gRPC :4647  NodeService + RaftService + ClusterService
//!     ├─ HTTP :4646  the v1 API
//!     ├─ leadership loop (leader-only services)
//!     └─ bootstrap (bootstrap_expect = 1) or join (retry_join)
//!   shutdown -> stop listeners, revoke leadership, stop raft
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::EVAL_STATUS_BLOCKED;
use nomadish_proto::node_v1::node_service_server::NodeServiceServer;
use nomadish_proto::raft_v1::cluster_service_server::ClusterServiceServer;
use nomadish_proto::raft_v1::raft_service_server::RaftServiceServer;
use openraft::SnapshotPolicy;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;

use crate::ServerError;
use crate::cluster_service::ClusterGrpc;
use crate::config::ServerConfig;
use crate::node_service::NodeGrpc;
use crate::raft::{Network, Raft, RaftGrpc, ServerNode, StateMachine, open_storage};
use crate::server::Server;
use crate::state::StateStore;
use nomadish_proto::tls::{Role, RpcClientTls};

/// Largest gRPC message accepted (allocation lists of large nodes, snapshots).
const MAX_GRPC_MESSAGE: usize = 256 * 1024 * 1024;
/// Raft heartbeat interval before `raft_multiplier`. openraft also uses it as the timeout of
/// each append-entries call, so it must stay well above RPC latency under load.
const RAFT_HEARTBEAT_MS: u64 = 100;
/// Entries per append-entries call (Nomad's raft `MaxAppendEntries`): small enough that one
/// call fits in the heartbeat interval, which openraft uses as its timeout.
const MAX_APPEND_ENTRIES: u64 = 64;
/// Timeout of one snapshot chunk sent to a lagging server.
const SNAPSHOT_RPC_TIMEOUT_MS: u64 = 10_000;
/// Bytes per snapshot chunk.
const SNAPSHOT_CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// Raft election timeout range before `raft_multiplier`.
const RAFT_ELECTION_MS: (u64, u64) = (200, 400);

fn node_id_path(dir: &Path) -> std::path::PathBuf {
    dir.join("node-id")
}

/// This server's raft ID: random on first start, then read from the data dir.
fn load_or_create_node_id(dir: &Path) -> Result<u64, ServerError> {
    let path = node_id_path(dir);
    let io = |source| ServerError::DataDir {
        path: path.display().to_string(),
        source,
    };
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(id) = text.trim().parse::<u64>()
    {
        return Ok(id);
    }
    let id = (rand::random::<u64>() >> 1).max(1);
    std::fs::write(&path, id.to_string()).map_err(io)?;
    Ok(id)
}

fn raft_config(config: &ServerConfig) -> Result<Arc<openraft::Config>, ServerError> {
    let m = u64::from(config.raft_multiplier.clamp(1, 10));
    let cfg = openraft::Config {
        cluster_name: "nomadish".to_string(),
        heartbeat_interval: RAFT_HEARTBEAT_MS * m,
        election_timeout_min: RAFT_ELECTION_MS.0 * m,
        election_timeout_max: RAFT_ELECTION_MS.1 * m,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_threshold),
        max_in_snapshot_log_to_keep: config.trailing_logs,
        install_snapshot_timeout: SNAPSHOT_RPC_TIMEOUT_MS,
        max_payload_entries: MAX_APPEND_ENTRIES,
        snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES,
        // Elections are called by the pre-vote loop (raft::elector), not openraft's timer.
        enable_elect: false,
        ..openraft::Config::default()
    };
    cfg.validate()
        .map(Arc::new)
        .map_err(|e| ServerError::Raft(e.to_string()))
}

fn advertise(config: &ServerConfig) -> ServerNode {
    let fix = |addr: String, bind: std::net::SocketAddr| {
        if bind.ip().is_unspecified() && addr == bind.to_string() {
            format!("127.0.0.1:{}", bind.port())
        } else {
            addr
        }
    };
    ServerNode {
        rpc_addr: fix(config.rpc_advertise(), config.rpc_bind),
        http_addr: fix(config.http_advertise(), config.http_bind),
        name: config.node_name.clone(),
    }
}

/// Routes evaluations applied as pending or blocked into the broker (a no-op off the leader).
fn connect_broker(sm: &StateMachine, server: &Arc<Server>) {
    let broker = server.broker.clone();
    sm.set_eval_sink(Arc::new(move |evals| {
        let mut pending = Vec::new();
        for eval in evals {
            if eval.status == EVAL_STATUS_BLOCKED {
                broker.block(eval.as_ref().clone());
            } else {
                pending.push(eval.as_ref().clone());
            }
        }
        broker.enqueue_all(pending);
    }));
}

/// How long open requests may run on after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The TLS pieces of a server, built once at start from `config.tls`.
#[derive(Default)]
struct ServerTls {
    rpc_server: Option<tonic::transport::ServerTlsConfig>,
    rpc_client: Option<RpcClientTls>,
    https: Option<tokio_rustls::TlsAcceptor>,
}

/// Loads the certificates and refuses one whose name is not `server.<region>.nomadish`.
fn load_tls(config: &ServerConfig) -> Result<ServerTls, ServerError> {
    let Some(tls) = config.tls.as_ref().filter(|t| t.rpc || t.http) else {
        return Ok(ServerTls::default());
    };
    let err = |e: nomadish_proto::tls::TlsError| ServerError::Tls(e.to_string());
    let identity = tls.identity().map_err(err)?;
    if identity.role != Role::Server || !identity.region.eq_ignore_ascii_case(&config.region) {
        return Err(ServerError::Tls(format!(
            "{} is a certificate for {}; a server in region {:?} needs one for {}",
            tls.cert_file.display(),
            identity.name,
            config.region,
            Role::Server.cert_name(&config.region)
        )));
    }
    let mut out = ServerTls::default();
    if tls.rpc {
        out.rpc_server = Some(tls.rpc_server_tls().map_err(err)?);
        out.rpc_client = Some(tls.rpc_client_tls().map_err(err)?);
    }
    if tls.http {
        out.https = Some(tls.https_acceptor().map_err(err)?);
    }
    Ok(out)
}

async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Runs a server until `shutdown` resolves, then stops every task it started.
pub async fn run(
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let dir = config.data_dir.join("server");
    std::fs::create_dir_all(&dir).map_err(|source| ServerError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    let node_id = load_or_create_node_id(&dir)?;
    let tls = load_tls(&config)?;
    let state = StateStore::new();
    let (log, sm) = open_storage(&dir.join("raft"), state.clone())
        .map_err(|e| ServerError::Raft(e.to_string()))?;
    let log_for_elections = log.clone();
    let raft = Raft::new(
        node_id,
        raft_config(&config)?,
        Network::new(
            tls.rpc_client.clone(),
            crate::transport::source_address(config.rpc_bind),
        ),
        log,
        sm.clone(),
    )
    .await
    .map_err(|e| ServerError::Raft(e.to_string()))?;
    let rpc_listener = bind(config.rpc_bind).await?;
    let http_listener = bind(config.http_bind).await?;
    let me = advertise(&config);
    let server = Arc::new(Server::new(
        config,
        node_id,
        Arc::new(raft),
        state,
        tls.rpc_client.clone(),
    ));
    connect_broker(&sm, &server);

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let raft_grpc = RaftGrpc::new(
        server.raft.clone(),
        log_for_elections.clone(),
        server.last_leader_contact.clone(),
        server.config.tls.as_ref().is_some_and(|t| t.rpc),
        server.config.region.clone(),
    );
    let mut builder = tonic::transport::Server::builder();
    if let Some(rpc_tls) = tls.rpc_server {
        builder = builder
            .tls_config(rpc_tls)
            .map_err(|e| ServerError::Tls(e.to_string()))?;
    }
    let grpc = builder
        .layer(crate::metrics::grpc::RpcTimerLayer)
        .add_service(
            NodeServiceServer::new(NodeGrpc::new(server.clone()))
                .max_decoding_message_size(MAX_GRPC_MESSAGE)
                .max_encoding_message_size(MAX_GRPC_MESSAGE),
        )
        .add_service(
            RaftServiceServer::new(raft_grpc)
                .max_decoding_message_size(MAX_GRPC_MESSAGE)
                .max_encoding_message_size(MAX_GRPC_MESSAGE),
        )
        .add_service(
            ClusterServiceServer::new(ClusterGrpc::new(server.clone()))
                .max_decoding_message_size(MAX_GRPC_MESSAGE)
                .max_encoding_message_size(MAX_GRPC_MESSAGE),
        )
        .serve_with_incoming_shutdown(
            // tonic's own `tcp_nodelay` covers only listeners it binds itself. Without it, a
            // reply written in pieces waits for the peer's delayed ACK: about 40 ms added to
            // raft round trips (consistent reads and writes on three servers).
            TcpListenerStream::new(rpc_listener).map(|conn| {
                if let Ok(tcp) = &conn {
                    let _ = tcp.set_nodelay(true);
                }
                conn
            }),
            stopped(stop_rx.clone()),
        );
    let grpc_task = tokio::spawn(grpc);
    let http_task = tokio::spawn(crate::http::serve(
        http_listener,
        server.clone(),
        tls.https,
        stopped(stop_rx.clone()),
    ));
    let leader_task = tokio::spawn(crate::leader::run_leadership(
        server.clone(),
        stop_rx.clone(),
    ));
    let elector_task = tokio::spawn(crate::raft::elector::run(
        server.clone(),
        log_for_elections,
        stop_rx.clone(),
    ));
    let join_task = tokio::spawn(crate::formation::form_cluster(
        server.clone(),
        me,
        stop_rx.clone(),
    ));
    tracing::info!(node_id, rpc = %server.config.rpc_bind, http = %server.config.http_bind, "server started");

    shutdown.await;
    tracing::info!("server shutting down");
    let _ = stop_tx.send(true);
    let _ = join_task.await;
    let _ = elector_task.await;
    let _ = leader_task.await;
    // In-flight requests get a grace period; clients' endless streams (allocation watches,
    // tunnels, log follows, blocking queries) are cut after it.
    crate::tasks::join_or_abort(vec![http_task], SHUTDOWN_GRACE).await;
    crate::tasks::join_or_abort(vec![grpc_task], SHUTDOWN_GRACE).await;
    server
        .raft
        .shutdown()
        .await
        .map_err(|e| ServerError::Raft(e.to_string()))?;
    Ok(())
}
