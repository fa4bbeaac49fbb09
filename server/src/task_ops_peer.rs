//! The receiving side of forwarded task operations (ClusterService `ForwardExec`,
//! `ForwardTaskSignal`, `ForwardTaskRestart`): served only through this server's own tunnel
//! to the node; `NotFound` when the node has none here, so the caller tries the next peer.

use std::pin::Pin;

use futures::Stream;
use nomadish_proto::node_v1::{AllocQueryReply, ExecOutput, TaskRestartReply, TaskSignalReply};
use nomadish_proto::raft_v1::{
    ForwardAllocQueryRequest, ForwardExecMessage, ForwardTaskRestartRequest,
    ForwardTaskSignalRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::server::Server;
use crate::tunnel::TunnelError;

/// Outputs buffered toward the calling server.
const FORWARD_BUFFER: usize = 64;

/// The stream `ForwardExec` answers with.
pub type ExecOutputStream = Pin<Box<dyn Stream<Item = Result<ExecOutput, Status>> + Send>>;

fn status(e: TunnelError) -> Status {
    match e {
        e @ TunnelError::NotConnected(_) => Status::not_found(e.to_string()),
        e => Status::unavailable(e.to_string()),
    }
}

/// Serves a forwarded exec session through this server's tunnel.
pub async fn forward_exec(
    server: &Server,
    mut inbound: Streaming<ForwardExecMessage>,
) -> Result<ExecOutputStream, Status> {
    let first = inbound
        .message()
        .await?
        .ok_or_else(|| Status::invalid_argument("empty exec stream"))?;
    let start = first
        .start
        .ok_or_else(|| Status::invalid_argument("an exec stream starts with start"))?;
    let mut stream = server
        .task_ops
        .open_exec(&server.tunnels, &first.node_id, start)
        .await
        .map_err(status)?;
    let (tx, rx) = mpsc::channel(FORWARD_BUFFER);
    tokio::spawn(async move {
        let mut input_open = true;
        loop {
            tokio::select! {
                out = stream.next() => {
                    let Some(out) = out else { return };
                    let last = out.exited || !out.error.is_empty();
                    if tx.send(Ok(out)).await.is_err() || last {
                        return;
                    }
                }
                msg = inbound.message(), if input_open => match msg {
                    Ok(Some(ForwardExecMessage { input: Some(input), .. })) => {
                        stream.send(input).await;
                    }
                    Ok(Some(_)) => {}
                    // The caller went away: dropping the stream cancels the command.
                    Ok(None) | Err(_) => input_open = false,
                },
                () = tx.closed() => return,
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

/// Serves a forwarded signal through this server's tunnel.
pub async fn forward_signal(
    server: &Server,
    req: ForwardTaskSignalRequest,
) -> Result<TaskSignalReply, Status> {
    let inner = req
        .request
        .ok_or_else(|| Status::invalid_argument("request is required"))?;
    let id = inner.request_id;
    let (error, error_code) = server
        .task_ops
        .signal(&server.tunnels, &req.node_id, inner)
        .await
        .map_err(status)?;
    Ok(TaskSignalReply {
        request_id: id,
        error,
        error_code,
    })
}

/// Serves a forwarded restart through this server's tunnel.
pub async fn forward_restart(
    server: &Server,
    req: ForwardTaskRestartRequest,
) -> Result<TaskRestartReply, Status> {
    let inner = req
        .request
        .ok_or_else(|| Status::invalid_argument("request is required"))?;
    let id = inner.request_id;
    let (error, error_code) = server
        .task_ops
        .restart(&server.tunnels, &req.node_id, inner)
        .await
        .map_err(status)?;
    Ok(TaskRestartReply {
        request_id: id,
        error,
        error_code,
    })
}

/// Serves a forwarded allocation query through this server's tunnel.
pub async fn forward_alloc_query(
    server: &Server,
    req: ForwardAllocQueryRequest,
) -> Result<AllocQueryReply, Status> {
    let inner = req
        .request
        .ok_or_else(|| Status::invalid_argument("request is required"))?;
    server
        .task_ops
        .alloc_query(&server.tunnels, &req.node_id, inner)
        .await
        .map_err(status)
}
