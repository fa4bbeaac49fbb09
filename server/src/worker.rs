//! Scheduler workers on the leader.
//!
//! ```text
//!   broker.dequeue ──> snapshot ──> schedule() on a blocking thread, panics caught
//!        ^                               │
//!        │ ack / nack                    v
//!        └── write eval outcome <── plan applier (refused part -> refresh snapshot, retry)
//! ```
//!
//! A panic in the scheduler fails that one evaluation and nothing else. New evaluations
//! (blocked, follow-ups) reach the broker through the state machine's eval hook once their
//! raft entry is applied, like every other evaluation.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{
    EVAL_STATUS_BLOCKED, EVAL_STATUS_CANCELED, EVAL_STATUS_COMPLETE, EVAL_STATUS_FAILED,
    Evaluation, NS_PER_SEC, generate_id, now_ns, trigger,
};
use tokio::sync::watch;

use crate::broker::{Lease, NackOutcome};
use crate::fsm::Command;
use crate::scheduler::{self, Outcome};
use crate::server::{Server, WriteError};

/// Plan submissions per evaluation before it fails (Nomad's service scheduler limit).
pub const MAX_PLAN_ATTEMPTS: u32 = 5;
/// How long a worker waits on an empty broker before checking for shutdown.
const DEQUEUE_WAIT: Duration = Duration::from_millis(500);
/// How long to wait for the local state to reach an evaluation's index.
const STATE_CATCH_UP: Duration = Duration::from_secs(5);
/// Base delay of the follow-up evaluation created when an evaluation fails (Nomad: 1m).
const FAILED_FOLLOWUP_BASE_NS: i64 = 60 * NS_PER_SEC;
/// Random extra delay of that follow-up, up to this (Nomad: 5m).
const FAILED_FOLLOWUP_RANGE_NS: i64 = 300 * NS_PER_SEC;

/// Processes evaluations until `shutdown`.
pub async fn run_worker(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let lease = tokio::select! {
            lease = server.broker.dequeue(DEQUEUE_WAIT) => lease,
            _ = shutdown.changed() => return,
        };
        let Some(lease) = lease else { continue };
        match process(&server, &lease.eval).await {
            Ok(()) => {
                if let Err(e) = server.broker.ack(&lease) {
                    tracing::warn!(eval = %lease.eval.id, error = %e, "ack failed");
                }
            }
            Err(e) => {
                tracing::warn!(eval = %lease.eval.id, error = %e, "evaluation will be retried");
                nack(&server, &lease).await;
            }
        }
    }
}

async fn nack(server: &Server, lease: &Lease) {
    if let Ok(NackOutcome::Failed(eval)) = server.broker.nack(lease) {
        let desc = "evaluation reached delivery limit (3)";
        if let Err(e) = mark_failed(server, &eval, desc).await {
            tracing::warn!(eval = %eval.id, error = %e, "could not mark evaluation failed");
        }
    }
}

/// Marks an evaluation failed and schedules a delayed follow-up, as Nomad does.
pub async fn mark_failed(
    server: &Server,
    eval: &Evaluation,
    description: &str,
) -> Result<(), WriteError> {
    let now = now_ns();
    let mut failed = eval.clone();
    failed.status = EVAL_STATUS_FAILED.to_string();
    failed.status_description = description.to_string();
    failed.modify_time = now;
    let followup = Evaluation {
        id: generate_id(),
        status: "pending".to_string(),
        status_description: String::new(),
        triggered_by: trigger::FAILED_FOLLOW_UP.to_string(),
        previous_eval: eval.id.clone(),
        wait_until: now
            + FAILED_FOLLOWUP_BASE_NS
            + (rand::random::<f64>() * FAILED_FOLLOWUP_RANGE_NS as f64) as i64,
        failed_tg_allocs: Default::default(),
        queued_allocations: Default::default(),
        create_time: now,
        modify_time: now,
        ..eval.clone()
    };
    failed.next_eval = followup.id.clone();
    server
        .write(Command::UpsertEvals {
            evals: vec![failed, followup],
        })
        .await
        .map(|_| ())
}

fn seed_for(eval: &Evaluation, attempt: u32) -> u64 {
    // FNV-1a over the evaluation ID: the same evaluation gets the same plan.
    let hash = eval.id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash ^ u64::from(attempt)
}

/// Runs the scheduler on a blocking thread, turning a panic into an error message.
async fn schedule_guarded(
    view: crate::state::StateView,
    eval: Evaluation,
    now: i64,
    seed: u64,
) -> Result<Outcome, String> {
    let run = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            crate::fault::maybe_panic(&view, &eval);
            scheduler::schedule(&view, &eval, now, seed)
        }))
    });
    match run.await {
        Ok(Ok(Ok(outcome))) => Ok(outcome),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(panic)) => Err(format!("scheduler panicked: {}", panic_message(&panic))),
        Err(join) => Err(format!("scheduler task failed: {join}")),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

async fn process(server: &Server, eval: &Evaluation) -> Result<(), WriteError> {
    server
        .state
        .wait_for_index(eval.modify_index, STATE_CATCH_UP)
        .await;
    let started = now_ns();
    let mut attempt = 0;
    loop {
        let view = server.state.snapshot();
        let scheduled_at = view.index;
        let invoked = std::time::Instant::now();
        let scheduled =
            schedule_guarded(view, eval.clone(), started, seed_for(eval, attempt)).await;
        let metric = format!("nomad.nomad.worker.invoke_scheduler.{}", eval.eval_type);
        crate::metrics::measure_since(&metric, &[], invoked);
        let outcome = match scheduled {
            Ok(outcome) => outcome,
            Err(message) => {
                tracing::error!(eval = %eval.id, %message, "scheduling failed");
                return mark_failed(server, eval, &message).await;
            }
        };
        let mut plan = outcome.plan.clone();
        let mut refused = false;
        // Follow-up evaluations exist before any plan entry that names them.
        if !outcome.followup_evals.is_empty() {
            let evals = outcome.followup_evals.clone();
            server.write(Command::UpsertEvals { evals }).await?;
        }
        if !plan.is_no_op() {
            if plan.eval_id.is_empty() {
                plan.eval_id = eval.id.clone();
            }
            let result = server.submit_plan(plan).await?;
            if result.refresh_index > 0 {
                refused = true;
                attempt += 1;
                if attempt < MAX_PLAN_ATTEMPTS {
                    server
                        .state
                        .wait_for_index(result.refresh_index, STATE_CATCH_UP)
                        .await;
                    continue;
                }
            }
        }
        return finish(server, eval, outcome, scheduled_at, refused).await;
    }
}

/// Records the evaluation's outcome: complete (or still blocked), with a new blocked evaluation
/// when placements failed, and the scheduler's follow-ups. `scheduled_at` is the index of the
/// snapshot the outcome was computed on.
async fn finish(
    server: &Server,
    eval: &Evaluation,
    outcome: Outcome,
    scheduled_at: u64,
    refused: bool,
) -> Result<(), WriteError> {
    if refused {
        return mark_failed(
            server,
            eval,
            &format!("maximum attempts reached ({MAX_PLAN_ATTEMPTS})"),
        )
        .await;
    }
    let now = now_ns();
    let view = server.state.snapshot();
    let mut done = eval.clone();
    done.modify_time = now;
    done.snapshot_index = view.index;
    done.failed_tg_allocs = outcome.failed_tg_allocs.clone();
    done.queued_allocations = outcome.queued_allocations.clone();
    if done.deployment_id.is_empty() {
        done.deployment_id = crate::deployments::ops::eval_deployment(&view, eval, &outcome);
    }
    let mut evals = Vec::new();
    let placing_failed = !outcome.failed_tg_allocs.is_empty();
    let mut keep_blocked = None;
    if placing_failed && eval.status == EVAL_STATUS_BLOCKED {
        // Still blocked: it waits for capacity freed after the snapshot it just ran on.
        done.snapshot_index = scheduled_at;
        keep_blocked = Some(eval.id.clone());
    } else {
        done.status = EVAL_STATUS_COMPLETE.to_string();
        if placing_failed {
            let mut blocked = blocked_eval(eval, &outcome, now);
            blocked.snapshot_index = scheduled_at;
            done.blocked_eval = blocked.id.clone();
            keep_blocked = Some(blocked.id.clone());
            evals.push(blocked);
        }
    }
    // Older blocked evaluations of this job are superseded.
    for old in view.job_evals(&eval.namespace, &eval.job_id) {
        if old.status == EVAL_STATUS_BLOCKED
            && old.id != eval.id
            && Some(&old.id) != keep_blocked.as_ref()
        {
            let mut canceled = Evaluation::clone(&old);
            canceled.status = EVAL_STATUS_CANCELED.to_string();
            canceled.status_description = format!("evaluation {} successful", eval.id);
            canceled.modify_time = now;
            evals.push(canceled);
        }
    }
    evals.insert(0, done);
    server
        .write(Command::UpsertEvals { evals })
        .await
        .map(|_| ())
}

fn blocked_eval(eval: &Evaluation, outcome: &Outcome, now: i64) -> Evaluation {
    Evaluation {
        id: generate_id(),
        namespace: eval.namespace.clone(),
        priority: eval.priority,
        eval_type: eval.eval_type.clone(),
        triggered_by: trigger::QUEUED_ALLOCS.to_string(),
        job_id: eval.job_id.clone(),
        job_modify_index: eval.job_modify_index,
        status: EVAL_STATUS_BLOCKED.to_string(),
        status_description: "created to place remaining allocations".to_string(),
        previous_eval: eval.id.clone(),
        failed_tg_allocs: outcome.failed_tg_allocs.clone(),
        quota_limit_reached: quota_limit_reached(eval, outcome),
        queued_allocations: outcome.queued_allocations.clone(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    }
}

/// The namespace whose quota held placements back (Nomad's `QuotaLimitReached`), if any.
fn quota_limit_reached(eval: &Evaluation, outcome: &Outcome) -> String {
    let hit = outcome
        .failed_tg_allocs
        .values()
        .any(|m| !m.quota_exhausted.is_empty());
    if hit {
        eval.namespace.clone()
    } else {
        String::new()
    }
}
