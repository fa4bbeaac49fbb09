//! `GET /v1/event/stream`: the server's recent events, then new ones as they happen, as
//! newline-delimited JSON (`{"Index":N,"Events":[...]}` per raft index, `{}` heartbeats).
//!
//! Query: `topic=Topic:Key` (repeatable; none: every topic), `namespace` (default `default`,
//! `*`: every namespace the token may read), `index` (resume from this raft index while it
//! is still buffered). The stream ends when the client goes, or when its token expires or is
//! deleted (the authorization layer cuts it), or when a policy change takes away what the
//! subscription needs (as Nomad closes it; the client subscribes again).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use nomadish_proto::model::{DEFAULT_NAMESPACE, now_ns};

use super::{AppState, HttpError};
use crate::auth::{Identity, resolve};
use crate::events::{Subscription, parse_topics};

/// Silence after which a heartbeat line `{}` is sent (as Nomad).
pub const EVENT_HEARTBEAT: Duration = Duration::from_secs(30);
/// How often a stream looks for ACL changes that revoke its subscription.
const ACL_RECHECK: Duration = Duration::from_secs(1);

/// Streams the events the request subscribes to.
pub async fn stream(
    State(server): State<AppState>,
    Extension(identity): Extension<Arc<Identity>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let topics = parse_topics(
        params
            .iter()
            .filter(|(k, _)| k == "topic")
            .map(|(_, v)| v.as_str()),
    )
    .map_err(|e| HttpError::bad_request(format!("Invalid topic query: {e}")))?;
    let index = match param("index") {
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| HttpError::bad_request(format!("Unable to parse index: {v:?}")))?,
        None => 0,
    };
    let namespace = param("namespace").unwrap_or(DEFAULT_NAMESPACE);
    let sub = Subscription::new(topics, namespace, identity.acl.clone());
    if !sub.authorized() {
        return Err(HttpError::forbidden("Permission denied"));
    }
    let revoked = rights_revoked(server.clone(), identity, sub.clone());
    let lines = server
        .state
        .events()
        .stream(sub, index, EVENT_HEARTBEAT)
        .take_until(Box::pin(revoked))
        .map(|line| Ok::<_, Infallible>(Bytes::from(line)));
    let mut response = (StatusCode::OK, Body::from_stream(lines)).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Resolves when the token, re-resolved after an ACL change, may no longer make `sub`.
async fn rights_revoked(server: AppState, identity: Arc<Identity>, sub: Subscription) {
    let mut seen = server.state.snapshot().tables.acl;
    loop {
        tokio::time::sleep(ACL_RECHECK).await;
        let view = server.state.snapshot();
        if view.tables.acl == seen {
            continue;
        }
        seen = view.tables.acl;
        match resolve(&server.config.acl, &view, identity.secret(), now_ns()) {
            Ok(now) if sub.with_acl(now.acl.clone()).authorized() => {}
            _ => return,
        }
    }
}
