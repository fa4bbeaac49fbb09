//! Selecting a node for one placement: walk the group's ring of feasible nodes from where the
//! previous placement stopped, drop nodes that can no longer fit (or that `distinct_hosts`
//! now forbids), score up to `limit` candidates and keep the best.
//!
//! ```text
//!   ring (feasible, shuffled) ──cursor──> distinct_hosts? ──> fits? ──> score ──> limit ──> max
//!                                            │ no               │ no              (skip up to 3
//!                                            └── removed ───────┘                  scores <= 0)
//! ```
//!
//! Within one group every placement asks for the same resources and usage only grows, so a
//! node that cannot fit now never will during this call: removing it keeps later placements
//! cheap, and once the ring is empty every remaining placement of the group fails.

use std::collections::BTreeMap;

use nomadish_proto::model::{AllocMetric, Node};

use super::feasible::GroupSpec;
use super::nodes::{Dimension, NodeTable};
use super::rank::{self, MAX_SKIP, SKIP_SCORE_THRESHOLD, Scored};

/// Filter reason recorded when `distinct_hosts` rules a node out.
pub const FILTER_DISTINCT_HOSTS: &str = "distinct_hosts";

/// How many of the best candidates have their scores recorded in the metrics.
pub const MAX_RECORDED_SCORES: usize = 5;

/// Proposed allocations of the job per node: the job's and the current group's.
pub(crate) struct Collisions {
    pub job: Vec<u32>,
    pub group: Vec<u32>,
}

/// Why nodes dropped out of the ring: tallied for the group's failure metric.
#[derive(Default)]
pub(crate) struct Tally {
    exhausted: i64,
    dimensions: BTreeMap<&'static str, i64>,
    classes: BTreeMap<String, i64>,
    distinct_filtered: i64,
    distinct_classes: BTreeMap<String, i64>,
}

impl Tally {
    /// A node that cannot fit the ask, and the first dimension it runs out of.
    pub(crate) fn exhausted(&mut self, node: &Node, dim: Dimension) {
        self.exhausted += 1;
        *self.dimensions.entry(dim.key()).or_insert(0) += 1;
        if !node.node_class.is_empty() {
            *self.classes.entry(node.node_class.clone()).or_insert(0) += 1;
        }
    }

    fn distinct(&mut self, node: &Node) {
        self.distinct_filtered += 1;
        if !node.node_class.is_empty() {
            *self
                .distinct_classes
                .entry(node.node_class.clone())
                .or_insert(0) += 1;
        }
    }

    /// Adds the tallies to a metric.
    pub(crate) fn apply(&self, metric: &mut AllocMetric) {
        metric.nodes_exhausted += self.exhausted;
        for (k, v) in &self.dimensions {
            *metric
                .dimension_exhausted
                .entry((*k).to_string())
                .or_insert(0) += v;
        }
        for (k, v) in &self.classes {
            *metric.class_exhausted.entry(k.clone()).or_insert(0) += v;
        }
        if self.distinct_filtered > 0 {
            metric.nodes_filtered += self.distinct_filtered;
            *metric
                .constraint_filtered
                .entry(FILTER_DISTINCT_HOSTS.to_string())
                .or_insert(0) += self.distinct_filtered;
            for (k, v) in &self.distinct_classes {
                *metric.class_filtered.entry(k.clone()).or_insert(0) += v;
            }
        }
    }
}

/// Node selection state for one task group.
pub(crate) struct Selector {
    ring: Vec<usize>,
    cursor: usize,
    limit: usize,
    base: AllocMetric,
    total: Tally,
}

/// One placement decision: the node and the metric explaining it.
pub(crate) struct Choice {
    pub node: usize,
    pub metric: AllocMetric,
}

impl Selector {
    pub(crate) fn new(ring: Vec<usize>, limit: usize, base: AllocMetric) -> Self {
        Self {
            ring,
            cursor: 0,
            limit,
            base,
            total: Tally::default(),
        }
    }

    /// The metric explaining why the group's placements fail: the static filters plus every
    /// node that dropped out of the ring.
    pub(crate) fn failure_metric(&self) -> AllocMetric {
        let mut metric = self.base.clone();
        self.total.apply(&mut metric);
        metric
    }

    /// Picks a node for one allocation of the group; `None` when no node can take it.
    pub(crate) fn select(
        &mut self,
        table: &mut NodeTable<'_>,
        collisions: &Collisions,
        spec: &GroupSpec<'_>,
        job_distinct: bool,
        penalty: &[usize],
    ) -> Option<Choice> {
        let mut local = Tally::default();
        let mut seen = Vec::with_capacity(self.limit);
        let mut skipped: Vec<Scored> = Vec::new();
        let steps = self.ring.len();
        for _ in 0..steps {
            if seen.len() == self.limit || self.ring.is_empty() {
                break;
            }
            let idx = self.ring[self.cursor];
            let node = &table.nodes[idx];
            let distinct_hit = (job_distinct && collisions.job[idx] > 0)
                || (spec.distinct_hosts && collisions.group[idx] > 0);
            if distinct_hit {
                local.distinct(node);
                self.total.distinct(node);
                self.remove_current();
                continue;
            }
            let used = table.used(idx);
            let capacity = table.capacity(idx);
            if let Some(dim) = used.exhausted_by(spec.ask, capacity) {
                let node = &table.nodes[idx];
                local.exhausted(node, dim);
                self.total.exhausted(node, dim);
                self.remove_current();
                continue;
            }
            let after = super::nodes::Amount {
                cpu: used.cpu + spec.ask.cpu,
                memory: used.memory + spec.ask.memory,
                disk: used.disk + spec.ask.disk,
            };
            let scored = Scored::new(
                idx,
                rank::binpack(capacity, after),
                rank::anti_affinity(collisions.group[idx], spec.group.count),
                penalty.contains(&idx),
            );
            self.cursor = (self.cursor + 1) % self.ring.len();
            if scored.final_score <= SKIP_SCORE_THRESHOLD && skipped.len() < MAX_SKIP {
                skipped.push(scored);
            } else {
                seen.push(scored);
            }
        }
        let room = self.limit.saturating_sub(seen.len());
        seen.extend(skipped.into_iter().take(room));
        let best = seen.iter().copied().reduce(|best, s| {
            if s.final_score > best.final_score {
                s
            } else {
                best
            }
        })?;
        let mut metric = self.base.clone();
        local.apply(&mut metric);
        record_scores(&mut metric, table, &mut seen);
        Some(Choice {
            node: best.node,
            metric,
        })
    }

    fn remove_current(&mut self) {
        self.ring.remove(self.cursor);
        if self.cursor >= self.ring.len() {
            self.cursor = 0;
        }
    }
}

/// Records the component and final scores of the best few candidates, keyed
/// `<node ID>.<scorer>` as Nomad's `Scores`.
pub(crate) fn record_scores(metric: &mut AllocMetric, table: &NodeTable<'_>, seen: &mut [Scored]) {
    seen.sort_by(|a, b| b.final_score.total_cmp(&a.final_score));
    for s in seen.iter().take(MAX_RECORDED_SCORES) {
        let id = &table.nodes[s.node].id;
        metric.scores.insert(format!("{id}.binpack"), s.binpack);
        metric.scores.insert(
            format!("{id}.job-anti-affinity"),
            s.anti_affinity.unwrap_or(0.0),
        );
        if s.penalty {
            metric
                .scores
                .insert(format!("{id}.node-reschedule-penalty"), -1.0);
        }
        metric
            .scores
            .insert(format!("{id}.normalized-score"), s.final_score);
    }
}
