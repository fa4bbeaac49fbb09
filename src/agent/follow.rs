//! Following a job's output for `agent -run`: every task of every allocation of the job,
//! stdout to stdout and stderr to stderr, as it comes.
//!
//! ```text
//! alloc poller (blocking query on /v1/job/:id/allocations)
//!   new alloc A (created by this registration) -> for each task T of A's group:
//!       follower(A, T, stdout), follower(A, T, stderr)
//!   terminal allocs -> watch channel read by the followers
//! follower: open the log (follow, from `offset`), copy bytes, reconnect on end/error
//!           every LOG_RETRY_INTERVAL; once A is terminal, stop after one complete read
//!           (or FINAL_READ_ATTEMPTS failed ones)
//! ```
//!
//! With one allocation of one task, output is copied as it is; otherwise every line is
//! prefixed with `[alloc-short/task] `.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, ALLOC_CLIENT_LOST, AllocListStub, Job,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cli::api::{ApiClient, escape_segment};
use crate::cli::format::{SHORT_ID_LENGTH, limit};
use crate::cli::logs::{LogQuery, LogType, Origin, open_logs, write_out};

use super::signals::Shutdown;

/// Shortest time between two polls of the job's allocations.
pub const ALLOC_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long one blocking query on the job's allocations may wait.
pub const ALLOC_BLOCKING_WAIT: &str = "2s";
/// Delay before a log stream is opened again (task not started yet, stream ended).
pub const LOG_RETRY_INTERVAL: Duration = Duration::from_millis(50);
/// Attempts at reading a finished allocation's log before giving up on it (it may never
/// have started).
pub const FINAL_READ_ATTEMPTS: usize = 20;

/// Where followed output goes: stdout bytes and stderr bytes, in arrival order.
pub type OutputSink = Arc<dyn Fn(LogType, &[u8]) + Send + Sync>;

/// The console: stdout to stdout, stderr to stderr.
pub fn console_sink() -> OutputSink {
    Arc::new(write_out)
}

/// Splits a byte stream into lines and prefixes each; without a prefix, passes bytes through.
#[derive(Debug, Default)]
pub struct LinePrefixer {
    prefix: Option<String>,
    partial: Vec<u8>,
}

impl LinePrefixer {
    /// A prefixer adding `prefix` to each line (`None`: copy as is).
    pub fn new(prefix: Option<String>) -> Self {
        Self {
            prefix,
            partial: Vec::new(),
        }
    }

    /// The output for `chunk`: complete lines, prefixed; a trailing partial line is held.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(prefix) = &self.prefix else {
            return chunk.to_vec();
        };
        self.partial.extend_from_slice(chunk);
        let Some(last_newline) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let mut out = Vec::with_capacity(complete.len() + prefix.len());
        for line in complete.split_inclusive(|b| *b == b'\n') {
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(line);
        }
        out
    }

    /// The held partial line, prefixed and terminated, if any.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.partial.is_empty() {
            return Vec::new();
        }
        let mut out = self.prefix.clone().unwrap_or_default().into_bytes();
        out.append(&mut self.partial);
        out.push(b'\n');
        out
    }
}

/// Whether the job's output needs `[alloc/task]` prefixes: anything but one allocation
/// running one task.
pub fn needs_prefix(job: &Job) -> bool {
    let single = !job.is_system()
        && job.task_groups.len() == 1
        && job.task_groups[0].count == 1
        && job.task_groups[0].tasks.len() == 1;
    !single
}

/// Follows the output of the job's allocations created at or after `min_create_index` into
/// `sink`, until `shutdown`.
pub async fn follow_job(
    api: ApiClient,
    job: Job,
    min_create_index: u64,
    shutdown: Shutdown,
    sink: OutputSink,
) {
    let prefixed = needs_prefix(&job);
    let (terminal_tx, terminal_rx) = watch::channel(BTreeSet::<String>::new());
    let mut followers = JoinSet::new();
    let mut started = BTreeSet::new();
    let path = format!("/v1/job/{}/allocations", escape_segment(&job.id));
    let mut index = 0u64;
    while !shutdown.is_triggered() {
        let begun = tokio::time::Instant::now();
        let query = [
            ("index", index.to_string()),
            ("wait", ALLOC_BLOCKING_WAIT.to_string()),
        ];
        let polled = tokio::select! {
            r = api.get::<Vec<AllocListStub>>(&path, &query) => r,
            _ = shutdown.clone().wait() => break,
        };
        if let Ok(resp) = polled {
            index = resp.index.max(index);
            let terminal = resp.body.iter().filter(|a| client_terminal(a));
            terminal_tx.send_replace(terminal.map(|a| a.id.clone()).collect());
            for alloc in resp
                .body
                .iter()
                .filter(|a| a.create_index >= min_create_index)
            {
                if started.insert(alloc.id.clone()) {
                    let ctx = FollowCtx {
                        api: &api,
                        job: &job,
                        prefixed,
                        terminal: &terminal_rx,
                        sink: &sink,
                    };
                    spawn_followers(&mut followers, &ctx, alloc);
                }
            }
        }
        let elapsed = begun.elapsed();
        if elapsed < ALLOC_POLL_INTERVAL {
            tokio::time::sleep(ALLOC_POLL_INTERVAL - elapsed).await;
        }
    }
    followers.abort_all();
}

/// Whether the client is done with an allocation (no more output will come).
fn client_terminal(alloc: &AllocListStub) -> bool {
    matches!(
        alloc.client_status.as_str(),
        ALLOC_CLIENT_COMPLETE | ALLOC_CLIENT_FAILED | ALLOC_CLIENT_LOST
    )
}

/// What every follower of one job shares.
struct FollowCtx<'a> {
    api: &'a ApiClient,
    job: &'a Job,
    prefixed: bool,
    terminal: &'a watch::Receiver<BTreeSet<String>>,
    sink: &'a OutputSink,
}

fn spawn_followers(set: &mut JoinSet<()>, ctx: &FollowCtx<'_>, alloc: &AllocListStub) {
    let tasks: Vec<String> = match ctx.job.group(&alloc.task_group) {
        Some(group) => group.tasks.iter().map(|t| t.name.clone()).collect(),
        None => alloc.task_states.keys().cloned().collect(),
    };
    for task in tasks {
        for log_type in [LogType::Stdout, LogType::Stderr] {
            let prefix = ctx
                .prefixed
                .then(|| format!("[{}/{}] ", limit(&alloc.id, SHORT_ID_LENGTH), task));
            let follower = Follower {
                api: ctx.api.clone(),
                alloc_id: alloc.id.clone(),
                task: task.clone(),
                log_type,
                out: LinePrefixer::new(prefix),
                terminal: ctx.terminal.clone(),
                sink: Arc::clone(ctx.sink),
            };
            set.spawn(follower.run());
        }
    }
}

/// Copies one task log to the console, reconnecting until its allocation is done.
struct Follower {
    api: ApiClient,
    alloc_id: String,
    task: String,
    log_type: LogType,
    out: LinePrefixer,
    terminal: watch::Receiver<BTreeSet<String>>,
    sink: OutputSink,
}

impl Follower {
    async fn run(mut self) {
        let mut offset = 0u64;
        let mut failed_final_reads = 0;
        loop {
            let was_terminal = self.terminal.borrow().contains(&self.alloc_id);
            let query = LogQuery {
                task: self.task.clone(),
                log_type: self.log_type,
                follow: !was_terminal,
                origin: Origin::Start,
                offset,
            };
            let read_all = match open_logs(&self.api, &self.alloc_id, &query).await {
                Ok(resp) => self.copy(resp, &mut offset).await,
                Err(_) => false,
            };
            if was_terminal {
                failed_final_reads += usize::from(!read_all);
                if read_all || failed_final_reads >= FINAL_READ_ATTEMPTS {
                    (self.sink)(self.log_type, &self.out.finish());
                    return;
                }
            }
            tokio::time::sleep(LOG_RETRY_INTERVAL).await;
        }
    }

    /// Copies a log stream to the sink; whether it was read to its end without error.
    async fn copy(&mut self, resp: reqwest::Response, offset: &mut u64) -> bool {
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else {
                return false;
            };
            *offset += chunk.len() as u64;
            (self.sink)(self.log_type, &self.out.push(&chunk));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{Task, TaskGroup};

    #[test]
    fn without_prefix_bytes_pass_through() {
        let mut p = LinePrefixer::new(None);
        assert_eq!(p.push(b"hel"), b"hel");
        assert_eq!(p.push(b"lo\n"), b"lo\n");
        assert!(p.finish().is_empty());
    }

    #[test]
    fn prefix_goes_on_complete_lines_only() {
        let mut p = LinePrefixer::new(Some("[abcd1234/web] ".into()));
        assert_eq!(p.push(b"hel"), b"");
        assert_eq!(p.push(b"lo\nwor"), b"[abcd1234/web] hello\n");
        assert_eq!(
            p.push(b"ld\nx\ny"),
            b"[abcd1234/web] world\n[abcd1234/web] x\n"
        );
        assert_eq!(p.finish(), b"[abcd1234/web] y\n");
        assert!(p.finish().is_empty());
    }

    fn job(groups: &[(i64, usize)]) -> Job {
        Job {
            job_type: "batch".into(),
            task_groups: groups
                .iter()
                .map(|(count, tasks)| TaskGroup {
                    count: *count,
                    tasks: vec![Task::default(); *tasks],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn prefix_only_when_more_than_one_task_runs() {
        assert!(!needs_prefix(&job(&[(1, 1)])));
        assert!(needs_prefix(&job(&[(2, 1)])));
        assert!(needs_prefix(&job(&[(1, 2)])));
        assert!(needs_prefix(&job(&[(1, 1), (1, 1)])));
        let mut system = job(&[(1, 1)]);
        system.job_type = "system".into();
        assert!(needs_prefix(&system));
    }
}
