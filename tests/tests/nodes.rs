//! Node operations and the scheduler's explanations with one server and several client
//! processes: drain, eligibility, blocked jobs, `job plan`, and a scheduler panic
//! (scenario 12). A `system` job landing on a client that joins later is covered in
//! `scheduling.rs`.

use std::path::Path;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use serde_json::Value;

/// Bound on every wait for scheduling, clients joining and drains.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A service job of `count` sleeping raw_exec tasks; `extra` goes into the group.
fn service_job(id: &str, count: usize, extra: &str) -> String {
    format!(
        r#"
job "{id}" {{
  group "g" {{
    count = {count}
    {extra}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 1; done"]
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

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_cli(server: &Agent, args: &[&str]) -> (Option<i32>, String) {
    let out = cli(server, args);
    (out.status.code(), text(&out))
}

/// Starts a server and `n` clients named c1..cn; waits until all nodes are ready.
async fn cluster(dir: &Path, n: usize, env: &[(&str, &str)]) -> (Agent, Vec<Agent>) {
    let mut server = Agent::prepare(
        dir,
        "server",
        AgentKind::Server,
        "",
        (nomadish_tests::free_port(), nomadish_tests::free_port()),
        None,
    );
    server.env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    server.launch();
    server.wait_started().await;
    let mut clients = Vec::new();
    for i in 1..=n {
        clients.push(add_client(dir, &server, &format!("c{i}")).await);
    }
    wait_ready(&server, n).await;
    (server, clients)
}

async fn add_client(dir: &Path, server: &Agent, name: &str) -> Agent {
    let servers = vec![server.rpc.clone()];
    Agent::start(dir, name, AgentKind::Client(servers), "").await
}

async fn wait_ready(server: &Agent, n: usize) {
    let api = server.api();
    wait_until(&format!("{n} ready nodes"), TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready = nodes
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| n["Status"] == "ready").count());
        (ready == n).then_some(())
    })
    .await;
}

/// The ID of the node named `name`.
async fn node_id(server: &Agent, name: &str) -> String {
    let nodes = server.api().get_ok("/v1/nodes").await;
    nodes
        .as_array()
        .and_then(|a| a.iter().find(|n| n["Name"] == name))
        .and_then(|n| n["ID"].as_str())
        .unwrap_or_else(|| panic!("no node named {name}: {nodes}"))
        .to_string()
}

/// The nodes of a job's running allocations (desired run), one entry per allocation.
async fn running_nodes(server: &Agent, job: &str) -> Vec<String> {
    let allocs = server
        .api()
        .get_ok(&format!("/v1/job/{job}/allocations"))
        .await;
    allocs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .filter_map(|a| a["NodeID"].as_str().map(str::to_string))
        .collect()
}

async fn wait_running(server: &Agent, job: &str, count: usize) -> Vec<String> {
    wait_until(
        &format!("{count} running allocations of {job}"),
        TIMEOUT,
        async || {
            let nodes = running_nodes(server, job).await;
            (nodes.len() == count).then_some(nodes)
        },
    )
    .await
}

fn submit(server: &Agent, dir: &Path, id: &str, spec: &str) -> (Option<i32>, String) {
    let file = write_file(dir, &format!("{id}.hcl"), spec);
    run_cli(server, &["job", "run", file.to_str().expect("utf-8")])
}

#[tokio::test]
async fn draining_a_node_moves_its_service_allocations_and_completes() {
    let dir = nomadish_tests::test_dir();
    let (server, _clients) = cluster(dir.path(), 3, &[]).await;
    let migrate = r#"migrate {
      max_parallel     = 1
      min_healthy_time = "1s"
    }"#;
    let (code, out) = submit(&server, dir.path(), "web", &service_job("web", 4, migrate));
    assert_eq!(code, Some(0), "{out}");
    let before = wait_running(&server, "web", 4).await;
    let target = before[0].clone();
    let on_target = before.iter().filter(|n| **n == target).count();

    let (code, out) = run_cli(
        &server,
        &[
            "node",
            "drain",
            "-enable",
            "-yes",
            "-deadline",
            "2m",
            &target,
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("drain strategy set"), "{out}");
    assert!(out.contains("marked for migration"), "{out}");
    assert!(
        out.contains(&format!("Node {target:?} drain complete")),
        "{out}"
    );

    let after = wait_running(&server, "web", 4).await;
    assert!(
        !after.contains(&target),
        "{on_target} allocations moved off the drained node: {after:?}"
    );
    let node = server.api().get_ok(&format!("/v1/node/{target}")).await;
    assert_eq!(node["DrainStrategy"], Value::Null);
    assert_eq!(node["SchedulingEligibility"], "ineligible");
    let events: Vec<&str> = node["Events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["Message"].as_str())
        .collect();
    assert!(events.contains(&"Node drain complete"), "{events:?}");

    // The drained node gets nothing new until it is eligible again.
    let (code, out) = submit(&server, dir.path(), "more", &service_job("more", 6, ""));
    assert_eq!(code, Some(0), "{out}");
    let more = wait_running(&server, "more", 6).await;
    assert!(!more.contains(&target), "{more:?}");
    let (code, out) = run_cli(&server, &["node", "eligibility", "-enable", &target]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("scheduling eligibility set: eligible for scheduling"),
        "{out}"
    );
}

#[tokio::test]
async fn blocked_job_explains_why_and_starts_when_a_fourth_client_joins() {
    let dir = nomadish_tests::test_dir();
    let (server, _clients) = cluster(dir.path(), 3, &[]).await;
    let c1 = node_id(&server, "c1").await;
    let (code, out) = run_cli(&server, &["node", "eligibility", "-disable", &c1]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ineligible for scheduling"), "{out}");

    // An ineligible node gets no new allocation.
    let (code, out) = submit(&server, dir.path(), "spread", &service_job("spread", 4, ""));
    assert_eq!(code, Some(0), "{out}");
    let placed = wait_running(&server, "spread", 4).await;
    assert!(!placed.contains(&c1), "{placed:?}");

    let pinned = r#"constraint {
      attribute = "${node.unique.name}"
      value     = "c4"
    }"#;
    let (code, out) = submit(
        &server,
        dir.path(),
        "pinned",
        &service_job("pinned", 1, pinned),
    );
    assert_eq!(code, Some(2), "placement failures give exit code 2: {out}");
    let reason = "Constraint \"${node.unique.name} = c4\": 2 nodes excluded by filter";
    assert!(out.contains(reason), "{out}");
    let (_, status) = run_cli(&server, &["job", "status", "pinned"]);
    assert!(status.contains("Placement Failure"), "{status}");
    assert!(status.contains(reason), "{status}");
    let evals = server.api().get_ok("/v1/job/pinned/evaluations").await;
    let blocked = evals
        .as_array()
        .and_then(|a| a.iter().find(|e| e["Status"] == "blocked"))
        .and_then(|e| e["ID"].as_str())
        .expect("a blocked evaluation")
        .to_string();
    let (code, eval_out) = run_cli(&server, &["eval", "status", &blocked]);
    assert_eq!(code, Some(0), "{eval_out}");
    assert!(eval_out.contains(reason), "{eval_out}");

    let _c4 = add_client(dir.path(), &server, "c4").await;
    let nodes = wait_running(&server, "pinned", 1).await;
    assert_eq!(nodes, [node_id(&server, "c4").await]);
}

#[tokio::test]
async fn job_plan_shows_the_diff_and_check_index_refuses_a_stale_index() {
    let dir = nomadish_tests::test_dir();
    let (server, _clients) = cluster(dir.path(), 1, &[]).await;
    let v1 = write_file(dir.path(), "plan.hcl", &service_job("plan", 1, ""));
    let v1 = v1.to_str().expect("utf-8");
    let (code, out) = run_cli(&server, &["job", "plan", v1]);
    assert_eq!(code, Some(1), "a new job creates allocations: {out}");
    assert!(out.contains("+ Job: \"plan\""), "{out}");
    assert!(out.contains("+ Task Group: \"g\" (1 create)"), "{out}");
    assert!(out.contains("- All tasks successfully allocated."), "{out}");
    assert!(
        out.contains(&format!("job run -check-index 0 {v1}")),
        "{out}"
    );
    let jobs = server.api().get_ok("/v1/jobs").await;
    assert_eq!(
        jobs.as_array().map(Vec::len),
        Some(0),
        "plan commits nothing"
    );

    let (code, out) = run_cli(&server, &["job", "run", "-check-index", "0", v1]);
    assert_eq!(code, Some(0), "{out}");
    wait_running(&server, "plan", 1).await;
    let (code, out) = run_cli(&server, &["job", "plan", v1]);
    assert_eq!(code, Some(0), "nothing changes: {out}");

    let v2 = write_file(dir.path(), "plan2.hcl", &service_job("plan", 2, ""));
    let v2 = v2.to_str().expect("utf-8");
    let (code, out) = run_cli(&server, &["job", "plan", v2]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("+/- Job: \"plan\""), "{out}");
    assert!(
        out.contains("+/- Count: \"1\" => \"2\" (forces create)"),
        "{out}"
    );
    assert!(out.contains("(1 create, 1 in-place update)"), "{out}");
    assert!(out.contains("      Task: \"t\""), "{out}");
    let index: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Job Modify Index: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the job modify index");
    assert!(index > 0, "{out}");

    let stale = (index - 1).to_string();
    let (code, out) = run_cli(&server, &["job", "run", "-check-index", &stale, v2]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("conflicting job modify index"), "{out}");
    assert_eq!(
        running_nodes(&server, "plan").await.len(),
        1,
        "nothing changed"
    );
    let fresh = index.to_string();
    let (code, out) = run_cli(&server, &["job", "run", "-check-index", &fresh, v2]);
    assert_eq!(code, Some(0), "{out}");
    wait_running(&server, "plan", 2).await;
}

#[tokio::test]
async fn scenario_12_a_panicking_evaluation_fails_alone() {
    let dir = nomadish_tests::test_dir();
    let env = [(nomadish_server::fault::PANIC_HOOK_ENV, "1")];
    let (server, _clients) = cluster(dir.path(), 1, &env).await;
    let leader = server.api().get_ok("/v1/status/leader").await;
    assert!(leader.as_str().is_some_and(|l| !l.is_empty()), "{leader}");
    let meta = format!(
        "meta {{\n      {} = \"yes\"\n    }}",
        nomadish_server::fault::PANIC_META_KEY
    );
    let file = write_file(dir.path(), "boom.hcl", &service_job("boom", 1, &meta));
    let (_, out) = run_cli(
        &server,
        &["job", "run", "-detach", file.to_str().expect("utf-8")],
    );
    assert!(out.contains("Evaluation ID"), "{out}");
    let api = server.api();
    let failed = wait_until("the evaluation marked failed", TIMEOUT, async || {
        let evals = api.get_ok("/v1/job/boom/evaluations").await;
        evals
            .as_array()
            .and_then(|a| a.iter().find(|e| e["Status"] == "failed").cloned())
    })
    .await;
    let description = failed["StatusDescription"].as_str().unwrap_or_default();
    assert!(description.contains("scheduler panicked"), "{failed}");
    assert_eq!(running_nodes(&server, "boom").await.len(), 0);

    // The server, its leadership and its workers carry on.
    let (code, out) = submit(&server, dir.path(), "after", &service_job("after", 2, ""));
    assert_eq!(code, Some(0), "{out}");
    wait_running(&server, "after", 2).await;
    let (status, _, _) = api.get("/v1/agent/health").await;
    assert!(status.is_success());
    assert_eq!(
        api.get_ok("/v1/status/leader").await,
        leader,
        "the same server still leads"
    );
    assert!(server.log().contains("scheduler panicked"));
}
