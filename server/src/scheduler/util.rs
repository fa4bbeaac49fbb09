//! Small helpers: the seeded RNG (node shuffle, IDs), allocation names, the allocated
//! resources template, and the per-node buckets the plan is assembled from.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{Rng as _, RngExt as _, SeedableRng};

use nomadish_proto::model::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedResources, AllocatedSharedResources,
    AllocatedTaskResources, Allocation, Plan, TaskGroup,
};

use super::nodes::NodeTable;

/// The only source of randomness of a scheduling call, seeded by the caller.
pub(crate) struct Rng(Xoshiro256PlusPlus);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// A random (version 4) UUID in its textual form.
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.0.fill_bytes(&mut bytes);
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        uuid.hyphenated().encode_lower(&mut text).to_string()
    }

    /// A uniform integer in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(0..n)
    }

    /// Shuffles in place (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        items.shuffle(&mut self.0);
    }
}

/// `<job>.<group>[<index>]`.
pub(crate) fn alloc_name(job_id: &str, group: &str, index: u64) -> String {
    format!("{job_id}.{group}[{index}]")
}

/// What every allocation of the group holds: per task CPU and memory, shared disk.
pub(crate) fn allocated_resources(group: &TaskGroup) -> AllocatedResources {
    let tasks = group
        .tasks
        .iter()
        .map(|t| {
            let r = &t.resources;
            let task = AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: r.cpu,
                    reserved_cores: Vec::new(),
                },
                memory: AllocatedMemoryResources {
                    memory_mb: r.memory_mb,
                    memory_max_mb: r.memory_max_mb,
                },
                networks: r.networks.clone(),
            };
            (t.name.clone(), task)
        })
        .collect();
    AllocatedResources {
        tasks,
        shared: AllocatedSharedResources {
            disk_mb: group.disk_mb(),
            networks: group.networks.clone(),
            ports: Vec::new(),
        },
    }
}

/// Collects the plan's `NodeAllocation` per node index, so that placing many allocations
/// does not look a string key up in a map each time.
pub(crate) struct AllocBuckets {
    by_index: Vec<Vec<Allocation>>,
    unknown: BTreeMap<String, Vec<Allocation>>,
}

impl AllocBuckets {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            by_index: (0..nodes).map(|_| Vec::new()).collect(),
            unknown: BTreeMap::new(),
        }
    }

    /// Adds an allocation on a known node.
    pub(crate) fn push(&mut self, idx: usize, alloc: Allocation) {
        self.by_index[idx].push(alloc);
    }

    /// Adds an allocation wherever its `NodeID` says.
    pub(crate) fn push_by_id(&mut self, table: &NodeTable<'_>, alloc: Allocation) {
        match table.position(&alloc.node_id) {
            Some(idx) => self.push(idx, alloc),
            None => self
                .unknown
                .entry(alloc.node_id.clone())
                .or_default()
                .push(alloc),
        }
    }

    /// Moves the buckets into the plan.
    pub(crate) fn into_plan(self, table: &NodeTable<'_>, plan: &mut Plan) {
        for (idx, allocs) in self.by_index.into_iter().enumerate() {
            if allocs.is_empty() {
                continue;
            }
            match plan.node_allocation.entry(table.nodes[idx].id.clone()) {
                Entry::Vacant(e) => {
                    e.insert(allocs);
                }
                Entry::Occupied(mut e) => e.get_mut().extend(allocs),
            }
        }
        for (node, allocs) in self.unknown {
            plan.node_allocation.entry(node).or_default().extend(allocs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_seeded() {
        let a = Rng::new(7).uuid();
        let b = Rng::new(7).uuid();
        let c = Rng::new(8).uuid();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let parsed = uuid::Uuid::parse_str(&a).expect("valid uuid");
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn names_follow_nomad() {
        assert_eq!(alloc_name("web", "app", 3), "web.app[3]");
    }
}
