//! Soft placement preferences: `affinity` weights and `spread` blocks, scored as Nomad does.
//!
//! ```text
//!   node-affinity     = sum(weight of matching affinities) / sum(|weight|)     (if non-zero)
//!   allocation-spread = per spread block, with targets:
//!                         ((desired - (used + 1)) / desired) * weight / sum(weights)
//!                         value not targeted and no implicit "*" remainder: -1
//!                       without targets (even spread over the values seen so far):
//!                         value unused: +1; above the minimum: (min - used) / min;
//!                         all equal: -1; at the minimum: (max - min) / min
//!                       node lacks the attribute: -1                           (if non-zero)
//! ```
//!
//! Affinities are the job's, the group's and its tasks'; spreads are the group's and the
//! job's. `used` counts the group's allocations the plan keeps plus those it has placed so
//! far, per attribute value.

use std::cell::Cell;
use std::collections::HashMap;

use nomadish_proto::model::{Affinity, Constraint, Job, Node, Spread, TaskGroup};

use super::constraint::{Prepared, Target};

/// Nomad's name for the share of a spread not covered by its targets.
const IMPLICIT_TARGET: &str = "*";

/// A group's affinities, ready to score nodes.
#[derive(Debug, Default)]
pub(crate) struct Affinities {
    rules: Vec<(Prepared, f64)>,
    sum_weight: f64,
}

impl Affinities {
    pub(crate) fn new(job: &Job, group: &TaskGroup) -> Self {
        let all = job
            .affinities
            .iter()
            .chain(&group.affinities)
            .chain(group.tasks.iter().flat_map(|t| t.affinities.iter()));
        let rules: Vec<(Prepared, f64)> = all
            .map(|a: &Affinity| {
                let c = Constraint {
                    l_target: a.l_target.clone(),
                    r_target: a.r_target.clone(),
                    operand: a.operand.clone(),
                };
                (Prepared::new(&c), f64::from(a.weight))
            })
            .collect();
        let sum_weight = rules.iter().map(|(_, w)| w.abs()).sum();
        Self { rules, sum_weight }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The normalized affinity score, `None` when no affinity matched (or all weights are 0).
    pub(crate) fn score(&self, node: &Node) -> Option<f64> {
        if self.sum_weight == 0.0 {
            return None;
        }
        let total: f64 = self
            .rules
            .iter()
            .filter(|(rule, _)| rule.holds(node))
            .map(|(_, w)| w)
            .sum();
        (total != 0.0).then(|| total / self.sum_weight)
    }
}

/// One `spread` block and the group's allocations per value of its attribute.
#[derive(Debug)]
struct SpreadBlock {
    target: Target,
    weight: f64,
    /// Desired allocations per value (empty: even spread).
    desired: HashMap<String, f64>,
    used: HashMap<String, u64>,
    /// The smallest and largest counts in `used`, kept up to date by `record`.
    min: u64,
    max: u64,
}

impl SpreadBlock {
    fn new(spread: &Spread, count: i64) -> Self {
        let mut desired = HashMap::new();
        let mut sum = 0.0;
        for t in &spread.spread_target {
            let d = f64::from(t.percent) / 100.0 * count as f64;
            desired.insert(t.value.clone(), d);
            sum += d;
        }
        if sum > 0.0 && sum < count as f64 {
            desired.insert(IMPLICIT_TARGET.to_string(), count as f64 - sum);
        }
        Self {
            target: Target::parse(&spread.attribute),
            weight: f64::from(spread.weight),
            desired,
            used: HashMap::new(),
            min: 0,
            max: 0,
        }
    }

    fn record(&mut self, value: &str) {
        *self.used.entry(value.to_string()).or_insert(0) += 1;
        self.min = self.used.values().copied().min().unwrap_or(0);
        self.max = self.used.values().copied().max().unwrap_or(0);
    }

    fn even_boost(&self, value: &str) -> f64 {
        if self.used.is_empty() {
            return 0.0;
        }
        let current = self.used.get(value).copied().unwrap_or(0);
        let (min, max) = (self.min, self.max);
        if current != min {
            if min == 0 {
                return -1.0;
            }
            return (min as f64 - current as f64) / min as f64;
        }
        if min == max {
            return -1.0;
        }
        if min == 0 {
            return 1.0;
        }
        (max - min) as f64 / min as f64
    }
}

/// A group's spread blocks and the running counts they score against.
#[derive(Debug, Default)]
pub(crate) struct Spreads {
    blocks: Vec<SpreadBlock>,
    sum_weights: f64,
    /// The lowest boost seen so far; given to values whose desired count is 0.
    lowest_boost: Cell<f64>,
}

impl Spreads {
    /// The group's and the job's spreads, counting the allocations on `kept` nodes.
    pub(crate) fn new<'a>(
        job: &Job,
        group: &TaskGroup,
        kept: impl Iterator<Item = &'a Node>,
    ) -> Self {
        let blocks: Vec<SpreadBlock> = group
            .spreads
            .iter()
            .chain(&job.spreads)
            .map(|s| SpreadBlock::new(s, group.count))
            .collect();
        let sum_weights = blocks.iter().map(|b| b.weight).sum();
        let mut spreads = Self {
            blocks,
            sum_weights,
            lowest_boost: Cell::new(-1.0),
        };
        if !spreads.is_empty() {
            kept.for_each(|node| spreads.record(node));
        }
        spreads
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Counts one more allocation of the group on the node.
    pub(crate) fn record(&mut self, node: &Node) {
        for b in &mut self.blocks {
            if let Some(v) = b.target.resolve(node) {
                let v = v.to_string();
                b.record(&v);
            }
        }
    }

    /// The spread score of placing one more allocation on the node, `None` when zero.
    pub(crate) fn score(&self, node: &Node) -> Option<f64> {
        let mut total = 0.0;
        for b in &self.blocks {
            let Some(value) = b.target.resolve(node) else {
                total -= 1.0;
                continue;
            };
            if b.desired.is_empty() {
                total += b.even_boost(value);
                continue;
            }
            let Some(&desired) = b
                .desired
                .get(value)
                .or_else(|| b.desired.get(IMPLICIT_TARGET))
            else {
                total -= 1.0;
                continue;
            };
            if desired == 0.0 {
                total += self.lowest_boost.get();
                continue;
            }
            let used = b.used.get(value).copied().unwrap_or(0) + 1;
            let weight = if self.sum_weights == 0.0 {
                0.0
            } else {
                b.weight / self.sum_weights
            };
            let boost = (desired - used as f64) / desired * weight;
            total += boost;
            if boost < self.lowest_boost.get() {
                self.lowest_boost.set(boost);
            }
        }
        (total != 0.0).then_some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::SpreadTarget;

    fn node(rack: Option<&str>) -> Node {
        let mut n = Node::default();
        if let Some(r) = rack {
            n.meta.insert("rack".into(), r.into());
        }
        n
    }

    fn group(spreads: Vec<Spread>, affinities: Vec<Affinity>, count: i64) -> TaskGroup {
        TaskGroup {
            count,
            spreads,
            affinities,
            ..TaskGroup::default()
        }
    }

    #[test]
    fn affinity_is_normalized_by_total_weight() {
        let aff = |value: &str, weight| Affinity {
            l_target: "${meta.rack}".into(),
            r_target: value.into(),
            operand: "=".into(),
            weight,
        };
        let g = group(vec![], vec![aff("r1", 50), aff("r2", -25)], 1);
        let a = Affinities::new(&Job::default(), &g);
        assert_eq!(a.score(&node(Some("r1"))), Some(50.0 / 75.0));
        assert_eq!(a.score(&node(Some("r2"))), Some(-25.0 / 75.0));
        assert_eq!(a.score(&node(Some("r3"))), None);
    }

    #[test]
    fn even_spread_prefers_unused_values() {
        let s = Spread {
            attribute: "${meta.rack}".into(),
            weight: 50,
            spread_target: vec![],
        };
        let g = group(vec![s], vec![], 4);
        let r1 = node(Some("r1"));
        let mut sp = Spreads::new(&Job::default(), &g, [&r1].into_iter());
        assert_eq!(sp.score(&node(Some("r2"))), Some(1.0));
        assert_eq!(sp.score(&r1), Some(-1.0));
        assert_eq!(sp.score(&node(None)), Some(-1.0));
        sp.record(&node(Some("r2")));
        sp.record(&node(Some("r2")));
        // r1 has 1, r2 has 2: r1 is at the minimum, boosted by (2-1)/1.
        assert_eq!(sp.score(&r1), Some(1.0));
        assert_eq!(sp.score(&node(Some("r2"))), Some(-1.0));
    }

    #[test]
    fn targeted_spread_follows_desired_counts() {
        let s = Spread {
            attribute: "${meta.rack}".into(),
            weight: 100,
            spread_target: vec![SpreadTarget {
                value: "r1".into(),
                percent: 50,
            }],
        };
        let g = group(vec![s], vec![], 4);
        let sp = Spreads::new(&Job::default(), &g, std::iter::empty());
        // r1 desires 2: (2 - 1) / 2; others share the implicit 2: (2 - 1) / 2.
        assert_eq!(sp.score(&node(Some("r1"))), Some(0.5));
        assert_eq!(sp.score(&node(Some("r9"))), Some(0.5));
        let mut sp = sp;
        sp.record(&node(Some("r1")));
        sp.record(&node(Some("r1")));
        assert_eq!(sp.score(&node(Some("r1"))), Some(-0.5));
    }
}
