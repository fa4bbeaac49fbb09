//! A client-only agent's HTTP listener. A server serves the whole API on its HTTP port; an
//! agent that runs only a client serves, on the same configured address (`bind_addr` and
//! `ports { http }`, default 4646) and with the same TLS (`tls { http = true }`):
//!
//! ```text
//!   GET /live              200 while the process runs
//!   GET /health            {"client":{"ok","message"}}: 200 when a server answers the
//!   GET /v1/agent/health     node's heartbeats, else 500 (status::StatusReport::health)
//!   GET /ready             200 once the node is registered and its heartbeat current,
//!                          else 503 {"Status":"unavailable","Message"}
//!   GET /v1/metrics        this process's metrics (Nomad JSON, ?format=prometheus)
//!   GET /v1/agent/self     config, member, stats (refused when acl { enabled = true })
//!   GET /, /ui, /ui/...    the web UI's files, as servers serve them (its /v1 calls get
//!                          the 501 below, which the UI shows)
//!   anything else          501 with a message naming the servers to ask instead
//! ```
//!
//! Nomad forwards a client agent's other API requests to a server. This client knows only
//! its servers' RPC addresses, not their HTTP ones, so it answers 501 and says where to go.
//!
//! Authorization mirrors the servers' rules (server/src/auth/rules.rs): the probes and
//! `/v1/metrics` are public there too. `/v1/agent/self` needs `agent:read` on a server; a
//! client cannot check tokens locally, so with ACLs enabled in its configuration it refuses
//! that endpoint to everyone, and with ACLs off it answers, as a server with ACLs off does.

mod probes;
mod self_info;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nomadish_client::{ClientConfig, ClientStatus};
use nomadish_proto::tls::TlsConfig;
use tokio::net::TcpListener;

/// The listener's settings, resolved from the agent configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHttpConfig {
    /// The address to listen on (`bind_addr`, `ports { http }`).
    pub bind: SocketAddr,
    /// The address advertised (`advertise { http }`).
    pub advertise: String,
    /// The agent's TLS settings; HTTPS when `http` is set.
    pub tls: Option<TlsConfig>,
    /// Whether `acl { enabled = true }` is set (then `/v1/agent/self` is refused).
    pub acl_enabled: bool,
}

/// Why the listener could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClientHttpError {
    /// The address is taken or not ours.
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The HTTPS certificates could not be loaded.
    #[error("HTTPS: {0}")]
    Tls(#[from] nomadish_proto::tls::TlsError),
    /// Serving failed.
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
}

/// What the handlers read.
#[derive(Debug, Clone)]
struct ClientAgent {
    status: ClientStatus,
    client: Arc<ClientConfig>,
    http: Arc<ClientHttpConfig>,
}

/// A bound listener, ready to [`ClientHttp::serve`].
pub struct ClientHttp {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    agent: ClientAgent,
}

impl ClientHttp {
    /// Loads the HTTPS certificates (with `tls { http = true }`) and binds the address, so
    /// a taken port stops the agent before its client starts.
    pub async fn bind(
        config: ClientHttpConfig,
        client: &ClientConfig,
        status: ClientStatus,
    ) -> Result<Self, ClientHttpError> {
        let tls = match config.tls.as_ref().filter(|t| t.http) {
            Some(tls) => Some(tls.https_acceptor()?),
            None => None,
        };
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| ClientHttpError::Bind {
                    addr: config.bind,
                    source,
                })?;
        Ok(Self {
            listener,
            tls,
            agent: ClientAgent {
                status,
                client: Arc::new(client.clone()),
                http: Arc::new(config),
            },
        })
    }

    /// The address actually bound (its port when the configuration asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ClientHttpError> {
        tracing::info!(addr = %self.listener.local_addr().map_err(ClientHttpError::Serve)?,
            https = self.tls.is_some(), "client HTTP listener started");
        let app = router(self.agent);
        nomadish_server::http::serve_app(self.listener, app, self.tls, shutdown)
            .await
            .map_err(ClientHttpError::Serve)
    }
}

/// The paths answered without a token; each is public on servers too (a test checks it
/// against the servers' rules).
pub const PUBLIC_PATHS: [&str; 5] = [
    "/live",
    "/health",
    "/v1/agent/health",
    "/ready",
    "/v1/metrics",
];
/// The path a server guards with `agent:read`; refused here when ACLs are enabled.
pub const AGENT_SELF: &str = "/v1/agent/self";

/// The listener's routes.
fn router(agent: ClientAgent) -> Router {
    Router::new()
        .route("/live", get(probes::live))
        .route("/health", get(probes::health))
        .route("/v1/agent/health", get(probes::health))
        .route("/ready", get(probes::ready))
        .route("/v1/metrics", get(self_info::metrics))
        .route(AGENT_SELF, get(self_info::agent_self))
        .merge(nomadish_server::http::ui::routes())
        .fallback(not_served)
        .layer(axum::middleware::from_fn(
            nomadish_server::http::request_id::observe,
        ))
        .with_state(agent)
}

/// Every other path: a clear refusal naming where the API is served.
async fn not_served(
    axum::extract::State(agent): axum::extract::State<ClientAgent>,
    uri: Uri,
) -> Response {
    let servers = agent.status.report().known_servers;
    let servers = if servers.is_empty() {
        agent.client.servers.join(", ")
    } else {
        servers.join(", ")
    };
    let message = format!(
        "{} is not served by a client-only agent: it serves /live, /health, /ready, \
         /v1/agent/health, /v1/agent/self, /v1/metrics and the web UI's files at /ui. Send \
         API requests to a server's HTTP address, and open the UI there (this client's \
         servers, by RPC address: {servers}).\n",
        uri.path()
    );
    (StatusCode::NOT_IMPLEMENTED, message).into_response()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
