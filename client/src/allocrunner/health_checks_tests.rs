//! Deployment health with `health_check = "checks"` and service checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use nomadish_proto::model::{
    Allocation, Job, NS_PER_SEC, Service, ServiceCheck, Task, TaskGroup, TaskState, UpdateStrategy,
};

use super::HealthTracker;

const T0: i64 = 1_000 * NS_PER_SEC;

fn alloc(health_check: &str, provider: &str) -> Allocation {
    let update = UpdateStrategy {
        health_check: health_check.into(),
        min_healthy_time: 2 * NS_PER_SEC,
        healthy_deadline: 10 * NS_PER_SEC,
        ..UpdateStrategy::nomad_default()
    };
    let service = Service {
        name: "web".into(),
        provider: provider.into(),
        checks: vec![ServiceCheck {
            check_type: "http".into(),
            ..ServiceCheck::default()
        }],
        ..Service::default()
    };
    let job = Job {
        task_groups: vec![TaskGroup {
            name: "app".into(),
            update: Some(update),
            services: vec![service],
            tasks: vec![Task {
                name: "main".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    Allocation {
        task_group: "app".into(),
        deployment_id: "d1".into(),
        job: Some(Arc::new(job)),
        ..Allocation::default()
    }
}

fn running() -> BTreeMap<String, TaskState> {
    let state = TaskState {
        state: "running".into(),
        ..TaskState::default()
    };
    [("main".to_string(), state)].into_iter().collect()
}

#[test]
fn checks_must_pass_for_min_healthy_time() {
    let mut h = HealthTracker::for_alloc(&alloc("checks", "nomad"), T0).expect("tracked");
    assert!(h.requires_checks());
    assert_eq!(h.observe(&running(), T0), None);
    assert_eq!(
        h.observe(&running(), T0 + 3 * NS_PER_SEC),
        None,
        "checks not passing yet"
    );
    h.set_checks(true);
    assert_eq!(h.observe(&running(), T0 + 4 * NS_PER_SEC), None);
    h.set_checks(false);
    assert_eq!(
        h.observe(&running(), T0 + 5 * NS_PER_SEC),
        None,
        "clock restarts"
    );
    h.set_checks(true);
    assert_eq!(h.observe(&running(), T0 + 6 * NS_PER_SEC), None);
    let v = h.observe(&running(), T0 + 8 * NS_PER_SEC).expect("decided");
    assert_eq!(v.healthy, Some(true));
}

#[test]
fn a_check_failing_until_the_deadline_is_unhealthy() {
    let mut h = HealthTracker::for_alloc(&alloc("checks", "nomad"), T0).expect("tracked");
    h.observe(&running(), T0);
    let v = h
        .observe(&running(), T0 + 10 * NS_PER_SEC)
        .expect("decided");
    assert_eq!(v.healthy, Some(false));
}

#[test]
fn task_states_or_non_nomad_checks_ignore_checks() {
    for a in [alloc("task_states", "nomad"), alloc("checks", "consul")] {
        let mut h = HealthTracker::for_alloc(&a, T0).expect("tracked");
        assert!(!h.requires_checks());
        h.observe(&running(), T0);
        let v = h.observe(&running(), T0 + 2 * NS_PER_SEC).expect("decided");
        assert_eq!(v.healthy, Some(true));
    }
}
