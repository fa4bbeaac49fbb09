//! Outbound raft RPCs to other servers over gRPC (`RaftService`), JSON payloads.

use std::time::Duration;

use nomadish_proto::raft_v1::RaftRequest;
use nomadish_proto::raft_v1::raft_service_client::RaftServiceClient;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::Channel;

use super::{NodeId, ServerNode, TypeConfig};
use crate::grpc_channel;

/// How long dialing another server may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// An InstallSnapshot request without its bytes, which travel raw beside it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SnapshotEnvelope {
    /// The leader's vote.
    pub vote: openraft::Vote<NodeId>,
    /// The snapshot's metadata.
    pub meta: openraft::SnapshotMeta<NodeId, ServerNode>,
    /// Offset of the chunk in the snapshot.
    pub offset: u64,
    /// Whether this is the last chunk.
    pub done: bool,
}

/// Builds connections to other servers.
#[derive(Debug, Clone, Default)]
pub struct Network {
    tls: Option<nomadish_proto::tls::RpcClientTls>,
    source: Option<std::net::IpAddr>,
}

impl Network {
    /// A network dialing with this TLS configuration (plaintext when `None`), from `source`
    /// when given.
    pub fn new(
        tls: Option<nomadish_proto::tls::RpcClientTls>,
        source: Option<std::net::IpAddr>,
    ) -> Self {
        Self { tls, source }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &ServerNode) -> Connection {
        Connection {
            target,
            node: node.clone(),
            tls: self.tls.clone(),
            source: self.source,
            client: None,
            batch: MAX_BATCH,
        }
    }
}

/// A lazily dialed connection to one server.
pub struct Connection {
    target: NodeId,
    node: ServerNode,
    tls: Option<nomadish_proto::tls::RpcClientTls>,
    source: Option<std::net::IpAddr>,
    client: Option<RaftServiceClient<Channel>>,
    /// Entries sent per call: halved after a call times out, doubled after a success (up to
    /// the configured maximum). openraft times each call out after one heartbeat interval, so a
    /// target that cannot take a full batch in time still catches up, a part at a time.
    batch: usize,
}

/// The most entries one append call carries (openraft's `max_payload_entries` caps it too).
const MAX_BATCH: usize = 64;

type RpcResult<T, E> = Result<T, RPCError<NodeId, ServerNode, RaftError<NodeId, E>>>;

/// Which RPC to call.
#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

impl Connection {
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        chunk: Vec<u8>,
        ttl: Duration,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let data = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        if self.client.is_none() {
            let channel = grpc_channel(
                &self.node.rpc_addr,
                self.tls.clone(),
                self.source,
                CONNECT_TIMEOUT,
            )
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
            self.client =
                Some(RaftServiceClient::new(channel).max_decoding_message_size(usize::MAX));
        }
        let Some(client) = self.client.as_mut() else {
            unreachable_client()?
        };
        let request = tonic::Request::new(RaftRequest { data, chunk });
        let fut = async {
            match rpc {
                Rpc::Append => client.append_entries(request).await,
                Rpc::Vote => client.vote(request).await,
                Rpc::Snapshot => client.install_snapshot(request).await,
            }
        };
        let reply = match tokio::time::timeout(ttl, fut).await {
            Ok(Ok(reply)) => reply.into_inner(),
            Ok(Err(status)) => {
                self.client = None;
                return Err(RPCError::Network(NetworkError::new(&status)));
            }
            Err(elapsed) => {
                self.client = None;
                return Err(RPCError::Network(NetworkError::new(&elapsed)));
            }
        };
        if !reply.error.is_empty() {
            let err: RaftError<NodeId, E> = serde_json::from_slice(&reply.error)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
            return Err(RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                err,
            )));
        }
        serde_json::from_slice(&reply.data).map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }
}

fn unreachable_client<T, E: std::error::Error>() -> RpcResult<T, E> {
    let e = std::io::Error::other("no client");
    Err(RPCError::Unreachable(Unreachable::new(&e)))
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        let mut rpc = rpc;
        let partial = rpc.entries.len() > self.batch;
        if partial {
            rpc.entries.truncate(self.batch);
        }
        let last = rpc.entries.last().map(|e| e.log_id);
        // openraft drops this future at `hard_ttl`; time out first so the batch can shrink.
        let result = self
            .call(Rpc::Append, &rpc, Vec::new(), option.soft_ttl())
            .await;
        match &result {
            Ok(_) => self.batch = (self.batch * 2).min(MAX_BATCH),
            Err(_) if rpc.entries.len() > 1 => self.batch = (rpc.entries.len() / 2).max(1),
            Err(_) => {}
        }
        match result {
            Ok(AppendEntriesResponse::Success) if partial => {
                Ok(AppendEntriesResponse::PartialSuccess(last))
            }
            other => other,
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let envelope = SnapshotEnvelope {
            vote: rpc.vote,
            meta: rpc.meta,
            offset: rpc.offset,
            done: rpc.done,
        };
        self.call(Rpc::Snapshot, &envelope, rpc.data, option.hard_ttl())
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.call(Rpc::Vote, &rpc, Vec::new(), option.hard_ttl())
            .await
    }
}
