//! Endpoints of Nomad features nomadish does not have, answered as Nomad OSS answers them
//! with the feature off, never with a 404 or a 500:
//!
//! - Nomad Enterprise endpoints (quotas as objects, Sentinel, recommendations, license):
//!   501 `Nomad Enterprise only endpoint`, as Nomad OSS's `entOnly` handler.
//! - CSI and dynamic host volumes, CSI plugins: empty lists (nomadish has neither; its host
//!   volumes are static client configuration, which Nomad does not list here either).
//! - ACL roles, auth methods and binding rules: empty lists (none can be created).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::query::reply;
use super::{AppState, HttpError, QueryOptions};

type Params = Query<HashMap<String, String>>;

/// Nomad OSS's message for Enterprise endpoints.
pub const ENTERPRISE_ONLY: &str = "Nomad Enterprise only endpoint";

/// Any method of an Enterprise endpoint: 501.
pub async fn enterprise_only() -> Response {
    (StatusCode::NOT_IMPLEMENTED, ENTERPRISE_ONLY).into_response()
}

/// An empty JSON list with the query headers.
async fn empty_list(
    server: AppState,
    params: HashMap<String, String>,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let empty: [(); 0] = [];
    Ok(reply(&server, &opts, server.state.index(), &empty))
}

/// The `type` query parameter, which Nomad requires on volume and plugin lists.
fn require_type(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), HttpError> {
    match params.get("type").map(String::as_str) {
        None | Some("") => Err(HttpError::bad_request("type is required")),
        Some(t) if allowed.contains(&t) => Ok(()),
        Some(t) => Err(HttpError::bad_request(format!("unsupported type {t:?}"))),
    }
}

/// `GET /v1/volumes?type=csi|host`: no CSI volumes and no dynamic host volumes.
pub async fn volumes(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_type(&params, &["csi", "host"])?;
    empty_list(server, params).await
}

/// `GET /v1/plugins?type=csi`: no CSI plugins.
pub async fn plugins(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    require_type(&params, &["csi"])?;
    empty_list(server, params).await
}

/// `GET /v1/acl/roles`, `/v1/acl/auth-methods`, `/v1/acl/binding-rules`: none exist.
pub async fn empty(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    empty_list(server, params).await
}
