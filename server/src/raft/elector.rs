//! Elections with a pre-vote: a server calls an election only after a majority of the voters
//! say they would vote for it, so a server that cannot be heard (a one-way partition, a
//! flapping link) never raises the term and, when its link heals, never deposes a leader
//! that the rest of the cluster still follows.
//!
//! ```text
//!   every tick, on a voter that does not lead:
//!     silence since the last append from a leader  <  lease + random(election timeout)?  wait
//!     PreVote(my last log id) ──> every other voter
//!        each grants if it does not lead, has not heard a leader for a lease, and my log
//!        is at least as up to date as its own
//!     granted by a majority (counting myself)?  ──> raft.trigger().elect()
//! ```
//!
//! openraft's own election timer is off (`enable_elect = false` in the raft config); this
//! loop replaces it with the same timing: openraft followers refuse votes for a lease
//! (`election_timeout_max`) after hearing a leader, so the loop waits that lease plus a random
//! election timeout, as openraft's timer did. A single voter elects itself at once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nomadish_proto::model::now_ns;
use nomadish_proto::raft_v1::RaftRequest;
use nomadish_proto::raft_v1::raft_service_client::RaftServiceClient;
use openraft::storage::RaftLogStorage;
use openraft::{LogId, ServerState};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{LogStore, NodeId, Raft};
use crate::server::Server;

/// How often the loop looks at the time since the leader was last heard.
const TICK: Duration = Duration::from_millis(20);

/// A pre-vote request: who asks, and the last entry of its log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreVoteRequest {
    /// The server that would call the election.
    pub candidate: NodeId,
    /// Its last log entry.
    pub last_log_id: Option<LogId<NodeId>>,
}

/// The answer: granted, or why not.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PreVoteReply {
    /// Whether the receiver would vote for the candidate now.
    pub granted: bool,
    /// Why not, when not granted.
    pub reason: String,
}

/// The receiver's side: grant unless this server leads, heard a leader within the lease, or
/// has a more up-to-date log. `last_contact_ns` is when a leader last appended here.
pub async fn answer_pre_vote(
    raft: &Raft,
    log: &LogStore,
    last_contact_ns: i64,
    req: &PreVoteRequest,
) -> PreVoteReply {
    let deny = |reason: String| PreVoteReply {
        granted: false,
        reason,
    };
    let state = raft.metrics().borrow().state;
    if state == ServerState::Leader {
        return deny("this server leads".into());
    }
    let lease_ns = (raft.config().election_timeout_max as i64) * 1_000_000;
    let since = now_ns() - last_contact_ns;
    if last_contact_ns > 0 && since < lease_ns {
        return deny(format!(
            "heard from the leader {} ms ago",
            since / 1_000_000
        ));
    }
    let mine = last_log_id(log).await;
    if req.last_log_id < mine {
        return deny(format!(
            "candidate log {:?} is behind this server's {:?}",
            req.last_log_id, mine
        ));
    }
    PreVoteReply {
        granted: true,
        reason: String::new(),
    }
}

/// Runs the election loop until `stop` turns true.
pub async fn run(server: Arc<Server>, log: LogStore, mut stop: watch::Receiver<bool>) {
    let config = server.raft.config().clone();
    let lease = Duration::from_millis(config.election_timeout_max);
    let election_timeout = || {
        let ms =
            rand::rng().random_range(config.election_timeout_min..=config.election_timeout_max);
        Duration::from_millis(ms)
    };
    // After hearing a leader: the lease plus an election timeout; after an attempt of our
    // own (a split vote, a lost pre-vote): an election timeout, as openraft's timer does.
    let mut wait = lease + election_timeout();
    // When this server last heard a leader or last stood: silence is counted from here.
    let mut quiet_since = now_ns();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let m = server.raft.metrics().borrow().clone();
        let voters: BTreeSet<NodeId> = m.membership_config.membership().voter_ids().collect();
        if m.state == ServerState::Leader
            || !voters.contains(&server.node_id)
            || server.elections_held.load(Ordering::Relaxed)
        {
            quiet_since = now_ns();
            wait = lease + election_timeout();
            continue;
        }
        let heard = server.last_leader_contact.load(Ordering::Relaxed);
        if heard > quiet_since {
            quiet_since = heard;
            wait = lease + election_timeout();
        }
        // A single voter needs nobody's word: it stands at once, and again only after an
        // election timeout if it is still not leading.
        let alone = voters.len() == 1;
        let waited = now_ns() - quiet_since >= wait.as_nanos() as i64;
        if !waited && (!alone || m.state == ServerState::Candidate) {
            continue;
        }
        wait = election_timeout();
        let needed = voters.len() / 2;
        let granted =
            1 + ask_peers(&server, &log, &voters, needed, config.election_timeout_min).await;
        if granted * 2 > voters.len() {
            tracing::info!(
                granted,
                voters = voters.len(),
                "pre-vote won; calling an election"
            );
            let _ = server.raft.trigger().elect().await;
        } else {
            tracing::debug!(granted, voters = voters.len(), "pre-vote lost; no election");
        }
        quiet_since = now_ns();
    }
}

/// The last entry of this server's log (or the last purged one).
async fn last_log_id(log: &LogStore) -> Option<LogId<NodeId>> {
    let mut log = log.clone();
    log.get_log_state().await.ok().and_then(|s| s.last_log_id)
}

/// Asks every other voter for a pre-vote at once; counts the grants that come within
/// `within_ms`, stopping as soon as `needed` have.
async fn ask_peers(
    server: &Arc<Server>,
    log: &LogStore,
    voters: &BTreeSet<NodeId>,
    needed: usize,
    within_ms: u64,
) -> usize {
    let req = PreVoteRequest {
        candidate: server.node_id,
        last_log_id: last_log_id(log).await,
    };
    let Ok(data) = serde_json::to_vec(&req) else {
        return 0;
    };
    let peers: Vec<String> = server
        .peers()
        .into_iter()
        .filter(|(id, _, _)| *id != server.node_id && voters.contains(id))
        .map(|(_, node, _)| node.rpc_addr)
        .collect();
    let asks = peers.into_iter().map(|addr| {
        let data = data.clone();
        async move {
            let ask = async {
                let channel = server.dial(&addr).await.ok()?;
                let reply = RaftServiceClient::new(channel)
                    .pre_vote(RaftRequest {
                        data,
                        chunk: Vec::new(),
                    })
                    .await
                    .ok()?
                    .into_inner();
                let answer: PreVoteReply = serde_json::from_slice(&reply.data).ok()?;
                if !answer.granted {
                    tracing::debug!(peer = %addr, reason = %answer.reason, "pre-vote refused");
                }
                Some(answer.granted)
            };
            tokio::time::timeout(Duration::from_millis(within_ms), ask)
                .await
                .ok()
                .flatten()
                .unwrap_or(false)
        }
    });
    let mut pending: futures::stream::FuturesUnordered<_> = asks.collect();
    let mut granted = 0;
    while let Some(g) = futures::StreamExt::next(&mut pending).await {
        granted += usize::from(g);
        if granted >= needed {
            break;
        }
    }
    granted
}
