//! Operations on a running allocation, as Nomad's API has them:
//! `POST|PUT /v1/client/allocation/:id/restart` (`{"TaskName", "AllTasks"}`),
//! `POST|PUT /v1/client/allocation/:id/signal` (`{"Task", "Signal"}`), answered by the
//! allocation's client over its tunnel, and `POST|PUT /v1/allocation/:id/stop`, a raft write
//! that marks the allocation for migration with an `alloc-stop` evaluation, so the scheduler
//! stops and replaces it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{
    AllocRestartRequest, AllocSignalRequest, AllocStopResponse, Allocation, DesiredTransition,
    GenericResponse, now_ns, trigger,
};
use nomadish_proto::node_v1::{TaskRestartRequest, TaskSignalRequest};

use super::jobs::decode_body;
use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::evals::job_eval;
use crate::fsm::Command;
use crate::server::Server;
use crate::task_ops::OpReply;
use crate::task_ops_route::{self, RouteError};

type Params = Query<HashMap<String, String>>;

/// Nomad's default signal for `alloc signal`.
pub const DEFAULT_SIGNAL: &str = "SIGKILL";

/// The allocation, or 404.
pub(super) fn find_alloc(server: &Server, id: &str) -> Result<Arc<Allocation>, HttpError> {
    server
        .state
        .snapshot()
        .allocs
        .get(id)
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("Unknown allocation {id:?}")))
}

/// A body that may be empty (all defaults).
fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    decode_body(body)
}

/// Maps a client's answer (or a routing failure) to the HTTP result.
pub(super) fn op_result(result: Result<OpReply, RouteError>) -> Result<(), HttpError> {
    match result {
        Ok((error, _)) if error.is_empty() => Ok(()),
        Ok((error, 404)) => Err(HttpError::not_found(error)),
        Ok((error, 400)) => Err(HttpError::bad_request(error)),
        Ok((error, _)) => Err(HttpError::internal(error)),
        Err(e) => Err(HttpError::internal(e.to_string())),
    }
}

/// `POST|PUT /v1/client/allocation/:id/restart`.
pub async fn restart(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: AllocRestartRequest = optional_body(&body)?;
    let alloc = find_alloc(&server, &id)?;
    let wire = TaskRestartRequest {
        request_id: 0,
        alloc_id: alloc.id.clone(),
        task: req.task_name,
        all_tasks: req.all_tasks,
    };
    op_result(task_ops_route::restart(&server, &alloc.node_id, wire).await)?;
    Ok(reply(&server, &opts, 0, &GenericResponse::default()))
}

/// `POST|PUT /v1/client/allocation/:id/signal`.
pub async fn signal(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: AllocSignalRequest = optional_body(&body)?;
    let signal = if req.signal.trim().is_empty() {
        DEFAULT_SIGNAL.to_string()
    } else {
        req.signal
    };
    let alloc = find_alloc(&server, &id)?;
    let wire = TaskSignalRequest {
        request_id: 0,
        alloc_id: alloc.id.clone(),
        task: req.task,
        signal,
    };
    op_result(task_ops_route::signal(&server, &alloc.node_id, wire).await)?;
    Ok(reply(&server, &opts, 0, &GenericResponse::default()))
}

/// `POST|PUT /v1/allocation/:id/stop`: marks the allocation to be stopped and replaced and
/// creates the evaluation that does it.
pub async fn stop(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let alloc = find_alloc(&server, &id)?;
    let view = server.state.snapshot();
    let job = view
        .job(&alloc.namespace, &alloc.job_id)
        .or_else(|| alloc.job.clone())
        .ok_or_else(|| HttpError::not_found(format!("job {:?} not found", alloc.job_id)))?;
    let eval = job_eval(&job, trigger::ALLOC_STOP, now_ns());
    let eval_id = eval.id.clone();
    let transition = DesiredTransition {
        migrate: Some(true),
        ..DesiredTransition::default()
    };
    let cmd = Command::UpdateAllocDesiredTransition {
        transitions: BTreeMap::from([(alloc.id.clone(), transition)]),
        evals: vec![eval],
    };
    let resp = server.write(cmd).await?;
    let body = AllocStopResponse {
        eval_id,
        index: resp.index,
    };
    Ok(reply(&server, &opts, resp.index, &body))
}
