//! The previous node's side of `ephemeral_disk { migrate = true }` (`FS_OP_MIGRATE_TAR`):
//! packs a stopped allocation's `alloc/data` and each task's `local/` directory into a
//! tar.gz for its replacement on another node (Nomad's remote migration).
//!
//! ```text
//! <alloc dir>/alloc/data/**     ─┐  walked without following any symlink: regular files
//! <alloc dir>/<task>/local/**  ─┴> and directories are packed, symlinks only when their
//!                                   target stays inside the packed directory, the rest is
//!                                   skipped; the files' bytes are capped ─> tar.gz bytes
//! ```
//!
//! Entry names are built from directory entries the walk read itself (one normal component
//! at a time), so no name can climb out of the allocation directory on the receiving side.

use std::fs::{File, Metadata};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use tar::{EntryType, Header};

use super::FsError;
use crate::artifact::normalize;

/// The directory of the allocation's shared data, relative to the allocation directory.
pub const DATA_DIR: &str = "alloc/data";
/// Each task's private directory that migrates, relative to the task's directory.
pub const TASK_LOCAL_DIR: &str = "local";

/// What packing produced.
#[derive(Debug, Default)]
pub struct Packed {
    /// The tar.gz bytes.
    pub bytes: Vec<u8>,
    /// Entries left out (special files, symlinks pointing elsewhere), for the log.
    pub skipped: Vec<String>,
}

/// Packs `alloc/data` and `<task>/local` of each of `tasks` under `alloc_dir`; `limit`
/// caps the total bytes of the packed files. A directory that does not exist is left out.
pub fn pack_migration(
    alloc_dir: &Path,
    tasks: &[String],
    limit: Option<u64>,
) -> Result<Packed, FsError> {
    let mut roots = vec![PathBuf::from(DATA_DIR)];
    for task in tasks {
        let mut parts = Path::new(task).components();
        if matches!(
            (parts.next(), parts.next()),
            (Some(Component::Normal(_)), None)
        ) {
            roots.push(Path::new(task).join(TASK_LOCAL_DIR));
        }
    }
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut packer = Packer {
        alloc_dir,
        builder: tar::Builder::new(gz),
        total: 0,
        limit,
        skipped: Vec::new(),
    };
    for rel in &roots {
        if packer.real_dir(rel)? {
            packer.dir(rel, rel)?;
        }
    }
    let gz = packer
        .builder
        .into_inner()
        .map_err(|e| FsError::io("pack", alloc_dir, e))?;
    let bytes = gz.finish().map_err(|e| FsError::io("pack", alloc_dir, e))?;
    Ok(Packed {
        bytes,
        skipped: packer.skipped,
    })
}

struct Packer<'a> {
    alloc_dir: &'a Path,
    builder: tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    total: u64,
    limit: Option<u64>,
    skipped: Vec<String>,
}

impl Packer<'_> {
    fn io(&self, op: &'static str, rel: &Path, e: std::io::Error) -> FsError {
        FsError::io(op, self.alloc_dir.join(rel), e)
    }

    /// Whether `rel` and every directory above it (inside the allocation directory) is a
    /// real directory, not a symlink; a missing one is `false`.
    fn real_dir(&self, rel: &Path) -> Result<bool, FsError> {
        let mut at = self.alloc_dir.to_path_buf();
        for part in rel.components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(FsError::Escapes {
                        path: rel.display().to_string(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(self.io("stat", rel, e)),
            }
        }
        Ok(true)
    }

    /// Packs the directory `rel` (inside the packed directory `root`) and what it holds.
    fn dir(&mut self, root: &Path, rel: &Path) -> Result<(), FsError> {
        let meta = std::fs::symlink_metadata(self.alloc_dir.join(rel))
            .map_err(|e| self.io("stat", rel, e))?;
        let mut header = header(&meta, EntryType::Directory, 0);
        self.builder
            .append_data(&mut header, rel, std::io::empty())
            .map_err(|e| self.io("pack", rel, e))?;
        let entries =
            std::fs::read_dir(self.alloc_dir.join(rel)).map_err(|e| self.io("list", rel, e))?;
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry.map_err(|e| self.io("list", rel, e))?.file_name());
        }
        names.sort();
        for name in names {
            let child = rel.join(&name);
            let Ok(meta) = std::fs::symlink_metadata(self.alloc_dir.join(&child)) else {
                continue; // removed while packing
            };
            let kind = meta.file_type();
            if kind.is_dir() {
                self.dir(root, &child)?;
            } else if kind.is_file() {
                self.file(&child)?;
            } else if kind.is_symlink() {
                self.symlink(root, &child, &meta)?;
            } else {
                self.skipped
                    .push(format!("{}: not a regular file", child.display()));
            }
        }
        Ok(())
    }

    /// Packs a regular file, opened without following a symlink swapped in meanwhile.
    fn file(&mut self, rel: &Path) -> Result<(), FsError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(self.alloc_dir.join(rel));
        let file: File = match file {
            Ok(f) => f,
            Err(_) => {
                self.skipped
                    .push(format!("{}: could not be opened", rel.display()));
                return Ok(());
            }
        };
        let meta = file.metadata().map_err(|e| self.io("stat", rel, e))?;
        if !meta.is_file() {
            self.skipped
                .push(format!("{}: not a regular file", rel.display()));
            return Ok(());
        }
        self.total += meta.len();
        if let Some(limit) = self.limit
            && self.total > limit
        {
            return Err(FsError::TooLarge { limit });
        }
        let mut header = header(&meta, EntryType::Regular, meta.len());
        // A file that grows while packed is cut at the size in its header.
        let reader = std::io::Read::take(file, meta.len());
        self.builder
            .append_data(&mut header, rel, reader)
            .map_err(|e| self.io("pack", rel, e))
    }

    /// Packs a symlink as a link when its target stays inside `root`; skips it otherwise.
    fn symlink(&mut self, root: &Path, rel: &Path, meta: &Metadata) -> Result<(), FsError> {
        let target = std::fs::read_link(self.alloc_dir.join(rel))
            .map_err(|e| self.io("readlink", rel, e))?;
        let base = rel.parent().unwrap_or(Path::new(""));
        let inside = !target.is_absolute()
            && normalize(&base.join(&target)).is_some_and(|p| p.starts_with(root));
        if !inside {
            self.skipped.push(format!(
                "{} -> {}: points outside {}",
                rel.display(),
                target.display(),
                root.display()
            ));
            return Ok(());
        }
        let mut header = header(meta, EntryType::Symlink, 0);
        self.builder
            .append_link(&mut header, rel, &target)
            .map_err(|e| self.io("pack", rel, e))
    }
}

/// A tar header carrying the entry's mode and modification time.
fn header(meta: &Metadata, kind: EntryType, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(meta.mode() & 0o7777);
    header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
    header.set_size(size);
    header
}

#[cfg(test)]
#[path = "migrate_tests.rs"]
mod tests;
