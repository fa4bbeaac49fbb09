//! A running container: waiting for it, stopping it (kill signal, then SIGKILL after the
//! kill timeout), copying its output into the alloc's log files, and removing it when the
//! task is done.

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::{KillContainerOptionsBuilder, LogsOptionsBuilder};
use futures::StreamExt;
use nix::sys::signal::Signal;
use tokio::task::JoinHandle;

use super::DockerDriver;
use super::control::DockerControl;
use crate::driver::raw_exec::LOG_DRAIN_TIMEOUT;
use crate::driver::{ExitResult, TaskControl};
use crate::logs::RotatingWriter;

/// How often the exit is re-checked while the engine cannot be reached.
const ENGINE_RETRY: Duration = Duration::from_secs(1);

/// A started (or re-attached) container.
#[derive(Debug)]
pub struct DockerHandle {
    driver: Arc<DockerDriver>,
    docker: Docker,
    container_id: String,
    image: String,
    reattached: bool,
    logs: Option<JoinHandle<()>>,
    exit: Option<ExitResult>,
    oom_killed: bool,
    cleaned_up: bool,
}

impl DockerHandle {
    pub(super) fn new(
        driver: Arc<DockerDriver>,
        docker: Docker,
        container_id: String,
        image: String,
        reattached: bool,
        logs: Option<JoinHandle<()>>,
    ) -> Self {
        driver.track(&container_id);
        Self {
            driver,
            docker,
            container_id,
            image,
            reattached,
            logs,
            exit: None,
            oom_killed: false,
            cleaned_up: false,
        }
    }

    /// The container's ID.
    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// Whether this handle found the container already running (after a client restart).
    pub fn reattached(&self) -> bool {
        self.reattached
    }

    /// Whether the kernel's OOM killer ended the container (known once it exited).
    pub fn oom_killed(&self) -> bool {
        self.oom_killed
    }

    /// Signals and exec for the running container.
    pub fn control(&self) -> Arc<dyn TaskControl> {
        Arc::new(DockerControl::new(
            self.docker.clone(),
            self.container_id.clone(),
        ))
    }

    /// Waits for the container to exit, then drains its logs and removes it. Cancel-safe.
    pub async fn wait(&mut self) -> ExitResult {
        let exit = match self.exit {
            Some(exit) => exit,
            None => {
                let (exit, oom) = self.wait_exit().await;
                self.oom_killed = oom;
                self.exit = Some(exit);
                exit
            }
        };
        self.finish().await;
        exit
    }

    /// Sends `signal`, waits up to `timeout`, then kills the container outright.
    pub async fn stop(&mut self, signal: Signal, timeout: Duration) -> ExitResult {
        if self.exit.is_some() {
            return self.wait().await;
        }
        self.kill(signal).await;
        if let Ok(exit) = tokio::time::timeout(timeout, self.wait()).await {
            return exit;
        }
        tracing::info!(container = %self.container_id, "kill timeout reached, sending SIGKILL");
        self.kill(Signal::SIGKILL).await;
        self.wait().await
    }

    async fn kill(&self, signal: Signal) {
        let options = KillContainerOptionsBuilder::new()
            .signal(signal.as_str())
            .build();
        if let Err(e) = self
            .docker
            .kill_container(&self.container_id, Some(options))
            .await
        {
            // A container that already stopped answers 409; nothing to do then.
            tracing::debug!(container = %self.container_id, %signal, error = %e, "kill failed");
        }
    }

    /// The exit code (signal derived from codes 129..=159, as an init process reports a
    /// child killed by a signal) and whether it was OOM killed. Survives engine restarts.
    async fn wait_exit(&self) -> (ExitResult, bool) {
        loop {
            let mut waiter = self.docker.wait_container(&self.container_id, None);
            let _ = waiter.next().await;
            match self
                .docker
                .inspect_container(&self.container_id, None)
                .await
            {
                Ok(info) => {
                    let state = info.state.unwrap_or_default();
                    if state.running == Some(true) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    let code = state.exit_code.unwrap_or(-1);
                    let signal = if (129..=159).contains(&code) {
                        code - 128
                    } else {
                        0
                    };
                    return (ExitResult { code, signal }, state.oom_killed == Some(true));
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {
                    tracing::warn!(container = %self.container_id, "container disappeared");
                    return (
                        ExitResult {
                            code: -1,
                            signal: 0,
                        },
                        false,
                    );
                }
                Err(e) => {
                    tracing::warn!(container = %self.container_id, error = %e,
                        "cannot reach the docker engine; waiting");
                    tokio::time::sleep(ENGINE_RETRY).await;
                }
            }
        }
    }

    /// Lets the log copier drain, removes the container and schedules image GC (once).
    async fn finish(&mut self) {
        if let Some(copier) = self.logs.as_mut() {
            if tokio::time::timeout(LOG_DRAIN_TIMEOUT, &mut *copier)
                .await
                .is_err()
            {
                copier.abort();
            }
            self.logs = None;
        }
        if self.cleaned_up {
            return;
        }
        self.cleaned_up = true;
        self.driver.untrack(&self.container_id);
        if self.driver.config.gc.container {
            self.driver.remove_container(&self.container_id).await;
        }
        if self.driver.config.gc.image {
            super::image::schedule_gc(
                self.docker.clone(),
                self.image.clone(),
                self.driver.config.gc.image_delay,
            );
        }
    }
}

impl Drop for DockerHandle {
    /// Nobody follows the container any more: stop copying its output (a later handle
    /// re-attaching starts its own copier).
    fn drop(&mut self) {
        if let Some(copier) = self.logs.take() {
            copier.abort();
        }
    }
}

/// Copies the container's stdout and stderr into the task's log files until it stops.
/// After a client restart, `after` (a fixed-width RFC 3339 UTC timestamp: the last write to
/// the log files) skips output that was already copied before.
pub(super) fn copy_logs(
    docker: Docker,
    container_id: String,
    after: Option<String>,
    mut stdout: RotatingWriter,
    mut stderr: RotatingWriter,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The engine's `since` has one-second resolution; the exact cut uses the
        // per-line timestamps, which are fixed width and so compare as strings.
        let since = after
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(0, |t| i32::try_from(t.timestamp()).unwrap_or(0));
        let options = LogsOptionsBuilder::new()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .since(since)
            .timestamps(after.is_some())
            .build();
        let mut stream = docker.logs(&container_id, Some(options));
        while let Some(item) = stream.next().await {
            let (is_err, message) = match item {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    (false, message)
                }
                Ok(LogOutput::StdErr { message }) => (true, message),
                Ok(LogOutput::StdIn { .. }) => continue,
                Err(e) => {
                    tracing::debug!(container = %container_id, error = %e, "log stream ended");
                    return;
                }
            };
            let mut bytes: &[u8] = &message;
            if let Some(cut) = after.as_deref() {
                let Some(space) = bytes.iter().position(|b| *b == b' ') else {
                    continue;
                };
                if &bytes[..space] <= cut.as_bytes() {
                    continue;
                }
                bytes = &bytes[space + 1..];
            }
            let result = if is_err {
                stderr.write(bytes).await
            } else {
                stdout.write(bytes).await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "writing task log failed");
            }
        }
    })
}

/// A time as the engine stamps log lines: RFC 3339 in UTC with nine fraction digits.
pub(super) fn log_timestamp(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}
