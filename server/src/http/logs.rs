//! `GET /v1/client/fs/logs/:alloc`: a task's stdout or stderr, streamed from its client over
//! the client's tunnel, as raw bytes (`plain=true`) or Nomad's JSON frames.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use nomadish_proto::model::StreamFrame;
use nomadish_proto::node_v1::{LogRequest, StreamChunk};

use super::{AppState, HttpError, QueryOptions};
use nomadish_proto::raft_v1::ForwardLogsRequest;
use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;

use crate::tunnel::{ChunkStream, TunnelError};

fn chunk_error(chunk: &StreamChunk) -> HttpError {
    if chunk.not_found {
        HttpError::not_found(chunk.error.clone())
    } else {
        HttpError::internal(chunk.error.clone())
    }
}

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

/// Streams a task's log.
pub async fn logs(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let task = opts.raw.get("task").cloned().unwrap_or_default();
    if task.is_empty() {
        return Err(HttpError::bad_request("must include task name"));
    }
    let log_type = opts.raw.get("type").cloned().unwrap_or_default();
    if log_type != "stdout" && log_type != "stderr" {
        return Err(HttpError::bad_request(
            "must include type as stdout or stderr",
        ));
    }
    let origin = opts
        .raw
        .get("origin")
        .cloned()
        .unwrap_or_else(|| "start".into());
    if origin != "start" && origin != "end" {
        return Err(HttpError::bad_request("origin must be start or end"));
    }
    let offset = match opts.raw.get("offset") {
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| HttpError::bad_request(format!("invalid offset {v:?}")))?,
        None => 0,
    };
    let alloc = server
        .state
        .snapshot()
        .allocs
        .get(&alloc_id)
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("Unknown allocation {alloc_id:?}")))?;
    let req = LogRequest {
        stream_id: 0,
        alloc_id: alloc.id.clone(),
        task,
        log_type,
        origin,
        offset,
        follow: opts.flag("follow"),
    };
    let mut stream = open_stream(&server, &alloc.node_id, req).await?;
    let first = stream.next().await;
    if let Some(chunk) = &first
        && !chunk.error.is_empty()
    {
        return Err(chunk_error(chunk));
    }
    let plain = opts.flag("plain");
    let body = Body::from_stream(chunks(first, stream, plain));
    let mut response = (StatusCode::OK, body).into_response();
    let content_type = if plain {
        "text/plain"
    } else {
        "application/json"
    };
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    Ok(response)
}

/// Where a log stream's chunks come from: this server's tunnel, or a peer's.
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

/// Opens the stream through this server's tunnel to the node, or through the server the node's
/// tunnel is connected to.
async fn open_stream(
    server: &crate::server::Server,
    node_id: &str,
    req: LogRequest,
) -> Result<Source, HttpError> {
    match server.tunnels.open_logs(node_id, req.clone()).await {
        Ok(s) => return Ok(Source::Local(s)),
        Err(TunnelError::NotConnected(_)) => {}
        Err(e) => return Err(HttpError::internal(e.to_string())),
    }
    for (id, peer, _) in server.peers() {
        if id == server.node_id {
            continue;
        }
        let Ok(channel) = server.dial(&peer.rpc_addr).await else {
            continue;
        };
        let forward = ForwardLogsRequest {
            node_id: node_id.to_string(),
            request: Some(req.clone()),
        };
        match ClusterServiceClient::new(channel)
            .stream_logs(forward)
            .await
        {
            Ok(stream) => return Ok(Source::Peer(stream.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => continue,
            Err(status) => return Err(HttpError::internal(status.message().to_string())),
        }
    }
    Err(HttpError::internal(format!(
        "node {node_id} is not connected to any server"
    )))
}

fn chunks(
    first: Option<StreamChunk>,
    stream: Source,
    plain: bool,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(
        (first, stream, false),
        move |(pending, mut stream, done)| async move {
            if done {
                return None;
            }
            let mut next = pending;
            loop {
                let chunk = match next.take() {
                    Some(c) => c,
                    None => stream.next().await?,
                };
                let end = chunk.eof || !chunk.error.is_empty();
                if !chunk.error.is_empty() {
                    let e = std::io::Error::other(chunk.error.clone());
                    return Some((Err(e), (None, stream, true)));
                }
                if let Some(bytes) = encode(chunk, plain) {
                    return Some((Ok(bytes), (None, stream, end)));
                }
                if end {
                    return None;
                }
            }
        },
    )
}
