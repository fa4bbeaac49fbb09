//! Request IDs and HTTP telemetry: every request gets an ID (the caller's `X-Request-Id` when
//! it sends a sane one, else a new UUID), echoed in the response, carried by a tracing span
//! around the handler so every log line of the request shows it, and kept in a task-local so
//! a follower forwarding the write sends it on to the leader. The request's latency goes to
//! `nomad.http.request{method,route}`, by the matched route pattern (`/v1/job/:id`), not the
//! raw path.
//!
//! ```text
//!   request ─> id (header | uuid) ─> span http{request_id,method,route} ─> handler
//!                                     └─ REQUEST_ID task-local ─> Server::forward ─> gRPC
//!                                                                  metadata x-request-id
//! ```

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header (and gRPC metadata key) carrying the request ID.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request ID taken from a caller; longer ones are replaced.
const MAX_REQUEST_ID_LEN: usize = 128;
/// The sample HTTP request latencies go to.
pub const HTTP_REQUEST: &str = "nomad.http.request";
/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The ID of the HTTP request this task serves, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` as part of the request `id` (a forwarded write served on the leader).
pub async fn scope<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// One ID for several requests served together (a batch of forwarded writes): their IDs
/// joined by commas, as many as fit in an acceptable ID, then `+N` for the rest.
pub fn joined(ids: &[String]) -> Option<String> {
    let marker = format!(",+{}", ids.len()).len();
    let mut out = String::new();
    let mut taken = 0;
    for id in ids {
        // Unless this is the last ID, leave room for the `,+N` marker after it.
        let room = if taken + 1 == ids.len() {
            MAX_REQUEST_ID_LEN
        } else {
            MAX_REQUEST_ID_LEN - marker
        };
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + id.len() > room {
            break;
        }
        if sep == 1 {
            out.push(',');
        }
        out.push_str(id);
        taken += 1;
    }
    if taken < ids.len() {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("+{}", ids.len() - taken));
    }
    (!out.is_empty()).then_some(out)
}

/// A gRPC request carrying the current request's ID (if any) in its metadata.
pub fn with_request_id<T>(message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    if let Some(value) = current().and_then(|id| id.parse().ok()) {
        req.metadata_mut().insert(REQUEST_ID_HEADER, value);
    }
    req
}

/// The request ID a forwarding server sent along, else a fresh one.
pub fn from_metadata<T>(req: &tonic::Request<T>) -> String {
    req.metadata()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Whether a caller's ID is usable: short, visible ASCII.
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The caller's request ID when acceptable, else a fresh one.
pub fn request_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// A route pattern as a label: `/v1/job/{id}` → `/v1/job/:id`, `{*path}` → `*path` (braces
/// in label values trip up simple Prometheus parsers).
pub fn route_label(pattern: &str) -> String {
    pattern
        .replace("{*", "*")
        .replace('{', ":")
        .replace('}', "")
}

/// The middleware: ID, span, latency, response header.
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED.to_string(), |m| route_label(m.as_str()));
    let method = req.method().as_str().to_string();
    let span = tracing::info_span!("http", request_id = %id, method = %method, route = %route);
    let mut resp = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    let status = resp.status().as_u16();
    let labels = [("method", method.as_str()), ("route", route.as_str())];
    nomadish_metrics::measure_since(HTTP_REQUEST, &labels, started);
    span.in_scope(|| {
        tracing::debug!(
            status,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            path = %route,
            "request complete"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_of_requests_carries_as_many_ids_as_fit() {
        let ids = |n: usize| (0..n).map(|i| format!("req-{i:04}")).collect::<Vec<_>>();
        assert_eq!(joined(&[]), None);
        assert_eq!(joined(&ids(1)).as_deref(), Some("req-0000"));
        assert_eq!(joined(&ids(2)).as_deref(), Some("req-0000,req-0001"));
        let many = joined(&ids(64)).expect("an id");
        assert!(many.len() <= MAX_REQUEST_ID_LEN, "{many}");
        assert!(acceptable(&many), "{many}");
        let shown = many.split(',').filter(|p| p.starts_with("req-")).count();
        assert!(shown > 1, "{many}");
        assert!(many.ends_with(&format!(",+{}", 64 - shown)), "{many}");
        let huge = "x".repeat(MAX_REQUEST_ID_LEN);
        assert_eq!(joined(&[huge.clone(), huge]).as_deref(), Some("+2"));
    }

    #[test]
    fn callers_ids_are_kept_when_sane_and_replaced_otherwise() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");
        let long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
        headers.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_str(&long).expect("header"),
        );
        assert_eq!(request_id(&headers).len(), 36);
        assert_eq!(request_id(&axum::http::HeaderMap::new()).len(), 36);
    }

    #[test]
    fn route_labels_use_colon_parameters() {
        assert_eq!(
            route_label("/v1/job/{id}/allocations"),
            "/v1/job/:id/allocations"
        );
        assert_eq!(route_label("/v1/var/{*path}"), "/v1/var/*path");
        assert_eq!(route_label("/v1/jobs"), "/v1/jobs");
    }

    #[tokio::test]
    async fn forwarded_requests_carry_the_id_in_their_metadata() {
        let req = scope("req-7".into(), async { with_request_id(()) }).await;
        assert_eq!(from_metadata(&req), "req-7");
        assert_eq!(from_metadata(&with_request_id(())).len(), 36);
    }

    #[tokio::test]
    async fn the_id_is_visible_inside_its_scope_only() {
        assert_eq!(current(), None);
        let seen = scope("req-1".into(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("req-1"));
    }
}
