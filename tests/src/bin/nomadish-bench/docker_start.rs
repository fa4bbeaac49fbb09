//! `docker-start`: a dev agent with the Docker driver; N times, `nomadish job run -detach`
//! of a Docker task until it is `running`, and side by side `docker run -d` of the same
//! image and command. Reports both medians and their ratio.

use std::process::Command;
use std::time::Instant;

use nomadish_tests::docker::{
    LABEL_NODE_ID, TEST_IMAGE, ensure_test_image, remove_containers_with_label,
};
use nomadish_tests::{Agent, AgentKind, cli, write_file};
use serde_json::{Value, json};

use crate::percentile;
use crate::start_latency::wait_running;

/// Label on the `docker run -d` side's containers, for cleanup.
const BENCH_LABEL: &str = "nomadish-bench";

fn job_spec(i: usize) -> String {
    format!(
        r#"job "dbench-{i}" {{
  type = "batch"
  group "g" {{
    task "t" {{
      driver = "docker"
      config {{
        image   = "{TEST_IMAGE}"
        command = "sleep"
        args    = ["30"]
      }}
      resources {{
        cpu    = 10
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// `docker run -d` of the same image and command; milliseconds until it returns.
fn docker_run() -> f64 {
    let started = Instant::now();
    let out = Command::new("docker")
        .args([
            "run",
            "-d",
            "--label",
            BENCH_LABEL,
            TEST_IMAGE,
            "sleep",
            "30",
        ])
        .output()
        .expect("run docker");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        out.status.success(),
        "docker run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ms
}

fn remove_bench_containers() {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker ps -aq --filter label={BENCH_LABEL} | xargs -r docker rm -f"
        ))
        .output();
}

/// Runs the scenario; returns the markdown table and the JSON result.
pub async fn run(runs: usize) -> (String, Value) {
    ensure_test_image();
    let dir = nomadish_tests::test_dir();
    let plugin = "plugin \"docker\" {\n  config {\n    gc {\n      image = false\n    }\n  }\n}\n";
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, plugin).await;
    let api = agent.api();
    let node_id = api.get_ok("/v1/nodes").await[0]["ID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut jobs = Vec::with_capacity(runs);
    let mut plain = Vec::with_capacity(runs);
    for i in 0..runs {
        let spec = write_file(dir.path(), &format!("dbench-{i}.hcl"), &job_spec(i));
        let started = Instant::now();
        let out = cli(
            &agent,
            &["job", "run", "-detach", spec.to_str().expect("utf-8")],
        );
        assert!(
            out.status.success(),
            "job run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            wait_running(&api, &format!("dbench-{i}")).await,
            "dbench-{i} never ran"
        );
        jobs.push(started.elapsed().as_secs_f64() * 1000.0);
        plain.push(docker_run());
        let _ = cli(
            &agent,
            &["job", "stop", "-purge", "-detach", &format!("dbench-{i}")],
        );
        remove_bench_containers();
    }
    drop(agent);
    remove_containers_with_label(LABEL_NODE_ID, &node_id);
    remove_bench_containers();
    jobs.sort_by(f64::total_cmp);
    plain.sort_by(f64::total_cmp);
    let job_median = percentile(&jobs, 0.5);
    let docker_median = percentile(&plain, 0.5);
    let ratio = if docker_median > 0.0 {
        job_median / docker_median
    } else {
        0.0
    };
    let result = json!({
        "scenario": "docker-start",
        "runs": runs,
        "cores": crate::cores(),
        "job_run_median_ms": job_median,
        "job_run_p99_ms": percentile(&jobs, 0.99),
        "docker_run_median_ms": docker_median,
        "docker_run_p99_ms": percentile(&plain, 0.99),
        "ratio": ratio,
        "target_ratio": 1.15,
    });
    let table = format!(
        "| scenario | runs | `job run` -> running median ms | `docker run -d` median ms | ratio (target < 1.15) |\n|---|---|---|---|---|\n| docker-start | {runs} | {job_median:.1} | {docker_median:.1} | {ratio:.2}x |"
    );
    (table, result)
}
