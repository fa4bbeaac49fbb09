//! Fixtures for nomadish's integration suites: real agent processes on loopback ports, the
//! HTTP API, and the CLI.
//!
//! ```text
//!   Agent::dev / Agent::server / Agent::client ──spawn──> target/<profile>/nomadish agent ...
//!        │  kill9 / stop / pause (SIGSTOP) / resume / restart on the same data dir
//!        └─ Api (reqwest) and cli(...) (the binary with NOMAD_ADDR) talk to it
//! ```
//!
//! Every wait is bounded: helpers poll with a deadline and fail with what they last saw.
#![forbid(unsafe_code)]

mod agent;
mod api;
mod cluster;

pub use agent::{Agent, AgentKind, cli, free_port, nomadish_bin, wait_until};
pub use api::Api;
pub use cluster::{CLUSTER_TIMEOUT, Cluster, empty_job};

/// Installs ring as rustls's process-wide crypto provider (the workspace builds rustls with
/// no default provider); safe to call many times.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}
