//! Namespace quotas: a placement that would take the namespace's non-terminal allocations over
//! its CPU, memory or allocation-count limit fails with "quota exceeded".
//!
//! ```text
//!   limits (State::namespace_quota) ─┐
//!   live allocs of the namespace ────┴─ minus this plan's stops ─> used
//!   each placement: used + ask > limit ? fail (QuotaExhausted) : used += ask
//! ```
//!
//! The failed placement blocks the evaluation like any other; a stopped or finished allocation
//! moves the state's capacity index, which retries blocked evaluations.

use std::sync::Arc;

use nomadish_proto::model::{AllocMetric, AllocatedResources, Allocation, QuotaLimits, QuotaUsage};

use super::State;
use super::nodes::NodeTable;

/// The prefix of every quota failure in `QuotaExhausted`.
pub const QUOTA_EXCEEDED: &str = "quota exceeded";

/// A namespace's limits and what the plan so far uses of them.
#[derive(Debug, Clone)]
pub(crate) struct Quota {
    limits: QuotaLimits,
    live: Vec<Arc<Allocation>>,
    used: QuotaUsage,
}

impl Quota {
    /// The namespace's quota, when it has limits.
    pub(crate) fn load(state: &dyn State, namespace: &str) -> Option<Self> {
        let limits = state.namespace_quota(namespace)?;
        if limits.is_unlimited() {
            return None;
        }
        let live = state.namespace_allocs(namespace);
        Some(Self {
            limits,
            live,
            used: QuotaUsage::default(),
        })
    }

    /// Counts the live allocations the plan keeps (call once the plan's stops are recorded).
    pub(crate) fn settle(&mut self, table: &NodeTable<'_>) {
        self.used = QuotaUsage::default();
        for alloc in self.live.iter().filter(|a| !table.is_stopped(&a.id)) {
            self.used = add(self.used, &alloc.allocated_resources);
        }
    }

    /// Why one more allocation of `ask` does not fit, as a failure metric; `None` when it fits.
    pub(crate) fn refuse(&self, ask: &AllocatedResources) -> Option<AllocMetric> {
        let reason = self.limits.exceeded_by(&add(self.used, ask))?;
        Some(AllocMetric {
            quota_exhausted: vec![format!("{QUOTA_EXCEEDED}: {reason}")],
            ..AllocMetric::default()
        })
    }

    /// Records a placement (or an allocation kept instead of replaced).
    pub(crate) fn record(&mut self, ask: &AllocatedResources) {
        self.used = add(self.used, ask);
    }
}

fn add(used: QuotaUsage, res: &AllocatedResources) -> QuotaUsage {
    used.plus(
        u64::try_from(res.cpu()).unwrap_or(0),
        u64::try_from(res.memory_mb()).unwrap_or(0),
    )
}
