//! The scheduler's view of the nodes for one call: every node once, its allocatable capacity,
//! and its usage computed lazily (on first visit) then updated incrementally as the plan
//! places allocations.
//!
//! Usage = resources of the node's non-terminal allocations, minus the allocations this plan
//! stops, plus what this plan has placed so far. All stops are known before the first
//! placement (reconcile runs before placement), so usage is only ever read after
//! [`NodeTable::freeze_stops`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use nomadish_proto::model::{Allocation, Node};

use super::State;
use super::ports::PortTable;

/// CPU (MHz), memory (MB) and disk (MB): an ask, a usage or a capacity. The state's
/// per-node running total is the same type.
pub(crate) use crate::state::NodeUsage as Amount;

impl Amount {
    /// What an existing allocation holds (terminal or not).
    pub(crate) fn of_alloc(alloc: &Allocation) -> Self {
        let r = &alloc.allocated_resources;
        Self {
            cpu: r.cpu(),
            memory: r.memory_mb(),
            disk: r.disk_mb(),
        }
    }

    /// What a node offers to allocations (total minus reserved).
    pub(crate) fn capacity_of(node: &Node) -> Self {
        Self {
            cpu: node.allocatable_cpu(),
            memory: node.allocatable_memory_mb(),
            disk: node.allocatable_disk_mb(),
        }
    }

    /// The first dimension (Nomad's order: cpu, memory, disk) in which `self + ask` exceeds
    /// `capacity`, or `None` when it fits.
    pub(crate) fn exhausted_by(&self, ask: Self, capacity: Self) -> Option<Dimension> {
        if self.cpu + ask.cpu > capacity.cpu {
            Some(Dimension::Cpu)
        } else if self.memory + ask.memory > capacity.memory {
            Some(Dimension::Memory)
        } else if self.disk + ask.disk > capacity.disk {
            Some(Dimension::Disk)
        } else {
            None
        }
    }
}

/// A resource dimension, keyed as Nomad keys `DimensionExhausted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dimension {
    Cpu,
    Memory,
    Disk,
}

impl Dimension {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Disk => "disk",
        }
    }
}

/// Every node of the snapshot, with lazily computed usage.
pub(crate) struct NodeTable<'s> {
    state: &'s dyn State,
    /// Nodes in ID order.
    pub nodes: Vec<Arc<Node>>,
    capacity: Vec<Amount>,
    used: Vec<Option<Amount>>,
    stopped: HashSet<String>,
    /// Per node, what the allocations this plan stops there held (taken off its usage).
    stopped_usage: HashMap<usize, Amount>,
    frozen: bool,
    /// Host ports in use per node (see `ports`).
    pub(super) ports: PortTable,
}

impl<'s> NodeTable<'s> {
    /// Loads every node once.
    pub(crate) fn new(state: &'s dyn State) -> Self {
        let mut nodes = state.nodes();
        if !nodes.is_sorted_by(|a, b| a.id <= b.id) {
            nodes.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let capacity = nodes.iter().map(|n| Amount::capacity_of(n)).collect();
        let used = vec![None; nodes.len()];
        let ports = PortTable::new(nodes.len());
        Self {
            state,
            nodes,
            capacity,
            used,
            stopped: HashSet::new(),
            stopped_usage: HashMap::new(),
            frozen: false,
            ports,
        }
    }

    /// The position of a node by ID.
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.nodes.binary_search_by(|n| n.id.as_str().cmp(id)).ok()
    }

    /// A node by ID.
    pub(crate) fn get(&self, id: &str) -> Option<&Arc<Node>> {
        self.position(id).map(|i| &self.nodes[i])
    }

    /// Records that the plan stops this allocation: it no longer counts as usage.
    pub(crate) fn record_stop(&mut self, alloc: &Allocation) {
        debug_assert!(!self.frozen, "stops must be recorded before usage is read");
        if self.stopped.insert(alloc.id.clone())
            && !alloc.terminal()
            && let Some(idx) = self.position(&alloc.node_id)
        {
            let stopped = self.stopped_usage.entry(idx).or_default();
            *stopped = stopped.plus(Amount::of_alloc(alloc));
        }
    }

    /// Whether the plan stops this allocation.
    pub(crate) fn is_stopped(&self, alloc_id: &str) -> bool {
        self.stopped.contains(alloc_id)
    }

    /// Ends the stop phase; usage may be read from now on.
    pub(crate) fn freeze_stops(&mut self) {
        self.frozen = true;
    }

    /// What the node offers to allocations.
    pub(crate) fn capacity(&self, idx: usize) -> Amount {
        self.capacity[idx]
    }

    /// What the node's proposed allocations hold (computed on first use).
    pub(crate) fn used(&mut self, idx: usize) -> Amount {
        debug_assert!(self.frozen, "usage read before every stop was recorded");
        if let Some(u) = self.used[idx] {
            return u;
        }
        // The state's running total for the node, less what this plan stops there.
        let held = self.state.node_usage(&self.nodes[idx].id);
        let total = held.minus(self.stopped_usage.get(&idx).copied().unwrap_or_default());
        self.used[idx] = Some(total);
        total
    }

    /// The node's non-terminal allocations that this plan does not stop.
    pub(crate) fn live_allocs(&self, idx: usize) -> Vec<Arc<Allocation>> {
        let mut allocs = self.state.allocs_by_node(&self.nodes[idx].id);
        allocs.retain(|a| !a.terminal() && !self.stopped.contains(&a.id));
        allocs
    }

    /// Takes back a recorded stop (its replacement could not be placed), if the allocation
    /// still fits on its node next to what the plan placed there. Returns whether it did.
    pub(crate) fn unstop(&mut self, alloc: &Allocation) -> bool {
        let amount = Amount::of(alloc);
        if let Some(idx) = self.position(&alloc.node_id) {
            let used = self.used(idx);
            if used.exhausted_by(amount, self.capacity[idx]).is_some()
                || (!alloc.terminal() && !self.reclaim_ports(idx, alloc))
            {
                return false;
            }
            self.used[idx] = Some(used.plus(amount));
            if self.stopped.contains(&alloc.id)
                && let Some(stopped) = self.stopped_usage.get_mut(&idx)
            {
                *stopped = stopped.minus(amount);
            }
        }
        self.stopped.remove(&alloc.id);
        true
    }

    /// Evicts a live allocation (preemption): it no longer counts as usage or holds ports.
    pub(crate) fn release(&mut self, idx: usize, alloc: &Allocation) {
        let used = self.used(idx);
        self.used[idx] = Some(used.minus(Amount::of_alloc(alloc)));
        self.release_ports(idx, alloc);
        self.stopped.insert(alloc.id.clone());
    }

    /// Adds a placement to the node's usage.
    pub(crate) fn add(&mut self, idx: usize, ask: Amount) {
        self.used[idx] = Some(self.used(idx).plus(ask));
    }
}
