//! Turning the merged [`AgentConfig`] into what the agent runs: a server configuration, a
//! client configuration (either or both, sharing one TLS configuration), logging settings
//! and the startup banner, with its warnings (a non-dev agent without TLS on RPC).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use nomadish_proto::model::ClientHostVolumeConfig;
use nomadish_proto::tls::TlsConfig;
use nomadish_server::ServerConfig;

use super::{AgentConfig, ConfigError};
use crate::agent::client_http::ClientHttpConfig;
use crate::agent::wiring::ClientConfig;

/// Default HTTP API port.
pub const DEFAULT_HTTP_PORT: u16 = 4646;
/// Default RPC (gRPC) port.
pub const DEFAULT_RPC_PORT: u16 = 4647;
/// Default log level.
pub const DEFAULT_LOG_LEVEL: &str = "INFO";
/// Log levels `-log-level` accepts.
pub const LOG_LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
/// Largest `raft_multiplier` Nomad allows.
pub const MAX_RAFT_MULTIPLIER: u32 = 10;

/// How the agent logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Upper-case level (`INFO`).
    pub level: String,
    /// JSON lines instead of text.
    pub json: bool,
}

/// What the startup banner shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Whether a client runs.
    pub client: bool,
    /// Whether a server runs.
    pub server: bool,
    /// Region.
    pub region: String,
    /// Datacenter.
    pub datacenter: String,
    /// `HTTP: a; RPC: b`.
    pub bind_addrs: String,
    /// `HTTP: a; RPC: b` as advertised.
    pub advertise_addrs: String,
    /// Log level.
    pub log_level: String,
    /// Warnings printed with the banner (`==> WARNING: ...`).
    pub warnings: Vec<String>,
}

/// Everything the agent needs to start.
#[derive(Debug, Clone)]
pub struct AgentPlan {
    /// The server to run, if any.
    pub server: Option<ServerConfig>,
    /// The client to run, if any.
    pub client: Option<ClientConfig>,
    /// Logging.
    pub log: LogSettings,
    /// Banner contents.
    pub banner: Banner,
    /// Where the local HTTP API can be reached (for `-run`).
    pub http_url: String,
    /// The HTTP listener of a client-only agent (probes, metrics, agent self); a server
    /// serves the whole API itself.
    pub client_http: Option<ClientHttpConfig>,
}

/// Resolves the merged configuration. `data_dir` is used when the configuration names none
/// (the dev agent's temporary directory); `default_ip` is advertised when binding to an
/// unspecified address (0.0.0.0) without an `advertise` block.
pub fn resolve(
    cfg: &AgentConfig,
    dev: bool,
    data_dir: Option<PathBuf>,
    default_ip: IpAddr,
) -> Result<AgentPlan, ConfigError> {
    let server_on = cfg.server.enabled.unwrap_or(false);
    let client_on = cfg.client.enabled.unwrap_or(false);
    if !server_on && !client_on {
        return Err(invalid(
            "Must specify either server, client or dev mode for the agent.",
        ));
    }
    let data_dir = cfg
        .data_dir
        .clone()
        .or(data_dir)
        .ok_or_else(|| invalid("Must specify data directory"))?;
    let log = log_settings(cfg)?;
    let addrs = Addresses::resolve(cfg, default_ip)?;
    let region = cfg.region.clone().unwrap_or_else(|| "global".to_string());
    let datacenter = cfg.datacenter.clone().unwrap_or_else(|| "dc1".to_string());
    let tls = cfg.tls.resolve(&region)?;
    let server = if server_on {
        let mut s = server_config(cfg, dev, &data_dir, &addrs, &region, &datacenter)?;
        s.tls = tls.clone();
        Some(s)
    } else {
        None
    };
    let client = if client_on {
        let own_server = server.as_ref().map(ServerConfig::rpc_advertise);
        let mut c = client_config(cfg, &data_dir, &addrs, own_server, &region, &datacenter)?;
        c.tls = tls.clone();
        Some(c)
    } else {
        None
    };
    let mut banner = addrs.banner(&server, &client, region, datacenter, &log);
    banner.warnings = tls_warnings(dev, tls.as_ref(), server.is_some(), addrs.rpc_bind.port());
    let https = tls.as_ref().is_some_and(|t| t.http);
    let client_http = (server.is_none() && client.is_some()).then(|| ClientHttpConfig {
        bind: addrs.http_bind,
        advertise: addrs.http_advertise.clone(),
        tls: tls.clone(),
        acl_enabled: cfg.acl.enabled.unwrap_or(false),
    });
    Ok(AgentPlan {
        banner,
        server,
        client,
        log,
        http_url: addrs.local_http_url(https),
        client_http,
    })
}

/// The banner's TLS warnings: a non-dev agent without TLS on RPC is open to anyone who can
/// reach it (a server) or talks to its servers in the clear (a client).
pub fn tls_warnings(
    dev: bool,
    tls: Option<&TlsConfig>,
    server: bool,
    rpc_port: u16,
) -> Vec<String> {
    if dev || tls.is_some_and(|t| t.rpc) {
        return Vec::new();
    }
    let warning = if server {
        format!(
            "TLS is not enabled on RPC; any host that can reach port {rpc_port} can act as a \
             client or server."
        )
    } else {
        "TLS is not enabled on RPC; this client talks to its servers unencrypted and cannot \
         tell a real server from an impostor."
            .to_string()
    };
    vec![warning]
}

fn invalid(message: &str) -> ConfigError {
    ConfigError::Invalid(message.to_string())
}

fn log_settings(cfg: &AgentConfig) -> Result<LogSettings, ConfigError> {
    let level = cfg
        .log_level
        .clone()
        .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_string())
        .to_uppercase();
    if !LOG_LEVELS.contains(&level.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "Invalid log level {level:?}; valid levels: {}",
            LOG_LEVELS.join(", ")
        )));
    }
    Ok(LogSettings {
        level,
        json: cfg.log_json.unwrap_or(false),
    })
}

/// Listen and advertise addresses.
struct Addresses {
    http_bind: SocketAddr,
    rpc_bind: SocketAddr,
    http_advertise: String,
    rpc_advertise: String,
}

impl Addresses {
    fn resolve(cfg: &AgentConfig, default_ip: IpAddr) -> Result<Self, ConfigError> {
        let bind_text = cfg
            .bind_addr
            .clone()
            .unwrap_or_else(|| "0.0.0.0".to_string());
        let bind: IpAddr = bind_text.parse().map_err(|_| {
            ConfigError::Invalid(format!("bind_addr {bind_text:?} is not an IP address"))
        })?;
        let http_bind = SocketAddr::new(bind, cfg.ports.http.unwrap_or(DEFAULT_HTTP_PORT));
        let rpc_bind = SocketAddr::new(bind, cfg.ports.rpc.unwrap_or(DEFAULT_RPC_PORT));
        let ip = if bind.is_unspecified() {
            default_ip
        } else {
            bind
        };
        Ok(Self {
            http_bind,
            rpc_bind,
            http_advertise: advertise(&cfg.advertise.http, ip, http_bind.port()),
            rpc_advertise: advertise(&cfg.advertise.rpc, ip, rpc_bind.port()),
        })
    }

    /// The startup banner's contents.
    fn banner(
        &self,
        server: &Option<ServerConfig>,
        client: &Option<ClientConfig>,
        region: String,
        datacenter: String,
        log: &LogSettings,
    ) -> Banner {
        Banner {
            client: client.is_some(),
            server: server.is_some(),
            region,
            datacenter,
            bind_addrs: format!("HTTP: {}; RPC: {}", self.http_bind, self.rpc_bind),
            advertise_addrs: format!("HTTP: {}; RPC: {}", self.http_advertise, self.rpc_advertise),
            log_level: log.level.clone(),
            warnings: Vec::new(),
        }
    }

    /// The URL the agent itself uses to reach its HTTP API (`https` with `tls.http`).
    fn local_http_url(&self, https: bool) -> String {
        let ip = if self.http_bind.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.http_bind.ip()
        };
        let scheme = if https { "https" } else { "http" };
        format!("{scheme}://{}", SocketAddr::new(ip, self.http_bind.port()))
    }
}

/// `configured` with `port` added when it has none, or `ip:port`.
fn advertise(configured: &Option<String>, ip: IpAddr, port: u16) -> String {
    match configured {
        Some(addr) if addr.parse::<SocketAddr>().is_ok() => addr.clone(),
        Some(addr) if addr.parse::<IpAddr>().is_ok() => {
            SocketAddr::new(addr.parse().unwrap_or(ip), port).to_string()
        }
        Some(addr) if addr.contains(':') => addr.clone(),
        Some(host) => format!("{host}:{port}"),
        None => SocketAddr::new(ip, port).to_string(),
    }
}

fn server_config(
    cfg: &AgentConfig,
    dev: bool,
    data_dir: &std::path::Path,
    addrs: &Addresses,
    region: &str,
    datacenter: &str,
) -> Result<ServerConfig, ConfigError> {
    let block = &cfg.server;
    let mut s = ServerConfig::new(data_dir.to_path_buf());
    if let Some(name) = &cfg.name {
        s.node_name = name.clone();
    }
    s.region = region.to_string();
    s.datacenter = datacenter.to_string();
    s.http_bind = addrs.http_bind;
    s.rpc_bind = addrs.rpc_bind;
    s.advertise_http = Some(addrs.http_advertise.clone());
    s.advertise_rpc = Some(addrs.rpc_advertise.clone());
    s.dev_mode = dev;
    s.bootstrap_expect = block.bootstrap_expect.unwrap_or(1);
    if s.bootstrap_expect == 0 {
        return Err(invalid("server.bootstrap_expect must be at least 1"));
    }
    if dev && s.bootstrap_expect != 1 {
        return Err(invalid("Bootstrap requires 1 server in dev mode"));
    }
    s.retry_join = block.retry_join.clone();
    s.raft_multiplier = block.raft_multiplier.unwrap_or(1);
    if !(1..=MAX_RAFT_MULTIPLIER).contains(&s.raft_multiplier) {
        return Err(ConfigError::Invalid(format!(
            "server.raft_multiplier must be between 1 and {MAX_RAFT_MULTIPLIER}"
        )));
    }
    if let Some(n) = block.num_schedulers {
        s.num_schedulers = n;
    }
    if let Some(n) = block.snapshot_threshold {
        if n == 0 {
            return Err(invalid("server.snapshot_threshold must be at least 1"));
        }
        s.snapshot_threshold = n;
    }
    if let Some(n) = block.trailing_logs {
        s.trailing_logs = n;
    }
    s.gc = block.gc.resolve();
    s.acl.enabled = cfg.acl.enabled.unwrap_or(false);
    s.audit.enabled = cfg.audit.enabled.unwrap_or(true);
    s.audit.path = cfg.audit.path.clone();
    let hb = &mut s.heartbeat;
    hb.grace = block.heartbeat_grace.unwrap_or(hb.grace);
    hb.min_ttl = block.min_heartbeat_ttl.unwrap_or(hb.min_ttl);
    hb.failover_ttl = block.failover_heartbeat_ttl.unwrap_or(hb.failover_ttl);
    hb.max_per_second = block.max_heartbeats_per_second.unwrap_or(hb.max_per_second);
    if hb.max_per_second <= 0.0 || !hb.max_per_second.is_finite() {
        return Err(invalid("server.max_heartbeats_per_second must be positive"));
    }
    Ok(s)
}

fn client_config(
    cfg: &AgentConfig,
    data_dir: &std::path::Path,
    addrs: &Addresses,
    own_server: Option<String>,
    region: &str,
    datacenter: &str,
) -> Result<ClientConfig, ConfigError> {
    let block = &cfg.client;
    let mut servers = block.servers.clone();
    if servers.is_empty() {
        servers.extend(own_server);
    }
    if servers.is_empty() {
        return Err(invalid(
            "A client needs servers: use -servers or client { servers = [...] }",
        ));
    }
    let mut c = ClientConfig::new(data_dir.to_path_buf(), servers);
    if let Some(name) = &cfg.name {
        c.node_name = name.clone();
    }
    c.region = region.to_string();
    c.datacenter = datacenter.to_string();
    if let Some(class) = &block.node_class {
        c.node_class = class.clone();
    }
    if let Some(pool) = &block.node_pool {
        c.node_pool = pool.clone();
    }
    c.meta = block.meta.clone();
    c.raw_exec_enabled = cfg.raw_exec_enabled.unwrap_or(false);
    c.plugins = cfg.plugins.clone();
    c.http_addr = addrs.http_advertise.clone();
    if let Some(t) = block.max_kill_timeout {
        c.max_kill_timeout = t;
    }
    c.host_volumes = host_volumes(block)?;
    Ok(c)
}

/// The client's host volumes, each path an existing directory.
fn host_volumes(
    block: &super::ClientBlock,
) -> Result<BTreeMap<String, ClientHostVolumeConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, volume) in &block.host_volumes {
        let Some(path) = &volume.path else {
            return Err(invalid(&format!(
                "client.host_volume {name:?} needs a path"
            )));
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(invalid(&format!(
                    "client.host_volume {name:?}: path {} is not a directory",
                    path.display()
                )));
            }
            Err(err) => {
                return Err(invalid(&format!(
                    "client.host_volume {name:?}: path {}: {err}",
                    path.display()
                )));
            }
        }
        let config = ClientHostVolumeConfig {
            name: name.clone(),
            path: path.display().to_string(),
            read_only: volume.read_only.unwrap_or(false),
        };
        out.insert(name.clone(), config);
    }
    Ok(out)
}
