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
use crate::state::StoredAclToken;

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
    // An upgraded connection (exec) has no body to cut; its handler watches the token.
    if response.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        return response;
    }
    let gone = token_gone(server.clone(), token);
    let (parts, body) = response.into_parts();
    let stream = body.into_data_stream().take_until(Box::pin(gone));
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Resolves when `token` expires or is deleted (checked at least every half second).
pub async fn token_gone(server: Arc<Server>, token: Arc<StoredAclToken>) {
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
}
