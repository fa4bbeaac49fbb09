//! Layout tests of `job status`.

use super::*;
use nomadish_proto::model::{AllocMetric, TaskGroupSummary};

const S: i64 = 1_000_000_000;
const NOW: i64 = 1_709_210_096 * S;

fn sample_details() -> JobDetails {
    let job = Job {
        id: "example".into(),
        name: "example".into(),
        job_type: "service".into(),
        priority: 50,
        datacenters: vec!["dc1".into(), "dc2".into()],
        namespace: "default".into(),
        node_pool: "default".into(),
        status: "running".into(),
        submit_time: NOW - 60 * S,
        ..Default::default()
    };
    let mut summary = JobSummary::default();
    summary.summary.insert(
        "cache".into(),
        TaskGroupSummary {
            running: 1,
            ..Default::default()
        },
    );
    let allocs = vec![AllocListStub {
        id: "8ba85cef-1111-2222-3333-444455556666".into(),
        node_id: "171a583b-1111-2222-3333-444455556666".into(),
        task_group: "cache".into(),
        job_version: 0,
        desired_status: "run".into(),
        client_status: "running".into(),
        create_time: NOW - 65 * S,
        modify_time: NOW - 5 * S,
        ..Default::default()
    }];
    JobDetails {
        job,
        summary,
        allocs,
        evals: Vec::new(),
        deployment: None,
        children: Vec::new(),
    }
}

#[test]
fn job_status_layout_matches_nomad() {
    let text = sample_details().render(8, NOW);
    let expected = "\
ID            = example
Name          = example
Submit Date   = 2024-02-29T12:33:56Z
Type          = service
Priority      = 50
Datacenters   = dc1,dc2
Namespace     = default
Node Pool     = default
Status        = running
Periodic      = false
Parameterized = false

Summary
Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown
cache       0       0         1        0       0         0     0

Allocations
ID        Node ID   Task Group  Version  Desired  Status   Created   Modified
8ba85cef  171a583b  cache       0        run      running  1m5s ago  5s ago";
    assert_eq!(text, expected);
}

#[test]
fn no_allocations_placed() {
    let mut details = sample_details();
    details.allocs.clear();
    assert!(
        details
            .render(8, NOW)
            .ends_with("Allocations\nNo allocations placed")
    );
}

#[test]
fn placement_failures_show_only_while_blocked() {
    let mut failed = Evaluation {
        status: "complete".into(),
        create_index: 5,
        ..Default::default()
    };
    failed.failed_tg_allocs.insert(
        "cache".into(),
        AllocMetric {
            nodes_evaluated: 2,
            nodes_exhausted: 2,
            ..Default::default()
        },
    );
    let blocked = Evaluation {
        status: "blocked".into(),
        create_index: 6,
        ..Default::default()
    };
    assert_eq!(placement_failures(std::slice::from_ref(&failed)), None);
    let text = placement_failures(&[failed, blocked]).unwrap();
    assert_eq!(
        text,
        "Task Group \"cache\":\n  * Resources exhausted on 2 nodes"
    );
    let mut details = sample_details();
    details.evals = vec![];
    assert!(!details.render(8, NOW).contains("Placement Failure"));
}

#[test]
fn stopped_job_status() {
    let mut details = sample_details();
    details.job.stop = true;
    details.job.status = "dead".into();
    assert!(
        details
            .render(8, NOW)
            .contains("Status        = dead (stopped)\n")
    );
}
