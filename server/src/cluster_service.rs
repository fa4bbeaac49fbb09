//! The cluster gRPC service between servers: forwarded writes, read indexes, joins.

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::raft_v1::cluster_service_server::ClusterService;
use nomadish_proto::raft_v1::{
    ApplyReply, ApplyRequest, JoinReply, JoinRequest, ReadIndexReply, ReadIndexRequest,
};
use tonic::{Request, Response, Status};

use crate::fsm::Command;
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
            Err(Status::failed_precondition("not the leader"))
        }
    }
}

#[tonic::async_trait]
impl ClusterService for ClusterGrpc {
    async fn apply(&self, req: Request<ApplyRequest>) -> Result<Response<ApplyReply>, Status> {
        self.require_leader()?;
        let cmd: Command = serde_json::from_slice(&req.into_inner().command)
            .map_err(|e| Status::invalid_argument(format!("malformed command: {e}")))?;
        let resp = self
            .server
            .raft
            .client_write(cmd)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?
            .data;
        let response = serde_json::to_vec(&resp).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(ApplyReply {
            response,
            index: resp.index,
        }))
    }

    async fn read_index(
        &self,
        _req: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        self.require_leader()?;
        let applied = self
            .server
            .raft
            .ensure_linearizable()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(ReadIndexReply {
            index: applied.map_or(0, |l| l.index),
        }))
    }

    async fn join(&self, req: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        self.require_leader()?;
        let req = req.into_inner();
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
}
