//! The `periodic_launch` table: per periodic job, the time of its last launch. It is
//! replicated so that a new leader continues the schedule from where the old one stopped and
//! never launches the same child twice.

use serde::{Deserialize, Serialize};

/// The last launch of one periodic job (Nomad's `PeriodicLaunch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct PeriodicLaunch {
    /// The periodic (parent) job's ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Its namespace.
    pub namespace: String,
    /// The launch time (Unix ns).
    pub launch: i64,
    /// Raft index of the first launch.
    pub create_index: u64,
    /// Raft index of the last launch.
    pub modify_index: u64,
}
