//! The HTTP middleware that authenticates, authorizes, filters lists and audits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Query, RawPathParams, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nomadish_acl::Acl;
use nomadish_acl::caps::VAR_LIST;
use nomadish_proto::model::{DEFAULT_NAMESPACE, now_ns};
use serde_json::Value;

use super::rules::{Rule, is_write, rule};
use super::{Identity, TOKEN_HEADER, resolve};
use crate::http::{AppState, ListScope, ListScoped, MAX_BODY_BYTES};
use crate::server::Server;
use crate::state::StateView;

/// What the middleware decided before the handler ran.
enum Decision {
    Allow,
    /// Allowed; keep only the list entries this predicate accepts.
    Filter(ListFilter),
    Deny(StatusCode, String),
}

/// How a list answer is narrowed to what the token may see.
#[derive(Clone, Copy)]
enum ListFilter {
    /// Entries' `Namespace` must allow this capability.
    Namespace(&'static str),
    /// Variables: `Namespace` + `Path` must allow `list`.
    Variables,
    /// Namespaces: `Name` must be usable at all.
    NamespaceNames,
}

/// The request facts an audit line needs.
struct RequestFacts {
    method: String,
    path: String,
    namespace: String,
    remote: String,
}

/// Authenticates and authorizes one request (installed with `route_layer`, so the route is
/// known), then filters and audits the answer.
pub async fn authorize(
    State(server): State<AppState>,
    params: RawPathParams,
    Query(query): Query<HashMap<String, String>>,
    mut req: Request,
    next: Next,
) -> Response {
    let pattern = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let facts = RequestFacts {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        namespace: namespace_param(&query),
        remote: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.to_string())
            .unwrap_or_default(),
    };
    if let Some(response) = other_region(&server, &query) {
        return response;
    }
    let secret = presented_secret(req.headers());
    let view = server.state.snapshot();
    let identity = match resolve(&server.config.acl, &view, secret.as_deref(), now_ns()) {
        Ok(identity) => Arc::new(identity),
        Err(e) => {
            let accessor = secret
                .as_deref()
                .and_then(|s| super::lookup(&view, s))
                .map(|t| t.accessor_id.clone())
                .unwrap_or_default();
            return deny(&server, &facts, &accessor, StatusCode::FORBIDDEN, e);
        }
    };
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let decision = if identity.is_management() {
        Decision::Allow
    } else {
        match rule(&facts.method, &pattern) {
            None => Decision::Deny(StatusCode::FORBIDDEN, "Permission denied".into()),
            Some(Rule::JobBody(cap)) => {
                let (parts, body) = req.into_parts();
                let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
                    Ok(b) => b,
                    Err(e) => {
                        let msg = format!("Failed to read request body: {e}");
                        return deny(
                            &server,
                            &facts,
                            &identity.accessor,
                            StatusCode::BAD_REQUEST,
                            msg,
                        );
                    }
                };
                let ns = body_namespace(&bytes).unwrap_or_else(|| facts.namespace.clone());
                req = Request::from_parts(parts, Body::from(bytes));
                allow_if(identity.acl.allow_namespace_op(&ns, cap))
            }
            Some(r) => decide(&server, &view, &identity, r, &facts, &params).await,
        }
    };
    let filter = match decision {
        Decision::Deny(status, msg) => {
            return deny(&server, &facts, &identity.accessor, status, msg);
        }
        Decision::Allow => None,
        Decision::Filter(f) => Some(f),
    };
    req.extensions_mut().insert(identity.clone());
    if let Some(filter) = filter {
        let scoped = identity.clone();
        req.extensions_mut().insert(ListScope::new(move |item| {
            allows(&scoped.acl, filter, item)
        }));
    }
    let mut response = next.run(req).await;
    // Lists answered through the shared list helper were scoped before paging; others
    // (e.g. a node's allocations) are narrowed here.
    if let Some(filter) = filter
        && response.extensions().get::<ListScoped>().is_none()
    {
        response = filter_list(response, &identity.acl, filter).await;
    }
    if is_write(&facts.method) {
        let outcome = if response.status().is_success() {
            "allowed"
        } else {
            "error"
        };
        server.auth.audit(&facts_record(
            &facts,
            &identity.accessor,
            outcome,
            response.status(),
        ));
    }
    if identity.token.is_some() {
        response = super::streams::end_with_token(&server, &identity, response);
    }
    response
}

fn allow_if(allowed: bool) -> Decision {
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny(StatusCode::FORBIDDEN, "Permission denied".into())
    }
}

/// Applies a rule that needs no request body.
async fn decide(
    server: &Server,
    view: &StateView,
    identity: &Identity,
    rule: Rule,
    facts: &RequestFacts,
    params: &[(String, String)],
) -> Decision {
    let acl = &identity.acl;
    let ns = facts.namespace.as_str();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    match rule {
        Rule::Public | Rule::Token => Decision::Allow,
        Rule::Management => allow_if(false),
        Rule::Namespace(cap) | Rule::JobBody(cap) => allow_if(acl.allow_namespace_op(ns, cap)),
        Rule::List(cap) if ns == "*" => Decision::Filter(ListFilter::Namespace(cap)),
        Rule::List(cap) => allow_if(acl.allow_namespace_op(ns, cap)),
        Rule::Alloc(cap) | Rule::Eval(cap) | Rule::Deployment(cap) => {
            let id = params.first().map(|(_, v)| v.as_str()).unwrap_or_default();
            match object_namespace(server, view, rule, id).await {
                Some(obj_ns) => allow_if(acl.allow_namespace_op(&obj_ns, cap)),
                // Unknown objects are left to the handler's 404.
                None => Decision::Allow,
            }
        }
        Rule::Variable(op) => {
            let path = param("path");
            allow_if(acl.allow_variable_op(ns, path, op))
        }
        Rule::VariableList => Decision::Filter(ListFilter::Variables),
        Rule::NamespaceRead => allow_if(acl.allow_namespace(param("name"))),
        Rule::NamespaceList => Decision::Filter(ListFilter::NamespaceNames),
        Rule::NodeRead => allow_if(acl.allow_node_read()),
        Rule::NodeWrite => allow_if(acl.allow_node_write()),
        Rule::NodeAllocs if acl.allow_node_read() => {
            Decision::Filter(ListFilter::Namespace(nomadish_acl::caps::READ_JOB))
        }
        Rule::NodeAllocs => allow_if(false),
        Rule::AgentRead => allow_if(acl.allow_agent_read()),
        Rule::OperatorRead => allow_if(acl.allow_operator_read()),
        Rule::OperatorWrite => allow_if(acl.allow_operator_write()),
        Rule::PluginList => allow_if(acl.allow_plugin_list()),
    }
}

/// The namespace of the allocation, evaluation or deployment `id`, looked up in the local
/// state and, when this server has not seen it yet, in the leader's.
async fn object_namespace(
    server: &Server,
    view: &StateView,
    rule: Rule,
    id: &str,
) -> Option<String> {
    let find = |v: &StateView| match rule {
        Rule::Alloc(_) => v.allocs.get(id).map(|a| a.namespace.clone()),
        Rule::Eval(_) => v.evals.get(id).map(|e| e.namespace.clone()),
        Rule::Deployment(_) => v.deployments.get(id).map(|d| d.namespace.clone()),
        _ => None,
    };
    if let Some(ns) = find(view) {
        return Some(ns);
    }
    let fresh = server.consistent_view().await.ok()?;
    find(&fresh)
}

/// Keeps only the entries of a JSON list answer the token may see.
async fn filter_list(response: Response, acl: &Acl, filter: ListFilter) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let kept: Vec<Value> = items
        .into_iter()
        .filter(|item| allows(acl, filter, item))
        .collect();
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = serde_json::to_vec(&kept).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

/// Whether the token may see one entry of a list answer.
fn allows(acl: &Acl, filter: ListFilter, item: &Value) -> bool {
    let field = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or_default();
    match filter {
        ListFilter::Namespace(cap) => acl.allow_namespace_op(field("Namespace"), cap),
        ListFilter::Variables => acl.allow_variable_op(field("Namespace"), field("Path"), VAR_LIST),
        ListFilter::NamespaceNames => acl.allow_namespace(field("Name")),
    }
}

/// A refused request: audited, answered with the status and message.
fn deny(
    server: &Server,
    facts: &RequestFacts,
    accessor: &str,
    status: StatusCode,
    message: impl ToString,
) -> Response {
    server
        .auth
        .audit(&facts_record(facts, accessor, "denied", status));
    (status, message.to_string()).into_response()
}

fn facts_record(
    facts: &RequestFacts,
    accessor: &str,
    outcome: &str,
    status: StatusCode,
) -> nomadish_acl::audit::AuditRecord {
    nomadish_acl::audit::AuditRecord {
        time: nomadish_proto::model::rfc3339(now_ns()),
        accessor: accessor.to_string(),
        remote: facts.remote.clone(),
        method: facts.method.clone(),
        path: facts.path.clone(),
        namespace: facts.namespace.clone(),
        outcome: outcome.to_string(),
        status: status.as_u16(),
    }
}

/// The secret from `X-Nomad-Token` or `Authorization: Bearer`.
pub fn presented_secret(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
}

/// Nomad's answer to a `?region=` other than this cluster's: it has no other region to
/// forward to (Nomad's `No path to region`, a 500).
fn other_region(server: &Server, query: &HashMap<String, String>) -> Option<Response> {
    let region = query.get("region").filter(|r| !r.is_empty())?;
    (*region != server.config.region).then(|| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            NO_REGION_PATH.to_string(),
        )
            .into_response()
    })
}

/// Nomad's error text for a request to a region it cannot reach.
pub const NO_REGION_PATH: &str = "No path to region";

/// The request's namespace: `?namespace=`, default `default`.
fn namespace_param(query: &HashMap<String, String>) -> String {
    query
        .get("namespace")
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// `Job.Namespace` of a register/plan/validate body, when it names one.
fn body_namespace(body: &Bytes) -> Option<String> {
    // A body of a shape the handler will refuse is not expanded here either.
    crate::http::json_shape::check(body).ok()?;
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("Job")?
        .get("Namespace")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
