//! Constraints of each operator family, at job, group and task level, filter nodes and show
//! up in `ConstraintFiltered` under Nomad's key.

use nomadish_proto::model::{Constraint, Job};

use super::fixture::*;

/// Four nodes that differ in kernel, version, tags, rack meta and class.
fn cluster() -> MemState {
    let specs = [
        ("linux", "1.2.0", "ssd,gpu", Some("r1"), "big"),
        ("linux", "1.9.3", "ssd", Some("r2"), "small"),
        ("windows", "2.1.0", "hdd", None, "small"),
        ("darwin", "0.9.0", "gpu,hdd", Some("r1"), "big"),
    ];
    let mut state = MemState::default();
    for (i, (kernel, version, tags, rack, class)) in specs.into_iter().enumerate() {
        let mut n = node(i, "dc1");
        n.attributes.insert("kernel.name".into(), kernel.into());
        n.attributes.insert("app.version".into(), version.into());
        n.attributes.insert("tags".into(), tags.into());
        n.attributes
            .insert("cpu.numcores".into(), (2 * (i + 1)).to_string());
        if let Some(rack) = rack {
            n.meta.insert("rack".into(), rack.into());
        }
        n.node_class = class.into();
        state.put_node(n);
    }
    state
}

fn constraint(l: &str, op: &str, r: &str) -> Constraint {
    Constraint {
        l_target: l.into(),
        operand: op.into(),
        r_target: r.into(),
    }
}

/// Where a job with the constraint lands (set of node indexes) and how many were filtered
/// under the constraint's key.
fn placement(level: &str, c: Constraint) -> (Vec<usize>, i64) {
    let mut state = cluster();
    let mut j: Job = job("web", 8);
    let key = format!("{} {} {}", c.l_target, c.operand, c.r_target);
    match level {
        "job" => j.constraints.push(c),
        "group" => j.task_groups[0].constraints.push(c),
        _ => j.task_groups[0].tasks[0].constraints.push(c),
    }
    let job = state.put_job(j);
    let out = run(&state, &job);
    let mut used: Vec<usize> = out
        .plan
        .node_allocation
        .keys()
        .map(|id| id.trim_start_matches("node-").parse().unwrap())
        .collect();
    used.sort_unstable();
    let metric = placed(&out)
        .first()
        .and_then(|a| a.metrics.clone())
        .or_else(|| out.failed_tg_allocs.get("web").cloned())
        .expect("some metric");
    (
        used,
        metric.constraint_filtered.get(&key).copied().unwrap_or(0),
    )
}

#[test]
fn equality_family() {
    assert_eq!(
        placement("job", constraint("${attr.kernel.name}", "=", "linux")),
        (vec![0, 1], 2)
    );
    assert_eq!(
        placement("group", constraint("${attr.kernel.name}", "==", "windows")),
        (vec![2], 3)
    );
    assert_eq!(
        placement("task", constraint("${node.class}", "is", "big")),
        (vec![0, 3], 2)
    );
    assert_eq!(
        placement("job", constraint("${attr.kernel.name}", "!=", "linux")),
        (vec![2, 3], 2)
    );
    assert_eq!(
        placement("job", constraint("${meta.rack}", "not", "r1")),
        (vec![1, 2], 2)
    );
}

#[test]
fn ordering_family() {
    assert_eq!(
        placement("job", constraint("${attr.cpu.numcores}", ">", "4")),
        (vec![2, 3], 2)
    );
    assert_eq!(
        placement("job", constraint("${attr.cpu.numcores}", ">=", "4")),
        (vec![1, 2, 3], 1)
    );
    assert_eq!(
        placement("group", constraint("${attr.cpu.numcores}", "<", "10")),
        (vec![0, 1, 2, 3], 0)
    );
    assert_eq!(
        placement("task", constraint("${attr.cpu.numcores}", "<=", "2")),
        (vec![0], 3)
    );
    assert_eq!(
        placement("job", constraint("${attr.kernel.name}", "<", "e")),
        (vec![3], 3)
    );
}

#[test]
fn regexp_family() {
    assert_eq!(
        placement(
            "job",
            constraint("${attr.kernel.name}", "regexp", "^(lin|dar)")
        ),
        (vec![0, 1, 3], 1)
    );
    assert_eq!(
        placement(
            "task",
            constraint("${node.unique.name}", "regexp", "host-[23]")
        ),
        (vec![2, 3], 2)
    );
}

#[test]
fn version_family() {
    assert_eq!(
        placement(
            "job",
            constraint("${attr.app.version}", "version", ">= 1.2, < 2.0")
        ),
        (vec![0, 1], 2)
    );
    assert_eq!(
        placement(
            "group",
            constraint("${attr.app.version}", "semver", ">= 2.0.0")
        ),
        (vec![2], 3)
    );
    assert_eq!(
        placement(
            "task",
            constraint("${attr.app.version}", "version", "~> 1.2")
        ),
        (vec![0, 1], 2)
    );
}

#[test]
fn set_family() {
    assert_eq!(
        placement("job", constraint("${attr.tags}", "set_contains", "gpu")),
        (vec![0, 3], 2)
    );
    assert_eq!(
        placement(
            "job",
            constraint("${attr.tags}", "set_contains_all", "ssd,gpu")
        ),
        (vec![0], 3)
    );
    assert_eq!(
        placement(
            "group",
            constraint("${attr.tags}", "set_contains_any", "hdd, gpu")
        ),
        (vec![0, 2, 3], 1)
    );
}

#[test]
fn presence_family() {
    assert_eq!(
        placement("job", constraint("${meta.rack}", "is_set", "")),
        (vec![0, 1, 3], 1)
    );
    assert_eq!(
        placement("task", constraint("${meta.rack}", "is_not_set", "")),
        (vec![2], 3)
    );
}

#[test]
fn node_targets() {
    assert_eq!(
        placement("job", constraint("${node.unique.id}", "=", "node-0002")),
        (vec![2], 3)
    );
    assert_eq!(
        placement("job", constraint("${node.datacenter}", "=", "dc1")),
        (vec![0, 1, 2, 3], 0)
    );
    assert_eq!(
        placement("job", constraint("${node.pool}", "=", "default")),
        (vec![0, 1, 2, 3], 0)
    );
}

#[test]
fn nothing_feasible_reports_the_constraint() {
    let (used, filtered) = placement("job", constraint("${attr.kernel.name}", "=", "plan9"));
    assert!(used.is_empty());
    assert_eq!(filtered, 4);
}

#[test]
fn first_failing_check_is_the_one_reported() {
    let mut state = cluster();
    let mut j = job("web", 1);
    j.constraints
        .push(constraint("${attr.kernel.name}", "=", "linux"));
    j.task_groups[0]
        .constraints
        .push(constraint("${meta.rack}", "=", "r2"));
    let job = state.put_job(j);
    let out = run(&state, &job);
    let m = placed(&out)[0].metrics.clone().unwrap();
    assert_eq!(m.constraint_filtered["${attr.kernel.name} = linux"], 2);
    assert_eq!(m.constraint_filtered["${meta.rack} = r2"], 1);
    assert_eq!(m.nodes_filtered, 3);
    assert_eq!(m.class_filtered["small"], 1);
    assert_eq!(m.class_filtered["big"], 2);
}
