//! The node drainer, a leader-only task: moves allocations off draining nodes under each
//! group's `migrate` block and ends drains that are done.
//!
//! ```text
//!   state change or tick ──> core::next_step(snapshot, now) ──> DrainStep
//!        ^                                                        │
//!        │        UpdateAllocDesiredTransition (+ one eval per job: the scheduler stops the
//!        │        marked allocations and places replacements elsewhere)
//!        └──────  UpdateNodeDrain { None } + "Node drain complete" for finished nodes
//! ```
//!
//! The decisions live in [`core`] (no I/O); this module only executes them.

pub mod core;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{DesiredTransition, NodeEvent, now_ns, trigger};
use tokio::sync::watch;

use crate::evals::job_eval;
use crate::fsm::Command;
use crate::fsm::node_ops::SUBSYSTEM_DRAIN;
use crate::server::Server;

pub use self::core::{DrainStep, next_step};

/// How often the drainer looks again without a state change (health times, deadlines).
const DRAIN_TICK: Duration = Duration::from_secs(1);
/// The node event recorded when a drain finishes (Nomad's wording).
pub const DRAIN_COMPLETE: &str = "Node drain complete";

/// Runs the drainer until `shutdown`.
pub async fn run_drainer(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut changes = server.state.subscribe();
    let mut tick = tokio::time::interval(DRAIN_TICK);
    // Whether any node drains, recomputed only when the nodes table changes: most state
    // changes are allocation updates, and scanning thousands of nodes on each is wasted.
    let mut draining = (u64::MAX, false);
    loop {
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let view = server.state.snapshot();
        if draining.0 != view.tables.nodes {
            let any = view.nodes.values().any(|n| n.drain_strategy.is_some());
            draining = (view.tables.nodes, any);
        }
        if !draining.1 {
            continue;
        }
        let step = next_step(&view, now_ns());
        if step.is_empty() {
            continue;
        }
        if let Err(e) = execute(&server, &view, step).await {
            tracing::warn!(error = %e, "drainer could not apply its step; will retry");
        }
    }
}

/// Writes one step: the migration marks with their evaluations, then the completed drains.
async fn execute(
    server: &Server,
    view: &crate::state::StateView,
    step: DrainStep,
) -> Result<(), crate::server::WriteError> {
    let now = now_ns();
    if !step.migrate.is_empty() {
        let mut transitions = BTreeMap::new();
        let mut evals = Vec::new();
        for ((namespace, job_id), allocs) in step.migrate {
            let job = view.job(&namespace, &job_id).or_else(|| {
                allocs
                    .first()
                    .and_then(|id| view.allocs.get(id))
                    .and_then(|a| a.job.clone())
            });
            if let Some(job) = job {
                evals.push(job_eval(&job, trigger::NODE_DRAIN, now));
            }
            let migrate = DesiredTransition {
                migrate: Some(true),
                ..DesiredTransition::default()
            };
            for id in allocs {
                transitions.insert(id, migrate.clone());
            }
        }
        tracing::info!(
            allocs = transitions.len(),
            jobs = evals.len(),
            "drainer migrating allocations"
        );
        server
            .write(Command::UpdateAllocDesiredTransition { transitions, evals })
            .await?;
    }
    for node_id in step.complete {
        tracing::info!(node = %node_id, "node drain complete");
        let event = NodeEvent {
            message: DRAIN_COMPLETE.to_string(),
            subsystem: SUBSYSTEM_DRAIN.to_string(),
            timestamp: now,
            ..NodeEvent::default()
        };
        server
            .write(Command::UpdateNodeDrain {
                node_id,
                drain_strategy: None,
                mark_eligible: false,
                event: Some(event),
                evals: Vec::new(),
            })
            .await?;
    }
    Ok(())
}
