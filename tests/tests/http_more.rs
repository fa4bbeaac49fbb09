//! The extra v1 endpoints (issue 8) against a real dev agent: job evaluate and stable, the
//! evaluation count, manual allocation health, node evaluate, pools and purge, regions,
//! servers, autopilot, prefix and fuzzy search, and the answers for features nomadish does
//! not have (501 for Enterprise endpoints, empty lists for CSI and ACL roles). A second test
//! checks that search only shows a team-a token team-a's objects.

use std::time::Duration;

use nomadish_tests::acl::AclCluster;
use nomadish_tests::{Agent, AgentKind, Api, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Time for jobs to run and evaluations to finish.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A service job whose deployment waits for a manual health verdict.
fn manual_job(id: &str) -> Value {
    json!({
        "ID": id,
        "Name": id,
        "Type": "service",
        "Datacenters": ["*"],
        "TaskGroups": [{
            "Name": "g",
            "Count": 1,
            "Update": {"MaxParallel": 1, "HealthCheck": "manual", "MinHealthyTime": 0},
            "Tasks": [{
                "Name": "t",
                "Driver": "raw_exec",
                "Config": {"command": "/bin/sh", "args": ["-c", "while true; do sleep 0.2; done"]},
                "Resources": {"CPU": 20, "MemoryMB": 16},
            }],
        }],
    })
}

async fn send(api: &Api, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
    api.send(method, path, serde_json::to_vec(body).expect("json"))
        .await
}

async fn put_ok(api: &Api, path: &str, body: &Value) -> Value {
    let (status, reply) = send(api, Method::PUT, path, body).await;
    assert_eq!(status, StatusCode::OK, "PUT {path}: {reply}");
    reply
}

/// Waits for the evaluation to complete.
async fn eval_completes(api: &Api, id: &str) {
    wait_until(&format!("eval {id} complete"), TIMEOUT, async || {
        let eval = api.get_ok(&format!("/v1/evaluation/{id}")).await;
        (eval["Status"] == "complete").then_some(())
    })
    .await;
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn extra_endpoints_have_real_outcomes() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    put_ok(&api, "/v1/jobs", &json!({"Job": manual_job("web")})).await;
    let alloc = wait_until("web running", TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/web/allocations").await;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "running")
            .cloned()
    })
    .await;
    let alloc_id = alloc["ID"].as_str().expect("alloc id").to_string();
    let node_id = alloc["NodeID"].as_str().expect("node id").to_string();

    // Job evaluate: a new evaluation that completes.
    let reply = put_ok(&api, "/v1/job/web/evaluate", &json!({"JobID": "web"})).await;
    let eval_id = reply["EvalID"].as_str().expect("EvalID").to_string();
    assert!(reply["EvalCreateIndex"].as_u64() > Some(0), "{reply}");
    eval_completes(&api, &eval_id).await;
    let (status, _) = send(&api, Method::POST, "/v1/job/nope/evaluate", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The CLI verb: `job eval -detach` prints the new evaluation's ID.
    let out = nomadish_tests::cli(&agent, &["job", "eval", "-detach", "web"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let cli_eval = stdout
        .trim()
        .strip_prefix("Evaluation ID: ")
        .expect("an evaluation ID")
        .to_string();
    eval_completes(&api, &cli_eval).await;

    // Evaluations count matches the list.
    let count = api.get_ok("/v1/evaluations/count").await;
    let listed = api.get_ok("/v1/evaluations").await;
    assert_eq!(
        count["Count"].as_u64(),
        Some(listed.as_array().unwrap().len() as u64)
    );

    // Manual allocation health moves the deployment, which marks version 0 stable.
    let dep = api.get_ok("/v1/job/web/deployment").await;
    let dep_id = dep["ID"].as_str().expect("deployment").to_string();
    let reply = put_ok(
        &api,
        &format!("/v1/deployment/allocation-health/{dep_id}"),
        &json!({"DeploymentID": dep_id, "HealthyAllocationIDs": [alloc_id]}),
    )
    .await;
    assert!(
        reply["EvalID"].as_str().is_some_and(|e| !e.is_empty()),
        "{reply}"
    );
    wait_until("deployment successful", TIMEOUT, async || {
        let d = api.get_ok(&format!("/v1/deployment/{dep_id}")).await;
        (d["Status"] == "successful").then_some(())
    })
    .await;
    let a = api.get_ok(&format!("/v1/allocation/{alloc_id}")).await;
    assert_eq!(a["DeploymentStatus"]["Healthy"], true);

    // Stable: cleared and set again, visible in /versions.
    let stable_of = async |api: &Api| {
        let v = api.get_ok("/v1/job/web/versions").await;
        v["Versions"][0]["Stable"].clone()
    };
    assert_eq!(stable_of(&api).await, true);
    let body = json!({"JobID": "web", "JobVersion": 0, "Stable": false});
    let reply = put_ok(&api, "/v1/job/web/stable", &body).await;
    assert!(reply["Index"].as_u64() > Some(0));
    assert_eq!(stable_of(&api).await, false);
    let body = json!({"JobID": "web", "JobVersion": 0, "Stable": true});
    put_ok(&api, "/v1/job/web/stable", &body).await;
    assert_eq!(stable_of(&api).await, true);
    let body = json!({"JobID": "web", "JobVersion": 9, "Stable": true});
    let (status, _) = send(&api, Method::PUT, "/v1/job/web/stable", &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Node pools: the built-ins.
    let pools = api.get_ok("/v1/node/pools").await;
    let names: Vec<&str> = pools
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["Name"].as_str())
        .collect();
    assert_eq!(names, ["all", "default"]);
    assert_eq!(api.get_ok("/v1/node/pool/default").await["Name"], "default");
    assert_eq!(api.get("/v1/node/pool/nope").await.0, StatusCode::NOT_FOUND);

    // Prefix search finds the job, the allocation and the node; fuzzy finds the job.
    let found = put_ok(
        &api,
        "/v1/search",
        &json!({"Prefix": "we", "Context": "jobs"}),
    )
    .await;
    assert_eq!(ids(&found["Matches"]["jobs"]), ["web"]);
    assert_eq!(found["Truncations"]["jobs"], false);
    let found = put_ok(
        &api,
        "/v1/search",
        &json!({"Prefix": &alloc_id[..6], "Context": "all"}),
    )
    .await;
    assert_eq!(ids(&found["Matches"]["allocs"]), [alloc_id.as_str()]);
    let found = put_ok(
        &api,
        "/v1/search",
        &json!({"Prefix": &node_id[..6], "Context": "nodes"}),
    )
    .await;
    assert_eq!(ids(&found["Matches"]["nodes"]), [node_id.as_str()]);
    let found = put_ok(
        &api,
        "/v1/search/fuzzy",
        &json!({"Text": "EB", "Context": "jobs"}),
    )
    .await;
    assert_eq!(found["Matches"]["jobs"][0]["ID"], "web", "{found}");
    let (status, _) = send(
        &api,
        Method::PUT,
        "/v1/search",
        &json!({"Context": "quotas"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Regions, servers and autopilot.
    assert_eq!(api.get_ok("/v1/regions").await, json!(["global"]));
    assert_eq!(
        ids(&api.get_ok("/v1/agent/servers").await),
        [agent.rpc.as_str()]
    );
    let health = api.get_ok("/v1/operator/autopilot/health").await;
    assert_eq!(health["Healthy"], true, "{health}");
    assert_eq!(health["Servers"].as_array().unwrap().len(), 1);
    assert_eq!(health["Servers"][0]["Leader"], true);
    let config = api.get_ok("/v1/operator/autopilot/configuration").await;
    assert_eq!(config["CleanupDeadServers"], true);
    assert_eq!(config["LastContactThreshold"], "200ms");
    let mut changed = config.clone();
    changed["CleanupDeadServers"] = json!(false);
    let updated = put_ok(&api, "/v1/operator/autopilot/configuration", &changed).await;
    assert_eq!(updated, true);
    let config = api.get_ok("/v1/operator/autopilot/configuration").await;
    assert_eq!(config["CleanupDeadServers"], false);
    let stale = put_ok(&api, "/v1/operator/autopilot/configuration?cas=1", &changed).await;
    assert_eq!(stale, false);

    // Features nomadish does not have.
    for path in [
        "/v1/quotas",
        "/v1/sentinel/policies",
        "/v1/quota/q1",
        "/v1/recommendations",
    ] {
        let (status, text) = api.get_text(path).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{path}");
        assert_eq!(text, "Nomad Enterprise only endpoint", "{path}");
    }
    for path in [
        "/v1/volumes?type=csi",
        "/v1/volumes?type=host",
        "/v1/plugins?type=csi",
        "/v1/acl/roles",
        "/v1/acl/auth-methods",
        "/v1/acl/binding-rules",
    ] {
        assert_eq!(api.get_ok(path).await, json!([]), "{path}");
    }
    assert_eq!(api.get("/v1/volumes").await.0, StatusCode::BAD_REQUEST);

    // Node evaluate: an evaluation for the node's job that completes.
    let reply = put_ok(&api, &format!("/v1/node/{node_id}/evaluate"), &json!({})).await;
    let evals = ids(&reply["EvalIDs"]);
    assert_eq!(evals.len(), 1, "{reply}");
    eval_completes(&api, &evals[0]).await;

    // Purge: the node is gone, its job is evaluated.
    let reply = put_ok(&api, &format!("/v1/node/{node_id}/purge"), &json!({})).await;
    assert_eq!(ids(&reply["EvalIDs"]).len(), 1, "{reply}");
    assert!(reply["NodeModifyIndex"].as_u64() > Some(0));
    let (status, _, _) = api.get(&format!("/v1/node/{node_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&api, Method::PUT, "/v1/node/nope/purge", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_shows_a_token_only_what_it_may_read() {
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let admin = c.admin();
    let read_a = c.server.api().with_token(&c.read_a.secret);
    let query = json!({"Prefix": "web", "Context": "all", "Namespace": "*"});
    let all = put_ok(&admin, "/v1/search", &query).await;
    assert_eq!(ids(&all["Matches"]["jobs"]), ["web-a", "web-b"]);
    assert_eq!(all["Matches"]["allocs"], json!([]));
    let mine = put_ok(&read_a, "/v1/search", &query).await;
    assert_eq!(ids(&mine["Matches"]["jobs"]), ["web-a"]);
    // Every allocation and node, by empty prefix: only team-a's allocations, no nodes.
    let query = json!({"Prefix": "", "Context": "all", "Namespace": "*"});
    let mine = put_ok(&read_a, "/v1/search", &query).await;
    let a = c.running_alloc("web-a", "team-a").await;
    assert_eq!(ids(&mine["Matches"]["allocs"]), [a["ID"].as_str().unwrap()]);
    assert_eq!(mine["Matches"]["nodes"], json!([]));
    assert_eq!(ids(&mine["Matches"]["namespaces"]), ["team-a"]);
    let all = put_ok(&admin, "/v1/search", &query).await;
    assert_eq!(ids(&all["Matches"]["nodes"]).len(), 1);
    // The evaluation count across namespaces counts only team-a's for the team-a token.
    let count = read_a.get_ok("/v1/evaluations/count?namespace=*").await;
    let listed = read_a.get_ok("/v1/evaluations?namespace=*").await;
    assert_eq!(
        count["Count"].as_u64(),
        Some(listed.as_array().unwrap().len() as u64)
    );
    let total = admin.get_ok("/v1/evaluations/count?namespace=*").await;
    assert!(
        total["Count"].as_u64() > count["Count"].as_u64(),
        "{total} vs {count}"
    );
}

/// A batch job whose task runs until `/stop` appears in its directory, with a script check.
const CHECKED_JOB: &str = r#"
job "checked" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while [ ! -f stop ]; do sleep 0.1; done"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
      service {
        name     = "checked"
        provider = "nomad"
        port     = 9300
        address  = "127.0.0.1"
        check {
          name     = "alive"
          type     = "script"
          command  = "/bin/true"
          interval = "1s"
          timeout  = "2s"
        }
      }
    }
  }
}
"#;

/// Whether a directory named `name` exists anywhere under `root`.
fn dir_named(root: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if entry.file_name() == name {
                    return Some(path);
                }
                stack.push(path);
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn client_reports_stats_and_checks_and_collects_a_finished_allocation() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    nomadish_tests::run_job(&agent, dir.path(), "checked", CHECKED_JOB);
    let alloc = wait_until("checked running", TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/checked/allocations").await;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "running")
            .cloned()
    })
    .await;
    let id = alloc["ID"].as_str().expect("alloc id").to_string();

    // Stats: the shell's memory, measured from /proc.
    let stats = api
        .get_ok(&format!("/v1/client/allocation/{id}/stats"))
        .await;
    let task = &stats["Tasks"]["t"]["ResourceUsage"];
    assert!(task["MemoryStats"]["RSS"].as_u64() > Some(0), "{stats}");
    assert_eq!(task["MemoryStats"]["Measured"], json!(["RSS"]));
    assert!(
        stats["ResourceUsage"]["CpuStats"]["Percent"]
            .as_f64()
            .is_some()
    );
    assert!(stats["Timestamp"].as_i64() > Some(0));

    // Checks: the script check succeeds.
    let checks = wait_until("check success", TIMEOUT, async || {
        let checks = api
            .get_ok(&format!("/v1/client/allocation/{id}/checks"))
            .await;
        let first = checks.as_object()?.values().next()?.clone();
        (first["Status"] == "success").then_some(first)
    })
    .await;
    assert_eq!(checks["Check"], "alive");
    assert_eq!(checks["Service"], "checked");
    assert_eq!(checks["Group"], "g");
    assert_eq!(checks["Mode"], "healthiness");

    // GC: refused while running; once the task finished, the directory goes.
    let alloc_dir = dir_named(&agent.data_dir, &id).expect("allocation directory");
    let (status, text) = api
        .get_text(&format!("/v1/client/allocation/{id}/gc"))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
    assert!(alloc_dir.exists());
    std::fs::write(alloc_dir.join("t").join("stop"), "").expect("stop file");
    wait_until("checked complete", TIMEOUT, async || {
        let a = api.get_ok(&format!("/v1/allocation/{id}")).await;
        (a["ClientStatus"] == "complete").then_some(())
    })
    .await;
    let (status, text) = api
        .get_text(&format!("/v1/client/allocation/{id}/gc"))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(!alloc_dir.exists(), "{} still exists", alloc_dir.display());
    let (status, _) = api.get_text("/v1/client/allocation/nope/stats").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn autopilot_health_sees_a_stopped_server() {
    let dir = nomadish_tests::test_dir();
    let mut c = nomadish_tests::Cluster::start(dir.path(), 3, "", None).await;
    let (leader, _) = c.wait_leader().await;
    let api = c.servers[leader].api();
    let health = wait_until(
        "a healthy cluster",
        nomadish_tests::CLUSTER_TIMEOUT,
        async || {
            let (status, _, h) = api.get("/v1/operator/autopilot/health").await;
            (status == StatusCode::OK).then_some(h)
        },
    )
    .await;
    assert_eq!(health["Healthy"], true, "{health}");
    assert_eq!(health["Voters"].as_array().map(Vec::len), Some(3));
    assert_eq!(health["FailureTolerance"], 1);
    let follower = (leader + 1) % 3;
    let addr = c.servers[follower].rpc.clone();
    c.servers[follower].stop();
    let health = wait_until("the stopped server seen", TIMEOUT, async || {
        let (status, _, h) = api.get("/v1/operator/autopilot/health").await;
        (status == StatusCode::TOO_MANY_REQUESTS).then_some(h)
    })
    .await;
    assert_eq!(health["Healthy"], false);
    assert_eq!(health["FailureTolerance"], 0);
    let gone = health["Servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Address"] == addr.as_str())
        .expect("the stopped server is still a member");
    assert_eq!(gone["SerfStatus"], "failed");
    assert_eq!(gone["Healthy"], false);
}

/// A batch job that fails at once and is never rescheduled on its own.
const FAILING_JOB: &str = r#"
job "fails" {
  type = "batch"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/false"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn evaluate_with_force_reschedule_replaces_a_failed_allocation() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    nomadish_tests::run_job(&agent, dir.path(), "fails", FAILING_JOB);
    let failed = wait_until("the allocation failed", TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/fails/allocations").await;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "failed")
            .cloned()
    })
    .await;
    let failed_id = failed["ID"].as_str().expect("alloc id").to_string();
    // A plain evaluation leaves it: the policy allows no rescheduling.
    let reply = put_ok(&api, "/v1/job/fails/evaluate", &json!({})).await;
    eval_completes(&api, reply["EvalID"].as_str().expect("EvalID")).await;
    let allocs = api.get_ok("/v1/job/fails/allocations").await;
    assert_eq!(allocs.as_array().map(Vec::len), Some(1), "{allocs}");
    // ForceReschedule replaces it.
    let body = json!({"JobID": "fails", "EvalOptions": {"ForceReschedule": true}});
    let reply = put_ok(&api, "/v1/job/fails/evaluate", &body).await;
    eval_completes(&api, reply["EvalID"].as_str().expect("EvalID")).await;
    let replacement = wait_until("a replacement", TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/fails/allocations").await;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ID"] != failed_id.as_str())
            .cloned()
    })
    .await;
    let full = api
        .get_ok(&format!(
            "/v1/allocation/{}",
            replacement["ID"].as_str().unwrap()
        ))
        .await;
    assert_eq!(full["PreviousAllocation"], failed_id.as_str(), "{full}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_server_answers_allocation_stats_through_the_tunnels_holder() {
    let dir = nomadish_tests::test_dir();
    let c = nomadish_tests::Cluster::start(dir.path(), 3, "", None).await;
    let (leader, _) = c.wait_leader().await;
    let rpcs: Vec<String> = c.servers.iter().map(|s| s.rpc.clone()).collect();
    let _client = Agent::start(dir.path(), "c1", AgentKind::Client(rpcs), "").await;
    let api = c.servers[leader].api();
    wait_until("the client's node is ready", TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    put_ok(&api, "/v1/jobs", &json!({"Job": manual_job("web")})).await;
    let alloc = wait_until("web running", TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/web/allocations").await;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "running")
            .cloned()
    })
    .await;
    let id = alloc["ID"].as_str().expect("alloc id");
    // The client opens its tunnel once registered: until then the answer is 500 "not
    // connected to any server".
    for server in &c.servers {
        let path = format!("/v1/client/allocation/{id}/stats");
        let stats = wait_until("stats through the tunnel", TIMEOUT, async || {
            let (status, _, stats) = server.api().get(&path).await;
            (status == StatusCode::OK).then_some(stats)
        })
        .await;
        let rss = &stats["Tasks"]["t"]["ResourceUsage"]["MemoryStats"]["RSS"];
        assert!(rss.as_u64() > Some(0), "{}: {stats}", server.name);
    }
}
