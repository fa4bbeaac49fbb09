//! Exponential backoff with jitter for retrying calls to servers.
//!
//! Small enough to own rather than pull in a crate: doubles from `base` to `max`, each delay
//! spread by up to ±20% so a fleet of clients does not retry in lockstep.

use std::time::Duration;

/// The share of each delay that is randomized.
const JITTER_FRACTION: f64 = 0.2;

/// Exponential backoff state.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Backoff starting at `base` and doubling up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            next: base,
        }
    }

    /// The delay to wait before the next attempt; each call doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        let spread = rand::random_range(-JITTER_FRACTION..JITTER_FRACTION);
        d.mul_f64(1.0 + spread)
    }

    /// Starts over from `base` (after a success).
    pub fn reset(&mut self) {
        self.next = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_max_and_reset() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
        let within = |d: Duration, nominal: f64| {
            let s = d.as_secs_f64();
            s >= nominal * 0.79 && s <= nominal * 1.21
        };
        assert!(within(b.next_delay(), 1.0));
        assert!(within(b.next_delay(), 2.0));
        assert!(within(b.next_delay(), 4.0));
        assert!(within(b.next_delay(), 4.0));
        b.reset();
        assert!(within(b.next_delay(), 1.0));
    }
}
