//! `consensus`: the same write load against nomadish and etcd, side by side in one run.
//!
//! ```text
//!   nomadish: 3 servers, TLS on RPC and HTTPS (no client certificate asked: wrk cannot
//!             present one), PUT /v1/var/bench/<t>/<n> of a 1 KiB item
//!   etcd:     3 members (Debian's etcd-server, defaults: fsync on, no TLS),
//!             POST <gateway>/kv/put of a 1 KiB value
//!   for each writer count W, each entry point (a follower, the leader), each trial:
//!             wrk -c W -d S against nomadish, then against etcd (interleaved, so both see
//!             the same background load)
//! ```
//!
//! Both systems flush their log to disk before acknowledging (nomadish: sled's flush per
//! raft append; etcd: fsync of its WAL).

use std::time::Duration;

use nomadish_tests::{Api, Cluster, Pki, test_dir};
use serde_json::{Value, json};

use crate::etcd::Etcd;
use crate::wrk::{self, Target, WrkResult};

/// Longest wait for the first variable write (the keyring is made after the election).
const FIRST_WRITE_LIMIT: Duration = Duration::from_secs(30);

/// Options of the scenario.
#[derive(Debug, Clone)]
pub struct ConsensusOptions {
    pub writers: Vec<usize>,
    pub seconds: u64,
    pub trials: usize,
    /// The servers' `raft_snapshot_threshold` (their default, 8,192, when `None`).
    pub snapshot_threshold: Option<u64>,
}

/// Exits with a message naming the Debian packages when etcd or wrk is missing.
fn require_tools() {
    let mut missing = Vec::new();
    if crate::etcd::version().is_none() {
        missing.push("etcd-server (the `etcd` binary)");
    }
    if !wrk::available() {
        missing.push("wrk");
    }
    if !missing.is_empty() {
        eprintln!(
            "consensus needs {}: apt-get install etcd-server wrk",
            missing.join(" and ")
        );
        std::process::exit(1);
    }
}

/// Waits until a variable write through `api` succeeds.
async fn first_write(api: &Api) {
    let body = json!({"Items": {"v": "warm-up"}});
    nomadish_tests::wait_until("a variable write", FIRST_WRITE_LIMIT, async || {
        match api.try_put_json("/v1/var/bench/warm-up", &body).await {
            Ok((code, _)) if code.is_success() => Some(()),
            _ => None,
        }
    })
    .await;
}

/// The median trial by writes per second.
fn median_trial(mut trials: Vec<WrkResult>) -> WrkResult {
    trials.sort_by(|a, b| a.writes_per_sec().total_cmp(&b.writes_per_sec()));
    trials.get(trials.len() / 2).cloned().unwrap_or_default()
}

/// One measured cell (nomadish and etcd alternate): entry point, writers, result.
struct Cell {
    via: &'static str,
    writers: usize,
    result: WrkResult,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Runs the scenario.
pub async fn run(opts: ConsensusOptions) -> (String, Value) {
    require_tools();
    let dir = test_dir();
    let pki = Pki::create(dir.path());
    let extra = opts
        .snapshot_threshold
        .map(|n| format!("server {{\n  raft_snapshot_threshold = {n}\n}}\n"))
        .unwrap_or_default();
    let cluster = Cluster::start_edited(dir.path(), 3, &extra, Some(&pki), |t| {
        t.replace("verify_https_client = true", "verify_https_client = false")
    })
    .await;
    let (leader, _) = cluster.wait_leader().await;
    let follower = (leader + 1) % cluster.servers.len();
    first_write(&cluster.servers[follower].api()).await;
    let etcd = Etcd::start(dir.path(), 3).await.expect("etcd cluster");
    let etcd_leader = etcd.wait_leader().await.expect("etcd leader");
    let etcd_follower = (etcd_leader + 1) % 3;
    let etcd_target = Target::Etcd {
        gateway: etcd.gateway.clone(),
    };

    let mut cells = Vec::new();
    for &w in &opts.writers {
        for (via, n, e) in [
            ("follower", follower, etcd_follower),
            ("leader", leader, etcd_leader),
        ] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..opts.trials.max(1) {
                let url = &cluster.servers[n].http;
                ours.push(measure(dir.path(), &Target::Nomadish, url, w, opts.seconds).await);
                let url = etcd.url(e);
                theirs.push(measure(dir.path(), &etcd_target, url, w, opts.seconds).await);
            }
            for trials in [ours, theirs] {
                let result = median_trial(trials);
                cells.push(Cell {
                    via,
                    writers: w,
                    result,
                });
            }
        }
    }
    report(&opts, &cells, &etcd)
}

async fn measure(dir: &std::path::Path, target: &Target, url: &str, w: usize, s: u64) -> WrkResult {
    let result = wrk::run(dir, target, url, w, s).await.expect("wrk run");
    eprintln!(
        "{} {url} x{w}: {:.0} writes/s, p50 {:.1} ms, p99 {:.1} ms, {} errors ({} status >= 400, {} timeouts)",
        match target {
            Target::Nomadish => "nomadish",
            Target::Etcd { .. } => "etcd",
        },
        result.writes_per_sec(),
        result.p50_ms,
        result.p99_ms,
        result.errors,
        result.status_errors,
        result.timeouts,
    );
    result
}

fn report(opts: &ConsensusOptions, cells: &[Cell], etcd: &Etcd) -> (String, Value) {
    let mut table = String::from(
        "| writers | via | nomadish writes/s | etcd writes/s | ratio | nomadish p50 / p99 ms | etcd p50 / p99 ms | p99 ratio | errors (n / e) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut rows = Vec::new();
    for pair in cells.chunks(2) {
        let [ours, theirs] = pair else { continue };
        let (a, b) = (&ours.result, &theirs.result);
        let (rate, p99) = (
            ratio(a.writes_per_sec(), b.writes_per_sec()),
            ratio(a.p99_ms, b.p99_ms),
        );
        table.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {rate:.2} | {:.1} / {:.1} | {:.1} / {:.1} | {p99:.2} | {} / {} |\n",
            ours.writers,
            ours.via,
            a.writes_per_sec(),
            b.writes_per_sec(),
            a.p50_ms,
            a.p99_ms,
            b.p50_ms,
            b.p99_ms,
            a.errors,
            b.errors,
        ));
        rows.push(json!({
            "writers": ours.writers,
            "via": ours.via,
            "nomadish": a.json(),
            "etcd": b.json(),
            "writes_ratio": rate,
            "p99_ratio": p99,
        }));
    }
    table.push_str(&format!(
        "\nnomadish: 3 servers, TLS on RPC and HTTPS (HTTPS client certificates not required: \
         wrk cannot present one), `PUT /v1/var/<path>` of a 1 KiB item. etcd: {} (Debian), \
         3 members, no TLS, `POST {}/kv/put` of 1 KiB through its JSON gateway. Both flush \
         before acknowledging. Load: wrk, a new key per request, {} s per cell, median of {} \
         trial(s); {} cores, shared by servers and load generator.",
        etcd.version,
        etcd.gateway,
        opts.seconds,
        opts.trials.max(1),
        crate::cores(),
    ));
    if let Some(n) = opts.snapshot_threshold {
        table.push_str(&format!(
            " nomadish servers with `raft_snapshot_threshold = {n}`."
        ));
    }
    let result = json!({
        "scenario": "consensus",
        "servers": 3,
        "nomadish_tls": "rpc and https, no client certificate",
        "nomadish_write": "PUT /v1/var/bench/<t>/<n>, one 1 KiB item",
        "etcd_version": etcd.version,
        "etcd_gateway": etcd.gateway,
        "etcd_write": "POST kv/put, 1 KiB value, no TLS",
        "load_generator": "wrk",
        "seconds": opts.seconds,
        "trials": opts.trials.max(1),
        "raft_snapshot_threshold": opts.snapshot_threshold,
        "cores": crate::cores(),
        "rows": rows,
    });
    (table, result)
}
