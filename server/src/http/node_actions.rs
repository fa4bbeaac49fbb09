//! Node endpoints beyond eligibility and drain: `PUT|POST /v1/node/:id/evaluate` (evaluations
//! of the node's jobs), `PUT|POST /v1/node/:id/purge` (remove the node) and the node pools,
//! `GET /v1/node/pools` and `GET /v1/node/pool/:name`.
//!
//! nomadish has no node pool objects: the pools are Nomad's built-in `all` and `default` plus
//! every pool name a node or a job declares, each with no metadata or scheduler settings.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{NodeUpdateResponse, now_ns, trigger};
use serde::Serialize;

use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::evals::{node_job_evals, node_ready_evals};
use crate::fsm::Command;
use crate::state::StateView;

type Params = Query<HashMap<String, String>>;

/// The built-in pool every node belongs to.
pub const POOL_ALL: &str = "all";
/// The pool of nodes (and jobs) that name none.
pub const POOL_DEFAULT: &str = "default";

/// A node pool in Nomad's shape.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodePool {
    name: String,
    description: String,
    meta: Option<BTreeMap<String, String>>,
    scheduler_configuration: Option<serde_json::Value>,
    create_index: u64,
    modify_index: u64,
}

impl NodePool {
    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn node_update_reply(eval_ids: Vec<String>, index: u64) -> NodeUpdateResponse {
    NodeUpdateResponse {
        eval_create_index: if eval_ids.is_empty() { 0 } else { index },
        eval_ids,
        node_modify_index: index,
        index,
        last_contact: 0,
        known_leader: true,
    }
}

/// `PUT|POST /v1/node/:id/evaluate`: an evaluation for every job with an allocation on the
/// node and every system job.
pub async fn evaluate(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = server.consistent_view().await?;
    if !view.nodes.contains_key(&id) {
        return Err(HttpError::not_found(format!("node not found: {id}")));
    }
    let evals = node_ready_evals(&view, &id, true, now_ns());
    let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
    let resp = server.write(Command::UpsertEvals { evals }).await?;
    let body = node_update_reply(eval_ids, resp.index);
    Ok(reply(&server, &opts, resp.index, &body))
}

/// `PUT|POST /v1/node/:id/purge`: removes the node; its jobs are evaluated, which replaces
/// its allocations as lost.
pub async fn purge(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = server.consistent_view().await?;
    if !view.nodes.contains_key(&id) {
        return Err(HttpError::not_found(format!("node not found: {id}")));
    }
    let evals = node_job_evals(&view, &id, trigger::NODE_UPDATE, now_ns());
    let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
    let resp = server
        .write(Command::DeregisterNode { node_id: id, evals })
        .await?;
    let body = node_update_reply(eval_ids, resp.index);
    Ok(reply(&server, &opts, resp.index, &body))
}

/// Every pool: the built-ins and the names nodes and jobs declare, by name.
pub fn node_pools(view: &StateView) -> Vec<NodePool> {
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    names.insert(POOL_ALL.into(), "Node pool with all nodes in the cluster.");
    names.insert(POOL_DEFAULT.into(), "Default node pool.");
    let declared = view
        .nodes
        .values()
        .map(|n| n.node_pool.clone())
        .chain(view.jobs.values().map(|j| j.node_pool.clone()));
    for name in declared.filter(|n| !n.is_empty()) {
        names.entry(name).or_insert("");
    }
    names
        .into_iter()
        .map(|(name, description)| NodePool {
            name,
            description: description.to_string(),
            meta: None,
            scheduler_configuration: None,
            create_index: 1,
            modify_index: 1,
        })
        .collect()
}

/// `GET /v1/node/pools?prefix=`.
pub async fn pools(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.nodes.max(v.tables.jobs)).await?;
    let list: Vec<NodePool> = node_pools(&view)
        .into_iter()
        .filter(|p| p.name.starts_with(&opts.prefix))
        .collect();
    let index = view.tables.nodes.max(view.tables.jobs);
    Ok(reply(&server, &opts, index, &list))
}

/// `GET /v1/node/pool/:name`.
pub async fn pool(
    State(server): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| v.tables.nodes.max(v.tables.jobs)).await?;
    let pool = node_pools(&view)
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| HttpError::not_found("node pool not found"))?;
    let index = view.tables.nodes.max(view.tables.jobs);
    Ok(reply(&server, &opts, index, &pool))
}
