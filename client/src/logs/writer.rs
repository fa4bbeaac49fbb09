//! A log writer for one stream of one task that rotates by size and prunes old files.

use std::path::{Path, PathBuf};

use nomadish_proto::model::LogConfig;
use tokio::io::AsyncWriteExt;

use super::{StreamKind, file_prefix, log_files};
use crate::error::LogError;

/// Bytes in a megabyte of `MaxFileSizeMB`.
const BYTES_PER_MB: u64 = 1024 * 1024;

/// Writes `<task>.<stream>.<N>` in a log directory, moving to `N+1` when the file reaches the
/// size limit and deleting files older than the newest `max_files`.
#[derive(Debug)]
pub struct RotatingWriter {
    dir: PathBuf,
    task: String,
    stream: StreamKind,
    prefix: String,
    max_files: u64,
    max_bytes: u64,
    index: u64,
    size: u64,
    file: tokio::fs::File,
}

impl RotatingWriter {
    /// Opens the writer with the limits of a task's `logs` block.
    pub async fn open(
        dir: &Path,
        task: &str,
        stream: StreamKind,
        config: &LogConfig,
    ) -> Result<Self, LogError> {
        let max_files = u64::try_from(config.max_files).unwrap_or(1).max(1);
        let max_bytes = u64::try_from(config.max_file_size_mb).unwrap_or(1).max(1) * BYTES_PER_MB;
        Self::open_with_limits(dir, task, stream, max_files, max_bytes).await
    }

    /// Opens the writer with explicit limits; continues the newest existing file if it still
    /// has room (a restarted task appends to its log as in Nomad).
    pub async fn open_with_limits(
        dir: &Path,
        task: &str,
        stream: StreamKind,
        max_files: u64,
        max_bytes: u64,
    ) -> Result<Self, LogError> {
        let existing = log_files(dir, task, stream)?;
        let (index, size) = match existing.last() {
            Some((i, path)) => {
                let size = tokio::fs::metadata(path)
                    .await
                    .map_err(|e| LogError::io("stat", path, e))?
                    .len();
                if size >= max_bytes {
                    (i + 1, 0)
                } else {
                    (*i, size)
                }
            }
            None => (0, 0),
        };
        let prefix = file_prefix(task, stream);
        let file = open_append(&dir.join(format!("{prefix}{index}"))).await?;
        let writer = Self {
            dir: dir.to_path_buf(),
            task: task.to_string(),
            stream,
            prefix,
            max_files: max_files.max(1),
            max_bytes: max_bytes.max(1),
            index,
            size,
            file,
        };
        writer.prune().await?;
        Ok(writer)
    }

    /// Writes all of `buf`, rotating as often as needed, and flushes it to the file.
    pub async fn write(&mut self, mut buf: &[u8]) -> Result<(), LogError> {
        while !buf.is_empty() {
            if self.size >= self.max_bytes {
                self.rotate().await?;
            }
            let room = usize::try_from(self.max_bytes - self.size).unwrap_or(usize::MAX);
            let n = room.min(buf.len());
            self.file
                .write_all(&buf[..n])
                .await
                .map_err(|e| LogError::io("write", self.current_path(), e))?;
            self.size += n as u64;
            buf = &buf[n..];
        }
        self.file
            .flush()
            .await
            .map_err(|e| LogError::io("flush", self.current_path(), e))
    }

    /// The index of the file being written.
    pub fn index(&self) -> u64 {
        self.index
    }

    fn current_path(&self) -> PathBuf {
        self.dir.join(format!("{}{}", self.prefix, self.index))
    }

    async fn rotate(&mut self) -> Result<(), LogError> {
        self.file
            .flush()
            .await
            .map_err(|e| LogError::io("flush", self.current_path(), e))?;
        self.index += 1;
        self.size = 0;
        self.file = open_append(&self.current_path()).await?;
        self.prune().await
    }

    /// Deletes files whose index is older than the newest `max_files`.
    async fn prune(&self) -> Result<(), LogError> {
        let Some(oldest_kept) = (self.index + 1).checked_sub(self.max_files) else {
            return Ok(());
        };
        for (i, path) in log_files(&self.dir, &self.task, self.stream)? {
            if i < oldest_kept {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io("remove", path, e)),
                }
            }
        }
        Ok(())
    }
}

async fn open_append(path: &Path) -> Result<tokio::fs::File, LogError> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(|e| LogError::io("open", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn rotates_at_the_size_limit_and_prunes_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RotatingWriter::open_with_limits(dir.path(), "web", StreamKind::Stdout, 3, 10)
            .await
            .unwrap();
        w.write(b"0123456789abcdefghij").await.unwrap();
        assert_eq!(names(dir.path()), ["web.stdout.0", "web.stdout.1"]);
        w.write(b"klmnopqrstuvwxyz!").await.unwrap();
        // 37 bytes in 10-byte files: indexes 0..=3, only the newest 3 are kept.
        assert_eq!(
            names(dir.path()),
            ["web.stdout.1", "web.stdout.2", "web.stdout.3"]
        );
        let read =
            |i: u64| std::fs::read_to_string(dir.path().join(format!("web.stdout.{i}"))).unwrap();
        assert_eq!(read(1), "abcdefghij");
        assert_eq!(read(2), "klmnopqrst");
        assert_eq!(read(3), "uvwxyz!");
        assert_eq!(w.index(), 3);
    }

    #[tokio::test]
    async fn reopening_appends_to_the_newest_file_with_room() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut w =
                RotatingWriter::open_with_limits(dir.path(), "t", StreamKind::Stderr, 5, 10)
                    .await
                    .unwrap();
            w.write(b"abc").await.unwrap();
        }
        let mut w = RotatingWriter::open_with_limits(dir.path(), "t", StreamKind::Stderr, 5, 10)
            .await
            .unwrap();
        w.write(b"defghijkl").await.unwrap();
        let read =
            |i: u64| std::fs::read_to_string(dir.path().join(format!("t.stderr.{i}"))).unwrap();
        assert_eq!(read(0), "abcdefghij");
        assert_eq!(read(1), "kl");
    }

    #[tokio::test]
    async fn a_full_newest_file_starts_the_next_index() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.stdout.4"), b"0123456789").unwrap();
        let w = RotatingWriter::open_with_limits(dir.path(), "t", StreamKind::Stdout, 5, 10)
            .await
            .unwrap();
        assert_eq!(w.index(), 5);
    }
}
