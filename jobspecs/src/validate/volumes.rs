//! Nomad's rules for host volumes: a group volume has a known type and a source, CSI volumes
//! are refused (nomadish has no CSI plugins), and every task `volume_mount` names a volume of
//! its group and has a destination.

use nomadish_proto::model::canonicalize::{FieldPath, Problem, unsupported_message};
use nomadish_proto::model::{Job, VOLUME_TYPE_CSI, VOLUME_TYPE_HOST};

/// Adds the job's volume problems to `out`.
pub(crate) fn volume_problems(job: &Job, out: &mut Vec<Problem>) {
    for (i, group) in job.task_groups.iter().enumerate() {
        let g_path = FieldPath::root().field("TaskGroups").index(i);
        for (j, (label, volume)) in group.volumes.iter().enumerate() {
            let path = g_path.field("Volumes").index(j);
            let ctx = format!("Task group {:?}: volume {label:?}", group.name);
            match volume.volume_type.as_str() {
                VOLUME_TYPE_HOST if volume.source.is_empty() => out.push(Problem {
                    path: path.clone(),
                    message: format!("{ctx} has an empty source"),
                }),
                VOLUME_TYPE_HOST => {}
                VOLUME_TYPE_CSI => out.push(Problem {
                    path: path.field("Type"),
                    message: unsupported_message("csi volumes"),
                }),
                other => out.push(Problem {
                    path: path.field("Type"),
                    message: format!("{ctx} has unrecognized type {other:?} (want \"host\")"),
                }),
            }
        }
        for (t, task) in group.tasks.iter().enumerate() {
            for (m, mount) in task.volume_mounts.iter().enumerate() {
                let path = g_path
                    .field("Tasks")
                    .index(t)
                    .field("VolumeMounts")
                    .index(m);
                let ctx = format!(
                    "Task {:?} in group {:?}: volume_mount {}",
                    task.name,
                    group.name,
                    m + 1
                );
                if !group.volumes.contains_key(&mount.volume) {
                    out.push(Problem {
                        path: path.field("Volume"),
                        message: format!(
                            "{ctx}: volume {:?} is not defined in the group (add volume {:?} {{ ... }})",
                            mount.volume, mount.volume
                        ),
                    });
                }
                if mount.destination.is_empty() {
                    out.push(Problem {
                        path: path.clone(),
                        message: format!("{ctx}: destination is required"),
                    });
                }
                if !matches!(
                    mount.propagation_mode.as_str(),
                    "" | "private" | "host-to-task" | "bidirectional"
                ) {
                    out.push(Problem {
                        path: path.field("PropagationMode"),
                        message: format!(
                            "{ctx}: propagation_mode {:?} is not one of \"private\", \"host-to-task\", \"bidirectional\"",
                            mount.propagation_mode
                        ),
                    });
                }
            }
        }
    }
}
