//! Write load under faults: writers that register jobs and record what was acknowledged, the
//! checks that every acknowledged write survived, and a sampler of who claims leadership.
//!
//! "Acknowledged" means the API answered success; a write that never got an answer is
//! "unknown" and is counted neither as lost nor as present.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Api, CLUSTER_TIMEOUT, Cluster, empty_job, wait_until};

/// Bound on any one write attempt in the load loops.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a writer keeps retrying one registration (same job, so a retry is idempotent).
const RETRY_FOR: Duration = Duration::from_secs(10);
/// Pause between retries of one registration.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Acknowledged job IDs, and when the first acknowledgement after a fault came.
#[derive(Default)]
pub struct History {
    /// Job IDs whose registration was acknowledged.
    pub acked: BTreeSet<String>,
    /// Job IDs whose registration has no known outcome.
    pub unknown: BTreeSet<String>,
    /// When each acknowledgement came.
    pub acked_at: Vec<(Instant, String)>,
}

/// Where writers send their requests: the APIs of the servers still running.
pub type Targets = Arc<Mutex<Vec<Api>>>;

/// The APIs of the cluster's running servers.
pub fn targets_of(cluster: &Cluster) -> Targets {
    Arc::new(Mutex::new(
        cluster
            .running()
            .iter()
            .map(|i| cluster.servers[*i].api())
            .collect(),
    ))
}

/// `writers` tasks register `prefix-0..prefix-(total-1)` once each, round-robin over `targets`.
pub fn spawn_writers(
    writers: usize,
    total: usize,
    prefix: &str,
    targets: Targets,
    history: Arc<Mutex<History>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    (0..writers)
        .map(|w| {
            let (next, targets, history, prefix) = (
                next.clone(),
                targets.clone(),
                history.clone(),
                prefix.to_string(),
            );
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n >= total {
                        return;
                    }
                    let id = format!("{prefix}-{n}");
                    if targets.lock().expect("targets").is_empty() {
                        return;
                    }
                    let deadline = Instant::now() + RETRY_FOR;
                    let mut attempt = 0;
                    let outcome = loop {
                        let api = {
                            let t = targets.lock().expect("targets");
                            if t.is_empty() {
                                break false;
                            }
                            t[(n + w + attempt) % t.len()].clone()
                        };
                        let body = empty_job(&id);
                        let put = api.try_put_json("/v1/jobs", &body);
                        if let Ok(Ok((code, _))) = tokio::time::timeout(WRITE_TIMEOUT, put).await
                            && code.is_success()
                        {
                            break true;
                        }
                        attempt += 1;
                        if Instant::now() > deadline {
                            break false;
                        }
                        tokio::time::sleep(RETRY_PAUSE).await;
                    };
                    let mut h = history.lock().expect("history");
                    if outcome {
                        h.acked.insert(id.clone());
                        h.acked_at.push((Instant::now(), id));
                    } else {
                        h.unknown.insert(id);
                    }
                }
            })
        })
        .collect()
}

/// Waits until `n` writes are acknowledged.
pub async fn wait_acked(history: &Arc<Mutex<History>>, n: usize) {
    wait_until(
        &format!("{n} acknowledged writes"),
        CLUSTER_TIMEOUT,
        async || (history.lock().expect("history").acked.len() >= n).then_some(()),
    )
    .await;
}

/// Stops writers from using the server at `http`.
pub fn remove_target(targets: &Targets, http: &str) {
    targets
        .lock()
        .expect("targets")
        .retain(|t| t.base() != http);
}

/// Asserts every running server holds every acknowledged job, each once.
pub async fn assert_all_acked_present(cluster: &Cluster, history: &Arc<Mutex<History>>) {
    let acked = history.lock().expect("history").acked.clone();
    for i in cluster.running() {
        let ids = cluster.job_ids(i).await;
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "server s{} lists a job twice",
            i + 1
        );
        let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "server s{} lost {} acknowledged jobs, e.g. {:?}",
            i + 1,
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        );
    }
}

/// A number from `/v1/agent/self`'s raft stats.
pub fn raft_stat(agent_self: &Value, key: &str) -> u64 {
    agent_self["stats"]["raft"][key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Samples each running server's raft state and term until stopped: term -> leaders seen.
pub fn spawn_leader_sampler(
    apis: Vec<Api>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<BTreeMap<u64, BTreeSet<String>>> {
    tokio::spawn(async move {
        let mut seen: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            for api in &apis {
                let http = api.base().to_string();
                let Ok(Ok((code, _, body))) =
                    tokio::time::timeout(Duration::from_millis(500), api.try_get("/v1/agent/self"))
                        .await
                else {
                    continue;
                };
                if code.is_success() && body["stats"]["raft"]["state"] == "Leader" {
                    let term = raft_stat(&body, "term");
                    seen.entry(term).or_default().insert(http);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    })
}
