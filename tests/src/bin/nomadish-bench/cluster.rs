//! Scenarios on three TLS servers: `failover` and `throughput`.
//!
//! - `failover`: `kill -9` of the leader, then the time until a write through a surviving
//!   server is acknowledged; the killed server is restarted between trials.
//! - `throughput`: N concurrent writers register jobs (count 0, so nothing is placed)
//!   round-robin through all three servers for a fixed time; acknowledged writes per second
//!   and their latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nomadish_tests::{Api, Cluster, Pki, empty_job, test_dir};
use serde_json::{Value, json};

use crate::percentile;

/// Longest one write may take before it counts as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for a write to succeed after the leader died.
const FAILOVER_LIMIT: Duration = Duration::from_secs(30);
/// Pause between write attempts while there is no leader.
const RETRY_PAUSE: Duration = Duration::from_millis(5);

async fn acked(api: &Api, id: &str) -> bool {
    let body = empty_job(id);
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, api.try_put_json("/v1/jobs", &body)).await,
        Ok(Ok((code, _))) if code.is_success()
    )
}

/// `kill -9` of the leader of three, `trials` times: time to the first acknowledged write.
pub async fn failover(trials: usize) -> (String, Value) {
    let dir = test_dir();
    let pki = Pki::create(dir.path());
    let mut cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    let mut samples = Vec::with_capacity(trials);
    for trial in 0..trials {
        let (leader, _) = cluster.wait_leader().await;
        cluster.wait_converged(Duration::from_secs(30)).await;
        let survivors: Vec<Api> = (0..cluster.servers.len())
            .filter(|i| *i != leader)
            .map(|i| cluster.servers[i].api())
            .collect();
        cluster.servers[leader].kill9();
        let killed = Instant::now();
        let mut attempt = 0;
        loop {
            let api = &survivors[attempt % survivors.len()];
            if acked(api, &format!("failover-{trial}-{attempt}")).await {
                break;
            }
            attempt += 1;
            assert!(
                killed.elapsed() < FAILOVER_LIMIT,
                "no write acknowledged after {FAILOVER_LIMIT:?}"
            );
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        samples.push(killed.elapsed().as_secs_f64() * 1000.0);
        cluster.servers[leader].restart().await;
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let result = json!({
        "scenario": "failover",
        "servers": 3,
        "tls": true,
        "trials": trials,
        "cores": crate::cores(),
        "samples_ms": samples,
        "median_ms": percentile(&sorted, 0.5),
        "max_ms": percentile(&sorted, 1.0),
    });
    let table = format!(
        "| scenario | trials | median ms | max ms |\n|---|---|---|---|\n| failover (kill -9 leader of 3, TLS) | {trials} | {:.0} | {:.0} |",
        percentile(&sorted, 0.5),
        percentile(&sorted, 1.0)
    );
    (table, result)
}

/// One concurrency level: acknowledged writes and their latencies (ms).
async fn load(
    apis: &[Api],
    writers: usize,
    seconds: u64,
    prefix: &str,
) -> (usize, usize, Vec<f64>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let apis = Arc::new(apis.to_vec());
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (apis, prefix) = (apis.clone(), prefix.to_string());
            tokio::spawn(async move {
                let (mut latencies, mut failed, mut n) = (Vec::new(), 0usize, 0usize);
                while Instant::now() < deadline {
                    let api = &apis[(w + n) % apis.len()];
                    let started = Instant::now();
                    if acked(api, &format!("{prefix}-{w}-{n}")).await {
                        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failed += 1;
                    }
                    n += 1;
                }
                (latencies, failed)
            })
        })
        .collect();
    let (mut all, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (latencies, f) = t.await.expect("writer");
        all.extend(latencies);
        failed += f;
    }
    all.sort_by(f64::total_cmp);
    (all.len(), failed, all)
}

/// Job registrations per second on three TLS servers at each concurrency.
pub async fn throughput(writers: &[usize], seconds: u64) -> (String, Value) {
    let dir = test_dir();
    let pki = Pki::create(dir.path());
    let cluster = Cluster::start(dir.path(), 3, "", Some(&pki)).await;
    cluster.wait_leader().await;
    let apis: Vec<Api> = cluster.servers.iter().map(|s| s.api()).collect();
    let mut rows = Vec::new();
    let mut table =
        String::from("| writers | writes/s | p50 ms | p99 ms | failed |\n|---|---|---|---|---|\n");
    for &w in writers {
        let (ok, failed, latencies) = load(&apis, w, seconds, &format!("tp{w}")).await;
        let rate = ok as f64 / seconds as f64;
        let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
        table.push_str(&format!(
            "| {w} | {rate:.0} | {p50:.1} | {p99:.1} | {failed} |\n"
        ));
        rows.push(json!({
            "writers": w, "writes_per_sec": rate, "p50_ms": p50, "p99_ms": p99, "failed": failed,
        }));
    }
    let result = json!({
        "scenario": "throughput",
        "servers": 3,
        "tls": true,
        "seconds": seconds,
        "cores": crate::cores(),
        "write": "job registration (count 0) through any server, round-robin",
        "rows": rows,
    });
    (table, result)
}
