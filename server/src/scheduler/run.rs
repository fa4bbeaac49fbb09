//! One scheduling call's working state, shared by the generic and system schedulers: the
//! node table, the seeded RNG, the plan being assembled, and the steps every scheduler
//! takes (stop, update in place, follow up, annotate, finish).

use std::collections::BTreeMap;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_LOST, Allocation, Evaluation, JOB_TYPE_BATCH, JOB_TYPE_SYSBATCH, Job,
    PlanAnnotations, SchedulerConfiguration,
};

use super::nodes::NodeTable;
use super::quota::Quota;
use super::reconcile::{GroupDiff, PlaceKind, Placement, stop_all};
use super::reschedule;
use super::util::{AllocBuckets, Rng};
use super::{Outcome, State};

/// Allocations of a job by task group name.
pub(crate) type ByGroup<'a> = BTreeMap<&'a str, Vec<Arc<Allocation>>>;

/// Groups allocations by task group name.
pub(crate) fn group_by_name(allocs: &[Arc<Allocation>]) -> ByGroup<'_> {
    let mut by_group: ByGroup<'_> = BTreeMap::new();
    for alloc in allocs {
        by_group
            .entry(alloc.task_group.as_str())
            .or_default()
            .push(alloc.clone());
    }
    by_group
}

/// The working state of one scheduling call.
pub(crate) struct Run<'s, 'e> {
    pub eval: &'e Evaluation,
    pub now: i64,
    /// Whether completed allocations count as done (`batch`, `sysbatch`).
    pub batch: bool,
    pub rng: Rng,
    pub table: NodeTable<'s>,
    pub buckets: AllocBuckets,
    pub out: Outcome,
    /// The cluster's scheduler configuration at the snapshot.
    pub config: SchedulerConfiguration,
    /// The namespace's quota, when it has one.
    pub quota: Option<Quota>,
}

impl<'s, 'e> Run<'s, 'e> {
    /// Loads the nodes, the job and its allocations, and starts the plan.
    pub(crate) fn load(
        state: &'s dyn State,
        eval: &'e Evaluation,
        now: i64,
        seed: u64,
    ) -> (Self, Option<Arc<Job>>, Vec<Arc<Allocation>>) {
        let table = NodeTable::new(state);
        let job = state.job(&eval.namespace, &eval.job_id);
        let allocs = state.allocs_by_job(&eval.namespace, &eval.job_id);
        let mut run = Self {
            eval,
            now,
            batch: matches!(eval.eval_type.as_str(), JOB_TYPE_BATCH | JOB_TYPE_SYSBATCH),
            rng: Rng::new(seed),
            buckets: AllocBuckets::new(table.nodes.len()),
            table,
            out: Outcome::default(),
            config: state.scheduler_config(),
            quota: Quota::load(state, &eval.namespace),
        };
        run.out.plan.eval_id = eval.id.clone();
        run.out.plan.priority = eval.priority;
        if let Some(job) = &job {
            run.out.plan.all_at_once = job.all_at_once;
            run.out.plan.job = Some(job.clone());
        }
        (run, job, allocs)
    }

    /// The job is gone, stopped, or a periodic/parameterized parent: stop everything.
    pub(crate) fn stop_everything(&mut self, by_group: &ByGroup<'_>) {
        for (name, allocs) in by_group {
            self.stop_group(name, allocs);
        }
        if let Some(job) = &self.out.plan.job {
            for g in &job.task_groups {
                self.out.queued_allocations.insert(g.name.clone(), 0);
            }
        }
    }

    /// Stops every allocation of a group (the group left the job, or the job stopped).
    pub(crate) fn stop_group(&mut self, name: &str, allocs: &[Arc<Allocation>]) {
        let mut diff = GroupDiff::default();
        stop_all(&self.table, allocs, &mut diff);
        self.apply_stops(&diff);
        self.annotate(name, &diff);
    }

    /// Adds the group's stops to the plan and removes them from node usage.
    pub(crate) fn apply_stops(&mut self, diff: &GroupDiff) {
        for stop in &diff.stops {
            let status = stop.lost.then_some(ALLOC_CLIENT_LOST);
            self.out
                .plan
                .append_stop(&stop.alloc, stop.description, status);
            self.table.record_stop(&stop.alloc);
        }
    }

    /// Adds in-place updates (new job version) and follow-up markers (same alloc, its
    /// `FollowupEvalID` set) to the plan, and creates the follow-up evaluations.
    pub(crate) fn apply_updates(&mut self, job: &Arc<Job>, diff: &GroupDiff) {
        for alloc in &diff.inplace {
            let mut updated = Allocation::clone(alloc);
            updated.job = Some(job.clone());
            updated.eval_id = self.eval.id.clone();
            updated.modify_time = self.now;
            self.buckets.push_by_id(&self.table, updated);
        }
        if diff.later.is_empty() {
            return;
        }
        let due: Vec<i64> = diff.later.iter().map(|(_, at)| *at).collect();
        let (evals, ids) =
            reschedule::followup_evals(&due, self.eval, job, self.now, &mut self.rng);
        for ((alloc, _), id) in diff.later.iter().zip(ids) {
            let mut updated = Allocation::clone(alloc);
            updated.followup_eval_id = id;
            updated.modify_time = self.now;
            self.buckets.push_by_id(&self.table, updated);
        }
        self.out.followup_evals.extend(evals);
    }

    /// Per node, how many non-terminal allocations (of `group`, or of any group) the plan
    /// keeps.
    pub(crate) fn count_proposed(
        &self,
        allocs: &[Arc<Allocation>],
        group: Option<&str>,
    ) -> Vec<u32> {
        let mut counts = vec![0u32; self.table.nodes.len()];
        let relevant = allocs.iter().filter(|a| {
            group.is_none_or(|g| a.task_group == g)
                && !a.terminal()
                && !self.table.is_stopped(&a.id)
        });
        for alloc in relevant {
            if let Some(idx) = self.table.position(&alloc.node_id) {
                counts[idx] += 1;
            }
        }
        counts
    }

    /// When the replacement of a destructively updated or rescheduled allocation cannot be
    /// placed, keeps the previous allocation instead of stopping it (as Nomad does), if it
    /// still fits on its node. Returns the node it stays on, when it holds resources there.
    pub(crate) fn keep_previous(&mut self, p: &Placement) -> Option<usize> {
        let prev = p.previous.as_ref()?;
        if !matches!(p.kind, PlaceKind::Destructive | PlaceKind::Reschedule) {
            return None;
        }
        if !self.table.unstop(prev) {
            return None;
        }
        if let Some(stops) = self.out.plan.node_update.get_mut(&prev.node_id) {
            stops.retain(|s| s.id != prev.id);
            if stops.is_empty() {
                self.out.plan.node_update.remove(&prev.node_id);
            }
        }
        let idx = self.table.position(&prev.node_id)?;
        (!prev.terminal()).then_some(idx)
    }

    /// Records the group's desired changes when the evaluation asks for annotations.
    pub(crate) fn annotate(&mut self, group: &str, diff: &GroupDiff) {
        if self.eval.annotate_plan {
            self.out
                .plan
                .annotations
                .get_or_insert_with(PlanAnnotations::default)
                .desired_tg_updates
                .insert(group.to_string(), diff.desired);
        }
    }

    /// Moves the placements into the plan and returns the outcome.
    pub(crate) fn finish(self) -> Outcome {
        let mut out = self.out;
        self.buckets.into_plan(&self.table, &mut out.plan);
        out
    }
}
