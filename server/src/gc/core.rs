//! The garbage collector's decision, sans-IO: given a state view, the time and the
//! thresholds, which evaluations, allocations, jobs and nodes may be deleted.
//!
//! ```text
//!   jobs   : stopped or dead, idle for job_gc_threshold, every eval terminal, every alloc
//!            finished, no child job still alive           -> job + its evals + its allocs
//!   evals  : terminal, idle for eval_gc_threshold (batch: batch_eval_gc_threshold), and not
//!            of a batch job that is still live; with their allocations when all are finished
//!   allocs : finished on both sides and idle for the eval threshold (live batch jobs' kept,
//!            and failed ones of a live job not yet replaced: they may be rescheduled)
//!   nodes  : down for node_gc_threshold with no live allocation
//!   deployments : terminal, idle for deployment_gc_threshold, no live allocation of theirs;
//!            and every deployment of a collected job
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, ALLOC_CLIENT_PENDING, ALLOC_CLIENT_RUNNING, Allocation, Deployment,
    Evaluation, JOB_STATUS_DEAD, Job, NODE_STATUS_DOWN, NS_PER_SEC,
};
use serde::{Deserialize, Serialize};

use crate::state::{JobKey, StateView};

/// The most objects of each kind one collection deletes (one raft entry stays small).
pub const MAX_GC_BATCH: usize = 8192;

/// How long an object must have been finished before it is collected (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcThresholds {
    /// Terminal evaluations and their allocations (Nomad: 1h).
    pub eval: i64,
    /// Evaluations of batch jobs (Nomad: 24h).
    pub batch_eval: i64,
    /// Dead jobs (Nomad: 4h).
    pub job: i64,
    /// Down nodes (Nomad: 24h).
    pub node: i64,
    /// Terminal deployments (Nomad: 1h).
    pub deployment: i64,
}

impl Default for GcThresholds {
    fn default() -> Self {
        const HOUR: i64 = 3600 * NS_PER_SEC;
        Self {
            eval: HOUR,
            batch_eval: 24 * HOUR,
            job: 4 * HOUR,
            node: 24 * HOUR,
            deployment: HOUR,
        }
    }
}

impl GcThresholds {
    /// Zero thresholds: what `system gc` uses to collect everything eligible now.
    pub fn forced() -> Self {
        Self {
            eval: 0,
            batch_eval: 0,
            job: 0,
            node: 0,
            deployment: 0,
        }
    }
}

/// What one collection deletes; applied by the FSM in this order: allocations, evaluations,
/// jobs, nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcBatch {
    /// Allocation IDs.
    pub allocs: Vec<String>,
    /// Evaluation IDs.
    pub evals: Vec<String>,
    /// Jobs, as `(namespace, id)`.
    pub jobs: Vec<JobKey>,
    /// Node IDs.
    pub nodes: Vec<String>,
    /// Deployment IDs.
    #[serde(default)]
    pub deployments: Vec<String>,
}

impl GcBatch {
    /// Whether there is nothing to delete.
    pub fn is_empty(&self) -> bool {
        self.allocs.is_empty()
            && self.evals.is_empty()
            && self.jobs.is_empty()
            && self.nodes.is_empty()
            && self.deployments.is_empty()
    }
}

/// Whether an allocation is finished on both sides (never one the client still runs).
pub fn alloc_collectable(a: &Allocation) -> bool {
    let client_busy =
        a.client_status == ALLOC_CLIENT_RUNNING || a.client_status == ALLOC_CLIENT_PENDING;
    a.client_terminal() || (a.server_terminal() && !client_busy)
}

fn old_enough(modify_time: i64, now: i64, threshold: i64) -> bool {
    now.saturating_sub(modify_time) >= threshold
}

/// Decides what to collect at `now`.
pub fn collect(view: &StateView, now: i64, t: &GcThresholds) -> GcBatch {
    let mut batch = GcBatch::default();
    let mut allocs = BTreeSet::new();
    let mut evals = BTreeSet::new();
    for job in view.jobs.values() {
        if batch.jobs.len() < MAX_GC_BATCH && job_collectable(view, job, now, t) {
            batch.jobs.push((job.namespace.clone(), job.id.clone()));
            evals.extend(
                view.job_evals(&job.namespace, &job.id)
                    .iter()
                    .map(|e| e.id.clone()),
            );
            allocs.extend(
                view.job_allocs(&job.namespace, &job.id)
                    .iter()
                    .map(|a| a.id.clone()),
            );
        }
    }
    for eval in view.evals.values() {
        if evals.len() >= MAX_GC_BATCH || evals.contains(&eval.id) {
            continue;
        }
        let (collect_eval, eval_allocs) = eval_garbage(view, eval, now, t);
        if collect_eval {
            evals.insert(eval.id.clone());
        }
        allocs.extend(eval_allocs);
    }
    batch.evals = evals.into_iter().take(MAX_GC_BATCH).collect();
    batch.allocs = allocs.into_iter().take(MAX_GC_BATCH).collect();
    batch.nodes = view
        .nodes
        .values()
        .filter(|n| {
            n.status == NODE_STATUS_DOWN
                && old_enough(n.status_updated_at.saturating_mul(NS_PER_SEC), now, t.node)
                && view.node_allocs(&n.id).iter().all(|a| a.terminal())
        })
        .map(|n| n.id.clone())
        .take(MAX_GC_BATCH)
        .collect();
    batch.deployments = deployment_garbage(view, &batch.jobs, now, t);
    batch
}

/// Terminal deployments old enough with no live allocation, and those of collected jobs.
fn deployment_garbage(
    view: &StateView,
    jobs: &[JobKey],
    now: i64,
    t: &GcThresholds,
) -> Vec<String> {
    let gone: BTreeSet<&JobKey> = jobs.iter().collect();
    view.deployments
        .values()
        .filter(|d| {
            let key = (d.namespace.clone(), d.job_id.clone());
            gone.contains(&key) || deployment_collectable(view, d, now, t.deployment)
        })
        .map(|d| d.id.clone())
        .take(MAX_GC_BATCH)
        .collect()
}

/// Whether a deployment is finished, idle for `threshold`, and no live allocation is its.
pub fn deployment_collectable(view: &StateView, d: &Deployment, now: i64, threshold: i64) -> bool {
    !d.active()
        && old_enough(d.modify_time, now, threshold)
        && view
            .job_allocs(&d.namespace, &d.job_id)
            .iter()
            .all(|a| a.deployment_id != d.id || a.terminal())
}

/// A job's latest activity: its submission, or the last change to its evals or allocs.
fn last_activity(view: &StateView, job: &Job) -> i64 {
    let evals = view.job_evals(&job.namespace, &job.id);
    let allocs = view.job_allocs(&job.namespace, &job.id);
    evals
        .iter()
        .map(|e| e.modify_time)
        .chain(allocs.iter().map(|a| a.modify_time))
        .fold(job.submit_time, i64::max)
}

fn job_collectable(view: &StateView, job: &Job, now: i64, t: &GcThresholds) -> bool {
    if !(job.stop || job.status == JOB_STATUS_DEAD) {
        return false;
    }
    if !old_enough(last_activity(view, job), now, t.job) {
        return false;
    }
    let evals_done = view
        .job_evals(&job.namespace, &job.id)
        .iter()
        .all(|e| e.terminal());
    let allocs_done = view
        .job_allocs(&job.namespace, &job.id)
        .iter()
        .all(|a| alloc_collectable(a));
    evals_done && allocs_done && !has_live_children(view, job)
}

/// Whether a periodic or parameterized job still has a child that is not dead.
fn has_live_children(view: &StateView, job: &Job) -> bool {
    let prefix = format!("{}/", job.id);
    view.jobs
        .range((job.namespace.clone(), prefix.clone())..)
        .take_while(|((ns, id), _)| *ns == job.namespace && id.starts_with(&prefix))
        .any(|(_, child)| child.parent_id == job.id && child.status != JOB_STATUS_DEAD)
}

/// Whether a terminal evaluation may go, and which of its allocations may go.
fn eval_garbage(
    view: &StateView,
    eval: &Arc<Evaluation>,
    now: i64,
    t: &GcThresholds,
) -> (bool, Vec<String>) {
    let job = view.job(&eval.namespace, &eval.job_id);
    let batch = job
        .as_ref()
        .map_or(eval.eval_type == "batch", |j| j.is_batch());
    let threshold = if batch { t.batch_eval } else { t.eval };
    // A live batch job keeps its history: collecting its finished allocations would make
    // the scheduler run them again.
    if batch
        && job
            .as_ref()
            .is_some_and(|j| !j.stop && j.status != JOB_STATUS_DEAD)
    {
        return (false, Vec::new());
    }
    let allocs: Vec<Arc<Allocation>> = view
        .job_allocs(&eval.namespace, &eval.job_id)
        .into_iter()
        .filter(|a| a.eval_id == eval.id)
        .collect();
    let job_live = job
        .as_ref()
        .is_some_and(|j| !j.stop && j.status != JOB_STATUS_DEAD);
    // A failed allocation not yet replaced may still be rescheduled (Nomad keeps it too).
    let awaiting_reschedule = |a: &Allocation| {
        job_live && a.client_status == ALLOC_CLIENT_FAILED && a.next_allocation.is_empty()
    };
    let ready: Vec<String> = allocs
        .iter()
        .filter(|a| {
            alloc_collectable(a)
                && !awaiting_reschedule(a)
                && old_enough(a.modify_time, now, threshold)
        })
        .map(|a| a.id.clone())
        .collect();
    let collect_eval = eval.terminal()
        && old_enough(eval.modify_time, now, threshold)
        && ready.len() == allocs.len();
    (collect_eval, ready)
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
