//! Answers that outlive their token are cut off: a streamed body (log follow, fs stream,
//! event stream) ends when the token expires or is deleted, within about a second.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use futures::StreamExt;
use nomadish_proto::model::now_ns;

use super::Identity;
use crate::server::Server;

/// How often a stream re-checks that its token still exists.
const RECHECK: Duration = Duration::from_millis(500);

/// Wraps the body so it ends when the identity's token stops being valid.
pub(super) fn end_with_token(
    server: &Arc<Server>,
    identity: &Identity,
    response: Response,
) -> Response {
    let Some(token) = identity.token.clone() else {
        return response;
    };
    let server = server.clone();
    let gone = async move {
        loop {
            let now = now_ns();
            let until_expiry = token
                .expiration_time
                .map(|t| Duration::from_nanos((t - now).max(0) as u64));
            if until_expiry.is_some_and(|d| d.is_zero()) {
                return;
            }
            let view = server.state.snapshot();
            if !view.acl.tokens.contains_key(&token.accessor_id) {
                return;
            }
            let wait = until_expiry.map_or(RECHECK, |d| d.min(RECHECK));
            tokio::time::sleep(wait).await;
        }
    };
    let (parts, body) = response.into_parts();
    let stream = body.into_data_stream().take_until(Box::pin(gone));
    Response::from_parts(parts, Body::from_stream(stream))
}
