//! Answers to the servers' questions about one allocation (`AllocQuery` over the tunnel):
//!
//! - `stats`: Nomad's `AllocResourceUsage`. raw_exec tasks are measured from `/proc` (RSS,
//!   and CPU percent over a short sampling window, summed over the task's process group);
//!   tasks the client cannot measure (docker, ssh) report zeros and an empty `Measured`.
//! - `checks`: the latest result of each check of the allocation's services, by check ID.
//! - `gc`: removes the directory of an allocation none of whose tasks runs.

use std::collections::BTreeMap;
use std::time::Duration;

use nomadish_proto::model::now_ns;
use nomadish_proto::node_v1::{AllocQuery, AllocQueryReply, TunnelFromClient, tunnel_from_client};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::allocrunner::AllocDir;
use crate::checks::status::Status;
use crate::procfs::{ProcUsage, USER_HZ, group_usage};
use crate::tunnel::TunnelDeps;

/// How long CPU use is sampled for `stats`.
pub const CPU_SAMPLE: Duration = Duration::from_millis(100);

const NOT_FOUND: u32 = 404;
const BAD_REQUEST: u32 = 400;
const INTERNAL: u32 = 500;

/// A failed answer: message and HTTP status.
type QueryError = (String, u32);

/// Answers one query on `tx`.
pub async fn answer(deps: TunnelDeps, req: AllocQuery, tx: mpsc::Sender<TunnelFromClient>) {
    let result = match deps.registry.get(&req.alloc_id) {
        None => Err((format!("Unknown allocation {:?}", req.alloc_id), NOT_FOUND)),
        Some(_) => match req.kind.as_str() {
            "stats" => stats(&deps, &req.alloc_id).await,
            "checks" => checks(&deps, &req.alloc_id),
            "gc" => gc(&deps, &req.alloc_id).await,
            other => Err((format!("unknown allocation query {other:?}"), BAD_REQUEST)),
        },
    };
    let reply = match result {
        Ok(body) => AllocQueryReply {
            request_id: req.request_id,
            body: serde_json::to_vec(&body).unwrap_or_default(),
            ..AllocQueryReply::default()
        },
        Err((error, error_code)) => AllocQueryReply {
            request_id: req.request_id,
            error,
            error_code,
            body: Vec::new(),
        },
    };
    let msg = TunnelFromClient {
        msg: Some(tunnel_from_client::Msg::AllocQueryReply(reply)),
    };
    let _ = tx.send(msg).await;
}

/// Nomad's `ResourceUsage` of one task (or the sum of all).
fn resource_usage(rss: u64, user_pct: f64, system_pct: f64, measured: bool) -> Value {
    let (mem_measured, cpu_measured) = if measured {
        (
            json!(["RSS"]),
            json!(["System Mode", "User Mode", "Percent"]),
        )
    } else {
        (json!([]), json!([]))
    };
    json!({
        "MemoryStats": {
            "RSS": rss, "Cache": 0, "Swap": 0, "Usage": 0, "MaxUsage": 0,
            "KernelUsage": 0, "KernelMaxUsage": 0, "Measured": mem_measured,
        },
        "CpuStats": {
            "SystemMode": system_pct, "UserMode": user_pct, "TotalTicks": 0,
            "ThrottledPeriods": 0, "ThrottledTime": 0, "Percent": user_pct + system_pct,
            "Measured": cpu_measured,
        },
        "DeviceStats": [],
    })
}

/// Percent of one CPU used between two samples `window` apart.
fn percent(before: u64, after: u64, window: Duration) -> f64 {
    let secs = after.saturating_sub(before) as f64 / USER_HZ as f64;
    100.0 * secs / window.as_secs_f64()
}

async fn stats(deps: &TunnelDeps, alloc_id: &str) -> Result<Value, QueryError> {
    let running = deps.controls.running(alloc_id);
    let groups: Vec<(String, Option<i32>)> = running
        .iter()
        .map(|(name, t)| (name.clone(), t.control.process_group()))
        .collect();
    let sample = |groups: &[(String, Option<i32>)]| -> Vec<ProcUsage> {
        groups
            .iter()
            .map(|(_, pgid)| pgid.map(group_usage).unwrap_or_default())
            .collect()
    };
    let before = sample(&groups);
    tokio::time::sleep(CPU_SAMPLE).await;
    let after = sample(&groups);
    let now = now_ns();
    let mut tasks = BTreeMap::new();
    let (mut rss, mut user, mut system, mut any) = (0, 0.0, 0.0, false);
    for (((name, pgid), b), a) in groups.iter().zip(&before).zip(&after) {
        let u = percent(b.user_ticks, a.user_ticks, CPU_SAMPLE);
        let s = percent(b.system_ticks, a.system_ticks, CPU_SAMPLE);
        rss += a.rss_bytes;
        user += u;
        system += s;
        any |= pgid.is_some();
        let usage = resource_usage(a.rss_bytes, u, s, pgid.is_some());
        tasks.insert(
            name.clone(),
            json!({"ResourceUsage": usage, "Timestamp": now, "Pids": null}),
        );
    }
    Ok(json!({
        "ResourceUsage": resource_usage(rss, user, system, any),
        "Tasks": tasks,
        "Timestamp": now,
    }))
}

/// One check result in Nomad's `CheckQueryResult` shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CheckResult {
    #[serde(rename = "ID")]
    id: String,
    check: String,
    group: String,
    task: String,
    service: String,
    mode: &'static str,
    status: &'static str,
    output: String,
    status_code: u16,
    /// Unix seconds of the last result.
    timestamp: i64,
}

fn checks(deps: &TunnelDeps, alloc_id: &str) -> Result<Value, QueryError> {
    let group = deps
        .registry
        .get(alloc_id)
        .map(|a| a.task_group.clone())
        .unwrap_or_default();
    let results: BTreeMap<String, CheckResult> = deps
        .controls
        .checks(alloc_id)
        .into_iter()
        .map(|(id, e)| {
            let status = match e.state.status {
                _ if e.state.timestamp == 0 => "pending",
                Status::Passing => "success",
                Status::Warning | Status::Critical => "failure",
            };
            let result = CheckResult {
                id: id.clone(),
                check: e.check,
                group: group.clone(),
                task: e.task,
                service: e.service,
                mode: if e.on_update == "ignore" {
                    "readiness"
                } else {
                    "healthiness"
                },
                status,
                output: e.state.output,
                status_code: 0,
                timestamp: e.state.timestamp / 1_000_000_000,
            };
            (id, result)
        })
        .collect();
    serde_json::to_value(results).map_err(|e| (e.to_string(), INTERNAL))
}

async fn gc(deps: &TunnelDeps, alloc_id: &str) -> Result<Value, QueryError> {
    if !deps.controls.running(alloc_id).is_empty() {
        return Err((
            "No such allocation on client or allocation not eligible for GC".to_string(),
            INTERNAL,
        ));
    }
    let dir = AllocDir::new(&deps.alloc_root, alloc_id)
        .ok_or_else(|| (format!("invalid allocation ID {alloc_id:?}"), BAD_REQUEST))?;
    dir.destroy().await.map_err(|e| {
        (
            format!("failed to remove allocation directory: {e}"),
            INTERNAL,
        )
    })?;
    tracing::info!(%alloc_id, "allocation directory collected on request");
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_of_one_cpu_over_the_window() {
        assert_eq!(percent(100, 110, Duration::from_millis(100)), 100.0);
        assert_eq!(percent(5, 5, Duration::from_millis(100)), 0.0);
        assert_eq!(percent(9, 5, Duration::from_millis(100)), 0.0);
    }
}
