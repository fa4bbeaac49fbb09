//! Stop hook: kill the task (kill signal to its process group, SIGKILL after the kill
//! timeout) and record why.

use std::time::Duration;

use nix::sys::signal::Signal;
use nomadish_proto::model::{DEFAULT_KILL_TIMEOUT_NS, TASK_STATE_DEAD, now_ns, ns_duration};

use super::{TaskRunner, events};
use crate::allocrunner::KillReason;
use crate::driver::{TaskHandle, default_kill_signal, parse_signal};

/// Kills a running task and waits for it to be gone.
pub(super) async fn kill_running(tr: &mut TaskRunner, mut handle: TaskHandle, reason: KillReason) {
    let (signal, timeout) = kill_params(tr);
    record_reason(tr, &reason);
    let delay = shutdown_delay(tr);
    if reason == KillReason::Stop && !delay.is_zero() {
        tr.event(events::waiting_shutdown_delay(now_ns(), delay));
        tr.emit();
        tokio::time::sleep(delay).await;
    }
    tr.event(events::killing(now_ns(), timeout));
    tr.emit();
    let exit = handle.stop(signal, timeout).await;
    tr.deps.state.task_exited(&tr.alloc_id, &tr.name);
    tr.event(events::terminated(now_ns(), exit));
    tr.event(events::killed(now_ns()));
    tr.set_state(TASK_STATE_DEAD);
    tr.emit();
}

/// Marks a task that is not running (not started yet, or waiting to restart) as killed.
pub(super) fn killed_while_idle(tr: &mut TaskRunner, reason: KillReason) {
    record_reason(tr, &reason);
    tr.event(events::killed(now_ns()));
    tr.set_state(TASK_STATE_DEAD);
    tr.emit();
}

fn record_reason(tr: &mut TaskRunner, reason: &KillReason) {
    if let Some(event) = events::kill_reason(now_ns(), reason) {
        tr.event(event);
    }
}

/// The task's kill signal (default SIGINT, SIGTERM for Docker) and kill timeout (default 5 s), capped by the
/// client's `max_kill_timeout`.
pub(super) fn kill_params(tr: &TaskRunner) -> (Signal, Duration) {
    let timeout = if tr.task.kill_timeout > 0 {
        ns_duration(tr.task.kill_timeout)
    } else {
        ns_duration(DEFAULT_KILL_TIMEOUT_NS)
    };
    let signal = if tr.task.kill_signal.trim().is_empty() {
        default_kill_signal(&tr.task.driver)
    } else {
        parse_signal(&tr.task.kill_signal)
    };
    (signal, timeout.min(tr.deps.max_kill_timeout))
}

/// The group's `shutdown_delay` plus the task's: how long a stopped task keeps running before
/// its kill signal (Nomad waits the group's delay, then each task's).
fn shutdown_delay(tr: &TaskRunner) -> Duration {
    let alloc = tr.alloc.borrow().clone();
    let group = alloc
        .job
        .as_ref()
        .and_then(|job| job.group(&alloc.task_group))
        .and_then(|g| g.shutdown_delay);
    let total = group.unwrap_or(0).max(0) + tr.task.shutdown_delay.max(0);
    ns_duration(total)
}
