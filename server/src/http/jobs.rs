//! Job endpoints: list, register, parse, read, update, deregister and sub-resources.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{
    DEFAULT_NAMESPACE, Job, JobRegisterRequest, JobRegisterResponse, JobValidateRequest,
    JobValidateResponse, JobVersionsResponse, JobsParseRequest, now_ns, strip_nulls, trigger,
};
use serde::de::DeserializeOwned;

use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply, reply_stubs};
use super::{AppState, HttpError, QueryOptions};
use crate::evals::job_eval;
use crate::fsm::Command;

type Params = Query<HashMap<String, String>>;

/// Decodes a JSON body the way Nomad's clients send it (unset fields as `null`).
/// The body's shape is checked first ([`super::json_shape`]), so a small body cannot expand
/// into millions of values.
pub(super) fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    super::json_shape::check(body)
        .map_err(|e| HttpError::bad_request(format!("Failed to decode request body: {e}")))?;
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| HttpError::bad_request(format!("Failed to decode request body: {e}")))?;
    strip_nulls(&mut value);
    serde_json::from_value(value)
        .map_err(|e| HttpError::bad_request(format!("Failed to decode request body: {e}")))
}

/// `GET /v1/jobs`: job stubs with their summaries.
pub async fn list(State(server): State<AppState>, list: ListQuery) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.jobs.max(v.tables.allocs)).await?;
    let stubs = view
        .jobs_by_prefix(&opts.namespace, &opts.prefix)
        .into_iter()
        .map(|j| j.stub(Some(view.job_summary(&j))));
    let index = view.tables.jobs.max(view.tables.allocs);
    reply_list(&server, &list, index, stubs, Paging::NAMESPACE_ID)
}

/// Canonicalizes and validates a submitted job, settling its namespace against the request's.
pub(super) fn prepare_job(job: Job, opts: &QueryOptions) -> Result<Job, HttpError> {
    let job = canonical_job(job, opts)?;
    nomadish_jobspecs::validate_job(&job)
        .map_err(|errors| HttpError::bad_request(validation_message(&errors)))?;
    Ok(job)
}

/// One message for a job's validation errors, one bulleted line each.
fn validation_message(errors: &[String]) -> String {
    let list: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    format!("{} error(s) occurred:\n\n{}", errors.len(), list.join("\n"))
}

/// Settles a submitted job's namespace against the request's and canonicalizes it.
fn canonical_job(mut job: Job, opts: &QueryOptions) -> Result<Job, HttpError> {
    if job.namespace.is_empty() {
        job.namespace = opts.namespace.clone();
    } else if opts.namespace_given && job.namespace != opts.namespace {
        return Err(HttpError::bad_request(format!(
            "job namespace {:?} does not match request namespace {:?}",
            job.namespace, opts.namespace
        )));
    }
    if job.namespace == "*" {
        job.namespace = DEFAULT_NAMESPACE.to_string();
    }
    job.canonicalize();
    Ok(job)
}

/// What a job register body asks for, decoded, canonicalized and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The canonicalized, validated job.
    pub job: Job,
    /// `EvalPriority`, when given (positive).
    pub eval_priority: Option<i64>,
    /// `JobModifyIndex`, when `EnforceIndex` is set.
    pub enforce_index: Option<u64>,
}

/// Decodes a `PUT /v1/jobs` (or `/v1/job/:id`, with `path_id`) body exactly as the register
/// handlers do: JSON with `null`s as defaults, namespace settled against `opts`, canonicalized
/// and validated. Every rejection is a 400. Pure (no state, no I/O): the
/// `http_job_json` fuzz target drives it.
pub fn decode_registration(
    body: &[u8],
    opts: &QueryOptions,
    path_id: Option<&str>,
) -> Result<Registration, HttpError> {
    let req: JobRegisterRequest = decode_body(body)?;
    let job = req
        .job
        .ok_or_else(|| HttpError::bad_request("Job must be specified"))?;
    if let Some(id) = path_id
        && job.id != id
    {
        return Err(HttpError::bad_request("Job ID does not match name"));
    }
    Ok(Registration {
        job: prepare_job(job, opts)?,
        eval_priority: (req.eval_priority > 0).then_some(req.eval_priority),
        enforce_index: req.enforce_index.then_some(req.job_modify_index),
    })
}

async fn register_job(
    server: &crate::server::Server,
    opts: &QueryOptions,
    body: &[u8],
    path_id: Option<&str>,
) -> Result<Response, HttpError> {
    let reg = decode_registration(body, opts, path_id)?;
    write_job(
        server,
        opts,
        reg.job,
        trigger::JOB_REGISTER,
        reg.eval_priority,
        reg.enforce_index,
    )
    .await
}

/// Writes `job` as its new version with an evaluation (none for periodic and parameterized
/// parents), compare-and-set on `enforce_index`, and answers Nomad's register response.
pub(super) async fn write_job(
    server: &crate::server::Server,
    opts: &QueryOptions,
    job: Job,
    triggered_by: &str,
    eval_priority: Option<i64>,
    enforce_index: Option<u64>,
) -> Result<Response, HttpError> {
    let now = now_ns();
    let eval = (!job.is_parent()).then(|| {
        let mut eval = job_eval(&job, triggered_by, now);
        if let Some(priority) = eval_priority {
            eval.priority = priority;
        }
        eval
    });
    let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
    let resp = server
        .write(Command::UpsertJob {
            job: Box::new(job),
            eval,
            enforce_index,
            now,
        })
        .await?;
    Ok(register_reply(server, opts, eval_id, &resp))
}

/// Nomad's job register/deregister response for a committed write.
fn register_reply(
    server: &crate::server::Server,
    opts: &QueryOptions,
    eval_id: String,
    resp: &crate::fsm::CommandResponse,
) -> Response {
    let body = JobRegisterResponse {
        eval_create_index: if eval_id.is_empty() { 0 } else { resp.index },
        eval_id,
        job_modify_index: resp.job_modify_index,
        index: resp.index,
        known_leader: true,
        ..JobRegisterResponse::default()
    };
    reply(server, opts, resp.index, &body)
}

/// `PUT|POST /v1/jobs`: register a job.
pub async fn register(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    register_job(&server, &opts, &body, None).await
}

/// `PUT|POST /v1/job/:id`: register or update a job (the body's job ID must match).
pub async fn update(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    register_job(&server, &opts, &body, Some(&id)).await
}

/// `PUT|POST /v1/validate/job`: the job's problems without registering it. Answers 200 with
/// Nomad's `JobValidateResponse` whether or not the job is valid; only a body that is not a
/// job at all is a 400.
pub async fn validate(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobValidateRequest = decode_body(&body)?;
    let job = req
        .job
        .ok_or_else(|| HttpError::bad_request("Job must be specified"))?;
    let job = canonical_job(job, &opts)?;
    let validation_errors = nomadish_jobspecs::validate_job(&job)
        .err()
        .unwrap_or_default();
    let body = JobValidateResponse {
        // As Nomad's servers: driver configs are checked by the clients that run them.
        driver_config_validated: true,
        error: if validation_errors.is_empty() {
            String::new()
        } else {
            validation_message(&validation_errors)
        },
        validation_errors,
        warnings: String::new(),
    };
    Ok(reply(&server, &opts, server.state.index(), &body))
}

/// `POST /v1/jobs/parse`: HCL to JSON.
pub async fn parse(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobsParseRequest = decode_body(&body)?;
    let job = nomadish_jobspecs::parse(&req.job_hcl, "input.hcl")
        .map_err(|e| HttpError::bad_request(e.to_string()))?;
    Ok(reply(&server, &opts, server.state.index(), &job))
}

/// `GET /v1/job/:id`.
pub async fn get(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.jobs).await?;
    let job = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    Ok(reply(&server, &opts, view.tables.jobs, &*job))
}

/// `DELETE /v1/job/:id?purge=`: stop (or purge) a job.
pub async fn deregister(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = server.consistent_view().await?;
    let job = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    let now = now_ns();
    let eval = (!job.is_parent()).then(|| job_eval(&job, trigger::JOB_DEREGISTER, now));
    let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
    let resp = server
        .write(Command::DeregisterJob {
            namespace: job.namespace.clone(),
            job_id: job.id.clone(),
            purge: opts.flag("purge"),
            eval,
            now,
        })
        .await?;
    Ok(register_reply(&server, &opts, eval_id, &resp))
}

/// `GET /v1/job/:id/allocations`.
pub async fn allocations(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.allocs).await?;
    let allocs = view.job_allocs(&opts.namespace, &id);
    Ok(reply_stubs(&server, &opts, view.tables.allocs, &allocs))
}

/// `GET /v1/job/:id/evaluations`.
pub async fn evaluations(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.evals).await?;
    let evals: Vec<_> = view
        .job_evals(&opts.namespace, &id)
        .iter()
        .map(|e| e.as_ref().clone())
        .collect();
    Ok(reply(&server, &opts, view.tables.evals, &evals))
}

/// `GET /v1/job/:id/versions`.
pub async fn versions(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let with_diffs = params
        .get("diffs")
        .is_some_and(|v| super::query::parse_bool(v));
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.jobs).await?;
    let versions: Vec<Job> = view
        .job_versions(&opts.namespace, &id)
        .iter()
        .map(|j| j.as_ref().clone())
        .collect();
    if versions.is_empty() {
        return Err(HttpError::not_found("job versions not found"));
    }
    // `?diffs=true`: each version against the one before it (newest first, as the versions).
    let diffs = with_diffs.then(|| {
        versions
            .windows(2)
            .map(|pair| {
                let diff = crate::job_plan::diff::job_diff(Some(&pair[1]), &pair[0]);
                serde_json::to_value(diff).unwrap_or_default()
            })
            .collect()
    });
    let body = JobVersionsResponse {
        versions,
        diffs,
        index: view.tables.jobs,
        known_leader: true,
        ..JobVersionsResponse::default()
    };
    Ok(reply(&server, &opts, view.tables.jobs, &body))
}

/// `GET /v1/job/:id/summary`.
pub async fn summary(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.jobs.max(v.tables.allocs)).await?;
    let job = view
        .job(&opts.namespace, &id)
        .ok_or_else(|| HttpError::not_found("job not found"))?;
    let index = view.tables.jobs.max(view.tables.allocs);
    Ok(reply(&server, &opts, index, &view.job_summary(&job)))
}
