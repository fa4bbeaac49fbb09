//! The task runner: drives one task through its lifecycle with the driver, applying the
//! restart policy, and reports every state change to its alloc runner.
//!
//! ```text
//!            prestart (Task Setup)          start (Started)
//!  pending ─────────────────────────> start ───────────────> running
//!     ^                                 |                       |
//!     |  Restarting (delay)     Driver Failure            Terminated (exit code, signal)
//!     |                                 v                       v
//!     └──────────────────────────── restart policy <────────────┘
//!                                       |  Not Restarting       |  batch exit 0
//!                                       v                       v
//!                                  dead (failed)          dead (complete)
//!
//!  kill request (stop, sibling failed, leader dead) at any point:
//!    running -> Killing -> kill_signal to the group, SIGKILL after kill_timeout
//!            -> Terminated -> Killed -> dead
//!    pending -> Killed -> dead
//!
//!  user requests while running (published in `crate::controls`, see `operate`):
//!    alloc signal  -> Signaling -> signal sent, still running
//!    alloc restart -> Restart Signaled -> kill -> Terminated -> Restarting (0s) -> start
//!                     (the restart policy is not consulted and keeps its attempts)
//! ```
//!
//! Each step is a small hook in its own file: `prestart` builds the task directory,
//! `dispatch_payload` writes a dispatched job's payload into it,
//! `start` builds the environment and starts the driver, `exited` applies the restart
//! policy, `operate` serves users' signals and restarts, and `stop` kills the task.

mod artifacts;
mod dispatch_payload;
pub mod events;
mod exited;
mod operate;
mod prestart;
pub mod restart;
mod start;

pub use start::find_task;
mod stop;
mod templates;

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{
    Allocation, Node, TASK_STATE_DEAD, TASK_STATE_RUNNING, Task, TaskEvent, TaskState, now_ns,
    rfc3339,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::allocrunner::{AllocDir, KillReason};
use crate::controls::{COMMAND_BUFFER, TaskControls};
use crate::driver::{DriverContext, ExitResult, TaskHandle};
use crate::state::StateStore;

/// What every task runner of the client shares.
#[derive(Debug)]
pub struct TaskRunnerDeps {
    pub drivers: DriverContext,
    pub node: Arc<Node>,
    pub region: String,
    pub max_kill_timeout: Duration,
    pub state: StateStore,
    /// Where running tasks are published for `alloc exec`, `alloc signal`, `alloc restart`.
    pub controls: TaskControls,
    /// The servers, for template data (`None`: templates cannot read variables or services).
    pub servers: Option<crate::servers::ServerPool>,
}

/// A task's new state, sent to its alloc runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUpdate {
    pub task: String,
    pub state: TaskState,
}

/// Everything a task runner starts with.
#[derive(Debug)]
pub struct TaskRunnerArgs {
    pub task: Task,
    pub alloc_dir: AllocDir,
    /// The latest allocation (in-place updates replace it).
    pub alloc: watch::Receiver<Arc<Allocation>>,
    pub initial: TaskState,
    pub deps: Arc<TaskRunnerDeps>,
    pub updates: mpsc::UnboundedSender<TaskUpdate>,
}

/// The alloc runner's handle on a task runner.
#[derive(Debug)]
pub struct TaskRunnerHandle {
    kill: watch::Sender<Option<KillReason>>,
    pub join: JoinHandle<()>,
}

impl TaskRunnerHandle {
    /// Asks the task to stop; only the first reason counts.
    pub fn kill(&self, reason: KillReason) {
        self.kill.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }
}

/// Starts a task runner.
pub fn spawn(args: TaskRunnerArgs) -> TaskRunnerHandle {
    let (kill, kill_rx) = watch::channel(None);
    let alloc_id = args.alloc.borrow().id.clone();
    let runner = TaskRunner {
        name: args.task.name.clone(),
        alloc_id,
        task: args.task,
        alloc_dir: args.alloc_dir,
        alloc: args.alloc,
        state: args.initial,
        deps: args.deps,
        updates: args.updates,
        kill_rx,
        template_env: Arc::default(),
        template_rx: None,
        template_watch: None,
    };
    TaskRunnerHandle {
        kill,
        join: tokio::spawn(runner.run()),
    }
}

/// How supervising a started task ended.
enum Supervised {
    /// The task exited on its own.
    Exited(ExitResult),
    /// The task was killed on request; the runner is done.
    Killed,
    /// A user restarted the task: start it again, outside the restart policy.
    Restart,
}

/// One task's runner.
struct TaskRunner {
    name: String,
    alloc_id: String,
    task: Task,
    alloc_dir: AllocDir,
    alloc: watch::Receiver<Arc<Allocation>>,
    state: TaskState,
    deps: Arc<TaskRunnerDeps>,
    updates: mpsc::UnboundedSender<TaskUpdate>,
    kill_rx: watch::Receiver<Option<KillReason>>,
    /// Variables from `env = true` templates, refreshed by the template watcher.
    template_env: Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
    /// Actions from the template watcher (re-rendered files).
    template_rx: Option<mpsc::Receiver<crate::template::ChangeAction>>,
    template_watch: Option<templates::Watcher>,
}

impl TaskRunner {
    async fn run(mut self) {
        if let Some(reason) = self.kill_reason() {
            return stop::killed_while_idle(&mut self, reason);
        }
        if !prestart::build_task_dir(&mut self).await {
            return;
        }
        if !dispatch_payload::write_dispatch_payload(&mut self).await {
            return;
        }
        let alloc = self.alloc.borrow().clone();
        let policy = self
            .task
            .restart_policy
            .clone()
            .or_else(|| {
                alloc
                    .job
                    .as_ref()?
                    .group(&alloc.task_group)?
                    .restart_policy
                    .clone()
            })
            .unwrap_or_else(|| restart::default_policy(alloc.job_type()));
        let mut tracker = restart::RestartTracker::new(
            &policy,
            alloc.job_type(),
            self.task.lifecycle.as_ref(),
            Instant::now(),
        );
        let mut artifacts_fetched = false;
        loop {
            if !artifacts_fetched {
                match artifacts::fetch_artifacts(&mut self).await {
                    Ok(()) => artifacts_fetched = true,
                    Err(outcome) => {
                        if !exited::after_exit(&mut self, &mut tracker, outcome).await {
                            return;
                        }
                        continue;
                    }
                }
                match templates::render_templates(&mut self).await {
                    Ok(()) => {}
                    Err(outcome) => {
                        if !exited::after_exit(&mut self, &mut tracker, outcome).await {
                            return;
                        }
                        artifacts_fetched = false;
                        continue;
                    }
                }
            }
            templates::drain(&mut self.template_rx);
            let started = start::start(&mut self).await;
            start::record_start(&self.task.driver, started.is_ok());
            let outcome = match started {
                Ok(handle) => match self.supervise(handle).await {
                    Supervised::Exited(exit) => {
                        if !exit.success() {
                            start::record_failure(&self.task.driver, "exit");
                        }
                        restart::Outcome::Exited {
                            success: exit.success(),
                        }
                    }
                    Supervised::Killed => return,
                    // A user's restart does not count against the restart policy.
                    Supervised::Restart => continue,
                },
                Err(err) => start::driver_failed(&mut self, &err),
            };
            if !exited::after_exit(&mut self, &mut tracker, outcome).await {
                return;
            }
        }
    }

    /// Runs the started task until it exits, is killed, or a user restarts it; meanwhile it
    /// is published for `alloc exec`/`signal`/`restart`.
    async fn supervise(&mut self, handle: TaskHandle) -> Supervised {
        let mut template_rx = self.template_rx.take();
        let outcome = self.supervise_run(handle, &mut template_rx).await;
        self.template_rx = template_rx;
        outcome
    }

    async fn supervise_run(
        &mut self,
        mut handle: TaskHandle,
        template_rx: &mut Option<mpsc::Receiver<crate::template::ChangeAction>>,
    ) -> Supervised {
        // Only process-group drivers leave something to kill after a crash.
        let pgid = handle.pgid();
        if pgid > 0 {
            self.deps
                .state
                .task_started(&self.alloc_id, &self.name, pgid);
        }
        self.event(events::started(now_ns()));
        self.set_state(TASK_STATE_RUNNING);
        self.emit();
        let (commands, mut command_rx) = mpsc::channel(COMMAND_BUFFER);
        let _published =
            self.deps
                .controls
                .publish(&self.alloc_id, &self.name, handle.control(), commands);
        let reason = loop {
            tokio::select! {
                exit = handle.wait() => {
                    self.deps.state.task_exited(&self.alloc_id, &self.name);
                    if let Some(reason) = handle.failure_reason() {
                        self.event(events::driver_failure(now_ns(), &reason, false));
                    }
                    if handle.oom_killed() {
                        self.event(events::oom_killed(now_ns()));
                    }
                    self.event(events::terminated(now_ns(), exit));
                    return Supervised::Exited(exit);
                }
                reason = self.kill_requested() => break reason,
                Some(command) = command_rx.recv() => {
                    if let Some(outcome) = operate::handle(self, &mut handle, command).await {
                        return outcome;
                    }
                }
                action = templates::next_action(template_rx) => {
                    if let Some(outcome) = templates::on_change(self, &mut handle, action).await {
                        return outcome;
                    }
                }
            }
        };
        stop::kill_running(self, handle, reason).await;
        Supervised::Killed
    }

    /// The pending kill request, if any.
    fn kill_reason(&self) -> Option<KillReason> {
        self.kill_rx.borrow().clone()
    }

    /// Resolves when a kill is requested (or the alloc runner went away).
    async fn kill_requested(&mut self) -> KillReason {
        match self.kill_rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or(KillReason::Stop),
            Err(_) => KillReason::Stop,
        }
    }

    fn event(&mut self, event: TaskEvent) {
        events::push(&mut self.state, event);
    }

    /// Moves to `state`, stamping `StartedAt` on the first run and `FinishedAt` on death.
    fn set_state(&mut self, state: &str) {
        let now = rfc3339(now_ns());
        if state == TASK_STATE_RUNNING && self.state.started_at.is_none() {
            self.state.started_at = Some(now.clone());
        }
        if state == TASK_STATE_DEAD {
            self.state.finished_at = Some(now);
        }
        self.state.state = state.to_string();
    }

    /// Reports the current state to the alloc runner.
    fn emit(&self) {
        // The alloc runner outlives its task runners; a closed channel means shutdown.
        let _ = self.updates.send(TaskUpdate {
            task: self.name.clone(),
            state: self.state.clone(),
        });
    }
}
