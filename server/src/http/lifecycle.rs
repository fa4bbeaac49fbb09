//! Job lifecycle endpoints: `periodic/force`, `dispatch`, `revert` and `scale`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use base64::Engine;
use nomadish_proto::model::{
    ALLOC_CLIENT_PENDING, ALLOC_CLIENT_RUNNING, Job, JobDispatchRequest, JobDispatchResponse,
    JobRevertRequest, JobScaleRequest, JobScaleStatusResponse, MAX_JOB_ALLOCATIONS,
    PeriodicForceResponse, ScalingPolicy, TaskGroupScaleStatus, generate_id, now_ns, trigger,
};

use super::jobs::{decode_body, write_job};
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::dispatch::{derive_dispatched, dispatch_id, existing_dispatch, validate};
use crate::evals::job_eval;
use crate::fsm::Command;
use crate::server::Server;

type Params = Query<HashMap<String, String>>;

/// The job as of a consistent read, or 404.
async fn current_job(server: &Server, opts: &QueryOptions, id: &str) -> Result<Job, HttpError> {
    let view = server.consistent_view().await?;
    view.job(&opts.namespace, id)
        .map(|j| j.as_ref().clone())
        .ok_or_else(|| HttpError::not_found("job not found"))
}

/// `POST /v1/job/:id/periodic/force`: launch a periodic job's child now.
pub async fn periodic_force(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let job = current_job(&server, &opts, &id).await?;
    let Some(periodic) = &job.periodic else {
        return Err(HttpError::bad_request(
            "can't force launch non-periodic job",
        ));
    };
    if !periodic.enabled || job.stop {
        return Err(HttpError::bad_request("periodic job is not enabled"));
    }
    let (eval_id, resp) = crate::periodic::force_launch(&server, &job).await?;
    let body = PeriodicForceResponse {
        eval_id,
        eval_create_index: resp.index,
        index: resp.index,
    };
    Ok(reply(&server, &opts, resp.index, &body))
}

/// `POST /v1/job/:id/dispatch`: launch a parameterized job's child with a payload and meta.
pub async fn dispatch(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobDispatchRequest = decode_body(&body)?;
    let payload = match req.payload.as_deref().filter(|p| !p.is_empty()) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| HttpError::bad_request(format!("Failed to decode payload: {e}")))?,
        None => Vec::new(),
    };
    let token = opts
        .raw
        .get("idempotency_token")
        .cloned()
        .unwrap_or(req.idempotency_token);
    let view = server.consistent_view().await?;
    let parent = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found(format!("parameterized job {id:?} not found")))?;
    validate(&parent, &payload, &req.meta).map_err(|e| HttpError::bad_request(e.to_string()))?;
    if let Some(existing) = existing_dispatch(&view, &parent, &token) {
        let body = JobDispatchResponse {
            dispatched_job_id: existing.id.clone(),
            job_create_index: existing.create_index,
            index: view.tables.jobs,
            ..JobDispatchResponse::default()
        };
        return Ok(reply(&server, &opts, view.tables.jobs, &body));
    }
    let now = now_ns();
    let child_id = dispatch_id(&parent.id, now, &generate_id());
    let b64 = (!payload.is_empty()).then(|| req.payload.clone().unwrap_or_default());
    let child = derive_dispatched(&parent, child_id.clone(), b64, &req.meta, &token);
    let eval = job_eval(&child, trigger::JOB_REGISTER, now);
    let eval_id = eval.id.clone();
    let resp = server
        .write(Command::UpsertJob {
            job: Box::new(child),
            eval: Some(eval),
            enforce_index: None,
            now,
        })
        .await?;
    let body = JobDispatchResponse {
        dispatched_job_id: child_id,
        eval_id,
        eval_create_index: resp.index,
        job_create_index: resp.index,
        index: resp.index,
    };
    Ok(reply(&server, &opts, resp.index, &body))
}

/// `POST /v1/job/:id/revert`: register an earlier version's spec as a new version.
pub async fn revert(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobRevertRequest = decode_body(&body)?;
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(HttpError::bad_request("Job ID does not match"));
    }
    let view = server.consistent_view().await?;
    let current = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    if let Some(prior) = req.enforce_prior_version
        && prior != current.version
    {
        return Err(HttpError::bad_request(format!(
            "Current job has version {}; enforcing version {prior}",
            current.version
        )));
    }
    if req.job_version == current.version {
        return Err(HttpError::bad_request("can't revert to current version"));
    }
    let old = view
        .job_versions(&opts.namespace, &id)
        .into_iter()
        .find(|j| j.version == req.job_version)
        .ok_or_else(|| {
            HttpError::not_found(format!(
                "job {id:?} in namespace {:?} at version {} not found",
                current.namespace, req.job_version
            ))
        })?;
    let job = old.as_ref().clone();
    let expected = Some(current.job_modify_index);
    write_job(&server, &opts, job, trigger::JOB_REGISTER, None, expected).await
}

/// `POST /v1/job/:id/scale`: set one group's count.
pub async fn scale(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobScaleRequest = decode_body(&body)?;
    let group = req
        .target
        .get("Group")
        .filter(|g| !g.is_empty())
        .ok_or_else(|| HttpError::bad_request("missing task group name for scaling action"))?;
    let count = req
        .count
        .ok_or_else(|| HttpError::bad_request("scaling action count is required"))?;
    if count < 0 {
        return Err(HttpError::bad_request(
            "scaling action count can't be negative",
        ));
    }
    if count > i64::from(i32::MAX) {
        return Err(HttpError::bad_request(format!(
            "scaling action count can't be greater than {}",
            i32::MAX
        )));
    }
    let mut job = current_job(&server, &opts, &id).await?;
    if job.is_parent() {
        return Err(HttpError::bad_request(
            "cannot scale a periodic or parameterized job",
        ));
    }
    let expected = job.job_modify_index;
    let tg = job
        .task_groups
        .iter_mut()
        .find(|g| g.name == *group)
        .ok_or_else(|| {
            HttpError::bad_request(format!(
                "task group {group:?} specified for scaling does not exist in job"
            ))
        })?;
    if let Some(policy) = &tg.scaling {
        check_scaling_bounds(policy, count)?;
    }
    tg.count = count;
    let total = job
        .task_groups
        .iter()
        .fold(0i64, |sum, g| sum.saturating_add(g.count.max(0)));
    if total > MAX_JOB_ALLOCATIONS {
        return Err(HttpError::bad_request(format!(
            "scaling to {count} brings the job to {total} allocations; a job may ask for at \
             most {MAX_JOB_ALLOCATIONS}"
        )));
    }
    write_job(
        &server,
        &opts,
        job,
        trigger::JOB_SCALING,
        None,
        Some(expected),
    )
    .await
}

/// Nomad's check of a scaling request against the group's `scaling` block.
fn check_scaling_bounds(policy: &ScalingPolicy, count: i64) -> Result<(), HttpError> {
    if let Some(min) = policy.min
        && count < min
    {
        return Err(HttpError::bad_request(format!(
            "group count was less than scaling policy minimum: {count} < {min}"
        )));
    }
    if let Some(max) = policy.max
        && count > max
    {
        return Err(HttpError::bad_request(format!(
            "group count was greater than scaling policy maximum: {count} > {max}"
        )));
    }
    Ok(())
}

/// `GET /v1/job/:id/scale`: desired and actual counts per group.
pub async fn scale_status(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.jobs.max(v.tables.allocs)).await?;
    let job = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    let mut body = JobScaleStatusResponse {
        job_id: job.id.clone(),
        namespace: job.namespace.clone(),
        job_create_index: job.create_index,
        job_modify_index: job.job_modify_index,
        job_stopped: job.stop,
        ..JobScaleStatusResponse::default()
    };
    for tg in &job.task_groups {
        let status = TaskGroupScaleStatus {
            desired: tg.count,
            ..TaskGroupScaleStatus::default()
        };
        body.task_groups.insert(tg.name.clone(), status);
    }
    for alloc in view.job_allocs(&job.namespace, &job.id) {
        let Some(s) = body.task_groups.get_mut(&alloc.task_group) else {
            continue;
        };
        if alloc.terminal() || alloc.job.as_ref().is_some_and(|j| j.version != job.version) {
            continue;
        }
        s.placed += 1;
        match alloc.client_status.as_str() {
            ALLOC_CLIENT_RUNNING => s.running += 1,
            ALLOC_CLIENT_PENDING => {}
            _ => s.unhealthy += 1,
        }
    }
    let index = view.tables.jobs.max(view.tables.allocs);
    Ok(reply(&server, &opts, index, &body))
}
