//! Outbound raft RPCs to other servers over gRPC (`RaftService`), JSON payloads.

use std::time::Duration;

use nomadish_proto::raft_v1::raft_service_client::RaftServiceClient;
use nomadish_proto::raft_v1::{RaftReply, RaftRequest};
use openraft::LogId;
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
            in_flight: None,
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
    /// The append call on the wire, kept when openraft stops waiting for it (see
    /// [`InFlight`]).
    in_flight: Option<InFlight>,
}

/// An append call still on the wire. openraft gives each call one heartbeat interval; a
/// target busy for longer (a large entry on a loaded machine) would get the same entries
/// again and again, each retry queued behind the last and timed out in turn, and never catch
/// up. Instead the call runs on in its own task, and the next call waits for it first: if it
/// carried the entries asked for (same leader, same previous entry) its answer is that call's
/// answer, so the target does each piece of work once.
struct InFlight {
    vote: openraft::Vote<NodeId>,
    prev: Option<LogId<NodeId>>,
    /// The last entry it carried (its `prev` when it carried none).
    last: Option<LogId<NodeId>>,
    reply: tokio::task::JoinHandle<Result<RaftReply, String>>,
}

/// Longest an append call may stay on the wire before the connection is presumed dead.
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(3);

/// The most entries one append call carries (openraft's `max_payload_entries` caps it too).
const MAX_BATCH: usize = 64;

type RpcResult<T, E> = Result<T, RPCError<NodeId, ServerNode, RaftError<NodeId, E>>>;

/// Which RPC to call.
#[derive(Clone, Copy)]
enum Rpc {
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
        let client = self.client().await?;
        let request = tonic::Request::new(RaftRequest { data, chunk });
        let fut = async {
            match rpc {
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
        self.decode(reply)
    }

    /// The client, dialed on first use.
    async fn client<E: std::error::Error>(
        &mut self,
    ) -> Result<&mut RaftServiceClient<Channel>, RPCError<NodeId, ServerNode, RaftError<NodeId, E>>>
    {
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
        match self.client.as_mut() {
            Some(client) => Ok(client),
            None => unreachable_client(),
        }
    }

    /// A reply's result, or the error the target sent.
    fn decode<Resp, E>(&self, reply: RaftReply) -> RpcResult<Resp, E>
    where
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
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

impl Connection {
    /// Puts an append call on the wire in its own task (see [`InFlight`]).
    async fn send_append(
        &mut self,
        rpc: &AppendEntriesRequest<TypeConfig>,
    ) -> RpcResult<(), openraft::error::Infallible> {
        let data = serde_json::to_vec(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut client = self.client().await?.clone();
        let request = tonic::Request::new(RaftRequest {
            data,
            chunk: Vec::new(),
        });
        let reply = tokio::spawn(async move {
            match tokio::time::timeout(IN_FLIGHT_LIMIT, client.append_entries(request)).await {
                Ok(Ok(reply)) => Ok(reply.into_inner()),
                Ok(Err(status)) => Err(status.to_string()),
                Err(_) => Err(format!("no answer within {IN_FLIGHT_LIMIT:?}")),
            }
        });
        self.in_flight = Some(InFlight {
            vote: rpc.vote,
            prev: rpc.prev_log_id,
            last: rpc.entries.last().map(|e| e.log_id).or(rpc.prev_log_id),
            reply,
        });
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(call) = self.in_flight.take() {
            call.reply.abort();
        }
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
        let deadline = tokio::time::Instant::now() + option.soft_ttl();
        let asked = rpc.entries.last().map(|e| e.log_id).or(rpc.prev_log_id);
        let mut sent = None;
        loop {
            if self.in_flight.is_none() {
                // A fresh call carries at most `batch` entries (copied alone, not the whole
                // request then cut).
                let part = AppendEntriesRequest {
                    vote: rpc.vote,
                    prev_log_id: rpc.prev_log_id,
                    leader_commit: rpc.leader_commit,
                    entries: rpc.entries.iter().take(self.batch).cloned().collect(),
                };
                self.send_append(&part).await?;
                sent = Some(part.entries.len());
            }
            let Some(call) = self.in_flight.as_mut() else {
                return unreachable_client();
            };
            let joined = match tokio::time::timeout_at(deadline, &mut call.reply).await {
                Ok(joined) => joined,
                Err(elapsed) => {
                    if let Some(n) = sent.filter(|n| *n > 1) {
                        self.batch = (n / 2).max(1);
                    }
                    return Err(RPCError::Network(NetworkError::new(&elapsed)));
                }
            };
            let Some(call) = self.in_flight.take() else {
                return unreachable_client();
            };
            let reply = match joined {
                Ok(Ok(reply)) => reply,
                // A call kept from an earlier attempt failed: send this attempt's entries
                // anew (on a fresh connection) rather than fail it too.
                Ok(Err(_)) | Err(_) if sent.is_none() => {
                    self.client = None;
                    continue;
                }
                Ok(Err(e)) => {
                    self.client = None;
                    return Err(RPCError::Network(NetworkError::new(
                        &std::io::Error::other(e),
                    )));
                }
                Err(e) => return Err(RPCError::Network(NetworkError::new(&e))),
            };
            if call.vote != rpc.vote || call.prev != rpc.prev_log_id {
                // An answer to an older question (the leader moved on meanwhile): ask anew.
                continue;
            }
            let answer = self.decode(reply)?;
            if sent.is_some() {
                self.batch = (self.batch * 2).min(MAX_BATCH);
            }
            return Ok(match answer {
                // The target holds everything up to what that call carried (a part of what
                // is asked now, or more); openraft wants the answer within what it asked.
                AppendEntriesResponse::Success if call.last >= asked => {
                    AppendEntriesResponse::Success
                }
                AppendEntriesResponse::Success => AppendEntriesResponse::PartialSuccess(call.last),
                AppendEntriesResponse::PartialSuccess(upto) => {
                    AppendEntriesResponse::PartialSuccess(upto.min(asked))
                }
                other => other,
            });
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use nomadish_proto::raft_v1::raft_service_server::{RaftService, RaftServiceServer};
    use openraft::{Entry, EntryPayload, Vote};
    use tokio_stream::wrappers::TcpListenerStream;
    use tonic::{Request, Response, Status};

    use super::*;

    /// A target that takes `delay` over every append (a loaded server), counting them. With
    /// `fail_first`, only the first append is slow, and it fails; the later ones answer at once.
    struct SlowTarget {
        delay: Duration,
        fail_first: bool,
        appends: Arc<AtomicUsize>,
    }

    #[tonic::async_trait]
    impl RaftService for SlowTarget {
        async fn append_entries(
            &self,
            _: Request<RaftRequest>,
        ) -> Result<Response<RaftReply>, Status> {
            let earlier = self.appends.fetch_add(1, Ordering::SeqCst);
            if self.fail_first && earlier == 0 {
                tokio::time::sleep(self.delay).await;
                return Err(Status::unavailable("the first append fails"));
            }
            if !self.fail_first {
                tokio::time::sleep(self.delay).await;
            }
            let data = serde_json::to_vec(&AppendEntriesResponse::<NodeId>::Success).unwrap();
            Ok(Response::new(RaftReply {
                data,
                error: Vec::new(),
            }))
        }
        async fn vote(&self, _: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
            Err(Status::unimplemented("vote"))
        }
        async fn install_snapshot(
            &self,
            _: Request<RaftRequest>,
        ) -> Result<Response<RaftReply>, Status> {
            Err(Status::unimplemented("install_snapshot"))
        }
        async fn pre_vote(&self, _: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
            Err(Status::unimplemented("pre_vote"))
        }
    }

    async fn slow_target(delay: Duration) -> (Connection, Arc<AtomicUsize>) {
        target(delay, false).await
    }

    async fn target(delay: Duration, fail_first: bool) -> (Connection, Arc<AtomicUsize>) {
        let appends = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = RaftServiceServer::new(SlowTarget {
            delay,
            fail_first,
            appends: appends.clone(),
        });
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        let node = ServerNode {
            rpc_addr: addr.to_string(),
            http_addr: String::new(),
            name: "slow".into(),
        };
        (Network::default().new_client(2, &node).await, appends)
    }

    fn append(prev: Option<u64>, last: u64) -> AppendEntriesRequest<TypeConfig> {
        let id = |i| LogId::new(openraft::CommittedLeaderId::new(1, 1), i);
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: prev.map(id),
            leader_commit: None,
            entries: (prev.map_or(1, |p| p + 1)..=last)
                .map(|i| Entry {
                    log_id: id(i),
                    payload: EntryPayload::Blank,
                })
                .collect(),
        }
    }

    /// Calls as openraft does: dropped at the hard TTL (100 ms), then asked again, up to
    /// `tries`.
    async fn call_until_answered(
        conn: &mut Connection,
        req: &AppendEntriesRequest<TypeConfig>,
        tries: usize,
    ) -> (usize, Option<AppendEntriesResponse<NodeId>>) {
        call_with_ttl(conn, req, tries, Duration::from_millis(100)).await
    }

    async fn call_with_ttl(
        conn: &mut Connection,
        req: &AppendEntriesRequest<TypeConfig>,
        tries: usize,
        ttl: Duration,
    ) -> (usize, Option<AppendEntriesResponse<NodeId>>) {
        let option = RPCOption::new(ttl);
        for attempt in 1..=tries {
            let call = conn.append_entries(req.clone(), option.clone());
            if let Ok(Ok(answer)) = tokio::time::timeout(option.hard_ttl(), call).await {
                return (attempt, Some(answer));
            }
        }
        (tries, None)
    }

    #[tokio::test]
    async fn a_target_slower_than_the_timeout_gets_the_entries_once_and_catches_up() {
        let (mut conn, appends) = slow_target(Duration::from_millis(450)).await;
        let (attempts, answer) = call_until_answered(&mut conn, &append(None, 3), 20).await;
        assert_eq!(answer, Some(AppendEntriesResponse::Success));
        assert!(
            attempts > 1,
            "the first attempt cannot have had its answer in time"
        );
        assert_eq!(
            appends.load(Ordering::SeqCst),
            1,
            "one append on the wire, answered once"
        );
    }

    #[tokio::test]
    async fn an_answer_to_other_entries_is_not_taken_for_the_retry() {
        let (mut conn, appends) = slow_target(Duration::from_millis(250)).await;
        let (_, first) = call_until_answered(&mut conn, &append(None, 2), 1).await;
        assert_eq!(first, None, "the first call outlives its timeout");
        // The leader moved on (another previous entry): the old call's answer is waited out
        // and dropped, and the new entries go out in a call of their own.
        // (The first call timing out halved the batch: the new call carries entry 3 alone.)
        let (_, answer) = call_until_answered(&mut conn, &append(Some(2), 4), 20).await;
        let third = Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), 3));
        assert_eq!(answer, Some(AppendEntriesResponse::PartialSuccess(third)));
        assert_eq!(appends.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_retry_asking_for_less_gets_no_more_than_it_asked() {
        let (mut conn, appends) = slow_target(Duration::from_millis(250)).await;
        let (_, first) = call_until_answered(&mut conn, &append(None, 4), 1).await;
        assert_eq!(first, None);
        // openraft asks about entries 1..=2 only (say, after the batch shrank): the answer
        // covering 1..=4 must come back as success within what was asked.
        let (_, answer) = call_until_answered(&mut conn, &append(None, 2), 20).await;
        assert_eq!(answer, Some(AppendEntriesResponse::Success));
        // Asking for more than the old call carried: partial success up to its last entry.
        let (_, first) = call_until_answered(&mut conn, &append(None, 1), 1).await;
        assert_eq!(first, None);
        let (_, answer) = call_until_answered(&mut conn, &append(None, 3), 20).await;
        let last = Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), 1));
        assert_eq!(answer, Some(AppendEntriesResponse::PartialSuccess(last)));
        assert_eq!(appends.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_kept_call_that_fails_is_sent_anew_within_the_same_attempt() {
        // The first call fails after 450 ms. openraft gives up on it at 300 ms (the soft TTL
        // of 400); the second attempt (300-600 ms) sees it fail at 450 ms and sends the
        // entries again, answered at once, rather than failing too. (The first attempt's
        // timeout halved the batch, so the new call carries entry 1 alone.)
        let (mut conn, appends) = target(Duration::from_millis(450), true).await;
        let (attempts, answer) =
            call_with_ttl(&mut conn, &append(None, 3), 5, Duration::from_millis(400)).await;
        let first = Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), 1));
        assert_eq!(answer, Some(AppendEntriesResponse::PartialSuccess(first)));
        assert_eq!(attempts, 2, "the failure costs no attempt of its own");
        assert_eq!(appends.load(Ordering::SeqCst), 2);
    }
}
