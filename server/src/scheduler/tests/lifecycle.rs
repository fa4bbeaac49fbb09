//! Lost nodes, migrations, batch completion, and job updates (in place vs destructive).

use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_LOST, ALLOC_DESIRED_STOP, Constraint, NODE_STATUS_DOWN,
    TASK_STATE_DEAD, TaskState,
};

use super::fixture::*;
use crate::scheduler::{ALLOC_LOST, ALLOC_MIGRATING, ALLOC_UPDATING};

#[test]
fn lost_allocations_are_stopped_and_replaced_elsewhere() {
    let mut state = MemState::with_nodes(nodes(3));
    let job = state.put_job(job("web", 3));
    for i in 0..3 {
        state.put_alloc(alloc(&job, i, "node-0000"));
    }
    state.edit_node("node-0000", |n| n.status = NODE_STATUS_DOWN.into());
    let out = run(&state, &job);
    let stops = stopped(&out);
    assert_eq!(stops.len(), 3);
    for s in &stops {
        assert_eq!(s.client_status, ALLOC_CLIENT_LOST);
        assert_eq!(s.desired_status, ALLOC_DESIRED_STOP);
        assert_eq!(s.desired_description, ALLOC_LOST);
    }
    let places = placed(&out);
    assert_eq!(places.len(), 3);
    for p in &places {
        assert_ne!(p.node_id, "node-0000");
        let prev = &state.allocs[&p.previous_allocation];
        assert_eq!(prev.name, p.name);
        assert!(p.reschedule_tracker.is_none(), "lost is not a reschedule");
    }
    state.apply(&out.plan);
    assert!(run(&state, &job).plan.is_no_op());
}

#[test]
fn allocations_on_deleted_nodes_are_lost() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job("web", 1));
    state.put_alloc(alloc(&job, 0, "node-gone"));
    let out = run(&state, &job);
    assert_eq!(stopped(&out)[0].client_status, ALLOC_CLIENT_LOST);
    assert_eq!(placed(&out).len(), 1);
}

#[test]
fn migrating_allocations_are_replaced() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job("web", 1));
    let mut a = alloc(&job, 0, "node-0000");
    a.desired_transition.migrate = Some(true);
    state.put_alloc(a);
    let out = run(&state, &job);
    assert_eq!(stopped(&out)[0].desired_description, ALLOC_MIGRATING);
    assert_eq!(placed(&out)[0].previous_allocation, "alloc-web-0");
}

#[test]
fn batch_complete_allocations_are_not_replaced() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(batch_job("report", 2));
    for i in 0..2 {
        let mut a = alloc(&job, i, "node-0000");
        a.client_status = ALLOC_CLIENT_COMPLETE.into();
        state.put_alloc(a);
    }
    let out = run(&state, &job);
    assert!(out.plan.is_no_op(), "{:?}", out.plan);
    assert_eq!(out.queued_allocations["web"], 0);
}

#[test]
fn batch_rerun_after_a_job_update() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(batch_job("report", 1));
    let mut a = alloc(&v0, 0, "node-0000");
    a.client_status = ALLOC_CLIENT_COMPLETE.into();
    state.put_alloc(a);
    let v1 = state.put_job(next_version(&v0));
    let out = run(&state, &v1);
    assert_eq!(placed(&out).len(), 1);
    assert!(stopped(&out).is_empty());
}

#[test]
fn service_complete_allocations_are_replaced() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job("web", 1));
    let mut a = alloc(&job, 0, "node-0000");
    a.client_status = ALLOC_CLIENT_COMPLETE.into();
    state.put_alloc(a);
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 1);
    assert_eq!(placed(&out)[0].name, "web.web[0]");
}

#[test]
fn non_task_changes_update_in_place() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(job("web", 2));
    for i in 0..2 {
        state.put_alloc(alloc(&v0, i, "node-0001"));
    }
    let mut v1 = next_version(&v0);
    v1.priority = 80;
    v1.constraints.push(Constraint {
        l_target: "${attr.kernel.name}".into(),
        operand: "=".into(),
        r_target: "linux".into(),
    });
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert!(out.plan.node_update.is_empty());
    let updated = placed(&out);
    assert_eq!(updated.len(), 2);
    for a in updated {
        assert!(a.id.starts_with("alloc-web-"), "same allocation ID");
        assert_eq!(a.node_id, "node-0001");
        assert!(Arc::ptr_eq(a.job.as_ref().unwrap(), &v1));
        assert_eq!(a.eval_id, "eval-0001");
    }
    state.apply(&out.plan);
    assert!(run(&state, &v1).plan.is_no_op());
}

#[test]
fn constraint_no_longer_met_makes_the_update_destructive() {
    let mut state = MemState::with_nodes(nodes(2));
    state.edit_node("node-0001", |n| {
        n.attributes.insert("kernel.name".into(), "windows".into());
    });
    let v0 = state.put_job(job("web", 1));
    state.put_alloc(alloc(&v0, 0, "node-0001"));
    let mut v1 = next_version(&v0);
    v1.constraints.push(Constraint {
        l_target: "${attr.kernel.name}".into(),
        operand: "=".into(),
        r_target: "linux".into(),
    });
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert_eq!(stopped(&out)[0].desired_description, ALLOC_UPDATING);
    assert_eq!(placed(&out)[0].node_id, "node-0000");
}

#[test]
fn task_changes_replace_allocations() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(job("web", 2));
    for i in 0..2 {
        state.put_alloc(alloc(&v0, i, "node-0000"));
    }
    let mut v1 = next_version(&v0);
    v1.task_groups[0].tasks[0]
        .env
        .insert("MODE".into(), "fast".into());
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    let stops = stopped(&out);
    assert_eq!(stops.len(), 2);
    assert!(
        stops
            .iter()
            .all(|s| s.desired_description == ALLOC_UPDATING)
    );
    let places = placed(&out);
    assert_eq!(places.len(), 2);
    for p in &places {
        assert!(!p.id.starts_with("alloc-web-"));
        let prev = &state.allocs[&p.previous_allocation];
        assert_eq!(prev.name, p.name);
        assert!(Arc::ptr_eq(p.job.as_ref().unwrap(), &v1));
    }
    state.apply(&out.plan);
    assert!(run(&state, &v1).plan.is_no_op());
}

#[test]
fn destructive_update_can_reuse_the_freed_capacity() {
    let mut state = MemState::with_nodes(nodes(1));
    let mut v0 = job("web", 1);
    v0.task_groups[0].tasks[0].resources.memory_mb = 8000;
    let v0 = state.put_job(v0);
    state.put_alloc(alloc(&v0, 0, "node-0000"));
    let mut v1 = next_version(&v0);
    v1.task_groups[0].tasks[0].resources.memory_mb = 8100;
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert_eq!(stopped(&out).len(), 1);
    assert_eq!(placed(&out)[0].node_id, "node-0000");
}

#[test]
fn removed_groups_are_stopped() {
    let mut state = MemState::with_nodes(nodes(1));
    let v0 = state.put_job(job("web", 1));
    state.put_alloc(alloc(&v0, 0, "node-0000"));
    let mut v1 = next_version(&v0);
    v1.task_groups[0].name = "api".into();
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert_eq!(stopped(&out)[0].id, "alloc-web-0");
    assert_eq!(placed(&out)[0].name, "web.api[0]");
}

#[test]
fn batch_allocations_stopped_after_success_still_count() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(batch_job("report", 1));
    let mut a = alloc(&v0, 0, "node-0000");
    a.desired_status = ALLOC_DESIRED_STOP.into();
    a.task_states.insert(
        "srv".into(),
        TaskState {
            state: TASK_STATE_DEAD.into(),
            ..Default::default()
        },
    );
    state.put_alloc(a);
    assert!(run(&state, &v0).plan.is_no_op());
    let v1 = state.put_job(next_version(&v0));
    assert_eq!(
        placed(&run(&state, &v1)).len(),
        1,
        "a new version runs again"
    );
}

#[test]
fn unplaceable_destructive_update_keeps_the_old_allocation() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(job("web", 2));
    state.put_alloc(alloc(&v0, 0, "node-0000"));
    state.put_alloc(alloc(&v0, 1, "node-0001"));
    let mut v1 = next_version(&v0);
    v1.task_groups[0].tasks[0].resources.memory_mb = 9000;
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert!(out.plan.is_no_op(), "{:?}", out.plan);
    assert_eq!(out.queued_allocations["web"], 2);
    let m = &out.failed_tg_allocs["web"];
    assert_eq!(m.dimension_exhausted["memory"], 2);
    assert_eq!(m.coalesced_failures, 1);
}

#[test]
fn partly_placeable_destructive_update_replaces_what_fits() {
    let mut state = MemState::with_nodes(nodes(1));
    let v0 = state.put_job(job("web", 2));
    state.put_alloc(alloc(&v0, 0, "node-0000"));
    state.put_alloc(alloc(&v0, 1, "node-0000"));
    let mut v1 = next_version(&v0);
    v1.task_groups[0].tasks[0].resources.memory_mb = 5000;
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert_eq!(placed(&out).len(), 1);
    assert_eq!(
        stopped(&out).len(),
        1,
        "the other old allocation keeps running"
    );
    assert_eq!(placed(&out)[0].previous_allocation, stopped(&out)[0].id);
    assert_eq!(out.queued_allocations["web"], 1);
}
