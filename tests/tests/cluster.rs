//! Three servers on loopback with TLS: formation, leader loss, whole-cluster crashes, snapshot
//! catch-up, a frozen leader, membership changes under load, leadership transfer, client
//! failover, snapshot save and restore (scenarios 1, 2, 6, 7 and 8 of the reliability list,
//! and issue 3's acceptance).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nomadish_tests::load::{
    History, Targets, assert_all_acked_present, raft_stat, remove_target, spawn_leader_sampler,
    spawn_writers, targets_of, wait_acked,
};
use nomadish_tests::{
    Agent, AgentKind, Api, CLUSTER_TIMEOUT, Cluster, Pki, empty_job, wait_until, write_file,
};
use serde_json::Value;

#[tokio::test]
async fn cluster_forms_from_bootstrap_expect_and_retry_join() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let (leader, _) = cluster.wait_leader().await;
    for s in &cluster.servers {
        let cfg = s.api().get_ok("/v1/operator/raft/configuration").await;
        let servers = cfg["Servers"].as_array().cloned().unwrap_or_default();
        assert_eq!(servers.len(), 3, "{cfg}");
        assert!(servers.iter().all(|s| s["Voter"] == true), "{cfg}");
        assert_eq!(
            servers.iter().filter(|s| s["Leader"] == true).count(),
            1,
            "{cfg}"
        );
        let peers = s.api().get_ok("/v1/status/peers").await;
        assert_eq!(peers.as_array().map(Vec::len), Some(3));
    }
    // The CLI shows the same: one leader, two followers, all voters.
    let out = nomadish_tests::cli(&cluster.servers[0], &["operator", "raft", "list-peers"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.matches("leader").count(), 1, "{text}");
    assert_eq!(text.matches("follower").count(), 2, "{text}");
    assert!(
        text.lines()
            .next()
            .is_some_and(|h| h.contains("RaftProtocol")),
        "{text}"
    );
    // Any server accepts a write; default reads on a follower see it at once.
    let follower = (leader + 1) % 3;
    let (code, body) = cluster.servers[follower]
        .api()
        .put_json("/v1/jobs", &empty_job("via-follower"))
        .await;
    assert!(code.is_success(), "{body}");
    let other = (leader + 2) % 3;
    let job = cluster.servers[other]
        .api()
        .get_ok("/v1/job/via-follower")
        .await;
    assert_eq!(
        job["ID"], "via-follower",
        "linearizable read on another follower"
    );
    let (code, index, _) = cluster.servers[other].api().get("/v1/jobs?stale").await;
    assert!(code.is_success() && index > 0);
}

#[tokio::test]
async fn scenario_1_leader_killed_during_1000_registrations() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let (leader, _) = cluster.wait_leader().await;
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    let writers = spawn_writers(8, 1000, "s1job", targets.clone(), history.clone());
    wait_acked(&history, 300).await;
    remove_target(&targets, &cluster.servers[leader].http);
    cluster.servers[leader].kill9();
    let killed_at = Instant::now();
    for w in writers {
        w.await.expect("writer");
    }
    let first_after = history
        .lock()
        .expect("history")
        .acked_at
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t > killed_at)
        .min()
        .expect("writes resumed after the kill");
    let gap = first_after - killed_at;
    assert!(
        gap < Duration::from_secs(2),
        "first acknowledged write {gap:?} after the kill"
    );
    cluster.servers[leader].restart().await;
    cluster.wait_leader().await;
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    assert_all_acked_present(&cluster, &history).await;
    let h = history.lock().expect("history");
    assert_eq!(
        h.acked.len(),
        1000,
        "every registration was acknowledged after retries: {} unknown",
        h.unknown.len()
    );
}

#[tokio::test]
async fn scenario_2_every_server_killed_and_restarted() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    cluster.wait_leader().await;
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    let writers = spawn_writers(8, 100_000, "s2job", targets.clone(), history.clone());
    wait_acked(&history, 300).await;
    for s in &mut cluster.servers {
        s.kill9();
    }
    targets.lock().expect("targets").clear();
    for w in writers {
        w.await.expect("writer");
    }
    for s in &mut cluster.servers {
        s.launch();
    }
    for s in &cluster.servers {
        s.wait_started().await;
    }
    cluster.wait_leader().await;
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    assert_all_acked_present(&cluster, &history).await;
}

#[tokio::test]
async fn scenario_2_single_server_killed_and_restarted() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut server = Agent::start_tls(dir.path(), "solo", AgentKind::Server, "", &pki).await;
    let history = Arc::new(Mutex::new(History::default()));
    let targets: Targets = Arc::new(Mutex::new(vec![server.api()]));
    let writers = spawn_writers(8, 100_000, "solo", targets.clone(), history.clone());
    wait_acked(&history, 300).await;
    server.kill9();
    targets.lock().expect("targets").clear();
    for w in writers {
        w.await.expect("writer");
    }
    server.restart().await;
    let cluster = Cluster {
        servers: vec![server],
    };
    assert_all_acked_present(&cluster, &history).await;
}

#[tokio::test]
async fn scenario_7_stopped_follower_catches_up_by_snapshot() {
    let dir = nomadish_tests::test_dir();
    let compaction = "server {\n  raft_snapshot_threshold = 64\n  raft_trailing_logs = 16\n}\n";
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, compaction, Some(&pki)).await;
    let (leader, _) = cluster.wait_leader().await;
    let follower = (leader + 1) % 3;
    let before = cluster.servers[follower]
        .api()
        .get_ok("/v1/agent/self")
        .await;
    let follower_log = raft_stat(&before, "last_log_index");
    cluster.servers[follower].kill9();

    let history = Arc::new(Mutex::new(History::default()));
    let targets: Targets = Arc::new(Mutex::new(vec![cluster.servers[leader].api()]));
    for w in spawn_writers(4, 400, "s7job", targets, history.clone()) {
        w.await.expect("writer");
    }
    let stats = cluster.servers[leader].api().get_ok("/v1/agent/self").await;
    let purged = raft_stat(&stats, "purged_index");
    assert!(
        purged > follower_log + 50,
        "the leader compacted past the follower: purged {purged}, follower had {follower_log}"
    );
    cluster.servers[follower].restart().await;
    cluster.wait_converged(Duration::from_secs(10)).await;
    let after = cluster.servers[follower]
        .api()
        .get_ok("/v1/agent/self")
        .await;
    assert!(
        raft_stat(&after, "last_snapshot_index") > follower_log,
        "the follower installed a snapshot: {}",
        after["stats"]["raft"]
    );
    assert_all_acked_present(&cluster, &history).await;
}

#[tokio::test]
async fn scenario_8_server_added_and_leader_removed_while_writing() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let (leader, leader_id) = cluster.wait_leader().await;
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    let writers = spawn_writers(4, 100_000, "s8job", targets.clone(), history.clone());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut apis: Vec<Api> = cluster.servers.iter().map(|s| s.api()).collect();
    wait_acked(&history, 100).await;

    let added = cluster.add_server(dir.path(), "").await;
    apis.push(cluster.servers[added].api());
    let sampler = spawn_leader_sampler(apis, stop.clone());
    targets
        .lock()
        .expect("targets")
        .push(cluster.servers[added].api());
    let api = cluster.servers[added].api();
    wait_until("the new server is a voter", CLUSTER_TIMEOUT, async || {
        let cfg = api.get_ok("/v1/operator/raft/configuration").await;
        let servers = cfg["Servers"].as_array().cloned().unwrap_or_default();
        let voter = servers
            .iter()
            .any(|s| s["Address"] == cluster.servers[added].rpc.as_str() && s["Voter"] == true);
        (servers.len() == 4 && voter).then_some(())
    })
    .await;

    let follower = (leader + 1) % 3;
    let (code, body) = cluster.servers[follower]
        .api()
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/operator/raft/peer?id={leader_id}"),
            Vec::new(),
        )
        .await;
    assert!(code.is_success(), "remove-peer: {body}");
    remove_target(&targets, &cluster.servers[leader].http);
    wait_until(
        "three servers, the old leader gone",
        CLUSTER_TIMEOUT,
        async || {
            let cfg = cluster.servers[follower]
                .api()
                .get_ok("/v1/operator/raft/configuration")
                .await;
            let servers = cfg["Servers"].as_array().cloned().unwrap_or_default();
            let gone = !servers.iter().any(|s| s["ID"] == leader_id.as_str());
            (servers.len() == 3 && gone).then_some(())
        },
    )
    .await;
    cluster.servers[leader].kill9();
    let acked_then = history.lock().expect("history").acked.len();
    wait_acked(&history, acked_then + 100).await;
    targets.lock().expect("targets").clear();
    for w in writers {
        w.await.expect("writer");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = sampler.await.expect("sampler");
    for (term, leaders) in &seen {
        assert!(
            leaders.len() <= 1,
            "two leaders in term {term}: {leaders:?}"
        );
    }
    cluster.wait_leader().await;
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    assert_all_acked_present(&cluster, &history).await;
}

const LOOP_JOB: &str = r#"
job "steady" {
  type = "service"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo tick; sleep 1; done"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

#[tokio::test]
async fn client_keeps_its_task_when_its_server_dies() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    cluster.wait_leader().await;
    let servers: Vec<String> = cluster.servers.iter().map(|s| s.rpc.clone()).collect();
    let _client = Agent::start_tls(dir.path(), "c1", AgentKind::Client(servers), "", &pki).await;
    let api = cluster.servers[1].api();
    wait_until("the client's node ready", CLUSTER_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    let spec = write_file(dir.path(), "steady.hcl", LOOP_JOB);
    let out = nomadish_tests::cli(
        &cluster.servers[1],
        &["job", "run", spec.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let running = wait_until("the task running", CLUSTER_TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/steady/allocations").await;
        allocs
            .as_array()
            .and_then(|a| a.iter().find(|x| x["ClientStatus"] == "running").cloned())
    })
    .await;
    let alloc_id = running["ID"].as_str().expect("id").to_string();
    let started = running["TaskStates"]["t"]["StartedAt"].clone();

    // The client dials the first server in its list first: take that one away.
    cluster.servers[0].kill9();
    let api = cluster.servers[2].api();
    cluster.wait_leader().await;
    // Longer than the heartbeat TTL plus grace (1 s each here): the node must stay ready.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let nodes = api.get_ok("/v1/nodes").await;
    assert_eq!(nodes[0]["Status"], "ready", "{nodes}");
    let alloc = api.get_ok(&format!("/v1/allocation/{alloc_id}")).await;
    assert_eq!(alloc["ClientStatus"], "running", "{alloc}");
    let task = &alloc["TaskStates"]["t"];
    assert_eq!(task["Restarts"], 0, "the task was not restarted: {task}");
    assert_eq!(task["StartedAt"], started, "the same run of the task");
    // Its log still streams, through whichever server the client's tunnel now uses.
    let (code, text) = api
        .get_text(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true"
        ))
        .await;
    assert!(code.is_success() && text.contains("tick"), "{code}: {text}");
}

#[tokio::test]
async fn snapshot_save_wipe_restore_brings_the_jobs_back() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut server = Agent::start_tls(dir.path(), "solo", AgentKind::Server, "", &pki).await;
    let api = server.api();
    for id in ["a", "b", "c"] {
        let (code, body) = api.put_json("/v1/jobs", &empty_job(id)).await;
        assert!(code.is_success(), "{body}");
    }
    let snap = dir.path().join("backup.snap");
    let snap_arg = snap.to_str().expect("utf-8");
    let out = nomadish_tests::cli(&server, &["operator", "snapshot", "save", snap_arg]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inspect = nomadish_tests::cli(&server, &["operator", "snapshot", "inspect", snap_arg]);
    let text = String::from_utf8_lossy(&inspect.stdout).into_owned();
    assert!(text.contains("Index") && text.contains("Jobs"), "{text}");
    let file = std::fs::read(&snap).expect("snapshot file");
    let header: Value =
        serde_json::from_slice(&file[..file.iter().position(|b| *b == b'\n').expect("header")])
            .expect("header JSON");
    assert_eq!(header["Jobs"], 3, "{header}");

    server.kill9();
    std::fs::remove_dir_all(&server.data_dir).expect("wipe");
    std::fs::create_dir_all(&server.data_dir).expect("fresh data dir");
    server.restart().await;
    let api = server.api();
    assert_eq!(api.get_ok("/v1/jobs").await, Value::Array(vec![]), "wiped");
    let (code, body) = api
        .send(
            reqwest::Method::PUT,
            "/v1/operator/snapshot",
            b"garbage\n{}".to_vec(),
        )
        .await;
    assert_eq!(code, reqwest::StatusCode::BAD_REQUEST, "{body}");
    let out = nomadish_tests::cli(&server, &["operator", "snapshot", "restore", snap_arg]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Snapshot Restored"));
    let cluster = Cluster {
        servers: vec![server],
    };
    assert_eq!(cluster.job_ids(0).await, ["a", "b", "c"]);
    // The restored cluster schedules as before.
    let (code, body) = cluster.servers[0]
        .api()
        .put_json("/v1/jobs", &empty_job("d"))
        .await;
    assert!(code.is_success(), "{body}");
    assert_eq!(cluster.job_ids(0).await.len(), 4);
}

#[tokio::test]
async fn leader_that_lost_its_quorum_still_stops_promptly() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let (leader, _) = cluster.wait_leader().await;
    for i in 0..3 {
        if i != leader {
            cluster.servers[i].stop();
        }
    }
    // A write that can never commit keeps a request (and leader work) waiting.
    let api = cluster.servers[leader].api();
    let pending =
        tokio::spawn(async move { api.try_put_json("/v1/jobs", &empty_job("stuck")).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    assert_eq!(cluster.servers[leader].stop(), Some(0), "clean exit");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the leader took {took:?} to stop"
    );
    pending.abort();
}

#[tokio::test]
async fn leadership_moves_to_the_chosen_server_and_members_list_all_three() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let (leader, leader_id) = cluster.wait_leader().await;

    let out = nomadish_tests::cli(&cluster.servers[0], &["server", "members"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    for s in &cluster.servers {
        assert!(
            text.contains(&format!("{}.global", s.name)),
            "{} missing:\n{text}",
            s.name
        );
    }
    assert_eq!(text.matches("alive").count(), 3, "{text}");

    let cfg = cluster.servers[leader]
        .api()
        .get_ok("/v1/operator/raft/configuration")
        .await;
    let target = cfg["Servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["ID"] != leader_id.as_str()))
        .and_then(|s| s["ID"].as_str())
        .expect("a follower")
        .to_string();
    // Asked on a follower, forwarded to the leader.
    let follower = (leader + 1) % 3;
    let out = nomadish_tests::cli(
        &cluster.servers[follower],
        &[
            "operator",
            "raft",
            "transfer-leadership",
            "-peer-id",
            &target,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, now) = cluster.wait_leader().await;
    assert_eq!(now, target, "leadership went to the chosen server");
    let (code, body) = cluster.servers[follower]
        .api()
        .put_json("/v1/jobs", &empty_job("after-transfer"))
        .await;
    assert!(
        code.is_success(),
        "writes work under the new leader: {body}"
    );
}

#[tokio::test]
async fn scenario_6_paused_leader_steps_down_and_loses_nothing() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let (leader, leader_id) = cluster.wait_leader().await;
    let old_term = raft_stat(
        &cluster.servers[leader].api().get_ok("/v1/agent/self").await,
        "term",
    );
    let history = Arc::new(Mutex::new(History::default()));
    let targets = targets_of(&cluster);
    let writers = spawn_writers(4, 100_000, "s6job", targets.clone(), history.clone());
    wait_acked(&history, 100).await;
    // Writers stop using the frozen server, as clients that time out would.
    remove_target(&targets, &cluster.servers[leader].http);
    cluster.servers[leader].pause();
    // Well past the election timeout (at most 400 ms): the others elect a new leader.
    let new_leader = wait_until(
        "a new leader while the old one is frozen",
        CLUSTER_TIMEOUT,
        async || {
            for i in cluster.running() {
                if i == leader {
                    continue;
                }
                let Ok((_, _, cfg)) = cluster.servers[i]
                    .api()
                    .try_get("/v1/operator/raft/configuration?stale")
                    .await
                else {
                    continue;
                };
                let leader_now = cfg["Servers"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["Leader"] == true))
                    .and_then(|s| s["ID"].as_str())
                    .map(str::to_string);
                if let Some(id) = leader_now.filter(|id| *id != leader_id) {
                    return Some(id);
                }
            }
            None
        },
    )
    .await;
    let acked_then = history.lock().expect("history").acked.len();
    wait_acked(&history, acked_then + 100).await;
    assert_ne!(new_leader, leader_id);
    cluster.servers[leader].resume();
    // The old term is over everywhere: the resumed server does not lead in it any more, and
    // whoever leads now (leadership may move again) does so in a later term.
    // Just after SIGCONT the resumed server may still claim the old term's leadership for a
    // moment, until the first answer to its heartbeats tells it of the new term.
    let term_now = wait_until("a leader in a later term", CLUSTER_TIMEOUT, async || {
        let (now, _) = cluster.leader().await?;
        let s = cluster.servers[now]
            .api()
            .try_get("/v1/agent/self")
            .await
            .ok()?;
        let term = raft_stat(&s.2, "term");
        (s.2["stats"]["raft"]["state"] == "Leader" && term > old_term).then_some(term)
    })
    .await;
    assert!(
        term_now > old_term,
        "leader in term {term_now}, old term {old_term}"
    );
    wait_until(
        "the resumed server left the old term",
        CLUSTER_TIMEOUT,
        async || {
            let s = cluster.servers[leader]
                .api()
                .try_get("/v1/agent/self")
                .await
                .ok()?;
            (raft_stat(&s.2, "term") > old_term).then_some(())
        },
    )
    .await;
    targets.lock().expect("targets").clear();
    for w in writers {
        w.await.expect("writer");
    }
    cluster.wait_converged(CLUSTER_TIMEOUT).await;
    assert_all_acked_present(&cluster, &history).await;
}

/// Writers keep sending to every server, the leader among them, while the leadership moves
/// three times: a write that reaches a server just as it stops leading goes on to the new
/// leader, so each one is answered with success on its first try, and each is in the state.
#[tokio::test]
async fn writes_during_leadership_transfers_are_answered_and_kept() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    cluster.wait_leader().await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // (job ID, answer) of every write that was not a success.
    let failed = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..6 {
        let api = cluster.servers[w % 3].api();
        let (stop, failed, acked) = (stop.clone(), failed.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            // Bounded: at most 2,000 writes per writer, and the test stops them sooner.
            for n in 0..2_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let id = format!("moving-{w}-{n}");
                let job = empty_job(&id);
                let put = api.try_put_json("/v1/jobs", &job);
                match tokio::time::timeout(Duration::from_secs(20), put).await {
                    Ok(Ok((code, _))) if code.is_success() => acked.lock().unwrap().push(id),
                    Ok(Ok((code, body))) => {
                        failed.lock().unwrap().push((id, format!("{code}: {body}")))
                    }
                    Ok(Err(e)) => failed.lock().unwrap().push((id, e.to_string())),
                    Err(_) => failed
                        .lock()
                        .unwrap()
                        .push((id, "no answer in 20 s".into())),
                }
            }
        }));
    }
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (leader, leader_id) = cluster.wait_leader().await;
        let (code, body) = cluster.servers[leader]
            .api()
            .put_json("/v1/operator/raft/transfer-leadership", &Value::Null)
            .await;
        assert!(code.is_success(), "transfer {round}: {code} {body}");
        wait_until("the leadership to move", CLUSTER_TIMEOUT, async || {
            cluster.leader().await.filter(|(_, id)| *id != leader_id)
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let failed = failed.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} of {} writes failed during the transfers, first: {:?}",
        failed.len(),
        failed.len() + acked.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(acked.len() >= 30, "only {} writes in the run", acked.len());
    let (leader, _) = cluster.wait_leader().await;
    let jobs = cluster.servers[leader].api().get_ok("/v1/jobs").await;
    let present: std::collections::BTreeSet<&str> = jobs
        .as_array()
        .map(|a| a.iter().filter_map(|j| j["ID"].as_str()).collect())
        .unwrap_or_default();
    let lost: Vec<_> = acked
        .iter()
        .filter(|id| !present.contains(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged but missing: {lost:?}");
}
