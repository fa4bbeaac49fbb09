//! The drainer's decisions, without I/O: given a state view and the time, which allocations
//! to mark for migration now and which drains are complete.
//!
//! ```text
//!   for each node with a DrainStrategy:
//!     deadline passed (or -force) ──> mark every remaining allocation
//!     service allocations ─────────> mark up to what each group's `migrate.max_parallel`
//!                                    allows: healthy(group) - (count - max_parallel)
//!     batch allocations ───────────> left to finish (until the deadline)
//!     system allocations ──────────> marked once nothing else remains (unless ignored)
//!     nothing remaining ───────────> drain complete
//! ```
//!
//! "Healthy" here is the drainer's simplification of Nomad's deployment health: an allocation
//! is healthy once its client reports it `running` and its tasks have been running for the
//! group's `migrate.min_healthy_time`. `healthy_deadline` is not enforced (a replacement that
//! never becomes healthy holds the drain back until the node's deadline).

use std::collections::BTreeMap;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_RUNNING, Allocation, JOB_TYPE_SERVICE, JOB_TYPE_SYSBATCH, JOB_TYPE_SYSTEM, Job,
    MigrateStrategy, Node,
};

use crate::state::{JobKey, StateView};

/// What the drainer should do now.
#[derive(Debug, Default, PartialEq)]
pub struct DrainStep {
    /// Allocations to mark `DesiredTransition.Migrate`, by job (each job gets one evaluation).
    pub migrate: BTreeMap<JobKey, Vec<String>>,
    /// Nodes whose drain is complete.
    pub complete: Vec<String>,
}

impl DrainStep {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.migrate.is_empty() && self.complete.is_empty()
    }
}

/// Decides the next drain step for every draining node at time `now` (Unix ns).
pub fn next_step(view: &StateView, now: i64) -> DrainStep {
    let mut step = DrainStep::default();
    let mut budgets: BTreeMap<(JobKey, String), i64> = BTreeMap::new();
    for node in view.nodes.values() {
        let Some(strategy) = node.drain_strategy.as_ref() else {
            continue;
        };
        let remaining = remaining_allocs(view, node);
        if remaining.is_empty() {
            step.complete.push(node.id.clone());
            continue;
        }
        let deadline_passed = strategy.deadline < 0
            || (strategy.force_deadline > 0 && now >= strategy.force_deadline);
        let unmarked = remaining
            .iter()
            .filter(|a| a.desired_transition.migrate != Some(true));
        if deadline_passed {
            for a in unmarked {
                mark(&mut step, a);
            }
            continue;
        }
        let only_system_left = remaining.iter().all(|a| is_system(a));
        for a in unmarked {
            if is_system(a) {
                if only_system_left {
                    mark(&mut step, a);
                }
            } else if a.job_type() == JOB_TYPE_SERVICE && take_budget(view, &mut budgets, a, now) {
                mark(&mut step, a);
            }
        }
    }
    step
}

/// Allocations that keep the drain going: not stopped by the servers nor finished; system
/// ones only when the drain does not ignore them.
fn remaining_allocs(view: &StateView, node: &Node) -> Vec<Arc<Allocation>> {
    let ignore_system = node
        .drain_strategy
        .as_ref()
        .is_some_and(|s| s.ignore_system_jobs);
    view.node_allocs(&node.id)
        .into_iter()
        .filter(|a| !(a.terminal() || ignore_system && is_system(a)))
        .collect()
}

/// System and sysbatch allocations leave a draining node last.
fn is_system(alloc: &Allocation) -> bool {
    matches!(alloc.job_type(), JOB_TYPE_SYSTEM | JOB_TYPE_SYSBATCH)
}

fn mark(step: &mut DrainStep, alloc: &Allocation) {
    step.migrate
        .entry((alloc.namespace.clone(), alloc.job_id.clone()))
        .or_default()
        .push(alloc.id.clone());
}

/// Whether one more allocation of this group may migrate now, spending the group's budget.
fn take_budget(
    view: &StateView,
    budgets: &mut BTreeMap<(JobKey, String), i64>,
    alloc: &Allocation,
    now: i64,
) -> bool {
    let key = (
        (alloc.namespace.clone(), alloc.job_id.clone()),
        alloc.task_group.clone(),
    );
    let budget = budgets
        .entry(key)
        .or_insert_with(|| group_budget(view, alloc, now));
    if *budget > 0 {
        *budget -= 1;
        true
    } else {
        false
    }
}

/// How many allocations of the group may start migrating: the healthy ones beyond
/// `count - max_parallel`.
fn group_budget(view: &StateView, alloc: &Allocation, now: i64) -> i64 {
    let job = view
        .job(&alloc.namespace, &alloc.job_id)
        .or_else(|| alloc.job.clone());
    let Some(job) = job else { return 1 };
    let Some(group) = job.group(&alloc.task_group) else {
        return 1;
    };
    let migrate = group
        .migrate
        .clone()
        .unwrap_or_else(MigrateStrategy::nomad_default);
    let healthy = view
        .job_allocs(&alloc.namespace, &alloc.job_id)
        .iter()
        .filter(|a| a.task_group == alloc.task_group && counts_healthy(a, &job, &migrate, now))
        .count() as i64;
    healthy - (group.count - migrate.max_parallel.max(1))
}

fn counts_healthy(alloc: &Allocation, job: &Job, migrate: &MigrateStrategy, now: i64) -> bool {
    if alloc.terminal()
        || alloc.desired_transition.migrate == Some(true)
        || alloc.client_status != ALLOC_CLIENT_RUNNING
        || alloc.job.as_ref().is_some_and(|j| j.stop && !job.stop)
    {
        return false;
    }
    running_since(alloc).is_some_and(|since| now - since >= migrate.min_healthy_time)
}

/// When the allocation's last task started running (Unix ns); its last change otherwise.
fn running_since(alloc: &Allocation) -> Option<i64> {
    let started = alloc
        .task_states
        .values()
        .filter_map(|s| s.started_at.as_deref())
        .filter_map(|t| humantime::parse_rfc3339_weak(t).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .max();
    started.or(Some(alloc.modify_time))
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
