//! `GET /v1/metrics`: this agent's telemetry as Nomad's JSON, or as Prometheus text with
//! `?format=prometheus`. Like Nomad, it needs no ACL token. The body is rendered by
//! [`nomadish_metrics::Snapshot::render`], as on a client-only agent's listener.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use nomadish_metrics::Format;
use nomadish_proto::model::{now_ns, rfc3339};

use super::{AppState, HttpError};
use crate::metrics::collect::scrape;

/// `GET /v1/metrics[?format=prometheus]`.
pub async fn metrics(
    State(server): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let format = Format::from_param(params.get("format").map(String::as_str))
        .map_err(|e| HttpError::bad_request(e.to_string()))?;
    let rendered = scrape(&server).render(format, &rfc3339(now_ns()));
    Ok(([(CONTENT_TYPE, rendered.content_type)], rendered.body).into_response())
}
