//! Task `lifecycle` hooks with a real agent and raw_exec tasks: a prestart task runs to
//! completion before the main task, a prestart sidecar runs alongside and is stopped after
//! it, and a poststop task runs once the main task has stopped. The order is read from
//! marker files the tasks leave in the shared `alloc/` directory and from the task states.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, run_job, wait_until, write_file};
use reqwest::StatusCode;
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A raw_exec task running `script` with `sh -c`, with an optional lifecycle block.
fn task(name: &str, lifecycle: &str, script: &str) -> String {
    format!(
        r#"
    task "{name}" {{
      driver = "raw_exec"
      {lifecycle}
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}
    }}
"#
    )
}

fn batch_job(id: &str, tasks: &[String]) -> String {
    format!(
        r#"job "{id}" {{
  type        = "batch"
  datacenters = ["dc1"]

  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
{}
  }}
}}
"#,
        tasks.concat()
    )
}

/// Runs the jobspec in `hcl` and waits for its single allocation to reach `status`.
async fn run_until(
    agent: &Agent,
    dir: &std::path::Path,
    id: &str,
    hcl: &str,
    status: &str,
) -> Value {
    run_job(agent, dir, id, hcl);
    let api = agent.api();
    let path = format!("/v1/job/{id}/allocations");
    let what = format!("a {status} allocation of {id} with every task dead");
    wait_until(&what, TIMEOUT, async || {
        let (code, _, body) = api.get(&path).await;
        let stub = body.as_array()?.first()?.clone();
        let ended = stub["ClientStatus"] == "failed" || stub["ClientStatus"] == "complete";
        assert!(
            code != StatusCode::OK || !ended || stub["ClientStatus"] == status,
            "allocation ended {} instead of {status}: {stub:#}",
            stub["ClientStatus"]
        );
        let alloc = api
            .get_ok(&format!("/v1/allocation/{}", stub["ID"].as_str()?))
            .await;
        let all_dead = alloc["TaskStates"]
            .as_object()
            .is_some_and(|t| t.values().all(|s| s["State"] == "dead"));
        (alloc["ClientStatus"] == status && all_dead).then_some(alloc)
    })
    .await
}

/// The text of `alloc/<name>` in the allocation's shared directory, if it exists.
async fn marker(agent: &Agent, alloc: &Value, name: &str) -> Option<String> {
    let id = alloc["ID"].as_str().expect("alloc id");
    let (code, text) = agent
        .api()
        .get_text(&format!("/v1/client/fs/cat/{id}?path=alloc/{name}"))
        .await;
    (code == StatusCode::OK).then(|| text.trim().to_string())
}

/// A marker file's `date +%s%N` timestamp.
async fn marker_ns(agent: &Agent, alloc: &Value, name: &str) -> u128 {
    let text = marker(agent, alloc, name)
        .await
        .unwrap_or_else(|| panic!("marker {name} missing"));
    text.parse()
        .unwrap_or_else(|e| panic!("marker {name}: {text:?}: {e}"))
}

/// An RFC 3339 UTC time as a sortable key (seconds part, nanoseconds).
fn time_key(state: &Value, field: &str) -> (String, u64) {
    let text = state[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {state:#}"));
    let text = text.trim_end_matches('Z');
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<9}");
    (secs.to_string(), frac[..9].parse().expect("fraction"))
}

fn events(state: &Value) -> Vec<String> {
    state["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["Type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn prestart_runs_before_main_and_poststop_after_it() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let hcl = batch_job(
        "order",
        &[
            task(
                "init",
                r#"lifecycle { hook = "prestart" }"#,
                "sleep 1; date +%s%N > $NOMAD_ALLOC_DIR/prestart",
            ),
            task(
                "proxy",
                "lifecycle {\n        hook    = \"prestart\"\n        sidecar = true\n      }",
                "date +%s%N > $NOMAD_ALLOC_DIR/sidecar; exec sleep 3600",
            ),
            task(
                "main",
                "",
                "test -f $NOMAD_ALLOC_DIR/prestart || exit 3; date +%s%N > $NOMAD_ALLOC_DIR/main; sleep 1",
            ),
            task(
                "cleanup",
                r#"lifecycle { hook = "poststop" }"#,
                "test -f $NOMAD_ALLOC_DIR/main || exit 4; date +%s%N > $NOMAD_ALLOC_DIR/poststop",
            ),
        ],
    );
    let alloc = run_until(&agent, dir.path(), "order", &hcl, "complete").await;
    let states = &alloc["TaskStates"];

    // The files: prestart before main before poststop; the sidecar was up before main.
    let prestart = marker_ns(&agent, &alloc, "prestart").await;
    let sidecar = marker_ns(&agent, &alloc, "sidecar").await;
    let main = marker_ns(&agent, &alloc, "main").await;
    let poststop = marker_ns(&agent, &alloc, "poststop").await;
    assert!(prestart < main, "prestart {prestart} before main {main}");
    assert!(sidecar < main, "sidecar {sidecar} before main {main}");
    assert!(main < poststop, "main {main} before poststop {poststop}");

    // The task states agree.
    for name in ["init", "proxy", "main", "cleanup"] {
        assert_eq!(states[name]["State"], "dead", "{name}: {:#}", states[name]);
        assert_eq!(states[name]["Failed"], false, "{name}: {:#}", states[name]);
    }
    assert!(
        time_key(&states["init"], "FinishedAt") <= time_key(&states["main"], "StartedAt"),
        "init finished before main started: {states:#}"
    );
    assert!(
        time_key(&states["main"], "FinishedAt") <= time_key(&states["cleanup"], "StartedAt"),
        "main finished before cleanup started: {states:#}"
    );
    // The sidecar was stopped because the main task was done.
    let proxy_events = events(&states["proxy"]);
    assert!(
        proxy_events.iter().any(|e| e == "Main Tasks Dead"),
        "{proxy_events:?}"
    );
    assert!(
        time_key(&states["main"], "FinishedAt") <= time_key(&states["proxy"], "FinishedAt"),
        "sidecar outlived main: {states:#}"
    );
}

#[tokio::test]
async fn a_failed_prestart_keeps_main_from_starting() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let hcl = batch_job(
        "blocked",
        &[
            task("init", r#"lifecycle { hook = "prestart" }"#, "exit 1"),
            task("main", "", "date +%s%N > $NOMAD_ALLOC_DIR/main"),
            task(
                "cleanup",
                r#"lifecycle { hook = "poststop" }"#,
                "date +%s%N > $NOMAD_ALLOC_DIR/poststop",
            ),
        ],
    );
    let alloc = run_until(&agent, dir.path(), "blocked", &hcl, "failed").await;
    let states = &alloc["TaskStates"];
    assert_eq!(states["init"]["Failed"], true, "{states:#}");
    assert_eq!(states["main"]["State"], "dead", "{states:#}");
    assert!(
        states["main"]["StartedAt"].is_null(),
        "main never started: {states:#}"
    );
    assert!(
        events(&states["main"])
            .iter()
            .any(|e| e == "Sibling Task Failed"),
        "{states:#}"
    );
    assert_eq!(marker(&agent, &alloc, "main").await, None);
    // Poststop tasks still run after a failure, as they do after a stop.
    assert_eq!(states["cleanup"]["State"], "dead", "{states:#}");
    assert!(marker(&agent, &alloc, "poststop").await.is_some());
}

#[tokio::test]
async fn stopping_a_service_job_runs_its_poststop_task() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let tasks = [
        task(
            "init",
            r#"lifecycle { hook = "prestart" }"#,
            "date +%s%N > $NOMAD_ALLOC_DIR/prestart",
        ),
        task("main", "", "exec sleep 3600"),
        task(
            "cleanup",
            r#"lifecycle { hook = "poststop" }"#,
            "date +%s%N > $NOMAD_ALLOC_DIR/poststop",
        ),
    ];
    let hcl = format!(
        "job \"svc\" {{\n  datacenters = [\"dc1\"]\n\n  group \"g\" {{\n{}\n  }}\n}}\n",
        tasks.concat()
    );
    let file = write_file(dir.path(), "svc.hcl", &hcl);
    let out = cli(
        &agent,
        &["job", "run", "-detach", file.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(0), "job run: {out:?}");

    // A finished prestart task does not make the service allocation complete.
    let api = agent.api();
    let alloc = wait_until("main running", TIMEOUT, async || {
        let (_, _, body) = api.get("/v1/job/svc/allocations").await;
        let id = body.as_array()?.first()?["ID"].as_str()?.to_string();
        let alloc = api.get_ok(&format!("/v1/allocation/{id}")).await;
        (alloc["TaskStates"]["main"]["State"] == "running").then_some(alloc)
    })
    .await;
    let states = &alloc["TaskStates"];
    assert_eq!(alloc["ClientStatus"], "running", "{alloc:#}");
    assert_eq!(states["init"]["State"], "dead", "{states:#}");
    assert_eq!(states["cleanup"]["State"], "pending", "{states:#}");
    assert_eq!(marker(&agent, &alloc, "poststop").await, None);

    let out = cli(&agent, &["job", "stop", "-detach", "svc"]);
    assert_eq!(out.status.code(), Some(0), "job stop: {out:?}");
    let id = alloc["ID"].as_str().expect("alloc id").to_string();
    let alloc = wait_until("every task dead after the stop", TIMEOUT, async || {
        let alloc = api.get_ok(&format!("/v1/allocation/{id}")).await;
        let all_dead = alloc["TaskStates"]
            .as_object()
            .is_some_and(|t| t.values().all(|s| s["State"] == "dead"));
        all_dead.then_some(alloc)
    })
    .await;
    let states = &alloc["TaskStates"];
    assert_eq!(alloc["ClientStatus"], "complete", "{alloc:#}");
    assert_eq!(states["cleanup"]["Failed"], false, "{states:#}");
    assert!(
        time_key(&states["main"], "FinishedAt") <= time_key(&states["cleanup"], "StartedAt"),
        "main stopped before cleanup started: {states:#}"
    );
    let prestart = marker_ns(&agent, &alloc, "prestart").await;
    let poststop = marker_ns(&agent, &alloc, "poststop").await;
    assert!(prestart < poststop, "{prestart} < {poststop}");
}
