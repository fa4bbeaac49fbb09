//! After a client crash, leftover task processes are killed and the allocations the server
//! still wants running start again; finished allocations are not run again.

use std::future::pending;

use nomadish_client::ClientConfig;
use nomadish_proto::model::Allocation;

use crate::fake::FakeServer;
use crate::harness::{Agent, alloc, group_dies, live_group, quick_restarts, sh_task, wait_until};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn pids(path: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Runs a client until the service runs and the batch completed, then "crashes" it: its
/// runtime is dropped without any cleanup, as a `kill -9` would.
fn crash_after_first_run(
    server_rt: &tokio::runtime::Runtime,
    server: &FakeServer,
    data_dir: &std::path::Path,
    service: &Allocation,
    batch: &Allocation,
    pid_file: &std::path::Path,
) {
    let crashed = runtime();
    let mut config = ClientConfig::new(data_dir.to_path_buf(), vec![server.addr.to_string()]);
    config.raw_exec_enabled = true;
    crashed.spawn(nomadish_client::run(config, pending()));
    server.upsert_alloc(service.clone());
    server.upsert_alloc(batch.clone());
    server_rt.block_on(wait_until(
        "the service to run and the batch to complete",
        || {
            server.with(|s| {
                s.latest(&service.id)
                    .is_some_and(|u| u.client_status == "running")
                    && s.latest(&batch.id)
                        .is_some_and(|u| u.client_status == "complete")
            }) && !pids(pid_file).is_empty()
        },
    ));
    crashed.shutdown_background();
}

/// Whether the server sees the service running again with the client-restart event.
fn restarted_by_client(server: &FakeServer, alloc_id: &str) -> bool {
    server.with(|s| {
        s.latest(alloc_id).is_some_and(|u| {
            u.client_status == "running"
                && u.task_states["svc"].events.iter().any(|e| {
                    e.event_type == "Restarting"
                        && e.restart_reason.contains("Client agent restarted")
                })
        })
    })
}

#[test]
fn client_restart_kills_leftovers_and_restarts_wanted_allocs() {
    let server_rt = runtime();
    let server = server_rt.block_on(FakeServer::start());
    let dir = tempfile::tempdir().unwrap();
    let service = alloc(
        "service",
        vec![sh_task(
            "svc",
            "echo $$ >> $NOMAD_TASK_DIR/pids; sleep 300 & wait",
        )],
        quick_restarts(2),
    );
    let batch = alloc(
        "batch",
        vec![sh_task("once", "echo ran")],
        quick_restarts(2),
    );
    let pid_file = dir
        .path()
        .join("alloc")
        .join(&service.id)
        .join("svc/local/pids");
    let once_log = dir
        .path()
        .join("alloc")
        .join(&batch.id)
        .join("alloc/logs/once.stdout.0");

    crash_after_first_run(&server_rt, &server, dir.path(), &service, &batch, &pid_file);
    let first = pids(&pid_file)[0];
    assert!(
        !live_group(first).is_empty(),
        "the task survives the client crash"
    );

    // Second run: leftovers killed, the service restarted with an explanation.
    let agent = {
        let _guard = server_rt.enter();
        Agent::start(&server, dir.path())
    };
    server_rt.block_on(wait_until("the leftover group to be killed", || {
        live_group(first).is_empty()
    }));
    server_rt.block_on(wait_until("the service to run again", || {
        pids(&pid_file).len() == 2 && restarted_by_client(&server, &service.id)
    }));
    let second = pids(&pid_file)[1];
    assert_ne!(first, second);
    assert!(!live_group(second).is_empty());
    assert_eq!(
        std::fs::read_to_string(&once_log).unwrap(),
        "ran\n",
        "finished allocs do not run again"
    );

    server_rt.block_on(agent.stop());
    assert!(server_rt.block_on(group_dies(second)));
    server_rt.block_on(server.stop());
}
