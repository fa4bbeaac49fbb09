//! Control of a running raw_exec task: signals go to its process group; `alloc exec` runs a
//! command as the agent's user (the user raw_exec tasks run as), in the task directory, with
//! the task's environment, in a process group of its own, its stdin/stdout/stderr piped to
//! the session.
//!
//! ```text
//!   session.input ──Stdin/CloseStdin──> child stdin
//!   child stdout ──Stdout──> session.output
//!   child stderr ──Stderr──> session.output      exit status -> ExitResult
//! ```
//!
//! raw_exec has no pseudo-terminal support: a session asking for a TTY is refused.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use nix::sys::signal::Signal;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

use super::raw_exec::{ENV_DENYLIST, signal_group};
use super::{BoxFuture, ExecInput, ExecOutput, ExecSession, ExitResult, TaskControl};
use crate::error::DriverError;
use crate::fingerprint::RAW_EXEC;

/// Read buffer of the output copiers.
const EXEC_BUFFER: usize = 16 * 1024;

/// Signals and exec for a raw_exec task.
#[derive(Debug, Clone)]
pub struct RawExecControl {
    pub(super) pgid: i32,
    pub(super) env: BTreeMap<String, String>,
    pub(super) task_dir: PathBuf,
}

impl TaskControl for RawExecControl {
    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            signal_group(self.pgid, signal);
            Ok(())
        })
    }

    fn exec(&self, session: ExecSession) -> BoxFuture<'_, Result<ExitResult, DriverError>> {
        Box::pin(self.run(session))
    }

    fn process_group(&self) -> Option<i32> {
        Some(self.pgid)
    }
}

impl RawExecControl {
    async fn run(&self, session: ExecSession) -> Result<ExitResult, DriverError> {
        if session.tty {
            return Err(DriverError::Unsupported {
                driver: RAW_EXEC,
                what: "a TTY for exec (use -t=false)",
            });
        }
        let Some((program, args)) = session.command.split_first() else {
            return Err(DriverError::InvalidConfig {
                driver: RAW_EXEC,
                reason: "exec needs a command".into(),
            });
        };
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .current_dir(&self.task_dir)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in ENV_DENYLIST {
            cmd.env_remove(key);
        }
        cmd.envs(&self.env);
        let mut child = cmd.spawn().map_err(|source| DriverError::Spawn {
            command: program.clone(),
            source,
        })?;
        let pgid = child.id().map_or(0, |id| id as i32);
        let stdin = child.stdin.take();
        let out = child
            .stdout
            .take()
            .map(|s| tokio::spawn(copy_out(s, session.output.clone(), ExecOutput::Stdout)));
        let err = child
            .stderr
            .take()
            .map(|s| tokio::spawn(copy_out(s, session.output.clone(), ExecOutput::Stderr)));
        let feeder = tokio::spawn(feed_stdin(session.input, stdin));
        let output = session.output;
        let status = tokio::select! {
            status = child.wait() => status,
            () = output.closed() => {
                // The user went away: end the command and whatever it started.
                signal_group(pgid, Signal::SIGKILL);
                child.wait().await
            }
        };
        feeder.abort();
        // Whatever the command left behind in its group ends with it; what it wrote is
        // still in the pipes.
        signal_group(pgid, Signal::SIGKILL);
        for copier in [out, err].into_iter().flatten() {
            let _ = copier.await;
        }
        let status = status.map_err(|source| DriverError::Spawn {
            command: program.clone(),
            source,
        })?;
        Ok(ExitResult::from(status))
    }
}

/// Copies the session's input into the command's stdin until it closes.
async fn feed_stdin(mut input: mpsc::Receiver<ExecInput>, mut stdin: Option<ChildStdin>) {
    while let Some(msg) = input.recv().await {
        match msg {
            ExecInput::Stdin(data) => {
                let Some(pipe) = stdin.as_mut() else { continue };
                if pipe.write_all(&data).await.is_err() || pipe.flush().await.is_err() {
                    stdin = None;
                }
            }
            ExecInput::CloseStdin => stdin = None,
            ExecInput::Resize { .. } => {}
        }
    }
}

/// Copies one output pipe into the session.
async fn copy_out(
    mut src: impl AsyncRead + Unpin,
    tx: mpsc::Sender<ExecOutput>,
    wrap: fn(Vec<u8>) -> ExecOutput,
) {
    let mut buf = vec![0u8; EXEC_BUFFER];
    loop {
        match src.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(wrap(buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "raw_exec_control_tests.rs"]
mod tests;
