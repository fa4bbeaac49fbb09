//! `job plan` output.

use std::collections::BTreeMap;

use nomadish_proto::model::{AllocMetric, DesiredUpdates, PlanAnnotations};

use super::*;

fn field(t: &str, name: &str, old: &str, new: &str) -> FieldDiff {
    FieldDiff {
        diff_type: t.into(),
        name: name.into(),
        old: old.into(),
        new: new.into(),
        annotations: Vec::new(),
    }
}

fn edited_response() -> JobPlanResponse {
    let mut updates = BTreeMap::new();
    updates.insert("create".to_string(), 2);
    updates.insert("ignore".to_string(), 1);
    let config = ObjectDiff {
        diff_type: DIFF_EDITED.into(),
        name: "Config".into(),
        fields: vec![
            field(DIFF_EDITED, "command", "/bin/sleep", "/bin/true"),
            field(DIFF_NONE, "args", "1", "1"),
        ],
        objects: Vec::new(),
    };
    let diff = JobDiff {
        diff_type: DIFF_EDITED.into(),
        id: "web".into(),
        fields: Vec::new(),
        objects: Vec::new(),
        task_groups: vec![TaskGroupDiff {
            diff_type: DIFF_EDITED.into(),
            name: "g".into(),
            fields: vec![field(DIFF_EDITED, "Count", "1", "3")],
            objects: Vec::new(),
            tasks: vec![TaskDiff {
                diff_type: DIFF_EDITED.into(),
                name: "t".into(),
                fields: Vec::new(),
                objects: vec![config],
                annotations: vec!["forces create/destroy update".into()],
            }],
            updates,
        }],
    };
    let mut annotations = PlanAnnotations::default();
    annotations.desired_tg_updates.insert(
        "g".into(),
        DesiredUpdates {
            place: 2,
            ignore: 1,
            ..DesiredUpdates::default()
        },
    );
    JobPlanResponse {
        annotations: Some(annotations),
        job_modify_index: 7,
        diff: Some(diff),
        ..JobPlanResponse::default()
    }
}

#[test]
fn edited_job_prints_markers_dry_run_and_check_index() {
    let resp = edited_response();
    let out = render_plan(&resp, true, false, "web.hcl");
    let expected_head = "\
+/- Job: \"web\"
+/- Task Group: \"g\" (2 create, 1 ignore)
  +/- Count: \"1\" => \"3\"
  +/- Task: \"t\" (forces create/destroy update)
    +/- Config {
      +/- command: \"/bin/sleep\" => \"/bin/true\"
    }

Scheduler dry-run:
- All tasks successfully allocated.

Job Modify Index: 7
To submit the job with version verification run:

nomadish job run -check-index 7 web.hcl
";
    assert!(out.starts_with(expected_head), "{out}");
    assert_eq!(exit_code(&resp), PLAN_CHANGES);
    let verbose = render_plan(&resp, true, true, "web.hcl");
    assert!(verbose.contains("        args: \"1\""), "{verbose}");
}

#[test]
fn failed_placements_are_explained_and_unchanged_jobs_exit_zero() {
    let mut resp = edited_response();
    let mut metrics = AllocMetric {
        nodes_evaluated: 3,
        nodes_exhausted: 3,
        coalesced_failures: 1,
        ..AllocMetric::default()
    };
    metrics.dimension_exhausted.insert("memory".into(), 3);
    resp.failed_tg_allocs.insert("g".into(), metrics);
    let out = render_plan(&resp, false, false, "web.hcl");
    assert!(
        out.starts_with(
            "Scheduler dry-run:
- WARNING: Failed to place all allocations.
  Task Group \"g\" (failed to place 2 allocations):
    * Resources exhausted on 3 nodes
    * Dimension \"memory\" exhausted on 3 nodes
"
        ),
        "{out}"
    );
    let mut none = resp.clone();
    none.annotations
        .as_mut()
        .expect("a")
        .desired_tg_updates
        .insert(
            "g".into(),
            DesiredUpdates {
                ignore: 3,
                ..DesiredUpdates::default()
            },
        );
    assert_eq!(exit_code(&none), PLAN_NO_CHANGES);
}
