//! Deployments: the record of one rolling update (or first rollout) of a service job's
//! version, with per-group progress, and the per-allocation health that drives it.
//!
//! ```text
//!   running ──all groups healthy (and promoted)──> successful   (job version marked stable)
//!      │  ^──resume──┐
//!      ├──pause──> paused
//!      ├──unhealthy alloc / progress deadline / user fail──> failed (maybe auto-revert)
//!      └──newer job version / job stopped──> cancelled
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Deployment status: rolling out.
pub const DEPLOYMENT_STATUS_RUNNING: &str = "running";
/// Deployment status: paused by an operator.
pub const DEPLOYMENT_STATUS_PAUSED: &str = "paused";
/// Deployment status: failed (unhealthy allocations, deadline, operator).
pub const DEPLOYMENT_STATUS_FAILED: &str = "failed";
/// Deployment status: every group reached its healthy total.
pub const DEPLOYMENT_STATUS_SUCCESSFUL: &str = "successful";
/// Deployment status: superseded by a newer job version, or the job stopped.
pub const DEPLOYMENT_STATUS_CANCELLED: &str = "cancelled";

/// Nomad's status descriptions.
pub mod deployment_desc {
    /// A running deployment.
    pub const RUNNING: &str = "Deployment is running";
    /// A running deployment waiting for `deployment promote`.
    pub const RUNNING_NEEDS_PROMOTION: &str = "Deployment is running but requires manual promotion";
    /// A running deployment with `auto_promote`.
    pub const RUNNING_AUTO_PROMOTION: &str = "Deployment is running pending automatic promotion";
    /// A paused deployment.
    pub const PAUSED: &str = "Deployment is paused";
    /// A successful deployment.
    pub const SUCCESSFUL: &str = "Deployment completed successfully";
    /// Cancelled because the job stopped.
    pub const STOPPED_JOB: &str = "Cancelled because job is stopped";
    /// Cancelled because a newer version was registered.
    pub const NEWER_JOB: &str = "Cancelled due to newer version of job";
    /// Failed because an allocation was unhealthy.
    pub const FAILED_ALLOCATIONS: &str = "Failed due to unhealthy allocations";
    /// Failed because no progress was made before the progress deadline.
    pub const PROGRESS_DEADLINE: &str = "Failed due to progress deadline";
    /// Failed by an operator.
    pub const FAILED_BY_USER: &str = "Deployment marked as failed";
}

/// A failure description followed by what auto-revert did (Nomad's wording).
pub fn rollback_description(base: &str, version: u64) -> String {
    format!("{base} - rolling back to job version {version}")
}

/// A failure description when auto-revert found no stable version.
pub fn no_rollback_description(base: &str) -> String {
    format!("{base} - no stable job version to auto revert to")
}

/// A failure description when the stable version has the current specification.
pub fn same_spec_rollback_description(base: &str, version: u64) -> String {
    format!(
        "{base} - not rolling back to stable job version {version} as current job has same specification"
    )
}

/// One rollout of one job version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Deployment {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "JobSpecModifyIndex")]
    pub job_spec_modify_index: u64,
    #[serde(rename = "JobCreateIndex")]
    pub job_create_index: u64,
    #[serde(rename = "IsMultiregion")]
    pub is_multiregion: bool,
    #[serde(rename = "TaskGroups")]
    pub task_groups: BTreeMap<String, DeploymentState>,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "EvalPriority")]
    pub eval_priority: i64,
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

impl Deployment {
    /// Whether the deployment may still make progress (running or paused).
    pub fn active(&self) -> bool {
        self.status == DEPLOYMENT_STATUS_RUNNING || self.status == DEPLOYMENT_STATUS_PAUSED
    }

    /// Whether some group waits for canaries to be promoted.
    pub fn requires_promotion(&self) -> bool {
        self.task_groups
            .values()
            .any(|g| g.desired_canaries > 0 && !g.promoted)
    }

    /// Whether any group asks for auto-revert.
    pub fn auto_revert(&self) -> bool {
        self.task_groups.values().any(|g| g.auto_revert)
    }

    /// Whether every group has its healthy total (and its canaries promoted).
    pub fn complete(&self) -> bool {
        !self.task_groups.is_empty()
            && self.task_groups.values().all(|g| {
                (g.desired_canaries == 0 || g.promoted) && g.healthy_allocs >= g.desired_total
            })
    }
}

/// A deployment's progress in one task group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeploymentState {
    pub auto_revert: bool,
    pub auto_promote: bool,
    /// Nanoseconds.
    pub progress_deadline: i64,
    /// Unix nanoseconds; 0 when no deadline applies.
    pub require_progress_by: i64,
    pub promoted: bool,
    #[serde(rename = "PlacedCanaries")]
    pub placed_canaries: Vec<String>,
    pub desired_canaries: u64,
    pub desired_total: u64,
    pub placed_allocs: u64,
    pub healthy_allocs: u64,
    pub unhealthy_allocs: u64,
}

/// A change of a deployment's status (from the scheduler or the deployment watcher).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentStatusUpdate {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
}

/// An allocation's health within its deployment, as its client reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocDeploymentStatus {
    /// `None` until the client decided.
    #[serde(rename = "Healthy")]
    pub healthy: Option<bool>,
    /// When health was decided (Unix ns).
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// Whether the allocation was placed as a canary.
    #[serde(rename = "Canary")]
    pub canary: bool,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl AllocDeploymentStatus {
    /// Whether the allocation was reported healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy == Some(true)
    }

    /// Whether the allocation was reported unhealthy.
    pub fn is_unhealthy(&self) -> bool {
        self.healthy == Some(false)
    }
}

/// `PUT /v1/deployment/promote/:id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentPromoteRequest {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "All")]
    pub all: bool,
    #[serde(rename = "Groups")]
    pub groups: Vec<String>,
}

/// `PUT /v1/deployment/pause/:id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentPauseRequest {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "Pause")]
    pub pause: bool,
}

/// The answer of deployment write endpoints (Nomad's `DeploymentUpdateResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentUpdateResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "DeploymentModifyIndex")]
    pub deployment_modify_index: u64,
    #[serde(rename = "RevertedJobVersion")]
    pub reverted_job_version: Option<u64>,
    #[serde(rename = "Index")]
    pub index: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_needs_healthy_totals_and_promotion() {
        let mut d = Deployment::default();
        assert!(!d.complete());
        d.task_groups.insert(
            "web".into(),
            DeploymentState {
                desired_total: 2,
                desired_canaries: 1,
                healthy_allocs: 2,
                ..DeploymentState::default()
            },
        );
        assert!(!d.complete());
        assert!(d.requires_promotion());
        d.task_groups.get_mut("web").unwrap().promoted = true;
        assert!(d.complete());
    }

    #[test]
    fn json_uses_nomad_names() {
        let s = AllocDeploymentStatus {
            healthy: Some(true),
            canary: true,
            ..Default::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["Healthy"], true);
        assert_eq!(v["Canary"], true);
        let st = serde_json::to_value(DeploymentState::default()).unwrap();
        assert!(st.get("DesiredTotal").is_some() && st.get("RequireProgressBy").is_some());
    }
}
