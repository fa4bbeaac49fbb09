//! Applying deployment changes: deployments created and updated by plans, placement and
//! health counters, status changes from the deployment watcher and operators, promotion, and
//! marking a job version stable when its deployment succeeds.

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::model::{
    AllocClientUpdate, AllocDeploymentStatus, Allocation, DEPLOYMENT_STATUS_RUNNING,
    DEPLOYMENT_STATUS_SUCCESSFUL, Deployment, DeploymentStatusUpdate, Evaluation, Job,
    deployment_desc,
};

use super::{ApplyError, upsert_evals};
use crate::state::{JobKey, StateView};

/// Records the plan's deployment and status updates, and counts its new placements.
pub(super) fn apply_plan_deployment(
    view: &mut StateView,
    index: u64,
    deployment: Option<Deployment>,
    updates: Vec<DeploymentStatusUpdate>,
    placed: &[Allocation],
    now: i64,
) {
    let mut changed = false;
    if let Some(mut d) = deployment {
        let existing = view.deployments.get(&d.id).cloned();
        d.create_index = existing.as_ref().map_or(index, |e| e.create_index);
        d.create_time = existing.as_ref().map_or(now, |e| e.create_time);
        d.modify_index = index;
        d.modify_time = now;
        for state in d.task_groups.values_mut() {
            if state.require_progress_by == 0 && state.progress_deadline > 0 {
                state.require_progress_by = now + state.progress_deadline;
            }
        }
        view.put_deployment(Arc::new(d));
        changed = true;
    }
    for u in updates {
        changed |= set_status(
            view,
            index,
            &u.deployment_id,
            &u.status,
            &u.status_description,
            now,
        );
    }
    for alloc in placed {
        if alloc.deployment_id.is_empty() || view.allocs.contains_key(&alloc.id) {
            continue;
        }
        let canary = alloc.deployment_status.as_ref().is_some_and(|s| s.canary);
        changed |= with_group(
            view,
            index,
            now,
            &alloc.deployment_id,
            &alloc.task_group,
            |s| {
                s.placed_allocs += 1;
                if canary {
                    s.placed_canaries.push(alloc.id.clone());
                }
            },
        );
    }
    if changed {
        view.tables.deployments = index;
    }
}

/// Merges a client's health report into the allocation and counts first verdicts in its
/// deployment (a healthy allocation also pushes the progress deadline forward).
pub(super) fn apply_alloc_health(
    view: &mut StateView,
    index: u64,
    alloc: &mut Allocation,
    update: &AllocClientUpdate,
    now: i64,
) {
    let Some(reported) = update.deployment_status.as_ref() else {
        return;
    };
    let previous = alloc.deployment_status.clone().unwrap_or_default();
    if previous.healthy.is_some() || reported.healthy.is_none() {
        return;
    }
    alloc.deployment_status = Some(AllocDeploymentStatus {
        healthy: reported.healthy,
        timestamp: reported.timestamp,
        canary: previous.canary,
        modify_index: index,
    });
    if alloc.deployment_id.is_empty() {
        return;
    }
    let healthy = reported.is_healthy();
    let at = reported.timestamp;
    let changed = with_group(
        view,
        index,
        now,
        &alloc.deployment_id,
        &alloc.task_group,
        |s| {
            if healthy {
                s.healthy_allocs += 1;
                if s.progress_deadline > 0 {
                    s.require_progress_by = s.require_progress_by.max(at + s.progress_deadline);
                }
            } else {
                s.unhealthy_allocs += 1;
            }
        },
    );
    if changed {
        view.tables.deployments = index;
    }
}

/// Changes a deployment's status (with an optional evaluation); a successful deployment
/// marks its job version stable.
pub(super) fn apply_status_update(
    view: &mut StateView,
    index: u64,
    update: DeploymentStatusUpdate,
    eval: Option<Evaluation>,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) -> Result<(), ApplyError> {
    if !view.deployments.contains_key(&update.deployment_id) {
        return Err(not_found());
    }
    set_status(
        view,
        index,
        &update.deployment_id,
        &update.status,
        &update.status_description,
        now,
    );
    view.tables.deployments = index;
    upsert_evals(view, index, eval.into_iter().collect(), touched);
    Ok(())
}

/// Promotes the canaries of `groups` (every group with canaries when empty).
pub(super) fn apply_promote(
    view: &mut StateView,
    index: u64,
    deployment_id: &str,
    groups: &[String],
    eval: Option<Evaluation>,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) -> Result<(), ApplyError> {
    let Some(existing) = view.deployments.get(deployment_id).cloned() else {
        return Err(not_found());
    };
    let mut d = Deployment::clone(&existing);
    for (name, state) in &mut d.task_groups {
        if state.desired_canaries > 0 && (groups.is_empty() || groups.contains(name)) {
            state.promoted = true;
        }
    }
    if d.status == DEPLOYMENT_STATUS_RUNNING && !d.requires_promotion() {
        d.status_description = deployment_desc::RUNNING.to_string();
    }
    d.modify_index = index;
    d.modify_time = now;
    view.put_deployment(Arc::new(d));
    view.tables.deployments = index;
    upsert_evals(view, index, eval.into_iter().collect(), touched);
    Ok(())
}

fn not_found() -> ApplyError {
    ApplyError::NotFound {
        kind: "deployment".to_string(),
    }
}

fn set_status(
    view: &mut StateView,
    index: u64,
    id: &str,
    status: &str,
    description: &str,
    now: i64,
) -> bool {
    let Some(existing) = view.deployments.get(id).cloned() else {
        return false;
    };
    let mut d = Deployment::clone(&existing);
    d.status = status.to_string();
    d.status_description = description.to_string();
    d.modify_index = index;
    d.modify_time = now;
    if status == DEPLOYMENT_STATUS_SUCCESSFUL {
        mark_stable(view, index, &d.namespace, &d.job_id, d.job_version);
    }
    view.put_deployment(Arc::new(d));
    true
}

/// Marks one job version stable (the tracked version, and the current job if it is that one).
fn mark_stable(view: &mut StateView, index: u64, namespace: &str, job_id: &str, version: u64) {
    let key = (namespace.to_string(), job_id.to_string(), version);
    if let Some(job) = view.job_versions.get(&key).cloned() {
        let mut stable = Job::clone(&job);
        stable.stable = true;
        view.job_versions.insert(key, Arc::new(stable));
    }
    let job_key = (namespace.to_string(), job_id.to_string());
    if let Some(job) = view.jobs.get(&job_key).cloned()
        && job.version == version
    {
        let mut stable = Job::clone(&job);
        stable.stable = true;
        stable.modify_index = index;
        view.update_job(Arc::new(stable));
        view.tables.jobs = index;
    }
}

fn with_group(
    view: &mut StateView,
    index: u64,
    now: i64,
    deployment_id: &str,
    group: &str,
    f: impl FnOnce(&mut nomadish_proto::model::DeploymentState),
) -> bool {
    let Some(existing) = view.deployments.get(deployment_id).cloned() else {
        return false;
    };
    let mut d = Deployment::clone(&existing);
    let Some(state) = d.task_groups.get_mut(group) else {
        return false;
    };
    f(state);
    d.modify_index = index;
    d.modify_time = now;
    view.put_deployment(Arc::new(d));
    true
}

#[cfg(test)]
#[path = "deployments_tests.rs"]
mod tests;
