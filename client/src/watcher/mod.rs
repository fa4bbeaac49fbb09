//! The allocation watcher: a `WatchAllocations` stream from the last index seen (0 at
//! first), each update handed to the alloc manager; when the stream breaks, reconnect
//! (to the next server on transport errors) and resume from the last index.

pub mod plan;

use std::time::Duration;

use nomadish_proto::model::Allocation;
use nomadish_proto::node_v1::{AllocationsUpdate, WatchAllocationsRequest};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::error::ClientError;
use crate::heartbeat::rpc_error;
use crate::identity::NodeIdentity;
use crate::manager::AllocManager;
use crate::servers::ServerPool;
use crate::shutdown::Stop;

/// First delay before reconnecting a broken stream.
pub const WATCH_RETRY_MIN: Duration = Duration::from_millis(500);
/// Longest delay before reconnecting.
pub const WATCH_RETRY_MAX: Duration = Duration::from_secs(15);

/// Watches allocations until `stop`, once the node is registered.
pub async fn run(
    pool: ServerPool,
    identity: NodeIdentity,
    manager: &mut AllocManager,
    mut registered: watch::Receiver<bool>,
    mut stop: Stop,
) {
    let mut index = 0;
    let mut backoff = Backoff::new(WATCH_RETRY_MIN, WATCH_RETRY_MAX);
    loop {
        tokio::select! {
            r = registered.wait_for(|r| *r) => if r.is_err() { return },
            () = stop.stopped() => return,
        }
        match watch_once(
            &pool,
            &identity,
            manager,
            &mut index,
            &mut backoff,
            &mut stop,
        )
        .await
        {
            Ok(()) if stop.is_stopped() => return,
            Ok(()) => tracing::info!(index, "allocation stream closed by server; reconnecting"),
            Err(e) => tracing::warn!(error = %e, index, "allocation stream failed; reconnecting"),
        }
        if stop.sleep(backoff.next_delay()).await {
            return;
        }
    }
}

/// One stream: returns when it ends, fails, or `stop` fires.
async fn watch_once(
    pool: &ServerPool,
    identity: &NodeIdentity,
    manager: &mut AllocManager,
    index: &mut u64,
    backoff: &mut Backoff,
    stop: &mut Stop,
) -> Result<(), ClientError> {
    let (server, mut client) = pool.client();
    let request = WatchAllocationsRequest {
        node_id: identity.id.clone(),
        secret_id: identity.secret_id.clone(),
        min_index: *index,
    };
    let response = tokio::select! {
        r = client.watch_allocations(request) => r,
        () = stop.stopped() => return Ok(()),
    };
    let mut stream = response
        .map_err(|status| rpc_error(pool, "WatchAllocations", server.clone(), status))?
        .into_inner();
    loop {
        let message = tokio::select! {
            m = stream.message() => m,
            () = stop.stopped() => return Ok(()),
        };
        match message {
            Ok(Some(update)) => {
                backoff.reset();
                apply(manager, &server, update, index);
            }
            Ok(None) => return Ok(()),
            Err(status) => return Err(rpc_error(pool, "WatchAllocations", server, status)),
        }
    }
}

fn apply(manager: &mut AllocManager, server: &str, update: AllocationsUpdate, index: &mut u64) {
    let allocs: Vec<Allocation> = if update.allocs_json.is_empty() {
        Vec::new()
    } else {
        match serde_json::from_slice(&update.allocs_json) {
            Ok(a) => a,
            Err(source) => {
                let e = ClientError::Decode {
                    what: "allocations",
                    server: server.to_string(),
                    source,
                };
                tracing::error!(error = %e, index = update.index, "skipping undecodable allocation update");
                return;
            }
        }
    };
    manager.handle(allocs, &update.alloc_ids);
    *index = (*index).max(update.index);
}
