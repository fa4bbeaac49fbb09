//! The artifact's `destination`: relative to the task directory and never outside it.

use std::path::{Component, Path, PathBuf};

/// Joins `rel` onto `task_dir`, refusing absolute paths and `..` that climb out.
pub fn resolve(task_dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let inside = normalize(Path::new(rel))
        .ok_or_else(|| format!("artifact destination {rel:?} escapes the task directory"))?;
    Ok(task_dir.join(inside))
}

/// `path` with `.` and `..` folded away, or `None` if it is absolute or climbs above its start.
pub(crate) fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// After directories exist: `dir` really resolves inside `task_dir` (no symlink leads out).
pub(super) fn check_physical(task_dir: &Path, dir: &Path) -> Result<(), String> {
    let root = task_dir
        .canonicalize()
        .map_err(|e| format!("task directory: {e}"))?;
    let real = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(format!(
            "artifact destination {} resolves outside the task directory",
            dir.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_stay_inside_the_task_dir() {
        let t = Path::new("/alloc/web");
        assert_eq!(resolve(t, "local/").unwrap(), Path::new("/alloc/web/local"));
        assert_eq!(
            resolve(t, "local/a/../b").unwrap(),
            Path::new("/alloc/web/local/b")
        );
        for bad in ["../x", "/etc", "local/../../x", ".."] {
            let err = resolve(t, bad).unwrap_err();
            assert!(err.contains("escapes the task directory"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_symlink_leading_out_is_caught() {
        let tmp = tempfile::tempdir().unwrap();
        let task = tmp.path().join("task");
        std::fs::create_dir_all(&task).unwrap();
        std::os::unix::fs::symlink(tmp.path(), task.join("out")).unwrap();
        assert!(check_physical(&task, &task.join("out")).is_err());
        assert!(check_physical(&task, &task).is_ok());
    }
}
