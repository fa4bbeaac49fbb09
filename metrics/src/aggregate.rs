//! Lock-free building blocks: an atomic `f64`, the running aggregate behind counters and
//! summaries (count, sum, sum of squares, min, max), and the bounded window of recent
//! observations that summaries take quantiles from.

use std::sync::atomic::{AtomicU64, Ordering};

/// An `f64` stored as its bits in an [`AtomicU64`].
#[derive(Debug)]
pub struct AtomicF64(AtomicU64);

impl AtomicF64 {
    /// A cell holding `v`.
    pub fn new(v: f64) -> Self {
        Self(AtomicU64::new(v.to_bits()))
    }

    /// The current value.
    pub fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Replaces the value.
    pub fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Applies `f` atomically (a compare-and-swap loop).
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some(f(f64::from_bits(bits)).to_bits())
            });
    }

    /// Adds `v`.
    pub fn add(&self, v: f64) {
        self.update(|cur| cur + v);
    }
}

/// Count, sum, sum of squares, min and max of every value recorded so far.
#[derive(Debug)]
pub struct Aggregate {
    count: AtomicU64,
    sum: AtomicF64,
    sum_sq: AtomicF64,
    min: AtomicF64,
    max: AtomicF64,
}

impl Default for Aggregate {
    fn default() -> Self {
        Self {
            count: AtomicU64::new(0),
            sum: AtomicF64::new(0.0),
            sum_sq: AtomicF64::new(0.0),
            min: AtomicF64::new(f64::INFINITY),
            max: AtomicF64::new(f64::NEG_INFINITY),
        }
    }
}

/// A consistent-enough reading of an [`Aggregate`] (fields are read one by one; a value
/// recorded meanwhile may show in some of them only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregateStats {
    /// Values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest (0 when none).
    pub min: f64,
    /// The largest (0 when none).
    pub max: f64,
    /// `sum / count` (0 when none).
    pub mean: f64,
    /// Sample standard deviation (0 with fewer than two values).
    pub stddev: f64,
}

impl Aggregate {
    /// Records one value.
    pub fn record(&self, v: f64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.add(v);
        self.sum_sq.add(v * v);
        self.min.update(|cur| cur.min(v));
        self.max.update(|cur| cur.max(v));
    }

    /// Reads the statistics.
    pub fn stats(&self) -> AggregateStats {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return AggregateStats {
                count: 0,
                sum: 0.0,
                min: 0.0,
                max: 0.0,
                mean: 0.0,
                stddev: 0.0,
            };
        }
        let sum = self.sum.load();
        let n = count as f64;
        let mean = sum / n;
        let stddev = if count > 1 {
            let var = (self.sum_sq.load() - n * mean * mean) / (n - 1.0);
            var.max(0.0).sqrt()
        } else {
            0.0
        };
        AggregateStats {
            count,
            sum,
            min: self.min.load(),
            max: self.max.load(),
            mean,
            stddev,
        }
    }
}

/// How many recent observations a summary keeps for its quantiles.
pub const WINDOW: usize = 512;

/// The last [`WINDOW`] observations, overwritten round-robin without locking.
#[derive(Debug)]
pub struct Window {
    slots: Box<[AtomicU64]>,
    next: AtomicU64,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            slots: (0..WINDOW).map(|_| AtomicU64::new(0)).collect(),
            next: AtomicU64::new(0),
        }
    }
}

impl Window {
    /// Stores `v` over the oldest observation.
    pub fn push(&self, v: f64) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) as usize % WINDOW;
        self.slots[i].store(v.to_bits(), Ordering::Relaxed);
    }

    /// The observations held, sorted ascending.
    pub fn sorted(&self) -> Vec<f64> {
        let held = (self.next.load(Ordering::Relaxed) as usize).min(WINDOW);
        let mut values: Vec<f64> = self.slots[..held]
            .iter()
            .map(|s| f64::from_bits(s.load(Ordering::Relaxed)))
            .collect();
        values.sort_by(f64::total_cmp);
        values
    }
}

/// The `q` quantile (0..=1) of sorted `values` by the nearest-rank method; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_tracks_count_sum_min_max_mean_and_stddev() {
        let a = Aggregate::default();
        for v in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            a.record(v);
        }
        let s = a.stats();
        assert_eq!(s.count, 8);
        assert_eq!(s.sum, 40.0);
        assert_eq!((s.min, s.max, s.mean), (2.0, 9.0, 5.0));
        // Sample standard deviation of that classic set: sqrt(32 / 7).
        assert!((s.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn empty_aggregate_reads_as_zeroes() {
        let s = Aggregate::default().stats();
        assert_eq!((s.count, s.min, s.max, s.stddev), (0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn window_keeps_only_the_most_recent_observations() {
        let w = Window::default();
        for v in 0..(WINDOW + 10) {
            w.push(v as f64);
        }
        let held = w.sorted();
        assert_eq!(held.len(), WINDOW);
        assert_eq!(held[0], 10.0);
        assert_eq!(held[WINDOW - 1], (WINDOW + 9) as f64);
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 0.9), 90.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
