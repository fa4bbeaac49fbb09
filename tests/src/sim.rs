//! A light in-process node simulator: N fake client nodes that register over the real gRPC
//! node service (plaintext), heartbeat, watch their allocations and report them `running`
//! at once without running anything.
//!
//! ```text
//!   per node:  Register ──> heartbeat loop (every TTL / 2)
//!                      └──> WatchAllocations stream ──> new allocations (desired run, pending)
//!                             ──> UpdateAllocations { running } + record (job, first seen)
//! ```
//!
//! Nodes share a few gRPC channels (HTTP/2 multiplexes the streams). [`SimStats`] records,
//! per job, how many allocations reached their nodes and when the last one did.

use std::collections::{BTreeMap, HashMap};
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
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};

/// Simulated nodes sharing one gRPC connection. Real clients each have their own; sharing
/// one connection among hundreds of long-lived allocation streams stalls heartbeats behind
/// HTTP/2 stream limits and flow control (every node then misses its TTL), so keep it small.
const NODES_PER_CHANNEL: usize = 4;
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

/// Per job: allocations delivered to nodes, and when the latest arrived.
#[derive(Debug, Default)]
pub struct SimStats {
    jobs: Mutex<HashMap<String, (usize, Option<Instant>)>>,
}

impl SimStats {
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
        let endpoint = Endpoint::from_shared(format!("http://{rpc_addr}"))?
            .timeout(RPC_TIMEOUT)
            .http2_adaptive_window(true);
        let mut channels = Vec::new();
        for _ in 0..count.div_ceil(NODES_PER_CHANNEL).max(1) {
            channels.push(endpoint.connect().await?);
        }
        let (shutdown, rx) = watch::channel(false);
        let stats = Arc::new(SimStats::default());
        let gate = Arc::new(Semaphore::new(REGISTER_CONCURRENCY));
        let mut tasks = JoinSet::new();
        for i in 0..count {
            let client = NodeServiceClient::new(channels[i / NODES_PER_CHANNEL].clone())
                .max_decoding_message_size(usize::MAX);
            let node = sim_node(i, &spec);
            let (rx, stats, gate) = (rx.clone(), stats.clone(), gate.clone());
            tasks.spawn(async move { run_node(client, node, gate, stats, rx).await });
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
    let beat = heartbeat(client.clone(), node.clone(), ttl, shutdown.clone());
    let watch = watch_allocs(client, node, stats, shutdown.clone());
    tokio::select! {
        _ = beat => {}
        _ = watch => {}
        _ = shutdown.changed() => {}
    }
}

async fn heartbeat(
    mut client: Client,
    node: Node,
    mut ttl: Duration,
    shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        tokio::time::sleep(ttl / 2).await;
        let req = HeartbeatRequest {
            node_id: node.id.clone(),
            secret_id: node.secret_id.clone(),
        };
        if let Ok(r) = client.heartbeat(req).await {
            ttl = Duration::from_millis(r.into_inner().heartbeat_ttl_ms.max(1000));
        }
    }
}

async fn watch_allocs(
    mut client: Client,
    node: Node,
    stats: Arc<SimStats>,
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
            acknowledge(&mut client, &node, &fresh).await;
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Reports the allocations running, every task started now.
async fn acknowledge(client: &mut Client, node: &Node, allocs: &[&Allocation]) {
    let started = rfc3339(now_ns());
    let updates: Vec<AllocClientUpdate> = allocs
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
        .collect();
    let req = UpdateAllocationsRequest {
        node_id: node.id.clone(),
        secret_id: node.secret_id.clone(),
        updates_json: serde_json::to_vec(&updates).unwrap_or_default(),
    };
    let _ = client.update_allocations(req).await;
}
