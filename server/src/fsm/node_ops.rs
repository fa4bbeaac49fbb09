//! Applying operator changes to nodes (scheduling eligibility, drain strategy) and the
//! drainer's marks on allocations (`DesiredTransition`).
//!
//! ```text
//!   eligible ──eligibility -disable──> ineligible ──eligibility -enable──> eligible (+capacity)
//!   drain set ──> DrainStrategy + ineligible ──drainer done──> no DrainStrategy, still ineligible
//!             └──drain -disable (MarkEligible)──> no DrainStrategy, eligible (+capacity)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use nomadish_proto::model::{
    Allocation, DesiredTransition, DrainStrategy, NODE_ELIGIBLE, NODE_INELIGIBLE, Node, NodeEvent,
};

use super::ApplyError;
use crate::state::StateView;

/// Node event subsystem of drain changes (as Nomad).
pub const SUBSYSTEM_DRAIN: &str = "Drain";
/// Node event subsystem of eligibility changes (as Nomad names it, "Cluster").
pub const SUBSYSTEM_CLUSTER: &str = "Cluster";

fn changed_node(view: &StateView, node_id: &str) -> Result<Node, ApplyError> {
    view.nodes
        .get(node_id)
        .map(|n| Node::clone(n))
        .ok_or_else(|| ApplyError::NotFound {
            kind: "node".to_string(),
        })
}

fn store(view: &mut StateView, index: u64, mut node: Node, event: Option<NodeEvent>) {
    if let Some(mut ev) = event {
        ev.create_index = index;
        super::nodes::push_event(&mut node, ev);
    }
    let became_eligible = view
        .nodes
        .get(&node.id)
        .is_some_and(|old| !old.is_schedulable() && node.is_schedulable());
    if became_eligible {
        // New capacity: blocked evaluations get another chance.
        view.capacity_index = index;
    }
    node.modify_index = index;
    view.put_node(Arc::new(node));
    view.tables.nodes = index;
}

/// Sets a node's scheduling eligibility. A draining node cannot be made eligible.
pub(super) fn apply_eligibility(
    view: &mut StateView,
    index: u64,
    node_id: &str,
    eligibility: &str,
    event: Option<NodeEvent>,
) -> Result<(), ApplyError> {
    if eligibility != NODE_ELIGIBLE && eligibility != NODE_INELIGIBLE {
        return Err(ApplyError::Invalid {
            reason: format!("invalid scheduling eligibility {eligibility:?}"),
        });
    }
    let mut node = changed_node(view, node_id)?;
    if node.drain_strategy.is_some() && eligibility == NODE_ELIGIBLE {
        return Err(ApplyError::Invalid {
            reason: "can not set node's scheduling eligibility to eligible while it is draining"
                .to_string(),
        });
    }
    node.scheduling_eligibility = eligibility.to_string();
    store(view, index, node, event);
    Ok(())
}

/// Sets or clears a node's drain strategy. Setting one makes the node ineligible; clearing
/// it makes the node eligible again only when `mark_eligible` is set.
pub(super) fn apply_drain(
    view: &mut StateView,
    index: u64,
    node_id: &str,
    drain: Option<DrainStrategy>,
    mark_eligible: bool,
    event: Option<NodeEvent>,
) -> Result<(), ApplyError> {
    let mut node = changed_node(view, node_id)?;
    if drain.is_some() {
        node.scheduling_eligibility = NODE_INELIGIBLE.to_string();
    } else if mark_eligible {
        node.scheduling_eligibility = NODE_ELIGIBLE.to_string();
    }
    node.drain_strategy = drain;
    store(view, index, node, event);
    Ok(())
}

/// Merges desired transitions into allocations (unknown IDs are skipped).
pub(super) fn apply_desired_transitions(
    view: &mut StateView,
    index: u64,
    transitions: BTreeMap<String, DesiredTransition>,
) {
    for (id, t) in transitions {
        let Some(existing) = view.allocs.get(&id) else {
            continue;
        };
        let mut alloc = Allocation::clone(existing);
        let d = &mut alloc.desired_transition;
        d.migrate = t.migrate.or(d.migrate);
        d.reschedule = t.reschedule.or(d.reschedule);
        d.force_reschedule = t.force_reschedule.or(d.force_reschedule);
        alloc.modify_index = index;
        view.put_alloc(Arc::new(alloc));
    }
    view.tables.allocs = index;
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::NODE_STATUS_READY;

    use super::*;

    fn view_with_node() -> StateView {
        let mut view = StateView::default();
        let node = Node {
            id: "n1".into(),
            status: NODE_STATUS_READY.into(),
            scheduling_eligibility: NODE_ELIGIBLE.into(),
            ..Node::default()
        };
        view.nodes.insert("n1".into(), Arc::new(node));
        view
    }

    #[test]
    fn eligibility_round_trip_bumps_capacity_only_when_eligible_again() {
        let mut view = view_with_node();
        apply_eligibility(&mut view, 5, "n1", NODE_INELIGIBLE, None).unwrap();
        assert_eq!(view.nodes["n1"].scheduling_eligibility, NODE_INELIGIBLE);
        assert_eq!(view.capacity_index, 0);
        apply_eligibility(&mut view, 6, "n1", NODE_ELIGIBLE, None).unwrap();
        assert_eq!(view.capacity_index, 6);
        assert!(apply_eligibility(&mut view, 7, "n1", "maybe", None).is_err());
        assert!(apply_eligibility(&mut view, 7, "nope", NODE_ELIGIBLE, None).is_err());
    }

    #[test]
    fn draining_node_is_ineligible_and_cannot_be_made_eligible() {
        let mut view = view_with_node();
        let strategy = DrainStrategy {
            deadline: 3_600_000_000_000,
            ..DrainStrategy::default()
        };
        apply_drain(&mut view, 5, "n1", Some(strategy), false, None).unwrap();
        assert_eq!(view.nodes["n1"].scheduling_eligibility, NODE_INELIGIBLE);
        let refused = apply_eligibility(&mut view, 6, "n1", NODE_ELIGIBLE, None);
        assert!(matches!(refused, Err(ApplyError::Invalid { .. })));
        // Drain completes: the node stays ineligible.
        apply_drain(&mut view, 7, "n1", None, false, None).unwrap();
        assert!(view.nodes["n1"].drain_strategy.is_none());
        assert_eq!(view.nodes["n1"].scheduling_eligibility, NODE_INELIGIBLE);
        apply_drain(&mut view, 8, "n1", None, true, None).unwrap();
        assert_eq!(view.nodes["n1"].scheduling_eligibility, NODE_ELIGIBLE);
        assert_eq!(view.capacity_index, 8);
    }

    #[test]
    fn commands_apply_through_the_fsm_with_their_evaluations() {
        use nomadish_proto::model::Evaluation;

        use crate::fsm::{Command, apply};
        let mut view = view_with_node();
        let eval = Evaluation {
            id: "e1".into(),
            namespace: "default".into(),
            job_id: "web".into(),
            status: "pending".into(),
            ..Evaluation::default()
        };
        let cmd = Command::UpdateNodeEligibility {
            node_id: "n1".into(),
            eligibility: NODE_INELIGIBLE.into(),
            event: Some(NodeEvent {
                message: "Node marked as ineligible for scheduling".into(),
                ..NodeEvent::default()
            }),
            evals: vec![eval.clone()],
        };
        assert_eq!(cmd.eval_ids(), ["e1"]);
        let resp = apply(&mut view, 3, cmd);
        assert!(resp.error.is_none());
        assert_eq!(view.evals["e1"].create_index, 3);
        let node = &view.nodes["n1"];
        assert_eq!(node.modify_index, 3);
        assert_eq!(node.events.last().map(|e| e.create_index), Some(3));
        let refused = apply(
            &mut view,
            4,
            Command::UpdateNodeDrain {
                node_id: "missing".into(),
                drain_strategy: None,
                mark_eligible: true,
                event: None,
                evals: vec![eval],
            },
        );
        assert!(matches!(refused.error, Some(ApplyError::NotFound { .. })));
        assert_eq!(
            view.evals["e1"].modify_index, 3,
            "a refused command changes nothing"
        );
    }

    #[test]
    fn desired_transitions_merge_into_known_allocations() {
        let mut view = view_with_node();
        view.put_alloc(Arc::new(Allocation {
            id: "a1".into(),
            node_id: "n1".into(),
            ..Allocation::default()
        }));
        let mut marks = BTreeMap::new();
        let migrate = DesiredTransition {
            migrate: Some(true),
            ..DesiredTransition::default()
        };
        marks.insert("a1".to_string(), migrate.clone());
        marks.insert("ghost".to_string(), migrate);
        apply_desired_transitions(&mut view, 9, marks);
        assert_eq!(view.allocs["a1"].desired_transition.migrate, Some(true));
        assert_eq!(view.allocs["a1"].modify_index, 9);
        assert!(!view.allocs.contains_key("ghost"));
    }
}
