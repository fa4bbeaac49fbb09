//! Failed allocations: rescheduled now, later (follow-up eval), or not at all.

use nomadish_proto::model::{
    ALLOC_CLIENT_FAILED, Allocation, EVAL_STATUS_PENDING, NS_PER_SEC, RescheduleEvent,
    ReschedulePolicy, RescheduleTracker, TaskState, rfc3339, trigger,
};

use super::fixture::*;
use crate::scheduler::reschedule::{
    FOLLOWUP_EVAL_DESCRIPTION, failure_time, next_delay, next_tracker,
};
use crate::scheduler::{ALLOC_RESCHEDULED, schedule};

const SEC: i64 = NS_PER_SEC;

fn failed(
    state: &mut MemState,
    job: &std::sync::Arc<nomadish_proto::model::Job>,
    index: u64,
    node: &str,
    ago: i64,
) {
    let mut a = alloc(job, index, node);
    a.client_status = ALLOC_CLIENT_FAILED.into();
    a.modify_time = NOW - ago * SEC;
    state.put_alloc(a);
}

#[test]
fn due_failures_are_rescheduled_now_away_from_the_failed_node() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job("web", 1));
    failed(&mut state, &job, 0, "node-0000", 60);
    let out = run(&state, &job);
    let stop = stopped(&out)[0];
    assert_eq!(stop.id, "alloc-web-0");
    assert_eq!(stop.desired_description, ALLOC_RESCHEDULED);
    let repl = placed(&out)[0];
    assert_eq!(repl.name, "web.web[0]");
    assert_eq!(repl.previous_allocation, "alloc-web-0");
    assert_eq!(repl.node_id, "node-0001", "the failed node is penalized");
    let events = &repl.reschedule_tracker.as_ref().expect("tracker").events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reschedule_time, NOW);
    assert_eq!(events[0].prev_alloc_id, "alloc-web-0");
    assert_eq!(events[0].prev_node_id, "node-0000");
    assert_eq!(events[0].delay, 30 * SEC);
    let metrics = repl.metrics.as_ref().unwrap();
    let previous = metrics
        .score_meta_data
        .iter()
        .find(|n| n.node_id == "node-0000")
        .expect("the previous node's scores");
    assert_eq!(previous.scores.get("node-reschedule-penalty"), Some(&-1.0));
    assert!(out.followup_evals.is_empty());
}

#[test]
fn the_failed_node_is_used_when_it_is_the_only_one() {
    let mut state = MemState::with_nodes(nodes(1));
    let job = state.put_job(job("web", 1));
    failed(&mut state, &job, 0, "node-0000", 60);
    let out = run(&state, &job);
    assert_eq!(placed(&out)[0].node_id, "node-0000");
}

#[test]
fn not_yet_due_failures_get_a_follow_up_eval() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job("web", 1));
    failed(&mut state, &job, 0, "node-0000", 10);
    let out = run(&state, &job);
    assert!(out.plan.node_update.is_empty());
    assert_eq!(out.followup_evals.len(), 1);
    let f = &out.followup_evals[0];
    assert_eq!(f.triggered_by, trigger::FAILED_FOLLOW_UP);
    assert_eq!(f.status, EVAL_STATUS_PENDING);
    assert_eq!(f.status_description, FOLLOWUP_EVAL_DESCRIPTION);
    assert_eq!(f.wait_until, NOW + 20 * SEC);
    assert_eq!(
        (f.job_id.as_str(), f.eval_type.as_str()),
        ("web", "service")
    );
    assert_eq!(f.previous_eval, "eval-0001");
    let marker = placed(&out);
    assert_eq!(marker.len(), 1, "the failed alloc carries the follow-up ID");
    assert_eq!(marker[0].id, "alloc-web-0");
    assert_eq!(marker[0].followup_eval_id, f.id);
    assert_eq!(marker[0].client_status, ALLOC_CLIENT_FAILED);
    assert_eq!(out.queued_allocations["web"], 0);

    state.apply(&out.plan);
    assert!(run(&state, &job).plan.is_no_op(), "no second follow-up");
    let mut followup = f.clone();
    followup.status = EVAL_STATUS_PENDING.into();
    let now = schedule(&state, &followup, NOW + SEC, 3).unwrap();
    assert_eq!(stopped(&now)[0].desired_description, ALLOC_RESCHEDULED);
    assert_eq!(placed(&now)[0].previous_allocation, "alloc-web-0");
}

#[test]
fn follow_ups_due_close_together_share_an_eval() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(job("web", 4));
    failed(&mut state, &job, 0, "node-0000", 10);
    failed(&mut state, &job, 1, "node-0000", 8);
    failed(&mut state, &job, 2, "node-0000", 0);
    state.put_alloc(alloc(&job, 3, "node-0001"));
    let out = run(&state, &job);
    assert_eq!(out.followup_evals.len(), 2);
    let ids: Vec<&str> = placed(&out)
        .iter()
        .map(|a| a.followup_eval_id.as_str())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
}

#[test]
fn exhausted_attempts_leave_the_allocation() {
    let mut state = MemState::with_nodes(nodes(2));
    let job = state.put_job(batch_job("report", 1));
    let mut a = alloc(&job, 0, "node-0000");
    a.client_status = ALLOC_CLIENT_FAILED.into();
    a.modify_time = NOW - 60 * SEC;
    a.reschedule_tracker = Some(RescheduleTracker {
        events: vec![RescheduleEvent {
            reschedule_time: NOW - 3600 * SEC,
            prev_alloc_id: "older".into(),
            prev_node_id: "node-0001".into(),
            delay: 5 * SEC,
        }],
    });
    state.put_alloc(a);
    let out = run(&state, &job);
    assert!(out.plan.is_no_op(), "{:?}", out.plan);
    assert!(out.followup_evals.is_empty());
}

#[test]
fn disabled_policy_never_reschedules() {
    let mut state = MemState::with_nodes(nodes(2));
    let mut j = job("web", 1);
    j.task_groups[0].reschedule_policy = Some(ReschedulePolicy {
        attempts: 0,
        unlimited: false,
        ..ReschedulePolicy::service_default()
    });
    let job = state.put_job(j);
    failed(&mut state, &job, 0, "node-0000", 3600);
    let out = run(&state, &job);
    assert!(out.plan.is_no_op());
}

#[test]
fn force_reschedule_ignores_the_policy() {
    let mut state = MemState::with_nodes(nodes(2));
    let mut j = job("web", 1);
    j.task_groups[0].reschedule_policy = None;
    let job = state.put_job(j);
    failed(&mut state, &job, 0, "node-0000", 1);
    state.edit_alloc("alloc-web-0", |a| {
        a.desired_transition.force_reschedule = Some(true)
    });
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 1);
}

#[test]
fn failure_time_prefers_task_finish() {
    let mut a = Allocation {
        modify_time: NOW,
        ..Default::default()
    };
    assert_eq!(failure_time(&a), NOW);
    for (task, at) in [("a", NOW - 50 * SEC), ("b", NOW - 20 * SEC)] {
        let state = TaskState {
            finished_at: Some(rfc3339(at)),
            ..Default::default()
        };
        a.task_states.insert(task.into(), state);
    }
    assert_eq!(failure_time(&a), NOW - 20 * SEC);
}

fn with_delays(delays: &[i64]) -> Allocation {
    let events = delays
        .iter()
        .map(|&d| RescheduleEvent {
            reschedule_time: NOW - 10 * SEC,
            delay: d * SEC,
            ..Default::default()
        })
        .collect();
    Allocation {
        modify_time: NOW,
        reschedule_tracker: Some(RescheduleTracker { events }),
        ..Default::default()
    }
}

fn policy(function: &str, delay: i64, max: i64) -> ReschedulePolicy {
    ReschedulePolicy {
        delay: delay * SEC,
        delay_function: function.into(),
        max_delay: max * SEC,
        unlimited: true,
        ..Default::default()
    }
}

#[test]
fn delay_functions() {
    let exp = policy("exponential", 30, 3600);
    assert_eq!(next_delay(&with_delays(&[]), &exp), 30 * SEC);
    assert_eq!(next_delay(&with_delays(&[30]), &exp), 60 * SEC);
    assert_eq!(next_delay(&with_delays(&[30, 60, 120]), &exp), 240 * SEC);
    assert_eq!(
        next_delay(&with_delays(&[2000]), &exp),
        3600 * SEC,
        "capped"
    );
    let fib = policy("fibonacci", 10, 100);
    assert_eq!(next_delay(&with_delays(&[10]), &fib), 10 * SEC);
    assert_eq!(next_delay(&with_delays(&[10, 10]), &fib), 20 * SEC);
    assert_eq!(next_delay(&with_delays(&[10, 20, 30]), &fib), 50 * SEC);
    assert_eq!(next_delay(&with_delays(&[60, 80]), &fib), 100 * SEC);
    let constant = policy("constant", 5, 0);
    assert_eq!(next_delay(&with_delays(&[5, 5]), &constant), 5 * SEC);
}

#[test]
fn capped_delay_resets_after_a_quiet_period() {
    let exp = policy("exponential", 30, 60);
    let mut a = with_delays(&[60]);
    a.reschedule_tracker.as_mut().unwrap().events[0].reschedule_time = NOW - 3600 * SEC;
    assert_eq!(next_delay(&a, &exp), 30 * SEC);
}

#[test]
fn trackers_keep_recent_events_only() {
    let mut p = ReschedulePolicy::batch_default();
    p.attempts = 3;
    let mut prev = with_delays(&[5, 5]);
    prev.id = "a1".into();
    prev.reschedule_tracker.as_mut().unwrap().events[0].reschedule_time = NOW - 48 * 3600 * SEC;
    let t = next_tracker(&prev, Some(&p), NOW);
    assert_eq!(
        t.events.len(),
        2,
        "the event older than the interval is dropped"
    );
    let unlimited = ReschedulePolicy::service_default();
    let prev = with_delays(&[1, 2, 4, 8, 16, 32, 64]);
    assert_eq!(next_tracker(&prev, Some(&unlimited), NOW).events.len(), 6);
}

#[test]
fn unplaceable_reschedule_keeps_the_failed_allocation_for_later() {
    let mut state = MemState::with_nodes(nodes(1));
    state.edit_node("node-0000", |n| n.status = "initializing".into());
    let job = state.put_job(job("web", 1));
    failed(&mut state, &job, 0, "node-0000", 60);
    let out = run(&state, &job);
    assert!(out.plan.is_no_op(), "{:?}", out.plan);
    assert_eq!(out.queued_allocations["web"], 1);
    assert!(out.failed_tg_allocs.contains_key("web"));
}
