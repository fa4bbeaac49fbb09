//! A light in-process node simulator: N fake client nodes that register over the real gRPC
//! node service (plaintext), heartbeat, watch their allocations and report them `running`
//! at once without running anything.
//!
//! ```text
//!   per node:  Register ──> heartbeat loop (every TTL / 2)
//!                      └──> WatchAllocations stream ──> new allocations (desired run, pending)
//!                             ──> record (job, first seen) ──> queue
//!                      └──> queue ──> UpdateAllocations { running } (all queued at once)
//! ```
//!
//! Nodes share a few gRPC channels (HTTP/2 multiplexes the streams), plaintext or with the
//! client certificate of a test PKI ([`Simulator::start_cluster`]). Registration, streams and
//! updates go to the first server given (followers forward what only the leader can do);
//! heartbeats, which only the leader answers, travel on channels of their own to the server
//! that last said it leads, and move to the next server when one fails, as real clients do.
//! [`SimStats`] records, per job, how many allocations reached their nodes and when the last
//! one did, and counts heartbeats.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nomadish_proto::model::{
    ALLOC_CLIENT_PENDING, ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_RUN, AllocClientUpdate, Allocation,
    DriverInfo, Node, NodeCpuResources, NodeDiskResources, NodeMemoryResources, NodeResources,
    TASK_STATE_RUNNING, TaskState, generate_id, now_ns, rfc3339,
};
use nomadish_proto::node_v1::node_service_client::NodeServiceClient;
use nomadish_proto::node_v1::{
    HeartbeatRequest, RegisterRequest, UpdateAllocationsRequest, WatchAllocationsRequest,
};
use nomadish_proto::tls::RpcClientTls;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};

/// Simulated nodes sharing one gRPC connection. Real clients each have their own; sharing
/// one connection among hundreds of long-lived allocation streams stalls heartbeats behind
/// HTTP/2 stream limits and flow control (every node then misses its TTL), so keep it small.
const NODES_PER_CHANNEL: usize = 4;
/// Simulated nodes sharing one heartbeat connection (small unary calls only).
const BEATS_PER_CHANNEL: usize = 64;
/// Registrations in flight at once.
const REGISTER_CONCURRENCY: usize = 64;
/// Longest wait for one RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause before a node retries a failed call or re-opens its stream.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// What each simulated node offers.
#[derive(Debug, Clone)]
pub struct SimNodeSpec {
    /// CPU in MHz.
    pub cpu: i64,
    /// Memory in MB.
    pub memory_mb: i64,
    /// Disk in MB.
    pub disk_mb: i64,
}

impl Default for SimNodeSpec {
    fn default() -> Self {
        Self {
            cpu: 8000,
            memory_mb: 16384,
            disk_mb: 200_000,
        }
    }
}

/// Per job: allocations delivered to nodes, and when the latest arrived; heartbeats.
#[derive(Debug, Default)]
pub struct SimStats {
    jobs: Mutex<HashMap<String, (usize, Option<Instant>)>>,
    beats: AtomicU64,
    failed_beats: AtomicU64,
    /// Allocation updates the servers refused or did not answer (each is sent again).
    failed_acks: AtomicU64,
    /// Allocations the servers acknowledged as `running`, and when the latest was.
    acked: Mutex<(usize, Option<Instant>)>,
}

impl SimStats {
    /// Heartbeats answered, and heartbeats that failed, so far.
    pub fn heartbeats(&self) -> (u64, u64) {
        (
            self.beats.load(Ordering::Relaxed),
            self.failed_beats.load(Ordering::Relaxed),
        )
    }

    /// Allocation update calls that failed and were sent again, so far.
    pub fn failed_acks(&self) -> u64 {
        self.failed_acks.load(Ordering::Relaxed)
    }

    fn record(&self, job: &str, n: usize) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let entry = jobs.entry(job.to_string()).or_default();
        entry.0 += n;
        entry.1 = Some(Instant::now());
    }

    /// How many allocations of `job` reached their nodes, and when the last one did.
    pub fn job(&self, job: &str) -> (usize, Option<Instant>) {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.get(job).copied().unwrap_or_default()
    }

    fn record_acked(&self, n: usize) {
        let mut acked = self.acked.lock().unwrap_or_else(|e| e.into_inner());
        acked.0 += n;
        acked.1 = Some(Instant::now());
    }

    /// Allocations whose `running` update the servers accepted (committed), and when the
    /// latest acceptance arrived.
    pub fn acked(&self) -> (usize, Option<Instant>) {
        *self.acked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocations delivered in total.
    pub fn total(&self) -> usize {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.values().map(|(n, _)| n).sum()
    }
}

/// A running simulator; dropping it (or [`Simulator::stop`]) ends every node.
pub struct Simulator {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    /// What the nodes saw.
    pub stats: Arc<SimStats>,
}

impl Simulator {
    /// Registers `count` nodes with the server at `rpc_addr` (host:port) and keeps them alive.
    pub async fn start(rpc_addr: &str, count: usize, spec: SimNodeSpec) -> anyhow::Result<Self> {
        Self::start_cluster(&[rpc_addr.to_string()], count, spec, None).await
    }

    /// Like [`Simulator::start`] against the servers at `servers` (RPC addresses; the first
    /// one, best the leader, gets the registrations and streams), over mutual TLS when `tls`
    /// is given (see `Pki::rpc_client_tls`).
    pub async fn start_cluster(
        servers: &[String],
        count: usize,
        spec: SimNodeSpec,
        tls: Option<&RpcClientTls>,
    ) -> anyhow::Result<Self> {
        let first = servers
            .first()
            .ok_or_else(|| anyhow::anyhow!("no server to simulate nodes against"))?;
        let endpoint = sim_endpoint(first, tls)?;
        let mut channels = Vec::new();
        for _ in 0..count.div_ceil(NODES_PER_CHANNEL).max(1) {
            channels.push(endpoint.connect().await?);
        }
        let route = Arc::new(BeatRoute::new(servers, count, tls)?);
        let (shutdown, rx) = watch::channel(false);
        let stats = Arc::new(SimStats::default());
        let gate = Arc::new(Semaphore::new(REGISTER_CONCURRENCY));
        let mut tasks = JoinSet::new();
        for i in 0..count {
            let client = NodeServiceClient::new(channels[i / NODES_PER_CHANNEL].clone())
                .max_decoding_message_size(usize::MAX);
            let node = sim_node(i, &spec);
            let (rx, stats, gate, route) = (rx.clone(), stats.clone(), gate.clone(), route.clone());
            let beat = (route, i);
            tasks.spawn(async move { run_node(client, node, gate, beat, stats, rx).await });
        }
        Ok(Self {
            shutdown,
            tasks,
            stats,
        })
    }

    /// Stops every node and waits for them.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn sim_endpoint(addr: &str, tls: Option<&RpcClientTls>) -> anyhow::Result<Endpoint> {
    let endpoint = match tls {
        Some(tls) => tls.endpoint(addr)?,
        None => Endpoint::from_shared(format!("http://{addr}"))?,
    };
    Ok(endpoint.timeout(RPC_TIMEOUT).http2_adaptive_window(true))
}

/// Where heartbeats go: lazily connected channels to every server, and the one believed to
/// lead.
struct BeatRoute {
    servers: Vec<String>,
    channels: Vec<Vec<Channel>>,
    leader: AtomicUsize,
}

impl BeatRoute {
    fn new(servers: &[String], count: usize, tls: Option<&RpcClientTls>) -> anyhow::Result<Self> {
        let per_server = count.div_ceil(BEATS_PER_CHANNEL).max(1);
        let mut channels = Vec::new();
        for addr in servers {
            let endpoint = sim_endpoint(addr, tls)?;
            channels.push((0..per_server).map(|_| endpoint.connect_lazy()).collect());
        }
        Ok(Self {
            servers: servers.to_vec(),
            channels,
            leader: AtomicUsize::new(0),
        })
    }

    /// The server to ask now, and a client for node `node` on it.
    fn client(&self, node: usize) -> (usize, Client) {
        let server = self.leader.load(Ordering::Relaxed) % self.servers.len();
        let channels = &self.channels[server];
        let client = NodeServiceClient::new(channels[node % channels.len()].clone());
        (server, client)
    }

    /// A heartbeat answered, naming the leader (an RPC address).
    fn answered(&self, leader: &str) {
        if let Some(i) = self.servers.iter().position(|s| s == leader) {
            self.leader.store(i, Ordering::Relaxed);
        }
    }

    /// A heartbeat to `server` failed: try the next one (unless another node moved on already).
    fn failed(&self, server: usize) {
        let next = (server + 1) % self.servers.len();
        let _ = self
            .leader
            .compare_exchange(server, next, Ordering::Relaxed, Ordering::Relaxed);
    }
}

fn sim_node(i: usize, spec: &SimNodeSpec) -> Node {
    let mut drivers = BTreeMap::new();
    drivers.insert(
        "raw_exec".to_string(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..DriverInfo::default()
        },
    );
    let mut attributes = BTreeMap::new();
    attributes.insert("kernel.name".to_string(), "linux".to_string());
    attributes.insert("driver.raw_exec".to_string(), "1".to_string());
    Node {
        id: generate_id(),
        secret_id: generate_id(),
        name: format!("sim-{i}"),
        datacenter: "dc1".to_string(),
        node_pool: "default".to_string(),
        attributes,
        drivers,
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: spec.cpu,
                ..NodeCpuResources::default()
            },
            memory: NodeMemoryResources {
                memory_mb: spec.memory_mb,
            },
            disk: NodeDiskResources {
                disk_mb: spec.disk_mb,
            },
            ..NodeResources::default()
        },
        ..Node::default()
    }
}

type Client = NodeServiceClient<Channel>;

async fn run_node(
    mut client: Client,
    node: Node,
    gate: Arc<Semaphore>,
    beat: (Arc<BeatRoute>, usize),
    stats: Arc<SimStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let ttl = {
        let _permit = gate.acquire().await;
        loop {
            let req = RegisterRequest {
                node_json: serde_json::to_vec(&node).unwrap_or_default(),
            };
            match client.register(req).await {
                Ok(r) => break Duration::from_millis(r.into_inner().heartbeat_ttl_ms.max(1000)),
                Err(_) if !*shutdown.borrow() => tokio::time::sleep(RETRY_DELAY).await,
                Err(_) => return,
            }
        }
    };
    let beat = heartbeat(beat, node.clone(), ttl, &stats, shutdown.clone());
    // The stream is read while updates are in flight: an unread stream would hold the
    // connection's HTTP/2 window, and the update's reply behind it.
    let (acks, queued) = mpsc::unbounded_channel();
    let watch = watch_allocs(client.clone(), node.clone(), &stats, acks, shutdown.clone());
    let report = report_running(client, &node, &stats, queued);
    tokio::select! {
        _ = beat => {}
        _ = watch => {}
        _ = report => {}
        _ = shutdown.changed() => {}
    }
}

/// Heartbeats every TTL / 2 to the leader as `route` knows it; after a failure, at once to
/// the next server (paced by [`RETRY_DELAY`]).
async fn heartbeat(
    (route, index): (Arc<BeatRoute>, usize),
    node: Node,
    ttl: Duration,
    stats: &SimStats,
    shutdown: watch::Receiver<bool>,
) {
    let mut pause = ttl / 2;
    while !*shutdown.borrow() {
        tokio::time::sleep(pause).await;
        let req = HeartbeatRequest {
            node_id: node.id.clone(),
            secret_id: node.secret_id.clone(),
        };
        let (server, mut client) = route.client(index);
        match client.heartbeat(req).await {
            Ok(r) => {
                let r = r.into_inner();
                stats.beats.fetch_add(1, Ordering::Relaxed);
                route.answered(&r.leader);
                pause = Duration::from_millis(r.heartbeat_ttl_ms.max(1000)) / 2;
            }
            Err(_) => {
                stats.failed_beats.fetch_add(1, Ordering::Relaxed);
                route.failed(server);
                pause = RETRY_DELAY;
            }
        }
    }
}

/// Follows the node's allocations; each one seen new is recorded and queued on `acks`.
async fn watch_allocs(
    mut client: Client,
    node: Node,
    stats: &SimStats,
    acks: mpsc::UnboundedSender<Vec<AllocClientUpdate>>,
    shutdown: watch::Receiver<bool>,
) {
    let mut min_index = 0;
    let mut acked: std::collections::HashSet<String> = Default::default();
    while !*shutdown.borrow() {
        let req = WatchAllocationsRequest {
            node_id: node.id.clone(),
            secret_id: node.secret_id.clone(),
            min_index,
        };
        let Ok(resp) = client.watch_allocations(req).await else {
            tokio::time::sleep(RETRY_DELAY).await;
            continue;
        };
        let mut stream = resp.into_inner();
        while let Ok(Some(update)) = stream.message().await {
            min_index = min_index.max(update.index);
            let allocs: Vec<Allocation> =
                serde_json::from_slice(&update.allocs_json).unwrap_or_default();
            let fresh: Vec<&Allocation> = allocs
                .iter()
                .filter(|a| a.desired_status == ALLOC_DESIRED_RUN)
                .filter(|a| a.client_status == ALLOC_CLIENT_PENDING || a.client_status.is_empty())
                .filter(|a| acked.insert(a.id.clone()))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let mut per_job: HashMap<&str, usize> = HashMap::new();
            for a in &fresh {
                *per_job.entry(a.job_id.as_str()).or_default() += 1;
            }
            for (job, n) in per_job {
                stats.record(job, n);
            }
            if acks.send(running_updates(&fresh)).is_err() {
                return;
            }
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Reports queued allocations `running`, everything queued meanwhile in one call.
async fn report_running(
    mut client: Client,
    node: &Node,
    stats: &SimStats,
    mut queued: mpsc::UnboundedReceiver<Vec<AllocClientUpdate>>,
) {
    while let Some(mut updates) = queued.recv().await {
        while let Ok(more) = queued.try_recv() {
            updates.extend(more);
        }
        let n = updates.len();
        acknowledge(&mut client, node, stats, updates).await;
        stats.record_acked(n);
    }
}

/// The updates saying `allocs` run, every task started now.
fn running_updates(allocs: &[&Allocation]) -> Vec<AllocClientUpdate> {
    let started = rfc3339(now_ns());
    allocs
        .iter()
        .map(|a| {
            let tasks = a
                .job
                .as_ref()
                .and_then(|j| j.group(&a.task_group))
                .map(|g| g.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default();
            let task_states = tasks
                .into_iter()
                .map(|t| {
                    let state = TaskState {
                        state: TASK_STATE_RUNNING.to_string(),
                        started_at: Some(started.clone()),
                        ..TaskState::default()
                    };
                    (t, state)
                })
                .collect();
            AllocClientUpdate {
                id: a.id.clone(),
                client_status: ALLOC_CLIENT_RUNNING.to_string(),
                client_description: "simulated".to_string(),
                task_states,
                deployment_status: None,
            }
        })
        .collect()
}

/// Sends `updates` until the servers accept (commit) them, as a real client does: a failed
/// call is counted and sent again after [`RETRY_DELAY`]. The node's task, and so this loop,
/// ends when the simulator stops.
async fn acknowledge(
    client: &mut Client,
    node: &Node,
    stats: &SimStats,
    updates: Vec<AllocClientUpdate>,
) {
    let req = UpdateAllocationsRequest {
        node_id: node.id.clone(),
        secret_id: node.secret_id.clone(),
        updates_json: serde_json::to_vec(&updates).unwrap_or_default(),
    };
    while client.update_allocations(req.clone()).await.is_err() {
        stats.failed_acks.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(RETRY_DELAY).await;
    }
}
