//! An in-memory [`State`] and builders for nodes, jobs, allocations and evaluations.

use std::collections::BTreeMap;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_RUN, AllocatedResources, Allocation, DriverInfo,
    EphemeralDisk, Evaluation, JOB_TYPE_BATCH, JOB_TYPE_SERVICE, Job, NODE_ELIGIBLE,
    NODE_STATUS_READY, NS_PER_SEC, Node, NodeCpuResources, NodeDiskResources, NodeMemoryResources,
    NodeResources, Plan, ReschedulePolicy, Resources, Task, TaskGroup,
};

use crate::scheduler::util::{alloc_name, allocated_resources};
use crate::scheduler::{Outcome, State, schedule};

/// "Now" in every test: 2024-01-01T00:00:00Z.
pub const NOW: i64 = 1_704_067_200 * NS_PER_SEC;

/// A cluster snapshot held in memory.
#[derive(Default, Clone)]
pub struct MemState {
    pub jobs: BTreeMap<(String, String), Arc<Job>>,
    pub allocs: BTreeMap<String, Arc<Allocation>>,
    pub nodes: BTreeMap<String, Arc<Node>>,
    /// The scheduler configuration (`None`: Nomad's defaults).
    pub config: Option<nomadish_proto::model::SchedulerConfiguration>,
    /// Namespace quotas.
    pub quotas: BTreeMap<String, nomadish_proto::model::QuotaLimits>,
}

impl State for MemState {
    fn index(&self) -> u64 {
        1
    }

    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.jobs
            .get(&(namespace.to_string(), id.to_string()))
            .cloned()
    }

    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        self.allocs
            .values()
            .filter(|a| a.namespace == namespace && a.job_id == job_id)
            .cloned()
            .collect()
    }

    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.allocs
            .values()
            .filter(|a| a.node_id == node_id)
            .cloned()
            .collect()
    }

    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.nodes.get(id).cloned()
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.values().cloned().collect()
    }

    fn scheduler_config(&self) -> nomadish_proto::model::SchedulerConfiguration {
        self.config.clone().unwrap_or_default()
    }

    fn namespace_quota(&self, namespace: &str) -> Option<nomadish_proto::model::QuotaLimits> {
        self.quotas.get(namespace).copied()
    }

    fn namespace_allocs(&self, namespace: &str) -> Vec<Arc<Allocation>> {
        self.allocs
            .values()
            .filter(|a| a.namespace == namespace && !a.terminal())
            .cloned()
            .collect()
    }
}

impl MemState {
    pub fn with_nodes(nodes: impl IntoIterator<Item = Node>) -> Self {
        let mut s = Self::default();
        for n in nodes {
            s.put_node(n);
        }
        s
    }

    pub fn put_node(&mut self, node: Node) {
        self.nodes.insert(node.id.clone(), Arc::new(node));
    }

    pub fn put_job(&mut self, job: Job) -> Arc<Job> {
        let job = Arc::new(job);
        self.jobs
            .insert((job.namespace.clone(), job.id.clone()), job.clone());
        job
    }

    pub fn put_alloc(&mut self, alloc: Allocation) {
        self.allocs.insert(alloc.id.clone(), Arc::new(alloc));
    }

    /// Edits a node in place.
    pub fn edit_node(&mut self, id: &str, f: impl FnOnce(&mut Node)) {
        let mut node = Node::clone(&self.nodes[id]);
        f(&mut node);
        self.put_node(node);
    }

    /// Edits an allocation in place.
    pub fn edit_alloc(&mut self, id: &str, f: impl FnOnce(&mut Allocation)) {
        let mut alloc = Allocation::clone(&self.allocs[id]);
        f(&mut alloc);
        self.put_alloc(alloc);
    }

    /// Commits a whole plan, as a plan applier that accepts everything would.
    pub fn apply(&mut self, plan: &Plan) {
        for alloc in plan.node_update.values().flatten() {
            self.put_alloc(alloc.clone());
        }
        for alloc in plan.node_allocation.values().flatten() {
            self.put_alloc(alloc.clone());
        }
    }
}

/// A ready node `node-<i>` in `dc` with 4000 MHz, 8192 MB, 100 GB and docker + exec drivers.
pub fn node(i: usize, dc: &str) -> Node {
    let mut n = Node {
        id: format!("node-{i:04}"),
        name: format!("host-{i}"),
        datacenter: dc.into(),
        status: NODE_STATUS_READY.into(),
        scheduling_eligibility: NODE_ELIGIBLE.into(),
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: 4000,
                ..Default::default()
            },
            memory: NodeMemoryResources { memory_mb: 8192 },
            disk: NodeDiskResources { disk_mb: 100_000 },
            ..Default::default()
        },
        ..Default::default()
    };
    for d in ["docker", "exec"] {
        n.drivers.insert(
            d.into(),
            DriverInfo {
                detected: true,
                healthy: true,
                ..Default::default()
            },
        );
    }
    n.attributes.insert("kernel.name".into(), "linux".into());
    n
}

/// `count` ready nodes in dc1.
pub fn nodes(count: usize) -> Vec<Node> {
    (0..count).map(|i| node(i, "dc1")).collect()
}

/// A service job `id` with group `web` (count) of one docker task asking 100 MHz / 128 MB.
pub fn job(id: &str, count: i64) -> Job {
    Job {
        id: id.into(),
        name: id.into(),
        namespace: "default".into(),
        job_type: JOB_TYPE_SERVICE.into(),
        priority: 50,
        datacenters: vec!["dc1".into()],
        task_groups: vec![TaskGroup {
            name: "web".into(),
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
            reschedule_policy: Some(ReschedulePolicy::service_default()),
            ..Default::default()
        }],
        version: 0,
        create_index: 10,
        modify_index: 10,
        job_modify_index: 10,
        ..Default::default()
    }
}

/// The same job as a batch job, with the batch reschedule policy.
pub fn batch_job(id: &str, count: i64) -> Job {
    let mut j = job(id, count);
    j.job_type = JOB_TYPE_BATCH.into();
    j.task_groups[0].reschedule_policy = Some(ReschedulePolicy::batch_default());
    j
}

/// The next registration of a job: version and indexes bumped.
pub fn next_version(job: &Job) -> Job {
    let mut j = job.clone();
    j.version += 1;
    j.modify_index += 10;
    j.job_modify_index += 10;
    j
}

/// An evaluation of the job.
pub fn eval_for(job: &Job) -> Evaluation {
    Evaluation {
        id: "eval-0001".into(),
        namespace: job.namespace.clone(),
        priority: job.priority,
        eval_type: job.job_type.clone(),
        triggered_by: "job-register".into(),
        job_id: job.id.clone(),
        status: "pending".into(),
        ..Default::default()
    }
}

/// A running allocation `<job>.web[index]` of the job's first group on the node.
pub fn alloc(job: &Arc<Job>, index: u64, node_id: &str) -> Allocation {
    let group = &job.task_groups[0];
    Allocation {
        id: format!("alloc-{}-{index}", job.id),
        namespace: job.namespace.clone(),
        eval_id: "eval-old".into(),
        name: alloc_name(&job.id, &group.name, index),
        node_id: node_id.into(),
        node_name: node_id.into(),
        job_id: job.id.clone(),
        job: Some(job.clone()),
        task_group: group.name.clone(),
        allocated_resources: allocated_resources(group),
        desired_status: ALLOC_DESIRED_RUN.into(),
        client_status: ALLOC_CLIENT_RUNNING.into(),
        create_time: NOW - 3600 * NS_PER_SEC,
        modify_time: NOW - 3600 * NS_PER_SEC,
        ..Default::default()
    }
}

/// Runs the scheduler for an evaluation of the job.
pub fn run(state: &MemState, job: &Job) -> Outcome {
    schedule(state, &eval_for(job), NOW, 42).expect("schedulable eval type")
}

/// Every allocation the plan places or updates, in node order.
pub fn placed(out: &Outcome) -> Vec<&Allocation> {
    out.plan.node_allocation.values().flatten().collect()
}

/// Every allocation the plan stops.
pub fn stopped(out: &Outcome) -> Vec<&Allocation> {
    out.plan.node_update.values().flatten().collect()
}

/// Resources one allocation of the fixture job holds.
pub fn fixture_resources(job: &Job) -> AllocatedResources {
    allocated_resources(&job.task_groups[0])
}
