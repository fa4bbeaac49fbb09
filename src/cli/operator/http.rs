//! Requests the JSON helpers of [`ApiClient`] do not cover: a `PUT` whose body is a file
//! (snapshot restore) and `PUT`/`DELETE` calls whose answer has no JSON body (raft peer
//! changes), sent with the same token, region, timeouts and error shapes.
//!
//! They go through [`ApiClient::send_raw`], so TLS, the token and error messages are the
//! same as for every other request.

use reqwest::Method;

use crate::cli::api::{ApiClient, ApiError, Query};

/// Sends `method path?query` with an optional raw body; a non-2xx answer becomes
/// [`ApiError::Status`] with the body as Nomad's Go client shows it.
pub async fn send(
    api: &ApiClient,
    method: Method,
    path: &str,
    query: Query<'_>,
    body: Option<reqwest::Body>,
) -> Result<reqwest::Response, ApiError> {
    api.send_raw(method, path, query, body).await
}

