//! Applying a garbage collection: batch deletes (allocations, evaluations, jobs, nodes,
//! deployments), each re-checked against the state at this
//! index so that an object that came back to life since the collector looked is kept.

use nomadish_proto::model::NODE_STATUS_DOWN;

use crate::gc::{GcBatch, alloc_collectable, deployment_collectable};
use crate::state::StateView;

/// Deletes what `batch` names and is still garbage; returns how many objects went.
pub(super) fn apply_gc(view: &mut StateView, index: u64, batch: GcBatch) -> usize {
    let mut deleted = 0;
    for id in &batch.allocs {
        if view.allocs.get(id).is_some_and(|a| alloc_collectable(a)) {
            view.remove_alloc(id);
            view.tables.allocs = index;
            deleted += 1;
        }
    }
    for id in &batch.evals {
        if view.evals.get(id).is_some_and(|e| e.terminal()) {
            view.remove_eval(id);
            view.tables.evals = index;
            deleted += 1;
        }
    }
    for (namespace, id) in &batch.jobs {
        let key = (namespace.clone(), id.clone());
        let live = view.job_allocs(namespace, id).iter().any(|a| !a.terminal())
            || view.job_evals(namespace, id).iter().any(|e| !e.terminal());
        if view.jobs.contains_key(&key) && !live {
            view.remove_job(namespace, id);
            view.periodic_launches.remove(&key);
            view.tables.jobs = index;
            deleted += 1;
        }
    }
    for id in &batch.nodes {
        let idle = view.node_allocs(id).iter().all(|a| a.terminal());
        if idle
            && view
                .nodes
                .get(id)
                .is_some_and(|n| n.status == NODE_STATUS_DOWN)
        {
            view.remove_node(id);
            view.tables.nodes = index;
            deleted += 1;
        }
    }
    for id in &batch.deployments {
        let Some(d) = view.deployments.get(id).cloned() else {
            continue;
        };
        let job_gone = !view
            .jobs
            .contains_key(&(d.namespace.clone(), d.job_id.clone()));
        if job_gone || deployment_collectable(view, &d, i64::MAX, 0) {
            view.deployments.remove(id);
            view.tables.deployments = index;
            deleted += 1;
        }
    }
    deleted
}
