//! Applying node registrations and status changes.

use std::sync::Arc;

use nomadish_proto::model::{NODE_ELIGIBLE, NODE_STATUS_READY, NS_PER_SEC, Node, NodeEvent};

use super::ApplyError;
use crate::state::StateView;

/// Nomad keeps this many events per node.
const MAX_NODE_EVENTS: usize = 10;

/// Registers a node, or refreshes a known one (keeping what the servers own: eligibility,
/// drain, events, create index).
pub(super) fn apply_upsert_node(view: &mut StateView, index: u64, mut node: Node, now: i64) {
    match view.nodes.get(&node.id) {
        Some(old) => {
            node.create_index = old.create_index;
            node.scheduling_eligibility = old.scheduling_eligibility.clone();
            node.drain_strategy = old.drain_strategy.clone();
            node.events = old.events.clone();
            if old.status != node.status {
                push_event(&mut node, event("Node re-registered", now, index));
            }
        }
        None => {
            node.create_index = index;
            if node.scheduling_eligibility.is_empty() {
                node.scheduling_eligibility = NODE_ELIGIBLE.to_string();
            }
            node.events = vec![event("Node registered", now, index)];
        }
    }
    node.modify_index = index;
    node.status_updated_at = now / NS_PER_SEC;
    view.capacity_index = index;
    view.put_node(Arc::new(node));
    view.tables.nodes = index;
}

/// Sets a node's status.
pub(super) fn apply_node_status(
    view: &mut StateView,
    index: u64,
    node_id: &str,
    status: &str,
    ev: Option<NodeEvent>,
    now: i64,
) -> Result<(), ApplyError> {
    let Some(old) = view.nodes.get(node_id) else {
        return Err(ApplyError::NotFound {
            kind: "node".to_string(),
        });
    };
    let mut node = Node::clone(old);
    if status == NODE_STATUS_READY && old.status != NODE_STATUS_READY {
        view.capacity_index = index;
    }
    node.status = status.to_string();
    node.status_updated_at = now / NS_PER_SEC;
    node.modify_index = index;
    if let Some(mut ev) = ev {
        ev.create_index = index;
        push_event(&mut node, ev);
    }
    view.put_node(Arc::new(node));
    view.tables.nodes = index;
    Ok(())
}

fn event(message: &str, now: i64, index: u64) -> NodeEvent {
    NodeEvent {
        message: message.to_string(),
        subsystem: "Cluster".to_string(),
        timestamp: now,
        create_index: index,
        ..NodeEvent::default()
    }
}

pub(super) fn push_event(node: &mut Node, ev: NodeEvent) {
    node.events.push(ev);
    if node.events.len() > MAX_NODE_EVENTS {
        let excess = node.events.len() - MAX_NODE_EVENTS;
        node.events.drain(..excess);
    }
}
