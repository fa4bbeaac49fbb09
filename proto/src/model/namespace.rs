//! Namespaces, in Nomad's `Namespace` JSON shape, with nomadish's per-namespace quota.
//!
//! ```text
//!   PUT /v1/namespace/team-a  {"Name": "team-a", "Description": "..",
//!                              "QuotaLimits": {"CPU": 2000, "MemoryMB": 1024, "Allocations": 4}}
//!   GET /v1/namespaces        ->  [Namespace { .. }]          ("default" always among them)
//! ```
//!
//! Nomad keeps resource quotas for its paid edition (`Quota` names a quota specification
//! there); nomadish carries the limits on the namespace itself as `QuotaLimits`. A limit that
//! is absent or 0 is unlimited. The scheduler counts the namespace's non-terminal allocations
//! against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DEFAULT_NAMESPACE;

/// Longest namespace name, as Nomad.
pub const MAX_NAMESPACE_NAME: usize = 128;

/// The description the implicit `default` namespace carries, as Nomad's.
pub const DEFAULT_NAMESPACE_DESCRIPTION: &str = "Default shared namespace";

/// A namespace: a named scope for jobs, allocations, evaluations, variables and services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Namespace {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    /// Nomad's quota specification name (kept as given; nomadish enforces `QuotaLimits`).
    #[serde(rename = "Quota")]
    pub quota: String,
    /// nomadish's resource limits for the namespace's non-terminal allocations.
    #[serde(rename = "QuotaLimits", skip_serializing_if = "Option::is_none")]
    pub quota_limits: Option<QuotaLimits>,
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    #[serde(rename = "Capabilities", skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<NamespaceCapabilities>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// Nomad's namespace capabilities: which task drivers and network modes jobs may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NamespaceCapabilities {
    #[serde(rename = "EnabledTaskDrivers")]
    pub enabled_task_drivers: Vec<String>,
    #[serde(rename = "DisabledTaskDrivers")]
    pub disabled_task_drivers: Vec<String>,
    #[serde(rename = "EnabledNetworkModes")]
    pub enabled_network_modes: Vec<String>,
    #[serde(rename = "DisabledNetworkModes")]
    pub disabled_network_modes: Vec<String>,
}

/// Per-namespace resource limits; a limit of 0 (or absent) is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct QuotaLimits {
    /// CPU in MHz, summed over the namespace's non-terminal allocations.
    #[serde(rename = "CPU")]
    pub cpu: u64,
    /// Memory in MB, summed likewise.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    /// How many non-terminal allocations the namespace may have.
    #[serde(rename = "Allocations")]
    pub allocations: u64,
}

/// What a namespace's allocations use, in the dimensions of [`QuotaLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct QuotaUsage {
    #[serde(rename = "CPU")]
    pub cpu: u64,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    #[serde(rename = "Allocations")]
    pub allocations: u64,
}

impl QuotaLimits {
    /// Whether no dimension is limited.
    pub fn is_unlimited(&self) -> bool {
        self.cpu == 0 && self.memory_mb == 0 && self.allocations == 0
    }

    /// The first dimension `usage` goes over, as Nomad's `QuotaExhausted` entries
    /// (`"cpu exhausted (2500 > 2000)"`), or `None` when it fits.
    pub fn exceeded_by(&self, usage: &QuotaUsage) -> Option<String> {
        let dims = [
            ("cpu", self.cpu, usage.cpu),
            ("memory", self.memory_mb, usage.memory_mb),
            ("allocations", self.allocations, usage.allocations),
        ];
        dims.iter()
            .find(|(_, limit, used)| *limit > 0 && used > limit)
            .map(|(name, limit, used)| format!("{name} exhausted ({used} > {limit})"))
    }
}

impl QuotaUsage {
    /// This usage with one more allocation of the given size.
    pub fn plus(self, cpu: u64, memory_mb: u64) -> Self {
        Self {
            cpu: self.cpu + cpu,
            memory_mb: self.memory_mb + memory_mb,
            allocations: self.allocations + 1,
        }
    }
}

impl Namespace {
    /// The implicit `default` namespace, as it exists before anyone edits it.
    pub fn default_namespace() -> Self {
        Self {
            name: DEFAULT_NAMESPACE.to_string(),
            description: DEFAULT_NAMESPACE_DESCRIPTION.to_string(),
            create_index: 1,
            modify_index: 1,
            ..Self::default()
        }
    }

    /// Nomad's rules for a namespace to write: a valid name and a description of at most
    /// 256 characters.
    pub fn validate(&self) -> Result<(), String> {
        validate_namespace_name(&self.name)?;
        if self.description.chars().count() > 256 {
            return Err("description longer than 256 characters".to_string());
        }
        Ok(())
    }

    /// The namespace's limits, when it has any.
    pub fn limits(&self) -> Option<QuotaLimits> {
        self.quota_limits.filter(|q| !q.is_unlimited())
    }
}

/// Nomad's namespace name rule: `^[a-zA-Z0-9-]{1,128}$`.
pub fn validate_namespace_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAMESPACE_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name {name:?}: namespace names are 1 to {MAX_NAMESPACE_NAME} letters, digits and \"-\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_nomads_rule() {
        assert!(validate_namespace_name("team-a").is_ok());
        assert!(validate_namespace_name("A1").is_ok());
        assert!(validate_namespace_name(&"x".repeat(128)).is_ok());
        for bad in ["", "team_a", "a b", "ns/1", "*", "é", &"x".repeat(129)] {
            assert!(validate_namespace_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn json_shape_is_nomads() {
        let ns = Namespace {
            name: "team-a".into(),
            description: "A team".into(),
            quota_limits: Some(QuotaLimits {
                cpu: 500,
                memory_mb: 256,
                allocations: 2,
            }),
            capabilities: Some(NamespaceCapabilities {
                enabled_task_drivers: vec!["docker".into()],
                ..Default::default()
            }),
            ..Namespace::default()
        };
        let json = serde_json::to_value(&ns).unwrap();
        assert_eq!(json["Name"], "team-a");
        assert_eq!(json["QuotaLimits"]["CPU"], 500);
        assert_eq!(json["QuotaLimits"]["MemoryMB"], 256);
        assert_eq!(json["Capabilities"]["EnabledTaskDrivers"][0], "docker");
        let back: Namespace = serde_json::from_value(json).unwrap();
        assert_eq!(back, ns);
        let minimal: Namespace = serde_json::from_str(r#"{"Name":"x"}"#).unwrap();
        assert_eq!(minimal.limits(), None);
    }

    #[test]
    fn quota_checks_each_dimension_and_zero_is_unlimited() {
        let q = QuotaLimits {
            cpu: 1000,
            memory_mb: 0,
            allocations: 2,
        };
        let used = QuotaUsage::default().plus(600, 10_000);
        assert_eq!(q.exceeded_by(&used), None, "memory 0 is unlimited");
        assert_eq!(
            q.exceeded_by(&used.plus(600, 1)).as_deref(),
            Some("cpu exhausted (1200 > 1000)")
        );
        let three = used.plus(1, 1).plus(1, 1);
        assert_eq!(
            q.exceeded_by(&three).as_deref(),
            Some("allocations exhausted (3 > 2)")
        );
        assert!(QuotaLimits::default().is_unlimited());
        assert!(
            Namespace {
                quota_limits: Some(QuotaLimits::default()),
                ..Namespace::default()
            }
            .limits()
            .is_none()
        );
    }

    #[test]
    fn default_namespace_and_validation() {
        let d = Namespace::default_namespace();
        assert_eq!(d.name, "default");
        assert!(d.validate().is_ok());
        let long = Namespace {
            name: "x".into(),
            description: "d".repeat(257),
            ..Namespace::default()
        };
        assert!(long.validate().is_err());
    }
}
