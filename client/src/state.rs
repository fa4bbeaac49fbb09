//! The client's persisted state in `data_dir/client/state.json`: which allocations have live
//! runners and which process group each running task is in.
//!
//! It exists for one purpose: after the client is killed (`kill -9`, OOM, power loss of the
//! agent alone) and restarted, find the task process groups it left behind and kill them,
//! and know which allocations were running so their tasks are started again with an event
//! saying why. (Docker containers survive and are re-attached by the Docker driver itself;
//! their tasks record no process group.)
//!
//! A recorded group is only killed if it still has live members and one of them carries the
//! task's `NOMAD_ALLOC_ID` and `NOMAD_TASK_NAME` in its environment, and only on the boot
//! that recorded it, so a recycled process group ID never hits an unrelated process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use crate::driver::signal_group;
use crate::error::ClientError;
use crate::fsutil::write_atomic;
use crate::procfs;

/// The state file's name in the client directory.
pub const STATE_FILE: &str = "state.json";
/// How long recovery waits for a killed leftover group to disappear.
pub const LEFTOVER_KILL_WAIT: Duration = Duration::from_secs(5);
/// How often recovery checks whether a killed group is gone.
const LEFTOVER_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct Persisted {
    #[serde(rename = "BootID")]
    boot_id: String,
    #[serde(rename = "Allocs")]
    allocs: BTreeSet<String>,
    #[serde(rename = "Tasks")]
    tasks: BTreeMap<String, RunningTask>,
}

/// A task process group the client started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningTask {
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    #[serde(rename = "Task")]
    pub task: String,
    #[serde(rename = "PGID")]
    pub pgid: i32,
}

/// What recovery found from the previous run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Allocations whose runners were live when the client stopped.
    pub allocs: BTreeSet<String>,
    /// Leftover task groups that were found alive and killed.
    pub killed: Vec<RunningTask>,
}

/// The persisted state, shared by every runner.
#[derive(Debug, Clone)]
pub struct StateStore {
    inner: Arc<Mutex<(PathBuf, Persisted)>>,
}

impl StateStore {
    /// Opens the state in `client_dir`, kills task groups a previous run left behind, and
    /// starts a fresh record for this run.
    pub async fn open(client_dir: &Path) -> Result<(Self, Recovered), ClientError> {
        let path = client_dir.join(STATE_FILE);
        let previous: Persisted = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| ClientError::CorruptState {
                    path: path.clone(),
                    source,
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Persisted::default(),
            Err(e) => return Err(ClientError::io("read", path, e)),
        };
        let boot_id = procfs::boot_id();
        let mut killed = Vec::new();
        if previous.boot_id == boot_id {
            for task in previous.tasks.values() {
                if kill_leftover(task).await {
                    killed.push(task.clone());
                }
            }
        }
        let fresh = Persisted {
            boot_id,
            ..Persisted::default()
        };
        let bytes = encode(&fresh)?;
        write_atomic(&path, &bytes).map_err(|e| ClientError::io("write", &path, e))?;
        let store = Self {
            inner: Arc::new(Mutex::new((path, fresh))),
        };
        Ok((
            store,
            Recovered {
                allocs: previous.allocs,
                killed,
            },
        ))
    }

    /// Records that an allocation's runner is live.
    pub fn alloc_started(&self, alloc_id: &str) {
        self.update(|p| p.allocs.insert(alloc_id.to_string()));
    }

    /// Records that an allocation's runner finished.
    pub fn alloc_finished(&self, alloc_id: &str) {
        self.update(|p| p.allocs.remove(alloc_id));
    }

    /// Whether an allocation's runner is live.
    pub fn alloc_running(&self, alloc_id: &str) -> bool {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.allocs.contains(alloc_id)
    }

    /// Records a task's process group.
    pub fn task_started(&self, alloc_id: &str, task: &str, pgid: i32) {
        let entry = RunningTask {
            alloc_id: alloc_id.to_string(),
            task: task.to_string(),
            pgid,
        };
        self.update(|p| p.tasks.insert(task_key(alloc_id, task), entry).is_none());
    }

    /// Forgets a task's process group once it exited.
    pub fn task_exited(&self, alloc_id: &str, task: &str) {
        self.update(|p| p.tasks.remove(&task_key(alloc_id, task)).is_some());
    }

    /// The task groups recorded now (for tests and diagnostics).
    pub fn running_tasks(&self) -> Vec<RunningTask> {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.tasks.values().cloned().collect()
    }

    /// Applies `change` and saves when it reports a change. Failures to save are logged: a
    /// missed record only weakens crash recovery, it must not stop running tasks.
    fn update(&self, change: impl FnOnce(&mut Persisted) -> bool) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (path, state) = &mut *guard;
        if !change(state) {
            return;
        }
        let result = encode(state).and_then(|bytes| {
            write_atomic(path, &bytes).map_err(|e| ClientError::io("write", path.clone(), e))
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "saving client state failed");
        }
    }
}

fn task_key(alloc_id: &str, task: &str) -> String {
    format!("{alloc_id}/{task}")
}

fn encode(state: &Persisted) -> Result<Vec<u8>, ClientError> {
    serde_json::to_vec_pretty(state).map_err(|source| ClientError::Encode {
        what: "client state",
        source,
    })
}

/// Kills a leftover task group if it is alive and provably the task's; true if killed.
async fn kill_leftover(task: &RunningTask) -> bool {
    let members = procfs::live_group_members(task.pgid);
    let ours = members.iter().any(|pid| {
        procfs::environ_has(*pid, "NOMAD_ALLOC_ID", &task.alloc_id)
            && procfs::environ_has(*pid, "NOMAD_TASK_NAME", &task.task)
    });
    if !ours {
        return false;
    }
    tracing::warn!(alloc_id = %task.alloc_id, task = %task.task, pgid = task.pgid,
        "killing task process group left behind by a previous client run");
    signal_group(task.pgid, Signal::SIGKILL);
    let deadline = tokio::time::Instant::now() + LEFTOVER_KILL_WAIT;
    while !procfs::live_group_members(task.pgid).is_empty() {
        if tokio::time::Instant::now() >= deadline {
            tracing::error!(pgid = task.pgid, "leftover task group survived SIGKILL");
            break;
        }
        tokio::time::sleep(LEFTOVER_POLL).await;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[tokio::test]
    async fn records_survive_a_restart_and_leftovers_are_killed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, recovered) = StateStore::open(dir.path()).await.unwrap();
        assert_eq!(recovered, Recovered::default());
        // A "task" in its own group, carrying the task's identity in its environment.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 60 & wait"])
            .env("NOMAD_ALLOC_ID", "a1")
            .env("NOMAD_TASK_NAME", "web")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        // A group that is alive but not ours must be left alone.
        let mut stranger = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let stranger_pgid = stranger.id() as i32;
        store.alloc_started("a1");
        store.task_started("a1", "web", pgid);
        store.task_started("a2", "web", stranger_pgid);
        drop(store); // the client "crashes"

        let (store, recovered) = StateStore::open(dir.path()).await.unwrap();
        assert_eq!(recovered.allocs, BTreeSet::from(["a1".to_string()]));
        assert_eq!(recovered.killed.len(), 1);
        assert_eq!(recovered.killed[0].pgid, pgid);
        child.wait().unwrap();
        assert!(procfs::live_group_members(pgid).is_empty());
        assert_eq!(procfs::live_group_members(stranger_pgid), [stranger_pgid]);
        assert!(store.running_tasks().is_empty());
        stranger.kill().unwrap();
        stranger.wait().unwrap();
    }

    #[tokio::test]
    async fn a_corrupt_state_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), b"[").unwrap();
        assert!(matches!(
            StateStore::open(dir.path()).await,
            Err(ClientError::CorruptState { .. })
        ));
    }
}
