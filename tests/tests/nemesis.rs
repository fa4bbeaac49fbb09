//! A seeded nemesis run: partitions, kills, pauses, one-way cuts, slow links and clients cut
//! off (tests/src/nemesis.rs) against three servers and two clients behind the fault network,
//! under a mixed load (tests/src/workload.rs: job registrations, variables written once, and
//! read/write/check-and-set on shared variables); then everything heals and every promise is
//! checked: acknowledged writes present once, the shared variables' history linearizable,
//! equal digests, and each service running exactly its count, one process per task.
//!
//! CI runs 90 s. The full run: `NOMADISH_NEMESIS_SECS=1200 cargo test -p nomadish-tests
//! --test nemesis -- --nocapture`; replay a run with `NOMADISH_NEMESIS_SEED=<printed seed>`.

use std::time::{Duration, Instant};

use nomadish_tests::faults::Net;
use nomadish_tests::history::History;
use nomadish_tests::linearizable::Limits;
use nomadish_tests::nemesis::{Schedule, run, seed_from_env};
use nomadish_tests::sshd::pids_matching;
use nomadish_tests::workload::{self, Config};
use nomadish_tests::{Api, Cluster, Pki, marked_sleep_job, write_file};

/// How long everything may take to settle after the last heal.
const SETTLE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nemesis_run_loses_no_acked_write_and_runs_no_task_twice() {
    let secs: u64 = std::env::var("NOMADISH_NEMESIS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(90);
    let seed = seed_from_env();
    let schedule = Schedule::generate(seed, Duration::from_secs(secs), 3, 2);
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let net = Net::new();
    let mut cluster = Cluster::start_behind(dir.path(), 3, "", Some(&pki), &net).await;
    cluster.wait_leader().await;
    let clients = [
        cluster.client_behind(dir.path(), "c1", "", &net).await,
        cluster.client_behind(dir.path(), "c2", "", &net).await,
    ];
    let client_names: Vec<String> = clients.iter().map(|c| c.name.clone()).collect();
    cluster.wait_ready_nodes(2).await;
    // Services with real tasks: each must end with exactly its count running, once each.
    let services: Vec<(String, u32, String)> = (0..2)
        .map(|i| {
            let id = format!("svc{i}");
            (id, 2, format!("87000.{}{i}", std::process::id()))
        })
        .collect();
    for (id, count, marker) in &services {
        let spec = write_file(
            dir.path(),
            &format!("{id}.hcl"),
            &marked_sleep_job(id, *count, marker),
        );
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
    }

    for step in &schedule.steps {
        eprintln!(
            "  plan {:>6.1}s {} for {:.1}s",
            step.at.as_secs_f64(),
            step.fault,
            step.hold.as_secs_f64()
        );
    }
    let apis: Vec<Api> = cluster.servers.iter().map(|s| s.api()).collect();
    let mut config = Config::new(6, Duration::from_secs(secs));
    config.seed = seed;
    let history = History::new();
    let (_, log) = tokio::join!(
        workload::run(&apis, &config, &history),
        run(&schedule, &mut cluster, &client_names, &net)
    );
    for line in &log {
        eprintln!("  did {line}");
    }
    let healed_at = Instant::now();
    for s in &cluster.servers {
        s.wait_started().await;
    }
    cluster.wait_leader().await;
    let (index, digest) = cluster.wait_converged(SETTLE).await;
    eprintln!(
        "seed {seed}: converged at index {index} ({digest}) {:?} after the last heal",
        healed_at.elapsed()
    );
    let checked = workload::check(
        &cluster.servers[0].api(),
        &config,
        &history,
        Limits::default(),
    )
    .await;
    eprintln!("seed {seed}:\n{checked}");
    assert!(checked.valid(), "seed {seed}: {checked}");
    let api = cluster.servers[0].api();
    for (id, count, marker) in &services {
        // Polled by hand so that a failure shows what was running where.
        let deadline = Instant::now() + SETTLE;
        loop {
            let allocs = api.get_ok(&format!("/v1/job/{id}/allocations")).await;
            let list = allocs.as_array().cloned().unwrap_or_default();
            let running = list
                .iter()
                .filter(|a| a["ClientStatus"] == "running")
                .count();
            let tasks = pids_matching(marker);
            if running == *count as usize && tasks.len() == *count as usize {
                break;
            }
            if Instant::now() > deadline {
                let summary: Vec<String> = list
                    .iter()
                    .map(|a| {
                        format!(
                            "{} node {} desired {} client {}",
                            a["ID"].as_str().unwrap_or("?"),
                            a["NodeName"].as_str().unwrap_or("?"),
                            a["DesiredStatus"].as_str().unwrap_or("?"),
                            a["ClientStatus"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                panic!(
                    "seed {seed}: {id} did not settle in {SETTLE:?} at {count} running with one task each: {running} running, task processes {tasks:?}; allocations:\n  {}",
                    summary.join("\n  ")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (ok, failed, unknown) = checked.outcomes;
    eprintln!(
        "seed {seed}: {} steps; {ok} operations ok, {failed} failed, {unknown} unknown",
        schedule.steps.len()
    );
    assert!(checked.jobs.ok > 0 && checked.vars.ok > 0, "{checked}");
}
