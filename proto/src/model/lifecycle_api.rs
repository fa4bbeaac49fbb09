//! Request and response bodies of the job lifecycle endpoints: periodic force, dispatch,
//! revert and scale, in Nomad's JSON shapes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Meta;

/// A group's `scaling { min max enabled policy { ... } }` (horizontal scaling bounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ScalingPolicy {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Type")]
    pub policy_type: String,
    #[serde(rename = "Target")]
    pub target: BTreeMap<String, String>,
    /// The autoscaler's policy, kept as written.
    #[serde(rename = "Policy")]
    pub policy: BTreeMap<String, serde_json::Value>,
    /// Smallest count (defaults to the group's count).
    #[serde(rename = "Min")]
    pub min: Option<i64>,
    /// Largest count (required).
    #[serde(rename = "Max")]
    pub max: Option<i64>,
    #[serde(rename = "Enabled")]
    pub enabled: bool,
}

/// Largest dispatch payload, as Nomad's `DispatchPayloadSizeLimit` (16 KiB).
pub const DISPATCH_PAYLOAD_SIZE_LIMIT: usize = 16 * 1024;

/// Response of `POST /v1/job/:id/periodic/force`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PeriodicForceResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// Body of `POST /v1/job/:id/dispatch` (`Payload` is base64, as Go encodes `[]byte`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobDispatchRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "Payload")]
    pub payload: Option<String>,
    #[serde(rename = "Meta")]
    pub meta: Meta,
    #[serde(rename = "IdempotencyToken")]
    pub idempotency_token: String,
}

/// Response of `POST /v1/job/:id/dispatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobDispatchResponse {
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "JobCreateIndex")]
    pub job_create_index: u64,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// Body of `POST /v1/job/:id/revert`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobRevertRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "EnforcePriorVersion")]
    pub enforce_prior_version: Option<u64>,
}

/// Body of `POST /v1/job/:id/scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobScaleRequest {
    /// `{"Group": "name"}` (also `Job` and `Namespace`).
    #[serde(rename = "Target")]
    pub target: BTreeMap<String, String>,
    #[serde(rename = "Count")]
    pub count: Option<i64>,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "Error")]
    pub error: bool,
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "PolicyOverride")]
    pub policy_override: bool,
}

/// One group in `GET /v1/job/:id/scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskGroupScaleStatus {
    pub desired: i64,
    pub placed: i64,
    pub running: i64,
    pub healthy: i64,
    pub unhealthy: i64,
    pub events: Vec<serde_json::Value>,
}

/// Response of `GET /v1/job/:id/scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobScaleStatusResponse {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "JobCreateIndex")]
    pub job_create_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "JobStopped")]
    pub job_stopped: bool,
    #[serde(rename = "TaskGroups")]
    pub task_groups: BTreeMap<String, TaskGroupScaleStatus>,
}
