//! The blocking filesystem operations behind each request (run on the blocking pool).

use std::fs::Metadata;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use nomadish_proto::model::AllocFileInfo;

use super::FsError;
use super::info::{SNIFF_LEN, file_info, sniff_content_type};
use super::resolve::{Opened, open_in};

/// The entries of the directory at `path`, sorted by name; symlinks are listed as links
/// (`L` mode), never followed.
pub fn list(root: &Path, path: &str) -> Result<Vec<AllocFileInfo>, FsError> {
    let opened = open_in(root, path)?;
    let meta = metadata(&opened)?;
    if !meta.is_dir() {
        return Err(FsError::WrongKind {
            path: path.to_string(),
            expected: "directory",
        });
    }
    // Listing through the descriptor reads the very directory that was checked.
    let by_fd = format!("/proc/self/fd/{}", opened.file.as_raw_fd());
    let entries = std::fs::read_dir(&by_fd).map_err(|e| FsError::io("list", &opened.real, e))?;
    let mut infos = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FsError::io("list", &opened.real, e))?;
        let Ok(meta) = entry.metadata() else {
            continue; // removed while listing
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        infos.push(file_info(&name, &meta, String::new()));
    }
    infos.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(infos)
}

/// The file or directory at `path`, with its sniffed content type (as Nomad, `.json` files
/// are `application/json` and directories `application/octet-stream`).
pub fn stat(root: &Path, path: &str) -> Result<AllocFileInfo, FsError> {
    let opened = open_in(root, path)?;
    let meta = metadata(&opened)?;
    // The name asked for (a link's own name, as Go's os.Stat reports it), or for the
    // directory itself its real name.
    let name = path
        .split('/')
        .rfind(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .or_else(|| {
            let real = opened.real.file_name()?;
            Some(real.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let content_type = if opened.rel.ends_with(".json") {
        "application/json".to_string()
    } else if meta.is_file() && !opened.secret {
        let mut head = [0u8; SNIFF_LEN];
        let n = opened.file.read_at(&mut head, 0).unwrap_or(0);
        sniff_content_type(&head[..n])
    } else {
        "application/octet-stream".to_string()
    };
    Ok(file_info(&name, &meta, content_type))
}

/// Opens the regular file at `path` for reading its bytes; refuses directories, special
/// files and anything under a task's `secrets`.
pub fn open_file(root: &Path, path: &str) -> Result<(Opened, Metadata), FsError> {
    let opened = open_in(root, path)?;
    if opened.secret {
        return Err(FsError::SecretFile {
            path: path.to_string(),
        });
    }
    let meta = metadata(&opened)?;
    if meta.is_dir() {
        return Err(FsError::IsDir {
            path: path.to_string(),
        });
    }
    if !meta.is_file() {
        return Err(FsError::WrongKind {
            path: path.to_string(),
            expected: "regular file",
        });
    }
    Ok((opened, meta))
}

fn metadata(opened: &Opened) -> Result<Metadata, FsError> {
    opened
        .file
        .metadata()
        .map_err(|e| FsError::io("stat", &opened.real, e))
}
