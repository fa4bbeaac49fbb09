//! The allocation directory, laid out as Nomad does:
//!
//! ```text
//! data_dir/alloc/<alloc_id>/
//!   alloc/{logs,data,tmp}       shared by the group's tasks (NOMAD_ALLOC_DIR)
//!   <task>/{local,secrets,tmp}  one per task; the task's working directory
//! ```

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The name of the shared directory (so no task may be called this).
pub const SHARED_DIR: &str = "alloc";
/// Permissions of a task's `secrets` directory.
const SECRETS_MODE: u32 = 0o700;

/// One allocation's directory tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocDir {
    root: PathBuf,
}

impl AllocDir {
    /// The directory of `alloc_id` under `alloc_root` (`data_dir/alloc`); `None` when the ID
    /// is not a safe single path component.
    pub fn new(alloc_root: &Path, alloc_id: &str) -> Option<Self> {
        is_safe_component(alloc_id).then(|| Self {
            root: alloc_root.join(alloc_id),
        })
    }

    /// `data_dir/alloc/<alloc_id>`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `alloc/logs`: where task logs are written.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join(SHARED_DIR).join("logs")
    }

    /// `<task>`: the task's working directory.
    pub fn task_dir(&self, task: &str) -> PathBuf {
        self.root.join(task)
    }

    /// Creates the shared directories.
    pub async fn build(&self) -> std::io::Result<()> {
        for sub in ["logs", "data", "tmp"] {
            tokio::fs::create_dir_all(self.root.join(SHARED_DIR).join(sub)).await?;
        }
        Ok(())
    }

    /// Creates a task's directories; refuses task names that would escape or shadow.
    pub async fn build_task(&self, task: &str) -> std::io::Result<PathBuf> {
        if !is_safe_component(task) || task == SHARED_DIR {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("task name {task:?} cannot be used as a directory name"),
            ));
        }
        let dir = self.task_dir(task);
        for sub in ["local", "secrets", "tmp"] {
            tokio::fs::create_dir_all(dir.join(sub)).await?;
        }
        tokio::fs::set_permissions(
            dir.join("secrets"),
            std::fs::Permissions::from_mode(SECRETS_MODE),
        )
        .await?;
        Ok(dir)
    }

    /// Removes the whole tree.
    pub async fn destroy(&self) -> std::io::Result<()> {
        match tokio::fs::remove_dir_all(&self.root).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A non-empty name that is not `.`/`..` and has no `/` or NUL.
fn is_safe_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builds_nomads_layout() {
        let root = tempfile::tempdir().unwrap();
        let dir = AllocDir::new(root.path(), "a1").unwrap();
        dir.build().await.unwrap();
        let task_dir = dir.build_task("web").await.unwrap();
        for p in [
            "alloc/logs",
            "alloc/data",
            "alloc/tmp",
            "web/local",
            "web/secrets",
            "web/tmp",
        ] {
            assert!(root.path().join("a1").join(p).is_dir(), "{p}");
        }
        assert_eq!(task_dir, root.path().join("a1/web"));
        assert_eq!(dir.logs_dir(), root.path().join("a1/alloc/logs"));
        let mode = std::fs::metadata(task_dir.join("secrets"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        dir.destroy().await.unwrap();
        assert!(!root.path().join("a1").exists());
    }

    #[tokio::test]
    async fn unsafe_names_are_refused() {
        let root = tempfile::tempdir().unwrap();
        assert!(AllocDir::new(root.path(), "../x").is_none());
        assert!(AllocDir::new(root.path(), "").is_none());
        let dir = AllocDir::new(root.path(), "a1").unwrap();
        assert!(dir.build_task("alloc").await.is_err());
        assert!(dir.build_task("..").await.is_err());
        assert!(dir.build_task("a/b").await.is_err());
    }
}
