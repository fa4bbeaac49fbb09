//! `sim`: one server process, N simulated nodes (in this process, over the real gRPC node
//! service), J service jobs of A allocations each registered at once; placements per second
//! and, per job, the time from its registration to all its allocations placed, committed
//! and delivered to their nodes; plus the server's peak RSS.

use std::time::{Duration, Instant};

use nomadish_tests::sim::{SimNodeSpec, Simulator};
use nomadish_tests::{Agent, AgentKind, free_port, test_dir};
use serde_json::{Value, json};

use crate::percentile;

/// How often progress is checked (and the server's RSS sampled).
const POLL: Duration = Duration::from_millis(100);
/// Longest wait for the nodes to register, per 1,000 nodes.
const REGISTER_LIMIT_PER_1000: Duration = Duration::from_secs(60);

/// Options of the scenario.
pub struct SimOptions {
    pub nodes: usize,
    pub jobs: usize,
    pub allocs: usize,
    /// Overall limit for placing everything.
    pub timeout: Duration,
}

fn job(id: &str, count: usize) -> Value {
    json!({"Job": {
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g", "Count": count,
            "Tasks": [{
                "Name": "t", "Driver": "raw_exec",
                "Config": {"command": "/bin/true"},
                "Resources": {"CPU": 100, "MemoryMB": 128}
            }]
        }]
    }})
}

/// The resident set size of a process in MB (0 when unreadable).
fn rss_mb(pid: i32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn wait_nodes(server: &Agent, n: usize) -> Duration {
    let api = server.api();
    let started = Instant::now();
    let limit = REGISTER_LIMIT_PER_1000 * (n / 1000 + 1) as u32;
    loop {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready = nodes
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| n["Status"] == "ready").count());
        if ready >= n {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "only {ready} of {n} nodes ready");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Runs the scenario.
pub async fn run(opts: SimOptions) -> (String, Value) {
    let dir = test_dir();
    // Nomad's heartbeat defaults, not the harness's 1 s ones: thousands of nodes on a
    // 2-core machine must not be declared down while a large plan is being applied.
    let ports = (free_port(), free_port());
    let mut server = Agent::prepare(dir.path(), "server", AgentKind::Server, "", ports, None);
    server.edit_config(|text| {
        text.replace("heartbeat_grace = \"1s\"", "heartbeat_grace = \"10s\"")
            .replace("min_heartbeat_ttl = \"1s\"", "min_heartbeat_ttl = \"10s\"")
    });
    server.restart().await;
    let pid = server.pid().as_raw();
    let sim = Simulator::start(&server.rpc, opts.nodes, SimNodeSpec::default())
        .await
        .expect("simulator");
    let register_time = wait_nodes(&server, opts.nodes).await;
    let idle_rss = rss_mb(pid);

    let api = server.api();
    let ids: Vec<String> = (0..opts.jobs).map(|i| format!("sim-{i}")).collect();
    let mut submitted = Vec::with_capacity(opts.jobs);
    let start = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for id in &ids {
        let (api, body) = (api.clone(), job(id, opts.allocs));
        submitted.push(Instant::now());
        writers.spawn(async move { api.put_json("/v1/jobs", &body).await.0.is_success() });
    }
    while let Some(ok) = writers.join_next().await {
        assert!(ok.unwrap_or(false), "a job registration failed");
    }
    let mut peak_rss = rss_mb(pid);
    let total = opts.jobs * opts.allocs;
    while sim.stats.total() < total && start.elapsed() < opts.timeout {
        peak_rss = peak_rss.max(rss_mb(pid));
        tokio::time::sleep(POLL).await;
    }
    peak_rss = peak_rss.max(rss_mb(pid));
    // On timeout the figures cover what was placed, and only complete jobs have latencies.
    let placed = sim.stats.total();
    let complete = placed >= total;
    let mut latencies: Vec<f64> = Vec::new();
    let mut last = start;
    for (id, t0) in ids.iter().zip(&submitted) {
        let (n, done) = sim.stats.job(id);
        if let Some(done) = done {
            last = last.max(done);
            if n >= opts.allocs {
                latencies.push(done.duration_since(*t0).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let elapsed = if complete {
        last.duration_since(start).as_secs_f64()
    } else {
        start.elapsed().as_secs_f64()
    };
    let rate = placed as f64 / elapsed;
    sim.stop().await;
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    let table = format!(
        "| nodes | jobs x allocs | placed | wall (s) | placements/s | p50 reg->placed (ms) | p99 reg->placed (ms) | leader RSS idle / peak (MB) |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {} | {} x {} | {placed} of {total} | {elapsed:.2} | {rate:.0} | {p50:.0} | {p99:.0} | {idle_rss:.0} / {peak_rss:.0} |\n\
         \nnodes registered and ready in {:.1}s; {} cores; {} of {} jobs fully placed{}",
        opts.nodes,
        opts.jobs,
        opts.allocs,
        register_time.as_secs_f64(),
        crate::cores(),
        latencies.len(),
        opts.jobs,
        if complete { "" } else { " (timed out)" },
    );
    let result = json!({
        "scenario": "sim",
        "nodes": opts.nodes,
        "jobs": opts.jobs,
        "allocs_per_job": opts.allocs,
        "placed": placed,
        "complete": complete,
        "jobs_fully_placed": latencies.len(),
        "wall_seconds": elapsed,
        "placements_per_second": rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "register_seconds": register_time.as_secs_f64(),
        "leader_rss_idle_mb": idle_rss,
        "leader_rss_peak_mb": peak_rss,
        "cores": crate::cores(),
    });
    (table, result)
}
