//! The `schedule` target: a jobspec parsed as `nomadish job run` does, submitted as the HTTP
//! API decodes it, then scheduled on a fixed in-memory snapshot of four nodes: a first
//! registration, the plan applied, and a re-registration of the next version over the
//! allocations just placed.
//!
//! Input: the same as the `jobspec` target (HCL, optional `# fuzz-vars` section).

use std::collections::BTreeMap;
use std::sync::Arc;

use nomadish_proto::model::{
    Allocation, DriverInfo, Evaluation, Job, NODE_ELIGIBLE, NODE_STATUS_DOWN, NODE_STATUS_READY,
    NS_PER_SEC, Node, NodeCpuResources, NodeDiskResources, NodeMemoryResources, NodeResources,
    Plan,
};
use nomadish_server::scheduler::{Outcome, State, schedule};

use crate::{http_job, jobspec};

/// "Now" for every pass: 2024-01-01T00:00:00Z.
const NOW: i64 = 1_704_067_200 * NS_PER_SEC;

/// The target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = jobspec::parse(text) else {
        return;
    };
    let body = serde_json::to_vec(&serde_json::json!({ "Job": parsed.job }))
        .expect("a parsed job serializes");
    let Some(job) = http_job::decode(&body) else {
        panic!("the server rejects a job the jobspec parser accepted");
    };
    if job.is_parent() {
        // Periodic and parameterized parents get no evaluation (as `write_job`).
        return;
    }
    let mut state = Snapshot::fixed();
    let first = state.register(job.clone(), 10);
    state.apply(&first.plan);
    let mut next = job;
    next.version = 1;
    state.register(next, 20);
}

/// A cluster snapshot held in memory: jobs, allocations and nodes.
#[derive(Default)]
pub struct Snapshot {
    jobs: BTreeMap<(String, String), Arc<Job>>,
    allocs: BTreeMap<String, Arc<Allocation>>,
    nodes: BTreeMap<String, Arc<Node>>,
}

impl Snapshot {
    /// Four nodes: two ready in `dc1` (one with docker, exec and raw_exec, one smaller with
    /// docker only), one ready in `dc2` in node pool `gpu`, one down in `dc1`.
    pub fn fixed() -> Self {
        let mut s = Self::default();
        let nodes = [
            node(
                0,
                "dc1",
                "default",
                4000,
                8192,
                &["docker", "exec", "raw_exec"],
            ),
            node(1, "dc1", "default", 2000, 2048, &["docker"]),
            node(2, "dc2", "gpu", 8000, 16384, &["exec", "docker"]),
            Node {
                status: NODE_STATUS_DOWN.into(),
                ..node(3, "dc1", "default", 4000, 8192, &["docker"])
            },
        ];
        for n in nodes {
            s.nodes.insert(n.id.clone(), Arc::new(n));
        }
        s
    }

    /// Stores `job` with the indexes the FSM would give it and schedules its registration;
    /// checks the outcome places only on ready nodes and never more than a group's count.
    pub fn register(&mut self, mut job: Job, index: u64) -> Outcome {
        job.create_index = 10;
        job.modify_index = index;
        job.job_modify_index = index;
        let job = Arc::new(job);
        self.jobs
            .insert((job.namespace.clone(), job.id.clone()), job.clone());
        let eval = Evaluation {
            id: format!("eval-{index}"),
            namespace: job.namespace.clone(),
            priority: job.priority,
            eval_type: job.job_type.clone(),
            triggered_by: "job-register".into(),
            job_id: job.id.clone(),
            status: "pending".into(),
            ..Default::default()
        };
        let outcome = schedule(self, &eval, NOW, index).expect("a validated job's type schedules");
        check(self, &job, &outcome);
        outcome
    }

    /// Commits a whole plan, as a plan applier that accepts everything would.
    pub fn apply(&mut self, plan: &Plan) {
        let allocs = plan
            .node_update
            .values()
            .chain(plan.node_allocation.values());
        for alloc in allocs.flatten() {
            self.allocs
                .insert(alloc.id.clone(), Arc::new(alloc.clone()));
        }
    }
}

fn check(state: &Snapshot, job: &Job, outcome: &Outcome) {
    for (node_id, allocs) in &outcome.plan.node_allocation {
        let node = state.nodes.get(node_id).expect("placed on a known node");
        for alloc in allocs {
            assert_eq!(
                &alloc.node_id, node_id,
                "an allocation filed under another node"
            );
            let new = !state.allocs.contains_key(&alloc.id);
            assert!(
                !new || node.is_schedulable(),
                "a new allocation on unschedulable node {node_id}"
            );
        }
    }
    for group in &job.task_groups {
        let placed = outcome
            .plan
            .node_allocation
            .values()
            .flatten()
            .filter(|a| a.task_group == group.name && !state.allocs.contains_key(&a.id))
            .count();
        assert!(
            placed as i64 <= group.count.max(0),
            "{placed} new allocations for group {:?} of count {}",
            group.name,
            group.count
        );
    }
}

impl State for Snapshot {
    fn index(&self) -> u64 {
        1
    }

    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.jobs
            .get(&(namespace.to_string(), id.to_string()))
            .cloned()
    }

    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        let of_job = |a: &&Arc<Allocation>| a.namespace == namespace && a.job_id == job_id;
        self.allocs.values().filter(of_job).cloned().collect()
    }

    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        let on_node = |a: &&Arc<Allocation>| a.node_id == node_id;
        self.allocs.values().filter(on_node).cloned().collect()
    }

    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.nodes.get(id).cloned()
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.values().cloned().collect()
    }

    fn namespace_allocs(&self, namespace: &str) -> Vec<Arc<Allocation>> {
        let live = |a: &&Arc<Allocation>| a.namespace == namespace && !a.terminal();
        self.allocs.values().filter(live).cloned().collect()
    }
}

/// A ready, eligible node as the client fingerprints one (ports 20000-32000).
fn node(i: usize, dc: &str, pool: &str, cpu: i64, memory_mb: i64, drivers: &[&str]) -> Node {
    let mut n = Node {
        id: format!("{i:08}-0000-4000-8000-000000000000"),
        name: format!("client-{i}"),
        datacenter: dc.into(),
        node_pool: pool.into(),
        node_class: ["large", "small"][i % 2].into(),
        status: NODE_STATUS_READY.into(),
        scheduling_eligibility: NODE_ELIGIBLE.into(),
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: cpu,
                total_cpu_cores: 4,
                reservable_cpu_cores: (0..4).collect(),
            },
            memory: NodeMemoryResources { memory_mb },
            disk: NodeDiskResources { disk_mb: 100_000 },
            networks: Vec::new(),
            min_dynamic_port: 20_000,
            max_dynamic_port: 32_000,
        },
        ..Default::default()
    };
    for d in drivers {
        let info = DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        };
        n.drivers.insert((*d).into(), info);
        n.attributes.insert(format!("driver.{d}"), "1".into());
    }
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("cpu.arch".into(), "amd64".into());
    n.meta.insert("rack".into(), format!("r{}", i % 2));
    n
}
