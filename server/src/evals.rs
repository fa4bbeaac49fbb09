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

/// One pending evaluation per running `system`/`sysbatch` job, for a node that joined or came
/// back (Nomad places system jobs on new nodes this way).
pub fn system_job_evals(
    view: &StateView,
    node_id: &str,
    triggered_by: &str,
    now: i64,
) -> Vec<Evaluation> {
    view.jobs
        .values()
        .filter(|j| j.is_system() && !j.stop && !j.is_parent())
        .map(|job| {
            let mut eval = job_eval(job, triggered_by, now);
            eval.node_id = node_id.to_string();
            eval
        })
        .collect()
}

/// Evaluations for a node that becomes ready (joined, or back from `down`): its own jobs when
/// it was known before, and every system job, each job once.
pub fn node_ready_evals(
    view: &StateView,
    node_id: &str,
    was_known: bool,
    now: i64,
) -> Vec<Evaluation> {
    let mut evals = if was_known {
        node_job_evals(view, node_id, NODE_UPDATE, now)
    } else {
        Vec::new()
    };
    for eval in system_job_evals(view, node_id, NODE_UPDATE, now) {
        if !evals
            .iter()
            .any(|e| e.namespace == eval.namespace && e.job_id == eval.job_id)
        {
            evals.push(eval);
        }
    }
    evals
}

const NODE_UPDATE: &str = nomadish_proto::model::trigger::NODE_UPDATE;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nomadish_proto::model::{ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_RUN, Allocation, Job};

    use super::*;

    fn job(id: &str, job_type: &str) -> Arc<Job> {
        Arc::new(Job {
            id: id.into(),
            namespace: "default".into(),
            job_type: job_type.into(),
            ..Job::default()
        })
    }

    #[test]
    fn ready_node_gets_its_jobs_and_every_system_job_once() {
        let mut view = StateView::default();
        for j in [
            job("sys", "system"),
            job("web", "service"),
            job("other", "service"),
        ] {
            view.put_job(j);
        }
        let mut stopped = Job::clone(&job("old-sys", "sysbatch"));
        stopped.stop = true;
        view.put_job(Arc::new(stopped));
        for (id, job_id) in [("a1", "web"), ("a2", "sys")] {
            view.put_alloc(Arc::new(Allocation {
                id: id.into(),
                namespace: "default".into(),
                job_id: job_id.into(),
                node_id: "n1".into(),
                desired_status: ALLOC_DESIRED_RUN.into(),
                client_status: ALLOC_CLIENT_RUNNING.into(),
                ..Allocation::default()
            }));
        }
        let mut jobs: Vec<String> = node_ready_evals(&view, "n1", true, 0)
            .into_iter()
            .map(|e| {
                assert_eq!(e.node_id, "n1");
                e.job_id
            })
            .collect();
        jobs.sort();
        assert_eq!(jobs, ["sys", "web"]);
        let fresh: Vec<String> = node_ready_evals(&view, "n2", false, 0)
            .into_iter()
            .map(|e| e.job_id)
            .collect();
        assert_eq!(fresh, ["sys"], "a new node only gets the system jobs");
    }
}
