//! The metric each raft command's apply time is recorded under, with Nomad's names
//! (`nomad.nomad.fsm.<message type>`) where Nomad has the same command.

use crate::fsm::Command;

impl Command {
    /// The sample this command's FSM apply time goes to.
    pub fn metric_name(&self) -> &'static str {
        match self {
            Command::UpsertJob { .. } => "nomad.nomad.fsm.register_job",
            Command::DeregisterJob { .. } => "nomad.nomad.fsm.deregister_job",
            Command::UpsertEvals { .. } => "nomad.nomad.fsm.update_eval",
            Command::UpsertNode { .. } => "nomad.nomad.fsm.register_node",
            Command::UpdateNodeStatus { .. } => "nomad.nomad.fsm.node_status_update",
            Command::ApplyPlanResults { .. } => "nomad.nomad.fsm.apply_plan_results",
            Command::RestoreState { .. } => "nomad.nomad.fsm.restore",
            Command::UpdateAllocsFromClient { .. } => "nomad.nomad.fsm.alloc_client_update",
            Command::UpdateDeploymentStatus { .. } => "nomad.nomad.fsm.deployment_status_update",
            Command::PromoteDeployment { .. } => "nomad.nomad.fsm.deployment_promotion",
            Command::LaunchPeriodicChild { .. } => "nomad.nomad.fsm.periodic_launch",
            Command::GarbageCollect { .. } => "nomad.nomad.fsm.garbage_collect",
            Command::UpdateNodeEligibility { .. } => "nomad.nomad.fsm.node_eligibility_update",
            Command::UpdateNodeDrain { .. } => "nomad.nomad.fsm.node_drain_update",
            Command::UpdateAllocDesiredTransition { .. } => {
                "nomad.nomad.fsm.update_alloc_desired_transition"
            }
            Command::SetSchedulerConfig { .. } => "nomad.nomad.fsm.apply_scheduler_config",
            Command::UpsertServiceRegistrations { .. } => {
                "nomad.nomad.fsm.upsert_service_registrations"
            }
            Command::DeleteServiceRegistration { .. } => {
                "nomad.nomad.fsm.delete_service_registration"
            }
            Command::ApplyVariable { .. } => "nomad.nomad.fsm.apply_variable",
            Command::ApplyAcl { .. } => "nomad.nomad.fsm.apply_acl",
            Command::ApplyNamespace { .. } => "nomad.nomad.fsm.apply_namespace",
            Command::SetJobStability { .. } => "nomad.nomad.fsm.update_job_stability",
            Command::DeregisterNode { .. } => "nomad.nomad.fsm.deregister_node",
            Command::SetAllocHealth { .. } => "nomad.nomad.fsm.deployment_alloc_health",
            Command::SetAutopilotConfig { .. } => "nomad.nomad.fsm.autopilot",
            Command::Batch { .. } => "nomad.nomad.fsm.batch",
        }
    }
}
