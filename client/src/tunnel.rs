//! The tunnel: a long-lived bidirectional stream the client opens to a server (so servers
//! can reach clients behind NAT). The client sends `hello`; the server sends `LogRequest`s
//! and `CancelStream`s; the client answers each request with `StreamChunk`s tagged with its
//! stream ID, ending with `eof` (or `error`). When the tunnel breaks it is opened again.
//!
//! ```text
//! client ── hello ─────────────────────────────> server
//!        <─ LogRequest{id, alloc, task, type, origin, offset, follow}
//!        ── StreamChunk{id, file "alloc/logs/web.stdout.0", offset, data} × n
//!        ── StreamChunk{id, eof}             (or error + not_found)
//!        <─ CancelStream{id}                 (stops a following stream)
//!        <─ FsRequest{id, alloc, op, path, ...}  (allocation filesystem, see crate::fs)
//!        ── StreamChunk{id, ...} × n, eof    (or error + status)
//! ```
//!
//! Task operations (`alloc exec`, `alloc signal`, `alloc restart`) ride the same tunnel; their
//! messages are handed to [`crate::exec::TunnelOps`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use nomadish_proto::node_v1::{
    LogRequest as WireLogRequest, StreamChunk, TunnelFromClient, TunnelHello, TunnelToClient,
    tunnel_from_client, tunnel_to_client,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;

use crate::allocrunner::AllocDir;
use crate::backoff::Backoff;
use crate::error::{ClientError, LogError};
use crate::heartbeat::rpc_error;
use crate::identity::NodeIdentity;
use crate::logs::{LogChunk, LogRequest, Origin, StreamKind, stream_log};
use crate::registry::AllocRegistry;
use crate::servers::ServerPool;
use crate::shutdown::{Stop, StopSource};

/// First delay before reopening a broken tunnel.
pub const TUNNEL_RETRY_MIN: Duration = Duration::from_millis(500);
/// Longest delay before reopening.
pub const TUNNEL_RETRY_MAX: Duration = Duration::from_secs(15);
/// Messages buffered toward the server before streams wait.
const OUTBOUND_BUFFER: usize = 64;
/// Log chunks buffered per stream.
const STREAM_BUFFER: usize = 8;
/// The log directory relative to the allocation directory, as file names are reported.
const LOGS_PREFIX: &str = "alloc/logs";

/// What the tunnel needs.
#[derive(Debug, Clone)]
pub struct TunnelDeps {
    pub pool: ServerPool,
    pub identity: NodeIdentity,
    pub registry: AllocRegistry,
    /// `data_dir/alloc`.
    pub alloc_root: PathBuf,
    /// Running tasks, for `alloc exec`, `alloc signal` and `alloc restart`.
    pub controls: crate::controls::TaskControls,
    /// Which allocations have live runners (their data does not migrate until they stop).
    pub state: crate::state::StateStore,
}

/// Keeps a tunnel open until `stop`, once the node is registered.
pub async fn run(deps: TunnelDeps, mut registered: watch::Receiver<bool>, mut stop: Stop) {
    let mut backoff = Backoff::new(TUNNEL_RETRY_MIN, TUNNEL_RETRY_MAX);
    loop {
        tokio::select! {
            r = registered.wait_for(|r| *r) => if r.is_err() { return },
            () = stop.stopped() => return,
        }
        match serve_once(&deps, &mut backoff, &mut stop).await {
            Ok(()) if stop.is_stopped() => return,
            Ok(()) => tracing::info!("tunnel closed by server; reopening"),
            Err(e) => tracing::warn!(error = %e, "tunnel failed; reopening"),
        }
        if stop.sleep(backoff.next_delay()).await {
            return;
        }
    }
}

/// One tunnel: returns when it ends, fails, or `stop` fires; its streams end with it.
async fn serve_once(
    deps: &TunnelDeps,
    backoff: &mut Backoff,
    stop: &mut Stop,
) -> Result<(), ClientError> {
    let (tx, rx) = mpsc::channel(OUTBOUND_BUFFER);
    let hello = tunnel_from_client::Msg::Hello(TunnelHello {
        node_id: deps.identity.id.clone(),
        secret_id: deps.identity.secret_id.clone(),
    });
    // The channel is empty and we hold the receiver, so this cannot fail.
    let _ = tx.try_send(TunnelFromClient { msg: Some(hello) });
    let (server, mut client) = deps.pool.client();
    let response = tokio::select! {
        r = client.tunnel(ReceiverStream::new(rx)) => r,
        () = stop.stopped() => return Ok(()),
    };
    let mut inbound = response
        .map_err(|status| rpc_error(&deps.pool, "Tunnel", server.clone(), status))?
        .into_inner();
    backoff.reset();
    let mut streams: HashMap<u64, StopSource> = HashMap::new();
    let mut tasks: JoinSet<u64> = JoinSet::new();
    let mut ops =
        crate::exec::TunnelOps::new(deps.controls.clone(), deps.registry.clone(), tx.clone());
    let result = loop {
        tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(TunnelToClient { msg: Some(tunnel_to_client::Msg::Logs(req)) })) => {
                    let source = StopSource::new();
                    let id = req.stream_id;
                    tasks.spawn(serve_logs(deps.clone(), req, source.subscribe(), tx.clone()));
                    if let Some(old) = streams.insert(id, source) {
                        old.stop();
                    }
                }
                Ok(Some(TunnelToClient { msg: Some(tunnel_to_client::Msg::Fs(req)) })) => {
                    let source = StopSource::new();
                    let id = req.stream_id;
                    let stop = source.subscribe();
                    tasks.spawn(crate::fs::serve_fs(deps.clone(), req, stop, tx.clone()));
                    if let Some(old) = streams.insert(id, source) {
                        old.stop();
                    }
                }
                Ok(Some(TunnelToClient { msg: Some(tunnel_to_client::Msg::Cancel(c)) })) => {
                    if let Some(source) = streams.remove(&c.stream_id) {
                        source.stop();
                    }
                }
                Ok(Some(TunnelToClient { msg: Some(tunnel_to_client::Msg::AllocQuery(req)) })) => {
                    let answer = crate::alloc_query::answer(deps.clone(), req, tx.clone());
                    // Not a stream: its ID is never a stream's.
                    tasks.spawn(async move {
                        answer.await;
                        u64::MAX
                    });
                }
                // Exec, signal and restart: see crate::exec.
                Ok(Some(TunnelToClient { msg: Some(other) })) => ops.handle(other),
                Ok(Some(_)) => {}
                Ok(None) => break Ok(()),
                Err(status) => break Err(rpc_error(&deps.pool, "Tunnel", server.clone(), status)),
            },
            Some(Ok(id)) = tasks.join_next() => {
                streams.remove(&id);
            }
            () = stop.stopped() => break Ok(()),
        }
    };
    for source in streams.values() {
        source.stop();
    }
    tasks.shutdown().await;
    result
}

/// Serves one log request; returns its stream ID when done.
async fn serve_logs(
    deps: TunnelDeps,
    req: WireLogRequest,
    mut stop: Stop,
    tx: mpsc::Sender<TunnelFromClient>,
) -> u64 {
    let id = req.stream_id;
    let (dir, request) = match resolve(&deps, &req) {
        Ok(r) => r,
        Err((error, not_found)) => {
            let end = StreamChunk {
                stream_id: id,
                error,
                not_found,
                eof: true,
                ..StreamChunk::default()
            };
            send_chunk(&tx, end).await;
            return id;
        }
    };
    let (chunks_tx, chunks_rx) = mpsc::channel::<LogChunk>(STREAM_BUFFER);
    let read = async move {
        let result = stream_log(&dir, &request, &chunks_tx, &mut stop).await;
        drop(chunks_tx);
        result
    };
    let (result, ()) = tokio::join!(read, forward(id, chunks_rx, &tx));
    let error = result.err().map(|e| e.to_string()).unwrap_or_default();
    send_chunk(
        &tx,
        StreamChunk {
            stream_id: id,
            eof: true,
            error,
            ..StreamChunk::default()
        },
    )
    .await;
    id
}

/// Forwards a stream's log chunks to the server until the reader is done.
async fn forward(
    id: u64,
    mut chunks: mpsc::Receiver<LogChunk>,
    tx: &mpsc::Sender<TunnelFromClient>,
) {
    while let Some(c) = chunks.recv().await {
        let chunk = StreamChunk {
            stream_id: id,
            data: c.data.to_vec(),
            file: format!("{LOGS_PREFIX}/{}", c.file),
            offset: i64::try_from(c.offset).unwrap_or(i64::MAX),
            ..StreamChunk::default()
        };
        if !send_chunk(tx, chunk).await {
            return;
        }
    }
}

/// Sends a chunk toward the server; false once the tunnel is gone.
async fn send_chunk(tx: &mpsc::Sender<TunnelFromClient>, chunk: StreamChunk) -> bool {
    let msg = TunnelFromClient {
        msg: Some(tunnel_from_client::Msg::Chunk(chunk)),
    };
    tx.send(msg).await.is_ok()
}

/// Checks the request against what the client knows: `(logs dir, request)`, or
/// `(error, not_found)`.
fn resolve(
    deps: &TunnelDeps,
    req: &WireLogRequest,
) -> Result<(PathBuf, LogRequest), (String, bool)> {
    let dir = AllocDir::new(&deps.alloc_root, &req.alloc_id)
        .filter(|_| deps.registry.get(&req.alloc_id).is_some())
        .ok_or_else(|| (format!("Unknown allocation {:?}", req.alloc_id), true))?;
    if !deps.registry.has_task(&req.alloc_id, &req.task) {
        return Err((format!("Unknown task name {:?}", req.task), true));
    }
    let invalid = |e: LogError| (e.to_string(), false);
    let request = LogRequest {
        task: req.task.clone(),
        stream: StreamKind::parse(&req.log_type).map_err(invalid)?,
        origin: Origin::parse(&req.origin).map_err(invalid)?,
        offset: u64::try_from(req.offset).unwrap_or(0),
        follow: req.follow,
    };
    Ok((dir.logs_dir(), request))
}
