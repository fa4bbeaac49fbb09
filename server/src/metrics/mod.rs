//! The server's telemetry: what it records where, and the gauges read at scrape time.
//!
//! ```text
//!   HTTP request ──> http::observe ─────────────> nomad.http.request{method,route}
//!   gRPC call ─────> grpc::RpcTimer ────────────> nomad.grpc.request{service,method}
//!   Server::write ─> raft_commit ───────────────> nomad.raft.apply, nomad.raft.commitTime
//!   raft apply ────> state_machine ─────────────> nomad.raft.fsm.apply, nomad.nomad.fsm.<cmd>
//!   worker / plan applier / heartbeats / leadership: one line each at the point itself
//!   GET /v1/metrics ─> collect::scrape ─────────> broker, raft, job and allocation gauges
//! ```
//!
//! Everything goes to the process-wide [`nomadish_metrics::global`] registry, which the client
//! side of a dev agent shares.

pub mod collect;
mod fsm_names;
pub mod grpc;

use std::future::Future;
use std::time::Instant;

pub use nomadish_metrics::{incr, measure_since, set_gauge};

/// Times a raft write on the leader: counts `nomad.raft.apply` and records the time to
/// commit and apply as `nomad.raft.commitTime`.
pub async fn raft_commit<F: Future>(write: F) -> F::Output {
    let started = Instant::now();
    let out = write.await;
    incr("nomad.raft.apply", &[]);
    measure_since("nomad.raft.commitTime", &[], started);
    out
}

/// Adds `n` to the global counter `name`.
pub fn add(name: &str, labels: &[(&str, &str)], n: f64) {
    nomadish_metrics::global().counter(name, labels).add(n);
}
