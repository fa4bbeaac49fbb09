//! Resources: what a task asks for, what an allocation holds, what a node offers.

use super::SmallMap;
use serde::{Deserialize, Serialize};

/// Nomad's default task CPU in MHz.
pub const DEFAULT_CPU_MHZ: i64 = 100;
/// Nomad's default task memory in MB.
pub const DEFAULT_MEMORY_MB: i64 = 300;
/// First port of the dynamic port range.
pub const MIN_DYNAMIC_PORT: u16 = 20000;
/// Last port of the dynamic port range.
pub const MAX_DYNAMIC_PORT: u16 = 32000;

/// `resources { cpu cores memory memory_max }` of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Resources {
    #[serde(rename = "CPU")]
    pub cpu: i64,
    #[serde(rename = "Cores")]
    pub cores: i64,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: i64,
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    #[serde(rename = "Devices")]
    pub devices: Vec<RequestedDevice>,
    /// Nomad fields for systems nomadish lacks, kept so validation can refuse them.
    #[serde(flatten)]
    pub unsupported: super::ResourcesUnsupported,
}

/// A `device "name" { count }` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct RequestedDevice {
    pub name: String,
    pub count: u64,
}

/// A `network { mode port "label" { static to } }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NetworkResource {
    #[serde(rename = "Mode")]
    pub mode: String,
    #[serde(rename = "Device")]
    pub device: String,
    #[serde(rename = "CIDR")]
    pub cidr: String,
    #[serde(rename = "IP")]
    pub ip: String,
    #[serde(rename = "Hostname")]
    pub hostname: String,
    #[serde(rename = "MBits")]
    pub mbits: i64,
    #[serde(rename = "ReservedPorts")]
    pub reserved_ports: Vec<Port>,
    #[serde(rename = "DynamicPorts")]
    pub dynamic_ports: Vec<Port>,
    /// Nomad fields for systems nomadish lacks, kept so validation can refuse them.
    #[serde(flatten)]
    pub unsupported: super::NetworkUnsupported,
}

/// A port label and its value (static or assigned) on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct Port {
    pub label: String,
    pub value: u16,
    pub to: i32,
    pub host_network: String,
}

/// A port as allocated on a node: label, host port, container port, host IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocatedPort {
    #[serde(rename = "Label")]
    pub label: String,
    #[serde(rename = "Value")]
    pub value: u16,
    #[serde(rename = "To")]
    pub to: i32,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
}

/// CPU held by one task of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedCpuResources {
    pub cpu_shares: i64,
    pub reserved_cores: Vec<u16>,
}

/// Memory held by one task of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocatedMemoryResources {
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: i64,
}

/// Resources held by one task of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedTaskResources {
    pub cpu: AllocatedCpuResources,
    pub memory: AllocatedMemoryResources,
    pub networks: Vec<NetworkResource>,
}

/// Resources shared by the tasks of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocatedSharedResources {
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    #[serde(rename = "Ports")]
    pub ports: Vec<AllocatedPort>,
}

/// Everything an allocation holds on its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedResources {
    pub tasks: SmallMap<String, AllocatedTaskResources>,
    pub shared: AllocatedSharedResources,
}

impl AllocatedResources {
    /// Total CPU (MHz) over all tasks.
    pub fn cpu(&self) -> i64 {
        self.tasks.values().map(|t| t.cpu.cpu_shares).sum()
    }

    /// Total memory (MB) over all tasks.
    pub fn memory_mb(&self) -> i64 {
        self.tasks.values().map(|t| t.memory.memory_mb).sum()
    }

    /// Disk (MB) of the allocation.
    pub fn disk_mb(&self) -> i64 {
        self.shared.disk_mb
    }
}

/// A node's CPU: total shares in MHz and core count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeCpuResources {
    pub cpu_shares: i64,
    pub total_cpu_cores: u16,
    pub reservable_cpu_cores: Vec<u16>,
}

/// A node's memory in MB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeMemoryResources {
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
}

/// A node's disk in MB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeDiskResources {
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
}

/// What a node offers to the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeResources {
    pub cpu: NodeCpuResources,
    pub memory: NodeMemoryResources,
    pub disk: NodeDiskResources,
    pub networks: Vec<NetworkResource>,
    pub min_dynamic_port: u16,
    pub max_dynamic_port: u16,
}

/// Host ports a node keeps for itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeReservedNetworkResources {
    pub reserved_host_ports: String,
}

/// What a node keeps back from the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeReservedResources {
    pub cpu: AllocatedCpuResources,
    pub memory: NodeMemoryResources,
    pub disk: NodeDiskResources,
    pub networks: NodeReservedNetworkResources,
}

impl AllocatedResources {
    /// Every host port the allocation holds: its shared ports, and the static and assigned
    /// dynamic ports of its shared and task networks (zero values skipped, duplicates kept).
    pub fn host_ports(&self) -> Vec<u16> {
        let networks = self
            .shared
            .networks
            .iter()
            .chain(self.tasks.values().flat_map(|t| t.networks.iter()));
        let mut ports: Vec<u16> = self.shared.ports.iter().map(|p| p.value).collect();
        for n in networks {
            let listed = n.reserved_ports.iter().chain(n.dynamic_ports.iter());
            ports.extend(listed.map(|p| p.value));
        }
        ports.retain(|&p| p != 0);
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

impl NodeReservedNetworkResources {
    /// The node's reserved host ports: `"22,80,8000-8100"` as a list. Malformed entries are
    /// skipped (the client validates its configuration).
    pub fn ports(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for part in self.reserved_host_ports.split(',').map(str::trim) {
            match part.split_once('-') {
                Some((lo, hi)) => {
                    if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
                        out.extend(lo..=hi);
                    }
                }
                None => out.extend(part.parse::<u16>().ok()),
            }
        }
        out
    }
}

impl NodeResources {
    /// The node's dynamic port range, Nomad's 20000-32000 when unset.
    pub fn dynamic_port_range(&self) -> (u16, u16) {
        if self.min_dynamic_port == 0 || self.max_dynamic_port < self.min_dynamic_port {
            (MIN_DYNAMIC_PORT, MAX_DYNAMIC_PORT)
        } else {
            (self.min_dynamic_port, self.max_dynamic_port)
        }
    }
}

#[cfg(test)]
mod port_tests {
    use super::*;

    #[test]
    fn reserved_host_ports_parse_lists_and_ranges() {
        let r = NodeReservedNetworkResources {
            reserved_host_ports: "22, 80,8000-8002,bad".into(),
        };
        assert_eq!(r.ports(), vec![22, 80, 8000, 8001, 8002]);
        assert!(NodeReservedNetworkResources::default().ports().is_empty());
    }

    #[test]
    fn host_ports_cover_shared_and_networks() {
        let mut a = AllocatedResources::default();
        a.shared.ports.push(AllocatedPort {
            label: "http".into(),
            value: 8080,
            ..Default::default()
        });
        a.shared.networks.push(NetworkResource {
            reserved_ports: vec![Port {
                label: "http".into(),
                value: 8080,
                ..Default::default()
            }],
            dynamic_ports: vec![Port {
                label: "x".into(),
                value: 20001,
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(a.host_ports(), vec![8080, 20001]);
    }
}
