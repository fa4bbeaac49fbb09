//! Deployments in the generic scheduler: rolling updates limited by `max_parallel`, canaries
//! held until promotion, and the deployment record itself (still pure: the deployment ID comes
//! from the seeded RNG, times from the evaluation's `now`).
//!
//! ```text
//!   latest deployment ──older version & active──> cancelled ("newer version")
//!   per group with update { max_parallel > 0 } (service jobs only):
//!     reconcile (canaries of an unpromoted deployment left out)
//!       ├─ work to do and no deployment for this version ──> create one (DesiredTotal = count,
//!       │                                                      DesiredCanaries when destructive)
//!       ├─ canaries wanted, not promoted ──> no destructive update; place missing canaries
//!       └─ otherwise ──> at most max_parallel - (deployment allocs not yet healthy)
//!                        destructive updates; none while paused or failed
//!   finish: new placements (and in-place updates) carry the DeploymentID
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use nomadish_proto::model::{
    AllocDeploymentStatus, Allocation, DEPLOYMENT_STATUS_CANCELLED, DEPLOYMENT_STATUS_RUNNING,
    Deployment, DeploymentState, DeploymentStatusUpdate, Job, Plan, TaskGroup, UpdateStrategy,
    deployment_desc,
};

use super::reconcile::{GroupDiff, PlaceKind, Placement};
use super::util::Rng;

/// The deployment side of one scheduling call.
pub(crate) struct Deploy {
    job: Arc<Job>,
    batch: bool,
    priority: i64,
    now: i64,
    /// The deployment of this job version, existing or created here.
    current: Option<Deployment>,
    created: bool,
    updates: Vec<DeploymentStatusUpdate>,
}

/// The cancellation of the job's active deployment when the job stopped.
pub(crate) fn cancel_for_stopped_job(latest: Option<&Deployment>) -> Vec<DeploymentStatusUpdate> {
    latest
        .filter(|d| d.active())
        .map(|d| cancel(d, deployment_desc::STOPPED_JOB))
        .into_iter()
        .collect()
}

fn cancel(d: &Deployment, description: &str) -> DeploymentStatusUpdate {
    DeploymentStatusUpdate {
        deployment_id: d.id.clone(),
        status: DEPLOYMENT_STATUS_CANCELLED.to_string(),
        status_description: description.to_string(),
    }
}

/// Whether the deployment belongs to this registration and version of the job.
fn for_version(d: &Deployment, job: &Job) -> bool {
    d.job_version == job.version && d.job_create_index == job.create_index
}

impl Deploy {
    /// Starts from the job's latest deployment: an active one of an older version is
    /// cancelled; one of this version is continued.
    pub(crate) fn new(
        latest: Option<&Deployment>,
        job: &Arc<Job>,
        batch: bool,
        priority: i64,
        now: i64,
    ) -> Self {
        let mut updates = Vec::new();
        let mut current = None;
        if let Some(d) = latest {
            if for_version(d, job) {
                current = Some(d.clone());
            } else if d.active() {
                updates.push(cancel(d, deployment_desc::NEWER_JOB));
            }
        }
        Self {
            job: job.clone(),
            batch,
            priority,
            now,
            current,
            created: false,
            updates,
        }
    }

    fn strategy<'g>(&self, group: &'g TaskGroup) -> Option<&'g UpdateStrategy> {
        group
            .update
            .as_ref()
            .filter(|u| u.max_parallel > 0 && !self.batch)
    }

    fn group_state(&self, name: &str) -> Option<&DeploymentState> {
        self.current.as_ref()?.task_groups.get(name)
    }

    fn is_canary_of_current(&self, alloc: &Allocation) -> bool {
        self.current.as_ref().is_some_and(|d| {
            alloc.deployment_id == d.id
                && alloc.deployment_status.as_ref().is_some_and(|s| s.canary)
        })
    }

    /// The allocations the reconciler should see: canaries of an unpromoted deployment run
    /// beside the allocations they will replace, so they are left out until promotion.
    pub(crate) fn reconcile_input(
        &self,
        group: &str,
        allocs: &[Arc<Allocation>],
    ) -> Vec<Arc<Allocation>> {
        let holding = self
            .group_state(group)
            .is_some_and(|s| s.desired_canaries > 0 && !s.promoted);
        allocs
            .iter()
            .filter(|a| !(holding && self.is_canary_of_current(a)))
            .cloned()
            .collect()
    }

    /// Limits the group's destructive updates and adds its canaries (see the module docs).
    pub(crate) fn shape(
        &mut self,
        group: &TaskGroup,
        diff: &mut GroupDiff,
        allocs: &[Arc<Allocation>],
        rng: &mut Rng,
    ) {
        let Some(strategy) = self.strategy(group) else {
            return;
        };
        let destructive = diff
            .place
            .iter()
            .filter(|p| p.kind == PlaceKind::Destructive)
            .count();
        let has_work = !diff.inplace.is_empty()
            || diff
                .place
                .iter()
                .any(|p| matches!(p.kind, PlaceKind::New | PlaceKind::Destructive));
        if has_work && (self.created || self.current.is_none()) {
            self.add_group(group, strategy, destructive > 0, rng);
        }
        let Some(state) = self.group_state(&group.name).cloned() else {
            return;
        };
        let halted = self
            .current
            .as_ref()
            .is_some_and(|d| d.status != DEPLOYMENT_STATUS_RUNNING);
        if state.desired_canaries > 0 && !state.promoted {
            let freed = hold_destructive(diff, 0);
            let live = allocs
                .iter()
                .filter(|a| !a.terminal() && self.is_canary_of_current(a))
                .count() as u64;
            if !halted {
                place_canaries(diff, state.desired_canaries.saturating_sub(live), &freed);
            }
            return;
        }
        let pending = allocs
            .iter()
            .filter(|a| {
                !a.terminal()
                    && self
                        .current
                        .as_ref()
                        .is_some_and(|d| a.deployment_id == d.id)
                    && !a.deployment_status.as_ref().is_some_and(|s| s.is_healthy())
            })
            .count();
        let limit = if halted {
            0
        } else {
            usize::try_from(strategy.max_parallel)
                .unwrap_or(0)
                .saturating_sub(pending)
        };
        hold_destructive(diff, limit);
    }

    /// Adds the group to the deployment, creating the deployment first if needed.
    fn add_group(
        &mut self,
        group: &TaskGroup,
        strategy: &UpdateStrategy,
        destructive: bool,
        rng: &mut Rng,
    ) {
        let job = &self.job;
        let d = self.current.get_or_insert_with(|| Deployment {
            id: rng.uuid(),
            namespace: job.namespace.clone(),
            job_id: job.id.clone(),
            job_version: job.version,
            job_modify_index: job.job_modify_index,
            job_spec_modify_index: job.job_modify_index,
            job_create_index: job.create_index,
            status: DEPLOYMENT_STATUS_RUNNING.to_string(),
            status_description: deployment_desc::RUNNING.to_string(),
            eval_priority: self.priority,
            create_time: self.now,
            modify_time: self.now,
            ..Deployment::default()
        });
        self.created = true;
        let canaries = if destructive {
            u64::try_from(strategy.canary).unwrap_or(0)
        } else {
            0
        };
        d.task_groups.insert(
            group.name.clone(),
            DeploymentState {
                auto_revert: strategy.auto_revert,
                auto_promote: strategy.auto_promote,
                progress_deadline: strategy.progress_deadline,
                desired_canaries: canaries,
                desired_total: u64::try_from(group.count).unwrap_or(0),
                ..DeploymentState::default()
            },
        );
        if canaries > 0 {
            d.status_description = if strategy.auto_promote {
                deployment_desc::RUNNING_AUTO_PROMOTION
            } else {
                deployment_desc::RUNNING_NEEDS_PROMOTION
            }
            .to_string();
        }
    }

    /// Puts the deployment and its status changes in the plan, and stamps the deployment ID on
    /// new placements and in-place updates of its groups.
    pub(crate) fn finish(self, plan: &mut Plan, existing: &HashMap<&str, &Arc<Allocation>>) {
        plan.deployment_updates.extend(self.updates);
        let Some(d) = self.current.filter(|d| d.active()) else {
            return;
        };
        let version = self.job.version;
        for alloc in plan.node_allocation.values_mut().flatten() {
            if alloc.job_id != d.job_id || !d.task_groups.contains_key(&alloc.task_group) {
                continue;
            }
            match existing.get(alloc.id.as_str()) {
                None => alloc.deployment_id = d.id.clone(),
                Some(old)
                    if old.job.as_ref().is_some_and(|j| j.version != version)
                        && alloc.deployment_id != d.id =>
                {
                    alloc.deployment_id = d.id.clone();
                    alloc.deployment_status = None;
                }
                Some(_) => {}
            }
        }
        if self.created {
            plan.deployment = Some(d);
        }
    }
}

/// Keeps the first `limit` destructive updates and takes back the others (their allocations
/// keep running); returns the slot indexes taken back.
fn hold_destructive(diff: &mut GroupDiff, limit: usize) -> Vec<u64> {
    let mut kept = 0;
    let mut held = Vec::new();
    let mut place = Vec::with_capacity(diff.place.len());
    for p in diff.place.drain(..) {
        if p.kind != PlaceKind::Destructive {
            place.push(p);
        } else if kept < limit {
            kept += 1;
            place.push(p);
        } else {
            held.push(p);
        }
    }
    diff.place = place;
    for p in &held {
        if let Some(prev) = &p.previous {
            diff.stops.retain(|s| s.alloc.id != prev.id);
        }
        diff.desired.destructive_update = diff.desired.destructive_update.saturating_sub(1);
        diff.desired.ignore += 1;
    }
    held.into_iter().map(|p| p.index).collect()
}

/// Places `count` canaries, named after the slots they will replace.
fn place_canaries(diff: &mut GroupDiff, count: u64, freed: &[u64]) {
    for i in 0..count {
        let index = usize::try_from(i)
            .ok()
            .and_then(|i| freed.get(i).copied())
            .unwrap_or(i);
        diff.place.push(Placement {
            index,
            previous: None,
            kind: PlaceKind::Canary,
        });
        diff.desired.canary += 1;
    }
}

/// The deployment status a canary placement starts with.
pub(crate) fn canary_status() -> AllocDeploymentStatus {
    AllocDeploymentStatus {
        canary: true,
        ..AllocDeploymentStatus::default()
    }
}
