//! Network faults between real agent processes, through the fault network's proxies
//! (tests/src/faults.rs): a leader cut off in a minority (scenarios 3 and 4 of the reliability
//! list), a follower that can receive but not send (5), and a client cut off past its
//! heartbeat TTL (14).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nomadish_tests::faults::Net;
use nomadish_tests::load::{
    History, assert_all_acked_present, raft_stat, spawn_leader_sampler, spawn_writers, targets_of,
    wait_acked,
};
use nomadish_tests::sshd::pids_matching as processes_with;
use nomadish_tests::{
    CLUSTER_TIMEOUT, Cluster, Pki, empty_job, marked_sleep_job, wait_until, write_file,
};

/// Names of every server but `i`.
fn others(cluster: &Cluster, i: usize) -> Vec<String> {
    (0..cluster.servers.len())
        .filter(|j| *j != i)
        .map(|j| cluster.servers[j].name.clone())
        .collect()
}

/// Asserts no term had two leaders, from the sampler's record.
fn assert_one_leader_per_term(seen: &std::collections::BTreeMap<u64, BTreeSet<String>>) {
    for (term, leaders) in seen {
        assert!(
            leaders.len() <= 1,
            "two leaders in term {term}: {leaders:?}"
        );
    }
}

/// The leader as the majority (every server but `excluded`) reports it.
async fn majority_leader(cluster: &Cluster, excluded: usize) -> Option<usize> {
    for i in cluster.running() {
        if i == excluded {
            continue;
        }
        let s = cluster.servers[i]
            .api()
            .try_get("/v1/agent/self")
            .await
            .ok()?;
        if s.2["stats"]["raft"]["state"] == "Leader" {
            return Some(i);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_3_leader_cut_off_in_a_minority_loses_nothing_it_acked() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let net = Net::new();
    let cluster = Cluster::start_behind(dir.path(), 3, "", Some(&pki), &net).await;
    let (leader, _) = cluster.wait_leader().await;
    let old_leader = cluster.servers[leader].name.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let apis = cluster.servers.iter().map(|s| s.api()).collect();
    let sampler = spawn_leader_sampler(apis, stop.clone());

    // Writers use every server, the old leader included, through the whole cut.
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    let writers = spawn_writers(6, 100_000, "s3job", targets.clone(), history.clone());
    wait_acked(&history, 100).await;
    let peers = others(&cluster, leader);
    let peer_refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    net.partition(&[old_leader.as_str()], &peer_refs);
    let cut_at = Instant::now();

    // The majority elects a leader of its own and keeps acknowledging writes.
    wait_until("a leader in the majority", CLUSTER_TIMEOUT, async || {
        majority_leader(&cluster, leader).await
    })
    .await;
    let sleep_for = Duration::from_secs(5).saturating_sub(cut_at.elapsed());
    tokio::time::sleep(sleep_for).await;
    let acked_in_cut = history.lock().expect("history").acked.len();
    // New writes stop as the link heals; writes still in flight may land meanwhile.
    targets.lock().expect("targets").clear();
    net.heal_all();
    let healed_at = Instant::now();
    cluster.wait_leader().await;
    cluster.wait_converged(Duration::from_secs(5)).await;
    let took = healed_at.elapsed();
    eprintln!("one leader and equal digests {took:?} after healing");
    for w in writers {
        w.await.expect("writer");
    }
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    stop.store(true, Ordering::SeqCst);
    let seen = sampler.await.expect("sampler");
    assert_one_leader_per_term(&seen);
    assert_all_acked_present(&cluster, &history).await;
    let h = history.lock().expect("history");
    eprintln!(
        "{} writes acknowledged ({} by the end of the cut), {} unknown",
        h.acked.len(),
        acked_in_cut,
        h.unknown.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_4_default_reads_on_a_cut_off_leader_are_never_stale() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let net = Net::new();
    let cluster = Cluster::start_behind(dir.path(), 3, "", Some(&pki), &net).await;
    let (leader, _) = cluster.wait_leader().await;
    let peers = others(&cluster, leader);
    let peer_refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    net.partition(&[cluster.servers[leader].name.as_str()], &peer_refs);
    let new_leader = wait_until("a leader in the majority", CLUSTER_TIMEOUT, async || {
        majority_leader(&cluster, leader).await
    })
    .await;
    let (code, body) = cluster.servers[new_leader]
        .api()
        .put_json("/v1/jobs", &empty_job("after-the-cut"))
        .await;
    assert!(code.is_success(), "{body}");
    let written_at = body["JobModifyIndex"].as_u64().expect("JobModifyIndex");

    // A default read on the old leader cannot answer from its stale state: it
    // fails (no quorum confirms its leadership) or, if it answers, it has the new job.
    let (code, _, read) = match cluster.servers[leader]
        .api()
        .try_get("/v1/job/after-the-cut")
        .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("default read on the old leader failed: {e}");
            (
                reqwest::StatusCode::GATEWAY_TIMEOUT,
                0,
                serde_json::Value::Null,
            )
        }
    };
    assert!(
        !code.is_success() || read["ID"] == "after-the-cut",
        "a default read on the cut-off leader returned stale data: {code} {read}"
    );
    assert_ne!(code, reqwest::StatusCode::NOT_FOUND, "stale 404: {read}");
    // A ?stale read may be older, and its index says how old.
    let (code, index, _) = cluster.servers[leader]
        .api()
        .get("/v1/job/after-the-cut?stale")
        .await;
    assert!(
        code == reqwest::StatusCode::NOT_FOUND && index < written_at,
        "stale read on the cut-off server: {code}, index {index} (job written at {written_at})"
    );

    // The majority's followers answer default reads with the new job.
    let follower = (0..3)
        .find(|i| *i != leader && *i != new_leader)
        .expect("follower");
    let job = cluster.servers[follower]
        .api()
        .get_ok("/v1/job/after-the-cut")
        .await;
    assert_eq!(job["ID"], "after-the-cut");
    net.heal_all();
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    let job = cluster.servers[leader]
        .api()
        .get_ok("/v1/job/after-the-cut")
        .await;
    assert_eq!(
        job["ID"], "after-the-cut",
        "the healed server reads the new job"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_5_follower_that_cannot_send_leaves_leader_and_term_alone() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let net = Net::new();
    let cluster = Cluster::start_behind(dir.path(), 3, "", Some(&pki), &net).await;
    let (leader, leader_id) = cluster.wait_leader().await;
    let term = raft_stat(
        &cluster.servers[leader].api().get_ok("/v1/agent/self").await,
        "term",
    );
    let follower = (leader + 1) % 3;
    let mute = cluster.servers[follower].name.clone();
    for to in others(&cluster, follower) {
        net.cut_one_way(&mute, &to);
    }
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    // The muted follower cannot forward writes; writers use the other two.
    nomadish_tests::load::remove_target(&targets, &cluster.servers[follower].http);
    let writers = spawn_writers(4, 100_000, "s5job", targets.clone(), history.clone());
    // Ten seconds: many election timeouts of the muted follower, had it started elections.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let acked = history.lock().expect("history").acked.len();
    assert!(acked > 100, "writes went on: {acked}");
    // The muted follower may count its own terms up (its votes reach nobody); the leader
    // and the follower that hears it stay in the old term.
    let assert_term_kept = async |when: &str| {
        for i in (0..3).filter(|i| *i != follower) {
            let s = cluster.servers[i].api().get_ok("/v1/agent/self").await;
            assert_eq!(
                raft_stat(&s, "term"),
                term,
                "{when}: term changed on s{}: {}",
                i + 1,
                s["stats"]["raft"]
            );
        }
    };
    assert_term_kept("while muted").await;
    assert_eq!(cluster.wait_leader().await, (leader, leader_id.clone()));
    net.heal_all();
    targets.lock().expect("targets").clear();
    for w in writers {
        w.await.expect("writer");
    }
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    // Healing does not let the follower's higher terms depose the leader either.
    assert_eq!(cluster.wait_leader().await, (leader, leader_id));
    assert_term_kept("after healing").await;
    assert_all_acked_present(&cluster, &history).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_14_client_cut_off_past_its_ttl_is_replaced_and_stopped_after_healing() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let net = Net::new();
    let cluster = Cluster::start_behind(dir.path(), 3, "", Some(&pki), &net).await;
    cluster.wait_leader().await;
    let c1 = cluster.client_behind(dir.path(), "c1", "", &net).await;
    let c2 = cluster.client_behind(dir.path(), "c2", "", &net).await;
    cluster.wait_ready_nodes(2).await;
    let api = cluster.servers[0].api();
    // Seconds as a unique fraction: this test's tasks, and no other's, carry it.
    let marker = format!("86000.{}", std::process::id());
    let spec = write_file(dir.path(), "cut.hcl", &marked_sleep_job("cut", 1, &marker));
    let out = nomadish_tests::cli(
        &cluster.servers[0],
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = wait_until("the task running", CLUSTER_TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/cut/allocations").await;
        allocs
            .as_array()
            .and_then(|a| a.iter().find(|x| x["ClientStatus"] == "running").cloned())
    })
    .await;
    let first_id = first["ID"].as_str().expect("id").to_string();
    let node_id = first["NodeID"].as_str().expect("node").to_string();
    let node = api.get_ok(&format!("/v1/node/{node_id}")).await;
    let cut_client = node["Name"].as_str().expect("name").to_string();
    assert_eq!(processes_with(&marker).len(), 1, "one task before the cut");

    for s in &cluster.servers {
        net.cut(&cut_client, &s.name);
    }
    let cut_at = Instant::now();
    wait_until("the cut-off node down", CLUSTER_TIMEOUT, async || {
        let n = api.get_ok(&format!("/v1/node/{node_id}")).await;
        (n["Status"] == "down").then_some(())
    })
    .await;
    let down_after = cut_at.elapsed();
    let replacement = wait_until(
        "the old allocation lost and a replacement running",
        CLUSTER_TIMEOUT,
        async || {
            let old = api.get_ok(&format!("/v1/allocation/{first_id}")).await;
            if old["ClientStatus"] != "lost" {
                return None;
            }
            let allocs = api.get_ok("/v1/job/cut/allocations").await;
            allocs.as_array().and_then(|a| {
                a.iter()
                    .find(|x| x["ID"] != first_id.as_str() && x["ClientStatus"] == "running")
                    .cloned()
            })
        },
    )
    .await;
    let replaced_after = cut_at.elapsed();
    eprintln!("node down after {down_after:?}, replacement running after {replaced_after:?}");
    assert_ne!(replacement["NodeID"], node_id.as_str());
    // The TTL is at least min_heartbeat_ttl (1 s here) plus grace (1 s), under 10 s in all
    // for two nodes; the replacement must follow within 10 s of that.
    assert!(
        replaced_after < Duration::from_secs(22),
        "replacement running {replaced_after:?} after the cut"
    );

    net.heal_all();
    wait_until("the healed node ready again", CLUSTER_TIMEOUT, async || {
        let n = api.get_ok(&format!("/v1/node/{node_id}")).await;
        (n["Status"] == "ready").then_some(())
    })
    .await;
    // The old task is stopped on the healed client: one process carries the marker, the
    // replacement's, and the job runs exactly its desired count.
    wait_until(
        "only the replacement's task running",
        CLUSTER_TIMEOUT,
        async || (processes_with(&marker).len() == 1).then_some(()),
    )
    .await;
    let allocs = api.get_ok("/v1/job/cut/allocations").await;
    let running: Vec<&serde_json::Value> = allocs
        .as_array()
        .expect("allocations")
        .iter()
        .filter(|a| a["ClientStatus"] == "running")
        .collect();
    assert_eq!(running.len(), 1, "{allocs}");
    assert_eq!(running[0]["ID"], replacement["ID"]);
    let old = api.get_ok(&format!("/v1/allocation/{first_id}")).await;
    assert_eq!(old["DesiredStatus"], "stop", "{old}");
    drop((c1, c2));
}
