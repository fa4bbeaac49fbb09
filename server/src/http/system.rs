//! `/v1/system/*`: forced garbage collection and summary reconciliation.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;

use super::query::reply;
use super::{AppState, HttpError, QueryOptions};

/// `PUT /v1/system/gc`: collect everything eligible now (zero thresholds), as Nomad's forced
/// GC; answers once the deletions are committed.
pub async fn gc(
    State(server): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    crate::gc::force(&server).await?;
    Ok(reply(
        &server,
        &opts,
        server.state.index(),
        &serde_json::Value::Null,
    ))
}

/// `PUT /v1/system/reconcile/summaries`: job summaries are computed on read here, so there
/// is nothing to reconcile; answers 200 as Nomad does.
pub async fn reconcile_summaries(
    State(server): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    Ok(reply(
        &server,
        &opts,
        server.state.index(),
        &serde_json::Value::Null,
    ))
}
