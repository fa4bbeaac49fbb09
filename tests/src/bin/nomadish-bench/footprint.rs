//! `footprint`: what nomadish costs at rest.
//!
//! - idle client: RSS of a client-only agent connected to a server, sampled for a few
//!   seconds once its node is ready;
//! - loaded server: RSS of one server holding A allocations (J jobs x 1,000 placed by the
//!   node simulator on a few hundred large simulated nodes), sampled once placement is done;
//! - the release binary's size (`target/release/nomadish`, when built);
//! - cold start: `nomadish agent -dev` on a fresh data dir until `/ready` answers 200, and
//!   until its own node is `ready`, over several runs.

use std::time::{Duration, Instant};

use nomadish_tests::sim::{SimNodeSpec, Simulator};
use nomadish_tests::{Agent, AgentKind, Api, free_port, nomadish_bin, test_dir};
use serde_json::{Value, json};

use crate::percentile;
use crate::procfs::rss_mb;
use crate::sim::{SimOptions, allocs_in_state, place, wait_nodes};

/// How long RSS is sampled, and how often.
const SAMPLE_FOR: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Pause after an agent is ready before its RSS is sampled (startup work settles).
const SETTLE: Duration = Duration::from_secs(2);
/// How often a starting agent is polled during a cold start.
const START_POLL: Duration = Duration::from_millis(5);
/// Longest cold start before a run fails.
const START_LIMIT: Duration = Duration::from_secs(30);
/// Longest wait for the allocations to be placed.
const PLACE_LIMIT: Duration = Duration::from_secs(1200);
/// Simulated nodes large enough for 1,000 of the jobs' allocations each.
const BIG_NODE: SimNodeSpec = SimNodeSpec {
    cpu: 100_000,
    memory_mb: 200_000,
    disk_mb: 1_000_000,
};

/// Options of the scenario.
#[derive(Debug, Clone)]
pub struct FootprintOptions {
    /// Allocations in the loaded server's state (a multiple of 1,000; 0 skips it).
    pub allocs: usize,
    /// Simulated nodes holding them.
    pub nodes: usize,
    /// Cold starts.
    pub runs: usize,
}

/// RSS of `pid` every [`SAMPLE_EVERY`] for [`SAMPLE_FOR`], sorted (MiB).
async fn sample_rss(pid: i32) -> Vec<f64> {
    let mut samples = Vec::new();
    let end = Instant::now() + SAMPLE_FOR;
    while Instant::now() < end {
        samples.push(rss_mb(pid));
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    samples.sort_by(f64::total_cmp);
    samples
}

/// RSS samples of an idle client-only agent.
async fn idle_client() -> Vec<f64> {
    let dir = test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let client = Agent::start(
        dir.path(),
        "client",
        AgentKind::Client(vec![server.rpc.clone()]),
        "",
    )
    .await;
    wait_nodes(&server.api(), 1).await;
    tokio::time::sleep(SETTLE).await;
    sample_rss(client.pid().as_raw()).await
}

/// What the loaded server measured.
#[derive(Debug, Default)]
struct Loaded {
    /// RSS samples once placement is done, sorted (MiB).
    rss: Vec<f64>,
    /// Peak RSS while placing (MiB).
    peak: f64,
    /// Allocations in its state: all, running, lost.
    allocs: (i64, i64, i64),
    /// Whether every allocation asked for reached its node within the limit.
    complete: bool,
}

/// RSS samples of a server holding `opts.allocs` allocations, and how many it holds.
async fn loaded_server(opts: &FootprintOptions) -> Loaded {
    let dir = test_dir();
    let server = crate::sim::nomad_server(dir.path()).await;
    let pid = server.pid().as_raw();
    let sim = Simulator::start(&server.rpc, opts.nodes, BIG_NODE)
        .await
        .expect("simulator");
    let api = server.api();
    wait_nodes(&api, opts.nodes).await;
    let load = SimOptions {
        nodes: opts.nodes,
        jobs: opts.allocs.div_ceil(1000),
        allocs: opts.allocs.min(1000),
        timeout: PLACE_LIMIT,
        snapshot_threshold: None,
    };
    let placement = place(&api, &sim, pid, &load, true).await;
    tokio::time::sleep(SETTLE).await;
    let rss = sample_rss(pid).await;
    let allocs = allocs_in_state(&api, load.jobs)
        .await
        .expect("the server answers the job summaries");
    sim.stop().await;
    Loaded {
        rss,
        peak: placement.rss_peak_mb,
        allocs,
        complete: placement.complete,
    }
}

/// Polls `check` every [`START_POLL`] until it holds; the time since `started`.
async fn poll(started: Instant, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < START_LIMIT,
            "cold start: no {what} after {START_LIMIT:?}"
        );
        tokio::time::sleep(START_POLL).await;
    }
}

/// One cold start of a dev agent on a fresh data dir: (to `/ready` 200, to its own node
/// `ready`), in ms.
async fn cold_start(run: usize) -> (f64, f64) {
    let dir = test_dir();
    let ports = (free_port(), free_port());
    let name = format!("dev-{run}");
    let mut agent = Agent::prepare(dir.path(), &name, AgentKind::Dev, "", ports, None);
    let api = Api::new(&agent.http);
    let started = Instant::now();
    agent.launch();
    let ready = poll(
        started,
        "/ready 200",
        async || matches!(api.try_get("/ready").await, Ok((code, _, _)) if code.is_success()),
    )
    .await;
    let node = poll(started, "ready node", async || {
        let Ok((_, _, nodes)) = api.try_get("/v1/nodes").await else {
            return false;
        };
        nodes
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["Status"] == "ready"))
    })
    .await;
    agent.stop();
    (ready.as_secs_f64() * 1000.0, node.as_secs_f64() * 1000.0)
}

/// The size of a file in MiB, if it exists.
fn size_mb(path: &std::path::Path) -> Option<f64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
}

/// Runs the scenario.
pub async fn run(opts: FootprintOptions) -> (String, Value) {
    let client = idle_client().await;
    let loaded = if opts.allocs > 0 {
        loaded_server(&opts).await
    } else {
        Loaded::default()
    };
    let (in_state, running, lost) = loaded.allocs;
    let mut ready = Vec::new();
    let mut node = Vec::new();
    for run in 0..opts.runs {
        let (r, n) = cold_start(run).await;
        ready.push(r);
        node.push(n);
    }
    let (ready_samples, node_samples) = (ready.clone(), node.clone());
    ready.sort_by(f64::total_cmp);
    node.sort_by(f64::total_cmp);
    let release =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/nomadish");
    let release_mb = size_mb(&release);
    let in_use = nomadish_bin();
    let in_use_mb = size_mb(&in_use).unwrap_or(0.0);
    let med = |v: &[f64]| percentile(v, 0.5);
    let release_cell = release_mb.map_or_else(
        || "not built (`cargo build --release --workspace --bins`)".to_string(),
        |mb| format!("{mb:.1} MiB"),
    );
    let table = format!(
        "| what | figure | target |\n|---|---|---|\n\
         | idle client agent RSS (median / max of {} samples over {}s) | {:.1} / {:.1} MiB | under 20 MiB |\n\
         | server RSS with {in_state} allocations in state ({running} running, {lost} lost){} (median / peak while placing) | {:.0} / {:.0} MiB | (reported) |\n\
         | release binary `target/release/nomadish` | {release_cell} | under 25 MiB |\n\
         | cold start `agent -dev` to `/ready` 200 (median / p99 of {} runs) | {:.0} / {:.0} ms | under 300 ms |\n\
         | the same to its own node `ready` | {:.0} / {:.0} ms | |\n\
         \nagents run from {} ({in_use_mb:.1} MiB); {} cores",
        client.len(),
        SAMPLE_FOR.as_secs(),
        med(&client),
        percentile(&client, 1.0),
        if loaded.complete || opts.allocs == 0 {
            ""
        } else {
            " (placement timed out)"
        },
        med(&loaded.rss),
        loaded.peak,
        opts.runs,
        med(&ready),
        percentile(&ready, 0.99),
        med(&node),
        percentile(&node, 0.99),
        in_use.display(),
        crate::cores(),
    );
    let result = json!({
        "scenario": "footprint",
        "cores": crate::cores(),
        "binary_in_use": in_use.display().to_string(),
        "binary_in_use_mb": in_use_mb,
        "client_idle_rss_mb_median": med(&client),
        "client_idle_rss_mb_max": percentile(&client, 1.0),
        "server_allocs_asked": opts.allocs,
        "server_allocs_in_state": in_state,
        "server_allocs_running": running,
        "server_allocs_lost": lost,
        "server_placement_complete": loaded.complete,
        "server_nodes": opts.nodes,
        "server_rss_mb_median": med(&loaded.rss),
        "server_rss_mb_peak": loaded.peak,
        "release_binary_mb": release_mb,
        "cold_start_runs": opts.runs,
        "cold_start_ready_ms": ready_samples,
        "cold_start_ready_median_ms": med(&ready),
        "cold_start_ready_p99_ms": percentile(&ready, 0.99),
        "cold_start_node_ready_ms": node_samples,
        "cold_start_node_ready_median_ms": med(&node),
    });
    (table, result)
}
