//! `POST|PUT /v1/job/:id/plan`: a dry run of the scheduler on a linearizable view (at least as
//! new as the leader's commit index when the request arrived). Nothing is written.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{JobPlanRequest, now_ns};

use super::jobs::{decode_body, prepare_job};
use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::job_plan::{PlanError, plan_job};

/// `POST|PUT /v1/job/:id/plan`.
pub async fn plan(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: JobPlanRequest = decode_body(&body)?;
    let job = req
        .job
        .ok_or_else(|| HttpError::bad_request("Job must be specified"))?;
    if job.id != id {
        return Err(HttpError::bad_request("Job ID does not match"));
    }
    let job = prepare_job(job, &opts)?;
    let view = server.consistent_view().await?;
    let seed = rand::random();
    let mut resp = tokio::task::spawn_blocking(move || plan_job(&view, job, now_ns(), seed))
        .await
        .map_err(|e| HttpError::internal(format!("plan failed: {e}")))?
        .map_err(|e| match e {
            PlanError::Apply(e) => HttpError::bad_request(e.to_string()),
            PlanError::Scheduler(e) => HttpError::internal(e.to_string()),
        })?;
    if !req.diff {
        resp.diff = None;
    }
    let index = resp.index;
    Ok(reply(&server, &opts, index, &resp))
}

type Params = Query<HashMap<String, String>>;
