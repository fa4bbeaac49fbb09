//! Operator endpoints: raft configuration and peers, leadership transfer, snapshots, and the
//! state digest used to compare servers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::operator::{self, OperatorError};
use crate::state::state_digest;

type Params = Query<HashMap<String, String>>;

impl From<OperatorError> for HttpError {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::BadRequest(m) => HttpError::bad_request(m),
            OperatorError::Write(w) => w.into(),
            OperatorError::Raft(m) => HttpError::internal(m),
        }
    }
}

/// `GET /v1/operator/raft/configuration`.
pub async fn raft_configuration(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let config = operator::raft_configuration(&server);
    Ok(reply(&server, &opts, config.index, &config))
}

fn peer_of(server: &crate::server::Server, opts: &QueryOptions) -> Result<Option<u64>, HttpError> {
    let id = opts
        .raw
        .get("id")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let address = opts
        .raw
        .get("address")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    if id.is_none() && address.is_none() {
        return Ok(None);
    }
    Ok(Some(operator::resolve_peer(server, id, address)?))
}

/// `DELETE /v1/operator/raft/peer?id=|address=`.
pub async fn remove_peer(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let id = peer_of(&server, &opts)?
        .ok_or_else(|| HttpError::bad_request("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove"))?;
    operator::remove_peer(&server, id).await?;
    Ok(StatusCode::OK.into_response())
}

/// `PUT|POST /v1/operator/raft/transfer-leadership?id=|address=`.
pub async fn transfer_leadership(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let target = peer_of(&server, &opts)?;
    let leader = operator::transfer_leadership(&server, target).await?;
    let body = json!({ "Leader": leader.to_string() });
    Ok(reply(&server, &opts, server.state.index(), &body))
}

/// `GET /v1/operator/snapshot`: the whole state as a file.
pub async fn snapshot_save(State(server): State<AppState>) -> Result<Response, HttpError> {
    let (index, file) = operator::save_snapshot(&server).await?;
    let mut response = (StatusCode::OK, file).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-nomad-index", HeaderValue::from(index));
    Ok(response)
}

/// `PUT|POST /v1/operator/snapshot`: replace the state with a snapshot file.
pub async fn snapshot_restore(
    State(server): State<AppState>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let index = operator::restore_snapshot(&server, &body).await?;
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert("x-nomad-index", HeaderValue::from(index));
    Ok(response)
}

/// `GET /v1/operator/debug/digest`: this server's own state (never forwarded): its index and
/// a digest of its tables, for comparing servers.
pub async fn digest(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = server.state.snapshot();
    let digest = tokio::task::spawn_blocking({
        let view = view.clone();
        move || state_digest(&view)
    })
    .await
    .map_err(|e| HttpError::internal(e.to_string()))?;
    let body = json!({ "Index": view.index, "Digest": digest });
    Ok(reply(&server, &opts, view.index, &body))
}
