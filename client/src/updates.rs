//! Allocation updates to the servers: runners push the full client-side state of an
//! allocation whenever it changes; a loop sends the changed allocations in one
//! `UpdateAllocations` call at most every 200 ms, and puts a failed batch back (unless a
//! newer update for the same allocation arrived meanwhile) to retry it with backoff.
//!
//! ```text
//! alloc runners ──push──> pending {alloc_id -> latest update} ──every ≥200ms──> UpdateAllocations
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

/// The shortest time between two update batches.
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(200);
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

/// Sends queued updates until `stop`, then flushes what is left for at most
/// [`SHUTDOWN_FLUSH_TIMEOUT`].
pub async fn run(updater: Updater, pool: ServerPool, identity: NodeIdentity, mut stop: Stop) {
    let mut backoff = Backoff::new(UPDATE_RETRY_MIN, UPDATE_RETRY_MAX);
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
                    UPDATE_INTERVAL
                }
                Err(e) => {
                    tracing::warn!(error = %e, allocs = batch.len(), "sending allocation updates failed; will retry");
                    updater.restore(batch);
                    backoff.next_delay()
                }
            };
            if stop.sleep(delay).await {
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
