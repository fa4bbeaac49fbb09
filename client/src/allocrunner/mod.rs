//! The alloc runner: runs one allocation's task group. It builds the allocation directory,
//! starts a task runner per task, folds their state changes into the allocation's client
//! status, kills the other tasks when one fails for good or the leader dies, stops
//! everything when the server says so, and hands every change to the updater.
//!
//! ```text
//!   watcher ── Stop / Update(alloc) ──> AllocRunner ── AllocClientUpdate ──> updater
//!                                         │   ^
//!                               kill(reason)  │ TaskUpdate (state + events)
//!                                         v   │
//!                                    TaskRunner × tasks (started when the lifecycle allows)
//! ```
//!
//! The decisions are sans-IO: status derivation and who to kill in [`AllocTracker`], when
//! each task starts (prestart, main, poststart, poststop) in [`LifecycleCoordinator`].

mod allocdir;
mod health;
mod lifecycle;
mod migrate;
mod status;
mod sticky;

pub use allocdir::AllocDir;
pub use health::HealthTracker;
pub use lifecycle::{LifecycleCoordinator, Role};
pub use status::{Action, AllocTracker, KillReason, client_status};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, AllocClientUpdate, AllocDeploymentStatus, Allocation, TASK_STATE_DEAD,
    TASK_STATE_PENDING, Task, TaskGroup, TaskState, now_ns, rfc3339,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::checks::{ServiceRunner, ServiceSync, Statuses};
use crate::taskrunner::{
    self, TaskRunnerArgs, TaskRunnerDeps, TaskRunnerHandle, TaskUpdate, events,
};
use crate::updates::Updater;

/// What every alloc runner shares.
#[derive(Debug)]
pub struct AllocRunnerDeps {
    /// `data_dir/alloc`.
    pub alloc_root: PathBuf,
    pub tasks: Arc<TaskRunnerDeps>,
    pub updater: Updater,
    /// Where service registrations (`provider = "nomad"`) go.
    pub services: ServiceSync,
}

/// Instructions from the watcher.
#[derive(Debug, Clone)]
pub enum AllocCommand {
    /// Kill every task (the server stopped the allocation, or the agent shuts down).
    Stop,
    /// The allocation changed in place (e.g. a new job version); tasks pick it up on restart.
    Update(Arc<Allocation>),
}

/// The watcher's handle on a running allocation.
#[derive(Debug)]
pub struct AllocRunnerHandle {
    commands: mpsc::UnboundedSender<AllocCommand>,
    pub join: JoinHandle<()>,
}

impl AllocRunnerHandle {
    /// Sends a command; a finished runner ignores it.
    pub fn send(&self, command: AllocCommand) {
        let _ = self.commands.send(command);
    }
}

/// Starts the runner. `restarted` says the client agent restarted while the allocation was
/// running: its tasks start again with a `Restarting` event explaining why.
pub fn spawn(
    alloc: Arc<Allocation>,
    restarted: bool,
    deps: Arc<AllocRunnerDeps>,
) -> AllocRunnerHandle {
    let (commands, rx) = mpsc::unbounded_channel();
    let join = tokio::spawn(run(alloc, restarted, deps, rx));
    AllocRunnerHandle { commands, join }
}

async fn run(
    alloc: Arc<Allocation>,
    restarted: bool,
    deps: Arc<AllocRunnerDeps>,
    commands: mpsc::UnboundedReceiver<AllocCommand>,
) {
    let state = deps.tasks.state.clone();
    state.alloc_started(&alloc.id);
    let group = alloc
        .job
        .as_ref()
        .and_then(|j| j.group(&alloc.task_group))
        .cloned();
    let dir = AllocDir::new(&deps.alloc_root, &alloc.id);
    match (group, dir) {
        (Some(group), Some(dir)) if !group.tasks.is_empty() => {
            run_group(alloc.clone(), restarted, &group, dir, &deps, commands).await;
        }
        _ => report_unrunnable(&alloc, &deps.updater),
    }
    state.alloc_finished(&alloc.id);
}

async fn run_group(
    alloc: Arc<Allocation>,
    restarted: bool,
    group: &TaskGroup,
    dir: AllocDir,
    deps: &Arc<AllocRunnerDeps>,
    commands: mpsc::UnboundedReceiver<AllocCommand>,
) {
    let leaders: BTreeSet<String> = group
        .tasks
        .iter()
        .filter(|t| t.leader)
        .map(|t| t.name.clone())
        .collect();
    let roles: BTreeMap<String, Role> = group
        .tasks
        .iter()
        .map(|t| (t.name.clone(), Role::of(t.lifecycle.as_ref())))
        .collect();
    let poststop = roles
        .iter()
        .filter(|(_, r)| **r == Role::Poststop)
        .map(|(n, _)| n.clone())
        .collect();
    let lifecycle = LifecycleCoordinator::new(roles);
    let mut tracker = AllocTracker::new(initial_states(&alloc, group, restarted), leaders)
        .with_poststop(poststop);
    report(&alloc.id, &tracker, &deps.updater, None);
    if let Err(e) = dir.build().await {
        fail_setup(
            &mut tracker,
            &format!("failed to build alloc directory: {e}"),
        );
        return report(&alloc.id, &tracker, &deps.updater, None);
    }
    migrate::take_previous_data(&alloc, group, &dir, deps, &mut tracker).await;
    let (alloc_tx, alloc_rx) = watch::channel(alloc.clone());
    let (task_tx, task_rx) = mpsc::unbounded_channel::<TaskUpdate>();
    let mut group_run = GroupRun {
        alloc_id: alloc.id.clone(),
        tracker,
        lifecycle,
        tasks: group.tasks.clone(),
        runners: BTreeMap::new(),
        spawner: Spawner {
            alloc_dir: dir,
            alloc_rx,
            deps: deps.tasks.clone(),
            updates: task_tx,
        },
        alloc_tx,
        updater: deps.updater.clone(),
        health: HealthTracker::for_alloc(&alloc, now_ns()),
        health_status: None,
        deployment_id: alloc.deployment_id.clone(),
        services: ServiceRunner::new(
            alloc.clone(),
            deps.tasks.node.clone(),
            group,
            deps.services.clone(),
            deps.tasks.controls.clone(),
        ),
    };
    group_run.apply(Vec::new());
    group_run.supervise(task_rx, commands).await;
    if let Some(services) = group_run.services.as_mut() {
        services.deregister_all().await;
    }
    for (_, runner) in std::mem::take(&mut group_run.runners) {
        let _ = runner.join.await;
    }
    group_run.report();
}

/// What starting a task runner needs.
struct Spawner {
    alloc_dir: AllocDir,
    alloc_rx: watch::Receiver<Arc<Allocation>>,
    deps: Arc<TaskRunnerDeps>,
    updates: mpsc::UnboundedSender<TaskUpdate>,
}

/// A group whose task runners are running.
struct GroupRun {
    alloc_id: String,
    tracker: AllocTracker,
    /// When each task may start, and what stops once the main tasks are done.
    lifecycle: LifecycleCoordinator,
    tasks: Vec<Task>,
    /// Runners of the tasks started so far.
    runners: BTreeMap<String, TaskRunnerHandle>,
    spawner: Spawner,
    alloc_tx: watch::Sender<Arc<Allocation>>,
    updater: Updater,
    /// Deployment health, while undecided.
    health: Option<HealthTracker>,
    /// The health verdict, sent with every later update.
    health_status: Option<AllocDeploymentStatus>,
    /// The deployment the health refers to.
    deployment_id: String,
    /// The group's `provider = "nomad"` services and their checks.
    services: Option<ServiceRunner>,
}

impl GroupRun {
    /// Folds task updates and watcher commands into the tracker until every task is dead.
    async fn supervise(
        &mut self,
        mut task_rx: mpsc::UnboundedReceiver<TaskUpdate>,
        mut commands: mpsc::UnboundedReceiver<AllocCommand>,
    ) {
        let mut commands_open = true;
        let mut checks_rx = self.services.as_ref().map(ServiceRunner::subscribe);
        while !self.tracker.all_dead() {
            let health_check = self.health.as_ref().and_then(HealthTracker::next_check);
            // `None`: nothing changed that the lifecycle or the server needs to hear of.
            let actions = tokio::select! {
                update = task_rx.recv() => match update {
                    Some(u) => {
                        let actions = self.tracker.task_updated(&u.task, u.state);
                        if let Some(services) = self.services.as_mut() {
                            services.update(self.tracker.states());
                        }
                        self.check_health();
                        Some(actions)
                    }
                    None => break,
                },
                () = sleep_until_ns(health_check.unwrap_or_default()), if health_check.is_some() => {
                    if self.check_health() {
                        self.report();
                    }
                    None
                }
                () = checks_changed(&mut checks_rx) => {
                    if self.check_health() {
                        self.report();
                    }
                    None
                }
                command = commands.recv(), if commands_open => match command {
                    Some(AllocCommand::Update(new)) => {
                        if let Some(services) = self.services.as_mut() {
                            services.alloc_updated(new.clone());
                        }
                        self.deployment_changed(&new);
                        self.alloc_tx.send_replace(new);
                        None
                    }
                    Some(AllocCommand::Stop) => {
                        self.deregister_services().await;
                        Some(self.tracker.stop())
                    }
                    None => {
                        commands_open = false;
                        self.deregister_services().await;
                        Some(self.tracker.stop())
                    }
                },
            };
            if let Some(actions) = actions {
                self.apply(actions);
            }
        }
    }

    /// Carries out kills (a task not started yet is marked killed at once), then lets the
    /// lifecycle coordinator stop what outlived the main tasks and start what may start now;
    /// repeats until nothing changes, then reports.
    fn apply(&mut self, mut actions: Vec<Action>) {
        loop {
            for Action::Kill { task, reason } in std::mem::take(&mut actions) {
                if let Some(runner) = self.runners.get(&task) {
                    runner.kill(reason);
                } else if let Some(state) = self.tracker.states().get(&task) {
                    let killed = killed_unstarted(state.clone(), &reason);
                    actions.extend(self.tracker.task_updated(&task, killed));
                }
            }
            for task in self.lifecycle.to_kill_after_main(self.tracker.states()) {
                actions.extend(self.tracker.kill(&task, KillReason::MainTasksDead));
            }
            for name in self.lifecycle.to_start(self.tracker.states()) {
                self.spawn(&name);
            }
            if actions.is_empty() {
                break;
            }
        }
        self.report();
    }

    fn spawn(&mut self, name: &str) {
        let Some(task) = self.tasks.iter().find(|t| t.name == name) else {
            return;
        };
        let handle = taskrunner::spawn(TaskRunnerArgs {
            task: task.clone(),
            alloc_dir: self.spawner.alloc_dir.clone(),
            alloc: self.spawner.alloc_rx.clone(),
            initial: self.tracker.states()[name].clone(),
            deps: self.spawner.deps.clone(),
            updates: self.spawner.updates.clone(),
        });
        self.runners.insert(name.to_string(), handle);
    }
}

/// A task killed before its runner started: dead, with the reason and `Killed` events.
fn killed_unstarted(mut state: TaskState, reason: &KillReason) -> TaskState {
    let now = now_ns();
    if let Some(event) = events::kill_reason(now, reason) {
        events::push(&mut state, event);
    }
    events::push(&mut state, events::killed(now));
    state.state = TASK_STATE_DEAD.to_string();
    state.finished_at = Some(rfc3339(now));
    state
}

impl GroupRun {
    /// Removes the services from the catalog before the tasks are killed (Nomad deregisters
    /// before `shutdown_delay`).
    async fn deregister_services(&mut self) {
        if let Some(services) = self.services.as_mut() {
            services.deregister_all().await;
        }
    }

    /// Feeds the task states (and check statuses) to the health tracker; true when a verdict
    /// was just reached.
    fn check_health(&mut self) -> bool {
        let Some(health) = self.health.as_mut() else {
            return false;
        };
        if let Some(services) = self.services.as_ref() {
            health.set_checks(services.checks_healthy());
        }
        match health.observe(self.tracker.states(), now_ns()) {
            Some(verdict) => {
                tracing::info!(alloc_id = %self.alloc_id, healthy = ?verdict.healthy, "allocation health decided");
                self.health_status = Some(verdict);
                true
            }
            None => false,
        }
    }

    /// An in-place update may move the allocation into a new deployment: health starts over.
    fn deployment_changed(&mut self, new: &Allocation) {
        if new.deployment_id == self.deployment_id {
            return;
        }
        self.deployment_id = new.deployment_id.clone();
        self.health = HealthTracker::for_alloc(new, now_ns());
        self.health_status = None;
        self.check_health();
        self.report();
    }

    fn report(&self) {
        report(
            &self.alloc_id,
            &self.tracker,
            &self.updater,
            self.health_status.clone(),
        );
    }
}

/// Resolves when the check statuses change; never when there are none (or they ended).
async fn checks_changed(rx: &mut Option<watch::Receiver<Statuses>>) {
    let Some(r) = rx.as_mut() else {
        return std::future::pending().await;
    };
    if r.changed().await.is_err() {
        *rx = None;
        std::future::pending::<()>().await;
    }
}

/// Sleeps until a Unix time in nanoseconds (at once if it passed).
async fn sleep_until_ns(at: i64) {
    let wait = u64::try_from(at.saturating_sub(now_ns())).unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_nanos(wait)).await;
}

/// Marks every task dead and failed with a `Setup Failure`.
fn fail_setup(tracker: &mut AllocTracker, msg: &str) {
    let names: Vec<String> = tracker.states().keys().cloned().collect();
    for name in names {
        let mut s = tracker.states()[&name].clone();
        events::push(&mut s, events::setup_failure(now_ns(), msg));
        s.state = TASK_STATE_DEAD.to_string();
        s.finished_at = Some(rfc3339(now_ns()));
        tracker.task_updated(&name, s);
    }
}

/// Task states to start from: fresh ones with `Received`, or after a client restart the
/// server's last known states with a `Restarting` event (finished tasks stay finished).
fn initial_states(
    alloc: &Allocation,
    group: &TaskGroup,
    restarted: bool,
) -> BTreeMap<String, TaskState> {
    let now = now_ns();
    group
        .tasks
        .iter()
        .map(|task| {
            let mut state = if restarted {
                alloc
                    .task_states
                    .get(&task.name)
                    .cloned()
                    .unwrap_or_default()
            } else {
                TaskState::default()
            };
            if state.state == TASK_STATE_DEAD && !state.failed {
                return (task.name.clone(), state);
            }
            if restarted {
                events::push(&mut state, events::client_restarted(now));
                state.restarts += 1;
                state.last_restart = Some(rfc3339(now));
            } else {
                events::push(&mut state, events::received(now));
            }
            state.state = TASK_STATE_PENDING.to_string();
            state.failed = false;
            (task.name.clone(), state)
        })
        .collect()
}

fn report(
    alloc_id: &str,
    tracker: &AllocTracker,
    updater: &Updater,
    deployment_status: Option<AllocDeploymentStatus>,
) {
    let (status, description) = tracker.client_status();
    updater.push(AllocClientUpdate {
        id: alloc_id.to_string(),
        client_status: status.to_string(),
        client_description: description.to_string(),
        task_states: tracker
            .states()
            .iter()
            .map(|(task, state)| (task.clone(), state.clone()))
            .collect(),
        deployment_status,
    });
}

/// An allocation without a job, group or tasks cannot run: report it failed.
fn report_unrunnable(alloc: &Allocation, updater: &Updater) {
    tracing::error!(alloc_id = %alloc.id, group = %alloc.task_group, "allocation has no runnable task group");
    updater.push(AllocClientUpdate {
        id: alloc.id.clone(),
        client_status: ALLOC_CLIENT_FAILED.to_string(),
        client_description: format!(
            "allocation has no runnable task group {:?} (missing job, group or tasks, or an invalid ID)",
            alloc.task_group
        ),
        task_states: Default::default(),
        deployment_status: None,
    });
}
