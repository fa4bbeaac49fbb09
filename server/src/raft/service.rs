//! Inbound raft RPCs: the `RaftService` gRPC server handing requests to openraft.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use nomadish_proto::raft_v1::raft_service_server::RaftService;
use nomadish_proto::raft_v1::{RaftReply, RaftRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use openraft::raft::InstallSnapshotRequest;

use nomadish_proto::tls::{Role, authorize_peer};

use super::Raft;
use super::elector::PreVoteRequest;
use super::network::SnapshotEnvelope;

/// The raft gRPC service of one server.
#[derive(Clone)]
pub struct RaftGrpc {
    raft: Arc<Raft>,
    /// The log, for answering pre-votes.
    log: super::LogStore,
    last_contact: Arc<AtomicI64>,
    /// Whether RPC runs over TLS (then only server certificates of `region` may call).
    tls_on: bool,
    region: String,
}

impl RaftGrpc {
    /// Serves RPCs for this raft instance, recording when a leader last appended.
    pub fn new(
        raft: Arc<Raft>,
        log: super::LogStore,
        last_contact: Arc<AtomicI64>,
        tls_on: bool,
        region: String,
    ) -> Self {
        Self {
            raft,
            log,
            last_contact,
            tls_on,
            region,
        }
    }

    #[allow(clippy::result_large_err)]
    fn authorize<T>(&self, req: &Request<T>) -> Result<(), Status> {
        authorize_peer(req, self.tls_on, &[Role::Server], &self.region).map(|_| ())
    }
}

fn decode<T: DeserializeOwned>(req: Request<RaftRequest>) -> Result<T, Status> {
    serde_json::from_slice(&req.into_inner().data)
        .map_err(|e| Status::invalid_argument(format!("malformed raft request: {e}")))
}

fn reply<T: Serialize, E: Serialize>(result: Result<T, E>) -> Result<Response<RaftReply>, Status> {
    let internal = |e: serde_json::Error| Status::internal(e.to_string());
    let reply = match result {
        Ok(v) => RaftReply {
            data: serde_json::to_vec(&v).map_err(internal)?,
            error: Vec::new(),
        },
        Err(e) => RaftReply {
            data: Vec::new(),
            error: serde_json::to_vec(&e).map_err(internal)?,
        },
    };
    Ok(Response::new(reply))
}

#[tonic::async_trait]
impl RaftService for RaftGrpc {
    async fn append_entries(
        &self,
        req: Request<RaftRequest>,
    ) -> Result<Response<RaftReply>, Status> {
        self.authorize(&req)?;
        let rpc = decode(req)?;
        self.last_contact
            .store(nomadish_proto::model::now_ns(), Ordering::Relaxed);
        reply(self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, req: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        self.authorize(&req)?;
        let rpc = decode(req)?;
        reply(self.raft.vote(rpc).await)
    }

    async fn pre_vote(&self, req: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        self.authorize(&req)?;
        let rpc: PreVoteRequest = decode(req)?;
        let contact = self.last_contact.load(Ordering::Relaxed);
        let answer = super::elector::answer_pre_vote(&self.raft, &self.log, contact, &rpc).await;
        reply::<_, String>(Ok(answer))
    }

    async fn install_snapshot(
        &self,
        req: Request<RaftRequest>,
    ) -> Result<Response<RaftReply>, Status> {
        self.authorize(&req)?;
        let req = req.into_inner();
        let envelope: SnapshotEnvelope = serde_json::from_slice(&req.data)
            .map_err(|e| Status::invalid_argument(format!("malformed snapshot request: {e}")))?;
        let rpc = InstallSnapshotRequest {
            vote: envelope.vote,
            meta: envelope.meta,
            offset: envelope.offset,
            data: req.chunk,
            done: envelope.done,
        };
        reply(self.raft.install_snapshot(rpc).await)
    }
}
