//! The alloc runner's decisions, sans-IO: the allocation's client status derived from its
//! task states, and which tasks to kill when a task dies or the server stops the allocation.
//!
//! ```text
//! task update ──> AllocTracker::task_updated ──> [Kill{task, SiblingFailed(name)}]  a task failed for good
//!                                            └─> [Kill{task, LeaderDead}]          the leader died
//! server stop ──> AllocTracker::stop ─────────> [Kill{task, Stop}] for every live task
//!
//! client status (Nomad's precedence): any task failed  -> failed
//!                                     any task running -> running
//!                                     any task pending -> pending
//!                                     all dead, none failed -> complete
//! ```

use std::collections::{BTreeMap, BTreeSet};

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, ALLOC_CLIENT_PENDING, ALLOC_CLIENT_RUNNING,
    TASK_STATE_DEAD, TASK_STATE_PENDING, TASK_STATE_RUNNING, TaskState,
};

/// Why a task is being killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillReason {
    /// The server stopped (or evicted) the allocation, or the agent is shutting down.
    Stop,
    /// Another task of the allocation failed for good.
    SiblingFailed(String),
    /// The group's leader task died.
    LeaderDead,
    /// Every main task of the group is dead: prestart sidecars and poststart tasks stop.
    MainTasksDead,
}

/// An instruction for the async shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Kill { task: String, reason: KillReason },
}

/// The client status and description for a set of task states.
pub fn client_status<'a, I>(states: I) -> (&'static str, &'static str)
where
    I: IntoIterator<Item = &'a TaskState>,
    I::IntoIter: Clone,
{
    let states = states.into_iter();
    let any = |f: &dyn Fn(&TaskState) -> bool| states.clone().any(f);
    if any(&|s| s.state == TASK_STATE_DEAD && s.failed) {
        (ALLOC_CLIENT_FAILED, "Failed tasks")
    } else if any(&|s| s.state == TASK_STATE_RUNNING) {
        (ALLOC_CLIENT_RUNNING, "Tasks are running")
    } else if states.clone().next().is_none()
        || any(&|s| s.state == TASK_STATE_PENDING || s.state.is_empty())
    {
        (ALLOC_CLIENT_PENDING, "No tasks have started")
    } else {
        (ALLOC_CLIENT_COMPLETE, "All tasks have completed")
    }
}

/// The task states of one allocation and the kills already requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocTracker {
    states: BTreeMap<String, TaskState>,
    leaders: BTreeSet<String>,
    kill_requested: BTreeSet<String>,
    /// Poststop tasks: never killed with the others, they run after them.
    poststop: BTreeSet<String>,
}

impl AllocTracker {
    /// A tracker over the initial task states; `leaders` names the `leader = true` tasks.
    pub fn new(states: BTreeMap<String, TaskState>, leaders: BTreeSet<String>) -> Self {
        Self {
            states,
            leaders,
            kill_requested: BTreeSet::new(),
            poststop: BTreeSet::new(),
        }
    }

    /// Exempts the `poststop` lifecycle tasks from group-wide kills.
    #[must_use]
    pub fn with_poststop(mut self, poststop: BTreeSet<String>) -> Self {
        self.poststop = poststop;
        self
    }

    /// A kill of one live task, unless one was requested already.
    pub fn kill(&mut self, task: &str, reason: KillReason) -> Option<Action> {
        let live = self
            .states
            .get(task)
            .is_some_and(|s| s.state != TASK_STATE_DEAD);
        (live && self.kill_requested.insert(task.to_string())).then(|| Action::Kill {
            task: task.to_string(),
            reason,
        })
    }

    /// The current task states.
    pub fn states(&self) -> &BTreeMap<String, TaskState> {
        &self.states
    }

    /// Records a task's new state; when it died in a way that ends the group, the other
    /// live tasks are to be killed.
    pub fn task_updated(&mut self, task: &str, state: TaskState) -> Vec<Action> {
        let dead = state.state == TASK_STATE_DEAD;
        let failed = state.failed;
        self.states.insert(task.to_string(), state);
        if !dead {
            return Vec::new();
        }
        let reason = if self.leaders.contains(task) {
            KillReason::LeaderDead
        } else if failed {
            KillReason::SiblingFailed(task.to_string())
        } else {
            return Vec::new();
        };
        self.kill_live(reason)
    }

    /// The server wants the allocation stopped: kill every live task.
    pub fn stop(&mut self) -> Vec<Action> {
        self.kill_live(KillReason::Stop)
    }

    /// Whether every task is dead.
    pub fn all_dead(&self) -> bool {
        self.states.values().all(|s| s.state == TASK_STATE_DEAD)
    }

    /// The allocation's client status and description.
    pub fn client_status(&self) -> (&'static str, &'static str) {
        client_status(self.states.values())
    }

    fn kill_live(&mut self, reason: KillReason) -> Vec<Action> {
        let live: Vec<String> = self
            .states
            .iter()
            .filter(|(name, s)| {
                s.state != TASK_STATE_DEAD
                    && !self.kill_requested.contains(*name)
                    && !self.poststop.contains(*name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        live.into_iter()
            .map(|task| {
                self.kill_requested.insert(task.clone());
                Action::Kill {
                    task,
                    reason: reason.clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: &str, failed: bool) -> TaskState {
        TaskState {
            state: state.into(),
            failed,
            ..TaskState::default()
        }
    }

    fn tracker(tasks: &[(&str, &str)], leaders: &[&str]) -> AllocTracker {
        AllocTracker::new(
            tasks
                .iter()
                .map(|(n, s)| (n.to_string(), st(s, false)))
                .collect(),
            leaders.iter().map(|s| s.to_string()).collect(),
        )
    }

    fn kill(task: &str, reason: KillReason) -> Action {
        Action::Kill {
            task: task.into(),
            reason,
        }
    }

    #[test]
    fn status_follows_nomads_precedence() {
        let states = |v: &[(&str, bool)]| -> BTreeMap<String, TaskState> {
            v.iter()
                .enumerate()
                .map(|(i, (s, f))| (i.to_string(), st(s, *f)))
                .collect()
        };
        assert_eq!(
            client_status(states(&[("pending", false)]).values()).0,
            "pending"
        );
        assert_eq!(
            client_status(states(&[("pending", false), ("running", false)]).values()).0,
            "running"
        );
        assert_eq!(
            client_status(states(&[("dead", false), ("running", false)]).values()).0,
            "running"
        );
        assert_eq!(
            client_status(states(&[("dead", false), ("dead", false)]).values()).0,
            "complete"
        );
        assert_eq!(
            client_status(states(&[("dead", true), ("running", false)]).values()).0,
            "failed"
        );
        assert_eq!(
            client_status(states(&[("dead", false), ("pending", false)]).values()).0,
            "pending"
        );
    }

    #[test]
    fn a_failed_task_kills_its_live_siblings_once() {
        let mut t = tracker(&[("a", "running"), ("b", "running"), ("c", "dead")], &[]);
        let actions = t.task_updated("a", st("dead", true));
        assert_eq!(actions, [kill("b", KillReason::SiblingFailed("a".into()))]);
        assert_eq!(t.client_status().0, "failed");
        // b dies from the kill: no further kills, everything is dead.
        assert!(t.task_updated("b", st("dead", false)).is_empty());
        assert!(t.all_dead());
        assert_eq!(t.client_status().0, "failed");
    }

    #[test]
    fn a_successful_exit_kills_nobody_but_a_leader_exit_does() {
        let mut t = tracker(
            &[("main", "running"), ("side", "running"), ("log", "running")],
            &["main"],
        );
        assert!(t.task_updated("side", st("dead", false)).is_empty());
        let actions = t.task_updated("main", st("dead", false));
        assert_eq!(actions, [kill("log", KillReason::LeaderDead)]);
        t.task_updated("log", st("dead", false));
        assert_eq!(t.client_status().0, "complete");
    }

    #[test]
    fn poststop_tasks_are_not_killed_with_the_group() {
        let mut t = tracker(&[("main", "running"), ("cleanup", "pending")], &[])
            .with_poststop(["cleanup".to_string()].into());
        assert_eq!(t.stop(), [kill("main", KillReason::Stop)]);
        assert_eq!(
            t.kill("cleanup", KillReason::MainTasksDead),
            Some(kill("cleanup", KillReason::MainTasksDead))
        );
        assert_eq!(t.kill("cleanup", KillReason::Stop), None, "only once");
    }

    #[test]
    fn restarting_tasks_are_not_dead() {
        let mut t = tracker(&[("a", "running"), ("b", "running")], &[]);
        assert!(t.task_updated("a", st("pending", false)).is_empty());
        assert!(!t.all_dead());
        assert_eq!(t.client_status().0, "running");
    }

    #[test]
    fn stop_kills_every_live_task_and_is_idempotent() {
        let mut t = tracker(&[("a", "running"), ("b", "pending"), ("c", "dead")], &[]);
        assert_eq!(
            t.stop(),
            [kill("a", KillReason::Stop), kill("b", KillReason::Stop)]
        );
        assert!(t.stop().is_empty());
        t.task_updated("a", st("dead", false));
        t.task_updated("b", st("dead", false));
        assert!(t.all_dead());
        assert_eq!(t.client_status().0, "complete");
    }
}
