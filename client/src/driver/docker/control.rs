//! Signals and `alloc exec` for a running container: `docker kill -s SIG` and an exec
//! session whose streams are wired to the [`ExecSession`] channels.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::KillContainerOptionsBuilder;
use futures::StreamExt;
use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;

use crate::driver::{BoxFuture, ExecInput, ExecOutput, ExecSession, ExitResult, TaskControl};
use crate::error::DriverError;

/// The control of one container.
#[derive(Debug, Clone)]
pub struct DockerControl {
    docker: Docker,
    container_id: String,
}

impl DockerControl {
    /// Control of the container `container_id`.
    pub fn new(docker: Docker, container_id: String) -> Self {
        Self {
            docker,
            container_id,
        }
    }
}

fn engine(op: &'static str, e: impl std::fmt::Display) -> DriverError {
    DriverError::Engine {
        op,
        reason: e.to_string(),
    }
}

impl TaskControl for DockerControl {
    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let options = KillContainerOptionsBuilder::new()
                .signal(signal.as_str())
                .build();
            self.docker
                .kill_container(&self.container_id, Some(options))
                .await
                .map_err(|e| engine("kill", e))
        })
    }

    fn exec(&self, session: ExecSession) -> BoxFuture<'_, Result<ExitResult, DriverError>> {
        Box::pin(async move {
            let ExecSession {
                command,
                tty,
                mut input,
                output,
            } = session;
            if command.is_empty() {
                return Err(DriverError::InvalidConfig {
                    driver: super::DOCKER,
                    reason: "exec needs a command".into(),
                });
            }
            let created = self
                .docker
                .create_exec(
                    &self.container_id,
                    CreateExecOptions {
                        cmd: Some(command),
                        attach_stdin: Some(true),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        tty: Some(tty),
                        ..CreateExecOptions::default()
                    },
                )
                .await
                .map_err(|e| engine("exec create", e))?;
            let exec_id = created.id;
            let started = self
                .docker
                .start_exec(
                    &exec_id,
                    Some(StartExecOptions {
                        detach: false,
                        tty,
                        output_capacity: None,
                    }),
                )
                .await
                .map_err(|e| engine("exec start", e))?;
            let StartExecResults::Attached {
                output: mut stream,
                input: mut stdin,
            } = started
            else {
                return Err(engine("exec start", "session detached unexpectedly"));
            };
            let docker = self.docker.clone();
            let resize_id = exec_id.clone();
            let pump = tokio::spawn(async move {
                while let Some(msg) = input.recv().await {
                    match msg {
                        ExecInput::Stdin(bytes) => {
                            if stdin.write_all(&bytes).await.is_err() {
                                return;
                            }
                            let _ = stdin.flush().await;
                        }
                        ExecInput::CloseStdin => break,
                        ExecInput::Resize { cols, rows } => {
                            let options = ResizeExecOptions {
                                height: rows,
                                width: cols,
                            };
                            let _ = docker.resize_exec(&resize_id, options).await;
                        }
                    }
                }
                let _ = stdin.shutdown().await;
                // Keep serving resizes after stdin closed.
                while let Some(msg) = input.recv().await {
                    if let ExecInput::Resize { cols, rows } = msg {
                        let options = ResizeExecOptions {
                            height: rows,
                            width: cols,
                        };
                        let _ = docker.resize_exec(&resize_id, options).await;
                    }
                }
            });
            while let Some(item) = stream.next().await {
                let out = match item {
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        ExecOutput::Stdout(message.to_vec())
                    }
                    Ok(LogOutput::StdErr { message }) => ExecOutput::Stderr(message.to_vec()),
                    Ok(LogOutput::StdIn { .. }) => continue,
                    Err(e) => {
                        tracing::debug!(error = %e, "exec output stream failed");
                        break;
                    }
                };
                if output.send(out).await.is_err() {
                    break;
                }
            }
            pump.abort();
            // The output ends a moment before the engine records the exit code.
            for _ in 0..50 {
                let inspect = self
                    .docker
                    .inspect_exec(&exec_id)
                    .await
                    .map_err(|e| engine("exec inspect", e))?;
                if inspect.running != Some(true) {
                    let code = inspect.exit_code.unwrap_or(-1);
                    return Ok(ExitResult { code, signal: 0 });
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(engine(
                "exec inspect",
                "the command did not exit after its output ended",
            ))
        })
    }
}
