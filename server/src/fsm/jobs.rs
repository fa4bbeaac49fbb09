//! Applying job registrations and deregistrations.

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::model::{Evaluation, JOB_STATUS_PENDING, Job};

use super::{ApplyError, upsert_evals};
use crate::state::{JobKey, StateView};

/// Registers or updates a job. An unchanged spec keeps its version but still gets the
/// evaluation; a changed one becomes a new version.
pub(super) fn apply_upsert_job(
    view: &mut StateView,
    index: u64,
    mut job: Job,
    eval: Option<Evaluation>,
    enforce_index: Option<u64>,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) -> Result<u64, ApplyError> {
    if !view.namespace_exists(&job.namespace) {
        return Err(ApplyError::Rejected {
            reason: format!(
                "job {:?} is in nonexistent namespace {:?}",
                job.id, job.namespace
            ),
        });
    }
    let key: JobKey = (job.namespace.clone(), job.id.clone());
    let existing = view.jobs.get(&key).cloned();
    if let Some(expected) = enforce_index {
        let actual = existing.as_ref().map_or(0, |j| j.job_modify_index);
        if actual != expected {
            return Err(ApplyError::CasMismatch { expected, actual });
        }
    }
    let job_modify_index = match &existing {
        Some(old) if !old.spec_changed(&job) => old.job_modify_index,
        _ => {
            job.create_index = existing.as_ref().map_or(index, |j| j.create_index);
            job.version = existing.as_ref().map_or(0, |j| j.version + 1);
            job.modify_index = index;
            job.job_modify_index = index;
            job.submit_time = now;
            job.stable = false;
            job.status = JOB_STATUS_PENDING.to_string();
            view.put_job(Arc::new(job));
            view.tables.jobs = index;
            index
        }
    };
    if let Some(mut eval) = eval {
        eval.job_modify_index = job_modify_index;
        upsert_evals(view, index, vec![eval], touched);
    }
    touched.insert(key);
    Ok(job_modify_index)
}

/// Stops a job (a new version with `Stop = true`) or purges it, with its evaluation.
pub(super) fn apply_deregister_job(
    view: &mut StateView,
    index: u64,
    key: JobKey,
    purge: bool,
    eval: Option<Evaluation>,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) -> Result<u64, ApplyError> {
    let Some(existing) = view.jobs.get(&key).cloned() else {
        return Err(ApplyError::NotFound {
            kind: "job".to_string(),
        });
    };
    let mut job_modify_index = existing.job_modify_index;
    if purge {
        view.remove_job(&key.0, &key.1);
    } else if !existing.stop {
        let mut job = Job::clone(&existing);
        job.stop = true;
        job.version += 1;
        job.modify_index = index;
        job.job_modify_index = index;
        job.submit_time = now;
        job.stable = false;
        view.put_job(Arc::new(job));
        job_modify_index = index;
    }
    view.tables.jobs = index;
    if let Some(mut eval) = eval {
        eval.job_modify_index = job_modify_index;
        upsert_evals(view, index, vec![eval], touched);
    }
    touched.insert(key);
    Ok(job_modify_index)
}
