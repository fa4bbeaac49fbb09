//! The `raw_exec` driver: runs `config { command args }` as a plain process of the agent's
//! user, in its own process group, with the task directory as working directory, stdin
//! closed, and stdout/stderr copied into rotating log files.
//!
//! Stopping signals the whole group with the kill signal and SIGKILLs it after the kill
//! timeout. When the main process exits on its own, whatever it left behind in its group is
//! killed too: a task never outlives its process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::task::JoinHandle;

pub use super::raw_exec_control::RawExecControl;
use super::{ExitResult, TaskControl, TaskSpec};
use crate::error::DriverError;
use crate::logs::{RotatingWriter, StreamKind};

/// How long to wait for the log copiers to see end-of-file after the task exits.
pub const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Agent environment variables never passed to tasks (Nomad's default `env.denylist`).
pub const ENV_DENYLIST: [&str; 7] = [
    "CONSUL_TOKEN",
    "CONSUL_HTTP_TOKEN",
    "CONSUL_LICENSE",
    "NOMAD_TOKEN",
    "NOMAD_LICENSE",
    "VAULT_TOKEN",
    "VAULT_LICENSE",
];
/// Read buffer of the log copiers.
const COPY_BUFFER: usize = 32 * 1024;

/// The driver's `config` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExecConfig {
    pub command: String,
    pub args: Vec<String>,
}

impl RawExecConfig {
    /// Reads `command` (required string) and `args` (optional list of strings).
    pub fn parse(
        config: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, DriverError> {
        let invalid = |reason: &str| DriverError::InvalidConfig {
            driver: crate::fingerprint::RAW_EXEC,
            reason: reason.to_string(),
        };
        let command = match config.get("command") {
            Some(serde_json::Value::String(c)) if !c.trim().is_empty() => c.clone(),
            _ => return Err(invalid("\"command\" must be a non-empty string")),
        };
        let args = match config.get("args") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    serde_json::Value::Bool(b) => Ok(b.to_string()),
                    _ => Err(invalid("\"args\" must be a list of strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("\"args\" must be a list of strings")),
        };
        Ok(Self { command, args })
    }
}

/// A running raw_exec task.
#[derive(Debug)]
pub struct RawExecHandle {
    child: Child,
    pgid: i32,
    copiers: Vec<JoinHandle<()>>,
    exit: Option<ExitResult>,
    group_killed: bool,
    control: RawExecControl,
}

/// Starts the task.
pub async fn start(spec: &TaskSpec) -> Result<RawExecHandle, DriverError> {
    let config = RawExecConfig::parse(&spec.config)?;
    let program = resolve_command(&config.command, &spec.task_dir);
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&config.args)
        .current_dir(&spec.task_dir)
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    for key in ENV_DENYLIST {
        cmd.env_remove(key);
    }
    cmd.envs(&spec.env);
    let writers = if spec.log_config.disabled {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        None
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let open =
            |kind| RotatingWriter::open(&spec.log_dir, &spec.task_name, kind, &spec.log_config);
        let out = open(StreamKind::Stdout)
            .await
            .map_err(|source| DriverError::Logs { source })?;
        let err = open(StreamKind::Stderr)
            .await
            .map_err(|source| DriverError::Logs { source })?;
        Some((out, err))
    };
    let mut child = cmd.spawn().map_err(|source| DriverError::Spawn {
        command: program.to_string_lossy().into_owned(),
        source,
    })?;
    let pgid = child.id().map_or(0, |id| id as i32);
    let mut copiers = Vec::new();
    if let Some((out, err)) = writers {
        if let Some(stdout) = child.stdout.take() {
            copiers.push(tokio::spawn(copy_into(stdout, out)));
        }
        if let Some(stderr) = child.stderr.take() {
            copiers.push(tokio::spawn(copy_into(stderr, err)));
        }
    }
    Ok(RawExecHandle {
        child,
        pgid,
        copiers,
        exit: None,
        group_killed: false,
        control: RawExecControl {
            pgid,
            env: spec.env.clone(),
            task_dir: spec.task_dir.clone(),
        },
    })
}

impl RawExecHandle {
    /// The task's process group ID (its main process ID).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Signals and exec for the running task.
    pub fn control(&self) -> std::sync::Arc<dyn TaskControl> {
        std::sync::Arc::new(self.control.clone())
    }

    /// Waits for the main process to exit, then cleans up its group and logs. Cancel-safe:
    /// a cancelled call leaves the rest of the cleanup to the next `wait` or `stop`.
    pub async fn wait(&mut self) -> ExitResult {
        let exit = match self.exit {
            Some(exit) => exit,
            None => {
                let exit = match self.child.wait().await {
                    Ok(status) => ExitResult::from(status),
                    Err(e) => {
                        tracing::warn!(pgid = self.pgid, error = %e, "waiting for task failed");
                        ExitResult {
                            code: -1,
                            signal: 0,
                        }
                    }
                };
                self.exit = Some(exit);
                exit
            }
        };
        self.finish().await;
        exit
    }

    /// Signals the group, escalates to SIGKILL after `timeout`, and waits for the exit.
    pub async fn stop(&mut self, signal: Signal, timeout: Duration) -> ExitResult {
        if self.exit.is_some() {
            return self.wait().await;
        }
        signal_group(self.pgid, signal);
        if let Ok(exit) = tokio::time::timeout(timeout, self.wait()).await {
            return exit;
        }
        tracing::info!(pgid = self.pgid, "kill timeout reached, sending SIGKILL");
        signal_group(self.pgid, Signal::SIGKILL);
        self.wait().await
    }

    /// Kills what the main process left in its group and lets the log copiers drain.
    async fn finish(&mut self) {
        if !self.group_killed {
            // Only once: after this the group ID may be reused by an unrelated process.
            signal_group(self.pgid, Signal::SIGKILL);
            self.group_killed = true;
        }
        // Each copier stays in the list until it is done, so a cancelled call loses none.
        while let Some(copier) = self.copiers.last_mut() {
            if tokio::time::timeout(LOG_DRAIN_TIMEOUT, &mut *copier)
                .await
                .is_err()
            {
                // Something outside the group still holds the pipe; stop copying.
                copier.abort();
            }
            self.copiers.pop();
        }
    }
}

/// Signals every process in the group; a group that is already gone is fine.
pub fn signal_group(pgid: i32, signal: Signal) {
    if pgid <= 1 {
        return;
    }
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, %signal, error = %e, "signaling process group failed"),
    }
}

/// An absolute command path is used as is; a relative one with a slash is relative to the
/// task dir; a bare name is looked up in `local/`, then the task dir, then `PATH`.
fn resolve_command(command: &str, task_dir: &Path) -> PathBuf {
    let path = Path::new(command);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if command.contains('/') {
        return task_dir.join(path);
    }
    [task_dir.join("local").join(command), task_dir.join(command)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| path.to_path_buf())
}

async fn copy_into(mut src: impl AsyncRead + Unpin, mut writer: RotatingWriter) {
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        match src.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                // Keep draining even if the disk is full, so the task never blocks on its pipe.
                if let Err(e) = writer.write(&buf[..n]).await {
                    tracing::warn!(error = %e, "writing task log failed");
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "raw_exec_tests.rs"]
mod tests;
