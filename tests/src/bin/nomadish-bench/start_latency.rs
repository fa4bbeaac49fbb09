//! `start-latency`: a dev agent; N times, `nomadish job run -detach` of a raw_exec batch job,
//! then the time until its task is `running` (blocking queries on the job's allocations).

use std::time::{Duration, Instant};

use nomadish_tests::{Agent, AgentKind, cli, write_file};
use serde_json::{Value, json};

use crate::percentile;

/// Longest wait for one job's task to start.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

fn job_spec(i: usize) -> String {
    format!(
        r#"job "bench-{i}" {{
  type = "batch"
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["30"]
      }}
      resources {{
        cpu    = 10
        memory = 10
      }}
    }}
  }}
}}
"#
    )
}

/// Waits (blocking queries) until an allocation of `job` has a running task.
pub async fn wait_running(api: &nomadish_tests::Api, job: &str) -> bool {
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut index = 0;
    while Instant::now() < deadline {
        let path = format!("/v1/job/{job}/allocations?index={index}&wait=5s");
        let t = Instant::now();
        let (_, idx, body) = api.get(&path).await;
        if std::env::var_os("BENCH_TRACE").is_some() {
            eprintln!("GET {path} -> {idx} in {:?}", t.elapsed());
        }
        index = idx;
        let running = body.as_array().is_some_and(|allocs| {
            allocs.iter().any(|a| {
                a["TaskStates"]
                    .as_object()
                    .is_some_and(|ts| ts.values().any(|t| t["State"] == "running"))
            })
        });
        if running {
            return true;
        }
    }
    false
}

/// Runs the scenario; returns the markdown table and the JSON result.
pub async fn run(runs: usize) -> (String, Value) {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    let mut totals = Vec::with_capacity(runs);
    let mut cli_times = Vec::with_capacity(runs);
    for i in 0..runs {
        let spec = write_file(dir.path(), &format!("bench-{i}.hcl"), &job_spec(i));
        let started = Instant::now();
        let out = cli(
            &agent,
            &["job", "run", "-detach", spec.to_str().expect("utf-8")],
        );
        let cli_done = started.elapsed();
        assert!(
            out.status.success(),
            "job run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            wait_running(&api, &format!("bench-{i}")).await,
            "bench-{i} never ran"
        );
        totals.push(started.elapsed().as_secs_f64() * 1000.0);
        cli_times.push(cli_done.as_secs_f64() * 1000.0);
        let _ = cli(
            &agent,
            &["job", "stop", "-purge", "-detach", &format!("bench-{i}")],
        );
    }
    totals.sort_by(f64::total_cmp);
    cli_times.sort_by(f64::total_cmp);
    let result = json!({
        "scenario": "start-latency",
        "driver": "raw_exec",
        "runs": runs,
        "cores": crate::cores(),
        "median_ms": percentile(&totals, 0.5),
        "p99_ms": percentile(&totals, 0.99),
        "max_ms": percentile(&totals, 1.0),
        "cli_median_ms": percentile(&cli_times, 0.5),
    });
    let table = format!(
        "| scenario | runs | median ms | p99 ms | max ms | `job run -detach` median ms |\n|---|---|---|---|---|---|\n| start-latency (raw_exec) | {runs} | {:.1} | {:.1} | {:.1} | {:.1} |",
        result["median_ms"].as_f64().unwrap_or_default(),
        result["p99_ms"].as_f64().unwrap_or_default(),
        result["max_ms"].as_f64().unwrap_or_default(),
        result["cli_median_ms"].as_f64().unwrap_or_default(),
    );
    (table, result)
}
