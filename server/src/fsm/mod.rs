//! The finite state machine: every replicated change is one [`Command`], applied by one
//! `match` of small `apply_*` functions.
//!
//! Application is deterministic: the raft index comes from the entry, and every time or ID a
//! command needs is inside the command (stamped by the leader before proposing), never read
//! from the clock or an RNG here. Commands are externally tagged by variant name, so adding a
//! variant keeps older log entries readable.

pub mod acl;
mod allocs;
mod api_ops;
mod children;
mod deployments;
mod gc;
mod jobs;
pub mod namespaces;
pub mod node_ops;
mod nodes;
mod scheduler_config;
mod services;
pub mod variables;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nomadish_proto::model::{
    AllocClientUpdate, Allocation, Deployment, DeploymentStatusUpdate, DesiredTransition,
    DrainStrategy, Evaluation, Job, Node, NodeEvent, SchedulerConfiguration, ServiceRegistration,
};
use serde::{Deserialize, Serialize};

use crate::state::{JobKey, StateView};

/// A replicated state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Register or update a job, with the evaluation that schedules it.
    UpsertJob {
        /// The job as submitted (canonicalized).
        job: Box<Job>,
        /// The evaluation to create.
        eval: Option<Evaluation>,
        /// Compare-and-set: apply only if the job's `JobModifyIndex` equals this (0: new job).
        enforce_index: Option<u64>,
        /// Submission time (Unix ns).
        now: i64,
    },
    /// Stop (or purge) a job, with the evaluation that stops its allocations.
    DeregisterJob {
        /// Namespace of the job.
        namespace: String,
        /// The job's ID.
        job_id: String,
        /// Remove the job entirely instead of marking it stopped.
        purge: bool,
        /// The evaluation to create.
        eval: Option<Evaluation>,
        /// Time of the request (Unix ns).
        now: i64,
    },
    /// Create or update evaluations (status changes, blocked and follow-up evaluations).
    UpsertEvals {
        /// The evaluations, complete.
        evals: Vec<Evaluation>,
    },
    /// Register (or re-register) a node.
    UpsertNode {
        /// The node as the client sent it.
        node: Node,
        /// Evaluations to create with it.
        evals: Vec<Evaluation>,
        /// Time of the request (Unix ns).
        now: i64,
    },
    /// Change a node's status (heartbeat missed, node back), with evaluations for its jobs.
    UpdateNodeStatus {
        /// The node.
        node_id: String,
        /// The new status.
        status: String,
        /// An event to record on the node.
        event: Option<NodeEvent>,
        /// Evaluations to create with it.
        evals: Vec<Evaluation>,
        /// Time of the change (Unix ns).
        now: i64,
    },
    /// Commit the part of a plan the plan applier accepted.
    ApplyPlanResults {
        /// The evaluation that produced the plan.
        eval_id: String,
        /// The job version new allocations run (allocations travel without their job).
        job: Option<JobRef>,
        /// New allocations and in-place updates.
        placed: Vec<Allocation>,
        /// Allocations to stop or mark lost.
        stopped: Vec<Allocation>,
        /// Time of the commit (Unix ns).
        now: i64,
        /// A deployment the plan creates or updates.
        #[serde(default)]
        deployment: Option<Deployment>,
        /// Status changes of existing deployments.
        #[serde(default)]
        deployment_updates: Vec<DeploymentStatusUpdate>,
    },
    /// Replace the whole state with a saved snapshot (`operator snapshot restore`).
    RestoreState {
        /// The encoded tables (`state::encode_snapshot`).
        state: Vec<u8>,
    },
    /// Client-side allocation updates (task states, client status).
    UpdateAllocsFromClient {
        /// The updates.
        updates: Vec<AllocClientUpdate>,
        /// Evaluations to create with them (failed allocations to reschedule).
        evals: Vec<Evaluation>,
        /// Time the server received them (Unix ns).
        now: i64,
    },
    /// Change a deployment's status (watcher verdicts, `deployment fail|pause|resume`).
    UpdateDeploymentStatus {
        /// The change.
        update: DeploymentStatusUpdate,
        /// An evaluation to create with it.
        eval: Option<Evaluation>,
        /// Time of the change (Unix ns).
        now: i64,
    },
    /// Promote a deployment's canaries (`deployment promote`).
    PromoteDeployment {
        /// The deployment.
        deployment_id: String,
        /// The groups to promote; empty: all.
        groups: Vec<String>,
        /// The evaluation that continues the rollout.
        eval: Option<Evaluation>,
        /// Time of the change (Unix ns).
        now: i64,
    },
    /// Launch a child of a periodic job and record the launch (`periodic_launch` table).
    LaunchPeriodicChild {
        /// The child job (`PARENT/periodic-<unix seconds>`).
        child: Box<Job>,
        /// The child's evaluation.
        eval: Evaluation,
        /// The launch time (Unix ns).
        launch: i64,
        /// `job periodic force`: launch even if the schedule already launched at this time.
        force: bool,
        /// Time of the request (Unix ns).
        now: i64,
    },
    /// Delete garbage: finished allocations and evaluations, dead jobs, down nodes.
    GarbageCollect {
        /// What to delete (each re-checked before deletion).
        batch: crate::gc::GcBatch,
    },
    /// Set a node's scheduling eligibility (`node eligibility`).
    UpdateNodeEligibility {
        /// The node.
        node_id: String,
        /// `eligible` or `ineligible`.
        eligibility: String,
        /// An event to record on the node.
        event: Option<NodeEvent>,
        /// Evaluations to create with it (the node's jobs when it becomes eligible).
        evals: Vec<Evaluation>,
    },
    /// Set or clear a node's drain strategy (`node drain`, and the drainer when done).
    UpdateNodeDrain {
        /// The node.
        node_id: String,
        /// The drain to start, or `None` to end it.
        drain_strategy: Option<DrainStrategy>,
        /// When ending a drain: make the node eligible again.
        mark_eligible: bool,
        /// An event to record on the node.
        event: Option<NodeEvent>,
        /// Evaluations to create with it.
        evals: Vec<Evaluation>,
    },
    /// Mark allocations for migration (the drainer), with the evaluations that move them.
    UpdateAllocDesiredTransition {
        /// Allocation ID -> the transition to merge in.
        transitions: BTreeMap<String, DesiredTransition>,
        /// Evaluations to create with it.
        evals: Vec<Evaluation>,
    },
    /// Replace the scheduler configuration (`PUT /v1/operator/scheduler/configuration`).
    SetSchedulerConfig {
        /// The new configuration (its indexes are stamped on apply).
        config: SchedulerConfiguration,
        /// Compare-and-set: apply only if the current `ModifyIndex` equals this.
        cas_index: Option<u64>,
    },
    /// Replace the service registrations of one allocation (empty: deregister them all).
    UpsertServiceRegistrations {
        /// The allocation whose services these are.
        alloc_id: String,
        /// The complete set of its registrations.
        registrations: Vec<ServiceRegistration>,
    },
    /// Delete one service registration (`DELETE /v1/service/:name/:id`).
    DeleteServiceRegistration {
        /// Namespace of the service.
        namespace: String,
        /// The service's name.
        service_name: String,
        /// The registration ID.
        id: String,
    },
    /// Nomad Variables: create the root key, upsert or delete a (sealed) variable.
    ApplyVariable {
        /// The change.
        op: variables::VariableOp,
    },
    // ---- ACL (issue 7) ----
    /// ACL bootstrap, policies and tokens.
    ApplyAcl {
        /// The change.
        op: acl::AclOp,
    },
    // ---- namespaces (wip-ns) ----
    /// Namespaces: upsert or delete one (`/v1/namespace/:name`).
    ApplyNamespace {
        /// The change.
        op: namespaces::NamespaceOp,
    },
    // ---- end namespaces ----
    // ---- extra v1 endpoints (issue 8) ----
    /// Set or clear one job version's `Stable` flag (`PUT /v1/job/:id/stable`).
    SetJobStability {
        /// Namespace of the job.
        namespace: String,
        /// The job's ID.
        job_id: String,
        /// The version to change.
        version: u64,
        /// The new flag.
        stable: bool,
    },
    /// Remove a node (`PUT /v1/node/:id/purge`), with evaluations for its jobs.
    DeregisterNode {
        /// The node.
        node_id: String,
        /// Evaluations to create with it.
        evals: Vec<Evaluation>,
    },
    /// Set allocations' health in a deployment by hand (`/v1/deployment/allocation-health`).
    SetAllocHealth {
        /// The deployment.
        deployment_id: String,
        /// `(allocation ID, healthy)` verdicts.
        verdicts: Vec<(String, bool)>,
        /// An evaluation of the deployment's job.
        eval: Option<Evaluation>,
        /// Time of the request (Unix ns).
        now: i64,
    },
    /// Replace the autopilot configuration (`PUT /v1/operator/autopilot/configuration`).
    SetAutopilotConfig {
        /// The configuration (indexes stamped on apply).
        config: nomadish_proto::model::AutopilotConfiguration,
        /// Compare-and-set: apply only if the current `ModifyIndex` equals this.
        cas_index: Option<u64>,
    },
    // ---- end extra v1 endpoints ----
    /// Several commands committed as one raft entry (group commit, see `group_commit.rs`):
    /// applied in order at the entry's index, each with its own response.
    Batch {
        /// The commands, in the order they arrived.
        commands: Vec<Command>,
    },
}

impl Command {
    /// IDs of the evaluations this command creates or updates.
    pub fn eval_ids(&self) -> Vec<String> {
        let ids = |evals: &[Evaluation]| evals.iter().map(|e| e.id.clone()).collect();
        match self {
            Command::UpsertJob { eval, .. } | Command::DeregisterJob { eval, .. } => {
                eval.iter().map(|e| e.id.clone()).collect()
            }
            Command::UpsertEvals { evals }
            | Command::UpsertNode { evals, .. }
            | Command::UpdateNodeStatus { evals, .. }
            | Command::UpdateAllocsFromClient { evals, .. }
            | Command::UpdateNodeEligibility { evals, .. }
            | Command::UpdateNodeDrain { evals, .. }
            | Command::UpdateAllocDesiredTransition { evals, .. }
            | Command::DeregisterNode { evals, .. } => ids(evals),
            Command::SetAllocHealth { eval, .. } => eval.iter().map(|e| e.id.clone()).collect(),
            Command::SetJobStability { .. } | Command::SetAutopilotConfig { .. } => Vec::new(),
            Command::UpdateDeploymentStatus { eval, .. }
            | Command::PromoteDeployment { eval, .. } => {
                eval.iter().map(|e| e.id.clone()).collect()
            }
            Command::LaunchPeriodicChild { eval, .. } => vec![eval.id.clone()],
            Command::ApplyPlanResults { .. }
            | Command::RestoreState { .. }
            | Command::GarbageCollect { .. }
            | Command::SetSchedulerConfig { .. }
            | Command::UpsertServiceRegistrations { .. }
            | Command::DeleteServiceRegistration { .. } => Vec::new(),
            Command::ApplyVariable { .. } => Vec::new(),
            Command::ApplyAcl { .. } => Vec::new(),
            Command::Batch { commands } => commands.iter().flat_map(Command::eval_ids).collect(),
            // ---- namespaces (wip-ns) ----
            Command::ApplyNamespace { .. } => Vec::new(),
            // ---- end namespaces ----
        }
    }
}

/// Names one version of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    pub id: String,
    /// Version.
    pub version: u64,
}

/// Why a command changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApplyError {
    /// A compare-and-set index did not match.
    #[error(
        "enforcing job modify index {expected}: job exists with conflicting job modify index: {actual}"
    )]
    CasMismatch {
        /// The index the request expected.
        expected: u64,
        /// The job's actual index (0 when it does not exist).
        actual: u64,
    },
    /// The command's payload is unusable.
    #[error("invalid: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The object to change does not exist.
    #[error("{kind} not found")]
    NotFound {
        /// What was looked for.
        kind: String,
    },
    /// The request is well-formed but refused by a rule of the state (answered 400).
    #[error("{reason}")]
    Rejected {
        /// Why, in words for the user.
        reason: String,
    },
}

/// The outcome of applying one command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandResponse {
    /// The raft index of the entry.
    pub index: u64,
    /// Set when the command was refused (and changed nothing).
    pub error: Option<ApplyError>,
    /// For job commands: the job's `JobModifyIndex` after the command.
    pub job_modify_index: u64,
    /// For a [`Command::Batch`]: each command's response, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch: Vec<CommandResponse>,
    /// For a variable upsert: the variable's `CreateIndex` and `CreateTime` after the command
    /// (with `index` as its `ModifyIndex`, the proposer can answer without reading it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_created: Option<(u64, i64)>,
}

/// Applies one command at `index`.
pub fn apply(view: &mut StateView, index: u64, cmd: Command) -> CommandResponse {
    view.index = view.index.max(index);
    let event_type = crate::events::command_type(&cmd);
    let mut touched = BTreeSet::new();
    let mut batch = Vec::new();
    let mut variable_created = None;
    let result = match cmd {
        Command::Batch { commands } => {
            batch = commands
                .into_iter()
                .map(|cmd| apply(view, index, cmd))
                .collect();
            Ok(0)
        }
        Command::UpsertJob {
            job,
            eval,
            enforce_index,
            now,
        } => jobs::apply_upsert_job(view, index, *job, eval, enforce_index, now, &mut touched),
        Command::DeregisterJob {
            namespace,
            job_id,
            purge,
            eval,
            now,
        } => jobs::apply_deregister_job(
            view,
            index,
            (namespace, job_id),
            purge,
            eval,
            now,
            &mut touched,
        ),
        Command::UpsertEvals { evals } => {
            upsert_evals(view, index, evals, &mut touched);
            Ok(0)
        }
        Command::UpsertNode { node, evals, now } => {
            nodes::apply_upsert_node(view, index, node, now);
            upsert_evals(view, index, evals, &mut touched);
            Ok(0)
        }
        Command::UpdateNodeStatus {
            node_id,
            status,
            event,
            evals,
            now,
        } => nodes::apply_node_status(view, index, &node_id, &status, event, now).map(|()| {
            upsert_evals(view, index, evals, &mut touched);
            0
        }),
        Command::ApplyPlanResults {
            eval_id,
            job,
            placed,
            stopped,
            now,
            deployment,
            deployment_updates,
        } => {
            deployments::apply_plan_deployment(
                view,
                index,
                deployment,
                deployment_updates,
                &placed,
                now,
            );
            allocs::apply_plan_results(
                view,
                index,
                &eval_id,
                job,
                placed,
                stopped,
                now,
                &mut touched,
            );
            Ok(0)
        }
        Command::UpdateAllocsFromClient {
            updates,
            evals,
            now,
        } => {
            allocs::apply_client_updates(view, index, updates, now, &mut touched);
            upsert_evals(view, index, evals, &mut touched);
            Ok(0)
        }
        Command::RestoreState { state } => apply_restore(view, index, &state).map(|()| 0),
        Command::UpdateDeploymentStatus { update, eval, now } => {
            deployments::apply_status_update(view, index, update, eval, now, &mut touched)
                .map(|()| 0)
        }
        Command::PromoteDeployment {
            deployment_id,
            groups,
            eval,
            now,
        } => deployments::apply_promote(
            view,
            index,
            &deployment_id,
            &groups,
            eval,
            now,
            &mut touched,
        )
        .map(|()| 0),
        Command::LaunchPeriodicChild {
            child,
            eval,
            launch,
            force,
            now,
        } => children::apply_launch_child(
            view,
            index,
            *child,
            eval,
            launch,
            force,
            now,
            &mut touched,
        ),
        Command::GarbageCollect { batch } => {
            gc::apply_gc(view, index, batch);
            Ok(0)
        }
        Command::UpdateNodeEligibility {
            node_id,
            eligibility,
            event,
            evals,
        } => node_ops::apply_eligibility(view, index, &node_id, &eligibility, event).map(|()| {
            upsert_evals(view, index, evals, &mut touched);
            0
        }),
        Command::UpdateNodeDrain {
            node_id,
            drain_strategy,
            mark_eligible,
            event,
            evals,
        } => node_ops::apply_drain(view, index, &node_id, drain_strategy, mark_eligible, event)
            .map(|()| {
                upsert_evals(view, index, evals, &mut touched);
                0
            }),
        Command::UpdateAllocDesiredTransition { transitions, evals } => {
            node_ops::apply_desired_transitions(view, index, transitions);
            upsert_evals(view, index, evals, &mut touched);
            Ok(0)
        }
        Command::SetSchedulerConfig { config, cas_index } => {
            scheduler_config::apply_set_scheduler_config(view, index, config, cas_index).map(|()| 0)
        }
        Command::UpsertServiceRegistrations {
            alloc_id,
            registrations,
        } => services::apply_upsert(view, index, &alloc_id, registrations).map(|()| 0),
        Command::DeleteServiceRegistration {
            namespace,
            service_name,
            id,
        } => services::apply_delete(view, index, &namespace, &service_name, &id).map(|()| 0),
        Command::ApplyVariable { op } => variables::apply(view, index, op).map(|created| {
            variable_created = created;
            0
        }),
        Command::ApplyAcl { op } => acl::apply(view, index, op).map(|()| 0),
        // ---- namespaces (wip-ns) ----
        Command::ApplyNamespace { op } => namespaces::apply(view, index, op).map(|()| 0),
        // ---- end namespaces ----
        // ---- extra v1 endpoints (issue 8) ----
        Command::SetJobStability {
            namespace,
            job_id,
            version,
            stable,
        } => api_ops::apply_job_stability(view, index, (&namespace, &job_id), version, stable)
            .map(|()| 0),
        Command::DeregisterNode { node_id, evals } => {
            api_ops::apply_deregister_node(view, index, &node_id).map(|()| {
                upsert_evals(view, index, evals, &mut touched);
                0
            })
        }
        Command::SetAllocHealth {
            deployment_id,
            verdicts,
            eval,
            now,
        } => api_ops::apply_alloc_health(view, index, &deployment_id, &verdicts, now, &mut touched)
            .map(|()| {
                upsert_evals(view, index, eval.into_iter().collect(), &mut touched);
                0
            }),
        Command::SetAutopilotConfig { config, cas_index } => {
            api_ops::apply_autopilot_config(view, index, config, cas_index).map(|()| 0)
        } // ---- end extra v1 endpoints ----
    };
    // Registrations never outlive their allocation or node (see services.rs).
    services::prune(view, index);
    for key in &touched {
        refresh_job_status(view, index, key);
    }
    view.changes.seal(index, event_type);
    match result {
        Ok(job_modify_index) => CommandResponse {
            index,
            job_modify_index,
            batch,
            variable_created,
            ..CommandResponse::default()
        },
        Err(error) => CommandResponse {
            index,
            error: Some(error),
            ..CommandResponse::default()
        },
    }
}

/// Replaces every table with a saved state; the indexes move forward to this entry's.
fn apply_restore(view: &mut StateView, index: u64, state: &[u8]) -> Result<(), ApplyError> {
    let restored = crate::state::decode_snapshot(state).map_err(|e| ApplyError::Invalid {
        reason: e.to_string(),
    })?;
    *view = StateView {
        index: index.max(view.index),
        tables: crate::state::TableIndexes {
            jobs: index,
            evals: index,
            allocs: index,
            nodes: index,
            deployments: index,
            services: index,
            variables: index,
            acl: index,
            namespaces: index,
        },
        capacity_index: index,
        restore_index: index,
        changes: std::mem::take(&mut view.changes),
        ..restored
    };
    Ok(())
}

/// Inserts or updates evaluations, stamping their indexes.
fn upsert_evals(
    view: &mut StateView,
    index: u64,
    evals: Vec<Evaluation>,
    touched: &mut BTreeSet<JobKey>,
) {
    if evals.is_empty() {
        return;
    }
    for mut eval in evals {
        eval.create_index = view.evals.get(&eval.id).map_or(index, |e| e.create_index);
        eval.modify_index = index;
        touched.insert((eval.namespace.clone(), eval.job_id.clone()));
        view.put_eval(Arc::new(eval));
    }
    view.tables.evals = index;
}

/// Recomputes a job's status after its allocations or evaluations changed.
fn refresh_job_status(view: &mut StateView, index: u64, key: &JobKey) {
    let Some(job) = view.jobs.get(key).cloned() else {
        return;
    };
    let status = view.compute_job_status(&job);
    if job.status != status {
        let mut updated = Job::clone(&job);
        updated.status = status.to_string();
        updated.modify_index = index;
        view.update_job(Arc::new(updated));
        view.tables.jobs = index;
    }
}

#[cfg(test)]
mod tests;
