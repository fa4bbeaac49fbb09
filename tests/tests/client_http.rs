//! A client-only agent's own HTTP listener, with real agent processes: `/live` answers at
//! once; `/ready` turns 200 once the node is registered; after raw_exec tasks ran there,
//! `/v1/metrics?format=prometheus` parses and counts task starts and failures by driver;
//! other API paths get a 501 naming the servers; when the server is killed, `/health` and
//! `/ready` fail within a bounded time, and recover when it comes back. With TLS, the
//! listener speaks HTTPS with the server's settings and refuses plain HTTP.

use std::time::{Duration, Instant};

use nomadish_tests::{Agent, AgentKind, Api, Pki, wait_until};
use prometheus_parse::{Scrape, Value as Prom};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Bound on every wait for a job, a registration or a probe change.
const WAIT: Duration = Duration::from_secs(60);

fn job(id: &str, kind: &str, script: &str) -> Value {
    json!({
        "ID": id,
        "Name": id,
        "Type": kind,
        "Datacenters": ["*"],
        "TaskGroups": [{
            "Name": "g",
            "Count": 1,
            "RestartPolicy": {"Attempts": 0, "Mode": "fail", "Interval": 60_000_000_000u64, "Delay": 1_000_000_000u64},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Tasks": [{
                "Name": "t",
                "Driver": "raw_exec",
                "Config": {"command": "/bin/sh", "args": ["-c", script]},
                "Resources": {"CPU": 20, "MemoryMB": 16},
            }],
        }],
    })
}

async fn scrape(api: &Api) -> Scrape {
    let (status, text) = api.get_text("/v1/metrics?format=prometheus").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("prometheus text parses")
}

/// The value of a counter or gauge with these labels, if the scrape has it.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            Prom::Counter(v) | Prom::Gauge(v) | Prom::Untyped(v) => Some(v),
            _ => None,
        })
}

/// Waits until `path` answers `code`; returns the body and how long it took.
async fn wait_status(api: &Api, path: &str, code: StatusCode) -> (Value, Duration) {
    let started = Instant::now();
    let body = wait_until(&format!("{path} answering {code}"), WAIT, async || {
        let (status, _, body) = api.try_get(path).await.ok()?;
        if status == code {
            return Some(body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        None
    })
    .await;
    (body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_only_agent_serves_probes_and_metrics() {
    let dir = nomadish_tests::test_dir();
    let mut server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let kind = AgentKind::Client(vec![server.rpc.clone()]);
    let client = Agent::start(dir.path(), "client", kind, "").await;
    let (api, capi) = (server.api(), client.api());

    let (status, _, body) = capi.get("/live").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (ready, took) = wait_status(&capi, "/ready", StatusCode::OK).await;
    println!("client /ready 200 {took:?} after /live: {ready}");
    let (status, _, health) = capi.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health, json!({"client": {"ok": true, "message": "ok"}}));
    assert_eq!(capi.get("/v1/agent/health").await.2, health);

    // The node the client says it is, is the one the server knows.
    let me = capi.get_ok("/v1/agent/self").await;
    assert_eq!(me["config"]["Client"]["Enabled"], true);
    assert_eq!(me["member"]["Tags"]["role"], "client");
    let node_id = me["stats"]["client"]["node_id"].as_str().expect("node_id");
    let node = api.get_ok(&format!("/v1/node/{node_id}")).await;
    assert_eq!(node["Status"], "ready");
    assert_eq!(node["HTTPAddr"], client.http.trim_start_matches("http://"));

    // Anything else: 501 with where to go instead.
    let (status, text) = capi.get_text("/v1/jobs").await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(text.contains("not served by a client-only agent"), "{text}");
    assert!(text.contains(&server.rpc), "{text}");

    // A task that runs and one that fails, both on this client.
    let running = job("steady", "service", "sleep 300");
    let failing = job("broken", "batch", "exit 3");
    for j in [&running, &failing] {
        let (status, body) = api.put_json("/v1/jobs", &json!({ "Job": j })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let raw_exec = [("driver", "raw_exec")];
    let failed = [("driver", "raw_exec"), ("reason", "exit")];
    let metrics = wait_until("task start, failure and running gauges", WAIT, async || {
        let s = scrape(&capi).await;
        let started = value(&s, "nomad_client_allocs_start", &raw_exec)?;
        let failures = value(&s, "nomad_client_allocs_failed", &failed)?;
        let running = value(&s, "nomad_client_allocations_running", &[])?;
        if started >= 2.0 && failures >= 1.0 && running >= 1.0 {
            return Some(s);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        None
    })
    .await;
    assert!(value(&metrics, "nomad_client_uptime", &[]).is_some());
    assert!(value(&metrics, "nomad_client_heartbeat_rtt_count", &[]).is_some_and(|n| n >= 1.0));
    let probe = [("method", "GET"), ("route", "/ready")];
    assert!(value(&metrics, "nomad_http_request_count", &probe).is_some_and(|n| n >= 1.0));
    let json = capi.get_ok("/v1/metrics").await;
    assert!(
        json["Counters"]
            .as_array()
            .is_some_and(|c| { c.iter().any(|m| m["Name"] == "nomad.client.allocs.start") })
    );

    // The server dies: both probes fail, within a bound.
    server.kill9();
    let (health, took) = wait_status(&capi, "/health", StatusCode::INTERNAL_SERVER_ERROR).await;
    println!("client /health 500 {took:?} after the server was killed: {health}");
    assert_eq!(health["client"]["ok"], false);
    let (ready, _) = wait_status(&capi, "/ready", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(ready["Status"], "unavailable");
    assert!(ready["Message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(capi.get("/live").await.0, StatusCode::OK);

    // It comes back: so does readiness.
    server.restart().await;
    let (_, took) = wait_status(&capi, "/ready", StatusCode::OK).await;
    println!("client /ready 200 again {took:?} after the server restarted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_only_agent_serves_https_with_the_agent_tls_settings() {
    let dir = nomadish_tests::test_dir();
    let pki = Pki::create(dir.path());
    let server = Agent::start_tls(dir.path(), "server", AgentKind::Server, "", &pki).await;
    let kind = AgentKind::Client(vec![server.rpc.clone()]);
    let client = Agent::start_tls(dir.path(), "client", kind, "", &pki).await;
    assert!(client.http.starts_with("https://"));
    let capi = client.api();
    wait_status(&capi, "/ready", StatusCode::OK).await;
    let scrape = scrape(&capi).await;
    assert!(value(&scrape, "nomad_client_uptime", &[]).is_some());

    // Plain HTTP to the same port gets no answer.
    let plain = client.http.replacen("https://", "http://", 1);
    let refused = Api::new(&plain).try_get("/live").await;
    assert!(
        refused.is_err() || refused.as_ref().is_ok_and(|r| r.0 != StatusCode::OK),
        "plain HTTP was answered: {refused:?}"
    );
    // And HTTPS without a client certificate is refused (verify_https_client = true).
    let anonymous = Pki::http_client(&nomadish_proto::tls::CliTlsConfig {
        ca_cert: Some(pki.ca()),
        ..Default::default()
    });
    let result = Api::with_client(&client.http, anonymous)
        .try_get("/live")
        .await;
    assert!(
        result.is_err(),
        "answered without a client certificate: {result:?}"
    );
}
