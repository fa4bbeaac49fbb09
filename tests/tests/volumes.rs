//! Host volumes and sticky ephemeral disks with a real agent: a raw_exec task writes through
//! a host volume mount and the file appears on the host; a job asking for a volume no node
//! has stays pending with the placement failure reason; a sticky disk's `alloc/data`
//! survives a job update on the same node.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, run_job, wait_until};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn wait_alloc(agent: &Agent, job: &str, version: u64, status: &str) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(
        &format!("{job} v{version} allocation {status}"),
        TIMEOUT,
        async || {
            let body = api.get_ok(&path).await;
            body.as_array()?
                .iter()
                .find(|a| a["ClientStatus"] == status && a["JobVersion"] == version)
                .cloned()
        },
    )
    .await
}

fn writer_job(source: &str) -> String {
    format!(
        r#"
job "writer" {{
  type        = "batch"
  datacenters = ["*"]
  group "g" {{
    volume "shared" {{
      type   = "host"
      source = "{source}"
    }}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    task "t" {{
      driver = "raw_exec"
      volume_mount {{
        volume      = "shared"
        destination = "shared"
      }}
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo written-through-the-mount > shared/out.txt"]
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

#[tokio::test]
async fn host_volumes_are_mounted_and_missing_ones_keep_jobs_pending() {
    let dir = nomadish_tests::test_dir();
    let host = dir.path().join("host-shared");
    std::fs::create_dir_all(&host).expect("host dir");
    let extra = format!(
        "client {{\n  host_volume \"shared\" {{\n    path = \"{}\"\n  }}\n}}\n",
        host.display()
    );
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, &extra).await;
    let api = agent.api();

    // The node advertises the volume in Nomad's shape.
    let nodes = api.get_ok("/v1/nodes").await;
    let node_id = nodes[0]["ID"].as_str().expect("node id").to_string();
    let node = api.get_ok(&format!("/v1/node/{node_id}")).await;
    assert_eq!(
        node["HostVolumes"]["shared"]["Path"],
        host.display().to_string()
    );
    assert_eq!(node["HostVolumes"]["shared"]["ReadOnly"], false);

    // A raw_exec task writes through the mount; the file is on the host.
    run_job(&agent, dir.path(), "writer", &writer_job("shared"));
    wait_alloc(&agent, "writer", 0, "complete").await;
    let written = std::fs::read_to_string(host.join("out.txt")).expect("file on the host");
    assert_eq!(written.trim(), "written-through-the-mount");

    // A volume no node offers: the job stays pending and the eval says why.
    let missing = writer_job("nope").replace("job \"writer\"", "job \"needy\"");
    run_job(&agent, dir.path(), "needy", &missing);
    let reason = wait_until("needy's blocked placement", TIMEOUT, async || {
        let evals = api.get_ok("/v1/job/needy/evaluations").await;
        evals.as_array()?.iter().find_map(|e| {
            let filtered = &e["FailedTGAllocs"]["g"]["ConstraintFiltered"];
            filtered["missing compatible host volumes"].as_i64()
        })
    })
    .await;
    assert_eq!(reason, 1);
    let job = api.get_ok("/v1/job/needy").await;
    assert_eq!(job["Status"], "pending");
    let allocs = api.get_ok("/v1/job/needy/allocations").await;
    assert_eq!(allocs.as_array().map(Vec::len), Some(0));
}

fn sticky_job(script: &str) -> String {
    format!(
        r#"
job "sticky" {{
  datacenters = ["*"]
  group "g" {{
    ephemeral_disk {{
      size   = 150
      sticky = true
    }}
    update {{
      min_healthy_time = "1s"
      healthy_deadline = "30s"
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}; exec sleep 3600"]
      }}
      kill_timeout = "1s"
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

#[tokio::test]
async fn a_sticky_disk_survives_a_job_update() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let v1 = "echo from-v1 > $NOMAD_ALLOC_DIR/data/state";
    run_job(&agent, dir.path(), "sticky-v1", &sticky_job(v1));
    let first = wait_alloc(&agent, "sticky", 0, "running").await;
    let first_id = first["ID"].as_str().expect("id").to_string();
    let data_file = dir
        .path()
        .join("dev/alloc")
        .join(&first_id)
        .join("alloc/data/state");
    wait_until("v1 wrote its state", TIMEOUT, async || {
        data_file.exists().then_some(())
    })
    .await;

    let v2 = "echo v2 read $(cat $NOMAD_ALLOC_DIR/data/state)";
    run_job(&agent, dir.path(), "sticky-v2", &sticky_job(v2));
    let second = wait_alloc(&agent, "sticky", 1, "running").await;
    assert_eq!(second["PreviousAllocation"], first_id.as_str());
    assert_eq!(second["NodeID"], first["NodeID"]);
    let id = second["ID"].as_str().expect("id").to_string();
    let logs = wait_until("v2 printed v1's state", TIMEOUT, async || {
        let out = cli(&agent, &["alloc", "logs", &id, "t"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("v2 read").then_some(text)
    })
    .await;
    assert!(logs.contains("v2 read from-v1"), "logs: {logs}");
}
