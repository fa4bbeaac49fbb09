//! Tests of the task environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use nomadish_proto::model::{Allocation, Job, Node, Task, TaskGroup};

use super::*;

fn fixture() -> (Allocation, Task, Node) {
    let task = Task {
        name: "web".into(),
        env: BTreeMap::from([
            (
                "GREETING".into(),
                "hi ${NOMAD_ALLOC_INDEX} on ${node.unique.name}".into(),
            ),
            ("KEEP".into(), "${unknown.thing}".into()),
        ]),
        meta: BTreeMap::from([("owner".into(), "task".into())]),
        ..Task::default()
    };
    let job = Job {
        id: "example".into(),
        name: "example-name".into(),
        region: "eu".into(),
        meta: BTreeMap::from([
            ("owner".into(), "job".into()),
            ("team-x".into(), "ops".into()),
        ]),
        task_groups: vec![TaskGroup {
            name: "cache".into(),
            meta: BTreeMap::from([("tier".into(), "gold".into())]),
            tasks: vec![task.clone()],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    let alloc = Allocation {
        id: "0123456789abcdef".into(),
        name: "example.cache[2]".into(),
        namespace: "default".into(),
        job_id: "example".into(),
        task_group: "cache".into(),
        job: Some(Arc::new(job)),
        ..Allocation::default()
    };
    let node = Node {
        id: "node-1".into(),
        name: "box".into(),
        datacenter: "dc9".into(),
        node_class: "big".into(),
        attributes: BTreeMap::from([("cpu.arch".into(), "amd64".into())]),
        meta: BTreeMap::from([("rack".into(), "r1".into())]),
        ..Node::default()
    };
    (alloc, task, node)
}

fn build(alloc: &Allocation, task: &Task, node: &Node) -> TaskEnv {
    TaskEnv::build(EnvInputs {
        alloc,
        task,
        node,
        region: "global",
        alloc_dir: Path::new("/data/alloc/0123"),
    })
}

#[test]
fn nomad_variables_are_set() {
    let (alloc, task, node) = fixture();
    let env = build(&alloc, &task, &node).env;
    assert_eq!(env["NOMAD_ALLOC_ID"], "0123456789abcdef");
    assert_eq!(env["NOMAD_SHORT_ALLOC_ID"], "01234567");
    assert_eq!(env["NOMAD_ALLOC_NAME"], "example.cache[2]");
    assert_eq!(env["NOMAD_ALLOC_INDEX"], "2");
    assert_eq!(env["NOMAD_JOB_ID"], "example");
    assert_eq!(env["NOMAD_JOB_NAME"], "example-name");
    assert_eq!(env["NOMAD_GROUP_NAME"], "cache");
    assert_eq!(env["NOMAD_TASK_NAME"], "web");
    assert_eq!(env["NOMAD_NAMESPACE"], "default");
    assert_eq!(env["NOMAD_REGION"], "eu");
    assert_eq!(env["NOMAD_DC"], "dc9");
    assert_eq!(env["NOMAD_ALLOC_DIR"], "/data/alloc/0123/alloc");
    assert_eq!(env["NOMAD_TASK_DIR"], "/data/alloc/0123/web/local");
    assert_eq!(env["NOMAD_SECRETS_DIR"], "/data/alloc/0123/web/secrets");
    assert_eq!(env["NOMAD_META_owner"], "task");
    assert_eq!(env["NOMAD_META_OWNER"], "task");
    assert_eq!(env["NOMAD_META_tier"], "gold");
    assert_eq!(env["NOMAD_META_team_x"], "ops");
}

#[test]
fn env_values_are_interpolated_and_unknown_refs_kept() {
    let (alloc, task, node) = fixture();
    let env = build(&alloc, &task, &node);
    assert_eq!(env.env["GREETING"], "hi 2 on box");
    assert_eq!(env.env["KEEP"], "${unknown.thing}");
}

#[test]
fn node_references_resolve() {
    let (alloc, task, node) = fixture();
    let env = build(&alloc, &task, &node);
    assert_eq!(
        env.interpolate("${attr.cpu.arch} ${meta.rack} ${node.unique.id} ${node.datacenter} ${node.class} ${GREETING} ${env.HOME}"),
        "amd64 r1 node-1 dc9 big hi 2 on box ${env.HOME}"
    );
}

#[test]
fn container_dirs_replace_host_paths_for_docker_tasks() {
    let (alloc, mut task, node) = fixture();
    task.env.insert(
        "DATA".into(),
        "${NOMAD_ALLOC_DIR}/data:${NOMAD_TASK_DIR}/x".into(),
    );
    let mut env = build(&alloc, &task, &node);
    env.use_container_dirs(Path::new("/data/alloc/0123"), "web");
    assert_eq!(env.env["NOMAD_ALLOC_DIR"], "/alloc");
    assert_eq!(env.env["NOMAD_TASK_DIR"], "/local");
    assert_eq!(env.env["NOMAD_SECRETS_DIR"], "/secrets");
    assert_eq!(env.env["DATA"], "/alloc/data:/local/x");
    assert_eq!(env.interpolate("${NOMAD_TASK_DIR}/run.sh"), "/local/run.sh");
}
