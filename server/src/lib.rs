//! nomadish-server: raft-replicated state, the scheduler, the eval broker, the plan applier,
//! heartbeats, the gRPC node service and the HTTP API.
#![forbid(unsafe_code)]

pub mod broker;
pub mod cluster_service;
pub mod config;
pub mod evals;
pub mod fsm;
pub mod heartbeat;
pub mod leader;
pub mod node_service;
pub mod plan_apply;
pub mod raft;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod tunnel;
pub mod worker;
mod transport;

pub use transport::grpc_channel;

pub use config::{HeartbeatConfig, ServerConfig};

/// Errors that stop a server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding a listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Runs a server until `shutdown` resolves, then stops every task it started.
pub async fn run(
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let _ = config;
    shutdown.await;
    Ok(())
}
