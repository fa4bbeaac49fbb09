//! Cluster-wide read endpoints: `GET /v1/regions`, `GET /v1/agent/servers`,
//! `GET /v1/operator/autopilot/health` (from raft's metrics) and
//! `GET|PUT /v1/operator/autopilot/configuration` (replicated; stored, not acted on).
//!
//! ```text
//!   health: every other member is dialed (RPC port, PROBE_TIMEOUT): SerfStatus alive|failed
//!           leader   -> healthy = reachable and its matched log index (raft replication
//!                       metrics) within MaxTrailingLogs of the leader's last index
//!           follower -> healthy = reachable while a leader is known; others' LastIndex 0
//! ```

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use nomadish_proto::model::{AutopilotConfiguration, rfc3339};
use serde::Serialize;

use super::agent::VERSION;
use super::jobs::decode_body;
use super::query::{read_view, reply};
use super::{AppState, HttpError, QueryOptions};
use crate::fsm::{ApplyError, Command};
use crate::server::{Server, WriteError};

type Params = Query<HashMap<String, String>>;

/// `GET /v1/regions`: nomadish servers form one region.
pub async fn regions(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let regions = vec![server.config.region.clone()];
    Ok(reply(&server, &opts, server.state.index(), &regions))
}

/// `GET /v1/agent/servers`: the RPC addresses of the known servers.
pub async fn servers(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let addrs: Vec<String> = server
        .peers()
        .into_iter()
        .map(|(_, n, _)| n.rpc_addr)
        .collect();
    Ok(reply(&server, &opts, server.state.index(), &addrs))
}

/// One server's health, in Nomad's `ServerHealth` shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServerHealth {
    #[serde(rename = "ID")]
    id: String,
    name: String,
    address: String,
    serf_status: &'static str,
    version: &'static str,
    leader: bool,
    last_contact: String,
    last_term: u64,
    last_index: u64,
    healthy: bool,
    voter: bool,
    stable_since: String,
}

/// The cluster's health, in Nomad's `OperatorHealthReply` shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperatorHealthReply {
    healthy: bool,
    failure_tolerance: usize,
    leader: String,
    voters: Vec<String>,
    servers: Vec<ServerHealth>,
}

/// The time this server started, as RFC 3339.
fn started_at(server: &Server) -> String {
    let started = SystemTime::now()
        .checked_sub(server.started.elapsed())
        .unwrap_or(UNIX_EPOCH);
    let ns = started
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    rfc3339(i64::try_from(ns).unwrap_or(i64::MAX))
}

/// How long the health check waits to reach another server.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether another server's RPC port answers (TCP, TLS and HTTP/2 handshakes).
async fn reachable(server: &Server, id: u64, addr: &str) -> bool {
    if id == server.node_id {
        return true;
    }
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, server.dial(addr)).await,
        Ok(Ok(_))
    )
}

/// Health of every raft member as this server's metrics and probes see them.
async fn health(server: &Server, max_trailing_logs: u64) -> OperatorHealthReply {
    let peers = server.peers();
    let probes = peers
        .iter()
        .map(|(id, node, _)| reachable(server, *id, &node.rpc_addr));
    let alive = futures::future::join_all(probes).await;
    let m = server.raft.metrics().borrow().clone();
    let leader = m.current_leader;
    let leader_last = m.last_log_index.unwrap_or(0);
    let stable_since = started_at(server);
    let servers: Vec<ServerHealth> = peers
        .into_iter()
        .zip(alive)
        .map(|((id, node, voter), alive)| {
            let last_index = if id == server.node_id {
                Some(leader_last)
            } else {
                m.replication
                    .as_ref()
                    .and_then(|r| r.get(&id).cloned())
                    .map(|l| l.map_or(0, |l| l.index))
            };
            let caught_up = match last_index {
                Some(i) if leader == Some(server.node_id) => {
                    leader_last.saturating_sub(i) <= max_trailing_logs
                }
                _ => leader.is_some(),
            };
            let healthy = alive && caught_up;
            ServerHealth {
                id: id.to_string(),
                name: node.name,
                address: node.rpc_addr,
                serf_status: if alive { "alive" } else { "failed" },
                version: VERSION,
                leader: Some(id) == leader,
                last_contact: "0s".to_string(),
                last_term: m.current_term,
                last_index: last_index.unwrap_or(0),
                healthy,
                voter,
                stable_since: stable_since.clone(),
            }
        })
        .collect();
    let voters: Vec<String> = servers
        .iter()
        .filter(|s| s.voter)
        .map(|s| s.id.clone())
        .collect();
    let healthy_voters = servers.iter().filter(|s| s.voter && s.healthy).count();
    let quorum = voters.len() / 2 + 1;
    OperatorHealthReply {
        healthy: leader.is_some() && servers.iter().all(|s| s.healthy),
        failure_tolerance: healthy_voters.saturating_sub(quorum),
        leader: leader.map(|l| l.to_string()).unwrap_or_default(),
        voters,
        servers,
    }
}

/// `GET /v1/operator/autopilot/health`: 200 when healthy, 429 when not (as Nomad).
pub async fn autopilot_health(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = server.state.snapshot();
    let max_trailing = view
        .autopilot_config
        .as_ref()
        .map_or(AutopilotConfiguration::default().max_trailing_logs, |c| {
            c.max_trailing_logs
        });
    let body = health(&server, max_trailing).await;
    let healthy = body.healthy;
    let mut response = reply(&server, &opts, server.state.index(), &body);
    if !healthy {
        *response.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
    }
    Ok(response)
}

/// `GET /v1/operator/autopilot/configuration`: the stored configuration, or Nomad's defaults.
pub async fn get_autopilot_config(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let view = read_view(&server, &opts, |v| {
        v.autopilot_config.as_ref().map_or(1, |c| c.modify_index)
    })
    .await?;
    let config = view
        .autopilot_config
        .as_deref()
        .cloned()
        .unwrap_or_default();
    Ok(reply(&server, &opts, config.modify_index.max(1), &config))
}

/// `PUT|POST /v1/operator/autopilot/configuration[?cas=N]`: answers `true`, or `false` when
/// `cas` no longer matches.
pub async fn put_autopilot_config(
    State(server): State<AppState>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let config: AutopilotConfiguration = decode_body(&body)?;
    for (name, value) in [
        ("LastContactThreshold", &config.last_contact_threshold),
        ("ServerStabilizationTime", &config.server_stabilization_time),
    ] {
        humantime::parse_duration(value)
            .map_err(|_| HttpError::bad_request(format!("invalid {name}: {value:?}")))?;
    }
    let cas_index = opts.cas()?;
    let cmd = Command::SetAutopilotConfig { config, cas_index };
    let (updated, index) = match server.write(cmd).await {
        Ok(resp) => (true, resp.index),
        Err(WriteError::Apply(ApplyError::CasMismatch { .. })) => (false, server.state.index()),
        Err(e) => return Err(e.into()),
    };
    Ok(reply(&server, &opts, index, &updated))
}
