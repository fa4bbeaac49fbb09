//! `GET /v1/metrics`: this agent's telemetry as Nomad's JSON, or as Prometheus text with
//! `?format=prometheus`. Like Nomad, it needs no ACL token.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use nomadish_metrics::PROMETHEUS_CONTENT_TYPE;
use nomadish_proto::model::{now_ns, rfc3339};

use super::{AppState, HttpError};
use crate::metrics::collect::scrape;

/// `GET /v1/metrics[?format=prometheus]`.
pub async fn metrics(
    State(server): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let snap = scrape(&server);
    match params.get("format").map(String::as_str) {
        None | Some("") | Some("json") => {
            let body = snap.to_nomad_json(&go_timestamp(&rfc3339(now_ns())));
            Ok(axum::Json(body).into_response())
        }
        Some("prometheus") => Ok((
            [(CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
            snap.to_prometheus(),
        )
            .into_response()),
        Some(other) => Err(HttpError::bad_request(format!(
            "unsupported metrics format: {other:?}"
        ))),
    }
}

/// `2026-01-02T03:04:05.123Z` as Go prints a UTC time: `2026-01-02 03:04:05 +0000 UTC`.
fn go_timestamp(rfc3339: &str) -> String {
    let seconds = rfc3339.split('.').next().unwrap_or(rfc3339);
    format!(
        "{} +0000 UTC",
        seconds.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_nomads() {
        assert_eq!(
            go_timestamp("2024-02-29T12:34:56.500000000Z"),
            "2024-02-29 12:34:56 +0000 UTC"
        );
    }
}
