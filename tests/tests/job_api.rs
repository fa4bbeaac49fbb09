//! Job registration and validation through Nomad's HTTP paths with a real agent:
//! `PUT /v1/job/:id` registers like `POST`, and `PUT|POST /v1/validate/job` answers Nomad's
//! `JobValidateResponse` (200 even for an invalid job) without registering anything.

use nomadish_tests::{Agent, AgentKind, Api};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn batch_job(id: &str) -> Value {
    json!({
        "ID": id,
        "Name": id,
        "Type": "batch",
        "Datacenters": ["*"],
        "TaskGroups": [{
            "Name": "g",
            "Tasks": [{
                "Name": "t",
                "Driver": "raw_exec",
                "Config": {"command": "/bin/true"},
                "Resources": {"CPU": 20, "MemoryMB": 16},
            }],
        }],
    })
}

async fn send(api: &Api, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
    api.send(method, path, serde_json::to_vec(body).expect("json"))
        .await
}

async fn exists(api: &Api, id: &str) -> bool {
    let (status, _, _) = api.get(&format!("/v1/job/{id}")).await;
    status == StatusCode::OK
}

#[tokio::test(flavor = "multi_thread")]
async fn put_registers_and_validate_reports_without_registering() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();

    // PUT /v1/job/:id registers, as POST does; the body's ID must match the path's.
    let (status, reply) = send(
        &api,
        Method::PUT,
        "/v1/job/put-me",
        &json!({"Job": batch_job("put-me")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(reply["EvalID"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(exists(&api, "put-me").await);
    let (status, _) = send(
        &api,
        Method::PUT,
        "/v1/job/other",
        &json!({"Job": batch_job("put-me-too")}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!exists(&api, "put-me-too").await);

    // A valid job: no errors, nothing registered.
    for method in [Method::PUT, Method::POST] {
        let (status, reply) = send(
            &api,
            method.clone(),
            "/v1/validate/job",
            &json!({"Job": batch_job("checked")}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{method}: {reply}");
        assert_eq!(reply["ValidationErrors"], json!([]));
        assert_eq!(reply["Error"], "");
        assert_eq!(reply["Warnings"], "");
        assert_eq!(reply["DriverConfigValidated"], true);
    }
    assert!(!exists(&api, "checked").await);

    // An invalid job: still 200, every problem listed.
    let mut bad = batch_job("bad");
    bad["Priority"] = json!(500);
    bad["TaskGroups"][0]["Tasks"][0]["Vault"] = json!({"Role": "db"});
    let (status, reply) = send(&api, Method::POST, "/v1/validate/job", &json!({"Job": bad})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let errors: Vec<&str> = reply["ValidationErrors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("priority")), "{errors:?}");
    assert!(
        errors.contains(&"not supported by nomadish: vault"),
        "{errors:?}"
    );
    let error = reply["Error"].as_str().expect("error");
    assert!(error.starts_with("2 error(s) occurred"), "{error}");
    assert!(!exists(&api, "bad").await);

    // A body without a job is a bad request.
    let (status, reply) = send(&api, Method::POST, "/v1/validate/job", &json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .as_str()
            .unwrap_or_default()
            .contains("Job must be specified"),
        "{reply}"
    );
}
