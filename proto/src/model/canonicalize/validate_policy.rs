//! Nomad's validation rules for the policy blocks of jobs, groups and tasks: constraints,
//! restart, reschedule, update, resources, logs and networks.

use std::collections::BTreeMap;

use super::{FieldPath, Problem, format_duration_ns};
use crate::model::{
    Constraint, LogConfig, NS_PER_SEC, NetworkResource, Port, RESTART_MODE_DELAY,
    RESTART_MODE_FAIL, ReschedulePolicy, Resources, RestartPolicy, UpdateStrategy,
};

/// Every constraint operator Nomad knows.
pub const CONSTRAINT_OPERATORS: [&str; 19] = [
    "=",
    "==",
    "is",
    "!=",
    "not",
    "<",
    "<=",
    ">",
    ">=",
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "is_set",
    "is_not_set",
    "distinct_hosts",
    "distinct_property",
];

/// Operators that compare the attribute with a value, so both must be given.
const OPERATORS_NEEDING_VALUE: [&str; 15] = [
    "=",
    "==",
    "is",
    "!=",
    "not",
    "<",
    "<=",
    ">",
    ">=",
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
];

/// Reschedule delay functions Nomad knows.
pub const RESCHEDULE_DELAY_FUNCTIONS: [&str; 3] = ["constant", "exponential", "fibonacci"];
/// Update health checks Nomad knows.
pub const UPDATE_HEALTH_CHECKS: [&str; 3] = ["checks", "task_states", "manual"];
/// The shortest restart interval Nomad accepts.
pub const MIN_RESTART_INTERVAL_NS: i64 = 5 * NS_PER_SEC;
/// The shortest reschedule delay Nomad accepts.
pub const MIN_RESCHEDULE_DELAY_NS: i64 = 5 * NS_PER_SEC;
/// The smallest memory (MB) a task may ask for.
pub const MIN_MEMORY_MB: i64 = 10;

pub(super) fn check_constraints(
    constraints: &[Constraint],
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    for (i, c) in constraints.iter().enumerate() {
        let path = path.index(i);
        let label = format!("{ctx}: constraint {}", i + 1);
        let op = c.operand.as_str();
        if !CONSTRAINT_OPERATORS.contains(&op) {
            out.push(Problem::new(
                path.field("Operand"),
                format!(
                    "{label}: unknown operator {op:?}; expected one of {}",
                    CONSTRAINT_OPERATORS.join(", ")
                ),
            ));
            continue;
        }
        if op != "distinct_hosts" && c.l_target.is_empty() {
            out.push(Problem::new(
                path.field("LTarget"),
                format!("{label}: operator {op:?} needs an attribute"),
            ));
        }
        if OPERATORS_NEEDING_VALUE.contains(&op) && c.r_target.is_empty() {
            out.push(Problem::new(
                path.field("RTarget"),
                format!("{label}: operator {op:?} needs a value"),
            ));
        }
        if (op == "is_set" || op == "is_not_set") && !c.r_target.is_empty() {
            out.push(Problem::new(
                path.field("RTarget"),
                format!(
                    "{label}: operator {op:?} takes no value (got {:?})",
                    c.r_target
                ),
            ));
        }
        if op == "distinct_property"
            && !c.r_target.is_empty()
            && c.r_target.parse::<u64>().map_or(true, |n| n == 0)
        {
            out.push(Problem::new(
                path.field("RTarget"),
                format!(
                    "{label}: distinct_property allows a positive number of allocations per value; got {:?}",
                    c.r_target
                ),
            ));
        }
    }
}

pub(super) fn check_restart(
    p: &RestartPolicy,
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    if p.mode != RESTART_MODE_FAIL && p.mode != RESTART_MODE_DELAY {
        out.push(Problem::new(
            path.field("Mode"),
            format!(
                "{ctx}: restart mode {:?} is not supported; expected \"fail\" or \"delay\"",
                p.mode
            ),
        ));
    }
    if p.attempts < 0 {
        out.push(Problem::new(
            path.field("Attempts"),
            format!(
                "{ctx}: restart attempts can't be negative (got {})",
                p.attempts
            ),
        ));
    } else if p.attempts == 0 && p.mode == RESTART_MODE_DELAY {
        out.push(Problem::new(
            path.field("Attempts"),
            format!("{ctx}: restart mode \"delay\" with 0 attempts is ambiguous"),
        ));
    }
    if p.delay < 0 {
        out.push(Problem::new(
            path.field("Delay"),
            format!(
                "{ctx}: restart delay can't be negative (got {})",
                format_duration_ns(p.delay)
            ),
        ));
    }
    if p.interval < MIN_RESTART_INTERVAL_NS {
        out.push(Problem::new(
            path.field("Interval"),
            format!(
                "{ctx}: restart interval can't be less than {} (got {})",
                format_duration_ns(MIN_RESTART_INTERVAL_NS),
                format_duration_ns(p.interval)
            ),
        ));
    } else if p.attempts > 0 && p.attempts.saturating_mul(p.delay) > p.interval {
        out.push(Problem::new(
            path.field("Attempts"),
            format!(
                "{ctx}: can't restart {} times in an interval of {} with a delay of {}",
                p.attempts,
                format_duration_ns(p.interval),
                format_duration_ns(p.delay)
            ),
        ));
    }
}

pub(super) fn check_reschedule(
    p: &ReschedulePolicy,
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    let function = p.delay_function.as_str();
    if !RESCHEDULE_DELAY_FUNCTIONS.contains(&function) {
        out.push(Problem::new(
            path.field("DelayFunction"),
            format!(
                "{ctx}: reschedule delay_function {function:?} is not supported; expected one of {}",
                RESCHEDULE_DELAY_FUNCTIONS.join(", ")
            ),
        ));
    }
    for (field, name, value) in [
        ("Attempts", "attempts", p.attempts),
        ("Interval", "interval", p.interval),
        ("MaxDelay", "max_delay", p.max_delay),
    ] {
        if value < 0 {
            out.push(Problem::new(
                path.field(field),
                format!("{ctx}: reschedule {name} can't be negative"),
            ));
        }
    }
    if !(p.unlimited || p.attempts > 0) {
        return;
    }
    if p.delay < MIN_RESCHEDULE_DELAY_NS {
        out.push(Problem::new(
            path.field("Delay"),
            format!(
                "{ctx}: reschedule delay can't be less than {} (got {})",
                format_duration_ns(MIN_RESCHEDULE_DELAY_NS),
                format_duration_ns(p.delay)
            ),
        ));
    }
    if function != "constant" && p.max_delay < p.delay {
        out.push(Problem::new(
            path.field("MaxDelay"),
            format!(
                "{ctx}: reschedule max_delay ({}) can't be less than delay ({})",
                format_duration_ns(p.max_delay),
                format_duration_ns(p.delay)
            ),
        ));
    }
    if !p.unlimited && p.interval == 0 {
        out.push(Problem::new(
            path.field("Interval"),
            format!("{ctx}: reschedule interval must be set when attempts is more than 0"),
        ));
    }
}

pub(super) fn check_update(
    u: &UpdateStrategy,
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    if !u.health_check.is_empty() && !UPDATE_HEALTH_CHECKS.contains(&u.health_check.as_str()) {
        out.push(Problem::new(
            path.field("HealthCheck"),
            format!(
                "{ctx}: update health_check {:?} is not supported; expected one of {}",
                u.health_check,
                UPDATE_HEALTH_CHECKS.join(", ")
            ),
        ));
    }
    for (field, name, value) in [
        ("MaxParallel", "max_parallel", u.max_parallel),
        ("Canary", "canary", u.canary),
        ("Stagger", "stagger", u.stagger),
        ("MinHealthyTime", "min_healthy_time", u.min_healthy_time),
        ("HealthyDeadline", "healthy_deadline", u.healthy_deadline),
        ("ProgressDeadline", "progress_deadline", u.progress_deadline),
    ] {
        if value < 0 {
            out.push(Problem::new(
                path.field(field),
                format!("{ctx}: update {name} can't be negative"),
            ));
        }
    }
    if u.healthy_deadline > 0 && u.min_healthy_time >= u.healthy_deadline {
        out.push(Problem::new(
            path.field("MinHealthyTime"),
            format!("{ctx}: update min_healthy_time must be less than healthy_deadline"),
        ));
    }
    if u.progress_deadline > 0 && u.progress_deadline < u.healthy_deadline {
        out.push(Problem::new(
            path.field("ProgressDeadline"),
            format!("{ctx}: update progress_deadline must be at least healthy_deadline"),
        ));
    }
}

pub(super) fn check_resources(r: &Resources, path: &FieldPath, ctx: &str, out: &mut Vec<Problem>) {
    if r.cores < 0 {
        out.push(Problem::new(
            path.field("Cores"),
            format!("{ctx}: cores can't be negative (got {})", r.cores),
        ));
    }
    if r.cores > 0 && r.cpu != 0 {
        out.push(Problem::new(
            path.field("Cores"),
            format!("{ctx}: a task can ask for cpu or cores, not both"),
        ));
    } else if r.cores == 0 && r.cpu < 1 {
        out.push(Problem::new(
            path.field("CPU"),
            format!("{ctx}: minimum CPU value is 1; got {}", r.cpu),
        ));
    }
    if r.memory_mb < MIN_MEMORY_MB {
        out.push(Problem::new(
            path.field("MemoryMB"),
            format!(
                "{ctx}: minimum MemoryMB value is {MIN_MEMORY_MB}; got {}",
                r.memory_mb
            ),
        ));
    }
    if r.memory_max_mb != 0 && r.memory_max_mb < r.memory_mb {
        out.push(Problem::new(
            path.field("MemoryMaxMB"),
            format!(
                "{ctx}: MemoryMaxMB ({}) can't be less than MemoryMB ({})",
                r.memory_max_mb, r.memory_mb
            ),
        ));
    }
}

pub(super) fn check_logs(
    logs: &LogConfig,
    disk_mb: i64,
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    if logs.max_files < 1 {
        out.push(Problem::new(
            path.field("MaxFiles"),
            format!(
                "{ctx}: minimum number of log files is 1; got {}",
                logs.max_files
            ),
        ));
    }
    if logs.max_file_size_mb < 1 {
        out.push(Problem::new(
            path.field("MaxFileSizeMB"),
            format!(
                "{ctx}: minimum log file size is 1 MB; got {}",
                logs.max_file_size_mb
            ),
        ));
    }
    let storage = logs.max_files.saturating_mul(logs.max_file_size_mb);
    if !logs.disabled && storage >= disk_mb {
        out.push(Problem::new(
            path.clone(),
            format!(
                "{ctx}: log storage ({storage} MB) must be less than the group's ephemeral disk ({disk_mb} MB)"
            ),
        ));
    }
}

pub(super) fn check_networks(
    networks: &[NetworkResource],
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    if networks.len() > 1 {
        out.push(Problem::new(
            path.index(1),
            format!("{ctx}: only one network block is allowed per group"),
        ));
    }
    let mut seen = SeenPorts::default();
    for (k, net) in networks.iter().enumerate() {
        let net_path = path.index(k);
        let mode = net.mode.as_str();
        if !(matches!(mode, "" | "host" | "bridge" | "none") || mode.starts_with("cni/")) {
            out.push(Problem::new(
                net_path.field("Mode"),
                format!(
                    "{ctx}: network mode {mode:?} is not supported; expected host, bridge, none or cni/<name>"
                ),
            ));
        }
        for (p, port) in net.reserved_ports.iter().enumerate() {
            let port_path = net_path.field("ReservedPorts").index(p);
            check_port(port, true, &port_path, &mut seen, ctx, out);
        }
        for (p, port) in net.dynamic_ports.iter().enumerate() {
            let port_path = net_path.field("DynamicPorts").index(p);
            check_port(port, false, &port_path, &mut seen, ctx, out);
        }
    }
}

/// Port labels and static port numbers already used in a group.
#[derive(Default)]
struct SeenPorts<'a> {
    labels: BTreeMap<&'a str, ()>,
    statics: BTreeMap<u16, &'a str>,
}

fn check_port<'a>(
    port: &'a Port,
    reserved: bool,
    path: &FieldPath,
    seen: &mut SeenPorts<'a>,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    let label = &port.label;
    if label.is_empty() {
        out.push(Problem::new(
            path.field("Label"),
            format!("{ctx}: a port has no label"),
        ));
    } else if seen.labels.insert(label, ()).is_some() {
        out.push(Problem::new(
            path.field("Label"),
            format!("{ctx}: port label {label:?} is used more than once"),
        ));
    }
    if reserved && port.value == 0 {
        out.push(Problem::new(
            path.field("Value"),
            format!("{ctx}: port {label:?}: static port must be between 1 and 65535"),
        ));
    } else if let Some(other) = reserved
        .then(|| seen.statics.insert(port.value, label))
        .flatten()
    {
        out.push(Problem::new(
            path.field("Value"),
            format!(
                "{ctx}: port {label:?}: static port {} is already taken by port {other:?}",
                port.value
            ),
        ));
    }
    if port.to < -1 {
        out.push(Problem::new(
            path.field("To"),
            format!(
                "{ctx}: port {label:?}: to must be -1, 0 or a port number; got {}",
                port.to
            ),
        ));
    }
}
