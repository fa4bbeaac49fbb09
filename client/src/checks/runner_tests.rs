//! The service runner against a local TCP listener: registration while the task runs, checks
//! feeding health, and everything withdrawn when the task stops.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{
    AllocatedPort, Allocation, Node, Service, ServiceCheck, Task, TaskGroup, TaskState,
};

use super::{ServiceRunner, ServiceSync};
use crate::controls::TaskControls;
use crate::identity::NodeIdentity;
use crate::servers::ServerPool;

fn states(state: &str) -> BTreeMap<String, TaskState> {
    let s = TaskState {
        state: state.into(),
        ..TaskState::default()
    };
    [("t".to_string(), s)].into_iter().collect()
}

#[tokio::test]
async fn checks_run_while_the_task_runs_and_make_it_healthy() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    let mut alloc = Allocation {
        id: "a1".into(),
        task_group: "g".into(),
        ..Allocation::default()
    };
    alloc.allocated_resources.shared.ports.push(AllocatedPort {
        label: "db".into(),
        value: port,
        to: 0,
        host_ip: "127.0.0.1".into(),
    });
    let group = TaskGroup {
        name: "g".into(),
        tasks: vec![Task {
            name: "t".into(),
            services: vec![Service {
                name: "db".into(),
                provider: "nomad".into(),
                port_label: "db".into(),
                on_update: "require_healthy".into(),
                checks: vec![ServiceCheck {
                    check_type: "tcp".into(),
                    interval: 1_000_000_000,
                    timeout: 1_000_000_000,
                    on_update: "require_healthy".into(),
                    ..ServiceCheck::default()
                }],
                ..Service::default()
            }],
            ..Task::default()
        }],
        ..TaskGroup::default()
    };
    let pool = ServerPool::new(vec!["127.0.0.1:1".into()], None).expect("pool");
    let identity = NodeIdentity {
        id: "n1".into(),
        secret_id: "s".into(),
    };
    let sync = ServiceSync::new(pool, identity);
    let mut runner = ServiceRunner::new(
        Arc::new(alloc),
        Arc::new(Node::default()),
        &group,
        sync.clone(),
        TaskControls::default(),
    )
    .expect("has services");
    assert!(runner.has_checks());
    assert!(!runner.checks_healthy(), "not registered yet");
    runner.update(&states("running"));
    assert_eq!(runner.registered.len(), 1);
    assert_eq!(runner.registered[0].port, port);
    assert_eq!(sync.pending("a1").map(|r| r.len()), Some(1), "queued");
    let mut rx = runner.subscribe();
    tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| !s.is_empty()))
        .await
        .expect("a probe within the interval")
        .expect("runner alive");
    assert!(runner.checks_healthy());
    runner.update(&states("pending"));
    assert!(runner.registered.is_empty());
    assert_eq!(
        sync.pending("a1"),
        Some(Vec::new()),
        "deregistration queued"
    );
    assert!(!runner.checks_healthy());
}
