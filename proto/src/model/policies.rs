//! Policy blocks shared by jobs, groups and tasks: constraints, restart, reschedule, update,
//! logs, disk, periodic and parameterized configuration.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::NS_PER_SEC;

/// `constraint { attribute operator value }`; `LTarget`/`RTarget`/`Operand` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct Constraint {
    pub l_target: String,
    pub r_target: String,
    pub operand: String,
}

/// `affinity { attribute operator value weight }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct Affinity {
    pub l_target: String,
    pub r_target: String,
    pub operand: String,
    pub weight: i8,
}

/// `spread { attribute weight target "v" { percent } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct Spread {
    pub attribute: String,
    pub weight: i8,
    pub spread_target: Vec<SpreadTarget>,
}

/// One target of a `spread` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct SpreadTarget {
    pub value: String,
    pub percent: u8,
}

/// Restart mode `fail`: give up after the attempts are used.
pub const RESTART_MODE_FAIL: &str = "fail";
/// Restart mode `delay`: wait for the next interval and try again.
pub const RESTART_MODE_DELAY: &str = "delay";

/// `restart { attempts interval delay mode }`; durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct RestartPolicy {
    pub attempts: i64,
    pub interval: i64,
    pub delay: i64,
    pub mode: String,
    pub render_templates: bool,
}

impl RestartPolicy {
    /// Nomad's default for `service` (and `system`) jobs: 2 attempts in 30m, 15s delay, fail.
    pub fn service_default() -> Self {
        Self {
            attempts: 2,
            interval: 30 * 60 * NS_PER_SEC,
            delay: 15 * NS_PER_SEC,
            mode: RESTART_MODE_FAIL.into(),
            render_templates: false,
        }
    }

    /// Nomad's default for `batch` (and `sysbatch`) jobs: 3 attempts in 24h, 15s delay, fail.
    pub fn batch_default() -> Self {
        Self {
            attempts: 3,
            interval: 24 * 3600 * NS_PER_SEC,
            delay: 15 * NS_PER_SEC,
            mode: RESTART_MODE_FAIL.into(),
            render_templates: false,
        }
    }
}

/// `reschedule { attempts interval delay delay_function max_delay unlimited }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct ReschedulePolicy {
    pub attempts: i64,
    pub interval: i64,
    pub delay: i64,
    pub delay_function: String,
    pub max_delay: i64,
    pub unlimited: bool,
}

impl ReschedulePolicy {
    /// Nomad's default for `service` jobs: unlimited, 30s exponential up to 1h.
    pub fn service_default() -> Self {
        Self {
            attempts: 0,
            interval: 0,
            delay: 30 * NS_PER_SEC,
            delay_function: "exponential".into(),
            max_delay: 3600 * NS_PER_SEC,
            unlimited: true,
        }
    }

    /// Nomad's default for `batch` jobs: 1 attempt per 24h after 5s, constant.
    pub fn batch_default() -> Self {
        Self {
            attempts: 1,
            interval: 24 * 3600 * NS_PER_SEC,
            delay: 5 * NS_PER_SEC,
            delay_function: "constant".into(),
            max_delay: 0,
            unlimited: false,
        }
    }
}

/// `update { ... }`: rolling update strategy; durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateStrategy {
    pub stagger: i64,
    pub max_parallel: i64,
    pub health_check: String,
    pub min_healthy_time: i64,
    pub healthy_deadline: i64,
    pub progress_deadline: i64,
    pub auto_revert: bool,
    pub auto_promote: bool,
    pub canary: i64,
}

impl UpdateStrategy {
    /// Nomad's `DefaultUpdateStrategy`.
    pub fn nomad_default() -> Self {
        Self {
            stagger: 30 * NS_PER_SEC,
            max_parallel: 1,
            health_check: "checks".into(),
            min_healthy_time: 10 * NS_PER_SEC,
            healthy_deadline: 5 * 60 * NS_PER_SEC,
            progress_deadline: 10 * 60 * NS_PER_SEC,
            auto_revert: false,
            auto_promote: false,
            canary: 0,
        }
    }
}

/// `migrate { max_parallel health_check min_healthy_time healthy_deadline }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct MigrateStrategy {
    pub max_parallel: i64,
    pub health_check: String,
    pub min_healthy_time: i64,
    pub healthy_deadline: i64,
}

impl MigrateStrategy {
    /// Nomad's default: 1 at a time, checks, 10s, 5m.
    pub fn nomad_default() -> Self {
        Self {
            max_parallel: 1,
            health_check: "checks".into(),
            min_healthy_time: 10 * NS_PER_SEC,
            healthy_deadline: 5 * 60 * NS_PER_SEC,
        }
    }
}

/// `logs { max_files max_file_size disabled }`; size in MB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LogConfig {
    pub max_files: i64,
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: i64,
    pub disabled: bool,
}

impl Default for LogConfig {
    /// Nomad's default: 10 files of 10 MB.
    fn default() -> Self {
        Self {
            max_files: 10,
            max_file_size_mb: 10,
            disabled: false,
        }
    }
}

/// `ephemeral_disk { size sticky migrate }`; size in MB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EphemeralDisk {
    pub sticky: bool,
    #[serde(rename = "SizeMB")]
    pub size_mb: i64,
    pub migrate: bool,
}

impl Default for EphemeralDisk {
    /// Nomad's default: 300 MB, not sticky.
    fn default() -> Self {
        Self {
            sticky: false,
            size_mb: 300,
            migrate: false,
        }
    }
}

/// `periodic { crons prohibit_overlap time_zone enabled }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct PeriodicConfig {
    pub enabled: bool,
    pub spec: String,
    pub specs: Vec<String>,
    pub spec_type: String,
    pub prohibit_overlap: bool,
    pub time_zone: String,
}

/// `parameterized { payload meta_required meta_optional }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct ParameterizedJobConfig {
    pub payload: String,
    pub meta_required: Vec<String>,
    pub meta_optional: Vec<String>,
}

/// `lifecycle { hook = "prestart" }`: runs before the main tasks start.
pub const LIFECYCLE_HOOK_PRESTART: &str = "prestart";
/// `lifecycle { hook = "poststart" }`: starts once the main tasks are running.
pub const LIFECYCLE_HOOK_POSTSTART: &str = "poststart";
/// `lifecycle { hook = "poststop" }`: runs after the main tasks have stopped.
pub const LIFECYCLE_HOOK_POSTSTOP: &str = "poststop";

/// `lifecycle { hook sidecar }` on a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskLifecycle {
    pub hook: String,
    pub sidecar: bool,
}

/// `dispatch_payload { file }` on a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct DispatchPayloadConfig {
    pub file: String,
}

/// `artifact { ... }` on a task: a file or archive fetched into the task directory before start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskArtifact {
    /// Where to fetch from: `http://`, `https://`, `file://` or an absolute path.
    #[serde(rename = "GetterSource")]
    pub getter_source: String,
    /// `options { ... }`; `checksum = "sha256:<hex>"` is verified.
    #[serde(rename = "GetterOptions")]
    pub getter_options: BTreeMap<String, String>,
    /// `headers { ... }` sent with http(s) requests.
    #[serde(rename = "GetterHeaders")]
    pub getter_headers: BTreeMap<String, String>,
    /// `any` (default), `file` or `dir`.
    #[serde(rename = "GetterMode")]
    pub getter_mode: String,
    /// Destination relative to the task directory; `local/` by default.
    #[serde(rename = "RelativeDest")]
    pub relative_dest: String,
}

/// Free-form string metadata (`meta { ... }`), ordered for deterministic output.
pub type Meta = BTreeMap<String, String>;
