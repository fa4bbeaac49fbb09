//! `GET|PUT /v1/operator/scheduler/configuration`: the replicated scheduler configuration.
//!
//! ```text
//!   GET  -> {"SchedulerConfig": {SchedulerAlgorithm, PreemptionConfig, ..., CreateIndex,
//!            ModifyIndex}, "Index": N}
//!   PUT  [?cas=ModifyIndex]  body: SchedulerConfiguration  -> {"Updated": bool, "Index": N}
//! ```

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use nomadish_proto::model::SchedulerConfiguration;
use serde_json::json;

use super::jobs::decode_body;
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::fsm::{ApplyError, Command};
use crate::server::WriteError;

type Params = Query<HashMap<String, String>>;

/// `GET /v1/operator/scheduler/configuration`.
pub async fn get_config(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| {
        v.scheduler_config.as_ref().map_or(1, |c| c.modify_index)
    })
    .await?;
    let config = view
        .scheduler_config
        .as_deref()
        .cloned()
        .unwrap_or_default();
    let index = config.modify_index.max(1);
    let body = json!({ "SchedulerConfig": config, "Index": index });
    Ok(reply(&server, &opts, index, &body))
}

/// `PUT|POST /v1/operator/scheduler/configuration[?cas=N]`.
pub async fn put_config(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let config: SchedulerConfiguration = decode_body(&body)?;
    config.validate().map_err(HttpError::bad_request)?;
    let cas_index = opts.cas()?;
    let cmd = Command::SetSchedulerConfig { config, cas_index };
    let (updated, index) = match server.write(cmd).await {
        Ok(resp) => (true, resp.index),
        Err(WriteError::Apply(ApplyError::CasMismatch { .. })) => (false, server.state.index()),
        Err(e) => return Err(e.into()),
    };
    let body = json!({ "Updated": updated, "Index": index });
    Ok(reply(&server, &opts, index, &body))
}
