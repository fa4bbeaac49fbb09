//! Signals and `alloc exec` for an SSH task, over further channels of the task's pooled
//! connection.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use russh::ChannelMsg;
use tokio::sync::watch;

use super::error::SshError;
use super::pool::Connection;
use super::remote;
use super::task::{ExitStatus, WriteHalf};
use crate::driver::{BoxFuture, ExecInput, ExecOutput, ExecSession, ExitResult, TaskControl};
use crate::error::DriverError;

/// How long a helper command (the group kill) may take on the remote host.
const HELPER_TIMEOUT: Duration = Duration::from_secs(5);

/// Control of a running SSH task.
pub struct SshControl {
    pub(super) conn: Arc<Connection>,
    pub(super) write: WriteHalf,
    pgid: watch::Receiver<Option<i32>>,
}

impl std::fmt::Debug for SshControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshControl")
            .field("conn", &self.conn)
            .field("pgid", &*self.pgid.borrow())
            .finish()
    }
}

impl SshControl {
    pub(super) fn new(
        conn: Arc<Connection>,
        write: WriteHalf,
        pgid: watch::Receiver<Option<i32>>,
    ) -> Self {
        Self { conn, write, pgid }
    }

    /// The remote process group, once the task reported it.
    pub fn pgid(&self) -> Option<i32> {
        *self.pgid.borrow()
    }

    /// Waits up to `limit` for the task to report its process group.
    pub(super) async fn wait_pgid(&self, limit: Duration) {
        let mut rx = self.pgid.clone();
        let _ = tokio::time::timeout(limit, rx.wait_for(Option::is_some)).await;
    }

    /// Sends `signal` as an SSH channel request and, since many sshd versions ignore
    /// those, with `kill` to the task's process group on a second channel.
    pub(super) async fn send_signal(&self, signal: Signal) {
        if let Err(e) = self.write.signal(remote::ssh_signal(signal)).await {
            tracing::debug!(error = %e, "ssh channel signal not sent");
        }
        if let Some(pgid) = self.pgid() {
            let line = remote::kill_group(pgid, signal);
            if let Err(e) = self.run_helper(&line).await {
                tracing::warn!(endpoint = %self.conn.endpoint, %signal, error = %e, "signalling the remote process group failed");
            }
        }
    }

    /// Runs `line` on a new channel and waits (bounded) for it to finish.
    async fn run_helper(&self, line: &str) -> Result<(), SshError> {
        let err = |e: russh::Error| SshError::Channel {
            endpoint: self.conn.endpoint.clone(),
            reason: e.to_string(),
        };
        let mut channel = self.conn.handle.channel_open_session().await.map_err(err)?;
        channel.exec(false, line).await.map_err(err)?;
        let _ = tokio::time::timeout(HELPER_TIMEOUT, async {
            while let Some(msg) = channel.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
        })
        .await;
        Ok(())
    }

    async fn run_exec(&self, session: ExecSession) -> Result<ExitResult, SshError> {
        let err = |e: russh::Error| SshError::Channel {
            endpoint: self.conn.endpoint.clone(),
            reason: e.to_string(),
        };
        let ExecSession {
            command,
            tty,
            input,
            output,
        } = session;
        let channel = self.conn.handle.channel_open_session().await.map_err(err)?;
        if tty {
            channel
                .request_pty(false, "xterm", 80, 24, 0, 0, &[])
                .await
                .map_err(err)?;
        }
        let line: Vec<String> = command.iter().map(|a| remote::quote(a)).collect();
        channel.exec(false, line.join(" ")).await.map_err(err)?;
        let (mut read, write) = channel.split();
        let feeder = tokio::spawn(feed_input(input, write));
        let mut status = ExitStatus::default();
        while let Some(msg) = read.wait().await {
            let out = match msg {
                ChannelMsg::Data { data } => ExecOutput::Stdout(data.to_vec()),
                ChannelMsg::ExtendedData { data, .. } => ExecOutput::Stderr(data.to_vec()),
                ChannelMsg::Close => break,
                other => {
                    status.observe(&other);
                    continue;
                }
            };
            if output.send(out).await.is_err() {
                break;
            }
        }
        feeder.abort();
        Ok(status.result().unwrap_or(ExitResult {
            code: -1,
            signal: 0,
        }))
    }
}

/// Forwards the user's input (stdin, end of input, terminal size) to the exec channel.
async fn feed_input(mut input: tokio::sync::mpsc::Receiver<ExecInput>, write: WriteHalf) {
    loop {
        match input.recv().await {
            Some(ExecInput::Stdin(data)) => {
                if write.data_bytes(data).await.is_err() {
                    return;
                }
            }
            Some(ExecInput::Resize { cols, rows }) => {
                let _ = write
                    .window_change(u32::from(cols), u32::from(rows), 0, 0)
                    .await;
            }
            Some(ExecInput::CloseStdin) | None => {
                let _ = write.eof().await;
                // Keep the write half (and so the channel) open until the command ends.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl TaskControl for SshControl {
    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            self.send_signal(signal).await;
            Ok(())
        })
    }

    fn exec(&self, session: ExecSession) -> BoxFuture<'_, Result<ExitResult, DriverError>> {
        Box::pin(async move { self.run_exec(session).await.map_err(DriverError::from) })
    }
}
