//! Agent configuration: Nomad's agent-config HCL shape, merged from files and flags.
//!
//! ```text
//! defaults (dev or not) <- file 1 <- file 2 <- ... <- flags      (later wins)
//!          \___________________ AgentConfig ________________/
//!                                   | resolve()
//!                                   v
//!          AgentPlan { ServerConfig?, ClientConfig?, ClientHttpConfig?, logging, banner }
//! ```
//!
//! Every field is optional so that a later source overrides only what it sets; `meta`
//! merges key by key and the server lists (`client.servers`, `server_join.retry_join`)
//! accumulate, as in Nomad. The `tls` block's relative paths are taken from the directory
//! of the file that names them, before merging (see [`tls`]).

mod gc;
mod parse;
mod resolve;
pub mod tls;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use parse::{load_files, parse_str};
pub use resolve::{AgentPlan, Banner, LogSettings, resolve, tls_warnings};
pub use tls::TlsBlock;

/// Where in which file something is: `FILE:LINE:COL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Errors reading, parsing or resolving agent configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("Error loading configuration from {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid HCL.
    #[error("{at}: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// A key the agent does not know.
    #[error("{at}: unknown key {key:?} in {block}")]
    UnknownKey {
        /// Where.
        at: Location,
        /// The key.
        key: String,
        /// The block it appeared in ("the top level", "server", ...).
        block: String,
    },
    /// A value of the wrong type or out of range.
    #[error("{at}: invalid value for {key:?}: {message}")]
    InvalidValue {
        /// Where.
        at: Location,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A file the configuration names (a certificate, a key) cannot be used.
    #[error("{key}: cannot read {path}: {source}")]
    File {
        /// The configuration key naming the file (`tls.cert_file`).
        key: String,
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The merged configuration cannot run an agent.
    #[error("{0}")]
    Invalid(String),
}

/// `ports { http rpc }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ports {
    /// HTTP API port (4646).
    pub http: Option<u16>,
    /// RPC port (4647).
    pub rpc: Option<u16>,
}

/// `advertise { http rpc }`: addresses other agents use to reach this one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Advertise {
    /// `host:port` or `host` for the HTTP API.
    pub http: Option<String>,
    /// `host:port` or `host` for RPC.
    pub rpc: Option<String>,
}

/// `server { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerBlock {
    /// Run a server.
    pub enabled: Option<bool>,
    /// Servers expected before bootstrapping.
    pub bootstrap_expect: Option<usize>,
    /// Raft timer multiplier (1-10).
    pub raft_multiplier: Option<u32>,
    /// Scheduler workers.
    pub num_schedulers: Option<usize>,
    /// Extra time past a heartbeat TTL before a node is down.
    pub heartbeat_grace: Option<Duration>,
    /// Smallest heartbeat TTL.
    pub min_heartbeat_ttl: Option<Duration>,
    /// Heartbeats per second the leader aims to absorb.
    pub max_heartbeats_per_second: Option<f64>,
    /// TTL given to every node after a leader change.
    pub failover_heartbeat_ttl: Option<Duration>,
    /// `server_join { retry_join = [...] }`.
    pub retry_join: Vec<String>,
    /// Raft entries between snapshots (`snapshot_threshold`, Nomad's
    /// `raft_snapshot_threshold`).
    pub snapshot_threshold: Option<u64>,
    /// Log entries kept behind a snapshot (Nomad's `raft_trailing_logs`).
    pub trailing_logs: Option<u64>,
    /// Garbage collection thresholds.
    pub gc: gc::GcBlock,
}

/// `client { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientBlock {
    /// Run a client.
    pub enabled: Option<bool>,
    /// Server RPC addresses.
    pub servers: Vec<String>,
    /// Node class.
    pub node_class: Option<String>,
    /// Node pool.
    pub node_pool: Option<String>,
    /// Node metadata.
    pub meta: BTreeMap<String, String>,
    /// Cap on tasks' kill timeouts.
    pub max_kill_timeout: Option<Duration>,
    /// `host_volume "name" { ... }` blocks.
    pub host_volumes: BTreeMap<String, parse::host_volume::HostVolumeBlock>,
}

/// One configuration source (file, flags, defaults) or the merge of several.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentConfig {
    /// Agent name (node name).
    pub name: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Datacenter.
    pub datacenter: Option<String>,
    /// State directory.
    pub data_dir: Option<PathBuf>,
    /// IP the listeners bind to.
    pub bind_addr: Option<String>,
    /// Listener ports.
    pub ports: Ports,
    /// Advertised addresses.
    pub advertise: Advertise,
    /// Log level.
    pub log_level: Option<String>,
    /// JSON logs.
    pub log_json: Option<bool>,
    /// `server` block.
    pub server: ServerBlock,
    /// `client` block.
    pub client: ClientBlock,
    /// `plugin "raw_exec" { config { enabled } }`.
    pub raw_exec_enabled: Option<bool>,
    /// The `config` bodies of the other driver plugins (`docker`, `ssh`) as JSON, checked by
    /// the client's driver when parsed.
    pub plugins: BTreeMap<String, serde_json::Value>,
    /// `tls { ... }`.
    pub tls: TlsBlock,
    /// `acl { enabled token_ttl policy_ttl }`.
    pub acl: AclBlock,
    /// `audit { enabled path }`.
    pub audit: AuditBlock,
}

/// `acl { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AclBlock {
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `token_ttl` (accepted; tokens are resolved from the local replicated state).
    pub token_ttl: Option<std::time::Duration>,
    /// `policy_ttl` (accepted, as `token_ttl`).
    pub policy_ttl: Option<std::time::Duration>,
}

/// `audit { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditBlock {
    /// `enabled` (default true on servers).
    pub enabled: Option<bool>,
    /// `path` of the log file.
    pub path: Option<PathBuf>,
}

/// `later` if set, else `earlier`.
fn pick<T: Clone>(earlier: &Option<T>, later: &Option<T>) -> Option<T> {
    later.clone().or_else(|| earlier.clone())
}

/// `earlier` followed by the entries of `later` it does not already hold.
fn append_unique(earlier: &[String], later: &[String]) -> Vec<String> {
    let mut out = earlier.to_vec();
    for item in later {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

impl AgentConfig {
    /// `self` overridden by whatever `later` sets.
    pub fn merge(&self, later: &AgentConfig) -> AgentConfig {
        AgentConfig {
            name: pick(&self.name, &later.name),
            region: pick(&self.region, &later.region),
            datacenter: pick(&self.datacenter, &later.datacenter),
            data_dir: pick(&self.data_dir, &later.data_dir),
            bind_addr: pick(&self.bind_addr, &later.bind_addr),
            ports: Ports {
                http: pick(&self.ports.http, &later.ports.http),
                rpc: pick(&self.ports.rpc, &later.ports.rpc),
            },
            advertise: Advertise {
                http: pick(&self.advertise.http, &later.advertise.http),
                rpc: pick(&self.advertise.rpc, &later.advertise.rpc),
            },
            log_level: pick(&self.log_level, &later.log_level),
            log_json: pick(&self.log_json, &later.log_json),
            server: self.server.merge(&later.server),
            client: self.client.merge(&later.client),
            raw_exec_enabled: pick(&self.raw_exec_enabled, &later.raw_exec_enabled),
            plugins: self
                .plugins
                .iter()
                .chain(&later.plugins)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            tls: self.tls.merge(&later.tls),
            acl: AclBlock {
                enabled: pick(&self.acl.enabled, &later.acl.enabled),
                token_ttl: pick(&self.acl.token_ttl, &later.acl.token_ttl),
                policy_ttl: pick(&self.acl.policy_ttl, &later.acl.policy_ttl),
            },
            audit: AuditBlock {
                enabled: pick(&self.audit.enabled, &later.audit.enabled),
                path: pick(&self.audit.path, &later.audit.path),
            },
        }
    }
}

impl ServerBlock {
    fn merge(&self, later: &ServerBlock) -> ServerBlock {
        ServerBlock {
            enabled: pick(&self.enabled, &later.enabled),
            bootstrap_expect: pick(&self.bootstrap_expect, &later.bootstrap_expect),
            raft_multiplier: pick(&self.raft_multiplier, &later.raft_multiplier),
            num_schedulers: pick(&self.num_schedulers, &later.num_schedulers),
            heartbeat_grace: pick(&self.heartbeat_grace, &later.heartbeat_grace),
            min_heartbeat_ttl: pick(&self.min_heartbeat_ttl, &later.min_heartbeat_ttl),
            max_heartbeats_per_second: pick(
                &self.max_heartbeats_per_second,
                &later.max_heartbeats_per_second,
            ),
            failover_heartbeat_ttl: pick(
                &self.failover_heartbeat_ttl,
                &later.failover_heartbeat_ttl,
            ),
            retry_join: append_unique(&self.retry_join, &later.retry_join),
            snapshot_threshold: pick(&self.snapshot_threshold, &later.snapshot_threshold),
            trailing_logs: pick(&self.trailing_logs, &later.trailing_logs),
            gc: self.gc.merge(&later.gc),
        }
    }
}

impl ClientBlock {
    fn merge(&self, later: &ClientBlock) -> ClientBlock {
        let mut meta = self.meta.clone();
        meta.extend(later.meta.clone());
        ClientBlock {
            enabled: pick(&self.enabled, &later.enabled),
            servers: append_unique(&self.servers, &later.servers),
            node_class: pick(&self.node_class, &later.node_class),
            node_pool: pick(&self.node_pool, &later.node_pool),
            meta,
            max_kill_timeout: pick(&self.max_kill_timeout, &later.max_kill_timeout),
            host_volumes: {
                let mut volumes = self.host_volumes.clone();
                volumes.extend(later.host_volumes.clone());
                volumes
            },
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tls_tests;
