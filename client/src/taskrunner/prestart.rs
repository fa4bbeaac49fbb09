//! Prestart hook: build the task's directory (`Task Setup`).

use nomadish_proto::model::{TASK_STATE_DEAD, now_ns};

use super::{TaskRunner, events};

/// Builds `<alloc>/<task>/{local,secrets,tmp}`; on failure the task is dead and failed.
pub(super) async fn build_task_dir(tr: &mut TaskRunner) -> bool {
    tr.event(events::setup(now_ns()));
    tr.emit();
    match tr.alloc_dir.build_task(&tr.name).await {
        Ok(_) => true,
        Err(e) => {
            let msg = format!("failed to build task directory: {e}");
            tr.event(events::setup_failure(now_ns(), &msg));
            tr.set_state(TASK_STATE_DEAD);
            tr.emit();
            false
        }
    }
}
