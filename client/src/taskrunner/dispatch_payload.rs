//! Prestart hook for dispatched jobs: writes the dispatch payload to the file the task's
//! `dispatch_payload { file }` names, under the task's `local/` directory, before the task
//! starts. A payload that cannot be written fails the task like any setup failure.

use std::path::{Component, Path, PathBuf};

use base64::Engine;
use nomadish_proto::model::{TASK_STATE_DEAD, now_ns};

use super::{TaskRunner, events};

/// Why the payload could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The file name leaves the task's `local/` directory.
    #[error("dispatch_payload file {0:?} escapes the task's local directory")]
    Escapes(String),
    /// The job's payload is not valid base64.
    #[error("dispatch payload is not valid base64: {0}")]
    Decode(#[from] base64::DecodeError),
    /// Writing failed.
    #[error("failed to write dispatch payload: {0}")]
    Io(#[from] std::io::Error),
}

/// The payload's destination: `local_dir/file`, refused if it would leave `local_dir`.
pub fn payload_path(local_dir: &Path, file: &str) -> Result<PathBuf, PayloadError> {
    let mut depth = 0usize;
    for c in Path::new(file).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            _ => return Err(PayloadError::Escapes(file.to_string())),
        }
    }
    if depth == 0 {
        return Err(PayloadError::Escapes(file.to_string()));
    }
    Ok(local_dir.join(file))
}

/// Writes the decoded payload (possibly empty) to `dest`, creating its directories.
pub async fn write_payload(dest: &Path, payload_b64: &str) -> Result<(), PayloadError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(payload_b64.trim())?;
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::write(dest, bytes).await?;
    Ok(())
}

/// The hook: nothing to do unless the task asks for the payload.
pub(super) async fn write_dispatch_payload(tr: &mut TaskRunner) -> bool {
    let Some(file) = tr.task.dispatch_payload.as_ref().map(|d| d.file.clone()) else {
        return true;
    };
    let alloc = tr.alloc.borrow().clone();
    let payload = alloc
        .job
        .as_ref()
        .and_then(|j| j.payload.clone())
        .unwrap_or_default();
    let local = tr.alloc_dir.task_dir(&tr.name).join("local");
    let result = match payload_path(&local, &file) {
        Ok(dest) => write_payload(&dest, &payload).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tr.event(events::setup_failure(now_ns(), &e.to_string()));
            tr.set_state(TASK_STATE_DEAD);
            tr.emit();
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_path_stays_inside_local() {
        let local = Path::new("/a/t/local");
        assert_eq!(
            payload_path(local, "in/x.json").unwrap(),
            local.join("in/x.json")
        );
        assert_eq!(payload_path(local, "a/../b").unwrap(), local.join("a/../b"));
        for bad in ["../x", "/etc/passwd", "a/../../x", "", "."] {
            assert!(payload_path(local, bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn payload_is_decoded_and_written_with_its_directories() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("local/in/payload.txt");
        write_payload(&dest, "aGVsbG8gcGF5bG9hZA==").await.unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello payload");
        write_payload(&dest, "").await.unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"");
        assert!(matches!(
            write_payload(&dest, "%%%").await,
            Err(PayloadError::Decode(_))
        ));
    }
}
