//! Property tests over random clusters and jobs: placements only on schedulable nodes that
//! satisfy the constraints (checked against reference semantics written here), no node over
//! capacity, one plan per seed, and committed plans are not placed twice.

use std::collections::BTreeMap;

use proptest::prelude::*;

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, Constraint, DrainStrategy, Job, NODE_INELIGIBLE, NODE_STATUS_DOWN,
    NODE_STATUS_INIT, Node,
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
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    let shape = (0u8..8, 500i64..6000, 512i64..12_000);
    (shape, any::<bool>(), 1i64..16, 0u8..4).prop_map(
        |((status, cpu, memory), windows, cores, other_use)| NodeSpec {
            status,
            cpu,
            memory,
            windows,
            cores,
            other_use,
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
    )
        .prop_map(
            |(nodes, (count, cpu, memory), flags, cores_rule, existing, seed)| Case {
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
        let id = n.id.clone();
        state.put_node(n);
        for k in 0..spec.other_use {
            let mut a = alloc(&hog, u64::from(k), &id);
            a.id = format!("hog-{i}-{k}");
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
    j
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
        cases: 1500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn plans_respect_nodes_constraints_and_capacity(case in case()) {
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
