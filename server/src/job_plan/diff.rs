//! Job diffs for `job plan`, in Nomad's `JobDiff` shape, computed over the jobs' JSON forms.
//!
//! ```text
//!   scalar            -> FieldDiff  Name: old => new   (Added / Deleted / Edited / None)
//!   Meta / Env maps   -> FieldDiff  Meta[key]
//!   list of scalars   -> ObjectDiff with one FieldDiff per element (set semantics)
//!   object            -> ObjectDiff, recursively
//!   list of objects   -> one ObjectDiff per position
//!   task groups/tasks -> matched by name
//! ```
//!
//! Diffs are contextual (unchanged fields come back with type `None`); the CLI shows those
//! only with `-verbose`.

use std::collections::BTreeSet;

use nomadish_proto::model::{
    DIFF_ADDED, DIFF_DELETED, DIFF_EDITED, DIFF_NONE, FieldDiff, Job, JobDiff, ObjectDiff,
    TaskDiff, TaskGroupDiff,
};
use serde_json::{Map, Value};

/// Job fields that are bookkeeping, not configuration (Nomad skips them too).
const JOB_SKIPPED: [&str; 12] = [
    "ID",
    "Status",
    "StatusDescription",
    "Version",
    "Stable",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "TaskGroups",
    "Update",
    "Payload",
];
const GROUP_SKIPPED: [&str; 2] = ["Name", "Tasks"];
const TASK_SKIPPED: [&str; 1] = ["Name"];
/// String maps shown as `Name[key]` fields.
const FLAT_MAPS: [&str; 2] = ["Meta", "Env"];

/// The diff from `old` (none: a new job) to `new`.
pub fn job_diff(old: Option<&Job>, new: &Job) -> JobDiff {
    let (old_v, new_v) = (old.map(to_map), Some(to_map(new)));
    let (fields, objects) = diff_maps(old_v.as_ref(), new_v.as_ref(), &JOB_SKIPPED);
    let groups = |j: Option<&Job>| -> Vec<(String, Map<String, Value>)> {
        j.map(|j| {
            j.task_groups
                .iter()
                .map(|g| (g.name.clone(), to_map(g)))
                .collect()
        })
        .unwrap_or_default()
    };
    let task_groups: Vec<TaskGroupDiff> = pair_by_name(groups(old), groups(Some(new)))
        .into_iter()
        .map(|(name, o, n)| group_diff(name, o.as_ref(), n.as_ref()))
        .collect();
    let changed = fields.iter().any(|f| f.diff_type != DIFF_NONE)
        || objects.iter().any(|o| o.diff_type != DIFF_NONE)
        || task_groups.iter().any(|g| g.diff_type != DIFF_NONE);
    JobDiff {
        diff_type: kind(old.is_some(), true, changed).to_string(),
        id: new.id.clone(),
        fields,
        objects,
        task_groups,
    }
}

fn group_diff(
    name: String,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> TaskGroupDiff {
    let (fields, objects) = diff_maps(old, new, &GROUP_SKIPPED);
    let tasks_of = |g: Option<&Map<String, Value>>| -> Vec<(String, Map<String, Value>)> {
        g.and_then(|g| g.get("Tasks"))
            .and_then(Value::as_array)
            .map(|tasks| {
                tasks
                    .iter()
                    .filter_map(|t| {
                        let map = t.as_object()?.clone();
                        Some((map.get("Name")?.as_str()?.to_string(), map))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let tasks: Vec<TaskDiff> = pair_by_name(tasks_of(old), tasks_of(new))
        .into_iter()
        .map(|(name, o, n)| {
            let (fields, objects) = diff_maps(o.as_ref(), n.as_ref(), &TASK_SKIPPED);
            let changed = any_change(&fields, &objects);
            TaskDiff {
                diff_type: kind(o.is_some(), n.is_some(), changed).to_string(),
                name,
                fields,
                objects,
                annotations: Vec::new(),
            }
        })
        .collect();
    let changed = any_change(&fields, &objects) || tasks.iter().any(|t| t.diff_type != DIFF_NONE);
    TaskGroupDiff {
        diff_type: kind(old.is_some(), new.is_some(), changed).to_string(),
        name,
        fields,
        objects,
        tasks,
        updates: Default::default(),
    }
}

fn any_change(fields: &[FieldDiff], objects: &[ObjectDiff]) -> bool {
    fields.iter().any(|f| f.diff_type != DIFF_NONE)
        || objects.iter().any(|o| o.diff_type != DIFF_NONE)
}

fn kind(old: bool, new: bool, changed: bool) -> &'static str {
    match (old, new) {
        (false, _) => DIFF_ADDED,
        (true, false) => DIFF_DELETED,
        _ if changed => DIFF_EDITED,
        _ => DIFF_NONE,
    }
}

fn to_map<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

type Named = Vec<(String, Map<String, Value>)>;
type Paired = Vec<(
    String,
    Option<Map<String, Value>>,
    Option<Map<String, Value>>,
)>;

/// Pairs items by name: the new order first, then the deleted ones.
fn pair_by_name(old: Named, new: Named) -> Paired {
    let mut out: Vec<_> = new
        .iter()
        .map(|(name, n)| {
            let o = old.iter().find(|(o, _)| o == name).map(|(_, m)| m.clone());
            (name.clone(), o, Some(n.clone()))
        })
        .collect();
    for (name, o) in old {
        if !new.iter().any(|(n, _)| *n == name) {
            out.push((name, Some(o), None));
        }
    }
    out
}

/// Diffs two objects' members (missing objects diff as empty ones).
fn diff_maps(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    skipped: &[&str],
) -> (Vec<FieldDiff>, Vec<ObjectDiff>) {
    let empty = Map::new();
    let (o, n) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    let (mut fields, mut objects) = (Vec::new(), Vec::new());
    for key in keys.into_iter().filter(|k| !skipped.contains(&k.as_str())) {
        let (ov, nv) = (o.get(key), n.get(key));
        if FLAT_MAPS.contains(&key.as_str()) {
            let (om, nm) = (ov.and_then(Value::as_object), nv.and_then(Value::as_object));
            let flat = diff_maps(om, nm, &[]).0;
            fields.extend(flat.into_iter().map(|mut f| {
                f.name = format!("{key}[{}]", f.name);
                f
            }));
        } else if is_compound(ov) || is_compound(nv) {
            objects.extend(object_diffs(key, ov, nv));
        } else {
            fields.push(field(key, ov, nv));
        }
    }
    (fields, objects)
}

fn is_compound(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Object(_) | Value::Array(_)))
}

fn object_diffs(name: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<ObjectDiff> {
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let scalar_list = |v: Option<&Value>| {
        v.and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(|x| !x.is_object() && !x.is_array()))
    };
    if (old.is_none() || scalar_list(old)) && (new.is_none() || scalar_list(new)) {
        return set_diff(name, &list(old), &list(new)).into_iter().collect();
    }
    if old.is_some_and(Value::is_array) || new.is_some_and(Value::is_array) {
        let (ol, nl) = (list(old), list(new));
        return (0..ol.len().max(nl.len()))
            .map(|i| one_object(name, ol.get(i), nl.get(i)))
            .collect();
    }
    vec![one_object(name, old, new)]
}

fn one_object(name: &str, old: Option<&Value>, new: Option<&Value>) -> ObjectDiff {
    let present = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
    let (fields, objects) = diff_maps(
        old.and_then(Value::as_object),
        new.and_then(Value::as_object),
        &[],
    );
    let changed = any_change(&fields, &objects);
    ObjectDiff {
        diff_type: kind(present(old), present(new), changed).to_string(),
        name: name.to_string(),
        fields,
        objects,
    }
}

fn set_diff(name: &str, old: &[Value], new: &[Value]) -> Option<ObjectDiff> {
    if old.is_empty() && new.is_empty() {
        return None;
    }
    let render = |v: &[Value]| v.iter().map(scalar).collect::<BTreeSet<String>>();
    let (o, n) = (render(old), render(new));
    let fields: Vec<FieldDiff> = o
        .union(&n)
        .map(|v| {
            let pick = |set: &BTreeSet<String>| {
                if set.contains(v) {
                    v.clone()
                } else {
                    String::new()
                }
            };
            field_of(name, pick(&o), pick(&n))
        })
        .collect();
    let changed = any_change(&fields, &[]);
    Some(ObjectDiff {
        diff_type: kind(!old.is_empty(), !new.is_empty(), changed).to_string(),
        name: name.to_string(),
        fields,
        objects: Vec::new(),
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field(name: &str, old: Option<&Value>, new: Option<&Value>) -> FieldDiff {
    field_of(
        name,
        old.map(scalar).unwrap_or_default(),
        new.map(scalar).unwrap_or_default(),
    )
}

fn field_of(name: &str, old: String, new: String) -> FieldDiff {
    let diff_type = if old == new {
        DIFF_NONE
    } else if old.is_empty() {
        DIFF_ADDED
    } else if new.is_empty() {
        DIFF_DELETED
    } else {
        DIFF_EDITED
    };
    FieldDiff {
        diff_type: diff_type.to_string(),
        name: name.to_string(),
        old,
        new,
        annotations: Vec::new(),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
