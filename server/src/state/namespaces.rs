//! Namespace reads: the namespaces table with the implicit `default`, and quota usage.
//!
//! The table holds only namespaces someone wrote; `default` exists in every view — the stored
//! one once an operator edits it, [`Namespace::default_namespace`] until then — so a state
//! without namespace writes encodes (and digests) as before namespaces existed.

use std::sync::Arc;

use nomadish_proto::model::{Allocation, DEFAULT_NAMESPACE, Namespace, QuotaUsage};

use super::StateView;

impl StateView {
    /// A namespace by name (`default` always exists).
    pub fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        match self.namespaces.get(name) {
            Some(ns) => Some(ns.clone()),
            None if name == DEFAULT_NAMESPACE => Some(Arc::new(Namespace::default_namespace())),
            None => None,
        }
    }

    /// Whether a namespace exists.
    pub fn namespace_exists(&self, name: &str) -> bool {
        name == DEFAULT_NAMESPACE || self.namespaces.contains_key(name)
    }

    /// Namespaces whose name starts with `prefix`, in name order, `default` included.
    pub fn namespaces_with_prefix(&self, prefix: &str) -> Vec<Arc<Namespace>> {
        let mut list: Vec<Arc<Namespace>> = self
            .namespaces
            .values()
            .filter(|ns| ns.name.starts_with(prefix))
            .cloned()
            .collect();
        if DEFAULT_NAMESPACE.starts_with(prefix) && !self.namespaces.contains_key(DEFAULT_NAMESPACE)
        {
            list.push(Arc::new(Namespace::default_namespace()));
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        list
    }

    /// The non-terminal allocations of a namespace (those a quota counts).
    pub fn namespace_live_allocs(&self, namespace: &str) -> Vec<Arc<Allocation>> {
        let from = (namespace.to_string(), String::new());
        self.allocs_by_job
            .range(from..)
            .take_while(|((ns, _), _)| ns == namespace)
            .flat_map(|(_, ids)| ids.iter())
            .filter_map(|id| self.allocs.get(id))
            .filter(|a| !a.terminal())
            .cloned()
            .collect()
    }

    /// What a namespace's non-terminal allocations use.
    pub fn namespace_usage(&self, namespace: &str) -> QuotaUsage {
        quota_usage(&self.namespace_live_allocs(namespace))
    }

    /// IDs of the jobs (any status, not yet purged) in a namespace.
    pub fn namespace_job_ids(&self, namespace: &str) -> Vec<String> {
        let from = (namespace.to_string(), String::new());
        self.jobs
            .range(from..)
            .take_while(|((ns, _), _)| ns == namespace)
            .map(|((_, id), _)| id.clone())
            .collect()
    }

    /// How many variables a namespace holds.
    pub fn namespace_variable_count(&self, namespace: &str) -> usize {
        let from = (namespace.to_string(), String::new());
        self.variables
            .range(from..)
            .take_while(|((ns, _), _)| ns == namespace)
            .count()
    }
}

/// The quota usage of a set of allocations (each counted whole, terminal or not).
pub fn quota_usage(allocs: &[Arc<Allocation>]) -> QuotaUsage {
    allocs.iter().fold(QuotaUsage::default(), |u, a| {
        let res = &a.allocated_resources;
        u.plus(
            u64::try_from(res.cpu()).unwrap_or(0),
            u64::try_from(res.memory_mb()).unwrap_or(0),
        )
    })
}
