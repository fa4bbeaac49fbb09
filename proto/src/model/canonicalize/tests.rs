//! Tests of `Job::canonicalize` and `Job::problems`/`Job::validate`.

use super::*;
use crate::model::{NS_PER_SEC, NetworkResource, Port, Resources, UpdateStrategy};

fn job(job_type: &str) -> Job {
    Job {
        id: "web".into(),
        job_type: job_type.into(),
        task_groups: vec![TaskGroup {
            name: "app".into(),
            tasks: vec![Task {
                name: "srv".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn paths(job: &Job) -> Vec<String> {
    job.problems().iter().map(|p| p.path.to_string()).collect()
}

#[test]
fn canonicalize_fills_service_defaults() {
    let mut j = job("");
    j.canonicalize();
    assert_eq!(j.name, "web");
    assert_eq!(j.namespace, "default");
    assert_eq!(j.region, "global");
    assert_eq!(j.job_type, "service");
    assert_eq!(j.priority, 50);
    assert_eq!(j.datacenters, vec!["*".to_string()]);
    assert_eq!(j.node_pool, "default");
    let g = &j.task_groups[0];
    assert_eq!(g.count, 1);
    assert_eq!(g.restart_policy, Some(RestartPolicy::service_default()));
    assert_eq!(
        g.reschedule_policy,
        Some(ReschedulePolicy::service_default())
    );
    assert_eq!(g.ephemeral_disk, Some(EphemeralDisk::default()));
    let t = &g.tasks[0];
    assert_eq!(t.restart_policy, Some(RestartPolicy::service_default()));
    assert_eq!((t.resources.cpu, t.resources.memory_mb), (100, 300));
    assert_eq!(t.kill_timeout, 5 * NS_PER_SEC);
    assert_eq!(t.log_config, Some(LogConfig::default()));
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn canonicalize_uses_batch_and_system_policies() {
    let mut batch = job("batch");
    batch.canonicalize();
    let g = &batch.task_groups[0];
    assert_eq!(g.restart_policy, Some(RestartPolicy::batch_default()));
    assert_eq!(g.reschedule_policy, Some(ReschedulePolicy::batch_default()));
    let mut system = job("system");
    system.canonicalize();
    assert_eq!(
        system.task_groups[0].restart_policy,
        Some(RestartPolicy::service_default())
    );
    assert_eq!(system.task_groups[0].reschedule_policy, None);
    let mut sysbatch = job("sysbatch");
    sysbatch.canonicalize();
    assert_eq!(
        sysbatch.task_groups[0].restart_policy,
        Some(RestartPolicy::batch_default())
    );
    assert_eq!(sysbatch.task_groups[0].reschedule_policy, None);
}

#[test]
fn canonicalize_is_idempotent() {
    let mut once = job("batch");
    once.task_groups[0].restart_policy = Some(RestartPolicy {
        attempts: 7,
        ..RestartPolicy::default()
    });
    once.canonicalize();
    let mut twice = once.clone();
    twice.canonicalize();
    assert_eq!(once, twice);
}

#[test]
fn partial_policies_from_json_take_the_type_defaults() {
    let mut j = job("batch");
    j.task_groups[0].restart_policy = Some(RestartPolicy {
        attempts: 5,
        delay: NS_PER_SEC,
        ..RestartPolicy::default()
    });
    j.canonicalize();
    let restart = j.task_groups[0].restart_policy.clone().unwrap();
    assert_eq!(restart.attempts, 5);
    assert_eq!(restart.delay, NS_PER_SEC);
    assert_eq!(restart.interval, RestartPolicy::batch_default().interval);
    assert_eq!(restart.mode, "fail");
    // The task inherits the group's policy.
    assert_eq!(j.task_groups[0].tasks[0].restart_policy, Some(restart));
}

#[test]
fn job_reschedule_and_update_flow_into_groups() {
    let mut j = job("service");
    j.reschedule = Some(ReschedulePolicy {
        attempts: 3,
        interval: 3600 * NS_PER_SEC,
        ..ReschedulePolicy::default()
    });
    j.update = Some(UpdateStrategy::nomad_default());
    j.canonicalize();
    let group = &j.task_groups[0];
    let policy = group.reschedule_policy.clone().unwrap();
    assert_eq!(
        (policy.attempts, policy.delay_function.as_str()),
        (3, "exponential")
    );
    assert_eq!(group.update, Some(UpdateStrategy::nomad_default()));
}

#[test]
fn cores_suppress_the_cpu_default() {
    let mut j = job("service");
    j.task_groups[0].tasks[0].resources = Resources {
        cores: 2,
        ..Resources::default()
    };
    j.canonicalize();
    assert_eq!(j.task_groups[0].tasks[0].resources.cpu, 0);
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn validate_reports_each_problem_with_its_path() {
    let mut j = job("nonsense");
    j.priority = 500;
    j.task_groups[0].count = -1;
    j.task_groups[0].tasks.push(Task {
        name: "srv".into(),
        ..Task::default()
    });
    j.task_groups[0].tasks[0].resources.memory_mb = 5;
    j.canonicalize();
    assert_eq!(
        paths(&j),
        vec![
            "Type",
            "Priority",
            "TaskGroups[0].Count",
            "TaskGroups[0].Tasks[0].Resources.MemoryMB",
            "TaskGroups[0].Tasks[1].Name",
            "TaskGroups[0].Tasks[1].Driver",
        ]
    );
    let messages = j.validate().unwrap_err();
    assert!(messages[0].contains("\"nonsense\""), "{messages:?}");
    assert!(
        messages[2].contains("Task group \"app\": count can't be negative"),
        "{messages:?}"
    );
    assert!(messages[5].contains("missing driver"), "{messages:?}");
}

#[test]
fn validate_rejects_duplicate_groups_and_missing_groups() {
    let mut j = job("service");
    j.task_groups.push(j.task_groups[0].clone());
    j.canonicalize();
    assert_eq!(paths(&j), vec!["TaskGroups[1].Name"]);
    let mut empty = job("service");
    empty.task_groups.clear();
    empty.id = "has space".into();
    empty.canonicalize();
    assert_eq!(paths(&empty), vec!["ID", "TaskGroups"]);
}

#[test]
fn system_jobs_reject_counts_above_one() {
    let mut j = job("system");
    j.task_groups[0].count = 3;
    j.canonicalize();
    assert_eq!(paths(&j), vec!["TaskGroups[0].Count"]);
}

#[test]
fn huge_counts_are_refused_at_the_group_that_crosses_the_job_total() {
    let mut j = job("batch");
    j.task_groups[0].count = 1_000_000_000_000;
    j.canonicalize();
    assert_eq!(paths(&j), vec!["TaskGroups[0].Count"]);
    let mut j = job("service");
    j.task_groups[0].count = crate::model::MAX_JOB_ALLOCATIONS;
    j.canonicalize();
    assert!(paths(&j).is_empty(), "the maximum itself is allowed");
    let mut second = j.task_groups[0].clone();
    second.name = "second".into();
    second.count = 1;
    j.task_groups.push(second);
    assert_eq!(paths(&j), vec!["TaskGroups[1].Count"]);
    assert!(j.validate().unwrap_err()[0].contains("at most 100000"));
}

#[test]
fn constraint_rules() {
    let mut j = job("service");
    let c = |l: &str, op: &str, r: &str| Constraint {
        l_target: l.into(),
        operand: op.into(),
        r_target: r.into(),
    };
    j.constraints = vec![
        c("${attr.kernel.name}", "", "linux"),
        c("${attr.kernel.name}", "like", "linux"),
        c("", "=", "x"),
        c("${meta.x}", "is_set", "y"),
        c("", "distinct_hosts", ""),
        c("${meta.rack}", "distinct_property", "0"),
        c("${meta.rack}", "regexp", ""),
    ];
    j.canonicalize();
    assert_eq!(j.constraints[0].operand, "=");
    assert_eq!(
        paths(&j),
        vec![
            "Constraints[1].Operand",
            "Constraints[2].LTarget",
            "Constraints[3].RTarget",
            "Constraints[5].RTarget",
            "Constraints[6].RTarget",
        ]
    );
}

#[test]
fn restart_and_reschedule_rules() {
    let mut j = job("service");
    j.task_groups[0].restart_policy = Some(RestartPolicy {
        attempts: 10,
        interval: 10 * NS_PER_SEC,
        delay: 5 * NS_PER_SEC,
        mode: "sometimes".into(),
        render_templates: false,
    });
    j.task_groups[0].reschedule_policy = Some(ReschedulePolicy {
        delay_function: "linear".into(),
        delay: NS_PER_SEC,
        unlimited: true,
        max_delay: 3600 * NS_PER_SEC,
        ..ReschedulePolicy::default()
    });
    j.canonicalize();
    let found = paths(&j);
    assert!(
        found.contains(&"TaskGroups[0].RestartPolicy.Mode".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"TaskGroups[0].RestartPolicy.Attempts".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"TaskGroups[0].ReschedulePolicy.DelayFunction".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"TaskGroups[0].ReschedulePolicy.Delay".to_string()),
        "{found:?}"
    );
}

#[test]
fn network_rules() {
    let mut j = job("service");
    let port = |label: &str, value: u16| Port {
        label: label.into(),
        value,
        ..Port::default()
    };
    j.task_groups[0].networks = vec![NetworkResource {
        mode: "wifi".into(),
        reserved_ports: vec![port("http", 8080), port("admin", 8080)],
        dynamic_ports: vec![port("http", 0)],
        ..NetworkResource::default()
    }];
    j.canonicalize();
    assert_eq!(
        paths(&j),
        vec![
            "TaskGroups[0].Networks[0].Mode",
            "TaskGroups[0].Networks[0].ReservedPorts[1].Value",
            "TaskGroups[0].Networks[0].DynamicPorts[0].Label",
        ]
    );
}

#[test]
fn log_storage_must_fit_the_disk() {
    let mut j = job("service");
    j.task_groups[0].ephemeral_disk = Some(EphemeralDisk {
        size_mb: 50,
        ..EphemeralDisk::default()
    });
    j.canonicalize();
    assert_eq!(paths(&j), vec!["TaskGroups[0].Tasks[0].LogConfig"]);
}

#[test]
fn field_path_display_and_parent() {
    let p = FieldPath::root()
        .field("TaskGroups")
        .index(2)
        .field("Count");
    assert_eq!(p.to_string(), "TaskGroups[2].Count");
    assert_eq!(p.parent().unwrap().to_string(), "TaskGroups[2]");
    assert_eq!(FieldPath::root().to_string(), "Job");
    assert_eq!(FieldPath::root().parent(), None);
}

#[test]
fn durations_format_like_go() {
    assert_eq!(format_duration_ns(0), "0s");
    assert_eq!(format_duration_ns(90 * NS_PER_SEC), "1m30s");
    assert_eq!(format_duration_ns(3600 * NS_PER_SEC), "1h");
    assert_eq!(format_duration_ns(250_000_000), "250ms");
    assert_eq!(format_duration_ns(-2 * NS_PER_SEC), "-2s");
    assert_eq!(format_duration_ns(1_500), "1500ns");
}
