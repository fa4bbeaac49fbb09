//! A task running over SSH: one session channel on a pooled connection running the wrapper
//! line, its output copied into the alloc's log files, its exit status (or the loss of the
//! connection) reported back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::Signal;
use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::SshTaskConfig;
use super::control::SshControl;
use super::error::SshError;
use super::pool::{Connection, SshDriver};
use super::remote::{self, PGID_MARKER};
use crate::driver::{ExitResult, TaskControl, TaskSpec};
use crate::error::DriverError;
use crate::logs::{RotatingWriter, StreamKind};

/// How long to wait for the remote side to confirm a forced kill before giving up on it.
const KILL_CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the task's first output may take to report its process group.
const PGID_TIMEOUT: Duration = Duration::from_secs(2);
/// Output kept while looking for the process-group line before giving up on it.
const MARKER_LIMIT: usize = 256;

/// How a remote task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteExit {
    pub exit: ExitResult,
    /// Set when the channel or connection went away without an exit status.
    pub lost: Option<String>,
}

/// A running SSH task.
#[derive(Debug)]
pub struct SshHandle {
    control: Arc<SshControl>,
    done: watch::Receiver<Option<RemoteExit>>,
    pump: JoinHandle<()>,
}

/// Connects (or reuses a connection) and starts the task's command.
pub async fn start(driver: &SshDriver, spec: &TaskSpec) -> Result<SshHandle, DriverError> {
    let config = SshTaskConfig::parse(&spec.config)?;
    let writers = if spec.log_config.disabled {
        None
    } else {
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
    let conn = driver.connect(&config).await?;
    let line = remote::wrapper(&config.command, &config.args, &spec.env);
    let channel_err = |e: russh::Error| SshError::Channel {
        endpoint: conn.endpoint.clone(),
        reason: e.to_string(),
    };
    let channel = conn
        .handle
        .channel_open_session()
        .await
        .map_err(channel_err)?;
    if config.pty {
        channel
            .request_pty(false, "xterm", 80, 24, 0, 0, &[])
            .await
            .map_err(channel_err)?;
    }
    channel.exec(false, line).await.map_err(channel_err)?;
    tracing::info!(endpoint = %conn.endpoint, connection = conn.serial, task = %spec.task_name, "ssh task started");
    let (read, write) = channel.split();
    let (pgid_tx, pgid_rx) = watch::channel(None);
    let (done_tx, done) = watch::channel(None);
    let endpoint = conn.endpoint.clone();
    let pump = tokio::spawn(async move {
        let exit = pump(read, writers, pgid_tx, &endpoint).await;
        let _ = done_tx.send(Some(exit));
    });
    Ok(SshHandle {
        control: Arc::new(SshControl::new(conn, write, pgid_rx)),
        done,
        pump,
    })
}

impl SshHandle {
    /// The connection the task runs on.
    pub fn connection(&self) -> &Arc<Connection> {
        &self.control.conn
    }

    /// Signals and exec for the running task.
    pub fn control(&self) -> Arc<dyn TaskControl> {
        self.control.clone()
    }

    /// Waits for the remote command to end (or its connection to be lost). Cancel-safe.
    pub async fn wait(&mut self) -> ExitResult {
        self.wait_remote().await.exit
    }

    /// Like [`SshHandle::wait`], with the reason when the connection was lost.
    pub async fn wait_remote(&mut self) -> RemoteExit {
        match self.done.wait_for(Option::is_some).await {
            Ok(exit) => exit.clone().unwrap_or_else(lost_exit),
            Err(_) => lost_exit(),
        }
    }

    /// The reason the task ended without an exit status, once it has ended.
    pub fn lost_reason(&self) -> Option<String> {
        self.done.borrow().as_ref().and_then(|e| e.lost.clone())
    }

    /// Sends `signal` (over the channel and to the remote process group), waits up to
    /// `timeout`, then SIGKILLs the group and closes the channel.
    pub async fn stop(&mut self, signal: Signal, timeout: Duration) -> ExitResult {
        if let Some(exit) = self.done.borrow().clone() {
            return exit.exit;
        }
        self.control.wait_pgid(PGID_TIMEOUT).await;
        self.control.send_signal(signal).await;
        if let Ok(exit) = tokio::time::timeout(timeout, self.wait()).await {
            return exit;
        }
        tracing::info!(endpoint = %self.control.conn.endpoint, "kill timeout reached, sending SIGKILL");
        self.control.send_signal(Signal::SIGKILL).await;
        let _ = self.control.write.close().await;
        match tokio::time::timeout(KILL_CONFIRM_TIMEOUT, self.wait()).await {
            Ok(exit) => exit,
            Err(_) => {
                self.pump.abort();
                ExitResult {
                    code: 128 + Signal::SIGKILL as i64,
                    signal: Signal::SIGKILL as i64,
                }
            }
        }
    }
}

impl Drop for SshHandle {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

fn lost_exit() -> RemoteExit {
    RemoteExit {
        exit: ExitResult {
            code: -1,
            signal: 0,
        },
        lost: Some("ssh channel closed without an exit status".into()),
    }
}

/// Copies the channel's output into the log files until it closes; returns how it ended.
async fn pump(
    mut read: ChannelReadHalf,
    mut writers: Option<(RotatingWriter, RotatingWriter)>,
    pgid: watch::Sender<Option<i32>>,
    endpoint: &str,
) -> RemoteExit {
    let mut head: Option<Vec<u8>> = Some(Vec::new());
    let mut status = ExitStatus::default();
    let mut closed = false;
    while let Some(msg) = read.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                let Some(data) = strip_marker(&mut head, data, &pgid) else {
                    continue;
                };
                write(&mut writers, StreamKind::Stdout, &data).await;
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                write(&mut writers, StreamKind::Stderr, &data).await;
            }
            ChannelMsg::Close => {
                closed = true;
                break;
            }
            other => status.observe(&other),
        }
    }
    if let Some(buf) = head.take().filter(|b| !b.is_empty()) {
        write(&mut writers, StreamKind::Stdout, &buf).await;
    }
    if let Some(exit) = status.result() {
        return RemoteExit { exit, lost: None };
    }
    let how = if closed {
        "the server closed the channel without an exit status"
    } else {
        "the connection was lost"
    };
    tracing::warn!(%endpoint, "ssh task ended: {how}");
    RemoteExit {
        exit: ExitResult {
            code: -1,
            signal: 0,
        },
        lost: Some(format!("ssh task on {endpoint} failed: {how}")),
    }
}

/// The exit status and signal a channel reports.
#[derive(Debug, Default)]
pub(super) struct ExitStatus {
    code: Option<u32>,
    signal: Option<i64>,
}

impl ExitStatus {
    /// Records an `exit-status` or `exit-signal` message; ignores the others.
    pub(super) fn observe(&mut self, msg: &ChannelMsg) {
        match msg {
            ChannelMsg::ExitStatus { exit_status } => self.code = Some(*exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                self.signal = Some(remote::signal_number(signal_name));
            }
            _ => {}
        }
    }

    /// The exit as a result (128 + signal for a signal), if the server reported one.
    pub(super) fn result(&self) -> Option<ExitResult> {
        match (self.code, self.signal) {
            (_, Some(n)) => Some(ExitResult {
                code: 128 + n,
                signal: n,
            }),
            (Some(code), None) => Some(ExitResult {
                code: i64::from(code),
                signal: 0,
            }),
            (None, None) => None,
        }
    }
}

/// Passes output through once the process-group line has been seen (and published); holds
/// it back while that line may still be arriving.
fn strip_marker(
    head: &mut Option<Vec<u8>>,
    data: Bytes,
    pgid: &watch::Sender<Option<i32>>,
) -> Option<Bytes> {
    let Some(buf) = head.as_mut() else {
        return Some(data);
    };
    buf.extend_from_slice(&data);
    match take_marker(buf) {
        Marker::Found(id, rest) => {
            let _ = pgid.send(Some(id));
            *head = None;
            Some(Bytes::from(rest))
        }
        Marker::Absent => Some(Bytes::from(head.take().unwrap_or_default())),
        Marker::Incomplete => None,
    }
}

enum Marker {
    Found(i32, Vec<u8>),
    Absent,
    Incomplete,
}

/// Looks for the wrapper's process-group line at the start of the output.
fn take_marker(buf: &[u8]) -> Marker {
    let prefix = PGID_MARKER.as_bytes();
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        return Marker::Absent;
    }
    let Some(end) = buf.iter().position(|b| *b == b'\n') else {
        return if buf.len() > MARKER_LIMIT {
            Marker::Absent
        } else {
            Marker::Incomplete
        };
    };
    let line = String::from_utf8_lossy(&buf[prefix.len().min(end)..end]);
    match line.trim().parse::<i32>() {
        Ok(id) if id > 1 => Marker::Found(id, buf[end + 1..].to_vec()),
        _ => Marker::Absent,
    }
}

async fn write(
    writers: &mut Option<(RotatingWriter, RotatingWriter)>,
    kind: StreamKind,
    data: &[u8],
) {
    let Some((out, err)) = writers.as_mut() else {
        return;
    };
    let writer = match kind {
        StreamKind::Stdout => out,
        StreamKind::Stderr => err,
    };
    if let Err(e) = writer.write(data).await {
        tracing::warn!(error = %e, "writing task log failed");
    }
}

/// Keeps the write half reachable for the type checker in the control.
pub(super) type WriteHalf = ChannelWriteHalf<Msg>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_stripped_from_the_output() {
        assert!(matches!(take_marker(b"NOMADISH_P"), Marker::Incomplete));
        assert!(matches!(take_marker(b"hello"), Marker::Absent));
        match take_marker(b"NOMADISH_PGID 4242\r\nhello\n") {
            Marker::Found(4242, rest) => assert_eq!(rest, b"hello\n"),
            _ => panic!("marker not found"),
        }
    }
}
