//! Opening a path inside an allocation directory without ever handing out a file outside it.
//!
//! 1. the lexical rules of [`nomadish_proto::alloc_path`] (no `..`, not absolute);
//! 2. the path is canonicalized (symlinks resolved) and must stay under the canonical
//!    allocation directory, or it is refused before anything is opened;
//! 3. the canonical path is opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO cannot
//!    block the client), and the opened descriptor's real path, read back from
//!    `/proc/self/fd`, must still be under the allocation directory: a symlink swapped in
//!    between steps 2 and 3 is caught here, since nothing is read before this check.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nomadish_proto::alloc_path;

use super::FsError;

/// The directory holding each task's secrets (never readable through the API, as in Nomad).
const SECRETS_DIR: &str = "secrets";
/// The allocation's shared directory (not a task directory).
const SHARED_DIR: &str = "alloc";

/// A file or directory opened inside an allocation directory.
#[derive(Debug)]
pub struct Opened {
    /// The open descriptor.
    pub file: File,
    /// Its real path on disk.
    pub real: PathBuf,
    /// Its path relative to the allocation directory, `/`-separated (empty for the root).
    pub rel: String,
    /// Whether it lies in a task's `secrets` directory.
    pub secret: bool,
}

/// Opens `path` (relative to `root`, the allocation directory) for reading, refusing paths
/// that are malformed or resolve outside `root`.
pub fn open_in(root: &Path, path: &str) -> Result<Opened, FsError> {
    let parts = alloc_path::components(path)?;
    let not_found = || FsError::NotFound {
        path: path.to_string(),
    };
    let root_real = std::fs::canonicalize(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => not_found(),
        _ => FsError::io("resolve", root, e),
    })?;
    let joined = parts.iter().fold(root_real.clone(), |p, c| p.join(c));
    let escapes = || FsError::Escapes {
        path: path.to_string(),
    };
    let canonical = match std::fs::canonicalize(&joined) {
        Ok(c) => c,
        // A missing path is "not found" only if what exists of it is inside: otherwise the
        // answer would tell what exists outside the allocation directory.
        Err(e) if is_missing(&e) => {
            return Err(if existing_ancestor_inside(&joined, &root_real) {
                not_found()
            } else {
                escapes()
            });
        }
        Err(e) => return Err(FsError::io("resolve", &joined, e)),
    };
    if !canonical.starts_with(&root_real) {
        return Err(escapes());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(&canonical)
        .map_err(|e| match e.raw_os_error() {
            // A symlink swapped in after canonicalizing.
            Some(nix::libc::ELOOP) => escapes(),
            _ if e.kind() == std::io::ErrorKind::NotFound => not_found(),
            _ => FsError::io("open", &canonical, e),
        })?;
    let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(|e| FsError::io("resolve", &canonical, e))?;
    let Ok(inside) = real.strip_prefix(&root_real) else {
        return Err(escapes());
    };
    let names: Vec<String> = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let secret = names.len() >= 2 && names[0] != SHARED_DIR && names[1] == SECRETS_DIR;
    Ok(Opened {
        file,
        real,
        rel: names.join("/"),
        secret,
    })
}

fn is_missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Whether the deepest ancestor of `path` that exists resolves inside `root`.
fn existing_ancestor_inside(path: &Path, root: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .find_map(|a| std::fs::canonicalize(a).ok())
        .is_some_and(|real| real.starts_with(root))
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
