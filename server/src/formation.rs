//! Forming a cluster or joining one.
//!
//! ```text
//!   initialized already ──────────────────────────────────────────────> done
//!   bootstrap_expect = 1 and nothing to join ──> initialize({me}) ───> done
//!   otherwise, every retry interval:
//!     Discover(me) on retry_join and every server heard of ──> merge what they know
//!       ├─ someone is in a formed cluster ──> Join(leader): learner, then voter ──> done
//!       └─ bootstrap_expect servers known and I have the lowest ID
//!                                    ──> initialize(all known) ──> done
//!     (the others become members when the new leader replicates to them)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::raft_v1::cluster_service_client::ClusterServiceClient;
use nomadish_proto::raft_v1::{DiscoverRequest, JoinRequest, ServerInfo};
use tokio::sync::watch;

use crate::raft::{NodeId, ServerNode};
use crate::server::Server;

/// First pause between formation attempts.
const RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest pause between formation attempts.
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long one discovery call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one join call may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

fn info(id: NodeId, node: &ServerNode) -> ServerInfo {
    ServerInfo {
        node_id: id,
        rpc_addr: node.rpc_addr.clone(),
        http_addr: node.http_addr.clone(),
        name: node.name.clone(),
    }
}

/// What one round of discovery found.
#[derive(Debug, Default)]
struct Round {
    /// The RPC address of a member of a formed cluster (its leader when known).
    formed: Option<String>,
}

/// Bootstraps, forms with the other expected servers, or joins, until done or `stop`.
pub async fn form_cluster(server: Arc<Server>, me: ServerNode, mut stop: watch::Receiver<bool>) {
    server
        .known_servers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(server.node_id, me.clone());
    if initialized(&server).await {
        return;
    }
    let expect = server.config.bootstrap_expect.max(1);
    if expect == 1 && server.config.retry_join.is_empty() {
        bootstrap(&server, BTreeMap::from([(server.node_id, me)])).await;
        return;
    }
    let mut delay = RETRY_MIN;
    // Once any round has heard of a formed cluster this server only ever joins: a later
    // round that reaches nobody must not make it bootstrap a second cluster of its own.
    let mut seen_formed = false;
    let mut reported = 0;
    loop {
        if initialized(&server).await {
            tracing::info!("this server is a member of the cluster");
            return;
        }
        let round = discover_round(&server, &me).await;
        seen_formed |= round.formed.is_some();
        if let Some(addr) = round.formed {
            match join(&server, &addr, &me).await {
                Ok(leader) => {
                    tracing::info!(%leader, "joined the cluster");
                    return;
                }
                Err(e) => tracing::info!(%addr, error = %e, "join attempt failed"),
            }
        } else {
            let known = server
                .known_servers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if known.len() != reported {
                reported = known.len();
                tracing::info!(known = reported, expect, "discovered servers");
            }
            if may_bootstrap(&known, expect, server.node_id, seen_formed) {
                tracing::info!(
                    servers = known.len(),
                    "expected servers found; bootstrapping the cluster"
                );
                bootstrap(&server, known).await;
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        delay = (delay * 2).min(RETRY_MAX);
    }
}

/// Whether this server (`me`) should initialize a new cluster of the `known` servers: only
/// when it never heard of a formed one, `expect` servers are known, and its ID is the lowest.
fn may_bootstrap(
    known: &BTreeMap<NodeId, ServerNode>,
    expect: usize,
    me: NodeId,
    seen_formed: bool,
) -> bool {
    !seen_formed && known.len() >= expect && known.keys().next() == Some(&me)
}

async fn initialized(server: &Server) -> bool {
    server.raft.is_initialized().await.unwrap_or(false)
}

async fn bootstrap(server: &Server, members: BTreeMap<NodeId, ServerNode>) {
    if let Err(e) = server.raft.initialize(members).await {
        tracing::warn!(error = %e, "bootstrap failed");
    }
}

/// Asks every server we know of (and every retry_join address) what it knows.
async fn discover_round(server: &Server, me: &ServerNode) -> Round {
    let mut targets: Vec<String> = server.config.retry_join.clone();
    for node in server
        .known_servers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
    {
        if node.rpc_addr != me.rpc_addr && !targets.contains(&node.rpc_addr) {
            targets.push(node.rpc_addr.clone());
        }
    }
    let mut round = Round::default();
    for addr in targets {
        let reply = match discover(server, &addr, me).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::debug!(%addr, error = %e, "discovery failed");
                continue;
            }
        };
        {
            let mut known = server
                .known_servers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for s in reply.known {
                known.insert(
                    s.node_id,
                    ServerNode {
                        rpc_addr: s.rpc_addr,
                        http_addr: s.http_addr,
                        name: s.name,
                    },
                );
            }
        }
        if reply.initialized && round.formed.is_none() {
            round.formed = Some(if reply.leader_addr.is_empty() {
                addr
            } else {
                reply.leader_addr
            });
        }
    }
    round
}

async fn client(
    server: &Server,
    addr: &str,
) -> Result<ClusterServiceClient<tonic::transport::Channel>, String> {
    let channel = server.dial(addr).await.map_err(|e| e.to_string())?;
    Ok(ClusterServiceClient::new(channel))
}

async fn discover(
    server: &Server,
    addr: &str,
    me: &ServerNode,
) -> Result<nomadish_proto::raft_v1::DiscoverReply, String> {
    let mut c = client(server, addr).await?;
    let mut req = tonic::Request::new(DiscoverRequest {
        caller: Some(info(server.node_id, me)),
    });
    req.set_timeout(CALL_TIMEOUT);
    c.discover(req)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| s.message().to_string())
}

/// Asks the server at `addr` (the leader) to add us; returns the leader's address.
async fn join(server: &Server, addr: &str, me: &ServerNode) -> Result<String, String> {
    let mut c = client(server, addr).await?;
    let req = JoinRequest {
        node_id: server.node_id,
        rpc_addr: me.rpc_addr.clone(),
        http_addr: me.http_addr.clone(),
        name: me.name.clone(),
    };
    // Adding a voter waits for two membership changes to commit; give it longer than a
    // discovery, but not forever, so a lost leader does not stall formation.
    let mut req = tonic::Request::new(req);
    req.set_timeout(JOIN_TIMEOUT);
    let reply = c.join(req).await.map_err(|s| s.message().to_string())?;
    Ok(reply.into_inner().leader_addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(ids: &[NodeId]) -> BTreeMap<NodeId, ServerNode> {
        ids.iter()
            .map(|&id| {
                let node = ServerNode {
                    rpc_addr: format!("127.0.0.1:{id}"),
                    http_addr: String::new(),
                    name: format!("s{id}"),
                };
                (id, node)
            })
            .collect()
    }

    #[test]
    fn only_the_lowest_id_bootstraps_once_the_expected_servers_are_known() {
        assert!(may_bootstrap(&known(&[1, 2, 3]), 3, 1, false));
        assert!(!may_bootstrap(&known(&[1, 2, 3]), 3, 2, false));
        assert!(!may_bootstrap(&known(&[1, 2]), 3, 1, false));
    }

    #[test]
    fn a_server_that_heard_of_a_formed_cluster_never_bootstraps_another() {
        // A later round that reached nobody still finds three servers known and this one
        // lowest: it must keep trying to join instead.
        assert!(!may_bootstrap(&known(&[1, 2, 3]), 3, 1, true));
    }
}
