//! The allocation filesystem: what `/v1/client/fs/{ls,stat,cat,readat,stream}` read, served
//! over the client's tunnel.
//!
//! ```text
//! FsRequest{op, path} ─> alloc_path::components (no "..", not absolute)
//!                     ─> resolve::open_in: canonicalize + prefix check, open, then check the
//!                        opened file's real path (/proc/self/fd) is still inside
//!                     ─> ops: ls / stat (JSON) · cat / readat / stream (bytes)
//!                     ─> StreamChunk × n, eof   (errors: StreamChunk{error, status})
//! ```
//!
//! `FS_OP_MIGRATE_TAR` packs `alloc/data` and each task's `local/` of a stopped allocation
//! for its replacement on another node (see `migrate`).
//!
//! Refusals map to HTTP statuses: a bad or escaping path is 400, reading a task's `secrets`
//! directory is 403 (as in Nomad), a missing file or allocation is 404.

mod info;
mod migrate;
mod ops;
mod resolve;
mod serve;

pub use info::{file_info, go_file_mode, sniff_content_type};
pub use migrate::{DATA_DIR, Packed, TASK_LOCAL_DIR, pack_migration};
pub use ops::{list, stat};
pub use resolve::{Opened, open_in};
pub use serve::serve_fs;

use std::path::PathBuf;

use nomadish_proto::alloc_path::AllocPathError;

/// Why an allocation filesystem request failed.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The path breaks the lexical rules (absolute, `..`, NUL).
    #[error(transparent)]
    InvalidPath(#[from] AllocPathError),
    /// The path resolves (through a symlink) outside the allocation directory.
    #[error("invalid path {path:?}: it resolves outside the allocation directory")]
    Escapes { path: String },
    /// Reading inside a task's `secrets` directory.
    #[error("Reading secret file prohibited: {path}")]
    SecretFile { path: String },
    /// Nothing at the path.
    #[error("no such file or directory: {path:?}")]
    NotFound { path: String },
    /// A file operation on a directory.
    #[error("file {path:?} is a directory")]
    IsDir { path: String },
    /// `ls` of something that is not a directory, or reading something that is not a file.
    #[error("{path:?} is not a {expected}")]
    WrongKind {
        path: String,
        expected: &'static str,
    },
    /// A request field is out of range or missing.
    #[error("{0}")]
    BadRequest(String),
    /// Migrating the data of an allocation whose tasks still run.
    #[error("allocation {0} is still running; its data migrates once it stopped")]
    AllocRunning(String),
    /// The data to migrate is larger than the replacement's ephemeral disk.
    #[error("the data to migrate exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    /// The allocation is not on this client.
    #[error("Unknown allocation {0:?}")]
    UnknownAlloc(String),
    /// The disk failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FsError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u32 {
        match self {
            Self::InvalidPath(_)
            | Self::Escapes { .. }
            | Self::IsDir { .. }
            | Self::WrongKind { .. }
            | Self::BadRequest(_) => 400,
            Self::SecretFile { .. } => 403,
            Self::NotFound { .. } | Self::UnknownAlloc(_) => 404,
            Self::AllocRunning(_) => 409,
            Self::TooLarge { .. } => 413,
            Self::Io { .. } => 500,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
