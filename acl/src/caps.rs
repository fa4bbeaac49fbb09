//! Capability names and the policy levels that expand to them.
//!
//! A rule grants capabilities either one by one (`capabilities = [...]`) or through a coarse
//! `policy = "<level>"` that expands to a fixed set. The expansions below are Nomad's
//! (`acl/policy.go`), so a Nomad policy means the same thing here.

use crate::policy::Level;

/// Denies everything in the rule it appears in (and, in nomadish, in every rule that overlaps).
pub const DENY: &str = "deny";

// Namespace capabilities (Nomad's full open-source list).

/// List jobs and their summaries.
pub const LIST_JOBS: &str = "list-jobs";
/// Parse a jobspec through the API.
pub const PARSE_JOB: &str = "parse-job";
/// Read jobs, allocations, evaluations and deployments.
pub const READ_JOB: &str = "read-job";
/// Register, update, plan, revert and stop jobs.
pub const SUBMIT_JOB: &str = "submit-job";
/// Dispatch parameterized jobs.
pub const DISPATCH_JOB: &str = "dispatch-job";
/// Read task logs.
pub const READ_LOGS: &str = "read-logs";
/// Read an allocation's file system.
pub const READ_FS: &str = "read-fs";
/// Execute commands in a running task.
pub const ALLOC_EXEC: &str = "alloc-exec";
/// Execute commands in tasks without file system isolation (`raw_exec`).
pub const ALLOC_NODE_EXEC: &str = "alloc-node-exec";
/// Signal, restart and stop allocations.
pub const ALLOC_LIFECYCLE: &str = "alloc-lifecycle";
/// Override soft-mandatory Sentinel policies (Nomad Enterprise; accepted, never checked).
pub const SENTINEL_OVERRIDE: &str = "sentinel-override";
/// Register CSI plugins.
pub const CSI_REGISTER_PLUGIN: &str = "csi-register-plugin";
/// Create, register and delete CSI volumes.
pub const CSI_WRITE_VOLUME: &str = "csi-write-volume";
/// Read CSI volumes.
pub const CSI_READ_VOLUME: &str = "csi-read-volume";
/// List CSI volumes.
pub const CSI_LIST_VOLUME: &str = "csi-list-volume";
/// Claim (mount) CSI volumes.
pub const CSI_MOUNT_VOLUME: &str = "csi-mount-volume";
/// Create dynamic host volumes (implies [`HOST_VOLUME_READ`]).
pub const HOST_VOLUME_CREATE: &str = "host-volume-create";
/// Register existing dynamic host volumes (implies create and read).
pub const HOST_VOLUME_REGISTER: &str = "host-volume-register";
/// Read dynamic host volumes.
pub const HOST_VOLUME_READ: &str = "host-volume-read";
/// All dynamic host volume operations (implies register, create, delete and read).
pub const HOST_VOLUME_WRITE: &str = "host-volume-write";
/// Delete dynamic host volumes.
pub const HOST_VOLUME_DELETE: &str = "host-volume-delete";
/// List scaling policies.
pub const LIST_SCALING_POLICIES: &str = "list-scaling-policies";
/// Read a scaling policy.
pub const READ_SCALING_POLICY: &str = "read-scaling-policy";
/// Read a job's scaling status.
pub const READ_JOB_SCALING: &str = "read-job-scaling";
/// Scale a job's task groups.
pub const SCALE_JOB: &str = "scale-job";
/// Submit sizing recommendations.
pub const SUBMIT_RECOMMENDATION: &str = "submit-recommendation";
/// Register jobs (fine-grained part of submit-job).
pub const REGISTER_JOB: &str = "register-job";
/// Revert jobs (fine-grained part of submit-job).
pub const REVERT_JOB: &str = "revert-job";
/// Stop jobs (fine-grained part of submit-job).
pub const DEREGISTER_JOB: &str = "deregister-job";
/// Purge jobs (fine-grained part of submit-job).
pub const PURGE_JOB: &str = "purge-job";
/// Force a new evaluation of a job (fine-grained part of submit-job).
pub const EVALUATE_JOB: &str = "evaluate-job";
/// Plan jobs (fine-grained part of submit-job).
pub const PLAN_JOB: &str = "plan-job";
/// Tag job versions (fine-grained part of submit-job).
pub const TAG_JOB_VERSION: &str = "tag-job-version";
/// Mark job versions stable (fine-grained part of submit-job).
pub const STABLE_JOB: &str = "stable-job";
/// Fail deployments.
pub const FAIL_DEPLOYMENT: &str = "fail-deployment";
/// Pause and resume deployments.
pub const PAUSE_DEPLOYMENT: &str = "pause-deployment";
/// Promote canaries.
pub const PROMOTE_DEPLOYMENT: &str = "promote-deployment";
/// Unblock deployments.
pub const UNBLOCK_DEPLOYMENT: &str = "unblock-deployment";
/// Cancel deployments.
pub const CANCEL_DEPLOYMENT: &str = "cancel-deployment";
/// Set allocation health in a deployment.
pub const SET_ALLOC_HEALTH_DEPLOYMENT: &str = "set-alloc-health-deployment";
/// Garbage-collect allocations.
pub const GC_ALLOCATION: &str = "gc-allocation";
/// Pause allocations.
pub const PAUSE_ALLOCATION: &str = "pause-allocation";
/// Force a periodic job's launch.
pub const FORCE_PERIODIC_JOB: &str = "force-periodic-job";
/// Delete service registrations.
pub const DELETE_SERVICE_REGISTRATION: &str = "delete-service-registration";

/// Every capability a `namespace` rule accepts, [`DENY`] included.
pub const NAMESPACE_CAPABILITIES: &[&str] = &[
    DENY,
    LIST_JOBS,
    PARSE_JOB,
    READ_JOB,
    SUBMIT_JOB,
    DISPATCH_JOB,
    READ_LOGS,
    READ_FS,
    ALLOC_EXEC,
    ALLOC_NODE_EXEC,
    ALLOC_LIFECYCLE,
    SENTINEL_OVERRIDE,
    CSI_REGISTER_PLUGIN,
    CSI_WRITE_VOLUME,
    CSI_READ_VOLUME,
    CSI_LIST_VOLUME,
    CSI_MOUNT_VOLUME,
    HOST_VOLUME_CREATE,
    HOST_VOLUME_REGISTER,
    HOST_VOLUME_READ,
    HOST_VOLUME_WRITE,
    HOST_VOLUME_DELETE,
    LIST_SCALING_POLICIES,
    READ_SCALING_POLICY,
    READ_JOB_SCALING,
    SCALE_JOB,
    SUBMIT_RECOMMENDATION,
    REGISTER_JOB,
    REVERT_JOB,
    DEREGISTER_JOB,
    PURGE_JOB,
    EVALUATE_JOB,
    PLAN_JOB,
    TAG_JOB_VERSION,
    STABLE_JOB,
    FAIL_DEPLOYMENT,
    PAUSE_DEPLOYMENT,
    PROMOTE_DEPLOYMENT,
    UNBLOCK_DEPLOYMENT,
    CANCEL_DEPLOYMENT,
    SET_ALLOC_HEALTH_DEPLOYMENT,
    GC_ALLOCATION,
    PAUSE_ALLOCATION,
    FORCE_PERIODIC_JOB,
    DELETE_SERVICE_REGISTRATION,
];

// Variables path capabilities.

/// Read a variable (implies [`VAR_LIST`], as in Nomad).
pub const VAR_READ: &str = "read";
/// Create and update variables.
pub const VAR_WRITE: &str = "write";
/// List variable paths (metadata only).
pub const VAR_LIST: &str = "list";
/// Delete variables.
pub const VAR_DESTROY: &str = "destroy";
/// Denies every variables operation on the matching paths.
pub const VAR_DENY: &str = "deny";

/// Every capability a variables `path` rule accepts.
pub const VARIABLE_CAPABILITIES: &[&str] = &[VAR_READ, VAR_WRITE, VAR_LIST, VAR_DESTROY, VAR_DENY];

// Node pool capabilities.

/// Read a node pool.
pub const NODE_POOL_READ: &str = "read";
/// Create and update a node pool.
pub const NODE_POOL_WRITE: &str = "write";
/// Delete a node pool.
pub const NODE_POOL_DELETE: &str = "delete";

/// Every capability a `node_pool` rule accepts.
pub const NODE_POOL_CAPABILITIES: &[&str] =
    &[DENY, NODE_POOL_READ, NODE_POOL_WRITE, NODE_POOL_DELETE];

// Host volume (`host_volume` rule) capabilities.

/// Mount the host volume read-only.
pub const HOST_VOLUME_MOUNT_READONLY: &str = "mount-readonly";
/// Mount the host volume read-write.
pub const HOST_VOLUME_MOUNT_READWRITE: &str = "mount-readwrite";

/// Every capability a `host_volume` rule accepts.
pub const HOST_VOLUME_CAPABILITIES: &[&str] = &[
    DENY,
    HOST_VOLUME_MOUNT_READONLY,
    HOST_VOLUME_MOUNT_READWRITE,
];

// Operator capabilities.

/// Save a Raft snapshot.
pub const OPERATOR_SNAPSHOT_SAVE: &str = "snapshot-save";
/// Read the license (Nomad Enterprise; accepted for compatibility).
pub const OPERATOR_LICENSE_READ: &str = "license-read";
/// Rotate the keyring.
pub const OPERATOR_KEYRING_ROTATE: &str = "keyring-rotate";
/// Read the keyring.
pub const OPERATOR_KEYRING_READ: &str = "keyring-read";
/// Delete keys from the keyring.
pub const OPERATOR_KEYRING_DELETE: &str = "keyring-delete";

/// Every capability an `operator` rule accepts.
pub const OPERATOR_CAPABILITIES: &[&str] = &[
    DENY,
    OPERATOR_SNAPSHOT_SAVE,
    OPERATOR_LICENSE_READ,
    OPERATOR_KEYRING_ROTATE,
    OPERATOR_KEYRING_READ,
    OPERATOR_KEYRING_DELETE,
];

const NAMESPACE_READ: &[&str] = &[
    LIST_JOBS,
    PARSE_JOB,
    READ_JOB,
    CSI_LIST_VOLUME,
    CSI_READ_VOLUME,
    READ_JOB_SCALING,
    LIST_SCALING_POLICIES,
    READ_SCALING_POLICY,
    HOST_VOLUME_READ,
];

const NAMESPACE_WRITE_EXTRA: &[&str] = &[
    SCALE_JOB,
    SUBMIT_JOB,
    DISPATCH_JOB,
    READ_LOGS,
    READ_FS,
    ALLOC_EXEC,
    ALLOC_LIFECYCLE,
    CSI_MOUNT_VOLUME,
    CSI_WRITE_VOLUME,
    SUBMIT_RECOMMENDATION,
    HOST_VOLUME_CREATE,
];

const NAMESPACE_SCALE: &[&str] = &[
    LIST_SCALING_POLICIES,
    READ_SCALING_POLICY,
    READ_JOB_SCALING,
    SCALE_JOB,
    READ_JOB,
    SUBMIT_RECOMMENDATION,
];

/// The capabilities a namespace `policy` level grants, as Nomad expands them:
///
/// - `deny`: [`DENY`];
/// - `read`: list-jobs, parse-job, read-job, csi-list-volume, csi-read-volume, read-job-scaling,
///   list-scaling-policies, read-scaling-policy, host-volume-read;
/// - `write`: read plus scale-job, submit-job, dispatch-job, read-logs, read-fs, alloc-exec,
///   alloc-lifecycle, csi-mount-volume, csi-write-volume, submit-recommendation,
///   host-volume-create (not alloc-node-exec, csi-register-plugin, host-volume-register/-write/
///   -delete nor the fine-grained job capabilities: those must be granted by name);
/// - `scale`: list-scaling-policies, read-scaling-policy, read-job-scaling, scale-job, read-job,
///   submit-recommendation;
/// - `list`: list-jobs (Nomad rejects `list` in namespace rules and so does the parser; the
///   expansion exists so every level has one).
pub fn namespace_level(level: Level) -> Vec<&'static str> {
    match level {
        Level::Deny => vec![DENY],
        Level::Read => NAMESPACE_READ.to_vec(),
        Level::Write => [NAMESPACE_READ, NAMESPACE_WRITE_EXTRA].concat(),
        Level::Scale => NAMESPACE_SCALE.to_vec(),
        Level::List => vec![LIST_JOBS],
    }
}

/// Capabilities implied by other namespace capabilities (Nomad's host volume hierarchy):
/// host-volume-write implies register, create, delete and read; register implies create and
/// read; create implies read.
pub fn namespace_implied(cap: &str) -> &'static [&'static str] {
    match cap {
        HOST_VOLUME_WRITE => &[
            HOST_VOLUME_REGISTER,
            HOST_VOLUME_CREATE,
            HOST_VOLUME_DELETE,
            HOST_VOLUME_READ,
        ],
        HOST_VOLUME_REGISTER => &[HOST_VOLUME_CREATE, HOST_VOLUME_READ],
        HOST_VOLUME_CREATE => &[HOST_VOLUME_READ],
        _ => &[],
    }
}

/// The capabilities a `node_pool` policy level grants: deny; read; write = read, write, delete.
pub fn node_pool_level(level: Level) -> Vec<&'static str> {
    match level {
        Level::Deny => vec![DENY],
        Level::Read => vec![NODE_POOL_READ],
        Level::Write => vec![NODE_POOL_READ, NODE_POOL_WRITE, NODE_POOL_DELETE],
        Level::List | Level::Scale => Vec::new(),
    }
}

/// The capabilities a `host_volume` policy level grants: deny; read = mount-readonly;
/// write = mount-readonly and mount-readwrite.
pub fn host_volume_level(level: Level) -> Vec<&'static str> {
    match level {
        Level::Deny => vec![DENY],
        Level::Read => vec![HOST_VOLUME_MOUNT_READONLY],
        Level::Write => vec![HOST_VOLUME_MOUNT_READONLY, HOST_VOLUME_MOUNT_READWRITE],
        Level::List | Level::Scale => Vec::new(),
    }
}

/// The capabilities an `operator` policy level grants besides the level itself:
/// read = license-read, keyring-read; write = every operator capability.
pub fn operator_level(level: Level) -> Vec<&'static str> {
    match level {
        Level::Deny => vec![DENY],
        Level::Read => vec![OPERATOR_LICENSE_READ, OPERATOR_KEYRING_READ],
        Level::Write => OPERATOR_CAPABILITIES[1..].to_vec(),
        Level::List | Level::Scale => Vec::new(),
    }
}
