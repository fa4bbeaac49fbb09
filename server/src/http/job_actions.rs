//! `PUT|POST /v1/job/:id/evaluate` (a new evaluation of the job, optionally forcing failed
//! allocations to reschedule) and `PUT|POST /v1/job/:id/stable` (a version's `Stable` flag).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, DesiredTransition, JobRegisterResponse, now_ns, trigger,
};
use serde::{Deserialize, Serialize};

use super::jobs::decode_body;
use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::evals::job_eval;
use crate::fsm::Command;

type Params = Query<HashMap<String, String>>;

/// Options of a forced evaluation.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct EvalOptions {
    force_reschedule: bool,
}

/// Body of `/v1/job/:id/evaluate` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JobEvaluateRequest {
    #[serde(rename = "JobID")]
    job_id: String,
    #[serde(rename = "EvalOptions")]
    eval_options: EvalOptions,
}

/// Body of `/v1/job/:id/stable`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JobStabilityRequest {
    #[serde(rename = "JobID")]
    job_id: String,
    #[serde(rename = "JobVersion")]
    job_version: u64,
    #[serde(rename = "Stable")]
    stable: bool,
}

/// Answer of `/v1/job/:id/stable`.
#[derive(Debug, Serialize)]
struct JobStabilityResponse {
    #[serde(rename = "Index")]
    index: u64,
}

/// The body's job ID must be empty or the path's.
fn check_job_id(path_id: &str, body_id: &str) -> Result<(), HttpError> {
    if body_id.is_empty() || body_id == path_id {
        Ok(())
    } else {
        Err(HttpError::bad_request("Job ID does not match"))
    }
}

/// `PUT|POST /v1/job/:id/evaluate`: a new `job-register` evaluation; with
/// `EvalOptions.ForceReschedule`, failed allocations not yet replaced are rescheduled now,
/// whatever their reschedule policy's delay.
pub async fn evaluate(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobEvaluateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        JobEvaluateRequest::default()
    } else {
        decode_body(&body)?
    };
    check_job_id(&id, &req.job_id)?;
    let view = server.consistent_view().await?;
    let job = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    if job.periodic.is_some() {
        return Err(HttpError::bad_request("can't evaluate periodic job"));
    }
    if job.parameterized_job.is_some() {
        return Err(HttpError::bad_request("can't evaluate parameterized job"));
    }
    let mut transitions = BTreeMap::new();
    if req.eval_options.force_reschedule {
        for alloc in view.job_allocs(&job.namespace, &job.id) {
            if alloc.client_status == ALLOC_CLIENT_FAILED
                && alloc.next_allocation.is_empty()
                && alloc.desired_transition.force_reschedule != Some(true)
            {
                let t = DesiredTransition {
                    force_reschedule: Some(true),
                    ..DesiredTransition::default()
                };
                transitions.insert(alloc.id.clone(), t);
            }
        }
    }
    let eval = job_eval(&job, trigger::JOB_REGISTER, now_ns());
    let eval_id = eval.id.clone();
    let resp = server
        .write(Command::UpdateAllocDesiredTransition {
            transitions,
            evals: vec![eval],
        })
        .await?;
    let body = JobRegisterResponse {
        eval_id,
        eval_create_index: resp.index,
        job_modify_index: job.job_modify_index,
        index: resp.index,
        known_leader: true,
        ..JobRegisterResponse::default()
    };
    Ok(reply(&server, &opts, resp.index, &body))
}

/// `PUT|POST /v1/job/:id/stable` with `{JobID, JobVersion, Stable}`.
pub async fn stable(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobStabilityRequest = decode_body(&body)?;
    check_job_id(&id, &req.job_id)?;
    let view = server.consistent_view().await?;
    let job = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    let tracked = view
        .job_versions(&job.namespace, &job.id)
        .iter()
        .any(|j| j.version == req.job_version);
    if !tracked {
        return Err(HttpError::not_found(format!(
            "job {id:?} in namespace {:?} at version {} not found",
            job.namespace, req.job_version
        )));
    }
    let resp = server
        .write(Command::SetJobStability {
            namespace: job.namespace.clone(),
            job_id: job.id.clone(),
            version: req.job_version,
            stable: req.stable,
        })
        .await?;
    Ok(reply(
        &server,
        &opts,
        resp.index,
        &JobStabilityResponse { index: resp.index },
    ))
}
