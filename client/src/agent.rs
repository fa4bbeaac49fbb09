//! The client agent's top level: prepare the data directory, recover from a previous run,
//! fingerprint, then run the heartbeat, watcher, updater and tunnel loops until shutdown.
//!
//! ```text
//! run(config, shutdown) / run_with_status(config, status, shutdown)
//!   ├─ identity (node.json), state recovery (kill leftover task groups), fingerprint
//!   ├─ spawn heartbeat ──registered──> watcher (in this task) ──> alloc manager ──> runners
//!   ├─ spawn updater  <── runners push AllocClientUpdates
//!   ├─ spawn tunnel   ──> log streams from alloc dirs
//!   └─ on shutdown: stop heartbeat/tunnel/watcher, kill every task and wait,
//!                   flush final updates (bounded), wait for every loop
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use nomadish_proto::model::Node;
use tokio::sync::watch;

use crate::allocrunner::AllocRunnerDeps;
use crate::checks::ServiceSync;
use crate::config::ClientConfig;
use crate::controls::TaskControls;
use crate::driver::DriverContext;
use crate::driver::docker::{DOCKER, DockerDriver, DockerPluginConfig};
use crate::error::ClientError;
use crate::identity::NodeIdentity;
use crate::manager::AllocManager;
use crate::registry::AllocRegistry;
use crate::servers::ServerPool;
use crate::shutdown::StopSource;
use crate::state::StateStore;
use crate::status::ClientStatus;
use crate::taskrunner::TaskRunnerDeps;
use crate::tunnel::TunnelDeps;
use crate::updates::Updater;
use crate::{fingerprint, heartbeat, tunnel, updates, watcher};

/// Runs the client agent until `shutdown` resolves, then kills every task it runs, reports
/// their final states if a server is reachable, and returns once everything it spawned has
/// finished.
pub async fn run(
    config: ClientConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ClientError> {
    run_with_status(config, ClientStatus::new(), shutdown).await
}

/// Like [`run`], reporting the node's standing with the servers to `status` (read by a
/// client-only agent's probes).
pub async fn run_with_status(
    config: ClientConfig,
    status: ClientStatus,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ClientError> {
    let Prepared {
        pool,
        identity,
        node,
        mut manager,
        updater,
        tunnel_deps,
        drivers,
        services,
    } = prepare(config).await?;
    status.set_node(&node.id, &node.name);
    let loops = StopSource::new();
    let updates_stop = StopSource::new();
    let (registered_tx, registered) = watch::channel(false);
    let (node_tx, node_rx) = watch::channel(node);
    let docker_health = drivers
        .docker
        .as_ref()
        .map(|driver| driver.spawn_health(node_tx.clone(), loops.subscribe()));
    let heartbeat = tokio::spawn(heartbeat::run(
        pool.clone(),
        node_rx,
        registered_tx,
        status,
        loops.subscribe(),
    ));
    let updates = tokio::spawn(updates::run(
        updater,
        pool.clone(),
        identity.clone(),
        updates_stop.subscribe(),
    ));
    let service_sync = tokio::spawn(crate::checks::sync::run(services, updates_stop.subscribe()));
    let tunnel = tokio::spawn(tunnel::run(
        tunnel_deps,
        registered.clone(),
        loops.subscribe(),
    ));

    tokio::select! {
        () = watcher::run(pool, identity, &mut manager, registered, loops.subscribe()) => {}
        () = shutdown => {}
    }
    tracing::info!("client shutting down: stopping tasks");
    loops.stop();
    manager.shutdown().await;
    updates_stop.stop();
    if let Some(health) = docker_health {
        let _ = health.await;
    }
    drop(node_tx);
    for (name, handle) in [
        ("heartbeat", heartbeat),
        ("updates", updates),
        ("services", service_sync),
        ("tunnel", tunnel),
    ] {
        if let Err(e) = handle.await {
            tracing::error!(task = name, error = %e, "client loop ended abnormally");
        }
    }
    tracing::info!("client stopped");
    Ok(())
}

/// Everything the loops need, ready before any of them starts.
struct Prepared {
    pool: ServerPool,
    identity: NodeIdentity,
    node: Node,
    manager: AllocManager,
    updater: Updater,
    tunnel_deps: TunnelDeps,
    drivers: DriverContext,
    services: ServiceSync,
}

/// TLS for the connections to servers: the client's certificate must be
/// `client.<region>.nomadish` (a server's certificate is accepted too, for agents running
/// both).
fn rpc_tls(
    config: &ClientConfig,
) -> Result<Option<nomadish_proto::tls::RpcClientTls>, ClientError> {
    use nomadish_proto::tls::Role;
    let Some(tls) = config.tls.as_ref().filter(|t| t.rpc) else {
        return Ok(None);
    };
    let identity = tls
        .identity()
        .map_err(|source| ClientError::Tls { source })?;
    let role_ok = matches!(identity.role, Role::Client | Role::Server);
    if !role_ok || !identity.region.eq_ignore_ascii_case(&config.region) {
        return Err(ClientError::WrongCertificate(format!(
            "{} is a certificate for {}; a client in region {:?} needs one for {}",
            tls.cert_file.display(),
            identity.name,
            config.region,
            Role::Client.cert_name(&config.region)
        )));
    }
    tls.rpc_client_tls()
        .map(Some)
        .map_err(|source| ClientError::Tls { source })
}

/// The SSH driver when `plugin "ssh"` is configured (its config was checked when the agent
/// configuration was read; a config that no longer parses disables the driver).
fn ssh_driver(config: &ClientConfig) -> Option<Arc<crate::driver::ssh::SshDriver>> {
    let body = config.plugins.get(crate::driver::ssh::SSH)?;
    match crate::driver::ssh::SshPluginConfig::parse(body) {
        Ok(c) => Some(Arc::new(crate::driver::ssh::SshDriver::new(c))),
        Err(e) => {
            tracing::error!(error = %e, "plugin \"ssh\" config is invalid; the ssh driver is disabled");
            None
        }
    }
}

/// Creates the directories, loads the identity, recovers from a previous run and
/// fingerprints the node.
async fn prepare(config: ClientConfig) -> Result<Prepared, ClientError> {
    let config = absolute_data_dir(config)?;
    let (client_dir, alloc_root) = (config.client_dir(), config.alloc_root());
    for dir in [&client_dir, &alloc_root] {
        std::fs::create_dir_all(dir).map_err(|e| ClientError::io("create", dir, e))?;
    }
    let pool = ServerPool::new(config.servers.clone(), rpc_tls(&config)?)?;
    let identity = NodeIdentity::load_or_create(&client_dir)?;
    let (state, recovered) = StateStore::open(&client_dir).await?;
    if !recovered.killed.is_empty() {
        tracing::warn!(
            groups = recovered.killed.len(),
            "killed task processes left by a previous client run"
        );
    }
    let mut node = fingerprint::fingerprint(&config, &identity);
    let docker = docker_driver(&config, &identity, &recovered.allocs, &mut node).await?;
    tracing::info!(node_id = %node.id, name = %node.name, servers = ?config.servers, "client starting");
    let updater = Updater::default();
    let services = ServiceSync::new(pool.clone(), identity.clone());
    let registry = AllocRegistry::default();
    let controls = TaskControls::default();
    let drivers = DriverContext {
        raw_exec_enabled: config.raw_exec_enabled,
        ssh: ssh_driver(&config),
        docker,
    };
    let deps = Arc::new(AllocRunnerDeps {
        alloc_root: alloc_root.clone(),
        tasks: Arc::new(TaskRunnerDeps {
            drivers: drivers.clone(),
            node: Arc::new(node.clone()),
            region: config.region.clone(),
            max_kill_timeout: config.max_kill_timeout,
            state: state.clone(),
            controls: controls.clone(),
            servers: Some(pool.clone()),
        }),
        updater: updater.clone(),
        services: services.clone(),
    });
    Ok(Prepared {
        manager: AllocManager::new(deps, registry.clone(), recovered.allocs),
        tunnel_deps: TunnelDeps {
            pool: pool.clone(),
            identity: identity.clone(),
            registry,
            alloc_root,
            controls,
            state,
        },
        pool,
        identity,
        node,
        updater,
        drivers,
        services,
    })
}

/// The Docker driver from `plugin "docker"` (default settings without one). When the engine
/// answers, the node advertises `driver.docker` and its version, this node's containers of
/// allocations that are gone are removed, and the reconciler starts.
async fn docker_driver(
    config: &ClientConfig,
    identity: &NodeIdentity,
    live_allocs: &std::collections::BTreeSet<String>,
    node: &mut Node,
) -> Result<Option<Arc<DockerDriver>>, ClientError> {
    let plugin = match config.plugins.get(DOCKER) {
        Some(value) => DockerPluginConfig::from_json(value).map_err(ClientError::PluginConfig)?,
        None => DockerPluginConfig::default(),
    };
    let driver = Arc::new(DockerDriver::new(plugin, &identity.id));
    let Some(version) = driver.fingerprint().await else {
        tracing::info!("docker engine not reachable: the docker driver is not available");
        return Ok(Some(driver));
    };
    fingerprint::add_docker(node, &version);
    let removed = driver.remove_orphans(live_allocs).await;
    if removed > 0 {
        tracing::warn!(
            removed,
            "removed containers of allocations this client no longer runs"
        );
    }
    driver.spawn_reconciler();
    Ok(Some(driver))
}

/// Makes the data dir absolute, so task environments and working directories are too.
fn absolute_data_dir(mut config: ClientConfig) -> Result<ClientConfig, ClientError> {
    let dir: PathBuf = std::path::absolute(&config.data_dir)
        .map_err(|e| ClientError::io("resolve", &config.data_dir, e))?;
    config.data_dir = dir;
    Ok(config)
}
