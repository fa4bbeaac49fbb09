//! Services and checks of one allocation (`provider = "nomad"`): registers each task's
//! services while the task runs (the group's while any task runs), deregisters them before
//! tasks are killed, and runs their `http`, `tcp` and `script` checks every `interval`.
//!
//! ```text
//!   alloc runner ── task states ──> ServiceRunner ── registrations ──> ServiceSync ──> servers
//!                                        │ per registered check: loop { probe; record }
//!                                        ├──> statuses (watch) ──> deployment health
//!                                        └──> check_restart ──> TaskCommand::Restart
//! ```
//!
//! The status logic is sans-IO in [`status`]; probes are in [`probe`].

pub mod probe;
pub mod registrations;
pub mod status;
pub mod sync;
mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{
    Allocation, Node, Service, ServiceCheck, ServiceRegistration, TASK_STATE_RUNNING, TaskGroup,
    TaskState, now_ns,
};
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::controls::{TaskCommand, TaskControls};
use probe::Target;
use registrations::{Owner, registrations, resolve};
use status::{CheckState, RestartWatch, check_healthy};
pub use sync::ServiceSync;

/// One check's latest state, as `GET /v1/client/allocation/:id/checks` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckEntry {
    #[serde(rename = "Check")]
    pub check: String,
    #[serde(rename = "Service")]
    pub service: String,
    /// The task whose service it is; empty for group services.
    #[serde(rename = "Task")]
    pub task: String,
    #[serde(rename = "OnUpdate")]
    pub on_update: String,
    #[serde(flatten)]
    pub state: CheckState,
}

/// Check statuses of an allocation by check ID.
pub type Statuses = BTreeMap<String, CheckEntry>;

/// The services of one allocation.
pub struct ServiceRunner {
    alloc: Arc<Allocation>,
    node: Arc<Node>,
    group: TaskGroup,
    sync: ServiceSync,
    controls: TaskControls,
    http: reqwest::Client,
    /// For checks with `tls_skip_verify`.
    http_insecure: reqwest::Client,
    /// Registered owners and their check loops.
    active: BTreeMap<Owner, Vec<JoinHandle<()>>>,
    registered: Vec<ServiceRegistration>,
    statuses: watch::Sender<Statuses>,
}

impl ServiceRunner {
    /// A runner when the group has `provider = "nomad"` services, else `None`.
    pub fn new(
        alloc: Arc<Allocation>,
        node: Arc<Node>,
        group: &TaskGroup,
        sync: ServiceSync,
        controls: TaskControls,
    ) -> Option<Self> {
        let any = !Owner::Group.services(group).is_empty()
            || group
                .tasks
                .iter()
                .any(|t| !Owner::Task(t.name.clone()).services(group).is_empty());
        if !any {
            return None;
        }
        let statuses = watch::channel(Statuses::new()).0;
        controls.publish_checks(&alloc.id, statuses.subscribe());
        Some(Self {
            alloc,
            node,
            group: group.clone(),
            sync,
            controls,
            http: probe::http_client(false),
            http_insecure: probe::http_client(true),
            active: BTreeMap::new(),
            registered: Vec::new(),
            statuses,
        })
    }

    /// Check statuses, updated as probes finish.
    pub fn subscribe(&self) -> watch::Receiver<Statuses> {
        self.statuses.subscribe()
    }

    /// Whether every check that counts for deployments (per its `on_update`) is healthy.
    /// Checks of services not registered (their task is not running) are not healthy.
    pub fn checks_healthy(&self) -> bool {
        let statuses = self.statuses.borrow();
        self.all_checks().all(|(id, _, check)| {
            check.on_update == "ignore"
                || statuses.get(&id).is_some_and(|e| {
                    e.state.timestamp > 0 && check_healthy(&e.on_update, e.state.status)
                })
        })
    }

    /// Whether the group has checks at all.
    pub fn has_checks(&self) -> bool {
        self.all_checks().next().is_some()
    }

    fn all_checks(&self) -> impl Iterator<Item = (String, Owner, &ServiceCheck)> + '_ {
        let owners = std::iter::once(Owner::Group)
            .chain(self.group.tasks.iter().map(|t| Owner::Task(t.name.clone())));
        owners.flat_map(move |owner| {
            owner
                .services(&self.group)
                .into_iter()
                .flat_map(|s| s.checks.iter().enumerate().map(move |(i, c)| (s, i, c)))
                .map(|(s, i, c)| (check_id(&self.group.name, &owner, s, i), owner.clone(), c))
                .collect::<Vec<_>>()
        })
    }

    /// Registers the services of owners that run now and deregisters the others.
    pub fn update(&mut self, states: &BTreeMap<String, TaskState>) {
        let running = |t: &str| states.get(t).is_some_and(|s| s.state == TASK_STATE_RUNNING);
        let mut wanted: Vec<Owner> = self
            .group
            .tasks
            .iter()
            .filter(|t| running(&t.name))
            .map(|t| Owner::Task(t.name.clone()))
            .collect();
        if !wanted.is_empty() {
            wanted.push(Owner::Group);
        }
        wanted.retain(|o| !o.services(&self.group).is_empty());
        let gone: Vec<Owner> = self
            .active
            .keys()
            .filter(|o| !wanted.contains(o))
            .cloned()
            .collect();
        for owner in gone {
            self.stop_owner(&owner);
        }
        for owner in wanted {
            if !self.active.contains_key(&owner) {
                let loops = self.start_checks(&owner);
                self.active.insert(owner, loops);
            }
        }
        self.push();
    }

    /// An in-place update (a promoted canary, changed services or checks): registrations are
    /// recomputed and the checks of changed services start over.
    pub fn alloc_updated(&mut self, alloc: Arc<Allocation>) {
        let group = alloc
            .job
            .as_ref()
            .and_then(|j| j.group(&alloc.task_group))
            .cloned();
        self.alloc = alloc;
        if let Some(group) = group.filter(|g| !same_services(g, &self.group)) {
            let owners: Vec<Owner> = self.active.keys().cloned().collect();
            for owner in &owners {
                self.stop_owner(owner);
            }
            self.group = group;
            for owner in owners {
                if !owner.services(&self.group).is_empty() {
                    let loops = self.start_checks(&owner);
                    self.active.insert(owner, loops);
                }
            }
        }
        self.push();
    }

    /// Deregisters everything now (before tasks are killed) and stops the checks.
    pub async fn deregister_all(&mut self) {
        let owners: Vec<Owner> = self.active.keys().cloned().collect();
        for owner in owners {
            self.stop_owner(&owner);
        }
        if !self.registered.is_empty() {
            self.registered.clear();
            self.sync.send_now(&self.alloc.id, Vec::new()).await;
        }
    }

    fn push(&mut self) {
        let regs: Vec<ServiceRegistration> = self
            .active
            .keys()
            .flat_map(|o| registrations(&self.alloc, &self.node, &self.group, o))
            .collect();
        if regs != self.registered {
            self.registered = regs.clone();
            self.sync.push(&self.alloc.id, regs);
        }
    }

    fn stop_owner(&mut self, owner: &Owner) {
        for handle in self.active.remove(owner).unwrap_or_default() {
            handle.abort();
        }
        let prefix = format!("{}/", owner.id_part(&self.group.name));
        self.statuses.send_if_modified(|s| {
            let before = s.len();
            s.retain(|id, _| !id.starts_with(&prefix));
            s.len() != before
        });
    }

    fn start_checks(&self, owner: &Owner) -> Vec<JoinHandle<()>> {
        let mut loops = Vec::new();
        for service in owner.services(&self.group) {
            for (i, check) in service.checks.iter().enumerate() {
                let ctx = self.check_context(owner, service, i, check);
                loops.push(tokio::spawn(check_loop(ctx)));
            }
        }
        loops
    }

    fn check_context(
        &self,
        owner: &Owner,
        s: &Service,
        i: usize,
        check: &ServiceCheck,
    ) -> CheckContext {
        let label = if check.port_label.is_empty() {
            &s.port_label
        } else {
            &check.port_label
        };
        let (address, port) = resolve(&self.alloc, &self.node, &s.address, label);
        let task = match owner {
            Owner::Task(t) => t.clone(),
            Owner::Group if !check.task_name.is_empty() => check.task_name.clone(),
            Owner::Group => s.task_name.clone(),
        };
        let name = if check.name.is_empty() {
            format!("service: {:?} check", s.name)
        } else {
            check.name.clone()
        };
        CheckContext {
            id: check_id(&self.group.name, owner, s, i),
            entry: CheckEntry {
                check: name,
                service: s.name.clone(),
                task: match owner {
                    Owner::Task(t) => t.clone(),
                    Owner::Group => String::new(),
                },
                on_update: check.on_update.clone(),
                state: CheckState::new(check),
            },
            check: check.clone(),
            address,
            port,
            alloc_id: self.alloc.id.clone(),
            task,
            controls: self.controls.clone(),
            http: if check.tls_skip_verify {
                self.http_insecure.clone()
            } else {
                self.http.clone()
            },
            statuses: self.statuses.clone(),
        }
    }
}

impl Drop for ServiceRunner {
    fn drop(&mut self) {
        self.controls.withdraw_checks(&self.alloc.id);
        for handle in self.active.values().flatten() {
            handle.abort();
        }
    }
}

/// Whether two versions of a group have the same services (group and task level).
fn same_services(a: &TaskGroup, b: &TaskGroup) -> bool {
    let task_services = |g: &TaskGroup| -> Vec<(String, Vec<Service>)> {
        g.tasks
            .iter()
            .map(|t| (t.name.clone(), t.services.clone()))
            .collect()
    };
    a.services == b.services && task_services(a) == task_services(b)
}

/// `<task | group-<group>>/<service>/<index>`: unique within the allocation.
fn check_id(group: &str, owner: &Owner, s: &Service, index: usize) -> String {
    format!("{}/{}/{index}", owner.id_part(group), s.name)
}

/// What one check loop needs.
struct CheckContext {
    id: String,
    entry: CheckEntry,
    check: ServiceCheck,
    address: String,
    port: u16,
    alloc_id: String,
    /// The task a script runs in and `check_restart` restarts (may be empty for group checks).
    task: String,
    controls: TaskControls,
    http: reqwest::Client,
    statuses: watch::Sender<Statuses>,
}

/// Probes every `interval` (the first at once), records the status, and restarts the task
/// when `check_restart` says so.
async fn check_loop(mut ctx: CheckContext) {
    let interval = Duration::from_nanos(u64::try_from(ctx.check.interval).unwrap_or(0).max(1));
    let mut restart = RestartWatch::new(ctx.check.check_restart.as_ref(), now_ns());
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let target = Target {
            address: ctx.address.clone(),
            port: ctx.port,
            task: ctx
                .controls
                .get(&ctx.alloc_id, &ctx.task)
                .map(|t| t.control),
        };
        let (status, output) = probe::probe(&ctx.check, &target, &ctx.http).await;
        let now = now_ns();
        ctx.entry.state.record(status, output, now);
        let entry = ctx.entry.clone();
        ctx.statuses.send_modify(|s| {
            s.insert(ctx.id.clone(), entry);
        });
        if restart
            .as_mut()
            .is_some_and(|w| w.observe(ctx.entry.state.status, now))
        {
            restart_task(&ctx).await;
        }
    }
}

async fn restart_task(ctx: &CheckContext) {
    let Some(task) = ctx.controls.get(&ctx.alloc_id, &ctx.task) else {
        tracing::warn!(alloc_id = %ctx.alloc_id, check = %ctx.entry.check, "check_restart: no running task to restart");
        return;
    };
    tracing::info!(alloc_id = %ctx.alloc_id, task = %ctx.task, check = %ctx.entry.check, "check unhealthy; restarting task");
    let (reply, done) = oneshot::channel();
    if task
        .commands
        .send(TaskCommand::Restart { reply })
        .await
        .is_ok()
    {
        let _ = done.await;
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
