//! Host ports: static ports as given, dynamic ports from the node's range, never a collision
//! on a node, and port exhaustion explained like Nomad.

use std::collections::BTreeSet;

use nomadish_proto::model::{JOB_TYPE_SYSTEM, Job, NetworkResource, Port};

use super::fixture::*;

/// The fixture job with `network { port "http" { static = N } port "admin" {} }`.
pub fn job_with_ports(id: &str, count: i64, statics: &[(&str, u16)], dynamic: &[&str]) -> Job {
    let mut j = job(id, count);
    let port = |label: &str, value: u16| Port {
        label: label.into(),
        value,
        ..Default::default()
    };
    j.task_groups[0].networks = vec![NetworkResource {
        mode: "host".into(),
        reserved_ports: statics.iter().map(|(l, v)| port(l, *v)).collect(),
        dynamic_ports: dynamic.iter().map(|l| port(l, 0)).collect(),
        ..Default::default()
    }];
    j
}

#[test]
fn static_and_dynamic_ports_are_recorded_in_nomads_shape() {
    let mut state = MemState::with_nodes(nodes(3));
    state.edit_node("node-0000", |n| {
        n.attributes
            .insert("unique.network.ip-address".into(), "10.0.0.7".into());
    });
    let job = state.put_job(job_with_ports("web", 3, &[("http", 8080)], &["admin"]));
    let out = run(&state, &job);
    assert!(
        out.failed_tg_allocs.is_empty(),
        "{:?}",
        out.failed_tg_allocs
    );
    let allocs = placed(&out);
    assert_eq!(allocs.len(), 3);
    let nodes: BTreeSet<&str> = allocs.iter().map(|a| a.node_id.as_str()).collect();
    assert_eq!(nodes.len(), 3, "one static port 8080 per node");
    for a in allocs {
        let shared = &a.allocated_resources.shared;
        let net = &shared.networks[0];
        assert_eq!(net.reserved_ports[0].value, 8080);
        let dynamic = net.dynamic_ports[0].value;
        assert!((20000..=32000).contains(&dynamic), "{dynamic}");
        let labels: Vec<(&str, u16)> = shared
            .ports
            .iter()
            .map(|p| (p.label.as_str(), p.value))
            .collect();
        assert_eq!(labels, vec![("http", 8080), ("admin", dynamic)]);
        if a.node_id == "node-0000" {
            assert_eq!(net.ip, "10.0.0.7");
            assert_eq!(shared.ports[0].host_ip, "10.0.0.7");
        }
    }
}

#[test]
fn a_static_port_fits_once_per_node_and_the_rest_is_explained() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job_with_ports("web", 3, &[("http", 8080)], &[]));
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 2);
    assert_eq!(out.queued_allocations["web"], 1);
    let metric = &out.failed_tg_allocs["web"];
    assert_eq!(metric.nodes_exhausted, 2);
    assert_eq!(
        metric.dimension_exhausted["network: reserved port collision http=8080"],
        2
    );
}

#[test]
fn existing_allocations_and_node_reserved_ports_are_respected() {
    let mut state = MemState::with_nodes(nodes(3));
    state.edit_node("node-0001", |n| {
        n.reserved_resources.networks.reserved_host_ports = "22,8040-8060".into();
    });
    let other = state.put_job(job_with_ports("other", 1, &[("http", 8080)], &[]));
    let mut a = alloc(&other, 0, "node-0000");
    a.allocated_resources.shared.ports = vec![nomadish_proto::model::AllocatedPort {
        label: "http".into(),
        value: 8080,
        ..Default::default()
    }];
    state.put_alloc(a);
    let job = state.put_job(job_with_ports("web", 3, &[("http", 8080)], &[]));
    let out = run(&state, &job);
    let on: Vec<&str> = placed(&out).iter().map(|a| a.node_id.as_str()).collect();
    assert_eq!(on, vec!["node-0001", "node-0002"]);
    let job = state.put_job(job_with_ports("web2", 1, &[("api", 8050)], &[]));
    let out = run(&state, &job);
    assert_ne!(placed(&out)[0].node_id, "node-0001");
}

#[test]
fn dynamic_ports_never_collide_and_exhaustion_is_a_reason() {
    let mut state = MemState::with_nodes(nodes(1));
    state.edit_node("node-0000", |n| {
        n.node_resources.min_dynamic_port = 20000;
        n.node_resources.max_dynamic_port = 20009;
    });
    let job = state.put_job(job_with_ports("web", 6, &[], &["a", "b"]));
    let out = run(&state, &job);
    let allocs = placed(&out);
    assert_eq!(allocs.len(), 5);
    let ports: BTreeSet<u16> = allocs
        .iter()
        .flat_map(|a| a.allocated_resources.host_ports())
        .collect();
    assert_eq!(ports, (20000..=20009).collect());
    let metric = &out.failed_tg_allocs["web"];
    assert_eq!(
        metric.dimension_exhausted["network: dynamic port selection failed"],
        1
    );
}

#[test]
fn same_seed_same_ports() {
    let mut state = MemState::with_nodes(nodes(4));
    let job = state.put_job(job_with_ports("web", 8, &[], &["a", "b", "c"]));
    assert_eq!(run(&state, &job), run(&state, &job));
}

#[test]
fn system_jobs_skip_nodes_whose_port_is_taken() {
    let mut state = MemState::with_nodes(nodes(3));
    let other = state.put_job(job_with_ports("other", 1, &[("dns", 53)], &[]));
    let mut a = alloc(&other, 0, "node-0002");
    a.allocated_resources = crate::scheduler::util::allocated_resources(&other.task_groups[0]);
    state.put_alloc(a);
    let mut sys = job_with_ports("sys", 1, &[("dns", 53)], &[]);
    sys.job_type = JOB_TYPE_SYSTEM.into();
    let sys = state.put_job(sys);
    let out = run(&state, &sys);
    let on: Vec<&str> = placed(&out).iter().map(|a| a.node_id.as_str()).collect();
    assert_eq!(on, vec!["node-0000", "node-0001"]);
    assert_eq!(
        out.failed_tg_allocs["web"].dimension_exhausted["network: reserved port collision dns=53"],
        1
    );
}
