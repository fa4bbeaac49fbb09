//! Server configuration: what the agent's `server { ... }` block and flags turn into.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Nomad's `min_heartbeat_ttl`.
pub const DEFAULT_MIN_HEARTBEAT_TTL: Duration = Duration::from_secs(10);
/// Nomad's `heartbeat_grace`.
pub const DEFAULT_HEARTBEAT_GRACE: Duration = Duration::from_secs(10);
/// Nomad's `max_heartbeats_per_second`.
pub const DEFAULT_MAX_HEARTBEATS_PER_SECOND: f64 = 50.0;
/// Nomad's `failover_heartbeat_ttl`: every node's TTL right after a leader change.
pub const DEFAULT_FAILOVER_HEARTBEAT_TTL: Duration = Duration::from_secs(300);

/// Heartbeat timing (Nomad's formula: `ttl = max(min_ttl, nodes / max_per_second)`, plus a
/// random stagger; a node is marked down after `ttl + grace` without a heartbeat).
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatConfig {
    /// Smallest TTL handed to a client.
    pub min_ttl: Duration,
    /// Extra time past the TTL before a node is marked down.
    pub grace: Duration,
    /// Target rate of heartbeats the leader absorbs; sets the TTL for large clusters.
    pub max_per_second: f64,
    /// TTL given to every known node when a server becomes leader.
    pub failover_ttl: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        Self {
            min_ttl: DEFAULT_MIN_HEARTBEAT_TTL,
            grace: DEFAULT_HEARTBEAT_GRACE,
            max_per_second: DEFAULT_MAX_HEARTBEATS_PER_SECOND,
            failover_ttl: DEFAULT_FAILOVER_HEARTBEAT_TTL,
        }
    }
}

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// This server's name (defaults to the hostname).
    pub node_name: String,
    /// Region name (`global`).
    pub region: String,
    /// Datacenter name (`dc1`).
    pub datacenter: String,
    /// Where the raft log, snapshots and state live (`<data_dir>/server`).
    pub data_dir: PathBuf,
    /// HTTP API listen address (port 4646).
    pub http_bind: SocketAddr,
    /// gRPC listen address (port 4647): node, raft and cluster services.
    pub rpc_bind: SocketAddr,
    /// RPC address other agents use to reach this server (defaults to `rpc_bind`).
    pub advertise_rpc: Option<String>,
    /// HTTP address advertised to others (defaults to `http_bind`).
    pub advertise_http: Option<String>,
    /// Servers expected before the cluster bootstraps (1 for a single server / dev).
    pub bootstrap_expect: usize,
    /// RPC addresses of other servers to join, retried with backoff.
    pub retry_join: Vec<String>,
    /// Scales every raft timer (1-10), as Nomad's `raft_multiplier`.
    pub raft_multiplier: u32,
    /// Heartbeat timing.
    pub heartbeat: HeartbeatConfig,
    /// Scheduler workers on the leader (defaults to the number of cores).
    pub num_schedulers: usize,
    /// Raft entries between snapshots (log compaction); Nomad's `raft_snapshot_threshold`.
    pub snapshot_threshold: u64,
    /// Log entries kept behind a snapshot, so a slightly lagging follower catches up from the
    /// log rather than a snapshot; Nomad's `raft_trailing_logs`.
    pub trailing_logs: u64,
    /// Dev mode: single server, relaxed defaults.
    pub dev_mode: bool,
    /// TLS for the RPC and HTTP listeners and outgoing RPC (plaintext when `None`).
    pub tls: Option<nomadish_proto::tls::TlsConfig>,
    /// Garbage collection thresholds (`server { eval_gc_threshold ... }`).
    pub gc: crate::gc::GcThresholds,
    /// `acl { enabled }`.
    pub acl: crate::auth::AclConfig,
    /// `audit { enabled path }`.
    pub audit: crate::auth::AuditConfig,
}

impl ServerConfig {
    /// A single-server configuration with Nomad's defaults, storing state under `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            node_name: hostname(),
            region: nomadish_proto::model::DEFAULT_REGION.to_string(),
            datacenter: "dc1".to_string(),
            data_dir,
            http_bind: SocketAddr::from(([127, 0, 0, 1], 4646)),
            rpc_bind: SocketAddr::from(([127, 0, 0, 1], 4647)),
            advertise_rpc: None,
            advertise_http: None,
            bootstrap_expect: 1,
            retry_join: Vec::new(),
            raft_multiplier: 1,
            heartbeat: HeartbeatConfig::default(),
            num_schedulers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            snapshot_threshold: 8192,
            trailing_logs: 10240,
            dev_mode: false,
            tls: None,
            gc: crate::gc::GcThresholds::default(),
            acl: crate::auth::AclConfig::default(),
            audit: crate::auth::AuditConfig::default(),
        }
    }

    /// The RPC address this server advertises.
    pub fn rpc_advertise(&self) -> String {
        self.advertise_rpc
            .clone()
            .unwrap_or_else(|| self.rpc_bind.to_string())
    }

    /// The HTTP address this server advertises.
    pub fn http_advertise(&self) -> String {
        self.advertise_http
            .clone()
            .unwrap_or_else(|| self.http_bind.to_string())
    }
}

/// The machine's hostname, or "nomadish" if it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "nomadish".to_string())
}
