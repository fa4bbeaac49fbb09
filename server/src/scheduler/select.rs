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

use nomadish_proto::model::{AllocMetric, Node, NodeScoreMeta, ScorerName};

use super::affinity::{Affinities, Spreads};
use super::feasible::GroupSpec;
use super::nodes::{Dimension, NodeTable};
use super::rank::{self, MAX_SKIP, SKIP_SCORE_THRESHOLD, Scored};

/// Filter reason recorded when `distinct_hosts` rules a node out.
pub const FILTER_DISTINCT_HOSTS: &str = "distinct_hosts";

/// How many of the best candidates have their scores recorded in the metrics.
pub const MAX_RECORDED_SCORES: usize = 3;

/// Proposed allocations of the job per node: the job's and the current group's.
pub(crate) struct Collisions {
    pub job: Vec<u32>,
    pub group: Vec<u32>,
}

/// Why nodes dropped out of the ring: tallied for the group's failure metric.
#[derive(Default)]
pub(crate) struct Tally {
    exhausted: i64,
    dimensions: BTreeMap<String, i64>,
    classes: BTreeMap<String, i64>,
    distinct_filtered: i64,
    distinct_classes: BTreeMap<String, i64>,
}

impl Tally {
    /// A node that cannot fit the ask, and the first dimension it runs out of.
    pub(crate) fn exhausted(&mut self, node: &Node, dim: Dimension) {
        self.exhausted_for(node, dim.key());
    }

    /// A node that cannot fit the ask, for this reason (a dimension or a port failure).
    pub(crate) fn exhausted_for(&mut self, node: &Node, reason: &str) {
        self.exhausted += 1;
        match self.dimensions.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.dimensions.insert(reason.to_string(), 1);
            }
        }
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
            *metric.dimension_exhausted.entry(k.clone()).or_insert(0) += v;
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
    /// Score fit with the `spread` algorithm (worst fit) instead of BestFit.
    pub worst_fit: bool,
    /// Scratch buffers reused by every placement.
    seen: Vec<Scored>,
    skipped: Vec<Scored>,
}

/// One placement decision: the node and the metric explaining it.
pub(crate) struct Choice {
    pub node: usize,
    pub metric: AllocMetric,
}

/// What one placement is looking for.
pub(crate) struct Ask<'a> {
    pub spec: &'a GroupSpec<'a>,
    /// Job-level `distinct_hosts`.
    pub job_distinct: bool,
    /// Nodes to penalize (where a rescheduled allocation failed).
    pub penalty: &'a [usize],
    /// The group's affinities.
    pub affinities: &'a Affinities,
    /// The group's spreads and their running counts.
    pub spreads: &'a Spreads,
}

impl Selector {
    pub(crate) fn new(ring: Vec<usize>, limit: usize, base: AllocMetric) -> Self {
        Self {
            ring,
            cursor: 0,
            limit,
            base,
            total: Tally::default(),
            worst_fit: false,
            seen: Vec::with_capacity(limit + MAX_SKIP),
            skipped: Vec::with_capacity(MAX_SKIP),
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
        ask: &Ask<'_>,
    ) -> Option<Choice> {
        let mut local = Tally::default();
        self.seen.clear();
        self.skipped.clear();
        for _ in 0..self.ring.len() {
            if self.seen.len() == self.limit || self.ring.is_empty() {
                break;
            }
            let Some(scored) = self.visit(table, collisions, ask, &mut local) else {
                continue;
            };
            if scored.final_score <= SKIP_SCORE_THRESHOLD && self.skipped.len() < MAX_SKIP {
                self.skipped.push(scored);
            } else {
                self.seen.push(scored);
            }
        }
        let room = self.limit.saturating_sub(self.seen.len());
        let skipped = self.skipped.len().min(room);
        self.seen.extend_from_slice(&self.skipped[..skipped]);
        let best = self.seen.iter().copied().reduce(|best, s| {
            if s.final_score > best.final_score {
                s
            } else {
                best
            }
        })?;
        let mut metric = self.base.clone();
        local.apply(&mut metric);
        record_scores(&mut metric, table, &mut self.seen);
        Some(Choice {
            node: best.node,
            metric,
        })
    }

    /// Tries only `node` (a sticky disk's previous node): the choice if it can take the
    /// allocation, else `None` and the caller selects as usual.
    pub(crate) fn select_preferred(
        &mut self,
        table: &mut NodeTable<'_>,
        collisions: &Collisions,
        ask: &Ask<'_>,
        node: usize,
    ) -> Option<Choice> {
        let at = self.ring.iter().position(|&n| n == node)?;
        let saved = self.cursor;
        self.cursor = at;
        let mut local = Tally::default();
        let scored = self.visit(table, collisions, ask, &mut local);
        self.cursor = if saved < self.ring.len() { saved } else { 0 };
        let scored = scored?;
        let mut metric = self.base.clone();
        local.apply(&mut metric);
        self.seen.clear();
        self.seen.push(scored);
        record_scores(&mut metric, table, &mut self.seen);
        Some(Choice {
            node: scored.node,
            metric,
        })
    }

    /// Looks at the node under the cursor: drops it from the ring if it can no longer take
    /// the group, else scores it and moves the cursor on.
    fn visit(
        &mut self,
        table: &mut NodeTable<'_>,
        collisions: &Collisions,
        ask: &Ask<'_>,
        local: &mut Tally,
    ) -> Option<Scored> {
        let idx = self.ring[self.cursor];
        let spec = ask.spec;
        let distinct_hit = (ask.job_distinct && collisions.job[idx] > 0)
            || (spec.distinct_hosts && collisions.group[idx] > 0);
        if distinct_hit {
            local.distinct(&table.nodes[idx]);
            self.total.distinct(&table.nodes[idx]);
            self.remove_current();
            return None;
        }
        let used = table.used(idx);
        let capacity = table.capacity(idx);
        if let Some(dim) = used.exhausted_by(spec.ask, capacity) {
            local.exhausted(&table.nodes[idx], dim);
            self.total.exhausted(&table.nodes[idx], dim);
            self.remove_current();
            return None;
        }
        if let Err(failure) = table.check_ports(idx, &spec.ports) {
            let reason = failure.reason();
            local.exhausted_for(&table.nodes[idx], &reason);
            self.total.exhausted_for(&table.nodes[idx], &reason);
            self.remove_current();
            return None;
        }
        self.cursor = (self.cursor + 1) % self.ring.len();
        let node = &table.nodes[idx];
        let affinity = ask.affinities.score(node);
        let spread = if ask.spreads.is_empty() {
            None
        } else {
            ask.spreads.score(node)
        };
        let scored = Scored::new(
            idx,
            rank::fit(capacity, used.plus(spec.ask), self.worst_fit),
            rank::anti_affinity(collisions.group[idx], spec.group.count),
            ask.penalty.contains(&idx),
        );
        Some(scored.with_preferences(affinity, spread))
    }

    fn remove_current(&mut self) {
        self.ring.remove(self.cursor);
        if self.cursor >= self.ring.len() {
            self.cursor = 0;
        }
    }
}

/// Records the scores of the best few candidates, best first, as Nomad's `ScoreMetaData`:
/// `binpack` always, `job-anti-affinity`, `node-reschedule-penalty`, `node-affinity` and
/// `allocation-spread` when they applied, and the final score as `NormScore`.
pub(crate) fn record_scores(metric: &mut AllocMetric, table: &NodeTable<'_>, seen: &mut [Scored]) {
    let best_first = |a: &Scored, b: &Scored| b.final_score.total_cmp(&a.final_score);
    let top = if seen.len() > MAX_RECORDED_SCORES {
        // Only the best few are recorded: select them instead of sorting every candidate.
        seen.select_nth_unstable_by(MAX_RECORDED_SCORES - 1, best_first);
        &mut seen[..MAX_RECORDED_SCORES]
    } else {
        seen
    };
    top.sort_by(best_first);
    metric.score_meta_data = top
        .iter()
        .map(|s| {
            let parts = [
                ("binpack", Some(s.binpack)),
                ("job-anti-affinity", s.anti_affinity),
                ("node-reschedule-penalty", s.penalty.then_some(-1.0)),
                ("node-affinity", s.affinity),
                ("allocation-spread", s.spread),
            ];
            NodeScoreMeta {
                node_id: table.nodes[s.node].id.clone(),
                scores: parts
                    .into_iter()
                    .filter_map(|(name, score)| Some((ScorerName::fixed(name), score?)))
                    .collect(),
                norm_score: s.final_score,
            }
        })
        .collect();
}
