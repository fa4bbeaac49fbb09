//! Scheduler throughput: one evaluation placing many allocations on many nodes.
//!
//! Run with `cargo bench -p nomadish-tests --bench scheduler`. Cases:
//! - 10,000 allocations (cpu 100 / mem 128) of one service group on 1,000 nodes
//!   (4000 MHz / 8192 MB each), and the same as a batch job;
//! - 1,000 allocations on 5,000 nodes, plain, with a `spread` over `${meta.rack}` (25 racks),
//!   and with one dynamic host port per allocation (placements/s reported as throughput), and
//!   one allocation on 5,000 nodes (the per-evaluation fixed cost);
//! - 1,000 allocations on 500 nodes of the servers' own state that already hold 100,000
//!   (`placements/service_1k_on_500_holding_100k`).
//!
//! Timings exclude dropping the returned outcome (criterion's `iter_with_large_drop`), except
//! in the `_with_drop` case.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use nomadish_proto::model::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedResources, AllocatedTaskResources,
    Allocation, DriverInfo, EphemeralDisk, Evaluation, JOB_TYPE_BATCH, JOB_TYPE_SERVICE, Job,
    NODE_ELIGIBLE, NODE_STATUS_READY, NetworkResource, Node, NodeCpuResources, NodeDiskResources,
    NodeMemoryResources, NodeResources, Port, Resources, Spread, Task, TaskGroup,
};
use nomadish_server::scheduler::{State, schedule};
use nomadish_server::state::StateView;

/// A read-only snapshot with per-node and per-job allocation indexes.
struct BenchState {
    job: Arc<Job>,
    nodes: Vec<Arc<Node>>,
    by_node: HashMap<String, Vec<Arc<Allocation>>>,
}

impl State for BenchState {
    fn index(&self) -> u64 {
        1
    }

    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        (self.job.namespace == namespace && self.job.id == id).then(|| self.job.clone())
    }

    fn allocs_by_job(&self, _namespace: &str, _job_id: &str) -> Vec<Arc<Allocation>> {
        Vec::new()
    }

    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.by_node.get(node_id).cloned().unwrap_or_default()
    }

    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.nodes.iter().find(|n| n.id == id).cloned()
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.clone()
    }
}

fn node(i: usize) -> Node {
    let mut n = Node {
        id: format!("{i:08x}-0000-4000-8000-000000000000"),
        name: format!("client-{i}"),
        datacenter: format!("dc{}", i % 3),
        status: NODE_STATUS_READY.into(),
        scheduling_eligibility: NODE_ELIGIBLE.into(),
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: 4000,
                ..Default::default()
            },
            memory: NodeMemoryResources { memory_mb: 8192 },
            disk: NodeDiskResources { disk_mb: 200_000 },
            ..Default::default()
        },
        ..Default::default()
    };
    n.drivers.insert(
        "docker".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.meta.insert("rack".into(), format!("r{}", i % 25));
    n
}

fn job(kind: &str, count: i64) -> Job {
    Job {
        id: "bench".into(),
        name: "bench".into(),
        namespace: "default".into(),
        job_type: kind.into(),
        priority: 50,
        datacenters: vec!["*".into()],
        task_groups: vec![TaskGroup {
            name: "app".into(),
            count,
            tasks: vec![Task {
                name: "srv".into(),
                driver: "docker".into(),
                resources: Resources {
                    cpu: 100,
                    memory_mb: 128,
                    ..Default::default()
                },
                ..Default::default()
            }],
            ephemeral_disk: Some(EphemeralDisk::default()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn state(kind: &str, count: i64, nodes: usize) -> (BenchState, Evaluation) {
    state_of(job(kind, count), nodes)
}

fn state_of(job: Job, nodes: usize) -> (BenchState, Evaluation) {
    let kind = job.job_type.clone();
    let job = Arc::new(job);
    let eval = Evaluation {
        id: "00000000-0000-4000-8000-000000000001".into(),
        namespace: "default".into(),
        priority: 50,
        eval_type: kind,
        triggered_by: "job-register".into(),
        job_id: job.id.clone(),
        ..Default::default()
    };
    let nodes = (0..nodes).map(|i| Arc::new(node(i))).collect();
    let state = BenchState {
        job,
        nodes,
        by_node: HashMap::new(),
    };
    (state, eval)
}

fn bench_case(c: &mut Criterion, name: &str, kind: &str, count: i64, nodes: usize) {
    let (state, eval) = state(kind, count, nodes);
    let check = schedule(&state, &eval, 1, 1).expect("schedules");
    let placed: usize = check.plan.node_allocation.values().map(Vec::len).sum();
    assert_eq!(placed as i64, count, "every allocation placed");
    let mut seed = 0u64;
    c.bench_function(name, |b| {
        b.iter_with_large_drop(|| {
            seed += 1;
            black_box(schedule(&state, &eval, 1, seed).expect("schedules"))
        })
    });
}

/// The same, also timing the drop of the outcome (what the worker pays after submitting).
fn bench_with_drop(c: &mut Criterion, name: &str, kind: &str, count: i64, nodes: usize) {
    let (state, eval) = state(kind, count, nodes);
    let mut seed = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| {
            seed += 1;
            black_box(schedule(&state, &eval, 1, seed).expect("schedules"))
        })
    });
}

/// Placements per second of one service evaluation (1,000 allocations) on 5,000 nodes.
fn bench_placements(c: &mut Criterion, name: &str, job: Job) {
    let count = job.task_groups[0].count;
    let (state, eval) = state_of(job, 5_000);
    bench_placements_in(c, name, &state, &eval, count);
}

/// The servers' own state (`StateView`) with 500 nodes that already hold 200 small
/// allocations each (100,000 in all, of 100 other jobs), and a new service job of 1,000:
/// the shape of `nomadish-bench c1m -scale` halfway through. Node usage here comes from the
/// state's running totals, as on a server.
fn busy_state() -> (StateView, Evaluation, i64) {
    const NODES: usize = 500;
    let (_, eval) = state(JOB_TYPE_SERVICE, 1_000, 0);
    let mut view = StateView::default();
    let nodes: Vec<Arc<Node>> = (0..NODES).map(|i| Arc::new(node(i))).collect();
    for n in &nodes {
        view.nodes.insert(n.id.clone(), n.clone());
    }
    view.put_job(Arc::new(job(JOB_TYPE_SERVICE, 1_000)));
    for i in 0..100_000 {
        let mut resources = AllocatedResources::default();
        resources.tasks.insert(
            "srv".into(),
            AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: 10,
                    ..Default::default()
                },
                memory: AllocatedMemoryResources {
                    memory_mb: 20,
                    memory_max_mb: 0,
                },
                ..Default::default()
            },
        );
        view.put_alloc(Arc::new(Allocation {
            id: format!("{i:08x}-1111-4000-8000-000000000000"),
            namespace: "default".into(),
            job_id: format!("other-{}", i / 1_000),
            task_group: "app".into(),
            node_id: nodes[i % NODES].id.clone(),
            desired_status: "run".into(),
            client_status: "running".into(),
            allocated_resources: resources,
            ..Default::default()
        }));
    }
    (view, eval, 1_000)
}

fn bench_placements_in(
    c: &mut Criterion,
    name: &str,
    state: &dyn State,
    eval: &Evaluation,
    count: i64,
) {
    let check = schedule(state, eval, 1, 1).expect("schedules");
    let placed: usize = check.plan.node_allocation.values().map(Vec::len).sum();
    assert_eq!(placed as i64, count, "every allocation placed");
    let mut group = c.benchmark_group("placements");
    group.throughput(Throughput::Elements(count as u64));
    let mut seed = 0u64;
    group.bench_function(name, |b| {
        b.iter_with_large_drop(|| {
            seed += 1;
            black_box(schedule(state, eval, 1, seed).expect("schedules"))
        })
    });
    group.finish();
}

fn placements(c: &mut Criterion) {
    bench_placements(c, "service_1k_on_5k", job(JOB_TYPE_SERVICE, 1_000));
    bench_placements(c, "service_1_on_5k", job(JOB_TYPE_SERVICE, 1));
    let mut spread = job(JOB_TYPE_SERVICE, 1_000);
    spread.task_groups[0].spreads = vec![Spread {
        attribute: "${meta.rack}".into(),
        weight: 50,
        spread_target: Vec::new(),
    }];
    bench_placements(c, "service_1k_on_5k_spread", spread);
    let mut ports = job(JOB_TYPE_SERVICE, 1_000);
    ports.task_groups[0].networks = vec![NetworkResource {
        dynamic_ports: vec![Port {
            label: "http".into(),
            ..Default::default()
        }],
        ..Default::default()
    }];
    bench_placements(c, "service_1k_on_5k_dynamic_port", ports);
    let (busy, eval, count) = busy_state();
    bench_placements_in(c, "service_1k_on_500_holding_100k", &busy, &eval, count);
}

fn scheduler(c: &mut Criterion) {
    bench_case(
        c,
        "service_10k_allocs_1k_nodes",
        JOB_TYPE_SERVICE,
        10_000,
        1_000,
    );
    bench_case(
        c,
        "batch_10k_allocs_1k_nodes",
        JOB_TYPE_BATCH,
        10_000,
        1_000,
    );
    bench_case(
        c,
        "service_1k_allocs_5k_nodes",
        JOB_TYPE_SERVICE,
        1_000,
        5_000,
    );
    bench_with_drop(
        c,
        "service_10k_allocs_1k_nodes_with_drop",
        JOB_TYPE_SERVICE,
        10_000,
        1_000,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = scheduler, placements
}
criterion_main!(benches);
