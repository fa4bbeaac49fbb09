//! The client agent's configuration: where it keeps state, which servers it dials, and how
//! it describes itself to the scheduler.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Nomad's default datacenter.
pub const DEFAULT_DATACENTER: &str = "dc1";
/// Nomad's default region.
pub const DEFAULT_REGION: &str = "global";
/// Nomad's default node pool.
pub const DEFAULT_NODE_POOL: &str = "default";
/// Nomad's default cap on a task's `kill_timeout` (`client.max_kill_timeout`).
pub const DEFAULT_MAX_KILL_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the client agent needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The agent's data directory: client state lives in `data_dir/client`, allocations in
    /// `data_dir/alloc`.
    pub data_dir: PathBuf,
    /// gRPC addresses (`host:port`) of the servers to dial, in order of preference.
    pub servers: Vec<String>,
    /// The node's name; defaults to the hostname.
    pub node_name: String,
    /// The node's datacenter; default `dc1`.
    pub datacenter: String,
    /// The node's region; default `global`.
    pub region: String,
    /// The node class (`node.class`); default empty.
    pub node_class: String,
    /// The node pool; default `default`.
    pub node_pool: String,
    /// Free-form node metadata (`meta.*`).
    pub meta: BTreeMap<String, String>,
    /// Whether the `raw_exec` driver may run tasks; default false (the dev agent enables it).
    pub raw_exec_enabled: bool,
    /// The `config` bodies of the driver plugins other than raw_exec (`docker`, `ssh`), as
    /// JSON; each driver reads its own.
    pub plugins: BTreeMap<String, serde_json::Value>,
    /// The HTTP address advertised as the node's `HTTPAddr`.
    pub http_addr: String,
    /// Upper bound on any task's `kill_timeout`; default 30 s.
    pub max_kill_timeout: Duration,
    /// TLS for the connections to servers (plaintext when `None`).
    pub tls: Option<nomadish_proto::tls::TlsConfig>,
    /// The operator's host volumes by name (`client { host_volume "name" { ... } }`).
    pub host_volumes: BTreeMap<String, nomadish_proto::model::ClientHostVolumeConfig>,
}

impl ClientConfig {
    /// A configuration with Nomad's defaults for everything but the data dir and servers.
    pub fn new(data_dir: PathBuf, servers: Vec<String>) -> Self {
        Self {
            data_dir,
            servers,
            node_name: crate::fingerprint::hostname(),
            datacenter: DEFAULT_DATACENTER.to_string(),
            region: DEFAULT_REGION.to_string(),
            node_class: String::new(),
            node_pool: DEFAULT_NODE_POOL.to_string(),
            meta: BTreeMap::new(),
            raw_exec_enabled: false,
            plugins: BTreeMap::new(),
            http_addr: String::new(),
            max_kill_timeout: DEFAULT_MAX_KILL_TIMEOUT,
            tls: None,
            host_volumes: BTreeMap::new(),
        }
    }

    /// Where the client keeps its own state (`data_dir/client`).
    pub fn client_dir(&self) -> PathBuf {
        self.data_dir.join("client")
    }

    /// Where allocation directories live (`data_dir/alloc`).
    pub fn alloc_root(&self) -> PathBuf {
        self.data_dir.join("alloc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_fills_nomad_defaults() {
        let c = ClientConfig::new("/tmp/x".into(), vec!["127.0.0.1:4647".into()]);
        assert_eq!(c.datacenter, "dc1");
        assert_eq!(c.region, "global");
        assert_eq!(c.node_pool, "default");
        assert!(!c.raw_exec_enabled);
        assert_eq!(c.max_kill_timeout, Duration::from_secs(30));
        assert!(!c.node_name.is_empty());
        assert_eq!(c.client_dir(), PathBuf::from("/tmp/x/client"));
        assert_eq!(c.alloc_root(), PathBuf::from("/tmp/x/alloc"));
    }
}
