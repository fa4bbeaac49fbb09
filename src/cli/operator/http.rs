//! Requests the JSON helpers of [`ApiClient`] do not cover: a `PUT` whose body is a file
//! (snapshot restore) and `PUT`/`DELETE` calls whose answer has no JSON body (raft peer
//! changes), sent with the same token, region, timeouts and error shapes.
//!
//! `ApiClient` has no raw-body request yet, so this builds its own `reqwest` client from the
//! client's address and settings. Once `ApiClient` offers one (and its TLS settings), this
//! module should call it instead.

use reqwest::Method;

use crate::cli::api::{ApiClient, ApiError, CONNECT_TIMEOUT, Query, TOKEN_HEADER};

/// Sends `method path?query` with an optional raw body; a non-2xx answer becomes
/// [`ApiError::Status`] with the body as Nomad's Go client shows it.
pub async fn send(
    api: &ApiClient,
    method: Method,
    path: &str,
    query: Query<'_>,
    body: Option<reqwest::Body>,
) -> Result<reqwest::Response, ApiError> {
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(ApiError::Client)?;
    let url = format!("{}{path}", api.base_url());
    let config = api.config();
    let mut req = http.request(method.clone(), &url).query(query);
    if let Some(region) = config.region.as_deref().filter(|r| !r.is_empty()) {
        req = req.query(&[("region", region)]);
    }
    if let Some(token) = config.token.as_deref().filter(|t| !t.is_empty()) {
        req = req.header(TOKEN_HEADER, token);
    }
    if let Some(body) = body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
    }
    let resp = req.send().await.map_err(|e| ApiError::Transport {
        method: method.to_string(),
        url,
        detail: causes(&e),
    })?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let code = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Err(ApiError::Status {
        code,
        body: body.trim().to_string(),
    })
}

/// The error's causes joined with `: `, without reqwest's and hyper's generic wrappers.
fn causes(err: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.starts_with("client error") {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}
