use nomadish_proto::model::{
    AllocClientUpdate, AllocDeploymentStatus, Allocation, DEPLOYMENT_STATUS_RUNNING,
    DEPLOYMENT_STATUS_SUCCESSFUL, Deployment, DeploymentState, DeploymentStatusUpdate, Job,
    TaskGroup,
};

use crate::fsm::{Command, JobRef, apply};
use crate::state::StateView;

fn setup() -> StateView {
    let mut view = StateView::default();
    let job = Job {
        id: "web".into(),
        namespace: "default".into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count: 2,
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    apply(
        &mut view,
        1,
        Command::UpsertJob {
            job: Box::new(job),
            eval: None,
            enforce_index: None,
            now: 1,
        },
    );
    let mut d = Deployment {
        id: "d1".into(),
        namespace: "default".into(),
        job_id: "web".into(),
        status: DEPLOYMENT_STATUS_RUNNING.into(),
        ..Deployment::default()
    };
    d.task_groups.insert(
        "g".into(),
        DeploymentState {
            desired_total: 2,
            desired_canaries: 1,
            progress_deadline: 100,
            ..DeploymentState::default()
        },
    );
    let canary = Allocation {
        id: "a1".into(),
        namespace: "default".into(),
        job_id: "web".into(),
        task_group: "g".into(),
        deployment_id: "d1".into(),
        deployment_status: Some(AllocDeploymentStatus {
            canary: true,
            ..Default::default()
        }),
        ..Allocation::default()
    };
    apply(
        &mut view,
        2,
        Command::ApplyPlanResults {
            eval_id: "e".into(),
            job: Some(JobRef {
                namespace: "default".into(),
                id: "web".into(),
                version: 0,
            }),
            placed: vec![canary],
            stopped: vec![],
            now: 1_000,
            deployment: Some(d),
            deployment_updates: vec![],
        },
    );
    view
}

fn health(view: &mut StateView, index: u64, healthy: bool) {
    apply(
        view,
        index,
        Command::UpdateAllocsFromClient {
            updates: vec![AllocClientUpdate {
                id: "a1".into(),
                client_status: "running".into(),
                deployment_status: Some(AllocDeploymentStatus {
                    healthy: Some(healthy),
                    timestamp: 5_000,
                    ..Default::default()
                }),
                ..AllocClientUpdate::default()
            }],
            evals: vec![],
            now: 5_000,
        },
    );
}

#[test]
fn plans_create_deployments_and_count_placements() {
    let view = setup();
    let d = &view.deployments["d1"];
    let g = &d.task_groups["g"];
    assert_eq!((d.create_index, view.tables.deployments), (2, 2));
    assert_eq!(
        (g.placed_allocs, g.placed_canaries.clone()),
        (1, vec!["a1".to_string()])
    );
    assert_eq!(g.require_progress_by, 1_100);
}

#[test]
fn first_health_verdict_counts_once_and_keeps_the_canary_flag() {
    let mut view = setup();
    health(&mut view, 3, true);
    health(&mut view, 4, false);
    let g = &view.deployments["d1"].task_groups["g"];
    assert_eq!((g.healthy_allocs, g.unhealthy_allocs), (1, 0));
    assert_eq!(g.require_progress_by, 5_100);
    let status = view.allocs["a1"].deployment_status.clone().unwrap();
    assert!(status.canary && status.is_healthy());
}

#[test]
fn promotion_and_success_mark_the_version_stable() {
    let mut view = setup();
    let r = apply(
        &mut view,
        3,
        Command::PromoteDeployment {
            deployment_id: "d1".into(),
            groups: vec![],
            eval: None,
            now: 9,
        },
    );
    assert_eq!(r.error, None);
    assert!(view.deployments["d1"].task_groups["g"].promoted);
    apply(
        &mut view,
        4,
        Command::UpdateDeploymentStatus {
            update: DeploymentStatusUpdate {
                deployment_id: "d1".into(),
                status: DEPLOYMENT_STATUS_SUCCESSFUL.into(),
                status_description: "Deployment completed successfully".into(),
            },
            eval: None,
            now: 10,
        },
    );
    assert_eq!(view.deployments["d1"].status, DEPLOYMENT_STATUS_SUCCESSFUL);
    assert!(view.job("default", "web").unwrap().stable);
    let key = ("default".to_string(), "web".to_string(), 0);
    assert!(view.job_versions[&key].stable);
    let missing = apply(
        &mut view,
        5,
        Command::PromoteDeployment {
            deployment_id: "nope".into(),
            groups: vec![],
            eval: None,
            now: 11,
        },
    );
    assert!(missing.error.is_some());
}
