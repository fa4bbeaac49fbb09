//! Operator actions on the cluster: the raft configuration, removing a server, handing
//! leadership to another server, and saving or restoring the whole state.
//!
//! Actions that change raft membership run on the leader; a follower forwards them.
//!
//! Leadership transfer (openraft 0.9 has none built in, and its leader lease makes voters
//! refuse a premature election):
//! ```text
//!   leader: Yield(quiet) to every other voter ─> stop own heartbeats and elections
//!           Yield(campaign) to the target ─────> target calls an election every 100 ms
//!   lease runs out on the voters ─> only the target campaigns ─> it wins; all resume
//! ```

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nomadish_proto::model::{
    RaftConfiguration, RaftServer, SNAPSHOT_FORMAT, SnapshotHeader, now_ns,
};
use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;
use nomadish_proto::raft_v1::{RemovePeerRequest, TransferLeadershipRequest, YieldRequest};

use crate::fsm::Command;
use crate::raft::NodeId;
use crate::server::{Server, WriteError};
use crate::state::{decode_snapshot, encode_snapshot};

/// How often a campaigning server calls an election during a transfer.
const CAMPAIGN_INTERVAL: Duration = Duration::from_millis(100);
/// Snapshot format version written by [`save_snapshot`].
const SNAPSHOT_VERSION: u32 = 1;

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The request names something that does not exist or cannot be done.
    #[error("{0}")]
    BadRequest(String),
    /// The write or forward failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Raft refused.
    #[error("raft: {0}")]
    Raft(String),
}

/// The raft configuration as `GET /v1/operator/raft/configuration` shows it.
pub fn raft_configuration(server: &Server) -> RaftConfiguration {
    let leader = server.leader().map(|(id, _)| id);
    let m = server.raft.metrics().borrow().clone();
    RaftConfiguration {
        servers: server
            .peers()
            .into_iter()
            .map(|(id, node, voter)| RaftServer {
                id: id.to_string(),
                node: node.name,
                address: node.rpc_addr,
                leader: leader == Some(id),
                voter,
                raft_protocol: "3".to_string(),
            })
            .collect(),
        index: m.membership_config.log_id().map_or(0, |l| l.index),
    }
}

/// Finds a server by raft ID or RPC address.
pub fn resolve_peer(
    server: &Server,
    id: Option<&str>,
    address: Option<&str>,
) -> Result<NodeId, OperatorError> {
    let peers = server.peers();
    let found = peers.iter().find(|(pid, node, _)| {
        id.is_some_and(|i| i == pid.to_string()) || address.is_some_and(|a| a == node.rpc_addr)
    });
    found
        .map(|(pid, _, _)| *pid)
        .ok_or_else(|| OperatorError::BadRequest("no such server in the raft configuration".into()))
}

async fn leader_client(
    server: &Server,
) -> Result<ClusterServiceClient<tonic::transport::Channel>, OperatorError> {
    let (_, channel) = server.leader_channel().await?;
    Ok(ClusterServiceClient::new(channel))
}

fn status_error(s: tonic::Status) -> OperatorError {
    match s.code() {
        tonic::Code::InvalidArgument | tonic::Code::NotFound => {
            OperatorError::BadRequest(s.message().into())
        }
        _ => OperatorError::Raft(s.message().into()),
    }
}

/// Removes a server from the raft configuration (it stops voting).
pub async fn remove_peer(server: &Server, id: NodeId) -> Result<(), OperatorError> {
    if !server.is_leader() {
        leader_client(server)
            .await?
            .remove_peer(RemovePeerRequest { node_id: id })
            .await
            .map_err(status_error)?;
        return Ok(());
    }
    let peers = server.peers();
    if !peers.iter().any(|(pid, _, _)| *pid == id) {
        return Err(OperatorError::BadRequest(format!(
            "server {id} is not in the raft configuration"
        )));
    }
    let voters: BTreeSet<NodeId> = peers
        .iter()
        .filter(|(pid, _, voter)| *voter && *pid != id)
        .map(|(pid, _, _)| *pid)
        .collect();
    if voters.is_empty() {
        return Err(OperatorError::BadRequest(
            "cannot remove the last voter".into(),
        ));
    }
    server
        .raft
        .change_membership(voters, false)
        .await
        .map_err(|e| OperatorError::Raft(e.to_string()))?;
    server
        .known_servers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    tracing::info!(peer = id, "removed server from the raft configuration");
    Ok(())
}

fn transfer_window(server: &Server) -> Duration {
    Duration::from_millis(server.raft.config().election_timeout_max * 4)
}

/// Lets the writes held by a leadership transfer go on when the transfer ends, however it
/// ends.
struct WritesResume<'a>(&'a Server);

impl Drop for WritesResume<'_> {
    fn drop(&mut self) {
        self.0.transferring.send_replace(false);
    }
}

/// Hands leadership to `target` (or any other voter); returns the new leader's ID.
pub async fn transfer_leadership(
    server: &Server,
    target: Option<NodeId>,
) -> Result<NodeId, OperatorError> {
    if !server.is_leader() {
        let reply = leader_client(server)
            .await?
            .transfer_leadership(TransferLeadershipRequest {
                target: target.unwrap_or(0),
            })
            .await
            .map_err(status_error)?;
        return Ok(reply.into_inner().leader);
    }
    let voters: Vec<_> = server
        .peers()
        .into_iter()
        .filter(|(id, _, voter)| *voter && *id != server.node_id)
        .collect();
    let target = match target {
        Some(t) => voters
            .iter()
            .find(|(id, _, _)| *id == t)
            .cloned()
            .ok_or_else(|| OperatorError::BadRequest(format!("server {t} is not another voter")))?,
        None => voters
            .first()
            .cloned()
            .ok_or_else(|| OperatorError::BadRequest("there is no other voter".into()))?,
    };
    let window = transfer_window(server);
    let window_ms = window.as_millis() as u64;
    // Writes wait until the transfer ends: entries would renew the followers' lease.
    server.transferring.send_replace(true);
    let _writes_resume = WritesResume(server);
    for (id, node, _) in &voters {
        if *id != target.0
            && let Ok(channel) = server.dial(&node.rpc_addr).await
        {
            let req = YieldRequest {
                campaign: false,
                window_ms,
            };
            let _ = ClusterServiceClient::new(channel).r#yield(req).await;
        }
    }
    let rc = server.raft.runtime_config();
    rc.heartbeat(false);
    rc.elect(false);
    // The target campaigns once it holds every entry: a candidate with a shorter log gets
    // no votes. New writes are held, but ones the write queue took before the hold may still
    // append an entry: those go through first, then the target catches up.
    let caught_up = async {
        server.group_commit.drained().await;
        replicated_to(server, target.0).await;
    };
    let _ = tokio::time::timeout(window, caught_up).await;
    let campaign = async {
        let channel = server
            .dial(&target.1.rpc_addr)
            .await
            .map_err(|e| OperatorError::Raft(e.to_string()))?;
        ClusterServiceClient::new(channel)
            .r#yield(YieldRequest {
                campaign: true,
                window_ms,
            })
            .await
            .map_err(status_error)
    }
    .await;
    let deadline = tokio::time::Instant::now() + window;
    let mut metrics = server.raft.metrics();
    let result = loop {
        if let Err(e) = campaign {
            break Err(e);
        }
        let leader = metrics.borrow().current_leader;
        if let Some(leader) = leader.filter(|l| *l != server.node_id) {
            break Ok(leader);
        }
        if tokio::time::timeout_at(deadline, metrics.changed())
            .await
            .is_err()
        {
            break Err(OperatorError::Raft("leadership transfer timed out".into()));
        }
    };
    let rc = server.raft.runtime_config();
    rc.heartbeat(true);
    rc.elect(true);
    result
}

/// Returns once `target` has matched this leader's whole log (or this server stops leading).
async fn replicated_to(server: &Server, target: NodeId) {
    let mut metrics = server.raft.metrics();
    loop {
        let (last, matched) = {
            let m = metrics.borrow_and_update();
            let matched = m
                .replication
                .as_ref()
                .and_then(|r| r.get(&target).cloned().flatten())
                .map(|l| l.index);
            (m.last_log_index, matched)
        };
        if matched >= last || metrics.changed().await.is_err() || !server.is_leader() {
            return;
        }
    }
}

/// During a transfer: campaign until elected, or hold elections, for `window`.
pub fn yield_for(server: std::sync::Arc<Server>, campaign: bool, window: Duration) {
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + window;
        if campaign {
            while tokio::time::Instant::now() < deadline && !server.is_leader() {
                let _ = server.raft.trigger().elect().await;
                tokio::time::sleep(CAMPAIGN_INTERVAL).await;
            }
        } else {
            server.elections_held.store(true, Ordering::Relaxed);
            tokio::time::sleep_until(deadline).await;
            server.elections_held.store(false, Ordering::Relaxed);
        }
    });
}

/// The whole state as a snapshot file: a JSON header line, then the encoded tables.
pub async fn save_snapshot(server: &Server) -> Result<(u64, Vec<u8>), OperatorError> {
    let view = server.consistent_view().await?;
    let term = server.raft.metrics().borrow().current_term;
    let body = tokio::task::spawn_blocking({
        let view = view.clone();
        move || encode_snapshot(&view)
    })
    .await
    .map_err(|e| OperatorError::Raft(e.to_string()))?;
    let header = SnapshotHeader {
        format: SNAPSHOT_FORMAT.to_string(),
        version: SNAPSHOT_VERSION,
        index: view.index,
        term,
        create_time: now_ns(),
        jobs: view.jobs.len() as u64,
        evaluations: view.evals.len() as u64,
        allocations: view.allocs.len() as u64,
        nodes: view.nodes.len() as u64,
    };
    let mut out = serde_json::to_vec(&header).map_err(|e| OperatorError::Raft(e.to_string()))?;
    out.push(b'\n');
    out.extend_from_slice(&body);
    Ok((view.index, out))
}

/// Splits a snapshot file into its header and encoded tables, checking both.
pub fn parse_snapshot(file: &[u8]) -> Result<(SnapshotHeader, &[u8]), OperatorError> {
    let bad = |why: &str| OperatorError::BadRequest(format!("not a nomadish snapshot: {why}"));
    let split = file
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| bad("no header line"))?;
    let header: SnapshotHeader =
        serde_json::from_slice(&file[..split]).map_err(|e| bad(&e.to_string()))?;
    if header.format != SNAPSHOT_FORMAT {
        return Err(bad(&format!("format {:?}", header.format)));
    }
    if header.version != SNAPSHOT_VERSION {
        return Err(bad(&format!("unsupported version {}", header.version)));
    }
    let body = &file[split + 1..];
    decode_snapshot(body).map_err(|e| bad(&e.to_string()))?;
    Ok((header, body))
}

/// Replaces the cluster's state with a snapshot file's, through raft.
pub async fn restore_snapshot(server: &Server, file: &[u8]) -> Result<u64, OperatorError> {
    let (header, body) = parse_snapshot(file)?;
    let resp = server
        .write(Command::RestoreState {
            state: body.to_vec(),
        })
        .await?;
    tracing::warn!(
        from_index = header.index,
        index = resp.index,
        "state restored from a snapshot"
    );
    Ok(resp.index)
}
