//! The drainer's decisions on hand-built states.

use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_DESIRED_RUN, ALLOC_DESIRED_STOP, DrainStrategy, JOB_TYPE_BATCH,
    JOB_TYPE_SYSTEM, MigrateStrategy, NODE_STATUS_READY, NS_PER_SEC, TaskGroup,
};

use super::*;

const NOW: i64 = 1_000 * NS_PER_SEC;

fn job(id: &str, job_type: &str, count: i64, max_parallel: i64) -> Arc<Job> {
    Arc::new(Job {
        id: id.into(),
        namespace: "default".into(),
        job_type: job_type.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            migrate: Some(MigrateStrategy {
                max_parallel,
                min_healthy_time: 5 * NS_PER_SEC,
                ..MigrateStrategy::nomad_default()
            }),
            ..TaskGroup::default()
        }],
        ..Job::default()
    })
}

fn node(id: &str, drain: Option<DrainStrategy>) -> Arc<Node> {
    Arc::new(Node {
        id: id.into(),
        status: NODE_STATUS_READY.into(),
        drain_strategy: drain,
        ..Node::default()
    })
}

/// A running allocation whose task has been up since `since`.
fn alloc(id: &str, job: &Arc<Job>, node: &str, since: i64) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job.id.clone(),
        job: Some(job.clone()),
        task_group: "g".into(),
        node_id: node.into(),
        desired_status: ALLOC_DESIRED_RUN.into(),
        client_status: ALLOC_CLIENT_RUNNING.into(),
        modify_time: since,
        ..Allocation::default()
    }
}

fn draining(deadline_ns: i64, ignore_system: bool) -> Option<DrainStrategy> {
    Some(DrainStrategy {
        deadline: deadline_ns,
        ignore_system_jobs: ignore_system,
        force_deadline: if deadline_ns > 0 {
            NOW + deadline_ns
        } else {
            0
        },
        started_at: NOW,
    })
}

fn marked(step: &DrainStep) -> Vec<String> {
    let mut ids: Vec<String> = step.migrate.values().flatten().cloned().collect();
    ids.sort();
    ids
}

#[test]
fn service_allocations_migrate_max_parallel_at_a_time_once_healthy() {
    let mut view = StateView::default();
    let web = job("web", JOB_TYPE_SERVICE, 3, 1);
    view.put_job(web.clone());
    view.nodes
        .insert("n1".into(), node("n1", draining(3600 * NS_PER_SEC, false)));
    view.nodes.insert("n2".into(), node("n2", None));
    let old = NOW - 60 * NS_PER_SEC;
    for id in ["a1", "a2", "a3"] {
        view.put_alloc(Arc::new(alloc(id, &web, "n1", old)));
    }
    let step = next_step(&view, NOW);
    assert_eq!(marked(&step), ["a1"], "one at a time (max_parallel = 1)");
    assert!(step.complete.is_empty());

    // a1 is marked and stopped; its replacement on n2 has just started: nothing more yet.
    let mut a1 = alloc("a1", &web, "n1", old);
    a1.desired_transition.migrate = Some(true);
    a1.desired_status = ALLOC_DESIRED_STOP.into();
    view.put_alloc(Arc::new(a1));
    view.put_alloc(Arc::new(alloc("r1", &web, "n2", NOW)));
    assert!(next_step(&view, NOW + NS_PER_SEC).is_empty());
    // After min_healthy_time the replacement counts as healthy: the next one goes.
    let later = next_step(&view, NOW + 6 * NS_PER_SEC);
    assert_eq!(marked(&later), ["a2"]);
}

#[test]
fn batch_waits_for_the_deadline_and_system_goes_last() {
    let mut view = StateView::default();
    let batch = job("b", JOB_TYPE_BATCH, 1, 1);
    let sys = job("s", JOB_TYPE_SYSTEM, 1, 1);
    view.put_job(batch.clone());
    view.put_job(sys.clone());
    view.nodes
        .insert("n1".into(), node("n1", draining(60 * NS_PER_SEC, false)));
    view.put_alloc(Arc::new(alloc("b1", &batch, "n1", 0)));
    view.put_alloc(Arc::new(alloc("s1", &sys, "n1", 0)));
    assert!(
        next_step(&view, NOW).is_empty(),
        "batch runs on; system waits for it"
    );
    // The batch allocation finishes: now the system one leaves.
    let mut b1 = alloc("b1", &batch, "n1", 0);
    b1.client_status = ALLOC_CLIENT_COMPLETE.into();
    view.put_alloc(Arc::new(b1));
    assert_eq!(marked(&next_step(&view, NOW)), ["s1"]);
}

#[test]
fn deadline_marks_everything_and_ignored_system_allocs_do_not_hold_the_drain() {
    let mut view = StateView::default();
    let batch = job("b", JOB_TYPE_BATCH, 1, 1);
    let sys = job("s", JOB_TYPE_SYSTEM, 1, 1);
    view.put_job(batch.clone());
    view.put_job(sys.clone());
    view.nodes
        .insert("n1".into(), node("n1", draining(60 * NS_PER_SEC, true)));
    view.put_alloc(Arc::new(alloc("b1", &batch, "n1", 0)));
    view.put_alloc(Arc::new(alloc("s1", &sys, "n1", 0)));
    let step = next_step(&view, NOW + 61 * NS_PER_SEC);
    assert_eq!(marked(&step), ["b1"], "system allocations are ignored");
    let mut b1 = alloc("b1", &batch, "n1", 0);
    b1.desired_status = ALLOC_DESIRED_STOP.into();
    view.put_alloc(Arc::new(b1));
    let done = next_step(&view, NOW + 62 * NS_PER_SEC);
    assert_eq!(done.complete, ["n1"]);
    assert!(done.migrate.is_empty());
}

#[test]
fn force_drain_marks_everything_at_once() {
    let mut view = StateView::default();
    let web = job("web", JOB_TYPE_SERVICE, 2, 1);
    view.put_job(web.clone());
    view.nodes
        .insert("n1".into(), node("n1", draining(-1, false)));
    view.nodes.insert("n2".into(), node("n2", None));
    view.put_alloc(Arc::new(alloc("a1", &web, "n1", NOW)));
    view.put_alloc(Arc::new(alloc("a2", &web, "n1", NOW)));
    view.put_alloc(Arc::new(alloc("x1", &web, "n2", NOW)));
    assert_eq!(marked(&next_step(&view, NOW)), ["a1", "a2"]);
}
