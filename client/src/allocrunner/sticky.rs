//! Sticky ephemeral disks: a replacement allocation placed on the node where its previous
//! allocation ran takes over that allocation's `alloc/data` and each task's `local/`, once
//! the previous allocation has stopped (Nomad's local migration). A previous allocation on
//! another node is fetched by [`super::migrate`] when the disk has `migrate = true`.

use std::path::Path;
use std::time::Duration;

use nomadish_proto::model::{Allocation, TaskGroup};

use super::allocdir::AllocDir;
use crate::state::StateStore;

/// How long a replacement waits for its previous allocation to stop before starting empty.
pub(super) const PREVIOUS_STOP_WAIT: Duration = Duration::from_secs(300);
/// How often the wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// Moves the previous allocation's data into `dir` when the group's disk is sticky (or
/// migrates) and that
/// allocation ran on this node. Returns what was moved, for the log.
pub(super) async fn take_previous_data(
    alloc: &Allocation,
    group: &TaskGroup,
    dir: &AllocDir,
    alloc_root: &Path,
    state: &StateStore,
) -> Result<Vec<String>, String> {
    let keeps = group
        .ephemeral_disk
        .as_ref()
        .is_some_and(|d| d.sticky || d.migrate);
    if !keeps || alloc.previous_allocation.is_empty() {
        return Ok(Vec::new());
    }
    let Some(previous) = AllocDir::new(alloc_root, &alloc.previous_allocation) else {
        return Ok(Vec::new());
    };
    if !previous.root().is_dir() {
        return Ok(Vec::new());
    }
    let deadline = tokio::time::Instant::now() + PREVIOUS_STOP_WAIT;
    while state.alloc_running(&alloc.previous_allocation) {
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "previous allocation {} did not stop within {PREVIOUS_STOP_WAIT:?}",
                alloc.previous_allocation
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    let mut pairs = vec![(
        previous.root().join("alloc").join("data"),
        dir.root().join("alloc").join("data"),
    )];
    for task in &group.tasks {
        pairs.push((
            previous.task_dir(&task.name).join("local"),
            dir.task_dir(&task.name).join("local"),
        ));
    }
    tokio::task::spawn_blocking(move || {
        let mut moved = Vec::new();
        for (from, to) in pairs {
            move_children(&from, &to, &mut moved)?;
        }
        Ok(moved)
    })
    .await
    .map_err(|e| format!("moving data: {e}"))?
}

/// Renames every entry of `from` into `to` (created if needed); a missing `from` is fine.
pub(super) fn move_children(from: &Path, to: &Path, moved: &mut Vec<String>) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(from) {
        Ok(meta) => meta,
        Err(_) => return Ok(()),
    };
    if !meta.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(|e| format!("create {}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("read {}: {e}", from.display()))?;
        let target = to.join(entry.file_name());
        std::fs::rename(entry.path(), &target).map_err(|e| {
            format!(
                "move {} to {}: {e}",
                entry.path().display(),
                target.display()
            )
        })?;
        moved.push(target.display().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{EphemeralDisk, Job, Task};

    #[tokio::test]
    async fn data_and_local_dirs_follow_a_sticky_replacement() {
        let root = tempfile::tempdir().unwrap();
        let client = tempfile::tempdir().unwrap();
        let (state, _) = StateStore::open(client.path()).await.unwrap();
        let old = AllocDir::new(root.path(), "old").unwrap();
        old.build().await.unwrap();
        old.build_task("t").await.unwrap();
        std::fs::write(old.root().join("alloc/data/db"), "v1").unwrap();
        std::fs::write(old.task_dir("t").join("local/cache"), "c").unwrap();
        let mut group = TaskGroup {
            name: "g".into(),
            tasks: vec![Task {
                name: "t".into(),
                ..Task::default()
            }],
            ephemeral_disk: Some(EphemeralDisk::default()),
            ..TaskGroup::default()
        };
        let alloc = Allocation {
            id: "new".into(),
            previous_allocation: "old".into(),
            job: Some(std::sync::Arc::new(Job::default())),
            ..Allocation::default()
        };
        let new = AllocDir::new(root.path(), "new").unwrap();
        new.build().await.unwrap();
        // Not sticky: nothing moves.
        let moved = take_previous_data(&alloc, &group, &new, root.path(), &state).await;
        assert!(moved.unwrap().is_empty());
        group.ephemeral_disk = Some(EphemeralDisk {
            sticky: true,
            ..EphemeralDisk::default()
        });
        let moved = take_previous_data(&alloc, &group, &new, root.path(), &state).await;
        assert_eq!(moved.unwrap().len(), 2);
        let db = std::fs::read_to_string(new.root().join("alloc/data/db")).unwrap();
        assert_eq!(db, "v1");
        assert!(new.task_dir("t").join("local/cache").exists());
        assert!(!old.root().join("alloc/data/db").exists());
    }
}
