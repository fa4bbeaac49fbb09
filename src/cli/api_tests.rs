//! The API client, prefix lookups and the monitor against a scripted HTTP server.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::alloc::ALLOC_LOOKUP;
use super::api::{ApiClient, ApiConfig, ApiError};
use super::monitor::{MonitorOutcome, monitor};
use super::prefix::LookupError;
use super::test_server::{client, serve};

async fn echo(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let token = headers
        .get("X-Nomad-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = json!({
        "token": token,
        "namespace": q.get("namespace"),
        "region": q.get("region"),
        "prefix": q.get("prefix"),
    });
    ([("X-Nomad-Index", "42")], Json(body))
}

#[tokio::test]
async fn requests_carry_token_namespace_region_and_read_the_index() {
    let url = serve(Router::new().route("/v1/echo", get(echo))).await;
    let api = ApiClient::new(ApiConfig {
        address: url,
        token: Some("secret-id".into()),
        namespace: Some("prod".into()),
        region: Some("eu".into()),
        ..Default::default()
    })
    .unwrap();
    let resp = api
        .get::<Value>("/v1/echo", &[("prefix", "ab".to_string())])
        .await
        .unwrap();
    assert_eq!(resp.index, 42);
    assert_eq!(resp.body["token"], "secret-id");
    assert_eq!(resp.body["namespace"], "prod");
    assert_eq!(resp.body["region"], "eu");
    assert_eq!(resp.body["prefix"], "ab");
    let plain = client(api.base_url());
    let resp = plain.get::<Value>("/v1/echo", &[]).await.unwrap();
    assert_eq!(resp.body["token"], "");
    assert_eq!(resp.body["namespace"], Value::Null);
}

#[tokio::test]
async fn error_bodies_become_nomad_style_errors() {
    let router = Router::new().route(
        "/v1/job/{id}",
        get(|| async { (StatusCode::NOT_FOUND, "job not found\n") }),
    );
    let api = client(&serve(router).await);
    let err = api.get::<Value>("/v1/job/web", &[]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Unexpected response code: 404 (job not found)"
    );
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // Bind then drop, so nothing listens on the port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let api = client(&format!("http://{addr}"));
    let err = api.get::<Value>("/v1/jobs", &[]).await.unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("GET \"http://{addr}/v1/jobs\": ")),
        "{err}"
    );
}

fn allocs_router() -> Router {
    let stubs = json!([
        {"ID": "abc11111-0000-0000-0000-000000000000", "TaskGroup": "g", "DesiredStatus": "run",
         "ClientStatus": "running", "NodeID": "node-1"},
        {"ID": "abc22222-0000-0000-0000-000000000000", "TaskGroup": "g", "DesiredStatus": "run",
         "ClientStatus": "pending", "NodeID": "node-2"},
    ]);
    Router::new().route(
        "/v1/allocations",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let stubs = stubs.clone();
            async move {
                let prefix = q.get("prefix").cloned().unwrap_or_default();
                let rows: Vec<Value> = stubs
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["ID"].as_str().unwrap().starts_with(&prefix))
                    .cloned()
                    .collect();
                Json(rows)
            }
        }),
    )
}

#[tokio::test]
async fn prefix_lookup_resolves_lists_or_refuses() {
    let api = client(&serve(allocs_router()).await);
    let one = ALLOC_LOOKUP.find(&api, "abc2").await.unwrap();
    assert_eq!(one.id, "abc22222-0000-0000-0000-000000000000");
    match ALLOC_LOOKUP.find(&api, "abc").await.unwrap_err() {
        LookupError::Ambiguous { kind, listing } => {
            assert_eq!(kind, "allocations");
            assert!(
                listing.starts_with("ID        Node ID  Task Group"),
                "{listing}"
            );
            assert!(listing.contains("abc11111") && listing.contains("abc22222"));
        }
        other => panic!("expected ambiguity, got {other}"),
    }
    let err = ALLOC_LOOKUP.find(&api, "zz").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "No allocation(s) with prefix or id \"zz\" found"
    );
    let err = ALLOC_LOOKUP.find(&api, "a").await.unwrap_err();
    assert!(matches!(err, LookupError::TooShort));
}

async fn failing_eval(
    State(polls): State<Arc<AtomicUsize>>,
    Path(id): Path<String>,
) -> Json<Value> {
    let n = polls.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        return Json(json!({"ID": id, "JobID": "web", "Status": "pending"}));
    }
    Json(json!({
        "ID": id, "JobID": "web", "Status": "complete",
        "BlockedEval": "b10c4ed0-0000-0000-0000-000000000000",
        "FailedTGAllocs": {"app": {"NodesEvaluated": 1, "NodesExhausted": 1,
                                   "DimensionExhausted": {"memory": 1}}}
    }))
}

#[tokio::test]
async fn monitor_reports_placement_failures_with_exit_code_2() {
    let polls = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route("/v1/evaluation/{id}", get(failing_eval))
        .route(
            "/v1/evaluation/{id}/allocations",
            get(|| async { Json(json!([])) }),
        )
        .with_state(Arc::clone(&polls));
    let api = client(&serve(router).await);
    let outcome = monitor(&api, "e0000000-0000-0000-0000-000000000000", 8).await;
    assert_eq!(outcome, MonitorOutcome::PlacementFailed);
    assert_eq!(outcome as i32, 2);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn monitor_of_a_missing_evaluation_fails() {
    let router = Router::new().route(
        "/v1/evaluation/{id}",
        get(|| async { (StatusCode::NOT_FOUND, "eval not found") }),
    );
    let api = client(&serve(router).await);
    assert_eq!(monitor(&api, "nope", 8).await, MonitorOutcome::Error);
}

#[tokio::test]
async fn monitor_follows_the_next_evaluation() {
    let router = Router::new()
        .route(
            "/v1/evaluation/{id}",
            get(|Path(id): Path<String>| async move {
                let next = if id == "first" { "second" } else { "" };
                Json(json!({"ID": id, "Status": "complete", "NextEval": next}))
            }),
        )
        .route(
            "/v1/evaluation/{id}/allocations",
            get(|| async { Json(json!([])) }),
        );
    let api = client(&serve(router).await);
    assert_eq!(monitor(&api, "first", 8).await, MonitorOutcome::Complete);
}
