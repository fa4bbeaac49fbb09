//! The example jobspecs in the repository's `examples/` parse and mean what they say.

use std::path::Path;

use nomadish_proto::model::Job;

fn example(name: &str) -> Job {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    nomadish_jobspecs::parse_file(&path).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn args(job: &Job) -> Vec<String> {
    let task = &job.task_groups[0].tasks[0];
    serde_json::from_value(task.config["args"].clone()).expect("args is a list of strings")
}

#[test]
fn hello_is_a_small_raw_exec_batch_job() {
    let job = example("hello.hcl");
    assert_eq!((job.id.as_str(), job.job_type.as_str()), ("hello", "batch"));
    let group = job.group("hello").expect("group hello");
    let task = group.task("hello").expect("task hello");
    assert_eq!(task.driver, "raw_exec");
    assert_eq!(task.config["command"], "/bin/sh");
    assert_eq!((task.resources.cpu, task.resources.memory_mb), (50, 32));
    let script = &args(&job)[1];
    assert!(script.contains("echo Hello from nomadish"), "{script}");
    assert!(script.contains("$NOMAD_ALLOC_ID"), "{script}");
}

#[test]
fn countdown_counts_down_from_five() {
    let job = example("countdown.hcl");
    assert_eq!(job.job_type, "batch");
    let task = &job.task_groups[0].tasks[0];
    assert_eq!(task.driver, "raw_exec");
    let script = &args(&job)[1];
    assert!(
        script.contains("5 4 3 2 1") && script.contains("sleep 1"),
        "{script}"
    );
}

#[test]
fn web_is_a_three_copy_service() {
    let job = example("web.hcl");
    assert_eq!((job.id.as_str(), job.job_type.as_str()), ("web", "service"));
    let group = &job.task_groups[0];
    assert_eq!(group.count, 3);
    let task = &group.tasks[0];
    assert_eq!(task.driver, "raw_exec");
    assert_eq!((task.resources.cpu, task.resources.memory_mb), (50, 32));
    let script = &args(&job)[1];
    assert!(
        script.starts_with("while true;") && script.contains("sleep 2"),
        "{script}"
    );
    // Runtime interpolation is left for the client.
    assert!(script.contains("${NOMAD_ALLOC_INDEX}"), "{script}");
    assert_eq!(task.env["GREETING"], "hello from ${NOMAD_TASK_NAME}");
    // A partial restart block keeps the service defaults it does not set.
    let restart = group.restart_policy.clone().expect("restart policy");
    assert_eq!((restart.attempts, restart.mode.as_str()), (3, "fail"));
    assert_eq!(restart.interval, 30 * 60 * 1_000_000_000);
}
