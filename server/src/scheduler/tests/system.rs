//! The system and sysbatch schedulers: one allocation per feasible node.

use std::collections::BTreeSet;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, ALLOC_CLIENT_LOST, Constraint, DrainStrategy,
    JOB_TYPE_SYSBATCH, JOB_TYPE_SYSTEM, Job, NODE_INELIGIBLE, NODE_STATUS_DOWN,
};

use super::fixture::*;
use crate::scheduler::reconcile::ALLOC_NODE_TAINTED;
use crate::scheduler::{ALLOC_NOT_NEEDED, ALLOC_UPDATING};

fn system_job(kind: &str) -> Job {
    let mut j = job("agent", 1);
    j.job_type = kind.into();
    j.task_groups[0].reschedule_policy = None;
    j
}

fn nodes_used(out: &crate::scheduler::Outcome) -> BTreeSet<String> {
    out.plan.node_allocation.keys().cloned().collect()
}

#[test]
fn places_one_per_feasible_ready_node() {
    let mut state = MemState::with_nodes(nodes(5));
    state.edit_node("node-0001", |n| n.status = NODE_STATUS_DOWN.into());
    state.edit_node("node-0002", |n| {
        n.attributes.insert("kernel.name".into(), "windows".into());
    });
    let mut j = system_job(JOB_TYPE_SYSTEM);
    j.constraints.push(Constraint {
        l_target: "${attr.kernel.name}".into(),
        operand: "=".into(),
        r_target: "linux".into(),
    });
    let job = state.put_job(j);
    let out = run(&state, &job);
    let want: BTreeSet<String> = ["node-0000", "node-0003", "node-0004"]
        .map(String::from)
        .into();
    assert_eq!(nodes_used(&out), want);
    assert!(placed(&out).iter().all(|a| a.name == "agent.web[0]"));
    assert_eq!(out.queued_allocations["web"], 0);
    state.apply(&out.plan);
    assert!(run(&state, &job).plan.is_no_op());
}

#[test]
fn node_changes_stop_allocations() {
    let mut state = MemState::with_nodes(nodes(4));
    let job = state.put_job(system_job(JOB_TYPE_SYSTEM));
    for i in 0..4 {
        let mut a = alloc(&job, 0, &format!("node-{i:04}"));
        a.id = format!("sys-{i}");
        // The drainer marked the one on the draining node.
        a.desired_transition.migrate = (i == 1).then_some(true);
        state.put_alloc(a);
    }
    state.edit_node("node-0000", |n| n.status = NODE_STATUS_DOWN.into());
    state.edit_node("node-0001", |n| {
        n.drain_strategy = Some(DrainStrategy::default())
    });
    state.edit_node("node-0002", |n| {
        n.drivers.remove("docker");
    });
    state.edit_node("node-0003", |n| {
        n.scheduling_eligibility = NODE_INELIGIBLE.into()
    });
    let out = run(&state, &job);
    let mut stops: Vec<(String, String, String)> = stopped(&out)
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                a.desired_description.clone(),
                a.client_status.clone(),
            )
        })
        .collect();
    stops.sort();
    assert_eq!(stops.len(), 3, "the ineligible node keeps its allocation");
    assert_eq!(stops[0].2, ALLOC_CLIENT_LOST);
    assert_eq!(stops[1].1, ALLOC_NODE_TAINTED);
    assert_eq!(stops[2].1, ALLOC_NOT_NEEDED);
    assert!(placed(&out).is_empty());
}

#[test]
fn updates_and_failures() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(system_job(JOB_TYPE_SYSTEM));
    let mut a = alloc(&v0, 0, "node-0000");
    a.id = "sys-0".into();
    state.put_alloc(a);
    let mut b = alloc(&v0, 0, "node-0001");
    b.id = "sys-1".into();
    b.client_status = ALLOC_CLIENT_FAILED.into();
    state.put_alloc(b);
    let mut v1 = next_version(&v0);
    v1.task_groups[0].tasks[0]
        .env
        .insert("X".into(), "1".into());
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert_eq!(stopped(&out)[0].desired_description, ALLOC_UPDATING);
    assert_eq!(
        placed(&out).len(),
        2,
        "replacement on node 0, fresh one on node 1"
    );
    let repl = placed(&out)
        .into_iter()
        .find(|a| a.node_id == "node-0000")
        .unwrap();
    assert_eq!(repl.previous_allocation, "sys-0");
}

#[test]
fn sysbatch_completed_nodes_are_done() {
    let mut state = MemState::with_nodes(nodes(3));
    let job = state.put_job(system_job(JOB_TYPE_SYSBATCH));
    let mut a = alloc(&job, 0, "node-0000");
    a.client_status = ALLOC_CLIENT_COMPLETE.into();
    state.put_alloc(a);
    let out = run(&state, &job);
    let want: BTreeSet<String> = ["node-0001", "node-0002"].map(String::from).into();
    assert_eq!(nodes_used(&out), want);
}

#[test]
fn full_nodes_are_reported() {
    let mut state = MemState::with_nodes(nodes(3));
    let mut j = system_job(JOB_TYPE_SYSTEM);
    j.task_groups[0].tasks[0].resources.cpu = 3000;
    let sys = state.put_job(j);
    let mut hog = job("hog", 1);
    hog.task_groups[0].tasks[0].resources.cpu = 2000;
    let hog = state.put_job(hog);
    state.put_alloc(alloc(&hog, 0, "node-0001"));
    state.put_alloc(alloc(&hog, 1, "node-0002"));
    let out = run(&state, &sys);
    assert_eq!(placed(&out).len(), 1);
    assert_eq!(out.queued_allocations["web"], 2);
    let m = &out.failed_tg_allocs["web"];
    assert_eq!(m.nodes_exhausted, 2);
    assert_eq!(m.dimension_exhausted["cpu"], 2);
    assert_eq!(m.coalesced_failures, 1);
}

/// A full node: a low-priority service allocation holding most of it.
fn full_node_with_low_priority_alloc() -> (MemState, Job) {
    let mut state = MemState::with_nodes(nodes(1));
    let mut low = job("low", 1);
    low.priority = 20;
    low.task_groups[0].tasks[0].resources.cpu = 3950;
    let low = state.put_job(low);
    let mut a = alloc(&low, 0, "node-0000");
    a.id = "low-alloc".into();
    state.put_alloc(a);
    let mut sys = job("sys", 1);
    sys.job_type = nomadish_proto::model::JOB_TYPE_SYSTEM.into();
    sys.priority = 70;
    sys.task_groups[0].tasks[0].resources.cpu = 500;
    (state, sys)
}

#[test]
fn system_jobs_preempt_lower_priority_allocations_by_default() {
    let (mut state, sys) = full_node_with_low_priority_alloc();
    let sys = state.put_job(sys);
    let out = run(&state, &sys);
    let placed = placed(&out);
    assert_eq!(placed.len(), 1);
    assert_eq!(
        placed[0].preempted_allocations,
        vec!["low-alloc".to_string()]
    );
    let evicted = &out.plan.node_preemptions["node-0000"];
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0].desired_status, "evict");
    assert_eq!(
        evicted[0].desired_description,
        format!("Preempted by alloc ID {}", placed[0].id)
    );
}

#[test]
fn no_preemption_when_disabled_or_priority_too_close() {
    let (mut state, mut sys) = full_node_with_low_priority_alloc();
    sys.priority = 25;
    let close = state.put_job(sys.clone());
    let out = run(&state, &close);
    assert!(placed(&out).is_empty());
    assert!(out.plan.node_preemptions.is_empty());
    assert_eq!(out.failed_tg_allocs["web"].dimension_exhausted["cpu"], 1);
    sys.priority = 70;
    let sys = state.put_job(sys);
    let mut cfg = nomadish_proto::model::SchedulerConfiguration::default();
    cfg.preemption_config.system_scheduler_enabled = false;
    state.config = Some(cfg);
    assert!(placed(&run(&state, &sys)).is_empty());
}

#[test]
fn service_jobs_do_not_preempt_by_default() {
    let (mut state, mut sys) = full_node_with_low_priority_alloc();
    sys.job_type = nomadish_proto::model::JOB_TYPE_SERVICE.into();
    let svc = state.put_job(sys);
    let out = run(&state, &svc);
    assert!(placed(&out).is_empty());
    assert!(out.plan.node_preemptions.is_empty());
}
