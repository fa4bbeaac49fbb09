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
fn an_allocation_updated_in_place_counts_once_at_its_new_size() {
    let view = view_with(
        &[node("n1", NODE_STATUS_READY)],
        &[alloc("a", "n1", 600), alloc("b", "n1", 100)],
    );
    // 900 + 100 fits the node's 1000; counting the old 600 as well would not.
    let plan = plan_with(vec![alloc("a", "n1", 900)]);
    assert_eq!(evaluate_plan(&view, &plan).accepted, vec!["n1".to_string()]);
    let plan = plan_with(vec![alloc("a", "n1", 901)]);
    assert_eq!(evaluate_plan(&view, &plan).refused, vec!["n1".to_string()]);
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

fn with_port(mut a: Allocation, port: u16) -> Allocation {
    a.allocated_resources
        .shared
        .ports
        .push(nomadish_proto::model::AllocatedPort {
            label: "http".into(),
            value: port,
            ..Default::default()
        });
    a
}

#[test]
fn refuses_a_host_port_collision_on_a_node() {
    let view = view_with(
        &[node("n1", NODE_STATUS_READY), node("n2", NODE_STATUS_READY)],
        &[with_port(alloc("old", "n1", 100), 8080)],
    );
    let plan = plan_with(vec![
        with_port(alloc("a", "n1", 100), 8080),
        with_port(alloc("b", "n2", 100), 8080),
    ]);
    let v = evaluate_plan(&view, &plan);
    assert_eq!(v.accepted, vec!["n2".to_string()]);
    assert_eq!(v.refused, vec!["n1".to_string()]);
    // Two placements of the same plan on one node, same port.
    let view = view_with(&[node("n1", NODE_STATUS_READY)], &[]);
    let plan = plan_with(vec![
        with_port(alloc("a", "n1", 100), 9000),
        with_port(alloc("b", "n1", 100), 9000),
    ]);
    assert_eq!(evaluate_plan(&view, &plan).refused, vec!["n1".to_string()]);
}

#[test]
fn a_stopped_allocation_frees_its_port_and_reserved_ports_count() {
    let old = with_port(alloc("old", "n1", 100), 8080);
    let view = view_with(&[node("n1", NODE_STATUS_READY)], std::slice::from_ref(&old));
    let mut plan = plan_with(vec![with_port(alloc("a", "n1", 100), 8080)]);
    plan.append_stop(&old, "replaced", None);
    assert_eq!(evaluate_plan(&view, &plan).accepted, vec!["n1".to_string()]);

    let mut reserved = Node::clone(&node("n1", NODE_STATUS_READY));
    reserved.reserved_resources.networks.reserved_host_ports = "22,8000-8100".into();
    let view = view_with(&[Arc::new(reserved)], &[]);
    let plan = plan_with(vec![with_port(alloc("a", "n1", 100), 8050)]);
    assert_eq!(evaluate_plan(&view, &plan).refused, vec!["n1".to_string()]);
}

#[test]
fn preemptions_free_room_for_the_placement() {
    let low = alloc("low", "n1", 800);
    let view = view_with(&[node("n1", NODE_STATUS_READY)], std::slice::from_ref(&low));
    let mut plan = plan_with(vec![alloc("sys", "n1", 500)]);
    assert_eq!(evaluate_plan(&view, &plan).refused, vec!["n1".to_string()]);
    let mut evicted = low.clone();
    evicted.desired_status = "evict".into();
    plan.node_preemptions.insert("n1".into(), vec![evicted]);
    assert_eq!(evaluate_plan(&view, &plan).accepted, vec!["n1".to_string()]);
}

#[test]
fn preempted_jobs_get_an_evaluation() {
    let mut low = alloc("low", "n1", 800);
    low.namespace = "default".into();
    low.job_id = "batchy".into();
    let mut view = view_with(&[node("n1", NODE_STATUS_READY)], std::slice::from_ref(&low));
    view.put_job(Arc::new(nomadish_proto::model::Job {
        id: "batchy".into(),
        namespace: "default".into(),
        job_type: "service".into(),
        priority: 20,
        ..Default::default()
    }));
    let mut plan = plan_with(vec![alloc("sys", "n1", 500)]);
    plan.node_preemptions.insert("n1".into(), vec![low]);
    let verdict = evaluate_plan(&view, &plan);
    let evals = preemption_evals(&view, &plan, &verdict, 7);
    assert_eq!(evals.len(), 1);
    assert_eq!(evals[0].job_id, "batchy");
    assert_eq!(evals[0].triggered_by, "preemption");
    assert_eq!(evals[0].priority, 20);
    let refused = PlanVerdict::default();
    assert!(preemption_evals(&view, &plan, &refused, 7).is_empty());
}

#[test]
fn placements_over_the_namespace_quota_are_refused() {
    use nomadish_proto::model::{Job, Namespace, QuotaLimits};

    let in_team = |mut a: Allocation| {
        a.namespace = "team-a".into();
        a
    };
    let mut view = view_with(
        &[node("n1", NODE_STATUS_READY), node("n2", NODE_STATUS_READY)],
        &[in_team(alloc("old", "n1", 100))],
    );
    view.namespaces.insert(
        "team-a".into(),
        Arc::new(Namespace {
            name: "team-a".into(),
            quota_limits: Some(QuotaLimits {
                allocations: 1,
                ..QuotaLimits::default()
            }),
            ..Namespace::default()
        }),
    );
    let mut plan = plan_with(vec![in_team(alloc("new", "n2", 100))]);
    plan.job = Some(Arc::new(Job {
        id: "web".into(),
        namespace: "team-a".into(),
        ..Job::default()
    }));
    let verdict = evaluate_plan(&view, &plan);
    assert_eq!(
        verdict.refused,
        ["n2"],
        "another plan already used the quota"
    );
    assert!(verdict.accepted.is_empty());

    // The same placement replacing the old allocation fits.
    plan.append_stop(&in_team(alloc("old", "n1", 100)), "replaced", None);
    let verdict = evaluate_plan(&view, &plan);
    assert_eq!(verdict.accepted, ["n2"]);
}
