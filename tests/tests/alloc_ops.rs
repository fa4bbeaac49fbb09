//! Operating on running allocations with real agent processes (one server, one client,
//! raw_exec tasks): `alloc exec` (output, stdin, exit codes, refusals), `alloc signal`,
//! `alloc restart` (in place, outside the restart policy) and `alloc stop` (replaced by the
//! scheduler), through the CLI and the HTTP API.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nomadish_tests::{
    Agent, AgentKind, CLUSTER_TIMEOUT, Cluster, cli, nomadish_bin, wait_until, write_file,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Time for a job to be scheduled and its task to run.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// A service whose task records its PID and the SIGUSR1s it receives in its task dir. Its
/// restart policy allows no restart at all: a user's restart must not count against it.
const SPEC: &str = r#"
job "ops" {
  type = "service"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $$ >> pids; trap 'echo usr1 >> signals' USR1; while true; do sleep 0.1; done"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run_ok(agent: &Agent, args: &[&str]) -> String {
    let out = cli(agent, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs the CLI with `input` on its stdin.
fn cli_with_stdin(agent: &Agent, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(nomadish_bin())
        .args(args)
        .env("NOMAD_ADDR", &agent.http)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cli");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("cli output")
}

/// A server and a raw_exec client running [`SPEC`]; returns them and the running alloc.
async fn running_job(dir: &std::path::Path) -> (Agent, Agent, Value) {
    let server = Agent::start(dir, "server", AgentKind::Server, "").await;
    let client = Agent::start(dir, "c1", AgentKind::Client(vec![server.rpc.clone()]), "").await;
    let api = server.api();
    wait_until("the client's node is ready", RUN_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    let alloc = run_spec(dir, &server).await;
    (server, client, alloc)
}

/// Submits [`SPEC`] through `server` and waits for its task to run.
async fn run_spec(dir: &std::path::Path, server: &Agent) -> Value {
    let spec = write_file(dir, "ops.hcl", SPEC);
    run_ok(server, &["job", "run", spec.to_str().expect("utf-8")]);
    wait_running(server, None).await
}

/// Waits for a running allocation of the job whose task runs (other than `not`).
async fn wait_running(server: &Agent, not: Option<&str>) -> Value {
    let api = server.api();
    wait_until("a running allocation of ops", RUN_TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/ops/allocations").await;
        let stub = allocs.as_array()?.iter().find(|a| {
            a["ClientStatus"] == "running"
                && a["DesiredStatus"] == "run"
                && Some(a["ID"].as_str().unwrap_or_default()) != not
        })?;
        let id = stub["ID"].as_str()?;
        let alloc = api.get_ok(&format!("/v1/allocation/{id}")).await;
        (alloc["TaskStates"]["web"]["State"] == "running").then_some(alloc)
    })
    .await
}

fn alloc_id(alloc: &Value) -> String {
    alloc["ID"].as_str().expect("alloc ID").to_string()
}

/// The task's events' types.
async fn event_types(server: &Agent, id: &str) -> Vec<String> {
    let alloc = server.api().get_ok(&format!("/v1/allocation/{id}")).await;
    alloc["TaskStates"]["web"]["Events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["Type"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn alloc_exec_prints_output_passes_stdin_and_propagates_exit_codes() {
    let dir = nomadish_tests::test_dir();
    let (server, _client, alloc) = running_job(dir.path()).await;
    let id = alloc_id(&alloc);
    let short = &id[..8];

    let out = cli(&server, &["alloc", "exec", short, "echo", "hi"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
    let job_args = ["alloc", "exec", "-job", "ops", "echo", "-n", "via job"];
    let out = cli(&server, &job_args);
    assert_eq!(text(&out.stdout), "via job", "{}", text(&out.stderr));

    let out = cli(
        &server,
        &[
            "alloc",
            "exec",
            "-task",
            "web",
            &id,
            "sh",
            "-c",
            "echo oops >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "the command's exit code");
    assert_eq!(text(&out.stderr), "oops\n");

    // The command runs in the task dir with the task's environment; stdin reaches it.
    let out = cli(
        &server,
        &[
            "alloc",
            "exec",
            &id,
            "sh",
            "-c",
            "echo $NOMAD_TASK_NAME; cat pids",
        ],
    );
    let printed = text(&out.stdout);
    assert!(
        printed.starts_with("web\n") && printed.lines().count() == 2,
        "{printed}"
    );
    let out = cli_with_stdin(
        &server,
        &["alloc", "exec", "-i", &id, "cat"],
        b"from stdin\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from stdin\n");

    // raw_exec has no TTY: refused with a reason, nothing runs.
    let out = cli(&server, &["alloc", "exec", "-t", &id, "touch", "tty-ran"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("TTY"), "{}", text(&out.stderr));
    let out = cli(&server, &["alloc", "exec", &id, "ls"]);
    assert!(
        !text(&out.stdout).contains("tty-ran"),
        "{}",
        text(&out.stdout)
    );

    // Bad requests are answered before any WebSocket: unknown alloc, task, bad command.
    let api = server.api();
    let cmd = "command=%5B%22ls%22%5D";
    let (status, _) = api
        .get_text(&format!("/v1/client/allocation/nope/exec?task=web&{cmd}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api
        .get_text(&format!("/v1/client/allocation/{id}/exec?task=db&{cmd}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = api
        .get_text(&format!(
            "/v1/client/allocation/{id}/exec?task=web&command=ls"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("command"), "{body}");
    let out = cli(&server, &["alloc", "exec", "-task", "db", &id, "ls"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("db"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn alloc_signal_reaches_the_task_and_restart_restarts_it_outside_the_policy() {
    let dir = nomadish_tests::test_dir();
    let (server, _client, alloc) = running_job(dir.path()).await;
    let id = alloc_id(&alloc);

    run_ok(&server, &["alloc", "signal", "-s", "SIGUSR1", &id, "web"]);
    wait_until("the task trapped SIGUSR1", RUN_TIMEOUT, async || {
        let out = cli(&server, &["alloc", "exec", &id, "cat", "signals"]);
        text(&out.stdout).contains("usr1").then_some(())
    })
    .await;
    assert!(
        event_types(&server, &id)
            .await
            .contains(&"Signaling".to_string())
    );
    let out = cli(&server, &["alloc", "signal", "-s", "SIGNOPE", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("SIGNOPE"),
        "{}",
        text(&out.stderr)
    );

    // Two restarts with a policy of zero attempts: the task keeps running, with a new PID.
    for round in 2..=3 {
        run_ok(&server, &["alloc", "restart", &id]);
        let pids = wait_until("the task started again", RUN_TIMEOUT, async || {
            let out = cli(&server, &["alloc", "exec", &id, "cat", "pids"]);
            let pids: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
            (pids.len() == round).then_some(pids)
        })
        .await;
        assert_ne!(pids[round - 1], pids[round - 2], "a new process");
    }
    let alloc = wait_running(&server, None).await;
    assert_eq!(alloc_id(&alloc), id, "restarted in place");
    let state = &alloc["TaskStates"]["web"];
    assert_eq!(state["Failed"], false);
    assert_eq!(state["Restarts"], 2);
    let types = event_types(&server, &id).await;
    assert!(types.contains(&"Restart Signaled".to_string()), "{types:?}");
    assert!(!types.contains(&"Not Restarting".to_string()), "{types:?}");

    // Through the HTTP API, with Nomad's bodies.
    let api = server.api();
    let path = format!("/v1/client/allocation/{id}/signal");
    let (status, _) = api
        .put_json(&path, &json!({"Task": "web", "Signal": "SIGUSR1"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .put_json(&path, &json!({"Task": "db", "Signal": "SIGUSR1"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let path = format!("/v1/client/allocation/{id}/restart");
    let (status, body) = api
        .put_json(&path, &json!({"TaskName": "nope", "AllTasks": false}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = api
        .put_json("/v1/client/allocation/nope/restart", &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn alloc_stop_stops_the_allocation_and_the_scheduler_replaces_it() {
    let dir = nomadish_tests::test_dir();
    let (server, _client, alloc) = running_job(dir.path()).await;
    let id = alloc_id(&alloc);
    let out = run_ok(&server, &["alloc", "stop", &id]);
    assert!(out.contains("Monitoring evaluation"), "{out}");
    let replacement = wait_running(&server, Some(&id)).await;
    assert_ne!(alloc_id(&replacement), id);
    let api = server.api();
    wait_until("the stopped allocation is done", RUN_TIMEOUT, async || {
        let old = api.get_ok(&format!("/v1/allocation/{id}")).await;
        (old["DesiredStatus"] == "stop" && old["ClientStatus"] == "complete").then_some(())
    })
    .await;
    let (status, body) = api.put_json("/v1/allocation/nope/stop", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let out = run_ok(
        &server,
        &["alloc", "stop", "-detach", &alloc_id(&replacement)],
    );
    let eval = api.get_ok(&format!("/v1/evaluation/{}", out.trim())).await;
    assert_eq!(eval["TriggeredBy"], "alloc-stop");
}

#[tokio::test]
async fn exec_and_signal_work_through_servers_that_do_not_hold_the_clients_tunnel() {
    let dir = nomadish_tests::test_dir();
    let cluster = Cluster::start(dir.path(), 3, "", None).await;
    let (leader, _) = cluster.wait_leader().await;
    // The client knows one server only, so its tunnel is there; the others must forward.
    let first = &cluster.servers[0];
    let client = Agent::start(
        dir.path(),
        "c1",
        AgentKind::Client(vec![first.rpc.clone()]),
        "",
    )
    .await;
    let api = cluster.servers[leader].api();
    wait_until("the client's node is ready", CLUSTER_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    let alloc = run_spec(dir.path(), &cluster.servers[leader]).await;
    let id = alloc_id(&alloc);
    // The tunnel may still be (re)opening: a follower refuses it until the node's
    // registration has reached it.
    wait_until("the client's tunnel is open", CLUSTER_TIMEOUT, async || {
        let out = cli(first, &["alloc", "exec", &id, "true"]);
        out.status.success().then_some(())
    })
    .await;
    for (i, server) in cluster.servers.iter().enumerate() {
        // Followers see the alloc once replicated; exec answers from every server.
        wait_until(
            "the allocation is replicated",
            CLUSTER_TIMEOUT,
            async || {
                let a = server
                    .api()
                    .get_ok(&format!("/v1/allocation/{id}?stale"))
                    .await;
                (a["TaskStates"]["web"]["State"] == "running").then_some(())
            },
        )
        .await;
        let out = cli(
            server,
            &[
                "alloc",
                "exec",
                &id,
                "sh",
                "-c",
                &format!("echo via-{i}; exit {i}"),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(i as i32),
            "{}\nclient log:\n{}\nserver log:\n{}",
            text(&out.stderr),
            client.log(),
            server.log()
        );
        assert_eq!(text(&out.stdout), format!("via-{i}\n"));
        run_ok(server, &["alloc", "signal", "-s", "SIGUSR1", &id]);
    }
    wait_until("three signals trapped", RUN_TIMEOUT, async || {
        let out = cli(
            &cluster.servers[2],
            &["alloc", "exec", &id, "cat", "signals"],
        );
        (text(&out.stdout).lines().count() == 3).then_some(())
    })
    .await;
}
