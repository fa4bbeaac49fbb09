//! The job lifecycle with one server and one client process (raw_exec tasks): periodic jobs
//! on their schedule and forced, dispatched jobs with payload and meta, revert and scale, and
//! forced garbage collection.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, CLUSTER_TIMEOUT, Cluster, cli, wait_until, write_file};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Time for a job to be scheduled and its tasks to run.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Time for a periodic job on a two-second schedule to launch two children.
const SCHEDULE_TIMEOUT: Duration = Duration::from_secs(20);

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A server and a client with raw_exec, the client's node ready.
async fn cluster(dir: &std::path::Path) -> (Agent, Agent) {
    let server = Agent::start(dir, "server", AgentKind::Server, "").await;
    let client = Agent::start(dir, "c1", AgentKind::Client(vec![server.rpc.clone()]), "").await;
    let api = server.api();
    wait_until("the client's node is ready", RUN_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    (server, client)
}

fn run_ok(agent: &Agent, args: &[&str]) -> String {
    let out = cli(agent, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The children of `parent` (jobs whose `ParentID` is it).
async fn children(agent: &Agent, parent: &str) -> Vec<Value> {
    let jobs = agent
        .api()
        .get_ok(&format!("/v1/jobs?prefix={parent}/"))
        .await;
    jobs.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|j| j["ParentID"] == parent)
        .collect()
}

/// Waits until `job` has an allocation with this client status; returns it.
async fn wait_alloc(agent: &Agent, job: &str, status: &str) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{}/allocations", job.replace('/', "%2F"));
    wait_until(
        &format!("an allocation of {job} {status}"),
        RUN_TIMEOUT,
        async || {
            let allocs = api.get_ok(&path).await;
            allocs
                .as_array()?
                .iter()
                .find(|a| a["ClientStatus"] == status)
                .cloned()
        },
    )
    .await
}

const PERIODIC: &str = r#"
job "tick" {
  type = "batch"
  periodic {
    crons            = ["*/2 * * * * *"]
    prohibit_overlap = true
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo tick"]
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
async fn periodic_job_runs_on_its_schedule_and_force_runs_it_now() {
    let dir = nomadish_tests::test_dir();
    let (server, _client) = cluster(dir.path()).await;
    // croner takes an optional leading seconds field, so "*/2 * * * * *" fires every 2 s.
    let spec = write_file(dir.path(), "tick.hcl", PERIODIC);
    let out = run_ok(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    assert!(
        out.contains("Approximate next launch time: "),
        "job run of a periodic job says so: {out}"
    );
    let launched = wait_until("two scheduled launches", SCHEDULE_TIMEOUT, async || {
        let kids = children(&server, "tick").await;
        (kids.len() >= 2).then_some(kids)
    })
    .await;
    for child in &launched {
        let id = child["ID"].as_str().expect("id");
        let secs: i64 = id
            .strip_prefix("tick/periodic-")
            .expect("child ID")
            .parse()
            .expect("unix seconds");
        assert_eq!(secs % 2, 0, "launched on the schedule: {id}");
    }
    let first = launched[0]["ID"].as_str().expect("id").to_string();
    wait_alloc(&server, &first, "complete").await;
    let status = run_ok(&server, &["job", "status", "tick"]);
    for want in [
        "Periodic             = true",
        "Next Periodic Launch = ",
        "Previously Launched Jobs",
        "tick/periodic-",
    ] {
        assert!(status.contains(want), "{want:?} in:\n{status}");
    }

    // A periodic job whose schedule is far away runs only when forced.
    let rare = PERIODIC
        .replace("\"tick\"", "\"rare\"")
        .replace("*/2 * * * * *", "0 0 1 1 *");
    let spec = write_file(dir.path(), "rare.hcl", &rare);
    run_ok(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    assert!(children(&server, "rare").await.is_empty());
    let out = run_ok(&server, &["job", "periodic", "force", "-detach", "rare"]);
    assert!(
        out.contains("Force periodic successful") && out.contains("Evaluation ID: "),
        "{out}"
    );
    let kids = children(&server, "rare").await;
    assert_eq!(kids.len(), 1, "{kids:?}");
    let child = kids[0]["ID"].as_str().expect("id").to_string();
    assert!(child.starts_with("rare/periodic-"), "{child}");
    wait_alloc(&server, &child, "complete").await;

    let (code, body) = server
        .api()
        .put_json("/v1/job/rare/periodic/force", &json!({}))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(
        body["EvalID"].as_str().is_some_and(|e| !e.is_empty()) && body["Index"].as_u64() > Some(0),
        "{body}"
    );
    let (code, _) = server
        .api()
        .put_json("/v1/job/nope/periodic/force", &json!({}))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

const PARAMETERIZED: &str = r#"
job "work" {
  type = "batch"
  parameterized {
    payload       = "required"
    meta_required = ["customer"]
    meta_optional = ["tier"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat \"$NOMAD_TASK_DIR/in/payload.txt\"; echo; echo customer=$NOMAD_META_customer"]
      }
      dispatch_payload {
        file = "in/payload.txt"
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
async fn dispatched_job_receives_its_payload_file_and_meta() {
    let dir = nomadish_tests::test_dir();
    let (server, _client) = cluster(dir.path()).await;
    let spec = write_file(dir.path(), "work.hcl", PARAMETERIZED);
    run_ok(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    let payload = write_file(dir.path(), "payload.txt", "hello from the payload");
    let out = run_ok(
        &server,
        &[
            "job",
            "dispatch",
            "-detach",
            "-meta",
            "customer=acme",
            "work",
            payload.to_str().expect("utf-8"),
        ],
    );
    let child = out
        .lines()
        .find_map(|l| l.strip_prefix("Dispatched Job ID = "))
        .expect("dispatched job ID")
        .trim()
        .to_string();
    assert!(child.starts_with("work/dispatch-"), "{child}");
    let alloc = wait_alloc(&server, &child, "complete").await;
    let alloc_id = alloc["ID"].as_str().expect("alloc id");
    let logs = format!("/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true");
    let (code, text) = server.api().get_text(&logs).await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        text.contains("hello from the payload"),
        "payload file: {text}"
    );
    assert!(
        text.contains("customer=acme"),
        "meta in the environment: {text}"
    );

    // Nomad's checks, from the CLI and the API.
    let out = cli(
        &server,
        &["job", "dispatch", "-meta", "customer=acme", "work"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Payload is not provided but required"),
        "{}",
        stderr(&out)
    );
    let body = json!({"Payload": "aGk=", "Meta": {"customer": "a", "zone": "z"}});
    let (code, text) = server.api().put_json("/v1/job/work/dispatch", &body).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        text,
        "Dispatch request included unpermitted metadata keys: [zone]"
    );
    let body = json!({"Payload": "aGk=", "Meta": {"customer": "b"}});
    let (code, resp) = server.api().put_json("/v1/job/work/dispatch", &body).await;
    assert_eq!(code, StatusCode::OK, "{resp}");
    for field in ["DispatchedJobID", "EvalID"] {
        assert!(
            resp[field].as_str().is_some_and(|v| !v.is_empty()),
            "{resp}"
        );
    }
    for field in ["EvalCreateIndex", "JobCreateIndex", "Index"] {
        assert!(resp[field].as_u64() > Some(0), "{resp}");
    }
}

const SERVICE: &str = r#"
job "web" {
  group "g" {
    scaling {
      min = 1
      max = 3
    }
    task "t" {
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

async fn wait_running(agent: &Agent, job: &str, count: usize) {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(
        &format!("{count} running allocations of {job}"),
        RUN_TIMEOUT,
        async || {
            let allocs = api.get_ok(&path).await;
            let live: Vec<&Value> = allocs
                .as_array()?
                .iter()
                .filter(|a| a["DesiredStatus"] == "run")
                .collect();
            (live.len() == count && live.iter().all(|a| a["ClientStatus"] == "running"))
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn scale_and_revert_change_the_running_job() {
    let dir = nomadish_tests::test_dir();
    let (server, _client) = cluster(dir.path()).await;
    let spec = write_file(dir.path(), "web.hcl", SERVICE);
    run_ok(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    wait_running(&server, "web", 1).await;

    run_ok(&server, &["job", "scale", "web", "g", "3"]);
    wait_running(&server, "web", 3).await;
    let scale = server.api().get_ok("/v1/job/web/scale").await;
    assert_eq!(scale["TaskGroups"]["g"]["Desired"], 3, "{scale}");
    let history = run_ok(&server, &["job", "history", "-p", "web"]);
    assert!(
        history.starts_with("Version     = 1\nStable      = "),
        "{history}"
    );
    assert!(
        history.contains("Job.TaskGroups[0].Count: \"1\" => \"3\""),
        "{history}"
    );
    assert!(history.contains("Version     = 0"), "{history}");

    run_ok(&server, &["job", "revert", "web", "0"]);
    wait_running(&server, "web", 1).await;
    let versions = server.api().get_ok("/v1/job/web/versions").await;
    let latest = &versions["Versions"][0];
    assert_eq!(
        (
            latest["Version"].as_u64(),
            latest["TaskGroups"][0]["Count"].as_i64()
        ),
        (Some(2), Some(1))
    );

    let out = cli(&server, &["job", "scale", "web", "g", "4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("group count was greater than scaling policy maximum: 4 > 3"),
        "{}",
        stderr(&out)
    );
    let out = cli(&server, &["job", "scale", "web", "nope", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("task group \"nope\" specified for scaling does not exist in job"),
        "{}",
        stderr(&out)
    );
    let (code, text) = server
        .api()
        .put_json("/v1/job/web/revert", &json!({"JobVersion": 2}))
        .await;
    assert_eq!(
        (code, text),
        (
            StatusCode::BAD_REQUEST,
            json!("can't revert to current version")
        )
    );
    let body = json!({"JobVersion": 0, "EnforcePriorVersion": 1});
    let (code, _) = server.api().put_json("/v1/job/web/revert", &body).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn system_gc_removes_a_stopped_job_with_its_evals_and_allocs() {
    let dir = nomadish_tests::test_dir();
    let (server, _client) = cluster(dir.path()).await;
    let batch = PERIODIC
        .replace("\"tick\"", "\"once\"")
        .replace("  periodic {\n    crons            = [\"*/2 * * * * *\"]\n    prohibit_overlap = true\n  }\n", "");
    let spec = write_file(dir.path(), "once.hcl", &batch);
    run_ok(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    let alloc = wait_alloc(&server, "once", "complete").await;
    let web = write_file(dir.path(), "web.hcl", SERVICE);
    run_ok(&server, &["job", "run", web.to_str().expect("utf-8")]);
    wait_running(&server, "web", 1).await;

    run_ok(&server, &["job", "stop", "once"]);
    let api = server.api();
    wait_until(
        "the stopped job is dead with every evaluation complete",
        RUN_TIMEOUT,
        async || {
            let job = api.get_ok("/v1/job/once").await;
            let evals = api.get_ok("/v1/job/once/evaluations").await;
            let done = evals.as_array()?.iter().all(|e| e["Status"] == "complete");
            (job["Status"] == "dead" && done).then_some(())
        },
    )
    .await;
    run_ok(&server, &["system", "gc"]);
    let (code, _, _) = api.get("/v1/job/once").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "the stopped job is collected");
    let evals = api.get_ok("/v1/evaluations").await;
    assert!(
        evals
            .as_array()
            .expect("evals")
            .iter()
            .all(|e| e["JobID"] != "once"),
        "{evals}"
    );
    let (code, _, _) = api
        .get(&format!(
            "/v1/allocation/{}",
            alloc["ID"].as_str().expect("id")
        ))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "its allocation is collected");
    // The running job is untouched.
    wait_running(&server, "web", 1).await;
    assert_eq!(api.get_ok("/v1/job/web").await["Status"], "running");
    run_ok(&server, &["system", "reconcile", "summaries"]);
}

/// Every periodic child's launch evaluations (`TriggeredBy = periodic-job`), by child ID.
async fn launch_evals(agent: &Agent, parent: &str) -> std::collections::BTreeMap<String, usize> {
    let evals = agent.api().get_ok("/v1/evaluations").await;
    let mut counts = std::collections::BTreeMap::new();
    for e in evals.as_array().cloned().unwrap_or_default() {
        let job = e["JobID"].as_str().unwrap_or_default();
        if e["TriggeredBy"] == "periodic-job" && job.starts_with(&format!("{parent}/periodic-")) {
            *counts.entry(job.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn periodic_schedule_survives_leader_failover_without_repeating_a_launch() {
    let dir = nomadish_tests::test_dir();
    let mut cluster = Cluster::start(dir.path(), 3, "", None).await;
    let (leader, _) = cluster.wait_leader().await;
    // No client: children stay pending, so nothing but the dispatcher creates their evals.
    let every_second = PERIODIC
        .replace("*/2 * * * * *", "* * * * * *")
        .replace("prohibit_overlap = true", "prohibit_overlap = false");
    let spec = write_file(dir.path(), "tick.hcl", &every_second);
    run_ok(
        &cluster.servers[leader],
        &["job", "run", spec.to_str().expect("utf-8")],
    );
    let before = wait_until(
        "two launches by the first leader",
        SCHEDULE_TIMEOUT,
        async || {
            let n = children(&cluster.servers[leader], "tick").await.len();
            (n >= 2).then_some(n)
        },
    )
    .await;
    cluster.servers[leader].kill9();
    let (new_leader, _) = wait_until("a new leader", CLUSTER_TIMEOUT, async || {
        let (i, addr) = cluster.leader().await?;
        (i != leader).then_some((i, addr))
    })
    .await;
    let survivor = &cluster.servers[new_leader];
    wait_until(
        "two more launches by the new leader",
        SCHEDULE_TIMEOUT,
        async || (children(survivor, "tick").await.len() >= before + 2).then_some(()),
    )
    .await;
    let counts = launch_evals(survivor, "tick").await;
    assert!(counts.len() >= before + 2, "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "a launch was repeated: {counts:?}"
    );
}
