//! The allocations this client knows (running or finished), shared with the tunnel so it can
//! check that a requested allocation and task exist before streaming their logs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use nomadish_proto::model::Allocation;

/// Known allocations by ID; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AllocRegistry {
    inner: Arc<RwLock<HashMap<String, Arc<Allocation>>>>,
}

impl AllocRegistry {
    /// The allocation with this ID, if known.
    pub fn get(&self, id: &str) -> Option<Arc<Allocation>> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Records (or replaces) an allocation.
    pub fn insert(&self, alloc: Arc<Allocation>) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alloc.id.clone(), alloc);
    }

    /// Forgets an allocation.
    pub fn remove(&self, id: &str) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Whether the allocation's group has a task of this name.
    pub fn has_task(&self, id: &str, task: &str) -> bool {
        self.get(id)
            .is_some_and(|a| crate::taskrunner::find_task(&a, task).is_some())
    }
}
