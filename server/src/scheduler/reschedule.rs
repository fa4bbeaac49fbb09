//! Rescheduling failed allocations, per the task group's `reschedule` policy.
//!
//! ```text
//!   failed, desired run ──policy off / attempts used──> leave it (still counts toward Count)
//!          │
//!          ├── due now (or this eval is its follow-up) ──> stop it, place a replacement with
//!          │                                               a new RescheduleTracker event
//!          └── due later ──> follow-up eval (WaitUntil = due time), alloc gets FollowupEvalID
//! ```
//!
//! The failure time is the latest task `FinishedAt`, else the allocation's `ModifyTime`; the
//! delay grows per `delay_function` (constant, exponential, fibonacci) up to `max_delay`.

use nomadish_proto::model::{
    Allocation, EVAL_STATUS_PENDING, Evaluation, Job, NS_PER_SEC, RescheduleEvent,
    ReschedulePolicy, RescheduleTracker, trigger,
};

use super::util::Rng;

/// An allocation due within this window counts as due now (Nomad's `rescheduleWindowSize`).
pub const RESCHEDULE_WINDOW_NS: i64 = NS_PER_SEC;

/// Delayed reschedules due within this window of each other share one follow-up eval.
pub const FOLLOWUP_BATCH_WINDOW_NS: i64 = 5 * NS_PER_SEC;

/// With unlimited reschedules, only this many past events are carried forward.
pub const MAX_PAST_RESCHEDULE_EVENTS: usize = 5;

/// `StatusDescription` of follow-up evaluations.
pub const FOLLOWUP_EVAL_DESCRIPTION: &str = "created for delayed rescheduling";

/// What to do with a failed allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Replace it now.
    Now,
    /// Replace it at this time (Unix ns) through a follow-up evaluation.
    Later(i64),
    /// Leave it: rescheduling is off, the attempts are used up, or a follow-up is pending.
    No,
}

/// Decides the fate of a failed allocation whose desired status is `run`.
pub(crate) fn decide(
    alloc: &Allocation,
    policy: Option<&ReschedulePolicy>,
    eval_id: &str,
    now: i64,
) -> Decision {
    if alloc.desired_transition.force_reschedule == Some(true) {
        return Decision::Now;
    }
    let Some(policy) = policy else {
        return Decision::No;
    };
    if policy.attempts == 0 && !policy.unlimited {
        return Decision::No;
    }
    let fail_time = failure_time(alloc);
    if fail_time <= 0 {
        return Decision::No;
    }
    let delay = next_delay(alloc, policy);
    if !eligible(alloc, policy, fail_time, delay) {
        return Decision::No;
    }
    let due = fail_time.saturating_add(delay);
    if alloc.followup_eval_id == eval_id || due - now <= RESCHEDULE_WINDOW_NS {
        Decision::Now
    } else if alloc.followup_eval_id.is_empty() {
        Decision::Later(due)
    } else {
        Decision::No
    }
}

fn events(alloc: &Allocation) -> &[RescheduleEvent] {
    alloc
        .reschedule_tracker
        .as_ref()
        .map_or(&[], |t| t.events.as_slice())
}

/// Whether the policy allows another attempt: unlimited, or fewer than `attempts` reschedules
/// within `interval` before the failure (and the next delay fits in the interval).
fn eligible(alloc: &Allocation, policy: &ReschedulePolicy, fail_time: i64, delay: i64) -> bool {
    let past = events(alloc);
    if policy.attempts > 0 && !past.is_empty() {
        let attempted = past
            .iter()
            .filter(|e| fail_time - e.reschedule_time < policy.interval)
            .count() as i64;
        return attempted < policy.attempts && delay < policy.interval;
    }
    policy.unlimited || policy.attempts > 0
}

/// When the allocation failed: its latest task `FinishedAt`, else its `ModifyTime`.
pub(crate) fn failure_time(alloc: &Allocation) -> i64 {
    alloc
        .task_states
        .values()
        .filter_map(|s| s.finished_at.as_deref())
        .filter_map(|t| humantime::parse_rfc3339_weak(t).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .max()
        .unwrap_or(alloc.modify_time)
}

/// The delay before the next reschedule of this allocation.
pub(crate) fn next_delay(alloc: &Allocation, policy: &ReschedulePolicy) -> i64 {
    let past = events(alloc);
    let Some(last) = past.last() else {
        return policy.delay;
    };
    let mut delay = match policy.delay_function.as_str() {
        "exponential" => last.delay.saturating_mul(2),
        "fibonacci" => match past.len() {
            0 | 1 => policy.delay,
            n => {
                let (n2, n1) = (past[n - 2].delay, past[n - 1].delay);
                if n2 == policy.max_delay && n1 == policy.delay {
                    n1
                } else {
                    n1.saturating_add(n2)
                }
            }
        },
        _ => return policy.delay,
    };
    if policy.max_delay > 0 && delay > policy.max_delay {
        delay = policy.max_delay;
        // A long quiet period since the last reschedule starts the series over.
        if failure_time(alloc) - last.reschedule_time > delay {
            delay = policy.delay;
        }
    }
    delay
}

/// The tracker of a replacement: the old events still relevant, plus this reschedule.
pub(crate) fn next_tracker(
    prev: &Allocation,
    policy: Option<&ReschedulePolicy>,
    now: i64,
) -> RescheduleTracker {
    let past = events(prev);
    let mut events: Vec<RescheduleEvent> = match policy {
        Some(p) if p.attempts > 0 => past
            .iter()
            .filter(|e| p.interval > 0 && now - e.reschedule_time <= p.interval)
            .cloned()
            .collect(),
        _ => past[past.len().saturating_sub(MAX_PAST_RESCHEDULE_EVENTS)..].to_vec(),
    };
    events.push(RescheduleEvent {
        reschedule_time: now,
        prev_alloc_id: prev.id.clone(),
        prev_node_id: prev.node_id.clone(),
        delay: policy.map_or(0, |p| next_delay(prev, p)),
    });
    RescheduleTracker { events }
}

/// Nodes a rescheduled replacement should avoid: where it and its predecessors failed.
pub(crate) fn penalty_node_ids(prev: &Allocation) -> impl Iterator<Item = &str> {
    std::iter::once(prev.node_id.as_str())
        .chain(events(prev).iter().map(|e| e.prev_node_id.as_str()))
}

/// Follow-up evaluations for delayed reschedules, batching those due within
/// [`FOLLOWUP_BATCH_WINDOW_NS`] of the first of a batch. Returns the evaluations and, per
/// input (same order), the ID of the evaluation that will reschedule it.
pub(crate) fn followup_evals(
    due_times: &[i64],
    eval: &Evaluation,
    job: &Job,
    now: i64,
    rng: &mut Rng,
) -> (Vec<Evaluation>, Vec<String>) {
    let mut order: Vec<usize> = (0..due_times.len()).collect();
    order.sort_by_key(|&i| due_times[i]);
    let mut evals: Vec<Evaluation> = Vec::new();
    let mut ids = vec![String::new(); due_times.len()];
    let mut batch_start = i64::MIN;
    for i in order {
        let due = due_times[i];
        if evals.is_empty() || due - batch_start >= FOLLOWUP_BATCH_WINDOW_NS {
            batch_start = due;
            evals.push(followup_eval(rng.uuid(), eval, job, due, now));
        }
        ids[i] = evals.last().map(|e| e.id.clone()).unwrap_or_default();
    }
    (evals, ids)
}

fn followup_eval(
    id: String,
    eval: &Evaluation,
    job: &Job,
    wait_until: i64,
    now: i64,
) -> Evaluation {
    Evaluation {
        id,
        namespace: job.namespace.clone(),
        priority: job.priority,
        eval_type: job.job_type.clone(),
        triggered_by: trigger::FAILED_FOLLOW_UP.to_string(),
        job_id: job.id.clone(),
        job_modify_index: job.job_modify_index,
        status: EVAL_STATUS_PENDING.to_string(),
        status_description: FOLLOWUP_EVAL_DESCRIPTION.to_string(),
        wait_until,
        previous_eval: eval.id.clone(),
        create_time: now,
        modify_time: now,
        ..Default::default()
    }
}
