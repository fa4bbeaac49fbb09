//! Property tests over random clusters and jobs: placements only on schedulable nodes that
//! satisfy the constraints (checked against reference semantics written here), no node over
//! capacity, no host port collision (static, dynamic, node-reserved), one plan per seed, and
//! committed plans are not placed twice. Jobs carry static/dynamic ports, `spread` and
//! `affinity` blocks; nodes have narrow dynamic ranges, reserved ports and racks.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, Affinity, AllocatedPort, Constraint, DrainStrategy, Job, NODE_INELIGIBLE,
    NODE_STATUS_DOWN, NODE_STATUS_INIT, NetworkResource, Node, Port, Spread,
};

use super::fixture::*;
use crate::scheduler::{Outcome, schedule};

/// Comparison operators for the random `${attr.cpu.numcores}` constraint.
const OPS: [&str; 6] = ["<", "<=", ">", ">=", "=", "!="];

#[derive(Debug, Clone)]
struct NodeSpec {
    status: u8,
    cpu: i64,
    memory: i64,
    windows: bool,
    cores: i64,
    other_use: u8,
    /// Dynamic range 20000-20005 instead of Nomad's default.
    narrow: bool,
    /// The node reserves host port 8080.
    reserves_8080: bool,
}

#[derive(Debug, Clone)]
struct Case {
    nodes: Vec<NodeSpec>,
    count: i64,
    cpu: i64,
    memory: i64,
    linux_only: bool,
    cores_rule: Option<(usize, i64)>,
    distinct: bool,
    batch: bool,
    existing: Vec<(usize, bool)>,
    seed: u64,
    /// `static = 8080` (or 8081), and how many dynamic ports.
    static_port: Option<u16>,
    dynamic_ports: u8,
    spread: bool,
    affinity: Option<i8>,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    let shape = (0u8..8, 500i64..6000, 512i64..12_000);
    let ports = (any::<bool>(), prop::bool::weighted(0.2));
    (shape, any::<bool>(), 1i64..16, 0u8..4, ports).prop_map(
        |((status, cpu, memory), windows, cores, other_use, (narrow, reserves_8080))| NodeSpec {
            status,
            cpu,
            memory,
            windows,
            cores,
            other_use,
            narrow,
            reserves_8080,
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(node_spec(), 0..10),
        (0i64..25, 50i64..1500, 64i64..3000),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::option::of((0..OPS.len(), 1i64..16)),
        prop::collection::vec((0usize..10, any::<bool>()), 0..6),
        any::<u64>(),
        (
            prop::option::of(8080u16..8082),
            0u8..4,
            any::<bool>(),
            prop::option::of(-100i8..=100),
        ),
    )
        .prop_map(
            |(nodes, (count, cpu, memory), flags, cores_rule, existing, seed, prefs)| Case {
                nodes,
                count,
                cpu,
                memory,
                linux_only: flags.0,
                cores_rule,
                distinct: flags.1,
                batch: flags.2,
                existing,
                seed,
                static_port: prefs.0,
                dynamic_ports: prefs.1,
                spread: prefs.2,
                affinity: prefs.3,
            },
        )
}

/// The reference semantics of the numeric constraint.
fn numeric_holds(op: &str, node: i64, want: i64) -> bool {
    match op {
        "<" => node < want,
        "<=" => node <= want,
        ">" => node > want,
        ">=" => node >= want,
        "=" => node == want,
        _ => node != want,
    }
}

fn constraint(l: &str, op: &str, r: &str) -> Constraint {
    Constraint {
        l_target: l.into(),
        operand: op.into(),
        r_target: r.into(),
    }
}

/// Puts the nodes, each with some capacity already used by another job.
fn build_nodes(state: &mut MemState, specs: &[NodeSpec]) {
    let mut hog = job("hog", 1);
    hog.task_groups[0].tasks[0].resources.cpu = 700;
    hog.task_groups[0].tasks[0].resources.memory_mb = 900;
    let hog = state.put_job(hog);
    for (i, spec) in specs.iter().enumerate() {
        let mut n = node(i, "dc1");
        n.node_resources.cpu.cpu_shares = spec.cpu;
        n.node_resources.memory.memory_mb = spec.memory;
        match spec.status {
            0 => n.status = NODE_STATUS_DOWN.into(),
            1 => n.status = NODE_STATUS_INIT.into(),
            2 => n.scheduling_eligibility = NODE_INELIGIBLE.into(),
            3 => n.drain_strategy = Some(DrainStrategy::default()),
            _ => {}
        }
        if spec.windows {
            n.attributes.insert("kernel.name".into(), "windows".into());
        }
        n.attributes
            .insert("cpu.numcores".into(), spec.cores.to_string());
        n.meta.insert("rack".into(), format!("r{}", i % 3));
        if spec.narrow {
            n.node_resources.min_dynamic_port = 20000;
            n.node_resources.max_dynamic_port = 20005;
        }
        if spec.reserves_8080 {
            n.reserved_resources.networks.reserved_host_ports = "22,8080".into();
        }
        let id = n.id.clone();
        state.put_node(n);
        for k in 0..spec.other_use {
            let mut a = alloc(&hog, u64::from(k), &id);
            a.id = format!("hog-{i}-{k}");
            a.allocated_resources.shared.ports = vec![AllocatedPort {
                label: "hog".into(),
                value: 20000 + u16::from(k),
                ..Default::default()
            }];
            state.put_alloc(a);
        }
    }
}

fn build_job(case: &Case) -> Job {
    let mut j = if case.batch {
        batch_job("app", case.count)
    } else {
        job("app", case.count)
    };
    j.task_groups[0].tasks[0].resources.cpu = case.cpu;
    j.task_groups[0].tasks[0].resources.memory_mb = case.memory;
    j.task_groups[0].ephemeral_disk = None;
    if case.linux_only {
        j.constraints
            .push(constraint("${attr.kernel.name}", "=", "linux"));
    }
    if let Some((op, want)) = case.cores_rule {
        let c = constraint("${attr.cpu.numcores}", OPS[op], &want.to_string());
        j.task_groups[0].tasks[0].constraints.push(c);
    }
    if case.distinct {
        j.task_groups[0]
            .constraints
            .push(constraint("", "distinct_hosts", ""));
    }
    add_ports_and_preferences(case, &mut j);
    j
}

fn add_ports_and_preferences(case: &Case, j: &mut Job) {
    let port = |label: String, value: u16| Port {
        label,
        value,
        ..Default::default()
    };
    if case.static_port.is_some() || case.dynamic_ports > 0 {
        j.task_groups[0].networks = vec![NetworkResource {
            reserved_ports: case
                .static_port
                .iter()
                .map(|v| port("http".into(), *v))
                .collect(),
            dynamic_ports: (0..case.dynamic_ports)
                .map(|d| port(format!("d{d}"), 0))
                .collect(),
            ..Default::default()
        }];
    }
    if case.spread {
        j.task_groups[0].spreads = vec![Spread {
            attribute: "${meta.rack}".into(),
            weight: 50,
            spread_target: Vec::new(),
        }];
    }
    if let Some(weight) = case.affinity {
        j.affinities = vec![Affinity {
            l_target: "${meta.rack}".into(),
            r_target: "r1".into(),
            operand: "=".into(),
            weight,
        }];
    }
}

/// No placement takes a host port already held on its node (by a kept allocation, another
/// placement or the node's reservation), and dynamic ports come from the node's range.
fn check_ports(
    state: &MemState,
    node: &Node,
    stopped: &[&str],
    out: &Outcome,
) -> Result<(), TestCaseError> {
    let mut held: HashSet<u16> = node
        .reserved_resources
        .networks
        .ports()
        .into_iter()
        .collect();
    let kept = state
        .allocs
        .values()
        .filter(|a| a.node_id == node.id && !a.terminal() && !stopped.contains(&a.id.as_str()));
    for a in kept {
        held.extend(a.allocated_resources.host_ports());
    }
    let (lo, hi) = node.node_resources.dynamic_port_range();
    let new = out.plan.node_allocation[&node.id]
        .iter()
        .filter(|a| !state.allocs.contains_key(&a.id));
    for a in new {
        for p in a.allocated_resources.host_ports() {
            prop_assert!(held.insert(p), "port {p} collides on {}", node.id);
        }
        for n in &a.allocated_resources.shared.networks {
            for p in &n.dynamic_ports {
                prop_assert!(
                    (lo..=hi).contains(&p.value),
                    "dynamic port {} out of range",
                    p.value
                );
            }
        }
    }
    Ok(())
}

fn build(case: &Case) -> (MemState, Job) {
    let mut state = MemState::default();
    build_nodes(&mut state, &case.nodes);
    let job = state.put_job(build_job(case));
    for (k, &(node_idx, failed)) in case.existing.iter().enumerate() {
        if node_idx < case.nodes.len() {
            let mut a = alloc(&job, k as u64, &format!("node-{node_idx:04}"));
            if failed {
                a.client_status = ALLOC_CLIENT_FAILED.into();
            }
            state.put_alloc(a);
        }
    }
    (state, job.as_ref().clone())
}

fn schedule_case(state: &MemState, job: &Job, seed: u64) -> Outcome {
    schedule(state, &eval_for(job), NOW, seed).expect("service or batch")
}

/// Whether the node satisfies the job's constraints, by the reference semantics.
fn satisfies(case: &Case, node: &Node) -> bool {
    let linux = !case.linux_only || node.attributes["kernel.name"] == "linux";
    let cores: i64 = node.attributes["cpu.numcores"].parse().unwrap();
    let numeric = case
        .cores_rule
        .is_none_or(|(op, want)| numeric_holds(OPS[op], cores, want));
    linux && numeric
}

/// Resources on the node after the plan: kept allocations plus the plan's new ones.
fn usage_after(state: &MemState, node_id: &str, stopped: &[&str], out: &Outcome) -> (i64, i64) {
    let kept = state
        .allocs
        .values()
        .filter(|a| a.node_id == node_id && !a.terminal() && !stopped.contains(&a.id.as_str()));
    let new = out.plan.node_allocation[node_id]
        .iter()
        .filter(|a| !state.allocs.contains_key(&a.id));
    kept.map(|a| &**a)
        .chain(new)
        .map(|a| {
            (
                a.allocated_resources.cpu(),
                a.allocated_resources.memory_mb(),
            )
        })
        .fold((0, 0), |(c, m), (dc, dm)| (c + dc, m + dm))
}

/// Checks every invariant of a plan against the state it was computed from.
fn check_plan(case: &Case, state: &MemState, out: &Outcome) -> Result<(), TestCaseError> {
    let stopped: Vec<&str> = stopped(out).iter().map(|a| a.id.as_str()).collect();
    let mut live: BTreeMap<&str, usize> = BTreeMap::new();
    for a in state.allocs.values() {
        if a.job_id == "app" && !a.terminal() && !stopped.contains(&a.id.as_str()) {
            *live.entry(a.node_id.as_str()).or_default() += 1;
        }
    }
    for (node_id, allocs) in &out.plan.node_allocation {
        let node = &state.nodes[node_id];
        let new = allocs
            .iter()
            .filter(|a| !state.allocs.contains_key(&a.id))
            .count();
        if new == 0 {
            continue;
        }
        prop_assert!(node.is_schedulable(), "placed on {:?}", node);
        prop_assert!(satisfies(case, node), "constraint violated on {:?}", node);
        let (cpu, mem) = usage_after(state, node_id, &stopped, out);
        prop_assert!(cpu <= node.allocatable_cpu(), "cpu {cpu} on {node_id}");
        prop_assert!(
            mem <= node.allocatable_memory_mb(),
            "memory {mem} on {node_id}"
        );
        check_ports(state, node, &stopped, out)?;
        let total = live.get(node_id.as_str()).copied().unwrap_or(0) + new;
        prop_assert!(
            !case.distinct || total <= 1,
            "distinct_hosts broken on {node_id}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Scenario 11 of RELIABILITY.md: no placement on a down, draining or ineligible node or
    /// against a constraint (nor over capacity, nor on a taken port), and the same snapshot,
    /// evaluation and seed give the same plan.
    #[test]
    fn scenario_11_no_placement_on_unschedulable_nodes_or_against_constraints_and_same_plan(case in case()) {
        let (state, job) = build(&case);
        let out = schedule_case(&state, &job, case.seed);
        check_plan(&case, &state, &out)?;
        let again = schedule_case(&state, &job, case.seed);
        prop_assert_eq!(&out, &again);
        let new = placed(&out).iter().filter(|a| !state.allocs.contains_key(&a.id)).count();
        let queued: i64 = out.queued_allocations.values().sum();
        prop_assert!(new as i64 + queued <= case.count + case.existing.len() as i64);
        prop_assert_eq!(queued > 0, !out.failed_tg_allocs.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn committed_plans_are_not_placed_twice(case in case()) {
        let (mut state, job) = build(&case);
        let out = schedule_case(&state, &job, case.seed);
        state.apply(&out.plan);
        let again = schedule_case(&state, &job, case.seed ^ 1);
        check_plan(&case, &state, &again)?;
        prop_assert!(stopped(&again).is_empty(), "{:?}", again.plan.node_update);
        if out.queued_allocations.values().all(|q| *q == 0) {
            let new = placed(&again).iter().filter(|a| !state.allocs.contains_key(&a.id)).count();
            prop_assert_eq!(new, 0);
        }
    }
}

/// Usage on a node after a system plan: kept allocations minus evictions, plus placements.
fn system_usage_after(state: &MemState, node_id: &str, out: &Outcome) -> (i64, i64) {
    let evicted: Vec<&str> = out
        .plan
        .node_preemptions
        .get(node_id)
        .map(|v| v.iter().map(|a| a.id.as_str()).collect())
        .unwrap_or_default();
    let stopped: Vec<&str> = stopped(out).iter().map(|a| a.id.as_str()).collect();
    let kept = state.allocs.values().filter(|a| {
        a.node_id == node_id
            && !a.terminal()
            && !evicted.contains(&a.id.as_str())
            && !stopped.contains(&a.id.as_str())
    });
    let new = out.plan.node_allocation.get(node_id).into_iter().flatten();
    kept.map(|a| &**a)
        .chain(new)
        .map(|a| {
            (
                a.allocated_resources.cpu(),
                a.allocated_resources.memory_mb(),
            )
        })
        .fold((0, 0), |(c, m), (dc, dm)| (c + dc, m + dm))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn system_plans_preempt_only_lower_priority_and_never_overcommit(
        case in case(),
        priority in 30i64..100,
    ) {
        let mut state = MemState::default();
        build_nodes(&mut state, &case.nodes);
        let mut j = build_job(&case);
        j.job_type = nomadish_proto::model::JOB_TYPE_SYSTEM.into();
        j.priority = priority;
        let job = state.put_job(j);
        let out = schedule(&state, &eval_for(&job), NOW, case.seed).expect("system");
        prop_assert_eq!(&out, &schedule(&state, &eval_for(&job), NOW, case.seed).unwrap());
        for (node_id, allocs) in &out.plan.node_allocation {
            let node = &state.nodes[node_id];
            prop_assert!(node.is_schedulable());
            prop_assert!(satisfies(&case, node));
            prop_assert_eq!(allocs.len(), 1);
            let (cpu, mem) = system_usage_after(&state, node_id, &out);
            prop_assert!(cpu <= node.allocatable_cpu() && mem <= node.allocatable_memory_mb());
        }
        for (node_id, evicted) in &out.plan.node_preemptions {
            prop_assert!(out.plan.node_allocation.contains_key(node_id));
            for e in evicted {
                prop_assert!(e.job.as_ref().unwrap().priority <= priority - 10);
                prop_assert_eq!(e.desired_status.as_str(), "evict");
            }
        }
    }
}
