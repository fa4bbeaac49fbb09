//! Allocation questions answered by the allocation's client, through its tunnel (as
//! `restart` and `signal` are): `GET /v1/client/allocation/:id/stats`, `/checks` and `/gc`.
//!
//! ```text
//!   HTTP ──AllocQuery{kind}──> node's tunnel (here or on a peer) ──> client
//!        <── AllocQueryReply{body JSON | error + status}
//! ```

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nomadish_proto::node_v1::AllocQuery;

use super::alloc_ops::find_alloc;
use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::server::Server;
use crate::task_ops_route;

type Params = Query<HashMap<String, String>>;

/// Nomad's answer when the allocation cannot be collected (yet).
pub const NOT_ELIGIBLE_FOR_GC: &str =
    "No such allocation on client or allocation not eligible for GC";

/// Asks the allocation's client; the answer's JSON, or its error with the client's status.
async fn ask(server: &Server, id: &str, kind: &str) -> Result<serde_json::Value, HttpError> {
    let alloc = find_alloc(server, id)?;
    let query = AllocQuery {
        request_id: 0,
        alloc_id: alloc.id.clone(),
        kind: kind.to_string(),
    };
    let r = task_ops_route::alloc_query(server, &alloc.node_id, query)
        .await
        .map_err(|e| HttpError::internal(e.to_string()))?;
    if !r.error.is_empty() {
        let status = u16::try_from(r.error_code)
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(HttpError {
            status,
            message: r.error,
        });
    }
    if r.body.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&r.body).map_err(|e| HttpError::internal(e.to_string()))
}

/// `GET /v1/client/allocation/:id/stats`: Nomad's `AllocResourceUsage` (`ResourceUsage`,
/// `Tasks` by name, `Timestamp`), measured by the client from `/proc` for raw_exec tasks.
pub async fn stats(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let body = ask(&server, &id, "stats").await?;
    Ok(reply(&server, &opts, 0, &body))
}

/// `GET /v1/client/allocation/:id/checks`: the latest result of each of the allocation's
/// checks (`provider = "nomad"` services), by check ID.
pub async fn checks(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let body = ask(&server, &id, "checks").await?;
    Ok(reply(&server, &opts, 0, &body))
}

/// `GET /v1/client/allocation/:id/gc`: removes a finished allocation's directory on its
/// client now (the allocation itself stays until the servers collect it); 500 with Nomad's
/// message while the allocation still runs.
pub async fn gc(
    State(server): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let alloc = find_alloc(&server, &id)?;
    if !alloc.client_terminal() {
        return Err(HttpError::internal(NOT_ELIGIBLE_FOR_GC));
    }
    ask(&server, &id, "gc").await?;
    Ok(StatusCode::OK.into_response())
}
