//! Nomad Variables: `/v1/vars` and `/v1/var/:path`.
//!
//! ```text
//!   GET    /v1/vars?prefix=&namespace=     -> [VariableMetadata]        (blocking query)
//!   GET    /v1/var/:path                   -> Variable | 404            (HEAD: headers only)
//!   PUT    /v1/var/:path[?cas=N]  Variable -> Variable | 409 + current variable
//!   DELETE /v1/var/:path[?cas=N]           -> 200 | 409 + current variable
//! ```
//!
//! Items are sealed under the cluster root key here, before the write is proposed; the first
//! write of the cluster creates that key through raft (see `state::variables`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nomadish_proto::model::{Variable, now_ns, validate_variable_path};

use super::jobs::decode_body;
use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::fsm::variables::VariableOp;
use crate::fsm::{ApplyError, Command};
use crate::server::{Server, WriteError};
use crate::state::{RootKey, StateView, seal_variable};

type Params = Query<HashMap<String, String>>;

/// How long a PUT waits for this server to apply its own committed write before answering.
const READ_BACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `GET /v1/vars`: metadata of the variables under `?prefix` in `?namespace` (`*`: all).
pub async fn list(State(server): State<AppState>, list: ListQuery) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.variables).await?;
    let metas = view
        .variables_with_prefix(&opts.namespace, &opts.prefix)
        .into_iter()
        .map(|v| &v.meta);
    reply_list(
        &server,
        &list,
        view.tables.variables,
        metas,
        Paging::VARIABLES,
    )
}

/// `GET|HEAD /v1/var/:path`.
pub async fn get(
    State(server): State<AppState>,
    Path(path): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.variables).await?;
    match decrypt(&view, &opts.namespace, &path)? {
        Some(var) => Ok(reply(&server, &opts, view.tables.variables, &var)),
        None => Err(HttpError::not_found("variable not found")),
    }
}

/// `PUT|POST /v1/var/:path[?cas=N]`.
pub async fn put(
    State(server): State<AppState>,
    Path(path): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let mut var: Variable = decode_body(&body)?;
    if !var.path.is_empty() && var.path != path {
        return Err(HttpError::bad_request(format!(
            "variable path {:?} does not match the URL path {path:?}",
            var.path
        )));
    }
    if opts.namespace_given || var.namespace.is_empty() {
        var.namespace = opts.namespace.clone();
    }
    var.path = path;
    var.validate().map_err(HttpError::bad_request)?;
    let cas = opts.cas()?;
    let now = now_ns();
    var.create_time = now;
    var.modify_time = now;
    let (ns, path) = (var.namespace.clone(), var.path.clone());
    let mut written = write_sealed(&server, &var, cas, false).await;
    if let Err(WriteError::Apply(ApplyError::Invalid { .. })) = &written {
        // Sealed with a key this server held and the cluster no longer does (a restored
        // snapshot brought another): once more with the key read from the leader.
        written = write_sealed(&server, &var, cas, true).await;
    }
    match written {
        Ok(resp) => {
            let stored = match resp.variable_created {
                // The leader said what the write stored: answer from it, without waiting for
                // this server (a follower) to apply the entry too.
                Some((create_index, create_time)) => Variable {
                    namespace: ns,
                    path,
                    create_index,
                    create_time,
                    modify_index: resp.index,
                    ..var
                },
                // A leader from before `variable_created`: read the variable back once this
                // server's own state has the entry.
                None => {
                    server
                        .state
                        .wait_for_index(resp.index, READ_BACK_TIMEOUT)
                        .await;
                    let view = server.state.snapshot();
                    decrypt(&view, &ns, &path)?
                        .ok_or_else(|| HttpError::internal("variable vanished after its write"))?
                }
            };
            Ok(reply(&server, &opts, resp.index, &stored))
        }
        Err(WriteError::Apply(ApplyError::CasMismatch { .. })) => {
            conflict(&server, &opts, &ns, &path).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Seals `var` with the root key and writes it.
async fn write_sealed(
    server: &Server,
    var: &Variable,
    cas: Option<u64>,
    fresh_key: bool,
) -> Result<crate::fsm::CommandResponse, WriteError> {
    let key = root_key(server, fresh_key).await?;
    let sealed = seal_variable(&key, var).map_err(WriteError::Raft)?;
    let op = VariableOp::Upsert { var: sealed, cas };
    server.write(Command::ApplyVariable { op }).await
}

/// `DELETE /v1/var/:path[?cas=N]`.
pub async fn delete(
    State(server): State<AppState>,
    Path(path): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    validate_variable_path(&path).map_err(HttpError::bad_request)?;
    let cas = opts.cas()?;
    let op = VariableOp::Delete {
        namespace: opts.namespace.clone(),
        path: path.clone(),
        cas,
    };
    match server.write(Command::ApplyVariable { op }).await {
        Ok(resp) => Ok(reply(&server, &opts, resp.index, &serde_json::Value::Null)),
        Err(WriteError::Apply(ApplyError::CasMismatch { .. })) => {
            conflict(&server, &opts, &opts.namespace, &path).await
        }
        Err(e) => Err(e.into()),
    }
}

fn decrypt(view: &StateView, namespace: &str, path: &str) -> Result<Option<Variable>, HttpError> {
    view.decrypted_variable(namespace, path)
        .map_err(HttpError::internal)
}

/// 409 with the variable as it is now (an empty one at that path when it does not exist), as
/// Nomad answers a failed check-and-set.
async fn conflict(
    server: &Server,
    opts: &QueryOptions,
    namespace: &str,
    path: &str,
) -> Result<Response, HttpError> {
    let view = server.consistent_view().await?;
    let current = decrypt(&view, namespace, path)?.unwrap_or_else(|| Variable {
        namespace: namespace.to_string(),
        path: path.to_string(),
        ..Variable::default()
    });
    let mut response = reply(server, opts, view.tables.variables, &current);
    *response.status_mut() = StatusCode::CONFLICT;
    Ok(response.into_response())
}

/// The cluster root key, created through raft by the first caller that finds none. This
/// server's own copy serves once it has one (a write sealed with a key the leader no longer
/// holds is refused when applied, and `put` then asks again here with `fresh`); otherwise,
/// and with `fresh`, the key is read linearizably.
async fn root_key(server: &Server, fresh: bool) -> Result<RootKey, WriteError> {
    if !fresh && let Some(key) = server.state.snapshot().root_key.as_deref() {
        return Ok(key.clone());
    }
    let view = server.consistent_view().await?;
    if let Some(key) = view.root_key.as_deref() {
        return Ok(key.clone());
    }
    let op = VariableOp::InitRootKey {
        key: RootKey::generate(now_ns()),
    };
    server.write(Command::ApplyVariable { op }).await?;
    let view = server.consistent_view().await?;
    view.root_key
        .as_deref()
        .cloned()
        .ok_or_else(|| WriteError::Raft("root key missing after its creation".to_string()))
}
