//! Status and agent endpoints: leader, peers, self, members, health.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nomadish_proto::model::{AgentHealth, AgentHealthResponse, AgentMember, ServerMembers};
use serde_json::json;

use super::query::reply;
use super::{AppState, HttpError, QueryOptions};
use crate::raft::ServerNode;
use crate::server::Server;

type Params = Query<HashMap<String, String>>;

/// The version string agents report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /v1/status/leader`: the leader's RPC address as a JSON string ("" when unknown).
pub async fn leader(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let addr = server.leader().map(|(_, n)| n.rpc_addr).unwrap_or_default();
    Ok(reply(&server, &opts, server.state.index(), &addr))
}

/// `GET /v1/status/peers`: RPC addresses of the raft voters.
pub async fn peers(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let peers: Vec<String> = server
        .peers()
        .into_iter()
        .filter(|(_, _, voter)| *voter)
        .map(|(_, n, _)| n.rpc_addr)
        .collect();
    Ok(reply(&server, &opts, server.state.index(), &peers))
}

fn split_addr(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(0)),
        None => (addr.to_string(), 0),
    }
}

fn member(server: &Server, id: u64, node: &ServerNode, leader: Option<u64>) -> AgentMember {
    let (addr, port) = split_addr(&node.rpc_addr);
    let cfg = &server.config;
    let tags: BTreeMap<String, String> = [
        ("role", "nomad".to_string()),
        ("region", cfg.region.clone()),
        ("dc", cfg.datacenter.clone()),
        ("build", VERSION.to_string()),
        ("vsn", "1".to_string()),
        ("raft_vsn", "3".to_string()),
        ("id", id.to_string()),
        ("rpc_addr", addr.clone()),
        ("port", port.to_string()),
        ("http_addr", node.http_addr.clone()),
        ("expect", cfg.bootstrap_expect.to_string()),
        ("leader", (leader == Some(id)).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    AgentMember {
        name: format!("{}.{}", node.name, cfg.region),
        addr,
        port,
        tags,
        status: "alive".to_string(),
        protocol_min: 1,
        protocol_max: 5,
        protocol_cur: 2,
        delegate_min: 2,
        delegate_max: 5,
        delegate_cur: 4,
    }
}

fn members_of(server: &Server) -> Vec<AgentMember> {
    let leader = server.leader().map(|(id, _)| id);
    server
        .peers()
        .iter()
        .map(|(id, node, _)| member(server, *id, node, leader))
        .collect()
}

/// `GET /v1/agent/members`.
pub async fn members(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let body = ServerMembers {
        server_name: server.config.node_name.clone(),
        server_region: server.config.region.clone(),
        server_dc: server.config.datacenter.clone(),
        members: members_of(&server),
    };
    Ok(reply(&server, &opts, server.state.index(), &body))
}

/// `GET /v1/agent/self`: configuration, membership and stats of this agent.
pub async fn agent_self(
    State(server): State<AppState>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let cfg = &server.config;
    let me = crate::raft::ServerNode {
        rpc_addr: cfg.rpc_advertise(),
        http_addr: cfg.http_advertise(),
        name: cfg.node_name.clone(),
    };
    let leader = server.leader().map(|(id, _)| id);
    let m = server.raft.metrics().borrow().clone();
    let body = json!({
        "config": {
            "Region": cfg.region,
            "Datacenter": cfg.datacenter,
            "NodeName": cfg.node_name,
            "DataDir": cfg.data_dir,
            "Version": { "Version": VERSION },
            "Server": {
                "Enabled": true,
                "BootstrapExpect": cfg.bootstrap_expect,
                "RaftMultiplier": cfg.raft_multiplier,
                "NumSchedulers": cfg.num_schedulers,
            },
            "Addresses": { "HTTP": cfg.http_bind.ip().to_string(), "RPC": cfg.rpc_bind.ip().to_string() },
            "Ports": { "HTTP": cfg.http_bind.port(), "RPC": cfg.rpc_bind.port() },
            "DevMode": cfg.dev_mode,
        },
        "member": member(&server, server.node_id, &me, leader),
        "stats": {
            "nomad": {
                "server": "true",
                "leader": server.is_leader().to_string(),
                "leader_addr": server.leader().map(|(_, n)| n.rpc_addr).unwrap_or_default(),
                "known_regions": "1",
                "bootstrap": (cfg.bootstrap_expect == 1).to_string(),
            },
            "raft": {
                "state": format!("{:?}", m.state),
                "term": m.current_term.to_string(),
                "last_log_index": m.last_log_index.unwrap_or(0).to_string(),
                "applied_index": m.last_applied.map_or(0, |l| l.index).to_string(),
                "last_snapshot_index": m.snapshot.map_or(0, |l| l.index).to_string(),
                "purged_index": m.purged.map_or(0, |l| l.index).to_string(),
                "num_peers": server.peers().len().saturating_sub(1).to_string(),
            },
            "runtime": { "uptime_seconds": server.started.elapsed().as_secs().to_string() },
        },
    });
    Ok(reply(&server, &opts, server.state.index(), &body))
}

/// `GET /v1/agent/health`: 200 when the server knows a leader, 500 otherwise.
pub async fn health(State(server): State<AppState>) -> Response {
    let ok = server.leader().is_some();
    let body = AgentHealthResponse {
        client: None,
        server: Some(AgentHealth {
            ok,
            message: if ok {
                "ok".into()
            } else {
                "No cluster leader".into()
            },
        }),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    (status, axum::Json(body)).into_response()
}
