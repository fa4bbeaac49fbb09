//! Servers 50 ms apart and clients 150 ms away, through the fault network, with
//! `raft_multiplier = 5`: steady load must cause no election and leave every node ready.
//!
//! CI runs it for 60 s; `NOMADISH_SLOW_LINK_SECS=300` runs the full five minutes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nomadish_tests::faults::Net;
use nomadish_tests::load::{
    History, assert_all_acked_present, spawn_leader_sampler, spawn_writers, targets_of, wait_acked,
};
use nomadish_tests::{CLUSTER_TIMEOUT, Cluster, Pki};

/// One-way delay between servers, and between a client and each server.
const SERVER_DELAY: Duration = Duration::from_millis(50);
const CLIENT_DELAY: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_links_cause_no_spurious_elections_and_every_node_stays_ready() {
    let secs: u64 = std::env::var("NOMADISH_SLOW_LINK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let net = Net::new();
    // 100 ms x 5 heartbeats against a 100 ms round trip; elections after 1-2 s of silence.
    let extra = "server {\n  raft_multiplier = 5\n}\n";
    let cluster = Cluster::start_behind(dir.path(), 3, extra, Some(&pki), &net).await;
    let names: Vec<String> = cluster.servers.iter().map(|s| s.name.clone()).collect();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            net.slow(a, b, SERVER_DELAY, 0.0);
        }
    }
    let clients = [
        cluster.client_behind(dir.path(), "c1", "", &net).await,
        cluster.client_behind(dir.path(), "c2", "", &net).await,
    ];
    for c in &clients {
        for s in &names {
            net.slow(&c.name, s, CLIENT_DELAY, 0.0);
        }
    }
    cluster.wait_ready_nodes(2).await;
    let api = cluster.servers[0].api();
    let (leader, leader_id) = cluster.wait_leader().await;

    let stop = Arc::new(AtomicBool::new(false));
    let apis = cluster.servers.iter().map(|s| s.api()).collect();
    let sampler = spawn_leader_sampler(apis, stop.clone());
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    let writers = spawn_writers(8, 1_000_000, "slow", targets.clone(), history.clone());
    wait_acked(&history, 10).await;

    let started = Instant::now();
    let mut checks = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        for s in &cluster.servers {
            let (code, text) = s.api().get_text("/ready").await;
            assert!(code.is_success(), "{} not ready: {code} {text}", s.name);
        }
        let nodes = api.get_ok("/v1/nodes?stale").await;
        for n in nodes.as_array().expect("nodes") {
            assert_eq!(n["Status"], "ready", "{n}");
        }
        checks += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    targets.lock().expect("targets").clear();
    for w in writers {
        w.await.expect("writer");
    }
    stop.store(true, Ordering::SeqCst);
    let seen = sampler.await.expect("sampler");
    assert_eq!(
        seen.len(),
        1,
        "leadership changed under steady load over slow links: {seen:?}"
    );
    assert_eq!(cluster.wait_leader().await, (leader, leader_id));
    // Servers are compared with the links fast again: 50 ms apart they are rarely all at the
    // same index at the instant each is asked.
    net.heal_all();
    // Each registration left an evaluation; the scheduler may still be finishing them (each
    // one more raft write), so the servers are compared once it is done.
    let healed = Instant::now();
    cluster
        .wait_evals_done(Duration::from_secs(secs.max(60)))
        .await;
    eprintln!("evaluations done {:?} after healing", healed.elapsed());
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    assert_all_acked_present(&cluster, &history).await;
    let acked = history.lock().expect("history").acked.len();
    eprintln!(
        "{secs} s over slow links: {acked} writes acknowledged ({:.0}/s), one term, {checks} readiness rounds all ready",
        acked as f64 / secs as f64
    );
}
