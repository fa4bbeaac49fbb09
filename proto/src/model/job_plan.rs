//! `POST /v1/job/:id/plan`: the request, Nomad's `JobPlanResponse`, and the job diff shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AllocMetric, Evaluation, Job, PlanAnnotations};

/// Diff type: the object is new.
pub const DIFF_ADDED: &str = "Added";
/// Diff type: the object is gone.
pub const DIFF_DELETED: &str = "Deleted";
/// Diff type: the object changed.
pub const DIFF_EDITED: &str = "Edited";
/// Diff type: nothing changed.
pub const DIFF_NONE: &str = "None";

/// Body of `POST /v1/job/:id/plan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobPlanRequest {
    #[serde(rename = "Job")]
    pub job: Option<Job>,
    /// Return the diff against the registered version.
    #[serde(rename = "Diff")]
    pub diff: bool,
    #[serde(rename = "PolicyOverride")]
    pub policy_override: bool,
}

/// What the scheduler would do with the job, and how it differs from the registered one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobPlanResponse {
    #[serde(rename = "Annotations")]
    pub annotations: Option<PlanAnnotations>,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// The registered job's `JobModifyIndex` (0 when it is new): the `-check-index` to use.
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "CreatedEvals")]
    pub created_evals: Vec<Evaluation>,
    #[serde(rename = "Diff")]
    pub diff: Option<JobDiff>,
    /// Unix nanoseconds of the next periodic launch (0: not periodic).
    #[serde(rename = "NextPeriodicLaunch")]
    pub next_periodic_launch: i64,
    #[serde(rename = "Warnings")]
    pub warnings: String,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// The difference between two versions of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobDiff {
    #[serde(rename = "Type")]
    pub diff_type: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Fields")]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Objects")]
    pub objects: Vec<ObjectDiff>,
    #[serde(rename = "TaskGroups")]
    pub task_groups: Vec<TaskGroupDiff>,
}

/// The difference in one task group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskGroupDiff {
    #[serde(rename = "Type")]
    pub diff_type: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Fields")]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Objects")]
    pub objects: Vec<ObjectDiff>,
    #[serde(rename = "Tasks")]
    pub tasks: Vec<TaskDiff>,
    /// What the scheduler would do: `create`, `destroy`, `migrate`, `in-place update`,
    /// `create/destroy update`, `canary`, `ignore` -> count.
    #[serde(rename = "Updates")]
    pub updates: BTreeMap<String, u64>,
}

/// The difference in one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskDiff {
    #[serde(rename = "Type")]
    pub diff_type: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Fields")]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Objects")]
    pub objects: Vec<ObjectDiff>,
    /// `forces create`, `forces destroy`, `forces create/destroy update`,
    /// `forces in-place update`.
    #[serde(rename = "Annotations")]
    pub annotations: Vec<String>,
}

/// The difference in one nested object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ObjectDiff {
    #[serde(rename = "Type")]
    pub diff_type: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Fields")]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Objects")]
    pub objects: Vec<ObjectDiff>,
}

/// The difference in one field, values rendered as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FieldDiff {
    #[serde(rename = "Type")]
    pub diff_type: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Old")]
    pub old: String,
    #[serde(rename = "New")]
    pub new: String,
    #[serde(rename = "Annotations")]
    pub annotations: Vec<String>,
}
