//! Task operations through a client's tunnel (`alloc exec`, `alloc signal`,
//! `alloc restart`): requests go down the node's tunnel; the tunnel's reader hands the
//! answers back here by stream or request ID.
//!
//! ```text
//!   open_exec ──ExecStart──> tunnel ──> client        ExecStream::send ──ExecInput──> client
//!   ExecStream::next <── exec[id] <── route(ExecOutput) <── client
//!   signal/restart ──TaskSignalRequest/TaskRestartRequest──> client
//!                  <── pending[id] <── route(TaskSignalReply/TaskRestartReply)
//!   dropping an ExecStream sends ExecInput{cancel}; a closed tunnel ends its streams
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::node_v1::tunnel_from_client::Msg as FromClient;
use nomadish_proto::node_v1::tunnel_to_client::Msg as ToClient;
use nomadish_proto::node_v1::{
    AllocQuery, AllocQueryReply, ExecInput, ExecOutput, ExecStart, TaskRestartRequest,
    TaskSignalRequest, TunnelToClient,
};
use tokio::sync::{mpsc, oneshot};

use crate::tunnel::{TunnelError, TunnelRegistry, TunnelSender};

/// Output messages buffered per exec stream.
const EXEC_BUFFER: usize = 64;
/// How long a signal or restart may take on the client (a restart waits for the kill).
pub const TASK_OP_TIMEOUT: Duration = Duration::from_secs(90);

/// A client's answer to a signal or restart: `(error, HTTP status)`, empty on success.
pub type OpReply = (String, u32);

/// A client's full answer: error and status, and a JSON body (allocation queries).
type FullReply = (String, u32, Vec<u8>);

#[derive(Default)]
struct Tables {
    exec: HashMap<u64, (String, mpsc::Sender<ExecOutput>)>,
    pending: HashMap<u64, (String, oneshot::Sender<FullReply>)>,
}

/// The open exec streams and pending requests of this server's tunnels; cheap to clone.
#[derive(Default, Clone)]
pub struct TaskOps {
    tables: Arc<Mutex<Tables>>,
    next: Arc<AtomicU64>,
}

/// An exec session through a tunnel; dropping it cancels the command on the client.
pub struct ExecStream {
    id: u64,
    tx: TunnelSender,
    rx: mpsc::Receiver<ExecOutput>,
    ops: TaskOps,
}

impl ExecStream {
    /// The next output; `None` when the tunnel closed.
    pub async fn next(&mut self) -> Option<ExecOutput> {
        self.rx.recv().await
    }

    /// Sends input to the command; false once the tunnel is gone.
    pub async fn send(&self, mut input: ExecInput) -> bool {
        input.stream_id = self.id;
        let msg = TunnelToClient {
            msg: Some(ToClient::ExecInput(input)),
        };
        self.tx.send(Ok(msg)).await.is_ok()
    }
}

impl Drop for ExecStream {
    fn drop(&mut self) {
        if self.ops.lock().exec.remove(&self.id).is_some() {
            let cancel = ExecInput {
                stream_id: self.id,
                cancel: true,
                ..ExecInput::default()
            };
            let msg = TunnelToClient {
                msg: Some(ToClient::ExecInput(cancel)),
            };
            let _ = self.tx.try_send(Ok(msg));
        }
    }
}

impl TaskOps {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an exec session on the node through its tunnel here.
    pub async fn open_exec(
        &self,
        tunnels: &TunnelRegistry,
        node_id: &str,
        mut start: ExecStart,
    ) -> Result<ExecStream, TunnelError> {
        let tx = tunnels
            .sender(node_id)
            .ok_or_else(|| TunnelError::NotConnected(node_id.to_string()))?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        start.stream_id = id;
        let (out_tx, rx) = mpsc::channel(EXEC_BUFFER);
        self.lock().exec.insert(id, (node_id.to_string(), out_tx));
        let stream = ExecStream {
            id,
            tx: tx.clone(),
            rx,
            ops: self.clone(),
        };
        let msg = TunnelToClient {
            msg: Some(ToClient::ExecStart(start)),
        };
        if tx.send(Ok(msg)).await.is_err() {
            return Err(TunnelError::Closed(node_id.to_string()));
        }
        Ok(stream)
    }

    /// Signals a task (or every running task) through the node's tunnel here.
    pub async fn signal(
        &self,
        tunnels: &TunnelRegistry,
        node_id: &str,
        mut req: TaskSignalRequest,
    ) -> Result<OpReply, TunnelError> {
        self.request(tunnels, node_id, |id| {
            req.request_id = id;
            ToClient::TaskSignal(req)
        })
        .await
    }

    /// Restarts tasks through the node's tunnel here.
    pub async fn restart(
        &self,
        tunnels: &TunnelRegistry,
        node_id: &str,
        mut req: TaskRestartRequest,
    ) -> Result<OpReply, TunnelError> {
        self.request(tunnels, node_id, |id| {
            req.request_id = id;
            ToClient::TaskRestart(req)
        })
        .await
    }

    /// Asks the client about an allocation (stats, checks, gc) through its tunnel here.
    pub async fn alloc_query(
        &self,
        tunnels: &TunnelRegistry,
        node_id: &str,
        mut req: AllocQuery,
    ) -> Result<AllocQueryReply, TunnelError> {
        let (error, error_code, body) = self
            .request_full(tunnels, node_id, |id| {
                req.request_id = id;
                ToClient::AllocQuery(req)
            })
            .await?;
        Ok(AllocQueryReply {
            request_id: 0,
            error,
            error_code,
            body,
        })
    }

    async fn request(
        &self,
        tunnels: &TunnelRegistry,
        node_id: &str,
        make: impl FnOnce(u64) -> ToClient,
    ) -> Result<OpReply, TunnelError> {
        let (error, code, _) = self.request_full(tunnels, node_id, make).await?;
        Ok((error, code))
    }

    async fn request_full(
        &self,
        tunnels: &TunnelRegistry,
        node_id: &str,
        make: impl FnOnce(u64) -> ToClient,
    ) -> Result<FullReply, TunnelError> {
        let tx = tunnels
            .sender(node_id)
            .ok_or_else(|| TunnelError::NotConnected(node_id.to_string()))?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (reply_tx, reply) = oneshot::channel();
        self.lock()
            .pending
            .insert(id, (node_id.to_string(), reply_tx));
        let closed = || TunnelError::Closed(node_id.to_string());
        let msg = TunnelToClient {
            msg: Some(make(id)),
        };
        let answer = async {
            tx.send(Ok(msg)).await.map_err(|_| closed())?;
            match tokio::time::timeout(TASK_OP_TIMEOUT, reply).await {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(_)) => Err(closed()),
                Err(_) => Ok((
                    "timed out waiting for the client".to_string(),
                    500,
                    Vec::new(),
                )),
            }
        };
        let result = answer.await;
        self.lock().pending.remove(&id);
        result
    }

    /// Delivers a task-operation message from a client's tunnel; false when the message is
    /// not one (the caller handles it).
    pub async fn route(&self, msg: &FromClient) -> bool {
        match msg {
            FromClient::ExecOutput(out) => {
                let last = out.exited || !out.error.is_empty();
                let tx = {
                    let mut tables = self.lock();
                    if last {
                        tables.exec.remove(&out.stream_id).map(|e| e.1)
                    } else {
                        tables.exec.get(&out.stream_id).map(|e| e.1.clone())
                    }
                };
                if let Some(tx) = tx {
                    let _ = tx.send(out.clone()).await;
                }
                true
            }
            FromClient::TaskSignalReply(r) => {
                self.answer(r.request_id, (r.error.clone(), r.error_code, Vec::new()));
                true
            }
            FromClient::TaskRestartReply(r) => {
                self.answer(r.request_id, (r.error.clone(), r.error_code, Vec::new()));
                true
            }
            FromClient::AllocQueryReply(r) => {
                self.answer(
                    r.request_id,
                    (r.error.clone(), r.error_code, r.body.clone()),
                );
                true
            }
            _ => false,
        }
    }

    fn answer(&self, id: u64, reply: FullReply) {
        if let Some((_, tx)) = self.lock().pending.remove(&id) {
            let _ = tx.send(reply);
        }
    }

    /// Ends the streams and requests of a node whose tunnel closed.
    pub fn node_gone(&self, node_id: &str) {
        let mut tables = self.lock();
        tables.exec.retain(|_, (n, _)| n != node_id);
        tables.pending.retain(|_, (n, _)| n != node_id);
    }
}

#[cfg(test)]
#[path = "task_ops_tests.rs"]
mod tests;
