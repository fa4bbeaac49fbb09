//! `ephemeral_disk { migrate = true }` across nodes with one server and two client processes:
//! a raw_exec task writes into `alloc/data` and its `local/` directory; draining its node
//! places the replacement on the other client, which fetches both directories from the old
//! node through the server before the task starts. When the old node is gone, the
//! replacement starts anyway with a `Failed to migrate data` event.

use std::path::Path;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use serde_json::Value;

/// Bound on every wait for scheduling, clients joining and drains.
const TIMEOUT: Duration = Duration::from_secs(90);

/// A service job whose task keeps a state file: it writes `first` once, and every start
/// prints what it found.
fn migrating_job() -> String {
    let script = "if [ -f $NOMAD_ALLOC_DIR/data/state ]; then echo found $(cat $NOMAD_ALLOC_DIR/data/state) $(cat $NOMAD_TASK_DIR/notes); else echo first > $NOMAD_ALLOC_DIR/data/state; echo local-notes > $NOMAD_TASK_DIR/notes; fi; exec sleep 3600";
    format!(
        r#"
job "keep" {{
  group "g" {{
    ephemeral_disk {{
      size    = 150
      migrate = true
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
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

/// Starts a server and clients c1 and c2; waits until both nodes are ready.
async fn cluster(dir: &Path) -> (Agent, Vec<Agent>) {
    let server = Agent::start(dir, "server", AgentKind::Server, "").await;
    let mut clients = Vec::new();
    for name in ["c1", "c2"] {
        let servers = vec![server.rpc.clone()];
        clients.push(Agent::start(dir, name, AgentKind::Client(servers), "").await);
    }
    let api = server.api();
    wait_until("2 ready nodes", TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        let ready = nodes
            .as_array()
            .map_or(0, |a| a.iter().filter(|n| n["Status"] == "ready").count());
        (ready == 2).then_some(())
    })
    .await;
    (server, clients)
}

/// The job's running allocation whose previous allocation is `previous` ("" for the first).
async fn running(server: &Agent, previous: &str) -> Value {
    let api = server.api();
    wait_until(
        &format!("a running allocation after {previous:?}"),
        TIMEOUT,
        async || {
            let allocs = api.get_ok("/v1/job/keep/allocations").await;
            allocs.as_array()?.iter().find_map(|a| {
                let found = a["ClientStatus"] == "running"
                    && a["DesiredStatus"] == "run"
                    && a["PreviousAllocation"].as_str().unwrap_or("") == previous;
                found.then(|| a.clone())
            })
        },
    )
    .await
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// The client agent running on node `node_id`.
async fn client_of<'a>(server: &Agent, clients: &'a [Agent], node_id: &str) -> &'a Agent {
    let node = server.api().get_ok(&format!("/v1/node/{node_id}")).await;
    let name = str_of(&node, "Name");
    clients
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no client named {name}"))
}

/// Submits the job and waits for its first allocation to have written its files.
async fn start_job(server: &Agent, clients: &[Agent], dir: &Path) -> (Value, std::path::PathBuf) {
    let spec = write_file(dir, "keep.hcl", &migrating_job());
    let out = cli(
        server,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let first = running(server, "").await;
    let holder = client_of(server, clients, str_of(&first, "NodeID")).await;
    let alloc_dir = holder.data_dir.join("alloc").join(str_of(&first, "ID"));
    let notes = alloc_dir.join("t/local/notes");
    wait_until(
        "the first allocation wrote its files",
        TIMEOUT,
        async || notes.exists().then_some(()),
    )
    .await;
    (first, alloc_dir)
}

#[tokio::test]
async fn a_drained_allocation_s_data_follows_it_to_another_node() {
    let dir = nomadish_tests::test_dir();
    let (server, clients) = cluster(dir.path()).await;
    let (first, _) = start_job(&server, &clients, dir.path()).await;
    let first_id = str_of(&first, "ID");
    let old_node = str_of(&first, "NodeID");

    let out = cli(
        &server,
        &[
            "node",
            "drain",
            "-enable",
            "-yes",
            "-deadline",
            "1m",
            old_node,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let second = running(&server, first_id).await;
    assert_ne!(
        second["NodeID"], first["NodeID"],
        "moved off the drained node"
    );
    let holder = client_of(&server, &clients, str_of(&second, "NodeID")).await;
    let new_dir = holder.data_dir.join("alloc").join(str_of(&second, "ID"));
    let state = std::fs::read_to_string(new_dir.join("alloc/data/state")).expect("state");
    assert_eq!(state.trim(), "first");
    let notes = std::fs::read_to_string(new_dir.join("t/local/notes")).expect("notes");
    assert_eq!(notes.trim(), "local-notes");
    // The data was there before the task started: it found it rather than writing anew.
    let id = str_of(&second, "ID").to_string();
    let logs = wait_until(
        "the replacement printed what it found",
        TIMEOUT,
        async || {
            let out = cli(&server, &["alloc", "logs", &id, "t"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains("found").then_some(text)
        },
    )
    .await;
    assert!(logs.contains("found first local-notes"), "logs: {logs}");
}

#[tokio::test]
async fn a_replacement_starts_empty_with_an_event_when_the_old_node_is_gone() {
    let dir = nomadish_tests::test_dir();
    let (server, mut clients) = cluster(dir.path()).await;
    let (first, _) = start_job(&server, &clients, dir.path()).await;
    let first_id = str_of(&first, "ID");
    let old_node = str_of(&first, "NodeID");
    let old_name = client_of(&server, &clients, old_node).await.name.clone();
    let old = clients
        .iter_mut()
        .find(|c| c.name == old_name)
        .expect("old client");
    old.kill9();

    // The node misses its heartbeats, its allocation is lost and replaced elsewhere.
    let second = running(&server, first_id).await;
    assert_ne!(second["NodeID"], first["NodeID"]);
    let id = str_of(&second, "ID");
    let alloc = server.api().get_ok(&format!("/v1/allocation/{id}")).await;
    let events: Vec<String> = alloc["TaskStates"]["t"]["Events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["DisplayMessage"].as_str().or(e["Message"].as_str()))
        .map(str::to_string)
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Failed to migrate data")),
        "{events:?}"
    );
    let holder = client_of(&server, &clients, str_of(&second, "NodeID")).await;
    let new_dir = holder.data_dir.join("alloc").join(id);
    let state = std::fs::read_to_string(new_dir.join("alloc/data/state")).expect("state");
    assert_eq!(
        state.trim(),
        "first",
        "the task started empty and wrote its own"
    );
}
