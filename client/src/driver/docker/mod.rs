//! The `docker` driver: runs a task in a hardened container on the local Docker engine
//! (through `bollard`), copies its output into the alloc's log files, and re-attaches to
//! its containers after a client restart.
//!
//! ```text
//! start(spec)
//!   ├─ parse config, build the hardened create request (refusals happen here, before
//!   │  the engine is touched)
//!   ├─ container <task>-<alloc_id> already running? ── yes ──> re-attach (same ID)
//!   ├─ image present? ── no / force_pull ──> pull (auth, pull_timeout)
//!   └─ create, start, follow logs ──> DockerHandle (wait / stop / control)
//! ```
//!
//! Containers carry labels with the alloc, job, task, namespace and node; the ones of this
//! node whose allocation is gone are removed at startup and by a periodic reconciler.

pub mod config;
pub mod container;
mod control;
mod handle;
mod image;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::{ClientVersion, Docker};
use tokio::sync::OnceCell;

pub use config::{DOCKER, DockerPluginConfig, DockerTaskConfig};
pub use control::DockerControl;
pub use handle::DockerHandle;

use super::TaskSpec;
use crate::error::DriverError;
use crate::logs::{RotatingWriter, StreamKind, log_files};
use container::{ContainerInputs, LABEL_ALLOC_ID, LABEL_NODE_ID, container_name};

/// Timeout of ordinary engine requests, in seconds.
const REQUEST_TIMEOUT_SECS: u64 = 120;
/// The oldest API version asked for before negotiating (Docker 20.10).
const BASE_API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};
/// Added to a log file's modification time to cover the coarse clock file times use.
const MTIME_SLACK: Duration = Duration::from_millis(20);
/// How often the engine's health is re-checked.
pub const HEALTH_PERIOD: Duration = Duration::from_secs(15);
/// How often the reconciler looks for containers no task owns.
pub const RECONCILE_PERIOD: Duration = Duration::from_secs(60);
/// A container (and the client) must be at least this old before the reconciler may
/// remove it, so a task that is about to re-attach never loses its container.
pub const RECONCILE_GRACE: Duration = Duration::from_secs(120);

/// The driver's shared state: the engine connection, the client's plugin config, and the
/// containers live handles own.
#[derive(Debug)]
pub struct DockerDriver {
    config: DockerPluginConfig,
    node_id: String,
    client: OnceCell<Docker>,
    live: Mutex<HashSet<String>>,
    started: Instant,
}

impl DockerDriver {
    /// The driver for this node; the engine is contacted lazily.
    pub fn new(config: DockerPluginConfig, node_id: &str) -> Self {
        Self {
            config,
            node_id: node_id.to_string(),
            client: OnceCell::new(),
            live: Mutex::new(HashSet::new()),
            started: Instant::now(),
        }
    }

    /// The client's plugin config.
    pub fn config(&self) -> &DockerPluginConfig {
        &self.config
    }

    /// The engine connection, negotiating the API version on first use.
    pub async fn client(&self) -> Result<Docker, DriverError> {
        self.client
            .get_or_try_init(|| async {
                // Engines up to 28 speak 1.41; newer ones may refuse it, so try the newest
                // version bollard knows next. Negotiation lowers it to the engine's.
                match self.connect(&BASE_API_VERSION).await {
                    Ok(docker) => Ok(docker),
                    Err(first) => self
                        .connect(bollard::API_DEFAULT_VERSION)
                        .await
                        .map_err(|_| first),
                }
            })
            .await
            .cloned()
    }

    async fn connect(&self, version: &ClientVersion) -> Result<Docker, DriverError> {
        let endpoint = self.config.endpoint.as_str();
        let docker = if endpoint.starts_with("unix://") {
            Docker::connect_with_unix(endpoint, REQUEST_TIMEOUT_SECS, version)
        } else {
            Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, version)
        }
        .map_err(|e| engine("connect", e))?;
        docker
            .negotiate_version()
            .await
            .map_err(|e| engine("connect", e))
    }

    /// The engine's version when it answers (`driver.docker.version`), else `None`.
    pub async fn fingerprint(&self) -> Option<String> {
        let docker = self.client().await.ok()?;
        let version = tokio::time::timeout(Duration::from_secs(5), docker.version())
            .await
            .ok()?
            .ok()?;
        version.version
    }

    /// Re-checks the engine every [`HEALTH_PERIOD`] until `stop`, updating the node's
    /// `driver.docker` attributes and driver health when the answer changes.
    pub fn spawn_health(
        self: &Arc<Self>,
        node: tokio::sync::watch::Sender<nomadish_proto::model::Node>,
        stop: crate::shutdown::Stop,
    ) -> tokio::task::JoinHandle<()> {
        self.spawn_health_every(HEALTH_PERIOD, node, stop)
    }

    fn spawn_health_every(
        self: &Arc<Self>,
        period: Duration,
        node: tokio::sync::watch::Sender<nomadish_proto::model::Node>,
        mut stop: crate::shutdown::Stop,
    ) -> tokio::task::JoinHandle<()> {
        let driver = self.clone();
        tokio::spawn(async move {
            loop {
                if stop.sleep(period).await {
                    return;
                }
                let version = driver.fingerprint().await;
                node.send_if_modified(|n| {
                    let healthy = n.drivers.get(DOCKER).is_some_and(|d| d.healthy);
                    let same_version =
                        n.attributes.get("driver.docker.version") == version.as_ref();
                    match &version {
                        Some(_) if healthy && same_version => false,
                        Some(v) => {
                            tracing::info!(version = %v, "docker engine answers: driver healthy");
                            crate::fingerprint::add_docker(n, v);
                            true
                        }
                        None if !healthy => false,
                        None => {
                            tracing::warn!("docker engine stopped answering: driver unhealthy");
                            crate::fingerprint::remove_docker(n, "Docker engine not reachable");
                            true
                        }
                    }
                });
            }
        })
    }

    /// Starts the task's container, or re-attaches to it if it is already running.
    pub async fn start(self: &Arc<Self>, spec: &TaskSpec) -> Result<DockerHandle, DriverError> {
        let task = DockerTaskConfig::parse(&spec.config)?;
        let alloc_id = spec.env.get("NOMAD_ALLOC_ID").cloned().unwrap_or_default();
        let alloc_dir = spec.task_dir.parent().unwrap_or(&spec.task_dir);
        let number = |k: &str| {
            spec.env
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let inputs = ContainerInputs {
            task_name: &spec.task_name,
            alloc_id: &alloc_id,
            node_id: &self.node_id,
            user: &spec.user,
            memory_mb: number("NOMAD_MEMORY_LIMIT"),
            memory_max_mb: number("NOMAD_MEMORY_MAX_LIMIT"),
            cpu_mhz: number("NOMAD_CPU_LIMIT"),
            env: &spec.env,
            alloc_dir,
            task_dir: &spec.task_dir,
            host_mounts: &spec.host_mounts,
        };
        let body = container::build(&self.config, &task, &inputs)?;
        let docker = self.client().await?;
        let name = container_name(&spec.task_name, &alloc_id);
        if let Some(handle) = self.reattach(&docker, spec, &name, &task.image).await? {
            return Ok(handle);
        }
        image::ensure(
            &docker,
            &task.image,
            task.force_pull,
            task.auth.as_ref(),
            self.config.pull_timeout,
        )
        .await?;
        prepare_dirs(
            alloc_dir,
            &spec.task_dir,
            body.user.as_deref().unwrap_or_default(),
        );
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = match docker
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => {
                // A stopped container of an earlier run still holds the name.
                self.remove_container(&name).await;
                docker.create_container(Some(options), body).await
            }
            other => other,
        }
        .map_err(|e| engine("create", e))?;
        if let Err(e) = docker.start_container(&created.id, None).await {
            self.remove_container(&created.id).await;
            return Err(engine("start", e));
        }
        let logs = match open_logs(&docker, spec, &created.id, None).await {
            Ok(logs) => logs,
            Err(e) => {
                self.remove_container(&created.id).await;
                return Err(e);
            }
        };
        tracing::info!(container = %created.id, %name, image = %task.image, "container started");
        Ok(DockerHandle::new(
            self.clone(),
            docker,
            created.id,
            task.image,
            false,
            logs,
        ))
    }

    /// Finds a running container of this task left by a previous client run and takes it
    /// over; a stopped one is removed so the task starts fresh.
    async fn reattach(
        self: &Arc<Self>,
        docker: &Docker,
        spec: &TaskSpec,
        name: &str,
        image: &str,
    ) -> Result<Option<DockerHandle>, DriverError> {
        let info = match docker.inspect_container(name, None).await {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(e) => return Err(engine("inspect", e)),
        };
        let id = info.id.clone().unwrap_or_default();
        let labels = info
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let ours = labels.get(LABEL_NODE_ID) == Some(&self.node_id);
        let running = info.state.as_ref().and_then(|s| s.running) == Some(true);
        if !ours || !running || self.is_tracked(&id) {
            self.remove_container(&id).await;
            return Ok(None);
        }
        let after = last_log_write(&spec.log_dir, &spec.task_name);
        let logs = open_logs(docker, spec, &id, Some(after)).await?;
        tracing::info!(container = %id, %name, "re-attached to running container");
        Ok(Some(DockerHandle::new(
            self.clone(),
            docker.clone(),
            id,
            image.to_string(),
            true,
            logs,
        )))
    }

    /// Removes this node's containers whose allocation is not in `live_allocs` (startup,
    /// after a crash: the allocations the client was running are the ones it may re-attach).
    pub async fn remove_orphans(&self, live_allocs: &BTreeSet<String>) -> usize {
        let Ok(containers) = self.own_containers().await else {
            return 0;
        };
        let mut removed = 0;
        for (id, alloc_id, _) in containers {
            if !live_allocs.contains(&alloc_id) && !self.is_tracked(&id) {
                tracing::warn!(container = %id, %alloc_id, "removing orphaned container");
                self.remove_container(&id).await;
                removed += 1;
            }
        }
        removed
    }

    /// Periodically removes this node's containers that no task owns any more.
    pub fn spawn_reconciler(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let driver = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECONCILE_PERIOD).await;
                let Some(driver) = driver.upgrade() else {
                    return;
                };
                if !driver.config.gc.container || driver.started.elapsed() < RECONCILE_GRACE {
                    continue;
                }
                let Ok(containers) = driver.own_containers().await else {
                    continue;
                };
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                for (id, alloc_id, created) in containers {
                    let old = now - created > RECONCILE_GRACE.as_secs() as i64;
                    if old && !driver.is_tracked(&id) {
                        tracing::warn!(container = %id, %alloc_id, "removing dangling container");
                        driver.remove_container(&id).await;
                    }
                }
            }
        })
    }

    /// (ID, alloc ID, creation time) of every container this node created.
    async fn own_containers(&self) -> Result<Vec<(String, String, i64)>, DriverError> {
        let docker = self.client().await?;
        let label = format!("{LABEL_NODE_ID}={}", self.node_id);
        let filters = HashMap::from([("label", vec![label.as_str()])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| engine("list", e))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let alloc = c.labels.as_ref()?.get(LABEL_ALLOC_ID)?.clone();
                Some((c.id?, alloc, c.created.unwrap_or(0)))
            })
            .collect())
    }

    /// Force-removes a container (and its anonymous volumes); a missing one is fine.
    pub async fn remove_container(&self, id: &str) {
        let Ok(docker) = self.client().await else {
            return;
        };
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match docker.remove_container(id, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => tracing::warn!(container = %id, error = %e, "removing container failed"),
        }
    }

    fn track(&self, id: &str) {
        self.live_set().insert(id.to_string());
    }

    fn untrack(&self, id: &str) {
        self.live_set().remove(id);
    }

    fn is_tracked(&self, id: &str) -> bool {
        self.live_set().contains(id)
    }

    fn live_set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn engine(op: &'static str, e: impl std::fmt::Display) -> DriverError {
    DriverError::Engine {
        op,
        reason: e.to_string(),
    }
}

/// Opens the task's log files and starts copying the container's output into them.
async fn open_logs(
    docker: &Docker,
    spec: &TaskSpec,
    id: &str,
    after: Option<String>,
) -> Result<Option<tokio::task::JoinHandle<()>>, DriverError> {
    if spec.log_config.disabled {
        return Ok(None);
    }
    let open = |kind| RotatingWriter::open(&spec.log_dir, &spec.task_name, kind, &spec.log_config);
    let out = open(StreamKind::Stdout)
        .await
        .map_err(|source| DriverError::Logs { source })?;
    let err = open(StreamKind::Stderr)
        .await
        .map_err(|source| DriverError::Logs { source })?;
    Ok(Some(handle::copy_logs(
        docker.clone(),
        id.to_string(),
        after,
        out,
        err,
    )))
}

/// The last time the task's newest log files were written, as the engine stamps log lines
/// (the epoch when there are none): a re-attached follower copies only what came after.
fn last_log_write(log_dir: &Path, task: &str) -> String {
    let newest = [StreamKind::Stdout, StreamKind::Stderr]
        .into_iter()
        .filter_map(|kind| log_files(log_dir, task, kind).ok()?.last().cloned())
        .filter_map(|(_, path)| std::fs::metadata(path).ok()?.modified().ok())
        .max();
    match newest {
        // File times come from the kernel's coarse clock, which may lag the engine's
        // timestamp of the last copied line by a tick.
        Some(time) => handle::log_timestamp(time + MTIME_SLACK),
        None => handle::log_timestamp(SystemTime::UNIX_EPOCH),
    }
}

/// Lets the container's user write its task dirs: `local`, `secrets` and `tmp` are given
/// to the container's numeric user (when the agent may chown, i.e. runs as root), and the shared
/// `alloc/data` and `alloc/tmp` are world-writable (as in Nomad).
fn prepare_dirs(alloc_dir: &Path, task_dir: &Path, user: &str) {
    use std::os::unix::fs::PermissionsExt;
    for shared in ["data", "tmp"] {
        let dir = alloc_dir.join("alloc").join(shared);
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
    }
    let mut ids = user.splitn(2, ':');
    let uid = match ids.next() {
        Some("nobody") => Some(65534),
        Some(u) => u.parse::<u32>().ok(),
        None => None,
    };
    let Some(uid) = uid else {
        return;
    };
    let gid = ids
        .next()
        .and_then(|g| g.parse::<u32>().ok())
        .unwrap_or(uid);
    for sub in ["local", "secrets", "tmp"] {
        let dir = task_dir.join(sub);
        if let Err(e) = std::os::unix::fs::chown(&dir, Some(uid), Some(gid)) {
            tracing::debug!(dir = %dir.display(), error = %e, "chown for the container user failed");
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
