//! The audit log writer: one hash-chained JSON line per write and per denied request.
//!
//! ```text
//!   <data_dir>/server/audit.log:
//!   {"prev":"000…","time":…,"accessor":…,"method":"POST","path":"/v1/jobs",…}   hash h1
//!   {"prev":"h1",…}                                                              hash h2
//! ```
//!
//! Lines are appended and flushed before the answer leaves (a crash can lose at most the
//! line being written). On start the chain resumes from the file's last line, so a restart
//! does not break it. `nomadish operator audit verify FILE` checks a log.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nomadish_acl::audit::{AuditRecord, GENESIS, chain_line, line_hash};

/// Bytes read from the end of an existing log to find its last line.
const TAIL_BYTES: u64 = 256 * 1024;

/// An append-only, hash-chained audit log (or none).
#[derive(Debug, Default)]
pub struct AuditLog {
    inner: Mutex<Option<Writer>>,
    path: Option<PathBuf>,
}

#[derive(Debug)]
struct Writer {
    file: File,
    prev: String,
}

impl AuditLog {
    /// A log that records nothing.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Opens (or creates) the log at `path`, resuming its chain.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let prev = last_line(&mut file)?
            .map(|l| line_hash(&l))
            .unwrap_or_else(|| GENESIS.to_string());
        Ok(Self {
            inner: Mutex::new(Some(Writer { file, prev })),
            path: Some(path.to_path_buf()),
        })
    }

    /// Where the log is written, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one record.
    pub fn record(&self, rec: &AuditRecord) {
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let Some(w) = guard.as_mut() else {
            return;
        };
        let (line, hash) = chain_line(&w.prev, rec);
        match w
            .file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| w.file.flush())
        {
            Ok(()) => w.prev = hash,
            Err(e) => tracing::error!(error = %e, "cannot append to the audit log"),
        }
    }
}

/// The last complete line of the file, if any.
fn last_line(file: &mut File) -> std::io::Result<Option<String>> {
    let len = file.seek(SeekFrom::End(0))?;
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    Ok(tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str) -> AuditRecord {
        AuditRecord {
            time: "2026-01-01T00:00:00Z".into(),
            accessor: "acc".into(),
            remote: "127.0.0.1:1".into(),
            method: "POST".into(),
            path: path.into(),
            namespace: "default".into(),
            outcome: "allowed".into(),
            status: 200,
        }
    }

    #[test]
    fn the_chain_survives_a_reopen_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        AuditLog::open(&path).unwrap().record(&rec("/v1/a"));
        let log = AuditLog::open(&path).unwrap();
        log.record(&rec("/v1/b"));
        log.record(&rec("/v1/c"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert_eq!(nomadish_acl::audit::verify(&text).unwrap(), 3);
    }
}
