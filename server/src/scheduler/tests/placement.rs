//! Placement: happy path, counts, stops, capacity, determinism, idempotency.

use std::collections::BTreeSet;

use nomadish_proto::model::{
    ALLOC_CLIENT_LOST, ALLOC_CLIENT_PENDING, ALLOC_DESIRED_RUN, ALLOC_DESIRED_STOP, Constraint,
    DrainStrategy, NODE_INELIGIBLE, NODE_STATUS_DOWN,
};

use super::fixture::*;
use crate::scheduler::{ALLOC_NOT_NEEDED, SchedulerError, schedule};

#[test]
fn places_every_allocation_with_its_fields() {
    let mut state = MemState::with_nodes(nodes(5));
    let job = state.put_job(job("web", 4));
    let out = run(&state, &job);
    assert!(out.failed_tg_allocs.is_empty());
    assert_eq!(out.queued_allocations["web"], 0);
    assert!(out.plan.node_update.is_empty());
    assert_eq!(out.plan.eval_id, "eval-0001");
    let allocs = placed(&out);
    assert_eq!(allocs.len(), 4);
    let names: BTreeSet<&str> = allocs.iter().map(|a| a.name.as_str()).collect();
    let want: BTreeSet<&str> = ["web.web[0]", "web.web[1]", "web.web[2]", "web.web[3]"].into();
    assert_eq!(names, want);
    for a in &allocs {
        assert_eq!(a.id.len(), 36);
        assert_eq!(a.namespace, "default");
        assert_eq!(a.eval_id, "eval-0001");
        assert_eq!(a.job_id, "web");
        assert!(std::sync::Arc::ptr_eq(a.job.as_ref().unwrap(), &job));
        assert_eq!(a.task_group, "web");
        assert_eq!(a.node_name, state.nodes[&a.node_id].name);
        assert_eq!(a.desired_status, ALLOC_DESIRED_RUN);
        assert_eq!(a.client_status, ALLOC_CLIENT_PENDING);
        assert_eq!((a.create_time, a.modify_time), (NOW, NOW));
        assert_eq!(a.allocated_resources, fixture_resources(&job));
        assert_eq!(a.allocated_resources.cpu(), 100);
        assert_eq!(a.allocated_resources.memory_mb(), 128);
        assert_eq!(a.allocated_resources.disk_mb(), 300);
        let m = a.metrics.as_ref().expect("metrics");
        assert_eq!(m.nodes_evaluated, 5);
        assert_eq!(m.nodes_available["dc1"], 5);
        let chosen = m
            .score_meta_data
            .iter()
            .find(|n| n.node_id == a.node_id)
            .expect("the chosen node's scores are recorded");
        assert!(chosen.scores.contains_key("binpack"));
        assert!(chosen.norm_score > 0.0, "{chosen:?}");
        assert!(m.scores.is_empty(), "the deprecated flat form stays empty");
        assert!(
            m.score_meta_data
                .windows(2)
                .all(|w| w[0].norm_score >= w[1].norm_score),
            "best first"
        );
    }
    let ids: BTreeSet<&str> = allocs.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn anti_affinity_spreads_a_service_over_empty_nodes() {
    let mut state = MemState::with_nodes(nodes(3));
    let job = state.put_job(job("web", 3));
    let out = run(&state, &job);
    assert_eq!(out.plan.node_allocation.len(), 3, "one per node");
}

#[test]
fn same_input_and_seed_give_the_same_plan() {
    let mut state = MemState::with_nodes(nodes(20));
    let job = state.put_job(job("web", 30));
    let eval = eval_for(&job);
    let a = schedule(&state, &eval, NOW, 7).unwrap();
    let b = schedule(&state, &eval, NOW, 7).unwrap();
    assert_eq!(a, b);
    let c = schedule(&state, &eval, NOW, 8).unwrap();
    assert_ne!(a.plan, c.plan, "another seed gives other IDs");
}

#[test]
fn scheduling_again_after_commit_changes_nothing() {
    let mut state = MemState::with_nodes(nodes(4));
    let job = state.put_job(job("web", 6));
    let out = run(&state, &job);
    state.apply(&out.plan);
    let again = run(&state, &job);
    assert!(again.plan.is_no_op(), "{:?}", again.plan);
    assert!(again.followup_evals.is_empty());
    assert_eq!(again.queued_allocations["web"], 0);
}

#[test]
fn partial_commit_places_only_the_rest() {
    let mut state = MemState::with_nodes(nodes(4));
    let job = state.put_job(job("web", 6));
    let out = run(&state, &job);
    let first = placed(&out)[0].clone();
    state.put_alloc(first);
    let again = run(&state, &job);
    assert_eq!(placed(&again).len(), 5);
    let names: BTreeSet<String> = placed(&again).iter().map(|a| a.name.clone()).collect();
    assert!(!names.contains(&placed(&out)[0].name));
}

#[test]
fn count_increase_places_missing_indexes() {
    let mut state = MemState::with_nodes(nodes(3));
    let v0 = state.put_job(job("web", 2));
    for i in 0..2 {
        state.put_alloc(alloc(&v0, i, "node-0000"));
    }
    let mut j = job("web", 5);
    j.job_modify_index = v0.job_modify_index;
    let job = state.put_job(j);
    let out = run(&state, &job);
    let names: BTreeSet<String> = placed(&out).iter().map(|a| a.name.clone()).collect();
    let want: BTreeSet<String> = (2..5).map(|i| format!("web.web[{i}]")).collect();
    assert_eq!(names, want);
    assert!(out.plan.node_update.is_empty());
}

#[test]
fn count_decrease_stops_highest_indexes() {
    let mut state = MemState::with_nodes(nodes(3));
    let v0 = state.put_job(job("web", 5));
    for i in 0..5 {
        state.put_alloc(alloc(&v0, i, "node-0001"));
    }
    let mut j = job("web", 2);
    j.job_modify_index = v0.job_modify_index;
    let job = state.put_job(j);
    let out = run(&state, &job);
    let mut names: Vec<String> = stopped(&out).iter().map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["web.web[2]", "web.web[3]", "web.web[4]"]);
    for a in stopped(&out) {
        assert_eq!(a.desired_status, ALLOC_DESIRED_STOP);
        assert_eq!(a.desired_description, ALLOC_NOT_NEEDED);
    }
    assert!(placed(&out).is_empty());
}

#[test]
fn stopped_or_missing_job_stops_everything() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(job("web", 3));
    for i in 0..3 {
        state.put_alloc(alloc(&v0, i, "node-0000"));
    }
    state.edit_node("node-0000", |n| n.status = NODE_STATUS_DOWN.into());
    state.put_alloc(alloc(&v0, 3, "node-0001"));
    let mut stopped_job = job("web", 3);
    stopped_job.stop = true;
    let job = state.put_job(stopped_job);
    let out = run(&state, &job);
    let stops = stopped(&out);
    assert_eq!(stops.len(), 4);
    assert!(placed(&out).is_empty());
    let lost = stops
        .iter()
        .filter(|a| a.client_status == ALLOC_CLIENT_LOST)
        .count();
    assert_eq!(lost, 3, "allocs on the down node are marked lost");
    state.jobs.clear();
    let out = run(&state, &job);
    assert_eq!(stopped(&out).len(), 4);
    assert!(out.plan.job.is_none());
}

#[test]
fn never_places_on_down_draining_or_ineligible_nodes() {
    let mut state = MemState::with_nodes(nodes(4));
    state.edit_node("node-0000", |n| n.status = NODE_STATUS_DOWN.into());
    state.edit_node("node-0001", |n| {
        n.scheduling_eligibility = NODE_INELIGIBLE.into()
    });
    state.edit_node("node-0002", |n| {
        n.drain_strategy = Some(DrainStrategy::default())
    });
    let job = state.put_job(job("web", 5));
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 5);
    assert!(placed(&out).iter().all(|a| a.node_id == "node-0003"));
    assert_eq!(placed(&out)[0].metrics.as_ref().unwrap().nodes_evaluated, 1);
}

#[test]
fn exhausted_resources_fail_with_dimension_and_queue() {
    let mut state = MemState::with_nodes(nodes(2));
    let mut j = job("web", 10);
    j.task_groups[0].tasks[0].resources.memory_mb = 3000;
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(
        placed(&out).len(),
        4,
        "two 3000 MB allocs fit per 8192 MB node"
    );
    assert_eq!(out.queued_allocations["web"], 6);
    let m = &out.failed_tg_allocs["web"];
    assert_eq!(m.nodes_evaluated, 2);
    assert_eq!(m.nodes_exhausted, 2);
    assert_eq!(m.dimension_exhausted["memory"], 2);
    assert_eq!(m.coalesced_failures, 5);
}

#[test]
fn cpu_is_checked_before_memory_and_disk_counts() {
    let mut state = MemState::with_nodes(nodes(1));
    let mut j = job("web", 1);
    j.task_groups[0].ephemeral_disk.as_mut().unwrap().size_mb = 200_000;
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(out.failed_tg_allocs["web"].dimension_exhausted["disk"], 1);
    let mut j = job.as_ref().clone();
    j.task_groups[0].tasks[0].resources.cpu = 5000;
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(out.failed_tg_allocs["web"].dimension_exhausted["cpu"], 1);
}

#[test]
fn existing_allocations_of_other_jobs_use_capacity() {
    let mut state = MemState::with_nodes(nodes(1));
    let mut big = job("big", 1);
    big.task_groups[0].tasks[0].resources.cpu = 3950;
    let big = state.put_job(big);
    state.put_alloc(alloc(&big, 0, "node-0000"));
    let job = state.put_job(job("web", 1));
    let out = run(&state, &job);
    assert_eq!(out.failed_tg_allocs["web"].dimension_exhausted["cpu"], 1);
}

#[test]
fn distinct_hosts_puts_one_per_node() {
    let mut state = MemState::with_nodes(nodes(3));
    let mut j = job("web", 4);
    j.constraints.push(Constraint {
        operand: "distinct_hosts".into(),
        r_target: "true".into(),
        ..Default::default()
    });
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 3);
    assert_eq!(out.plan.node_allocation.len(), 3);
    let m = &out.failed_tg_allocs["web"];
    assert_eq!(m.constraint_filtered["distinct_hosts"], 3);
    assert_eq!(out.queued_allocations["web"], 1);
}

#[test]
fn datacenter_pool_and_driver_filters_are_reported() {
    let mut state = MemState::with_nodes([node(0, "dc1"), node(1, "dc2"), node(2, "dc1")]);
    state.edit_node("node-0002", |n| {
        n.drivers.remove("docker");
        n.node_class = "small".into();
    });
    let mut other_pool = node(3, "dc1");
    other_pool.node_pool = "gpu".into();
    state.put_node(other_pool);
    let job = state.put_job(job("web", 2));
    let out = run(&state, &job);
    assert!(placed(&out).iter().all(|a| a.node_id == "node-0000"));
    let m = placed(&out)[0].metrics.clone().unwrap();
    assert_eq!(m.nodes_evaluated, 3, "the gpu-pool node is not evaluated");
    assert_eq!(m.nodes_in_pool, 3);
    assert_eq!(m.nodes_filtered, 2);
    assert_eq!(m.constraint_filtered["missing drivers"], 1);
    assert_eq!(m.constraint_filtered["datacenter mismatch"], 1);
    assert_eq!(m.class_filtered["small"], 1);
    assert_eq!(m.nodes_available.get("dc1"), Some(&2));
    assert_eq!(m.nodes_available.get("dc2"), None);
}

#[test]
fn datacenter_globs_and_all_pool() {
    let mut state = MemState::with_nodes([node(0, "us-east-1"), node(1, "eu-west-1")]);
    state.edit_node("node-0001", |n| n.node_pool = "edge".into());
    let mut j = job("web", 4);
    j.datacenters = vec!["*-1".into()];
    j.node_pool = "all".into();
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(out.plan.node_allocation.len(), 2);
}

#[test]
fn unknown_eval_type_is_an_error() {
    let state = MemState::default();
    let mut eval = eval_for(&job("web", 1));
    eval.eval_type = "_core".into();
    assert_eq!(
        schedule(&state, &eval, NOW, 1),
        Err(SchedulerError::UnknownType {
            eval_type: "_core".into()
        })
    );
}

#[test]
fn annotations_count_desired_changes() {
    let mut state = MemState::with_nodes(nodes(2));
    let v0 = state.put_job(job("web", 3));
    state.put_alloc(alloc(&v0, 0, "node-0000"));
    let mut eval = eval_for(&v0);
    eval.annotate_plan = true;
    let out = schedule(&state, &eval, NOW, 1).unwrap();
    let updates = out
        .plan
        .annotations
        .expect("annotations")
        .desired_tg_updates["web"];
    assert_eq!((updates.place, updates.ignore, updates.stop), (2, 1, 0));
}
