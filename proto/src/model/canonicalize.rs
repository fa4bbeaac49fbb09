//! Fills Nomad's context-dependent defaults into a job (`Job::canonicalize`) and checks it
//! against Nomad's rules (`Job::validate`, `Job::problems`).
//!
//! ```text
//!   jobspec (HCL) ──decode──┐
//!                           ├──> Job ──canonicalize──> Job ──problems()──> [Problem{path, message}]
//!   JSON (HTTP API) ────────┘     (defaults by job type)        │
//!                                                               └─ validate(): messages only
//! ```
//!
//! A [`Problem`] names the offending field with a [`FieldPath`] in Nomad's JSON names
//! (`TaskGroups[0].Tasks[1].Resources.MemoryMB`), so the jobspec parser can point at the
//! attribute that set it without ever matching on message text.

mod unsupported;
mod validate;
mod validate_policy;

pub use unsupported::unsupported_message;

use std::fmt;

use super::{
    Constraint, DEFAULT_CPU_MHZ, DEFAULT_KILL_TIMEOUT_NS, DEFAULT_MEMORY_MB, DEFAULT_NAMESPACE,
    DEFAULT_PRIORITY, DEFAULT_REGION, EphemeralDisk, JOB_TYPE_BATCH, JOB_TYPE_SERVICE, Job,
    LogConfig, ReschedulePolicy, RestartPolicy, Task, TaskGroup,
};

/// The node pool every cluster has.
pub const DEFAULT_NODE_POOL: &str = "default";
/// The datacenter pattern a job gets when it names none: every datacenter.
pub const DEFAULT_DATACENTER: &str = "*";
/// The network mode a group network gets when it names none.
pub const DEFAULT_NETWORK_MODE: &str = "host";
/// The constraint operator used when a constraint names none.
pub const DEFAULT_CONSTRAINT_OPERATOR: &str = "=";

/// One step of a [`FieldPath`]: a JSON field name or an index into a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A field, by its JSON name (`TaskGroups`, `MemoryMB`).
    Field(&'static str),
    /// An element of a list field.
    Index(usize),
}

/// Where in a job a value lives, in Nomad's JSON names: `TaskGroups[0].Tasks[1].Driver`.
/// The empty path is the job itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The job itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a field.
    pub fn field(&self, name: &'static str) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Field(name));
        Self(segments)
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
        Self(segments)
    }

    /// The path's steps, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// The enclosing path (`None` for the job itself).
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.0.split_last()?;
        Some(Self(rest.to_vec()))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("Job");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if i == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// One thing wrong with a job: the field at fault and a message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The offending field (or the nearest object when a field is missing).
    pub path: FieldPath,
    /// What is wrong, in Nomad's spirit (`Task group "cache": count can't be negative`).
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Job {
    /// Fill Nomad's defaults (idempotent). Used for jobspecs AND for JSON jobs sent to the API.
    ///
    /// Job: name = ID, namespace `default`, region `global`, type `service`, priority 50,
    /// datacenters `["*"]`, node pool `default`. Groups: restart and reschedule policies by job
    /// type (a partial policy takes the missing interval/mode from the default), the job's
    /// reschedule and update blocks, a 300 MB ephemeral disk. Tasks: the group's restart policy,
    /// 100 MHz / 300 MB, a 5 s kill timeout, 10 x 10 MB logs. Constraints without an operator
    /// get `=`.
    pub fn canonicalize(&mut self) {
        fill_str(&mut self.name, &self.id);
        fill_str(&mut self.namespace, DEFAULT_NAMESPACE);
        fill_str(&mut self.region, DEFAULT_REGION);
        fill_str(&mut self.job_type, JOB_TYPE_SERVICE);
        fill_str(&mut self.node_pool, DEFAULT_NODE_POOL);
        if self.priority == 0 {
            self.priority = DEFAULT_PRIORITY;
        }
        if self.datacenters.is_empty() {
            self.datacenters = vec![DEFAULT_DATACENTER.to_string()];
        }
        canonicalize_constraints(&mut self.constraints);
        if let Some(periodic) = self.periodic.as_mut() {
            fill_str(&mut periodic.spec_type, "cron");
            fill_str(&mut periodic.time_zone, "UTC");
        }
        if let Some(param) = self.parameterized_job.as_mut() {
            fill_str(&mut param.payload, "optional");
        }
        let restart_default = default_restart(&self.job_type);
        let reschedule_default = default_reschedule(&self.job_type);
        if let (Some(policy), Some(default)) = (self.reschedule.as_mut(), &reschedule_default) {
            fill_reschedule(policy, default);
        }
        let group_reschedule = self.reschedule.clone().or(reschedule_default);
        for group in &mut self.task_groups {
            if let Some(scaling) = group.scaling.as_mut() {
                scaling.min.get_or_insert(group.count);
                fill_str(&mut scaling.policy_type, "horizontal");
            }
            canonicalize_group(group, &restart_default, group_reschedule.as_ref());
            if group.update.is_none() {
                group.update.clone_from(&self.update);
            }
            for service in &mut group.services {
                super::canonicalize_service(service, &self.name, &group.name, None);
            }
            for task in &mut group.tasks {
                for service in &mut task.services {
                    super::canonicalize_service(service, &self.name, &group.name, Some(&task.name));
                }
            }
        }
    }
}

/// Nomad's restart policy for a job type (`service`/`system` vs `batch`/`sysbatch`).
pub fn default_restart(job_type: &str) -> RestartPolicy {
    if is_batch_type(job_type) {
        RestartPolicy::batch_default()
    } else {
        RestartPolicy::service_default()
    }
}

/// Nomad's reschedule policy for a job type; `None` for `system` and `sysbatch`, which are not
/// rescheduled.
pub fn default_reschedule(job_type: &str) -> Option<ReschedulePolicy> {
    match job_type {
        JOB_TYPE_BATCH => Some(ReschedulePolicy::batch_default()),
        super::JOB_TYPE_SYSTEM | super::JOB_TYPE_SYSBATCH => None,
        _ => Some(ReschedulePolicy::service_default()),
    }
}

fn is_batch_type(job_type: &str) -> bool {
    job_type == JOB_TYPE_BATCH || job_type == super::JOB_TYPE_SYSBATCH
}

fn fill_str(slot: &mut String, default: &str) {
    if slot.is_empty() {
        *slot = default.to_string();
    }
}

fn canonicalize_constraints(constraints: &mut [Constraint]) {
    for constraint in constraints {
        fill_str(&mut constraint.operand, DEFAULT_CONSTRAINT_OPERATOR);
    }
}

/// Completes a partial restart policy: an empty mode or a zero interval (never valid in Nomad)
/// are taken from `default`.
fn fill_restart(policy: &mut RestartPolicy, default: &RestartPolicy) {
    fill_str(&mut policy.mode, &default.mode);
    if policy.interval == 0 {
        policy.interval = default.interval;
    }
}

/// Completes a partial reschedule policy: an empty delay function and a zero delay are taken
/// from `default`.
fn fill_reschedule(policy: &mut ReschedulePolicy, default: &ReschedulePolicy) {
    fill_str(&mut policy.delay_function, &default.delay_function);
    if policy.delay == 0 {
        policy.delay = default.delay;
    }
}

fn canonicalize_group(
    group: &mut TaskGroup,
    restart_default: &RestartPolicy,
    reschedule_default: Option<&ReschedulePolicy>,
) {
    let restart = group
        .restart_policy
        .get_or_insert_with(|| restart_default.clone());
    fill_restart(restart, restart_default);
    match (group.reschedule_policy.as_mut(), reschedule_default) {
        (Some(policy), Some(default)) => fill_reschedule(policy, default),
        (None, Some(default)) => group.reschedule_policy = Some(default.clone()),
        (_, None) => {}
    }
    if group.ephemeral_disk.is_none() {
        group.ephemeral_disk = Some(EphemeralDisk::default());
    }
    for network in &mut group.networks {
        fill_str(&mut network.mode, DEFAULT_NETWORK_MODE);
    }
    canonicalize_constraints(&mut group.constraints);
    let group_restart = group.restart_policy.clone().unwrap_or_default();
    for task in &mut group.tasks {
        canonicalize_task(task, &group_restart);
        for mount in &mut task.volume_mounts {
            fill_str(&mut mount.propagation_mode, "private");
        }
    }
}

fn canonicalize_task(task: &mut Task, group_restart: &RestartPolicy) {
    let restart = task
        .restart_policy
        .get_or_insert_with(|| group_restart.clone());
    fill_restart(restart, group_restart);
    if task.resources.cpu == 0 && task.resources.cores == 0 {
        task.resources.cpu = DEFAULT_CPU_MHZ;
    }
    if task.resources.memory_mb == 0 {
        task.resources.memory_mb = DEFAULT_MEMORY_MB;
    }
    if task.kill_timeout == 0 {
        task.kill_timeout = DEFAULT_KILL_TIMEOUT_NS;
    }
    if task.log_config.is_none() {
        task.log_config = Some(LogConfig::default());
    }
    canonicalize_constraints(&mut task.constraints);
}

/// A nanosecond duration in Go's style for messages: `5s`, `1m30s`, `250ms`, `-2s`.
pub fn format_duration_ns(ns: i64) -> String {
    const NS_PER_MS: i64 = 1_000_000;
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let sec = super::NS_PER_SEC.unsigned_abs();
    if !abs.is_multiple_of(sec) {
        let ms = NS_PER_MS.unsigned_abs();
        return if abs.is_multiple_of(ms) {
            format!("{sign}{}ms", abs / ms)
        } else {
            format!("{sign}{abs}ns")
        };
    }
    let total = abs / sec;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests;
