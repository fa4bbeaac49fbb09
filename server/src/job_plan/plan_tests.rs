//! Dry-run plans on hand-built views: nothing is committed, counts and failures come back.

use std::sync::Arc;

use nomadish_proto::model::{
    DIFF_EDITED, DriverInfo, JOB_TYPE_SERVICE, NODE_ELIGIBLE, NODE_STATUS_READY, Node,
    NodeCpuResources, NodeDiskResources, NodeMemoryResources, NodeResources, Resources, Task,
    TaskGroup,
};

use super::*;

fn node(i: usize) -> Node {
    let mut n = Node {
        id: format!("node-{i}"),
        datacenter: "dc1".into(),
        status: NODE_STATUS_READY.into(),
        scheduling_eligibility: NODE_ELIGIBLE.into(),
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: 1000,
                ..Default::default()
            },
            memory: NodeMemoryResources { memory_mb: 1024 },
            disk: NodeDiskResources { disk_mb: 100_000 },
            ..Default::default()
        },
        ..Default::default()
    };
    let driver = DriverInfo {
        detected: true,
        healthy: true,
        ..Default::default()
    };
    n.drivers.insert("raw_exec".into(), driver);
    n
}

fn job(count: i64, memory_mb: i64) -> Job {
    let mut job = Job {
        id: "web".into(),
        job_type: JOB_TYPE_SERVICE.into(),
        datacenters: vec!["dc1".into()],
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![Task {
                name: "t".into(),
                driver: "raw_exec".into(),
                resources: Resources {
                    cpu: 100,
                    memory_mb,
                    ..Default::default()
                },
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    job.canonicalize();
    job
}

fn view(nodes: usize) -> StateView {
    let mut view = StateView::default();
    for i in 0..nodes {
        let n = node(i);
        view.nodes.insert(n.id.clone(), Arc::new(n));
    }
    view.index = 10;
    view
}

#[test]
fn new_job_plans_creates_and_commits_nothing() {
    let view = view(2);
    let resp = plan_job(&view, job(3, 100), 1, 7).expect("plan");
    let updates = &resp
        .annotations
        .as_ref()
        .expect("annotations")
        .desired_tg_updates["g"];
    assert_eq!(updates.place, 3);
    assert!(resp.failed_tg_allocs.is_empty());
    assert_eq!(resp.job_modify_index, 0);
    let diff = resp.diff.as_ref().expect("diff");
    assert_eq!(diff.task_groups[0].updates["create"], 3);
    assert_eq!(diff.task_groups[0].tasks[0].annotations, ["forces create"]);
    assert!(changes_allocations(&resp));
    assert!(view.jobs.is_empty(), "the view planned on is untouched");
}

#[test]
fn job_that_does_not_fit_reports_exhausted_memory() {
    let resp = plan_job(&view(2), job(1, 4096), 1, 7).expect("plan");
    let failed = &resp.failed_tg_allocs["g"];
    assert_eq!(failed.nodes_exhausted, 2);
    assert_eq!(failed.dimension_exhausted.get("memory"), Some(&2));
}

#[test]
fn registered_job_diff_and_index() {
    let mut view = view(2);
    fsm::apply(
        &mut view,
        11,
        Command::UpsertJob {
            job: Box::new(job(1, 100)),
            eval: None,
            enforce_index: None,
            now: 1,
        },
    );
    let same = plan_job(&view, job(1, 100), 2, 7).expect("plan");
    assert_eq!(same.job_modify_index, 11);
    assert_eq!(same.diff.as_ref().expect("diff").diff_type, "None");
    let more = plan_job(&view, job(2, 100), 2, 7).expect("plan");
    assert_eq!(more.diff.as_ref().expect("diff").diff_type, DIFF_EDITED);
    let g = &more.annotations.as_ref().expect("a").desired_tg_updates["g"];
    assert_eq!(
        g.place, 2,
        "nothing was placed for the registered version yet"
    );
}
