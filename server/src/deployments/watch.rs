//! The deployment watcher's decisions, sans-IO: given the state and the time, what to do with
//! each active deployment. The async shell ([`super::run_deployment_watcher`]) executes them.
//!
//! ```text
//!   running deployment ──unhealthy alloc──────────> Fail (FAILED_ALLOCATIONS) ─┐
//!                      ├─progress deadline passed─> Fail (PROGRESS_DEADLINE) ──┼─ auto_revert?
//!                      ├─all groups healthy+promoted─> Succeed                 │   └─> Revert
//!                      ├─canaries healthy, auto_promote─> Promote              │     to the latest
//!                      └─more healthy allocs than last seen─> Evaluate         │     stable version
//! ```

use std::collections::BTreeMap;

use nomadish_proto::model::{
    DEPLOYMENT_STATUS_FAILED, DEPLOYMENT_STATUS_RUNNING, DEPLOYMENT_STATUS_SUCCESSFUL, Deployment,
    DeploymentState, deployment_desc, no_rollback_description, rollback_description,
    same_spec_rollback_description,
};

use crate::state::StateView;

/// What the watcher wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create an evaluation of the deployment's job so the scheduler continues the rollout.
    Evaluate {
        /// The deployment.
        deployment_id: String,
    },
    /// Change the deployment's status (with an evaluation when it failed).
    SetStatus {
        /// The deployment.
        deployment_id: String,
        /// The new status.
        status: String,
        /// Nomad's description.
        description: String,
    },
    /// Fail the deployment and register the stable `version` of its job again.
    Revert {
        /// The deployment.
        deployment_id: String,
        /// Nomad's description (mentions the version).
        description: String,
        /// The stable version to register as the job's new version.
        version: u64,
    },
    /// Promote every group's canaries (`auto_promote`).
    Promote {
        /// The deployment.
        deployment_id: String,
    },
}

/// The watcher's memory between observations: healthy counts already acted upon.
#[derive(Debug, Default)]
pub struct WatcherCore {
    seen_healthy: BTreeMap<String, u64>,
}

impl WatcherCore {
    /// Decides what to do with every running deployment at `now` (Unix ns).
    pub fn observe(&mut self, view: &StateView, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut live = BTreeMap::new();
        for d in view.deployments.values() {
            if d.status != DEPLOYMENT_STATUS_RUNNING {
                continue;
            }
            let healthy: u64 = d.task_groups.values().map(|g| g.healthy_allocs).sum();
            let seen = self.seen_healthy.get(&d.id).copied().unwrap_or(0);
            live.insert(d.id.clone(), healthy);
            if let Some(failure) = failure(d, now) {
                actions.push(fail(view, d, failure));
            } else if d.complete() {
                actions.push(Action::SetStatus {
                    deployment_id: d.id.clone(),
                    status: DEPLOYMENT_STATUS_SUCCESSFUL.to_string(),
                    description: deployment_desc::SUCCESSFUL.to_string(),
                });
            } else if auto_promotable(d) {
                actions.push(Action::Promote {
                    deployment_id: d.id.clone(),
                });
            } else if healthy > seen {
                actions.push(Action::Evaluate {
                    deployment_id: d.id.clone(),
                });
            }
        }
        self.seen_healthy = live;
        actions
    }
}

/// Why the deployment fails now, if it does.
fn failure(d: &Deployment, now: i64) -> Option<&'static str> {
    if d.task_groups.values().any(|g| g.unhealthy_allocs > 0) {
        return Some(deployment_desc::FAILED_ALLOCATIONS);
    }
    let late = d
        .task_groups
        .values()
        .any(|g| g.require_progress_by > 0 && now > g.require_progress_by && !group_waiting(g));
    late.then_some(deployment_desc::PROGRESS_DEADLINE)
}

/// Whether the group is done, or only waits for an operator to promote healthy canaries.
fn group_waiting(g: &DeploymentState) -> bool {
    let promoted = g.desired_canaries == 0 || g.promoted;
    (promoted && g.healthy_allocs >= g.desired_total)
        || (!promoted && g.healthy_allocs >= g.desired_canaries)
}

fn auto_promotable(d: &Deployment) -> bool {
    d.requires_promotion()
        && d.task_groups
            .values()
            .filter(|g| g.desired_canaries > 0 && !g.promoted)
            .all(|g| g.auto_promote && g.healthy_allocs >= g.desired_canaries)
}

/// The failure, with auto-revert to the latest stable version when the deployment asks.
fn fail(view: &StateView, d: &Deployment, base: &str) -> Action {
    let set = |description: String| Action::SetStatus {
        deployment_id: d.id.clone(),
        status: DEPLOYMENT_STATUS_FAILED.to_string(),
        description,
    };
    if !d.auto_revert() {
        return set(base.to_string());
    }
    let Some(current) = view.job(&d.namespace, &d.job_id) else {
        return set(no_rollback_description(base));
    };
    let stable = view
        .job_versions
        .range(
            (d.namespace.clone(), d.job_id.clone(), 0)
                ..(d.namespace.clone(), d.job_id.clone(), d.job_version),
        )
        .rev()
        .map(|(_, j)| j)
        .find(|j| j.stable);
    match stable {
        None => set(no_rollback_description(base)),
        Some(j) if !j.spec_changed(&current) => {
            set(same_spec_rollback_description(base, j.version))
        }
        Some(j) => Action::Revert {
            deployment_id: d.id.clone(),
            description: rollback_description(base, j.version),
            version: j.version,
        },
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
