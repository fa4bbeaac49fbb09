//! The autopilot configuration (`/v1/operator/autopilot/configuration`), replicated state.
//!
//! Durations travel as Go duration strings (`"200ms"`, `"10s"`), as Nomad's API encodes this
//! one object.

use serde::{Deserialize, Serialize};

/// Nomad's autopilot settings. nomadish stores and returns them; its raft layer does not act
/// on them (dead servers are removed with `operator raft remove-peer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AutopilotConfiguration {
    pub cleanup_dead_servers: bool,
    pub last_contact_threshold: String,
    pub max_trailing_logs: u64,
    pub min_quorum: u64,
    pub server_stabilization_time: String,
    pub enable_redundancy_zones: bool,
    pub disable_upgrade_migration: bool,
    pub enable_custom_upgrades: bool,
    pub create_index: u64,
    pub modify_index: u64,
}

impl Default for AutopilotConfiguration {
    /// Nomad's defaults.
    fn default() -> Self {
        Self {
            cleanup_dead_servers: true,
            last_contact_threshold: "200ms".to_string(),
            max_trailing_logs: 250,
            min_quorum: 0,
            server_stabilization_time: "10s".to_string(),
            enable_redundancy_zones: false,
            disable_upgrade_migration: false,
            enable_custom_upgrades: false,
            create_index: 0,
            modify_index: 0,
        }
    }
}
