//! The agent's link to the client crate: [`ClientConfig`], [`ClientError`] and
//! [`run_client`].
//!
//! ADAPTER: `nomadish_client::{ClientConfig, ClientError, run}` is being written in
//! parallel and has not landed on this branch; until it does, this module holds a stand-in
//! with the same signatures. The swap is one line:
//!
//! ```text
//! pub use nomadish_client::{ClientConfig, ClientError, run as run_client};
//! ```
//!
//! and deleting `mod shim`.

pub use shim::{ClientConfig, ClientError, run as run_client};

/// Stand-in for `nomadish_client` (same public signatures as the brief specifies).
mod shim {
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::path::PathBuf;
    use std::time::Duration;

    /// Nomad's default `client.max_kill_timeout`.
    const DEFAULT_MAX_KILL_TIMEOUT: Duration = Duration::from_secs(30);

    /// Stand-in for `nomadish_client::ClientConfig`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ClientConfig {
        /// Agent data directory.
        pub data_dir: PathBuf,
        /// Server RPC addresses.
        pub servers: Vec<String>,
        /// Node name.
        pub node_name: String,
        /// Datacenter.
        pub datacenter: String,
        /// Region.
        pub region: String,
        /// Node class.
        pub node_class: String,
        /// Node pool.
        pub node_pool: String,
        /// Node metadata.
        pub meta: BTreeMap<String, String>,
        /// Whether raw_exec may run tasks.
        pub raw_exec_enabled: bool,
        /// Advertised HTTP address.
        pub http_addr: String,
        /// Cap on kill timeouts.
        pub max_kill_timeout: Duration,
    }

    impl ClientConfig {
        /// Nomad's defaults for everything but the data dir and servers.
        pub fn new(data_dir: PathBuf, servers: Vec<String>) -> Self {
            Self {
                data_dir,
                servers,
                node_name: nomadish_server::config::hostname(),
                datacenter: "dc1".to_string(),
                region: "global".to_string(),
                node_class: String::new(),
                node_pool: "default".to_string(),
                meta: BTreeMap::new(),
                raw_exec_enabled: false,
                http_addr: String::new(),
                max_kill_timeout: DEFAULT_MAX_KILL_TIMEOUT,
            }
        }
    }

    /// Stand-in for `nomadish_client::ClientError`.
    #[derive(Debug, thiserror::Error)]
    #[error("client error: {0}")]
    pub struct ClientError(String);

    /// Stand-in for `nomadish_client::run`: waits for shutdown.
    pub async fn run(
        config: ClientConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ClientError> {
        tracing::warn!(
            node = %config.node_name,
            "nomadish-client is not linked into this build yet; the client runs no tasks"
        );
        shutdown.await;
        Ok(())
    }
}
