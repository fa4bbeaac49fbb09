//! Exited hook: apply the restart policy after the task exits or fails to start.

use nomadish_proto::model::{TASK_STATE_DEAD, TASK_STATE_PENDING, now_ns, rfc3339};
use tokio::time::Instant;

use super::restart::{Decision, Outcome, RestartTracker};
use super::{TaskRunner, events, stop};

/// Decides what follows `outcome`; true when the task is to be started again.
pub(super) async fn after_exit(
    tr: &mut TaskRunner,
    tracker: &mut RestartTracker,
    outcome: Outcome,
) -> bool {
    // A kill that raced the exit wins: the task stays dead.
    if let Some(reason) = tr.kill_reason() {
        stop::killed_while_idle(tr, reason);
        return false;
    }
    let now = now_ns();
    match tracker.decide(outcome, Instant::now(), rand::random::<f64>()) {
        Decision::Restart { delay, reason } => {
            tr.event(events::restarting(now, delay, &reason));
            tr.state.restarts += 1;
            tr.state.last_restart = Some(rfc3339(now));
            tr.set_state(TASK_STATE_PENDING);
            tr.emit();
            tokio::select! {
                () = tokio::time::sleep(delay) => true,
                reason = tr.kill_requested() => {
                    stop::killed_while_idle(tr, reason);
                    false
                }
            }
        }
        Decision::Fail { reason } => {
            tr.event(events::not_restarting(now, &reason));
            tr.set_state(TASK_STATE_DEAD);
            tr.emit();
            false
        }
        Decision::Complete { .. } => {
            tr.set_state(TASK_STATE_DEAD);
            tr.emit();
            false
        }
    }
}
