//! Fingerprinting: what this machine offers, as node attributes in Nomad's names
//! (`cpu.*`, `memory.totalbytes`, `kernel.*`, `os.*`, `unique.*`, `driver.*`) and as the
//! `NodeResources` the scheduler bin-packs against.
//!
//! ```text
//! probe_host()  ->  HostFacts  ->  build_node(config, identity, facts)  ->  model::Node
//!   (reads /proc, /sys, /etc, statvfs)      (pure: tested on fixed facts)
//! ```

mod probe;

use std::collections::BTreeMap;
use std::path::Path;

use nomadish_proto::model::{
    DriverInfo, MAX_DYNAMIC_PORT, MIN_DYNAMIC_PORT, NODE_ELIGIBLE, NODE_STATUS_READY, Node,
    NodeCpuResources, NodeDiskResources, NodeMemoryResources, NodeResources, now_ns,
};

use crate::config::ClientConfig;
use crate::identity::NodeIdentity;

/// The version this client reports as `nomad.version`.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// CPU frequency assumed when the host reports none (as Nomad does).
pub const FALLBACK_CPU_MHZ: u64 = 1000;
/// The name of the raw_exec driver.
pub const RAW_EXEC: &str = "raw_exec";

/// What the probes found on this host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    pub cpu_cores: u32,
    pub cpu_mhz: u64,
    pub memory_bytes: u64,
    pub kernel_version: String,
    pub os_name: String,
    pub os_version: String,
    pub hostname: String,
    pub storage_volume: String,
    pub storage_bytes_free: u64,
    pub storage_bytes_total: u64,
}

/// The host's name (from the kernel), or `localhost` when it cannot be read.
pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Probes the host and builds the node this client registers.
pub fn fingerprint(config: &ClientConfig, identity: &NodeIdentity) -> Node {
    build_node(config, identity, &probe_host(&config.data_dir))
}

/// Reads the host facts. Missing files give conservative defaults, never errors.
pub fn probe_host(data_dir: &Path) -> HostFacts {
    let cpu = probe::parse_cpuinfo(&read_trimmed("/proc/cpuinfo").unwrap_or_default());
    let cores = if cpu.cores > 0 {
        cpu.cores
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    };
    let mhz = read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
        .and_then(|t| probe::parse_cpufreq_khz(&t))
        .or_else(|| cpu.mhz.map(|m| m.round() as u64).filter(|m| *m > 0))
        .unwrap_or(FALLBACK_CPU_MHZ);
    let (os_name, os_version) =
        probe::parse_os_release(&read_trimmed("/etc/os-release").unwrap_or_default());
    let (free, total) = storage_bytes(data_dir);
    HostFacts {
        cpu_cores: cores,
        cpu_mhz: mhz,
        memory_bytes: read_trimmed("/proc/meminfo")
            .and_then(|t| probe::parse_meminfo_total(&t))
            .unwrap_or(0),
        kernel_version: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default(),
        os_name: os_name.unwrap_or_else(|| std::env::consts::OS.to_string()),
        os_version: os_version.unwrap_or_default(),
        hostname: hostname(),
        storage_volume: read_trimmed("/proc/self/mounts")
            .and_then(|m| probe::mount_device_for(&m, &absolute(data_dir)))
            .unwrap_or_default(),
        storage_bytes_free: free,
        storage_bytes_total: total,
    }
}

/// Builds the node from the configuration, the identity and the host facts.
pub fn build_node(config: &ClientConfig, identity: &NodeIdentity, facts: &HostFacts) -> Node {
    let total_compute = u64::from(facts.cpu_cores) * facts.cpu_mhz;
    let mut attrs = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        attrs.insert(k.to_string(), v);
    };
    set(
        "cpu.arch",
        probe::go_arch(std::env::consts::ARCH).to_string(),
    );
    set("cpu.numcores", facts.cpu_cores.to_string());
    set("cpu.frequency", facts.cpu_mhz.to_string());
    set("cpu.totalcompute", total_compute.to_string());
    set("memory.totalbytes", facts.memory_bytes.to_string());
    set("kernel.name", std::env::consts::OS.to_string());
    set("kernel.arch", std::env::consts::ARCH.to_string());
    set("kernel.version", facts.kernel_version.clone());
    set("os.name", facts.os_name.clone());
    set("os.version", facts.os_version.clone());
    set("unique.hostname", facts.hostname.clone());
    set("unique.storage.volume", facts.storage_volume.clone());
    set(
        "unique.storage.bytesfree",
        facts.storage_bytes_free.to_string(),
    );
    set(
        "unique.storage.bytestotal",
        facts.storage_bytes_total.to_string(),
    );
    set("nomad.version", CLIENT_VERSION.to_string());
    set("nomad.advertise.address", config.http_addr.clone());
    if let Some((host, _)) = config.http_addr.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !host.is_empty() {
            set("unique.network.ip-address", host.to_string());
        }
    }
    let mut drivers = BTreeMap::new();
    if config.raw_exec_enabled {
        set("driver.raw_exec", "1".to_string());
        drivers.insert(RAW_EXEC.to_string(), healthy_driver());
    }
    if config.plugins.contains_key(crate::driver::ssh::SSH) {
        set("driver.ssh", "1".to_string());
        drivers.insert(crate::driver::ssh::SSH.to_string(), healthy_driver());
    }
    Node {
        id: identity.id.clone(),
        secret_id: identity.secret_id.clone(),
        datacenter: config.datacenter.clone(),
        name: config.node_name.clone(),
        http_addr: config.http_addr.clone(),
        attributes: attrs,
        node_resources: node_resources(facts, total_compute),
        meta: config.meta.clone(),
        node_class: config.node_class.clone(),
        node_pool: config.node_pool.clone(),
        scheduling_eligibility: NODE_ELIGIBLE.to_string(),
        status: NODE_STATUS_READY.to_string(),
        status_updated_at: now_ns() / nomadish_proto::model::NS_PER_SEC,
        drivers,
        host_volumes: config.host_volumes.clone(),
        ..Node::default()
    }
}

fn node_resources(facts: &HostFacts, total_compute: u64) -> NodeResources {
    let cores = u16::try_from(facts.cpu_cores).unwrap_or(u16::MAX);
    NodeResources {
        cpu: NodeCpuResources {
            cpu_shares: total_compute as i64,
            total_cpu_cores: cores,
            reservable_cpu_cores: (0..cores).collect(),
        },
        memory: NodeMemoryResources {
            memory_mb: (facts.memory_bytes / (1024 * 1024)) as i64,
        },
        disk: NodeDiskResources {
            disk_mb: (facts.storage_bytes_free / (1024 * 1024)) as i64,
        },
        networks: Vec::new(),
        min_dynamic_port: MIN_DYNAMIC_PORT,
        max_dynamic_port: MAX_DYNAMIC_PORT,
    }
}

/// Advertises the Docker driver: `driver.docker = 1` and `driver.docker.version`, called
/// only when the engine answered.
pub fn add_docker(node: &mut Node, version: &str) {
    let attrs = BTreeMap::from([
        ("driver.docker".to_string(), "1".to_string()),
        ("driver.docker.version".to_string(), version.to_string()),
    ]);
    node.attributes.extend(attrs.clone());
    node.drivers.insert(
        crate::driver::docker::DOCKER.to_string(),
        DriverInfo {
            attributes: attrs,
            detected: true,
            healthy: true,
            health_description: "Healthy".to_string(),
            update_time: now_ns(),
        },
    );
}

/// Marks the Docker driver undetected and unhealthy (its engine stopped answering) and
/// removes its attributes.
pub fn remove_docker(node: &mut Node, reason: &str) {
    node.attributes.remove("driver.docker");
    node.attributes.remove("driver.docker.version");
    node.drivers.insert(
        crate::driver::docker::DOCKER.to_string(),
        DriverInfo {
            attributes: BTreeMap::new(),
            detected: false,
            healthy: false,
            health_description: reason.to_string(),
            update_time: now_ns(),
        },
    );
}

fn healthy_driver() -> DriverInfo {
    DriverInfo {
        attributes: BTreeMap::from([("driver.raw_exec".to_string(), "1".to_string())]),
        detected: true,
        healthy: true,
        health_description: "Healthy".to_string(),
        update_time: now_ns(),
    }
}

/// Free and total bytes of the filesystem holding `path` (zeros when unknown).
// statvfs field widths differ between platforms (u32 on some 32-bit targets).
#[allow(clippy::useless_conversion)]
fn storage_bytes(path: &Path) -> (u64, u64) {
    match nix::sys::statvfs::statvfs(path) {
        Ok(s) => {
            let frag = u64::from(s.fragment_size());
            (
                u64::from(s.blocks_available()) * frag,
                u64::from(s.blocks()) * frag,
            )
        }
        Err(_) => (0, 0),
    }
}

fn absolute(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> HostFacts {
        HostFacts {
            cpu_cores: 4,
            cpu_mhz: 2500,
            memory_bytes: 8 * 1024 * 1024 * 1024,
            storage_bytes_free: 10 * 1024 * 1024 * 1024,
            hostname: "box".into(),
            ..HostFacts::default()
        }
    }

    fn identity() -> NodeIdentity {
        NodeIdentity {
            id: "node-id".into(),
            secret_id: "secret".into(),
        }
    }

    #[test]
    fn node_resources_follow_the_facts() {
        let config = ClientConfig::new("/tmp".into(), vec![]);
        let node = build_node(&config, &identity(), &facts());
        assert_eq!(node.attributes["cpu.totalcompute"], "10000");
        assert_eq!(node.attributes["cpu.numcores"], "4");
        assert_eq!(node.attributes["cpu.frequency"], "2500");
        assert_eq!(node.node_resources.cpu.cpu_shares, 10_000);
        assert_eq!(node.node_resources.cpu.total_cpu_cores, 4);
        assert_eq!(node.node_resources.memory.memory_mb, 8192);
        assert_eq!(node.node_resources.disk.disk_mb, 10_240);
        assert_eq!(node.node_resources.min_dynamic_port, 20000);
        assert_eq!(node.node_resources.max_dynamic_port, 32000);
        assert_eq!(node.status, "ready");
        assert_eq!(node.id, "node-id");
        assert_eq!(node.secret_id, "secret");
        assert!(!node.attributes.contains_key("driver.raw_exec"));
        assert!(node.drivers.is_empty());
    }

    #[test]
    fn raw_exec_is_advertised_only_when_enabled() {
        let mut config = ClientConfig::new("/tmp".into(), vec![]);
        config.raw_exec_enabled = true;
        let node = build_node(&config, &identity(), &facts());
        assert_eq!(node.attributes["driver.raw_exec"], "1");
        assert!(node.has_driver("raw_exec"));
    }

    #[test]
    fn ssh_is_advertised_when_its_plugin_is_configured() {
        let mut config = ClientConfig::new("/tmp".into(), vec![]);
        assert!(!build_node(&config, &identity(), &facts()).has_driver("ssh"));
        config
            .plugins
            .insert("ssh".into(), serde_json::json!({"private_key_file": "/k"}));
        let node = build_node(&config, &identity(), &facts());
        assert_eq!(node.attributes["driver.ssh"], "1");
        assert!(node.has_driver("ssh"));
    }

    #[test]
    fn probing_this_host_is_sane() {
        let dir = tempfile::tempdir().unwrap();
        let facts = probe_host(dir.path());
        assert!(facts.cpu_cores >= 1);
        assert!(facts.cpu_mhz >= 1);
        assert!(facts.memory_bytes > 64 * 1024 * 1024, "{facts:?}");
        assert!(facts.storage_bytes_free > 0);
        assert!(facts.storage_bytes_total >= facts.storage_bytes_free);
        assert!(!facts.kernel_version.is_empty());
        assert!(!facts.hostname.is_empty());
        assert!(!facts.storage_volume.is_empty());
    }
}
