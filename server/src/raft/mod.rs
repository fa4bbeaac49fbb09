//! Raft: openraft over a segment-file log and sled meta tree, with gRPC transport between servers.
//!
//! ```text
//!   client_write(Command) ─> openraft core ─> LogStore (segment files, synced before ack)
//!                                  │
//!                                  └─ committed ─> StateMachine ─> fsm::apply ─> StateStore
//! ```
//!
//! Separate modules for the log store, the state machine, the outbound network and the inbound
//! gRPC service, as openraft's traits split them.

// openraft's trait signatures fix `StorageError` (over 200 bytes) as the error type; boxing it
// is not an option for trait methods, so the size lint is silenced for this module only.
#![allow(clippy::result_large_err)]

pub mod elector;
mod log_file;
mod log_store;
mod network;
mod service;
mod state_machine;

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use log_store::LogStore;
pub use network::Network;
pub use service::RaftGrpc;
pub use state_machine::{EvalSink, StateMachine};

use crate::fsm::{Command, CommandResponse};
use crate::state::StateStore;

/// A server's raft identity and addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerNode {
    /// gRPC address (port 4647) other servers dial.
    pub rpc_addr: String,
    /// HTTP API address (port 4646).
    pub http_addr: String,
    /// The server's name.
    pub name: String,
}

impl std::fmt::Display for ServerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.rpc_addr)
    }
}

openraft::declare_raft_types!(
    /// nomadish's raft type configuration.
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = u64,
        Node = ServerNode,
);

/// The raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
/// A raft node ID.
pub type NodeId = u64;

/// Errors opening the raft storage.
#[derive(Debug, thiserror::Error)]
pub enum RaftStoreError {
    /// sled refused to open or read.
    #[error("raft store at {path}: {source}")]
    Sled {
        /// The database directory.
        path: String,
        /// The cause.
        source: sled::Error,
    },
    /// The raft log could not be opened.
    #[error("raft log at {path}: {source}")]
    Log {
        /// The store's directory.
        path: String,
        /// The cause.
        source: log_store::OpenError,
    },
    /// The stored snapshot could not be read.
    #[error("raft store: {0}")]
    Snapshot(String),
}

/// Opens the sled database under `dir` and builds the log store and state machine on it.
pub fn open_storage(
    dir: &Path,
    state: StateStore,
) -> Result<(LogStore, StateMachine), RaftStoreError> {
    let db = sled::Config::new()
        .path(dir)
        .mode(sled::Mode::HighThroughput)
        .open()
        .map_err(|source| RaftStoreError::Sled {
            path: dir.display().to_string(),
            source,
        })?;
    let log = LogStore::open(&db, dir).map_err(|e| RaftStoreError::Log {
        path: dir.display().to_string(),
        source: e,
    })?;
    let sm = StateMachine::open(&db, dir, state)?;
    Ok((log, sm))
}

/// The snapshot payload openraft moves around.
pub type SnapshotData = Cursor<Vec<u8>>;

/// Shared handle type for the raft instance.
pub type SharedRaft = Arc<Raft>;

#[cfg(test)]
mod tests;
