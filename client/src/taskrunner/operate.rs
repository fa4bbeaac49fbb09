//! Operate hook: requests from users while the task runs (`alloc signal`, `alloc restart`).
//!
//! ```text
//!   Signal  -> event Signaling -> driver signal -> reply
//!   Restart -> event Restart Signaled -> kill signal, SIGKILL after kill_timeout
//!           -> Terminated -> Restarting (0s) -> reply -> started again, policy untouched
//! ```

use std::time::Duration;

use nix::sys::signal::Signal;
use nomadish_proto::model::{TASK_STATE_PENDING, TaskEvent, now_ns, rfc3339};

use super::{Supervised, TaskRunner, events, stop};
use crate::controls::TaskCommand;
use crate::driver::TaskHandle;

/// Event type recorded before a user's signal is sent.
pub const SIGNALING: &str = "Signaling";
/// Event type recorded when a user restarts the task.
pub const RESTART_SIGNALED: &str = "Restart Signaled";
/// The reason recorded for a user's restart.
pub const USER_RESTART_REASON: &str = "User requested restart";

/// Handles one command; `Some` when supervision of this run of the task ends.
pub(super) async fn handle(
    tr: &mut TaskRunner,
    handle: &mut TaskHandle,
    command: TaskCommand,
) -> Option<Supervised> {
    match command {
        TaskCommand::Signal { signal, reply } => {
            tr.event(signaling(now_ns(), signal));
            tr.emit();
            let result = handle
                .control()
                .signal(signal)
                .await
                .map_err(|e| e.to_string());
            let _ = reply.send(result);
            None
        }
        TaskCommand::Restart { reply } => {
            restart(tr, handle, USER_RESTART_REASON).await;
            let _ = reply.send(Ok(()));
            Some(Supervised::Restart)
        }
    }
}

/// Kills the task for a restart (a user's, or a re-rendered template's) and records it; the
/// caller starts it again.
pub(super) async fn restart(tr: &mut TaskRunner, handle: &mut TaskHandle, reason: &str) {
    tr.event(restart_signaled(now_ns(), reason));
    tr.emit();
    let (signal, timeout) = stop::kill_params(tr);
    let exit = handle.stop(signal, timeout).await;
    tr.deps.state.task_exited(&tr.alloc_id, &tr.name);
    let now = now_ns();
    tr.event(events::terminated(now, exit));
    tr.event(events::restarting(now, Duration::ZERO, reason));
    tr.state.restarts += 1;
    tr.state.last_restart = Some(rfc3339(now));
    tr.set_state(TASK_STATE_PENDING);
    tr.emit();
}

/// `Signaling`: a user's signal is about to be sent.
pub fn signaling(now: i64, signal: Signal) -> TaskEvent {
    let mut e = TaskEvent::new(
        SIGNALING,
        now,
        format!("Task being sent signal {}", signal.as_str()),
    );
    e.details.insert("signal".into(), signal.as_str().into());
    e
}

/// `Restart Signaled`: a user (or a re-rendered template) asked for a restart.
pub fn restart_signaled(now: i64, reason: &str) -> TaskEvent {
    let mut e = TaskEvent::new(RESTART_SIGNALED, now, reason);
    e.details.insert("restart_reason".into(), reason.into());
    e
}
