//! Property tests over random clusters and jobs: placements only on schedulable nodes that
//! satisfy the constraints, no node over capacity, one plan per seed, and committed plans
//! are not placed twice.

use std::collections::BTreeMap;

use proptest::prelude::*;

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, Constraint, DrainStrategy, Job, NODE_INELIGIBLE, NODE_STATUS_DOWN,
    NODE_STATUS_INIT,
};

use super::fixture::*;
use crate::scheduler::{Outcome, schedule};

#[derive(Debug, Clone)]
struct NodeSpec {
    status: u8,
    cpu: i64,
    memory: i64,
    windows: bool,
    other_use: u8,
}

#[derive(Debug, Clone)]
struct Case {
    nodes: Vec<NodeSpec>,
    count: i64,
    cpu: i64,
    memory: i64,
    linux_only: bool,
    distinct: bool,
    batch: bool,
    existing: Vec<(usize, bool)>,
    seed: u64,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (0u8..8, 500i64..6000, 512i64..12_000, any::<bool>(), 0u8..4).prop_map(
        |(status, cpu, memory, windows, other_use)| NodeSpec {
            status,
            cpu,
            memory,
            windows,
            other_use,
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(node_spec(), 0..10),
        0i64..25,
        (50i64..1500, 64i64..3000),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec((0usize..10, any::<bool>()), 0..6),
        any::<u64>(),
    )
        .prop_map(
            |(nodes, count, (cpu, memory), (linux_only, distinct, batch), existing, seed)| Case {
                nodes,
                count,
                cpu,
                memory,
                linux_only,
                distinct,
                batch,
                existing,
                seed,
            },
        )
}

fn build(case: &Case) -> (MemState, Job) {
    let mut state = MemState::default();
    let mut hog = job("hog", 1);
    hog.task_groups[0].tasks[0].resources.cpu = 700;
    hog.task_groups[0].tasks[0].resources.memory_mb = 900;
    let hog = state.put_job(hog);
    for (i, spec) in case.nodes.iter().enumerate() {
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
        let id = n.id.clone();
        state.put_node(n);
        for k in 0..spec.other_use {
            let mut a = alloc(&hog, u64::from(k), &id);
            a.id = format!("hog-{i}-{k}");
            state.put_alloc(a);
        }
    }
    let mut j = if case.batch {
        batch_job("app", case.count)
    } else {
        job("app", case.count)
    };
    j.task_groups[0].tasks[0].resources.cpu = case.cpu;
    j.task_groups[0].tasks[0].resources.memory_mb = case.memory;
    j.task_groups[0].ephemeral_disk = None;
    if case.linux_only {
        j.constraints.push(Constraint {
            l_target: "${attr.kernel.name}".into(),
            operand: "=".into(),
            r_target: "linux".into(),
        });
    }
    if case.distinct {
        j.task_groups[0].constraints.push(Constraint {
            operand: "distinct_hosts".into(),
            ..Default::default()
        });
    }
    let job = state.put_job(j);
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

/// Checks every invariant of a plan against the state it was computed from.
fn check_plan(state: &MemState, job: &Job, out: &Outcome) -> Result<(), TestCaseError> {
    let stopped: Vec<&str> = stopped(out).iter().map(|a| a.id.as_str()).collect();
    let mut per_node: BTreeMap<&str, u32> = BTreeMap::new();
    for a in state.allocs.values() {
        if a.job_id == job.id && !a.terminal() && !stopped.contains(&a.id.as_str()) {
            *per_node.entry(a.node_id.as_str()).or_default() += 1;
        }
    }
    for (node_id, allocs) in &out.plan.node_allocation {
        let node = &state.nodes[node_id];
        let new: Vec<_> = allocs
            .iter()
            .filter(|a| !state.allocs.contains_key(&a.id))
            .collect();
        if new.is_empty() {
            continue;
        }
        prop_assert!(node.is_schedulable(), "placed on {:?}", node);
        if job.constraints.iter().any(|c| c.operand == "=") {
            prop_assert_eq!(node.attributes["kernel.name"].as_str(), "linux");
        }
        let mut cpu = 0;
        let mut mem = 0;
        for a in state.allocs.values() {
            if a.node_id == *node_id && !a.terminal() && !stopped.contains(&a.id.as_str()) {
                cpu += a.allocated_resources.cpu();
                mem += a.allocated_resources.memory_mb();
            }
        }
        for a in &new {
            cpu += a.allocated_resources.cpu();
            mem += a.allocated_resources.memory_mb();
        }
        prop_assert!(cpu <= node.allocatable_cpu(), "cpu {cpu} on {node_id}");
        prop_assert!(
            mem <= node.allocatable_memory_mb(),
            "memory {mem} on {node_id}"
        );
        let total = per_node.get(node_id.as_str()).copied().unwrap_or(0) + new.len() as u32;
        if !job.task_groups[0].constraints.is_empty() {
            prop_assert!(total <= 1, "distinct_hosts broken on {node_id}");
        }
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
        check_plan(&state, &job, &out)?;
        let again = schedule_case(&state, &job, case.seed);
        prop_assert_eq!(&out, &again);
        let new = placed(&out).iter().filter(|a| !state.allocs.contains_key(&a.id)).count();
        let queued: i64 = out.queued_allocations.values().sum();
        prop_assert!(new as i64 + queued <= case.count.max(0) + case.existing.len() as i64);
        prop_assert_eq!(queued > 0, !out.failed_tg_allocs.is_empty());
    }

    #[test]
    fn committed_plans_are_not_placed_twice(case in case()) {
        let (mut state, job) = build(&case);
        let out = schedule_case(&state, &job, case.seed);
        state.apply(&out.plan);
        let again = schedule_case(&state, &job, case.seed ^ 1);
        check_plan(&state, &job, &again)?;
        prop_assert!(stopped(&again).is_empty(), "{:?}", again.plan.node_update);
        if out.queued_allocations.values().all(|q| *q == 0) {
            let new = placed(&again).iter().filter(|a| !state.allocs.contains_key(&a.id)).count();
            prop_assert_eq!(new, 0);
        }
    }
}
