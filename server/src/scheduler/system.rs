//! The system scheduler, for `system` and `sysbatch` evaluations: one allocation of each
//! group on every ready node that satisfies the job (`<job>.<group>[0]` on each).
//!
//! ```text
//!   per group, per existing allocation:
//!     node down/gone ──> stop (lost)        node draining ──> stop (tainted)
//!     node no longer matches the job ──> stop          second one on a node ──> stop
//!     older job version ──> in place, or stop + replace on the same node
//!   every feasible ready node without one ──> place (if it fits; else failed_tg_allocs)
//! ```
//!
//! Finished allocations of `system` jobs are not counted, so the next evaluation places a
//! fresh one on the node; `sysbatch` allocations that completed for the current job version
//! count as done. Nodes that are ineligible but still run an allocation keep it unchanged.

use std::sync::Arc;

use nomadish_proto::model::{ALLOC_CLIENT_COMPLETE, AllocMetric, Allocation, Evaluation, Job};

use super::feasible::{Candidates, GroupSpec, JobSpec, group_ring, infeasible_reason};
use super::generic::GroupPlacer;
use super::preempt;
use super::rank::{self, Scored};
use super::reconcile::{
    ALLOC_LOST, ALLOC_NODE_TAINTED, ALLOC_NOT_NEEDED, ALLOC_UPDATING, GroupDiff, PlaceKind,
    Placement, Stop, node_lost, older, ran_successfully,
};
use super::run::{ByGroup, Run, group_by_name};
use super::select::{Tally, record_scores};
use super::update::{same_job, tasks_updated};
use super::util::allocated_resources;
use super::{Outcome, State};

/// Schedules a system or sysbatch evaluation.
pub(crate) fn run(state: &dyn State, eval: &Evaluation, now: i64, seed: u64) -> Outcome {
    let (mut run, job, allocs) = Run::load(state, eval, now, seed);
    let by_group = group_by_name(&allocs);
    match job.filter(|j| !j.stop && !j.is_parent()) {
        Some(job) => run.schedule_system(&job, &by_group),
        None => run.stop_everything(&by_group),
    }
    run.finish()
}

/// One group's reconciliation on a system job.
struct SystemDiff {
    diff: GroupDiff,
    /// Nodes that keep (or finished) an allocation of the group.
    covered: Vec<bool>,
    /// Destructive replacements, on the node of the allocation they replace.
    replace: Vec<(usize, Placement)>,
}

impl Run<'_, '_> {
    fn schedule_system(&mut self, job: &Arc<Job>, by_group: &ByGroup<'_>) {
        let job_spec = JobSpec::new(job);
        let specs: Vec<GroupSpec<'_>> = job.task_groups.iter().map(GroupSpec::new).collect();
        for (name, allocs) in by_group {
            if job.group(name).is_none() {
                self.stop_group(name, allocs);
            }
        }
        let diffs: Vec<SystemDiff> = specs
            .iter()
            .map(|spec| {
                let allocs = by_group
                    .get(spec.group.name.as_str())
                    .map_or(&[][..], Vec::as_slice);
                self.system_diff(job, &job_spec, spec, allocs)
            })
            .collect();
        for (spec, d) in specs.iter().zip(&diffs) {
            self.apply_stops(&d.diff);
            self.apply_updates(job, &d.diff);
            self.annotate(&spec.group.name, &d.diff);
        }
        self.table.freeze_stops();
        if let Some(quota) = self.quota.as_mut() {
            quota.settle(&self.table);
        }
        let candidates = Candidates::new(&self.table, &job_spec, &mut self.rng);
        for (spec, d) in specs.iter().zip(diffs) {
            let placer = GroupPlacer {
                job,
                job_spec: &job_spec,
                spec,
                resources: allocated_resources(spec.group),
            };
            let (ring, base) = group_ring(&self.table, &candidates, &job_spec, spec);
            let mut targets = d.replace;
            targets.extend(ring.into_iter().filter(|&i| !d.covered[i]).map(|i| {
                let p = Placement {
                    index: 0,
                    previous: None,
                    kind: PlaceKind::New,
                };
                (i, p)
            }));
            targets.sort_by_key(|(i, _)| *i);
            self.place_on_nodes(&placer, targets, base);
        }
    }

    fn system_diff(
        &self,
        job: &Arc<Job>,
        job_spec: &JobSpec,
        spec: &GroupSpec<'_>,
        allocs: &[Arc<Allocation>],
    ) -> SystemDiff {
        let mut d = SystemDiff {
            diff: GroupDiff::default(),
            covered: vec![false; self.table.nodes.len()],
            replace: Vec::new(),
        };
        let mut sorted: Vec<&Arc<Allocation>> = allocs.iter().collect();
        sorted.sort_by(|a, b| (&a.node_id, &a.id).cmp(&(&b.node_id, &b.id)));
        for alloc in sorted {
            self.system_alloc(job, job_spec, spec, alloc, &mut d);
        }
        d
    }

    fn system_alloc(
        &self,
        job: &Arc<Job>,
        job_spec: &JobSpec,
        spec: &GroupSpec<'_>,
        alloc: &Arc<Allocation>,
        d: &mut SystemDiff,
    ) {
        let idx = self.table.position(&alloc.node_id);
        let done = self.batch
            && !older(alloc, job)
            && (alloc.client_status == ALLOC_CLIENT_COMPLETE || ran_successfully(alloc));
        if alloc.terminal() {
            if let (true, Some(i)) = (done, idx) {
                d.covered[i] = true;
            }
            return;
        }
        let stop = |d: &mut SystemDiff, description, lost| {
            d.diff.stops.push(Stop {
                alloc: alloc.clone(),
                description,
                lost,
            });
            d.diff.desired.stop += 1;
        };
        let (Some(i), false) = (idx, node_lost(&self.table, alloc)) else {
            return stop(d, ALLOC_LOST, true);
        };
        let node = &self.table.nodes[i];
        // The drainer marks system allocations on a draining node last (never when the
        // drain ignores system jobs); until then they keep running.
        if node.drain_strategy.is_some() && alloc.desired_transition.migrate == Some(true) {
            return stop(d, ALLOC_NODE_TAINTED, false);
        }
        let fits = job_spec.pool_matches(node) && infeasible_reason(job_spec, spec, node).is_none();
        if !fits || d.covered[i] {
            return stop(d, ALLOC_NOT_NEEDED, false);
        }
        d.covered[i] = true;
        if same_job(alloc.job.as_ref(), job) || !node.is_schedulable() {
            d.diff.desired.ignore += 1;
        } else if alloc
            .job
            .as_deref()
            .is_none_or(|old| tasks_updated(old, job, &spec.group.name))
        {
            d.diff.desired.destructive_update += 1;
            d.diff.stops.push(Stop {
                alloc: alloc.clone(),
                description: ALLOC_UPDATING,
                lost: false,
            });
            let p = Placement {
                index: 0,
                previous: Some(alloc.clone()),
                kind: PlaceKind::Destructive,
            };
            d.replace.push((i, p));
        } else {
            d.diff.desired.in_place_update += 1;
            d.diff.inplace.push(alloc.clone());
        }
    }

    /// Places one allocation of the group on each target node that can fit it (evicting
    /// lower-priority allocations when preemption is enabled and the node is full).
    fn place_on_nodes(
        &mut self,
        placer: &GroupPlacer<'_, '_>,
        targets: Vec<(usize, Placement)>,
        base: AllocMetric,
    ) {
        let ask = placer.spec.ask;
        let mut failures = Failures {
            base,
            failed: None,
            queued: 0,
        };
        for (idx, p) in targets {
            if let Some(metric) = self
                .quota
                .as_ref()
                .and_then(|q| q.refuse(&placer.resources))
            {
                failures.quota(metric);
                self.keep_previous(&p);
                continue;
            }
            let used = self.table.used(idx);
            let capacity = self.table.capacity(idx);
            let mut victims = Vec::new();
            if let Some(dim) = used.exhausted_by(ask, capacity) {
                match self.preemption_victims(placer, idx) {
                    Some(v) => victims = v,
                    None => {
                        failures.record(&self.table.nodes[idx], dim.key());
                        self.keep_previous(&p);
                        continue;
                    }
                }
            }
            if let Err(failure) = self.table.check_ports(idx, &placer.spec.ports) {
                failures.record(&self.table.nodes[idx], &failure.reason());
                self.keep_previous(&p);
                continue;
            }
            for v in &victims {
                self.table.release(idx, v);
            }
            let used = self.table.used(idx);
            let mut metric = failures.base.clone();
            let mut scored = [Scored::new(
                idx,
                rank::fit(capacity, used.plus(ask), self.config.spread_algorithm()),
                None,
                false,
            )];
            record_scores(&mut metric, &self.table, &mut scored);
            let mut alloc = self.new_alloc(placer, &p, idx, metric);
            self.record_preemptions(&mut alloc, &victims);
            self.table.add(idx, ask);
            if let Some(quota) = self.quota.as_mut() {
                quota.record(&placer.resources);
            }
            self.buckets.push(idx, alloc);
        }
        let name = placer.spec.group.name.clone();
        if let Some((mut metric, tally)) = failures.failed {
            tally.apply(&mut metric);
            self.out.failed_tg_allocs.insert(name.clone(), metric);
        }
        self.out.queued_allocations.insert(name, failures.queued);
    }

    /// The allocations to evict so the group fits on the node, when preemption is enabled
    /// for this job type and enough lower-priority allocations run there.
    fn preemption_victims(
        &mut self,
        placer: &GroupPlacer<'_, '_>,
        idx: usize,
    ) -> Option<Vec<Arc<Allocation>>> {
        if !self.config.preemption_enabled(&placer.job.job_type) {
            return None;
        }
        let live = self.table.live_allocs(idx);
        let used = self.table.used(idx);
        let capacity = self.table.capacity(idx);
        preempt::choose(&live, used, placer.spec.ask, capacity, placer.job.priority)
    }

    /// Adds the evictions to the plan and lists them on the allocation that caused them.
    fn record_preemptions(&mut self, alloc: &mut Allocation, victims: &[Arc<Allocation>]) {
        for v in victims {
            self.out
                .plan
                .node_preemptions
                .entry(v.node_id.clone())
                .or_default()
                .push(preempt::evicted(v, &alloc.id));
            alloc.preempted_allocations.push(v.id.clone());
        }
    }
}

/// The failures of one group's placements, tallied for its metric.
struct Failures {
    base: AllocMetric,
    failed: Option<(AllocMetric, Tally)>,
    queued: i64,
}

impl Failures {
    fn record(&mut self, node: &nomadish_proto::model::Node, reason: &str) {
        let (metric, tally) = self
            .failed
            .get_or_insert_with(|| (self.base.clone(), Tally::default()));
        if self.queued > 0 {
            metric.coalesced_failures += 1;
        }
        tally.exhausted_for(node, reason);
        self.queued += 1;
    }

    /// A placement refused by the namespace's quota (its reason joins `QuotaExhausted`).
    fn quota(&mut self, refused: AllocMetric) {
        let (metric, _) = self
            .failed
            .get_or_insert_with(|| (self.base.clone(), Tally::default()));
        if self.queued > 0 {
            metric.coalesced_failures += 1;
        }
        for reason in refused.quota_exhausted {
            if !metric.quota_exhausted.contains(&reason) {
                metric.quota_exhausted.push(reason);
            }
        }
        self.queued += 1;
    }
}
