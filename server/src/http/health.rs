//! Probe endpoints for supervisors and load balancers, outside Nomad's API:
//!
//! | path      | 200 when                                                              |
//! |-----------|-----------------------------------------------------------------------|
//! | `/live`   | the process serves HTTP at all                                         |
//! | `/health` | a cluster leader is known                                              |
//! | `/ready`  | a leader is known and this server has applied everything it committed |
//!
//! Failing probes answer 503 with the reason. Bodies are `{"Status": "ok"|"unavailable",
//! "Message": ...}`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nomadish_proto::raft_v1::ReadIndexRequest;
use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;
use serde_json::json;

use super::AppState;
use crate::server::Server;

/// How long `/ready` may wait for the leader's commit index.
const READY_TIMEOUT: Duration = Duration::from_secs(2);
/// How many entries the applied index may trail the commit index and still be ready (writes
/// in flight while the probe runs).
const READY_MAX_LAG: u64 = 8;

fn answer(result: Result<String, String>) -> Response {
    match result {
        Ok(message) => (
            StatusCode::OK,
            Json(json!({ "Status": "ok", "Message": message })),
        )
            .into_response(),
        Err(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "Status": "unavailable", "Message": message })),
        )
            .into_response(),
    }
}

/// `GET /live`.
pub async fn live() -> Response {
    answer(Ok("alive".into()))
}

/// `GET /health`.
pub async fn health(State(server): State<AppState>) -> Response {
    answer(match server.leader() {
        Some(_) => Ok("ok".into()),
        None => Err("No cluster leader".into()),
    })
}

/// `GET /ready`.
pub async fn ready(State(server): State<AppState>) -> Response {
    answer(readiness(&server).await)
}

async fn readiness(server: &Server) -> Result<String, String> {
    if server.leader().is_none() {
        return Err("No cluster leader".into());
    }
    let commit = commit_index(server).await?;
    let applied = server
        .raft
        .metrics()
        .borrow()
        .last_applied
        .map_or(0, |l| l.index);
    if applied + READY_MAX_LAG < commit {
        return Err(format!(
            "applied index {applied} is behind the commit index {commit}"
        ));
    }
    Ok(format!("applied index {applied}, commit index {commit}"))
}

/// The leader's commit index: confirmed with a quorum here, or asked of the leader.
async fn commit_index(server: &Server) -> Result<u64, String> {
    if server.is_leader() {
        let applied = server
            .confirm_leadership()
            .await
            .map_err(|e| e.to_string())?;
        return Ok(applied.map_or(0, |l| l.index));
    }
    let (_, channel) = server.leader_channel().await.map_err(|e| e.to_string())?;
    let mut client = ClusterServiceClient::new(channel);
    let call = client.read_index(ReadIndexRequest {});
    match tokio::time::timeout(READY_TIMEOUT, call).await {
        Ok(Ok(reply)) => Ok(reply.into_inner().index),
        Ok(Err(status)) => Err(format!("asking the leader: {}", status.message())),
        Err(_) => Err("asking the leader: timed out".into()),
    }
}
