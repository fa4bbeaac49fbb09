//! Task operations from any server: through this server's tunnel to the node when it holds
//! it, otherwise through the peer that does (ClusterService `ForwardExec`,
//! `ForwardTaskSignal`, `ForwardTaskRestart`), as log streams are.
//!
//! ```text
//!   HTTP on server A ──> A.task_ops (node's tunnel on A)
//!                   └──> peer B: ForwardExec / ForwardTaskSignal / ForwardTaskRestart
//!                                 └──> B.task_ops (node's tunnel on B)
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use nomadish_proto::model::{NODE_STATUS_DISCONNECTED, NODE_STATUS_DOWN};
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
/// How long an operation waits for the node's tunnel while no server holds one. A client
/// reopens a broken tunnel after half a second plus the dial, so an operation that arrives in
/// between is held until the tunnel is back instead of failing.
pub const TUNNEL_HOLD: Duration = Duration::from_secs(3);
/// How often a held operation looks for the tunnel again.
const TUNNEL_HOLD_POLL: Duration = Duration::from_millis(200);

/// Runs `attempt` again while `not_connected` says its error means "no server holds the
/// node's tunnel", for up to `hold`; any other outcome is returned at once.
pub async fn held<T, E, Fut>(
    hold: Duration,
    mut attempt: impl FnMut() -> Fut,
    not_connected: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + hold;
    loop {
        match attempt().await {
            Err(e) if not_connected(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(TUNNEL_HOLD_POLL).await;
            }
            outcome => return outcome,
        }
    }
}

/// How long to hold an operation for the node's tunnel: [`TUNNEL_HOLD`], or nothing when the
/// state already says the node is gone (down, disconnected or unknown), since no tunnel is
/// about to come back.
fn hold_for(server: &Server, node_id: &str) -> Duration {
    let state = server.state.snapshot();
    match state.nodes.get(node_id) {
        Some(node)
            if node.status != NODE_STATUS_DOWN && node.status != NODE_STATUS_DISCONNECTED =>
        {
            TUNNEL_HOLD
        }
        _ => Duration::ZERO,
    }
}

fn is_not_connected(e: &RouteError) -> bool {
    matches!(e, RouteError::NotConnected { .. })
}

/// Why an operation could not reach the node.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// No server holds a tunnel from the node; `unreachable` lists the peers that could not
    /// be dialed to ask (`addr: error`).
    #[error("node {node} is not connected to any server{}", not_reached(.unreachable))]
    NotConnected {
        node: String,
        unreachable: Vec<String>,
    },
    /// The tunnel or a peer failed.
    #[error("{0}")]
    Failed(String),
}

fn not_reached(unreachable: &[String]) -> String {
    if unreachable.is_empty() {
        String::new()
    } else {
        format!(" (not reached: {})", unreachable.join("; "))
    }
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

/// A peer's cluster client.
pub type Peer = ClusterServiceClient<tonic::transport::Channel>;

/// Channels to the peers for one operation: each peer is dialed once, on the first try, and
/// its channel (or why it could not be dialed) is reused by every later try of the hold.
#[derive(Default)]
struct PeerChannels {
    dialed: Mutex<HashMap<String, Result<tonic::transport::Channel, String>>>,
}

impl PeerChannels {
    /// A client for each peer, and the peers that could not be dialed (`addr: error`).
    async fn clients(&self, server: &Server) -> (Vec<Peer>, Vec<String>) {
        let mut clients = Vec::new();
        let mut unreachable = Vec::new();
        for (id, peer, _) in server.peers() {
            if id == server.node_id {
                continue;
            }
            let known = self.lock().get(&peer.rpc_addr).cloned();
            let channel = match known {
                Some(channel) => channel,
                None => {
                    let channel = server.dial(&peer.rpc_addr).await.map_err(|e| e.to_string());
                    self.lock().insert(peer.rpc_addr.clone(), channel.clone());
                    channel
                }
            };
            match channel {
                Ok(channel) => clients.push(ClusterServiceClient::new(channel)),
                Err(e) => unreachable.push(format!("{}: {e}", peer.rpc_addr)),
            }
        }
        (clients, unreachable)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Result<tonic::transport::Channel, String>>> {
        self.dialed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts an exec session on the node.
pub async fn open_exec(
    server: &Server,
    node_id: &str,
    start: ExecStart,
) -> Result<ExecConn, RouteError> {
    let local = || async {
        let stream = server
            .task_ops
            .open_exec(&server.tunnels, node_id, start.clone())
            .await?;
        Ok(ExecConn::Local(stream))
    };
    route(server, node_id, local, |mut client| {
        let (tx, rx) = mpsc::channel(FORWARD_BUFFER);
        let first = ForwardExecMessage {
            node_id: node_id.to_string(),
            start: Some(start.clone()),
            input: None,
        };
        let _ = tx.try_send(first);
        async move {
            let stream = client.forward_exec(ReceiverStream::new(rx)).await?;
            Ok(ExecConn::Peer {
                tx,
                rx: stream.into_inner(),
            })
        }
    })
    .await
}

/// Runs an operation on the node: through this server's tunnel when it holds the node's
/// (`local`), otherwise `forward` through each peer in turn until one holds it (`NotFound`
/// means "not here"); held while no server holds it (see [`held`]).
pub async fn route<T, Local, Fut>(
    server: &Server,
    node_id: &str,
    mut local: impl FnMut() -> Local,
    forward: impl Fn(Peer) -> Fut,
) -> Result<T, RouteError>
where
    Local: Future<Output = Result<T, TunnelError>>,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let peers = PeerChannels::default();
    held(
        hold_for(server, node_id),
        || route_once(server, node_id, &peers, local(), &forward),
        is_not_connected,
    )
    .await
}

async fn route_once<T, Fut>(
    server: &Server,
    node_id: &str,
    peers: &PeerChannels,
    local: impl Future<Output = Result<T, TunnelError>>,
    forward: &impl Fn(Peer) -> Fut,
) -> Result<T, RouteError>
where
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    match local.await {
        Ok(r) => return Ok(r),
        Err(TunnelError::NotConnected(_)) => {}
        Err(e) => return Err(RouteError::Failed(e.to_string())),
    }
    let (clients, unreachable) = peers.clients(server).await;
    for client in clients {
        match forward(client).await {
            Ok(r) => return Ok(r),
            Err(status) if status.code() == tonic::Code::NotFound => continue,
            Err(status) => return Err(RouteError::Failed(status.message().to_string())),
        }
    }
    Err(RouteError::NotConnected {
        node: node_id.to_string(),
        unreachable,
    })
}

/// Signals tasks on the node.
pub async fn signal(
    server: &Server,
    node_id: &str,
    req: TaskSignalRequest,
) -> Result<OpReply, RouteError> {
    let local = || {
        server
            .task_ops
            .signal(&server.tunnels, node_id, req.clone())
    };
    route(server, node_id, local, |mut client| {
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
    let local = || {
        server
            .task_ops
            .restart(&server.tunnels, node_id, req.clone())
    };
    route(server, node_id, local, |mut client| {
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
    let local = || {
        server
            .task_ops
            .alloc_query(&server.tunnels, node_id, req.clone())
    };
    route(server, node_id, local, |mut client| {
        let forward = ForwardAllocQueryRequest {
            node_id: node_id.to_string(),
            request: Some(req.clone()),
        };
        async move { Ok(client.forward_alloc_query(forward).await?.into_inner()) }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn not_connected() -> RouteError {
        RouteError::NotConnected {
            node: "n1".to_string(),
            unreachable: Vec::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_is_held_until_the_tunnel_is_back() {
        let tries = Cell::new(0);
        let start = tokio::time::Instant::now();
        let outcome = held(
            TUNNEL_HOLD,
            || {
                tries.set(tries.get() + 1);
                let found = tries.get() == 4;
                async move { if found { Ok(7) } else { Err(not_connected()) } }
            },
            is_not_connected,
        )
        .await;
        assert_eq!(outcome.ok(), Some(7));
        assert_eq!(tries.get(), 4);
        assert_eq!(start.elapsed(), TUNNEL_HOLD_POLL * 3);
    }

    /// Holds an operation whose node never comes back for `hold`: its tries and the time
    /// it took to fail (it must fail as not connected).
    async fn never_connected(hold: Duration) -> (u32, Duration) {
        let tries = Cell::new(0u32);
        let start = tokio::time::Instant::now();
        let outcome: Result<(), _> = held(
            hold,
            || {
                tries.set(tries.get() + 1);
                async { Err(not_connected()) }
            },
            is_not_connected,
        )
        .await;
        assert!(matches!(outcome, Err(RouteError::NotConnected { .. })));
        (tries.get(), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_that_stays_away_fails_after_the_hold() {
        let (tries, elapsed) = never_connected(TUNNEL_HOLD).await;
        assert!(elapsed >= TUNNEL_HOLD);
        assert!(elapsed < TUNNEL_HOLD + TUNNEL_HOLD_POLL * 2);
        assert_eq!(tries, 16, "one try, then one every poll for the hold");
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_known_to_be_gone_is_tried_once() {
        let (tries, elapsed) = never_connected(Duration::ZERO).await;
        assert_eq!(tries, 1);
        assert_eq!(elapsed, Duration::ZERO);
    }

    #[test]
    fn not_connected_names_the_servers_that_could_not_be_asked() {
        assert_eq!(
            not_connected().to_string(),
            "node n1 is not connected to any server"
        );
        let e = RouteError::NotConnected {
            node: "n1".to_string(),
            unreachable: vec![
                "127.0.0.2:4647: refused".to_string(),
                "127.0.0.3:4647: timed out".to_string(),
            ],
        };
        assert_eq!(
            e.to_string(),
            "node n1 is not connected to any server \
             (not reached: 127.0.0.2:4647: refused; 127.0.0.3:4647: timed out)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_failures_are_not_held() {
        let tries = Cell::new(0);
        let outcome: Result<(), _> = held(
            TUNNEL_HOLD,
            || {
                tries.set(tries.get() + 1);
                async { Err(RouteError::Failed("tunnel closed".to_string())) }
            },
            is_not_connected,
        )
        .await;
        assert!(matches!(outcome, Err(RouteError::Failed(_))));
        assert_eq!(tries.get(), 1);
    }
}
