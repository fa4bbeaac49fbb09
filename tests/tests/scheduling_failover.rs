//! Scheduling across a leader failover (scenarios 10 and 13 of RELIABILITY.md): three
//! server processes, simulated client nodes of fixed capacity (`nomadish_tests::sim`,
//! registered through a follower, which forwards to whoever leads), many concurrent job
//! registrations, and the leader killed with `kill -9` in the middle of them.
//!
//! ```text
//!   writers (50 at once) ──PUT /v1/jobs──> s1 s2 s3 ──(leader kill -9 after N acks)
//!   sim nodes ──gRPC──> a follower ──forwards──> the leader
//!   then: every evaluation settles; check capacity per node, placement or a blocked
//!   evaluation per job, and the end state of every evaluation outstanding at the kill
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nomadish_proto::model::{Allocation, Evaluation, Node};
use nomadish_tests::sim::{SimNodeSpec, Simulator};
use nomadish_tests::{Agent, AgentKind, Api, CLUSTER_TIMEOUT, Cluster, free_port, wait_until};
use serde_json::{Value, json};

/// Concurrent registrations.
const WRITERS: usize = 50;
/// Bound on one registration attempt.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a writer retries one registration (through the failover).
const RETRY_FOR: Duration = Duration::from_secs(60);
/// Pause between retries.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Bound on every evaluation settling after the failover.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Three servers with Nomad's heartbeat grace (10 s) instead of the harness's 1 s, so that
/// simulated nodes are not declared down while their heartbeats wait out the election.
async fn start_cluster(dir: &std::path::Path) -> Cluster {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let join: Vec<String> = ports
        .iter()
        .map(|(_, rpc)| format!("127.0.0.1:{rpc}"))
        .collect();
    let mut servers = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let kind = AgentKind::ClusterServer {
            expect: 3,
            join: join.clone(),
        };
        let mut agent = Agent::prepare(dir, &format!("s{}", i + 1), kind, "", *p, None);
        agent.edit_config(|text| {
            text.replace("heartbeat_grace = \"1s\"", "heartbeat_grace = \"10s\"")
        });
        agent.launch();
        servers.push(agent);
    }
    for s in &servers {
        s.wait_started().await;
    }
    let cluster = Cluster { servers };
    cluster.wait_leader().await;
    cluster
}

/// A service job of `count` allocations of 100 MHz and 128 MB each.
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

/// What the registrations saw.
#[derive(Default)]
struct Registrations {
    /// Job ID -> the evaluation ID of its acknowledged registration.
    acked: BTreeMap<String, String>,
    /// Jobs never acknowledged (outcome unknown).
    unknown: BTreeSet<String>,
}

/// The outcome of [`register_with_failover`].
struct Failover {
    registrations: Registrations,
    /// Evaluations a surviving server held as pending right after the kill.
    outstanding: BTreeSet<String>,
}

/// Registers `jobs` with [`WRITERS`] concurrent writers over the running servers and kills
/// the leader with `kill -9` once `kill_after` registrations are acknowledged.
async fn register_with_failover(
    cluster: &mut Cluster,
    jobs: Vec<(String, Value)>,
    kill_after: usize,
) -> Failover {
    let targets: Arc<Mutex<Vec<Api>>> =
        Arc::new(Mutex::new(cluster.servers.iter().map(Agent::api).collect()));
    let queue = Arc::new(Mutex::new(jobs));
    let regs = Arc::new(Mutex::new(Registrations::default()));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (targets, queue, regs) = (targets.clone(), queue.clone(), regs.clone());
        writers.spawn(async move {
            loop {
                let Some((id, body)) = queue.lock().expect("queue").pop() else {
                    return;
                };
                let deadline = Instant::now() + RETRY_FOR;
                let mut attempt = w;
                let eval = loop {
                    let api = {
                        let t = targets.lock().expect("targets");
                        t[attempt % t.len()].clone()
                    };
                    attempt += 1;
                    let put = api.try_put_json("/v1/jobs", &body);
                    if let Ok(Ok((code, reply))) = tokio::time::timeout(WRITE_TIMEOUT, put).await
                        && code.is_success()
                    {
                        break reply["EvalID"].as_str().map(str::to_string);
                    }
                    if Instant::now() > deadline {
                        break None;
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                };
                let mut r = regs.lock().expect("registrations");
                match eval {
                    Some(eval) => {
                        r.acked.insert(id, eval);
                    }
                    None => {
                        r.unknown.insert(id);
                    }
                }
            }
        });
    }
    wait_until(
        &format!("{kill_after} acknowledged registrations"),
        CLUSTER_TIMEOUT,
        async || (regs.lock().expect("registrations").acked.len() >= kill_after).then_some(()),
    )
    .await;
    let (leader, _) = cluster.wait_leader().await;
    cluster.servers[leader].kill9();
    eprintln!(
        "killed the leader s{} after {} acknowledged registrations",
        leader + 1,
        regs.lock().expect("registrations").acked.len()
    );
    {
        let mut t = targets.lock().expect("targets");
        *t = cluster
            .running()
            .iter()
            .map(|i| cluster.servers[*i].api())
            .collect();
    }
    // What a survivor holds as pending right now: outstanding when the leader died.
    let survivor = cluster.running()[0];
    let evals = evaluations(&cluster.servers[survivor].api(), true).await;
    let outstanding = evals
        .iter()
        .filter(|e| e.status == "pending")
        .map(|e| e.id.clone())
        .collect();
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    let registrations = std::mem::take(&mut *regs.lock().expect("registrations"));
    Failover {
        registrations,
        outstanding,
    }
}

/// Every evaluation a server holds (`stale`: its own state, else the leader's).
async fn evaluations(api: &Api, stale: bool) -> Vec<Evaluation> {
    let path = if stale {
        "/v1/evaluations?stale"
    } else {
        "/v1/evaluations"
    };
    let body = api.get_ok(path).await;
    serde_json::from_value(body).expect("evaluations")
}

/// Waits until no evaluation is pending: each is complete, failed, canceled or blocked.
async fn wait_settled(api: &Api) -> Vec<Evaluation> {
    let started = Instant::now();
    let evals = wait_until("every evaluation settled", SETTLE_TIMEOUT, async || {
        let evals = evaluations(api, false).await;
        evals
            .iter()
            .all(|e| e.terminal() || e.status == "blocked")
            .then_some(evals)
    })
    .await;
    eprintln!(
        "{} evaluations settled {:?} after the registrations",
        evals.len(),
        started.elapsed()
    );
    evals
}

/// The API of a running server.
fn any_api(cluster: &Cluster) -> Api {
    cluster.servers[cluster.running()[0]].api()
}

/// A follower: the server the simulated nodes talk to (it survives the leader's kill).
async fn follower(cluster: &Cluster) -> usize {
    let (leader, _) = cluster.wait_leader().await;
    (0..cluster.servers.len())
        .find(|i| *i != leader)
        .expect("a follower")
}

/// Waits for `n` ready nodes.
async fn wait_nodes(api: &Api, n: usize) {
    wait_until(&format!("{n} ready nodes"), CLUSTER_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready = nodes
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| n["Status"] == "ready").count());
        (ready >= n).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scenario_10_no_overcommit_through_500_registrations_and_a_leader_failover() {
    const NODES: usize = 10;
    const JOBS: usize = 500;
    let started = Instant::now();
    let dir = nomadish_tests::test_dir();
    let mut cluster = start_cluster(dir.path()).await;
    let sim_server = follower(&cluster).await;
    // 1,000 MHz per node: ten allocations each, a hundred in all, for 1,000 asked.
    let spec = SimNodeSpec {
        cpu: 1000,
        memory_mb: 4096,
        disk_mb: 100_000,
    };
    let sim = Simulator::start(&cluster.servers[sim_server].rpc, NODES, spec)
        .await
        .expect("simulated nodes");
    wait_nodes(&any_api(&cluster), NODES).await;

    let jobs: Vec<(String, Value)> = (0..JOBS)
        .map(|i| {
            let id = format!("cap-{i}");
            let body = job(&id, 1 + i % 3);
            (id, body)
        })
        .collect();
    let counts: BTreeMap<String, usize> =
        (0..JOBS).map(|i| (format!("cap-{i}"), 1 + i % 3)).collect();
    let outcome = register_with_failover(&mut cluster, jobs, 150).await;
    let regs = &outcome.registrations;
    assert!(
        regs.unknown.is_empty(),
        "registrations never acknowledged: {:?}",
        regs.unknown
    );
    cluster.wait_leader().await;
    let api = any_api(&cluster);
    let evals = wait_settled(&api).await;

    // No node holds more than it has.
    let nodes = api.get_ok("/v1/nodes").await;
    let ids: Vec<&str> = nodes
        .as_array()
        .expect("node list")
        .iter()
        .filter_map(|n| n["ID"].as_str())
        .collect();
    assert_eq!(ids.len(), NODES);
    let mut live_by_job: BTreeMap<String, usize> = BTreeMap::new();
    let mut placed = 0;
    for id in ids {
        let node: Node =
            serde_json::from_value(api.get_ok(&format!("/v1/node/{id}")).await).expect("node");
        let allocs: Vec<Allocation> = serde_json::from_value(
            api.get_ok(&format!("/v1/node/{}/allocations", node.id))
                .await,
        )
        .expect("allocations");
        let live: Vec<&Allocation> = allocs.iter().filter(|a| !a.terminal()).collect();
        let cpu: i64 = live.iter().map(|a| a.allocated_resources.cpu()).sum();
        let mem: i64 = live.iter().map(|a| a.allocated_resources.memory_mb()).sum();
        let disk: i64 = live.iter().map(|a| a.allocated_resources.disk_mb()).sum();
        assert!(
            cpu <= node.allocatable_cpu()
                && mem <= node.allocatable_memory_mb()
                && disk <= node.allocatable_disk_mb(),
            "node {} overcommitted: cpu {cpu}/{}, memory {mem}/{}, disk {disk}/{} over {} allocations",
            node.name,
            node.allocatable_cpu(),
            node.allocatable_memory_mb(),
            node.allocatable_disk_mb(),
            live.len()
        );
        placed += live.len();
        for a in live {
            *live_by_job.entry(a.job_id.clone()).or_default() += 1;
        }
    }
    assert!(placed > 0, "something was placed");

    // Every job is fully placed, or has a blocked evaluation saying why.
    let mut by_job: BTreeMap<&str, Vec<&Evaluation>> = BTreeMap::new();
    for e in &evals {
        by_job.entry(e.job_id.as_str()).or_default().push(e);
    }
    let mut blocked_jobs = 0;
    for (id, want) in &counts {
        let live = live_by_job.get(id).copied().unwrap_or(0);
        assert!(
            live <= *want,
            "job {id}: {live} allocations for count {want}"
        );
        if live == *want {
            continue;
        }
        let mine = by_job.get(id.as_str()).cloned().unwrap_or_default();
        let blocked = mine
            .iter()
            .find(|e| e.status == "blocked")
            .unwrap_or_else(|| {
                panic!("job {id}: {live} of {want} placed and no blocked evaluation: {mine:?}")
            });
        // The reason: on the blocked evaluation, or on the one that created it.
        let explained = std::iter::once(*blocked)
            .chain(
                mine.iter()
                    .copied()
                    .filter(|e| e.blocked_eval == blocked.id),
            )
            .flat_map(|e| e.failed_tg_allocs.values())
            .any(|m| {
                m.nodes_exhausted > 0
                    || !m.dimension_exhausted.is_empty()
                    || !m.constraint_filtered.is_empty()
                    || !m.quota_exhausted.is_empty()
            });
        assert!(
            explained,
            "job {id}: the blocked evaluation says nothing: {mine:?}"
        );
        blocked_jobs += 1;
    }
    let capacity = NODES * 10;
    assert_eq!(
        placed, capacity,
        "the cluster is full: every node holds exactly its ten allocations"
    );
    // Both surviving servers applied the same entries, scores and all, read back from JSON:
    // they must hold exactly the same state.
    let (index, digest) = cluster.wait_converged(Duration::from_secs(30)).await;
    eprintln!("scenario 10: the servers converged at index {index} ({digest})");
    sim.stop().await;
    eprintln!(
        "scenario 10: {placed} allocations on {NODES} nodes, {blocked_jobs} jobs blocked with a reason, {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scenario_13_evaluations_outstanding_at_the_leaders_death_all_finish() {
    const NODES: usize = 5;
    const JOBS: usize = 300;
    let started = Instant::now();
    let dir = nomadish_tests::test_dir();
    let mut cluster = start_cluster(dir.path()).await;
    let sim_server = follower(&cluster).await;
    let sim = Simulator::start(
        &cluster.servers[sim_server].rpc,
        NODES,
        SimNodeSpec::default(),
    )
    .await
    .expect("simulated nodes");
    wait_nodes(&any_api(&cluster), NODES).await;

    let jobs: Vec<(String, Value)> = (0..JOBS)
        .map(|i| {
            let id = format!("ev-{i}");
            let body = job(&id, 2);
            (id, body)
        })
        .collect();
    let outcome = register_with_failover(&mut cluster, jobs, JOBS / 2).await;
    assert!(
        !outcome.outstanding.is_empty(),
        "no evaluation was outstanding when the leader died: the test proves nothing"
    );
    cluster.wait_leader().await;
    let api = any_api(&cluster);
    let evals = wait_settled(&api).await;
    let status: BTreeMap<&str, &str> = evals
        .iter()
        .map(|e| (e.id.as_str(), e.status.as_str()))
        .collect();
    let finished = |id: &str| matches!(status.get(id), Some(&("complete" | "failed" | "blocked")));
    let unfinished: Vec<(&String, Option<&&str>)> = outcome
        .outstanding
        .iter()
        .chain(outcome.registrations.acked.values())
        .filter(|id| !finished(id))
        .map(|id| (id, status.get(id.as_str())))
        .collect();
    assert!(
        unfinished.is_empty(),
        "{} evaluations did not reach complete, failed or blocked: {:?}",
        unfinished.len(),
        unfinished.iter().take(10).collect::<Vec<_>>()
    );
    sim.stop().await;
    eprintln!(
        "scenario 13: {} evaluations outstanding at the kill, {} registrations acknowledged ({} unknown), all finished; {:?}",
        outcome.outstanding.len(),
        outcome.registrations.acked.len(),
        outcome.registrations.unknown.len(),
        started.elapsed()
    );
}
