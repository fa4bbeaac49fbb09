//! Test harness: start the client agent against the fake server, build allocations, and
//! wait (boundedly) for outcomes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nomadish_client::{ClientConfig, ClientError};
use nomadish_proto::model::{
    Allocation, Job, LogConfig, NS_PER_SEC, RESTART_MODE_FAIL, RestartPolicy, Task, TaskGroup,
    TaskState,
};
use tokio::sync::oneshot;

use crate::fake::FakeServer;

/// Upper bound for any single wait in these tests.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often waits poll.
const POLL: Duration = Duration::from_millis(20);

/// A client agent running in this process.
pub struct Agent {
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    join: tokio::task::JoinHandle<Result<(), ClientError>>,
}

impl Agent {
    /// Starts a client (raw_exec enabled) with its data in `data_dir`.
    pub fn start(server: &FakeServer, data_dir: &Path) -> Self {
        let mut config = ClientConfig::new(data_dir.to_path_buf(), vec![server.addr.to_string()]);
        config.raw_exec_enabled = true;
        config.node_name = "test-node".into();
        config.http_addr = "127.0.0.1:4646".into();
        config.meta.insert("rack".into(), "r1".into());
        Self::start_with(config)
    }

    /// Starts a client with an explicit configuration.
    pub fn start_with(config: ClientConfig) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let data_dir = config.data_dir.clone();
        let join = tokio::spawn(nomadish_client::run(config, async {
            let _ = rx.await;
        }));
        Self {
            data_dir,
            shutdown: Some(tx),
            join,
        }
    }

    /// `data_dir/alloc/<id>`.
    pub fn alloc_dir(&self, alloc_id: &str) -> PathBuf {
        self.data_dir.join("alloc").join(alloc_id)
    }

    /// Triggers shutdown and waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(TEST_TIMEOUT, &mut self.join)
            .await
            .expect("client shuts down in time")
            .expect("client task did not panic")
            .expect("client run returned Ok");
    }
}

/// Polls `cond` until it holds; panics naming `what` after [`TEST_TIMEOUT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + TEST_TIMEOUT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A raw_exec task running `/bin/sh -c script`.
pub fn sh_task(name: &str, script: &str) -> Task {
    Task {
        name: name.into(),
        driver: "raw_exec".into(),
        config: BTreeMap::from([
            ("command".into(), serde_json::json!("/bin/sh")),
            ("args".into(), serde_json::json!(["-c", script])),
        ]),
        kill_timeout: 5 * NS_PER_SEC,
        log_config: Some(LogConfig::default()),
        ..Task::default()
    }
}

/// A restart policy with short delays for tests.
pub fn quick_restarts(attempts: i64) -> RestartPolicy {
    RestartPolicy {
        attempts,
        interval: 3600 * NS_PER_SEC,
        delay: NS_PER_SEC / 10,
        mode: RESTART_MODE_FAIL.into(),
        render_templates: false,
    }
}

/// An allocation of job `job_id` (type `job_type`) with one group holding `tasks`.
pub fn alloc(job_type: &str, tasks: Vec<Task>, restart: RestartPolicy) -> Allocation {
    let id = nomadish_proto::model::generate_id();
    let job = Job {
        id: "example".into(),
        name: "example".into(),
        job_type: job_type.into(),
        namespace: "default".into(),
        region: "global".into(),
        task_groups: vec![TaskGroup {
            name: "group".into(),
            tasks,
            restart_policy: Some(restart),
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    Allocation {
        id,
        name: "example.group[0]".into(),
        namespace: "default".into(),
        job_id: "example".into(),
        task_group: "group".into(),
        job: Some(Arc::new(job)),
        desired_status: "run".into(),
        client_status: "pending".into(),
        ..Allocation::default()
    }
}

/// The event types of a task state, in order.
pub fn event_types(state: &TaskState) -> Vec<&str> {
    state.events.iter().map(|e| e.event_type.as_str()).collect()
}

/// Reads a PID a task wrote to a file, waiting for it to appear.
pub async fn read_pid(path: &Path) -> i32 {
    let mut pid = 0;
    wait_until("the task to write its pid", || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid > 0
    })
    .await;
    pid
}

/// Live (non-zombie) members of a process group.
pub fn live_group(pgid: i32) -> Vec<i32> {
    nomadish_client::procfs::live_group_members(pgid)
}

/// Whether every member of a process group has died within a few seconds. SIGKILL is
/// delivered asynchronously, so a group that was just killed may still show live members.
pub async fn group_dies(pgid: i32) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !live_group(pgid).is_empty() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    true
}
