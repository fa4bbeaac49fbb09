//! Stopping tasks: the server stops an allocation, a task ignores SIGINT, the agent shuts
//! down; and following a running task's log through the tunnel.

use std::time::Duration;

use nomadish_proto::model::NS_PER_SEC;
use nomadish_proto::node_v1::LogRequest;

use crate::fake::FakeServer;
use crate::harness::{
    Agent, alloc, event_types, group_dies, live_group, quick_restarts, read_pid, sh_task,
    wait_until,
};

/// A service task that records its PID (= its process group) and keeps a child running.
const SERVICE: &str = "echo $$ > $NOMAD_TASK_DIR/pid; echo started; sleep 300 & wait";

async fn running(server: &FakeServer, alloc_id: &str) {
    wait_until("the alloc to run", || {
        server.with(|s| {
            s.latest(alloc_id)
                .is_some_and(|u| u.client_status == "running")
        })
    })
    .await;
}

async fn complete(server: &FakeServer, alloc_id: &str) {
    wait_until("the alloc to complete", || {
        server.with(|s| {
            s.latest(alloc_id)
                .is_some_and(|u| u.client_status == "complete")
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_service_alloc_is_killed_and_reported_complete() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let a = alloc("service", vec![sh_task("svc", SERVICE)], quick_restarts(2));
    server.upsert_alloc(a.clone());
    running(&server, &a.id).await;
    let pgid = read_pid(&agent.alloc_dir(&a.id).join("svc/local/pid")).await;
    assert!(
        live_group(pgid).len() >= 2,
        "the shell and its sleep run in the task's group"
    );

    follow_then_cancel(&server, &a.id).await;

    server.set_desired(&a.id, "stop");
    complete(&server, &a.id).await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let svc = &update.task_states["svc"];
    assert_eq!(svc.state, "dead");
    assert!(!svc.failed);
    assert!(
        event_types(svc).ends_with(&["Killing", "Terminated", "Killed"]),
        "{:?}",
        event_types(svc)
    );
    assert!(group_dies(pgid).await, "the task's process group is gone");
    agent.stop().await;
    server.stop().await;
}

/// Follows the running task's log through the tunnel, then cancels the stream.
async fn follow_then_cancel(server: &FakeServer, alloc_id: &str) {
    wait_until("the tunnel", || server.tunnel_open()).await;
    server.request_logs(LogRequest {
        stream_id: 7,
        alloc_id: alloc_id.into(),
        task: "svc".into(),
        log_type: "stdout".into(),
        origin: "start".into(),
        offset: 0,
        follow: true,
    });
    let has = |needle: &str| {
        server.with(|s| {
            s.chunks.get(&7).is_some_and(|c| {
                c.iter()
                    .any(|c| String::from_utf8_lossy(&c.data).contains(needle))
            })
        })
    };
    wait_until("followed output", || has("started")).await;
    assert!(
        server.with(|s| !s.chunks[&7].iter().any(|c| c.eof)),
        "a followed stream stays open"
    );
    server.cancel_logs(7);
    wait_until("the cancelled stream to end", || {
        server.with(|s| s.chunks[&7].iter().any(|c| c.eof))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_timeout_escalates_to_sigkill_for_a_task_ignoring_sigint() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let script = "trap '' INT; echo $$ > $NOMAD_TASK_DIR/pid; while true; do sleep 0.1; done";
    let mut task = sh_task("stubborn", script);
    task.kill_timeout = NS_PER_SEC / 2;
    let a = alloc("service", vec![task], quick_restarts(2));
    server.upsert_alloc(a.clone());
    running(&server, &a.id).await;
    let pgid = read_pid(&agent.alloc_dir(&a.id).join("stubborn/local/pid")).await;

    server.set_desired(&a.id, "stop");
    complete(&server, &a.id).await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let state = &update.task_states["stubborn"];
    let killing = state
        .events
        .iter()
        .find(|e| e.event_type == "Killing")
        .unwrap();
    assert_eq!(killing.kill_timeout, NS_PER_SEC / 2);
    assert_eq!(
        killing.display_message,
        "Sent interrupt. Waiting 500ms before force killing"
    );
    let terminated = state
        .events
        .iter()
        .rev()
        .find(|e| e.event_type == "Terminated")
        .unwrap();
    assert_eq!((terminated.signal, terminated.exit_code), (9, 137));
    let waited = Duration::from_nanos((terminated.time - killing.time) as u64);
    assert!(
        waited >= Duration::from_millis(500),
        "SIGKILL only after the kill timeout ({waited:?})"
    );
    assert!(group_dies(pgid).await);
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_shutdown_kills_running_tasks_and_reports_them() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let a = alloc("service", vec![sh_task("svc", SERVICE)], quick_restarts(2));
    server.upsert_alloc(a.clone());
    running(&server, &a.id).await;
    let pgid = read_pid(&agent.alloc_dir(&a.id).join("svc/local/pid")).await;
    agent.stop().await;
    assert!(group_dies(pgid).await, "no task outlives a stopped agent");
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    assert_eq!(update.client_status, "complete");
    assert_eq!(
        update.task_states["svc"].events.last().unwrap().event_type,
        "Killed"
    );
    server.stop().await;
}
