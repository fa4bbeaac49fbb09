//! The alloc manager: owns the alloc runners and applies the watcher's plan to them
//! (start, update, stop, drop), remembers finished allocations for log streaming, and at
//! shutdown stops every runner and waits for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nomadish_proto::model::{AllocClientUpdate, Allocation, TASK_STATE_DEAD, now_ns, rfc3339};
use tokio::task::JoinSet;

use crate::allocrunner::{
    self, AllocCommand, AllocDir, AllocRunnerDeps, AllocRunnerHandle, client_status,
};
use crate::registry::AllocRegistry;
use crate::taskrunner::events;
use crate::watcher::plan::{Known, WatchAction, plan};

/// The gauge of allocations with a live runner, set at each update from the servers.
pub const ALLOCATIONS_RUNNING: &str = "nomad.client.allocations.running";

/// Runs the allocations the server assigns to this node.
#[derive(Debug)]
pub struct AllocManager {
    deps: Arc<AllocRunnerDeps>,
    registry: AllocRegistry,
    recovered: BTreeSet<String>,
    entries: BTreeMap<String, Entry>,
    background: JoinSet<()>,
}

#[derive(Debug)]
struct Entry {
    known: Known,
    runner: Option<AllocRunnerHandle>,
}

impl AllocManager {
    /// A manager with no allocations yet; `recovered` lists allocations that were running
    /// when the client last stopped.
    pub fn new(
        deps: Arc<AllocRunnerDeps>,
        registry: AllocRegistry,
        recovered: BTreeSet<String>,
    ) -> Self {
        Self {
            deps,
            registry,
            recovered,
            entries: BTreeMap::new(),
            background: JoinSet::new(),
        }
    }

    /// Applies one update from the server: the changed allocations and every ID it has.
    pub fn handle(&mut self, changed: Vec<Allocation>, all_ids: &[String]) {
        while self.background.try_join_next().is_some() {}
        let known: BTreeMap<String, Known> = self
            .entries
            .iter()
            .map(|(id, e)| (id.clone(), e.known))
            .collect();
        for action in plan(&known, changed, all_ids, &self.recovered) {
            self.apply(action);
        }
        nomadish_metrics::set_gauge(ALLOCATIONS_RUNNING, &[], self.running() as f64);
    }

    /// How many allocations have a runner that has not finished.
    pub fn running(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.runner.as_ref().is_some_and(|r| !r.join.is_finished()))
            .count()
    }

    fn apply(&mut self, action: WatchAction) {
        match action {
            WatchAction::Start { alloc, restarted } => {
                tracing::info!(alloc_id = %alloc.id, restarted, "starting allocation");
                self.registry.insert(alloc.clone());
                let runner = allocrunner::spawn(alloc.clone(), restarted, self.deps.clone());
                self.remember(&alloc, Some(runner));
            }
            WatchAction::Update(alloc) => {
                self.registry.insert(alloc.clone());
                if let Some(entry) = self.entries.get_mut(&alloc.id) {
                    entry.known = Known::of(&alloc);
                    if let Some(runner) = &entry.runner {
                        runner.send(AllocCommand::Update(alloc));
                    }
                }
            }
            WatchAction::Stop(id) => {
                tracing::info!(alloc_id = %id, "stopping allocation");
                if let Some(runner) = self.entries.get(&id).and_then(|e| e.runner.as_ref()) {
                    runner.send(AllocCommand::Stop);
                }
            }
            WatchAction::Drop(id) => self.drop_alloc(&id),
            WatchAction::Track(alloc) => {
                self.registry.insert(alloc.clone());
                self.remember(&alloc, None);
            }
            WatchAction::ReportStopped(alloc) => {
                self.report_stopped(&alloc);
                self.registry.insert(alloc.clone());
                self.remember(&alloc, None);
            }
        }
    }

    fn remember(&mut self, alloc: &Allocation, runner: Option<AllocRunnerHandle>) {
        let entry = Entry {
            known: Known::of(alloc),
            runner,
        };
        self.entries.insert(alloc.id.clone(), entry);
    }

    /// Stops and forgets an allocation the server no longer has, then deletes its directory.
    fn drop_alloc(&mut self, id: &str) {
        tracing::info!(alloc_id = %id, "server forgot allocation; removing it");
        self.registry.remove(id);
        let Some(entry) = self.entries.remove(id) else {
            return;
        };
        let dir = AllocDir::new(&self.deps.alloc_root, id);
        self.background.spawn(async move {
            if let Some(runner) = entry.runner {
                runner.send(AllocCommand::Stop);
                let _ = runner.join.await;
            }
            if let Some(Err(e)) = match dir {
                Some(dir) => Some(dir.destroy().await),
                None => None,
            } {
                tracing::warn!(error = %e, "removing allocation directory failed");
            }
        });
    }

    /// The server wants an allocation stopped that does not run here (it never started, or
    /// the client restarted and killed its leftovers): report its tasks dead.
    fn report_stopped(&self, alloc: &Allocation) {
        let mut states = alloc.task_states.clone();
        let names = alloc
            .job
            .as_ref()
            .and_then(|j| j.group(&alloc.task_group))
            .map(|g| g.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
            .unwrap_or_default();
        for name in names {
            states.entry(name).or_default();
        }
        let now = now_ns();
        for state in states.values_mut().filter(|s| s.state != TASK_STATE_DEAD) {
            events::push(state, events::killed(now));
            state.state = TASK_STATE_DEAD.to_string();
            state.finished_at = Some(rfc3339(now));
        }
        let (status, description) = client_status(states.values());
        self.deps.updater.push(AllocClientUpdate {
            id: alloc.id.clone(),
            client_status: status.to_string(),
            client_description: description.to_string(),
            task_states: states,
            deployment_status: None,
        });
    }

    /// Stops every runner and waits for all of them (and pending removals) to finish.
    pub async fn shutdown(mut self) {
        let runners: Vec<AllocRunnerHandle> = self
            .entries
            .into_values()
            .filter_map(|e| e.runner)
            .collect();
        for runner in &runners {
            runner.send(AllocCommand::Stop);
        }
        for runner in runners {
            let _ = runner.join.await;
        }
        while self.background.join_next().await.is_some() {}
    }
}
