//! Task features the jobspec names, checked end to end with a real agent: `meta` at job,
//! group and task level reaches the environment, a `leader` task's exit stops its siblings
//! with their `kill_signal`, and `shutdown_delay` (group plus task) holds the kill signal back.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, run_job, wait_until};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn first_alloc(agent: &Agent, job: &str, status: &str) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(&format!("{job} allocation {status}"), TIMEOUT, async || {
        let body = api.get_ok(&path).await;
        body.as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == status)
            .cloned()
    })
    .await
}

fn logs(agent: &Agent, alloc: &str, task: &str) -> String {
    let out = cli(agent, &["alloc", "logs", alloc, task]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const LEADER_JOB: &str = r#"
job "features" {
  type        = "batch"
  datacenters = ["*"]
  meta {
    team = "core"
  }
  group "g" {
    meta {
      level = "group"
    }
    task "leader" {
      driver = "raw_exec"
      leader = true
      meta {
        role = "leader"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo meta $NOMAD_META_team $NOMAD_META_level $NOMAD_META_role; sleep 2"]
      }
    }
    task "follower" {
      driver      = "raw_exec"
      kill_signal = "SIGUSR1"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-usr1; exit 0' USR1; while true; do sleep 0.2; done"]
      }
    }
  }
}
"#;

const DELAY_JOB: &str = r#"
job "delayed" {
  datacenters = ["*"]
  group "g" {
    shutdown_delay = "1s"
    task "t" {
      driver         = "raw_exec"
      shutdown_delay = "1s"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}
"#;

/// The time of the first event of `kind` of task `task`.
fn event_time(alloc: &Value, task: &str, kind: &str) -> Option<i64> {
    alloc["TaskStates"][task]["Events"]
        .as_array()?
        .iter()
        .find(|e| e["Type"] == kind)
        .and_then(|e| e["Time"].as_i64())
}

#[tokio::test]
async fn meta_leader_kill_signal_and_shutdown_delay_work() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;

    run_job(&agent, dir.path(), "features", LEADER_JOB);
    let alloc = first_alloc(&agent, "features", "complete").await;
    let id = alloc["ID"].as_str().expect("id");
    let leader = logs(&agent, id, "leader");
    assert!(
        leader.contains("meta core group leader"),
        "leader logs: {leader}"
    );
    let follower = logs(&agent, id, "follower");
    assert!(follower.contains("got-usr1"), "follower logs: {follower}");

    run_job(&agent, dir.path(), "delayed", DELAY_JOB);
    let alloc = first_alloc(&agent, "delayed", "running").await;
    let id = alloc["ID"].as_str().expect("id").to_string();
    let out = cli(&agent, &["job", "stop", "-detach", "delayed"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api = agent.api();
    let stopped = wait_until("the delayed task is killed", TIMEOUT, async || {
        let a = api.get_ok(&format!("/v1/allocation/{id}")).await;
        event_time(&a, "t", "Killed").map(|_| a)
    })
    .await;
    let waiting = event_time(&stopped, "t", "Waiting for shutdown delay").expect("waiting event");
    let killing = event_time(&stopped, "t", "Killing").expect("killing event");
    let waited = Duration::from_nanos(u64::try_from(killing - waiting).unwrap_or(0));
    assert!(
        waited >= Duration::from_millis(1900),
        "the kill signal waited {waited:?}, want the 2s of group + task shutdown_delay"
    );
}
