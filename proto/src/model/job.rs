//! Jobs, task groups and tasks, with the list stub and summary the API returns.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{
    Affinity, Constraint, DispatchPayloadConfig, EphemeralDisk, LogConfig, Meta, MigrateStrategy,
    NetworkResource, ParameterizedJobConfig, PeriodicConfig, ReschedulePolicy, Resources,
    RestartPolicy, Spread, TaskArtifact, TaskLifecycle, UpdateStrategy,
};

/// Job type `service`: long-running, restarted and rescheduled.
pub const JOB_TYPE_SERVICE: &str = "service";
/// Job type `batch`: runs to completion.
pub const JOB_TYPE_BATCH: &str = "batch";
/// Job type `system`: one allocation on every eligible node.
pub const JOB_TYPE_SYSTEM: &str = "system";
/// Job type `sysbatch`: batch on every eligible node.
pub const JOB_TYPE_SYSBATCH: &str = "sysbatch";
/// Every job type a user may submit.
pub const JOB_TYPES: [&str; 4] = [
    JOB_TYPE_SERVICE,
    JOB_TYPE_BATCH,
    JOB_TYPE_SYSTEM,
    JOB_TYPE_SYSBATCH,
];

/// Job status: not every allocation placed or running yet.
pub const JOB_STATUS_PENDING: &str = "pending";
/// Job status: allocations are running.
pub const JOB_STATUS_RUNNING: &str = "running";
/// Job status: stopped or finished.
pub const JOB_STATUS_DEAD: &str = "dead";

/// The namespace every cluster has.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The region name used when none is configured.
pub const DEFAULT_REGION: &str = "global";
/// The most allocations a job may ask for, summed over its groups' counts (submitted or
/// scaled): the scheduler holds one placement per missing allocation in memory.
pub const MAX_JOB_ALLOCATIONS: i64 = 100_000;
/// Nomad's default job priority.
pub const DEFAULT_PRIORITY: i64 = 50;
/// Nomad's default `kill_timeout`: 5 s.
pub const DEFAULT_KILL_TIMEOUT_NS: i64 = 5 * super::NS_PER_SEC;

/// A job, as registered by users and stored by the servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Job {
    #[serde(rename = "Region")]
    pub region: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    #[serde(rename = "AllAtOnce")]
    pub all_at_once: bool,
    #[serde(rename = "Datacenters")]
    pub datacenters: Vec<String>,
    #[serde(rename = "NodePool")]
    pub node_pool: String,
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    #[serde(rename = "Spreads")]
    pub spreads: Vec<Spread>,
    #[serde(rename = "TaskGroups")]
    pub task_groups: Vec<TaskGroup>,
    #[serde(rename = "Update")]
    pub update: Option<UpdateStrategy>,
    #[serde(rename = "Periodic")]
    pub periodic: Option<PeriodicConfig>,
    #[serde(rename = "ParameterizedJob")]
    pub parameterized_job: Option<ParameterizedJobConfig>,
    #[serde(rename = "Dispatched")]
    pub dispatched: bool,
    #[serde(rename = "Payload")]
    pub payload: Option<String>,
    /// Left out of the JSON when empty (only dispatched jobs carry one).
    #[serde(
        rename = "DispatchIdempotencyToken",
        skip_serializing_if = "String::is_empty"
    )]
    pub dispatch_idempotency_token: String,
    #[serde(rename = "Reschedule")]
    pub reschedule: Option<ReschedulePolicy>,
    #[serde(rename = "Meta")]
    pub meta: Meta,
    #[serde(rename = "Stop")]
    pub stop: bool,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "Stable")]
    pub stable: bool,
    #[serde(rename = "Version")]
    pub version: u64,
    #[serde(rename = "SubmitTime")]
    pub submit_time: i64,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    /// Nomad fields for systems nomadish lacks, kept so validation can refuse them.
    #[serde(flatten)]
    pub unsupported: super::JobUnsupported,
}

impl Job {
    /// The task group with this name.
    pub fn group(&self, name: &str) -> Option<&TaskGroup> {
        self.task_groups.iter().find(|g| g.name == name)
    }

    /// Whether the job runs to completion (`batch` or `sysbatch`).
    pub fn is_batch(&self) -> bool {
        self.job_type == JOB_TYPE_BATCH || self.job_type == JOB_TYPE_SYSBATCH
    }

    /// Whether the job runs on every eligible node (`system` or `sysbatch`).
    pub fn is_system(&self) -> bool {
        self.job_type == JOB_TYPE_SYSTEM || self.job_type == JOB_TYPE_SYSBATCH
    }

    /// Whether the job is a template for children (periodic or parameterized) rather than
    /// something that places allocations itself.
    pub fn is_parent(&self) -> bool {
        self.periodic.as_ref().is_some_and(|p| p.enabled) || self.parameterized_job.is_some()
    }

    /// Whether two versions differ in anything a user specified (not in server bookkeeping).
    pub fn spec_changed(&self, other: &Job) -> bool {
        let strip = |j: &Job| Job {
            status: String::new(),
            status_description: String::new(),
            stable: false,
            version: 0,
            submit_time: 0,
            create_index: 0,
            modify_index: 0,
            job_modify_index: 0,
            ..j.clone()
        };
        strip(self) != strip(other)
    }

    /// The list stub returned by `GET /v1/jobs`.
    pub fn stub(&self, summary: Option<JobSummary>) -> JobListStub {
        JobListStub {
            id: self.id.clone(),
            parent_id: self.parent_id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            datacenters: self.datacenters.clone(),
            node_pool: self.node_pool.clone(),
            job_type: self.job_type.clone(),
            priority: self.priority,
            periodic: self.periodic.as_ref().is_some_and(|p| p.enabled),
            parameterized_job: self.parameterized_job.is_some(),
            stop: self.stop,
            status: self.status.clone(),
            status_description: self.status_description.clone(),
            job_summary: summary,
            create_index: self.create_index,
            modify_index: self.modify_index,
            job_modify_index: self.job_modify_index,
            submit_time: self.submit_time,
            meta: self.meta.clone(),
        }
    }
}

/// A task group: the unit of placement; `Count` copies of it become allocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskGroup {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Count")]
    pub count: i64,
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    #[serde(rename = "Spreads")]
    pub spreads: Vec<Spread>,
    #[serde(rename = "Tasks")]
    pub tasks: Vec<Task>,
    #[serde(rename = "RestartPolicy")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(rename = "ReschedulePolicy")]
    pub reschedule_policy: Option<ReschedulePolicy>,
    #[serde(rename = "EphemeralDisk")]
    pub ephemeral_disk: Option<EphemeralDisk>,
    #[serde(rename = "Update")]
    pub update: Option<UpdateStrategy>,
    #[serde(rename = "Migrate")]
    pub migrate: Option<MigrateStrategy>,
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    #[serde(rename = "Meta")]
    pub meta: Meta,
    #[serde(rename = "ShutdownDelay")]
    pub shutdown_delay: Option<i64>,
    /// Left out of the JSON when absent (keeps older encodings unchanged).
    #[serde(rename = "Scaling", skip_serializing_if = "Option::is_none")]
    pub scaling: Option<super::ScalingPolicy>,
    /// Group-level services; left out of the JSON when none.
    #[serde(rename = "Services", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<super::Service>,
    /// Host volumes by label (left out of the JSON when empty).
    #[serde(rename = "Volumes", skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, super::VolumeRequest>,
    /// Nomad fields for systems nomadish lacks, kept so validation can refuse them.
    #[serde(flatten)]
    pub unsupported: super::GroupUnsupported,
}

impl Default for TaskGroup {
    fn default() -> Self {
        Self {
            name: String::new(),
            count: 1,
            constraints: Vec::new(),
            affinities: Vec::new(),
            spreads: Vec::new(),
            tasks: Vec::new(),
            restart_policy: None,
            reschedule_policy: None,
            ephemeral_disk: None,
            update: None,
            migrate: None,
            networks: Vec::new(),
            meta: Meta::new(),
            shutdown_delay: None,
            scaling: None,
            services: Vec::new(),
            volumes: BTreeMap::new(),
            unsupported: super::GroupUnsupported::default(),
        }
    }
}

impl TaskGroup {
    /// The task with this name.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// Total CPU (MHz) the group's tasks ask for.
    pub fn cpu(&self) -> i64 {
        self.tasks.iter().map(|t| t.resources.cpu).sum()
    }

    /// Total memory (MB) the group's tasks ask for.
    pub fn memory_mb(&self) -> i64 {
        self.tasks.iter().map(|t| t.resources.memory_mb).sum()
    }

    /// Disk (MB) the group asks for.
    pub fn disk_mb(&self) -> i64 {
        self.ephemeral_disk.as_ref().map_or(0, |d| d.size_mb)
    }
}

/// A task: one process (container, command, remote command) run by a driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Task {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "User")]
    pub user: String,
    #[serde(rename = "Config")]
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "Env")]
    pub env: BTreeMap<String, String>,
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    #[serde(rename = "Resources")]
    pub resources: Resources,
    #[serde(rename = "RestartPolicy")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(rename = "Meta")]
    pub meta: Meta,
    #[serde(rename = "KillTimeout")]
    pub kill_timeout: i64,
    #[serde(rename = "LogConfig")]
    pub log_config: Option<LogConfig>,
    #[serde(rename = "Leader")]
    pub leader: bool,
    #[serde(rename = "ShutdownDelay")]
    pub shutdown_delay: i64,
    #[serde(rename = "KillSignal")]
    pub kill_signal: String,
    #[serde(rename = "Kind")]
    pub kind: String,
    #[serde(rename = "Lifecycle")]
    pub lifecycle: Option<TaskLifecycle>,
    #[serde(rename = "DispatchPayload")]
    pub dispatch_payload: Option<DispatchPayloadConfig>,
    #[serde(rename = "Artifacts")]
    pub artifacts: Vec<TaskArtifact>,
    /// Task-level services; left out of the JSON when none.
    #[serde(rename = "Services", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<super::Service>,
    /// Group volumes mounted into the task (left out of the JSON when empty).
    #[serde(rename = "VolumeMounts", skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<super::VolumeMount>,
    #[serde(rename = "Templates")]
    pub templates: Vec<Template>,
    /// Nomad fields for systems nomadish lacks, kept so validation can refuse them.
    #[serde(flatten)]
    pub unsupported: super::TaskUnsupported,
}

/// `change_mode = "restart"`: restart the task when a template re-renders (the default).
pub const TEMPLATE_CHANGE_RESTART: &str = "restart";
/// `change_mode = "signal"`: send `change_signal` to the task.
pub const TEMPLATE_CHANGE_SIGNAL: &str = "signal";
/// `change_mode = "noop"`: only rewrite the file.
pub const TEMPLATE_CHANGE_NOOP: &str = "noop";
/// Nomad's default `splay`: 5 seconds.
pub const DEFAULT_TEMPLATE_SPLAY_NS: i64 = 5_000_000_000;

/// `template { ... }` on a task: a Go template rendered by the client before the task starts
/// and re-rendered when the data it reads changes. Missing JSON fields take Nomad's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// `source`: a template file, relative to the task directory.
    #[serde(rename = "SourcePath")]
    pub source_path: String,
    /// `destination`: where the rendered file goes, relative to the task directory.
    #[serde(rename = "DestPath")]
    pub dest_path: String,
    /// `data`: the template text.
    #[serde(rename = "EmbeddedTmpl")]
    pub embedded_tmpl: String,
    /// `restart`, `signal` or `noop`.
    #[serde(rename = "ChangeMode")]
    pub change_mode: String,
    #[serde(rename = "ChangeSignal")]
    pub change_signal: String,
    /// Nanoseconds: a random wait up to this long before acting on a change.
    #[serde(rename = "Splay")]
    pub splay: i64,
    /// Octal permissions of the rendered file.
    #[serde(rename = "Perms")]
    pub perms: String,
    #[serde(rename = "Uid")]
    pub uid: Option<i64>,
    #[serde(rename = "Gid")]
    pub gid: Option<i64>,
    #[serde(rename = "LeftDelim")]
    pub left_delim: String,
    #[serde(rename = "RightDelim")]
    pub right_delim: String,
    /// `env = true`: the rendered `KEY=VALUE` lines join the task's environment.
    #[serde(rename = "Envvars")]
    pub envvars: bool,
    /// Fail rendering on a missing map key instead of printing `<no value>`.
    #[serde(rename = "ErrMissingKey")]
    pub err_missing_key: bool,
}

impl Default for Template {
    fn default() -> Self {
        Self {
            source_path: String::new(),
            dest_path: String::new(),
            embedded_tmpl: String::new(),
            change_mode: TEMPLATE_CHANGE_RESTART.to_string(),
            change_signal: String::new(),
            splay: DEFAULT_TEMPLATE_SPLAY_NS,
            perms: "0644".to_string(),
            uid: None,
            gid: None,
            left_delim: "{{".to_string(),
            right_delim: "}}".to_string(),
            envvars: false,
            err_missing_key: false,
        }
    }
}

/// `GET /v1/jobs` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Datacenters")]
    pub datacenters: Vec<String>,
    #[serde(rename = "NodePool")]
    pub node_pool: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    #[serde(rename = "Periodic")]
    pub periodic: bool,
    #[serde(rename = "ParameterizedJob")]
    pub parameterized_job: bool,
    #[serde(rename = "Stop")]
    pub stop: bool,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "JobSummary")]
    pub job_summary: Option<JobSummary>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "SubmitTime")]
    pub submit_time: i64,
    #[serde(rename = "Meta")]
    pub meta: Meta,
}

/// Allocation counts per client status for one task group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskGroupSummary {
    pub queued: i64,
    pub complete: i64,
    pub failed: i64,
    pub running: i64,
    pub starting: i64,
    pub lost: i64,
    pub unknown: i64,
}

/// Children of a periodic or parameterized job, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobChildrenSummary {
    pub pending: i64,
    pub running: i64,
    pub dead: i64,
}

/// `GET /v1/job/:id/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobSummary {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Summary")]
    pub summary: BTreeMap<String, TaskGroupSummary>,
    #[serde(rename = "Children")]
    pub children: JobChildrenSummary,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}
