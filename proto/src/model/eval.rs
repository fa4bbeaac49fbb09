//! Evaluations: the unit of scheduling work, and why it ended the way it did.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::AllocMetric;

/// Evaluation status: waiting for a scheduler.
pub const EVAL_STATUS_PENDING: &str = "pending";
/// Evaluation status: waiting for capacity.
pub const EVAL_STATUS_BLOCKED: &str = "blocked";
/// Evaluation status: done.
pub const EVAL_STATUS_COMPLETE: &str = "complete";
/// Evaluation status: the scheduler could not process it.
pub const EVAL_STATUS_FAILED: &str = "failed";
/// Evaluation status: superseded.
pub const EVAL_STATUS_CANCELED: &str = "canceled";

/// Why an evaluation was created (`TriggeredBy`).
pub mod trigger {
    /// A job was registered or updated.
    pub const JOB_REGISTER: &str = "job-register";
    /// A job was stopped.
    pub const JOB_DEREGISTER: &str = "job-deregister";
    /// A periodic job launched a child.
    pub const PERIODIC_JOB: &str = "periodic-job";
    /// A node's status changed.
    pub const NODE_UPDATE: &str = "node-update";
    /// A node is draining.
    pub const NODE_DRAIN: &str = "node-drain";
    /// An allocation was stopped by a user.
    pub const ALLOC_STOP: &str = "alloc-stop";
    /// An allocation failed on its client.
    pub const ALLOC_FAILURE: &str = "alloc-failure";
    /// A delayed reschedule came due, or a failed evaluation is retried.
    pub const FAILED_FOLLOW_UP: &str = "failed-follow-up";
    /// The plan applier rejected the plan too many times.
    pub const MAX_PLANS: &str = "max-plan-attempts";
    /// Capacity freed up for a blocked evaluation.
    pub const QUEUED_ALLOCS: &str = "queued-allocs";
    /// A job was scaled.
    pub const JOB_SCALING: &str = "job-scaling";
    /// A rolling update advanced.
    pub const ROLLING_UPDATE: &str = "rolling-update";
    /// The deployment watcher wants a new evaluation.
    pub const DEPLOYMENT_WATCHER: &str = "deployment-watcher";
}

/// A request to reconcile one job (or node) with the cluster's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Evaluation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    #[serde(rename = "Type")]
    pub eval_type: String,
    #[serde(rename = "TriggeredBy")]
    pub triggered_by: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "NodeModifyIndex")]
    pub node_modify_index: u64,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// Nanoseconds to wait before processing.
    #[serde(rename = "Wait")]
    pub wait: i64,
    /// Unix nanoseconds before which the evaluation is not processed (0 for now).
    #[serde(rename = "WaitUntil")]
    pub wait_until: i64,
    #[serde(rename = "NextEval")]
    pub next_eval: String,
    #[serde(rename = "PreviousEval")]
    pub previous_eval: String,
    #[serde(rename = "BlockedEval")]
    pub blocked_eval: String,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    #[serde(rename = "ClassEligibility")]
    pub class_eligibility: BTreeMap<String, bool>,
    #[serde(rename = "EscapedComputedClass")]
    pub escaped_computed_class: bool,
    #[serde(rename = "QuotaLimitReached")]
    pub quota_limit_reached: String,
    #[serde(rename = "AnnotatePlan")]
    pub annotate_plan: bool,
    #[serde(rename = "QueuedAllocations")]
    pub queued_allocations: BTreeMap<String, i64>,
    #[serde(rename = "SnapshotIndex")]
    pub snapshot_index: u64,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    /// Unix nanoseconds.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

impl Evaluation {
    /// Whether the evaluation will not be processed again.
    pub fn terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            EVAL_STATUS_COMPLETE | EVAL_STATUS_FAILED | EVAL_STATUS_CANCELED
        )
    }
}
