use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_LOST, ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_RUN,
    ALLOC_DESIRED_STOP, AllocClientUpdate, Allocation, EVAL_STATUS_COMPLETE, EVAL_STATUS_PENDING,
    Evaluation, JOB_STATUS_DEAD, JOB_STATUS_PENDING, JOB_STATUS_RUNNING, Job, NODE_STATUS_DOWN,
    NODE_STATUS_READY, Node, TaskGroup,
};

use super::*;

fn job(id: &str, count: i64) -> Job {
    Job {
        id: id.into(),
        name: id.into(),
        namespace: "default".into(),
        job_type: "service".into(),
        priority: 50,
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn eval(id: &str, job_id: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job_id.into(),
        status: EVAL_STATUS_PENDING.into(),
        ..Evaluation::default()
    }
}

fn register(view: &mut StateView, index: u64, job: Job, enforce: Option<u64>) -> CommandResponse {
    let eval = eval(&format!("e{index}"), &job.id);
    apply(
        view,
        index,
        Command::UpsertJob {
            job: Box::new(job),
            eval: Some(eval),
            enforce_index: enforce,
            now: 1_000,
        },
    )
}

#[test]
fn register_sets_indexes_versions_and_pending_status() {
    let mut view = StateView::default();
    let r = register(&mut view, 10, job("web", 1), None);
    assert_eq!(
        (r.index, r.job_modify_index, r.error.clone()),
        (10, 10, None)
    );
    let j = view.job("default", "web").expect("stored");
    assert_eq!((j.version, j.create_index, j.job_modify_index), (0, 10, 10));
    assert_eq!(j.status, JOB_STATUS_PENDING);
    assert_eq!(view.evals.get("e10").map(|e| e.job_modify_index), Some(10));

    // Same spec again: no new version, but a new evaluation.
    let r = register(&mut view, 11, job("web", 1), None);
    assert_eq!(r.job_modify_index, 10);
    assert_eq!(view.job("default", "web").map(|j| j.version), Some(0));
    assert!(view.evals.contains_key("e11"));

    // Changed spec: version 1.
    register(&mut view, 12, job("web", 2), None);
    assert_eq!(view.job("default", "web").map(|j| j.version), Some(1));
    assert_eq!(view.job_versions("default", "web").len(), 2);
}

#[test]
fn enforce_index_refuses_stale_writes_and_changes_nothing() {
    let mut view = StateView::default();
    register(&mut view, 5, job("web", 1), Some(0));
    let r = register(&mut view, 6, job("web", 3), Some(0));
    assert_eq!(
        r.error,
        Some(ApplyError::CasMismatch {
            expected: 0,
            actual: 5
        })
    );
    assert_eq!(view.job("default", "web").map(|j| j.version), Some(0));
    assert!(!view.evals.contains_key("e6"));
    let r = register(&mut view, 7, job("web", 3), Some(5));
    assert_eq!(r.error, None);
}

fn placed(id: &str, node: &str) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: "default".into(),
        job_id: "web".into(),
        node_id: node.into(),
        task_group: "g".into(),
        desired_status: ALLOC_DESIRED_RUN.into(),
        client_status: "pending".into(),
        ..Allocation::default()
    }
}

fn plan(view: &mut StateView, index: u64, placed: Vec<Allocation>, stopped: Vec<Allocation>) {
    apply(
        view,
        index,
        Command::ApplyPlanResults {
            eval_id: "e1".into(),
            job: Some(JobRef {
                namespace: "default".into(),
                id: "web".into(),
                version: 0,
            }),
            placed,
            stopped,
            now: 2_000,
            deployment: None,
            deployment_updates: Vec::new(),
        },
    );
}

#[test]
fn plan_results_link_jobs_and_client_updates_drive_job_status() {
    let mut view = StateView::default();
    register(&mut view, 1, job("web", 1), None);
    apply(
        &mut view,
        2,
        Command::UpsertEvals {
            evals: vec![Evaluation {
                status: EVAL_STATUS_COMPLETE.into(),
                ..eval("e1", "web")
            }],
        },
    );
    plan(&mut view, 3, vec![placed("a1", "n1")], vec![]);
    let a = view.allocs.get("a1").expect("placed");
    assert_eq!((a.create_index, a.alloc_modify_index), (3, 3));
    assert_eq!(a.job.as_ref().map(|j| j.version), Some(0));
    assert_eq!(view.node_alloc_index.get("n1"), Some(&3));
    assert_eq!(
        view.job("default", "web").map(|j| j.status.clone()),
        Some(JOB_STATUS_RUNNING.into())
    );

    apply(
        &mut view,
        4,
        Command::UpdateAllocsFromClient {
            updates: vec![AllocClientUpdate {
                id: "a1".into(),
                client_status: ALLOC_CLIENT_RUNNING.into(),
                ..AllocClientUpdate::default()
            }],
            evals: vec![],
            now: 3_000,
        },
    );
    let a = view.allocs.get("a1").expect("kept");
    assert_eq!(a.client_status, ALLOC_CLIENT_RUNNING);
    assert_eq!(
        (a.modify_index, a.alloc_modify_index),
        (4, 3),
        "client updates do not bump AllocModifyIndex"
    );

    // An in-place update keeps the client's status.
    plan(&mut view, 5, vec![placed("a1", "n1")], vec![]);
    assert_eq!(
        view.allocs.get("a1").map(|a| a.client_status.clone()),
        Some(ALLOC_CLIENT_RUNNING.into())
    );

    // Stop: desired stop, then the client reports complete -> job dead.
    let mut stop = placed("a1", "n1");
    stop.desired_status = ALLOC_DESIRED_STOP.into();
    plan(&mut view, 6, vec![], vec![stop]);
    apply(
        &mut view,
        7,
        Command::UpdateAllocsFromClient {
            updates: vec![AllocClientUpdate {
                id: "a1".into(),
                client_status: ALLOC_CLIENT_COMPLETE.into(),
                ..AllocClientUpdate::default()
            }],
            evals: vec![],
            now: 4_000,
        },
    );
    assert_eq!(
        view.job("default", "web").map(|j| j.status.clone()),
        Some(JOB_STATUS_DEAD.into())
    );
}

#[test]
fn lost_allocations_ignore_late_client_updates_and_link_replacements() {
    let mut view = StateView::default();
    register(&mut view, 1, job("web", 1), None);
    plan(&mut view, 2, vec![placed("a1", "n1")], vec![]);
    let mut lost = placed("a1", "n1");
    lost.desired_status = ALLOC_DESIRED_STOP.into();
    lost.client_status = ALLOC_CLIENT_LOST.into();
    let mut replacement = placed("a2", "n2");
    replacement.previous_allocation = "a1".into();
    plan(&mut view, 3, vec![replacement], vec![lost]);
    let old = view.allocs.get("a1").expect("kept");
    assert_eq!(old.client_status, ALLOC_CLIENT_LOST);
    assert_eq!(old.next_allocation, "a2");
    apply(
        &mut view,
        4,
        Command::UpdateAllocsFromClient {
            updates: vec![AllocClientUpdate {
                id: "a1".into(),
                client_status: ALLOC_CLIENT_RUNNING.into(),
                ..AllocClientUpdate::default()
            }],
            evals: vec![],
            now: 5,
        },
    );
    assert_eq!(
        view.allocs.get("a1").map(|a| a.client_status.clone()),
        Some(ALLOC_CLIENT_LOST.into())
    );
}

#[test]
fn deregister_stops_with_new_version_and_purge_removes() {
    let mut view = StateView::default();
    register(&mut view, 1, job("web", 1), None);
    let r = apply(
        &mut view,
        2,
        Command::DeregisterJob {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: false,
            eval: Some(eval("e2", "web")),
            now: 9,
        },
    );
    assert_eq!(r.error, None);
    let j = view.job("default", "web").expect("kept");
    assert!(j.stop);
    assert_eq!(j.version, 1);
    apply(
        &mut view,
        3,
        Command::DeregisterJob {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: true,
            eval: None,
            now: 10,
        },
    );
    assert!(view.job("default", "web").is_none());
    assert!(view.job_versions("default", "web").is_empty());
    let r = apply(
        &mut view,
        4,
        Command::DeregisterJob {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: true,
            eval: None,
            now: 11,
        },
    );
    assert!(matches!(r.error, Some(ApplyError::NotFound { .. })));
}

#[test]
fn node_register_keeps_server_owned_fields() {
    let mut view = StateView::default();
    let node = Node {
        id: "n1".into(),
        status: NODE_STATUS_READY.into(),
        ..Node::default()
    };
    apply(
        &mut view,
        1,
        Command::UpsertNode {
            node: node.clone(),
            evals: vec![],
            now: 5_000_000_000,
        },
    );
    let n = view.nodes.get("n1").expect("stored");
    assert_eq!((n.create_index, n.status_updated_at), (1, 5));
    assert_eq!(n.scheduling_eligibility, "eligible");
    apply(
        &mut view,
        2,
        Command::UpdateNodeStatus {
            node_id: "n1".into(),
            status: NODE_STATUS_DOWN.into(),
            event: None,
            evals: vec![],
            now: 6_000_000_000,
        },
    );
    apply(
        &mut view,
        3,
        Command::UpsertNode {
            node,
            evals: vec![],
            now: 7_000_000_000,
        },
    );
    let n = view.nodes.get("n1").expect("stored");
    assert_eq!((n.create_index, n.modify_index), (1, 3));
    assert_eq!(n.status, NODE_STATUS_READY);
    assert_eq!(n.events.len(), 2, "registered + re-registered");
}

#[test]
fn commands_round_trip_through_json() {
    let cmd = Command::UpsertEvals {
        evals: vec![eval("e1", "web")],
    };
    let bytes = serde_json::to_vec(&cmd).expect("encodes");
    let back: Command = serde_json::from_slice(&bytes).expect("decodes");
    assert_eq!(back, cmd);
}
