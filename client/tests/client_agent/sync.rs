//! Keeping in sync with the server: resuming the watch stream, in-place updates, dropped
//! allocations, retried updates, server failover and tunnel reconnects.

use nomadish_client::ClientConfig;

use crate::fake::FakeServer;
use crate::harness::{
    Agent, alloc, event_types, live_group, quick_restarts, read_pid, sh_task, wait_until,
};

const SERVICE: &str = "echo $$ > $NOMAD_TASK_DIR/pid; sleep 300 & wait";

async fn status(server: &FakeServer, alloc_id: &str, want: &str) {
    wait_until(&format!("alloc status {want}"), || {
        server.with(|s| s.latest(alloc_id).is_some_and(|u| u.client_status == want))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_watch_stream_resumes_from_the_last_index() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let a = alloc("service", vec![sh_task("svc", SERVICE)], quick_restarts(2));
    server.upsert_alloc(a.clone());
    status(&server, &a.id, "running").await;
    let pgid = read_pid(&agent.alloc_dir(&a.id).join("svc/local/pid")).await;
    let index = server.with(|s| s.allocs[&a.id].alloc_modify_index);

    server.break_watch_streams();
    wait_until("the client to watch again", || {
        server.with(|s| s.watch_requests.len() == 2)
    })
    .await;
    assert_eq!(server.with(|s| s.watch_requests.clone()), [0, index]);
    assert!(
        !live_group(pgid).is_empty(),
        "reconnecting does not touch running tasks"
    );

    server.set_desired(&a.id, "stop");
    status(&server, &a.id, "complete").await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let started = event_types(&update.task_states["svc"])
        .iter()
        .filter(|t| **t == "Started")
        .count();
    assert_eq!(started, 1);
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_place_update_keeps_the_task_and_applies_on_its_next_start() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let mut task = sh_task("svc", "echo v=$VERSION; sleep 0.3; exit 1");
    task.env.insert("VERSION".into(), "1".into());
    let mut a = alloc("service", vec![task], quick_restarts(20));
    server.upsert_alloc(a.clone());
    let log = agent.alloc_dir(&a.id).join("alloc/logs/svc.stdout.0");
    let contains = |needle: &str| std::fs::read_to_string(&log).is_ok_and(|s| s.contains(needle));
    wait_until("the first version to run", || contains("v=1")).await;

    let mut job = (**a.job.as_ref().unwrap()).clone();
    job.version = 1;
    job.task_groups[0].tasks[0]
        .env
        .insert("VERSION".into(), "2".into());
    a.job = Some(std::sync::Arc::new(job));
    server.upsert_alloc(a.clone());
    wait_until("the new version to run", || contains("v=2")).await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    assert!(
        !event_types(&update.task_states["svc"]).contains(&"Killing"),
        "no kill for an in-place update"
    );
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocation_the_server_forgets_is_killed_and_removed() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let a = alloc("service", vec![sh_task("svc", SERVICE)], quick_restarts(2));
    server.upsert_alloc(a.clone());
    status(&server, &a.id, "running").await;
    let pgid = read_pid(&agent.alloc_dir(&a.id).join("svc/local/pid")).await;
    server.remove_alloc(&a.id);
    wait_until("the task to be killed", || live_group(pgid).is_empty()).await;
    wait_until("the alloc dir to be removed", || {
        !agent.alloc_dir(&a.id).exists()
    })
    .await;
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_updates_are_retried_until_delivered() {
    let server = FakeServer::start().await;
    server.modify(|s| s.reject_updates = 3);
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let a = alloc("batch", vec![sh_task("once", "echo hi")], quick_restarts(2));
    server.upsert_alloc(a.clone());
    status(&server, &a.id, "complete").await;
    assert_eq!(server.with(|s| s.rejected_updates), 3);
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    assert_eq!(update.task_states["once"].state, "dead");
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_first_server_fails_over_to_the_next() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1 of loopback.
    let servers = vec!["127.0.0.1:1".to_string(), server.addr.to_string()];
    let mut config = ClientConfig::new(dir.path().to_path_buf(), servers);
    config.raw_exec_enabled = true;
    let agent = Agent::start_with(config);
    wait_until("registration through the second server", || {
        server.with(|s| !s.registrations.is_empty())
    })
    .await;
    let a = alloc("batch", vec![sh_task("once", "echo hi")], quick_restarts(2));
    server.upsert_alloc(a.clone());
    status(&server, &a.id, "complete").await;
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_tunnel_is_reopened() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    wait_until("the tunnel", || server.tunnel_open()).await;
    server.close_tunnel();
    wait_until("the tunnel to reopen", || {
        server.with(|s| s.tunnels_opened == 2) && server.tunnel_open()
    })
    .await;
    agent.stop().await;
    server.stop().await;
}
