//! Nomad's rules for `service` and `check` blocks (`Service.Validate`, `ServiceCheck.validate`),
//! plus nomadish's own: only `provider = "nomad"` is supported, and `expose` is refused.

use nomadish_proto::model::canonicalize::{FieldPath, Problem};
use nomadish_proto::model::{Job, SERVICE_PROVIDER_NOMAD, Service, ServiceCheck, TaskGroup};

const ADDRESS_MODES: [&str; 4] = ["auto", "host", "driver", "alloc"];
const ON_UPDATE: [&str; 3] = ["require_healthy", "ignore_warnings", "ignore"];
const CHECK_TYPES: [&str; 3] = ["http", "tcp", "script"];
const INITIAL_STATUSES: [&str; 4] = ["", "passing", "warning", "critical"];
/// Nomad's `minCheckInterval` and `minCheckTimeout`.
const MIN_CHECK_NS: i64 = 1_000_000_000;

/// Where one service sits: its path, a message prefix, and whether it is a group service.
struct At<'a> {
    path: FieldPath,
    ctx: String,
    group: &'a TaskGroup,
    task: Option<&'a str>,
}

/// Appends every problem with the job's services to `out`.
pub(crate) fn service_problems(job: &Job, out: &mut Vec<Problem>) {
    let root = FieldPath::root();
    for (i, group) in job.task_groups.iter().enumerate() {
        let g_path = root.field("TaskGroups").index(i);
        let mut seen = Vec::new();
        for (k, s) in group.services.iter().enumerate() {
            let at = At {
                path: g_path.field("Services").index(k),
                ctx: format!("Task group {:?}: service {:?}", group.name, s.name),
                group,
                task: None,
            };
            service(s, &at, &mut seen, out);
        }
        for (j, task) in group.tasks.iter().enumerate() {
            let mut seen = Vec::new();
            for (k, s) in task.services.iter().enumerate() {
                let at = At {
                    path: g_path.field("Tasks").index(j).field("Services").index(k),
                    ctx: format!(
                        "Task {:?} in group {:?}: service {:?}",
                        task.name, group.name, s.name
                    ),
                    group,
                    task: Some(&task.name),
                };
                service(s, &at, &mut seen, out);
            }
        }
    }
}

fn push(out: &mut Vec<Problem>, path: FieldPath, message: String) {
    out.push(Problem { path, message });
}

/// Whether `label` is a port number or a port label of the group's networks.
fn port_exists(group: &TaskGroup, label: &str) -> bool {
    label.parse::<u16>().is_ok()
        || group.networks.iter().any(|n| {
            n.reserved_ports
                .iter()
                .chain(&n.dynamic_ports)
                .any(|p| p.label == label)
        })
}

/// RFC 1123 label: letters, digits and dashes, not starting or ending with a dash, <= 63.
fn valid_service_name(name: &str) -> bool {
    name.contains("${")
        || (!name.is_empty()
            && name.len() <= 63
            && !name.starts_with('-')
            && !name.ends_with('-')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn service(s: &Service, at: &At<'_>, seen: &mut Vec<(String, String)>, out: &mut Vec<Problem>) {
    let (path, ctx) = (&at.path, &at.ctx);
    if s.provider != SERVICE_PROVIDER_NOMAD {
        let message = format!(
            "{ctx}: not supported by nomadish: service provider {} (set provider = \"nomad\")",
            s.provider
        );
        push(out, path.field("Provider"), message);
    }
    if !valid_service_name(&s.name) {
        let message = format!(
            "{ctx}: service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes"
        );
        push(out, path.field("Name"), message);
    }
    let key = (s.name.clone(), s.port_label.clone());
    if seen.contains(&key) {
        push(
            out,
            path.clone(),
            format!("{ctx}: service {:?} is duplicate", s.name),
        );
    }
    seen.push(key);
    if !ADDRESS_MODES.contains(&s.address_mode.as_str()) {
        let message = format!(
            "{ctx}: service address_mode must be one of auto, host, driver, alloc; got {:?}",
            s.address_mode
        );
        push(out, path.field("AddressMode"), message);
    }
    if !ON_UPDATE.contains(&s.on_update.as_str()) {
        let message = format!(
            "{ctx}: on_update must be one of require_healthy, ignore_warnings, ignore; got {:?}",
            s.on_update
        );
        push(out, path.field("OnUpdate"), message);
    }
    if !s.port_label.is_empty() && !port_exists(at.group, &s.port_label) {
        let message = format!(
            "{ctx}: port label {:?} referenced by services {} does not exist",
            s.port_label, s.name
        );
        push(out, path.field("PortLabel"), message);
    }
    if at.task.is_some() && !s.task_name.is_empty() {
        let message = format!("{ctx}: task may only be set for group services");
        push(out, path.field("TaskName"), message);
    }
    if at.task.is_none() && !s.task_name.is_empty() && at.group.task(&s.task_name).is_none() {
        let message = format!("{ctx}: task {:?} does not exist in the group", s.task_name);
        push(out, path.field("TaskName"), message);
    }
    if let Some(r) = &s.check_restart {
        check_restart(r, &path.field("CheckRestart"), ctx, out);
    }
    for (i, c) in s.checks.iter().enumerate() {
        let c_ctx = format!(
            "{ctx}: check {:?}",
            if c.name.is_empty() { "" } else { &c.name }
        );
        check(s, c, at, &path.field("Checks").index(i), &c_ctx, out);
    }
}

fn check_restart(
    r: &nomadish_proto::model::CheckRestart,
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    if r.limit < 0 {
        push(
            out,
            path.field("Limit"),
            format!(
                "{ctx}: check_restart limit must be >= 0 but found {}",
                r.limit
            ),
        );
    }
    if r.grace < 0 {
        push(
            out,
            path.field("Grace"),
            format!("{ctx}: check_restart grace must be >= 0"),
        );
    }
}

fn check(
    s: &Service,
    c: &ServiceCheck,
    at: &At<'_>,
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    if !CHECK_TYPES.contains(&c.check_type.as_str()) {
        let message = format!(
            "{ctx}: invalid type ({:?}), must be one of http, tcp, script",
            c.check_type
        );
        push(out, path.field("Type"), message);
        return;
    }
    if c.interval == 0 {
        push(
            out,
            path.field("Interval"),
            format!("{ctx}: missing required value interval. Interval cannot be less than 1s"),
        );
    } else if c.interval < MIN_CHECK_NS {
        push(
            out,
            path.field("Interval"),
            format!(
                "{ctx}: interval ({}) cannot be lower than 1s",
                fmt_ns(c.interval)
            ),
        );
    }
    if c.timeout == 0 {
        push(
            out,
            path.field("Timeout"),
            format!("{ctx}: missing required value timeout. Timeout cannot be less than 1s"),
        );
    } else if c.timeout < MIN_CHECK_NS {
        push(
            out,
            path.field("Timeout"),
            format!(
                "{ctx}: timeout ({}) is lower than required minimum timeout 1s",
                fmt_ns(c.timeout)
            ),
        );
    }
    if c.expose {
        push(
            out,
            path.field("Expose"),
            format!("{ctx}: not supported by nomadish: check expose"),
        );
    }
    if !INITIAL_STATUSES.contains(&c.initial_status.as_str()) {
        let message = format!(
            "{ctx}: invalid initial check state ({}), must be one of passing, warning, critical or empty",
            c.initial_status
        );
        push(out, path.field("InitialStatus"), message);
    }
    if !ON_UPDATE.contains(&c.on_update.as_str()) {
        let message = format!(
            "{ctx}: on_update must be one of require_healthy, ignore_warnings, ignore; got {:?}",
            c.on_update
        );
        push(out, path.field("OnUpdate"), message);
    }
    for (value, field) in [
        (c.success_before_passing, "SuccessBeforePassing"),
        (c.failures_before_critical, "FailuresBeforeCritical"),
        (c.failures_before_warning, "FailuresBeforeWarning"),
    ] {
        if value < 0 {
            push(
                out,
                path.field(field),
                format!("{ctx}: {field} must be >= 0"),
            );
        }
    }
    if let Some(r) = &c.check_restart {
        check_restart(r, &path.field("CheckRestart"), ctx, out);
    }
    match c.check_type.as_str() {
        "http" => {
            if c.path.is_empty() {
                push(
                    out,
                    path.clone(),
                    format!("{ctx}: http type must have http path"),
                );
            } else if !c.path.starts_with('/') {
                push(
                    out,
                    path.field("Path"),
                    format!(
                        "{ctx}: http type must have a relative http path starting with \"/\"; got {:?}",
                        c.path
                    ),
                );
            }
            if !matches!(c.protocol.as_str(), "" | "http" | "https") {
                push(
                    out,
                    path.field("Protocol"),
                    format!(
                        "{ctx}: protocol must be http or https; got {:?}",
                        c.protocol
                    ),
                );
            }
        }
        "script" => {
            if c.command.is_empty() {
                push(
                    out,
                    path.clone(),
                    format!("{ctx}: script type must have a valid script path"),
                );
            }
            let task = if at.task.is_some() {
                at.task
            } else if !c.task_name.is_empty() {
                Some(c.task_name.as_str())
            } else if !s.task_name.is_empty() {
                Some(s.task_name.as_str())
            } else {
                None
            };
            match task {
                None => push(
                    out,
                    path.clone(),
                    format!("{ctx}: script checks in a group service must set task"),
                ),
                Some(t) if at.group.task(t).is_none() => push(
                    out,
                    path.field("TaskName"),
                    format!("{ctx}: task {t:?} does not exist in the group"),
                ),
                Some(_) => {}
            }
        }
        _ => {}
    }
    if c.check_type != "script" {
        let port = if c.port_label.is_empty() {
            &s.port_label
        } else {
            &c.port_label
        };
        if port.is_empty() {
            push(
                out,
                path.clone(),
                format!(
                    "{ctx}: {} checks require a port (set port on the service or the check)",
                    c.check_type
                ),
            );
        } else if !c.port_label.is_empty() && !port_exists(at.group, port) {
            push(
                out,
                path.field("PortLabel"),
                format!("{ctx}: port label {port:?} referenced by the check does not exist"),
            );
        }
    }
}

fn fmt_ns(ns: i64) -> String {
    nomadish_proto::model::canonicalize::format_duration_ns(ns)
}

#[cfg(test)]
#[path = "validate_service_tests.rs"]
mod tests;
