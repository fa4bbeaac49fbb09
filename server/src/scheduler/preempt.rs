//! Preemption: making room on a full node by evicting lower-priority allocations.
//!
//! ```text
//!   node full for the ask ──preemption enabled for the job type?──> candidates:
//!     live allocations whose job priority is at least 10 below the placing job's
//!   sorted: lowest priority first, then largest first ──greedy until the ask fits──> chosen
//!   chosen ──drop every member not needed for the fit (latest first)──> evicted
//!   evicted ──> plan.node_preemptions (DesiredStatus "evict",
//!               "Preempted by alloc ID <new>"); new alloc lists PreemptedAllocations
//! ```
//!
//! Enabled per scheduler type by the scheduler configuration (Nomad's default: system only).

use std::sync::Arc;

use nomadish_proto::model::{ALLOC_DESIRED_EVICT, Allocation};

use super::nodes::Amount;

/// A placing job must outrank an allocation's job by at least this much to evict it.
pub(crate) const PREEMPTION_PRIORITY_DELTA: i64 = 10;

fn priority(alloc: &Allocation) -> i64 {
    alloc.job.as_ref().map_or(0, |j| j.priority)
}

fn size(alloc: &Allocation, capacity: Amount) -> f64 {
    let a = Amount::of_alloc(alloc);
    let share = |v: i64, cap: i64| if cap > 0 { v as f64 / cap as f64 } else { 0.0 };
    share(a.cpu, capacity.cpu) + share(a.memory, capacity.memory) + share(a.disk, capacity.disk)
}

fn fits(used: Amount, freed: Amount, ask: Amount, capacity: Amount) -> bool {
    let left = Amount {
        cpu: used.cpu - freed.cpu,
        memory: used.memory - freed.memory,
        disk: used.disk - freed.disk,
    };
    left.exhausted_by(ask, capacity).is_none()
}

/// The allocations to evict so that `ask` fits next to `used` on a node, or `None` when even
/// evicting every eligible allocation would not make room.
pub(crate) fn choose(
    live: &[Arc<Allocation>],
    used: Amount,
    ask: Amount,
    capacity: Amount,
    job_priority: i64,
) -> Option<Vec<Arc<Allocation>>> {
    let mut candidates: Vec<&Arc<Allocation>> = live
        .iter()
        .filter(|a| job_priority - priority(a) >= PREEMPTION_PRIORITY_DELTA)
        .collect();
    candidates.sort_by(|a, b| {
        priority(a)
            .cmp(&priority(b))
            .then(size(b, capacity).total_cmp(&size(a, capacity)))
            .then(a.id.cmp(&b.id))
    });
    let mut chosen: Vec<Arc<Allocation>> = Vec::new();
    let mut freed = Amount::default();
    for c in candidates {
        if fits(used, freed, ask, capacity) {
            break;
        }
        freed = freed.plus(Amount::of_alloc(c));
        chosen.push(c.clone());
    }
    if !fits(used, freed, ask, capacity) {
        return None;
    }
    for i in (0..chosen.len()).rev() {
        let a = Amount::of_alloc(&chosen[i]);
        let without = Amount {
            cpu: freed.cpu - a.cpu,
            memory: freed.memory - a.memory,
            disk: freed.disk - a.disk,
        };
        if fits(used, without, ask, capacity) {
            freed = without;
            chosen.remove(i);
        }
    }
    Some(chosen)
}

/// The plan's record of an evicted allocation.
pub(crate) fn evicted(alloc: &Allocation, by: &str) -> Allocation {
    let mut e = alloc.clone();
    e.desired_status = ALLOC_DESIRED_EVICT.to_string();
    e.desired_description = format!("Preempted by alloc ID {by}");
    e.preempted_by_allocation = by.to_string();
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{AllocatedCpuResources, AllocatedTaskResources, Job};

    fn alloc(id: &str, priority: i64, cpu: i64) -> Arc<Allocation> {
        let mut a = Allocation {
            id: id.into(),
            job: Some(Arc::new(Job {
                priority,
                ..Job::default()
            })),
            ..Allocation::default()
        };
        a.allocated_resources.tasks.insert(
            "t".into(),
            AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: cpu,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        Arc::new(a)
    }

    fn cpu(n: i64) -> Amount {
        Amount {
            cpu: n,
            memory: 0,
            disk: 0,
        }
    }

    #[test]
    fn evicts_the_fewest_lower_priority_allocations() {
        let live = vec![
            alloc("a", 20, 300),
            alloc("b", 20, 600),
            alloc("c", 45, 100),
            alloc("d", 95, 0),
        ];
        // Node 1000, used 1000, asks 500: evicting "b" alone is enough.
        let got = choose(&live, cpu(1000), cpu(500), cpu(1000), 100).unwrap();
        let ids: Vec<&str> = got.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, vec!["b"]);
        // Priority 55 may evict only 20 and 45 (delta >= 10): 300 + 600 + 100.
        assert!(choose(&live, cpu(1000), cpu(1000), cpu(1000), 55).is_some());
        // Priority 25 may evict nothing.
        assert!(choose(&live, cpu(1000), cpu(100), cpu(1000), 25).is_none());
    }

    #[test]
    fn eviction_records_who_preempted() {
        let e = evicted(&alloc("a", 1, 1), "new-id");
        assert_eq!(e.desired_status, "evict");
        assert_eq!(e.desired_description, "Preempted by alloc ID new-id");
        assert_eq!(e.preempted_by_allocation, "new-id");
    }
}
