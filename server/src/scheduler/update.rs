//! Whether a job update can be applied to a running allocation in place, or needs the
//! allocation replaced (a destructive update), following Nomad's `tasksUpdated`.
//!
//! Destructive: the group's task set, ephemeral disk, networks, affinities or spreads changed,
//! or any task's driver, user, config, env, resources, lifecycle, log config, artifacts,
//! templates or volume mounts changed, or the meta a task sees (job, group and task meta
//! combined, which reaches it as `NOMAD_META_*`). Everything else (count, priority,
//! constraints, restart/reschedule policies, update strategy...) is applied in place,
//! provided the allocation's node still satisfies the new constraints (checked by the caller).

use std::sync::Arc;

use nomadish_proto::model::{Affinity, Job, Spread};

/// Whether the allocation's job is the same registration as `job` (nothing to update).
pub(crate) fn same_job(alloc_job: Option<&Arc<Job>>, job: &Arc<Job>) -> bool {
    alloc_job.is_some_and(|a| {
        Arc::ptr_eq(a, job)
            || (a.job_modify_index == job.job_modify_index
                && a.version == job.version
                && a.create_index == job.create_index)
    })
}

/// Whether moving group `name` from `old` to `new` requires replacing its allocations.
pub(crate) fn tasks_updated(old: &Job, new: &Job, name: &str) -> bool {
    let (Some(a), Some(b)) = (old.group(name), new.group(name)) else {
        return true;
    };
    if a.tasks.len() != b.tasks.len()
        || a.ephemeral_disk != b.ephemeral_disk
        || a.networks != b.networks
        || affinities(old, name) != affinities(new, name)
        || spreads(old, name) != spreads(new, name)
    {
        return true;
    }
    a.tasks.iter().any(|at| {
        let Some(bt) = b.task(&at.name) else {
            return true;
        };
        at.driver != bt.driver
            || at.user != bt.user
            || at.config != bt.config
            || at.env != bt.env
            || at.resources != bt.resources
            || at.lifecycle != bt.lifecycle
            || at.log_config != bt.log_config
            || at.artifacts != bt.artifacts
            || at.templates != bt.templates
            || at.volume_mounts != bt.volume_mounts
            || combined_meta(old, name, &at.meta) != combined_meta(new, name, &bt.meta)
    })
}

/// The meta a task of group `name` sees: job meta, overridden by group meta, then task meta.
fn combined_meta<'a>(
    job: &'a Job,
    name: &str,
    task: &'a nomadish_proto::model::Meta,
) -> std::collections::BTreeMap<&'a str, &'a str> {
    let group = job.group(name).map(|g| &g.meta);
    job.meta
        .iter()
        .chain(group.into_iter().flatten())
        .chain(task)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Job, group and task affinities that apply to the group.
fn affinities<'a>(job: &'a Job, name: &str) -> Vec<&'a Affinity> {
    let Some(g) = job.group(name) else {
        return Vec::new();
    };
    job.affinities
        .iter()
        .chain(&g.affinities)
        .chain(g.tasks.iter().flat_map(|t| &t.affinities))
        .collect()
}

/// Job and group spreads that apply to the group.
fn spreads<'a>(job: &'a Job, name: &str) -> Vec<&'a Spread> {
    let Some(g) = job.group(name) else {
        return Vec::new();
    };
    job.spreads.iter().chain(&g.spreads).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{Task, TaskGroup};

    fn job() -> Job {
        Job {
            id: "web".into(),
            task_groups: vec![TaskGroup {
                name: "app".into(),
                tasks: vec![Task {
                    name: "srv".into(),
                    driver: "docker".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn non_task_changes_are_in_place() {
        let old = job();
        let mut new = job();
        new.priority = 70;
        new.task_groups[0].count = 5;
        assert!(!tasks_updated(&old, &new, "app"));
    }

    #[test]
    fn meta_a_task_sees_is_destructive_wherever_it_is_set() {
        let old = job();
        let mut new = job();
        new.meta.insert("owner".into(), "ops".into());
        assert!(tasks_updated(&old, &new, "app"));
        let mut new = job();
        new.task_groups[0].meta.insert("k".into(), "v".into());
        assert!(tasks_updated(&old, &new, "app"));
        let mut new = job();
        new.task_groups[0].tasks[0]
            .meta
            .insert("k".into(), "v".into());
        assert!(tasks_updated(&old, &new, "app"));
        // The same effective value moved from the job to the task changes nothing.
        let mut a = job();
        a.meta.insert("k".into(), "v".into());
        let mut b = job();
        b.task_groups[0].tasks[0]
            .meta
            .insert("k".into(), "v".into());
        assert!(!tasks_updated(&a, &b, "app"));
    }

    #[test]
    fn task_changes_are_destructive() {
        let old = job();
        let mut new = job();
        new.task_groups[0].tasks[0]
            .env
            .insert("A".into(), "1".into());
        assert!(tasks_updated(&old, &new, "app"));
        let mut new = job();
        new.task_groups[0].tasks[0].resources.cpu = 500;
        assert!(tasks_updated(&old, &new, "app"));
        let mut new = job();
        new.task_groups[0].tasks.push(Task::default());
        assert!(tasks_updated(&old, &new, "app"));
        assert!(tasks_updated(&old, &new, "missing"));
    }

    #[test]
    fn same_job_compares_registration() {
        let a = Arc::new(job());
        let mut b = job();
        assert!(same_job(Some(&a), &a));
        assert!(same_job(Some(&a), &Arc::new(b.clone())));
        b.version = 1;
        b.job_modify_index = 9;
        assert!(!same_job(Some(&a), &Arc::new(b)));
        assert!(!same_job(None, &a));
    }
}
