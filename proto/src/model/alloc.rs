//! Allocations (a task group placed on a node), their task states and events, and the
//! placement metrics that explain scheduling decisions.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{AllocatedResources, Job, SmallMap};

/// Client status: placed, tasks not started yet.
pub const ALLOC_CLIENT_PENDING: &str = "pending";
/// Client status: at least one task running.
pub const ALLOC_CLIENT_RUNNING: &str = "running";
/// Client status: every task finished successfully.
pub const ALLOC_CLIENT_COMPLETE: &str = "complete";
/// Client status: a task failed for good.
pub const ALLOC_CLIENT_FAILED: &str = "failed";
/// Client status: its node went down.
pub const ALLOC_CLIENT_LOST: &str = "lost";
/// Client status: its node is disconnected.
pub const ALLOC_CLIENT_UNKNOWN: &str = "unknown";
/// Desired status: keep it running.
pub const ALLOC_DESIRED_RUN: &str = "run";
/// Desired status: stop it.
pub const ALLOC_DESIRED_STOP: &str = "stop";
/// Desired status: stop it to make room (preemption).
pub const ALLOC_DESIRED_EVICT: &str = "evict";

/// Task state: not started yet.
pub const TASK_STATE_PENDING: &str = "pending";
/// Task state: running.
pub const TASK_STATE_RUNNING: &str = "running";
/// Task state: finished (see `Failed`).
pub const TASK_STATE_DEAD: &str = "dead";

/// Task event types, as Nomad names them.
pub mod task_event {
    /// The client received the allocation.
    pub const RECEIVED: &str = "Received";
    /// The task's directories are being built.
    pub const SETUP: &str = "Task Setup";
    /// The driver started the task.
    pub const STARTED: &str = "Started";
    /// The task exited.
    pub const TERMINATED: &str = "Terminated";
    /// The task will be restarted.
    pub const RESTARTING: &str = "Restarting";
    /// The restart policy gave up.
    pub const NOT_RESTARTING: &str = "Not Restarting";
    /// The task is being killed.
    pub const KILLING: &str = "Killing";
    /// The task was killed.
    pub const KILLED: &str = "Killed";
    /// The driver could not start the task.
    pub const DRIVER_FAILURE: &str = "Driver Failure";
    /// The task's configuration is invalid for its driver.
    pub const FAILED_VALIDATION: &str = "Failed Validation";
    /// Another task of the allocation failed.
    pub const SIBLING_FAILED: &str = "Sibling Task Failed";
    /// Setting the task up failed.
    pub const SETUP_FAILURE: &str = "Setup Failure";
    /// A message from the driver.
    pub const DRIVER_MESSAGE: &str = "Driver";
    /// The task's artifacts are being fetched.
    pub const DOWNLOADING_ARTIFACTS: &str = "Downloading Artifacts";
    /// Fetching, verifying or unpacking an artifact failed.
    pub const ARTIFACT_DOWNLOAD_FAILED: &str = "Failed Artifact Download";
}

/// A task group placed on a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Allocation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// `<job>.<group>[<index>]`.
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "NodeName")]
    pub node_name: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version this allocation runs; shared between allocations of one version.
    #[serde(rename = "Job")]
    pub job: Option<Arc<Job>>,
    #[serde(rename = "TaskGroup")]
    pub task_group: String,
    #[serde(rename = "AllocatedResources")]
    pub allocated_resources: AllocatedResources,
    #[serde(rename = "Metrics")]
    pub metrics: Option<AllocMetric>,
    #[serde(rename = "DesiredStatus")]
    pub desired_status: String,
    #[serde(rename = "DesiredDescription")]
    pub desired_description: String,
    #[serde(rename = "DesiredTransition")]
    pub desired_transition: DesiredTransition,
    #[serde(rename = "ClientStatus")]
    pub client_status: String,
    #[serde(rename = "ClientDescription")]
    pub client_description: String,
    #[serde(rename = "TaskStates")]
    pub task_states: SmallMap<String, TaskState>,
    #[serde(rename = "PreviousAllocation")]
    pub previous_allocation: String,
    #[serde(rename = "NextAllocation")]
    pub next_allocation: String,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Health within the deployment (reported by the client; `Canary` set by the scheduler).
    #[serde(rename = "DeploymentStatus")]
    pub deployment_status: Option<super::AllocDeploymentStatus>,
    #[serde(rename = "RescheduleTracker")]
    pub reschedule_tracker: Option<RescheduleTracker>,
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    /// Allocations evicted to make room for this one.
    #[serde(rename = "PreemptedAllocations")]
    pub preempted_allocations: Vec<String>,
    /// The allocation this one was evicted for.
    #[serde(rename = "PreemptedByAllocation")]
    pub preempted_by_allocation: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "AllocModifyIndex")]
    pub alloc_modify_index: u64,
    /// Unix nanoseconds.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

impl Allocation {
    /// The allocation's index within its group, parsed from `Name` (`job.group[3]` -> 3).
    pub fn index(&self) -> u64 {
        self.name
            .rsplit_once('[')
            .and_then(|(_, rest)| rest.strip_suffix(']'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the server wants this allocation stopped.
    pub fn server_terminal(&self) -> bool {
        self.desired_status == ALLOC_DESIRED_STOP || self.desired_status == ALLOC_DESIRED_EVICT
    }

    /// Whether the client has finished with this allocation.
    pub fn client_terminal(&self) -> bool {
        matches!(
            self.client_status.as_str(),
            ALLOC_CLIENT_COMPLETE | ALLOC_CLIENT_FAILED | ALLOC_CLIENT_LOST
        )
    }

    /// Whether the allocation is finished from either side: it no longer holds resources.
    pub fn terminal(&self) -> bool {
        self.server_terminal() || self.client_terminal()
    }

    /// The job type, when the job is attached.
    pub fn job_type(&self) -> &str {
        self.job.as_ref().map_or("", |j| j.job_type.as_str())
    }

    /// The list stub returned by allocation list endpoints.
    pub fn stub(&self) -> AllocListStub {
        AllocListStub {
            id: self.id.clone(),
            eval_id: self.eval_id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            node_id: self.node_id.clone(),
            node_name: self.node_name.clone(),
            job_id: self.job_id.clone(),
            job_type: self.job_type().to_string(),
            job_version: self.job.as_ref().map_or(0, |j| j.version),
            task_group: self.task_group.clone(),
            desired_status: self.desired_status.clone(),
            desired_description: self.desired_description.clone(),
            client_status: self.client_status.clone(),
            client_description: self.client_description.clone(),
            task_states: self.task_states.clone(),
            deployment_status: self.deployment_status.clone(),
            followup_eval_id: self.followup_eval_id.clone(),
            reschedule_tracker: self.reschedule_tracker.clone(),
            previous_allocation: self.previous_allocation.clone(),
            next_allocation: self.next_allocation.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            create_time: self.create_time,
            modify_time: self.modify_time,
            allocated_resources: None,
        }
    }
}

/// What the server wants to happen to an allocation next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct DesiredTransition {
    pub migrate: Option<bool>,
    pub reschedule: Option<bool>,
    pub force_reschedule: Option<bool>,
}

/// The state of one task of an allocation, as reported by its client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskState {
    pub state: String,
    pub failed: bool,
    pub restarts: u64,
    /// RFC 3339, as Nomad renders it.
    pub last_restart: Option<String>,
    /// RFC 3339.
    pub started_at: Option<String>,
    /// RFC 3339.
    pub finished_at: Option<String>,
    pub events: Vec<TaskEvent>,
}

/// Something that happened to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskEvent {
    #[serde(rename = "Type")]
    pub event_type: String,
    /// Unix nanoseconds.
    pub time: i64,
    pub message: String,
    pub display_message: String,
    pub details: BTreeMap<String, String>,
    pub fails_task: bool,
    pub restart_reason: String,
    pub driver_error: String,
    pub download_error: String,
    pub exit_code: i64,
    pub signal: i64,
    pub kill_timeout: i64,
    pub kill_reason: String,
    pub start_delay: i64,
}

impl TaskEvent {
    /// An event of this type at this time with a display message.
    pub fn new(event_type: &str, time: i64, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            event_type: event_type.to_string(),
            time,
            display_message: message.clone(),
            message,
            ..Default::default()
        }
    }
}

/// Past reschedules of an allocation's lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct RescheduleTracker {
    pub events: Vec<RescheduleEvent>,
}

/// One reschedule: when, from which allocation and node, after what delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RescheduleEvent {
    /// Unix nanoseconds.
    #[serde(rename = "RescheduleTime")]
    pub reschedule_time: i64,
    #[serde(rename = "PrevAllocID")]
    pub prev_alloc_id: String,
    #[serde(rename = "PrevNodeID")]
    pub prev_node_id: String,
    /// Nanoseconds.
    #[serde(rename = "Delay")]
    pub delay: i64,
}

/// Why placements of a task group succeeded or failed: what the scheduler looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocMetric {
    pub nodes_evaluated: i64,
    pub nodes_filtered: i64,
    pub nodes_in_pool: i64,
    pub nodes_available: SmallMap<String, i64>,
    pub class_filtered: SmallMap<String, i64>,
    pub constraint_filtered: SmallMap<String, i64>,
    pub nodes_exhausted: i64,
    pub class_exhausted: SmallMap<String, i64>,
    pub dimension_exhausted: SmallMap<String, i64>,
    pub quota_exhausted: Vec<String>,
    /// `<node ID>.<scorer>` -> score: Nomad's deprecated flat form, which Nomad (since 0.9)
    /// and nomadish leave empty; the scores are in `score_meta_data`.
    pub scores: SmallMap<String, f64>,
    /// The best-scored candidate nodes, best first, each with its scores (Nomad's
    /// `ScoreMetaData`).
    pub score_meta_data: Vec<NodeScoreMeta>,
    /// Nanoseconds spent placing.
    pub allocation_time: i64,
    pub coalesced_failures: i64,
}

/// One candidate node's scores for a placement (Nomad's `NodeScoreMeta`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeScoreMeta {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Scorer -> score (`binpack`, `job-anti-affinity`, `node-affinity`, ...).
    #[serde(rename = "Scores")]
    pub scores: SmallMap<ScorerName, f64>,
    /// The final score the candidates were ranked by.
    #[serde(rename = "NormScore")]
    pub norm_score: f64,
}

/// The name of a scorer in [`NodeScoreMeta::scores`]. The scheduler's own scorers are
/// static strings, so a recorded score holds no copy of its name (a placement records a few
/// of them on every allocation), also when it is read back from JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScorerName(std::borrow::Cow<'static, str>);

impl ScorerName {
    /// The scheduler's scorers, which decoding maps to static names.
    pub const KNOWN: [&'static str; 5] = [
        "allocation-spread",
        "binpack",
        "job-anti-affinity",
        "node-affinity",
        "node-reschedule-penalty",
    ];

    /// A scorer name that needs no allocation.
    pub const fn fixed(name: &'static str) -> Self {
        Self(std::borrow::Cow::Borrowed(name))
    }

    /// Any name: one of [`ScorerName::KNOWN`] is held as the static string.
    pub fn new(name: &str) -> Self {
        match Self::KNOWN.iter().find(|k| **k == name) {
            Some(known) => Self::fixed(known),
            None => Self(std::borrow::Cow::Owned(name.to_string())),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ScorerName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for ScorerName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ScorerName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::new(&name))
    }
}

/// Allocation list entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "NodeName")]
    pub node_name: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobType")]
    pub job_type: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "TaskGroup")]
    pub task_group: String,
    #[serde(rename = "DesiredStatus")]
    pub desired_status: String,
    #[serde(rename = "DesiredDescription")]
    pub desired_description: String,
    #[serde(rename = "ClientStatus")]
    pub client_status: String,
    #[serde(rename = "ClientDescription")]
    pub client_description: String,
    #[serde(rename = "TaskStates")]
    pub task_states: SmallMap<String, TaskState>,
    #[serde(rename = "DeploymentStatus")]
    pub deployment_status: Option<super::AllocDeploymentStatus>,
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    #[serde(rename = "RescheduleTracker")]
    pub reschedule_tracker: Option<RescheduleTracker>,
    #[serde(rename = "PreviousAllocation")]
    pub previous_allocation: String,
    #[serde(rename = "NextAllocation")]
    pub next_allocation: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
    /// The allocation's resources; only with `?resources=true`, as Nomad.
    #[serde(rename = "AllocatedResources", skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<AllocatedResources>,
}

/// What a client reports about one of its allocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocClientUpdate {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ClientStatus")]
    pub client_status: String,
    #[serde(rename = "ClientDescription")]
    pub client_description: String,
    #[serde(rename = "TaskStates")]
    pub task_states: SmallMap<String, TaskState>,
    /// Health within the allocation's deployment, once the client decided it.
    #[serde(rename = "DeploymentStatus")]
    pub deployment_status: Option<super::AllocDeploymentStatus>,
}

#[cfg(test)]
mod score_tests {
    use super::*;

    #[test]
    fn score_meta_data_has_nomads_json_shape_and_static_scorer_names() {
        let metric = AllocMetric {
            score_meta_data: vec![NodeScoreMeta {
                node_id: "n1".into(),
                scores: [
                    (ScorerName::fixed("binpack"), 0.25),
                    (ScorerName::new("custom"), 1.0),
                ]
                .into(),
                norm_score: 0.5,
            }],
            ..AllocMetric::default()
        };
        let json = serde_json::to_value(&metric).expect("encodes");
        assert_eq!(
            json["ScoreMetaData"],
            serde_json::json!([{"NodeID": "n1", "Scores": {"binpack": 0.25, "custom": 1.0}, "NormScore": 0.5}])
        );
        let back: AllocMetric = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, metric);
        let names: Vec<_> = back.score_meta_data[0].scores.keys().collect();
        assert!(matches!(names[0].0, std::borrow::Cow::Borrowed("binpack")));
        assert!(matches!(names[1].0, std::borrow::Cow::Owned(_)));
    }
}
