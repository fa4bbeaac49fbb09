//! Task artifacts: fetch a file or archive (http, https, a local file), verify its
//! `checksum`, and place or unpack it inside the task directory — never outside it.

mod checksum;
mod dest;
mod fetch;
mod unpack;

use std::path::Path;

use nomadish_proto::model::TaskArtifact;

pub use checksum::verify as verify_checksum;
pub use dest::resolve as resolve_destination;
pub use unpack::{ArchiveKind, unpack_tar};

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
                return unpack_tar(kind, &bytes, &dest)
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
