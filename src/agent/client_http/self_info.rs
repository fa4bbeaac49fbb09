//! `/v1/metrics` and `/v1/agent/self` on a client-only agent.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use nomadish_metrics::{Format, Snapshot};
use nomadish_proto::model::{AgentMember, now_ns, rfc3339};
use serde_json::{Value, json};

use super::ClientAgent;

/// The version this agent reports.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The gauge of seconds since the client started (Nomad's name).
const UPTIME: &str = "nomad.client.uptime";

/// `GET /v1/metrics[?format=prometheus]`: every metric of this process (task starts and
/// failures by driver, heartbeat round trips, allocations running, HTTP latencies) plus the
/// client's uptime; public, as on servers.
pub async fn metrics(
    State(agent): State<ClientAgent>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let format = match Format::from_param(params.get("format").map(String::as_str)) {
        Ok(format) => format,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let rendered = scrape(&agent).render(format, &rfc3339(now_ns()));
    ([(CONTENT_TYPE, rendered.content_type)], rendered.body).into_response()
}

fn scrape(agent: &ClientAgent) -> Snapshot {
    let mut snap = nomadish_metrics::global().snapshot();
    let uptime = agent.status.report().uptime.as_secs_f64().floor();
    snap.push_gauge(UPTIME, Vec::new(), uptime);
    snap.sort();
    snap
}

/// `GET /v1/agent/self`: the client's configuration, a member entry and its stats, in
/// Nomad's shape. Refused when ACLs are enabled, since the client cannot check tokens.
pub async fn agent_self(State(agent): State<ClientAgent>) -> Response {
    if agent.http.acl_enabled {
        let message = "Permission denied: a client-only agent cannot check ACL tokens, so \
                       with acl { enabled = true } it does not serve /v1/agent/self; ask a \
                       server's /v1/agent/self or /v1/node/<id>\n";
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    Json(self_body(&agent)).into_response()
}

fn self_body(agent: &ClientAgent) -> Value {
    let c = &agent.client;
    let http = &agent.http;
    let report = agent.status.report();
    let tls = http.tls.as_ref();
    json!({
        "config": {
            "Region": c.region,
            "Datacenter": c.datacenter,
            "NodeName": c.node_name,
            "DataDir": c.data_dir,
            "Version": { "Version": VERSION },
            "Client": {
                "Enabled": true,
                "Servers": c.servers,
                "NodeClass": c.node_class,
                "NodePool": c.node_pool,
                "Meta": c.meta,
                "MaxKillTimeout": go_duration(c.max_kill_timeout),
            },
            "Server": { "Enabled": false },
            "Addresses": { "HTTP": http.bind.ip().to_string() },
            "Ports": { "HTTP": http.bind.port() },
            "AdvertiseAddrs": { "HTTP": http.advertise },
            "ACL": { "Enabled": http.acl_enabled },
            "TLSConfig": {
                "EnableHTTP": tls.is_some_and(|t| t.http),
                "EnableRPC": tls.is_some_and(|t| t.rpc),
            },
            "DevMode": false,
        },
        "member": member(agent, &report.node_id),
        "stats": stats(&report),
    })
}

/// A member entry for the client (Nomad leaves a client's empty; this one names the node).
fn member(agent: &ClientAgent, node_id: &str) -> AgentMember {
    let c = &agent.client;
    let (addr, port) = match agent.http.advertise.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(0)),
        None => (agent.http.advertise.clone(), 0),
    };
    let tags: BTreeMap<String, String> = [
        ("role", "client"),
        ("region", c.region.as_str()),
        ("dc", c.datacenter.as_str()),
        ("build", VERSION),
        ("id", node_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    AgentMember {
        name: c.node_name.clone(),
        addr,
        port,
        tags,
        status: "alive".to_string(),
        ..AgentMember::default()
    }
}

/// Nomad's `stats.client` (`node_id`, `known_servers`, `last_heartbeat`, `heartbeat_ttl`),
/// plus the probes' verdicts.
fn stats(report: &nomadish_client::StatusReport) -> Value {
    let (last, ttl) = report
        .since_heartbeat
        .map(|(age, ttl)| (go_duration(age), go_duration(ttl)))
        .unwrap_or_default();
    json!({
        "client": {
            "node_id": report.node_id,
            "known_servers": report.known_servers.join(","),
            "last_heartbeat": last,
            "heartbeat_ttl": ttl,
            "registered": report.registered.to_string(),
            "health": report.health().unwrap_or_else(|e| e),
        },
        "nomad": { "server": "false" },
        "runtime": { "uptime_seconds": report.uptime.as_secs().to_string() },
    })
}

/// A duration as Go prints one under a minute, to the millisecond: `17.6s`, `250ms`, `0s`
/// (longer ones stay in seconds, `90s`, where Go would print `1m30s`).
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration(Duration::from_millis(17_600)), "17.6s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
    }
}
