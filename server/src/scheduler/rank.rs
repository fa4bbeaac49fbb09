//! Ranking a feasible node: Nomad's binpack BestFit score, job anti-affinity, the
//! rescheduling penalty, and their normalization into one final score.
//!
//! ```text
//!   binpack      = clamp(20 - (10^freeCpu + 10^freeMem), 0, 18) / 18     (free* after placing)
//!   anti-affin.  = -(collisions + 1) / desired_count        only when collisions > 0
//!   penalty      = -1                                        only on a node the alloc failed on
//!   final        = mean of the scores present
//! ```

use super::nodes::Amount;

/// The highest raw BestFit score (Nomad's `binPackingMaxFitScore`).
pub(crate) const BINPACK_MAX_FIT_SCORE: f64 = 18.0;

/// Candidates ranked per placement for batch jobs (power of two choices).
pub(crate) const BATCH_CANDIDATE_LIMIT: usize = 2;

/// Candidates with a final score at or below this are skipped while better ones may follow.
pub(crate) const SKIP_SCORE_THRESHOLD: f64 = 0.0;

/// At most this many low-scoring candidates are skipped per placement.
pub(crate) const MAX_SKIP: usize = 3;

/// Candidates per placement for groups with `spread` or `affinity`: at least this many
/// (Nomad's `node_limit_for_feasibility_checks` default), or the group's count if larger.
pub(crate) const PREFERENCE_CANDIDATE_LIMIT: usize = 100;

/// The candidate limit of a group with spreads or affinities: `max(count, 100)`.
pub(crate) fn preference_limit(count: i64) -> usize {
    usize::try_from(count)
        .unwrap_or(0)
        .max(PREFERENCE_CANDIDATE_LIMIT)
}

/// How many candidates per placement: 2 for batch, `max(2, ceil(log2 n))` for services, where
/// `n` is the number of ready nodes in the job's datacenters and pool.
pub(crate) fn candidate_limit(batch: bool, nodes: usize) -> usize {
    if batch || nodes == 0 {
        return BATCH_CANDIDATE_LIMIT;
    }
    let log = usize::BITS - (nodes - 1).leading_zeros();
    (log as usize).max(BATCH_CANDIDATE_LIMIT)
}

/// The normalized fit score (0..=1) under the configured algorithm: BestFit for `binpack`,
/// worst fit (`10^freeCpu + 10^freeMem - 2`, preferring emptier nodes) for `spread`.
pub(crate) fn fit(capacity: Amount, used: Amount, worst_fit: bool) -> f64 {
    if worst_fit {
        worst(capacity, used)
    } else {
        binpack(capacity, used)
    }
}

fn worst(capacity: Amount, used: Amount) -> f64 {
    let total = 10f64.powf(free_fraction(used.cpu, capacity.cpu))
        + 10f64.powf(free_fraction(used.memory, capacity.memory));
    (total - 2.0).clamp(0.0, BINPACK_MAX_FIT_SCORE) / BINPACK_MAX_FIT_SCORE
}

fn free_fraction(used: i64, cap: i64) -> f64 {
    if cap <= 0 {
        0.0
    } else {
        1.0 - used as f64 / cap as f64
    }
}

/// The normalized BestFit score (0..=1) of a node whose usage after placing is `used`.
pub(crate) fn binpack(capacity: Amount, used: Amount) -> f64 {
    let free = |used: i64, cap: i64| {
        if cap <= 0 {
            0.0
        } else {
            1.0 - used as f64 / cap as f64
        }
    };
    let total =
        10f64.powf(free(used.cpu, capacity.cpu)) + 10f64.powf(free(used.memory, capacity.memory));
    (20.0 - total).clamp(0.0, BINPACK_MAX_FIT_SCORE) / BINPACK_MAX_FIT_SCORE
}

/// The job anti-affinity score, `None` when the node runs no allocation of the group.
pub(crate) fn anti_affinity(collisions: u32, desired_count: i64) -> Option<f64> {
    (collisions > 0).then(|| -f64::from(collisions + 1) / desired_count.max(1) as f64)
}

/// The scores of one candidate node for one placement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub node: usize,
    pub binpack: f64,
    pub anti_affinity: Option<f64>,
    pub penalty: bool,
    /// `node-affinity`, when an affinity matched.
    pub affinity: Option<f64>,
    /// `allocation-spread`, when non-zero.
    pub spread: Option<f64>,
    pub final_score: f64,
}

impl Scored {
    /// Combines the component scores into the final (mean) score.
    pub(crate) fn new(
        node: usize,
        binpack: f64,
        anti_affinity: Option<f64>,
        penalty: bool,
    ) -> Self {
        Self {
            node,
            binpack,
            anti_affinity,
            penalty,
            affinity: None,
            spread: None,
            final_score: 0.0,
        }
        .finish()
    }

    /// Adds the affinity and spread scores (each counted only when present).
    pub(crate) fn with_preferences(mut self, affinity: Option<f64>, spread: Option<f64>) -> Self {
        self.affinity = affinity;
        self.spread = spread;
        self.finish()
    }

    fn finish(mut self) -> Self {
        let penalty = self.penalty.then_some(-1.0);
        let present = [self.anti_affinity, penalty, self.affinity, self.spread];
        let (sum, n) = present
            .iter()
            .flatten()
            .fold((self.binpack, 1.0), |(s, n), v| (s + v, n + 1.0));
        self.final_score = sum / n;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(cpu: i64, memory: i64) -> Amount {
        Amount {
            cpu,
            memory,
            disk: 0,
        }
    }

    #[test]
    fn limits_follow_nomad() {
        assert_eq!(candidate_limit(true, 5000), 2);
        assert_eq!(candidate_limit(false, 1), 2);
        assert_eq!(candidate_limit(false, 4), 2);
        assert_eq!(candidate_limit(false, 5), 3);
        assert_eq!(candidate_limit(false, 1000), 10);
        assert_eq!(candidate_limit(false, 1024), 10);
        assert_eq!(candidate_limit(false, 5000), 13);
    }

    #[test]
    fn binpack_prefers_fuller_nodes() {
        let cap = amount(4000, 8192);
        let empty = binpack(cap, amount(100, 128));
        let half = binpack(cap, amount(2100, 4224));
        let full = binpack(cap, cap);
        assert!(empty < half && half < full, "{empty} {half} {full}");
        assert!((full - 1.0).abs() < 1e-9);
        assert_eq!(binpack(cap, amount(0, 0)), 0.0);
    }

    #[test]
    fn worst_fit_prefers_emptier_nodes() {
        let cap = amount(4000, 8192);
        let empty = fit(cap, amount(100, 128), true);
        let half = fit(cap, amount(2100, 4224), true);
        assert!(empty > half, "{empty} {half}");
        assert_eq!(fit(cap, cap, true), 0.0);
        assert_eq!(
            fit(cap, amount(100, 128), false),
            binpack(cap, amount(100, 128))
        );
    }

    #[test]
    fn final_score_is_the_mean() {
        let s = Scored::new(0, 0.5, anti_affinity(1, 4), true);
        assert!((s.final_score - (0.5 - 0.5 - 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(anti_affinity(0, 4), None);
        assert_eq!(Scored::new(0, 0.25, None, false).final_score, 0.25);
        let s = Scored::new(0, 0.5, None, false).with_preferences(Some(1.0), Some(-0.5));
        assert!((s.final_score - (0.5 + 1.0 - 0.5) / 3.0).abs() < 1e-12);
        assert_eq!(preference_limit(3), 100);
        assert_eq!(preference_limit(1000), 1000);
    }
}
