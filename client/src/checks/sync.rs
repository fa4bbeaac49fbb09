//! Service registrations to the servers: the alloc runners hand over the complete set of an
//! allocation's registrations whenever it changes; a loop sends each allocation's latest set
//! with the `UpdateServices` call and retries failures with backoff (a newer set for the same
//! allocation replaces an unsent older one). Deregistration before a task is killed is sent
//! at once ([`ServiceSync::send_now`]) so the service leaves the catalog before the task stops.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nomadish_proto::model::ServiceRegistration;
use nomadish_proto::node_v1::UpdateServicesRequest;
use tokio::sync::Notify;

use crate::backoff::Backoff;
use crate::error::ClientError;
use crate::identity::NodeIdentity;
use crate::servers::{RPC_TIMEOUT, ServerPool, is_transport_failure};
use crate::shutdown::Stop;

/// First retry delay after a failed call.
pub const SYNC_RETRY_MIN: Duration = Duration::from_millis(500);
/// Longest retry delay.
pub const SYNC_RETRY_MAX: Duration = Duration::from_secs(10);
/// How long a deregistration before a kill may hold the kill back.
pub const DEREGISTER_TIMEOUT: Duration = Duration::from_secs(3);

type Pending = BTreeMap<String, Vec<ServiceRegistration>>;

/// The queue of changed registration sets; cheap to clone.
#[derive(Debug, Clone)]
pub struct ServiceSync {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: ServerPool,
    identity: NodeIdentity,
    pending: Mutex<Pending>,
    notify: Notify,
}

impl ServiceSync {
    /// A queue sending through `pool` as `identity`.
    pub fn new(pool: ServerPool, identity: NodeIdentity) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                identity,
                pending: Mutex::new(BTreeMap::new()),
                notify: Notify::new(),
            }),
        }
    }

    /// Queues the complete set of an allocation's registrations (empty: deregister all).
    pub fn push(&self, alloc_id: &str, registrations: Vec<ServiceRegistration>) {
        self.lock().insert(alloc_id.to_string(), registrations);
        self.inner.notify.notify_one();
    }

    /// Sends the set now (waiting at most [`DEREGISTER_TIMEOUT`]); on failure it is queued.
    pub async fn send_now(&self, alloc_id: &str, registrations: Vec<ServiceRegistration>) {
        self.lock().remove(alloc_id);
        let sent = tokio::time::timeout(
            DEREGISTER_TIMEOUT,
            send(
                &self.inner.pool,
                &self.inner.identity,
                alloc_id,
                &registrations,
            ),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!(alloc_id, "immediate service update failed; queued");
            self.lock()
                .entry(alloc_id.to_string())
                .or_insert(registrations);
            self.inner.notify.notify_one();
        }
    }

    /// The unsent set of an allocation, if any.
    pub fn pending(&self, alloc_id: &str) -> Option<Vec<ServiceRegistration>> {
        self.lock().get(alloc_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends queued sets until `stop`, then tries once more to deliver what is left.
pub async fn run(sync: ServiceSync, mut stop: Stop) {
    let mut backoff = Backoff::new(SYNC_RETRY_MIN, SYNC_RETRY_MAX);
    loop {
        tokio::select! {
            () = sync.inner.notify.notified() => {}
            () = stop.stopped() => break,
        }
        loop {
            let batch = std::mem::take(&mut *sync.lock());
            if batch.is_empty() {
                break;
            }
            let failed = deliver(&sync, batch).await;
            if failed.is_empty() {
                backoff.reset();
                continue;
            }
            {
                let mut pending = sync.lock();
                for (id, regs) in failed {
                    pending.entry(id).or_insert(regs);
                }
            }
            if stop.sleep(backoff.next_delay()).await {
                return;
            }
        }
    }
    let left = std::mem::take(&mut *sync.lock());
    let _ = tokio::time::timeout(DEREGISTER_TIMEOUT, deliver(&sync, left)).await;
}

/// Sends each set; returns those that failed.
async fn deliver(sync: &ServiceSync, batch: Pending) -> Pending {
    let mut failed = Pending::new();
    for (alloc_id, regs) in batch {
        if let Err(e) = send(&sync.inner.pool, &sync.inner.identity, &alloc_id, &regs).await {
            tracing::warn!(error = %e, alloc_id, "sending service registrations failed; will retry");
            failed.insert(alloc_id, regs);
        }
    }
    failed
}

async fn send(
    pool: &ServerPool,
    identity: &NodeIdentity,
    alloc_id: &str,
    registrations: &[ServiceRegistration],
) -> Result<(), ClientError> {
    let registrations_json =
        serde_json::to_vec(registrations).map_err(|source| ClientError::Encode {
            what: "service registrations",
            source,
        })?;
    let (server, mut client) = pool.client();
    let mut request = tonic::Request::new(UpdateServicesRequest {
        node_id: identity.id.clone(),
        secret_id: identity.secret_id.clone(),
        alloc_id: alloc_id.to_string(),
        registrations_json,
    });
    request.set_timeout(RPC_TIMEOUT);
    match client.update_services(request).await {
        Ok(_) => Ok(()),
        // The allocation stopped on the server meanwhile: its registrations are gone there.
        Err(status) if status.code() == tonic::Code::FailedPrecondition => {
            tracing::debug!(
                alloc_id,
                message = status.message(),
                "service registration refused"
            );
            Ok(())
        }
        Err(status) => {
            if is_transport_failure(&status) {
                pool.failover(&server);
            }
            Err(ClientError::Rpc {
                op: "UpdateServices",
                server,
                status,
            })
        }
    }
}
