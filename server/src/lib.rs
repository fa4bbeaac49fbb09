//! nomadish-server: raft-replicated state, the scheduler, the eval broker, the plan applier,
//! heartbeats, the gRPC node service and the HTTP API.
#![forbid(unsafe_code)]

mod agent;
pub mod auth;
pub mod broker;
pub mod cluster_service;
pub mod config;
pub mod deployments;
pub mod dispatch;
pub mod drainer;
pub mod evals;
pub mod events;
pub mod fault;
pub mod formation;
pub mod fsm;
pub mod gc;
pub mod group_commit;
pub mod heartbeat;
pub mod http;
pub mod job_plan;
pub mod leader;
pub mod metrics;
pub mod node_migrate;
pub mod node_service;
pub mod node_template;
pub mod operator;
pub mod periodic;
pub mod plan_apply;
pub mod raft;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod task_ops;
pub mod task_ops_peer;
pub mod task_ops_route;
mod tasks;
mod transport;
pub mod tunnel;
pub mod worker;

pub use transport::grpc_channel;

pub use agent::run;
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
    /// The data directory is unusable.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Raft could not start or stop.
    #[error("raft: {0}")]
    Raft(String),
    /// The TLS settings or certificates are unusable.
    #[error("tls: {0}")]
    Tls(String),
}
