//! Issue 2's acceptance suite: real agent processes on loopback, driven through the CLI and
//! the HTTP API.

use std::path::PathBuf;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use reqwest::StatusCode;
use serde_json::Value;

const SCHEDULE_TIMEOUT: Duration = Duration::from_secs(30);

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn allocs_with_status(allocs: &Value, status: &str) -> Vec<Value> {
    allocs
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["ClientStatus"] == status)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_allocs(agent: &Agent, job: &str, status: &str, count: usize) -> Vec<Value> {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(
        &format!("{count} {status} allocations of {job}"),
        SCHEDULE_TIMEOUT,
        async || {
            let (code, _, body) = api.get(&path).await;
            let found = allocs_with_status(&body, status);
            (code == StatusCode::OK && found.len() >= count).then_some(found)
        },
    )
    .await
}

#[tokio::test]
async fn batch_job_output_reads_back_through_cli_and_http() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let hello = repo_path("examples/hello.hcl");
    let out = cli(&agent, &["job", "run", hello.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "job run: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("finished with status \"complete\""),
        "{}",
        stdout(&out)
    );

    let done = wait_allocs(&agent, "hello", "complete", 1).await;
    let alloc_id = done[0]["ID"].as_str().expect("alloc id").to_string();

    let out = cli(&agent, &["alloc", "logs", &alloc_id[..8]]);
    assert_eq!(out.status.code(), Some(0), "alloc logs: {}", stderr(&out));
    assert!(
        stdout(&out).contains("Hello from nomadish"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains(&alloc_id),
        "NOMAD_ALLOC_ID interpolated: {}",
        stdout(&out)
    );

    let api = agent.api();
    let plain = format!("/v1/client/fs/logs/{alloc_id}?task=hello&type=stdout&plain=true");
    let (code, text) = api.get_text(&plain).await;
    assert_eq!(code, StatusCode::OK);
    assert!(text.contains("Hello from nomadish"), "{text}");

    let framed = format!("/v1/client/fs/logs/{alloc_id}?task=hello&type=stdout");
    let (code, text) = api.get_text(&framed).await;
    assert_eq!(code, StatusCode::OK);
    let decoded: String = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|f| {
            use base64::Engine;
            let data = f.expect("frame")["Data"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64");
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect();
    assert!(decoded.contains("Hello from nomadish"), "{decoded}");

    let (code, _) = api
        .get_text(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=nope&type=stdout"
        ))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "unknown task");
}

#[tokio::test]
async fn service_job_runs_three_allocations_and_stops() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let web = repo_path("examples/web.hcl");
    let out = cli(&agent, &["job", "run", web.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "job run: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let running = wait_allocs(&agent, "web", "running", 3).await;
    assert_eq!(running.len(), 3);

    let out = cli(&agent, &["job", "status", "web"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = stdout(&out);
    assert!(
        status.contains("Status        = running") || status.contains("running"),
        "{status}"
    );

    let out = cli(&agent, &["job", "stop", "web"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "job stop: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let api = agent.api();
    wait_until(
        "every web allocation stopped",
        SCHEDULE_TIMEOUT,
        async || {
            let body = api.get_ok("/v1/job/web/allocations").await;
            let allocs = body.as_array().cloned().unwrap_or_default();
            let all_stopped = allocs.len() == 3
                && allocs
                    .iter()
                    .all(|a| a["DesiredStatus"] == "stop" && a["ClientStatus"] == "complete");
            all_stopped.then_some(())
        },
    )
    .await;
    let job = api.get_ok("/v1/job/web").await;
    assert_eq!(job["Stop"], true);
    wait_until("job dead", SCHEDULE_TIMEOUT, async || {
        (api.get_ok("/v1/job/web").await["Status"] == "dead").then_some(())
    })
    .await;
}

const LOST_JOB: &str = r#"
job "keeper" {
  type = "service"
  group "g" {
    count = 2
    task "loop" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 1; done"]
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
async fn paused_client_is_marked_down_and_its_allocations_replaced() {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let servers = vec![server.rpc.clone()];
    let c1 = Agent::start(
        dir.path(),
        "client1",
        AgentKind::Client(servers.clone()),
        "",
    )
    .await;
    let c2 = Agent::start(dir.path(), "client2", AgentKind::Client(servers), "").await;
    let api = server.api();
    let nodes = wait_until("two ready nodes", SCHEDULE_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready: Vec<Value> = nodes
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n["Status"] == "ready")
            .collect();
        (ready.len() == 2).then_some(ready)
    })
    .await;
    let node_of = |name: &str| {
        nodes
            .iter()
            .find(|n| n["Name"] == name)
            .and_then(|n| n["ID"].as_str())
            .expect("node registered")
            .to_string()
    };
    let (id1, id2) = (node_of("client1"), node_of("client2"));

    let spec = write_file(dir.path(), "keeper.hcl", LOST_JOB);
    let out = cli(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let running = wait_allocs(&server, "keeper", "running", 2).await;
    let victim_node = running[0]["NodeID"].as_str().expect("node").to_string();
    let (victim, survivor) = if victim_node == id1 {
        (&c1, id2)
    } else {
        (&c2, id1)
    };
    let lost_ids: Vec<String> = running
        .iter()
        .filter(|a| a["NodeID"] == victim_node.as_str())
        .map(|a| a["ID"].as_str().expect("id").to_string())
        .collect();

    victim.pause();
    wait_until("victim node down", SCHEDULE_TIMEOUT, async || {
        (api.get_ok(&format!("/v1/node/{victim_node}")).await["Status"] == "down").then_some(())
    })
    .await;
    wait_until(
        "lost allocations replaced on the other node",
        SCHEDULE_TIMEOUT,
        async || {
            let allocs = api.get_ok("/v1/job/keeper/allocations").await;
            let allocs = allocs.as_array().cloned().unwrap_or_default();
            let lost_marked = lost_ids.iter().all(|id| {
                allocs
                    .iter()
                    .any(|a| a["ID"] == id.as_str() && a["ClientStatus"] == "lost")
            });
            let running_on_survivor = allocs
                .iter()
                .filter(|a| a["ClientStatus"] == "running" && a["NodeID"] == survivor.as_str())
                .count();
            (lost_marked && running_on_survivor == 2).then_some(())
        },
    )
    .await;
    victim.resume();
}

#[tokio::test]
async fn state_survives_kill_9_and_the_cluster_schedules_again() {
    let dir = nomadish_tests::test_dir();
    let mut agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let hello = repo_path("examples/hello.hcl");
    let out = cli(&agent, &["job", "run", hello.to_str().expect("utf-8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    wait_allocs(&agent, "hello", "complete", 1).await;
    let api = agent.api();
    let before_allocs = api.get_ok("/v1/allocations").await;
    let before_evals = api.get_ok("/v1/evaluations").await;
    let before_job = api.get_ok("/v1/job/hello").await;

    agent.kill9();
    agent.restart().await;
    let api = agent.api();
    let ids = |v: &Value| {
        let mut ids: Vec<String> = v
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|x| x["ID"].as_str().unwrap_or_default().to_string())
            .collect();
        ids.sort();
        ids
    };
    let after_job = api.get_ok("/v1/job/hello").await;
    assert_eq!(after_job["Version"], before_job["Version"]);
    assert_eq!(after_job["JobModifyIndex"], before_job["JobModifyIndex"]);
    let after_allocs = api.get_ok("/v1/allocations").await;
    assert_eq!(ids(&after_allocs), ids(&before_allocs));
    let after_evals = api.get_ok("/v1/evaluations").await;
    for id in ids(&before_evals) {
        assert!(ids(&after_evals).contains(&id), "evaluation {id} lost");
    }
    let complete = allocs_with_status(&after_allocs, "complete");
    assert_eq!(
        complete.len(),
        1,
        "the finished batch allocation is not re-run"
    );

    let web = repo_path("examples/web.hcl");
    let out = cli(
        &agent,
        &["job", "run", "-detach", web.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    wait_allocs(&agent, "web", "running", 3).await;
}

/// The broken jobspecs the issue names, with where their error must point.
const BROKEN: &[(&str, &str, &str)] = &[
    ("unknown_block", "6:7", "unknown block \"frobnicate\""),
    ("missing_driver", "3:5", "missing driver"),
    ("negative_count", "3:5", "count can't be negative"),
    ("unterminated_string", "4:16", "unterminated string"),
    ("bad_type", "3:3", "Invalid job type \"nonsense\""),
    ("duplicate_task", "7:10", "redefines \"web\""),
    (
        "memory_lots",
        "8:9",
        "expected a number, got string \"lots\"",
    ),
];

/// Scenario 17 of RELIABILITY.md: each broken jobspec (unknown block, missing driver,
/// negative count, unterminated string, unknown job type, duplicate task, wrong type) is
/// refused by `job run` and `job validate` with `file:line:column:` and what is wrong, and
/// nothing is submitted.
#[tokio::test]
async fn scenario_17_broken_jobspecs_fail_with_file_line_column_and_submit_nothing() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    for (name, position, message) in BROKEN {
        let path = repo_path(&format!("jobspecs/tests/fixtures/broken/{name}.hcl"));
        let path = path.to_str().expect("utf-8");
        for verb in ["run", "validate"] {
            let out = cli(&agent, &["job", verb, path]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "job {verb} {name}: {err}");
            assert!(
                err.contains(&format!("{path}:{position}:")),
                "job {verb} {name}: {err}"
            );
            assert!(err.contains(message), "job {verb} {name}: {err}");
        }
    }
    let jobs = api.get_ok("/v1/jobs").await;
    assert_eq!(jobs, Value::Array(vec![]), "nothing was submitted");
}

#[tokio::test]
async fn api_rejects_bad_input_and_changes_nothing() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    let before = api.index().await;

    let (code, body) = api
        .send(reqwest::Method::PUT, "/v1/jobs", b"{\"Job\": {".to_vec())
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, body) = api
        .send(
            reqwest::Method::PUT,
            "/v1/jobs",
            b"{\"Job\": {\"ID\": 7}}".to_vec(),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = api
        .send(reqwest::Method::PUT, "/v1/jobs", b"{}".to_vec())
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let invalid =
        serde_json::json!({"Job": {"ID": "x", "TaskGroups": [{"Name": "g", "Count": -1}]}});
    let (code, body) = api.put_json("/v1/jobs", &invalid).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");

    let huge = vec![b' '; 11 * 1024 * 1024];
    let (code, _) = api.send(reqwest::Method::PUT, "/v1/jobs", huge).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    // The server closes a connection whose body it refused to read; start a fresh one.
    let api = agent.api();

    for path in [
        "/v1/job/nope",
        "/v1/job/nope/summary",
        "/v1/allocation/00000000-0000-0000-0000-000000000000",
        "/v1/evaluation/00000000-0000-0000-0000-000000000000",
        "/v1/node/00000000-0000-0000-0000-000000000000",
    ] {
        let (code, _, _) = api.get(path).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
    }
    let (code, _) = api
        .send(reqwest::Method::DELETE, "/v1/job/nope", Vec::new())
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    assert_eq!(
        api.index().await,
        before,
        "no rejected request changed the state"
    );
    assert_eq!(api.get_ok("/v1/jobs").await, Value::Array(vec![]));
    assert_eq!(api.get_ok("/v1/evaluations").await, Value::Array(vec![]));
}
