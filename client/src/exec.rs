//! Task operations requested over the tunnel: `alloc exec` sessions, `alloc signal` and
//! `alloc restart`. The tunnel hands every such message to [`TunnelOps`]; replies go back
//! on the tunnel's outbound queue.
//!
//! ```text
//!   server ── ExecStart{id, alloc, task, command, tty} ──> session: TaskControl::exec
//!          ── ExecInput{id, stdin | close_stdin | resize | cancel} ──> its stdin
//!          <─ ExecOutput{id, stdout | stderr} × n
//!          <─ ExecOutput{id, exited, exit_code}     (or error + error_code 400/404/500)
//!   server ── TaskSignalRequest / TaskRestartRequest ──> task runner command
//!          <─ TaskSignalReply / TaskRestartReply    (error + error_code on failure)
//! ```

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use nomadish_proto::node_v1::{
    ExecInput as WireInput, ExecOutput as WireOutput, ExecStart, TaskRestartReply,
    TaskRestartRequest, TaskSignalReply, TaskSignalRequest, TunnelFromClient, tunnel_from_client,
    tunnel_to_client,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::controls::{RunningTask, TaskCommand, TaskControls};
use crate::driver::{ExecInput, ExecOutput, ExecSession};
use crate::registry::AllocRegistry;

/// Output messages buffered per exec session before the command waits.
const OUTPUT_BUFFER: usize = 16;
/// Input messages buffered toward the command.
const INPUT_BUFFER: usize = 16;
/// HTTP statuses carried in replies.
const BAD_REQUEST: u32 = 400;
const NOT_FOUND: u32 = 404;
const INTERNAL: u32 = 500;

/// A failed operation: message and HTTP status.
type OpError = (String, u32);

/// An open exec session's inputs from the tunnel.
struct Session {
    input: mpsc::UnboundedSender<ExecInput>,
    cancel: Option<oneshot::Sender<()>>,
}

type Sessions = Arc<Mutex<HashMap<u64, Session>>>;

/// The task operations of one tunnel; dropping it ends its sessions.
pub struct TunnelOps {
    controls: TaskControls,
    registry: AllocRegistry,
    tx: mpsc::Sender<TunnelFromClient>,
    sessions: Sessions,
    tasks: JoinSet<()>,
}

impl TunnelOps {
    /// Operations answering on `tx`.
    pub fn new(
        controls: TaskControls,
        registry: AllocRegistry,
        tx: mpsc::Sender<TunnelFromClient>,
    ) -> Self {
        Self {
            controls,
            registry,
            tx,
            sessions: Sessions::default(),
            tasks: JoinSet::new(),
        }
    }

    /// Handles a message from the server; messages that are not task operations are ignored.
    pub fn handle(&mut self, msg: tunnel_to_client::Msg) {
        while self.tasks.try_join_next().is_some() {}
        use tunnel_to_client::Msg;
        match msg {
            Msg::ExecStart(start) => self.start_exec(start),
            Msg::ExecInput(input) => self.input(input),
            Msg::TaskSignal(req) => {
                let (controls, registry, tx) = self.parts();
                self.tasks.spawn(async move {
                    let id = req.request_id;
                    let (error, error_code) = signal(&controls, &registry, &req)
                        .await
                        .err()
                        .unwrap_or_default();
                    let reply = TaskSignalReply {
                        request_id: id,
                        error,
                        error_code,
                    };
                    send(&tx, tunnel_from_client::Msg::TaskSignalReply(reply)).await;
                });
            }
            Msg::TaskRestart(req) => {
                let (controls, registry, tx) = self.parts();
                self.tasks.spawn(async move {
                    let id = req.request_id;
                    let (error, error_code) = restart(&controls, &registry, &req)
                        .await
                        .err()
                        .unwrap_or_default();
                    let reply = TaskRestartReply {
                        request_id: id,
                        error,
                        error_code,
                    };
                    send(&tx, tunnel_from_client::Msg::TaskRestartReply(reply)).await;
                });
            }
            _ => {}
        }
    }

    fn parts(&self) -> (TaskControls, AllocRegistry, mpsc::Sender<TunnelFromClient>) {
        (
            self.controls.clone(),
            self.registry.clone(),
            self.tx.clone(),
        )
    }

    fn start_exec(&mut self, start: ExecStart) {
        let id = start.stream_id;
        let tx = self.tx.clone();
        let task = match find_running(&self.controls, &self.registry, &start.alloc_id, &start.task)
        {
            Ok(t) => t,
            Err(e) => {
                self.tasks
                    .spawn(async move { send(&tx, exec_error(id, e)).await });
                return;
            }
        };
        let (input, input_rx) = mpsc::unbounded_channel();
        let (cancel, cancelled) = oneshot::channel();
        let session = Session {
            input,
            cancel: Some(cancel),
        };
        lock(&self.sessions).insert(id, session);
        let sessions = self.sessions.clone();
        self.tasks.spawn(async move {
            let end = run_session(task, start, input_rx, cancelled, &tx).await;
            lock(&sessions).remove(&id);
            send(&tx, end).await;
        });
    }

    fn input(&mut self, input: WireInput) {
        let mut sessions = lock(&self.sessions);
        let Some(session) = sessions.get_mut(&input.stream_id) else {
            return;
        };
        if input.cancel {
            if let Some(cancel) = session.cancel.take() {
                let _ = cancel.send(());
            }
            return;
        }
        if !input.stdin.is_empty() {
            let _ = session.input.send(ExecInput::Stdin(input.stdin));
        }
        if input.resize {
            let _ = session.input.send(ExecInput::Resize {
                cols: u16::try_from(input.cols).unwrap_or(u16::MAX),
                rows: u16::try_from(input.rows).unwrap_or(u16::MAX),
            });
        }
        if input.close_stdin {
            let _ = session.input.send(ExecInput::CloseStdin);
        }
    }
}

fn lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, HashMap<u64, Session>> {
    sessions.lock().unwrap_or_else(|e| e.into_inner())
}

async fn send(tx: &mpsc::Sender<TunnelFromClient>, msg: tunnel_from_client::Msg) {
    let _ = tx.send(TunnelFromClient { msg: Some(msg) }).await;
}

fn exec_error(stream_id: u64, (error, error_code): OpError) -> tunnel_from_client::Msg {
    tunnel_from_client::Msg::ExecOutput(WireOutput {
        stream_id,
        error,
        error_code,
        ..WireOutput::default()
    })
}

/// Runs one exec session to its end; returns the final message (exit or error).
async fn run_session(
    task: RunningTask,
    start: ExecStart,
    mut input_rx: mpsc::UnboundedReceiver<ExecInput>,
    cancelled: oneshot::Receiver<()>,
    tx: &mpsc::Sender<TunnelFromClient>,
) -> tunnel_from_client::Msg {
    let id = start.stream_id;
    let (in_tx, in_rx) = mpsc::channel(INPUT_BUFFER);
    let (out_tx, mut out_rx) = mpsc::channel(OUTPUT_BUFFER);
    let session = ExecSession {
        command: start.command,
        tty: start.tty,
        input: in_rx,
        output: out_tx,
    };
    let pump_in = async move {
        while let Some(msg) = input_rx.recv().await {
            if in_tx.send(msg).await.is_err() {
                return;
            }
        }
    };
    let pump_out = async {
        while let Some(out) = out_rx.recv().await {
            let (stdout, stderr) = match out {
                ExecOutput::Stdout(d) => (d, Vec::new()),
                ExecOutput::Stderr(d) => (Vec::new(), d),
            };
            let msg = WireOutput {
                stream_id: id,
                stdout,
                stderr,
                ..WireOutput::default()
            };
            if tx
                .send(TunnelFromClient {
                    msg: Some(tunnel_from_client::Msg::ExecOutput(msg)),
                })
                .await
                .is_err()
            {
                return;
            }
        }
    };
    // Cancelling drops the output receiver, which ends the command.
    let output = async {
        tokio::select! {
            () = pump_out => {}
            _ = cancelled => {}
        }
    };
    let exec = async {
        tokio::select! {
            r = task.control.exec(session) => r,
            // The input ran dry; keep waiting for the command.
            () = async { pump_in.await; std::future::pending().await } => unreachable!(),
        }
    };
    let (result, ()) = tokio::join!(exec, output);
    match result {
        Ok(exit) => tunnel_from_client::Msg::ExecOutput(WireOutput {
            stream_id: id,
            exited: true,
            exit_code: i32::try_from(exit.code).unwrap_or(-1),
            ..WireOutput::default()
        }),
        Err(e) => {
            let code = if matches!(e, crate::error::DriverError::Unsupported { .. }) {
                BAD_REQUEST
            } else {
                INTERNAL
            };
            exec_error(id, (e.to_string(), code))
        }
    }
}

/// The running task, or why it cannot be operated on.
fn find_running(
    controls: &TaskControls,
    registry: &AllocRegistry,
    alloc_id: &str,
    task: &str,
) -> Result<RunningTask, OpError> {
    if registry.get(alloc_id).is_none() {
        return Err((format!("Unknown allocation {alloc_id:?}"), NOT_FOUND));
    }
    if !registry.has_task(alloc_id, task) {
        return Err((format!("Unknown task name {task:?}"), NOT_FOUND));
    }
    controls
        .get(alloc_id, task)
        .ok_or_else(|| (format!("Task {task:?} is not running"), BAD_REQUEST))
}

/// The tasks a signal or restart applies to: the named one, or every running one.
fn targets(
    controls: &TaskControls,
    registry: &AllocRegistry,
    alloc_id: &str,
    task: &str,
) -> Result<Vec<(String, RunningTask)>, OpError> {
    if !task.is_empty() {
        return find_running(controls, registry, alloc_id, task).map(|t| vec![(task.into(), t)]);
    }
    if registry.get(alloc_id).is_none() {
        return Err((format!("Unknown allocation {alloc_id:?}"), NOT_FOUND));
    }
    let running = controls.running(alloc_id);
    if running.is_empty() {
        return Err(("Allocation has no running tasks".into(), BAD_REQUEST));
    }
    Ok(running)
}

/// Parses a signal name as users write it (`SIGUSR1`, `usr1`).
pub fn parse_user_signal(name: &str) -> Result<Signal, String> {
    let upper = name.trim().to_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&full).map_err(|_| format!("invalid signal {name:?}"))
}

/// Sends a command to each task runner and waits for its reply.
async fn command_all(
    tasks: Vec<(String, RunningTask)>,
    make: impl Fn(oneshot::Sender<Result<(), String>>) -> TaskCommand,
) -> Result<(), OpError> {
    for (name, task) in tasks {
        let (reply, answer) = oneshot::channel();
        let gone = || (format!("Task {name:?} is not running"), BAD_REQUEST);
        task.commands.send(make(reply)).await.map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(|e| (format!("task {name:?}: {e}"), INTERNAL))?;
    }
    Ok(())
}

async fn signal(
    controls: &TaskControls,
    registry: &AllocRegistry,
    req: &TaskSignalRequest,
) -> Result<(), OpError> {
    let signal = parse_user_signal(&req.signal).map_err(|e| (e, BAD_REQUEST))?;
    let tasks = targets(controls, registry, &req.alloc_id, &req.task)?;
    command_all(tasks, |reply| TaskCommand::Signal { signal, reply }).await
}

async fn restart(
    controls: &TaskControls,
    registry: &AllocRegistry,
    req: &TaskRestartRequest,
) -> Result<(), OpError> {
    let task = if req.all_tasks { "" } else { req.task.as_str() };
    let tasks = targets(controls, registry, &req.alloc_id, task)?;
    command_all(tasks, |reply| TaskCommand::Restart { reply }).await
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
