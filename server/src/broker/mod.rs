//! The eval broker: a thin async shell around [`BrokerCore`], shared by the leader's workers.
//!
//! The shell owns the lock, wakes workers when something becomes ready, and runs one background
//! loop that promotes delayed evaluations and expires leases. Decisions live in [`core`].

mod core;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::model::{Evaluation, generate_id, now_ns};
use tokio::sync::Notify;

pub use self::core::{BrokerCore, BrokerError, BrokerStats, DELIVERY_LIMIT, NackOutcome};

/// How long a worker may hold an evaluation before it is offered again (Nomad's nack timeout).
pub const LEASE: Duration = Duration::from_secs(60);
/// Longest sleep of the background loop when nothing is due.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// A dequeued evaluation; ack or nack it with its token.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The evaluation to process.
    pub eval: Evaluation,
    /// The delivery token.
    pub token: String,
}

/// The shared broker.
#[derive(Debug, Clone, Default)]
pub struct EvalBroker {
    core: Arc<Mutex<BrokerCore>>,
    ready: Arc<Notify>,
    changed: Arc<Notify>,
}

impl EvalBroker {
    /// A disabled broker.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut BrokerCore) -> R) -> R {
        let mut core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut core)
    }

    /// Enables (leader) or disables and flushes (follower) the broker.
    pub fn set_enabled(&self, enabled: bool) {
        self.with(|c| c.set_enabled(enabled));
        self.changed.notify_one();
    }

    /// Whether the broker accepts work.
    pub fn enabled(&self) -> bool {
        self.with(|c| c.enabled())
    }

    /// Accepts evaluations.
    pub fn enqueue_all(&self, evals: impl IntoIterator<Item = Evaluation>) {
        let now = now_ns();
        let ready = self.with(|c| {
            evals
                .into_iter()
                .fold(false, |any, e| c.enqueue(e, now) | any)
        });
        if ready {
            self.ready.notify_waiters();
        }
        self.changed.notify_one();
    }

    /// Waits up to `timeout` for an evaluation.
    pub async fn dequeue(&self, timeout: Duration) -> Option<Lease> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.ready.notified();
            let got = self.with(|c| c.dequeue(now_ns(), LEASE.as_nanos() as i64, generate_id()));
            if let Some((eval, token)) = got {
                return Some(Lease { eval, token });
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Acknowledges a processed evaluation.
    pub fn ack(&self, lease: &Lease) -> Result<(), BrokerError> {
        let ready = self.with(|c| c.ack(&lease.eval.id, &lease.token, now_ns()))?;
        if ready {
            self.ready.notify_waiters();
        }
        Ok(())
    }

    /// Gives an evaluation back; `Failed` means the caller must mark it failed.
    pub fn nack(&self, lease: &Lease) -> Result<NackOutcome, BrokerError> {
        let outcome = self.with(|c| c.nack(&lease.eval.id, &lease.token, now_ns()))?;
        self.changed.notify_one();
        Ok(outcome)
    }

    /// Holds a blocked evaluation until capacity changes; returns the one it replaced. One
    /// scheduled before a capacity change the broker has already seen is offered at once.
    pub fn block(&self, eval: Evaluation) -> Option<Evaluation> {
        let (replaced, ready) = self.with(|c| {
            if c.missed_capacity(&eval) {
                (None, c.enqueue(eval, now_ns()))
            } else {
                (c.block(eval), false)
            }
        });
        if ready {
            self.ready.notify_waiters();
        }
        replaced
    }

    /// Offers every blocked evaluation again (capacity changed at raft index `index`).
    pub fn unblock_all(&self, index: u64) {
        let any = self.with(|c| {
            c.note_capacity(index);
            c.unblock_all(now_ns())
        });
        if any {
            self.ready.notify_waiters();
        }
    }

    /// Current counts.
    pub fn stats(&self) -> BrokerStats {
        self.with(|c| c.stats())
    }

    /// Promotes delayed evaluations and expires leases until `shutdown`; evaluations whose
    /// delivery limit ran out are passed to `on_failed`.
    pub async fn run_timers(
        &self,
        mut on_failed: impl FnMut(Evaluation),
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let now = now_ns();
            let (ready, failed, next_due) = self.with(|c| {
                let failed: Vec<_> = c
                    .expire_leases(now)
                    .into_iter()
                    .filter_map(|o| match o {
                        NackOutcome::Failed(e) => Some(*e),
                        NackOutcome::Requeued => None,
                    })
                    .collect();
                (c.promote_due(now), failed, c.next_due())
            });
            if ready {
                self.ready.notify_waiters();
            }
            failed.into_iter().for_each(&mut on_failed);
            let sleep = next_due
                .map(|at| Duration::from_nanos((at - now).max(0) as u64).min(IDLE_TICK))
                .unwrap_or(IDLE_TICK);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.changed.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
