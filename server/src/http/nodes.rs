//! Node operator endpoints: `POST /v1/node/:id/eligibility` and `POST /v1/node/:id/drain`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use nomadish_proto::model::{
    DrainStrategy, NODE_ELIGIBLE, NODE_INELIGIBLE, NodeEvent, NodeUpdateDrainRequest,
    NodeUpdateEligibilityRequest, NodeUpdateResponse, now_ns,
};

use super::jobs::decode_body;
use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::evals::node_ready_evals;
use crate::fsm::Command;
use crate::fsm::node_ops::{SUBSYSTEM_CLUSTER, SUBSYSTEM_DRAIN};
use crate::server::Server;

type Params = Query<HashMap<String, String>>;

fn event(message: &str, subsystem: &str, now: i64) -> Option<NodeEvent> {
    Some(NodeEvent {
        message: message.to_string(),
        subsystem: subsystem.to_string(),
        timestamp: now,
        ..NodeEvent::default()
    })
}

/// The node's ID, checking the body agrees with the path and the node exists.
fn check_node(server: &Server, path_id: &str, body_id: &str) -> Result<(), HttpError> {
    if !body_id.is_empty() && body_id != path_id {
        return Err(HttpError::bad_request(
            "node ID in body does not match path",
        ));
    }
    if !server.state.snapshot().nodes.contains_key(path_id) {
        return Err(HttpError::not_found(format!("node not found: {path_id}")));
    }
    Ok(())
}

/// Evaluations for a node that becomes eligible: its jobs and every system job.
fn eligible_evals(
    server: &Server,
    node_id: &str,
    now: i64,
) -> Vec<nomadish_proto::model::Evaluation> {
    node_ready_evals(&server.state.snapshot(), node_id, true, now)
}

async fn write_node_update(
    server: &Server,
    opts: &QueryOptions,
    cmd: Command,
) -> Result<Response, HttpError> {
    let eval_ids = cmd.eval_ids();
    let resp = server.write(cmd).await?;
    let body = NodeUpdateResponse {
        eval_create_index: if eval_ids.is_empty() { 0 } else { resp.index },
        eval_ids,
        node_modify_index: resp.index,
        index: resp.index,
        last_contact: 0,
        known_leader: true,
    };
    Ok(reply(server, opts, resp.index, &body))
}

/// `POST|PUT /v1/node/:id/eligibility`.
pub async fn eligibility(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: NodeUpdateEligibilityRequest = decode_body(&body)?;
    check_node(&server, &id, &req.node_id)?;
    let now = now_ns();
    let (message, evals) = match req.eligibility.as_str() {
        NODE_ELIGIBLE => (
            "Node marked as eligible for scheduling",
            eligible_evals(&server, &id, now),
        ),
        NODE_INELIGIBLE => ("Node marked as ineligible for scheduling", Vec::new()),
        other => {
            return Err(HttpError::bad_request(format!(
                "invalid scheduling eligibility {other:?}"
            )));
        }
    };
    let node = server.state.snapshot().nodes.get(&id).cloned();
    if req.eligibility == NODE_ELIGIBLE && node.is_some_and(|n| n.drain_strategy.is_some()) {
        return Err(HttpError::bad_request(
            "can not set node's scheduling eligibility to eligible while it is draining",
        ));
    }
    let cmd = Command::UpdateNodeEligibility {
        node_id: id,
        eligibility: req.eligibility,
        event: event(message, SUBSYSTEM_CLUSTER, now),
        evals,
    };
    write_node_update(&server, &opts, cmd).await
}

/// `POST|PUT /v1/node/:id/drain`: starts (or updates) a drain, or ends it without `DrainSpec`.
pub async fn drain(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req: NodeUpdateDrainRequest = decode_body(&body)?;
    check_node(&server, &id, &req.node_id)?;
    let now = now_ns();
    let cmd = match req.drain_spec {
        Some(spec) => {
            let strategy = DrainStrategy {
                deadline: spec.deadline,
                ignore_system_jobs: spec.ignore_system_jobs,
                force_deadline: match spec.deadline {
                    d if d > 0 => now.saturating_add(d),
                    d if d < 0 => now,
                    _ => 0,
                },
                started_at: now,
            };
            Command::UpdateNodeDrain {
                node_id: id,
                drain_strategy: Some(strategy),
                mark_eligible: false,
                event: event("Node drain strategy set", SUBSYSTEM_DRAIN, now),
                evals: Vec::new(),
            }
        }
        None => Command::UpdateNodeDrain {
            evals: if req.mark_eligible {
                eligible_evals(&server, &id, now)
            } else {
                Vec::new()
            },
            node_id: id,
            drain_strategy: None,
            mark_eligible: req.mark_eligible,
            event: event("Node drain disabled", SUBSYSTEM_DRAIN, now),
        },
    };
    write_node_update(&server, &opts, cmd).await
}
