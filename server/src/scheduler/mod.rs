//! The scheduler: a pure function from a state snapshot and an evaluation to a plan.
//!
//! ```text
//!   snapshot + eval ──> reconcile ──> feasibility ──> rank ──────────────────> select ──> Plan
//!                       (what should    (datacenter,    (binpack BestFit or      (limit
//!                        exist vs what   driver,         spread worst fit,        candidates,
//!                        does)           constraints)    anti-affinity, affinity, ports,
//!                                                        spread blocks)           preemption)
//! ```
//!
//! Nothing in this module touches tokio, the clock, the network or the disk: the same
//! snapshot, evaluation, time and seed give the same plan.
//!
//! Files: [`reconcile`] (per-group diff), [`reschedule`] (failed allocations), `update`
//! (in-place vs destructive), [`feasible`] (datacenter, pool, drivers, constraints),
//! `constraint` and `version` (operators), `rank` (scores), `affinity` (affinity and spread
//! scores), `ports` (host ports), `preempt` (evictions for system jobs), [`select`]
//! (candidate walk), `generic` (service and batch), `system` (system and sysbatch), `nodes`
//! (usage), `deploy` (rolling updates by `max_parallel`, canaries, the deployment record).
//! The scheduler configuration comes from [`State::scheduler_config`]; `quota` refuses
//! placements beyond the namespace's [`State::namespace_quota`] ("quota exceeded" in
//! `QuotaExhausted`).
//!
//! Plan conventions the plan applier and the worker rely on:
//! - `node_allocation` holds new allocations, in-place updates (same ID, new `Job`) and
//!   follow-up markers: a failed allocation whose reschedule is delayed comes back unchanged
//!   except for `FollowupEvalID` (and `ModifyTime`); it is client-terminal, so it holds no
//!   resources. The applier should accept entries whose IDs already exist on the node (as
//!   Nomad's `AllocSubset` rule) even if the node became ineligible.
//! - `node_update` holds stops made with [`Plan::append_stop`], lost ones with client status
//!   `lost`.
//! - `deployment` is a deployment this plan creates; `deployment_updates` cancel older ones.
//!   New placements of a running deployment's groups carry its `DeploymentID`.
//!
//! Placement metrics (`AllocMetric`): `NodesEvaluated`, `NodesFiltered`, `ClassFiltered` and
//! `ConstraintFiltered` describe the group's whole feasibility pass over the ready nodes of
//! the job's pool (computed once per group, not per placement); nodes outside the job's
//! datacenters are filtered as `"datacenter mismatch"`. On a placed allocation,
//! `NodesExhausted`/`DimensionExhausted` count the nodes found full during that placement; in
//! `failed_tg_allocs` they count every feasible node that was full. `Scores` keep the best
//! [`select::MAX_RECORDED_SCORES`] candidates. `AllocationTime` stays 0 (no clock here).

use std::sync::Arc;

use nomadish_proto::model::{
    AllocMetric, Allocation, Deployment, Evaluation, JOB_TYPE_BATCH, JOB_TYPE_SERVICE,
    JOB_TYPE_SYSBATCH, JOB_TYPE_SYSTEM, Job, Node, Plan, QuotaLimits, SchedulerConfiguration,
};
use std::collections::BTreeMap;

mod affinity;
mod constraint;
mod deploy;
pub mod feasible;
mod generic;
mod nodes;
mod ports;
mod preempt;
mod quota;
mod rank;
pub mod reconcile;
pub mod reschedule;
mod run;
pub mod select;
mod system;
mod update;
mod util;
mod version;

#[cfg(test)]
mod tests;

pub use constraint::operand;
pub use quota::QUOTA_EXCEEDED;
pub use reconcile::{
    ALLOC_LOST, ALLOC_MIGRATING, ALLOC_NOT_NEEDED, ALLOC_RESCHEDULED, ALLOC_UPDATING,
};

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
    /// What the node's non-terminal allocations hold. The state keeps it as a running total;
    /// this default adds them up.
    fn node_usage(&self, node_id: &str) -> crate::state::NodeUsage {
        self.allocs_by_node(node_id)
            .iter()
            .fold(crate::state::NodeUsage::default(), |total, a| {
                total.plus(crate::state::NodeUsage::of(a))
            })
    }
    /// A node by ID.
    fn node(&self, id: &str) -> Option<Arc<Node>>;
    /// Every node, any status, in ID order.
    fn nodes(&self) -> Vec<Arc<Node>>;
    /// The job's most recently created deployment (any status).
    fn latest_deployment(&self, _namespace: &str, _job_id: &str) -> Option<Arc<Deployment>> {
        None
    }
    /// The cluster's scheduler configuration (Nomad's defaults unless an operator set one).
    fn scheduler_config(&self) -> SchedulerConfiguration {
        SchedulerConfiguration::default()
    }
    /// The namespace's quota limits (`None`: unlimited).
    fn namespace_quota(&self, _namespace: &str) -> Option<QuotaLimits> {
        None
    }
    /// The namespace's non-terminal allocations, every job's (what its quota counts).
    fn namespace_allocs(&self, _namespace: &str) -> Vec<Arc<Allocation>> {
        Vec::new()
    }
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
    /// Evaluations to create for later (delayed reschedules), with `WaitUntil` set and
    /// `TriggeredBy = "failed-follow-up"`. The plan's follow-up markers (allocations whose
    /// `FollowupEvalID` names one of these) must not outlive them: create these before (or
    /// atomically with) submitting the plan, on every attempt, as Nomad does; a retry after a
    /// partial commit does not repeat follow-ups whose markers were already committed.
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
    match eval.eval_type.as_str() {
        JOB_TYPE_SERVICE | JOB_TYPE_BATCH => Ok(generic::run(state, eval, now_ns, seed)),
        JOB_TYPE_SYSTEM | JOB_TYPE_SYSBATCH => Ok(system::run(state, eval, now_ns, seed)),
        other => Err(SchedulerError::UnknownType {
            eval_type: other.to_string(),
        }),
    }
}
