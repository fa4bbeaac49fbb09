//! Job diffs.

use nomadish_proto::model::{Job, Task, TaskGroup};

use super::*;

fn job(count: i64, image: &str) -> Job {
    let mut config = std::collections::BTreeMap::new();
    config.insert("image".to_string(), serde_json::json!(image));
    Job {
        id: "web".into(),
        datacenters: vec!["dc1".into()],
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![Task {
                name: "t".into(),
                driver: "docker".into(),
                config,
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn changed(fields: &[FieldDiff]) -> Vec<(String, String, String, String)> {
    fields
        .iter()
        .filter(|f| f.diff_type != DIFF_NONE)
        .map(|f| {
            let t = f.diff_type.clone();
            (t, f.name.clone(), f.old.clone(), f.new.clone())
        })
        .collect()
}

#[test]
fn new_job_is_added_with_its_groups_and_tasks() {
    let d = job_diff(None, &job(1, "redis:7"));
    assert_eq!(d.diff_type, DIFF_ADDED);
    assert_eq!(d.task_groups[0].diff_type, DIFF_ADDED);
    assert_eq!(d.task_groups[0].tasks[0].diff_type, DIFF_ADDED);
}

#[test]
fn unchanged_job_has_no_changes() {
    let d = job_diff(Some(&job(1, "redis:7")), &job(1, "redis:7"));
    assert_eq!(d.diff_type, DIFF_NONE);
    assert!(d.task_groups.iter().all(|g| g.diff_type == DIFF_NONE));
}

#[test]
fn count_and_config_edits_are_reported_where_they_are() {
    let mut new = job(3, "redis:8");
    new.datacenters.push("dc2".into());
    new.meta.insert("owner".into(), "ops".into());
    let d = job_diff(Some(&job(1, "redis:7")), &new);
    assert_eq!(d.diff_type, DIFF_EDITED);
    let g = &d.task_groups[0];
    assert_eq!(g.diff_type, DIFF_EDITED);
    assert_eq!(
        changed(&g.fields),
        [("Edited".into(), "Count".into(), "1".into(), "3".into())]
    );
    let t = &g.tasks[0];
    assert_eq!(t.diff_type, DIFF_EDITED);
    let config = t
        .objects
        .iter()
        .find(|o| o.name == "Config")
        .expect("Config");
    assert_eq!(
        changed(&config.fields),
        [(
            "Edited".into(),
            "image".into(),
            "redis:7".into(),
            "redis:8".into()
        )]
    );
    let dcs = d
        .objects
        .iter()
        .find(|o| o.name == "Datacenters")
        .expect("dcs");
    assert_eq!(
        changed(&dcs.fields),
        [(
            "Added".into(),
            "Datacenters".into(),
            "".into(),
            "dc2".into()
        )]
    );
    assert_eq!(
        changed(&d.fields),
        [(
            "Added".into(),
            "Meta[owner]".into(),
            "".into(),
            "ops".into()
        )]
    );
}

#[test]
fn removed_group_is_deleted() {
    let mut old = job(1, "redis:7");
    let mut extra = old.task_groups[0].clone();
    extra.name = "gone".into();
    old.task_groups.push(extra);
    let d = job_diff(Some(&old), &job(1, "redis:7"));
    let gone = d
        .task_groups
        .iter()
        .find(|g| g.name == "gone")
        .expect("gone");
    assert_eq!(gone.diff_type, DIFF_DELETED);
    assert_eq!(d.diff_type, DIFF_EDITED);
}
