//! Namespace quotas: placements beyond a namespace's limits fail with "quota exceeded".

use nomadish_proto::model::{ALLOC_CLIENT_COMPLETE, JOB_TYPE_SYSTEM, Job, QuotaLimits};

use super::fixture::*;
use crate::scheduler::QUOTA_EXCEEDED;

fn in_team(mut job: Job) -> Job {
    job.namespace = "team-a".into();
    job
}

fn limit(state: &mut MemState, limits: QuotaLimits) {
    state.quotas.insert("team-a".into(), limits);
}

fn allocs_limit(n: u64) -> QuotaLimits {
    QuotaLimits {
        allocations: n,
        ..QuotaLimits::default()
    }
}

fn quota_reasons(out: &crate::scheduler::Outcome) -> Vec<String> {
    out.failed_tg_allocs
        .get("web")
        .map(|m| m.quota_exhausted.clone())
        .unwrap_or_default()
}

#[test]
fn allocation_count_quota_places_up_to_the_limit_and_queues_the_rest() {
    let mut state = MemState::with_nodes(nodes(3));
    limit(&mut state, allocs_limit(2));
    let job = state.put_job(in_team(job("web", 3)));
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 2);
    assert_eq!(out.queued_allocations["web"], 1);
    let reasons = quota_reasons(&out);
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].starts_with(QUOTA_EXCEEDED), "{reasons:?}");
    assert!(reasons[0].contains("allocations exhausted (3 > 2)"));
}

#[test]
fn other_jobs_of_the_namespace_count_and_release_their_share_when_they_stop() {
    let mut state = MemState::with_nodes(nodes(2));
    limit(&mut state, allocs_limit(1));
    let a = state.put_job(in_team(job("a", 1)));
    state.put_alloc(alloc(&a, 0, "node-0000"));
    let b = state.put_job(in_team(job("b", 1)));
    let blocked = run(&state, &b);
    assert!(placed(&blocked).is_empty());
    assert_eq!(blocked.queued_allocations["web"], 1);
    assert!(!quota_reasons(&blocked).is_empty());
    // A finishes: its allocation no longer counts, and B fits.
    state.edit_alloc("alloc-a-0", |x| {
        x.client_status = ALLOC_CLIENT_COMPLETE.into()
    });
    let out = run(&state, &b);
    assert_eq!(placed(&out).len(), 1);
    assert!(out.failed_tg_allocs.is_empty());
}

#[test]
fn cpu_and_memory_limits_count_allocated_resources() {
    // Each allocation of the fixture job asks 100 MHz and 128 MB.
    let mut state = MemState::with_nodes(nodes(4));
    limit(
        &mut state,
        QuotaLimits {
            cpu: 250,
            ..QuotaLimits::default()
        },
    );
    let job = state.put_job(in_team(job("web", 4)));
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 2);
    assert!(quota_reasons(&out)[0].contains("cpu exhausted (300 > 250)"));

    limit(
        &mut state,
        QuotaLimits {
            memory_mb: 128 * 3,
            ..QuotaLimits::default()
        },
    );
    let out = run(&state, &job);
    assert_eq!(placed(&out).len(), 3);
    assert!(quota_reasons(&out)[0].contains("memory exhausted"));
}

#[test]
fn other_namespaces_and_unlimited_quotas_do_not_count() {
    let mut state = MemState::with_nodes(nodes(2));
    limit(&mut state, allocs_limit(1));
    let other = state.put_job(job("other", 1));
    state.put_alloc(alloc(&other, 0, "node-0000"));
    let mine = state.put_job(in_team(job("web", 1)));
    assert_eq!(placed(&run(&state, &mine)).len(), 1);
    limit(&mut state, QuotaLimits::default());
    let many = state.put_job(in_team(job("many", 5)));
    let out = run(&state, &many);
    assert_eq!(placed(&out).len(), 5);
    assert!(out.failed_tg_allocs.is_empty());
}

#[test]
fn a_destructive_update_at_the_limit_replaces_its_allocation() {
    let mut state = MemState::with_nodes(nodes(2));
    limit(&mut state, allocs_limit(1));
    let v0 = state.put_job(in_team(job("web", 1)));
    state.put_alloc(alloc(&v0, 0, "node-0000"));
    let mut v1 = next_version(&v0);
    v1.task_groups[0].tasks[0]
        .config
        .insert("image".into(), "redis:7".into());
    let v1 = state.put_job(v1);
    let out = run(&state, &v1);
    assert_eq!(stopped(&out).len(), 1, "the old version stops");
    assert_eq!(
        placed(&out).len(),
        1,
        "its replacement fits in the freed share"
    );
    assert!(out.failed_tg_allocs.is_empty());
}

#[test]
fn system_jobs_respect_the_quota_too() {
    let mut state = MemState::with_nodes(nodes(3));
    limit(&mut state, allocs_limit(2));
    let mut j = in_team(job("agent", 1));
    j.job_type = JOB_TYPE_SYSTEM.into();
    j.task_groups[0].reschedule_policy = None;
    let j = state.put_job(j);
    let out = run(&state, &j);
    assert_eq!(placed(&out).len(), 2);
    assert_eq!(out.queued_allocations["web"], 1);
    assert!(quota_reasons(&out)[0].starts_with(QUOTA_EXCEEDED));
}
