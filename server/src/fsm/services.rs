//! The service catalog (`provider = "nomad"`): clients replace the registrations of one of
//! their allocations; operators delete one; registrations whose allocation is terminal or gone,
//! or whose node is down or gone, are pruned in the same entry that made them stale.
//!
//! Pruning runs inside the FSM (deterministically, after every command that changes
//! allocations or nodes), so every server's catalog agrees at every index and no leader loop
//! is needed.

use std::sync::Arc;

use nomadish_proto::model::{NODE_STATUS_DOWN, ServiceRegistration};

use super::ApplyError;
use crate::state::StateView;

/// Replaces the registrations of `alloc_id` with `registrations` (empty: deregister all).
/// Refused when the allocation is unknown or terminal (a late registration must not outlive
/// it), or when a registration names another allocation.
pub(super) fn apply_upsert(
    view: &mut StateView,
    index: u64,
    alloc_id: &str,
    registrations: Vec<ServiceRegistration>,
) -> Result<(), ApplyError> {
    let live = view.allocs.get(alloc_id).filter(|a| !a.terminal()).cloned();
    if !registrations.is_empty() && live.is_none() {
        return Err(ApplyError::Invalid {
            reason: format!(
                "allocation {alloc_id} is not running; its services are not registered"
            ),
        });
    }
    if let Some(bad) = registrations.iter().find(|r| r.alloc_id != alloc_id) {
        return Err(ApplyError::Invalid {
            reason: format!(
                "registration {} belongs to allocation {}",
                bad.id, bad.alloc_id
            ),
        });
    }
    let old: Vec<String> = view
        .services
        .values()
        .filter(|s| s.alloc_id == alloc_id)
        .map(|s| s.id.clone())
        .collect();
    let mut changed = false;
    for id in &old {
        if !registrations.iter().any(|r| &r.id == id) {
            view.remove_service(id);
            changed = true;
        }
    }
    for mut reg in registrations {
        let existing = view.services.get(&reg.id).cloned();
        reg.create_index = existing.as_ref().map_or(index, |e| e.create_index);
        reg.modify_index = existing.as_ref().map_or(index, |e| e.modify_index);
        if existing.as_deref() == Some(&reg) {
            continue;
        }
        reg.modify_index = index;
        view.put_service(Arc::new(reg));
        changed = true;
    }
    if changed {
        view.tables.services = index;
    }
    Ok(())
}

/// Deletes one registration by service name and ID (`DELETE /v1/service/:name/:id`).
pub(super) fn apply_delete(
    view: &mut StateView,
    index: u64,
    namespace: &str,
    service_name: &str,
    id: &str,
) -> Result<(), ApplyError> {
    let matches = view
        .services
        .get(id)
        .is_some_and(|s| s.namespace == namespace && s.service_name == service_name);
    if !matches {
        return Err(ApplyError::NotFound {
            kind: "service registration".to_string(),
        });
    }
    view.remove_service(id);
    view.tables.services = index;
    Ok(())
}

/// Removes registrations whose allocation is terminal or gone, or whose node is down or gone.
pub(super) fn prune(view: &mut StateView, index: u64) {
    if view.services.is_empty() {
        return;
    }
    let stale: Vec<String> = view
        .services
        .values()
        .filter(|s| {
            let alloc_gone = view.allocs.get(&s.alloc_id).is_none_or(|a| a.terminal());
            let node_gone = view
                .nodes
                .get(&s.node_id)
                .is_none_or(|n| n.status == NODE_STATUS_DOWN);
            alloc_gone || node_gone
        })
        .map(|s| s.id.clone())
        .collect();
    if stale.is_empty() {
        return;
    }
    for id in stale {
        view.remove_service(&id);
    }
    view.tables.services = index;
}

#[cfg(test)]
#[path = "services_tests.rs"]
mod tests;
