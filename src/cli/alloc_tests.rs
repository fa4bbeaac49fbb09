//! Layout tests of `alloc status`.

use super::*;
use nomadish_proto::model::AllocatedTaskResources;

const S: i64 = 1_000_000_000;
const NOW: i64 = 1_709_210_096 * S;

fn sample() -> Allocation {
    let mut alloc = Allocation {
        id: "8ba85cef-1111-2222-3333-444455556666".into(),
        eval_id: "61b0b423-1111-2222-3333-444455556666".into(),
        name: "example.cache[0]".into(),
        node_id: "171a583b-1111-2222-3333-444455556666".into(),
        node_name: "node-1".into(),
        job_id: "example".into(),
        task_group: "cache".into(),
        client_status: "running".into(),
        client_description: "Tasks are running".into(),
        desired_status: "run".into(),
        create_time: NOW - 120 * S,
        modify_time: NOW - 110 * S,
        ..Default::default()
    };
    let mut resources = AllocatedTaskResources::default();
    resources.cpu.cpu_shares = 500;
    resources.memory.memory_mb = 256;
    alloc
        .allocated_resources
        .tasks
        .insert("redis".into(), resources);
    alloc.allocated_resources.shared.disk_mb = 300;
    let state = TaskState {
        state: "running".into(),
        started_at: Some("2024-02-29T12:32:57.5Z".into()),
        events: vec![
            TaskEvent::new("Received", NOW - 120 * S, "Task received by client"),
            TaskEvent {
                event_type: "Started".into(),
                time: NOW - 119 * S,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    alloc.task_states.insert("redis".into(), state);
    alloc
}

#[test]
fn alloc_status_layout() {
    let text = render_alloc(&sample(), 8, false, NOW);
    let expected = "\
ID                  = 8ba85cef-1111-2222-3333-444455556666
Eval ID             = 61b0b423
Name                = example.cache[0]
Node ID             = 171a583b
Node Name           = node-1
Job ID              = example
Job Version         = 0
Client Status       = running
Client Description  = Tasks are running
Desired Status      = run
Desired Description = <none>
Created             = 2m ago
Modified            = 1m50s ago

Task \"redis\" is \"running\"
Task Resources:
CPU      Memory   Disk     Addresses
500 MHz  256 MiB  300 MiB  

Task Events:
Started At     = 2024-02-29T12:32:57Z
Finished At    = N/A
Total Restarts = 0
Last Restart   = N/A

Recent Events:
Time                  Type      Description
2024-02-29T12:32:57Z  Started   Task started by client
2024-02-29T12:32:56Z  Received  Task received by client";
    assert_eq!(text, expected);
}

#[test]
fn verbose_shows_full_ids_and_times() {
    let text = render_alloc(&sample(), 36, true, NOW);
    assert!(text.contains("Eval ID             = 61b0b423-1111-2222-3333-444455556666\n"));
    assert!(text.contains("Created             = 2024-02-29T12:32:56Z\n"));
}

#[test]
fn verbose_shows_the_placement_scores_of_the_best_candidates() {
    use nomadish_proto::model::{AllocMetric, NodeScoreMeta, ScorerName};
    let mut alloc = sample();
    let node = |id: &str, scores: &[(&str, f64)], norm| NodeScoreMeta {
        node_id: id.into(),
        scores: scores
            .iter()
            .map(|(k, v)| (ScorerName::new(k), *v))
            .collect(),
        norm_score: norm,
    };
    alloc.metrics = Some(AllocMetric {
        score_meta_data: vec![
            node(
                "node-a",
                &[("binpack", 0.061_437), ("job-anti-affinity", -0.5)],
                0.5,
            ),
            node("node-b", &[("binpack", 0.25)], 0.25),
        ],
        ..AllocMetric::default()
    });
    let text = render_alloc(&alloc, 36, true, NOW);
    let expected = "\n\nPlacement Metrics
Node    binpack  job-anti-affinity  final score
node-a  0.0614   -0.5               0.5
node-b  0.25     0                  0.25";
    assert!(text.ends_with(expected), "{text}");
    assert!(
        !render_alloc(&alloc, 8, false, NOW).contains("Placement Metrics"),
        "only with -verbose"
    );
}

#[test]
fn significant_keeps_three_digits() {
    assert_eq!(significant(0.061_437), "0.0614");
    assert_eq!(significant(1.0), "1");
    assert_eq!(significant(-0.5), "-0.5");
    assert_eq!(significant(12.345), "12.3");
    assert_eq!(significant(0.0), "0");
}

#[test]
fn terminated_event_description() {
    let event = TaskEvent {
        event_type: "Terminated".into(),
        exit_code: 3,
        signal: 9,
        ..Default::default()
    };
    assert_eq!(event_description(&event), "Exit Code: 3, Signal: 9");
    let event = TaskEvent {
        event_type: "Driver Failure".into(),
        driver_error: "no such binary".into(),
        ..Default::default()
    };
    assert_eq!(event_description(&event), "no such binary");
}
