//! Restart policy and sibling failure, end to end.

use crate::fake::FakeServer;
use crate::harness::{Agent, alloc, event_types, quick_restarts, sh_task, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_task_is_restarted_per_policy_then_failed() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    // A restart delay longer than the update interval, so the pending phase is reported.
    let mut policy = quick_restarts(2);
    policy.delay = nomadish_proto::model::NS_PER_SEC / 2;
    let a = alloc("batch", vec![sh_task("fail", "echo run; exit 3")], policy);
    server.upsert_alloc(a.clone());
    wait_until("the alloc to fail", || {
        server.with(|s| s.latest(&a.id).is_some_and(|u| u.client_status == "failed"))
    })
    .await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let state = &update.task_states["fail"];
    assert_eq!(state.state, "dead");
    assert!(state.failed);
    assert_eq!(state.restarts, 2);
    assert!(state.last_restart.is_some());
    let types = event_types(state);
    assert_eq!(
        types.iter().filter(|t| **t == "Restarting").count(),
        2,
        "{types:?}"
    );
    let last = state.events.last().unwrap();
    assert_eq!(last.event_type, "Not Restarting");
    assert!(last.fails_task);
    assert_eq!(
        last.display_message,
        "Exceeded allowed attempts 2 in interval 1h0m0s and mode is \"fail\""
    );
    let terminated: Vec<_> = state
        .events
        .iter()
        .filter(|e| e.event_type == "Terminated")
        .collect();
    assert!(terminated.iter().all(|e| e.exit_code == 3));
    // While waiting to restart, the task was pending again.
    assert!(server.with(|s| s.updates.iter().any(|u| u.id == a.id
        && u.task_states["fail"].state == "pending"
        && u.task_states["fail"].restarts == 1)));
    let log =
        std::fs::read_to_string(agent.alloc_dir(&a.id).join("alloc/logs/fail.stdout.0")).unwrap();
    assert_eq!(log, "run\nrun\nrun\n");
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_fails_for_good_kills_its_sibling() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let tasks = vec![
        sh_task("main", "sleep 300"),
        sh_task("bad", "sleep 0.3; exit 1"),
    ];
    let a = alloc("service", tasks, quick_restarts(0));
    server.upsert_alloc(a.clone());
    wait_until("every task to be dead", || {
        server.with(|s| {
            s.latest(&a.id)
                .is_some_and(|u| u.task_states.values().all(|t| t.state == "dead"))
        })
    })
    .await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    assert_eq!(update.client_status, "failed");
    let bad = &update.task_states["bad"];
    assert!(bad.failed);
    assert_eq!(
        bad.events.last().unwrap().display_message,
        "Policy allows no restarts"
    );
    let main = &update.task_states["main"];
    assert!(!main.failed);
    let types = event_types(main);
    assert!(
        types.ends_with(&["Sibling Task Failed", "Killing", "Terminated", "Killed"]),
        "{types:?}"
    );
    let sibling = main
        .events
        .iter()
        .find(|e| e.event_type == "Sibling Task Failed")
        .unwrap();
    assert_eq!(sibling.display_message, "Task's sibling \"bad\" failed");
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_exec_tasks_fail_at_once_when_the_driver_is_disabled() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        nomadish_client::ClientConfig::new(dir.path().to_path_buf(), vec![server.addr.to_string()]);
    assert!(!config.raw_exec_enabled, "raw_exec is off by default");
    let agent = Agent::start_with(config);
    wait_until("registration", || {
        server.with(|s| !s.registrations.is_empty())
    })
    .await;
    assert!(server.with(|s| !s.registrations[0].has_driver("raw_exec")));
    let a = alloc("batch", vec![sh_task("t", "echo never")], quick_restarts(3));
    server.upsert_alloc(a.clone());
    wait_until("the alloc to fail", || {
        server.with(|s| s.latest(&a.id).is_some_and(|u| u.client_status == "failed"))
    })
    .await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let t = &update.task_states["t"];
    assert_eq!(
        event_types(t),
        ["Received", "Task Setup", "Driver Failure", "Not Restarting"]
    );
    assert!(
        t.events[2].driver_error.contains("disabled"),
        "{:?}",
        t.events[2]
    );
    assert_eq!(t.events[3].display_message, "Error was unrecoverable");
    assert_eq!(t.restarts, 0);
    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leader_finishes_the_other_tasks_are_killed() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    let mut leader = sh_task("main", "sleep 0.3");
    leader.leader = true;
    let a = alloc(
        "batch",
        vec![leader, sh_task("side", "sleep 300")],
        quick_restarts(2),
    );
    server.upsert_alloc(a.clone());
    wait_until("the alloc to complete", || {
        server.with(|s| {
            s.latest(&a.id)
                .is_some_and(|u| u.client_status == "complete")
        })
    })
    .await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let side = &update.task_states["side"];
    assert!(!side.failed);
    let types = event_types(side);
    assert!(
        types.ends_with(&["Leader Task Dead", "Killing", "Terminated", "Killed"]),
        "{types:?}"
    );
    assert_eq!(
        event_types(&update.task_states["main"]).last(),
        Some(&"Terminated")
    );
    agent.stop().await;
    server.stop().await;
}
