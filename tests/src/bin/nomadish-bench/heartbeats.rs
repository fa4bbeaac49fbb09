//! `heartbeats`: three servers with TLS and N simulated nodes heartbeating at a TTL of about
//! `-ttl`; over `-seconds`, the leader's CPU time (from `/proc/<pid>/stat`, as % of one core,
//! per window and overall) and the nodes seen `down` (a follower's `?stale` node list is
//! polled, so the polling costs the leader nothing).
//!
//! ```text
//!   servers: min_heartbeat_ttl = TTL, max_heartbeats_per_second = N / TTL (so Nomad's
//!            formula gives TTL, plus its stagger of up to one TTL), heartbeat_grace = 10s
//!   nodes:   register through the leader, then heartbeat every TTL / 2
//! ```

use std::time::{Duration, Instant};

use nomadish_tests::sim::{SimNodeSpec, Simulator};
use nomadish_tests::{Cluster, Pki, test_dir};
use serde_json::{Value, json};

use crate::percentile;
use crate::procfs::{cpu_time, rss_mb};

/// Length of one CPU sample window.
const WINDOW: Duration = Duration::from_secs(10);
/// How often a follower's node list is checked for `down` nodes.
const DOWN_POLL: Duration = Duration::from_secs(5);

/// Options of the scenario.
#[derive(Debug, Clone)]
pub struct HeartbeatOptions {
    pub nodes: usize,
    pub seconds: u64,
    /// The TTL, as the servers' config spells it (`10s`).
    pub ttl: String,
}

fn ttl_seconds(ttl: &str) -> f64 {
    ttl.trim_end_matches('s')
        .parse::<f64>()
        .unwrap_or(10.0)
        .max(1.0)
}

fn server_config(text: &str, opts: &HeartbeatOptions) -> String {
    let rate = (opts.nodes as f64 / ttl_seconds(&opts.ttl)).max(50.0);
    text.replace("heartbeat_grace = \"1s\"", "heartbeat_grace = \"10s\"")
        .replace(
            "min_heartbeat_ttl = \"1s\"",
            &format!(
                "min_heartbeat_ttl = \"{}\"\n  max_heartbeats_per_second = {rate:.1}",
                opts.ttl
            ),
        )
}

/// Nodes a server lists as `down`.
async fn down_nodes(api: &nomadish_tests::Api) -> usize {
    match api.try_get("/v1/nodes?stale").await {
        Ok((_, _, nodes)) => nodes
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| n["Status"] == "down").count()),
        Err(_) => 0,
    }
}

/// Runs the scenario.
pub async fn run(opts: HeartbeatOptions) -> (String, Value) {
    let dir = test_dir();
    let pki = Pki::create(dir.path());
    let cluster =
        Cluster::start_edited(dir.path(), 3, "", Some(&pki), |t| server_config(t, &opts)).await;
    let (leader_ix, _) = cluster.wait_leader().await;
    let leader = &cluster.servers[leader_ix];
    let follower = cluster.servers[(leader_ix + 1) % 3].api();
    let pid = leader.pid().as_raw();
    let tls = pki.rpc_client_tls("client");
    let servers = crate::c1m::leader_first(&cluster, leader_ix);
    let sim = Simulator::start_cluster(&servers, opts.nodes, SimNodeSpec::default(), Some(&tls))
        .await
        .expect("simulator");
    let register_time = crate::sim::wait_nodes(&follower, opts.nodes).await;

    let (beats0, failed0) = sim.stats.heartbeats();
    let started = Instant::now();
    let cpu0 = cpu_time(pid).expect("leader running");
    let (mut windows, mut window_start, mut window_cpu) = (Vec::new(), started, cpu0);
    let (mut max_down, mut polls) = (0usize, 0usize);
    let mut rss_peak = rss_mb(pid);
    let end = started + Duration::from_secs(opts.seconds);
    while Instant::now() < end {
        tokio::time::sleep(DOWN_POLL.min(end.saturating_duration_since(Instant::now()))).await;
        max_down = max_down.max(down_nodes(&follower).await);
        polls += 1;
        rss_peak = rss_peak.max(rss_mb(pid));
        if window_start.elapsed() >= WINDOW || Instant::now() >= end {
            let cpu = cpu_time(pid).unwrap_or(window_cpu);
            let wall = window_start.elapsed().as_secs_f64();
            windows.push((cpu - window_cpu).as_secs_f64() / wall * 100.0);
            (window_start, window_cpu) = (Instant::now(), cpu);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_time(pid).unwrap_or(cpu0) - cpu0;
    let overall = cpu.as_secs_f64() / wall * 100.0;
    let (beats1, failed1) = sim.stats.heartbeats();
    let (beats, failed) = (beats1 - beats0, failed1 - failed0);
    let down_at_end = down_nodes(&follower).await;
    sim.stop().await;
    let mut sorted = windows.clone();
    sorted.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&sorted, 0.5), percentile(&sorted, 0.99));
    let rate = beats as f64 / wall;
    let table = format!(
        "| servers | nodes | TTL | window (s) | heartbeats/s | failed | leader CPU % of one core: overall / median / p99 of {}s windows | nodes down (max seen / at end) | leader RSS peak (MiB) |\n\
         |---|---|---|---|---|---|---|---|---|\n\
         | 3 (TLS) | {} | {} | {wall:.0} | {rate:.0} | {failed} | {overall:.1} / {p50:.1} / {p99:.1} | {max_down} / {down_at_end} | {rss_peak:.0} |\n\
         \nnodes registered and ready in {:.1}s; down nodes checked {polls} times on a follower; {} cores",
        WINDOW.as_secs(),
        opts.nodes,
        opts.ttl,
        register_time.as_secs_f64(),
        crate::cores(),
    );
    let result = json!({
        "scenario": "heartbeats",
        "servers": 3,
        "tls": true,
        "nodes": opts.nodes,
        "ttl": opts.ttl,
        "seconds": wall,
        "register_seconds": register_time.as_secs_f64(),
        "heartbeats": beats,
        "failed_heartbeats": failed,
        "heartbeats_per_second": rate,
        "leader_cpu_percent": overall,
        "leader_cpu_percent_windows": windows,
        "leader_cpu_percent_median": p50,
        "leader_cpu_percent_p99": p99,
        "nodes_down_max": max_down,
        "nodes_down_at_end": down_at_end,
        "leader_rss_peak_mb": rss_peak,
        "cores": crate::cores(),
    });
    (table, result)
}
