//! The cluster gRPC service between servers: forwarded writes, read indexes, joins.

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::raft_v1::cluster_service_server::ClusterService;
use std::pin::Pin;

use futures::Stream;
use nomadish_proto::node_v1::StreamChunk;
use nomadish_proto::raft_v1::{
    ApplyReply, ApplyRequest, DiscoverReply, DiscoverRequest, ForwardFsRequest, ForwardLogsRequest,
    JoinReply, JoinRequest, ReadIndexReply, ReadIndexRequest, RemovePeerReply, RemovePeerRequest,
    ServerInfo, TransferLeadershipReply, TransferLeadershipRequest, YieldReply, YieldRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::tunnel::TunnelError;
use nomadish_proto::tls::Role;

use crate::fsm::Command;
use crate::group_commit::CommitFailure;
use crate::raft::ServerNode;
use crate::server::Server;

/// The cluster service of one server.
#[derive(Clone)]
pub struct ClusterGrpc {
    server: Arc<Server>,
}

impl ClusterGrpc {
    /// Serves cluster RPCs for this server.
    pub fn new(server: Arc<Server>) -> Self {
        Self { server }
    }

    fn require_leader(&self) -> Result<(), Status> {
        if self.server.is_leader() {
            Ok(())
        } else {
            Err(Status::failed_precondition(NOT_LEADER))
        }
    }
}

/// How a server that does not lead refuses a forwarded write it did not apply.
const NOT_LEADER: &str = "not the leader";

/// Whether a forwarded write was refused because the server it reached does not lead (so it
/// was not applied there, and may go to the new leader).
pub fn refused_as_not_leader(status: &Status) -> bool {
    status.code() == tonic::Code::FailedPrecondition && status.message().starts_with(NOT_LEADER)
}

fn info(id: u64, node: &ServerNode) -> ServerInfo {
    ServerInfo {
        node_id: id,
        rpc_addr: node.rpc_addr.clone(),
        http_addr: node.http_addr.clone(),
        name: node.name.clone(),
    }
}

/// Chunks buffered per forwarded log stream.
const FORWARD_BUFFER: usize = 16;

#[tonic::async_trait]
impl ClusterService for ClusterGrpc {
    async fn apply(&self, req: Request<ApplyRequest>) -> Result<Response<ApplyReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        self.server.wait_out_transfer().await;
        self.require_leader()?;
        let request_id = crate::http::request_id::from_metadata(&req);
        let cmd: Command = serde_json::from_slice(&req.into_inner().command)
            .map_err(|e| Status::invalid_argument(format!("malformed command: {e}")))?;
        let span = tracing::info_span!("forwarded", request_id = %request_id);
        let write = async {
            tracing::debug!(
                command = cmd.metric_name(),
                "applying a write forwarded by a follower"
            );
            self.server
                .group_commit
                .commit(&self.server.raft, cmd)
                .await
        };
        let resp = crate::http::request_id::scope(request_id.clone(), write)
            .instrument(span)
            .await
            .map_err(|e| match e {
                CommitFailure::NotLeader(reason) => {
                    Status::failed_precondition(format!("{NOT_LEADER}: {reason}"))
                }
                CommitFailure::Failed(message) => Status::unavailable(message),
            })?;
        let response = serde_json::to_vec(&resp).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(ApplyReply {
            response,
            index: resp.index,
        }))
    }

    async fn read_index(
        &self,
        req_check: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        self.server.authorize_rpc(&req_check, &[Role::Server])?;
        self.require_leader()?;
        let applied = self
            .server
            .confirm_leadership()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(ReadIndexReply {
            index: applied.map_or(0, |l| l.index),
        }))
    }

    async fn join(&self, req: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        self.require_leader()?;
        let req = req.into_inner();
        if req.node_id == 0 || req.rpc_addr.is_empty() {
            return Err(Status::invalid_argument(
                "a joining server needs its node ID and RPC address",
            ));
        }
        let node = ServerNode {
            rpc_addr: req.rpc_addr,
            http_addr: req.http_addr,
            name: req.name,
        };
        let raft = &self.server.raft;
        let already_voter = self
            .server
            .peers()
            .iter()
            .any(|(id, n, voter)| *id == req.node_id && *voter && *n == node);
        if !already_voter {
            raft.add_learner(req.node_id, node, true)
                .await
                .map_err(|e| Status::unavailable(format!("adding learner: {e}")))?;
            let mut voters: BTreeSet<u64> = self
                .server
                .peers()
                .into_iter()
                .filter(|(_, _, voter)| *voter)
                .map(|(id, _, _)| id)
                .collect();
            voters.insert(req.node_id);
            raft.change_membership(voters, false)
                .await
                .map_err(|e| Status::unavailable(format!("promoting to voter: {e}")))?;
        }
        let leader = self.server.leader();
        Ok(Response::new(JoinReply {
            leader_id: leader.as_ref().map_or(0, |(id, _)| *id),
            leader_addr: leader.map(|(_, n)| n.rpc_addr).unwrap_or_default(),
        }))
    }

    async fn discover(
        &self,
        req: Request<DiscoverRequest>,
    ) -> Result<Response<DiscoverReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        let caller = req
            .into_inner()
            .caller
            .ok_or_else(|| Status::invalid_argument("caller is required"))?;
        let known: Vec<ServerInfo> = {
            let mut known = self
                .server
                .known_servers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            known.insert(
                caller.node_id,
                ServerNode {
                    rpc_addr: caller.rpc_addr,
                    http_addr: caller.http_addr,
                    name: caller.name,
                },
            );
            known.iter().map(|(id, n)| info(*id, n)).collect()
        };
        let initialized = self.server.raft.is_initialized().await.unwrap_or(false);
        Ok(Response::new(DiscoverReply {
            known,
            initialized,
            leader_addr: self
                .server
                .leader()
                .map(|(_, n)| n.rpc_addr)
                .unwrap_or_default(),
        }))
    }

    type StreamLogsStream = Pin<Box<dyn Stream<Item = Result<StreamChunk, Status>> + Send>>;

    async fn stream_logs(
        &self,
        req: Request<ForwardLogsRequest>,
    ) -> Result<Response<Self::StreamLogsStream>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        let req = req.into_inner();
        let log_req = req
            .request
            .ok_or_else(|| Status::invalid_argument("request is required"))?;
        let stream = match self.server.tunnels.open_logs(&req.node_id, log_req).await {
            Ok(s) => s,
            Err(e @ TunnelError::NotConnected(_)) => return Err(Status::not_found(e.to_string())),
            Err(e) => return Err(Status::unavailable(e.to_string())),
        };
        Ok(Response::new(forward_chunks(stream)))
    }

    type StreamFsStream = Pin<Box<dyn Stream<Item = Result<StreamChunk, Status>> + Send>>;

    async fn stream_fs(
        &self,
        req: Request<ForwardFsRequest>,
    ) -> Result<Response<Self::StreamFsStream>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        let req = req.into_inner();
        let fs_req = req
            .request
            .ok_or_else(|| Status::invalid_argument("request is required"))?;
        let stream = match self.server.tunnels.open_fs(&req.node_id, fs_req).await {
            Ok(s) => s,
            Err(e @ TunnelError::NotConnected(_)) => return Err(Status::not_found(e.to_string())),
            Err(e) => return Err(Status::unavailable(e.to_string())),
        };
        Ok(Response::new(forward_chunks(stream)))
    }

    type ForwardExecStream = crate::task_ops_peer::ExecOutputStream;

    async fn forward_exec(
        &self,
        req: Request<tonic::Streaming<nomadish_proto::raft_v1::ForwardExecMessage>>,
    ) -> Result<Response<Self::ForwardExecStream>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        crate::task_ops_peer::forward_exec(&self.server, req.into_inner())
            .await
            .map(Response::new)
    }

    async fn forward_task_signal(
        &self,
        req: Request<nomadish_proto::raft_v1::ForwardTaskSignalRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::TaskSignalReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        crate::task_ops_peer::forward_signal(&self.server, req.into_inner())
            .await
            .map(Response::new)
    }

    async fn forward_task_restart(
        &self,
        req: Request<nomadish_proto::raft_v1::ForwardTaskRestartRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::TaskRestartReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        crate::task_ops_peer::forward_restart(&self.server, req.into_inner())
            .await
            .map(Response::new)
    }

    async fn forward_alloc_query(
        &self,
        req: Request<nomadish_proto::raft_v1::ForwardAllocQueryRequest>,
    ) -> Result<Response<nomadish_proto::node_v1::AllocQueryReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        crate::task_ops_peer::forward_alloc_query(&self.server, req.into_inner())
            .await
            .map(Response::new)
    }

    async fn remove_peer(
        &self,
        req: Request<RemovePeerRequest>,
    ) -> Result<Response<RemovePeerReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        self.require_leader()?;
        crate::operator::remove_peer(&self.server, req.into_inner().node_id)
            .await
            .map_err(operator_status)?;
        Ok(Response::new(RemovePeerReply {}))
    }

    async fn transfer_leadership(
        &self,
        req: Request<TransferLeadershipRequest>,
    ) -> Result<Response<TransferLeadershipReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        self.require_leader()?;
        let target = Some(req.into_inner().target).filter(|t| *t != 0);
        let leader = crate::operator::transfer_leadership(&self.server, target)
            .await
            .map_err(operator_status)?;
        Ok(Response::new(TransferLeadershipReply { leader }))
    }

    async fn r#yield(&self, req: Request<YieldRequest>) -> Result<Response<YieldReply>, Status> {
        self.server.authorize_rpc(&req, &[Role::Server])?;
        let req = req.into_inner();
        let window = std::time::Duration::from_millis(req.window_ms.min(MAX_YIELD_MS));
        crate::operator::yield_for(self.server.clone(), req.campaign, window);
        Ok(Response::new(YieldReply {}))
    }
}

/// The longest a server yields or campaigns for one transfer.
const MAX_YIELD_MS: u64 = 60_000;

fn operator_status(e: crate::operator::OperatorError) -> Status {
    match e {
        crate::operator::OperatorError::BadRequest(m) => Status::invalid_argument(m),
        other => Status::unavailable(other.to_string()),
    }
}

/// Relays a tunnel stream's chunks to a peer server until its end; a peer that hangs up
/// drops the tunnel stream, which cancels it on the client.
fn forward_chunks(
    mut stream: crate::tunnel::ChunkStream,
) -> Pin<Box<dyn Stream<Item = Result<StreamChunk, Status>> + Send>> {
    let (tx, rx) = mpsc::channel(FORWARD_BUFFER);
    tokio::spawn(async move {
        loop {
            let chunk = tokio::select! {
                c = stream.next() => c,
                () = tx.closed() => return,
            };
            let Some(chunk) = chunk else { return };
            let end = chunk.eof || !chunk.error.is_empty();
            if tx.send(Ok(chunk)).await.is_err() || end {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_for_not_leading_is_told_apart_from_other_failures() {
        assert!(refused_as_not_leader(&Status::failed_precondition(
            NOT_LEADER
        )));
        assert!(refused_as_not_leader(&Status::failed_precondition(
            format!("{NOT_LEADER}: has to forward request to 2")
        )));
        assert!(!refused_as_not_leader(&Status::unavailable(NOT_LEADER)));
        assert!(!refused_as_not_leader(&Status::failed_precondition(
            "stale configuration"
        )));
    }
}
