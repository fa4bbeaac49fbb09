//! Telemetry and probes with a real dev agent: after a job runs, `/v1/metrics?format=prometheus`
//! parses and holds the raft, FSM, broker, scheduler, plan, HTTP (by route pattern), gRPC, job
//! and client families with plausible values; the JSON form has Nomad's shape; `/live`,
//! `/health` and `/ready` answer 200; a caller's `X-Request-Id` is echoed and shows in the log,
//! and in the leader's log when a follower forwards the write.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, Api, Cluster, empty_job, wait_until};
use prometheus_parse::{Sample, Scrape, Value as Prom};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const JOB: &str = "metrics-svc";
const REQUEST_ID: &str = "metrics-test-request-4242";
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn service_job() -> Value {
    json!({
        "ID": JOB,
        "Name": JOB,
        "Type": "service",
        "Datacenters": ["*"],
        "TaskGroups": [{
            "Name": "web",
            "Count": 1,
            "Tasks": [{
                "Name": "sleep",
                "Driver": "raw_exec",
                "Config": {"command": "/bin/sleep", "args": ["300"]},
                "Resources": {"CPU": 20, "MemoryMB": 16},
            }],
        }],
    })
}

async fn prometheus(api: &Api) -> Scrape {
    let resp = api
        .request(Method::GET, "/v1/metrics?format=prometheus")
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .expect("content type")
        .to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = resp.text().await.expect("body");
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("prometheus text parses")
}

/// The samples of `metric` whose labels include every pair of `labels`.
fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

/// The single value of a counter, gauge or untyped sample.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(scrape, metric, labels);
    let sample = found
        .first()
        .unwrap_or_else(|| panic!("no {metric} {labels:?} in the scrape"));
    match &sample.value {
        Prom::Counter(v) | Prom::Gauge(v) | Prom::Untyped(v) => *v,
        other => panic!("{metric} is not a plain value: {other:?}"),
    }
}

/// How many observations the summary `metric` with `labels` holds.
fn summary_count(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let count = format!("{metric}_count");
    let quantiles = find(scrape, metric, labels);
    assert!(
        quantiles
            .iter()
            .any(|s| matches!(s.value, Prom::Summary(_))),
        "{metric} {labels:?} is not a summary"
    );
    value(scrape, &count, labels)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_probes_and_request_ids_on_a_dev_agent() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "log_level = \"DEBUG\"\n").await;
    let api = agent.api();

    for probe in ["/live", "/health"] {
        let (status, _, body) = api.get(probe).await;
        assert_eq!(status, StatusCode::OK, "{probe}: {body}");
    }
    wait_until("/ready", RUN_TIMEOUT, async || {
        let (status, _, _) = api.get("/ready").await;
        (status == StatusCode::OK).then_some(())
    })
    .await;

    // A job registered with a caller's request ID: the ID comes back and reaches the log.
    let resp = api
        .request(Method::PUT, "/v1/jobs")
        .header("X-Request-Id", REQUEST_ID)
        .json(&json!({ "Job": service_job() }))
        .send()
        .await
        .expect("register");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-request-id"], REQUEST_ID);
    let resp = api
        .request(Method::GET, "/v1/jobs")
        .send()
        .await
        .expect("list");
    let generated = resp.headers()["x-request-id"].to_str().expect("id");
    assert_eq!(generated.len(), 36, "a fresh UUID: {generated}");
    wait_until("the job's allocation running", RUN_TIMEOUT, async || {
        let allocs = api.get_ok(&format!("/v1/job/{JOB}/allocations")).await;
        let running = allocs
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["ClientStatus"] == "running"));
        running.then_some(())
    })
    .await;
    let log = agent.log();
    assert!(
        log.lines()
            .any(|l| l.contains(REQUEST_ID) && l.contains("request complete")),
        "request ID missing from the log"
    );

    let scrape = prometheus(&api).await;
    assert!(value(&scrape, "nomad_raft_apply", &[]) > 0.0);
    assert!(summary_count(&scrape, "nomad_raft_commitTime", &[]) > 0.0);
    assert!(summary_count(&scrape, "nomad_nomad_fsm_register_job", &[]) >= 1.0);
    assert!(value(&scrape, "nomad_raft_state_leader", &[]) >= 1.0);
    assert!(summary_count(&scrape, "nomad_nomad_worker_invoke_scheduler_service", &[]) >= 1.0);
    assert!(summary_count(&scrape, "nomad_nomad_plan_apply", &[]) >= 1.0);
    for gauge in ["total_ready", "total_unacked", "total_blocked"] {
        let v = value(&scrape, &format!("nomad_nomad_broker_{gauge}"), &[]);
        assert!(v >= 0.0, "{gauge} = {v}");
    }
    assert_eq!(value(&scrape, "nomad_nomad_heartbeat_active", &[]), 1.0);
    assert!(value(&scrape, "nomad_nomad_job_status_running", &[]) >= 1.0);
    let running = [("job", JOB), ("task_group", "web")];
    assert_eq!(
        value(&scrape, "nomad_nomad_job_summary_running", &running),
        1.0
    );
    let route = [("method", "PUT"), ("route", "/v1/jobs")];
    assert!(summary_count(&scrape, "nomad_http_request", &route) >= 1.0);
    let by_pattern = [("method", "GET"), ("route", "/v1/job/:id/allocations")];
    assert!(summary_count(&scrape, "nomad_http_request", &by_pattern) >= 1.0);
    assert!(
        find(
            &scrape,
            "nomad_http_request",
            &[("route", "/v1/job/metrics-svc/allocations")]
        )
        .is_empty(),
        "routes are labelled by pattern, not raw path"
    );
    let rpc = [("service", "NodeService"), ("method", "Register")];
    assert!(summary_count(&scrape, "nomad_grpc_request", &rpc) >= 1.0);
    let start = [("driver", "raw_exec")];
    assert!(value(&scrape, "nomad_client_allocs_start", &start) >= 1.0);

    // Nomad's JSON shape.
    let json = api.get_ok("/v1/metrics").await;
    assert!(
        json["Timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with("+0000 UTC"))
    );
    let named = |list: &str, name: &str| -> Value {
        json[list]
            .as_array()
            .and_then(|l| l.iter().find(|m| m["Name"] == name).cloned())
            .unwrap_or_else(|| panic!("{name} missing from {list}"))
    };
    let apply = named("Counters", "nomad.raft.apply");
    assert!(apply["Count"].as_u64().is_some_and(|c| c > 0), "{apply}");
    let commit = named("Samples", "nomad.raft.commitTime");
    for field in [
        "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels",
    ] {
        assert!(!commit[field].is_null(), "{field} missing: {commit}");
    }
    let ready = named("Gauges", "nomad.nomad.broker.total_ready");
    assert!(
        ready["Value"].is_number() && ready["Labels"].is_object(),
        "{ready}"
    );

    let (status, _, _) = api.get("/v1/metrics?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_write_keeps_its_request_id_on_the_leader() {
    const FORWARDED_ID: &str = "forwarded-request-7777";
    let dir = nomadish_tests::test_dir();
    let cluster = Cluster::start(dir.path(), 3, "log_level = \"DEBUG\"\n", None).await;
    let (leader, _) = cluster.wait_leader().await;
    let follower = (0..3).find(|i| *i != leader).expect("a follower");
    let api = cluster.servers[follower].api();
    wait_until("the follower ready", RUN_TIMEOUT, async || {
        let (status, _, _) = api.get("/ready").await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
    let resp = api
        .request(Method::PUT, "/v1/jobs")
        .header("X-Request-Id", FORWARDED_ID)
        .json(&empty_job("forwarded"))
        .send()
        .await
        .expect("register through a follower");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-request-id"], FORWARDED_ID);
    let leader_log = cluster.servers[leader].log();
    assert!(
        leader_log
            .lines()
            .any(|l| l.contains(FORWARDED_ID) && l.contains("forwarded")),
        "the leader's log does not show the forwarded request ID"
    );
}
