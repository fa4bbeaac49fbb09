//! The evaluation monitor behind `job run`, `job stop` and `agent -run`, printing what
//! Nomad's monitor prints:
//!
//! ```text
//! ==> 2024-05-01T12:00:00Z: Monitoring evaluation "1f2e3d4c"
//!     2024-05-01T12:00:00Z: Evaluation triggered by job "web"
//!     2024-05-01T12:00:00Z: Allocation "5a6b7c8d" created: node "9e8f7a6b", group "app"
//!     2024-05-01T12:00:01Z: Evaluation status changed: "pending" -> "complete"
//! ==> 2024-05-01T12:00:01Z: Evaluation "1f2e3d4c" finished with status "complete"
//! ```
//!
//! The loop polls `GET /v1/evaluation/:id` as a blocking query (`?index=&wait=`), at most
//! every [`MONITOR_POLL_INTERVAL`], and reads the evaluation's allocations each round. The
//! diffing of two observed states is a pure function ([`diff_states`]) so it is tested
//! without a server. Placement failures print Nomad's block and the exit code becomes 2.

use std::collections::BTreeMap;
use std::time::Duration;

use nomadish_proto::model::{
    ALLOC_DESIRED_RUN, AllocListStub, AllocMetric, EVAL_STATUS_PENDING, Evaluation,
};

use super::api::{ApiClient, escape_segment};
use super::format::{limit, now_stamp};

/// Shortest time between two polls of the evaluation.
pub const MONITOR_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long one blocking query on the evaluation may wait for a change.
pub const MONITOR_BLOCKING_WAIT: &str = "1s";

/// How monitoring ended, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorOutcome {
    /// The evaluation finished and placed everything.
    Complete = 0,
    /// The API failed while monitoring.
    Error = 1,
    /// Some allocations could not be placed.
    PlacementFailed = 2,
}

/// What the monitor knows about one allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllocView {
    /// Allocation ID.
    pub id: String,
    /// Task group.
    pub group: String,
    /// Node ID.
    pub node: String,
    /// Desired status.
    pub desired: String,
    /// Client status.
    pub client: String,
    /// Client description.
    pub client_desc: String,
    /// Create index.
    pub index: u64,
}

/// A snapshot of an evaluation and its allocations, as seen by the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalView {
    /// Evaluation status.
    pub status: String,
    /// Node that triggered it (node evaluations).
    pub node: String,
    /// Job that triggered it.
    pub job: String,
    /// Deployment it belongs to.
    pub deployment: String,
    /// Create index of the evaluation.
    pub index: u64,
    /// Allocations by ID.
    pub allocs: BTreeMap<String, AllocView>,
}

impl Default for EvalView {
    fn default() -> Self {
        Self {
            status: EVAL_STATUS_PENDING.to_string(),
            node: String::new(),
            job: String::new(),
            deployment: String::new(),
            index: 0,
            allocs: BTreeMap::new(),
        }
    }
}

impl EvalView {
    /// The view of an evaluation and its allocation stubs.
    pub fn observe(eval: &Evaluation, allocs: &[AllocListStub]) -> Self {
        let allocs = allocs
            .iter()
            .map(|a| {
                let view = AllocView {
                    id: a.id.clone(),
                    group: a.task_group.clone(),
                    node: a.node_id.clone(),
                    desired: a.desired_status.clone(),
                    client: a.client_status.clone(),
                    client_desc: a.client_description.clone(),
                    index: a.create_index,
                };
                (a.id.clone(), view)
            })
            .collect();
        Self {
            status: eval.status.clone(),
            node: eval.node_id.clone(),
            job: eval.job_id.clone(),
            deployment: eval.deployment_id.clone(),
            index: eval.create_index,
            allocs,
        }
    }
}

/// The messages describing the change from `old` to `new` (without time prefix).
pub fn diff_states(old: &EvalView, new: &EvalView, length: usize) -> Vec<String> {
    let mut out = Vec::new();
    if old.node.is_empty() && !new.node.is_empty() {
        out.push(format!(
            "Evaluation triggered by node {:?}",
            limit(&new.node, length)
        ));
    }
    if old.job.is_empty() && !new.job.is_empty() {
        out.push(format!("Evaluation triggered by job {:?}", new.job));
    }
    if old.deployment.is_empty() && !new.deployment.is_empty() {
        out.push(format!(
            "Evaluation within deployment: {:?}",
            limit(&new.deployment, length)
        ));
    }
    for alloc in new.allocs.values() {
        match old.allocs.get(&alloc.id) {
            None if alloc.index < new.index => out.push(format!(
                "Allocation {:?} modified: node {:?}, group {:?}",
                limit(&alloc.id, length),
                limit(&alloc.node, length),
                alloc.group
            )),
            None if alloc.desired == ALLOC_DESIRED_RUN => out.push(format!(
                "Allocation {:?} created: node {:?}, group {:?}",
                limit(&alloc.id, length),
                limit(&alloc.node, length),
                alloc.group
            )),
            None => {}
            Some(prev) if prev.client != alloc.client => {
                let desc = if alloc.client_desc.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", alloc.client_desc)
                };
                out.push(format!(
                    "Allocation {:?} status changed: {:?} -> {:?}{desc}",
                    limit(&alloc.id, length),
                    prev.client,
                    alloc.client
                ));
            }
            Some(_) => {}
        }
    }
    if !old.status.is_empty() && new.status != EVAL_STATUS_PENDING && old.status != new.status {
        out.push(format!(
            "Evaluation status changed: {:?} -> {:?}",
            old.status, new.status
        ));
    }
    out
}

/// Nomad's explanation of why placements failed, one line per reason, each starting with
/// `prefix`. Map-based reasons come out sorted.
pub fn format_alloc_metrics(metrics: &AllocMetric, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    if metrics.nodes_evaluated == 0 {
        out.push(format!("{prefix}* No nodes were eligible for evaluation"));
    }
    for (dc, available) in &metrics.nodes_available {
        if *available == 0 {
            out.push(format!(
                "{prefix}* No nodes are available in datacenter {dc:?}"
            ));
        }
    }
    for (class, n) in &metrics.class_filtered {
        out.push(format!(
            "{prefix}* Class {class:?}: {n} nodes excluded by filter"
        ));
    }
    for (constraint, n) in &metrics.constraint_filtered {
        out.push(format!(
            "{prefix}* Constraint {constraint:?}: {n} nodes excluded by filter"
        ));
    }
    if metrics.nodes_exhausted > 0 {
        out.push(format!(
            "{prefix}* Resources exhausted on {} nodes",
            metrics.nodes_exhausted
        ));
    }
    for (class, n) in &metrics.class_exhausted {
        out.push(format!("{prefix}* Class {class:?} exhausted on {n} nodes"));
    }
    for (dim, n) in &metrics.dimension_exhausted {
        out.push(format!(
            "{prefix}* Dimension {dim:?} exhausted on {n} nodes"
        ));
    }
    for dim in &metrics.quota_exhausted {
        out.push(format!("{prefix}* Quota limit hit {dim:?}"));
    }
    out
}

/// `Task Group "g" (failed to place N allocation(s)):` for one failed group.
pub fn failed_group_heading(group: &str, metrics: &AllocMetric) -> String {
    let count = metrics.coalesced_failures + 1;
    let noun = if metrics.coalesced_failures > 0 {
        "allocations"
    } else {
        "allocation"
    };
    format!("Task Group {group:?} (failed to place {count} {noun}):")
}

/// The monitor's lines for a finished evaluation (without the `==> time: ` or `    time: `
/// prefixes), paired with whether each is a heading (`==>`).
pub fn finished_lines(eval: &Evaluation, length: usize) -> Vec<(bool, String)> {
    let id = limit(&eval.id, length);
    if eval.failed_tg_allocs.is_empty() {
        return vec![(
            true,
            format!("Evaluation {id:?} finished with status {:?}", eval.status),
        )];
    }
    let mut out = vec![(
        true,
        format!(
            "Evaluation {id:?} finished with status {:?} but failed to place all allocations:",
            eval.status
        ),
    )];
    for (group, metrics) in &eval.failed_tg_allocs {
        out.push((false, failed_group_heading(group, metrics)));
        for line in format_alloc_metrics(metrics, "  ") {
            out.push((false, line));
        }
    }
    if !eval.blocked_eval.is_empty() {
        out.push((
            false,
            format!(
                "Evaluation {:?} waiting for additional capacity to place remainder",
                limit(&eval.blocked_eval, length)
            ),
        ));
    }
    out
}

/// Prints a heading line (`==> time: msg`).
fn info(msg: &str) {
    println!("==> {}: {msg}", now_stamp());
}

/// Prints a detail line (`    time: msg`); metric lines (starting with spaces) keep their
/// indentation under the prefix, as Nomad's do.
fn output(msg: &str) {
    if msg.starts_with(' ') {
        println!("    {msg}");
    } else {
        println!("    {}: {msg}", now_stamp());
    }
}

/// Follows an evaluation (and the evaluations it chains to) until it is done.
pub async fn monitor(api: &ApiClient, eval_id: &str, length: usize) -> MonitorOutcome {
    let mut eval_id = eval_id.to_string();
    loop {
        let eval = match monitor_one(api, &eval_id, length).await {
            Ok(eval) => eval,
            Err(outcome) => return outcome,
        };
        let placement_failed = !eval.failed_tg_allocs.is_empty();
        if eval.next_eval.is_empty() {
            return if placement_failed {
                MonitorOutcome::PlacementFailed
            } else {
                MonitorOutcome::Complete
            };
        }
        if eval.wait > 0 {
            let wait = Duration::from_nanos(eval.wait as u64);
            info(&format!(
                "Monitoring next evaluation {:?} in {}",
                limit(&eval.next_eval, length),
                humantime::format_duration(wait)
            ));
            tokio::time::sleep(wait).await;
        }
        eval_id = eval.next_eval.clone();
    }
}

/// Follows one evaluation until it is terminal; returns it.
async fn monitor_one(
    api: &ApiClient,
    eval_id: &str,
    length: usize,
) -> Result<Evaluation, MonitorOutcome> {
    let mut state = EvalView::default();
    info(&format!(
        "Monitoring evaluation {:?}",
        limit(eval_id, length)
    ));
    let path = format!("/v1/evaluation/{}", escape_segment(eval_id));
    let allocs_path = format!("{path}/allocations");
    let mut index = 0u64;
    loop {
        let started = tokio::time::Instant::now();
        let query = [
            ("index", index.to_string()),
            ("wait", MONITOR_BLOCKING_WAIT.to_string()),
        ];
        let resp = match api.get::<Evaluation>(&path, &query).await {
            Ok(resp) => resp,
            Err(_) => {
                eprintln!("==> No evaluation with id {eval_id:?} found");
                return Err(MonitorOutcome::Error);
            }
        };
        index = resp.index.max(index);
        let eval = resp.body;
        let allocs = match api.get::<Vec<AllocListStub>>(&allocs_path, &[]).await {
            Ok(resp) => resp.body,
            Err(e) => {
                eprintln!("==> {}: Error reading allocations: {e}", now_stamp());
                return Err(MonitorOutcome::Error);
            }
        };
        let next = EvalView::observe(&eval, &allocs);
        for line in diff_states(&state, &next, length) {
            output(&line);
        }
        state = next;
        if eval.terminal() {
            for (heading, line) in finished_lines(&eval, length) {
                if heading { info(&line) } else { output(&line) }
            }
            return Ok(eval);
        }
        let elapsed = started.elapsed();
        if elapsed < MONITOR_POLL_INTERVAL {
            tokio::time::sleep(MONITOR_POLL_INTERVAL - elapsed).await;
        }
    }
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
