//! Services and checks (`provider = "nomad"`) with real agent processes: one server, one
//! client, a raw_exec task serving HTTP with `busybox httpd` on its allocated port.
//!
//! A passing http check lets the deployment succeed; the registration carries the allocated
//! port, `nomadish service info|list` show it, and stopping the job removes it. A check against
//! a path that 404s keeps the allocation unhealthy and the deployment fails.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, Api, cli, wait_until, write_file};
use serde_json::Value;

/// Waits for agents, placements, health and deregistration.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Where Debian's `busybox-static` installs the binary (.ci/run installs it).
const BUSYBOX: &str = "/bin/busybox";

fn spec(job: &str, check_path: &str) -> String {
    format!(
        r#"
job "{job}" {{
  datacenters = ["*"]
  group "app" {{
    update {{
      health_check      = "checks"
      min_healthy_time  = "1s"
      healthy_deadline  = "6s"
      progress_deadline = "20s"
    }}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    network {{
      port "http" {{}}
    }}
    service {{
      name     = "{job}-web"
      provider = "nomad"
      port     = "http"
      tags     = ["v1", "http"]
      check {{
        name     = "index"
        type     = "http"
        path     = "{check_path}"
        interval = "1s"
        timeout  = "1s"
      }}
    }}
    task "httpd" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "mkdir -p www && echo ok > www/index.html && exec {BUSYBOX} httpd -f -p 127.0.0.1:$NOMAD_PORT_http -h www"]
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
    _client: Agent,
    api: Api,
}

async fn cluster() -> Cluster {
    assert!(
        std::path::Path::new(BUSYBOX).exists(),
        "{BUSYBOX} is missing: install busybox-static"
    );
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let client = Agent::start(
        dir.path(),
        "c1",
        AgentKind::Client(vec![server.rpc.clone()]),
        "",
    )
    .await;
    let api = server.api();
    wait_until("a ready node", TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        nodes
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["Status"] == "ready"))
            .then_some(())
    })
    .await;
    Cluster {
        dir,
        server,
        _client: client,
        api,
    }
}

fn run_cli(c: &Cluster, args: &[&str]) -> (Option<i32>, String) {
    let out = cli(&c.server, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn submit(c: &Cluster, job: &str, check_path: &str) {
    let path = write_file(c.dir.path(), &format!("{job}.hcl"), &spec(job, check_path));
    let (code, out) = run_cli(c, &["job", "run", "-detach", path.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out}");
}

async fn deployment_status(api: &Api, job: &str) -> Option<String> {
    let d = api.get_ok(&format!("/v1/job/{job}/deployment")).await;
    d["Status"].as_str().map(str::to_string)
}

/// The first allocation of the job.
async fn first_alloc(api: &Api, job: &str) -> Option<Value> {
    let list = api.get_ok(&format!("/v1/job/{job}/allocations")).await;
    let id = list.as_array()?.first()?["ID"].as_str()?.to_string();
    Some(api.get_ok(&format!("/v1/allocation/{id}")).await)
}

fn allocated_port(alloc: &Value) -> Option<u64> {
    alloc["AllocatedResources"]["Shared"]["Ports"]
        .as_array()?
        .iter()
        .find(|p| p["Label"] == "http")?["Value"]
        .as_u64()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passing_check_registers_the_service_and_the_deployment_succeeds() {
    let c = cluster().await;
    submit(&c, "good", "/index.html");
    wait_until("a successful deployment", TIMEOUT, async || {
        (deployment_status(&c.api, "good").await.as_deref() == Some("successful")).then_some(())
    })
    .await;
    let alloc = first_alloc(&c.api, "good").await.expect("an allocation");
    assert_eq!(alloc["DeploymentStatus"]["Healthy"], true, "{alloc}");
    let port = allocated_port(&alloc).expect("an allocated http port");
    let alloc_id = alloc["ID"].as_str().expect("id").to_string();

    let regs = c.api.get_ok("/v1/service/good-web").await;
    let regs = regs.as_array().cloned().unwrap_or_default();
    assert_eq!(regs.len(), 1, "{regs:?}");
    let r = &regs[0];
    assert_eq!(r["Port"].as_u64(), Some(port), "{r}");
    assert_eq!(r["Address"], "127.0.0.1", "{r}");
    assert_eq!(r["AllocID"], alloc_id.as_str());
    assert_eq!(r["JobID"], "good");
    assert_eq!(
        r["ID"],
        format!("_nomad-task-{alloc_id}-group-app-good-web-http").as_str()
    );

    let list = c.api.get_ok("/v1/services").await;
    assert_eq!(list[0]["Namespace"], "default", "{list}");
    assert_eq!(list[0]["Services"][0]["ServiceName"], "good-web", "{list}");
    assert_eq!(
        list[0]["Services"][0]["Tags"],
        serde_json::json!(["http", "v1"])
    );

    let (code, out) = run_cli(&c, &["service", "info", "good-web"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert!(out.contains("[v1,http]"), "{out}");
    let (code, out) = run_cli(&c, &["service", "info", "-verbose", "good-web"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&alloc_id), "{out}");
    let (code, out) = run_cli(&c, &["service", "list"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("good-web") && out.contains("[http,v1]"),
        "{out}"
    );

    let (code, out) = run_cli(&c, &["job", "stop", "-detach", "good"]);
    assert_eq!(code, Some(0), "{out}");
    wait_until("the registration to go", TIMEOUT, async || {
        let regs = c.api.get_ok("/v1/service/good-web").await;
        regs.as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .await;
    let (code, out) = run_cli(&c, &["service", "info", "good-web"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("No service registrations found"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_http_check_makes_the_allocation_unhealthy_and_fails_the_deployment() {
    let c = cluster().await;
    submit(&c, "bad", "/missing");
    // The task runs and its service is registered, but the check answers 404.
    wait_until("the registration", TIMEOUT, async || {
        let regs = c.api.get_ok("/v1/service/bad-web").await;
        regs.as_array().is_some_and(|r| r.len() == 1).then_some(())
    })
    .await;
    let status = wait_until("a finished deployment", TIMEOUT, async || {
        deployment_status(&c.api, "bad")
            .await
            .filter(|s| s != "running")
    })
    .await;
    assert_eq!(status, "failed");
    let d = c.api.get_ok("/v1/job/bad/deployment").await;
    assert_eq!(d["TaskGroups"]["app"]["UnhealthyAllocs"], 1, "{d}");
    assert_eq!(d["TaskGroups"]["app"]["HealthyAllocs"], 0, "{d}");
    let alloc = first_alloc(&c.api, "bad").await.expect("an allocation");
    assert_eq!(alloc["DeploymentStatus"]["Healthy"], false, "{alloc}");
    assert_eq!(alloc["ClientStatus"], "running", "the task itself runs");
}
