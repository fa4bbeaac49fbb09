//! Client nodes as the servers know them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{Meta, NodeReservedResources, NodeResources};

/// Node status: registered, not yet heartbeating.
pub const NODE_STATUS_INIT: &str = "initializing";
/// Node status: heartbeating and schedulable.
pub const NODE_STATUS_READY: &str = "ready";
/// Node status: missed its heartbeat TTL.
pub const NODE_STATUS_DOWN: &str = "down";
/// Node status: disconnected but within its disconnect window.
pub const NODE_STATUS_DISCONNECTED: &str = "disconnected";
/// Scheduling eligibility: new work may be placed.
pub const NODE_ELIGIBLE: &str = "eligible";
/// Scheduling eligibility: no new work.
pub const NODE_INELIGIBLE: &str = "ineligible";
/// The node pool every node belongs to unless configured otherwise.
pub const DEFAULT_NODE_POOL: &str = "default";

/// A client node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    /// The node's secret; never returned by the HTTP API.
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    #[serde(rename = "TLSEnabled")]
    pub tls_enabled: bool,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    #[serde(rename = "NodeResources")]
    pub node_resources: NodeResources,
    #[serde(rename = "ReservedResources")]
    pub reserved_resources: NodeReservedResources,
    #[serde(rename = "Meta")]
    pub meta: Meta,
    #[serde(rename = "NodeClass")]
    pub node_class: String,
    #[serde(rename = "NodePool")]
    pub node_pool: String,
    #[serde(rename = "ComputedClass")]
    pub computed_class: String,
    #[serde(rename = "DrainStrategy")]
    pub drain_strategy: Option<DrainStrategy>,
    #[serde(rename = "SchedulingEligibility")]
    pub scheduling_eligibility: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// Unix seconds, as in Nomad.
    #[serde(rename = "StatusUpdatedAt")]
    pub status_updated_at: i64,
    #[serde(rename = "Events")]
    pub events: Vec<NodeEvent>,
    #[serde(rename = "Drivers")]
    pub drivers: BTreeMap<String, DriverInfo>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    /// The operator's host volumes by name.
    #[serde(rename = "HostVolumes")]
    pub host_volumes: BTreeMap<String, super::ClientHostVolumeConfig>,
}

impl Node {
    /// Whether new work may be placed here: ready, eligible and not draining.
    pub fn is_schedulable(&self) -> bool {
        self.status == NODE_STATUS_READY
            && self.scheduling_eligibility != NODE_INELIGIBLE
            && self.drain_strategy.is_none()
    }

    /// Whether the node has a detected, healthy driver of this name.
    pub fn has_driver(&self, driver: &str) -> bool {
        self.drivers
            .get(driver)
            .is_some_and(|d| d.detected && d.healthy)
    }

    /// The node as the HTTP API shows it: the secret removed.
    pub fn sanitized(&self) -> Node {
        Node {
            secret_id: String::new(),
            ..self.clone()
        }
    }

    /// CPU (MHz) available to allocations: total minus reserved.
    pub fn allocatable_cpu(&self) -> i64 {
        self.node_resources.cpu.cpu_shares - self.reserved_resources.cpu.cpu_shares
    }

    /// Memory (MB) available to allocations: total minus reserved.
    pub fn allocatable_memory_mb(&self) -> i64 {
        self.node_resources.memory.memory_mb - self.reserved_resources.memory.memory_mb
    }

    /// Disk (MB) available to allocations: total minus reserved.
    pub fn allocatable_disk_mb(&self) -> i64 {
        self.node_resources.disk.disk_mb - self.reserved_resources.disk.disk_mb
    }

    /// The list stub returned by `GET /v1/nodes`.
    pub fn stub(&self) -> NodeListStub {
        NodeListStub {
            address: self
                .http_addr
                .rsplit_once(':')
                .map_or(self.http_addr.clone(), |(h, _)| h.to_string()),
            id: self.id.clone(),
            datacenter: self.datacenter.clone(),
            name: self.name.clone(),
            node_class: self.node_class.clone(),
            node_pool: self.node_pool.clone(),
            version: self
                .attributes
                .get("nomad.version")
                .cloned()
                .unwrap_or_default(),
            drain: self.drain_strategy.is_some(),
            scheduling_eligibility: self.scheduling_eligibility.clone(),
            status: self.status.clone(),
            status_description: self.status_description.clone(),
            drivers: self.drivers.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
        }
    }
}

/// A driver as fingerprinted on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct DriverInfo {
    pub attributes: BTreeMap<String, String>,
    pub detected: bool,
    pub healthy: bool,
    pub health_description: String,
    /// Unix nanoseconds.
    pub update_time: i64,
}

/// A drain in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct DrainStrategy {
    /// Nanoseconds; -1 forces an immediate drain, 0 means no deadline.
    pub deadline: i64,
    pub ignore_system_jobs: bool,
    /// Unix nanoseconds at which the drain must be complete (0 for none).
    pub force_deadline: i64,
    /// Unix nanoseconds at which the drain started.
    pub started_at: i64,
}

/// Something that happened to a node (registered, went down, drained...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeEvent {
    pub message: String,
    pub subsystem: String,
    pub details: BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub timestamp: i64,
    pub create_index: u64,
}

/// `GET /v1/nodes` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeListStub {
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "NodeClass")]
    pub node_class: String,
    #[serde(rename = "NodePool")]
    pub node_pool: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Drain")]
    pub drain: bool,
    #[serde(rename = "SchedulingEligibility")]
    pub scheduling_eligibility: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "Drivers")]
    pub drivers: BTreeMap<String, DriverInfo>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}
