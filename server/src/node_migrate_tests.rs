use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_RUNNING, EphemeralDisk, Job, NODE_STATUS_READY, Node,
    TaskGroup,
};
use tonic::Code;

use super::*;

fn job(migrate: bool) -> Arc<Job> {
    Arc::new(Job {
        id: "db".into(),
        namespace: "default".into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            ephemeral_disk: Some(EphemeralDisk {
                size_mb: 10,
                migrate,
                ..EphemeralDisk::default()
            }),
            ..TaskGroup::default()
        }],
        ..Job::default()
    })
}

fn node(id: &str, status: &str) -> Arc<Node> {
    Arc::new(Node {
        id: id.into(),
        secret_id: format!("{id}-secret"),
        status: status.into(),
        ..Node::default()
    })
}

fn alloc(id: &str, node: &str, previous: &str, job: &Arc<Job>, status: &str) -> Arc<Allocation> {
    Arc::new(Allocation {
        id: id.into(),
        namespace: "default".into(),
        node_id: node.into(),
        job_id: job.id.clone(),
        job: Some(job.clone()),
        task_group: "g".into(),
        previous_allocation: previous.into(),
        client_status: status.into(),
        ..Allocation::default()
    })
}

/// n1 ran `old` (now complete); n2 holds its replacement `new`; n3 is another node.
fn view(migrate: bool) -> StateView {
    let mut view = StateView::default();
    for id in ["n1", "n2", "n3"] {
        view.nodes.insert(id.into(), node(id, NODE_STATUS_READY));
    }
    let job = job(migrate);
    view.put_alloc(alloc("old", "n1", "", &job, ALLOC_CLIENT_COMPLETE));
    view.put_alloc(alloc("new", "n2", "old", &job, ALLOC_CLIENT_RUNNING));
    view
}

fn req(node: &str, secret: &str, alloc: &str) -> MigrateDataRequest {
    MigrateDataRequest {
        node_id: node.into(),
        secret_id: secret.into(),
        alloc_id: alloc.into(),
    }
}

fn code(view: &StateView, r: &MigrateDataRequest) -> Code {
    source(view, r).map(|_| ()).unwrap_err().code()
}

#[test]
fn the_replacements_node_gets_the_previous_allocation_capped_at_the_disk_size() {
    let (previous, cap) = source(&view(true), &req("n2", "n2-secret", "new")).unwrap();
    assert_eq!(previous.id, "old");
    assert_eq!(previous.node_id, "n1");
    assert_eq!(cap, 10 * 1024 * 1024);
}

#[test]
fn other_nodes_and_wrong_secrets_are_refused() {
    let v = view(true);
    assert_eq!(
        code(&v, &req("n2", "n1-secret", "new")),
        Code::PermissionDenied
    );
    // n3 proves itself but does not hold the replacement.
    assert_eq!(code(&v, &req("n3", "n3-secret", "new")), Code::NotFound);
    // The previous node asking for its own allocation's data is no replacement either.
    assert_eq!(
        code(&v, &req("n1", "n1-secret", "old")),
        Code::InvalidArgument
    );
    assert_eq!(code(&v, &req("nx", "x", "new")), Code::NotFound);
}

#[test]
fn groups_without_migrate_are_refused() {
    let v = view(false);
    assert_eq!(
        code(&v, &req("n2", "n2-secret", "new")),
        Code::PermissionDenied
    );
}

#[test]
fn a_running_gone_or_unreachable_previous_allocation_is_reported() {
    let mut v = view(true);
    let j = job(true);
    v.put_alloc(alloc("old", "n1", "", &j, ALLOC_CLIENT_RUNNING));
    let r = req("n2", "n2-secret", "new");
    assert_eq!(code(&v, &r), Code::FailedPrecondition, "ask again later");

    v.nodes.insert("n1".into(), node("n1", NODE_STATUS_DOWN));
    assert_eq!(code(&v, &r), Code::Unavailable);

    let mut v = view(true);
    v.put_alloc(alloc("new", "n2", "gone", &j, ALLOC_CLIENT_RUNNING));
    assert_eq!(code(&v, &r), Code::NotFound);

    // A previous allocation on the same node moves locally, not through the server.
    let mut v = view(true);
    v.put_alloc(alloc("old", "n2", "", &j, ALLOC_CLIENT_COMPLETE));
    assert_eq!(code(&v, &r), Code::InvalidArgument);
}
