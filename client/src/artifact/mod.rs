//! Task artifacts: fetch a file or archive (http, https, a local file), verify its
//! `checksum`, and place or unpack it (tar, tar.gz, zip) inside the task directory — never outside it.

mod checksum;
mod dest;
mod fetch;
mod unpack;
mod unzip;

use std::path::Path;

use nomadish_proto::model::TaskArtifact;

pub use checksum::verify as verify_checksum;
pub(crate) use dest::normalize;
pub use dest::resolve as resolve_destination;
pub use unpack::{ArchiveKind, unpack_archive, unpack_tar};

/// Fetches `artifact` into `task_dir`; the error names the artifact's source and the cause.
pub async fn get(artifact: &TaskArtifact, task_dir: &Path) -> Result<(), String> {
    let source = artifact.getter_source.as_str();
    let rel = if artifact.relative_dest.is_empty() {
        "local/"
    } else {
        artifact.relative_dest.as_str()
    };
    let dest = dest::resolve(task_dir, rel)?;
    let bytes = fetch::fetch(source, &artifact.getter_headers).await?;
    if let Some(spec) = artifact.getter_options.get("checksum") {
        checksum::verify(spec, &bytes).map_err(|e| format!("{source}: {e}"))?;
    }
    let name = fetch::file_name(source);
    let mode = artifact.getter_mode.clone();
    let unpack = artifact.getter_options.get("archive").map(String::as_str) != Some("false");
    let kind = ArchiveKind::from_name(&name).filter(|_| unpack && mode != "file");
    let rel = rel.to_string();
    let task_dir = task_dir.to_path_buf();
    let source = source.to_string();
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let target = match (kind, mode.as_str()) {
            (Some(kind), _) => {
                std::fs::create_dir_all(&dest).map_err(|e| format!("create {rel}: {e}"))?;
                dest::check_physical(&task_dir, &dest)?;
                return unpack_archive(kind, &bytes, &dest)
                    .map_err(|e| format!("unpack {source}: {e}"));
            }
            (None, "file") => dest.clone(),
            (None, _) => dest.join(&name),
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("create {rel}: {e}"))?;
            dest::check_physical(&task_dir, parent)?;
        }
        std::fs::write(&target, &bytes).map_err(|e| format!("write {}: {e}", target.display()))
    })
    .await
    .map_err(|e| format!("artifact task: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(source: &str, dest: &str, mode: &str) -> TaskArtifact {
        TaskArtifact {
            getter_source: source.to_string(),
            relative_dest: dest.to_string(),
            getter_mode: mode.to_string(),
            ..TaskArtifact::default()
        }
    }

    #[tokio::test]
    async fn local_files_land_where_the_mode_says() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("conf.txt");
        std::fs::write(&src, "x=1").unwrap();
        let task = tmp.path().join("task");
        std::fs::create_dir_all(&task).unwrap();
        let file_url = format!("file://{}", src.display());
        get(&artifact(&file_url, "local/", "any"), &task)
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(task.join("local/conf.txt")).unwrap(),
            "x=1"
        );
        let abs = src.display().to_string();
        get(&artifact(&abs, "local/etc/app.conf", "file"), &task)
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(task.join("local/etc/app.conf")).unwrap(),
            "x=1"
        );
    }

    #[tokio::test]
    async fn a_destination_outside_the_task_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("a.txt");
        std::fs::write(&src, "a").unwrap();
        let task = tmp.path().join("task");
        std::fs::create_dir_all(&task).unwrap();
        let abs = src.display().to_string();
        let err = get(&artifact(&abs, "../elsewhere", "any"), &task)
            .await
            .unwrap_err();
        assert!(err.contains("escapes the task directory"), "{err}");
        assert!(!tmp.path().join("elsewhere").exists());
    }

    #[tokio::test]
    async fn a_wrong_checksum_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("a.txt");
        std::fs::write(&src, "a").unwrap();
        let task = tmp.path().join("task");
        let mut a = artifact(&src.display().to_string(), "local/", "any");
        a.getter_options
            .insert("checksum".into(), format!("sha256:{}", "0".repeat(64)));
        let err = get(&a, &task).await.unwrap_err();
        assert!(err.contains("checksum mismatch"), "{err}");
        assert!(!task.join("local/a.txt").exists());
    }
}
