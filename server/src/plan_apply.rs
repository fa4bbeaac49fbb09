//! The plan applier: the only place allocations are committed.
//!
//! ```text
//!   worker ──submit_plan──> queue ──> evaluate against the LATEST state ──> raft ApplyPlanResults
//!                                        │ node gone / not ready / does not fit
//!                                        └──> refused: RefreshIndex tells the worker to retry
//! ```
//!
//! Plans are handled one at a time on the leader, each checked against the state that includes
//! every plan committed before it, so optimistic schedulers never overcommit a node.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use nomadish_proto::model::{Allocation, Evaluation, Node, Plan, PlanResult, now_ns};
use tokio::sync::{mpsc, watch};

use crate::fsm::{Command, JobRef};
use crate::server::{PlanRequest, Server, WriteError};
use crate::state::{NodeUsage, StateView};

/// Which parts of a plan may be committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanVerdict {
    /// Nodes whose placements fit.
    pub accepted: Vec<String>,
    /// Nodes whose placements were refused.
    pub refused: Vec<String>,
}

/// Checks every node with placements against the state.
pub fn evaluate_plan(view: &StateView, plan: &Plan) -> PlanVerdict {
    let mut verdict = PlanVerdict::default();
    for (node_id, allocs) in &plan.node_allocation {
        if allocs.is_empty() {
            continue;
        }
        let fits = view
            .nodes
            .get(node_id)
            .is_some_and(|node| node_accepts(view, node, plan, allocs));
        if fits {
            verdict.accepted.push(node_id.clone());
        } else {
            verdict.refused.push(node_id.clone());
        }
    }
    refuse_over_quota(view, plan, &mut verdict);
    if plan.all_at_once && !verdict.refused.is_empty() {
        verdict.refused.append(&mut verdict.accepted);
    }
    verdict
}

/// Re-checks the namespace quota against the latest state: when the accepted placements
/// would take the namespace over its limits (another plan committed first), every accepted
/// node with new allocations is refused, so the worker re-schedules on fresh state and the
/// scheduler reports "quota exceeded".
fn refuse_over_quota(view: &StateView, plan: &Plan, verdict: &mut PlanVerdict) {
    let Some(namespace) = plan.job.as_ref().map(|j| j.namespace.as_str()) else {
        return;
    };
    let Some(limits) = view.namespace(namespace).and_then(|ns| ns.limits()) else {
        return;
    };
    let accepted: Vec<&Allocation> = verdict
        .accepted
        .iter()
        .filter_map(|n| plan.node_allocation.get(n))
        .flatten()
        .collect();
    let replaced: HashSet<&str> = [&plan.node_update, &plan.node_preemptions]
        .into_iter()
        .flat_map(|m| m.values().flatten())
        .map(|a| a.id.as_str())
        .chain(accepted.iter().map(|a| a.id.as_str()))
        .collect();
    let kept: Vec<Arc<Allocation>> = view
        .namespace_live_allocs(namespace)
        .into_iter()
        .filter(|a| !replaced.contains(a.id.as_str()))
        .collect();
    let placed: Vec<Arc<Allocation>> = accepted
        .iter()
        .filter(|a| !a.terminal())
        .map(|a| Arc::new(Allocation::clone(a)))
        .collect();
    let usage = crate::state::quota_usage(&[kept, placed].concat());
    if limits.exceeded_by(&usage).is_none() {
        return;
    }
    let (refuse, keep): (Vec<String>, Vec<String>) = verdict.accepted.drain(..).partition(|node| {
        plan.node_allocation
            .get(node)
            .is_some_and(|allocs| allocs.iter().any(|a| !view.allocs.contains_key(&a.id)))
    });
    verdict.accepted = keep;
    verdict.refused.extend(refuse);
}

fn node_accepts(view: &StateView, node: &Node, plan: &Plan, allocs: &[Allocation]) -> bool {
    let has_new = allocs.iter().any(|a| !view.allocs.contains_key(&a.id));
    if has_new && !node.is_schedulable() {
        return false;
    }
    let stopping: HashSet<&str> = [&plan.node_update, &plan.node_preemptions]
        .into_iter()
        .filter_map(|m| m.get(&node.id))
        .flatten()
        .map(|a| a.id.as_str())
        .collect();
    let updating: HashSet<&str> = allocs.iter().map(|a| a.id.as_str()).collect();
    // The node's running total, less the allocations the plan stops or replaces there, plus
    // what the plan puts there. Client-terminal entries (follow-up markers on failed
    // allocations) hold nothing.
    let mut usage = view.node_usage.get(&node.id).copied().unwrap_or_default();
    for id in stopping.union(&updating) {
        if let Some(a) = view.allocs.get(*id)
            && a.node_id == node.id
        {
            usage = usage.minus(NodeUsage::of(a));
        }
    }
    let placing = allocs.iter().filter(|a| !a.terminal());
    for a in placing.clone() {
        usage = usage.plus(NodeUsage::of(a));
    }
    usage.cpu <= node.allocatable_cpu()
        && usage.memory <= node.allocatable_memory_mb()
        && usage.disk <= node.allocatable_disk_mb()
        && !ports_collide(view, node, &stopping, &updating, placing)
}

/// Whether the allocations the plan puts on the node ask for a host port that the node
/// reserves or that one of its other live allocations (or another of them) holds. Only a
/// plan that asks for host ports visits the node's allocations.
fn ports_collide<'a>(
    view: &StateView,
    node: &Node,
    stopping: &HashSet<&str>,
    updating: &HashSet<&str>,
    placing: impl Iterator<Item = &'a Allocation> + Clone,
) -> bool {
    if placing
        .clone()
        .all(|a| a.allocated_resources.host_ports().is_empty())
    {
        return false;
    }
    let mut ports: HashSet<u16> = node
        .reserved_resources
        .networks
        .ports()
        .into_iter()
        .collect();
    let existing = view.node_allocs(&node.id);
    let live = existing.iter().map(|a| a.as_ref()).filter(|a| {
        !a.terminal() && !stopping.contains(a.id.as_str()) && !updating.contains(a.id.as_str())
    });
    let mut collision = false;
    let mut take = |a: &Allocation| {
        for port in a.allocated_resources.host_ports() {
            collision |= !ports.insert(port);
        }
    };
    live.for_each(&mut take);
    placing.for_each(&mut take);
    collision
}

/// Commits what the verdict accepted; the allocations travel without their job.
async fn commit(
    server: &Server,
    plan: Plan,
    verdict: &PlanVerdict,
    snapshot_index: u64,
) -> Result<PlanResult, WriteError> {
    let accepted: HashSet<&String> = verdict.accepted.iter().collect();
    let strip = |mut a: Allocation| {
        a.job = None;
        a
    };
    let node_allocation: BTreeMap<String, Vec<Allocation>> = plan
        .node_allocation
        .into_iter()
        .filter(|(node, allocs)| accepted.contains(node) && !allocs.is_empty())
        .collect();
    let node_update: BTreeMap<String, Vec<Allocation>> = plan
        .node_update
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    // Evictions are committed only with the placements they make room for.
    let node_preemptions: BTreeMap<String, Vec<Allocation>> = plan
        .node_preemptions
        .into_iter()
        .filter(|(node, v)| accepted.contains(node) && !v.is_empty())
        .collect();
    let refresh_index = if verdict.refused.is_empty() {
        0
    } else {
        snapshot_index.max(1)
    };
    if node_allocation.is_empty()
        && node_update.is_empty()
        && plan.deployment.is_none()
        && plan.deployment_updates.is_empty()
    {
        return Ok(PlanResult {
            refresh_index,
            ..PlanResult::default()
        });
    }
    let job = plan.job.as_ref().map(|j| JobRef {
        namespace: j.namespace.clone(),
        id: j.id.clone(),
        version: j.version,
    });
    let cmd = Command::ApplyPlanResults {
        eval_id: plan.eval_id.clone(),
        job,
        placed: node_allocation
            .values()
            .flatten()
            .cloned()
            .map(strip)
            .collect(),
        stopped: node_update
            .values()
            .chain(node_preemptions.values())
            .flatten()
            .cloned()
            .map(strip)
            .collect(),
        now: now_ns(),
        deployment: plan.deployment.clone(),
        deployment_updates: plan.deployment_updates.clone(),
    };
    let resp = server.write(cmd).await?;
    Ok(PlanResult {
        node_update,
        node_allocation,
        node_preemptions,
        refresh_index: if refresh_index > 0 { resp.index } else { 0 },
        alloc_index: resp.index,
    })
}

/// One pending evaluation (`TriggeredBy = "preemption"`) per job whose allocations the
/// accepted part of the plan evicts.
pub fn preemption_evals(
    view: &StateView,
    plan: &Plan,
    verdict: &PlanVerdict,
    now: i64,
) -> Vec<Evaluation> {
    let mut jobs = BTreeMap::new();
    let accepted = verdict
        .accepted
        .iter()
        .filter_map(|n| plan.node_preemptions.get(n));
    for alloc in accepted.flatten() {
        let key = (alloc.namespace.clone(), alloc.job_id.clone());
        if let Some(job) = view.jobs.get(&key) {
            jobs.entry(key)
                .or_insert_with(|| crate::evals::job_eval(job, EVAL_TRIGGER_PREEMPTION, now));
        }
    }
    jobs.into_values().collect()
}

/// Nomad's trigger for evaluations of jobs whose allocations were preempted.
pub const EVAL_TRIGGER_PREEMPTION: &str = "preemption";

/// Runs the applier until `shutdown` or until every sender is gone.
pub async fn run_plan_applier(
    server: Arc<Server>,
    mut rx: mpsc::Receiver<PlanRequest>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let req = tokio::select! {
            req = rx.recv() => match req { Some(r) => r, None => return },
            _ = shutdown.changed() => return,
        };
        let view = server.state.snapshot();
        let started = std::time::Instant::now();
        let verdict = evaluate_plan(&view, &req.plan);
        crate::metrics::measure_since("nomad.nomad.plan.evaluate", &[], started);
        if !verdict.refused.is_empty() {
            let refused = verdict.refused.len() as f64;
            crate::metrics::add("nomad.nomad.plan.node_rejected", &[], refused);
            tracing::debug!(eval = %req.plan.eval_id, refused = ?verdict.refused, "plan partially refused");
        }
        let evals = preemption_evals(&view, &req.plan, &verdict, now_ns());
        let result = commit(&server, req.plan, &verdict, view.index).await;
        crate::metrics::measure_since("nomad.nomad.plan.apply", &[], started);
        if result.is_ok() && !evals.is_empty() {
            // The evicted allocations' jobs are evaluated again, as Nomad does.
            if let Err(e) = server.write(Command::UpsertEvals { evals }).await {
                tracing::warn!(error = %e, "creating evaluations for preempted jobs");
            }
        }
        let _ = req.reply.send(result);
    }
}

#[cfg(test)]
#[path = "plan_apply_tests.rs"]
mod tests;
