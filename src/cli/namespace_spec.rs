//! Namespace specifications for `namespace apply FILE` and the `-quota` flag.
//!
//! ```hcl
//! name        = "team-a"
//! description = "Team A's services"
//! meta { owner = "team-a@example.com" }
//! capabilities {
//!   enabled_task_drivers  = ["docker", "raw_exec"]
//!   disabled_task_drivers = ["exec"]
//! }
//! quota { cpu = 2000  memory = 1024  allocations = 4 }   # nomadish; 0 or absent: unlimited
//! ```
//!
//! Nomad's `quota = "NAME"` (a quota specification's name) is accepted and kept as it is.
//! A `.json` file holds the API's `Namespace` JSON instead.

use std::collections::BTreeMap;

use nomadish_proto::model::{Namespace, NamespaceCapabilities, QuotaLimits};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    meta: BTreeMap<String, String>,
    #[serde(default)]
    capabilities: Option<CapabilitiesSpec>,
    #[serde(default)]
    quota: Option<QuotaSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesSpec {
    #[serde(default)]
    enabled_task_drivers: Vec<String>,
    #[serde(default)]
    disabled_task_drivers: Vec<String>,
    #[serde(default)]
    enabled_network_modes: Vec<String>,
    #[serde(default)]
    disabled_network_modes: Vec<String>,
}

/// `quota = "name"` (Nomad) or `quota { cpu = .. memory = .. allocations = .. }` (nomadish).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum QuotaSpec {
    Name(String),
    Limits(LimitsSpec),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSpec {
    #[serde(default)]
    cpu: u64,
    #[serde(default)]
    memory: u64,
    #[serde(default)]
    allocations: u64,
}

/// Parses a namespace specification; `path` picks JSON (`.json`) or HCL.
pub fn parse_spec(text: &str, path: &str) -> Result<Namespace, String> {
    if path.ends_with(".json") {
        let ns: Namespace = serde_json::from_str(text).map_err(|e| e.to_string())?;
        return Ok(ns);
    }
    let spec: Spec = hcl::from_str(text).map_err(|e| e.to_string())?;
    let mut ns = Namespace {
        name: spec.name,
        description: spec.description,
        meta: spec.meta,
        capabilities: spec.capabilities.map(|c| NamespaceCapabilities {
            enabled_task_drivers: c.enabled_task_drivers,
            disabled_task_drivers: c.disabled_task_drivers,
            enabled_network_modes: c.enabled_network_modes,
            disabled_network_modes: c.disabled_network_modes,
        }),
        ..Namespace::default()
    };
    match spec.quota {
        Some(QuotaSpec::Name(name)) => ns.quota = name,
        Some(QuotaSpec::Limits(l)) => {
            ns.quota_limits = Some(QuotaLimits {
                cpu: l.cpu,
                memory_mb: l.memory,
                allocations: l.allocations,
            })
        }
        None => {}
    }
    Ok(ns)
}

/// Parses `-quota cpu=N,memory=N,allocs=N` (any subset; `allocations` also accepted).
pub fn parse_quota_flag(value: &str) -> Result<QuotaLimits, String> {
    let mut q = QuotaLimits::default();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, v) = part
            .split_once('=')
            .ok_or_else(|| format!("invalid quota {part:?}: expected KEY=NUMBER"))?;
        let n: u64 = v.trim().parse().map_err(|_| {
            format!("invalid quota {part:?}: {v:?} is not a non-negative whole number")
        })?;
        match key.trim() {
            "cpu" => q.cpu = n,
            "memory" | "mem" => q.memory_mb = n,
            "allocs" | "allocations" => q.allocations = n,
            other => {
                return Err(format!(
                    "invalid quota key {other:?}: use cpu, memory or allocs"
                ));
            }
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_flag_parses_each_dimension_and_rejects_junk() {
        let q = parse_quota_flag("cpu=500,memory=256,allocs=3").unwrap();
        assert_eq!((q.cpu, q.memory_mb, q.allocations), (500, 256, 3));
        assert_eq!(parse_quota_flag("allocations=1").unwrap().allocations, 1);
        assert!(parse_quota_flag("disk=1").is_err());
        assert!(parse_quota_flag("cpu=-1").is_err());
        assert!(parse_quota_flag("cpu").is_err());
    }

    #[test]
    fn hcl_spec_with_nomadish_quota_block() {
        let text = r#"
name        = "team-a"
description = "Team A"
meta {
  owner = "a@example.com"
}
capabilities {
  enabled_task_drivers = ["docker"]
}
quota {
  cpu         = 2000
  memory      = 1024
  allocations = 4
}
"#;
        let ns = parse_spec(text, "ns.hcl").unwrap();
        assert_eq!(ns.name, "team-a");
        assert_eq!(ns.description, "Team A");
        assert_eq!(ns.meta["owner"], "a@example.com");
        let caps = ns.capabilities.unwrap();
        assert_eq!(caps.enabled_task_drivers, ["docker"]);
        let q = ns.quota_limits.unwrap();
        assert_eq!((q.cpu, q.memory_mb, q.allocations), (2000, 1024, 4));
    }

    #[test]
    fn nomads_quota_name_and_errors() {
        let ns = parse_spec("name = \"x\"\nquota = \"small\"\n", "x.hcl").unwrap();
        assert_eq!(ns.quota, "small");
        assert!(ns.quota_limits.is_none());
        assert!(parse_spec("description = \"no name\"\n", "x.hcl").is_err());
        assert!(parse_spec("name = \"x\"\nbogus = 1\n", "x.hcl").is_err());
        let json = parse_spec(r#"{"Name":"j","Description":"d"}"#, "ns.json").unwrap();
        assert_eq!((json.name.as_str(), json.description.as_str()), ("j", "d"));
    }
}
