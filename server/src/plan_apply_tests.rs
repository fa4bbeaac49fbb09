use std::sync::Arc;

use nomadish_proto::model::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedResources, AllocatedTaskResources,
    Allocation, NODE_INELIGIBLE, NODE_STATUS_DOWN, NODE_STATUS_READY, Node, NodeCpuResources,
    NodeDiskResources, NodeMemoryResources, NodeResources, Plan,
};

use super::*;

fn node(id: &str, status: &str) -> Arc<Node> {
    Arc::new(Node {
        id: id.into(),
        status: status.into(),
        scheduling_eligibility: "eligible".into(),
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: 1000,
                ..Default::default()
            },
            memory: NodeMemoryResources { memory_mb: 1000 },
            disk: NodeDiskResources { disk_mb: 1000 },
            ..Default::default()
        },
        ..Node::default()
    })
}

fn alloc(id: &str, node: &str, cpu: i64) -> Allocation {
    let mut res = AllocatedResources::default();
    res.tasks.insert(
        "t".into(),
        AllocatedTaskResources {
            cpu: AllocatedCpuResources {
                cpu_shares: cpu,
                ..Default::default()
            },
            memory: AllocatedMemoryResources {
                memory_mb: 100,
                memory_max_mb: 0,
            },
            ..Default::default()
        },
    );
    Allocation {
        id: id.into(),
        node_id: node.into(),
        desired_status: "run".into(),
        client_status: "running".into(),
        allocated_resources: res,
        ..Allocation::default()
    }
}

fn view_with(nodes: &[Arc<Node>], allocs: &[Allocation]) -> StateView {
    let mut view = StateView::default();
    for n in nodes {
        view.nodes.insert(n.id.clone(), n.clone());
    }
    for a in allocs {
        view.put_alloc(Arc::new(a.clone()));
    }
    view
}

fn plan_with(placements: Vec<Allocation>) -> Plan {
    let mut plan = Plan::default();
    for a in placements {
        plan.append_alloc(a);
    }
    plan
}

#[test]
fn accepts_what_fits_and_refuses_overcommit() {
    let view = view_with(
        &[node("n1", NODE_STATUS_READY), node("n2", NODE_STATUS_READY)],
        &[alloc("old", "n1", 600)],
    );
    let plan = plan_with(vec![alloc("a", "n1", 500), alloc("b", "n2", 500)]);
    let v = evaluate_plan(&view, &plan);
    assert_eq!(v.accepted, vec!["n2".to_string()]);
    assert_eq!(v.refused, vec!["n1".to_string()]);
}

#[test]
fn stops_in_the_same_plan_free_room() {
    let old = alloc("old", "n1", 600);
    let view = view_with(&[node("n1", NODE_STATUS_READY)], std::slice::from_ref(&old));
    let mut plan = plan_with(vec![alloc("a", "n1", 500)]);
    plan.append_stop(&old, "replaced", None);
    assert_eq!(evaluate_plan(&view, &plan).accepted, vec!["n1".to_string()]);
}

#[test]
fn terminal_allocations_do_not_count() {
    let mut done = alloc("done", "n1", 900);
    done.client_status = "complete".into();
    let view = view_with(&[node("n1", NODE_STATUS_READY)], &[done]);
    let plan = plan_with(vec![alloc("a", "n1", 900)]);
    assert!(evaluate_plan(&view, &plan).refused.is_empty());
}

#[test]
fn new_placements_need_a_schedulable_node_but_updates_do_not() {
    let mut ineligible = Node::clone(&node("n3", NODE_STATUS_READY));
    ineligible.scheduling_eligibility = NODE_INELIGIBLE.into();
    let existing = alloc("x", "n2", 100);
    let view = view_with(
        &[
            node("n1", NODE_STATUS_DOWN),
            node("n2", NODE_STATUS_DOWN),
            Arc::new(ineligible),
        ],
        std::slice::from_ref(&existing),
    );
    let plan = plan_with(vec![
        alloc("a", "n1", 10),
        existing,
        alloc("c", "n3", 10),
        alloc("d", "gone", 10),
    ]);
    let v = evaluate_plan(&view, &plan);
    assert_eq!(v.accepted, vec!["n2".to_string()]);
    assert_eq!(
        v.refused,
        vec!["gone".to_string(), "n1".to_string(), "n3".to_string()]
    );
}

#[test]
fn all_at_once_refuses_everything_when_one_node_fails() {
    let view = view_with(&[node("n1", NODE_STATUS_READY)], &[]);
    let mut plan = plan_with(vec![alloc("a", "n1", 10), alloc("b", "gone", 10)]);
    plan.all_at_once = true;
    let v = evaluate_plan(&view, &plan);
    assert!(v.accepted.is_empty());
    assert_eq!(v.refused.len(), 2);
}

#[test]
fn client_terminal_entries_hold_no_resources() {
    let mut failed = alloc("f", "n1", 900);
    failed.client_status = "failed".into();
    let mut marker = failed.clone();
    marker.followup_eval_id = "later".into();
    let view = view_with(&[node("n1", NODE_STATUS_READY)], &[failed]);
    let plan = plan_with(vec![marker, alloc("a", "n1", 900)]);
    let v = evaluate_plan(&view, &plan);
    assert_eq!(
        v.accepted,
        vec!["n1".to_string()],
        "the marker does not count against the node"
    );
}
