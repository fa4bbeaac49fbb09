//! The SSH driver end to end: a dev agent process whose client has `plugin "ssh"`
//! configured runs jobs on a real OpenSSH server started by the test (127.0.0.1, free port).
//! Needs /usr/sbin/sshd: fails in CI (`CI=true`) without it, skips elsewhere.

use std::time::{Duration, Instant};

use nomadish_tests::sshd::{Sshd, process_running};
use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use reqwest::StatusCode;
use serde_json::Value;

/// Time for a job to be scheduled and its task to run or fail.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A dev agent whose client authenticates to `sshd` and trusts its key via known_hosts.
async fn agent(dir: &std::path::Path, sshd: &Sshd) -> Agent {
    let known_hosts = write_file(
        dir,
        "known_hosts",
        &format!("{}\n", sshd.known_hosts_line()),
    );
    let plugin = format!(
        "plugin \"ssh\" {{\n  config {{\n    private_key_file = \"{}\"\n    known_hosts_file = \"{}\"\n    connect_timeout = \"10s\"\n    circuit_breaker_failures = 5\n    circuit_breaker_cooldown = \"5m\"\n  }}\n}}\n",
        sshd.client_key.display(),
        known_hosts.display()
    );
    Agent::start(dir, "dev", AgentKind::Dev, &plugin).await
}

/// A job with one SSH task; `config` is the body of the task's `config` block.
fn job(name: &str, kind: &str, config: &str, restart: &str) -> String {
    format!(
        r#"
job "{name}" {{
  type = "{kind}"
  reschedule {{
    attempts  = 0
    unlimited = false
  }}
  group "g" {{
    restart {{
      {restart}
    }}
    task "remote" {{
      driver       = "ssh"
      kill_timeout = "2s"
      config {{
        {config}
      }}
      env {{
        GREETING = "it's me"
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

fn target(sshd: &Sshd, port: u16) -> String {
    format!(
        "host = \"127.0.0.1\"\n        port = {port}\n        user = \"{}\"",
        sshd.user
    )
}

/// Waits until `job` has an allocation with this client status; returns it.
async fn wait_alloc(agent: &Agent, job: &str, status: &str) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(
        &format!("an allocation of {job} {status}"),
        RUN_TIMEOUT,
        async || {
            let allocs = api.get_ok(&path).await;
            allocs
                .as_array()?
                .iter()
                .find(|a| a["ClientStatus"] == status)
                .cloned()
        },
    )
    .await
}

/// The task's events (type, message) of the full allocation.
async fn task_events(agent: &Agent, alloc_id: &str) -> Vec<(String, String, i64)> {
    let alloc = agent
        .api()
        .get_ok(&format!("/v1/allocation/{alloc_id}"))
        .await;
    alloc["TaskStates"]["remote"]["Events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["Type"].as_str().unwrap_or_default().to_string(),
                e["DisplayMessage"]
                    .as_str()
                    .filter(|m| !m.is_empty())
                    .or(e["Message"].as_str())
                    .or(e["DriverError"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                e["Time"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn ssh_job_runs_and_its_output_comes_back() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = nomadish_tests::test_dir();
    let agent = agent(dir.path(), &sshd).await;
    let api = agent.api();
    let nodes = api.get_ok("/v1/nodes").await;
    let node = api
        .get_ok(&format!("/v1/node/{}", nodes[0]["ID"].as_str().unwrap()))
        .await;
    assert_eq!(node["Attributes"]["driver.ssh"], "1", "{node}");
    let config = format!(
        "{}\n        command = \"sh\"\n        args = [\"-c\", \"echo \\\"hello over ssh: $GREETING\\\"; echo to-stderr >&2\"]",
        target(&sshd, sshd.port)
    );
    let spec = write_file(
        dir.path(),
        "hello.hcl",
        &job(
            "hello-ssh",
            "batch",
            &config,
            "attempts = 0\n      mode = \"fail\"",
        ),
    );
    let out = cli(&agent, &["job", "run", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let alloc = wait_alloc(&agent, "hello-ssh", "complete").await;
    let alloc_id = alloc["ID"].as_str().unwrap().to_string();

    let out = cli(&agent, &["alloc", "logs", &alloc_id[..8]]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("hello over ssh: it's me"),
        "{}",
        stdout(&out)
    );
    let out = cli(&agent, &["alloc", "logs", "-stderr", &alloc_id[..8]]);
    // Like Nomad, the CLI copies the task's stderr to its own stderr.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("to-stderr"),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, text) = api
        .get_text(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=remote&type=stdout&plain=true"
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(text, "hello over ssh: it's me\n");
}

#[tokio::test]
async fn a_wrong_host_key_fails_the_task_with_the_offered_fingerprint() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = nomadish_tests::test_dir();
    let agent = agent(dir.path(), &sshd).await;
    let config = format!(
        "{}\n        command = \"true\"\n        host_key = \"{}\"",
        target(&sshd, sshd.port),
        sshd.other_key
    );
    let spec = write_file(
        dir.path(),
        "pinned.hcl",
        &job(
            "pinned",
            "batch",
            &config,
            "attempts = 0\n      mode = \"fail\"",
        ),
    );
    cli(&agent, &["job", "run", "-detach", spec.to_str().unwrap()]);
    let alloc = wait_alloc(&agent, "pinned", "failed").await;
    let events = task_events(&agent, alloc["ID"].as_str().unwrap()).await;
    let failure = events
        .iter()
        .find(|(kind, _, _)| kind == "Driver Failure")
        .unwrap_or_else(|| panic!("no driver failure in {events:?}"));
    assert!(
        failure.1.contains(&sshd.host_fingerprint) && failure.1.contains("host_key"),
        "{events:?}"
    );
    assert_eq!(sshd.logins(), 0, "no login to an unverified host");
}

#[tokio::test]
async fn the_circuit_opens_after_five_failed_connections() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = nomadish_tests::test_dir();
    let agent = agent(dir.path(), &sshd).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = format!("{}\n        command = \"true\"", target(&sshd, closed_port));
    // Five restarts: five connection failures, then the sixth start meets the open circuit.
    let restart =
        "attempts = 5\n      interval = \"5m\"\n      delay = \"200ms\"\n      mode = \"fail\"";
    let spec = write_file(
        dir.path(),
        "down.hcl",
        &job("down", "batch", &config, restart),
    );
    cli(&agent, &["job", "run", "-detach", spec.to_str().unwrap()]);
    let alloc = wait_alloc(&agent, "down", "failed").await;
    let events = task_events(&agent, alloc["ID"].as_str().unwrap()).await;
    let failures: Vec<&(String, String, i64)> = events
        .iter()
        .filter(|(kind, _, _)| kind == "Driver Failure")
        .collect();
    let last = failures.last().expect("driver failures");
    assert!(last.1.starts_with("circuit open until "), "{events:?}");
    assert!(
        failures[..failures.len() - 1]
            .iter()
            .all(|(_, m, _)| m.contains("connection to 127.0.0.1")),
        "{events:?}"
    );
    // A new job for that endpoint fails at once, well under the 10s connect_timeout.
    let spec = write_file(
        dir.path(),
        "down2.hcl",
        &job(
            "down2",
            "batch",
            &config,
            "attempts = 0\n      mode = \"fail\"",
        ),
    );
    cli(&agent, &["job", "run", "-detach", spec.to_str().unwrap()]);
    let alloc = wait_alloc(&agent, "down2", "failed").await;
    let events = task_events(&agent, alloc["ID"].as_str().unwrap()).await;
    let received = events.iter().find(|(k, _, _)| k == "Received").map(|e| e.2);
    let failure = events
        .iter()
        .find(|(k, _, _)| k == "Driver Failure")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(failure.1.starts_with("circuit open until "), "{events:?}");
    if let Some(received) = received {
        let took = Duration::from_nanos((failure.2 - received).max(0) as u64);
        assert!(took < Duration::from_secs(2), "took {took:?}: {events:?}");
    }
}

#[tokio::test]
async fn stopping_an_ssh_task_stops_the_remote_process() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = nomadish_tests::test_dir();
    let agent = agent(dir.path(), &sshd).await;
    let marker = format!("{}.{}", 7000 + (std::process::id() % 1000), 4321);
    let config = format!(
        "{}\n        command = \"sh\"\n        args = [\"-c\", \"trap '' INT TERM; sleep {marker} & wait; wait\"]",
        target(&sshd, sshd.port)
    );
    let spec = write_file(
        dir.path(),
        "long.hcl",
        &job(
            "long",
            "service",
            &config,
            "attempts = 0\n      mode = \"fail\"",
        ),
    );
    cli(&agent, &["job", "run", "-detach", spec.to_str().unwrap()]);
    wait_alloc(&agent, "long", "running").await;
    let needle = format!("sleep {marker}");
    wait_until("the remote process runs", RUN_TIMEOUT, async || {
        process_running(&needle).then_some(())
    })
    .await;
    let out = cli(&agent, &["job", "stop", "long"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let begun = Instant::now();
    wait_until("the remote process is gone", RUN_TIMEOUT, async || {
        (!process_running(&needle)).then_some(())
    })
    .await;
    // It ignores the kill signal, so it dies of the SIGKILL after kill_timeout.
    assert!(begun.elapsed() < Duration::from_secs(15));
    wait_alloc(&agent, "long", "complete").await;
}

#[tokio::test]
async fn a_lost_connection_fails_the_task_and_the_restart_policy_applies() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = nomadish_tests::test_dir();
    let agent = agent(dir.path(), &sshd).await;
    let marker = format!("{}.{}", 8000 + (std::process::id() % 1000), 1234);
    let config = format!(
        "{}\n        command = \"sleep\"\n        args = [\"{marker}\"]",
        target(&sshd, sshd.port)
    );
    let restart =
        "attempts = 1\n      interval = \"5m\"\n      delay = \"1s\"\n      mode = \"fail\"";
    let spec = write_file(
        dir.path(),
        "lost.hcl",
        &job("lost", "service", &config, restart),
    );
    cli(&agent, &["job", "run", "-detach", spec.to_str().unwrap()]);
    let alloc = wait_alloc(&agent, "lost", "running").await;
    let alloc_id = alloc["ID"].as_str().unwrap().to_string();
    let needle = format!("sleep {marker}");
    wait_until("the remote process runs", RUN_TIMEOUT, async || {
        process_running(&needle).then_some(())
    })
    .await;
    sshd.drop_connections();
    // The task fails (never "complete"), restarts on a new connection and runs again.
    let events = wait_until("the task restarted", RUN_TIMEOUT, async || {
        let events = task_events(&agent, &alloc_id).await;
        let started = events.iter().filter(|(k, _, _)| k == "Started").count();
        (started >= 2).then_some(events)
    })
    .await;
    let failure = events
        .iter()
        .find(|(k, _, _)| k == "Driver Failure")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(failure.1.contains("ssh task on 127.0.0.1"), "{events:?}");
    assert!(
        events.iter().any(|(k, _, _)| k == "Restarting"),
        "{events:?}"
    );
    wait_until("the remote process runs again", RUN_TIMEOUT, async || {
        process_running(&needle).then_some(())
    })
    .await;
    assert_eq!(sshd.logins(), 2, "a new connection after the loss");
    let out = cli(&agent, &["job", "stop", "lost"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    wait_until("the remote process is gone", RUN_TIMEOUT, async || {
        (!process_running(&needle)).then_some(())
    })
    .await;
}
