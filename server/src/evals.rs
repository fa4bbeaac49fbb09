//! Building new evaluations: one place decides their shape for every trigger.

use std::collections::BTreeMap;

use nomadish_proto::model::{EVAL_STATUS_PENDING, Evaluation, Job, generate_id};

use crate::state::StateView;

/// A pending evaluation of `job` for this trigger.
pub fn job_eval(job: &Job, triggered_by: &str, now: i64) -> Evaluation {
    Evaluation {
        id: generate_id(),
        namespace: job.namespace.clone(),
        priority: job.priority,
        eval_type: job.job_type.clone(),
        triggered_by: triggered_by.to_string(),
        job_id: job.id.clone(),
        job_modify_index: job.job_modify_index,
        status: EVAL_STATUS_PENDING.to_string(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    }
}

/// One pending evaluation per job that has a live allocation on `node_id`.
pub fn node_job_evals(
    view: &StateView,
    node_id: &str,
    triggered_by: &str,
    now: i64,
) -> Vec<Evaluation> {
    let mut jobs = BTreeMap::new();
    for alloc in view.node_allocs(node_id) {
        if alloc.terminal() {
            continue;
        }
        let key = (alloc.namespace.clone(), alloc.job_id.clone());
        if jobs.contains_key(&key) {
            continue;
        }
        let job = view
            .job(&alloc.namespace, &alloc.job_id)
            .or_else(|| alloc.job.clone());
        if let Some(job) = job {
            let mut eval = job_eval(&job, triggered_by, now);
            eval.node_id = node_id.to_string();
            jobs.insert(key, eval);
        }
    }
    jobs.into_values().collect()
}
