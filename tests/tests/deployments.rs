//! Deployments with real agent processes: one server, three clients, raw_exec tasks.
//!
//! A rolling update with a canary is promoted with `nomadish deployment promote` and completes;
//! a failing canary with `auto_revert` fails its deployment and the job goes back to its last
//! stable version.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, Api, cli, wait_until, write_file};
use serde_json::Value;

/// Waits for agents, placements and health (min_healthy_time is 1s).
const TIMEOUT: Duration = Duration::from_secs(60);

/// The job: three allocations rolled one at a time behind one canary.
fn spec(script: &str) -> String {
    format!(
        r#"
job "web" {{
  datacenters = ["*"]
  group "app" {{
    count = 3
    update {{
      max_parallel      = 1
      canary            = 1
      min_healthy_time  = "1s"
      healthy_deadline  = "30s"
      progress_deadline = "2m"
      auto_revert       = true
    }}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
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

const V0: &str = "echo v0; while true; do sleep 1; done";
const V1_GOOD: &str = "echo v1; while true; do sleep 1; done";
const V1_BAD: &str = "echo v1; exit 1";

struct Cluster {
    _dir: nomadish_tests::TestDir,
    server: Agent,
    _clients: Vec<Agent>,
    api: Api,
}

async fn cluster() -> Cluster {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let servers = vec![server.rpc.clone()];
    let mut clients = Vec::new();
    for name in ["c1", "c2", "c3"] {
        clients.push(Agent::start(dir.path(), name, AgentKind::Client(servers.clone()), "").await);
    }
    let api = server.api();
    wait_until("three ready nodes", TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready = nodes
            .as_array()
            .map_or(0, |n| n.iter().filter(|n| n["Status"] == "ready").count());
        (ready == 3).then_some(())
    })
    .await;
    Cluster {
        _dir: dir,
        server,
        _clients: clients,
        api,
    }
}

fn run(c: &Cluster, name: &str, script: &str, detach: bool) -> String {
    let path = write_file(c._dir.path(), name, &spec(script));
    let path = path.to_str().expect("utf-8");
    let args: Vec<&str> = if detach {
        vec!["job", "run", "-detach", path]
    } else {
        vec!["job", "run", path]
    };
    let out = cli(&c.server, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The deployment of a job version, once it exists.
async fn deployment_of(api: &Api, version: u64) -> Option<Value> {
    let list = api.get_ok("/v1/job/web/deployments").await;
    list.as_array()?
        .iter()
        .find(|d| d["JobVersion"] == version)
        .cloned()
}

/// Running allocations' job versions.
async fn running_versions(api: &Api) -> Vec<u64> {
    let allocs = api.get_ok("/v1/job/web/allocations").await;
    let mut v: Vec<u64> = allocs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .filter_map(|a| a["JobVersion"].as_u64())
        .collect();
    v.sort_unstable();
    v
}

/// Runs v0 and waits (through `job run`'s deployment monitor) until it is healthy and stable.
async fn deploy_v0(c: &Cluster) {
    let out = run(c, "v0.hcl", V0, false);
    assert!(out.contains("Monitoring deployment"), "{out}");
    let d = deployment_of(&c.api, 0).await.expect("v0 deployment");
    assert_eq!(d["Status"], "successful", "{d}");
    let job = c.api.get_ok("/v1/job/web").await;
    assert_eq!(
        job["Stable"], true,
        "a successful deployment marks the version stable"
    );
    assert_eq!(running_versions(&c.api).await, vec![0, 0, 0]);
}

#[tokio::test]
async fn canary_is_promoted_and_the_rollout_completes() {
    let c = cluster().await;
    deploy_v0(&c).await;
    run(&c, "v1.hcl", V1_GOOD, true);
    let d = wait_until(
        "a healthy canary waiting for promotion",
        TIMEOUT,
        async || {
            let d = deployment_of(&c.api, 1).await?;
            let g = &d["TaskGroups"]["app"];
            (g["HealthyAllocs"] == 1 && g["DesiredCanaries"] == 1).then_some(d)
        },
    )
    .await;
    assert_eq!(
        d["StatusDescription"],
        "Deployment is running but requires manual promotion"
    );
    assert_eq!(
        running_versions(&c.api).await,
        vec![0, 0, 0, 1],
        "canary beside the old ones"
    );
    let id = d["ID"].as_str().expect("id").to_string();

    let status = cli(&c.server, &["deployment", "status", &id[..8]]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("Deployed") && text.contains("Canaries"),
        "{text}"
    );

    for (verb, status) in [("pause", "paused"), ("resume", "running")] {
        let out = cli(&c.server, &["deployment", verb, "-detach", &id[..8]]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let d = c.api.get_ok(&format!("/v1/deployment/{id}")).await;
        assert_eq!(d["Status"], status);
    }

    let out = cli(&c.server, &["deployment", "promote", "-detach", &id[..8]]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("the deployment succeeds", TIMEOUT, async || {
        let d = deployment_of(&c.api, 1).await?;
        (d["Status"] == "successful").then_some(())
    })
    .await;
    wait_until("every running allocation on v1", TIMEOUT, async || {
        (running_versions(&c.api).await == vec![1, 1, 1]).then_some(())
    })
    .await;
    let out = cli(&c.server, &["job", "status", "web"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Latest Deployment") && text.contains("successful"),
        "{text}"
    );
    let again = cli(&c.server, &["deployment", "promote", &id]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("can't promote terminal deployment"), "{err}");
    let list = cli(&c.server, &["deployment", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).lines().count(),
        3,
        "header + 2"
    );
}

#[tokio::test]
async fn failing_canary_auto_reverts_to_the_stable_version() {
    let c = cluster().await;
    deploy_v0(&c).await;
    run(&c, "v1.hcl", V1_BAD, true);
    let d = wait_until("the v1 deployment fails", TIMEOUT, async || {
        let d = deployment_of(&c.api, 1).await?;
        (d["Status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(
        d["StatusDescription"],
        "Failed due to unhealthy allocations - rolling back to job version 0"
    );
    let id = d["ID"].as_str().expect("id");
    let fail = cli(&c.server, &["deployment", "fail", id]);
    assert_eq!(fail.status.code(), Some(1));
    let err = String::from_utf8_lossy(&fail.stderr);
    assert!(err.contains("can't fail terminal deployment"), "{err}");
    let job = wait_until("the job is reverted as version 2", TIMEOUT, async || {
        let job = c.api.get_ok("/v1/job/web").await;
        (job["Version"] == 2).then_some(job)
    })
    .await;
    let args = &job["TaskGroups"][0]["Tasks"][0]["Config"]["args"];
    assert_eq!(args[1], V0, "version 2 is version 0's specification");
    wait_until(
        "three running allocations of the reverted version",
        TIMEOUT,
        async || (running_versions(&c.api).await == vec![2, 2, 2]).then_some(()),
    )
    .await;
    // The old allocations were updated in place into the new version's deployment; their
    // health is decided again and the reverted version becomes stable.
    wait_until(
        "the reverted version's deployment succeeds",
        TIMEOUT,
        async || {
            let d = deployment_of(&c.api, 2).await?;
            (d["Status"] == "successful").then_some(())
        },
    )
    .await;
    assert_eq!(c.api.get_ok("/v1/job/web").await["Stable"], true);
}
