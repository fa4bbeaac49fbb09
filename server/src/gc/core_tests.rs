use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_RUN,
    ALLOC_DESIRED_STOP, EVAL_STATUS_COMPLETE, EVAL_STATUS_PENDING, JOB_STATUS_RUNNING,
    NODE_STATUS_READY, Node,
};

use super::*;

const HOUR: i64 = 3600 * NS_PER_SEC;
const NOW: i64 = 1_000 * HOUR;

fn job(id: &str, job_type: &str, status: &str, stop: bool) -> Arc<Job> {
    Arc::new(Job {
        id: id.into(),
        namespace: "default".into(),
        job_type: job_type.into(),
        status: status.into(),
        stop,
        submit_time: NOW - 10 * HOUR,
        ..Job::default()
    })
}

fn eval(id: &str, job_id: &str, status: &str, age: i64) -> Arc<Evaluation> {
    Arc::new(Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job_id.into(),
        status: status.into(),
        modify_time: NOW - age,
        ..Evaluation::default()
    })
}

fn alloc(id: &str, job_id: &str, eval_id: &str, desired: &str, client: &str) -> Arc<Allocation> {
    Arc::new(Allocation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job_id.into(),
        eval_id: eval_id.into(),
        node_id: "n1".into(),
        desired_status: desired.into(),
        client_status: client.into(),
        modify_time: NOW - 5 * HOUR,
        ..Allocation::default()
    })
}

#[test]
fn stopped_job_goes_with_its_evals_and_allocs_after_the_job_threshold() {
    let mut view = StateView::default();
    view.put_job(job("web", "service", JOB_STATUS_DEAD, true));
    view.put_eval(eval("e1", "web", EVAL_STATUS_COMPLETE, 5 * HOUR));
    view.put_alloc(alloc(
        "a1",
        "web",
        "e1",
        ALLOC_DESIRED_STOP,
        ALLOC_CLIENT_COMPLETE,
    ));
    let batch = collect(&view, NOW, &GcThresholds::default());
    assert_eq!(batch.jobs, [("default".to_string(), "web".to_string())]);
    assert_eq!(
        (batch.evals, batch.allocs),
        (vec!["e1".into()], vec!["a1".into()])
    );
    // Recent activity keeps it under the default thresholds, but not when forced.
    view.put_eval(eval("e1", "web", EVAL_STATUS_COMPLETE, HOUR));
    assert!(
        collect(&view, NOW, &GcThresholds::default())
            .jobs
            .is_empty()
    );
    assert_eq!(collect(&view, NOW, &GcThresholds::forced()).jobs.len(), 1);
}

#[test]
fn nothing_live_is_ever_collected() {
    let mut view = StateView::default();
    view.put_job(job("web", "service", JOB_STATUS_DEAD, true));
    view.put_eval(eval("e1", "web", EVAL_STATUS_PENDING, 5 * HOUR));
    view.put_eval(eval("e2", "web", EVAL_STATUS_COMPLETE, 5 * HOUR));
    // Stopped on the server but still running on the client.
    view.put_alloc(alloc(
        "a2",
        "web",
        "e2",
        ALLOC_DESIRED_STOP,
        ALLOC_CLIENT_RUNNING,
    ));
    let batch = collect(&view, NOW, &GcThresholds::forced());
    assert!(
        batch.jobs.is_empty(),
        "the job has a pending eval and a running alloc"
    );
    assert!(!batch.evals.contains(&"e1".to_string()));
    assert!(
        !batch.evals.contains(&"e2".to_string()),
        "its alloc still runs"
    );
    assert!(batch.allocs.is_empty());
}

#[test]
fn old_terminal_evals_of_a_running_service_go_but_a_live_batch_job_keeps_its_own() {
    let mut view = StateView::default();
    view.put_job(job("web", "service", JOB_STATUS_RUNNING, false));
    view.put_job(job("etl", "batch", JOB_STATUS_RUNNING, false));
    view.put_eval(eval("old", "web", EVAL_STATUS_COMPLETE, 2 * HOUR));
    view.put_eval(eval("new", "web", EVAL_STATUS_COMPLETE, HOUR / 2));
    view.put_alloc(alloc(
        "a",
        "web",
        "old",
        ALLOC_DESIRED_STOP,
        ALLOC_CLIENT_COMPLETE,
    ));
    view.put_alloc(alloc(
        "b",
        "web",
        "new",
        ALLOC_DESIRED_RUN,
        ALLOC_CLIENT_RUNNING,
    ));
    view.put_eval(eval("batch", "etl", EVAL_STATUS_COMPLETE, 48 * HOUR));
    let batch = collect(&view, NOW, &GcThresholds::default());
    assert_eq!(batch.evals, ["old"]);
    assert_eq!(batch.allocs, ["a"]);
    assert!(batch.jobs.is_empty());
}

#[test]
fn parent_with_a_live_child_is_kept() {
    let mut view = StateView::default();
    view.put_job(job("report", "batch", JOB_STATUS_DEAD, true));
    let mut child = Job::clone(&job(
        "report/periodic-1",
        "batch",
        JOB_STATUS_RUNNING,
        false,
    ));
    child.parent_id = "report".into();
    view.put_job(Arc::new(child.clone()));
    let forced = GcThresholds::forced();
    assert!(collect(&view, NOW, &forced).jobs.is_empty());
    child.status = JOB_STATUS_DEAD.into();
    view.put_job(Arc::new(child));
    assert_eq!(collect(&view, NOW, &forced).jobs.len(), 2);
}

#[test]
fn down_nodes_without_live_allocs_go_after_the_node_threshold() {
    let mut view = StateView::default();
    let node = |id: &str, status: &str, hours_ago: i64| {
        Arc::new(Node {
            id: id.into(),
            status: status.into(),
            status_updated_at: (NOW - hours_ago * HOUR) / NS_PER_SEC,
            ..Node::default()
        })
    };
    view.nodes
        .insert("old".into(), node("old", NODE_STATUS_DOWN, 25));
    view.nodes
        .insert("recent".into(), node("recent", NODE_STATUS_DOWN, 1));
    view.nodes
        .insert("ready".into(), node("ready", NODE_STATUS_READY, 48));
    assert_eq!(collect(&view, NOW, &GcThresholds::default()).nodes, ["old"]);
}

#[test]
fn failed_alloc_awaiting_reschedule_is_kept() {
    let mut view = StateView::default();
    view.put_job(job("web", "service", JOB_STATUS_RUNNING, false));
    view.put_eval(eval("e", "web", EVAL_STATUS_COMPLETE, 2 * HOUR));
    view.put_alloc(alloc(
        "failed",
        "web",
        "e",
        ALLOC_DESIRED_RUN,
        ALLOC_CLIENT_FAILED,
    ));
    let mut replaced = Allocation::clone(&alloc(
        "old",
        "web",
        "e",
        ALLOC_DESIRED_STOP,
        ALLOC_CLIENT_FAILED,
    ));
    replaced.next_allocation = "failed".into();
    view.put_alloc(Arc::new(replaced));
    let batch = collect(&view, NOW, &GcThresholds::forced());
    assert_eq!(
        batch.allocs,
        ["old"],
        "the unreplaced failure may still be rescheduled"
    );
    assert!(batch.evals.is_empty(), "its eval stays with it");
}

fn deployment(id: &str, job_id: &str, status: &str, age: i64) -> Arc<Deployment> {
    Arc::new(Deployment {
        id: id.into(),
        namespace: "default".into(),
        job_id: job_id.into(),
        status: status.into(),
        modify_time: NOW - age,
        ..Deployment::default()
    })
}

#[test]
fn finished_deployments_go_after_their_threshold_unless_an_alloc_still_runs() {
    use nomadish_proto::model::{DEPLOYMENT_STATUS_RUNNING, DEPLOYMENT_STATUS_SUCCESSFUL};
    let mut view = StateView::default();
    view.put_job(job("web", "service", JOB_STATUS_RUNNING, false));
    for d in [
        deployment("old-done", "web", DEPLOYMENT_STATUS_SUCCESSFUL, 2 * HOUR),
        deployment(
            "old-live-alloc",
            "web",
            DEPLOYMENT_STATUS_SUCCESSFUL,
            2 * HOUR,
        ),
        deployment("young-done", "web", DEPLOYMENT_STATUS_SUCCESSFUL, HOUR / 2),
        deployment("old-running", "web", DEPLOYMENT_STATUS_RUNNING, 2 * HOUR),
    ] {
        view.deployments.insert(d.id.clone(), d);
    }
    let mut a = Allocation::clone(&alloc(
        "a1",
        "web",
        "e1",
        ALLOC_DESIRED_RUN,
        ALLOC_CLIENT_RUNNING,
    ));
    a.deployment_id = "old-live-alloc".into();
    view.put_alloc(Arc::new(a));

    let batch = collect(&view, NOW, &GcThresholds::default());
    assert_eq!(batch.deployments, vec!["old-done".to_string()]);
    let forced = collect(&view, NOW, &GcThresholds::forced());
    assert_eq!(
        forced.deployments,
        vec!["old-done".to_string(), "young-done".to_string()],
        "a forced GC ignores age, never a running deployment or one with a live alloc"
    );
}
