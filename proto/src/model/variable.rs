//! Nomad Variables: small, encrypted key/value documents at file-like paths in a namespace,
//! in Nomad's `VariableDecrypted` / `VariableMetadata` JSON shapes, plus the path rules and the
//! implicit access a task has to its own job's variables.
//!
//! ```text
//!   PUT /v1/var/app/db  {"Items": {"user": "me"}}  ->  Variable { Namespace, Path, Items, .. }
//!   GET /v1/vars?prefix=app                        ->  [VariableMetadata { .. }]   (no Items)
//!   a task of job J, group G, task T reads (namespace of J):
//!     nomad/jobs   nomad/jobs/J   nomad/jobs/J/G   nomad/jobs/J/G/T
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Longest variable path, as Nomad.
pub const MAX_VARIABLE_PATH: usize = 128;
/// Largest encoded `Items`, as Nomad (64 KiB).
pub const MAX_VARIABLE_ITEMS_BYTES: usize = 64 * 1024;

/// A variable with its items in clear (what the API returns and accepts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Variable {
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    /// Unix nanoseconds.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
    #[serde(rename = "Items")]
    pub items: BTreeMap<String, String>,
}

/// A variable without its items (`GET /v1/vars` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VariableMetadata {
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

impl Variable {
    /// The variable's metadata.
    pub fn metadata(&self) -> VariableMetadata {
        VariableMetadata {
            namespace: self.namespace.clone(),
            path: self.path.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            create_time: self.create_time,
            modify_time: self.modify_time,
        }
    }

    /// The variable with `meta`'s fields and these items.
    pub fn from_parts(meta: &VariableMetadata, items: BTreeMap<String, String>) -> Self {
        Self {
            namespace: meta.namespace.clone(),
            path: meta.path.clone(),
            create_index: meta.create_index,
            modify_index: meta.modify_index,
            create_time: meta.create_time,
            modify_time: meta.modify_time,
            items,
        }
    }

    /// Nomad's rules for a variable to write: a valid path and at least one item, with
    /// non-empty keys, within the size limit.
    pub fn validate(&self) -> Result<(), String> {
        validate_variable_path(&self.path)?;
        if self.items.is_empty() {
            return Err("variable missing Items".to_string());
        }
        if self.items.keys().any(String::is_empty) {
            return Err("variable items may not have empty keys".to_string());
        }
        let size: usize = self.items.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_VARIABLE_ITEMS_BYTES {
            return Err(format!(
                "variables are limited to {MAX_VARIABLE_ITEMS_BYTES} bytes of items; got {size}"
            ));
        }
        Ok(())
    }
}

/// Nomad's path rules: 1 to 128 characters of `a-z A-Z 0-9 - _ ~ /`, and under the reserved
/// top-level `nomad` directory only `nomad/jobs` and below, and `nomad/job-templates/<name>`
/// (the templates of `job init -template`).
pub fn validate_variable_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("variable requires path".to_string());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~' | '/');
    if path.len() > MAX_VARIABLE_PATH || !path.chars().all(allowed) {
        return Err(format!(
            "invalid path {path:?}: paths are 1 to {MAX_VARIABLE_PATH} characters of letters, digits, \"-\", \"_\", \"~\" and \"/\""
        ));
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts[0] != "nomad" {
        return Ok(());
    }
    match parts.get(1) {
        Some(&"jobs") => Ok(()),
        Some(&"job-templates") if parts.len() == 3 && !parts[2].is_empty() => Ok(()),
        Some(&"job-templates") => Err(
            "\"nomad/job-templates\" is reserved: write a template one level below it, e.g. \"nomad/job-templates/web\""
                .to_string(),
        ),
        _ => Err(
            "\"nomad\" is a reserved top-level directory path, but you may write variables to \"nomad/jobs\", \"nomad/job-templates\", or below"
                .to_string(),
        ),
    }
}

/// The paths a task may read by default (Nomad's implicit workload policy): `nomad/jobs`,
/// `nomad/jobs/<job>`, `nomad/jobs/<job>/<group>`, `nomad/jobs/<job>/<group>/<task>`, in the
/// job's namespace.
pub fn workload_may_read(path: &str, job: &str, group: &str, task: &str) -> bool {
    let jobs = "nomad/jobs".to_string();
    let job_path = format!("{jobs}/{job}");
    let group_path = format!("{job_path}/{group}");
    let task_path = format!("{group_path}/{task}");
    [jobs, job_path, group_path, task_path].contains(&path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert!(validate_variable_path("app/db-creds_1~x").is_ok());
        assert!(validate_variable_path("nomad/jobs/web/g/t").is_ok());
        assert!(validate_variable_path("nomad/jobs").is_ok());
        assert!(validate_variable_path("").is_err());
        assert!(validate_variable_path("a b").is_err());
        assert!(validate_variable_path("a.b").is_err());
        assert!(validate_variable_path(&"a".repeat(129)).is_err());
        assert!(validate_variable_path("nomad").is_err());
        assert!(validate_variable_path("nomad/other").is_err());
        assert!(validate_variable_path("nomadic/x").is_ok());
        assert!(validate_variable_path("nomad/job-templates/web").is_ok());
        assert!(validate_variable_path("nomad/job-templates").is_err());
        assert!(validate_variable_path("nomad/job-templates/web/x").is_err());
    }

    #[test]
    fn validate_needs_items() {
        let mut v = Variable {
            path: "a".into(),
            ..Variable::default()
        };
        assert!(v.validate().is_err());
        v.items.insert("k".into(), "v".into());
        assert!(v.validate().is_ok());
        v.items.insert(String::new(), "v".into());
        assert!(v.validate().is_err());
    }

    #[test]
    fn workload_paths() {
        for p in [
            "nomad/jobs",
            "nomad/jobs/web",
            "nomad/jobs/web/g",
            "nomad/jobs/web/g/t",
        ] {
            assert!(workload_may_read(p, "web", "g", "t"), "{p}");
        }
        for p in [
            "nomad/jobs/other",
            "nomad/jobs/web/g/t/x",
            "nomad/jobs/web/h",
            "app",
        ] {
            assert!(!workload_may_read(p, "web", "g", "t"), "{p}");
        }
    }
}
