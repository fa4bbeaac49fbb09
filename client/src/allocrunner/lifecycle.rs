//! The lifecycle coordinator, sans-IO: decides when each task of a group may start and
//! which tasks to stop once the main tasks are done, following the tasks' `lifecycle` blocks.
//!
//! ```text
//!  prestart sidecars ──┐ started once
//!  prestart tasks ─────┤ finished successfully ──> main tasks ── all started ──> poststart tasks
//!                                                      │
//!                                                  all dead ──> kill prestart/poststart tasks
//!                                                           └─> start poststop tasks
//! ```
//!
//! A task that is already dead (killed before it started, or finished before a client
//! restart) is never started. A failed prestart task keeps the main tasks from starting;
//! the alloc tracker then kills them (`SiblingFailed`), which opens the poststop gate.

use std::collections::{BTreeMap, BTreeSet};

use nomadish_proto::model::{
    LIFECYCLE_HOOK_POSTSTART, LIFECYCLE_HOOK_POSTSTOP, LIFECYCLE_HOOK_PRESTART, TASK_STATE_DEAD,
    TaskLifecycle, TaskState,
};

/// A task's place in the group's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `prestart`: runs to completion before the main tasks start.
    Prestart,
    /// `prestart` with `sidecar = true`: starts first and runs alongside the main tasks.
    PrestartSidecar,
    /// No lifecycle block.
    Main,
    /// `poststart`: starts once the main tasks are running (a sidecar keeps running).
    Poststart,
    /// `poststop`: runs after the main tasks have stopped.
    Poststop,
}

impl Role {
    /// The role a `lifecycle` block gives (validation refuses unknown hooks).
    pub fn of(lifecycle: Option<&TaskLifecycle>) -> Self {
        match lifecycle.map(|l| (l.hook.as_str(), l.sidecar)) {
            Some((LIFECYCLE_HOOK_PRESTART, true)) => Self::PrestartSidecar,
            Some((LIFECYCLE_HOOK_PRESTART, false)) => Self::Prestart,
            Some((LIFECYCLE_HOOK_POSTSTART, _)) => Self::Poststart,
            Some((LIFECYCLE_HOOK_POSTSTOP, _)) => Self::Poststop,
            _ => Self::Main,
        }
    }
}

/// Which tasks have been started, and whether the main tasks' end was acted on.
#[derive(Debug, Clone)]
pub struct LifecycleCoordinator {
    roles: BTreeMap<String, Role>,
    started: BTreeSet<String>,
    main_done: bool,
}

impl LifecycleCoordinator {
    /// A coordinator over the group's tasks and their roles.
    pub fn new(roles: BTreeMap<String, Role>) -> Self {
        Self {
            roles,
            started: BTreeSet::new(),
            main_done: false,
        }
    }

    /// Whether the task is a poststop task (not killed with the others: it runs after them).
    pub fn is_poststop(&self, task: &str) -> bool {
        self.roles.get(task) == Some(&Role::Poststop)
    }

    /// Whether the task was handed to a task runner.
    pub fn is_started(&self, task: &str) -> bool {
        self.started.contains(task)
    }

    /// The tasks whose gate is open and that are neither started nor dead; they count as
    /// started from now on.
    pub fn to_start(&mut self, states: &BTreeMap<String, TaskState>) -> Vec<String> {
        let prestart_done = self.all(states, Role::Prestart, |s| {
            s.state == TASK_STATE_DEAD && !s.failed
        }) && self
            .all(states, Role::PrestartSidecar, |s| s.started_at.is_some());
        let main_started = self.all(states, Role::Main, |s| s.started_at.is_some());
        let main_dead = self.all(states, Role::Main, |s| s.state == TASK_STATE_DEAD);
        let ready: Vec<String> = self
            .roles
            .iter()
            .filter(|(name, role)| {
                let open = match role {
                    Role::Prestart | Role::PrestartSidecar => true,
                    Role::Main => prestart_done,
                    Role::Poststart => main_started && !main_dead,
                    Role::Poststop => main_dead,
                };
                open && !self.started.contains(*name)
                    && states
                        .get(*name)
                        .is_some_and(|s| s.state != TASK_STATE_DEAD)
            })
            .map(|(name, _)| name.clone())
            .collect();
        self.started.extend(ready.iter().cloned());
        ready
    }

    /// Once, when every main task is dead: the live prestart and poststart tasks, which are
    /// to be stopped (sidecars would otherwise run forever).
    pub fn to_kill_after_main(&mut self, states: &BTreeMap<String, TaskState>) -> Vec<String> {
        if self.main_done || !self.all(states, Role::Main, |s| s.state == TASK_STATE_DEAD) {
            return Vec::new();
        }
        self.main_done = true;
        self.roles
            .iter()
            .filter(|(_, role)| !matches!(role, Role::Main | Role::Poststop))
            .filter(|(name, _)| {
                states
                    .get(*name)
                    .is_some_and(|s| s.state != TASK_STATE_DEAD)
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn all(
        &self,
        states: &BTreeMap<String, TaskState>,
        role: Role,
        f: impl Fn(&TaskState) -> bool,
    ) -> bool {
        self.roles
            .iter()
            .filter(|(_, r)| **r == role)
            .all(|(name, _)| states.get(name).is_some_and(&f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{TASK_STATE_PENDING, TASK_STATE_RUNNING};

    fn lc(hook: &str, sidecar: bool) -> TaskLifecycle {
        TaskLifecycle {
            hook: hook.into(),
            sidecar,
        }
    }

    fn group() -> (LifecycleCoordinator, BTreeMap<String, TaskState>) {
        let tasks = [
            ("init", Some(lc("prestart", false))),
            ("proxy", Some(lc("prestart", true))),
            ("main", None),
            ("announce", Some(lc("poststart", false))),
            ("cleanup", Some(lc("poststop", false))),
        ];
        let roles = tasks
            .iter()
            .map(|(n, l)| (n.to_string(), Role::of(l.as_ref())))
            .collect();
        let states = tasks
            .iter()
            .map(|(n, _)| (n.to_string(), st(TASK_STATE_PENDING, false, false)))
            .collect();
        (LifecycleCoordinator::new(roles), states)
    }

    fn st(state: &str, failed: bool, started: bool) -> TaskState {
        TaskState {
            state: state.into(),
            failed,
            started_at: started.then(|| "2026-01-01T00:00:00Z".to_string()),
            ..TaskState::default()
        }
    }

    fn set(states: &mut BTreeMap<String, TaskState>, task: &str, s: TaskState) {
        states.insert(task.into(), s);
    }

    #[test]
    fn roles_follow_the_hook_and_sidecar() {
        assert_eq!(Role::of(None), Role::Main);
        assert_eq!(Role::of(Some(&lc("prestart", false))), Role::Prestart);
        assert_eq!(Role::of(Some(&lc("prestart", true))), Role::PrestartSidecar);
        assert_eq!(Role::of(Some(&lc("poststart", true))), Role::Poststart);
        assert_eq!(Role::of(Some(&lc("poststop", false))), Role::Poststop);
    }

    #[test]
    fn tasks_start_in_nomads_order() {
        let (mut c, mut states) = group();
        assert_eq!(c.to_start(&states), ["init", "proxy"]);
        assert!(c.to_start(&states).is_empty(), "started only once");
        // The sidecar runs, but the prestart task has not finished: main waits.
        set(&mut states, "proxy", st(TASK_STATE_RUNNING, false, true));
        set(&mut states, "init", st(TASK_STATE_RUNNING, false, true));
        assert!(c.to_start(&states).is_empty());
        set(&mut states, "init", st(TASK_STATE_DEAD, false, true));
        assert_eq!(c.to_start(&states), ["main"]);
        // Poststart waits for the main task to run; poststop for it to stop.
        assert!(c.to_start(&states).is_empty());
        set(&mut states, "main", st(TASK_STATE_RUNNING, false, true));
        assert_eq!(c.to_start(&states), ["announce"]);
        assert!(c.to_kill_after_main(&states).is_empty());
        set(&mut states, "announce", st(TASK_STATE_DEAD, false, true));
        set(&mut states, "main", st(TASK_STATE_DEAD, false, true));
        assert_eq!(c.to_kill_after_main(&states), ["proxy"]);
        assert!(c.to_kill_after_main(&states).is_empty(), "only once");
        assert_eq!(c.to_start(&states), ["cleanup"]);
        assert!(c.is_poststop("cleanup") && c.is_started("cleanup"));
    }

    #[test]
    fn a_sidecar_must_have_started_before_main() {
        let (mut c, mut states) = group();
        c.to_start(&states);
        set(&mut states, "init", st(TASK_STATE_DEAD, false, true));
        assert!(c.to_start(&states).is_empty());
        set(&mut states, "proxy", st(TASK_STATE_RUNNING, false, true));
        assert_eq!(c.to_start(&states), ["main"]);
    }

    #[test]
    fn a_failed_prestart_blocks_main_and_killed_main_opens_poststop() {
        let (mut c, mut states) = group();
        c.to_start(&states);
        set(&mut states, "proxy", st(TASK_STATE_RUNNING, false, true));
        set(&mut states, "init", st(TASK_STATE_DEAD, true, true));
        assert!(c.to_start(&states).is_empty(), "main must not start");
        // The alloc tracker kills the unstarted main task (sibling failed).
        set(&mut states, "main", st(TASK_STATE_DEAD, false, false));
        // The sidecar stops; the poststart task that never started is killed too.
        assert_eq!(c.to_kill_after_main(&states), ["announce", "proxy"]);
        set(&mut states, "announce", st(TASK_STATE_DEAD, false, false));
        assert_eq!(c.to_start(&states), ["cleanup"], "dead tasks never start");
    }

    #[test]
    fn a_group_without_lifecycle_starts_everything_at_once() {
        let roles = [("a", Role::Main), ("b", Role::Main)]
            .iter()
            .map(|(n, r)| (n.to_string(), *r))
            .collect();
        let mut c = LifecycleCoordinator::new(roles);
        let states = ["a", "b"]
            .iter()
            .map(|n| (n.to_string(), st(TASK_STATE_PENDING, false, false)))
            .collect();
        assert_eq!(c.to_start(&states), ["a", "b"]);
    }
}
