use std::sync::Arc;

use nomadish_proto::model::{DEPLOYMENT_STATUS_PAUSED, Job};

use super::*;

const NOW: i64 = 1_000_000;

fn job(version: u64, stable: bool, cmd: &str) -> Arc<Job> {
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("cmd".to_string(), cmd.to_string());
    Arc::new(Job {
        id: "web".into(),
        namespace: "default".into(),
        version,
        stable,
        meta: meta.into_iter().collect(),
        ..Job::default()
    })
}

fn view_with(d: Deployment, versions: &[Arc<Job>]) -> StateView {
    let mut view = StateView::default();
    for j in versions {
        view.put_job(j.clone());
    }
    view.put_deployment(Arc::new(d));
    view
}

fn deployment(group: DeploymentState) -> Deployment {
    let mut d = Deployment {
        id: "d1".into(),
        namespace: "default".into(),
        job_id: "web".into(),
        job_version: 1,
        status: DEPLOYMENT_STATUS_RUNNING.into(),
        ..Deployment::default()
    };
    d.task_groups.insert("app".into(), group);
    d
}

fn group(total: u64, healthy: u64) -> DeploymentState {
    DeploymentState {
        desired_total: total,
        healthy_allocs: healthy,
        require_progress_by: NOW + 10,
        ..DeploymentState::default()
    }
}

#[test]
fn more_healthy_allocs_create_one_evaluation() {
    let mut core = WatcherCore::default();
    let view = view_with(deployment(group(3, 1)), &[]);
    let want = vec![Action::Evaluate {
        deployment_id: "d1".into(),
    }];
    assert_eq!(core.observe(&view, NOW), want);
    assert!(
        core.observe(&view, NOW).is_empty(),
        "same count: nothing new"
    );
    let view = view_with(deployment(group(3, 2)), &[]);
    assert_eq!(core.observe(&view, NOW), want);
}

#[test]
fn all_healthy_succeeds_but_unpromoted_canaries_do_not() {
    let mut core = WatcherCore::default();
    let view = view_with(deployment(group(2, 2)), &[]);
    assert!(matches!(&core.observe(&view, NOW)[0],
        Action::SetStatus { status, .. } if status == DEPLOYMENT_STATUS_SUCCESSFUL));
    let mut g = group(2, 2);
    g.desired_canaries = 1;
    let view = view_with(deployment(g), &[]);
    let actions = core.observe(&view, NOW);
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::SetStatus { .. }))
    );
}

#[test]
fn unhealthy_alloc_fails_without_revert() {
    let mut g = group(2, 0);
    g.unhealthy_allocs = 1;
    let view = view_with(deployment(g), &[]);
    assert_eq!(
        WatcherCore::default().observe(&view, NOW),
        vec![Action::SetStatus {
            deployment_id: "d1".into(),
            status: DEPLOYMENT_STATUS_FAILED.into(),
            description: deployment_desc::FAILED_ALLOCATIONS.into(),
        }]
    );
}

#[test]
fn progress_deadline_fails_unless_only_waiting_for_promotion() {
    let view = view_with(deployment(group(2, 1)), &[]);
    let actions = WatcherCore::default().observe(&view, NOW + 11);
    assert!(matches!(&actions[0],
        Action::SetStatus { description, .. } if description == deployment_desc::PROGRESS_DEADLINE));
    let mut g = group(3, 1);
    g.desired_canaries = 1;
    let view = view_with(deployment(g), &[]);
    let actions = WatcherCore::default().observe(&view, NOW + 11);
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::SetStatus { .. }))
    );
}

#[test]
fn auto_revert_goes_to_the_latest_stable_version() {
    let mut g = group(2, 0);
    g.unhealthy_allocs = 1;
    g.auto_revert = true;
    let view = view_with(
        deployment(g.clone()),
        &[job(0, true, "a"), job(1, false, "b")],
    );
    assert_eq!(
        WatcherCore::default().observe(&view, NOW),
        vec![Action::Revert {
            deployment_id: "d1".into(),
            description: rollback_description(deployment_desc::FAILED_ALLOCATIONS, 0),
            version: 0,
        }]
    );
    let view = view_with(
        deployment(g.clone()),
        &[job(0, false, "a"), job(1, false, "b")],
    );
    assert!(matches!(&WatcherCore::default().observe(&view, NOW)[0],
        Action::SetStatus { description, .. } if description.contains("no stable job version")));
    let view = view_with(deployment(g), &[job(0, true, "b"), job(1, false, "b")]);
    assert!(matches!(&WatcherCore::default().observe(&view, NOW)[0],
        Action::SetStatus { description, .. } if description.contains("same specification")));
}

#[test]
fn paused_deployments_and_auto_promote() {
    let mut d = deployment(group(2, 0));
    d.status = DEPLOYMENT_STATUS_PAUSED.into();
    let view = view_with(d, &[]);
    assert!(WatcherCore::default().observe(&view, NOW + 100).is_empty());
    let mut g = group(2, 1);
    g.desired_canaries = 1;
    g.auto_promote = true;
    let view = view_with(deployment(g), &[]);
    assert_eq!(
        WatcherCore::default().observe(&view, NOW),
        vec![Action::Promote {
            deployment_id: "d1".into()
        }]
    );
}
