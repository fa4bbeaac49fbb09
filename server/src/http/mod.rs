//! The HTTP API, in Nomad's v1 shapes: paths, JSON bodies, status codes and headers.
//!
//! ```text
//!   request ─> body limit (413) ─> route ─> handler ─> reads: blocking query on a view
//!                                                    └> writes: Server::write (raft / leader)
//!   response: JSON + X-Nomad-Index, X-Nomad-KnownLeader, X-Nomad-LastContact; errors as
//!   plain text with 400/404/409/413/500, as Nomad answers.
//!   every request: an X-Request-Id, a tracing span and a latency sample (request_id.rs).
//!   /ui: the web UI's embedded files, no token needed (ui/mod.rs); its data comes from /v1.
//! ```

mod acl;
mod agent;
mod alloc_exec;
mod alloc_ops;
mod allocs;
mod client_alloc;
mod cluster;
mod deployments;
mod error;
mod events;
mod filter;
mod fs;
mod health;
mod job_actions;
mod job_path;
mod jobs;
pub mod json_shape;
mod lifecycle;
mod list;
mod logs;
mod metrics;
mod namespaces;
mod node_actions;
mod nodes;
mod operator;
mod plan;
mod query;
pub mod request_id;
mod scheduler_config;
mod search;
mod services;
pub(crate) mod stream;
mod system;
pub mod ui;
mod unavailable;
mod vars;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get};

pub use error::HttpError;
pub use jobs::{Registration, decode_registration};
pub use list::{ListScope, ListScoped, NEXT_TOKEN_HEADER};
pub use query::QueryOptions;

use crate::server::Server;

/// Largest request body accepted (Nomad rejects larger ones too).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Largest snapshot file `PUT /v1/operator/snapshot` accepts.
pub const MAX_SNAPSHOT_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// Shared handler state.
pub type AppState = Arc<Server>;

/// The routes of the API and their patterns (read by the authorization matrix test).
struct Routes {
    router: Router<AppState>,
    patterns: Vec<&'static str>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            patterns: Vec::new(),
        }
    }

    fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.patterns.push(path);
        self.router = self.router.route(path, methods);
        self
    }
}

/// Every route pattern the API serves.
pub fn route_patterns() -> Vec<&'static str> {
    routes().patterns
}

/// Every route of the API, each behind the authorization layer; job IDs with slashes are
/// escaped before routing (see [`job_path`]).
pub fn router(server: Arc<Server>) -> Router {
    use tower::ServiceExt;
    let routed = routed(server);
    Router::new().fallback_service(routed.map_request(job_path::escape_job_ids))
}

fn routed(server: Arc<Server>) -> Router {
    routes()
        .router
        .route_layer(axum::middleware::from_fn_with_state(
            server.clone(),
            crate::auth::layer::authorize,
        ))
        // The UI's static files carry no data: outside the authorization layer (ui.rs).
        .merge(ui::routes())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(request_id::observe))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

fn routes() -> Routes {
    Routes::new()
        .route(
            "/v1/acl/bootstrap",
            axum::routing::post(acl::bootstrap).put(acl::bootstrap),
        )
        .route("/v1/acl/policies", get(acl::list_policies))
        .route(
            "/v1/acl/policy/{name}",
            get(acl::get_policy)
                .post(acl::put_policy)
                .put(acl::put_policy)
                .delete(acl::delete_policy),
        )
        .route("/v1/acl/tokens", get(acl::list_tokens))
        .route(
            "/v1/acl/token",
            axum::routing::post(acl::create_token).put(acl::create_token),
        )
        .route("/v1/acl/token/self", get(acl::token_self))
        .route(
            "/v1/acl/token/{accessor}",
            get(acl::get_token)
                .post(acl::update_token)
                .put(acl::update_token)
                .delete(acl::delete_token),
        )
        .route(
            "/v1/jobs",
            get(jobs::list).put(jobs::register).post(jobs::register),
        )
        .route("/v1/jobs/parse", axum::routing::post(jobs::parse))
        .route(
            "/v1/job/{id}",
            get(jobs::get)
                .put(jobs::update)
                .post(jobs::update)
                .delete(jobs::deregister),
        )
        .route(
            "/v1/validate/job",
            axum::routing::put(jobs::validate).post(jobs::validate),
        )
        .route("/v1/job/{id}/allocations", get(jobs::allocations))
        .route("/v1/job/{id}/evaluations", get(jobs::evaluations))
        .route("/v1/job/{id}/versions", get(jobs::versions))
        .route("/v1/job/{id}/summary", get(jobs::summary))
        .route(
            "/v1/job/{id}/periodic/force",
            axum::routing::post(lifecycle::periodic_force).put(lifecycle::periodic_force),
        )
        .route(
            "/v1/job/{id}/dispatch",
            axum::routing::post(lifecycle::dispatch).put(lifecycle::dispatch),
        )
        .route(
            "/v1/job/{id}/revert",
            axum::routing::post(lifecycle::revert).put(lifecycle::revert),
        )
        .route(
            "/v1/job/{id}/scale",
            get(lifecycle::scale_status)
                .post(lifecycle::scale)
                .put(lifecycle::scale),
        )
        .route(
            "/v1/system/gc",
            axum::routing::put(system::gc).post(system::gc),
        )
        .route(
            "/v1/system/reconcile/summaries",
            axum::routing::put(system::reconcile_summaries).post(system::reconcile_summaries),
        )
        .route("/v1/allocations", get(allocs::list))
        .route("/v1/allocation/{id}", get(allocs::get))
        .route("/v1/evaluations", get(allocs::list_evals))
        .route("/v1/evaluation/{id}", get(allocs::get_eval))
        .route("/v1/evaluation/{id}/allocations", get(allocs::eval_allocs))
        .route("/v1/nodes", get(allocs::list_nodes))
        .route("/v1/node/{id}", get(allocs::get_node))
        .route("/v1/node/{id}/allocations", get(allocs::node_allocs))
        .route(
            "/v1/node/{id}/eligibility",
            axum::routing::post(nodes::eligibility).put(nodes::eligibility),
        )
        .route(
            "/v1/node/{id}/drain",
            axum::routing::post(nodes::drain).put(nodes::drain),
        )
        .route(
            "/v1/job/{id}/plan",
            axum::routing::post(plan::plan).put(plan::plan),
        )
        .route("/v1/client/fs/logs/{alloc}", get(logs::logs))
        .route("/v1/event/stream", get(events::stream))
        .route("/v1/client/fs/ls/{alloc}", get(fs::ls))
        .route("/v1/client/fs/stat/{alloc}", get(fs::stat))
        .route("/v1/client/fs/cat/{alloc}", get(fs::cat))
        .route("/v1/client/fs/readat/{alloc}", get(fs::readat))
        .route("/v1/client/fs/stream/{alloc}", get(fs::stream_file))
        .route(
            "/v1/client/allocation/{id}/restart",
            axum::routing::post(alloc_ops::restart).put(alloc_ops::restart),
        )
        .route(
            "/v1/client/allocation/{id}/signal",
            axum::routing::post(alloc_ops::signal).put(alloc_ops::signal),
        )
        .route("/v1/client/allocation/{id}/exec", get(alloc_exec::exec))
        .route(
            "/v1/allocation/{id}/stop",
            axum::routing::post(alloc_ops::stop).put(alloc_ops::stop),
        )
        .route("/v1/status/leader", get(agent::leader))
        .route("/v1/status/peers", get(agent::peers))
        .route("/v1/agent/self", get(agent::agent_self))
        .route("/v1/agent/members", get(agent::members))
        .route("/v1/agent/health", get(agent::health))
        .route("/v1/metrics", get(metrics::metrics))
        .route("/health", get(health::health))
        .route("/live", get(health::live))
        .route("/ready", get(health::ready))
        .route(
            "/v1/operator/raft/configuration",
            get(operator::raft_configuration),
        )
        .route(
            "/v1/operator/raft/peer",
            axum::routing::delete(operator::remove_peer),
        )
        .route(
            "/v1/operator/raft/transfer-leadership",
            axum::routing::put(operator::transfer_leadership).post(operator::transfer_leadership),
        )
        .route(
            "/v1/operator/snapshot",
            get(operator::snapshot_save)
                .put(operator::snapshot_restore)
                .post(operator::snapshot_restore)
                .layer(DefaultBodyLimit::max(MAX_SNAPSHOT_BYTES)),
        )
        .route("/v1/operator/debug/digest", get(operator::digest))
        .route("/v1/deployments", get(deployments::list))
        .route("/v1/deployment/{id}", get(deployments::get))
        .route(
            "/v1/deployment/{id}/allocations",
            get(deployments::allocations),
        )
        .route(
            "/v1/deployment/allocations/{id}",
            get(deployments::allocations),
        )
        .route(
            "/v1/deployment/promote/{id}",
            axum::routing::put(deployments::promote).post(deployments::promote),
        )
        .route(
            "/v1/deployment/fail/{id}",
            axum::routing::put(deployments::fail).post(deployments::fail),
        )
        .route(
            "/v1/deployment/pause/{id}",
            axum::routing::put(deployments::pause).post(deployments::pause),
        )
        .route(
            "/v1/job/{id}/deployments",
            get(deployments::job_deployments),
        )
        .route("/v1/job/{id}/deployment", get(deployments::job_latest))
        .route(
            "/v1/operator/scheduler/configuration",
            get(scheduler_config::get_config)
                .put(scheduler_config::put_config)
                .post(scheduler_config::put_config),
        )
        .route("/v1/services", get(services::list))
        .route("/v1/service/{name}", get(services::get))
        .route(
            "/v1/service/{name}/{id}",
            axum::routing::delete(services::delete),
        )
        .route("/v1/vars", get(vars::list))
        .route(
            "/v1/var/{*path}",
            get(vars::get)
                .put(vars::put)
                .post(vars::put)
                .delete(vars::delete),
        )
        // ---- namespaces (wip-ns) ----
        .route("/v1/namespaces", get(namespaces::list))
        .route(
            "/v1/namespace",
            axum::routing::put(namespaces::put).post(namespaces::put),
        )
        .route(
            "/v1/namespace/{name}",
            get(namespaces::get)
                .put(namespaces::put_named)
                .post(namespaces::put_named)
                .delete(namespaces::delete),
        )
        // ---- end namespaces ----
        .merge_extra()
}

impl Routes {
    /// The extra v1 endpoints of issue 8 (kept together to ease merges).
    fn merge_extra(self) -> Self {
        use axum::routing::put;
        let ent = || {
            get(unavailable::enterprise_only)
                .put(unavailable::enterprise_only)
                .post(unavailable::enterprise_only)
                .delete(unavailable::enterprise_only)
        };
        self.route(
            "/v1/job/{id}/evaluate",
            put(job_actions::evaluate).post(job_actions::evaluate),
        )
        .route(
            "/v1/job/{id}/stable",
            put(job_actions::stable).post(job_actions::stable),
        )
        .route("/v1/evaluations/count", get(allocs::count_evals))
        .route("/v1/client/allocation/{id}/stats", get(client_alloc::stats))
        .route(
            "/v1/client/allocation/{id}/checks",
            get(client_alloc::checks),
        )
        .route("/v1/client/allocation/{id}/gc", get(client_alloc::gc))
        .route(
            "/v1/deployment/allocation-health/{id}",
            put(deployments::allocation_health).post(deployments::allocation_health),
        )
        .route(
            "/v1/node/{id}/evaluate",
            put(node_actions::evaluate).post(node_actions::evaluate),
        )
        .route(
            "/v1/node/{id}/purge",
            put(node_actions::purge).post(node_actions::purge),
        )
        .route("/v1/node/pools", get(node_actions::pools))
        .route("/v1/node/pool/{name}", get(node_actions::pool))
        .route("/v1/regions", get(cluster::regions))
        .route("/v1/agent/servers", get(cluster::servers))
        .route(
            "/v1/operator/autopilot/health",
            get(cluster::autopilot_health),
        )
        .route(
            "/v1/operator/autopilot/configuration",
            get(cluster::get_autopilot_config)
                .put(cluster::put_autopilot_config)
                .post(cluster::put_autopilot_config),
        )
        .route(
            "/v1/search",
            get(search::prefix).put(search::prefix).post(search::prefix),
        )
        .route(
            "/v1/search/fuzzy",
            get(search::fuzzy).put(search::fuzzy).post(search::fuzzy),
        )
        .route("/v1/volumes", get(unavailable::volumes))
        .route("/v1/plugins", get(unavailable::plugins))
        .route("/v1/acl/roles", get(unavailable::empty))
        .route("/v1/acl/auth-methods", get(unavailable::empty))
        .route("/v1/acl/binding-rules", get(unavailable::empty))
        .route("/v1/quotas", ent())
        .route("/v1/quota", ent())
        .route("/v1/quota/{*path}", ent())
        .route("/v1/quota-usages", ent())
        .route("/v1/sentinel/policies", ent())
        .route("/v1/sentinel/policy/{*path}", ent())
        .route("/v1/recommendations", ent())
        .route("/v1/recommendations/{*path}", ent())
        .route("/v1/recommendation/{*path}", ent())
        .route("/v1/operator/license", ent())
    }
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the API on `listener` until `shutdown` resolves: HTTPS when `tls` is given (client
/// certificates checked as the acceptor was built), plain HTTP otherwise.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: Arc<Server>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router(server), tls, shutdown).await
}

/// Serves any `app` as [`serve`] serves the API (a client-only agent's listener uses it, so
/// its HTTPS behaves as the server's): HTTPS when `tls` is given, plain HTTP otherwise; the
/// peer's address is available as `ConnectInfo<SocketAddr>` either way.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(acceptor) => serve_https(listener, app, acceptor, shutdown).await,
    }
}

/// The HTTPS accept loop: each connection's handshake and requests run in their own task, so
/// a slow client cannot hold up the others; open connections end with the server.
async fn serve_https(
    listener: tokio::net::TcpListener,
    app: Router,
    acceptor: tokio_rustls::TlsAcceptor,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A response written in pieces must not wait for the client's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        connections.spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = builder.serve_connection_with_upgrades(io, service).await {
                tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}
