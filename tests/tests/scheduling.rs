//! Scheduling behaviour with real agent processes.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

const SYSTEM_JOB: &str = r#"
job "everywhere" {
  type = "system"
  group "g" {
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

fn running_nodes(allocs: &Value) -> Vec<String> {
    let mut nodes: Vec<String> = allocs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["ClientStatus"] == "running")
        .filter_map(|a| a["NodeID"].as_str().map(str::to_string))
        .collect();
    nodes.sort();
    nodes
}

#[tokio::test]
async fn system_job_lands_on_a_client_that_joins_later() {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let servers = vec![server.rpc.clone()];
    let _c1 = Agent::start(dir.path(), "c1", AgentKind::Client(servers.clone()), "").await;
    let api = server.api();
    wait_until("first node ready", TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    let spec = write_file(dir.path(), "system.hcl", SYSTEM_JOB);
    let out = cli(&server, &["job", "run", spec.to_str().expect("utf-8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("one running system allocation", TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/everywhere/allocations").await;
        (running_nodes(&allocs).len() == 1).then_some(())
    })
    .await;

    let _c2 = Agent::start(dir.path(), "c2", AgentKind::Client(servers), "").await;
    let nodes = wait_until(
        "a system allocation on each of the two nodes",
        TIMEOUT,
        async || {
            let allocs = api.get_ok("/v1/job/everywhere/allocations").await;
            let nodes = running_nodes(&allocs);
            (nodes.len() == 2).then_some(nodes)
        },
    )
    .await;
    assert_ne!(nodes[0], nodes[1], "one per node, not two on one");
}
