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

use nomadish_proto::model::{Allocation, Node, Plan, PlanResult, now_ns};
use tokio::sync::{mpsc, watch};

use crate::fsm::{Command, JobRef};
use crate::server::{PlanRequest, Server, WriteError};
use crate::state::StateView;

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
    if plan.all_at_once && !verdict.refused.is_empty() {
        verdict.refused.append(&mut verdict.accepted);
    }
    verdict
}

fn node_accepts(view: &StateView, node: &Node, plan: &Plan, allocs: &[Allocation]) -> bool {
    let has_new = allocs.iter().any(|a| !view.allocs.contains_key(&a.id));
    if has_new && !node.is_schedulable() {
        return false;
    }
    let stopping: HashSet<&str> = plan
        .node_update
        .get(&node.id)
        .map(|v| v.iter().map(|a| a.id.as_str()).collect())
        .unwrap_or_default();
    let updating: HashSet<&str> = allocs.iter().map(|a| a.id.as_str()).collect();
    let (mut cpu, mut mem, mut disk) = (0i64, 0i64, 0i64);
    let existing = view.node_allocs(&node.id);
    let live = existing.iter().map(|a| a.as_ref()).filter(|a| {
        !a.terminal() && !stopping.contains(a.id.as_str()) && !updating.contains(a.id.as_str())
    });
    // Client-terminal entries (follow-up markers on failed allocations) hold nothing.
    for a in live.chain(allocs.iter().filter(|a| !a.terminal())) {
        cpu += a.allocated_resources.cpu();
        mem += a.allocated_resources.memory_mb();
        disk += a.allocated_resources.disk_mb();
    }
    cpu <= node.allocatable_cpu()
        && mem <= node.allocatable_memory_mb()
        && disk <= node.allocatable_disk_mb()
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
    let refresh_index = if verdict.refused.is_empty() {
        0
    } else {
        snapshot_index.max(1)
    };
    if node_allocation.is_empty() && node_update.is_empty() {
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
        stopped: node_update.values().flatten().cloned().map(strip).collect(),
        now: now_ns(),
    };
    let resp = server.write(cmd).await?;
    Ok(PlanResult {
        node_update,
        node_allocation,
        node_preemptions: BTreeMap::new(),
        refresh_index: if refresh_index > 0 { resp.index } else { 0 },
        alloc_index: resp.index,
    })
}

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
        let verdict = evaluate_plan(&view, &req.plan);
        if !verdict.refused.is_empty() {
            tracing::debug!(eval = %req.plan.eval_id, refused = ?verdict.refused, "plan partially refused");
        }
        let result = commit(&server, req.plan, &verdict, view.index).await;
        let _ = req.reply.send(result);
    }
}

#[cfg(test)]
#[path = "plan_apply_tests.rs"]
mod tests;
