//! Garbage collection on the leader: a periodic task (and `PUT /v1/system/gc` on demand)
//! takes a view, asks the sans-IO [`core::collect`] what is garbage, and deletes it through
//! one replicated [`Command::GarbageCollect`].
//!
//! ```text
//!   every GC_INTERVAL (leader only) ──> collect(view, now, thresholds) ──> GarbageCollect
//!   PUT /v1/system/gc ──> collect(view, now, zero thresholds), repeated until nothing is left
//! ```

mod core;

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::now_ns;
use tokio::sync::watch;

pub use self::core::{
    GcBatch, GcThresholds, MAX_GC_BATCH, alloc_collectable, collect, deployment_collectable,
};
use crate::fsm::Command;
use crate::server::{Server, WriteError};

/// How often the leader collects garbage (Nomad's core jobs run every 5 minutes).
pub const GC_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The most collections one forced GC runs (each deletes up to [`MAX_GC_BATCH`] per kind).
const MAX_FORCED_ROUNDS: usize = 16;

/// Collects once with `thresholds`; returns whether anything was deleted.
pub async fn collect_once(server: &Server, thresholds: &GcThresholds) -> Result<bool, WriteError> {
    let view = server.consistent_view().await?;
    let batch = collect(&view, now_ns(), thresholds);
    if batch.is_empty() {
        return Ok(false);
    }
    tracing::info!(
        jobs = batch.jobs.len(),
        evals = batch.evals.len(),
        allocs = batch.allocs.len(),
        nodes = batch.nodes.len(),
        "garbage collecting"
    );
    server.write(Command::GarbageCollect { batch }).await?;
    Ok(true)
}

/// `system gc`: collects everything eligible now, as Nomad's forced GC does.
pub async fn force(server: &Server) -> Result<(), WriteError> {
    for _ in 0..MAX_FORCED_ROUNDS {
        if !collect_once(server, &GcThresholds::forced()).await? {
            break;
        }
    }
    Ok(())
}

/// The leader's periodic collector, until `shutdown`.
pub async fn run_gc(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(GC_INTERVAL);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = collect_once(&server, &server.config.gc).await {
            tracing::warn!(error = %e, "garbage collection failed");
        }
    }
}
