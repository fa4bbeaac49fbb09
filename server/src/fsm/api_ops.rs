//! Applying the commands of the extra v1 endpoints (issue 8): a job version's `Stable` flag,
//! node purge, allocation health set by hand, and the autopilot configuration.

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::model::{
    AllocClientUpdate, AllocDeploymentStatus, AutopilotConfiguration, Job,
};

use super::ApplyError;
use crate::state::{JobKey, StateView};

/// Sets or clears the `Stable` flag of one tracked job version (and of the current job when
/// it is that version).
pub(super) fn apply_job_stability(
    view: &mut StateView,
    index: u64,
    (namespace, job_id): (&str, &str),
    version: u64,
    stable: bool,
) -> Result<(), ApplyError> {
    let key = (namespace.to_string(), job_id.to_string(), version);
    let Some(tracked) = view.job_versions.get(&key).cloned() else {
        return Err(ApplyError::NotFound {
            kind: "job version".to_string(),
        });
    };
    let mut job = Job::clone(&tracked);
    job.stable = stable;
    view.job_versions.insert(key, Arc::new(job));
    let job_key = (namespace.to_string(), job_id.to_string());
    if let Some(current) = view.jobs.get(&job_key).cloned()
        && current.version == version
    {
        let mut job = Job::clone(&current);
        job.stable = stable;
        job.modify_index = index;
        view.update_job(Arc::new(job));
    }
    view.tables.jobs = index;
    Ok(())
}

/// Removes a node (`node purge`). Its allocations stay: the evaluations written with this
/// command find them on a node that no longer exists and replace them as lost.
pub(super) fn apply_deregister_node(
    view: &mut StateView,
    index: u64,
    node_id: &str,
) -> Result<(), ApplyError> {
    if !view.nodes.contains_key(node_id) {
        return Err(ApplyError::NotFound {
            kind: "node".to_string(),
        });
    }
    view.remove_node(node_id);
    view.tables.nodes = index;
    view.capacity_index = index;
    Ok(())
}

/// Records health verdicts set by an operator for allocations of one deployment, counted in
/// the deployment as a client's first verdict would be.
pub(super) fn apply_alloc_health(
    view: &mut StateView,
    index: u64,
    deployment_id: &str,
    verdicts: &[(String, bool)],
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) -> Result<(), ApplyError> {
    if !view.deployments.contains_key(deployment_id) {
        return Err(ApplyError::NotFound {
            kind: "deployment".to_string(),
        });
    }
    for (id, _) in verdicts {
        if view
            .allocs
            .get(id)
            .is_none_or(|a| a.deployment_id != deployment_id)
        {
            return Err(ApplyError::Rejected {
                reason: format!("Allocation {id:?} is not part of deployment"),
            });
        }
    }
    for (id, healthy) in verdicts {
        let Some(existing) = view.allocs.get(id).cloned() else {
            continue;
        };
        let mut alloc = nomadish_proto::model::Allocation::clone(&existing);
        let update = AllocClientUpdate {
            id: id.clone(),
            deployment_status: Some(AllocDeploymentStatus {
                healthy: Some(*healthy),
                timestamp: now,
                ..AllocDeploymentStatus::default()
            }),
            ..AllocClientUpdate::default()
        };
        super::deployments::apply_alloc_health(view, index, &mut alloc, &update, now);
        alloc.modify_index = index;
        alloc.modify_time = now;
        touched.insert((alloc.namespace.clone(), alloc.job_id.clone()));
        view.put_alloc(Arc::new(alloc));
    }
    view.tables.allocs = index;
    Ok(())
}

/// Replaces the autopilot configuration; with `cas_index`, only if the stored one's
/// `ModifyIndex` equals it (0 when none was set).
pub(super) fn apply_autopilot_config(
    view: &mut StateView,
    index: u64,
    mut config: AutopilotConfiguration,
    cas_index: Option<u64>,
) -> Result<(), ApplyError> {
    let current = view.autopilot_config.as_deref();
    let actual = current.map_or(0, |c| c.modify_index);
    if let Some(expected) = cas_index
        && expected != actual
    {
        return Err(ApplyError::CasMismatch { expected, actual });
    }
    config.create_index = current.map_or(index, |c| c.create_index);
    config.modify_index = index;
    view.autopilot_config = Some(Arc::new(config));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(version: u64) -> Arc<Job> {
        Arc::new(Job {
            id: "web".into(),
            namespace: "default".into(),
            version,
            ..Job::default()
        })
    }

    #[test]
    fn stability_changes_the_tracked_version_and_the_current_job_only_if_current() {
        let mut view = StateView::default();
        for v in [0, 1] {
            view.job_versions
                .insert(("default".into(), "web".into(), v), job(v));
        }
        view.jobs.insert(("default".into(), "web".into()), job(1));
        apply_job_stability(&mut view, 7, ("default", "web"), 0, true).unwrap();
        assert!(view.job_versions[&("default".into(), "web".into(), 0)].stable);
        assert!(!view.jobs[&("default".into(), "web".into())].stable);
        apply_job_stability(&mut view, 8, ("default", "web"), 1, true).unwrap();
        assert!(view.jobs[&("default".into(), "web".into())].stable);
        let missing = apply_job_stability(&mut view, 9, ("default", "web"), 5, true);
        assert!(matches!(missing, Err(ApplyError::NotFound { .. })));
    }

    #[test]
    fn purge_removes_only_a_known_node() {
        let mut view = StateView::default();
        view.nodes.insert(
            "n1".into(),
            Arc::new(nomadish_proto::model::Node {
                id: "n1".into(),
                ..Default::default()
            }),
        );
        apply_deregister_node(&mut view, 5, "n1").unwrap();
        assert!(view.nodes.is_empty());
        assert_eq!(view.tables.nodes, 5);
        let again = apply_deregister_node(&mut view, 6, "n1");
        assert!(matches!(again, Err(ApplyError::NotFound { .. })));
    }

    #[test]
    fn manual_health_refuses_allocations_of_another_deployment() {
        use nomadish_proto::model::{Allocation, Deployment};
        let mut view = StateView::default();
        view.put_deployment(Arc::new(Deployment {
            id: "d1".into(),
            ..Default::default()
        }));
        for (id, dep) in [("a1", "d1"), ("a2", "d2")] {
            view.put_alloc(Arc::new(Allocation {
                id: id.into(),
                deployment_id: dep.into(),
                ..Default::default()
            }));
        }
        let mut touched = BTreeSet::new();
        let both = [("a1".to_string(), true), ("a2".to_string(), true)];
        let err = apply_alloc_health(&mut view, 7, "d1", &both, 1, &mut touched);
        assert!(matches!(err, Err(ApplyError::Rejected { .. })));
        assert!(
            view.allocs["a1"].deployment_status.is_none(),
            "nothing changed"
        );
        let one = [("a1".to_string(), false)];
        apply_alloc_health(&mut view, 8, "d1", &one, 1, &mut touched).unwrap();
        let status = view.allocs["a1"].deployment_status.clone().unwrap();
        assert_eq!(status.healthy, Some(false));
        assert_eq!(view.allocs["a1"].modify_index, 8);
    }

    #[test]
    fn autopilot_cas_mismatch_changes_nothing() {
        let mut view = StateView::default();
        let cfg = AutopilotConfiguration::default();
        apply_autopilot_config(&mut view, 3, cfg.clone(), Some(0)).unwrap();
        assert_eq!(view.autopilot_config.as_ref().unwrap().modify_index, 3);
        let err = apply_autopilot_config(&mut view, 4, cfg, Some(1));
        assert!(matches!(
            err,
            Err(ApplyError::CasMismatch { actual: 3, .. })
        ));
    }
}
