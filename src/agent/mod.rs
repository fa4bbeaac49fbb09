//! `nomadish agent`: runs a server, a client, or both (`-dev`) in this process.
//!
//! ```text
//! flags + -config files -> AgentConfig -> resolve -> AgentPlan
//!   -> logging, banner
//!   -> one shutdown signal (Ctrl-C / SIGTERM), cloned into
//!        nomadish_server::run(ServerConfig, shutdown)
//!        nomadish_client::run(ClientConfig, shutdown)     (see `wiring`)
//!        client_http: probes and metrics of a client-only agent (no server here)
//!        dev_run::run_job(...)                            (with -run FILE)
//!   -> exit 0 once server and client have returned
//! ```

pub mod args;
pub mod banner;
pub mod client_http;
pub mod config;
pub mod dev_run;
pub mod follow;
pub mod logging;
pub mod signals;
pub mod wiring;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;

use nomadish_proto::model::Job;

use crate::cli::api::{ApiClient, ApiConfig, ApiError};
use crate::cli::jobspec::{LoadError, load_job};
use args::AgentArgs;
use config::{AgentConfig, AgentPlan, ClientBlock, ConfigError};
use nomadish_proto::tls::CliTlsConfig;
use signals::{Shutdown, ShutdownTrigger};

/// Prefix of the dev agent's temporary data directory.
pub const DEV_DATA_DIR_PREFIX: &str = "nomadish-dev-";
/// An address in TEST-NET-1 whose route reveals the outbound interface's IP (no packet is sent).
const ROUTE_PROBE_ADDR: &str = "192.0.2.1:9";

/// Errors that stop the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `-run` job file is invalid.
    #[error("{0}")]
    Job(#[from] LoadError),
    /// `-run` without a local server.
    #[error("-run needs a server in this agent (use -dev)")]
    RunWithoutServer,
    /// The temporary data directory could not be made.
    #[error("cannot create a temporary data directory: {0}")]
    TempDir(#[source] std::io::Error),
    /// Logging could not be set up.
    #[error(transparent)]
    Logging(#[from] logging::LoggingError),
    /// The local API client could not be built.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The server stopped with an error.
    #[error("server: {0}")]
    Server(#[source] nomadish_server::ServerError),
    /// The client stopped with an error.
    #[error("client: {0}")]
    Client(#[source] wiring::ClientError),
    /// A client-only agent's HTTP listener could not start or failed.
    #[error("client: {0}")]
    ClientHttp(#[from] client_http::ClientHttpError),
}

/// Runs the agent; returns the process exit code.
pub async fn run(args: AgentArgs) -> i32 {
    match run_agent(args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("==> Error starting agent: {e}");
            1
        }
    }
}

/// The configuration the agent starts with before files and flags: `-dev` turns on a
/// server and a client, raw_exec, a single-server bootstrap and a loopback bind.
pub fn base_config(dev: bool) -> AgentConfig {
    let mut cfg = AgentConfig::default();
    if dev {
        cfg.server.enabled = Some(true);
        cfg.server.bootstrap_expect = Some(1);
        cfg.client.enabled = Some(true);
        cfg.raw_exec_enabled = Some(true);
        cfg.bind_addr = Some(Ipv4Addr::LOCALHOST.to_string());
    }
    cfg
}

/// The configuration the flags express.
pub fn flags_config(args: &AgentArgs) -> Result<AgentConfig, ConfigError> {
    let mut cfg = AgentConfig {
        name: args.node.clone(),
        region: args.region.clone(),
        datacenter: args.dc.clone(),
        data_dir: args.data_dir.clone(),
        bind_addr: args.bind.clone(),
        log_level: args.log_level.clone(),
        log_json: args.log_json.then_some(true),
        ..Default::default()
    };
    cfg.server.enabled = args.server.then_some(true);
    cfg.server.bootstrap_expect = args.bootstrap_expect;
    cfg.server.retry_join = args.retry_join.clone();
    cfg.acl.enabled = args.acl_enabled.then_some(true);
    cfg.client = client_flags(args)?;
    Ok(cfg)
}

/// The `client` settings the flags express; `-meta` takes `key=value`.
fn client_flags(args: &AgentArgs) -> Result<ClientBlock, ConfigError> {
    let mut meta = std::collections::BTreeMap::new();
    for pair in &args.meta {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(ConfigError::Invalid(format!(
                "-meta {pair:?} is not of the form key=value"
            )));
        };
        meta.insert(key.to_string(), value.to_string());
    }
    Ok(ClientBlock {
        enabled: args.client.then_some(true),
        servers: args.servers.clone(),
        node_class: args.node_class.clone(),
        node_pool: args.node_pool.clone(),
        meta,
        max_kill_timeout: None,
        host_volumes: std::collections::BTreeMap::new(),
    })
}

/// Loads files, applies flags and resolves the plan; the temporary directory (dev without
/// `-data-dir`) lives as long as the returned guard.
pub fn plan(args: &AgentArgs) -> Result<(AgentPlan, Option<tempfile::TempDir>), AgentError> {
    let merged = base_config(args.dev)
        .merge(&config::load_files(&args.configs)?)
        .merge(&flags_config(args)?);
    let temp = if args.dev && merged.data_dir.is_none() {
        let dir = tempfile::Builder::new()
            .prefix(DEV_DATA_DIR_PREFIX)
            .tempdir()
            .map_err(AgentError::TempDir)?;
        Some(dir)
    } else {
        None
    };
    let fallback_dir = temp.as_ref().map(|t| t.path().to_path_buf());
    let plan = config::resolve(&merged, args.dev, fallback_dir, outbound_ip())?;
    Ok((plan, temp))
}

/// The IP of the interface with the default route, or loopback when there is none.
fn outbound_ip() -> IpAddr {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect(ROUTE_PROBE_ADDR).and_then(|()| s.local_addr()))
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

async fn run_agent(args: AgentArgs) -> Result<(), AgentError> {
    let (plan, _temp_dir) = plan(&args)?;
    let job = match &args.run {
        Some(_) if plan.server.is_none() => return Err(AgentError::RunWithoutServer),
        Some(path) => Some(load_job(path, args.run_json)?),
        None => None,
    };
    logging::init(&plan.log)?;
    print!("{}", banner::format_banner(&plan.banner));
    for warning in &plan.banner.warnings {
        tracing::warn!("{warning}");
    }
    let (trigger, shutdown) = signals::shutdown_channel();
    let trigger = Arc::new(trigger);
    let listener = signals::spawn_signal_listener(Arc::clone(&trigger));
    let runner = match job {
        Some(job) => Some(spawn_dev_run(&plan, job, shutdown.clone())?),
        None => None,
    };
    let result = run_sides(plan, shutdown, trigger).await;
    if let Some(runner) = runner {
        runner.abort();
    }
    listener.abort();
    result
}

/// Starts `-run` in the background; its errors are printed, the agent keeps serving.
fn spawn_dev_run(
    plan: &AgentPlan,
    job: Job,
    shutdown: Shutdown,
) -> Result<tokio::task::JoinHandle<()>, AgentError> {
    let agent_tls = plan
        .server
        .as_ref()
        .and_then(|s| s.tls.as_ref())
        .filter(|t| t.http);
    let tls = agent_tls.map_or_else(CliTlsConfig::default, |t| CliTlsConfig {
        ca_cert: Some(t.ca_file.clone()),
        client_cert: Some(t.cert_file.clone()),
        client_key: Some(t.key_file.clone()),
        ..CliTlsConfig::default()
    });
    let api = ApiClient::new(ApiConfig {
        address: plan.http_url.clone(),
        tls,
        ..Default::default()
    })?;
    let local_client = plan.client.is_some();
    Ok(tokio::spawn(async move {
        let sink = follow::console_sink();
        if let Err(e) = dev_run::run_job(api, job, local_client, shutdown, sink).await {
            eprintln!("==> {e}");
        }
    }))
}

/// Runs the server and client until shutdown; the first to fail stops the other.
async fn run_sides(
    plan: AgentPlan,
    shutdown: Shutdown,
    trigger: Arc<ShutdownTrigger>,
) -> Result<(), AgentError> {
    let server = async {
        let Some(cfg) = plan.server else {
            return Ok(());
        };
        let result = nomadish_server::run(cfg, shutdown.clone().wait()).await;
        if result.is_err() {
            trigger.trigger();
        }
        result.map_err(AgentError::Server)
    };
    let client = async {
        let Some(cfg) = plan.client else {
            return Ok(());
        };
        run_client_side(cfg, plan.client_http, &shutdown, &trigger).await
    };
    let (server, client) = tokio::join!(server, client);
    server.and(client)
}

/// Runs the client and, on a client-only agent, its HTTP listener (bound first, so a taken
/// port stops the agent before any task starts); the first to fail stops the other.
async fn run_client_side(
    cfg: wiring::ClientConfig,
    http: Option<client_http::ClientHttpConfig>,
    shutdown: &Shutdown,
    trigger: &ShutdownTrigger,
) -> Result<(), AgentError> {
    let status = wiring::ClientStatus::new();
    let listener = match http {
        Some(http) => Some(client_http::ClientHttp::bind(http, &cfg, status.clone()).await?),
        None => None,
    };
    let serve = async {
        let Some(listener) = listener else {
            return Ok(());
        };
        let result = listener.serve(shutdown.clone().wait()).await;
        if result.is_err() {
            trigger.trigger();
        }
        result.map_err(AgentError::ClientHttp)
    };
    let client = async {
        let result = wiring::run_client(cfg, status, shutdown.clone().wait()).await;
        if result.is_err() {
            trigger.trigger();
        }
        result.map_err(AgentError::Client)
    };
    let (serve, client) = tokio::join!(serve, client);
    client.and(serve)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
