//! The generic scheduler, for `service` and `batch` evaluations.
//!
//! ```text
//!   job + its allocs ──reconcile each group──> stops, in-place updates, follow-ups, placements
//!   stops ──> plan.node_update          (node usage forgets them)
//!   in-place / follow-up ──> plan.node_allocation (same alloc ID)
//!   placements ──feasible ring + select──> plan.node_allocation, or failed_tg_allocs + queued
//! ```
//!
//! When the replacement of a destructively updated or rescheduled allocation finds no node,
//! its stop is taken back out of the plan: the old allocation keeps running (or, if failed,
//! stays eligible for the next evaluation) instead of leaving its slot empty.

use std::collections::HashMap;
use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_PENDING, ALLOC_DESIRED_RUN, AllocMetric, AllocatedResources, Allocation,
    Evaluation, Job, TaskGroup,
};

use super::affinity::{Affinities, Spreads};
use super::deploy::{self, Deploy};
use super::feasible::{Candidates, GroupSpec, JobSpec, group_ring, infeasible_reason};
use super::rank::{candidate_limit, preference_limit};
use super::reconcile::{self, GroupDiff, PlaceKind, Placement, reconcile_group};
use super::reschedule;
use super::run::{ByGroup, Run, group_by_name};
use super::select::{Ask, Collisions, Selector};
use super::util::{alloc_name, allocated_resources};
use super::{Outcome, State};

/// Schedules a service or batch evaluation.
pub(crate) fn run(state: &dyn State, eval: &Evaluation, now: i64, seed: u64) -> Outcome {
    let (mut run, job, allocs) = Run::load(state, eval, now, seed);
    let by_group = group_by_name(&allocs);
    let latest = state.latest_deployment(&eval.namespace, &eval.job_id);
    let mut deploy = None;
    match job.filter(|j| !j.stop && !j.is_parent()) {
        Some(job) => {
            let mut d = Deploy::new(latest.as_deref(), &job, run.batch, eval.priority, now);
            run.schedule_job(&job, &allocs, &by_group, &mut d);
            deploy = Some(d);
        }
        None => {
            run.stop_everything(&by_group);
            let cancels = deploy::cancel_for_stopped_job(latest.as_deref());
            run.out.plan.deployment_updates.extend(cancels);
        }
    }
    let mut out = run.finish();
    if let Some(d) = deploy {
        let existing: HashMap<&str, &Arc<Allocation>> =
            allocs.iter().map(|a| (a.id.as_str(), a)).collect();
        d.finish(&mut out.plan, &existing);
    }
    out
}

impl Run<'_, '_> {
    fn schedule_job(
        &mut self,
        job: &Arc<Job>,
        allocs: &[Arc<Allocation>],
        by_group: &ByGroup<'_>,
        deploy: &mut Deploy,
    ) {
        let job_spec = JobSpec::new(job);
        let specs: Vec<GroupSpec<'_>> = job.task_groups.iter().map(GroupSpec::new).collect();
        let group_allocs = |name: &str| by_group.get(name).map_or(&[][..], Vec::as_slice);
        let mut diffs: Vec<GroupDiff> = Vec::with_capacity(specs.len());
        for spec in &specs {
            let all = group_allocs(&spec.group.name);
            let seen = deploy.reconcile_input(&spec.group.name, all);
            let mut diff = self.reconcile(job, &job_spec, spec, &seen);
            deploy.shape(spec.group, &mut diff, all, &mut self.rng);
            diffs.push(diff);
        }
        for (name, allocs) in by_group {
            if job.group(name).is_none() {
                self.stop_group(name, allocs);
            }
        }
        for (spec, diff) in specs.iter().zip(&diffs) {
            self.apply_stops(diff);
            self.apply_updates(job, diff);
            self.annotate(&spec.group.name, diff);
        }
        self.table.freeze_stops();
        if let Some(quota) = self.quota.as_mut() {
            quota.settle(&self.table);
        }
        let candidates = Candidates::new(&self.table, &job_spec, &mut self.rng);
        let limit = candidate_limit(self.batch, candidates.in_datacenters);
        let mut collisions = Collisions {
            job: self.count_proposed(allocs, None),
            group: Vec::new(),
        };
        for (spec, diff) in specs.iter().zip(&diffs) {
            let placer = GroupPlacer {
                job,
                job_spec: &job_spec,
                spec,
                resources: allocated_resources(spec.group),
            };
            collisions.group =
                self.count_proposed(group_allocs(&spec.group.name), Some(&spec.group.name));
            let (ring, base) = group_ring(&self.table, &candidates, &job_spec, spec);
            let mut prefs = self.preferences(job, spec, group_allocs(&spec.group.name));
            let limit = if prefs.0.is_empty() && prefs.1.is_empty() {
                limit
            } else {
                preference_limit(spec.group.count)
            };
            let mut selector = Selector::new(ring, limit, base);
            selector.worst_fit = self.config.spread_algorithm();
            self.place_group(
                &placer,
                &diff.place,
                &mut selector,
                &mut collisions,
                &mut prefs,
            );
        }
    }

    /// The group's affinities, and its spreads counting the allocations the plan keeps.
    fn preferences(
        &self,
        job: &Job,
        spec: &GroupSpec<'_>,
        allocs: &[Arc<Allocation>],
    ) -> (Affinities, Spreads) {
        let kept = allocs
            .iter()
            .filter(|a| !a.terminal() && !self.table.is_stopped(&a.id))
            .filter_map(|a| self.table.get(&a.node_id).map(Arc::as_ref));
        (
            Affinities::new(job, spec.group),
            Spreads::new(job, spec.group, kept),
        )
    }

    fn reconcile(
        &self,
        job: &Arc<Job>,
        job_spec: &JobSpec,
        spec: &GroupSpec<'_>,
        allocs: &[Arc<Allocation>],
    ) -> GroupDiff {
        let inplace_ok = |alloc: &Allocation| {
            self.table.get(&alloc.node_id).is_some_and(|node| {
                job_spec.pool_matches(node) && infeasible_reason(job_spec, spec, node).is_none()
            })
        };
        let ctx = reconcile::Ctx {
            job,
            batch: self.batch,
            eval_id: &self.eval.id,
            now: self.now,
            table: &self.table,
            inplace_ok: &inplace_ok,
        };
        reconcile_group(&ctx, spec.group, allocs)
    }
}

/// What placing one group needs besides the run.
pub(crate) struct GroupPlacer<'a, 'j> {
    pub job: &'a Arc<Job>,
    pub job_spec: &'a JobSpec,
    pub spec: &'a GroupSpec<'j>,
    pub resources: AllocatedResources,
}

impl Run<'_, '_> {
    fn place_group(
        &mut self,
        placer: &GroupPlacer<'_, '_>,
        places: &[Placement],
        selector: &mut Selector,
        collisions: &mut Collisions,
        prefs: &mut (Affinities, Spreads),
    ) {
        let name = &placer.spec.group.name;
        let mut failed: Option<AllocMetric> = None;
        let mut queued = 0i64;
        for p in places {
            if let Some(metric) = failed.as_mut() {
                metric.coalesced_failures += 1;
                queued += 1;
                self.keep_previous_of(p, collisions);
                continue;
            }
            let over_quota = self
                .quota
                .as_ref()
                .and_then(|q| q.refuse(&placer.resources));
            if let Some(metric) = over_quota {
                failed = Some(metric);
                queued += 1;
                self.keep_previous_of(p, collisions);
                continue;
            }
            let penalty: Vec<usize> = match (&p.previous, p.kind) {
                (Some(prev), PlaceKind::Reschedule) => reschedule::penalty_node_ids(prev)
                    .filter_map(|id| self.table.position(id))
                    .collect(),
                _ => Vec::new(),
            };
            let ask = Ask {
                spec: placer.spec,
                job_distinct: placer.job_spec.distinct_hosts,
                penalty: &penalty,
                affinities: &prefs.0,
                spreads: &prefs.1,
            };
            let preferred =
                sticky_node(placer.spec.group, p).and_then(|id| self.table.position(id));
            let choice = preferred
                .and_then(|node| selector.select_preferred(&mut self.table, collisions, &ask, node))
                .or_else(|| selector.select(&mut self.table, collisions, &ask));
            match choice {
                Some(choice) => {
                    let alloc = self.new_alloc(placer, p, choice.node, choice.metric);
                    self.table.add(choice.node, placer.spec.ask);
                    if let Some(quota) = self.quota.as_mut() {
                        quota.record(&placer.resources);
                    }
                    collisions.job[choice.node] += 1;
                    collisions.group[choice.node] += 1;
                    prefs.1.record(&self.table.nodes[choice.node]);
                    self.buckets.push(choice.node, alloc);
                }
                None => {
                    failed = Some(selector.failure_metric());
                    queued += 1;
                    self.keep_previous_of(p, collisions);
                }
            }
        }
        if let Some(metric) = failed {
            self.out.failed_tg_allocs.insert(name.clone(), metric);
        }
        self.out.queued_allocations.insert(name.clone(), queued);
    }

    /// Keeps the allocation a failed placement would have replaced (see
    /// [`Run::keep_previous`]); it counts again for anti-affinity and `distinct_hosts`.
    fn keep_previous_of(&mut self, p: &Placement, collisions: &mut Collisions) {
        if let Some(idx) = self.keep_previous(p) {
            collisions.job[idx] += 1;
            collisions.group[idx] += 1;
            // The kept allocation holds its share of the quota again.
            if let (Some(quota), Some(prev)) = (self.quota.as_mut(), p.previous.as_ref()) {
                quota.record(&prev.allocated_resources);
            }
        }
    }

    /// A new allocation of the group on the node, `pending`, with its placement metric.
    pub(crate) fn new_alloc(
        &mut self,
        placer: &GroupPlacer<'_, '_>,
        p: &Placement,
        node: usize,
        metric: AllocMetric,
    ) -> Allocation {
        let job = placer.job;
        let group = placer.spec.group;
        let idx = node;
        let node = self.table.nodes[node].clone();
        let tracker = match (&p.previous, p.kind) {
            (Some(prev), PlaceKind::Reschedule) => {
                let policy = prev
                    .job
                    .as_ref()
                    .and_then(|j| j.group(&group.name))
                    .unwrap_or(group)
                    .reschedule_policy
                    .as_ref();
                Some(reschedule::next_tracker(prev, policy, self.now))
            }
            _ => None,
        };
        let mut alloc = Allocation {
            id: self.rng.uuid(),
            namespace: job.namespace.clone(),
            eval_id: self.eval.id.clone(),
            name: alloc_name(&job.id, &group.name, p.index),
            node_id: node.id.clone(),
            node_name: node.name.clone(),
            job_id: job.id.clone(),
            job: Some(job.clone()),
            task_group: group.name.clone(),
            allocated_resources: placer.resources.clone(),
            metrics: Some(metric),
            desired_status: ALLOC_DESIRED_RUN.to_string(),
            client_status: ALLOC_CLIENT_PENDING.to_string(),
            previous_allocation: p
                .previous
                .as_ref()
                .map(|a| a.id.clone())
                .unwrap_or_default(),
            reschedule_tracker: tracker,
            deployment_status: (p.kind == PlaceKind::Canary).then(deploy::canary_status),
            create_time: self.now,
            modify_time: self.now,
            ..Default::default()
        };
        let ports = &placer.spec.ports;
        self.table
            .assign_ports(idx, group, ports, &mut alloc, &mut self.rng);
        alloc
    }
}

/// The node a replacement should try first: its previous allocation's, when the group's
/// ephemeral disk is sticky (Nomad's preferred node). With `migrate` alone the replacement
/// may land anywhere: its client fetches the data from the previous node.
fn sticky_node<'p>(group: &TaskGroup, p: &'p Placement) -> Option<&'p str> {
    let keeps = group.ephemeral_disk.as_ref().is_some_and(|d| d.sticky);
    p.previous
        .as_ref()
        .filter(|_| keeps)
        .map(|prev| prev.node_id.as_str())
}
