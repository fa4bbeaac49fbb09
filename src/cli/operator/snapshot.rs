//! `operator snapshot save | restore | inspect`, and reading a snapshot file's header.
//!
//! ```text
//! save:    GET /v1/operator/snapshot -> .FILE.XXXX.tmp (same directory) -> fsync
//!          -> header checked -> rename to FILE (never over an existing file)
//! restore: header checked -> PUT /v1/operator/snapshot, the file streamed as the body
//! inspect: header -> key = value, and the object counts
//! ```

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nomadish_proto::model::{SNAPSHOT_FORMAT, SnapshotHeader};
use reqwest::Method;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::{
    SnapshotInspectArgs, SnapshotRestoreArgs, SnapshotSaveArgs, operator_client, stale_query,
};
use crate::cli::api::ApiClient;
use crate::cli::format::{format_kv, format_list, format_unix_nanos, ibytes, pretty_json};
use crate::cli::{EXIT_ERROR, EXIT_OK};

/// `GET` a snapshot, `PUT` one back.
pub const SNAPSHOT_PATH: &str = "/v1/operator/snapshot";
/// The snapshot format version this build reads and writes.
pub const SNAPSHOT_VERSION: u32 = 1;
/// The longest first line read as a header; a file without a newline before it is refused.
pub const MAX_HEADER_BYTES: u64 = 64 * 1024;

/// Why a file is not a snapshot this build can use.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not start with a nomadish snapshot header.
    #[error("{path} is not a nomadish snapshot: {reason}")]
    NotSnapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A nomadish snapshot of a format version this build does not know.
    #[error(
        "{path} is a nomadish snapshot of format version {version}; this build reads version {SNAPSHOT_VERSION}"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version it claims.
        version: u32,
    },
}

/// What a snapshot file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The header line.
    pub header: SnapshotHeader,
    /// The file's size in bytes.
    pub size: u64,
}

impl SnapshotInfo {
    /// An ID in Nomad's `<term>-<index>-<unix ms>` form.
    pub fn id(&self) -> String {
        let h = &self.header;
        format!(
            "{}-{}-{}",
            h.term,
            h.index,
            h.create_time.max(0) / 1_000_000
        )
    }
}

/// Reads and checks the header of the snapshot file at `path`.
pub fn read_header(path: &Path) -> Result<SnapshotInfo, SnapshotFileError> {
    let read_err = |source| SnapshotFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    let mut line = Vec::new();
    BufReader::new(file)
        .take(MAX_HEADER_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(read_err)?;
    let header = parse_header(&line).map_err(|reason| SnapshotFileError::NotSnapshot {
        path: path.to_path_buf(),
        reason,
    })?;
    if header.version != SNAPSHOT_VERSION {
        return Err(SnapshotFileError::Version {
            path: path.to_path_buf(),
            version: header.version,
        });
    }
    Ok(SnapshotInfo { header, size })
}

/// Parses a snapshot's first line (with its newline); the error says what is wrong.
pub fn parse_header(line: &[u8]) -> Result<SnapshotHeader, String> {
    let Some(json) = line.strip_suffix(b"\n") else {
        return Err(if line.is_empty() {
            "the file is empty".to_string()
        } else {
            format!("no header line in its first {MAX_HEADER_BYTES} bytes")
        });
    };
    let header: SnapshotHeader = serde_json::from_slice(json)
        .map_err(|e| format!("the first line is not a snapshot header ({e})"))?;
    if header.format != SNAPSHOT_FORMAT {
        return Err(format!(
            "the header's format is {:?}, not {SNAPSHOT_FORMAT:?}",
            header.format
        ));
    }
    Ok(header)
}

/// `operator snapshot save [FILE]`.
pub async fn save(args: SnapshotSaveArgs) -> i32 {
    let path = args.file.clone().unwrap_or_else(default_file_name);
    if std::fs::symlink_metadata(&path).is_ok() {
        eprintln!(
            "Destination file already exists: {:?}",
            path.display().to_string()
        );
        return EXIT_ERROR;
    }
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    match download(&api, args.stale, &path).await {
        Ok(()) => {
            println!("State file written to {}", path.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_ERROR
        }
    }
}

/// `nomadish-state-YYYYMMDD-UNIX.snap` in the current directory, as Nomad names its default.
pub fn default_file_name() -> PathBuf {
    let now = SystemTime::now();
    let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let date: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .take(10)
        .filter(char::is_ascii_digit)
        .collect();
    PathBuf::from(format!("nomadish-state-{date}-{unix}.snap"))
}

/// Streams the snapshot into a temporary file beside `path`, checks it, and moves it into
/// place; the temporary file is removed on any failure.
async fn download(api: &ApiClient, stale: bool, path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map_or_else(
        || "snapshot".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| format!("Failed to create file: {e}"))?;
    let mut resp = api
        .get_stream(SNAPSHOT_PATH, &stale_query(stale))
        .await
        .map_err(|e| format!("Failed to get snapshot file: {e}"))?;
    let copy_err = |e: &dyn std::fmt::Display| format!("Failed to download snapshot file: {e}");
    let std_file = temp.as_file().try_clone().map_err(|e| copy_err(&e))?;
    let mut out = tokio::fs::File::from_std(std_file);
    while let Some(chunk) = resp.chunk().await.map_err(|e| copy_err(&e))? {
        out.write_all(&chunk).await.map_err(|e| copy_err(&e))?;
    }
    out.flush().await.map_err(|e| copy_err(&e))?;
    out.sync_all().await.map_err(|e| copy_err(&e))?;
    read_header(temp.path())
        .map_err(|e| format!("Failed to save snapshot: the agent's answer is unusable: {e}"))?;
    temp.persist_noclobber(path)
        .map_err(|e| format!("Failed to finalize snapshot file: {}", e.error))?;
    // The rename is durable once the directory is synced; a failure here leaves a complete
    // file in place, so it is not reported as an error.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `operator snapshot restore FILE`: nothing is sent unless the file is a snapshot.
pub async fn restore(args: SnapshotRestoreArgs) -> i32 {
    if let Err(e) = read_header(&args.file) {
        eprintln!("Error verifying snapshot file: {e}");
        return EXIT_ERROR;
    }
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    let file = match tokio::fs::File::open(&args.file).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("Error opening snapshot file: {e}");
            return EXIT_ERROR;
        }
    };
    let body = reqwest::Body::from(file);
    match api
        .send_raw(Method::PUT, SNAPSHOT_PATH, &[], Some(body))
        .await
    {
        Ok(_) => {
            println!("Snapshot Restored");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Failed to restore snapshot: {e}");
            EXIT_ERROR
        }
    }
}

/// `operator snapshot inspect FILE`: reads only the local file.
pub fn inspect(args: &SnapshotInspectArgs) -> i32 {
    let info = match read_header(&args.file) {
        Ok(info) => info,
        Err(e) => {
            eprintln!("Error inspecting snapshot: {e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&inspect_json(&info)));
    } else {
        println!("{}", inspect_text(&info));
    }
    EXIT_OK
}

/// The object counts, in the order the text and JSON list them.
fn counts(h: &SnapshotHeader) -> [(&'static str, u64); 4] {
    [
        ("Jobs", h.jobs),
        ("Evaluations", h.evaluations),
        ("Allocations", h.allocations),
        ("Nodes", h.nodes),
    ]
}

/// Nomad's inspect layout: a `key = value` block, then a `Type  Count` table.
pub fn inspect_text(info: &SnapshotInfo) -> String {
    let h = &info.header;
    let head = format_kv(&[
        ("Created", format_unix_nanos(h.create_time)),
        ("ID", info.id()),
        ("Size", ibytes(info.size)),
        ("Index", h.index.to_string()),
        ("Term", h.term.to_string()),
        ("Version", h.version.to_string()),
    ]);
    let mut rows = vec![
        vec!["Type".to_string(), "Count".to_string()],
        vec!["----".to_string(), "-----".to_string()],
    ];
    for (name, count) in counts(h) {
        rows.push(vec![name.to_string(), count.to_string()]);
    }
    format!("{head}\n\n{}", format_list(&rows))
}

/// `-json` output: Nomad's `{"Meta": ..., "Stats": [...]}` shape, fields in this order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectOutput {
    /// About the file.
    pub meta: InspectMeta,
    /// Objects by type.
    pub stats: Vec<InspectStat>,
}

/// `Meta` of [`InspectOutput`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectMeta {
    /// `<term>-<index>-<unix ms>`.
    #[serde(rename = "ID")]
    pub id: String,
    /// File size in bytes.
    pub size: u64,
    /// Raft index.
    pub index: u64,
    /// Raft term.
    pub term: u64,
    /// Format version.
    pub version: u32,
    /// Always `nomadish-snapshot`.
    pub format: String,
    /// Unix ns.
    pub create_time: i64,
}

/// One entry of `Stats`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectStat {
    /// `Jobs`, `Evaluations`, ...
    pub name: &'static str,
    /// How many.
    pub count: u64,
}

/// The `-json` output for `info`.
pub fn inspect_json(info: &SnapshotInfo) -> InspectOutput {
    let h = &info.header;
    InspectOutput {
        meta: InspectMeta {
            id: info.id(),
            size: info.size,
            index: h.index,
            term: h.term,
            version: h.version,
            format: h.format.clone(),
            create_time: h.create_time,
        },
        stats: counts(h)
            .into_iter()
            .map(|(name, count)| InspectStat { name, count })
            .collect(),
    }
}
