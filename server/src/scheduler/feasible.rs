//! Feasibility: which nodes could run a task group, ignoring resources.
//!
//! ```text
//!   all nodes ──ready, eligible, not draining, in the job's pool──> candidates (shuffled once)
//!   candidates ──datacenter──> job constraints ──> drivers ──> group+task constraints──> ring
//!                  │                │                 │                │
//!                  └────────────────┴─────────────────┴────────────────┴──> filter metrics
//! ```
//!
//! Resources and `distinct_hosts` change as the plan places allocations, so they are checked
//! per placement by the selector; everything here is fixed for the whole call and is computed
//! once per task group.

use std::collections::BTreeMap;

use nomadish_proto::model::{AllocMetric, Job, Node, TaskGroup, VOLUME_TYPE_HOST};

use super::constraint::{Prepared, is_distinct_hosts, node_pool};
use super::nodes::{Amount, NodeTable};
use super::ports::PortAsk;
use super::util::Rng;

/// Nomad's pool that matches every node.
pub const NODE_POOL_ALL: &str = "all";
/// Filter reason when a task's driver is missing or unhealthy on the node.
pub const FILTER_MISSING_DRIVERS: &str = "missing drivers";
/// Filter reason when the node's datacenter is not one of the job's.
pub const FILTER_DATACENTER: &str = "datacenter mismatch";
/// Filter reason when the node lacks a host volume the group asks for (or has it read-only
/// where the group wants to write).
pub const FILTER_MISSING_HOST_VOLUMES: &str = "missing compatible host volumes";

/// The job-level part of feasibility.
pub(crate) struct JobSpec {
    datacenters: Vec<String>,
    pool: String,
    constraints: Vec<Prepared>,
    /// Job-level `distinct_hosts`.
    pub distinct_hosts: bool,
}

impl JobSpec {
    pub(crate) fn new(job: &Job) -> Self {
        let datacenters = if job.datacenters.is_empty() {
            vec!["*".to_string()]
        } else {
            job.datacenters.clone()
        };
        Self {
            datacenters,
            pool: if job.node_pool.is_empty() {
                nomadish_proto::model::DEFAULT_NODE_POOL.to_string()
            } else {
                job.node_pool.clone()
            },
            constraints: job.constraints.iter().map(Prepared::new).collect(),
            distinct_hosts: job.constraints.iter().any(is_distinct_hosts),
        }
    }

    /// Whether the node is in one of the job's datacenters (globs with `*`).
    pub(crate) fn datacenter_matches(&self, node: &Node) -> bool {
        self.datacenters
            .iter()
            .any(|pattern| glob_match(pattern, &node.datacenter))
    }

    /// Whether the node is in the job's node pool (`all` matches any).
    pub(crate) fn pool_matches(&self, node: &Node) -> bool {
        self.pool == NODE_POOL_ALL || self.pool == node_pool(node)
    }
}

/// The group-level part of feasibility and what one allocation of the group asks for.
pub(crate) struct GroupSpec<'j> {
    pub group: &'j TaskGroup,
    constraints: Vec<Prepared>,
    drivers: Vec<&'j str>,
    pub ask: Amount,
    /// The host ports one allocation asks for.
    pub ports: PortAsk,
    /// Group-level `distinct_hosts` (any task's too, as Nomad folds them into the group).
    pub distinct_hosts: bool,
}

impl<'j> GroupSpec<'j> {
    pub(crate) fn new(group: &'j TaskGroup) -> Self {
        let all = group
            .constraints
            .iter()
            .chain(group.tasks.iter().flat_map(|t| t.constraints.iter()));
        let mut drivers: Vec<&str> = group.tasks.iter().map(|t| t.driver.as_str()).collect();
        drivers.sort_unstable();
        drivers.dedup();
        Self {
            group,
            constraints: all.clone().map(Prepared::new).collect(),
            drivers,
            ask: Amount {
                cpu: group.cpu(),
                memory: group.memory_mb(),
                disk: group.disk_mb(),
            },
            ports: PortAsk::new(group),
            distinct_hosts: all.clone().any(is_distinct_hosts),
        }
    }
}

/// Why a node is infeasible: `None` when feasible, else the filter reason (metric key).
pub(crate) fn infeasible_reason<'a>(
    job: &'a JobSpec,
    group: &'a GroupSpec<'_>,
    node: &Node,
) -> Option<&'a str> {
    if !job.datacenter_matches(node) {
        return Some(FILTER_DATACENTER);
    }
    if let Some(c) = job.constraints.iter().find(|c| !c.holds(node)) {
        return Some(&c.key);
    }
    if !group.drivers.iter().all(|d| node.has_driver(d)) {
        return Some(FILTER_MISSING_DRIVERS);
    }
    if !has_host_volumes(group.group, node) {
        return Some(FILTER_MISSING_HOST_VOLUMES);
    }
    group
        .constraints
        .iter()
        .find(|c| !c.holds(node))
        .map(|c| c.key.as_str())
}

/// Whether the node has every host volume the group asks for, writable where it asks to
/// write (Nomad's host volume checker).
pub(crate) fn has_host_volumes(group: &TaskGroup, node: &Node) -> bool {
    group
        .volumes
        .values()
        .filter(|v| v.volume_type == VOLUME_TYPE_HOST)
        .all(|v| {
            node.host_volumes
                .get(&v.source)
                .is_some_and(|offered| v.read_only || !offered.read_only)
        })
}

/// The nodes an evaluation may place on, in a seeded random order.
pub(crate) struct Candidates {
    /// Ready nodes in the job's pool (any datacenter), shuffled.
    pub order: Vec<usize>,
    /// Ready nodes in the pool and in the job's datacenters, per datacenter.
    pub available: BTreeMap<String, i64>,
    /// How many ready nodes are in the pool and the job's datacenters.
    pub in_datacenters: usize,
}

impl Candidates {
    pub(crate) fn new(table: &NodeTable<'_>, job: &JobSpec, rng: &mut Rng) -> Self {
        let mut order = Vec::new();
        let mut available = BTreeMap::new();
        let mut in_datacenters = 0;
        for (i, node) in table.nodes.iter().enumerate() {
            if !node.is_schedulable() || !job.pool_matches(node) {
                continue;
            }
            order.push(i);
            if job.datacenter_matches(node) {
                in_datacenters += 1;
                match available.get_mut(&node.datacenter) {
                    Some(n) => *n += 1,
                    None => {
                        available.insert(node.datacenter.clone(), 1);
                    }
                }
            }
        }
        rng.shuffle(&mut order);
        Self {
            order,
            available,
            in_datacenters,
        }
    }
}

/// Filters the candidates for one group: the feasible ones in candidate order, and the
/// metric describing what was filtered and why.
pub(crate) fn group_ring(
    table: &NodeTable<'_>,
    candidates: &Candidates,
    job: &JobSpec,
    group: &GroupSpec<'_>,
) -> (Vec<usize>, AllocMetric) {
    let mut metric = AllocMetric {
        nodes_evaluated: candidates.order.len() as i64,
        nodes_in_pool: candidates.order.len() as i64,
        nodes_available: candidates
            .available
            .iter()
            .map(|(dc, n)| (dc.clone(), *n))
            .collect(),
        ..Default::default()
    };
    let mut ring = Vec::with_capacity(candidates.order.len());
    for &idx in &candidates.order {
        let node = &table.nodes[idx];
        match infeasible_reason(job, group, node) {
            None => ring.push(idx),
            Some(reason) => {
                metric.nodes_filtered += 1;
                if !node.node_class.is_empty() {
                    *metric
                        .class_filtered
                        .entry(node.node_class.clone())
                        .or_insert(0) += 1;
                }
                *metric
                    .constraint_filtered
                    .entry(reason.to_string())
                    .or_insert(0) += 1;
            }
        }
    }
    (ring, metric)
}

/// Nomad's datacenter glob: `*` matches any run of characters, everything else is literal.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_go_glob() {
        assert!(glob_match("*", "dc1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("dc1", "dc1"));
        assert!(!glob_match("dc1", "dc10"));
        assert!(glob_match("dc*", "dc10"));
        assert!(glob_match("*-east", "us-east"));
        assert!(!glob_match("*-east", "us-west"));
        assert!(glob_match("us-*-1", "us-east-1"));
        assert!(!glob_match("us-*-1", "us-east-2"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*bc*c", "abc"));
        assert!(!glob_match("dc?", "dc1"));
    }

    #[test]
    fn host_volumes_must_exist_and_be_writable_when_asked() {
        use nomadish_proto::model::{ClientHostVolumeConfig, VolumeRequest};
        let offer = |read_only| ClientHostVolumeConfig {
            name: "data".into(),
            path: "/srv/data".into(),
            read_only,
        };
        let ask = |read_only| {
            let mut group = TaskGroup::default();
            let request = VolumeRequest {
                name: "d".into(),
                volume_type: VOLUME_TYPE_HOST.into(),
                source: "data".into(),
                read_only,
                ..VolumeRequest::default()
            };
            group.volumes.insert("d".into(), request);
            group
        };
        let mut node = Node::default();
        assert!(has_host_volumes(&TaskGroup::default(), &node));
        assert!(!has_host_volumes(&ask(true), &node));
        node.host_volumes.insert("data".into(), offer(true));
        assert!(has_host_volumes(&ask(true), &node));
        assert!(!has_host_volumes(&ask(false), &node));
        node.host_volumes.insert("data".into(), offer(false));
        assert!(has_host_volumes(&ask(false), &node));
        assert!(has_host_volumes(&ask(true), &node));
    }
}
