//! The scheduler: a pure function from a state snapshot and an evaluation to a plan.
//!
//! ```text
//!   snapshot + eval ──> reconcile ──> feasibility ──> rank (binpack) ──> select ──> Plan
//!                       (what should    (datacenter,    (BestFit on       (limit
//!                        exist vs what   driver,         cpu/memory)       candidates)
//!                        does)           constraints)
//! ```
//!
//! Nothing in this module touches tokio, the clock, the network or the disk: the same
//! snapshot, evaluation, time and seed give the same plan.

use std::sync::Arc;

use nomadish_proto::model::{AllocMetric, Allocation, Evaluation, Job, Node, Plan};
use std::collections::BTreeMap;

/// Read access to a point-in-time snapshot of the cluster state.
pub trait State {
    /// The raft index the snapshot reflects.
    fn index(&self) -> u64;
    /// The current version of a job.
    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>>;
    /// Every allocation of a job (any version, terminal ones included).
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>>;
    /// Every allocation on a node (terminal ones included).
    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>>;
    /// A node by ID.
    fn node(&self, id: &str) -> Option<Arc<Node>>;
    /// Every node, any status, in ID order.
    fn nodes(&self) -> Vec<Arc<Node>>;
}

/// What scheduling one evaluation produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Placements and stops to submit to the plan applier.
    pub plan: Plan,
    /// Per task group, why placements failed (empty when everything was placed).
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// Per task group, how many allocations could not be placed.
    pub queued_allocations: BTreeMap<String, i64>,
    /// Evaluations to create for later (delayed reschedules), with `WaitUntil` set.
    pub followup_evals: Vec<Evaluation>,
}

/// Why an evaluation could not be scheduled at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SchedulerError {
    /// The evaluation's type names no scheduler.
    #[error("unknown scheduler type {eval_type:?}")]
    UnknownType {
        /// The evaluation's `Type`.
        eval_type: String,
    },
}

/// Schedules one evaluation against a snapshot.
///
/// `now_ns` is the time the worker started this evaluation (Unix nanoseconds); `seed` seeds the
/// RNG that shuffles nodes and generates allocation IDs.
pub fn schedule(
    state: &dyn State,
    eval: &Evaluation,
    now_ns: i64,
    seed: u64,
) -> Result<Outcome, SchedulerError> {
    let _ = (state, eval, now_ns, seed);
    Err(SchedulerError::UnknownType {
        eval_type: eval.eval_type.clone(),
    })
}
