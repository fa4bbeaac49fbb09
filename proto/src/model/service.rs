//! The built-in service catalog (`provider = "nomad"`): one registration per service of a
//! running allocation, in Nomad's `ServiceRegistration` shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One service instance: what `/v1/service/:name` lists and `nomadService` renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServiceRegistration {
    /// `_nomad-task-<alloc>-<group|task>-<service>-<port label>`, as Nomad forms it.
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(rename = "Port")]
    pub port: u16,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// `service { ... }` at group or task level, in Nomad's `Service` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Service {
    #[serde(rename = "Name")]
    pub name: String,
    /// For group services: the task whose environment script checks run in.
    #[serde(rename = "TaskName")]
    pub task_name: String,
    /// A port label of the group's network, or a literal port number.
    #[serde(rename = "PortLabel")]
    pub port_label: String,
    #[serde(rename = "AddressMode")]
    pub address_mode: String,
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
    #[serde(rename = "CanaryTags")]
    pub canary_tags: Vec<String>,
    #[serde(rename = "Checks")]
    pub checks: Vec<ServiceCheck>,
    #[serde(rename = "CheckRestart")]
    pub check_restart: Option<CheckRestart>,
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    #[serde(rename = "OnUpdate")]
    pub on_update: String,
    /// `consul` (Nomad's default, refused by nomadish) or `nomad`.
    #[serde(rename = "Provider")]
    pub provider: String,
    /// Nomad fields for systems nomadish lacks, kept so validation can refuse them.
    #[serde(flatten)]
    pub unsupported: super::ServiceUnsupported,
}

/// `check { ... }` inside a service, in Nomad's `ServiceCheck` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServiceCheck {
    #[serde(rename = "Name")]
    pub name: String,
    /// `http`, `tcp` or `script`.
    #[serde(rename = "Type")]
    pub check_type: String,
    #[serde(rename = "Command")]
    pub command: String,
    #[serde(rename = "Args")]
    pub args: Vec<String>,
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Protocol")]
    pub protocol: String,
    #[serde(rename = "PortLabel")]
    pub port_label: String,
    #[serde(rename = "Expose")]
    pub expose: bool,
    #[serde(rename = "AddressMode")]
    pub address_mode: String,
    /// Nanoseconds.
    #[serde(rename = "Interval")]
    pub interval: i64,
    /// Nanoseconds.
    #[serde(rename = "Timeout")]
    pub timeout: i64,
    #[serde(rename = "InitialStatus")]
    pub initial_status: String,
    #[serde(rename = "TLSSkipVerify")]
    pub tls_skip_verify: bool,
    #[serde(rename = "Method")]
    pub method: String,
    #[serde(rename = "Header")]
    pub header: BTreeMap<String, Vec<String>>,
    #[serde(rename = "CheckRestart")]
    pub check_restart: Option<CheckRestart>,
    /// For group services: the task a script check runs in.
    #[serde(rename = "TaskName")]
    pub task_name: String,
    #[serde(rename = "SuccessBeforePassing")]
    pub success_before_passing: i64,
    #[serde(rename = "FailuresBeforeCritical")]
    pub failures_before_critical: i64,
    #[serde(rename = "FailuresBeforeWarning")]
    pub failures_before_warning: i64,
    #[serde(rename = "OnUpdate")]
    pub on_update: String,
}

/// `check_restart { limit grace ignore_warnings }`: restart the task after `limit`
/// consecutive unhealthy results, not counting the first `grace` after it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CheckRestart {
    #[serde(rename = "Limit")]
    pub limit: i64,
    /// Nanoseconds.
    #[serde(rename = "Grace")]
    pub grace: i64,
    #[serde(rename = "IgnoreWarnings")]
    pub ignore_warnings: bool,
}

impl CheckRestart {
    /// The check's own settings over the service's (Nomad's `CheckRestart.Merge`).
    pub fn merged(service: Option<&CheckRestart>, check: Option<&CheckRestart>) -> Option<Self> {
        match (service, check) {
            (None, None) => None,
            (Some(s), None) => Some(s.clone()),
            (None, Some(c)) => Some(c.clone()),
            (Some(s), Some(c)) => Some(CheckRestart {
                limit: if c.limit > 0 { c.limit } else { s.limit },
                grace: if c.grace > 0 { c.grace } else { s.grace },
                ignore_warnings: c.ignore_warnings || s.ignore_warnings,
            }),
        }
    }
}

/// The provider nomadish implements.
pub const SERVICE_PROVIDER_NOMAD: &str = "nomad";

/// Fills Nomad's service defaults (`api.Service.Canonicalize`): the name
/// `<job>-<group>[-<task>]`, address mode `auto`, on_update `require_healthy`, provider
/// `consul`, and each check inherits the service's `check_restart` and `on_update`.
pub fn canonicalize_service(service: &mut Service, job: &str, group: &str, task: Option<&str>) {
    if service.name.is_empty() {
        service.name = match task {
            Some(t) => format!("{job}-{group}-{t}"),
            None => format!("{job}-{group}"),
        };
    }
    for (slot, default) in [
        (&mut service.address_mode, "auto"),
        (&mut service.on_update, "require_healthy"),
        (&mut service.provider, "consul"),
    ] {
        if slot.is_empty() {
            *slot = default.to_string();
        }
    }
    for check in &mut service.checks {
        check.check_restart =
            CheckRestart::merged(service.check_restart.as_ref(), check.check_restart.as_ref());
        if check.on_update.is_empty() {
            check.on_update.clone_from(&service.on_update);
        }
        check.success_before_passing = check.success_before_passing.max(0);
        check.failures_before_critical = check.failures_before_critical.max(0);
        check.failures_before_warning = check.failures_before_warning.max(0);
    }
}

/// The registration ID Nomad forms: `_nomad-task-<alloc>-<group|task>-<service>-<port>`.
pub fn service_registration_id(alloc_id: &str, owner: &str, service: &str, port: &str) -> String {
    format!("_nomad-task-{alloc_id}-{owner}-{service}-{port}")
}
