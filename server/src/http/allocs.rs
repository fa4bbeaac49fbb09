//! Allocation, evaluation and node endpoints.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{AllocListStub, Allocation};

use super::list::{ListQuery, Paging, reply_list};
use super::query::{read_view, reply, reply_stubs};
use super::{AppState, HttpError, QueryOptions};

type Params = Query<HashMap<String, String>>;

/// `GET /v1/allocations?prefix=`.
pub async fn list(State(server): State<AppState>, list: ListQuery) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.allocs).await?;
    let resources = opts.flag("resources");
    let stubs = view
        .allocs_by_prefix(&opts.namespace, &opts.prefix)
        .into_iter()
        .map(|a| AllocListStub {
            allocated_resources: resources.then(|| a.allocated_resources.clone()),
            ..a.stub()
        });
    reply_list(
        &server,
        &list,
        view.tables.allocs,
        stubs,
        Paging::by_prefix_or_creation(opts),
    )
}

/// `GET /v1/allocation/:id`.
pub async fn get(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.allocs).await?;
    let alloc = view
        .allocs
        .get(&id)
        .cloned()
        .ok_or_else(|| HttpError::not_found("alloc not found"))?;
    Ok(reply(&server, &opts, view.tables.allocs, &*alloc))
}

/// `GET /v1/evaluations?prefix=`.
pub async fn list_evals(
    State(server): State<AppState>,
    list: ListQuery,
) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.evals).await?;
    let evals = view.evals_by_prefix(&opts.namespace, &opts.prefix);
    let paging = Paging::by_prefix_or_creation(opts);
    reply_list(&server, &list, view.tables.evals, evals, paging)
}

/// `GET /v1/evaluation/:id`.
pub async fn get_eval(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.evals).await?;
    let eval = view
        .evals
        .get(&id)
        .cloned()
        .ok_or_else(|| HttpError::not_found("eval not found"))?;
    Ok(reply(&server, &opts, view.tables.evals, &*eval))
}

/// `GET /v1/evaluation/:id/allocations`.
pub async fn eval_allocs(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.allocs.max(v.tables.evals)).await?;
    let eval = view
        .evals
        .get(&id)
        .cloned()
        .ok_or_else(|| HttpError::not_found("eval not found"))?;
    let index = view.tables.allocs.max(view.tables.evals);
    Ok(reply_stubs(&server, &opts, index, &view.eval_allocs(&eval)))
}

/// `GET /v1/nodes?prefix=`.
pub async fn list_nodes(
    State(server): State<AppState>,
    list: ListQuery,
) -> Result<Response, HttpError> {
    let opts = &list.opts;
    let view = read_view(&server, opts, |v| v.tables.nodes).await?;
    let stubs = view
        .nodes_by_prefix(&opts.prefix)
        .into_iter()
        .map(|n| n.stub());
    reply_list(&server, &list, view.tables.nodes, stubs, Paging::ID)
}

/// `GET /v1/node/:id` (the node's secret is never returned).
pub async fn get_node(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.nodes).await?;
    let node = view
        .nodes
        .get(&id)
        .cloned()
        .ok_or_else(|| HttpError::not_found("node not found"))?;
    Ok(reply(&server, &opts, view.tables.nodes, &node.sanitized()))
}

/// `GET /v1/node/:id/allocations`.
pub async fn node_allocs(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.allocs).await?;
    if !view.nodes.contains_key(&id) {
        return Err(HttpError::not_found("node not found"));
    }
    let allocs: Vec<Allocation> = view
        .node_allocs(&id)
        .iter()
        .map(|a| a.as_ref().clone())
        .collect();
    Ok(reply(&server, &opts, view.tables.allocs, &allocs))
}

/// `GET /v1/evaluations/count`: `{"Count": N}` for the request's namespace (`*`: every
/// namespace the token may read jobs in).
pub async fn count_evals(
    State(server): State<AppState>,
    identity: Option<axum::Extension<std::sync::Arc<crate::auth::Identity>>>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.evals).await?;
    let may_read = |ns: &str| {
        identity.as_ref().is_none_or(|axum::Extension(id)| {
            id.acl.allow_namespace_op(ns, nomadish_acl::caps::READ_JOB)
        })
    };
    let count = view
        .evals_by_prefix(&opts.namespace, "")
        .iter()
        .filter(|e| may_read(&e.namespace))
        .count();
    let body = serde_json::json!({ "Count": count });
    Ok(reply(&server, &opts, view.tables.evals, &body))
}
