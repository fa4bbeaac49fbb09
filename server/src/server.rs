//! The server object shared by the gRPC services, the HTTP API and the leader's loops: raft,
//! the state store, and the leader-only machinery (broker, heartbeats, plan applier).
//!
//! Every write goes through [`Server::write`]: applied through raft on the leader, forwarded
//! to the leader over the cluster gRPC service on a follower.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nomadish_proto::model::{Plan, PlanResult};
use nomadish_proto::raft_v1::ApplyRequest;
use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;
use openraft::ServerState;
use tokio::sync::{mpsc, oneshot};

use crate::broker::EvalBroker;
use crate::config::ServerConfig;
use crate::fsm::{ApplyError, Command, CommandResponse};
use crate::group_commit::CommitFailure;
use crate::heartbeat::HeartbeatTracker;
use crate::raft::{NodeId, Raft, ServerNode};
use crate::state::{StateStore, StateView};
use crate::tunnel::TunnelRegistry;
use nomadish_proto::tls::{Role, authorize_peer};

/// How long a forwarded write may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// Leadership checks retried before a linearizable read fails.
const READ_INDEX_RETRIES: u32 = 3;
/// Pause between those retries.
const READ_INDEX_RETRY_DELAY: Duration = Duration::from_millis(50);
/// How long dialing the leader may take.
const FORWARD_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a request that must reach the leader waits for one while none is known (an
/// election in progress), as Nomad's `rpc_hold_timeout`.
const RPC_HOLD_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause before a write refused by a former leader goes again (the new leader is known
/// to this server within a heartbeat or so).
const NOT_LEADER_RETRY: Duration = Duration::from_millis(50);

/// Why a write did not happen (or its outcome is unknown).
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// No leader is known right now.
    #[error("no cluster leader")]
    NoLeader,
    /// Raft refused or failed the write.
    #[error("raft: {0}")]
    Raft(String),
    /// Forwarding to the leader failed.
    #[error("forwarding to the leader {leader}: {message}")]
    Forward {
        /// The leader's RPC address.
        leader: String,
        /// What went wrong.
        message: String,
    },
    /// The command was applied and refused by the state machine.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The plan applier is not running (not the leader, or shutting down).
    #[error("plan applier unavailable")]
    PlanApplierGone,
}

impl crate::group_commit::CommitError for WriteError {
    fn queue_failed(message: String) -> Self {
        WriteError::Raft(message)
    }
}

/// A plan waiting for the applier.
pub struct PlanRequest {
    /// The plan.
    pub plan: Plan,
    /// Where the result goes.
    pub reply: oneshot::Sender<Result<PlanResult, WriteError>>,
}

/// The shared server.
pub struct Server {
    /// Configuration it was started with.
    pub config: ServerConfig,
    /// This server's raft ID.
    pub node_id: NodeId,
    /// Raft.
    pub raft: Arc<Raft>,
    /// The replicated state.
    pub state: StateStore,
    /// The eval broker (enabled on the leader).
    pub broker: EvalBroker,
    /// Heartbeat deadlines (active on the leader).
    pub heartbeats: HeartbeatTracker,
    /// Client tunnels connected to this server.
    pub tunnels: TunnelRegistry,
    /// Exec streams and signal/restart requests through those tunnels.
    pub task_ops: crate::task_ops::TaskOps,
    /// The leader's plan queue, while this server leads.
    pub(crate) plans: Mutex<Option<mpsc::Sender<PlanRequest>>>,
    /// When the server started.
    pub started: Instant,
    /// Unix ns of the last append-entries call from a leader (set by the raft service).
    pub last_leader_contact: Arc<std::sync::atomic::AtomicI64>,
    /// While set, this server calls no election (a leadership transfer to another server).
    pub elections_held: std::sync::atomic::AtomicBool,
    /// Set while this leader hands its leadership to another server: writes wait, since any
    /// new entry would renew the followers' lease on this leader and keep them from voting.
    pub transferring: tokio::sync::watch::Sender<bool>,
    /// How this server reaches the leader (and dials other servers).
    link: LeaderLink,
    /// Servers this one has heard of (itself included), for forming a new cluster.
    pub known_servers: Mutex<std::collections::BTreeMap<NodeId, ServerNode>>,
    /// ACL state of this server: the audit log.
    pub auth: crate::auth::AuthState,
    /// The leader's write queue: concurrent writes share raft entries.
    pub group_commit: crate::group_commit::GroupCommit<CommitFailure>,
    /// A follower's forwarding queue: concurrent writes share one RPC to the leader.
    forwards: crate::group_commit::GroupCommit<WriteError>,
}

/// What a server needs to reach the leader, apart from the server (so the forwarding queue's
/// task can own it): raft's view of who leads, the cached channel, how to dial.
#[derive(Clone)]
struct LeaderLink {
    raft: Arc<Raft>,
    tls: Option<nomadish_proto::tls::RpcClientTls>,
    rpc_bind: std::net::SocketAddr,
    /// The cached channel to the leader: `(rpc address, channel)`.
    conn: Arc<Mutex<Option<(String, tonic::transport::Channel)>>>,
}

impl LeaderLink {
    fn leader(&self) -> Option<(NodeId, ServerNode)> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let id = m.current_leader?;
        let node = m.membership_config.membership().get_node(&id).cloned()?;
        Some((id, node))
    }

    /// The leader, waiting up to [`RPC_HOLD_TIMEOUT`] for one when none is known: a request
    /// that arrives during an election is held until it ends rather than failed.
    async fn leader_held(&self) -> Option<(NodeId, ServerNode)> {
        let mut metrics = self.raft.metrics();
        if let Some(leader) = self.leader() {
            return Some(leader);
        }
        let elected = async {
            while metrics.changed().await.is_ok() {
                if let Some(leader) = self.leader() {
                    return Some(leader);
                }
            }
            None
        };
        tokio::time::timeout(RPC_HOLD_TIMEOUT, elected)
            .await
            .ok()
            .flatten()
    }

    async fn dial(
        &self,
        addr: &str,
    ) -> Result<tonic::transport::Channel, crate::transport::DialError> {
        let source = crate::transport::source_address(self.rpc_bind);
        crate::grpc_channel(addr, self.tls.clone(), source, FORWARD_CONNECT_TIMEOUT).await
    }

    async fn channel(&self) -> Result<(ServerNode, tonic::transport::Channel), WriteError> {
        let (_, leader) = self.leader_held().await.ok_or(WriteError::NoLeader)?;
        let cached = self
            .conn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .filter(|(addr, _)| *addr == leader.rpc_addr);
        if let Some((_, channel)) = cached {
            return Ok((leader, channel));
        }
        let channel = self
            .dial(&leader.rpc_addr)
            .await
            .map_err(|e| WriteError::Forward {
                leader: leader.rpc_addr.clone(),
                message: e.to_string(),
            })?;
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((leader.rpc_addr.clone(), channel.clone()));
        Ok((leader, channel))
    }

    /// Sends `cmd` (one write, or a batch of them) to the leader's cluster service. A server
    /// that answers it is no longer the leader never applied it, so the write goes again to
    /// whichever server leads next, for up to [`RPC_HOLD_TIMEOUT`].
    async fn forward(&self, cmd: Command) -> Result<CommandResponse, WriteError> {
        let command = serde_json::to_vec(&cmd)
            .map_err(|e| WriteError::Raft(format!("encoding the write: {e}")))?;
        let deadline = tokio::time::Instant::now() + RPC_HOLD_TIMEOUT;
        loop {
            let (leader, channel) = self.channel().await?;
            let fail = |message: String| WriteError::Forward {
                leader: leader.rpc_addr.clone(),
                message,
            };
            let mut client =
                ClusterServiceClient::new(channel).max_decoding_message_size(usize::MAX);
            let request = crate::http::request_id::with_request_id(ApplyRequest {
                command: command.clone(),
            });
            let reply = tokio::time::timeout(FORWARD_TIMEOUT, client.apply(request))
                .await
                .map_err(|_| fail("timed out".to_string()))?;
            match reply {
                Ok(reply) => {
                    let reply = reply.into_inner();
                    return serde_json::from_slice(&reply.response)
                        .map_err(|e| fail(e.to_string()));
                }
                Err(status)
                    if crate::cluster_service::refused_as_not_leader(&status)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!(
                        leader = %leader.rpc_addr,
                        reason = status.message(),
                        "the write reached a server that no longer leads; sending it again"
                    );
                    tokio::time::sleep(NOT_LEADER_RETRY).await;
                }
                Err(status) => return Err(fail(status.message().to_string())),
            }
        }
    }
}

impl Server {
    /// Builds the shared server around an already started raft.
    pub fn new(
        config: ServerConfig,
        node_id: NodeId,
        raft: Arc<Raft>,
        state: StateStore,
        rpc_client_tls: Option<nomadish_proto::tls::RpcClientTls>,
    ) -> Self {
        let link = LeaderLink {
            raft: raft.clone(),
            tls: rpc_client_tls,
            rpc_bind: config.rpc_bind,
            conn: Arc::default(),
        };
        Self {
            auth: crate::auth::AuthState::new(&config),
            heartbeats: HeartbeatTracker::new(config.heartbeat.clone()),
            config,
            node_id,
            raft,
            state,
            broker: EvalBroker::new(),
            tunnels: TunnelRegistry::default(),
            task_ops: crate::task_ops::TaskOps::default(),
            plans: Mutex::new(None),
            started: Instant::now(),
            last_leader_contact: Arc::default(),
            elections_held: std::sync::atomic::AtomicBool::new(false),
            transferring: tokio::sync::watch::Sender::new(false),
            known_servers: Mutex::default(),
            link,
            group_commit: Default::default(),
            forwards: crate::group_commit::GroupCommit::new("nomad.rpc.forward_batch.commands"),
        }
    }

    /// Checks the caller's certificate: its role must be one of `allowed`, in this region.
    /// Without TLS on RPC there is nothing to check.
    #[allow(clippy::result_large_err)]
    pub fn authorize_rpc<T>(
        &self,
        req: &tonic::Request<T>,
        allowed: &[Role],
    ) -> Result<(), tonic::Status> {
        let tls_on = self.config.tls.as_ref().is_some_and(|t| t.rpc);
        authorize_peer(req, tls_on, allowed, &self.config.region).map(|_| ())
    }

    /// Whether this server is the raft leader.
    pub fn is_leader(&self) -> bool {
        // Read in place: every RPC asks, and a clone copies the membership and the
        // replication map.
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.node_id)
    }

    /// The current leader's ID and node, if known.
    pub fn leader(&self) -> Option<(NodeId, ServerNode)> {
        self.link.leader()
    }

    /// Every voter and learner: `(id, node, is_voter)`.
    pub fn peers(&self) -> Vec<(NodeId, ServerNode, bool)> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        membership
            .nodes()
            .map(|(id, node)| (*id, node.clone(), membership.voter_ids().any(|v| v == *id)))
            .collect()
    }

    /// Milliseconds since this server last heard from the leader (0 on the leader).
    pub fn last_contact_ms(&self) -> u64 {
        if self.is_leader() {
            return 0;
        }
        let last = self
            .last_leader_contact
            .load(std::sync::atomic::Ordering::Relaxed);
        if last == 0 {
            return 0;
        }
        let now = nomadish_proto::model::now_ns();
        ((now - last).max(0) / 1_000_000) as u64
    }

    /// A channel to the current leader, reused while the leader stays the same.
    pub async fn leader_channel(
        &self,
    ) -> Result<(ServerNode, tonic::transport::Channel), WriteError> {
        self.link.channel().await
    }

    /// Dials another server's RPC port (with TLS when configured).
    pub async fn dial(
        &self,
        addr: &str,
    ) -> Result<tonic::transport::Channel, crate::transport::DialError> {
        self.link.dial(addr).await
    }

    /// Applies a command through raft (here or on the leader). A write this server took as
    /// leader but lost the leadership before raft did (refused, or its entry replaced by the
    /// new leader's log) goes on to the new leader, as a follower's would.
    pub async fn write(&self, cmd: Command) -> Result<CommandResponse, WriteError> {
        self.wait_out_transfer().await;
        let response = if self.is_leader() {
            match self.group_commit.commit(&self.raft, cmd.clone()).await {
                Ok(response) => response,
                Err(CommitFailure::NotLeader(reason)) => {
                    tracing::debug!(%reason, "lost the leadership before the write committed; forwarding it");
                    self.forward(cmd).await?
                }
                Err(CommitFailure::Failed(message)) => return Err(WriteError::Raft(message)),
            }
        } else {
            self.forward(cmd).await?
        };
        match response.error {
            Some(e) => Err(e.into()),
            None => Ok(response),
        }
    }

    /// Holds the caller while this leader transfers its leadership (for at most
    /// [`RPC_HOLD_TIMEOUT`]); the caller then looks again at who leads.
    pub async fn wait_out_transfer(&self) {
        if !*self.transferring.borrow() {
            return;
        }
        let mut done = self.transferring.subscribe();
        let _ = tokio::time::timeout(RPC_HOLD_TIMEOUT, done.wait_for(|t| !*t)).await;
    }

    /// Sends `cmd` to the leader through the follower's batching queue.
    async fn forward(&self, cmd: Command) -> Result<CommandResponse, WriteError> {
        let start = || -> crate::group_commit::Submit<WriteError> {
            let link = self.link.clone();
            Arc::new(move |cmd| {
                let link = link.clone();
                Box::pin(async move { link.forward(cmd).await })
            })
        };
        self.forwards.submit(start, cmd).await
    }

    /// A view that reflects every write acknowledged before this call (a linearizable read).
    pub async fn consistent_view(&self) -> Result<StateView, WriteError> {
        if self.is_leader() {
            let applied = self.confirm_leadership().await?;
            let index = applied.map_or(0, |l| l.index);
            return self.view_at_least(index).await;
        }
        // Followers answer after catching up to the leader's commit index (read index).
        let (leader, channel) = self.leader_channel().await?;
        let reply = ClusterServiceClient::new(channel)
            .read_index(nomadish_proto::raft_v1::ReadIndexRequest {})
            .await
            .map_err(|s| WriteError::Forward {
                leader: leader.rpc_addr.clone(),
                message: s.message().to_string(),
            })?
            .into_inner();
        self.view_at_least(reply.index).await
    }

    /// This server's state once it has applied `index`; an error if it cannot catch up within
    /// the forward timeout (an older view would be a stale read).
    async fn view_at_least(&self, index: u64) -> Result<StateView, WriteError> {
        self.state.wait_for_index(index, FORWARD_TIMEOUT).await;
        let view = self.state.snapshot();
        if view.index < index {
            return Err(WriteError::Raft(format!(
                "this server has applied index {} and could not catch up to the read index {index} in {FORWARD_TIMEOUT:?}",
                view.index
            )));
        }
        Ok(view)
    }

    /// Confirms with a quorum that this server still leads; returns the index reads must see.
    /// A quorum check that fails while this server is still leader (a slow heartbeat round
    /// under load) is retried a few times before the read fails.
    pub async fn confirm_leadership(&self) -> Result<Option<openraft::LogId<NodeId>>, WriteError> {
        let mut attempt = 0;
        loop {
            match self.raft.ensure_linearizable().await {
                Ok(applied) => return Ok(applied),
                Err(e) if attempt < READ_INDEX_RETRIES && self.is_leader() => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "leadership check failed; retrying");
                    tokio::time::sleep(READ_INDEX_RETRY_DELAY).await;
                }
                Err(e) => return Err(WriteError::Raft(e.to_string())),
            }
        }
    }

    /// Submits a plan to the leader's plan applier and waits for the result.
    pub async fn submit_plan(&self, plan: Plan) -> Result<PlanResult, WriteError> {
        let tx = self
            .plans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(WriteError::PlanApplierGone)?;
        let (reply, rx) = oneshot::channel();
        tx.send(PlanRequest { plan, reply })
            .await
            .map_err(|_| WriteError::PlanApplierGone)?;
        rx.await.map_err(|_| WriteError::PlanApplierGone)?
    }
}
