//! Task drivers: turn a task spec into a running process (or container, or remote command)
//! and give back a handle to wait for it or stop it: `raw_exec` (a plain process) and
//! `docker` (a hardened container); SSH joins as a further [`TaskHandle`] variant.
//!
//! Besides the handle the task runner owns, a running task offers a [`TaskControl`]: a cheap,
//! shareable capability to signal it or run a command inside it (`alloc signal`, `alloc
//! exec`) while the task runner waits on the handle.

mod control;
pub mod docker;
pub mod mounts;
mod raw_exec;
mod raw_exec_control;
pub mod ssh;

pub use control::{BoxFuture, ExecInput, ExecOutput, ExecSession, TaskControl};

pub use raw_exec::{ENV_DENYLIST, RawExecConfig, signal_group};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use nix::sys::signal::Signal;
use nomadish_proto::model::LogConfig;

use crate::error::DriverError;
use crate::fingerprint::RAW_EXEC;

/// Nomad's default kill signal for every driver but Docker.
pub const DEFAULT_KILL_SIGNAL: Signal = Signal::SIGINT;
/// The Docker driver's default kill signal (as `docker stop`).
pub const DOCKER_KILL_SIGNAL: Signal = Signal::SIGTERM;

/// How a task's process ended: exit code (128 + signal when killed by one) and signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitResult {
    pub code: i64,
    pub signal: i64,
}

impl ExitResult {
    /// Exit code 0 without a signal.
    pub fn success(&self) -> bool {
        self.code == 0 && self.signal == 0
    }
}

impl From<std::process::ExitStatus> for ExitResult {
    fn from(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Self {
                code: i64::from(code),
                signal: 0,
            },
            (None, Some(sig)) => Self {
                code: 128 + i64::from(sig),
                signal: i64::from(sig),
            },
            (None, None) => Self {
                code: -1,
                signal: 0,
            },
        }
    }
}

/// Driver plugins configured with a `plugin "<name>" { config { ... } }` block whose body
/// the driver reads itself (raw_exec's single `enabled` flag is parsed by the agent).
pub const PLUGINS: &[&str] = &["docker", "ssh"];

/// Checks a driver plugin's `config` body (as JSON) when the agent configuration is read, so
/// mistakes are reported against the file; the message names the offending option.
pub fn validate_plugin_config(name: &str, config: &serde_json::Value) -> Result<(), String> {
    match name {
        "ssh" => ssh::SshPluginConfig::parse(config).map(|_| ()),
        "docker" => docker::DockerPluginConfig::from_json(config).map(|_| ()),
        other => Err(format!("unknown driver plugin {other:?}")),
    }
}

/// What the client allows its drivers to do, and the drivers' shared state.
#[derive(Debug, Clone, Default)]
pub struct DriverContext {
    pub raw_exec_enabled: bool,
    /// The SSH driver (connection pool, circuit breakers) when `plugin "ssh"` is configured.
    pub ssh: Option<std::sync::Arc<ssh::SshDriver>>,
    /// The Docker driver, when the client has one (`None`: tasks for it fail).
    pub docker: Option<std::sync::Arc<docker::DockerDriver>>,
}

/// A task ready to start: its driver config already interpolated.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub driver: String,
    pub task_name: String,
    /// The task's `user` (empty: the driver's default).
    pub user: String,
    pub config: BTreeMap<String, serde_json::Value>,
    pub env: BTreeMap<String, String>,
    /// `data_dir/alloc/<id>/<task>`: the working directory.
    pub task_dir: PathBuf,
    /// `data_dir/alloc/<id>/alloc/logs`.
    pub log_dir: PathBuf,
    pub log_config: LogConfig,
    /// Host volumes to mount (from the task's `volume_mount`s).
    pub host_mounts: Vec<mounts::HostMount>,
}

/// A started task.
#[derive(Debug)]
// One handle per running task, moved rarely: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum TaskHandle {
    RawExec(raw_exec::RawExecHandle),
    Ssh(ssh::SshHandle),
    Docker(docker::DockerHandle),
}

impl TaskHandle {
    /// The process group the task runs in (persisted to clean up after a client crash).
    pub fn pgid(&self) -> i32 {
        match self {
            Self::RawExec(h) => h.pgid(),
            // The process runs on another host: nothing local to clean up after a crash.
            Self::Ssh(_) => 0,
            Self::Docker(_) => 0,
        }
    }

    /// Whether the task was ended by the kernel's OOM killer (known after it exited).
    pub fn oom_killed(&self) -> bool {
        match self {
            Self::RawExec(_) | Self::Ssh(_) => false,
            Self::Docker(h) => h.oom_killed(),
        }
    }

    /// Waits for the task to exit. Cancel-safe: may be raced against a kill request.
    pub async fn wait(&mut self) -> ExitResult {
        match self {
            Self::RawExec(h) => h.wait().await,
            Self::Ssh(h) => h.wait().await,
            Self::Docker(h) => h.wait().await,
        }
    }

    /// Why the task ended without an exit status (e.g. its SSH connection was lost), once it
    /// has ended.
    pub fn failure_reason(&self) -> Option<String> {
        match self {
            Self::RawExec(_) | Self::Docker(_) => None,
            Self::Ssh(h) => h.lost_reason(),
        }
    }

    /// The task's control (signals, exec), shared with the rest of the client while the
    /// task runs.
    pub fn control(&self) -> std::sync::Arc<dyn TaskControl> {
        match self {
            Self::RawExec(h) => h.control(),
            Self::Ssh(h) => h.control(),
            Self::Docker(h) => h.control(),
        }
    }

    /// Sends `signal`, waits up to `timeout`, then kills the task outright.
    pub async fn stop(&mut self, signal: Signal, timeout: Duration) -> ExitResult {
        match self {
            Self::RawExec(h) => h.stop(signal, timeout).await,
            Self::Ssh(h) => h.stop(signal, timeout).await,
            Self::Docker(h) => h.stop(signal, timeout).await,
        }
    }
}

/// Starts a task with the driver it names.
pub async fn start(ctx: &DriverContext, spec: &TaskSpec) -> Result<TaskHandle, DriverError> {
    match spec.driver.as_str() {
        RAW_EXEC if !ctx.raw_exec_enabled => Err(DriverError::Disabled { driver: RAW_EXEC }),
        RAW_EXEC => raw_exec::start(spec).await.map(TaskHandle::RawExec),
        ssh::SSH => match &ctx.ssh {
            Some(driver) => ssh::start(driver, spec).await.map(TaskHandle::Ssh),
            None => Err(DriverError::Disabled { driver: ssh::SSH }),
        },
        docker::DOCKER => match &ctx.docker {
            Some(driver) => driver.start(spec).await.map(TaskHandle::Docker),
            None => Err(DriverError::Disabled {
                driver: docker::DOCKER,
            }),
        },
        other => Err(DriverError::UnknownDriver {
            driver: other.to_string(),
        }),
    }
}

/// The kill signal used when a task sets none: SIGTERM for Docker, SIGINT otherwise.
pub fn default_kill_signal(driver: &str) -> Signal {
    if driver == docker::DOCKER {
        DOCKER_KILL_SIGNAL
    } else {
        DEFAULT_KILL_SIGNAL
    }
}

/// Parses a `kill_signal` (`SIGTERM`, `TERM`, `sigterm`); empty or unknown names give
/// [`DEFAULT_KILL_SIGNAL`] (unknown ones with a warning).
pub fn parse_signal(name: &str) -> Signal {
    let name = name.trim().to_uppercase();
    if name.is_empty() {
        return DEFAULT_KILL_SIGNAL;
    }
    let full = if name.starts_with("SIG") {
        name
    } else {
        format!("SIG{name}")
    };
    Signal::from_str(&full).unwrap_or_else(|_| {
        tracing::warn!(signal = %full, "unknown kill_signal, using SIGINT");
        DEFAULT_KILL_SIGNAL
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_with_or_without_prefix() {
        assert_eq!(parse_signal(""), Signal::SIGINT);
        assert_eq!(parse_signal("SIGTERM"), Signal::SIGTERM);
        assert_eq!(parse_signal("hup"), Signal::SIGHUP);
        assert_eq!(parse_signal("SIGNOPE"), Signal::SIGINT);
    }

    #[tokio::test]
    async fn disabled_and_unknown_drivers_are_unrecoverable() {
        let spec = TaskSpec {
            driver: "raw_exec".into(),
            task_name: "t".into(),
            user: String::new(),
            config: BTreeMap::new(),
            env: BTreeMap::new(),
            task_dir: "/nonexistent".into(),
            log_dir: "/nonexistent".into(),
            log_config: LogConfig::default(),
            host_mounts: Vec::new(),
        };
        let off = DriverContext::default();
        let err = start(&off, &spec).await.unwrap_err();
        assert!(matches!(err, DriverError::Disabled { .. }) && !err.is_recoverable());
        let unknown = TaskSpec {
            driver: "rkt".into(),
            ..spec
        };
        let err = start(&off, &unknown).await.unwrap_err();
        assert!(matches!(err, DriverError::UnknownDriver { .. }) && !err.is_recoverable());
    }
}
