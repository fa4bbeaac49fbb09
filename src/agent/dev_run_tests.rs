//! `-run` against a scripted agent API: readiness, registration, monitoring and output
//! following, including a log that is not there yet on the first try.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::*;
use crate::agent::signals::shutdown_channel;
use crate::cli::logs::LogType;
use crate::cli::test_server::{client, serve};

const ALLOC_ID: &str = "a1b2c3d4-0000-0000-0000-000000000001";
const OUTPUT: &str = "hello from nomadish\n";

#[derive(Default)]
struct Fake {
    health_polls: AtomicUsize,
    eval_polls: AtomicUsize,
    stdout_polls: AtomicUsize,
    registered: Mutex<Option<Value>>,
}

async fn health(State(f): State<Arc<Fake>>) -> impl IntoResponse {
    // Not ready on the first two polls, as while the agent starts.
    if f.health_polls.fetch_add(1, Ordering::SeqCst) < 2 {
        return (StatusCode::INTERNAL_SERVER_ERROR, "starting").into_response();
    }
    Json(json!({"server": {"ok": true}, "client": {"ok": true}})).into_response()
}

async fn register_job(State(f): State<Arc<Fake>>, Json(body): Json<Value>) -> Json<Value> {
    *f.registered.lock().unwrap() = Some(body);
    Json(
        json!({"EvalID": "e5f6a7b8-0000-0000-0000-000000000001", "EvalCreateIndex": 10, "JobModifyIndex": 10}),
    )
}

async fn evaluation(State(f): State<Arc<Fake>>, Path(id): Path<String>) -> impl IntoResponse {
    let status = if f.eval_polls.fetch_add(1, Ordering::SeqCst) < 1 {
        "pending"
    } else {
        "complete"
    };
    let headers = [("X-Nomad-Index", "12")];
    let body = json!({"ID": id, "JobID": "hello", "Status": status, "CreateIndex": 10});
    (headers, Json(body))
}

fn alloc_stub(client_status: &str) -> Value {
    json!([{
        "ID": ALLOC_ID, "NodeID": "node-1", "TaskGroup": "g", "DesiredStatus": "run",
        "ClientStatus": client_status, "CreateIndex": 11
    }])
}

async fn logs(
    State(f): State<Arc<Fake>>,
    Path(alloc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(alloc, ALLOC_ID);
    assert_eq!(q.get("task").map(String::as_str), Some("t"));
    assert_eq!(q.get("plain").map(String::as_str), Some("true"));
    if q.get("type").map(String::as_str) == Some("stderr") {
        return (StatusCode::OK, String::new());
    }
    // The task has not written its log yet on the first request.
    if f.stdout_polls.fetch_add(1, Ordering::SeqCst) == 0 {
        return (StatusCode::NOT_FOUND, "log not found".to_string());
    }
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    (
        StatusCode::OK,
        OUTPUT.get(offset..).unwrap_or("").to_string(),
    )
}

fn fake_agent(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/v1/agent/health", get(health))
        .route(
            "/v1/status/leader",
            get(|| async { Json("127.0.0.1:4647") }),
        )
        .route(
            "/v1/nodes",
            get(|| async { Json(json!([{"ID": "node-1", "Status": "ready"}])) }),
        )
        .route("/v1/jobs", put(register_job))
        .route("/v1/evaluation/{id}", get(evaluation))
        .route(
            "/v1/evaluation/{id}/allocations",
            get(|| async { Json(alloc_stub("pending")) }),
        )
        .route(
            "/v1/job/{id}/allocations",
            get(|| async { Json(alloc_stub("complete")) }),
        )
        .route("/v1/client/fs/logs/{alloc}", get(logs))
        .with_state(fake)
}

fn hello_job() -> Job {
    crate::cli::jobspec::parse_json_job(
        r#"{"ID": "hello", "Type": "batch", "TaskGroups": [
            {"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec"}]}]}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn run_registers_monitors_and_prints_the_output_once() {
    let fake = Arc::new(Fake::default());
    let url = serve(fake_agent(Arc::clone(&fake))).await;
    let collected = Arc::new(Mutex::new(Vec::<(LogType, Vec<u8>)>::new()));
    let sink_store = Arc::clone(&collected);
    let sink: OutputSink = Arc::new(move |t, b| {
        if !b.is_empty() {
            sink_store.lock().unwrap().push((t, b.to_vec()));
        }
    });
    let (trigger, shutdown) = shutdown_channel();
    let run = tokio::spawn(run_job(client(&url), hello_job(), true, shutdown, sink));

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let stdout: Vec<u8> = collected
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == LogType::Stdout)
            .flat_map(|(_, b)| b.clone())
            .collect();
        if stdout == OUTPUT.as_bytes() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "output not seen: {:?}",
            String::from_utf8_lossy(&stdout)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Reconnects must not print the output twice.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let total: usize = collected.lock().unwrap().iter().map(|(_, b)| b.len()).sum();
    assert_eq!(total, OUTPUT.len());

    trigger.trigger();
    run.await.unwrap().unwrap();
    let body = fake
        .registered
        .lock()
        .unwrap()
        .clone()
        .expect("job registered");
    assert_eq!(body["Job"]["ID"], "hello");
    assert_eq!(body["EnforceIndex"], false);
    assert!(fake.health_polls.load(Ordering::SeqCst) >= 3);
    assert!(fake.eval_polls.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn shutdown_before_ready_stops_quietly() {
    let router = Router::new().route(
        "/v1/agent/health",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "starting") }),
    );
    let url = serve(router).await;
    let (trigger, shutdown) = shutdown_channel();
    let sink: OutputSink = Arc::new(|_, _| {});
    let run = tokio::spawn(run_job(client(&url), hello_job(), true, shutdown, sink));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    trigger.trigger();
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn rejected_registration_is_an_error() {
    let router = Router::new()
        .route("/v1/agent/health", get(|| async { Json(json!({})) }))
        .route(
            "/v1/status/leader",
            get(|| async { Json("127.0.0.1:4647") }),
        )
        .route(
            "/v1/jobs",
            put(|| async { (StatusCode::BAD_REQUEST, "job has no task groups") }),
        );
    let url = serve(router).await;
    let (_trigger, shutdown) = shutdown_channel();
    let sink: OutputSink = Arc::new(|_, _| {});
    let err = run_job(client(&url), hello_job(), false, shutdown, sink)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error submitting job: Unexpected response code: 400 (job has no task groups)"
    );
}
