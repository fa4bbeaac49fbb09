//! Task operations from any server: through this server's tunnel to the node when it holds
//! it, otherwise through the peer that does (ClusterService `ForwardExec`,
//! `ForwardTaskSignal`, `ForwardTaskRestart`), as log streams are.
//!
//! ```text
//!   HTTP on server A ──> A.task_ops (node's tunnel on A)
//!                   └──> peer B: ForwardExec / ForwardTaskSignal / ForwardTaskRestart
//!                                 └──> B.task_ops (node's tunnel on B)
//! ```

use nomadish_proto::node_v1::{
    AllocQuery, AllocQueryReply, ExecInput, ExecOutput, ExecStart, TaskRestartRequest,
    TaskSignalRequest,
};
use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;
use nomadish_proto::raft_v1::{
    ForwardAllocQueryRequest, ForwardExecMessage, ForwardTaskRestartRequest,
    ForwardTaskSignalRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::server::Server;
use crate::task_ops::{ExecStream, OpReply};
use crate::tunnel::TunnelError;

/// Input messages buffered toward a peer.
const FORWARD_BUFFER: usize = 16;

/// Why an operation could not reach the node.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// No server holds a tunnel from the node.
    #[error("node {0} is not connected to any server")]
    NotConnected(String),
    /// The tunnel or a peer failed.
    #[error("{0}")]
    Failed(String),
}

/// An exec session, through this server's tunnel or a peer's.
pub enum ExecConn {
    Local(ExecStream),
    Peer {
        tx: mpsc::Sender<ForwardExecMessage>,
        rx: tonic::Streaming<ExecOutput>,
    },
}

impl ExecConn {
    /// The next output; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<ExecOutput> {
        match self {
            Self::Local(s) => s.next().await,
            Self::Peer { rx, .. } => rx.message().await.ok().flatten(),
        }
    }

    /// Sends input to the command; false once the stream is gone.
    pub async fn send(&self, input: ExecInput) -> bool {
        match self {
            Self::Local(s) => s.send(input).await,
            Self::Peer { tx, .. } => {
                let msg = ForwardExecMessage {
                    input: Some(input),
                    ..ForwardExecMessage::default()
                };
                tx.send(msg).await.is_ok()
            }
        }
    }
}

/// The peers to try, with a channel to each.
async fn peer_clients(server: &Server) -> Vec<ClusterServiceClient<tonic::transport::Channel>> {
    let mut clients = Vec::new();
    for (id, peer, _) in server.peers() {
        if id == server.node_id {
            continue;
        }
        if let Ok(channel) = server.dial(&peer.rpc_addr).await {
            clients.push(ClusterServiceClient::new(channel));
        }
    }
    clients
}

fn local_error(e: TunnelError) -> Option<RouteError> {
    match e {
        TunnelError::NotConnected(_) => None,
        e => Some(RouteError::Failed(e.to_string())),
    }
}

/// Starts an exec session on the node.
pub async fn open_exec(
    server: &Server,
    node_id: &str,
    start: ExecStart,
) -> Result<ExecConn, RouteError> {
    match server
        .task_ops
        .open_exec(&server.tunnels, node_id, start.clone())
        .await
    {
        Ok(s) => return Ok(ExecConn::Local(s)),
        Err(e) => {
            if let Some(e) = local_error(e) {
                return Err(e);
            }
        }
    }
    for mut client in peer_clients(server).await {
        let (tx, rx) = mpsc::channel(FORWARD_BUFFER);
        let first = ForwardExecMessage {
            node_id: node_id.to_string(),
            start: Some(start.clone()),
            input: None,
        };
        let _ = tx.try_send(first);
        match client.forward_exec(ReceiverStream::new(rx)).await {
            Ok(stream) => {
                return Ok(ExecConn::Peer {
                    tx,
                    rx: stream.into_inner(),
                });
            }
            Err(status) if status.code() == tonic::Code::NotFound => continue,
            Err(status) => return Err(RouteError::Failed(status.message().to_string())),
        }
    }
    Err(RouteError::NotConnected(node_id.to_string()))
}

/// A peer's cluster client.
type Peer = ClusterServiceClient<tonic::transport::Channel>;

/// A one-reply operation: through this server's tunnel when it holds the node's, otherwise
/// `forward` through each peer in turn until one holds it (`NotFound` means "not here").
async fn unary<T, Fut>(
    server: &Server,
    node_id: &str,
    local: impl Future<Output = Result<T, TunnelError>>,
    mut forward: impl FnMut(Peer) -> Fut,
) -> Result<T, RouteError>
where
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    match local.await {
        Ok(r) => return Ok(r),
        Err(e) => {
            if let Some(e) = local_error(e) {
                return Err(e);
            }
        }
    }
    for client in peer_clients(server).await {
        match forward(client).await {
            Ok(r) => return Ok(r),
            Err(status) if status.code() == tonic::Code::NotFound => continue,
            Err(status) => return Err(RouteError::Failed(status.message().to_string())),
        }
    }
    Err(RouteError::NotConnected(node_id.to_string()))
}

/// Signals tasks on the node.
pub async fn signal(
    server: &Server,
    node_id: &str,
    req: TaskSignalRequest,
) -> Result<OpReply, RouteError> {
    let local = server
        .task_ops
        .signal(&server.tunnels, node_id, req.clone());
    unary(server, node_id, local, |mut client| {
        let forward = ForwardTaskSignalRequest {
            node_id: node_id.to_string(),
            request: Some(req.clone()),
        };
        async move {
            let r = client.forward_task_signal(forward).await?.into_inner();
            Ok((r.error, r.error_code))
        }
    })
    .await
}

/// Restarts tasks on the node.
pub async fn restart(
    server: &Server,
    node_id: &str,
    req: TaskRestartRequest,
) -> Result<OpReply, RouteError> {
    let local = server
        .task_ops
        .restart(&server.tunnels, node_id, req.clone());
    unary(server, node_id, local, |mut client| {
        let forward = ForwardTaskRestartRequest {
            node_id: node_id.to_string(),
            request: Some(req.clone()),
        };
        async move {
            let r = client.forward_task_restart(forward).await?.into_inner();
            Ok((r.error, r.error_code))
        }
    })
    .await
}

/// Asks the node's client about an allocation (`stats`, `checks`, `gc`).
pub async fn alloc_query(
    server: &Server,
    node_id: &str,
    req: AllocQuery,
) -> Result<AllocQueryReply, RouteError> {
    let local = server
        .task_ops
        .alloc_query(&server.tunnels, node_id, req.clone());
    unary(server, node_id, local, |mut client| {
        let forward = ForwardAllocQueryRequest {
            node_id: node_id.to_string(),
            request: Some(req.clone()),
        };
        async move { Ok(client.forward_alloc_query(forward).await?.into_inner()) }
    })
    .await
}
