//! Nomad's validation rules for jobs, task groups and tasks (the policy blocks they hold are
//! checked in the sibling `validate_policy` module).

use std::collections::BTreeMap;

use super::unsupported::check_unsupported;
use super::validate_policy::{
    check_constraints, check_logs, check_networks, check_reschedule, check_resources,
    check_restart, check_update,
};
use super::{FieldPath, Problem};
use crate::model::{
    JOB_TYPES, Job, LIFECYCLE_HOOK_POSTSTART, LIFECYCLE_HOOK_POSTSTOP, LIFECYCLE_HOOK_PRESTART,
    MAX_JOB_ALLOCATIONS, Task, TaskGroup,
};

/// Lowest job priority a user may ask for.
pub const MIN_PRIORITY: i64 = 1;
/// Highest job priority a user may ask for.
pub const MAX_PRIORITY: i64 = 100;

impl Job {
    /// Every problem with a canonicalized job, each with the path of the field at fault.
    /// Empty when the job is valid.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        check_job_fields(self, &mut out);
        check_constraints(
            &self.constraints,
            &FieldPath::root().field("Constraints"),
            "Job",
            &mut out,
        );
        if let Some(policy) = &self.reschedule {
            check_reschedule(
                policy,
                &FieldPath::root().field("Reschedule"),
                "Job",
                &mut out,
            );
        }
        if let Some(update) = &self.update {
            check_update(update, &FieldPath::root().field("Update"), "Job", &mut out);
        }
        check_groups(self, &mut out);
        check_unsupported(self, &mut out);
        out
    }

    /// Validate a canonicalized job; every problem, as messages naming the field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.into_iter().map(|p| p.message).collect())
        }
    }
}

fn check_job_fields(job: &Job, out: &mut Vec<Problem>) {
    check_job_identity(job, out);
    check_job_placement(job, out);
}

/// ID, name, region, namespace.
fn check_job_identity(job: &Job, out: &mut Vec<Problem>) {
    let root = FieldPath::root();
    if job.id.is_empty() {
        out.push(Problem::new(root.field("ID"), "Missing job ID"));
    } else if job.id.contains(' ') {
        out.push(Problem::new(
            root.field("ID"),
            format!("Job ID {:?} contains a space", job.id),
        ));
    } else if job.id.contains('\0') {
        out.push(Problem::new(
            root.field("ID"),
            "Job ID contains a null character",
        ));
    }
    if job.name.contains('\0') {
        out.push(Problem::new(
            root.field("Name"),
            "Job name contains a null character",
        ));
    }
    if job.region.is_empty() {
        out.push(Problem::new(root.field("Region"), "Missing job region"));
    }
    if job.namespace.is_empty() {
        out.push(Problem::new(
            root.field("Namespace"),
            "Job must be in a namespace",
        ));
    }
}

/// Node pool, type, priority, datacenters.
fn check_job_placement(job: &Job, out: &mut Vec<Problem>) {
    let root = FieldPath::root();
    if job.node_pool.is_empty() {
        out.push(Problem::new(
            root.field("NodePool"),
            "Missing job node pool",
        ));
    }
    if !JOB_TYPES.contains(&job.job_type.as_str()) {
        out.push(Problem::new(
            root.field("Type"),
            format!(
                "Invalid job type {:?}; expected one of {}",
                job.job_type,
                JOB_TYPES.join(", ")
            ),
        ));
    }
    if !(MIN_PRIORITY..=MAX_PRIORITY).contains(&job.priority) {
        out.push(Problem::new(
            root.field("Priority"),
            format!(
                "Job priority must be between [{MIN_PRIORITY}, {MAX_PRIORITY}]; got {}",
                job.priority
            ),
        ));
    }
    if job.datacenters.is_empty() {
        out.push(Problem::new(
            root.field("Datacenters"),
            "Missing job datacenters",
        ));
    }
    for (i, dc) in job.datacenters.iter().enumerate() {
        if dc.is_empty() {
            out.push(Problem::new(
                root.field("Datacenters").index(i),
                "Job datacenter must be a non-empty string",
            ));
        }
    }
}

fn check_groups(job: &Job, out: &mut Vec<Problem>) {
    let groups = FieldPath::root().field("TaskGroups");
    if job.task_groups.is_empty() {
        out.push(Problem::new(groups.clone(), "Missing job task groups"));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, group) in job.task_groups.iter().enumerate() {
        let path = groups.index(i);
        if group.name.is_empty() {
            out.push(Problem::new(
                path.field("Name"),
                format!("Task group {} has no name", i + 1),
            ));
        } else if let Some(first) = seen.get(group.name.as_str()) {
            out.push(Problem::new(
                path.field("Name"),
                format!(
                    "Task group {} redefines {:?} from group {}",
                    i + 1,
                    group.name,
                    first + 1
                ),
            ));
        } else {
            seen.insert(&group.name, i);
        }
        check_group(job, group, &path, out);
    }
    check_total_count(job, &groups, out);
}

/// The sum of the groups' counts is bounded: the scheduler materializes one placement per
/// missing allocation, so an unbounded count would let one job exhaust the leader's memory.
fn check_total_count(job: &Job, groups: &FieldPath, out: &mut Vec<Problem>) {
    let mut total = 0i64;
    for (i, group) in job.task_groups.iter().enumerate() {
        total = total.saturating_add(group.count.max(0));
        if total > MAX_JOB_ALLOCATIONS {
            out.push(Problem::new(
                groups.index(i).field("Count"),
                format!(
                    "Task group {:?}: count {} brings the job to {total} allocations; a job may \
                     ask for at most {MAX_JOB_ALLOCATIONS}",
                    group.name, group.count
                ),
            ));
            return;
        }
    }
}

fn check_group(job: &Job, group: &TaskGroup, path: &FieldPath, out: &mut Vec<Problem>) {
    let ctx = format!("Task group {:?}", group.name);
    if group.name.contains('\0') {
        out.push(Problem::new(
            path.field("Name"),
            format!("{ctx}: name contains a null character"),
        ));
    }
    if group.count < 0 {
        out.push(Problem::new(
            path.field("Count"),
            format!("{ctx}: count can't be negative (got {})", group.count),
        ));
    } else if job.is_system() && group.count > 1 {
        out.push(Problem::new(
            path.field("Count"),
            format!(
                "{ctx}: count is {}, but {} jobs place one allocation per node; count can't exceed 1",
                group.count, job.job_type
            ),
        ));
    }
    if let Some(delay) = group.shutdown_delay.filter(|d| *d < 0) {
        out.push(Problem::new(
            path.field("ShutdownDelay"),
            format!("{ctx}: shutdown_delay can't be negative (got {delay})"),
        ));
    }
    if let Some(disk) = group.ephemeral_disk.as_ref().filter(|d| d.size_mb < 0) {
        out.push(Problem::new(
            path.field("EphemeralDisk").field("SizeMB"),
            format!(
                "{ctx}: ephemeral_disk size can't be negative (got {})",
                disk.size_mb
            ),
        ));
    }
    if let Some(policy) = &group.restart_policy {
        check_restart(policy, &path.field("RestartPolicy"), &ctx, out);
    }
    if let Some(policy) = &group.reschedule_policy {
        check_reschedule(policy, &path.field("ReschedulePolicy"), &ctx, out);
    }
    if let Some(update) = &group.update {
        check_update(update, &path.field("Update"), &ctx, out);
    }
    check_networks(&group.networks, &path.field("Networks"), &ctx, out);
    check_constraints(&group.constraints, &path.field("Constraints"), &ctx, out);
    check_tasks(group, path, &ctx, out);
}

fn check_tasks(group: &TaskGroup, path: &FieldPath, ctx: &str, out: &mut Vec<Problem>) {
    let tasks = path.field("Tasks");
    if group.tasks.is_empty() {
        out.push(Problem::new(tasks.clone(), format!("{ctx}: missing tasks")));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut leader: Option<usize> = None;
    for (j, task) in group.tasks.iter().enumerate() {
        let task_path = tasks.index(j);
        if task.name.is_empty() {
            out.push(Problem::new(
                task_path.field("Name"),
                format!("{ctx}: task {} has no name", j + 1),
            ));
        } else if let Some(first) = seen.get(task.name.as_str()) {
            out.push(Problem::new(
                task_path.field("Name"),
                format!(
                    "{ctx}: task {} redefines {:?} from task {}",
                    j + 1,
                    task.name,
                    first + 1
                ),
            ));
        } else {
            seen.insert(&task.name, j);
        }
        if task.leader {
            if let Some(first) = leader {
                out.push(Problem::new(
                    task_path.field("Leader"),
                    format!(
                        "{ctx}: only one task may be the leader; {:?} and {:?} both are",
                        group.tasks[first].name, task.name
                    ),
                ));
            } else {
                leader = Some(j);
            }
        }
        check_task(group, task, &task_path, out);
    }
    if !group.tasks.is_empty() && group.tasks.iter().all(|t| t.lifecycle.is_some()) {
        out.push(Problem::new(
            tasks,
            format!("{ctx}: must have at least one main task (a task without a lifecycle block)"),
        ));
    }
}

fn check_task(group: &TaskGroup, task: &Task, path: &FieldPath, out: &mut Vec<Problem>) {
    let ctx = format!("Task {:?} in group {:?}", task.name, group.name);
    if task.name.contains('\0') {
        out.push(Problem::new(
            path.field("Name"),
            format!("{ctx}: name contains a null character"),
        ));
    }
    if task.driver.is_empty() {
        out.push(Problem::new(
            path.field("Driver"),
            format!("{ctx}: missing driver"),
        ));
    }
    if task.kill_timeout < 0 {
        out.push(Problem::new(
            path.field("KillTimeout"),
            format!("{ctx}: kill_timeout can't be negative"),
        ));
    }
    if task.shutdown_delay < 0 {
        out.push(Problem::new(
            path.field("ShutdownDelay"),
            format!("{ctx}: shutdown_delay can't be negative"),
        ));
    }
    if let Some(lifecycle) = &task.lifecycle {
        let hook = lifecycle.hook.as_str();
        let known = [
            LIFECYCLE_HOOK_PRESTART,
            LIFECYCLE_HOOK_POSTSTART,
            LIFECYCLE_HOOK_POSTSTOP,
        ];
        if hook.is_empty() {
            out.push(Problem::new(
                path.field("Lifecycle"),
                format!("{ctx}: no lifecycle hook provided"),
            ));
        } else if !known.contains(&hook) {
            out.push(Problem::new(
                path.field("Lifecycle").field("Hook"),
                format!(
                    "{ctx}: invalid lifecycle hook {hook:?}; expected \"prestart\", \"poststart\" or \"poststop\""
                ),
            ));
        }
    }
    check_resources(&task.resources, &path.field("Resources"), &ctx, out);
    if let Some(logs) = &task.log_config {
        let disk_mb = group.ephemeral_disk.clone().unwrap_or_default().size_mb;
        check_logs(logs, disk_mb, &path.field("LogConfig"), &ctx, out);
    }
    // A policy inherited unchanged from the group was checked there already.
    if let Some(policy) = task
        .restart_policy
        .as_ref()
        .filter(|p| group.restart_policy.as_ref() != Some(*p))
    {
        check_restart(policy, &path.field("RestartPolicy"), &ctx, out);
    }
    check_constraints(&task.constraints, &path.field("Constraints"), &ctx, out);
}
