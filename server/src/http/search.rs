//! `GET|PUT|POST /v1/search` (prefix search by ID) and `/v1/search/fuzzy` (substring search
//! by name), answering only with objects the token may read.
//!
//! ```text
//!   {Prefix, Context, Namespace} -> per context, IDs starting with Prefix (at most 20, sorted)
//!     jobs/evals/allocs/deployment: read-job (jobs: list-jobs) in their namespace
//!     vars: `list` on the path      nodes/node_pools: node read   namespaces: any use of it
//!   -> {Matches: {ctx: [ids]}, Truncations: {ctx: bool}, Index}
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use nomadish_acl::Acl;
use nomadish_acl::caps::{LIST_JOBS, READ_JOB, VAR_LIST};
use serde::{Deserialize, Serialize};

use super::jobs::decode_body;
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::auth::Identity;
use crate::state::StateView;

type Params = Query<HashMap<String, String>>;

/// Matches returned per context, as Nomad's `MaxUIDsPerContext`.
pub const MAX_PER_CONTEXT: usize = 20;
/// Shortest text a fuzzy search accepts (Nomad's default `min_term_length`).
pub const FUZZY_MIN_LENGTH: usize = 2;

/// The contexts searched, under Nomad's names.
const CONTEXTS: &[&str] = &[
    "allocs",
    "deployment",
    "evals",
    "jobs",
    "namespaces",
    "node_pools",
    "nodes",
    "vars",
];

/// Body of a search (both kinds; `Text` for fuzzy, `Prefix` for prefix).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct SearchRequest {
    prefix: String,
    text: String,
    context: String,
    namespace: String,
}

/// Answer of a prefix search.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SearchResponse<T> {
    matches: BTreeMap<&'static str, Vec<T>>,
    truncations: BTreeMap<&'static str, bool>,
    index: u64,
    known_leader: bool,
    last_contact: u64,
}

/// One fuzzy match: the object's name and where it lives.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct FuzzyMatch {
    #[serde(rename = "ID")]
    id: String,
    scope: Vec<String>,
}

/// One object the token may read: its context, the key searched and its scope.
struct Candidate {
    context: &'static str,
    key: String,
    scope: Vec<String>,
}

/// The contexts a request names (Nomad's names, plus `deployments`/`variables` aliases).
fn contexts(context: &str) -> Result<Vec<&'static str>, HttpError> {
    let wanted = match context {
        "" | "all" => return Ok(CONTEXTS.to_vec()),
        "deployments" => "deployment",
        "variables" => "vars",
        other => other,
    };
    CONTEXTS
        .iter()
        .find(|c| **c == wanted)
        .map(|c| vec![*c])
        .ok_or_else(|| HttpError::bad_request(format!("context {context:?} not supported")))
}

fn ns_ok(wanted: &str, ns: &str) -> bool {
    wanted == "*" || wanted == ns
}

/// Every object of the contexts in `namespace` the token may read.
fn candidates(view: &StateView, acl: &Acl, namespace: &str, ctxs: &[&str]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut push = |context: &'static str, key: &str, scope: Vec<String>| {
        if ctxs.contains(&context) {
            out.push(Candidate {
                context,
                key: key.to_string(),
                scope,
            });
        }
    };
    let may = |ns: &str, cap: &str| ns_ok(namespace, ns) && acl.allow_namespace_op(ns, cap);
    for j in view.jobs.values().filter(|j| may(&j.namespace, LIST_JOBS)) {
        push("jobs", &j.id, vec![j.namespace.clone(), j.id.clone()]);
    }
    for e in view.evals.values().filter(|e| may(&e.namespace, READ_JOB)) {
        push("evals", &e.id, vec![e.namespace.clone(), e.job_id.clone()]);
    }
    for a in view.allocs.values().filter(|a| may(&a.namespace, READ_JOB)) {
        push("allocs", &a.id, vec![a.namespace.clone(), a.job_id.clone()]);
    }
    for d in view.deployments.values() {
        if may(&d.namespace, READ_JOB) {
            push(
                "deployment",
                &d.id,
                vec![d.namespace.clone(), d.job_id.clone()],
            );
        }
    }
    for ((ns, path), _) in view.variables.iter() {
        if ns_ok(namespace, ns) && acl.allow_variable_op(ns, path, VAR_LIST) {
            push("vars", path, vec![ns.clone()]);
        }
    }
    for ns in view.namespaces_with_prefix("") {
        if acl.allow_namespace(&ns.name) {
            push("namespaces", &ns.name, Vec::new());
        }
    }
    if acl.allow_node_read() {
        for n in view.nodes.values() {
            push("nodes", &n.id, vec![n.name.clone()]);
        }
        for p in super::node_actions::node_pools(view) {
            push("node_pools", p.name(), Vec::new());
        }
    }
    out
}

/// Groups the accepted candidates per context: at most [`MAX_PER_CONTEXT`] each, sorted.
fn collect<T>(
    ctxs: &[&'static str],
    found: impl Iterator<Item = (&'static str, T)>,
    order: impl Fn(&T) -> String,
) -> (BTreeMap<&'static str, Vec<T>>, BTreeMap<&'static str, bool>) {
    let mut matches: BTreeMap<&'static str, Vec<T>> =
        ctxs.iter().map(|c| (*c, Vec::new())).collect();
    for (ctx, item) in found {
        matches.entry(ctx).or_default().push(item);
    }
    let mut truncations = BTreeMap::new();
    for (ctx, items) in &mut matches {
        items.sort_by_key(|i| order(i));
        truncations.insert(*ctx, items.len() > MAX_PER_CONTEXT);
        items.truncate(MAX_PER_CONTEXT);
    }
    (matches, truncations)
}

/// The request from the body (PUT/POST) or the query string (GET).
fn request(opts: &QueryOptions, body: &[u8]) -> Result<SearchRequest, HttpError> {
    let mut req: SearchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SearchRequest::default()
    } else {
        decode_body(body)?
    };
    let raw = |k: &str| opts.raw.get(k).cloned().unwrap_or_default();
    for (field, key) in [
        (&mut req.prefix, "prefix"),
        (&mut req.context, "context"),
        (&mut req.text, "text"),
    ] {
        if field.is_empty() {
            *field = raw(key);
        }
    }
    if req.namespace.is_empty() {
        req.namespace = opts.namespace.clone();
    }
    Ok(req)
}

/// `GET|PUT|POST /v1/search`: IDs (job IDs, variable paths, names) starting with `Prefix`.
pub async fn prefix(
    State(server): State<AppState>,
    Extension(identity): Extension<Arc<Identity>>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req = request(&opts, &body)?;
    let ctxs = contexts(&req.context)?;
    let view = read_view(&server, &opts, |v| v.index).await?;
    let found = candidates(&view, &identity.acl, &req.namespace, &ctxs)
        .into_iter()
        .filter(|c| c.key.starts_with(&req.prefix))
        .map(|c| (c.context, c.key));
    let (matches, truncations) = collect(&ctxs, found, String::clone);
    let body = SearchResponse {
        matches,
        truncations,
        index: view.index,
        known_leader: true,
        last_contact: 0,
    };
    Ok(reply(&server, &opts, view.index, &body))
}

/// `GET|PUT|POST /v1/search/fuzzy`: objects whose ID (jobs, variables, nodes' names,
/// namespaces, pools) contains `Text`, ignoring case, with their scope.
pub async fn fuzzy(
    State(server): State<AppState>,
    Extension(identity): Extension<Arc<Identity>>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let req = request(&opts, &body)?;
    if req.text.chars().count() < FUZZY_MIN_LENGTH {
        return Err(HttpError::bad_request(format!(
            "fuzzy search query must be at least {FUZZY_MIN_LENGTH} characters, got {}",
            req.text.chars().count()
        )));
    }
    let ctxs = contexts(&req.context)?;
    let text = req.text.to_lowercase();
    let view = read_view(&server, &opts, |v| v.index).await?;
    let found = candidates(&view, &identity.acl, &req.namespace, &ctxs)
        .into_iter()
        .map(|c| match c.context {
            // Nodes are found by name, as Nomad's fuzzy search does.
            "nodes" => Candidate {
                key: c.scope.first().cloned().unwrap_or_default(),
                scope: vec![c.key],
                context: c.context,
            },
            _ => c,
        })
        .filter(|c| c.key.to_lowercase().contains(&text))
        .map(|c| {
            let scope = match c.context {
                "jobs" => c.scope.into_iter().take(1).collect(),
                _ => c.scope,
            };
            (c.context, FuzzyMatch { id: c.key, scope })
        });
    let (matches, truncations) = collect(&ctxs, found, |m| m.id.clone());
    let body = SearchResponse {
        matches,
        truncations,
        index: view.index,
        known_leader: true,
        last_contact: 0,
    };
    Ok(reply(&server, &opts, view.index, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_accept_nomads_names_and_aliases() {
        assert_eq!(contexts("jobs").unwrap(), ["jobs"]);
        assert_eq!(contexts("deployments").unwrap(), ["deployment"]);
        assert_eq!(contexts("variables").unwrap(), ["vars"]);
        assert_eq!(contexts("all").unwrap().len(), CONTEXTS.len());
        assert_eq!(contexts("quotas").unwrap_err().status, 400);
    }

    #[test]
    fn at_most_twenty_per_context_and_truncation_is_reported() {
        let found = (0..25).map(|i| ("jobs", format!("job-{i:02}")));
        let (m, t) = collect(&["jobs", "nodes"], found, String::clone);
        assert_eq!(m["jobs"].len(), MAX_PER_CONTEXT);
        assert_eq!(m["jobs"][0], "job-00");
        assert!(t["jobs"]);
        assert!(m["nodes"].is_empty() && !t["nodes"]);
    }
}
