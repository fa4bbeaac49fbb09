//! Operator actions on deployments (`promote`, `fail`, `pause`, `resume`), checked against the
//! current state before their command is written. Shared by the HTTP API and the watcher.

use std::sync::Arc;

use nomadish_proto::model::{
    DEPLOYMENT_STATUS_FAILED, DEPLOYMENT_STATUS_PAUSED, DEPLOYMENT_STATUS_RUNNING, Deployment,
    DeploymentStatusUpdate, DeploymentUpdateResponse, Evaluation, deployment_desc, now_ns, trigger,
};

use crate::evals::job_eval;
use crate::fsm::Command;
use crate::server::{Server, WriteError};
use crate::state::StateView;

/// Why a deployment action was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// No deployment has this ID (or prefix).
    #[error("deployment not found")]
    NotFound,
    /// The deployment already ended.
    #[error("can't {action} terminal deployment")]
    Terminal {
        /// `promote`, `fail`, `pause` or `resume`.
        action: &'static str,
    },
    /// Promotion asked of a deployment (or group) without canaries.
    #[error("{what} has no canaries to promote")]
    NoCanaries {
        /// `Deployment` or `Task group "x"`.
        what: String,
    },
    /// Some canaries are not healthy yet.
    #[error("Task group {group:?} has {healthy}/{desired} healthy allocations")]
    UnhealthyCanaries {
        /// The group.
        group: String,
        /// Healthy canaries.
        healthy: u64,
        /// Desired canaries.
        desired: u64,
    },
    /// The write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Finds a deployment by full ID or unique prefix.
pub fn find(view: &StateView, id: &str) -> Result<Arc<Deployment>, DeploymentError> {
    if let Some(d) = view.deployments.get(id) {
        return Ok(d.clone());
    }
    let matches = view.deployments_by_prefix("*", id);
    match matches.as_slice() {
        [one] if !id.is_empty() => Ok(one.clone()),
        _ => Err(DeploymentError::NotFound),
    }
}

/// An evaluation of the deployment's job, triggered by the deployment watcher.
pub fn deployment_eval(view: &StateView, d: &Deployment, now: i64) -> Option<Evaluation> {
    let job = view.job(&d.namespace, &d.job_id)?;
    let mut eval = job_eval(&job, trigger::DEPLOYMENT_WATCHER, now);
    eval.deployment_id = d.id.clone();
    Some(eval)
}

/// The deployment an evaluation worked within: the one its plan created, or the job's
/// active deployment (empty when none).
pub fn eval_deployment(
    view: &StateView,
    eval: &Evaluation,
    outcome: &crate::scheduler::Outcome,
) -> String {
    if let Some(d) = &outcome.plan.deployment {
        return d.id.clone();
    }
    view.latest_deployment(&eval.namespace, &eval.job_id)
        .filter(|d| d.active())
        .map(|d| d.id.clone())
        .unwrap_or_default()
}

/// Checks that `groups` (all when empty) of the deployment may be promoted now.
pub fn check_promotion(d: &Deployment, groups: &[String]) -> Result<(), DeploymentError> {
    if !d.active() {
        return Err(DeploymentError::Terminal { action: "promote" });
    }
    let mut any = false;
    for (name, state) in &d.task_groups {
        if !groups.is_empty() && !groups.contains(name) {
            continue;
        }
        if state.desired_canaries == 0 {
            if !groups.is_empty() {
                return Err(DeploymentError::NoCanaries {
                    what: format!("Task group {name:?}"),
                });
            }
            continue;
        }
        any = true;
        if state.healthy_allocs < state.desired_canaries {
            return Err(DeploymentError::UnhealthyCanaries {
                group: name.clone(),
                healthy: state.healthy_allocs,
                desired: state.desired_canaries,
            });
        }
    }
    if any {
        Ok(())
    } else {
        Err(DeploymentError::NoCanaries {
            what: "Deployment".to_string(),
        })
    }
}

/// Promotes canaries, with an evaluation that continues the rollout.
pub async fn promote(
    server: &Server,
    id: &str,
    groups: Vec<String>,
) -> Result<DeploymentUpdateResponse, DeploymentError> {
    let view = server.state.snapshot();
    let d = find(&view, id)?;
    check_promotion(&d, &groups)?;
    let eval = deployment_eval(&view, &d, now_ns());
    let cmd = Command::PromoteDeployment {
        deployment_id: d.id.clone(),
        groups,
        eval: eval.clone(),
        now: now_ns(),
    };
    respond(server, cmd, eval).await
}

/// Marks a deployment failed (`deployment fail`), with an evaluation.
pub async fn fail(server: &Server, id: &str) -> Result<DeploymentUpdateResponse, DeploymentError> {
    let view = server.state.snapshot();
    let d = find(&view, id)?;
    if !d.active() {
        return Err(DeploymentError::Terminal { action: "fail" });
    }
    let update = status(
        &d,
        DEPLOYMENT_STATUS_FAILED,
        deployment_desc::FAILED_BY_USER,
    );
    let eval = deployment_eval(&view, &d, now_ns());
    set_status(server, update, eval).await
}

/// Pauses or resumes a deployment.
pub async fn pause(
    server: &Server,
    id: &str,
    pause: bool,
) -> Result<DeploymentUpdateResponse, DeploymentError> {
    let view = server.state.snapshot();
    let d = find(&view, id)?;
    if !d.active() {
        let action = if pause { "pause" } else { "resume" };
        return Err(DeploymentError::Terminal { action });
    }
    let (new_status, description, eval) = if pause {
        (DEPLOYMENT_STATUS_PAUSED, deployment_desc::PAUSED, None)
    } else {
        let description = if d.requires_promotion() {
            deployment_desc::RUNNING_NEEDS_PROMOTION
        } else {
            deployment_desc::RUNNING
        };
        let eval = deployment_eval(&view, &d, now_ns());
        (DEPLOYMENT_STATUS_RUNNING, description, eval)
    };
    set_status(server, status(&d, new_status, description), eval).await
}

fn status(d: &Deployment, status: &str, description: &str) -> DeploymentStatusUpdate {
    DeploymentStatusUpdate {
        deployment_id: d.id.clone(),
        status: status.to_string(),
        status_description: description.to_string(),
    }
}

/// Writes a status change with its optional evaluation.
pub async fn set_status(
    server: &Server,
    update: DeploymentStatusUpdate,
    eval: Option<Evaluation>,
) -> Result<DeploymentUpdateResponse, DeploymentError> {
    let cmd = Command::UpdateDeploymentStatus {
        update,
        eval: eval.clone(),
        now: now_ns(),
    };
    respond(server, cmd, eval).await
}

/// Sets allocations' health by hand (`deployment allocation-health`), with an evaluation.
pub async fn set_alloc_health(
    server: &Server,
    id: &str,
    healthy: Vec<String>,
    unhealthy: Vec<String>,
) -> Result<DeploymentUpdateResponse, DeploymentError> {
    let view = server.state.snapshot();
    let d = find(&view, id)?;
    if !d.active() {
        return Err(DeploymentError::Terminal {
            action: "set health of allocations of",
        });
    }
    let now = now_ns();
    let eval = deployment_eval(&view, &d, now);
    let verdicts = healthy
        .into_iter()
        .map(|a| (a, true))
        .chain(unhealthy.into_iter().map(|a| (a, false)))
        .collect();
    let cmd = Command::SetAllocHealth {
        deployment_id: d.id.clone(),
        verdicts,
        eval: eval.clone(),
        now,
    };
    respond(server, cmd, eval).await
}

async fn respond(
    server: &Server,
    cmd: Command,
    eval: Option<Evaluation>,
) -> Result<DeploymentUpdateResponse, DeploymentError> {
    let resp = server.write(cmd).await?;
    Ok(DeploymentUpdateResponse {
        eval_id: eval.as_ref().map(|e| e.id.clone()).unwrap_or_default(),
        eval_create_index: if eval.is_some() { resp.index } else { 0 },
        deployment_modify_index: resp.index,
        reverted_job_version: None,
        index: resp.index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{DEPLOYMENT_STATUS_SUCCESSFUL, DeploymentState};

    fn deployment(canaries: u64, healthy: u64) -> Deployment {
        let mut d = Deployment {
            id: "d1".into(),
            status: DEPLOYMENT_STATUS_RUNNING.into(),
            ..Deployment::default()
        };
        d.task_groups.insert(
            "web".into(),
            DeploymentState {
                desired_canaries: canaries,
                healthy_allocs: healthy,
                desired_total: 3,
                ..DeploymentState::default()
            },
        );
        d
    }

    #[test]
    fn promotion_needs_healthy_canaries_of_an_active_deployment() {
        assert!(check_promotion(&deployment(1, 1), &[]).is_ok());
        assert!(matches!(
            check_promotion(&deployment(2, 1), &[]),
            Err(DeploymentError::UnhealthyCanaries {
                healthy: 1,
                desired: 2,
                ..
            })
        ));
        assert!(matches!(
            check_promotion(&deployment(0, 3), &[]),
            Err(DeploymentError::NoCanaries { .. })
        ));
        let mut done = deployment(1, 1);
        done.status = DEPLOYMENT_STATUS_SUCCESSFUL.into();
        let err = check_promotion(&done, &[]).unwrap_err();
        assert_eq!(err.to_string(), "can't promote terminal deployment");
    }

    #[test]
    fn find_accepts_a_unique_prefix() {
        let mut view = StateView::default();
        view.put_deployment(Arc::new(deployment(0, 0)));
        assert_eq!(find(&view, "d").unwrap().id, "d1");
        assert!(matches!(find(&view, "x"), Err(DeploymentError::NotFound)));
    }
}
