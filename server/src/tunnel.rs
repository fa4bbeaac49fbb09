//! Client tunnels: each client keeps one stream open to a server, over which the server asks
//! for log streams (clients may be behind NAT, so the server never dials them).
//!
//! ```text
//!   HTTP /v1/client/fs/logs ──open_logs──> registry[node] ──LogRequest──> client
//!            ^                                                              │
//!            └──────────── mpsc per stream <── route chunks <── StreamChunk ┘
//!   dropping the LogStream sends CancelStream to the client
//!   HTTP /v1/client/fs/{ls,stat,cat,readat,stream} ──open_fs──> FsRequest, same path back
//! ```
//!
//! Exec streams and signal/restart requests use the same tunnels through
//! [`crate::task_ops`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nomadish_proto::node_v1::tunnel_to_client::Msg;
use nomadish_proto::node_v1::{CancelStream, FsRequest, LogRequest, StreamChunk, TunnelToClient};
use tokio::sync::mpsc;
use tonic::Status;

/// Chunks buffered per stream before the tunnel waits for the reader.
const STREAM_BUFFER: usize = 64;

/// The open streams of one tunnel, by stream ID.
pub type Streams = Arc<Mutex<HashMap<u64, mpsc::Sender<StreamChunk>>>>;
/// What the server sends down a tunnel.
pub type TunnelSender = mpsc::Sender<Result<TunnelToClient, Status>>;

struct Tunnel {
    session: u64,
    tx: TunnelSender,
    streams: Streams,
}

/// Errors opening a stream through a tunnel.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// The node has no tunnel to this server.
    #[error("node {0} is not connected to this server")]
    NotConnected(String),
    /// The tunnel closed while sending the request.
    #[error("node {0} disconnected")]
    Closed(String),
}

/// Tunnels of the clients connected to this server.
#[derive(Default, Clone)]
pub struct TunnelRegistry {
    tunnels: Arc<Mutex<HashMap<String, Tunnel>>>,
    next: Arc<AtomicU64>,
}

/// A stream of chunks from a client; dropping it cancels the stream on the client.
pub struct ChunkStream {
    rx: mpsc::Receiver<StreamChunk>,
    cancel: Option<(TunnelSender, u64)>,
    streams: Streams,
}

impl ChunkStream {
    /// The next chunk, or `None` when the client closed the stream or the tunnel.
    pub async fn next(&mut self) -> Option<StreamChunk> {
        self.rx.recv().await
    }
}

impl Drop for ChunkStream {
    fn drop(&mut self) {
        if let Some((tx, id)) = self.cancel.take() {
            self.streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            let msg = TunnelToClient {
                msg: Some(Msg::Cancel(CancelStream { stream_id: id })),
            };
            let _ = tx.try_send(Ok(msg));
        }
    }
}

impl TunnelRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tunnel>> {
        self.tunnels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers (or replaces) a node's tunnel; returns its session and stream table.
    pub fn register(&self, node_id: &str, tx: TunnelSender) -> (u64, Streams) {
        let session = self.next.fetch_add(1, Ordering::Relaxed);
        let streams = Streams::default();
        let tunnel = Tunnel {
            session,
            tx,
            streams: streams.clone(),
        };
        self.lock().insert(node_id.to_string(), tunnel);
        (session, streams)
    }

    /// Removes a node's tunnel if it is still this session; its open streams end.
    pub fn unregister(&self, node_id: &str, session: u64) {
        let mut tunnels = self.lock();
        if tunnels.get(node_id).is_some_and(|t| t.session == session) {
            tunnels.remove(node_id);
        }
    }

    /// Whether the node has a tunnel here.
    pub fn connected(&self, node_id: &str) -> bool {
        self.lock().contains_key(node_id)
    }

    /// The sender of the node's tunnel here, for task operations (`crate::task_ops`).
    pub fn sender(&self, node_id: &str) -> Option<TunnelSender> {
        self.lock().get(node_id).map(|t| t.tx.clone())
    }

    /// Asks the node to stream a task's log.
    pub async fn open_logs(
        &self,
        node_id: &str,
        mut req: LogRequest,
    ) -> Result<ChunkStream, TunnelError> {
        let (tx, streams) = {
            let tunnels = self.lock();
            let t = tunnels
                .get(node_id)
                .ok_or_else(|| TunnelError::NotConnected(node_id.to_string()))?;
            (t.tx.clone(), t.streams.clone())
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        req.stream_id = id;
        let (chunk_tx, rx) = mpsc::channel(STREAM_BUFFER);
        streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, chunk_tx);
        let msg = TunnelToClient {
            msg: Some(Msg::Logs(req)),
        };
        if tx.send(Ok(msg)).await.is_err() {
            streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            return Err(TunnelError::Closed(node_id.to_string()));
        }
        Ok(ChunkStream {
            rx,
            cancel: Some((tx, id)),
            streams,
        })
    }
}

impl TunnelRegistry {
    /// Asks the node to serve an allocation filesystem request.
    pub async fn open_fs(&self, node_id: &str, req: FsRequest) -> Result<ChunkStream, TunnelError> {
        self.open_with(node_id, |id| {
            Msg::Fs(FsRequest {
                stream_id: id,
                ..req
            })
        })
        .await
    }

    /// Sends the message `build` makes for a new stream ID down the node's tunnel and
    /// returns the stream its answers arrive on.
    pub async fn open_with(
        &self,
        node_id: &str,
        build: impl FnOnce(u64) -> Msg,
    ) -> Result<ChunkStream, TunnelError> {
        let (tx, streams) = {
            let tunnels = self.lock();
            let t = tunnels
                .get(node_id)
                .ok_or_else(|| TunnelError::NotConnected(node_id.to_string()))?;
            (t.tx.clone(), t.streams.clone())
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (chunk_tx, rx) = mpsc::channel(STREAM_BUFFER);
        streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, chunk_tx);
        let msg = TunnelToClient {
            msg: Some(build(id)),
        };
        if tx.send(Ok(msg)).await.is_err() {
            streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            return Err(TunnelError::Closed(node_id.to_string()));
        }
        Ok(ChunkStream {
            rx,
            cancel: Some((tx, id)),
            streams,
        })
    }
}

/// Delivers a chunk from the client to its stream; the stream ends on eof or error.
pub async fn route_chunk(streams: &Streams, chunk: StreamChunk) {
    let id = chunk.stream_id;
    let last = chunk.eof || !chunk.error.is_empty();
    let tx = streams
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned();
    if let Some(tx) = tx
        && tx.send(chunk).await.is_err()
    {
        streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        return;
    }
    if last {
        streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}
