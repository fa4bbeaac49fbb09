//! Plans: what a scheduler wants to change, and what the plan applier committed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Allocation, Deployment, DeploymentStatusUpdate, Job};

/// The scheduler's output for one evaluation; the leader's plan applier re-checks and commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Plan {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    #[serde(rename = "AllAtOnce")]
    pub all_at_once: bool,
    /// The job version the new allocations run.
    #[serde(rename = "Job")]
    pub job: Option<Arc<Job>>,
    /// Allocations to stop (or mark lost), by node: the updated allocations.
    #[serde(rename = "NodeUpdate")]
    pub node_update: BTreeMap<String, Vec<Allocation>>,
    /// Allocations to create or update in place, by node.
    #[serde(rename = "NodeAllocation")]
    pub node_allocation: BTreeMap<String, Vec<Allocation>>,
    /// Allocations to evict to make room, by node.
    #[serde(rename = "NodePreemptions")]
    pub node_preemptions: BTreeMap<String, Vec<Allocation>>,
    #[serde(rename = "Annotations")]
    pub annotations: Option<PlanAnnotations>,
    /// A deployment to create (or update) with this plan.
    #[serde(rename = "Deployment")]
    pub deployment: Option<Deployment>,
    /// Status changes of existing deployments (cancelled by a newer version...).
    #[serde(rename = "DeploymentUpdates")]
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_no_op(&self) -> bool {
        self.node_update.values().all(Vec::is_empty)
            && self.node_allocation.values().all(Vec::is_empty)
            && self.node_preemptions.values().all(Vec::is_empty)
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
    }

    /// Adds a placement (or in-place update) on the allocation's node.
    pub fn append_alloc(&mut self, alloc: Allocation) {
        self.node_allocation
            .entry(alloc.node_id.clone())
            .or_default()
            .push(alloc);
    }

    /// Adds a stop of `alloc` with this desired description and, optionally, client status.
    pub fn append_stop(
        &mut self,
        alloc: &Allocation,
        description: &str,
        client_status: Option<&str>,
    ) {
        let mut stopped = alloc.clone();
        stopped.desired_status = super::ALLOC_DESIRED_STOP.to_string();
        stopped.desired_description = description.to_string();
        if let Some(status) = client_status {
            stopped.client_status = status.to_string();
        }
        self.node_update
            .entry(alloc.node_id.clone())
            .or_default()
            .push(stopped);
    }
}

/// What the plan applier committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanResult {
    #[serde(rename = "NodeUpdate")]
    pub node_update: BTreeMap<String, Vec<Allocation>>,
    #[serde(rename = "NodeAllocation")]
    pub node_allocation: BTreeMap<String, Vec<Allocation>>,
    #[serde(rename = "NodePreemptions")]
    pub node_preemptions: BTreeMap<String, Vec<Allocation>>,
    /// Non-zero when part of the plan was refused: the scheduler must refresh its snapshot to
    /// at least this index and try again.
    #[serde(rename = "RefreshIndex")]
    pub refresh_index: u64,
    /// The raft index at which the committed part was applied.
    #[serde(rename = "AllocIndex")]
    pub alloc_index: u64,
}

impl PlanResult {
    /// Whether everything the plan asked for was committed.
    pub fn fully_committed(&self, plan: &Plan) -> bool {
        let count = |m: &BTreeMap<String, Vec<Allocation>>| m.values().map(Vec::len).sum::<usize>();
        count(&self.node_update) == count(&plan.node_update)
            && count(&self.node_allocation) == count(&plan.node_allocation)
    }
}

/// What a plan would do, per task group (for `job plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanAnnotations {
    #[serde(rename = "DesiredTGUpdates")]
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
}

/// Counts of what a plan does to one task group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct DesiredUpdates {
    pub ignore: u64,
    pub place: u64,
    pub migrate: u64,
    pub stop: u64,
    pub in_place_update: u64,
    pub destructive_update: u64,
    pub canary: u64,
    pub preemptions: u64,
    pub reschedule_now: u64,
    pub reschedule_later: u64,
}
