//! `alloc logs`, and the log-stream request every log reader uses:
//! `GET /v1/client/fs/logs/:alloc?task=&type=stdout|stderr&follow=&origin=&offset=&plain=true`
//! returns the raw bytes (streamed while `follow` is set).
//!
//! ```text
//! alloc logs A [T]            whole stdout
//! alloc logs -stderr A        whole stderr
//! alloc logs -tail [-n N|-c N] A   the end: N lines (default 10) or N bytes (origin=end)
//! alloc logs -f A             follow stdout -> stdout and stderr -> stderr until Ctrl-C
//! alloc logs -f -stderr A     follow one of them
//! ```

use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use nomadish_proto::model::Allocation;

use super::alloc::find_alloc;
use super::api::{ApiClient, ApiError, escape_segment};
use super::args::AllocLogsArgs;
use super::format::{SHORT_ID_LENGTH, limit};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// Lines `-tail` prints without `-n`.
pub const DEFAULT_TAIL_LINES: u64 = 10;
/// Bytes per line assumed when turning `-n` into a byte offset (Nomad's estimate).
pub const BYTES_PER_LINE: u64 = 120;
/// Upper bound of the window fetched to find `-n` lines.
pub const MAX_TAIL_WINDOW: u64 = 64 * 1024 * 1024;
/// With `-f -tail -n`, how long the stream may stay quiet before the first lines print.
pub const TAIL_SETTLE: Duration = Duration::from_millis(250);

/// Which of a task's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogType {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl LogType {
    /// The API's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogType::Stdout => "stdout",
            LogType::Stderr => "stderr",
        }
    }
}

/// Where an offset counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The start of the log.
    Start,
    /// The end of the log.
    End,
}

/// One log request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// The task.
    pub task: String,
    /// stdout or stderr.
    pub log_type: LogType,
    /// Keep the stream open for new output.
    pub follow: bool,
    /// Where `offset` counts from.
    pub origin: Origin,
    /// Bytes from `origin`.
    pub offset: u64,
}

impl LogQuery {
    /// The query string of the request.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("task", self.task.clone()),
            ("type", self.log_type.as_str().to_string()),
            ("follow", self.follow.to_string()),
            (
                "origin",
                match self.origin {
                    Origin::Start => "start",
                    Origin::End => "end",
                }
                .to_string(),
            ),
            ("offset", self.offset.to_string()),
            ("plain", "true".to_string()),
        ]
    }
}

/// Opens a log stream of an allocation's task.
pub async fn open_logs(
    api: &ApiClient,
    alloc_id: &str,
    query: &LogQuery,
) -> Result<reqwest::Response, ApiError> {
    let path = format!("/v1/client/fs/logs/{}", escape_segment(alloc_id));
    api.get_stream(&path, &query.params()).await
}

/// The suffix of `data` holding its last `n` lines (a final newline ends, not starts, a line).
pub fn last_lines(data: &[u8], n: u64) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, byte) in body.iter().enumerate().rev() {
        if *byte == b'\n' {
            seen += 1;
            if seen == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

/// The task to read: the one named, or the group's only task.
pub fn pick_task(alloc: &Allocation, named: Option<&str>) -> Result<String, String> {
    let tasks: Vec<String> = match alloc.job.as_ref().and_then(|j| j.group(&alloc.task_group)) {
        Some(group) => group.tasks.iter().map(|t| t.name.clone()).collect(),
        None => alloc.task_states.keys().cloned().collect(),
    };
    if let Some(name) = named {
        if tasks.iter().any(|t| t == name) {
            return Ok(name.to_string());
        }
        return Err(format!(
            "Could not find task named: {name}, found:\n{}",
            tasks.join("\n")
        ));
    }
    match tasks.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(format!(
            "Could not find allocation task group: {}",
            alloc.task_group
        )),
        many => {
            let mut msg = format!(
                "Allocation {:?} is running the following tasks:\n",
                limit(&alloc.id, SHORT_ID_LENGTH)
            );
            for t in many {
                msg.push_str(&format!("  * {t}\n"));
            }
            msg.push_str("\nPlease specify the task.");
            Err(msg)
        }
    }
}

/// `alloc logs`.
pub async fn run(args: AllocLogsArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let alloc = match find_alloc(&api, args.alloc.trim()).await {
        Ok(alloc) => alloc,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let named = args.task_flag.as_deref().or(args.task.as_deref());
    let task = match pick_task(&alloc, named) {
        Ok(task) => task,
        Err(e) => {
            eprintln!("Failed to validate task: {e}");
            return EXIT_ERROR;
        }
    };
    let api = api.with_namespace(&alloc.namespace);
    let both = args.follow && !(args.stderr || args.stdout || args.tail);
    let both = both && args.lines.is_none() && args.bytes.is_none();
    if both {
        return follow_both(&api, &alloc.id, &task).await;
    }
    if args.stderr && args.stdout {
        eprintln!("Unable to support both stdout and stderr");
        return EXIT_ERROR;
    }
    let log_type = if args.stderr {
        LogType::Stderr
    } else {
        LogType::Stdout
    };
    let result = if args.tail {
        tail(&api, &alloc.id, &task, log_type, &args).await
    } else {
        let query = LogQuery {
            task,
            log_type,
            follow: args.follow,
            origin: Origin::Start,
            offset: 0,
        };
        copy_until_interrupted(&api, &alloc.id, &query, Vec::new()).await
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("Failed to read {} file: {e}", log_type.as_str());
            EXIT_ERROR
        }
    }
}

/// Errors reading logs.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The request failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The stream broke.
    #[error("error following logs: {0}")]
    Stream(String),
    /// `-n` and `-c` together.
    #[error("both -n and -c set")]
    BothLimits,
}

/// Writes bytes to stdout or stderr and flushes.
pub fn write_out(log_type: LogType, bytes: &[u8]) {
    let _ = match log_type {
        LogType::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        LogType::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
}

/// Streams one log to its console stream, first writing `prelude`, until it ends or Ctrl-C.
async fn copy_until_interrupted(
    api: &ApiClient,
    alloc_id: &str,
    query: &LogQuery,
    prelude: Vec<u8>,
) -> Result<(), LogsError> {
    let copy = async {
        let resp = open_logs(api, alloc_id, query).await?;
        write_out(query.log_type, &prelude);
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| LogsError::Stream(e.to_string()))?;
            write_out(query.log_type, &chunk);
        }
        Ok(())
    };
    tokio::select! {
        result = copy => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Follows stdout and stderr together until both end or Ctrl-C.
async fn follow_both(api: &ApiClient, alloc_id: &str, task: &str) -> i32 {
    let query = |log_type| LogQuery {
        task: task.to_string(),
        log_type,
        follow: true,
        origin: Origin::Start,
        offset: 0,
    };
    let (out_q, err_q) = (query(LogType::Stdout), query(LogType::Stderr));
    let (out, err) = tokio::join!(
        copy_until_interrupted(api, alloc_id, &out_q, Vec::new()),
        copy_until_interrupted(api, alloc_id, &err_q, Vec::new()),
    );
    match out.and(err) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("Failed to tail stdout and stderr files: {e}");
            EXIT_ERROR
        }
    }
}

/// `-tail`: the last `-c` bytes or `-n` lines, then (with `-f`) whatever follows.
async fn tail(
    api: &ApiClient,
    alloc_id: &str,
    task: &str,
    log_type: LogType,
    args: &AllocLogsArgs,
) -> Result<(), LogsError> {
    let mut query = LogQuery {
        task: task.to_string(),
        log_type,
        follow: false,
        origin: Origin::End,
        offset: 0,
    };
    match (args.lines, args.bytes) {
        (Some(_), Some(_)) => Err(LogsError::BothLimits),
        (None, Some(bytes)) => {
            query.offset = bytes;
            query.follow = args.follow;
            copy_until_interrupted(api, alloc_id, &query, Vec::new()).await
        }
        (lines, None) => {
            let lines = lines.unwrap_or(DEFAULT_TAIL_LINES);
            if args.follow {
                query.follow = true;
                query.offset = lines.saturating_mul(BYTES_PER_LINE);
                return follow_tail_lines(api, alloc_id, &query, lines).await;
            }
            let data = fetch_tail_lines(api, alloc_id, &mut query, lines).await?;
            write_out(log_type, last_lines(&data, lines));
            Ok(())
        }
    }
}

/// Reads ever larger windows from the end until they hold `lines` lines or the whole log.
async fn fetch_tail_lines(
    api: &ApiClient,
    alloc_id: &str,
    query: &mut LogQuery,
    lines: u64,
) -> Result<Vec<u8>, LogsError> {
    query.offset = lines.saturating_mul(BYTES_PER_LINE).max(BYTES_PER_LINE);
    loop {
        let data = open_logs(api, alloc_id, query)
            .await?
            .bytes()
            .await
            .map_err(|e| LogsError::Stream(e.to_string()))?;
        let complete = last_lines(&data, lines).len() < data.len();
        if complete || (data.len() as u64) < query.offset || query.offset >= MAX_TAIL_WINDOW {
            return Ok(data.to_vec());
        }
        query.offset = query.offset.saturating_mul(2).min(MAX_TAIL_WINDOW);
    }
}

/// `-f -tail -n N`: buffers the first window (until it is full or quiet for
/// [`TAIL_SETTLE`]), prints its last N lines, then streams the rest.
async fn follow_tail_lines(
    api: &ApiClient,
    alloc_id: &str,
    query: &LogQuery,
    lines: u64,
) -> Result<(), LogsError> {
    let work = async {
        let mut stream = open_logs(api, alloc_id, query).await?.bytes_stream();
        let mut buffer = Vec::new();
        while (buffer.len() as u64) < query.offset {
            match tokio::time::timeout(TAIL_SETTLE, stream.next()).await {
                Ok(Some(chunk)) => {
                    buffer.extend_from_slice(&chunk.map_err(|e| LogsError::Stream(e.to_string()))?)
                }
                Ok(None) | Err(_) => break,
            }
        }
        write_out(query.log_type, last_lines(&buffer, lines));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| LogsError::Stream(e.to_string()))?;
            write_out(query.log_type, &chunk);
        }
        Ok(())
    };
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{Job, Task, TaskGroup};
    use std::sync::Arc;

    #[test]
    fn last_lines_counts_from_the_end() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"abc", 1), b"abc");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
    }

    #[test]
    fn query_params_ask_for_plain_text() {
        let q = LogQuery {
            task: "web".into(),
            log_type: LogType::Stderr,
            follow: true,
            origin: Origin::End,
            offset: 1200,
        };
        let params = q.params();
        assert!(params.contains(&("type", "stderr".to_string())));
        assert!(params.contains(&("origin", "end".to_string())));
        assert!(params.contains(&("offset", "1200".to_string())));
        assert!(params.contains(&("plain", "true".to_string())));
        assert!(params.contains(&("follow", "true".to_string())));
    }

    fn alloc_with_tasks(names: &[&str]) -> Allocation {
        let group = TaskGroup {
            name: "g".into(),
            tasks: names
                .iter()
                .map(|n| Task {
                    name: n.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        Allocation {
            id: "0123456789abcdef".into(),
            task_group: "g".into(),
            job: Some(Arc::new(Job {
                task_groups: vec![group],
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn only_task_is_the_default() {
        assert_eq!(pick_task(&alloc_with_tasks(&["web"]), None).unwrap(), "web");
    }

    #[test]
    fn several_tasks_need_a_name() {
        let alloc = alloc_with_tasks(&["web", "sidecar"]);
        let err = pick_task(&alloc, None).unwrap_err();
        assert_eq!(
            err,
            "Allocation \"01234567\" is running the following tasks:\n  * web\n  * sidecar\n\nPlease specify the task."
        );
        assert_eq!(pick_task(&alloc, Some("sidecar")).unwrap(), "sidecar");
        assert!(
            pick_task(&alloc, Some("nope"))
                .unwrap_err()
                .starts_with("Could not find task named: nope")
        );
    }
}
