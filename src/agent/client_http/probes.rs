//! The client-only agent's probes: `/live`, `/health` (= `/v1/agent/health`) and `/ready`,
//! read from the client's [`nomadish_client::StatusReport`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nomadish_proto::model::{AgentHealth, AgentHealthResponse};
use serde_json::json;

use super::ClientAgent;

/// `GET /live`: 200 while the process serves HTTP.
pub async fn live() -> Response {
    Json(json!({ "Status": "ok", "Message": "alive" })).into_response()
}

/// `GET /health`, `GET /v1/agent/health`: Nomad's agent health for a client,
/// `{"client": {"ok", "message"}}`; 500 when no server answers the node's heartbeats.
pub async fn health(State(agent): State<ClientAgent>) -> Response {
    let result = agent.status.report().health();
    let ok = result.is_ok();
    let body = AgentHealthResponse {
        client: Some(AgentHealth {
            ok,
            message: result.unwrap_or_else(|e| e),
        }),
        server: None,
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    (status, Json(body)).into_response()
}

/// `GET /ready`: 200 once the node is registered and its heartbeat is current with a
/// server; 503 with the reason otherwise (`{"Status", "Message"}`, as a server's probes).
pub async fn ready(State(agent): State<ClientAgent>) -> Response {
    match agent.status.report().readiness() {
        Ok(message) => Json(json!({ "Status": "ok", "Message": message })).into_response(),
        Err(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "Status": "unavailable", "Message": message })),
        )
            .into_response(),
    }
}
