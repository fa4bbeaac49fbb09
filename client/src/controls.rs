//! The running tasks of this client that can be operated on from outside (`alloc exec`,
//! `alloc signal`, `alloc restart`): each task runner publishes its task here while the task
//! runs and withdraws it when the task exits; the tunnel finds tasks here.
//!
//! ```text
//!   task runner ──publish(alloc, task, control, commands)──> TaskControls <── tunnel
//!      ^  supervise loop receives TaskCommand                  exec: control.exec(...)
//!      └───────────── Signal / Restart (with a reply) ──────── signal, restart
//! ```
//!
//! Signal and restart go through the task runner (it records the `Signaling` and
//! `Restart Signaled` events and owns the handle); exec uses the driver's [`TaskControl`]
//! directly, so it runs beside the task runner.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use nix::sys::signal::Signal;
use tokio::sync::{mpsc, oneshot, watch};

use crate::checks::Statuses;
use crate::driver::TaskControl;

/// Commands buffered per running task.
pub const COMMAND_BUFFER: usize = 4;

/// A request to a task runner from outside.
#[derive(Debug)]
pub enum TaskCommand {
    /// Record `Signaling` and send the signal; the reply carries the driver's error.
    Signal {
        signal: Signal,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Record `Restart Signaled`, kill the task with its kill signal and start it again
    /// without counting against the restart policy; replies once the task was killed.
    Restart {
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// A running task as published by its task runner.
#[derive(Debug, Clone)]
pub struct RunningTask {
    /// The driver's control of the task (signal, exec).
    pub control: Arc<dyn TaskControl>,
    /// The task runner's command queue.
    pub commands: mpsc::Sender<TaskCommand>,
    generation: u64,
}

type Key = (String, String);

/// Running tasks by (allocation ID, task name); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TaskControls {
    inner: Arc<RwLock<HashMap<Key, RunningTask>>>,
    next: Arc<AtomicU64>,
    /// Check statuses of allocations with services, by allocation ID.
    checks: Arc<RwLock<HashMap<String, watch::Receiver<Statuses>>>>,
}

/// Withdraws a published task when dropped (when the task exits or is killed).
#[derive(Debug)]
pub struct Published {
    controls: TaskControls,
    key: Key,
    generation: u64,
}

impl Drop for Published {
    fn drop(&mut self) {
        let mut map = self
            .controls
            .inner
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if map
            .get(&self.key)
            .is_some_and(|t| t.generation == self.generation)
        {
            map.remove(&self.key);
        }
    }
}

impl TaskControls {
    /// Publishes a running task until the returned guard is dropped.
    pub fn publish(
        &self,
        alloc_id: &str,
        task: &str,
        control: Arc<dyn TaskControl>,
        commands: mpsc::Sender<TaskCommand>,
    ) -> Published {
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        let key = (alloc_id.to_string(), task.to_string());
        let entry = RunningTask {
            control,
            commands,
            generation,
        };
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), entry);
        Published {
            controls: self.clone(),
            key,
            generation,
        }
    }

    /// The running task, if it is running.
    pub fn get(&self, alloc_id: &str, task: &str) -> Option<RunningTask> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(alloc_id.to_string(), task.to_string()))
            .cloned()
    }

    /// Publishes an allocation's check statuses (`GET /v1/client/allocation/:id/checks`).
    pub fn publish_checks(&self, alloc_id: &str, statuses: watch::Receiver<Statuses>) {
        self.checks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alloc_id.to_string(), statuses);
    }

    /// Withdraws an allocation's check statuses.
    pub fn withdraw_checks(&self, alloc_id: &str) {
        self.checks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(alloc_id);
    }

    /// The latest check statuses of an allocation (empty when it has no checks running).
    pub fn checks(&self, alloc_id: &str) -> Statuses {
        self.checks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(alloc_id)
            .map(|rx| rx.borrow().clone())
            .unwrap_or_default()
    }

    /// The running tasks of an allocation, by name (sorted).
    pub fn running(&self, alloc_id: &str) -> Vec<(String, RunningTask)> {
        let mut tasks: Vec<_> = self
            .inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((a, _), _)| a == alloc_id)
            .map(|((_, t), r)| (t.clone(), r.clone()))
            .collect();
        tasks.sort_by(|a, b| a.0.cmp(&b.0));
        tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{BoxFuture, ExecSession, ExitResult};
    use crate::error::DriverError;

    #[derive(Debug)]
    struct Nothing;

    impl TaskControl for Nothing {
        fn signal(&self, _: Signal) -> BoxFuture<'_, Result<(), DriverError>> {
            Box::pin(async { Ok(()) })
        }
        fn exec(&self, _: ExecSession) -> BoxFuture<'_, Result<ExitResult, DriverError>> {
            Box::pin(async { Ok(ExitResult::default()) })
        }
    }

    #[test]
    fn a_task_is_found_while_published_and_a_newer_publication_survives_an_older_guard() {
        let controls = TaskControls::default();
        let (tx, _rx) = mpsc::channel(1);
        let first = controls.publish("a1", "web", Arc::new(Nothing), tx.clone());
        assert!(controls.get("a1", "web").is_some());
        assert!(controls.get("a1", "db").is_none());
        let second = controls.publish("a1", "web", Arc::new(Nothing), tx.clone());
        drop(first);
        assert!(controls.get("a1", "web").is_some());
        let _db = controls.publish("a1", "db", Arc::new(Nothing), tx);
        let names: Vec<_> = controls.running("a1").into_iter().map(|t| t.0).collect();
        assert_eq!(names, ["db", "web"]);
        drop(second);
        assert!(controls.get("a1", "web").is_none());
    }
}
