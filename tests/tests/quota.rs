//! Namespaces and quotas against a real dev agent: the CLI and HTTP API manage namespaces, a
//! job needs its namespace, and a quota blocks the placement that would exceed it until an
//! allocation of the namespace stops.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn run_ok(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {text}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn run_err(out: &std::process::Output) -> String {
    assert_ne!(out.status.code(), Some(0), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sleeper(id: &str) -> String {
    format!(
        r#"
job "{id}" {{
  type = "service"
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "sleep 300"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// The first allocation of a job in team-a whose client status is `status`.
async fn alloc_with_status(agent: &Agent, job: &str, status: &str) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations?namespace=team-a");
    wait_until(
        &format!("{job} {status}"),
        Duration::from_secs(30),
        async || {
            let allocs = api.get_ok(&path).await;
            allocs
                .as_array()
                .and_then(|a| a.iter().find(|x| x["ClientStatus"] == status).cloned())
        },
    )
    .await
}

#[tokio::test]
async fn namespace_crud_over_http() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();

    let (status, _, body) = api.get("/v1/namespace/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let list = api.get_ok("/v1/namespaces").await;
    assert_eq!(list[0]["Name"], "default", "{list}");

    let (status, body) = api
        .put_json("/v1/namespace/bad_name", &json!({"Name": "bad_name"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api.put_json("/v1/namespace/a", &json!({"Name": "b"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (_, index, _) = api.get("/v1/namespaces").await;
    // A blocking list returns once the namespace is written.
    let waiter = {
        let api = api.clone();
        tokio::spawn(async move {
            api.get(&format!("/v1/namespaces?index={index}&wait=20s"))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = api
        .put_json(
            "/v1/namespace",
            &json!({"Name": "ops", "Description": "Ops", "Meta": {"team": "ops"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, new_index, list) = waiter.await.expect("blocking query");
    assert_eq!(status, StatusCode::OK);
    assert!(new_index > index);
    assert!(list.as_array().unwrap().iter().any(|n| n["Name"] == "ops"));
    let ops = api.get_ok("/v1/namespace/ops").await;
    assert_eq!(ops["Meta"]["team"], "ops");
    assert_eq!(
        api.get_ok("/v1/namespaces?prefix=op").await[0]["Name"],
        "ops"
    );

    let (status, body) = api
        .send(Method::DELETE, "/v1/namespace/default", vec![])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api.send(Method::DELETE, "/v1/namespace/ops", vec![]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = api.get("/v1/namespace/ops").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn quota_blocks_a_placement_until_an_allocation_stops() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    let job_a = write_file(dir.path(), "a.hcl", &sleeper("a"));
    let job_b = write_file(dir.path(), "b.hcl", &sleeper("b"));
    let (job_a, job_b) = (job_a.to_str().unwrap(), job_b.to_str().unwrap());

    // A job needs its namespace.
    let err = run_err(&cli(
        &agent,
        &["job", "run", "-detach", "-namespace", "team-a", job_a],
    ));
    assert!(
        err.contains(r#"job "a" is in nonexistent namespace "team-a""#),
        "{err}"
    );

    let applied = run_ok(&cli(
        &agent,
        &[
            "namespace",
            "apply",
            "-description",
            "Team A",
            "-quota",
            "allocs=1",
            "team-a",
        ],
    ));
    assert!(
        applied.contains("Successfully applied namespace"),
        "{applied}"
    );
    let list = run_ok(&cli(&agent, &["namespace", "list"]));
    assert!(list.contains("team-a") && list.contains("Team A"), "{list}");
    assert!(
        list.contains("default") && list.contains("allocs=1"),
        "{list}"
    );
    let inspect: Value =
        serde_json::from_str(&run_ok(&cli(&agent, &["namespace", "inspect", "team-a"])))
            .expect("inspect prints JSON");
    assert_eq!(inspect["QuotaLimits"]["Allocations"], 1);

    run_ok(&cli(
        &agent,
        &["job", "run", "-detach", "-namespace", "team-a", job_a],
    ));
    let a = alloc_with_status(&agent, "a", "running").await;

    run_ok(&cli(
        &agent,
        &["job", "run", "-detach", "-namespace", "team-a", job_b],
    ));
    let blocked = wait_until("b blocked by quota", Duration::from_secs(30), async || {
        let evals = api.get_ok("/v1/job/b/evaluations?namespace=team-a").await;
        evals
            .as_array()
            .and_then(|e| e.iter().find(|x| x["Status"] == "blocked").cloned())
    })
    .await;
    let reasons = blocked["FailedTGAllocs"]["g"]["QuotaExhausted"].to_string();
    assert!(reasons.contains("quota exceeded"), "{blocked}");
    assert_eq!(blocked["QuotaLimitReached"], "team-a");
    let allocs_b = api.get_ok("/v1/job/b/allocations?namespace=team-a").await;
    assert_eq!(allocs_b, json!([]), "nothing placed beyond the quota");

    let status = run_ok(&cli(&agent, &["namespace", "status", "team-a"]));
    assert!(status.contains("Quota Limits"), "{status}");
    assert!(status.contains("1 / 1"), "{status}");

    let err = run_err(&cli(&agent, &["namespace", "delete", "team-a"]));
    assert!(err.contains("has jobs that are not purged"), "{err}");

    // Stopping A frees the quota; the blocked evaluation runs again and B is placed.
    run_ok(&cli(
        &agent,
        &["job", "stop", "-detach", "-namespace", "team-a", "a"],
    ));
    alloc_with_status(&agent, "b", "running").await;
    let a_now = api
        .get_ok(&format!("/v1/allocation/{}", a["ID"].as_str().unwrap()))
        .await;
    assert_eq!(a_now["DesiredStatus"], "stop");

    for job in ["a", "b"] {
        run_ok(&cli(
            &agent,
            &[
                "job",
                "stop",
                "-purge",
                "-detach",
                "-namespace",
                "team-a",
                job,
            ],
        ));
    }
    let deleted = run_ok(&cli(&agent, &["namespace", "delete", "team-a"]));
    assert!(deleted.contains("Successfully deleted"), "{deleted}");
}
