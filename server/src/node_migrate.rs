//! The `MigrateData` node RPC: a replacement allocation whose group has `ephemeral_disk {
//! migrate = true }` fetches its previous allocation's data from the node that ran it.
//! Clients never reach each other (they may be behind NAT), so the server relays: it asks
//! the previous node, through that node's tunnel here or on a peer, for `FS_OP_MIGRATE_TAR`
//! and streams the answer's chunks back to the caller.
//!
//! ```text
//! new client ── MigrateData{node, secret, alloc} ──> server: checks (below)
//!            <── StreamChunk × n, eof ── relay <── FsRequest{previous alloc, MIGRATE_TAR}
//!                                                   └─ previous node's tunnel (any server)
//! ```
//!
//! FAILED_PRECONDITION means only "the previous allocation has not stopped yet: ask again".
//! Allowed only when the caller proves its node secret, holds `alloc`, the allocation has a
//! previous allocation on another node, and the allocation's group migrates its disk.

use nomadish_proto::model::{Allocation, NODE_STATUS_DOWN};
use nomadish_proto::node_v1::{FsOp, FsRequest, MigrateDataRequest, StreamChunk};
use tokio::sync::mpsc;
use tonic::Status;

use crate::http::stream::{StreamRequest, open};
use crate::server::Server;
use crate::state::StateView;

/// Bytes in a megabyte of `ephemeral_disk.size`.
const MB: u64 = 1024 * 1024;

/// The previous allocation to fetch from and the byte cap, once the request is allowed.
fn source(view: &StateView, req: &MigrateDataRequest) -> Result<(Allocation, u64), Status> {
    let node = view
        .nodes
        .get(&req.node_id)
        .ok_or_else(|| Status::not_found(format!("node {} not found", req.node_id)))?;
    if node.secret_id != req.secret_id {
        return Err(Status::permission_denied("node secret ID does not match"));
    }
    let alloc = view
        .allocs
        .get(&req.alloc_id)
        .filter(|a| a.node_id == req.node_id)
        .ok_or_else(|| Status::not_found(format!("allocation {} not found", req.alloc_id)))?;
    let disk = alloc
        .job
        .as_ref()
        .and_then(|j| j.group(&alloc.task_group))
        .and_then(|g| g.ephemeral_disk.clone())
        .filter(|d| d.migrate)
        .ok_or_else(|| {
            Status::permission_denied(format!(
                "allocation {}'s group does not migrate its ephemeral disk",
                alloc.id
            ))
        })?;
    if alloc.previous_allocation.is_empty() {
        return Err(Status::invalid_argument(format!(
            "allocation {} has no previous allocation",
            alloc.id
        )));
    }
    let previous = view.allocs.get(&alloc.previous_allocation).ok_or_else(|| {
        Status::not_found(format!(
            "previous allocation {} is gone",
            alloc.previous_allocation
        ))
    })?;
    if previous.node_id == req.node_id {
        return Err(Status::invalid_argument(format!(
            "previous allocation {} ran on this node; its data moves locally",
            previous.id
        )));
    }
    let down = view
        .nodes
        .get(&previous.node_id)
        .is_none_or(|n| n.status == NODE_STATUS_DOWN);
    if down {
        return Err(Status::unavailable(format!(
            "node {} of previous allocation {} is down",
            previous.node_id, previous.id
        )));
    }
    if !previous.client_terminal() {
        return Err(Status::failed_precondition(format!(
            "previous allocation {} has not stopped yet",
            previous.id
        )));
    }
    let cap = u64::try_from(disk.size_mb).unwrap_or(0).saturating_mul(MB);
    Ok((previous.as_ref().clone(), cap))
}

/// Checks the request and opens the relay of the previous node's packed data.
pub async fn migrate_data(
    server: &Server,
    req: MigrateDataRequest,
) -> Result<mpsc::Receiver<StreamChunk>, Status> {
    let (previous, cap) = source(&server.state.snapshot(), &req)?;
    tracing::info!(alloc_id = %req.alloc_id, previous = %previous.id, from = %previous.node_id, "relaying migrated data");
    let fs = FsRequest {
        alloc_id: previous.id.clone(),
        op: FsOp::MigrateTar as i32,
        limit: i64::try_from(cap).unwrap_or(i64::MAX),
        ..FsRequest::default()
    };
    open(server, &previous.node_id, StreamRequest::Fs(fs))
        .await
        .map_err(|e| Status::unavailable(e.message))
}

#[cfg(test)]
#[path = "node_migrate_tests.rs"]
mod tests;
