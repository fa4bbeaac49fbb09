//! What every route requires, by method and route pattern.
//!
//! A route without a rule here is denied to every token but management (and the route
//! matrix test fails), so a new endpoint cannot ship unguarded by accident.

use nomadish_acl::caps::{
    ALLOC_EXEC, ALLOC_LIFECYCLE, CSI_LIST_VOLUME, DISPATCH_JOB, LIST_JOBS, PARSE_JOB, READ_FS,
    READ_JOB, READ_JOB_SCALING, READ_LOGS, SCALE_JOB, SUBMIT_JOB, VAR_DESTROY, VAR_READ, VAR_WRITE,
};

/// What a request must be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, token or not (status, health, bootstrap).
    Public,
    /// Any valid token (or anonymous); the handler decides (ACL self-service endpoints).
    Token,
    /// A management token.
    Management,
    /// A capability in the request's namespace (`?namespace=`, default `default`).
    Namespace(&'static str),
    /// A capability in the namespace of the job in the body (else the request's).
    JobBody(&'static str),
    /// A list: with `?namespace=*` the answer keeps only entries in namespaces where the token
    /// holds the capability; with one namespace, the capability there.
    List(&'static str),
    /// A capability in the namespace of the allocation named by the path.
    Alloc(&'static str),
    /// A capability in the namespace of the evaluation named by the path.
    Eval(&'static str),
    /// A capability in the namespace of the deployment named by the path.
    Deployment(&'static str),
    /// A variables operation on the path's variable in the request's namespace.
    Variable(&'static str),
    /// The variables list (entries filtered by the `list` capability on their paths).
    VariableList,
    /// Read access to the namespace named by the path.
    NamespaceRead,
    /// The namespace list (entries filtered to those the token may use).
    NamespaceList,
    /// `node { policy = "read" }`.
    NodeRead,
    /// `node { policy = "write" }`.
    NodeWrite,
    /// Node read, and the allocations listed filtered by `read-job` in their namespaces.
    NodeAllocs,
    /// `agent { policy = "read" }`.
    AgentRead,
    /// `operator { policy = "read" }`.
    OperatorRead,
    /// `operator { policy = "write" }`.
    OperatorWrite,
    /// `plugin { policy = "list" }` (or read).
    PluginList,
}

use Rule::*;

/// Every guarded route: (method, route pattern, rule). `HEAD` follows `GET`.
pub const RULES: &[(&str, &str, Rule)] = &[
    ("GET", "/v1/jobs", List(LIST_JOBS)),
    ("PUT", "/v1/jobs", JobBody(SUBMIT_JOB)),
    ("POST", "/v1/jobs", JobBody(SUBMIT_JOB)),
    ("POST", "/v1/jobs/parse", Namespace(PARSE_JOB)),
    ("PUT", "/v1/jobs/parse", Namespace(PARSE_JOB)),
    ("GET", "/v1/job/{id}", Namespace(READ_JOB)),
    ("POST", "/v1/job/{id}", JobBody(SUBMIT_JOB)),
    ("PUT", "/v1/job/{id}", JobBody(SUBMIT_JOB)),
    ("DELETE", "/v1/job/{id}", Namespace(SUBMIT_JOB)),
    ("GET", "/v1/job/{id}/allocations", Namespace(READ_JOB)),
    ("GET", "/v1/job/{id}/evaluations", Namespace(READ_JOB)),
    ("GET", "/v1/job/{id}/versions", Namespace(READ_JOB)),
    ("GET", "/v1/job/{id}/summary", Namespace(READ_JOB)),
    ("GET", "/v1/job/{id}/deployments", Namespace(READ_JOB)),
    ("GET", "/v1/job/{id}/deployment", Namespace(READ_JOB)),
    ("POST", "/v1/job/{id}/periodic/force", Namespace(SUBMIT_JOB)),
    ("PUT", "/v1/job/{id}/periodic/force", Namespace(SUBMIT_JOB)),
    ("POST", "/v1/job/{id}/dispatch", Namespace(DISPATCH_JOB)),
    ("PUT", "/v1/job/{id}/dispatch", Namespace(DISPATCH_JOB)),
    ("POST", "/v1/job/{id}/revert", Namespace(SUBMIT_JOB)),
    ("PUT", "/v1/job/{id}/revert", Namespace(SUBMIT_JOB)),
    ("GET", "/v1/job/{id}/scale", Namespace(READ_JOB_SCALING)),
    ("POST", "/v1/job/{id}/scale", Namespace(SCALE_JOB)),
    ("PUT", "/v1/job/{id}/scale", Namespace(SCALE_JOB)),
    ("POST", "/v1/job/{id}/plan", JobBody(SUBMIT_JOB)),
    ("PUT", "/v1/job/{id}/plan", JobBody(SUBMIT_JOB)),
    ("POST", "/v1/validate/job", JobBody(READ_JOB)),
    ("PUT", "/v1/validate/job", JobBody(READ_JOB)),
    ("PUT", "/v1/system/gc", Management),
    ("POST", "/v1/system/gc", Management),
    ("PUT", "/v1/system/reconcile/summaries", Management),
    ("POST", "/v1/system/reconcile/summaries", Management),
    ("GET", "/v1/allocations", List(READ_JOB)),
    ("GET", "/v1/allocation/{id}", Alloc(READ_JOB)),
    ("POST", "/v1/allocation/{id}/stop", Alloc(ALLOC_LIFECYCLE)),
    ("PUT", "/v1/allocation/{id}/stop", Alloc(ALLOC_LIFECYCLE)),
    ("GET", "/v1/evaluations", List(READ_JOB)),
    ("GET", "/v1/evaluation/{id}", Eval(READ_JOB)),
    ("GET", "/v1/evaluation/{id}/allocations", Eval(READ_JOB)),
    ("GET", "/v1/nodes", NodeRead),
    ("GET", "/v1/node/{id}", NodeRead),
    ("GET", "/v1/node/{id}/allocations", NodeAllocs),
    ("POST", "/v1/node/{id}/eligibility", NodeWrite),
    ("PUT", "/v1/node/{id}/eligibility", NodeWrite),
    ("POST", "/v1/node/{id}/drain", NodeWrite),
    ("PUT", "/v1/node/{id}/drain", NodeWrite),
    ("GET", "/v1/client/fs/logs/{alloc}", Alloc(READ_LOGS)),
    ("GET", "/v1/client/fs/ls/{alloc}", Alloc(READ_FS)),
    ("GET", "/v1/client/fs/stat/{alloc}", Alloc(READ_FS)),
    ("GET", "/v1/client/fs/cat/{alloc}", Alloc(READ_FS)),
    ("GET", "/v1/client/fs/readat/{alloc}", Alloc(READ_FS)),
    ("GET", "/v1/client/fs/stream/{alloc}", Alloc(READ_FS)),
    (
        "POST",
        "/v1/client/allocation/{id}/restart",
        Alloc(ALLOC_LIFECYCLE),
    ),
    (
        "PUT",
        "/v1/client/allocation/{id}/restart",
        Alloc(ALLOC_LIFECYCLE),
    ),
    (
        "POST",
        "/v1/client/allocation/{id}/signal",
        Alloc(ALLOC_LIFECYCLE),
    ),
    (
        "PUT",
        "/v1/client/allocation/{id}/signal",
        Alloc(ALLOC_LIFECYCLE),
    ),
    ("GET", "/v1/client/allocation/{id}/exec", Alloc(ALLOC_EXEC)),
    // The handler checks the topics against the token and filters every event by it.
    ("GET", "/v1/event/stream", Token),
    ("GET", "/v1/status/leader", Public),
    ("GET", "/v1/status/peers", Public),
    ("GET", "/v1/agent/health", Public),
    // Nomad's /v1/metrics needs no token; the probes answer supervisors without one.
    ("GET", "/v1/metrics", Public),
    ("GET", "/health", Public),
    ("GET", "/live", Public),
    ("GET", "/ready", Public),
    ("GET", "/v1/agent/self", AgentRead),
    ("GET", "/v1/agent/members", NodeRead),
    ("GET", "/v1/operator/raft/configuration", OperatorRead),
    ("DELETE", "/v1/operator/raft/peer", OperatorWrite),
    (
        "PUT",
        "/v1/operator/raft/transfer-leadership",
        OperatorWrite,
    ),
    (
        "POST",
        "/v1/operator/raft/transfer-leadership",
        OperatorWrite,
    ),
    ("GET", "/v1/operator/snapshot", Management),
    ("PUT", "/v1/operator/snapshot", Management),
    ("POST", "/v1/operator/snapshot", Management),
    ("GET", "/v1/operator/debug/digest", OperatorRead),
    ("GET", "/v1/operator/scheduler/configuration", OperatorRead),
    ("PUT", "/v1/operator/scheduler/configuration", OperatorWrite),
    (
        "POST",
        "/v1/operator/scheduler/configuration",
        OperatorWrite,
    ),
    ("GET", "/v1/deployments", List(READ_JOB)),
    ("GET", "/v1/deployment/{id}", Deployment(READ_JOB)),
    (
        "GET",
        "/v1/deployment/{id}/allocations",
        Deployment(READ_JOB),
    ),
    (
        "GET",
        "/v1/deployment/allocations/{id}",
        Deployment(READ_JOB),
    ),
    ("PUT", "/v1/deployment/promote/{id}", Deployment(SUBMIT_JOB)),
    (
        "POST",
        "/v1/deployment/promote/{id}",
        Deployment(SUBMIT_JOB),
    ),
    ("PUT", "/v1/deployment/fail/{id}", Deployment(SUBMIT_JOB)),
    ("POST", "/v1/deployment/fail/{id}", Deployment(SUBMIT_JOB)),
    ("PUT", "/v1/deployment/pause/{id}", Deployment(SUBMIT_JOB)),
    ("POST", "/v1/deployment/pause/{id}", Deployment(SUBMIT_JOB)),
    ("GET", "/v1/services", List(READ_JOB)),
    ("GET", "/v1/service/{name}", Namespace(READ_JOB)),
    ("DELETE", "/v1/service/{name}/{id}", Namespace(SUBMIT_JOB)),
    ("GET", "/v1/vars", VariableList),
    ("GET", "/v1/var/{*path}", Variable(VAR_READ)),
    ("PUT", "/v1/var/{*path}", Variable(VAR_WRITE)),
    ("POST", "/v1/var/{*path}", Variable(VAR_WRITE)),
    ("DELETE", "/v1/var/{*path}", Variable(VAR_DESTROY)),
    ("POST", "/v1/acl/bootstrap", Public),
    ("PUT", "/v1/acl/bootstrap", Public),
    ("GET", "/v1/acl/policies", Token),
    ("GET", "/v1/acl/policy/{name}", Token),
    ("POST", "/v1/acl/policy/{name}", Management),
    ("PUT", "/v1/acl/policy/{name}", Management),
    ("DELETE", "/v1/acl/policy/{name}", Management),
    ("GET", "/v1/acl/tokens", Management),
    ("POST", "/v1/acl/token", Management),
    ("PUT", "/v1/acl/token", Management),
    ("GET", "/v1/acl/token/self", Token),
    ("GET", "/v1/acl/token/{accessor}", Token),
    ("POST", "/v1/acl/token/{accessor}", Management),
    ("PUT", "/v1/acl/token/{accessor}", Management),
    ("DELETE", "/v1/acl/token/{accessor}", Management),
    ("GET", "/v1/namespaces", NamespaceList),
    ("GET", "/v1/namespace/{name}", NamespaceRead),
    ("POST", "/v1/namespace/{name}", Management),
    ("PUT", "/v1/namespace/{name}", Management),
    ("DELETE", "/v1/namespace/{name}", Management),
    ("POST", "/v1/namespace", Management),
    ("PUT", "/v1/namespace", Management),
    // ---- extra v1 endpoints (issue 8) ----
    ("PUT", "/v1/job/{id}/evaluate", Namespace(SUBMIT_JOB)),
    ("POST", "/v1/job/{id}/evaluate", Namespace(SUBMIT_JOB)),
    ("PUT", "/v1/job/{id}/stable", Namespace(SUBMIT_JOB)),
    ("POST", "/v1/job/{id}/stable", Namespace(SUBMIT_JOB)),
    ("GET", "/v1/evaluations/count", List(READ_JOB)),
    ("GET", "/v1/client/allocation/{id}/stats", Alloc(READ_JOB)),
    ("GET", "/v1/client/allocation/{id}/checks", Alloc(READ_JOB)),
    ("GET", "/v1/client/allocation/{id}/gc", Alloc(SUBMIT_JOB)),
    (
        "PUT",
        "/v1/deployment/allocation-health/{id}",
        Deployment(SUBMIT_JOB),
    ),
    (
        "POST",
        "/v1/deployment/allocation-health/{id}",
        Deployment(SUBMIT_JOB),
    ),
    ("PUT", "/v1/node/{id}/evaluate", NodeWrite),
    ("POST", "/v1/node/{id}/evaluate", NodeWrite),
    ("PUT", "/v1/node/{id}/purge", NodeWrite),
    ("POST", "/v1/node/{id}/purge", NodeWrite),
    ("GET", "/v1/node/pools", NodeRead),
    ("GET", "/v1/node/pool/{name}", NodeRead),
    ("GET", "/v1/regions", Public),
    ("GET", "/v1/agent/servers", AgentRead),
    ("GET", "/v1/operator/autopilot/health", OperatorRead),
    ("GET", "/v1/operator/autopilot/configuration", OperatorRead),
    ("PUT", "/v1/operator/autopilot/configuration", OperatorWrite),
    (
        "POST",
        "/v1/operator/autopilot/configuration",
        OperatorWrite,
    ),
    // Search answers only with what the token may read (search.rs).
    ("GET", "/v1/search", Token),
    ("PUT", "/v1/search", Token),
    ("POST", "/v1/search", Token),
    ("GET", "/v1/search/fuzzy", Token),
    ("PUT", "/v1/search/fuzzy", Token),
    ("POST", "/v1/search/fuzzy", Token),
    ("GET", "/v1/volumes", Namespace(CSI_LIST_VOLUME)),
    ("GET", "/v1/plugins", PluginList),
    ("GET", "/v1/acl/roles", Token),
    ("GET", "/v1/acl/auth-methods", Public),
    ("GET", "/v1/acl/binding-rules", Management),
    // Nomad Enterprise endpoints: 501 before any ACL check, as Nomad OSS.
    ("GET", "/v1/quotas", Public),
    ("PUT", "/v1/quotas", Public),
    ("POST", "/v1/quotas", Public),
    ("DELETE", "/v1/quotas", Public),
    ("GET", "/v1/quota", Public),
    ("PUT", "/v1/quota", Public),
    ("POST", "/v1/quota", Public),
    ("DELETE", "/v1/quota", Public),
    ("GET", "/v1/quota/{*path}", Public),
    ("PUT", "/v1/quota/{*path}", Public),
    ("POST", "/v1/quota/{*path}", Public),
    ("DELETE", "/v1/quota/{*path}", Public),
    ("GET", "/v1/quota-usages", Public),
    ("PUT", "/v1/quota-usages", Public),
    ("POST", "/v1/quota-usages", Public),
    ("DELETE", "/v1/quota-usages", Public),
    ("GET", "/v1/sentinel/policies", Public),
    ("PUT", "/v1/sentinel/policies", Public),
    ("POST", "/v1/sentinel/policies", Public),
    ("DELETE", "/v1/sentinel/policies", Public),
    ("GET", "/v1/sentinel/policy/{*path}", Public),
    ("PUT", "/v1/sentinel/policy/{*path}", Public),
    ("POST", "/v1/sentinel/policy/{*path}", Public),
    ("DELETE", "/v1/sentinel/policy/{*path}", Public),
    ("GET", "/v1/recommendations", Public),
    ("PUT", "/v1/recommendations", Public),
    ("POST", "/v1/recommendations", Public),
    ("DELETE", "/v1/recommendations", Public),
    ("GET", "/v1/recommendations/{*path}", Public),
    ("PUT", "/v1/recommendations/{*path}", Public),
    ("POST", "/v1/recommendations/{*path}", Public),
    ("DELETE", "/v1/recommendations/{*path}", Public),
    ("GET", "/v1/recommendation/{*path}", Public),
    ("PUT", "/v1/recommendation/{*path}", Public),
    ("POST", "/v1/recommendation/{*path}", Public),
    ("DELETE", "/v1/recommendation/{*path}", Public),
    ("GET", "/v1/operator/license", Public),
    ("PUT", "/v1/operator/license", Public),
    ("POST", "/v1/operator/license", Public),
    ("DELETE", "/v1/operator/license", Public),
    // ---- end extra v1 endpoints ----
];

/// The rule for a method and route pattern.
pub fn rule(method: &str, pattern: &str) -> Option<Rule> {
    let method = if method == "HEAD" { "GET" } else { method };
    RULES
        .iter()
        .find(|(m, p, _)| *m == method && *p == pattern)
        .map(|(_, _, r)| *r)
}

/// Whether a method changes something (and is therefore audited).
pub fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_follows_get_and_unknown_routes_have_no_rule() {
        assert_eq!(rule("HEAD", "/v1/var/{*path}"), Some(Variable(VAR_READ)));
        assert_eq!(rule("GET", "/v1/jobs"), Some(List(LIST_JOBS)));
        assert_eq!(rule("PATCH", "/v1/jobs"), None);
        assert_eq!(rule("GET", "/v1/unguarded"), None);
    }

    #[test]
    fn no_route_is_listed_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for (m, p, _) in RULES {
            assert!(seen.insert((m, p)), "{m} {p} listed twice");
        }
    }
}
