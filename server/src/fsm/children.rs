//! Launching a periodic job's child: the child is registered like any job, and the launch is
//! recorded in the `periodic_launch` table in the same entry, so a new leader knows it
//! happened.

use std::collections::BTreeSet;

use nomadish_proto::model::{Evaluation, Job};

use super::ApplyError;
use super::jobs::apply_upsert_job;
use crate::state::{JobKey, PeriodicLaunch, StateView};

#[allow(clippy::too_many_arguments)]
/// Registers `child` with `eval` and records `launch` for its parent. Refused when the parent
/// is gone or stopped, and for a scheduled (not forced) launch at or before the recorded one,
/// so a launch is never repeated.
pub(super) fn apply_launch_child(
    view: &mut StateView,
    index: u64,
    child: Job,
    eval: Evaluation,
    launch: i64,
    force: bool,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) -> Result<u64, ApplyError> {
    let parent: JobKey = (child.namespace.clone(), child.parent_id.clone());
    if !view
        .jobs
        .get(&parent)
        .is_some_and(|p| p.periodic.is_some() && !p.stop)
    {
        return Err(ApplyError::NotFound {
            kind: "periodic job".to_string(),
        });
    }
    let previous = view.periodic_launches.get(&parent).cloned();
    if !force && previous.as_ref().is_some_and(|p| p.launch >= launch) {
        return Err(ApplyError::Invalid {
            reason: format!(
                "periodic job {:?} already launched at or after {launch}",
                parent.1
            ),
        });
    }
    let modify_index = apply_upsert_job(view, index, child, Some(eval), None, now, touched)?;
    let record = PeriodicLaunch {
        id: parent.1.clone(),
        namespace: parent.0.clone(),
        launch: previous.as_ref().map_or(launch, |p| p.launch.max(launch)),
        create_index: previous.as_ref().map_or(index, |p| p.create_index),
        modify_index: index,
    };
    view.periodic_launches.insert(parent, record);
    Ok(modify_index)
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::{EVAL_STATUS_COMPLETE, Evaluation, Job};

    use crate::fsm::{Command, apply};
    use crate::gc::GcBatch;
    use crate::state::{StateView, decode_snapshot, encode_snapshot, state_digest};

    fn parent(stop: bool) -> std::sync::Arc<Job> {
        std::sync::Arc::new(Job {
            id: "report".into(),
            namespace: "default".into(),
            stop,
            periodic: Some(nomadish_proto::model::PeriodicConfig::default()),
            ..Job::default()
        })
    }

    fn launch(view: &mut StateView, index: u64, at: i64, force: bool) -> bool {
        let child = Job {
            id: format!("report/periodic-{at}"),
            parent_id: "report".into(),
            namespace: "default".into(),
            job_type: "batch".into(),
            ..Job::default()
        };
        let eval = Evaluation {
            id: format!("eval-{index}"),
            namespace: "default".into(),
            job_id: child.id.clone(),
            status: EVAL_STATUS_COMPLETE.into(),
            ..Evaluation::default()
        };
        let cmd = Command::LaunchPeriodicChild {
            child: Box::new(child),
            eval,
            launch: at,
            force,
            now: at,
        };
        apply(view, index, cmd).error.is_none()
    }

    #[test]
    fn a_launch_is_recorded_and_never_repeated_unless_forced() {
        let mut view = StateView::default();
        assert!(!launch(&mut view, 1, 100, false), "no parent, no launch");
        view.put_job(parent(false));
        assert!(launch(&mut view, 1, 100, false));
        assert!(!launch(&mut view, 2, 100, false), "same launch refused");
        assert!(!launch(&mut view, 3, 90, false), "an older one too");
        assert!(launch(&mut view, 4, 95, true), "force always launches");
        assert!(launch(&mut view, 5, 110, false));
        let key = ("default".to_string(), "report".to_string());
        let rec = &view.periodic_launches[&key];
        assert_eq!(
            (rec.launch, rec.create_index, rec.modify_index),
            (110, 1, 5)
        );
        assert!(
            view.jobs
                .contains_key(&("default".into(), "report/periodic-95".into()))
        );
        assert_eq!(
            view.jobs[&("default".into(), "report/periodic-100".into())].parent_id,
            "report"
        );
    }

    #[test]
    fn launches_survive_a_snapshot_and_reach_the_digest() {
        let mut view = StateView::default();
        view.put_job(parent(false));
        let empty_digest = state_digest(&view);
        assert!(launch(&mut view, 1, 100, false));
        let decoded = decode_snapshot(&encode_snapshot(&view)).unwrap();
        assert_eq!(decoded.periodic_launches, view.periodic_launches);
        assert_eq!(state_digest(&decoded), state_digest(&view));
        let mut moved = view.clone();
        assert!(launch(&mut moved, 2, 200, false));
        assert_ne!(state_digest(&moved), state_digest(&view));
        assert_ne!(state_digest(&view), empty_digest);
    }

    #[test]
    fn gc_deletes_the_parents_launch_record_with_the_job() {
        let mut view = StateView::default();
        view.put_job(parent(false));
        assert!(launch(&mut view, 1, 100, false));
        view.put_job(parent(true));
        assert!(
            !launch(&mut view, 2, 200, true),
            "a stopped job launches nothing"
        );
        let batch = GcBatch {
            evals: vec!["eval-1".into()],
            jobs: vec![
                ("default".into(), "report".into()),
                ("default".into(), "report/periodic-100".into()),
            ],
            ..GcBatch::default()
        };
        apply(&mut view, 2, Command::GarbageCollect { batch });
        assert!(view.jobs.is_empty() && view.evals.is_empty());
        assert!(view.periodic_launches.is_empty());
        assert_eq!(view.tables.jobs, 2);
    }
}
