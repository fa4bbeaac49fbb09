//! Streams one task's log across its rotated files, from the start or the end, optionally
//! following new output (and rotations) until cancelled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::{StreamKind, log_files};
use crate::error::LogError;
use crate::shutdown::Stop;

/// Largest chunk sent at once.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// How often a following reader looks for new output.
pub const FOLLOW_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Where `offset` counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Start,
    End,
}

impl Origin {
    /// Parses `start` / `end` (empty means `start`).
    pub fn parse(s: &str) -> Result<Self, LogError> {
        match s {
            "" | "start" => Ok(Self::Start),
            "end" => Ok(Self::End),
            other => Err(LogError::InvalidRequest {
                reason: format!("origin must be \"start\" or \"end\", not {other:?}"),
            }),
        }
    }
}

/// What to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub task: String,
    pub stream: StreamKind,
    pub origin: Origin,
    /// Bytes to skip from the origin (from the end: how far back to begin).
    pub offset: u64,
    pub follow: bool,
}

/// A piece of a log: the file's name (in the log directory), the offset of the first byte
/// in that file, and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub file: String,
    pub offset: u64,
    pub data: Bytes,
}

struct Cursor {
    index: u64,
    name: String,
    file: tokio::fs::File,
    pos: u64,
}

/// Streams the log in `dir` into `out` until the end (not following), until `stop`, or
/// until `out` is closed.
pub async fn stream_log(
    dir: &Path,
    req: &LogRequest,
    out: &mpsc::Sender<LogChunk>,
    stop: &mut Stop,
) -> Result<(), LogError> {
    let Some(mut cur) = open_start(dir, req, stop).await? else {
        return Ok(());
    };
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        if stop.is_stopped() || out.is_closed() {
            return Ok(());
        }
        if read_and_send(&mut cur, &mut buf, out, stop).await? {
            continue;
        }
        let newer = log_files(dir, &req.task, req.stream)?
            .into_iter()
            .find(|(i, _)| *i > cur.index);
        if let Some((index, path)) = newer {
            // A newer file exists, so the current one is final: drain it, then move on.
            while read_and_send(&mut cur, &mut buf, out, stop).await? {}
            if let Some(next) = open_at(index, &path, 0).await? {
                cur = next;
            }
            continue;
        }
        if !req.follow || stop.sleep(FOLLOW_POLL_INTERVAL).await {
            return Ok(());
        }
    }
}

/// Reads one chunk at the cursor and sends it; false when there was nothing to read or the
/// stream ended.
async fn read_and_send(
    cur: &mut Cursor,
    buf: &mut [u8],
    out: &mpsc::Sender<LogChunk>,
    stop: &mut Stop,
) -> Result<bool, LogError> {
    let n = cur
        .file
        .read(buf)
        .await
        .map_err(|e| LogError::io("read", &cur.name, e))?;
    if n == 0 {
        return Ok(false);
    }
    let chunk = LogChunk {
        file: cur.name.clone(),
        offset: cur.pos,
        data: Bytes::copy_from_slice(&buf[..n]),
    };
    cur.pos += n as u64;
    tokio::select! {
        sent = out.send(chunk) => Ok(sent.is_ok()),
        () = stop.stopped() => Ok(false),
    }
}

/// Finds and opens the file and position the request starts at; waits for the first file
/// when following, and gives `None` when there is nothing to read.
async fn open_start(
    dir: &Path,
    req: &LogRequest,
    stop: &mut Stop,
) -> Result<Option<Cursor>, LogError> {
    loop {
        let mut sized = Vec::new();
        for (i, path) in log_files(dir, &req.task, req.stream)? {
            if let Ok(meta) = tokio::fs::metadata(&path).await {
                sized.push((i, path, meta.len()));
            }
        }
        if let Some((i, path, pos)) = start_position(&sized, req.origin, req.offset) {
            if let Some(cur) = open_at(i, &path, pos).await? {
                return Ok(Some(cur));
            }
            continue; // rotated away between listing and opening
        }
        if !req.follow || stop.sleep(FOLLOW_POLL_INTERVAL).await {
            return Ok(None);
        }
    }
}

/// Where `offset` from `origin` falls in the files `(index, path, size)`, sorted by index.
fn start_position(
    files: &[(u64, PathBuf, u64)],
    origin: Origin,
    offset: u64,
) -> Option<(u64, PathBuf, u64)> {
    let (first, last) = (files.first()?, files.last()?);
    let mut remaining = offset;
    match origin {
        Origin::Start => {
            for (i, path, size) in files {
                if remaining < *size {
                    return Some((*i, path.clone(), remaining));
                }
                remaining -= size;
            }
            Some((last.0, last.1.clone(), last.2))
        }
        Origin::End => {
            for (i, path, size) in files.iter().rev() {
                if remaining <= *size {
                    return Some((*i, path.clone(), size - remaining));
                }
                remaining -= size;
            }
            Some((first.0, first.1.clone(), 0))
        }
    }
}

/// Opens a log file at `pos`; `None` if it was deleted meanwhile.
async fn open_at(index: u64, path: &Path, pos: u64) -> Result<Option<Cursor>, LogError> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io("open", path, e)),
    };
    file.seek(std::io::SeekFrom::Start(pos))
        .await
        .map_err(|e| LogError::io("seek", path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some(Cursor {
        index,
        name,
        file,
        pos,
    }))
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
