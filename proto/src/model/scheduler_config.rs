//! The cluster's scheduler configuration (`/v1/operator/scheduler/configuration`), replicated
//! state read by every scheduling call.

use serde::{Deserialize, Serialize};

/// `SchedulerAlgorithm = "binpack"`: Nomad's BestFit score, fills nodes up.
pub const SCHEDULER_ALGORITHM_BINPACK: &str = "binpack";
/// `SchedulerAlgorithm = "spread"`: Nomad's worst-fit score, prefers emptier nodes.
pub const SCHEDULER_ALGORITHM_SPREAD: &str = "spread";

/// Which schedulers may preempt lower-priority allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PreemptionConfig {
    pub system_scheduler_enabled: bool,
    #[serde(rename = "SysBatchSchedulerEnabled")]
    pub sysbatch_scheduler_enabled: bool,
    pub batch_scheduler_enabled: bool,
    pub service_scheduler_enabled: bool,
}

impl Default for PreemptionConfig {
    /// Nomad's default: only the system scheduler preempts.
    fn default() -> Self {
        Self {
            system_scheduler_enabled: true,
            sysbatch_scheduler_enabled: false,
            batch_scheduler_enabled: false,
            service_scheduler_enabled: false,
        }
    }
}

/// The scheduler configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SchedulerConfiguration {
    pub scheduler_algorithm: String,
    pub preemption_config: PreemptionConfig,
    pub memory_oversubscription_enabled: bool,
    pub create_index: u64,
    pub modify_index: u64,
}

impl Default for SchedulerConfiguration {
    fn default() -> Self {
        Self {
            scheduler_algorithm: SCHEDULER_ALGORITHM_BINPACK.to_string(),
            preemption_config: PreemptionConfig::default(),
            memory_oversubscription_enabled: false,
            create_index: 0,
            modify_index: 0,
        }
    }
}

impl SchedulerConfiguration {
    /// Whether the spread (worst-fit) algorithm is selected.
    pub fn spread_algorithm(&self) -> bool {
        self.scheduler_algorithm == SCHEDULER_ALGORITHM_SPREAD
    }

    /// Whether preemption is enabled for a job type.
    pub fn preemption_enabled(&self, job_type: &str) -> bool {
        let p = &self.preemption_config;
        match job_type {
            super::JOB_TYPE_SYSTEM => p.system_scheduler_enabled,
            super::JOB_TYPE_SYSBATCH => p.sysbatch_scheduler_enabled,
            super::JOB_TYPE_BATCH => p.batch_scheduler_enabled,
            super::JOB_TYPE_SERVICE => p.service_scheduler_enabled,
            _ => false,
        }
    }

    /// Why the configuration is invalid, if it is (an unknown algorithm).
    pub fn validate(&self) -> Result<(), String> {
        match self.scheduler_algorithm.as_str() {
            SCHEDULER_ALGORITHM_BINPACK | SCHEDULER_ALGORITHM_SPREAD => Ok(()),
            other => Err(format!("invalid scheduler algorithm: {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_json_shape_follow_nomad() {
        let c = SchedulerConfiguration::default();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["SchedulerAlgorithm"], "binpack");
        assert_eq!(v["PreemptionConfig"]["SystemSchedulerEnabled"], true);
        assert_eq!(v["PreemptionConfig"]["SysBatchSchedulerEnabled"], false);
        assert_eq!(v["MemoryOversubscriptionEnabled"], false);
        assert!(c.preemption_enabled("system") && !c.preemption_enabled("service"));
        let partial: SchedulerConfiguration =
            serde_json::from_str(r#"{"SchedulerAlgorithm":"spread"}"#).unwrap();
        assert!(partial.spread_algorithm());
        assert!(partial.preemption_config.system_scheduler_enabled);
        let bad = SchedulerConfiguration {
            scheduler_algorithm: "random".into(),
            ..c
        };
        assert!(bad.validate().is_err());
    }
}
