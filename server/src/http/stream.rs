//! Streams from a client, through its tunnel (on this server or a peer), to an HTTP body:
//! shared by `/v1/client/fs/logs` and the allocation filesystem endpoints.
//!
//! ```text
//! open(node, request) ── this server's tunnel ──┐
//!                    └── peer's StreamLogs/StreamFs ┴─> pump ─> mpsc ─> body (plain bytes,
//!                                                                   or JSON frames + `{}`
//!                                                                   heartbeats when idle)
//! ```
//! The pump ends when the HTTP body is dropped, which cancels the stream on the client.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use nomadish_proto::model::StreamFrame;
use nomadish_proto::node_v1::{FsRequest, LogRequest, StreamChunk};
use nomadish_proto::raft_v1::{ForwardFsRequest, ForwardLogsRequest};
use tokio::sync::mpsc;

use super::HttpError;
use crate::server::Server;
use crate::task_ops_route::Peer;
use crate::tunnel::ChunkStream;

/// How long a framed stream may stay silent before a heartbeat frame `{}` (as Nomad).
pub const STREAM_HEARTBEAT: Duration = Duration::from_secs(1);
/// Chunks buffered between the tunnel and the HTTP body.
const PUMP_BUFFER: usize = 16;

/// What to ask the client for.
#[derive(Debug, Clone)]
pub enum StreamRequest {
    /// A task's log.
    Logs(LogRequest),
    /// An allocation filesystem operation.
    Fs(FsRequest),
}

/// Where chunks come from: this server's tunnel, or a peer's.
enum Source {
    Local(ChunkStream),
    Peer(tonic::Streaming<StreamChunk>),
}

impl Source {
    async fn next(&mut self) -> Option<StreamChunk> {
        match self {
            Source::Local(s) => s.next().await,
            Source::Peer(s) => s.message().await.ok().flatten(),
        }
    }
}

/// Opens the stream on the node and returns its chunks.
pub async fn open(
    server: &Server,
    node_id: &str,
    req: StreamRequest,
) -> Result<mpsc::Receiver<StreamChunk>, HttpError> {
    let mut source = open_source(server, node_id, req).await?;
    let (tx, rx) = mpsc::channel(PUMP_BUFFER);
    tokio::spawn(async move {
        loop {
            let chunk = tokio::select! {
                c = source.next() => c,
                () = tx.closed() => return,
            };
            let Some(chunk) = chunk else { return };
            let end = chunk.eof || !chunk.error.is_empty();
            if tx.send(chunk).await.is_err() || end {
                return;
            }
        }
    });
    Ok(rx)
}

/// The stream from whichever server holds the node's tunnel, held while none does (see
/// [`crate::task_ops_route::route`]).
async fn open_source(
    server: &Server,
    node_id: &str,
    req: StreamRequest,
) -> Result<Source, HttpError> {
    let local = || async {
        let stream = match &req {
            StreamRequest::Logs(r) => server.tunnels.open_logs(node_id, r.clone()).await?,
            StreamRequest::Fs(r) => server.tunnels.open_fs(node_id, r.clone()).await?,
        };
        Ok(Source::Local(stream))
    };
    let forward = |mut client: Peer| {
        let node_id = node_id.to_string();
        let req = req.clone();
        async move {
            let stream = match req {
                StreamRequest::Logs(r) => {
                    let request = Some(r);
                    client
                        .stream_logs(ForwardLogsRequest { node_id, request })
                        .await?
                }
                StreamRequest::Fs(r) => {
                    let request = Some(r);
                    client
                        .stream_fs(ForwardFsRequest { node_id, request })
                        .await?
                }
            };
            Ok(Source::Peer(stream.into_inner()))
        }
    };
    crate::task_ops_route::route(server, node_id, local, forward)
        .await
        .map_err(|e| HttpError::internal(e.to_string()))
}

/// The HTTP error a client's error chunk stands for.
pub fn chunk_error(chunk: &StreamChunk) -> HttpError {
    let status = match chunk.status {
        400 => StatusCode::BAD_REQUEST,
        403 => StatusCode::FORBIDDEN,
        404 => StatusCode::NOT_FOUND,
        _ if chunk.not_found => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    HttpError {
        status,
        message: chunk.error.clone(),
    }
}

/// The first chunk, or the error the stream starts with (so it becomes the status code).
pub async fn first(rx: &mut mpsc::Receiver<StreamChunk>) -> Result<Option<StreamChunk>, HttpError> {
    match rx.recv().await {
        Some(chunk) if !chunk.error.is_empty() => Err(chunk_error(&chunk)),
        other => Ok(other),
    }
}

/// All the stream's bytes (for answers that are one JSON document).
pub async fn collect(mut rx: mpsc::Receiver<StreamChunk>) -> Result<Vec<u8>, HttpError> {
    let mut data = Vec::new();
    while let Some(chunk) = rx.recv().await {
        if !chunk.error.is_empty() {
            return Err(chunk_error(&chunk));
        }
        data.extend_from_slice(&chunk.data);
        if chunk.eof {
            break;
        }
    }
    Ok(data)
}

/// One chunk as body bytes: raw when `plain`, else a JSON frame; `None` for empty chunks.
fn encode(chunk: StreamChunk, plain: bool) -> Option<Bytes> {
    if chunk.data.is_empty() {
        return None;
    }
    if plain {
        return Some(Bytes::from(chunk.data));
    }
    let frame = StreamFrame {
        data: base64::engine::general_purpose::STANDARD.encode(&chunk.data),
        file: chunk.file,
        offset: chunk.offset,
        file_event: String::new(),
    };
    serde_json::to_vec(&frame).ok().map(Bytes::from)
}

/// A heartbeat frame: every field empty.
fn heartbeat() -> Bytes {
    Bytes::from_static(b"{}")
}

/// The response streaming `first` and then the rest of `rx`: raw bytes (`text/plain`) or
/// JSON frames with heartbeats (`application/json`).
pub fn response(
    first: Option<StreamChunk>,
    rx: mpsc::Receiver<StreamChunk>,
    plain: bool,
) -> Response {
    let body = Body::from_stream(frames(first, rx, plain));
    let mut response = (StatusCode::OK, body).into_response();
    let content_type = if plain {
        "text/plain; charset=utf-8"
    } else {
        "application/json"
    };
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

fn frames(
    first: Option<StreamChunk>,
    rx: mpsc::Receiver<StreamChunk>,
    plain: bool,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(
        (first, rx, false),
        move |(pending, mut rx, done)| async move {
            if done {
                return None;
            }
            let mut next = pending;
            loop {
                let chunk = match next.take() {
                    Some(c) => c,
                    None if plain => rx.recv().await?,
                    None => match tokio::time::timeout(STREAM_HEARTBEAT, rx.recv()).await {
                        Ok(c) => c?,
                        Err(_) => return Some((Ok(heartbeat()), (None, rx, false))),
                    },
                };
                if !chunk.error.is_empty() {
                    let e = std::io::Error::other(chunk.error.clone());
                    return Some((Err(e), (None, rx, true)));
                }
                let end = chunk.eof;
                if let Some(bytes) = encode(chunk, plain) {
                    return Some((Ok(bytes), (None, rx, end)));
                }
                if end {
                    return None;
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn data(d: &[u8], offset: i64) -> StreamChunk {
        StreamChunk {
            data: d.to_vec(),
            file: "alloc/logs/t.stdout.0".into(),
            offset,
            ..StreamChunk::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn framed_streams_send_heartbeats_while_idle() {
        let (tx, rx) = mpsc::channel(4);
        let mut body = Box::pin(frames(Some(data(b"hi", 0)), rx, false));
        let frame: serde_json::Value =
            serde_json::from_slice(&body.next().await.unwrap().unwrap()).unwrap();
        assert_eq!(frame["Data"], "aGk=");
        assert_eq!(frame["File"], "alloc/logs/t.stdout.0");
        assert!(frame.get("Offset").is_none(), "zero offsets are omitted");
        // Nothing for a while: a heartbeat frame.
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"{}");
        tx.send(data(b"!", 2)).await.unwrap();
        let frame: serde_json::Value =
            serde_json::from_slice(&body.next().await.unwrap().unwrap()).unwrap();
        assert_eq!(frame["Offset"], 2);
        tx.send(StreamChunk {
            eof: true,
            ..StreamChunk::default()
        })
        .await
        .unwrap();
        assert!(body.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn plain_streams_carry_raw_bytes_only() {
        let (tx, rx) = mpsc::channel(4);
        let mut body = Box::pin(frames(None, rx, true));
        tx.send(data(b"raw", 0)).await.unwrap();
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"raw");
        drop(tx);
        assert!(body.next().await.is_none());
    }

    #[test]
    fn error_chunks_map_to_their_status() {
        let err = |status, not_found| {
            chunk_error(&StreamChunk {
                error: "x".into(),
                status,
                not_found,
                ..StreamChunk::default()
            })
            .status
        };
        assert_eq!(err(400, false), StatusCode::BAD_REQUEST);
        assert_eq!(err(403, false), StatusCode::FORBIDDEN);
        assert_eq!(err(0, true), StatusCode::NOT_FOUND);
        assert_eq!(err(0, false), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
