//! Task log files, as Nomad's logmon lays them out: `alloc/logs/<task>.<stream>.<N>`, where
//! `N` grows by one at each rotation and the oldest files beyond `MaxFiles` are deleted.
//!
//! ```text
//! task stdout pipe --> RotatingWriter --> web.stdout.0, web.stdout.1, ... (N grows)
//!                                                 ^
//! tunnel LogRequest --> stream_log (start|end, offset, follow) reads across files in order
//! ```

mod reader;
mod writer;

pub use reader::{LogChunk, LogRequest, Origin, stream_log};
pub use writer::RotatingWriter;

use std::path::{Path, PathBuf};

use crate::error::LogError;

/// The two streams a task writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Stdout,
    Stderr,
}

impl StreamKind {
    /// The stream's name in file names and requests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }

    /// Parses `stdout` / `stderr`.
    pub fn parse(s: &str) -> Result<Self, LogError> {
        match s {
            "stdout" => Ok(Self::Stdout),
            "stderr" => Ok(Self::Stderr),
            other => Err(LogError::InvalidRequest {
                reason: format!("log type must be \"stdout\" or \"stderr\", not {other:?}"),
            }),
        }
    }
}

/// The file-name prefix of a task's stream: `<task>.<stream>.`.
pub fn file_prefix(task: &str, stream: StreamKind) -> String {
    format!("{task}.{}.", stream.as_str())
}

/// A stream's log files in `dir`, sorted by index.
pub fn log_files(
    dir: &Path,
    task: &str,
    stream: StreamKind,
) -> Result<Vec<(u64, PathBuf)>, LogError> {
    let prefix = file_prefix(task, stream);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io("list", dir, e)),
    };
    let mut files: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let index = name.strip_prefix(&prefix)?.parse::<u64>().ok()?;
            Some((index, entry.path()))
        })
        .collect();
    files.sort_by_key(|(i, _)| *i);
    Ok(files)
}
