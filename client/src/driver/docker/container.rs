//! The container a task runs in: the hardened create request and the refusals.
//!
//! Every container gets the same defaults whatever the job says: all capabilities dropped,
//! a read-only root filesystem with a tmpfs `/tmp`, `no-new-privileges`, the user `nobody`,
//! a process limit, a memory limit without swap, the engine's default seccomp profile and
//! an init process. A job may only loosen one of them when the client's plugin config
//! allows it; otherwise [`build`] refuses with a message naming that option.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, HostConfig, HostConfigLogConfig, PortBinding, PortMap,
};

use super::config::{DOCKER, DockerPluginConfig, DockerTaskConfig};
use crate::error::DriverError;

/// The user containers run as unless the task sets another one and the client allows it.
pub const NOBODY: &str = "65534:65534";
/// Label with the allocation ID (Nomad's label names).
pub const LABEL_ALLOC_ID: &str = "com.hashicorp.nomad.alloc_id";
/// Label with the job ID.
pub const LABEL_JOB_ID: &str = "com.hashicorp.nomad.job_id";
/// Label with the task name.
pub const LABEL_TASK_NAME: &str = "com.hashicorp.nomad.task_name";
/// Label with the job's namespace.
pub const LABEL_NAMESPACE: &str = "com.hashicorp.nomad.namespace";
/// Label with the ID of the node whose client created the container.
pub const LABEL_NODE_ID: &str = "com.hashicorp.nomad.node_id";
/// Mount options of the writable `/tmp`.
const TMPFS_OPTIONS: &str = "rw,nosuid,nodev,size=64m";
/// Docker's minimum CPU shares.
const MIN_CPU_SHARES: i64 = 2;
const MIB: i64 = 1024 * 1024;

/// What the driver knows about the task besides its config block.
#[derive(Debug, Clone)]
pub struct ContainerInputs<'a> {
    pub task_name: &'a str,
    pub alloc_id: &'a str,
    pub node_id: &'a str,
    /// The task's `user` (empty: `nobody`).
    pub user: &'a str,
    /// Memory in MB, optional hard maximum in MB, CPU in MHz.
    pub memory_mb: i64,
    pub memory_max_mb: i64,
    pub cpu_mhz: i64,
    /// The task's environment (`NOMAD_*` and `env`), with host paths.
    pub env: &'a BTreeMap<String, String>,
    /// `data_dir/alloc/<id>`.
    pub alloc_dir: &'a Path,
    /// `data_dir/alloc/<id>/<task>`.
    pub task_dir: &'a Path,
    /// Host volumes the operator offers and the task mounts (allowed by definition).
    pub host_mounts: &'a [crate::driver::mounts::HostMount],
}

/// The container's name: `<task>-<alloc_id>`.
pub fn container_name(task: &str, alloc_id: &str) -> String {
    format!("{task}-{alloc_id}")
}

/// The message for a refused option: what was asked and which client option allows it.
pub fn refusal(what: &str, allow: &str) -> DriverError {
    DriverError::InvalidConfig {
        driver: DOCKER,
        reason: format!("{what} refused: set {allow} in the client's plugin \"docker\" config"),
    }
}

/// Builds the create request, or refuses what the client does not allow.
pub fn build(
    plugin: &DockerPluginConfig,
    task: &DockerTaskConfig,
    inputs: &ContainerInputs<'_>,
) -> Result<ContainerCreateBody, DriverError> {
    check_allowed(plugin, task, inputs)?;
    let user = if inputs.user.trim().is_empty() {
        NOBODY.to_string()
    } else {
        inputs.user.trim().to_string()
    };
    let mut labels: HashMap<String, String> = task.labels.clone().into_iter().collect();
    let env_get = |k: &str| inputs.env.get(k).cloned().unwrap_or_default();
    labels.insert(LABEL_ALLOC_ID.into(), inputs.alloc_id.to_string());
    labels.insert(LABEL_JOB_ID.into(), env_get("NOMAD_JOB_ID"));
    labels.insert(LABEL_TASK_NAME.into(), inputs.task_name.to_string());
    labels.insert(LABEL_NAMESPACE.into(), env_get("NOMAD_NAMESPACE"));
    labels.insert(LABEL_NODE_ID.into(), inputs.node_id.to_string());

    let (memory, reservation) = memory_limits(inputs.memory_mb, inputs.memory_max_mb);
    let pids_limit = if task.pids_limit > 0 {
        task.pids_limit.min(plugin.pids_limit)
    } else {
        plugin.pids_limit
    };
    let (exposed, bindings) = ports(&task.ports, inputs.env)?;
    let host_config = HostConfig {
        cap_drop: Some(vec!["ALL".to_string()]),
        cap_add: (!task.cap_add.is_empty()).then(|| task.cap_add.clone()),
        readonly_rootfs: Some(true),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_string(),
            TMPFS_OPTIONS.to_string(),
        )])),
        binds: Some(binds(plugin, task, inputs)?),
        security_opt: Some(vec!["no-new-privileges".to_string()]),
        init: Some(true),
        pids_limit: Some(pids_limit),
        memory,
        memory_reservation: reservation,
        memory_swap: memory,
        cpu_shares: Some(inputs.cpu_mhz.max(MIN_CPU_SHARES)),
        privileged: Some(task.privileged),
        network_mode: Some(if task.network_mode.is_empty() {
            "bridge".to_string()
        } else {
            task.network_mode.clone()
        }),
        pid_mode: non_empty(&task.pid_mode),
        ipc_mode: Some(if task.ipc_mode.is_empty() {
            "private".to_string()
        } else {
            task.ipc_mode.clone()
        }),
        uts_mode: non_empty(&task.uts_mode),
        userns_mode: non_empty(&task.userns_mode),
        runtime: non_empty(&task.runtime),
        devices: (!task.devices.is_empty()).then(|| {
            task.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host_path.clone()),
                    path_in_container: Some(if d.container_path.is_empty() {
                        d.host_path.clone()
                    } else {
                        d.container_path.clone()
                    }),
                    cgroup_permissions: Some(if d.cgroup_permissions.is_empty() {
                        "rwm".to_string()
                    } else {
                        d.cgroup_permissions.clone()
                    }),
                })
                .collect()
        }),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_string()),
            config: Some(HashMap::from([
                ("max-size".to_string(), "10m".to_string()),
                ("max-file".to_string(), "2".to_string()),
            ])),
        }),
        ..HostConfig::default()
    };
    let cmd = if task.command.is_empty() {
        (!task.args.is_empty()).then(|| task.args.clone())
    } else {
        Some(
            std::iter::once(task.command.clone())
                .chain(task.args.iter().cloned())
                .collect(),
        )
    };
    Ok(ContainerCreateBody {
        image: Some(task.image.clone()),
        cmd,
        entrypoint: (!task.entrypoint.is_empty()).then(|| task.entrypoint.clone()),
        working_dir: non_empty(&task.work_dir),
        user: Some(user),
        env: Some(container_env(inputs.env)),
        labels: Some(labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(host_config),
        ..ContainerCreateBody::default()
    })
}

/// Refuses every option that weakens isolation unless the client allows it.
fn check_allowed(
    plugin: &DockerPluginConfig,
    task: &DockerTaskConfig,
    inputs: &ContainerInputs<'_>,
) -> Result<(), DriverError> {
    if task.privileged && !plugin.allow_privileged {
        return Err(refusal("privileged = true", "allow_privileged = true"));
    }
    let namespaces = [
        (
            "network_mode",
            &task.network_mode,
            plugin.allow_host_network,
            "allow_host_network",
        ),
        (
            "pid_mode",
            &task.pid_mode,
            plugin.allow_host_pid,
            "allow_host_pid",
        ),
        (
            "ipc_mode",
            &task.ipc_mode,
            plugin.allow_host_ipc,
            "allow_host_ipc",
        ),
        (
            "uts_mode",
            &task.uts_mode,
            plugin.allow_host_uts,
            "allow_host_uts",
        ),
        (
            "userns_mode",
            &task.userns_mode,
            plugin.allow_host_userns,
            "allow_host_userns",
        ),
    ];
    for (option, value, allowed, allow) in namespaces {
        if value.eq_ignore_ascii_case("host") && !allowed {
            return Err(refusal(
                &format!("{option} = \"host\""),
                &format!("{allow} = true"),
            ));
        }
        if value.starts_with("container:") && !allowed {
            return Err(refusal(
                &format!("{option} = {value:?} (another container's namespace)"),
                &format!("{allow} = true"),
            ));
        }
    }
    if !task.devices.is_empty() && !plugin.allow_devices {
        return Err(refusal("devices", "allow_devices = true"));
    }
    let denied: Vec<&String> = task
        .cap_add
        .iter()
        .filter(|c| !plugin.allow_caps.contains(c) && !plugin.allow_caps.iter().any(|a| a == "ALL"))
        .collect();
    if !denied.is_empty() {
        return Err(refusal(
            &format!("cap_add {denied:?}"),
            "allow_caps to include them",
        ));
    }
    if !task.runtime.is_empty() && !plugin.allow_runtimes.contains(&task.runtime) {
        return Err(refusal(
            &format!("runtime = {:?}", task.runtime),
            "allow_runtimes to include it",
        ));
    }
    let user = inputs.user.trim();
    if !user.is_empty() && !is_nobody(user) && !plugin.allow_user {
        return Err(refusal(&format!("user = {user:?}"), "allow_user = true"));
    }
    Ok(())
}

/// `nobody`, `65534` or `65534:65534`.
fn is_nobody(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default();
    let group_ok = user
        .split_once(':')
        .is_none_or(|(_, g)| g == "65534" || g == "nogroup" || g == "nobody");
    (name == "nobody" || name == "65534") && group_ok
}

/// The alloc dirs at `/alloc`, `/local`, `/secrets`, then the task's own volumes: relative
/// host paths are relative to the task dir and may not leave the alloc dir; anything else
/// needs `volumes { enabled = true }`.
fn binds(
    plugin: &DockerPluginConfig,
    task: &DockerTaskConfig,
    inputs: &ContainerInputs<'_>,
) -> Result<Vec<String>, DriverError> {
    let show = |p: PathBuf| p.to_string_lossy().into_owned();
    let mut binds = vec![
        format!("{}:/alloc", show(inputs.alloc_dir.join("alloc"))),
        format!("{}:/local", show(inputs.task_dir.join("local"))),
        format!("{}:/secrets", show(inputs.task_dir.join("secrets"))),
    ];
    for volume in &task.volumes {
        let mut parts = volume.splitn(3, ':');
        let (Some(host), Some(target)) = (parts.next(), parts.next()) else {
            return Err(DriverError::InvalidConfig {
                driver: DOCKER,
                reason: format!("volumes: {volume:?} must be \"host_path:container_path[:ro]\""),
            });
        };
        let mode = parts.next();
        if !target.starts_with('/') {
            return Err(DriverError::InvalidConfig {
                driver: DOCKER,
                reason: format!("volumes: container path {target:?} must be absolute"),
            });
        }
        let host_path = Path::new(host);
        let resolved = if host_path.is_absolute() {
            host_path.to_path_buf()
        } else {
            inputs.task_dir.join(host_path)
        };
        let normalized = lexical_normalize(&resolved);
        let inside = !host_path.is_absolute()
            && normalized
                .as_ref()
                .is_some_and(|p| p.starts_with(inputs.alloc_dir));
        if !inside && !plugin.volumes.enabled {
            return Err(refusal(
                &format!("volume {volume:?} (host path outside the alloc dir)"),
                "volumes { enabled = true }",
            ));
        }
        let mut bind = format!("{}:{target}", show(normalized.unwrap_or(resolved)));
        if let Some(mode) = mode {
            bind.push(':');
            bind.push_str(mode);
        }
        binds.push(bind);
    }
    for mount in inputs.host_mounts {
        if !mount.destination.starts_with('/') {
            return Err(DriverError::HostVolume {
                reason: format!("destination {:?} must be absolute", mount.destination),
            });
        }
        let mode = if mount.read_only { ":ro" } else { "" };
        let host = show(mount.host_path.clone());
        binds.push(format!("{host}:{}{mode}", mount.destination));
    }
    Ok(binds)
}

/// `a/b/../c` -> `a/c` without touching the filesystem; `None` if `..` climbs above the root.
fn lexical_normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Exposed ports and bindings for the group's port labels, from the task's `NOMAD_*`
/// port variables (host port, port inside the container, host IP).
fn ports(
    labels: &[String],
    env: &BTreeMap<String, String>,
) -> Result<(Vec<String>, PortMap), DriverError> {
    let mut exposed = Vec::new();
    let mut bindings = HashMap::new();
    for label in labels {
        let Some(host_port) = env.get(&format!("NOMAD_HOST_PORT_{label}")) else {
            return Err(DriverError::InvalidConfig {
                driver: DOCKER,
                reason: format!("ports: no port labelled {label:?} in the group's network"),
            });
        };
        let container_port = env
            .get(&format!("NOMAD_PORT_{label}"))
            .cloned()
            .unwrap_or_else(|| host_port.clone());
        let host_ip = env.get(&format!("NOMAD_IP_{label}")).cloned();
        for proto in ["tcp", "udp"] {
            let key = format!("{container_port}/{proto}");
            exposed.push(key.clone());
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: host_ip.clone(),
                    host_port: Some(host_port.clone()),
                }]),
            );
        }
    }
    Ok((exposed, bindings))
}

/// `Memory` (hard limit) and `MemoryReservation`: with `memory_max` the task may use up to
/// the maximum and `memory` becomes the soft reservation.
fn memory_limits(memory_mb: i64, memory_max_mb: i64) -> (Option<i64>, Option<i64>) {
    match (memory_mb, memory_max_mb) {
        (m, max) if max > m && m > 0 => (Some(max * MIB), Some(m * MIB)),
        (m, _) if m > 0 => (Some(m * MIB), None),
        _ => (None, None),
    }
}

/// The task's environment as the container sees it: the alloc dirs at their mount points.
fn container_env(env: &BTreeMap<String, String>) -> Vec<String> {
    let mut env = env.clone();
    env.insert("NOMAD_ALLOC_DIR".into(), "/alloc".into());
    env.insert("NOMAD_TASK_DIR".into(), "/local".into());
    env.insert("NOMAD_SECRETS_DIR".into(), "/secrets".into());
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
