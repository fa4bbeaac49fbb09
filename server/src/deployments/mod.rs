//! Deployments on the leader: the watcher that moves rollouts forward, and the operator
//! actions of the HTTP API.
//!
//! ```text
//!   state changes / WATCH_TICK ──> WatcherCore::observe(view, now) ──> [Action]
//!                                                                        │ execute (raft writes)
//!     Evaluate ─> UpsertEvals   SetStatus ─> UpdateDeploymentStatus (+ eval when failed)
//!     Promote ─> PromoteDeployment        Revert ─> UpdateDeploymentStatus, UpsertJob(stable spec)
//! ```

pub mod ops;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{
    DEPLOYMENT_STATUS_FAILED, DeploymentStatusUpdate, Job, now_ns, trigger,
};
use tokio::sync::watch as tokio_watch;

use crate::evals::job_eval;
use crate::fsm::Command;
use crate::server::Server;
use ops::{DeploymentError, deployment_eval};
use watch::{Action, WatcherCore};

/// How often deadlines are checked when nothing else changes.
pub const WATCH_TICK: Duration = Duration::from_secs(1);

/// Runs the deployment watcher until `shutdown` (leader only).
pub async fn run_deployment_watcher(
    server: Arc<Server>,
    mut shutdown: tokio_watch::Receiver<bool>,
) {
    let mut core = WatcherCore::default();
    let mut changes = server.state.subscribe();
    let mut tick = tokio::time::interval(WATCH_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let view = server.state.snapshot();
        for action in core.observe(&view, now_ns()) {
            if let Err(e) = execute(&server, action.clone()).await {
                tracing::warn!(?action, error = %e, "deployment watcher action failed");
            }
        }
    }
}

/// Carries out one decision of the watcher.
pub async fn execute(server: &Server, action: Action) -> Result<(), DeploymentError> {
    let view = server.state.snapshot();
    match action {
        Action::Evaluate { deployment_id } => {
            let d = ops::find(&view, &deployment_id)?;
            if let Some(eval) = deployment_eval(&view, &d, now_ns()) {
                server
                    .write(Command::UpsertEvals { evals: vec![eval] })
                    .await?;
            }
        }
        Action::SetStatus {
            deployment_id,
            status,
            description,
        } => {
            let d = ops::find(&view, &deployment_id)?;
            let eval = (status == DEPLOYMENT_STATUS_FAILED)
                .then(|| deployment_eval(&view, &d, now_ns()))
                .flatten();
            let update = DeploymentStatusUpdate {
                deployment_id,
                status,
                status_description: description,
            };
            ops::set_status(server, update, eval).await?;
        }
        Action::Promote { deployment_id } => {
            ops::promote(server, &deployment_id, Vec::new()).await?;
        }
        Action::Revert {
            deployment_id,
            description,
            version,
        } => revert(server, deployment_id, description, version).await?,
    }
    Ok(())
}

/// Fails the deployment and registers the stable version's specification as a new version.
async fn revert(
    server: &Server,
    deployment_id: String,
    description: String,
    version: u64,
) -> Result<(), DeploymentError> {
    let view = server.state.snapshot();
    let d = ops::find(&view, &deployment_id)?;
    let key = (d.namespace.clone(), d.job_id.clone(), version);
    let (Some(stable), Some(current)) = (
        view.job_versions.get(&key).cloned(),
        view.job(&d.namespace, &d.job_id),
    ) else {
        return Err(DeploymentError::NotFound);
    };
    let update = DeploymentStatusUpdate {
        deployment_id,
        status: DEPLOYMENT_STATUS_FAILED.to_string(),
        status_description: description,
    };
    ops::set_status(server, update, None).await?;
    let mut job = Job::clone(&stable);
    job.stable = false;
    let now = now_ns();
    let eval = job_eval(&job, trigger::JOB_REGISTER, now);
    tracing::info!(job = %job.id, version, "deployment failed; reverting the job to its stable version");
    server
        .write(Command::UpsertJob {
            job: Box::new(job),
            eval: Some(eval),
            enforce_index: Some(current.job_modify_index),
            now,
        })
        .await?;
    Ok(())
}
