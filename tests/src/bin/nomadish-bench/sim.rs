//! `sim`: one server process, N simulated nodes (in this process, over the real gRPC node
//! service), J service jobs of A allocations each registered at once; placements per second
//! and, per job, the time from its registration to all its allocations placed, committed
//! and delivered to their nodes; plus the server's peak RSS.
//!
//! [`place`] and [`wait_nodes`] are shared with `c1m`, which runs the same load against
//! three servers with TLS.

use std::time::{Duration, Instant};

use nomadish_tests::sim::{SimNodeSpec, Simulator};
use nomadish_tests::{Agent, AgentKind, Api, free_port, test_dir};
use serde_json::{Value, json};

use crate::percentile;
use crate::procfs::rss_mb;

/// How often progress is checked (and the server's RSS sampled).
const POLL: Duration = Duration::from_millis(100);
/// Longest wait for the nodes to register, per 1,000 nodes.
const REGISTER_LIMIT_PER_1000: Duration = Duration::from_secs(60);
/// How often a progress line goes to stderr while placing (a run cut off by an outer
/// timeout still shows how far it got).
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// Longest the figures taken after the placement (job summaries, the simulator's stop) may
/// take together: a cluster that stopped answering must not hold the report back.
pub const REPORT_LIMIT: Duration = Duration::from_secs(60);

/// Options of the scenario.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub nodes: usize,
    pub jobs: usize,
    pub allocs: usize,
    /// Overall limit for placing everything.
    pub timeout: Duration,
    /// The servers' `raft_snapshot_threshold` (their default, 8,192, when `None`).
    pub snapshot_threshold: Option<u64>,
}

/// A service job of `count` allocations of 100 MHz / 128 MB each.
pub fn job(id: &str, count: usize) -> Value {
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

/// Waits until `api` lists `n` ready nodes; returns how long that took.
pub async fn wait_nodes(api: &Api, n: usize) -> Duration {
    let started = Instant::now();
    let limit = REGISTER_LIMIT_PER_1000 * (n / 1000 + 1) as u32;
    loop {
        let nodes = api.get_ok("/v1/nodes?stale").await;
        let ready = nodes
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| n["Status"] == "ready").count());
        if ready >= n {
            eprintln!("{n} nodes ready in {:.1}s", started.elapsed().as_secs_f64());
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "only {ready} of {n} nodes ready");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Allocations of jobs `sim-0..jobs` in `api`'s state, from the job summaries:
/// `(all, running, lost)` (lost ones were on nodes marked down and got replaced).
/// `None` when the servers did not answer them all within [`REPORT_LIMIT`].
pub async fn allocs_in_state(api: &Api, jobs: usize) -> Option<(i64, i64, i64)> {
    let started = Instant::now();
    let (mut all, mut running, mut lost) = (0, 0, 0);
    for i in 0..jobs {
        let left = REPORT_LIMIT.checked_sub(started.elapsed())?;
        let path = format!("/v1/job/sim-{i}/summary?stale");
        let summary = tokio::time::timeout(left, api.get_ok(&path)).await.ok()?;
        for group in summary["Summary"].as_object().into_iter().flatten() {
            let n = |k: &str| group.1[k].as_i64().unwrap_or(0);
            running += n("Running");
            lost += n("Lost");
            all += [
                "Complete", "Failed", "Running", "Starting", "Lost", "Unknown",
            ]
            .iter()
            .map(|k| n(k))
            .sum::<i64>();
        }
    }
    Some((all, running, lost))
}

/// What one placement run reached.
#[derive(Debug)]
pub struct Placement {
    /// Allocations delivered to their nodes.
    pub placed: usize,
    /// Allocations whose `running` update the servers committed.
    pub acked: usize,
    /// Allocations asked for.
    pub total: usize,
    /// Whether every allocation was delivered (and acknowledged) within the timeout.
    pub complete: bool,
    /// First registration to the last allocation delivered (and acknowledged), or to the
    /// timeout.
    pub wall_seconds: f64,
    /// Registration -> all of the job's allocations delivered, per complete job, sorted (ms).
    pub latencies: Vec<f64>,
    /// The server's RSS before the first registration and at its peak (MiB).
    pub rss_idle_mb: f64,
    pub rss_peak_mb: f64,
    /// Why each job registration that failed for good failed.
    pub failed_registrations: Vec<String>,
}

impl Placement {
    /// "N of J jobs fully placed", marked when the run timed out.
    pub fn jobs_placed(&self, jobs: usize) -> String {
        let cut = if self.complete { "" } else { " (timed out)" };
        let mut line = format!("{} of {jobs} jobs fully placed{cut}", self.latencies.len());
        if let Some(last) = self.failed_registrations.last() {
            let n = self.failed_registrations.len();
            line.push_str(&format!("; {n} registrations failed (the last: {last})"));
        }
        line
    }

    /// Placements per second over the wall time.
    pub fn rate(&self) -> f64 {
        self.placed as f64 / self.wall_seconds.max(f64::MIN_POSITIVE)
    }

    /// The figures as JSON fields.
    pub fn json(&self) -> Value {
        json!({
            "placed": self.placed,
            "acknowledged": self.acked,
            "total": self.total,
            "complete": self.complete,
            "jobs_fully_placed": self.latencies.len(),
            "wall_seconds": self.wall_seconds,
            "placements_per_second": self.rate(),
            "p50_ms": percentile(&self.latencies, 0.5),
            "p99_ms": percentile(&self.latencies, 0.99),
            "leader_rss_idle_mb": self.rss_idle_mb,
            "leader_rss_peak_mb": self.rss_peak_mb,
            "failed_registrations": self.failed_registrations,
        })
    }

    /// The figures as one markdown table row (after the row's own leading cells).
    pub fn cells(&self) -> String {
        format!(
            "{} of {} ({} acked) | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} / {:.0} |",
            self.placed,
            self.total,
            self.acked,
            self.wall_seconds,
            self.rate(),
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
            self.rss_idle_mb,
            self.rss_peak_mb
        )
    }

    /// The header matching [`Placement::cells`].
    pub const HEADER: &str = "placed | wall (s) | placements/s | p50 reg->placed (ms) | p99 reg->placed (ms) | leader RSS idle / peak (MiB) |";
}

/// Tries per job registration. A registration answered with a 5xx (an election under load,
/// or a forward to the leader that timed out) is sent again, as an API client would: it is the
/// same job, so a second registration of it places nothing more.
const REGISTER_ATTEMPTS: usize = 5;
/// Pause between those tries.
const REGISTER_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Registers one job, again after a 5xx or a connection error; the last failure otherwise.
async fn register(api: &Api, body: &Value) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=REGISTER_ATTEMPTS {
        match api.try_put_json("/v1/jobs", body).await {
            Ok((code, _)) if code.is_success() => return Ok(()),
            Ok((code, reply)) if code.is_server_error() => last = format!("{code}: {reply}"),
            Ok((code, reply)) => return Err(format!("{code}: {reply}")),
            Err(e) => last = e.to_string(),
        }
        eprintln!("job registration, try {attempt} of {REGISTER_ATTEMPTS}, failed: {last}");
        if attempt < REGISTER_ATTEMPTS {
            tokio::time::sleep(REGISTER_RETRY_PAUSE).await;
        }
    }
    Err(last)
}

/// Registers `opts.jobs` jobs of `opts.allocs` at once through `api` and waits until the
/// simulated nodes have them all (and, with `wait_acked`, the servers committed every
/// `running` update), or `opts.timeout`; samples the RSS of `pid` meanwhile.
pub async fn place(
    api: &Api,
    sim: &Simulator,
    pid: i32,
    opts: &SimOptions,
    wait_acked: bool,
) -> Placement {
    let rss_idle_mb = rss_mb(pid);
    let ids: Vec<String> = (0..opts.jobs).map(|i| format!("sim-{i}")).collect();
    let mut submitted = Vec::with_capacity(opts.jobs);
    let start = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for id in &ids {
        let (api, body) = (api.clone(), job(id, opts.allocs));
        submitted.push(Instant::now());
        let limit = opts.timeout;
        writers.spawn(async move { tokio::time::timeout(limit, register(&api, &body)).await });
    }
    // A registration that fails for good is reported with the figures (the run measures
    // what was placed), not turned into a crash: the CI smoke prints figures, it has no
    // thresholds.
    let mut failed_registrations = Vec::new();
    while let Some(ok) = writers.join_next().await {
        match ok.expect("registration task") {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed_registrations.push(e),
            Err(_) => failed_registrations.push(format!("not answered within {:?}", opts.timeout)),
        }
    }
    if let Some(last) = failed_registrations.last() {
        eprintln!(
            "{} of {} job registrations failed; the last: {last}",
            failed_registrations.len(),
            opts.jobs
        );
    }
    let mut rss_peak_mb = rss_mb(pid);
    let total = opts.jobs * opts.allocs;
    let done = || sim.stats.total() >= total && (!wait_acked || sim.stats.acked().0 >= total);
    eprintln!(
        "registered {} jobs in {:.1}s",
        opts.jobs,
        start.elapsed().as_secs_f64()
    );
    let mut next_report = PROGRESS_EVERY;
    while !done() && start.elapsed() < opts.timeout {
        rss_peak_mb = rss_peak_mb.max(rss_mb(pid));
        tokio::time::sleep(POLL).await;
        if start.elapsed() >= next_report {
            next_report += PROGRESS_EVERY;
            eprintln!(
                "{:>4.0}s: {} of {total} delivered, {} acknowledged, server RSS {rss_peak_mb:.0} MB peak",
                start.elapsed().as_secs_f64(),
                sim.stats.total(),
                sim.stats.acked().0,
            );
        }
    }
    rss_peak_mb = rss_peak_mb.max(rss_mb(pid));
    // On timeout the figures cover what was placed, and only complete jobs have latencies.
    let complete = done();
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
    let (acked, last_ack) = sim.stats.acked();
    if wait_acked && let Some(at) = last_ack {
        last = last.max(at);
    }
    latencies.sort_by(f64::total_cmp);
    let wall_seconds = if complete {
        last.duration_since(start).as_secs_f64()
    } else {
        start.elapsed().as_secs_f64()
    };
    Placement {
        placed: sim.stats.total(),
        acked,
        total,
        complete,
        wall_seconds,
        latencies,
        rss_idle_mb,
        rss_peak_mb,
        failed_registrations,
    }
}

/// One server started with Nomad's heartbeat defaults, not the harness's 1 s ones:
/// thousands of nodes on a 2-core machine must not be declared down while a large plan is
/// being applied.
pub async fn nomad_server(dir: &std::path::Path) -> Agent {
    let ports = (free_port(), free_port());
    let mut server = Agent::prepare(dir, "server", AgentKind::Server, "", ports, None);
    server.edit_config(nomad_heartbeats);
    server.restart().await;
    server
}

/// Runs the scenario.
pub async fn run(opts: SimOptions) -> (String, Value) {
    let dir = test_dir();
    let server = nomad_server(dir.path()).await;
    let pid = server.pid().as_raw();
    let sim = Simulator::start(&server.rpc, opts.nodes, SimNodeSpec::default())
        .await
        .expect("simulator");
    let api = server.api();
    let register_time = wait_nodes(&api, opts.nodes).await;
    let placement = place(&api, &sim, pid, &opts, false).await;
    sim.stop().await;
    let table = format!(
        "| nodes | jobs x allocs | {}\n|---|---|---|---|---|---|---|---|\n| {} | {} x {} | {}\n\
         \nnodes registered and ready in {:.1}s; {} cores; {}",
        Placement::HEADER,
        opts.nodes,
        opts.jobs,
        opts.allocs,
        placement.cells(),
        register_time.as_secs_f64(),
        crate::cores(),
        placement.jobs_placed(opts.jobs),
    );
    let mut result = json!({
        "scenario": "sim",
        "nodes": opts.nodes,
        "jobs": opts.jobs,
        "allocs_per_job": opts.allocs,
        "register_seconds": register_time.as_secs_f64(),
        "cores": crate::cores(),
    });
    crate::merge(&mut result, placement.json());
    (table, result)
}

/// A server config with Nomad's heartbeat timing (10 s TTL and grace) instead of the test
/// harness's 1 s.
pub fn nomad_heartbeats(text: &str) -> String {
    text.replace("heartbeat_grace = \"1s\"", "heartbeat_grace = \"10s\"")
        .replace("min_heartbeat_ttl = \"1s\"", "min_heartbeat_ttl = \"10s\"")
}
