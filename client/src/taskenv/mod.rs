//! The task environment: Nomad's `NOMAD_*` variables, the task's `env` block, and the lookup
//! that resolves `${NOMAD_*}`, `${attr.*}`, `${meta.*}` and `${node.*}` references in env
//! values and driver config.

mod interpolate;
mod ports;

pub use interpolate::{interpolate, interpolate_json};

use std::collections::BTreeMap;
use std::path::Path;

use nomadish_proto::model::{Allocation, Node, Task};

/// Everything needed to build one task's environment.
#[derive(Debug, Clone, Copy)]
pub struct EnvInputs<'a> {
    pub alloc: &'a Allocation,
    pub task: &'a Task,
    pub node: &'a Node,
    /// The client's region (used when the job names none).
    pub region: &'a str,
    /// `data_dir/alloc/<alloc_id>`.
    pub alloc_dir: &'a Path,
}

/// A built task environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskEnv {
    /// Variables set in the task's process (on top of the inherited agent environment).
    pub env: BTreeMap<String, String>,
    /// `attr.*`, `meta.*` and `node.*` values for interpolation only.
    node_vars: BTreeMap<String, String>,
}

impl TaskEnv {
    /// Builds the environment: `NOMAD_*` first, then the task's `env` with its values
    /// interpolated against those and the node.
    pub fn build(inputs: EnvInputs<'_>) -> Self {
        let mut env = nomad_vars(inputs);
        let node_vars = node_vars(inputs.node, inputs.region);
        let base = Self {
            env: env.clone(),
            node_vars,
        };
        for (k, v) in &inputs.task.env {
            env.insert(k.clone(), base.interpolate(v));
        }
        Self { env, ..base }
    }

    /// Points the alloc dirs at where a container sees them (`/alloc`, `/local`,
    /// `/secrets`), in `NOMAD_*_DIR` and in every value built from them, so `${NOMAD_TASK_DIR}`
    /// in a Docker task's `config` or `env` means the path inside its container.
    pub fn use_container_dirs(&mut self, alloc_dir: &Path, task: &str) {
        let task_dir = alloc_dir.join(task);
        let pairs = [
            (alloc_dir.join("alloc"), "/alloc"),
            (task_dir.join("local"), "/local"),
            (task_dir.join("secrets"), "/secrets"),
        ];
        for value in self.env.values_mut() {
            for (host, inside) in &pairs {
                let host = host.to_string_lossy();
                if value.contains(host.as_ref()) {
                    *value = value.replace(host.as_ref(), inside);
                }
            }
        }
    }

    /// The value of a `${...}` reference, if known.
    pub fn lookup(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .or_else(|| self.node_vars.get(key))
            .cloned()
    }

    /// Interpolates `${...}` references in `s`.
    pub fn interpolate(&self, s: &str) -> String {
        interpolate(s, |k| self.lookup(k))
    }

    /// Interpolates every string in a driver `config` block.
    pub fn interpolate_config(
        &self,
        config: &BTreeMap<String, serde_json::Value>,
    ) -> BTreeMap<String, serde_json::Value> {
        let lookup = |k: &str| self.lookup(k);
        config
            .iter()
            .map(|(k, v)| (k.clone(), interpolate_json(v, &lookup)))
            .collect()
    }
}

fn nomad_vars(i: EnvInputs<'_>) -> BTreeMap<String, String> {
    let job = i.alloc.job.as_deref();
    let task_dir = i.alloc_dir.join(&i.task.name);
    let region = job
        .map(|j| j.region.as_str())
        .filter(|r| !r.is_empty())
        .unwrap_or(i.region);
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut v = BTreeMap::new();
    let mut set = |k: &str, val: String| {
        v.insert(k.to_string(), val);
    };
    set("NOMAD_ALLOC_ID", i.alloc.id.clone());
    set(
        "NOMAD_SHORT_ALLOC_ID",
        nomadish_proto::model::short_id(&i.alloc.id).to_string(),
    );
    set("NOMAD_ALLOC_NAME", i.alloc.name.clone());
    set("NOMAD_ALLOC_INDEX", i.alloc.index().to_string());
    set("NOMAD_JOB_ID", i.alloc.job_id.clone());
    set(
        "NOMAD_JOB_NAME",
        job.map_or_else(|| i.alloc.job_id.clone(), |j| j.name.clone()),
    );
    if let Some(parent) = job.map(|j| j.parent_id.clone()).filter(|p| !p.is_empty()) {
        set("NOMAD_JOB_PARENT_ID", parent);
    }
    set("NOMAD_GROUP_NAME", i.alloc.task_group.clone());
    set("NOMAD_TASK_NAME", i.task.name.clone());
    set("NOMAD_NAMESPACE", i.alloc.namespace.clone());
    set("NOMAD_REGION", region.to_string());
    set("NOMAD_DC", i.node.datacenter.clone());
    set("NOMAD_ALLOC_DIR", path(&i.alloc_dir.join("alloc")));
    set("NOMAD_TASK_DIR", path(&task_dir.join("local")));
    set("NOMAD_SECRETS_DIR", path(&task_dir.join("secrets")));
    set("NOMAD_CPU_LIMIT", i.task.resources.cpu.to_string());
    set("NOMAD_MEMORY_LIMIT", i.task.resources.memory_mb.to_string());
    if i.task.resources.memory_max_mb > 0 {
        set(
            "NOMAD_MEMORY_MAX_LIMIT",
            i.task.resources.memory_max_mb.to_string(),
        );
    }
    ports::port_vars(i.alloc, &mut v);
    for (key, value) in merged_meta(i) {
        let key = sanitize_meta_key(&key);
        v.insert(format!("NOMAD_META_{}", key.to_uppercase()), value.clone());
        v.insert(format!("NOMAD_META_{key}"), value);
    }
    v
}

/// Job meta, overridden by group meta, overridden by task meta.
fn merged_meta(i: EnvInputs<'_>) -> BTreeMap<String, String> {
    let mut meta = BTreeMap::new();
    if let Some(job) = i.alloc.job.as_deref() {
        meta.extend(job.meta.clone());
        if let Some(group) = job.group(&i.alloc.task_group) {
            meta.extend(group.meta.clone());
        }
    }
    meta.extend(i.task.meta.clone());
    meta
}

/// Nomad replaces characters other than letters, digits, `_` and `.` with `_`.
fn sanitize_meta_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn node_vars(node: &Node, region: &str) -> BTreeMap<String, String> {
    let mut v: BTreeMap<String, String> = node
        .attributes
        .iter()
        .map(|(k, val)| (format!("attr.{k}"), val.clone()))
        .chain(
            node.meta
                .iter()
                .map(|(k, val)| (format!("meta.{k}"), val.clone())),
        )
        .collect();
    v.insert("node.unique.id".into(), node.id.clone());
    v.insert("node.unique.name".into(), node.name.clone());
    v.insert("node.datacenter".into(), node.datacenter.clone());
    v.insert("node.class".into(), node.node_class.clone());
    v.insert("node.pool".into(), node.node_pool.clone());
    v.insert("node.region".into(), region.to_string());
    v
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
