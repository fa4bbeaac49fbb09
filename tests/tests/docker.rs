//! The Docker driver with real agent processes and the machine's Docker engine: hardened
//! containers, refusals naming the client option, re-attach after `kill -9` of the client,
//! output coming back through `/v1/client/fs/logs`, and `alloc exec` inside a container.
//! Without an engine these tests fail when `CI=true` and are skipped otherwise.

use std::time::Duration;

use nomadish_tests::docker::{
    ContainerCleanup, LABEL_NODE_ID, TEST_IMAGE, containers_with_label, inspect, require_docker,
};
use nomadish_tests::{Agent, AgentKind, cli, run_job, wait_until};
use serde_json::Value;

/// Time for a job to be placed and its container to run.
const RUN_TIMEOUT: Duration = Duration::from_secs(45);
/// The client's plugin config in the tests: image GC off (the test image is shared).
const DOCKER_PLUGIN: &str =
    "plugin \"docker\" {\n  config {\n    gc {\n      image = false\n    }\n  }\n}\n";

/// A server and a Docker-capable client; the client's node ID and a guard removing the
/// node's containers at the end.
async fn cluster(dir: &std::path::Path) -> (Agent, Agent, String, ContainerCleanup) {
    let server = Agent::start(dir, "server", AgentKind::Server, "").await;
    let client = Agent::start(
        dir,
        "c1",
        AgentKind::Client(vec![server.rpc.clone()]),
        DOCKER_PLUGIN,
    )
    .await;
    let api = server.api();
    let node = wait_until(
        "the client's node is ready with docker",
        RUN_TIMEOUT,
        async || {
            let nodes = api.get_ok("/v1/nodes").await;
            let node = nodes.as_array()?.first()?.clone();
            (node["Status"] == "ready").then_some(node)
        },
    )
    .await;
    let node_id = node["ID"].as_str().expect("node id").to_string();
    let detail = api.get_ok(&format!("/v1/node/{node_id}")).await;
    assert_eq!(detail["Attributes"]["driver.docker"], "1", "{detail}");
    assert!(
        detail["Attributes"]["driver.docker.version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    let cleanup = ContainerCleanup::new(LABEL_NODE_ID, &node_id);
    (server, client, node_id, cleanup)
}

fn job(name: &str, job_type: &str, count: u32, config: &str) -> String {
    format!(
        r#"
job "{name}" {{
  type        = "{job_type}"
  datacenters = ["*"]
  group "g" {{
    count = {count}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    task "t" {{
      driver = "docker"
      config {{
        image = "{TEST_IMAGE}"
{config}
      }}
      resources {{
        cpu    = 100
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// Waits for `count` allocations of `job` with this client status.
async fn wait_allocs(agent: &Agent, job: &str, status: &str, count: usize) -> Vec<Value> {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(
        &format!("{count} {status} allocations of {job}"),
        RUN_TIMEOUT,
        async || {
            let allocs = api.get_ok(&path).await;
            let found: Vec<Value> = allocs
                .as_array()?
                .iter()
                .filter(|a| a["ClientStatus"] == status)
                .cloned()
                .collect();
            (found.len() >= count).then_some(found)
        },
    )
    .await
}

/// The task's stdout through `/v1/client/fs/logs`, once the client is connected to serve it.
async fn stdout_of(agent: &Agent, alloc_id: &str) -> String {
    let api = agent.api();
    let path = format!("/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true");
    wait_until(
        "the task's logs through the server",
        RUN_TIMEOUT,
        async || {
            let (code, text) = api.get_text(&path).await;
            code.is_success().then_some(text)
        },
    )
    .await
}

async fn wait_output(agent: &Agent, alloc_id: &str, needle: &str) -> String {
    let mut last = String::new();
    let deadline = std::time::Instant::now() + RUN_TIMEOUT;
    while std::time::Instant::now() < deadline {
        last = stdout_of(agent, alloc_id).await;
        if last.contains(needle) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{needle:?} never appeared in the task's output: {last:?}");
}

fn container_of(node_id: &str, alloc_id: &str) -> Vec<String> {
    containers_with_label(LABEL_NODE_ID, node_id)
        .into_iter()
        .filter(|id| inspect(id)["Config"]["Labels"]["com.hashicorp.nomad.alloc_id"] == alloc_id)
        .collect()
}

const PROBE: &str = r#"        command = "sh"
        args = ["-c", "echo uid=$(id -u); touch /probe 2>/dev/null && echo root-writable || echo root-readonly; echo x > /local/f; chown 0:0 /local/f 2>/dev/null && echo chowned || echo chown-denied; mknod /tmp/null c 1 3 2>/dev/null && echo mknod-ok || echo mknod-denied; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; echo taskdir=${NOMAD_TASK_DIR}; echo probe-done; sleep 300"]"#;

#[tokio::test]
async fn a_docker_job_runs_hardened_and_its_output_comes_back() {
    if !require_docker("a_docker_job_runs_hardened") {
        return;
    }
    let dir = nomadish_tests::test_dir();
    let (server, _client, node_id, _cleanup) = cluster(dir.path()).await;
    run_job(
        &server,
        dir.path(),
        "probe",
        &job("probe", "service", 1, PROBE),
    );
    let alloc = wait_allocs(&server, "probe", "running", 1).await.remove(0);
    let alloc_id = alloc["ID"].as_str().expect("alloc id").to_string();
    let out = wait_output(&server, &alloc_id, "probe-done").await;
    assert!(out.contains("uid=65534\n"), "{out}");
    assert!(out.contains("root-readonly\n"), "cannot write /: {out}");
    assert!(out.contains("chown-denied\n"), "cannot chown: {out}");
    assert!(out.contains("mknod-denied\n"), "no CAP_MKNOD: {out}");
    assert!(
        out.contains("CapEff:\t0000000000000000"),
        "no capability: {out}"
    );
    assert!(
        out.contains("CapBnd:\t0000000000000000"),
        "none can be raised: {out}"
    );
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(
        out.contains("taskdir=/local\n"),
        "paths as the container sees them: {out}"
    );

    let ids = container_of(&node_id, &alloc_id);
    assert_eq!(ids.len(), 1, "one container for the alloc");
    let info = inspect(&ids[0]);
    assert_eq!(info["Name"], format!("/t-{alloc_id}"));
    let hc = &info["HostConfig"];
    assert_eq!(hc["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(hc["ReadonlyRootfs"], true);
    assert_eq!(hc["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
    assert_eq!(hc["PidsLimit"], 1024);
    assert_eq!(hc["Memory"], 32 * 1024 * 1024);
    assert_eq!(hc["MemorySwap"], 32 * 1024 * 1024);
    assert_eq!(hc["Privileged"], false);
    assert_eq!(hc["Init"], true);
    assert_eq!(info["Config"]["User"], "65534:65534");
    let labels = &info["Config"]["Labels"];
    assert_eq!(labels["com.hashicorp.nomad.job_id"], "probe");
    assert_eq!(labels["com.hashicorp.nomad.task_name"], "t");
    assert_eq!(labels["com.hashicorp.nomad.namespace"], "default");

    // `alloc exec` runs a command inside the container, through the server, as the task's
    // user, and exits with the command's exit code.
    let out = cli(
        &server,
        &[
            "alloc",
            "exec",
            "-i=false",
            &alloc_id,
            "sh",
            "-c",
            "echo exec-as-$(id -u); exit 4",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("exec-as-65534"), "{stdout}");

    // Stopping the job stops and removes the container.
    let out = cli(&server, &["job", "stop", "probe"]);
    assert_eq!(out.status.code(), Some(0));
    wait_until("the container is removed", RUN_TIMEOUT, async || {
        container_of(&node_id, &alloc_id).is_empty().then_some(())
    })
    .await;
}

/// The events of task `t` in the first allocation of `job`, once one contains `needle`.
async fn wait_event(agent: &Agent, job: &str, needle: &str) -> (Value, String) {
    let api = agent.api();
    wait_until(
        &format!("an event of {job} containing {needle:?}"),
        RUN_TIMEOUT,
        async || {
            let allocs = api.get_ok(&format!("/v1/job/{job}/allocations")).await;
            let alloc = allocs.as_array()?.first()?.clone();
            let events = alloc["TaskStates"]["t"]["Events"].as_array()?.clone();
            let message = events.iter().find_map(|e| {
                let text = e["DisplayMessage"].as_str()?;
                text.contains(needle).then(|| text.to_string())
            })?;
            Some((alloc, message))
        },
    )
    .await
}

/// A job pinned to the client named `node`.
fn pinned(name: &str, node: &str, config: &str) -> String {
    job(name, "batch", 1, config).replacen(
        "group \"g\" {",
        &format!(
            "group \"g\" {{\n    constraint {{\n      attribute = \"${{node.unique.name}}\"\n      value     = \"{node}\"\n    }}"
        ),
        1,
    )
}

/// The client plugin config that allows every option scenario 24 asks for.
const PERMISSIVE_PLUGIN: &str = "plugin \"docker\" {\n  config {\n    gc {\n      image = false\n    }\n    allow_privileged   = true\n    allow_host_network = true\n    allow_host_pid     = true\n    allow_host_ipc     = true\n    allow_host_uts     = true\n    allow_caps         = [\"SYS_ADMIN\"]\n    volumes {\n      enabled = true\n    }\n  }\n}\n";

/// Scenario 24 of RELIABILITY.md, Docker half (the file-system half is in `logs.rs`): a task
/// asking for privileged mode, a host namespace, a capability outside the allowlist or a bind
/// mount outside its alloc dir is refused by a client with the default config, with an event
/// naming the client option and no container created; a client whose config allows them runs
/// the same tasks.
#[tokio::test]
async fn scenario_24_docker_isolation_escapes_are_refused_unless_the_client_allows_them() {
    if !require_docker("scenario_24_docker_isolation_escapes") {
        return;
    }
    let dir = nomadish_tests::test_dir();
    let (server, _strict, node_id, _cleanup) = cluster(dir.path()).await;
    let open = Agent::start(
        dir.path(),
        "c2",
        AgentKind::Client(vec![server.rpc.clone()]),
        PERMISSIVE_PLUGIN,
    )
    .await;
    let api = server.api();
    let open_id = wait_until("the permissive client is ready", RUN_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let node = nodes
            .as_array()?
            .iter()
            .find(|n| n["Name"] == open.name && n["Status"] == "ready")?;
        node["ID"].as_str().map(str::to_string)
    })
    .await;
    let _open_cleanup = ContainerCleanup::new(LABEL_NODE_ID, &open_id);
    let cases = [
        ("priv", "privileged = true", "allow_privileged = true"),
        (
            "hostnet",
            "network_mode = \"host\"",
            "allow_host_network = true",
        ),
        ("hostpid", "pid_mode = \"host\"", "allow_host_pid = true"),
        ("hostipc", "ipc_mode = \"host\"", "allow_host_ipc = true"),
        ("hostuts", "uts_mode = \"host\"", "allow_host_uts = true"),
        ("capadd", "cap_add = [\"SYS_ADMIN\"]", "allow_caps"),
        (
            "bindetc",
            "volumes = [\"/etc:/host-etc\"]",
            "volumes { enabled = true }",
        ),
        (
            "bindup",
            "volumes = [\"../../../../../../etc:/host-etc\"]",
            "volumes { enabled = true }",
        ),
    ];
    let body = |option: &str| {
        format!(
            "        {option}\n        command = \"sh\"\n        args = [\"-c\", \"echo escaped-ok\"]\n"
        )
    };
    for (name, option, _) in cases {
        let strict = format!("{name}-strict");
        run_job(
            &server,
            dir.path(),
            &strict,
            &pinned(&strict, "c1", &body(option)),
        );
        let allowed = format!("{name}-allowed");
        run_job(
            &server,
            dir.path(),
            &allowed,
            &pinned(&allowed, "c2", &body(option)),
        );
    }
    for (name, option, allow) in cases {
        let strict = format!("{name}-strict");
        let (alloc, message) = wait_event(&server, &strict, allow).await;
        assert!(
            message.contains("refused") && message.contains("plugin \"docker\""),
            "{option}: {message}"
        );
        let failed = wait_allocs(&server, &strict, "failed", 1).await;
        assert_eq!(failed[0]["ID"], alloc["ID"]);
        let alloc_id = alloc["ID"].as_str().expect("alloc id");
        assert!(
            container_of(&node_id, alloc_id).is_empty(),
            "{option}: nothing was created"
        );

        let allowed = format!("{name}-allowed");
        let done = wait_allocs(&server, &allowed, "complete", 1).await;
        let alloc_id = done[0]["ID"].as_str().expect("alloc id");
        let out = wait_output(&server, alloc_id, "escaped-ok").await;
        assert!(out.contains("escaped-ok"), "{option}: {out}");
    }
}

const COUNTER: &str = r#"        command = "sh"
        args = ["-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"]"#;

/// Scenario 15 of RELIABILITY.md: a client restarted (after `kill -9`) with running Docker
/// tasks re-attaches to the same containers; no duplicate is started and none is orphaned
/// (the job's stop still removes both, and no allocation was replaced).
#[tokio::test]
async fn scenario_15_a_restarted_client_reattaches_to_its_containers_without_duplicates_or_orphans()
{
    if !require_docker("scenario_15_a_restarted_client_reattaches") {
        return;
    }
    let dir = nomadish_tests::test_dir();
    let (server, mut client, node_id, _cleanup) = cluster(dir.path()).await;
    run_job(
        &server,
        dir.path(),
        "counter",
        &job("counter", "service", 2, COUNTER),
    );
    let allocs = wait_allocs(&server, "counter", "running", 2).await;
    let mut before = Vec::new();
    for alloc in &allocs {
        let alloc_id = alloc["ID"].as_str().expect("alloc id").to_string();
        wait_output(&server, &alloc_id, "tick-2\n").await;
        let ids = container_of(&node_id, &alloc_id);
        assert_eq!(ids.len(), 1);
        before.push((alloc_id, ids[0].clone()));
    }

    client.kill9();
    // The containers outlive the client.
    for (_, id) in &before {
        assert_eq!(inspect(id)["State"]["Running"], true);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    client.restart().await;

    for (alloc_id, id) in &before {
        // Re-attached: the output keeps flowing into the same log from the same container.
        let seen = stdout_of(&server, alloc_id).await;
        let last = seen.lines().filter(|l| l.starts_with("tick-")).count();
        wait_output(&server, alloc_id, &format!("tick-{}\n", last + 10)).await;
        assert_eq!(
            container_of(&node_id, alloc_id),
            vec![id.clone()],
            "same container, no duplicate"
        );
        assert_eq!(inspect(id)["State"]["Running"], true);
        let text = stdout_of(&server, alloc_id).await;
        let first_ticks = text.lines().filter(|l| *l == "tick-0").count();
        assert_eq!(first_ticks, 1, "the task was not started again");
    }
    assert_eq!(containers_with_label(LABEL_NODE_ID, &node_id).len(), 2);
    let running = wait_allocs(&server, "counter", "running", 2).await;
    assert_eq!(running.len(), 2);
    let all = server.api().get_ok("/v1/job/counter/allocations").await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(2),
        "no allocation was replaced: {all}"
    );

    // None orphaned: the restarted client still owns both containers and removes them.
    let out = cli(&server, &["job", "stop", "counter"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    wait_until("both containers removed", RUN_TIMEOUT, async || {
        containers_with_label(LABEL_NODE_ID, &node_id)
            .is_empty()
            .then_some(())
    })
    .await;
}

const OOM: &str = r#"        command = "sh"
        args = ["-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"]"#;

#[tokio::test]
async fn an_oom_killed_container_gets_an_oom_killed_event() {
    if !require_docker("an_oom_killed_container") {
        return;
    }
    let dir = nomadish_tests::test_dir();
    let (server, _client, _node_id, _cleanup) = cluster(dir.path()).await;
    run_job(&server, dir.path(), "oom", &job("oom", "batch", 1, OOM));
    let (_, message) = wait_event(&server, "oom", "OOM Killed").await;
    assert_eq!(message, "OOM Killed");
    let failed = wait_allocs(&server, "oom", "failed", 1).await;
    let events = failed[0]["TaskStates"]["t"]["Events"].to_string();
    assert!(events.contains("Exit Code: 137"), "{events}");
}
