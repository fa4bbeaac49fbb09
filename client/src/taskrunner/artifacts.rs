//! Prestart hook: fetch the task's artifacts into its directory (`Downloading Artifacts`).
//! A failure is a `Failed Artifact Download` event and a recoverable start failure, so the
//! restart policy decides whether to try again, as Nomad does.

use nomadish_proto::model::now_ns;

use super::{TaskRunner, events, restart::Outcome};

/// Fetches every artifact once; on failure returns the outcome for the restart policy.
pub(super) async fn fetch_artifacts(tr: &mut TaskRunner) -> Result<(), Outcome> {
    if tr.task.artifacts.is_empty() {
        return Ok(());
    }
    tr.event(events::downloading_artifacts(now_ns()));
    tr.emit();
    let task_dir = tr.alloc_dir.task_dir(&tr.name);
    for artifact in tr.task.artifacts.clone() {
        if let Err(err) = crate::artifact::get(&artifact, &task_dir).await {
            tracing::warn!(alloc_id = %tr.alloc_id, task = %tr.name, error = %err, "artifact failed");
            tr.event(events::artifact_download_failed(now_ns(), &err));
            return Err(Outcome::StartFailed { recoverable: true });
        }
    }
    Ok(())
}
