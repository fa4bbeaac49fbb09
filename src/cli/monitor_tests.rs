//! Tests of the monitor's pure parts: state diffs and placement-failure text.

use super::*;

const FAILED_EVAL: &str = r#"{
  "ID": "8e9f0a1b-2c3d-4e5f-6a7b-8c9d0e1f2a3b",
  "Namespace": "default",
  "Priority": 50,
  "Type": "service",
  "TriggeredBy": "job-register",
  "JobID": "web",
  "Status": "complete",
  "BlockedEval": "aa11bb22-cc33-dd44-ee55-ff6677889900",
  "FailedTGAllocs": {
    "cache": {
      "NodesEvaluated": 3,
      "NodesFiltered": 1,
      "NodesAvailable": {"dc1": 3},
      "ClassFiltered": null,
      "ConstraintFiltered": {"${attr.kernel.name} = windows": 1},
      "NodesExhausted": 2,
      "ClassExhausted": {},
      "DimensionExhausted": {"memory": 2},
      "QuotaExhausted": null,
      "CoalescedFailures": 2
    },
    "app": {
      "NodesEvaluated": 0,
      "NodesAvailable": {"dc2": 0},
      "CoalescedFailures": 0
    }
  },
  "CreateIndex": 10,
  "ModifyIndex": 12
}"#;

fn failed_eval() -> Evaluation {
    let mut value: serde_json::Value = serde_json::from_str(FAILED_EVAL).unwrap();
    nomadish_proto::model::strip_nulls(&mut value);
    serde_json::from_value(value).unwrap()
}

#[test]
fn placement_failure_block_from_sample_evaluation() {
    let eval = failed_eval();
    let lines: Vec<String> = finished_lines(&eval, 8)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    let expected = vec![
        r#"Evaluation "8e9f0a1b" finished with status "complete" but failed to place all allocations:"#,
        r#"Task Group "app" (failed to place 1 allocation):"#,
        r#"  * No nodes were eligible for evaluation"#,
        r#"  * No nodes are available in datacenter "dc2""#,
        r#"Task Group "cache" (failed to place 3 allocations):"#,
        r#"  * Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter"#,
        r#"  * Resources exhausted on 2 nodes"#,
        r#"  * Dimension "memory" exhausted on 2 nodes"#,
        r#"Evaluation "aa11bb22" waiting for additional capacity to place remainder"#,
    ];
    assert_eq!(lines, expected);
}

#[test]
fn headings_are_marked() {
    let eval = failed_eval();
    let marks: Vec<bool> = finished_lines(&eval, 8)
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    assert!(marks[0]);
    assert!(marks[1..].iter().all(|h| !h));
}

#[test]
fn complete_evaluation_finishes_in_one_line() {
    let eval = Evaluation {
        id: "0123456789".into(),
        status: "complete".into(),
        ..Default::default()
    };
    assert_eq!(
        finished_lines(&eval, 8),
        vec![(
            true,
            r#"Evaluation "01234567" finished with status "complete""#.to_string()
        )]
    );
}

#[test]
fn class_and_quota_reasons() {
    let mut m = AllocMetric {
        nodes_evaluated: 4,
        ..Default::default()
    };
    m.class_filtered.insert("gpu".into(), 2);
    m.class_exhausted.insert("small".into(), 1);
    m.quota_exhausted.push("cpu".into());
    assert_eq!(
        format_alloc_metrics(&m, "  "),
        vec![
            r#"  * Class "gpu": 2 nodes excluded by filter"#,
            r#"  * Class "small" exhausted on 1 nodes"#,
            r#"  * Quota limit hit "cpu""#,
        ]
    );
}

fn stub(id: &str, desired: &str, client: &str, create_index: u64) -> AllocListStub {
    AllocListStub {
        id: id.into(),
        node_id: "node-0123456789".into(),
        task_group: "app".into(),
        desired_status: desired.into(),
        client_status: client.into(),
        create_index,
        ..Default::default()
    }
}

#[test]
fn diff_reports_trigger_allocations_and_status() {
    let eval = Evaluation {
        id: "e1".into(),
        job_id: "web".into(),
        status: "complete".into(),
        create_index: 5,
        ..Default::default()
    };
    let allocs = vec![
        stub("alloc-new-0000", "run", "pending", 6),
        stub("alloc-old-0000", "run", "running", 3),
    ];
    let next = EvalView::observe(&eval, &allocs);
    let lines = diff_states(&EvalView::default(), &next, 8);
    assert_eq!(
        lines,
        vec![
            r#"Evaluation triggered by job "web""#,
            r#"Allocation "alloc-ne" created: node "node-012", group "app""#,
            r#"Allocation "alloc-ol" modified: node "node-012", group "app""#,
            r#"Evaluation status changed: "pending" -> "complete""#,
        ]
    );
}

#[test]
fn diff_reports_client_status_changes_once() {
    let eval = Evaluation {
        job_id: "web".into(),
        status: "pending".into(),
        ..Default::default()
    };
    let first = EvalView::observe(&eval, &[stub("a1", "run", "pending", 1)]);
    let mut later_stub = stub("a1", "run", "running", 1);
    later_stub.client_description = "Tasks are running".into();
    let second = EvalView::observe(&eval, &[later_stub]);
    assert_eq!(
        diff_states(&first, &second, 8),
        vec![r#"Allocation "a1" status changed: "pending" -> "running" (Tasks are running)"#]
    );
    assert!(diff_states(&second, &second, 8).is_empty());
}

#[test]
fn stopped_allocations_are_not_reported_as_created() {
    let eval = Evaluation {
        status: "pending".into(),
        create_index: 1,
        ..Default::default()
    };
    let next = EvalView::observe(&eval, &[stub("a1", "stop", "complete", 2)]);
    assert!(diff_states(&EvalView::default(), &next, 8).is_empty());
}
