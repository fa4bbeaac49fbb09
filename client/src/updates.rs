//! Allocation updates to the servers: runners push the full client-side state of an
//! allocation whenever it changes; a loop sends the changed allocations in one
//! `UpdateAllocations` call, paced by a token bucket (one batch per 50 ms on average, with a
//! burst of a few so that quick successive transitions such as pending -> running are not held
//! back), and puts a failed batch back (unless a newer update for the same allocation arrived
//! meanwhile) to retry it with backoff.
//!
//! ```text
//! alloc runners ──push──> pending {alloc_id -> latest update} ──paced──> UpdateAllocations
//!                               ^                                                   │ error
//!                               └──────────── restore (older loses to newer) ───────┘
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::model::AllocClientUpdate;
use nomadish_proto::node_v1::UpdateAllocationsRequest;
use tokio::sync::Notify;

use crate::backoff::Backoff;
use crate::error::ClientError;
use crate::identity::NodeIdentity;
use crate::servers::{RPC_TIMEOUT, ServerPool, is_transport_failure};
use crate::shutdown::Stop;

/// The average time between two update batches under load. Nomad batches every 200 ms; a
/// shorter interval with a small burst keeps task start latency low while updates of many
/// allocations still coalesce into one call.
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// Batches that may go out back to back before [`UPDATE_INTERVAL`] paces them.
pub const UPDATE_BURST: f64 = 4.0;
/// First retry delay after a failed batch.
pub const UPDATE_RETRY_MIN: Duration = Duration::from_millis(500);
/// Longest retry delay after failed batches.
pub const UPDATE_RETRY_MAX: Duration = Duration::from_secs(10);
/// How long the final flush at shutdown may take.
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue of changed allocations; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Updater {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pending: Mutex<BTreeMap<String, AllocClientUpdate>>,
    notify: Notify,
}

impl Updater {
    /// Queues the latest state of an allocation (replacing an unsent older one).
    pub fn push(&self, update: AllocClientUpdate) {
        self.lock().insert(update.id.clone(), update);
        self.inner.notify.notify_one();
    }

    /// How many allocations have unsent updates.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn take(&self) -> BTreeMap<String, AllocClientUpdate> {
        std::mem::take(&mut *self.lock())
    }

    /// Puts a failed batch back; updates pushed since then are newer and win.
    fn restore(&self, batch: BTreeMap<String, AllocClientUpdate>) {
        let mut pending = self.lock();
        for (id, update) in batch {
            pending.entry(id).or_insert(update);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, AllocClientUpdate>> {
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A token bucket: `UPDATE_BURST` tokens, one regained every `UPDATE_INTERVAL`.
#[derive(Debug, Clone)]
pub struct Pacer {
    tokens: f64,
    last: tokio::time::Instant,
}

impl Pacer {
    /// A full bucket at `now`.
    pub fn new(now: tokio::time::Instant) -> Self {
        Self {
            tokens: UPDATE_BURST,
            last: now,
        }
    }

    /// Takes a token for a batch sent at `now`; returns how long to wait before the next one.
    pub fn take(&mut self, now: tokio::time::Instant) -> Duration {
        let regained = now.duration_since(self.last).as_secs_f64() / UPDATE_INTERVAL.as_secs_f64();
        self.tokens = (self.tokens + regained).min(UPDATE_BURST) - 1.0;
        self.last = now;
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            UPDATE_INTERVAL.mul_f64(1.0 - self.tokens)
        }
    }
}

/// Sends queued updates until `stop`, then flushes what is left for at most
/// [`SHUTDOWN_FLUSH_TIMEOUT`].
pub async fn run(updater: Updater, pool: ServerPool, identity: NodeIdentity, mut stop: Stop) {
    let mut backoff = Backoff::new(UPDATE_RETRY_MIN, UPDATE_RETRY_MAX);
    let mut pacer = Pacer::new(tokio::time::Instant::now());
    'outer: loop {
        tokio::select! {
            () = updater.inner.notify.notified() => {}
            () = stop.stopped() => break,
        }
        loop {
            let batch = updater.take();
            if batch.is_empty() {
                break;
            }
            let delay = match send(&pool, &identity, &batch).await {
                Ok(()) => {
                    backoff.reset();
                    pacer.take(tokio::time::Instant::now())
                }
                Err(e) => {
                    tracing::warn!(error = %e, allocs = batch.len(), "sending allocation updates failed; will retry");
                    updater.restore(batch);
                    backoff.next_delay()
                }
            };
            if !delay.is_zero() && stop.sleep(delay).await {
                break 'outer;
            }
        }
    }
    let flushed =
        tokio::time::timeout(SHUTDOWN_FLUSH_TIMEOUT, flush(&updater, &pool, &identity)).await;
    if flushed.is_err() {
        tracing::warn!(
            allocs = updater.pending(),
            "could not deliver final allocation updates before shutdown"
        );
    }
}

async fn flush(updater: &Updater, pool: &ServerPool, identity: &NodeIdentity) {
    loop {
        let batch = updater.take();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = send(pool, identity, &batch).await {
            tracing::debug!(error = %e, "final update attempt failed");
            updater.restore(batch);
            tokio::time::sleep(UPDATE_RETRY_MIN).await;
        }
    }
}

async fn send(
    pool: &ServerPool,
    identity: &NodeIdentity,
    batch: &BTreeMap<String, AllocClientUpdate>,
) -> Result<(), ClientError> {
    let updates: Vec<&AllocClientUpdate> = batch.values().collect();
    let updates_json = serde_json::to_vec(&updates).map_err(|source| ClientError::Encode {
        what: "allocation updates",
        source,
    })?;
    let (server, mut client) = pool.client();
    let mut request = tonic::Request::new(UpdateAllocationsRequest {
        node_id: identity.id.clone(),
        secret_id: identity.secret_id.clone(),
        updates_json,
    });
    request.set_timeout(RPC_TIMEOUT);
    match client.update_allocations(request).await {
        Ok(_) => Ok(()),
        Err(status) => {
            if is_transport_failure(&status) {
                pool.failover(&server);
            }
            Err(ClientError::Rpc {
                op: "UpdateAllocations",
                server,
                status,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: &str, status: &str) -> AllocClientUpdate {
        AllocClientUpdate {
            id: id.into(),
            client_status: status.into(),
            ..AllocClientUpdate::default()
        }
    }

    #[test]
    fn pacer_allows_a_burst_then_one_batch_per_interval() {
        let start = tokio::time::Instant::now();
        let mut p = Pacer::new(start);
        let waits: Vec<Duration> = (0..4).map(|_| p.take(start)).collect();
        assert_eq!(
            &waits[..3],
            &[Duration::ZERO; 3],
            "a burst goes out at once"
        );
        assert!(
            waits[3] >= UPDATE_INTERVAL.mul_f64(0.99),
            "then the interval applies: {:?}",
            waits[3]
        );
        // Long idle refills the bucket, but never beyond the burst.
        let later = start + UPDATE_INTERVAL * 100;
        let waits: Vec<Duration> = (0..4).map(|_| p.take(later)).collect();
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        assert!(!waits[3].is_zero());
        // Under sustained load: one batch per interval on average.
        let mut t = later + UPDATE_INTERVAL * 2;
        let mut sent = 0;
        let end = t + UPDATE_INTERVAL * 50;
        while t < end {
            let wait = p.take(t);
            sent += 1;
            t += wait.max(Duration::from_millis(1));
        }
        assert!(
            (50..=56).contains(&sent),
            "sent {sent} batches in 50 intervals"
        );
    }

    #[test]
    fn newer_updates_replace_older_and_win_over_a_restored_batch() {
        let u = Updater::default();
        u.push(update("a", "pending"));
        u.push(update("a", "running"));
        u.push(update("b", "running"));
        let batch = u.take();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch["a"].client_status, "running");
        u.push(update("a", "complete"));
        u.restore(batch);
        let again = u.take();
        assert_eq!(again["a"].client_status, "complete");
        assert_eq!(again["b"].client_status, "running");
        assert_eq!(u.pending(), 0);
    }
}
