//! `job plan`: what registering a job would do, computed on a copy of a state view and never
//! committed.
//!
//! ```text
//!   view.clone() ──apply UpsertJob (FSM, in memory)──> dry view ──schedule (annotated eval)──>
//!   Outcome { plan.annotations, failed_tg_allocs } + diff(registered job, submitted job)
//!   ──> JobPlanResponse
//! ```

pub mod diff;

use nomadish_proto::model::{
    DIFF_ADDED, DIFF_DELETED, DIFF_EDITED, DesiredUpdates, Job, JobDiff, JobPlanResponse, trigger,
};

use crate::evals::job_eval;
use crate::fsm::{self, ApplyError, Command};
use crate::scheduler::{self, SchedulerError};
use crate::state::StateView;

/// Why a plan could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Registering the job would be refused.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The scheduler refused the evaluation.
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
}

/// Plans `job` (canonicalized and validated) against `view` at time `now` (Unix ns).
pub fn plan_job(
    view: &StateView,
    job: Job,
    now: i64,
    seed: u64,
) -> Result<JobPlanResponse, PlanError> {
    let old = view.job(&job.namespace, &job.id);
    let mut dry = view.clone();
    let key = (job.namespace.clone(), job.id.clone());
    let resp = fsm::apply(
        &mut dry,
        view.index + 1,
        Command::UpsertJob {
            job: Box::new(job),
            eval: None,
            enforce_index: None,
            now,
        },
    );
    if let Some(e) = resp.error {
        return Err(e.into());
    }
    let Some(new) = dry.jobs.get(&key).cloned() else {
        return Err(ApplyError::NotFound {
            kind: "job".to_string(),
        }
        .into());
    };
    let mut out = JobPlanResponse {
        job_modify_index: old.as_ref().map_or(0, |j| j.job_modify_index),
        index: view.index,
        ..JobPlanResponse::default()
    };
    let mut diff = diff::job_diff(old.as_deref(), &new);
    if !new.is_parent() {
        let mut eval = job_eval(&new, trigger::JOB_REGISTER, now);
        eval.annotate_plan = true;
        let outcome = scheduler::schedule(&dry, &eval, now, seed)?;
        let annotations = outcome.plan.annotations.clone().unwrap_or_default();
        annotate(&mut diff, &annotations.desired_tg_updates);
        out.annotations = Some(annotations);
        out.failed_tg_allocs = outcome.failed_tg_allocs;
    }
    out.diff = Some(diff);
    Ok(out)
}

/// Puts the scheduler's counts on the group diffs and says what each task change forces.
fn annotate(diff: &mut JobDiff, updates: &std::collections::BTreeMap<String, DesiredUpdates>) {
    for group in &mut diff.task_groups {
        let Some(u) = updates.get(&group.name) else {
            continue;
        };
        for (name, n) in [
            ("create", u.place),
            ("destroy", u.stop),
            ("migrate", u.migrate),
            ("in-place update", u.in_place_update),
            ("create/destroy update", u.destructive_update),
            ("canary", u.canary),
            ("ignore", u.ignore),
        ] {
            if n > 0 {
                group.updates.insert(name.to_string(), n);
            }
        }
        for f in group.fields.iter_mut().filter(|f| f.name == "Count") {
            let (old, new) = (f.old.parse::<i64>(), f.new.parse::<i64>());
            if let (Ok(old), Ok(new)) = (old, new) {
                if new > old {
                    f.annotations.push("forces create".to_string());
                } else if new < old {
                    f.annotations.push("forces destroy".to_string());
                }
            }
        }
        for task in &mut group.tasks {
            let note = match task.diff_type.as_str() {
                DIFF_ADDED => "forces create",
                DIFF_DELETED => "forces destroy",
                DIFF_EDITED if u.destructive_update > 0 => "forces create/destroy update",
                DIFF_EDITED if u.in_place_update > 0 => "forces in-place update",
                _ => continue,
            };
            task.annotations.push(note.to_string());
        }
    }
}

/// Nomad's `job plan` exit code: 1 when allocations would be created or destroyed, else 0.
pub fn changes_allocations(resp: &JobPlanResponse) -> bool {
    resp.annotations.as_ref().is_some_and(|a| {
        a.desired_tg_updates
            .values()
            .any(|d| d.stop + d.place + d.migrate + d.destructive_update + d.canary > 0)
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
