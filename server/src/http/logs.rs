//! `GET /v1/client/fs/logs/:alloc`: a task's stdout or stderr, streamed from its client over
//! the client's tunnel, as raw bytes (`plain=true`) or Nomad's JSON frames (with `{}`
//! heartbeats while following).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::node_v1::LogRequest;

use super::stream::{self, StreamRequest};
use super::{AppState, HttpError, QueryOptions};

/// Nomad's answer when `task` is missing.
const TASK_MISSING: &str = "must provide task name";
/// Nomad's answer when `type` is missing or not stdout/stderr.
const TYPE_INVALID: &str = "must provide log type (stdout/stderr)";
/// Nomad's answer for an origin other than start/end.
pub(super) const ORIGIN_INVALID: &str = "origin must be start or end";

/// `origin`, defaulting to `start`.
pub(super) fn origin(opts: &QueryOptions) -> Result<String, HttpError> {
    match opts.raw.get("origin").map(String::as_str) {
        None | Some("") | Some("start") => Ok("start".into()),
        Some("end") => Ok("end".into()),
        Some(_) => Err(HttpError::bad_request(ORIGIN_INVALID)),
    }
}

/// `offset`, defaulting to 0.
pub(super) fn offset(opts: &QueryOptions) -> Result<i64, HttpError> {
    match opts.raw.get("offset").filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| HttpError::bad_request(format!("error parsing offset: {v:?}"))),
        None => Ok(0),
    }
}

/// Streams a task's log.
pub async fn logs(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let task = opts.raw.get("task").cloned().unwrap_or_default();
    if task.is_empty() {
        return Err(HttpError::bad_request(TASK_MISSING));
    }
    let log_type = opts.raw.get("type").cloned().unwrap_or_default();
    if log_type != "stdout" && log_type != "stderr" {
        return Err(HttpError::bad_request(TYPE_INVALID));
    }
    let origin = origin(&opts)?;
    let offset = offset(&opts)?;
    let alloc = server
        .state
        .snapshot()
        .allocs
        .get(&alloc_id)
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("Unknown allocation {alloc_id:?}")))?;
    let req = LogRequest {
        stream_id: 0,
        alloc_id: alloc.id.clone(),
        task,
        log_type,
        origin,
        offset,
        follow: opts.flag("follow"),
    };
    let mut rx = stream::open(&server, &alloc.node_id, StreamRequest::Logs(req)).await?;
    let first = stream::first(&mut rx).await?;
    Ok(stream::response(first, rx, opts.flag("plain")))
}
