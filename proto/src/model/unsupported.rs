//! Fields of Nomad's job API for systems nomadish does not have (Vault, Consul, Connect, CSI,
//! multiregion deployments, workload identities, ...).
//!
//! They are kept in the model, flattened into the structs that carry them in Nomad's JSON, so
//! a job submitted as JSON with any of them set is refused at validation with "not supported
//! by nomadish: <block>" instead of having the field silently dropped. Each field is an
//! opaque JSON value: nomadish never reads it, it only asks whether it is set. `null` and empty
//! values (`""`, `false`, `0`, `[]`, `{}`, or containers of only those) count as unset, since
//! Nomad's clients send unset fields that way. Unset fields are left out of the JSON output.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Nomad field that nomadish refuses when set: its JSON name and the jobspec block (or
/// attribute) name users know it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedField {
    /// The field's JSON name, as in Nomad's API (`Vault`, `CSIPluginConfig`).
    pub json_name: &'static str,
    /// The jobspec name, as Nomad's HCL spells it (`vault`, `csi_plugin`).
    pub block: &'static str,
}

/// Whether a JSON value carries anything: `null`, `""`, `false`, `0` and arrays or objects
/// holding only such values count as empty.
pub fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(is_empty_value),
        Value::Object(map) => map.values().all(is_empty_value),
    }
}

/// Whether an optional field holds a non-empty value.
fn is_set(value: &Option<Value>) -> bool {
    value.as_ref().is_some_and(|v| !is_empty_value(v))
}

/// The fields among `candidates` that are set.
fn set_fields(
    candidates: &[(&'static str, &'static str, &Option<Value>)],
) -> Vec<UnsupportedField> {
    candidates
        .iter()
        .filter(|(_, _, value)| is_set(value))
        .map(|&(json_name, block, _)| UnsupportedField { json_name, block })
        .collect()
}

/// Job-level fields nomadish refuses (flattened into `Job`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobUnsupported {
    /// `multiregion { ... }`: deployments across regions (Nomad Enterprise).
    #[serde(rename = "Multiregion", skip_serializing_if = "Option::is_none")]
    pub multiregion: Option<Value>,
    /// `ui { ... }`: the web UI's description and links.
    #[serde(rename = "UI", skip_serializing_if = "Option::is_none")]
    pub ui: Option<Value>,
    /// `consul_token`: a Consul token to submit the job with.
    #[serde(rename = "ConsulToken", skip_serializing_if = "Option::is_none")]
    pub consul_token: Option<Value>,
    /// `vault_token`: a Vault token to submit the job with.
    #[serde(rename = "VaultToken", skip_serializing_if = "Option::is_none")]
    pub vault_token: Option<Value>,
    /// `consul_namespace`: the Consul namespace of the job's services.
    #[serde(rename = "ConsulNamespace", skip_serializing_if = "Option::is_none")]
    pub consul_namespace: Option<Value>,
    /// `vault_namespace`: the Vault namespace of the job's secrets.
    #[serde(rename = "VaultNamespace", skip_serializing_if = "Option::is_none")]
    pub vault_namespace: Option<Value>,
}

impl JobUnsupported {
    /// The fields that are set.
    pub fn set_fields(&self) -> Vec<UnsupportedField> {
        set_fields(&[
            ("Multiregion", "multiregion", &self.multiregion),
            ("UI", "ui", &self.ui),
            ("ConsulToken", "consul_token", &self.consul_token),
            ("VaultToken", "vault_token", &self.vault_token),
            (
                "ConsulNamespace",
                "consul_namespace",
                &self.consul_namespace,
            ),
            ("VaultNamespace", "vault_namespace", &self.vault_namespace),
        ])
    }
}

/// Task-group fields nomadish refuses (flattened into `TaskGroup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GroupUnsupported {
    /// `consul { ... }`: the Consul cluster and namespace of the group's services.
    #[serde(rename = "Consul", skip_serializing_if = "Option::is_none")]
    pub consul: Option<Value>,
    /// `disconnect { ... }`: what to do when a client loses its servers.
    #[serde(rename = "Disconnect", skip_serializing_if = "Option::is_none")]
    pub disconnect: Option<Value>,
    /// `max_client_disconnect` (deprecated by Nomad for `disconnect`).
    #[serde(
        rename = "MaxClientDisconnect",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_client_disconnect: Option<Value>,
    /// `stop_after_client_disconnect` (deprecated by Nomad for `disconnect`).
    #[serde(
        rename = "StopAfterClientDisconnect",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_after_client_disconnect: Option<Value>,
    /// `prevent_reschedule_on_lost` (deprecated by Nomad for `disconnect`).
    #[serde(
        rename = "PreventRescheduleOnLost",
        skip_serializing_if = "Option::is_none"
    )]
    pub prevent_reschedule_on_lost: Option<Value>,
}

impl GroupUnsupported {
    /// The fields that are set.
    pub fn set_fields(&self) -> Vec<UnsupportedField> {
        set_fields(&[
            ("Consul", "consul", &self.consul),
            ("Disconnect", "disconnect", &self.disconnect),
            (
                "MaxClientDisconnect",
                "max_client_disconnect",
                &self.max_client_disconnect,
            ),
            (
                "StopAfterClientDisconnect",
                "stop_after_client_disconnect",
                &self.stop_after_client_disconnect,
            ),
            (
                "PreventRescheduleOnLost",
                "prevent_reschedule_on_lost",
                &self.prevent_reschedule_on_lost,
            ),
        ])
    }
}

/// Task fields nomadish refuses (flattened into `Task`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskUnsupported {
    /// `vault { ... }`: Vault tokens and policies for the task.
    #[serde(rename = "Vault", skip_serializing_if = "Option::is_none")]
    pub vault: Option<Value>,
    /// `consul { ... }`: the Consul cluster and namespace for the task.
    #[serde(rename = "Consul", skip_serializing_if = "Option::is_none")]
    pub consul: Option<Value>,
    /// `csi_plugin { ... }`: the task is a CSI plugin.
    #[serde(rename = "CSIPluginConfig", skip_serializing_if = "Option::is_none")]
    pub csi_plugin_config: Option<Value>,
    /// The default workload identity.
    #[serde(rename = "Identity", skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    /// `identity { ... }` blocks: workload identities.
    #[serde(rename = "Identities", skip_serializing_if = "Option::is_none")]
    pub identities: Option<Value>,
    /// `action { ... }` blocks: commands run on demand.
    #[serde(rename = "Actions", skip_serializing_if = "Option::is_none")]
    pub actions: Option<Value>,
    /// `schedule { ... }`: time-based task execution (Nomad Enterprise).
    #[serde(rename = "Schedule", skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Value>,
    /// `secret { ... }` blocks: secrets from external providers.
    #[serde(rename = "Secrets", skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Value>,
    /// Task-level `scaling { ... }` blocks: vertical autoscaling policies.
    #[serde(rename = "ScalingPolicies", skip_serializing_if = "Option::is_none")]
    pub scaling_policies: Option<Value>,
}

impl TaskUnsupported {
    /// The fields that are set.
    pub fn set_fields(&self) -> Vec<UnsupportedField> {
        // Nomad (1.7+) adds an inert default identity to every task it stores, so a job
        // exported with `nomad job inspect` carries one; it exposes nothing to the task and
        // is accepted (and dropped).
        let identity = self
            .identity
            .clone()
            .filter(|v| !is_inert_default_identity(v));
        set_fields(&[
            ("Vault", "vault", &self.vault),
            ("Consul", "consul", &self.consul),
            ("CSIPluginConfig", "csi_plugin", &self.csi_plugin_config),
            ("Identity", "identity", &identity),
            ("Identities", "identity", &self.identities),
            ("Actions", "action", &self.actions),
            ("Schedule", "schedule", &self.schedule),
            ("Secrets", "secret", &self.secrets),
            ("ScalingPolicies", "scaling", &self.scaling_policies),
        ])
    }
}

/// Whether an `Identity` is Nomad's default one with no token exposed to the task
/// (`Name` "default" or empty, `Env` and `File` false).
fn is_inert_default_identity(v: &Value) -> bool {
    let name = v.get("Name").and_then(Value::as_str).unwrap_or_default();
    let exposed = |f: &str| v.get(f).and_then(Value::as_bool).unwrap_or(false);
    v.is_object() && matches!(name, "" | "default") && !exposed("Env") && !exposed("File")
}

/// Service fields nomadish refuses (flattened into `Service`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServiceUnsupported {
    /// `connect { ... }`: Consul service mesh.
    #[serde(rename = "Connect", skip_serializing_if = "Option::is_none")]
    pub connect: Option<Value>,
    /// `identity { ... }`: the service's workload identity for Consul.
    #[serde(rename = "Identity", skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
}

impl ServiceUnsupported {
    /// The fields that are set.
    pub fn set_fields(&self) -> Vec<UnsupportedField> {
        set_fields(&[
            ("Connect", "connect", &self.connect),
            ("Identity", "identity", &self.identity),
        ])
    }
}

/// Network fields nomadish refuses (flattened into `NetworkResource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NetworkUnsupported {
    /// `dns { ... }`: DNS settings for bridge-mode networks.
    #[serde(rename = "DNS", skip_serializing_if = "Option::is_none")]
    pub dns: Option<Value>,
    /// `cni { ... }`: arguments for CNI plugins.
    #[serde(rename = "CNI", skip_serializing_if = "Option::is_none")]
    pub cni: Option<Value>,
}

impl NetworkUnsupported {
    /// The fields that are set.
    pub fn set_fields(&self) -> Vec<UnsupportedField> {
        set_fields(&[("DNS", "dns", &self.dns), ("CNI", "cni", &self.cni)])
    }
}

/// Resource fields nomadish refuses (flattened into `Resources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ResourcesUnsupported {
    /// `numa { ... }`: NUMA-aware core scheduling (Nomad Enterprise).
    #[serde(rename = "NUMA", skip_serializing_if = "Option::is_none")]
    pub numa: Option<Value>,
}

impl ResourcesUnsupported {
    /// The fields that are set.
    pub fn set_fields(&self) -> Vec<UnsupportedField> {
        set_fields(&[("NUMA", "numa", &self.numa)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_values_count_as_unset() {
        for v in [
            json!(null),
            json!(""),
            json!(false),
            json!(0),
            json!([]),
            json!({}),
            json!({"Policies": [], "Env": false, "Namespace": ""}),
            json!([{"Name": ""}]),
        ] {
            assert!(is_empty_value(&v), "{v} should be empty");
        }
        for v in [
            json!("token"),
            json!(true),
            json!(30),
            json!(["a"]),
            json!({"Policies": ["db"]}),
            json!([{"Name": "default"}]),
        ] {
            assert!(!is_empty_value(&v), "{v} should be set");
        }
    }

    #[test]
    fn nomads_inert_default_identity_is_accepted_an_exposed_one_refused() {
        let inert: TaskUnsupported = serde_json::from_value(json!({
            "Identity": {"Name": "default", "Audience": ["nomadproject.io"], "Env": false, "File": false}
        }))
        .unwrap();
        assert!(inert.set_fields().is_empty());
        let exposed: TaskUnsupported = serde_json::from_value(json!({
            "Identity": {"Name": "default", "Env": true}
        }))
        .unwrap();
        assert_eq!(exposed.set_fields().len(), 1);
    }

    #[test]
    fn set_fields_name_the_jobspec_block() {
        let task: TaskUnsupported = serde_json::from_value(json!({
            "Vault": {"Policies": ["db"]},
            "Consul": null,
            "Identities": [],
            "CSIPluginConfig": {"ID": "ebs", "Type": "node"},
        }))
        .unwrap();
        let blocks: Vec<_> = task.set_fields().iter().map(|f| f.block).collect();
        assert_eq!(blocks, ["vault", "csi_plugin"]);
    }

    #[test]
    fn unset_fields_are_left_out_of_the_json() {
        let job = JobUnsupported {
            vault_token: Some(json!("")),
            ..JobUnsupported::default()
        };
        assert_eq!(
            serde_json::to_value(&job).unwrap(),
            json!({"VaultToken": ""})
        );
        assert_eq!(
            serde_json::to_value(JobUnsupported::default()).unwrap(),
            json!({})
        );
    }
}
