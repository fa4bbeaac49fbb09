//! An in-process fake of the servers' NodeService: records registrations, heartbeats and
//! allocation updates, pushes allocations through `WatchAllocations` like a server would,
//! and can ask the client for logs through the tunnel.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::model::{AllocClientUpdate, Allocation, Node};
use nomadish_proto::node_v1::node_service_server::{NodeService, NodeServiceServer};
use nomadish_proto::node_v1::{
    AllocationsUpdate, HeartbeatRequest, HeartbeatResponse, LogRequest, RegisterRequest,
    RegisterResponse, StreamChunk, TemplateDataReply, TemplateDataRequest, TunnelFromClient,
    TunnelToClient, UpdateAllocationsRequest, UpdateAllocationsResponse, WatchAllocationsRequest,
    tunnel_from_client, tunnel_to_client,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

/// The TTL the fake hands out: short, so tests see several heartbeats.
pub const HEARTBEAT_TTL: Duration = Duration::from_millis(400);

/// What the fake server has seen and holds.
#[derive(Debug, Default)]
pub struct Recorded {
    pub registrations: Vec<Node>,
    pub heartbeats: u64,
    /// Every allocation update received, in order.
    pub updates: Vec<AllocClientUpdate>,
    /// The server's allocations for the node.
    pub allocs: BTreeMap<String, Allocation>,
    pub index: u64,
    /// Chunks received through the tunnel, by stream ID.
    pub chunks: BTreeMap<u64, Vec<StreamChunk>>,
    pub tunnels_opened: u64,
    /// When set, heartbeats answer NotFound (the server "forgot" the node).
    pub forget_node: bool,
    /// `min_index` of every WatchAllocations call.
    pub watch_requests: Vec<u64>,
    /// How many UpdateAllocations calls to refuse (Unavailable) before accepting again.
    pub reject_updates: u32,
    pub rejected_updates: u32,
}

impl Recorded {
    /// The most recent update for an allocation.
    pub fn latest(&self, alloc_id: &str) -> Option<&AllocClientUpdate> {
        self.updates.iter().rev().find(|u| u.id == alloc_id)
    }
}

/// The server's end of an open tunnel.
type TunnelSender = mpsc::Sender<Result<TunnelToClient, Status>>;

#[derive(Clone)]
struct FakeNode {
    state: Arc<Mutex<Recorded>>,
    alloc_changes: watch::Sender<u64>,
    /// Bumped to end every open WatchAllocations stream.
    stream_generation: watch::Sender<u64>,
    tunnel: Arc<Mutex<Option<TunnelSender>>>,
}

/// A running fake server.
pub struct FakeServer {
    pub addr: SocketAddr,
    node: FakeNode,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<()>>,
}

impl FakeServer {
    /// Starts the fake on 127.0.0.1 with an OS-assigned port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let node = FakeNode {
            state: Arc::default(),
            alloc_changes: watch::channel(0).0,
            stream_generation: watch::channel(0).0,
            tunnel: Arc::default(),
        };
        let (shutdown, rx) = oneshot::channel();
        let svc = NodeServiceServer::new(node.clone());
        let join = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            node,
            shutdown: Some(shutdown),
            join: Some(join),
        }
    }

    /// Reads the recorded state.
    pub fn with<T>(&self, f: impl FnOnce(&Recorded) -> T) -> T {
        f(&self.node.state.lock().unwrap())
    }

    /// Changes the recorded state.
    pub fn modify<T>(&self, f: impl FnOnce(&mut Recorded) -> T) -> T {
        f(&mut self.node.state.lock().unwrap())
    }

    /// Adds or changes an allocation, as the plan applier would: a new index, pushed to the
    /// client's watch stream.
    pub fn upsert_alloc(&self, mut alloc: Allocation) {
        let index = self.modify(|s| {
            s.index += 1;
            alloc.alloc_modify_index = s.index;
            alloc.modify_index = s.index;
            if alloc.create_index == 0 {
                alloc.create_index = s.index;
            }
            s.allocs.insert(alloc.id.clone(), alloc);
            s.index
        });
        self.node.alloc_changes.send_replace(index);
    }

    /// Sets an allocation's desired status (e.g. `stop`).
    pub fn set_desired(&self, alloc_id: &str, desired: &str) {
        let mut alloc = self.with(|s| s.allocs[alloc_id].clone());
        alloc.desired_status = desired.to_string();
        self.upsert_alloc(alloc);
    }

    /// Removes an allocation (as server GC would); the client sees its ID disappear.
    pub fn remove_alloc(&self, alloc_id: &str) {
        let index = self.modify(|s| {
            s.allocs.remove(alloc_id);
            s.index += 1;
            s.index
        });
        self.node.alloc_changes.send_replace(index);
    }

    /// Ends every open WatchAllocations stream (the client must reconnect).
    pub fn break_watch_streams(&self) {
        self.node.stream_generation.send_modify(|g| *g += 1);
    }

    /// Closes the tunnel from the server side (the client must reopen it).
    pub fn close_tunnel(&self) {
        *self.node.tunnel.lock().unwrap() = None;
    }

    /// Sends a log request through the tunnel (the client must have opened it).
    pub fn request_logs(&self, req: LogRequest) {
        let tx = self
            .node
            .tunnel
            .lock()
            .unwrap()
            .clone()
            .expect("tunnel is open");
        let msg = TunnelToClient {
            msg: Some(tunnel_to_client::Msg::Logs(req)),
        };
        tx.try_send(Ok(msg)).expect("tunnel has room");
    }

    /// Cancels a log stream through the tunnel.
    pub fn cancel_logs(&self, stream_id: u64) {
        let tx = self
            .node
            .tunnel
            .lock()
            .unwrap()
            .clone()
            .expect("tunnel is open");
        let msg = TunnelToClient {
            msg: Some(tunnel_to_client::Msg::Cancel(
                nomadish_proto::node_v1::CancelStream { stream_id },
            )),
        };
        tx.try_send(Ok(msg)).expect("tunnel has room");
    }

    /// Whether a tunnel is open.
    pub fn tunnel_open(&self) -> bool {
        self.node
            .tunnel
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|t| !t.is_closed())
    }

    /// Stops serving.
    pub async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        *self.node.tunnel.lock().unwrap() = None;
        if let Some(j) = self.join.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), j).await;
        }
    }
}

fn check_secret(state: &Recorded, node_id: &str, secret: &str) -> Result<(), Status> {
    match state.registrations.iter().rev().find(|n| n.id == node_id) {
        Some(n) if n.secret_id == secret => Ok(()),
        Some(_) => Err(Status::permission_denied("wrong secret")),
        None => Err(Status::not_found("node not registered")),
    }
}

#[tonic::async_trait]
impl NodeService for FakeNode {
    async fn register(
        &self,
        req: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let node: Node = serde_json::from_slice(&req.get_ref().node_json)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let mut s = self.state.lock().unwrap();
        s.forget_node = false;
        s.registrations.push(node);
        Ok(Response::new(RegisterResponse {
            heartbeat_ttl_ms: HEARTBEAT_TTL.as_millis() as u64,
            index: s.index,
            servers: vec![],
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let mut s = self.state.lock().unwrap();
        if s.forget_node {
            return Err(Status::not_found("node not found"));
        }
        check_secret(&s, &req.get_ref().node_id, &req.get_ref().secret_id)?;
        s.heartbeats += 1;
        Ok(Response::new(HeartbeatResponse {
            heartbeat_ttl_ms: HEARTBEAT_TTL.as_millis() as u64,
            index: s.index,
            servers: vec![],
            leader: String::new(),
        }))
    }

    type WatchAllocationsStream = ReceiverStream<Result<AllocationsUpdate, Status>>;

    async fn watch_allocations(
        &self,
        req: Request<WatchAllocationsRequest>,
    ) -> Result<Response<Self::WatchAllocationsStream>, Status> {
        let req = req.into_inner();
        {
            let mut s = self.state.lock().unwrap();
            check_secret(&s, &req.node_id, &req.secret_id)?;
            s.watch_requests.push(req.min_index);
        }
        let (tx, rx) = mpsc::channel(16);
        let state = self.state.clone();
        let mut changes = self.alloc_changes.subscribe();
        let mut generation = self.stream_generation.subscribe();
        generation.mark_unchanged();
        tokio::spawn(async move {
            let mut sent = req.min_index;
            let mut sent_ids: Option<Vec<String>> = None;
            loop {
                let update = {
                    let s = state.lock().unwrap();
                    let changed: Vec<&Allocation> = s
                        .allocs
                        .values()
                        .filter(|a| a.alloc_modify_index > sent)
                        .collect();
                    let ids: Vec<String> = s.allocs.keys().cloned().collect();
                    let ids_changed = sent_ids.as_ref() != Some(&ids);
                    sent_ids = Some(ids.clone());
                    (ids_changed || !changed.is_empty()).then(|| AllocationsUpdate {
                        index: s.index,
                        allocs_json: serde_json::to_vec(&changed).unwrap(),
                        alloc_ids: ids,
                    })
                };
                if let Some(update) = update {
                    sent = update.index;
                    if tx.send(Ok(update)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    _ = generation.changed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn update_services(
        &self,
        req: Request<nomadish_proto::node_v1::UpdateServicesRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::UpdateServicesResponse>, Status> {
        let req = req.into_inner();
        let s = self.state.lock().unwrap();
        check_secret(&s, &req.node_id, &req.secret_id)?;
        Ok(Response::new(
            nomadish_proto::node_v1::UpdateServicesResponse { index: s.index },
        ))
    }

    async fn update_allocations(
        &self,
        req: Request<UpdateAllocationsRequest>,
    ) -> Result<Response<UpdateAllocationsResponse>, Status> {
        let req = req.into_inner();
        let updates: Vec<AllocClientUpdate> = serde_json::from_slice(&req.updates_json)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let mut s = self.state.lock().unwrap();
        check_secret(&s, &req.node_id, &req.secret_id)?;
        if s.reject_updates > 0 {
            s.reject_updates -= 1;
            s.rejected_updates += 1;
            return Err(Status::unavailable("not now"));
        }
        s.index += 1;
        for u in updates {
            if let Some(a) = s.allocs.get_mut(&u.id) {
                a.client_status = u.client_status.clone();
                a.client_description = u.client_description.clone();
                a.task_states = u.task_states.clone();
            }
            s.updates.push(u);
        }
        Ok(Response::new(UpdateAllocationsResponse { index: s.index }))
    }

    type TunnelStream = ReceiverStream<Result<TunnelToClient, Status>>;

    async fn tunnel(
        &self,
        req: Request<Streaming<TunnelFromClient>>,
    ) -> Result<Response<Self::TunnelStream>, Status> {
        let mut inbound = req.into_inner();
        let hello = match inbound.message().await? {
            Some(TunnelFromClient {
                msg: Some(tunnel_from_client::Msg::Hello(h)),
            }) => h,
            _ => return Err(Status::invalid_argument("tunnel must start with hello")),
        };
        check_secret(
            &self.state.lock().unwrap(),
            &hello.node_id,
            &hello.secret_id,
        )?;
        let (tx, rx) = mpsc::channel(16);
        *self.tunnel.lock().unwrap() = Some(tx);
        self.state.lock().unwrap().tunnels_opened += 1;
        let state = self.state.clone();
        tokio::spawn(async move {
            while let Ok(Some(msg)) = inbound.message().await {
                if let Some(tunnel_from_client::Msg::Chunk(c)) = msg.msg {
                    state
                        .lock()
                        .unwrap()
                        .chunks
                        .entry(c.stream_id)
                        .or_default()
                        .push(c);
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn template_data(
        &self,
        _req: Request<TemplateDataRequest>,
    ) -> Result<Response<TemplateDataReply>, Status> {
        Err(Status::unimplemented(
            "the fake server has no template data",
        ))
    }

    type MigrateDataStream = ReceiverStream<Result<nomadish_proto::node_v1::StreamChunk, Status>>;

    async fn migrate_data(
        &self,
        _req: Request<nomadish_proto::node_v1::MigrateDataRequest>,
    ) -> Result<Response<Self::MigrateDataStream>, Status> {
        Err(Status::unimplemented(
            "the fake server relays no migrated data",
        ))
    }
}
