//! The gRPC node service: what client agents call.
//!
//! Register and Heartbeat keep a node `ready`; WatchAllocations streams the node's allocations
//! from an index; UpdateAllocations records task states; Tunnel carries log streams back;
//! MigrateData relays a previous allocation's data between nodes (crate::node_migrate).
//! Every call after Register proves the node with its secret ID.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, AllocClientUpdate, Allocation, Evaluation, NODE_STATUS_READY, Node,
    NodeEvent, ServiceRegistration, now_ns, trigger,
};
use nomadish_proto::node_v1::node_service_client::NodeServiceClient;
use nomadish_proto::node_v1::node_service_server::NodeService;
use nomadish_proto::node_v1::tunnel_from_client::Msg;
use nomadish_proto::node_v1::{
    AllocationsUpdate, HeartbeatRequest, HeartbeatResponse, MigrateDataRequest, RegisterRequest,
    RegisterResponse, StreamChunk, TemplateDataReply, TemplateDataRequest, TunnelFromClient,
    TunnelToClient, UpdateAllocationsRequest, UpdateAllocationsResponse, UpdateServicesRequest,
    UpdateServicesResponse, WatchAllocationsRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::evals::{job_eval, node_ready_evals};
use crate::fsm::Command;
use crate::server::{Server, WriteError};
use crate::state::StateView;
use crate::tunnel::route_chunk;
use nomadish_proto::tls::Role;

/// Buffered messages per server stream.
const STREAM_BUFFER: usize = 16;
/// Largest message on a forwarded node RPC (a node's registration).
const MAX_FORWARDED_MESSAGE: usize = 64 * 1024 * 1024;

/// The node service of one server.
#[derive(Clone)]
pub struct NodeGrpc {
    server: Arc<Server>,
}

impl NodeGrpc {
    /// Serves node RPCs for this server.
    pub fn new(server: Arc<Server>) -> Self {
        Self { server }
    }
}

fn write_status(e: WriteError) -> Status {
    match e {
        WriteError::NoLeader | WriteError::Forward { .. } | WriteError::PlanApplierGone => {
            Status::unavailable(e.to_string())
        }
        WriteError::Apply(inner) => Status::failed_precondition(inner.to_string()),
        WriteError::Raft(_) => Status::unavailable(e.to_string()),
    }
}

/// Finds a node and checks its secret.
fn authenticate(view: &StateView, node_id: &str, secret: &str) -> Result<Arc<Node>, Status> {
    let node = view
        .nodes
        .get(node_id)
        .cloned()
        .ok_or_else(|| Status::not_found(format!("node {node_id} not found")))?;
    if node.secret_id != secret {
        return Err(Status::permission_denied("node secret ID does not match"));
    }
    Ok(node)
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

impl NodeGrpc {
    fn servers(&self) -> Vec<String> {
        self.server
            .peers()
            .into_iter()
            .map(|(_, node, _)| node.rpc_addr)
            .collect()
    }

    /// The leader's node service, for the calls only the leader can answer.
    async fn leader_client(&self) -> Result<NodeServiceClient<tonic::transport::Channel>, Status> {
        let (_, channel) = self.server.leader_channel().await.map_err(write_status)?;
        Ok(NodeServiceClient::new(channel)
            .max_decoding_message_size(MAX_FORWARDED_MESSAGE)
            .max_encoding_message_size(MAX_FORWARDED_MESSAGE))
    }

    fn heartbeat_ttl(&self, node_id: &str) -> Result<Duration, Status> {
        if !self.server.is_leader() {
            return Err(Status::unavailable(
                "not the leader; heartbeats go to the leader",
            ));
        }
        let nodes = self.server.state.snapshot().nodes.len();
        Ok(self.server.heartbeats.reset(node_id, nodes))
    }

    /// Allocations of the node changed since `since`, and every allocation ID it has.
    fn node_update(
        view: &StateView,
        node_id: &str,
        since: u64,
    ) -> Result<AllocationsUpdate, Status> {
        let allocs = view.node_allocs(node_id);
        let changed: Vec<&Allocation> = allocs
            .iter()
            .filter(|a| since == 0 || a.alloc_modify_index > since)
            .map(|a| a.as_ref())
            .collect();
        let allocs_json =
            serde_json::to_vec(&changed).map_err(|e| Status::internal(e.to_string()))?;
        Ok(AllocationsUpdate {
            index: view.index,
            allocs_json,
            alloc_ids: allocs.iter().map(|a| a.id.clone()).collect(),
        })
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl NodeService for NodeGrpc {
    async fn register(
        &self,
        req: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        if !self.server.is_leader() {
            return self.leader_client().await?.register(req.into_inner()).await;
        }
        let mut node: Node = serde_json::from_slice(&req.into_inner().node_json)
            .map_err(|e| Status::invalid_argument(format!("malformed node: {e}")))?;
        if node.id.is_empty() || node.secret_id.is_empty() {
            return Err(Status::invalid_argument(
                "node ID and secret ID are required",
            ));
        }
        let view = self.server.state.snapshot();
        let existing = view.nodes.get(&node.id).cloned();
        if let Some(old) = &existing
            && old.secret_id != node.secret_id
        {
            return Err(Status::permission_denied("node secret ID does not match"));
        }
        let now = now_ns();
        node.status = NODE_STATUS_READY.to_string();
        let evals = match &existing {
            Some(old) if old.status == NODE_STATUS_READY => Vec::new(),
            _ => node_ready_evals(&view, &node.id, existing.is_some(), now),
        };
        let node_id = node.id.clone();
        let resp = self
            .server
            .write(Command::UpsertNode { node, evals, now })
            .await
            .map_err(write_status)?;
        let ttl = self.heartbeat_ttl(&node_id)?;
        tracing::info!(node = %node_id, "node registered");
        Ok(Response::new(RegisterResponse {
            heartbeat_ttl_ms: ms(ttl),
            index: resp.index,
            servers: self.servers(),
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        if !self.server.is_leader() {
            return self
                .leader_client()
                .await?
                .heartbeat(req.into_inner())
                .await;
        }
        let started = std::time::Instant::now();
        let req = req.into_inner();
        let view = self.server.state.snapshot();
        let node = authenticate(&view, &req.node_id, &req.secret_id)?;
        let ttl = self.heartbeat_ttl(&node.id)?;
        let mut index = view.index;
        if node.status != NODE_STATUS_READY {
            let now = now_ns();
            let cmd = Command::UpdateNodeStatus {
                node_id: node.id.clone(),
                status: NODE_STATUS_READY.to_string(),
                event: Some(NodeEvent {
                    message: "Node heartbeat received".to_string(),
                    subsystem: "Cluster".to_string(),
                    timestamp: now,
                    ..NodeEvent::default()
                }),
                evals: node_ready_evals(&view, &node.id, true, now),
                now,
            };
            index = self.server.write(cmd).await.map_err(write_status)?.index;
        }
        crate::metrics::measure_since("nomad.nomad.client.update_status", &[], started);
        Ok(Response::new(HeartbeatResponse {
            heartbeat_ttl_ms: ms(ttl),
            index,
            servers: self.servers(),
            leader: self
                .server
                .leader()
                .map(|(_, n)| n.rpc_addr)
                .unwrap_or_default(),
        }))
    }

    type WatchAllocationsStream = BoxStream<AllocationsUpdate>;

    async fn watch_allocations(
        &self,
        req: Request<WatchAllocationsRequest>,
    ) -> Result<Response<Self::WatchAllocationsStream>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        let req = req.into_inner();
        authenticate(&self.server.state.snapshot(), &req.node_id, &req.secret_id)?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let state = self.server.state.clone();
        let node_id = req.node_id;
        let mut since = req.min_index;
        tokio::spawn(async move {
            let mut changes = state.subscribe_node(&node_id);
            let mut first = true;
            loop {
                // Most changes concern other nodes: look at this node's index before
                // copying the view.
                if first || state.node_alloc_index(&node_id) > since {
                    let view = state.snapshot();
                    let update = NodeGrpc::node_update(&view, &node_id, since);
                    let failed = update.is_err();
                    if tx.send(update).await.is_err() || failed {
                        return;
                    }
                    since = since.max(view.index);
                    first = false;
                }
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn update_allocations(
        &self,
        req: Request<UpdateAllocationsRequest>,
    ) -> Result<Response<UpdateAllocationsResponse>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        let req = req.into_inner();
        let view = self.server.state.snapshot();
        authenticate(&view, &req.node_id, &req.secret_id)?;
        let updates: Vec<AllocClientUpdate> = serde_json::from_slice(&req.updates_json)
            .map_err(|e| Status::invalid_argument(format!("malformed allocation updates: {e}")))?;
        let now = now_ns();
        let mut evals = Vec::new();
        let mut ours = Vec::with_capacity(updates.len());
        for update in updates {
            let Some(alloc) = view.allocs.get(&update.id) else {
                continue;
            };
            if alloc.node_id != req.node_id {
                return Err(Status::permission_denied(format!(
                    "allocation {} does not belong to this node",
                    update.id
                )));
            }
            let newly_failed = update.client_status == ALLOC_CLIENT_FAILED
                && alloc.client_status != ALLOC_CLIENT_FAILED
                && !alloc.server_terminal();
            if newly_failed
                && let Some(job) = view.job(&alloc.namespace, &alloc.job_id)
                && !job.stop
                && !evals
                    .iter()
                    .any(|e: &Evaluation| e.job_id == job.id && e.namespace == job.namespace)
            {
                evals.push(job_eval(&job, trigger::ALLOC_FAILURE, now));
            }
            ours.push(update);
        }
        if ours.is_empty() {
            return Ok(Response::new(UpdateAllocationsResponse {
                index: view.index,
            }));
        }
        let resp = self
            .server
            .write(Command::UpdateAllocsFromClient {
                updates: ours,
                evals,
                now,
            })
            .await
            .map_err(write_status)?;
        Ok(Response::new(UpdateAllocationsResponse {
            index: resp.index,
        }))
    }

    async fn update_services(
        &self,
        req: Request<UpdateServicesRequest>,
    ) -> Result<Response<UpdateServicesResponse>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        let req = req.into_inner();
        let view = self.server.state.snapshot();
        authenticate(&view, &req.node_id, &req.secret_id)?;
        let registrations: Vec<ServiceRegistration> =
            serde_json::from_slice(&req.registrations_json).map_err(|e| {
                Status::invalid_argument(format!("malformed service registrations: {e}"))
            })?;
        match view.allocs.get(&req.alloc_id) {
            Some(alloc) if alloc.node_id != req.node_id => {
                return Err(Status::permission_denied(format!(
                    "allocation {} does not belong to this node",
                    req.alloc_id
                )));
            }
            None if registrations.is_empty() => {
                return Ok(Response::new(UpdateServicesResponse { index: view.index }));
            }
            _ => {}
        }
        if registrations.iter().any(|r| r.node_id != req.node_id) {
            return Err(Status::invalid_argument(
                "service registrations must name the calling node",
            ));
        }
        let resp = self
            .server
            .write(Command::UpsertServiceRegistrations {
                alloc_id: req.alloc_id,
                registrations,
            })
            .await
            .map_err(write_status)?;
        Ok(Response::new(UpdateServicesResponse { index: resp.index }))
    }

    type TunnelStream = BoxStream<TunnelToClient>;

    async fn tunnel(
        &self,
        req: Request<Streaming<TunnelFromClient>>,
    ) -> Result<Response<Self::TunnelStream>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        let mut inbound = req.into_inner();
        let hello = match inbound.message().await? {
            Some(TunnelFromClient {
                msg: Some(Msg::Hello(h)),
            }) => h,
            _ => return Err(Status::invalid_argument("a tunnel starts with hello")),
        };
        authenticate(
            &self.server.state.snapshot(),
            &hello.node_id,
            &hello.secret_id,
        )?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let registry = self.server.tunnels.clone();
        let (session, streams) = registry.register(&hello.node_id, tx);
        let node_id = hello.node_id;
        let task_ops = self.server.task_ops.clone();
        tokio::spawn(async move {
            while let Ok(Some(msg)) = inbound.message().await {
                match msg.msg {
                    Some(Msg::Chunk(chunk)) => route_chunk(&streams, chunk).await,
                    // Exec output and signal/restart replies (crate::task_ops).
                    Some(other) => {
                        task_ops.route(&other).await;
                    }
                    None => {}
                }
            }
            registry.unregister(&node_id, session);
            if !registry.connected(&node_id) {
                task_ops.node_gone(&node_id);
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn template_data(
        &self,
        req: Request<TemplateDataRequest>,
    ) -> Result<Response<TemplateDataReply>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        crate::node_template::template_data(&self.server, req.into_inner())
            .await
            .map(Response::new)
    }

    type MigrateDataStream = BoxStream<StreamChunk>;

    async fn migrate_data(
        &self,
        req: Request<MigrateDataRequest>,
    ) -> Result<Response<Self::MigrateDataStream>, Status> {
        self.server
            .authorize_rpc(&req, &[Role::Client, Role::Server])?;
        let chunks = crate::node_migrate::migrate_data(&self.server, req.into_inner()).await?;
        let stream = ReceiverStream::new(chunks).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }
}
