//! Deployment health of one allocation, sans-IO (Nomad's `health_check = "task_states"` and
//! `"checks"`).
//!
//! ```text
//!   undecided ──every task running (and, with "checks", every check passing)
//!       │        for min_healthy_time──────────────────> healthy
//!       │  (a task leaving `running` or a check failing restarts the clock)
//!       └──a task failed, or healthy_deadline passed─────> unhealthy
//! ```
//!
//! With `health_check = "checks"` (Nomad's default) the group's `provider = "nomad"` checks
//! must pass too (see [`HealthTracker::set_checks`]); without checks it is `task_states`.
//! `"manual"` tracks nothing. Prestart tasks that are not sidecars count once they finished
//! successfully. Only allocations placed by a deployment (a `DeploymentID`) are tracked.

use std::collections::BTreeMap;

use nomadish_proto::model::{
    AllocDeploymentStatus, Allocation, TASK_STATE_DEAD, TASK_STATE_RUNNING, TaskState,
    UpdateStrategy,
};

/// `health_check` value for health set by an operator.
pub const HEALTH_CHECK_MANUAL: &str = "manual";
/// Nomad's default `healthy_deadline` (5 minutes), used when a job sent over the API left it
/// unset (zero).
pub const DEFAULT_HEALTHY_DEADLINE_NS: i64 = 5 * 60 * nomadish_proto::model::NS_PER_SEC;

/// Decides an allocation's deployment health from its task states and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTracker {
    deployment_id: String,
    min_healthy: i64,
    deadline_at: i64,
    /// Tasks that may finish (prestart and poststart, not sidecars).
    ephemeral: Vec<String>,
    /// Poststop tasks: they run after the main tasks, so health ignores them.
    poststop: Vec<String>,
    running_since: Option<i64>,
    verdict: Option<AllocDeploymentStatus>,
    /// `health_check = "checks"` and the group has checks: they must pass.
    require_checks: bool,
    /// Whether the checks pass now (as last told).
    checks_passing: bool,
}

/// `health_check` value that makes service checks count.
pub const HEALTH_CHECK_CHECKS: &str = "checks";

impl HealthTracker {
    /// A tracker for the allocation if it belongs to a deployment that wants its health,
    /// started at `now` (Unix ns).
    pub fn for_alloc(alloc: &Allocation, now: i64) -> Option<Self> {
        if alloc.deployment_id.is_empty()
            || alloc
                .deployment_status
                .as_ref()
                .is_some_and(|s| s.healthy.is_some())
        {
            return None;
        }
        let group = alloc.job.as_ref()?.group(&alloc.task_group)?;
        let update: &UpdateStrategy = group.update.as_ref()?;
        if update.health_check == HEALTH_CHECK_MANUAL {
            return None;
        }
        let role = |t: &&nomadish_proto::model::Task| {
            (
                super::Role::of(t.lifecycle.as_ref()),
                t.lifecycle.as_ref().is_some_and(|l| l.sidecar),
            )
        };
        let ephemeral = group
            .tasks
            .iter()
            .filter(|t| {
                matches!(
                    role(t),
                    (super::Role::Prestart | super::Role::Poststart, false)
                )
            })
            .map(|t| t.name.clone())
            .collect();
        let poststop = group
            .tasks
            .iter()
            .filter(|t| role(t).0 == super::Role::Poststop)
            .map(|t| t.name.clone())
            .collect();
        Some(Self {
            deployment_id: alloc.deployment_id.clone(),
            min_healthy: update.min_healthy_time,
            deadline_at: now.saturating_add(if update.healthy_deadline > 0 {
                update.healthy_deadline
            } else {
                DEFAULT_HEALTHY_DEADLINE_NS
            }),
            ephemeral,
            poststop,
            running_since: None,
            verdict: None,
            require_checks: update.health_check == HEALTH_CHECK_CHECKS && group_has_checks(group),
            checks_passing: false,
        })
    }

    /// Tells whether the allocation's service checks pass now (used with `"checks"`).
    pub fn set_checks(&mut self, passing: bool) {
        self.checks_passing = passing;
    }

    /// Whether the verdict waits for service checks.
    pub fn requires_checks(&self) -> bool {
        self.require_checks
    }

    /// The deployment this tracker decides for.
    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }

    /// The verdict, once decided.
    pub fn verdict(&self) -> Option<&AllocDeploymentStatus> {
        self.verdict.as_ref()
    }

    /// When the tracker must look again if nothing changes (Unix ns); `None` once decided.
    pub fn next_check(&self) -> Option<i64> {
        if self.verdict.is_some() {
            return None;
        }
        let healthy_at = self.running_since.map(|s| s + self.min_healthy);
        Some(healthy_at.map_or(self.deadline_at, |h| h.min(self.deadline_at)))
    }

    /// Folds the task states at `now`; returns the verdict when it is reached by this call.
    pub fn observe(
        &mut self,
        states: &BTreeMap<String, TaskState>,
        now: i64,
    ) -> Option<AllocDeploymentStatus> {
        if self.verdict.is_some() {
            return None;
        }
        let failed = states
            .values()
            .any(|s| s.state == TASK_STATE_DEAD && s.failed);
        let verdict = if failed || now >= self.deadline_at {
            Some(false)
        } else if self.all_running(states) && (!self.require_checks || self.checks_passing) {
            let since = *self.running_since.get_or_insert(now);
            (now - since >= self.min_healthy).then_some(true)
        } else {
            self.running_since = None;
            None
        };
        self.verdict = verdict.map(|healthy| AllocDeploymentStatus {
            healthy: Some(healthy),
            timestamp: now,
            ..AllocDeploymentStatus::default()
        });
        self.verdict.clone()
    }

    fn all_running(&self, states: &BTreeMap<String, TaskState>) -> bool {
        !states.is_empty()
            && states.iter().all(|(name, s)| {
                s.state == TASK_STATE_RUNNING
                    || self.poststop.contains(name)
                    || (s.state == TASK_STATE_DEAD && !s.failed && self.ephemeral.contains(name))
            })
    }
}

/// Whether the group has `provider = "nomad"` checks (group or task services).
fn group_has_checks(group: &nomadish_proto::model::TaskGroup) -> bool {
    let nomad = |s: &&nomadish_proto::model::Service| {
        s.provider == nomadish_proto::model::SERVICE_PROVIDER_NOMAD && !s.checks.is_empty()
    };
    group.services.iter().any(|s| nomad(&s))
        || group
            .tasks
            .iter()
            .flat_map(|t| &t.services)
            .any(|s| nomad(&s))
}

#[cfg(test)]
#[path = "health_checks_tests.rs"]
mod checks_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{Job, NS_PER_SEC, Task, TaskGroup, TaskLifecycle};
    use std::sync::Arc;

    const T0: i64 = 1_000 * NS_PER_SEC;

    fn alloc(health_check: &str) -> Allocation {
        let update = UpdateStrategy {
            health_check: health_check.into(),
            min_healthy_time: 2 * NS_PER_SEC,
            healthy_deadline: 10 * NS_PER_SEC,
            ..UpdateStrategy::nomad_default()
        };
        let task = |name: &str, hook: Option<&str>| Task {
            name: name.into(),
            lifecycle: hook.map(|h| TaskLifecycle {
                hook: h.into(),
                sidecar: false,
            }),
            ..Task::default()
        };
        let job = Job {
            task_groups: vec![TaskGroup {
                name: "app".into(),
                update: Some(update),
                tasks: vec![task("init", Some("prestart")), task("main", None)],
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

    fn states(init: (&str, bool), main: (&str, bool)) -> BTreeMap<String, TaskState> {
        let st = |(state, failed): (&str, bool)| TaskState {
            state: state.into(),
            failed,
            ..TaskState::default()
        };
        [
            ("init".to_string(), st(init)),
            ("main".to_string(), st(main)),
        ]
        .into_iter()
        .collect()
    }

    const RUNNING: (&str, bool) = ("running", false);
    const DONE: (&str, bool) = ("dead", false);
    const FAILED: (&str, bool) = ("dead", true);
    const PENDING: (&str, bool) = ("pending", false);

    #[test]
    fn healthy_after_min_healthy_time_of_running() {
        let mut h = HealthTracker::for_alloc(&alloc("task_states"), T0).unwrap();
        assert_eq!(h.observe(&states(PENDING, PENDING), T0), None);
        assert_eq!(h.next_check(), Some(T0 + 10 * NS_PER_SEC));
        assert_eq!(h.observe(&states(DONE, RUNNING), T0 + NS_PER_SEC), None);
        assert_eq!(h.next_check(), Some(T0 + 3 * NS_PER_SEC));
        let v = h
            .observe(&states(DONE, RUNNING), T0 + 3 * NS_PER_SEC)
            .unwrap();
        assert_eq!((v.healthy, v.timestamp), (Some(true), T0 + 3 * NS_PER_SEC));
        assert_eq!(h.next_check(), None);
        assert_eq!(h.observe(&states(DONE, FAILED), T0 + 4 * NS_PER_SEC), None);
    }

    #[test]
    fn leaving_running_restarts_the_clock() {
        let mut h = HealthTracker::for_alloc(&alloc("checks"), T0).unwrap();
        h.observe(&states(DONE, RUNNING), T0);
        h.observe(&states(DONE, PENDING), T0 + NS_PER_SEC);
        h.observe(&states(DONE, RUNNING), T0 + 2 * NS_PER_SEC);
        assert_eq!(h.observe(&states(DONE, RUNNING), T0 + 3 * NS_PER_SEC), None);
        assert!(
            h.observe(&states(DONE, RUNNING), T0 + 4 * NS_PER_SEC)
                .is_some()
        );
    }

    #[test]
    fn a_failed_task_or_the_deadline_makes_it_unhealthy() {
        let mut h = HealthTracker::for_alloc(&alloc("task_states"), T0).unwrap();
        let v = h.observe(&states(FAILED, PENDING), T0).unwrap();
        assert_eq!(v.healthy, Some(false));
        let mut h = HealthTracker::for_alloc(&alloc("task_states"), T0).unwrap();
        h.observe(&states(RUNNING, PENDING), T0);
        let v = h
            .observe(&states(RUNNING, PENDING), T0 + 10 * NS_PER_SEC)
            .unwrap();
        assert_eq!(v.healthy, Some(false));
    }

    #[test]
    fn a_poststop_task_waiting_for_main_does_not_block_health() {
        let mut a = alloc("task_states");
        let job = Arc::make_mut(a.job.as_mut().unwrap());
        job.task_groups[0].tasks.push(Task {
            name: "cleanup".into(),
            lifecycle: Some(TaskLifecycle {
                hook: "poststop".into(),
                sidecar: false,
            }),
            ..Task::default()
        });
        let mut h = HealthTracker::for_alloc(&a, T0).unwrap();
        let mut s = states(DONE, RUNNING);
        s.insert(
            "cleanup".into(),
            TaskState {
                state: "pending".into(),
                ..TaskState::default()
            },
        );
        h.observe(&s, T0);
        let v = h.observe(&s, T0 + 3 * NS_PER_SEC).unwrap();
        assert_eq!(v.healthy, Some(true));
    }

    #[test]
    fn an_unset_healthy_deadline_takes_nomads_default() {
        let mut a = alloc("task_states");
        let job = Arc::make_mut(a.job.as_mut().unwrap());
        job.task_groups[0].update.as_mut().unwrap().healthy_deadline = 0;
        let h = HealthTracker::for_alloc(&a, T0).unwrap();
        assert_eq!(h.next_check(), Some(T0 + DEFAULT_HEALTHY_DEADLINE_NS));
    }

    #[test]
    fn only_deployment_allocs_without_a_verdict_are_tracked() {
        assert!(HealthTracker::for_alloc(&alloc("manual"), T0).is_none());
        let mut a = alloc("task_states");
        a.deployment_id.clear();
        assert!(HealthTracker::for_alloc(&a, T0).is_none());
        let mut a = alloc("task_states");
        a.deployment_status = Some(AllocDeploymentStatus {
            healthy: Some(true),
            ..Default::default()
        });
        assert!(HealthTracker::for_alloc(&a, T0).is_none());
    }
}
