//! Placement with real agent processes: one server and three clients with node meta
//! (`rack`) and datacenters, where constraints, `spread` and static host ports place as asked.
//!
//! ```text
//!   c1  dc1   rack = r0
//!   c2  dc1   rack = r1
//!   c3  solo  rack = r2     (the only node of datacenter "solo")
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, Api, cli, wait_until, write_file};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A static port unlikely to matter on the test host (nothing binds it).
const STATIC_PORT: u16 = 9876;

/// A job of `count` raw_exec tasks printing their port variables, with `placement` (HCL
/// inside the group) and the given datacenters.
fn job(id: &str, count: u32, datacenters: &str, placement: &str) -> String {
    format!(
        r#"
job "{id}" {{
  datacenters = [{datacenters}]
  group "g" {{
    count = {count}
{placement}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo port=$NOMAD_PORT_http host=$NOMAD_HOST_PORT_http; while true; do sleep 1; done"]
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

struct Cluster {
    dir: nomadish_tests::TestDir,
    server: Agent,
    _clients: Vec<Agent>,
    /// Node ID -> rack.
    racks: BTreeMap<String, String>,
}

async fn cluster() -> Cluster {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let servers = vec![server.rpc.clone()];
    let mut clients = Vec::new();
    for (name, dc, rack) in [
        ("c1", "dc1", "r0"),
        ("c2", "dc1", "r1"),
        ("c3", "solo", "r2"),
    ] {
        let extra = format!(
            "datacenter = \"{dc}\"\nclient {{\n  meta {{\n    rack = \"{rack}\"\n  }}\n}}\n"
        );
        clients
            .push(Agent::start(dir.path(), name, AgentKind::Client(servers.clone()), &extra).await);
    }
    let api = server.api();
    let racks = wait_until("three ready nodes", TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready: Vec<&Value> = nodes
            .as_array()?
            .iter()
            .filter(|n| n["Status"] == "ready")
            .collect();
        (ready.len() == 3).then_some(())?;
        let mut racks = BTreeMap::new();
        for n in ready {
            let id = n["ID"].as_str()?.to_string();
            let node = api.get_ok(&format!("/v1/node/{id}")).await;
            racks.insert(id, node["Meta"]["rack"].as_str()?.to_string());
        }
        Some(racks)
    })
    .await;
    Cluster {
        dir,
        server,
        _clients: clients,
        racks,
    }
}

fn run_job(c: &Cluster, file: &str, spec: &str) {
    let path = write_file(c.dir.path(), file, spec);
    let out = cli(
        &c.server,
        &["job", "run", "-detach", path.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `count` allocations of the job run; returns them.
async fn running(api: &Api, job: &str, count: usize) -> Vec<Value> {
    wait_until(
        &format!("{count} running allocations of {job}"),
        TIMEOUT,
        async || {
            let allocs = api.get_ok(&format!("/v1/job/{job}/allocations")).await;
            let running: Vec<Value> = allocs
                .as_array()?
                .iter()
                .filter(|a| a["ClientStatus"] == "running")
                .cloned()
                .collect();
            (running.len() == count).then_some(running)
        },
    )
    .await
}

fn racks_of(c: &Cluster, allocs: &[Value]) -> Vec<String> {
    let mut racks: Vec<String> = allocs
        .iter()
        .map(|a| c.racks[a["NodeID"].as_str().expect("node id")].clone())
        .collect();
    racks.sort();
    racks
}

#[tokio::test]
async fn constraint_spread_and_static_ports_place_as_asked() {
    let c = cluster().await;
    let api = c.server.api();

    // A constraint: only the r1 client qualifies.
    let constraint =
        "    constraint {\n      attribute = \"${meta.rack}\"\n      value     = \"r1\"\n    }\n";
    run_job(&c, "pinned.hcl", &job("pinned", 2, "\"*\"", constraint));
    let allocs = running(&api, "pinned", 2).await;
    assert_eq!(racks_of(&c, &allocs), vec!["r1", "r1"]);

    // An even spread over the racks: one per client.
    let spread = "    spread {\n      attribute = \"${meta.rack}\"\n    }\n";
    run_job(&c, "spread.hcl", &job("spread", 3, "\"*\"", spread));
    let allocs = running(&api, "spread", 3).await;
    assert_eq!(racks_of(&c, &allocs), vec!["r0", "r1", "r2"]);

    // A static port on the one-node datacenter: granted, and visible to the task.
    let port = format!(
        "    network {{\n      port \"http\" {{\n        static = {STATIC_PORT}\n      }}\n    }}\n"
    );
    run_job(&c, "web.hcl", &job("web", 1, "\"solo\"", &port));
    let alloc = &running(&api, "web", 1).await[0];
    let id = alloc["ID"].as_str().expect("alloc id").to_string();
    let full = api.get_ok(&format!("/v1/allocation/{id}")).await;
    let ports = &full["AllocatedResources"]["Shared"]["Ports"];
    assert_eq!(ports[0]["Label"], "http", "{ports}");
    assert_eq!(ports[0]["Value"], STATIC_PORT, "{ports}");
    let logs = format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true");
    let want = format!("port={STATIC_PORT} host={STATIC_PORT}");
    wait_until("the task prints its port", TIMEOUT, async || {
        let (code, text) = api.get_text(&logs).await;
        (code.is_success() && text.contains(&want)).then_some(())
    })
    .await;

    // A second job asking the same static port there is blocked, with Nomad's reason.
    run_job(&c, "web2.hcl", &job("web2", 1, "\"solo\"", &port));
    let reason = format!("network: reserved port collision http={STATIC_PORT}");
    wait_until(
        "a blocked evaluation naming the port",
        TIMEOUT,
        async || {
            let evals = api.get_ok("/v1/job/web2/evaluations").await;
            let evals = evals.as_array()?;
            let blocked = evals.iter().any(|e| e["Status"] == "blocked");
            let explained = evals.iter().any(|e| {
                e["FailedTGAllocs"]["g"]["DimensionExhausted"][&reason].as_i64() == Some(1)
            });
            (blocked && explained).then_some(())
        },
    )
    .await;
    let allocs = api.get_ok("/v1/job/web2/allocations").await;
    assert_eq!(allocs.as_array().map(Vec::len), Some(0), "{allocs}");
}

#[tokio::test]
async fn scheduler_configuration_round_trips_through_cli_and_api() {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let api = server.api();
    let conf = api.get_ok("/v1/operator/scheduler/configuration").await;
    let c = &conf["SchedulerConfig"];
    assert_eq!(c["SchedulerAlgorithm"], "binpack", "{conf}");
    assert_eq!(
        c["PreemptionConfig"]["SystemSchedulerEnabled"], true,
        "{conf}"
    );
    assert_eq!(
        c["PreemptionConfig"]["ServiceSchedulerEnabled"], false,
        "{conf}"
    );

    let out = cli(
        &server,
        &[
            "operator",
            "scheduler",
            "set-config",
            "-scheduler-algorithm=spread",
            "-check-index",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Scheduler configuration updated!"),
        "{stdout}"
    );
    let out = cli(&server, &["operator", "scheduler", "get-config"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Scheduler Algorithm     = spread"),
        "{stdout}"
    );
    assert!(stdout.contains("System Scheduler   = true"), "{stdout}");

    // A stale compare-and-set index changes nothing.
    let conf = api.get_ok("/v1/operator/scheduler/configuration").await;
    let modify = conf["SchedulerConfig"]["ModifyIndex"]
        .as_u64()
        .expect("index");
    let body = serde_json::json!({"SchedulerAlgorithm": "binpack"});
    let stale = format!("/v1/operator/scheduler/configuration?cas={}", modify - 1);
    let (code, resp) = api.put_json(&stale, &body).await;
    assert!(code.is_success(), "{code} {resp}");
    assert_eq!(resp["Updated"], false, "{resp}");
    let (code, resp) = api
        .put_json(
            "/v1/operator/scheduler/configuration?cas=0",
            &serde_json::json!({"SchedulerAlgorithm": "random"}),
        )
        .await;
    assert_eq!(code.as_u16(), 400, "{resp}");
    let conf = api.get_ok("/v1/operator/scheduler/configuration").await;
    assert_eq!(
        conf["SchedulerConfig"]["SchedulerAlgorithm"], "spread",
        "{conf}"
    );
}
