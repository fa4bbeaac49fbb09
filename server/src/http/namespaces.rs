//! Namespaces: `/v1/namespaces` and `/v1/namespace/:name`.
//!
//! ```text
//!   GET         /v1/namespaces?prefix=      -> [Namespace]   (blocking query; default included)
//!   GET         /v1/namespace/:name         -> Namespace | 404
//!   PUT|POST    /v1/namespace/:name  Namespace  -> null + X-Nomad-Index   (upsert)
//!   PUT|POST    /v1/namespace        Namespace  -> the same, the name from the body
//!   DELETE      /v1/namespace/:name         -> null | 400 (default, jobs or variables left)
//! ```
//!
//! Writes are validated here for a quick 400 and again by the state machine, which is the
//! authority (a job registered between the check and the delete still blocks it).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::Namespace;

use super::jobs::decode_body;
use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::fsm::Command;
use crate::fsm::namespaces::NamespaceOp;
use crate::server::Server;

type Params = Query<HashMap<String, String>>;

/// `GET /v1/namespaces?prefix=`.
pub async fn list(State(server): State<AppState>, list: ListQuery) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.namespaces).await?;
    let namespaces = view.namespaces_with_prefix(&opts.prefix);
    reply_list(
        &server,
        &list,
        view.tables.namespaces,
        namespaces,
        Paging::NAME,
    )
}

/// `GET /v1/namespace/:name`.
pub async fn get(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.namespaces).await?;
    match view.namespace(&name) {
        Some(ns) => Ok(reply(&server, &opts, view.tables.namespaces, &*ns)),
        None => Err(HttpError::not_found("namespace not found")),
    }
}

/// `PUT|POST /v1/namespace/:name`: create or update; the body's `Name`, when given, must
/// match the path.
pub async fn put_named(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let mut ns: Namespace = decode_body(&body)?;
    if ns.name.is_empty() {
        ns.name = name;
    } else if ns.name != name {
        return Err(HttpError::bad_request(format!(
            "namespace name {:?} does not match the URL name {name:?}",
            ns.name
        )));
    }
    upsert(&server, &opts, ns).await
}

/// `PUT|POST /v1/namespace`: create or update the namespace the body names.
pub async fn put(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let ns: Namespace = decode_body(&body)?;
    upsert(&server, &opts, ns).await
}

async fn upsert(
    server: &Server,
    opts: &QueryOptions,
    ns: Namespace,
) -> Result<Response, HttpError> {
    ns.validate().map_err(HttpError::bad_request)?;
    let op = NamespaceOp::Upsert {
        namespace: Box::new(ns),
    };
    let resp = server.write(Command::ApplyNamespace { op }).await?;
    Ok(reply(server, opts, resp.index, &serde_json::Value::Null))
}

/// `DELETE /v1/namespace/:name`.
pub async fn delete(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let op = NamespaceOp::Delete { name };
    let resp = server.write(Command::ApplyNamespace { op }).await?;
    Ok(reply(&server, &opts, resp.index, &serde_json::Value::Null))
}
