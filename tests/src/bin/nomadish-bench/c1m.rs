//! `c1m`: the `sim` load against three server processes on loopback with TLS, as in
//! Nomad's C1M: N simulated nodes (mutual TLS with the client certificate, all on the
//! leader, where heartbeats go) and J service jobs of A allocations registered at once
//! through the leader; the time from the first registration until every allocation is
//! delivered to its node and the node's `running` update is committed; placements per
//! second; the leader's peak RSS.
//!
//! `-scale` runs a tenth of it (500 nodes, 100 jobs x 1,000) for CI.

use std::time::Duration;

use nomadish_tests::sim::{SimNodeSpec, Simulator};
use nomadish_tests::{Cluster, Pki, test_dir};
use serde_json::{Value, json};

use crate::sim::{Placement, REPORT_LIMIT, SimOptions, allocs_in_state, place, wait_nodes};

/// What each simulated node offers: room for 200 of the jobs' allocations (100 MHz /
/// 128 MB each) with some to spare, as C1M's 200 containers per host.
const NODE_SPEC: SimNodeSpec = SimNodeSpec {
    cpu: 32_000,
    memory_mb: 65_536,
    disk_mb: 1_000_000,
};

/// The full scenario's sizes; `-scale` divides nodes and jobs by ten.
pub fn options(scale: bool) -> SimOptions {
    let tenth = if scale { 10 } else { 1 };
    SimOptions {
        nodes: 5000 / tenth,
        jobs: 1000 / tenth,
        allocs: 1000,
        timeout: Duration::from_secs(if scale { 600 } else { 3600 }),
        snapshot_threshold: None,
    }
}

/// The servers' RPC addresses, the leader's first (the simulator registers its nodes and
/// opens their streams there).
pub fn leader_first(cluster: &Cluster, leader: usize) -> Vec<String> {
    let mut servers: Vec<String> = cluster.servers.iter().map(|s| s.rpc.clone()).collect();
    servers.swap(0, leader);
    servers
}

/// Runs the scenario.
pub async fn run(opts: SimOptions) -> (String, Value) {
    let capacity = opts.nodes * (NODE_SPEC.cpu / 100) as usize;
    if capacity < opts.jobs * opts.allocs {
        eprintln!(
            "note: {} nodes hold at most {capacity} allocations; {} are asked for",
            opts.nodes,
            opts.jobs * opts.allocs
        );
    }
    let dir = test_dir();
    let pki = Pki::create(dir.path());
    let extra = opts
        .snapshot_threshold
        .map(|n| format!("server {{\n  raft_snapshot_threshold = {n}\n}}\n"))
        .unwrap_or_default();
    let mut cluster = Cluster::start_edited(
        dir.path(),
        3,
        &extra,
        Some(&pki),
        crate::sim::nomad_heartbeats,
    )
    .await;
    let (first_leader, _) = cluster.wait_leader().await;
    let servers = leader_first(&cluster, first_leader);
    let leader = &cluster.servers[first_leader];
    let pid = leader.pid().as_raw();
    let tls = pki.rpc_client_tls("client");
    let sim = Simulator::start_cluster(&servers, opts.nodes, NODE_SPEC, Some(&tls))
        .await
        .expect("simulator");
    let api = leader.api();
    let register_time = wait_nodes(&api, opts.nodes).await;
    let placement = place(&api, &sim, pid, &opts, true).await;
    let (beats, failed_beats) = sim.stats.heartbeats();
    let failed_acks = sim.stats.failed_acks();
    let summaries = allocs_in_state(&api, opts.jobs).await;
    let moved = tokio::time::timeout(REPORT_LIMIT, cluster.leader())
        .await
        .map(|l| l.map(|l| l.0) != Some(first_leader));
    if tokio::time::timeout(REPORT_LIMIT, sim.stop())
        .await
        .is_err()
    {
        eprintln!("note: the simulator did not stop within {REPORT_LIMIT:?}");
    }
    let (in_state, running, lost) = summaries.unwrap_or((-1, -1, -1));
    let in_state_cell = match summaries {
        Some(_) => format!("{in_state} ({running} running, {lost} lost on nodes marked down)"),
        None => format!("unknown (the job summaries were not answered within {REPORT_LIMIT:?})"),
    };
    let table = format!(
        "| servers | nodes | jobs x allocs | {}\n|---|---|---|---|---|---|---|---|---|\n| 3 (TLS) | {} | {} x {} | {}\n\
         \nwall = first job registration -> last allocation delivered and its `running` update \
         committed; nodes registered and ready in {:.1}s; {} heartbeats ({} failed); \
         {failed_acks} allocation update calls failed and were sent again; allocations in state: {in_state_cell}; \
         {} cores; {}{}{}",
        Placement::HEADER,
        opts.nodes,
        opts.jobs,
        opts.allocs,
        placement.cells(),
        register_time.as_secs_f64(),
        beats,
        failed_beats,
        crate::cores(),
        placement.jobs_placed(opts.jobs),
        match moved {
            Ok(false) => "",
            Ok(true) => "; leadership moved during the run (the RSS is the first leader's)",
            Err(_) => "; no leader answered after the run",
        },
        match opts.snapshot_threshold {
            Some(n) => format!("; servers with `raft_snapshot_threshold = {n}`"),
            None => String::new(),
        },
    );
    let mut result = json!({
        "scenario": "c1m",
        "servers": 3,
        "tls": true,
        "nodes": opts.nodes,
        "jobs": opts.jobs,
        "allocs_per_job": opts.allocs,
        "timeout_seconds": opts.timeout.as_secs(),
        "register_seconds": register_time.as_secs_f64(),
        "heartbeats": beats,
        "failed_heartbeats": failed_beats,
        "failed_alloc_updates": failed_acks,
        "summaries_answered": summaries.is_some(),
        "allocs_in_state": in_state,
        "allocs_running": running,
        "allocs_lost": lost,
        "leadership_moved": moved.unwrap_or(true),
        "cores": crate::cores(),
        "raft_snapshot_threshold": opts.snapshot_threshold,
    });
    crate::merge(&mut result, placement.json());
    // The figures are taken: a graceful stop of servers holding a million allocations is
    // not what this measures (and may outlast the harness's stop timeout).
    for server in &mut cluster.servers {
        server.kill9();
    }
    (table, result)
}
