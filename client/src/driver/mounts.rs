//! Host volume mounts: a task's `volume_mount`s resolved against its group's `volume`
//! requests and the node's `host_volume`s, then handed to the driver.
//!
//! Docker bind-mounts each at its destination. raw_exec has no file system isolation, so the
//! task gets a symbolic link `<task dir>/<destination>` to the host directory instead (Nomad's
//! raw_exec has no mount support at all; read-only cannot be enforced without isolation, so a
//! read-only mount there is only as read-only as the directory's permissions). The SSH driver
//! runs on another machine and refuses host volumes.

use std::path::{Component, Path, PathBuf};

use nomadish_proto::model::{Allocation, Node, Task, VOLUME_TYPE_HOST};

use crate::error::DriverError;

/// One host directory to make visible to the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMount {
    /// The directory on this host.
    pub host_path: PathBuf,
    /// Where the task sees it (absolute for containers; relative to the task dir otherwise).
    pub destination: String,
    /// Read-only when the mount, the group's request or the operator's volume says so.
    pub read_only: bool,
}

/// The task's mounts, or why one cannot be made (a volume this node does not offer).
pub fn resolve(
    alloc: &Allocation,
    task: &Task,
    node: &Node,
) -> Result<Vec<HostMount>, DriverError> {
    let group = alloc
        .job
        .as_ref()
        .and_then(|job| job.group(&alloc.task_group));
    let mut mounts = Vec::new();
    for mount in &task.volume_mounts {
        let request = group
            .and_then(|g| g.volumes.get(&mount.volume))
            .ok_or_else(|| {
                volume_error(format!(
                    "volume {:?} is not defined in the group",
                    mount.volume
                ))
            })?;
        if request.volume_type != VOLUME_TYPE_HOST {
            return Err(volume_error(format!(
                "volume {:?} has type {:?}: not supported by nomadish",
                mount.volume, request.volume_type
            )));
        }
        let offered = node.host_volumes.get(&request.source).ok_or_else(|| {
            volume_error(format!(
                "this node has no host volume {:?} (volume {:?})",
                request.source, mount.volume
            ))
        })?;
        mounts.push(HostMount {
            host_path: PathBuf::from(&offered.path),
            destination: mount.destination.clone(),
            read_only: mount.read_only || request.read_only || offered.read_only,
        });
    }
    Ok(mounts)
}

fn volume_error(reason: String) -> DriverError {
    DriverError::HostVolume { reason }
}

/// The link path for `destination` inside the task dir; `None` if it would leave it.
pub fn link_path(task_dir: &Path, destination: &str) -> Option<PathBuf> {
    let relative = Path::new(destination.trim_start_matches('/'));
    let mut out = task_dir.to_path_buf();
    let mut depth = 0usize;
    for component in relative.components() {
        match component {
            Component::Normal(part) => {
                out.push(part);
                depth += 1;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (depth > 0).then_some(out)
}

/// raw_exec: links `<task dir>/<destination>` to each host directory (replacing an old link,
/// never a real file or directory).
pub fn link_into_task_dir(task_dir: &Path, mounts: &[HostMount]) -> Result<(), DriverError> {
    for mount in mounts {
        let link = link_path(task_dir, &mount.destination).ok_or_else(|| {
            volume_error(format!(
                "destination {:?} must stay inside the task directory",
                mount.destination
            ))
        })?;
        let io = |what: &str, err: std::io::Error| {
            volume_error(format!("{what} {}: {err}", link.display()))
        };
        match std::fs::symlink_metadata(&link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::remove_file(&link).map_err(|e| io("replacing", e))?;
            }
            Ok(_) => {
                return Err(volume_error(format!(
                    "destination {} already exists in the task directory",
                    link.display()
                )));
            }
            Err(_) => {}
        }
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("creating the parent of", e))?;
        }
        std::os::unix::fs::symlink(&mount.host_path, &link).map_err(|e| io("linking", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_paths_stay_inside_the_task_dir() {
        let dir = Path::new("/a/t");
        assert_eq!(link_path(dir, "shared"), Some(PathBuf::from("/a/t/shared")));
        assert_eq!(
            link_path(dir, "/srv/data"),
            Some(PathBuf::from("/a/t/srv/data"))
        );
        assert_eq!(link_path(dir, "../x"), None);
        assert_eq!(link_path(dir, "a/../../x"), None);
        assert_eq!(link_path(dir, "/"), None);
        assert_eq!(link_path(dir, ""), None);
    }

    #[test]
    fn links_are_made_and_replaced_but_real_files_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tmp.path().join("host");
        std::fs::create_dir(&host).unwrap();
        let task_dir = tmp.path().join("task");
        std::fs::create_dir(&task_dir).unwrap();
        let mount = HostMount {
            host_path: host.clone(),
            destination: "data/v".into(),
            read_only: false,
        };
        link_into_task_dir(&task_dir, std::slice::from_ref(&mount)).unwrap();
        std::fs::write(task_dir.join("data/v/f"), "x").unwrap();
        assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "x");
        // A restart links again.
        link_into_task_dir(&task_dir, std::slice::from_ref(&mount)).unwrap();
        std::fs::create_dir(task_dir.join("real")).unwrap();
        let clash = HostMount {
            destination: "real".into(),
            ..mount
        };
        let err = link_into_task_dir(&task_dir, &[clash]).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }
}
