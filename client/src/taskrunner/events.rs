//! Task events with Nomad's types, fields and display messages, and the bookkeeping that
//! applies them to a `TaskState` (events capped, `FailsTask` marking the task failed).

use std::time::Duration;

use nomadish_proto::model::{TaskEvent, TaskState, duration_ns, task_event};

use crate::driver::ExitResult;
use crate::gofmt::go_duration;
use crate::taskrunner::restart::REASON_WITHIN_POLICY;

/// Nomad keeps this many recent events per task.
pub const MAX_EVENTS: usize = 10;
/// Event type: the group's leader task died, so this task is stopped.
pub const LEADER_DEAD: &str = "Leader Task Dead";
/// Every main task of the group died, so this lifecycle task is stopped.
pub const MAIN_DEAD: &str = "Main Tasks Dead";
/// Restart reason recorded when the client agent restarted under a running task.
pub const REASON_CLIENT_RESTARTED: &str = "Client agent restarted; the task is recovered (Docker containers are re-attached, raw_exec processes are stopped and started again)";

/// Appends `event` to the state, marking the task failed if the event fails it, and keeps
/// only the most recent [`MAX_EVENTS`].
pub fn push(state: &mut TaskState, event: TaskEvent) {
    if event.fails_task {
        state.failed = true;
    }
    state.events.push(event);
    if state.events.len() > MAX_EVENTS {
        let excess = state.events.len() - MAX_EVENTS;
        state.events.drain(..excess);
    }
}

fn event(kind: &str, now: i64, message: impl Into<String>) -> TaskEvent {
    TaskEvent::new(kind, now, message)
}

/// `Received`: the client has the allocation.
pub fn received(now: i64) -> TaskEvent {
    event(task_event::RECEIVED, now, "Task received by client")
}

/// `Task Setup`: the task directory is being built.
pub fn setup(now: i64) -> TaskEvent {
    event(task_event::SETUP, now, "Building Task Directory")
}

/// `Setup Failure`: the task directory could not be built; fails the task.
pub fn setup_failure(now: i64, error: &str) -> TaskEvent {
    let mut e = event(task_event::SETUP_FAILURE, now, error);
    e.fails_task = true;
    e.details.insert("setup_error".into(), error.into());
    e
}

/// `Started`: the driver started the task.
pub fn started(now: i64) -> TaskEvent {
    event(task_event::STARTED, now, "Task started by client")
}

/// `Terminated`: the task exited with a code (and maybe a signal).
pub fn terminated(now: i64, exit: ExitResult) -> TaskEvent {
    let mut msg = format!("Exit Code: {}", exit.code);
    if exit.signal != 0 {
        msg.push_str(&format!(", Signal: {}", exit.signal));
    }
    let mut e = event(task_event::TERMINATED, now, msg);
    e.exit_code = exit.code;
    e.signal = exit.signal;
    e.details.insert("exit_code".into(), exit.code.to_string());
    e.details.insert("signal".into(), exit.signal.to_string());
    e
}

/// Event type: the kernel's OOM killer ended the task (Nomad's `OOM Killed`).
pub const OOM_KILLED: &str = "OOM Killed";

/// `OOM Killed`: the task ran out of memory and was killed.
pub fn oom_killed(now: i64) -> TaskEvent {
    let mut e = event(OOM_KILLED, now, "OOM Killed");
    e.details.insert("oom_killed".into(), "true".into());
    e
}

/// `Restarting`: the task starts again after `delay`.
pub fn restarting(now: i64, delay: Duration, reason: &str) -> TaskEvent {
    let when = format!("Task restarting in {}", go_duration(delay));
    let msg = if reason.is_empty() || reason == REASON_WITHIN_POLICY {
        when
    } else {
        format!("{reason} - {when}")
    };
    let mut e = event(task_event::RESTARTING, now, msg);
    e.start_delay = duration_ns(delay);
    e.restart_reason = reason.to_string();
    e.details.insert("restart_reason".into(), reason.into());
    e.details
        .insert("start_delay".into(), e.start_delay.to_string());
    e
}

/// `Not Restarting`: the restart policy gave up; fails the task.
pub fn not_restarting(now: i64, reason: &str) -> TaskEvent {
    let mut e = event(task_event::NOT_RESTARTING, now, reason);
    e.restart_reason = reason.to_string();
    e.fails_task = true;
    e.details.insert("restart_reason".into(), reason.into());
    e.details.insert("fails_task".into(), "true".into());
    e
}

/// `Killing`: the kill signal was sent; SIGKILL follows after `kill_timeout`.
pub fn killing(now: i64, kill_timeout: Duration) -> TaskEvent {
    let msg = format!(
        "Sent interrupt. Waiting {} before force killing",
        go_duration(kill_timeout)
    );
    let mut e = event(task_event::KILLING, now, msg);
    e.kill_timeout = duration_ns(kill_timeout);
    e.details
        .insert("kill_timeout".into(), e.kill_timeout.to_string());
    e
}

/// `Waiting for shutdown delay`: the task keeps running for its `shutdown_delay` before the
/// kill signal.
pub fn waiting_shutdown_delay(now: i64, delay: Duration) -> TaskEvent {
    let msg = format!(
        "Waiting for shutdown_delay of {} before killing the task.",
        go_duration(delay)
    );
    event("Waiting for shutdown delay", now, msg)
}

/// `Killed`: the task is gone.
pub fn killed(now: i64) -> TaskEvent {
    event(task_event::KILLED, now, "Task successfully killed")
}

/// `Driver Failure`: the driver could not start the task.
pub fn driver_failure(now: i64, error: &str, fails_task: bool) -> TaskEvent {
    let mut e = event(task_event::DRIVER_FAILURE, now, error);
    e.driver_error = error.to_string();
    e.fails_task = fails_task;
    e.details.insert("driver_error".into(), error.into());
    e
}

/// `Downloading Artifacts`: the task's artifacts are being fetched.
pub fn downloading_artifacts(now: i64) -> TaskEvent {
    event(
        task_event::DOWNLOADING_ARTIFACTS,
        now,
        "Client is downloading artifacts",
    )
}

/// `Failed Artifact Download`: fetching, verifying or unpacking an artifact failed.
pub fn artifact_download_failed(now: i64, error: &str) -> TaskEvent {
    let mut e = event(task_event::ARTIFACT_DOWNLOAD_FAILED, now, error);
    e.download_error = error.to_string();
    e.details.insert("download_error".into(), error.into());
    e
}

/// `Task Setup` with `Failed to migrate data: ...`: the previous allocation's data could not
/// be fetched (`ephemeral_disk { migrate = true }`); the task starts without it, as in Nomad.
pub fn migrate_failed(now: i64, error: &str) -> TaskEvent {
    let mut e = event(
        task_event::SETUP,
        now,
        format!("Failed to migrate data: {error}"),
    );
    e.details.insert("migrate_error".into(), error.into());
    e
}

/// `Sibling Task Failed`: another task of the allocation failed, so this one is stopped.
pub fn sibling_failed(now: i64, sibling: &str) -> TaskEvent {
    let mut e = event(
        task_event::SIBLING_FAILED,
        now,
        format!("Task's sibling {sibling:?} failed"),
    );
    e.details.insert("failed_sibling".into(), sibling.into());
    e
}

/// `Leader Task Dead`: the group's leader task died, so this one is stopped.
pub fn leader_dead(now: i64) -> TaskEvent {
    event(LEADER_DEAD, now, "Leader Task in Group dead")
}

/// `Main Tasks Dead`: the group's main tasks are done, so this sidecar is stopped.
pub fn main_tasks_dead(now: i64) -> TaskEvent {
    event(MAIN_DEAD, now, "Main tasks in the group died")
}

/// The event that explains a kill, if the reason needs one.
pub fn kill_reason(now: i64, reason: &crate::allocrunner::KillReason) -> Option<TaskEvent> {
    use crate::allocrunner::KillReason;
    match reason {
        KillReason::Stop => None,
        KillReason::SiblingFailed(sibling) => Some(sibling_failed(now, sibling)),
        KillReason::LeaderDead => Some(leader_dead(now)),
        KillReason::MainTasksDead => Some(main_tasks_dead(now)),
    }
}

/// `Restarting` recorded when the agent restarted under a task that was running.
pub fn client_restarted(now: i64) -> TaskEvent {
    restarting(now, Duration::ZERO, REASON_CLIENT_RESTARTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_messages_match_nomad() {
        let t = terminated(
            1,
            ExitResult {
                code: 130,
                signal: 2,
            },
        );
        assert_eq!(t.display_message, "Exit Code: 130, Signal: 2");
        assert_eq!((t.exit_code, t.signal), (130, 2));
        let r = restarting(1, Duration::from_millis(15_200), REASON_WITHIN_POLICY);
        assert_eq!(r.display_message, "Task restarting in 15.2s");
        assert_eq!(r.start_delay, 15_200_000_000);
        let k = killing(1, Duration::from_secs(5));
        assert_eq!(
            k.display_message,
            "Sent interrupt. Waiting 5s before force killing"
        );
        let s = sibling_failed(1, "web");
        assert_eq!(s.display_message, "Task's sibling \"web\" failed");
        assert_eq!(s.event_type, "Sibling Task Failed");
    }

    #[test]
    fn failing_events_mark_the_state_failed_and_events_are_capped() {
        let mut state = TaskState::default();
        for i in 0..15 {
            push(&mut state, received(i));
        }
        assert_eq!(state.events.len(), MAX_EVENTS);
        assert_eq!(state.events[0].time, 5);
        assert!(!state.failed);
        push(&mut state, not_restarting(20, "gave up"));
        assert!(state.failed);
    }
}
