use std::sync::Arc;

use nomadish_proto::model::{JOB_STATUS_DEAD, JOB_STATUS_RUNNING, Job, PeriodicConfig};

use super::*;
use crate::state::PeriodicLaunch;

const SEC: i64 = NS_PER_SEC;
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200 * SEC;

fn periodic(id: &str, cron: &str, prohibit_overlap: bool) -> Job {
    Job {
        id: id.into(),
        namespace: "default".into(),
        job_type: "batch".into(),
        submit_time: T0,
        periodic: Some(PeriodicConfig {
            enabled: true,
            specs: vec![cron.into()],
            spec_type: "cron".into(),
            prohibit_overlap,
            time_zone: "UTC".into(),
            ..PeriodicConfig::default()
        }),
        ..Job::default()
    }
}

fn key(id: &str) -> JobKey {
    ("default".into(), id.into())
}

fn record(view: &mut StateView, id: &str, launch: i64) {
    view.periodic_launches.insert(
        key(id),
        PeriodicLaunch {
            id: id.into(),
            namespace: "default".into(),
            launch,
            ..PeriodicLaunch::default()
        },
    );
}

#[test]
fn nothing_is_due_before_the_first_scheduled_time() {
    let mut view = StateView::default();
    view.put_job(Arc::new(periodic("report", "* * * * *", false)));
    let tick = Dispatcher::default().tick(&view, T0 + 30 * SEC);
    assert!(tick.launches.is_empty());
    assert_eq!(tick.next_wake, Some(T0 + 60 * SEC));
}

#[test]
fn due_job_launches_at_its_scheduled_time_and_wakes_for_the_next() {
    let mut view = StateView::default();
    view.put_job(Arc::new(periodic("report", "*/10 * * * * *", false)));
    let tick = Dispatcher::default().tick(&view, T0 + 12 * SEC);
    assert_eq!(
        tick.launches,
        [Launch {
            key: key("report"),
            launch: T0 + 10 * SEC
        }]
    );
    assert_eq!(tick.next_wake, Some(T0 + 20 * SEC));
}

#[test]
fn recorded_launch_is_not_repeated_by_a_new_leader() {
    let mut view = StateView::default();
    view.put_job(Arc::new(periodic("report", "*/10 * * * * *", false)));
    record(&mut view, "report", T0 + 10 * SEC);
    // A fresh dispatcher (a new leader) at the same moment launches nothing.
    let tick = Dispatcher::default().tick(&view, T0 + 12 * SEC);
    assert!(tick.launches.is_empty());
    assert_eq!(tick.next_wake, Some(T0 + 20 * SEC));
}

#[test]
fn missed_launches_collapse_into_the_latest_one() {
    let mut view = StateView::default();
    view.put_job(Arc::new(periodic("report", "* * * * *", false)));
    let tick = Dispatcher::default().tick(&view, T0 + 3600 * SEC + 5 * SEC);
    assert_eq!(tick.launches.len(), 1);
    assert_eq!(tick.launches[0].launch, T0 + 3600 * SEC);
}

#[test]
fn prohibit_overlap_skips_while_a_child_is_alive() {
    let mut view = StateView::default();
    let parent = periodic("report", "*/10 * * * * *", true);
    let mut child = derive_child(&parent, T0);
    child.status = JOB_STATUS_RUNNING.into();
    view.put_job(Arc::new(parent.clone()));
    view.put_job(Arc::new(child.clone()));
    let mut d = Dispatcher::default();
    let tick = d.tick(&view, T0 + 12 * SEC);
    assert!(tick.launches.is_empty(), "a child still runs");
    assert_eq!(tick.next_wake, Some(T0 + 20 * SEC));
    // The child finishes: the skipped launch is not made up, the next one runs.
    child.status = JOB_STATUS_DEAD.into();
    view.put_job(Arc::new(child));
    assert!(d.tick(&view, T0 + 15 * SEC).launches.is_empty());
    let tick = d.tick(&view, T0 + 21 * SEC);
    assert_eq!(tick.launches[0].launch, T0 + 20 * SEC);
}

#[test]
fn disabled_stopped_and_child_jobs_are_ignored() {
    let mut view = StateView::default();
    let mut disabled = periodic("off", "* * * * * *", false);
    disabled.periodic.as_mut().unwrap().enabled = false;
    let mut stopped = periodic("stopped", "* * * * * *", false);
    stopped.stop = true;
    view.put_job(Arc::new(disabled));
    view.put_job(Arc::new(stopped));
    let tick = Dispatcher::default().tick(&view, T0 + 5 * SEC);
    assert_eq!(tick, Tick::default());
}

#[test]
fn child_is_a_copy_without_the_periodic_block() {
    let mut parent = periodic("report", "* * * * *", false);
    parent.version = 3;
    parent.status = JOB_STATUS_RUNNING.into();
    let child = derive_child(&parent, T0 + 60 * SEC + 123);
    assert_eq!(child.id, "report/periodic-1704067260");
    assert_eq!(child.name, child.id);
    assert_eq!(child.parent_id, "report");
    assert!(child.periodic.is_none() && !child.is_parent());
    assert_eq!((child.version, child.status.as_str()), (0, ""));
}
