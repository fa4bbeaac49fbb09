use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_RUNNING, AllocClientUpdate, Allocation, NODE_STATUS_DOWN,
    NODE_STATUS_READY, Node, ServiceRegistration,
};

use crate::fsm::{Command, apply};
use crate::state::{StateView, decode_snapshot, encode_snapshot};

fn seeded() -> StateView {
    let mut view = StateView::default();
    view.nodes.insert(
        "n1".into(),
        Arc::new(Node {
            id: "n1".into(),
            status: NODE_STATUS_READY.into(),
            ..Node::default()
        }),
    );
    for id in ["a1", "a2"] {
        view.put_alloc(Arc::new(Allocation {
            id: id.into(),
            node_id: "n1".into(),
            namespace: "default".into(),
            job_id: "web".into(),
            desired_status: "run".into(),
            client_status: ALLOC_CLIENT_RUNNING.into(),
            ..Allocation::default()
        }));
    }
    view
}

fn reg(alloc: &str, name: &str, port: u16) -> ServiceRegistration {
    ServiceRegistration {
        id: format!("_nomad-task-{alloc}-g-{name}-http"),
        service_name: name.into(),
        namespace: "default".into(),
        node_id: "n1".into(),
        alloc_id: alloc.into(),
        job_id: "web".into(),
        address: "127.0.0.1".into(),
        port,
        ..ServiceRegistration::default()
    }
}

fn upsert(view: &mut StateView, index: u64, alloc: &str, regs: Vec<ServiceRegistration>) -> bool {
    let cmd = Command::UpsertServiceRegistrations {
        alloc_id: alloc.into(),
        registrations: regs,
    };
    apply(view, index, cmd).error.is_none()
}

#[test]
fn upsert_replaces_an_allocs_set_and_keeps_create_index() {
    let mut view = seeded();
    assert!(upsert(&mut view, 10, "a1", vec![reg("a1", "web", 8080)]));
    assert!(upsert(&mut view, 11, "a2", vec![reg("a2", "web", 8081)]));
    assert_eq!(view.service_registrations("default", "web").len(), 2);
    assert_eq!(view.tables.services, 11);
    // Same content again: nothing changes.
    assert!(upsert(&mut view, 12, "a1", vec![reg("a1", "web", 8080)]));
    assert_eq!(view.tables.services, 11);
    // A new port: modified, created index kept.
    assert!(upsert(&mut view, 13, "a1", vec![reg("a1", "web", 9000)]));
    let s = view
        .services
        .get("_nomad-task-a1-g-web-http")
        .expect("kept");
    assert_eq!((s.create_index, s.modify_index, s.port), (10, 13, 9000));
    // Empty set: deregistered.
    assert!(upsert(&mut view, 14, "a1", Vec::new()));
    assert_eq!(view.service_registrations("default", "web").len(), 1);
}

#[test]
fn registrations_for_unknown_terminal_or_foreign_allocs_are_refused() {
    let mut view = seeded();
    assert!(!upsert(&mut view, 10, "nope", vec![reg("nope", "web", 1)]));
    assert!(!upsert(&mut view, 11, "a1", vec![reg("a2", "web", 1)]));
    assert!(view.services.is_empty());
}

#[test]
fn terminal_allocs_and_down_nodes_lose_their_registrations() {
    let mut view = seeded();
    upsert(&mut view, 10, "a1", vec![reg("a1", "web", 8080)]);
    upsert(&mut view, 11, "a2", vec![reg("a2", "api", 8081)]);
    let update = AllocClientUpdate {
        id: "a1".into(),
        client_status: ALLOC_CLIENT_COMPLETE.into(),
        ..AllocClientUpdate::default()
    };
    let cmd = Command::UpdateAllocsFromClient {
        updates: vec![update],
        evals: Vec::new(),
        now: 1,
    };
    apply(&mut view, 12, cmd);
    assert!(view.service_registrations("default", "web").is_empty());
    assert_eq!(view.service_registrations("default", "api").len(), 1);
    assert_eq!(view.tables.services, 12);
    let cmd = Command::UpdateNodeStatus {
        node_id: "n1".into(),
        status: NODE_STATUS_DOWN.into(),
        event: None,
        evals: Vec::new(),
        now: 2,
    };
    apply(&mut view, 13, cmd);
    assert!(view.services.is_empty());
}

#[test]
fn delete_and_snapshot_round_trip() {
    let mut view = seeded();
    upsert(&mut view, 10, "a1", vec![reg("a1", "web", 8080)]);
    upsert(&mut view, 11, "a2", vec![reg("a2", "web", 8081)]);
    let restored = decode_snapshot(&encode_snapshot(&view)).expect("decodes");
    assert_eq!(restored.services, view.services);
    let del = |name: &str, id: &str| Command::DeleteServiceRegistration {
        namespace: "default".into(),
        service_name: name.into(),
        id: id.into(),
    };
    assert!(
        apply(&mut view, 12, del("api", "_nomad-task-a1-g-web-http"))
            .error
            .is_some()
    );
    assert!(
        apply(&mut view, 13, del("web", "_nomad-task-a1-g-web-http"))
            .error
            .is_none()
    );
    assert_eq!(view.service_registrations("default", "web").len(), 1);
}
