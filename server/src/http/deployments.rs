//! Deployment endpoints: list, read, allocations, promote, fail, pause/resume, and the job's
//! deployments.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use nomadish_proto::model::{DeploymentPauseRequest, DeploymentPromoteRequest};

use super::jobs::decode_body;
use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply, reply_stubs};
use super::{AppState, HttpError, QueryOptions};
use crate::deployments::ops::{self, DeploymentError};

type Params = Query<HashMap<String, String>>;

impl From<DeploymentError> for HttpError {
    fn from(e: DeploymentError) -> Self {
        match e {
            DeploymentError::Write(w) => w.into(),
            DeploymentError::NotFound => HttpError::not_found(e.to_string()),
            other => HttpError {
                status: StatusCode::BAD_REQUEST,
                message: other.to_string(),
            },
        }
    }
}

/// `GET /v1/deployments?prefix=`: in creation order, as Nomad (`?reverse=true`: newest first).
pub async fn list(State(server): State<AppState>, list: ListQuery) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.deployments).await?;
    let deployments = view.deployments_by_prefix(&opts.namespace, &opts.prefix);
    let paging = Paging::by_prefix_or_creation(opts);
    reply_list(&server, &list, view.tables.deployments, deployments, paging)
}

/// `GET /v1/deployment/:id`.
pub async fn get(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.deployments).await?;
    let d = ops::find(&view, &id)?;
    Ok(reply(&server, &opts, view.tables.deployments, &*d))
}

/// `GET /v1/deployment/:id/allocations` (and Nomad's `/v1/deployment/allocations/:id`).
pub async fn allocations(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.allocs).await?;
    let d = ops::find(&view, &id)?;
    let allocs = view.deployment_allocs(&d);
    Ok(reply_stubs(&server, &opts, view.tables.allocs, &allocs))
}

/// `PUT|POST /v1/deployment/promote/:id` with `{DeploymentID, All, Groups}`.
pub async fn promote(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: DeploymentPromoteRequest = if body.is_empty() {
        DeploymentPromoteRequest::default()
    } else {
        decode_body(&body)?
    };
    if !req.deployment_id.is_empty() && req.deployment_id != id {
        return Err(HttpError::bad_request("Deployment ID does not match"));
    }
    let groups = if req.all { Vec::new() } else { req.groups };
    let resp = ops::promote(&server, &id, groups).await?;
    Ok(reply(&server, &opts, resp.index, &resp))
}

/// `PUT|POST /v1/deployment/fail/:id`.
pub async fn fail(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let resp = ops::fail(&server, &id).await?;
    Ok(reply(&server, &opts, resp.index, &resp))
}

/// `PUT|POST /v1/deployment/pause/:id` with `{DeploymentID, Pause}`.
pub async fn pause(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: DeploymentPauseRequest = decode_body(&body)?;
    if !req.deployment_id.is_empty() && req.deployment_id != id {
        return Err(HttpError::bad_request("Deployment ID does not match"));
    }
    let resp = ops::pause(&server, &id, req.pause).await?;
    Ok(reply(&server, &opts, resp.index, &resp))
}

/// `GET /v1/job/:id/deployments`: newest first.
pub async fn job_deployments(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.deployments).await?;
    let list = view.job_deployments(&opts.namespace, &id);
    Ok(reply(&server, &opts, view.tables.deployments, &list))
}

/// `GET /v1/job/:id/deployment`: the latest, or `null`.
pub async fn job_latest(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.deployments).await?;
    let latest = view.latest_deployment(&opts.namespace, &id);
    Ok(reply(&server, &opts, view.tables.deployments, &latest))
}

/// Body of `/v1/deployment/allocation-health/:id`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AllocHealthRequest {
    #[serde(rename = "DeploymentID")]
    deployment_id: String,
    #[serde(rename = "HealthyAllocationIDs")]
    healthy: Vec<String>,
    #[serde(rename = "UnhealthyAllocationIDs")]
    unhealthy: Vec<String>,
}

/// `PUT|POST /v1/deployment/allocation-health/:id` with `{DeploymentID,
/// HealthyAllocationIDs, UnhealthyAllocationIDs}`: an operator's health verdicts, counted as
/// a client's first verdict (an allocation already judged keeps its verdict).
pub async fn allocation_health(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: AllocHealthRequest = decode_body(&body)?;
    if !req.deployment_id.is_empty() && req.deployment_id != id {
        return Err(HttpError::bad_request("Deployment ID does not match"));
    }
    if req.healthy.is_empty() && req.unhealthy.is_empty() {
        return Err(HttpError::bad_request(
            "must specify at least one healthy/unhealthy allocation ID",
        ));
    }
    let resp = ops::set_alloc_health(&server, &id, req.healthy, req.unhealthy).await?;
    Ok(reply(&server, &opts, resp.index, &resp))
}
