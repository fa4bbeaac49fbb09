//! Host volume feasibility and sticky ephemeral disks.

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, ClientHostVolumeConfig, DrainStrategy, EphemeralDisk, NODE_INELIGIBLE,
    NS_PER_SEC, VOLUME_TYPE_HOST, VolumeRequest,
};

use super::fixture::*;
use crate::scheduler::feasible::FILTER_MISSING_HOST_VOLUMES;

fn with_volume(mut job: nomadish_proto::model::Job, read_only: bool) -> nomadish_proto::model::Job {
    let request = VolumeRequest {
        name: "data".into(),
        volume_type: VOLUME_TYPE_HOST.into(),
        source: "pgdata".into(),
        read_only,
        ..VolumeRequest::default()
    };
    job.task_groups[0].volumes.insert("data".into(), request);
    job
}

fn offer(read_only: bool) -> ClientHostVolumeConfig {
    ClientHostVolumeConfig {
        name: "pgdata".into(),
        path: "/srv/pg".into(),
        read_only,
    }
}

#[test]
fn only_nodes_with_the_host_volume_are_feasible() {
    let mut state = MemState::with_nodes(nodes(3));
    state.edit_node("node-0002", |n| {
        n.host_volumes.insert("pgdata".into(), offer(false));
    });
    state.edit_node("node-0001", |n| {
        n.host_volumes.insert("pgdata".into(), offer(true));
    });
    let job = state.put_job(with_volume(job("db", 1), false));
    let out = run(&state, &job);
    assert_eq!(placed(&out)[0].node_id, "node-0002");
}

#[test]
fn a_missing_host_volume_is_the_placement_failure_reason() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(with_volume(job("db", 1), true));
    let out = run(&state, &job);
    assert!(placed(&out).is_empty());
    let metric = &out.failed_tg_allocs["web"];
    assert_eq!(metric.constraint_filtered[FILTER_MISSING_HOST_VOLUMES], 2);
}

#[test]
fn a_sticky_replacement_prefers_the_previous_node() {
    let mut state = MemState::with_nodes(nodes(2));
    let mut spec = job("web", 1);
    spec.task_groups[0].ephemeral_disk = Some(EphemeralDisk {
        sticky: true,
        ..EphemeralDisk::default()
    });
    let job = state.put_job(spec);
    let mut a = alloc(&job, 0, "node-0000");
    a.client_status = ALLOC_CLIENT_FAILED.into();
    a.modify_time = NOW - 60 * NS_PER_SEC;
    state.put_alloc(a);
    let out = run(&state, &job);
    let repl = placed(&out)[0];
    assert_eq!(repl.previous_allocation, "alloc-web-0");
    // Without stickiness the reschedule penalty would move it to node-0001.
    assert_eq!(repl.node_id, "node-0000");
}

#[test]
fn a_drained_migrating_disk_is_replaced_elsewhere_naming_its_previous_allocation() {
    let mut state = MemState::with_nodes(nodes(2));
    state.edit_node("node-0000", |n| {
        n.drain_strategy = Some(DrainStrategy::default());
        n.scheduling_eligibility = NODE_INELIGIBLE.into();
    });
    let mut spec = job("web", 1);
    spec.task_groups[0].ephemeral_disk = Some(EphemeralDisk {
        sticky: true,
        migrate: true,
        ..EphemeralDisk::default()
    });
    let job = state.put_job(spec);
    let mut a = alloc(&job, 0, "node-0000");
    a.desired_transition.migrate = Some(true);
    state.put_alloc(a);
    let out = run(&state, &job);
    assert_eq!(stopped(&out)[0].id, "alloc-web-0");
    let repl = placed(&out)[0];
    // The client fetches the data from the previous allocation's node by this link.
    assert_eq!(repl.previous_allocation, "alloc-web-0");
    assert_eq!(repl.node_id, "node-0001", "sticky never overrides a drain");
}
