//! Applying plan results and client allocation updates.

use std::collections::BTreeSet;
use std::sync::Arc;

use nomadish_proto::model::{ALLOC_CLIENT_LOST, AllocClientUpdate, Allocation, Job};

use super::JobRef;
use crate::state::{JobKey, StateView};

/// Commits a plan's accepted part: stops first, then placements and in-place updates.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_plan_results(
    view: &mut StateView,
    index: u64,
    eval_id: &str,
    job: Option<JobRef>,
    placed: Vec<Allocation>,
    stopped: Vec<Allocation>,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) {
    for stop in stopped {
        let Some(existing) = view.allocs.get(&stop.id).cloned() else {
            continue;
        };
        let mut alloc = Allocation::clone(&existing);
        alloc.desired_status = stop.desired_status;
        alloc.desired_description = stop.desired_description;
        if stop.client_status == ALLOC_CLIENT_LOST && !existing.client_terminal() {
            alloc.client_status = ALLOC_CLIENT_LOST.to_string();
            alloc.client_description = "alloc is lost since its node is down".to_string();
        }
        if !stop.followup_eval_id.is_empty() {
            alloc.followup_eval_id = stop.followup_eval_id;
        }
        stamp_server_change(&mut alloc, index, now);
        if !existing.terminal() {
            view.capacity_index = index;
        }
        touched.insert((alloc.namespace.clone(), alloc.job_id.clone()));
        view.put_alloc(Arc::new(alloc));
    }
    let job = job.and_then(|r| resolve_job(view, &r));
    for new in placed {
        let alloc = match view.allocs.get(&new.id).cloned() {
            Some(existing) => in_place_update(&existing, new, job.clone()),
            None => {
                let Some(job) = job.clone() else { continue };
                link_previous(view, &new, index, now);
                let mut alloc = new;
                alloc.job = Some(job);
                alloc.eval_id = eval_id.to_string();
                alloc.create_index = index;
                alloc
            }
        };
        let mut alloc = alloc;
        stamp_server_change(&mut alloc, index, now);
        touched.insert((alloc.namespace.clone(), alloc.job_id.clone()));
        view.put_alloc(Arc::new(alloc));
    }
    view.tables.allocs = index;
}

/// Keeps what the client owns (status, task states) and takes the server's new fields.
fn in_place_update(existing: &Allocation, new: Allocation, job: Option<Arc<Job>>) -> Allocation {
    Allocation {
        job: job.or_else(|| existing.job.clone()),
        client_status: existing.client_status.clone(),
        client_description: existing.client_description.clone(),
        task_states: existing.task_states.clone(),
        create_index: existing.create_index,
        create_time: existing.create_time,
        ..new
    }
}

/// Points a replaced allocation at its replacement.
fn link_previous(view: &mut StateView, new: &Allocation, index: u64, now: i64) {
    if new.previous_allocation.is_empty() {
        return;
    }
    if let Some(prev) = view.allocs.get(&new.previous_allocation).cloned() {
        let mut prev = Allocation::clone(&prev);
        prev.next_allocation = new.id.clone();
        prev.modify_index = index;
        prev.modify_time = now;
        view.put_alloc(Arc::new(prev));
    }
}

fn stamp_server_change(alloc: &mut Allocation, index: u64, now: i64) {
    alloc.modify_index = index;
    alloc.alloc_modify_index = index;
    alloc.modify_time = now;
    if alloc.create_time == 0 {
        alloc.create_time = now;
    }
}

fn resolve_job(view: &StateView, r: &JobRef) -> Option<Arc<Job>> {
    view.job_versions
        .get(&(r.namespace.clone(), r.id.clone(), r.version))
        .cloned()
        .or_else(|| view.job(&r.namespace, &r.id))
}

/// Records what clients reported. Allocations the servers already marked lost stay lost.
pub(super) fn apply_client_updates(
    view: &mut StateView,
    index: u64,
    updates: Vec<AllocClientUpdate>,
    now: i64,
    touched: &mut BTreeSet<JobKey>,
) {
    for update in updates {
        let Some(existing) = view.allocs.get(&update.id).cloned() else {
            continue;
        };
        if existing.client_status == ALLOC_CLIENT_LOST {
            continue;
        }
        let mut alloc = Allocation::clone(&existing);
        super::deployments::apply_alloc_health(view, index, &mut alloc, &update, now);
        alloc.client_status = update.client_status;
        alloc.client_description = update.client_description;
        alloc.task_states = update.task_states;
        alloc.modify_index = index;
        alloc.modify_time = now;
        if alloc.terminal() && !existing.terminal() {
            view.capacity_index = index;
        }
        touched.insert((alloc.namespace.clone(), alloc.job_id.clone()));
        view.put_alloc(Arc::new(alloc));
    }
    view.tables.allocs = index;
}
