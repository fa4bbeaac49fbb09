//! Serves one `FsRequest` from the tunnel: resolves the allocation, runs the operation and
//! answers with `StreamChunk`s (JSON for `ls`/`stat`, a tar.gz for `migrate tar`, file bytes
//! otherwise), then `eof`.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use nomadish_proto::node_v1::{FsOp, FsRequest, StreamChunk, TunnelFromClient, tunnel_from_client};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::FsError;
use super::migrate::pack_migration;
use super::ops::{list, open_file, stat};
use crate::allocrunner::AllocDir;
use crate::shutdown::Stop;
use crate::tunnel::TunnelDeps;

/// Largest chunk sent at once.
pub const FS_CHUNK_SIZE: usize = 64 * 1024;
/// How often a following stream looks for new bytes.
pub const FS_FOLLOW_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Serves `req`; returns its stream ID when done.
pub async fn serve_fs(
    deps: TunnelDeps,
    req: FsRequest,
    mut stop: Stop,
    tx: mpsc::Sender<TunnelFromClient>,
) -> u64 {
    let id = req.stream_id;
    let out = Out { id, tx: &tx };
    let end = match run(&deps, &req, &out, &mut stop).await {
        Ok(()) => StreamChunk {
            stream_id: id,
            eof: true,
            ..StreamChunk::default()
        },
        Err(e) => StreamChunk {
            stream_id: id,
            eof: true,
            error: e.to_string(),
            not_found: e.status() == 404,
            status: e.status(),
            ..StreamChunk::default()
        },
    };
    out.send(end).await;
    id
}

/// Where a request's chunks go.
struct Out<'a> {
    id: u64,
    tx: &'a mpsc::Sender<TunnelFromClient>,
}

impl Out<'_> {
    /// Sends a chunk; false once the tunnel is gone.
    async fn send(&self, chunk: StreamChunk) -> bool {
        let msg = TunnelFromClient {
            msg: Some(tunnel_from_client::Msg::Chunk(chunk)),
        };
        self.tx.send(msg).await.is_ok()
    }

    /// Sends `data` (from `file` at `offset`) in chunks of at most [`FS_CHUNK_SIZE`].
    async fn data(&self, file: &str, mut offset: u64, data: &[u8]) -> bool {
        for piece in data.chunks(FS_CHUNK_SIZE) {
            let chunk = StreamChunk {
                stream_id: self.id,
                data: piece.to_vec(),
                file: file.to_string(),
                offset: i64::try_from(offset).unwrap_or(i64::MAX),
                ..StreamChunk::default()
            };
            if !self.send(chunk).await {
                return false;
            }
            offset += piece.len() as u64;
        }
        true
    }
}

/// Runs a blocking filesystem operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FsError> + Send + 'static,
) -> Result<T, FsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FsError::io("join", PathBuf::new(), std::io::Error::other(e)))?
}

async fn run(
    deps: &TunnelDeps,
    req: &FsRequest,
    out: &Out<'_>,
    stop: &mut Stop,
) -> Result<(), FsError> {
    let root = AllocDir::new(&deps.alloc_root, &req.alloc_id)
        .filter(|_| deps.registry.get(&req.alloc_id).is_some())
        .ok_or_else(|| FsError::UnknownAlloc(req.alloc_id.clone()))?
        .root()
        .to_path_buf();
    let path = req.path.clone();
    let op = FsOp::try_from(req.op).unwrap_or(FsOp::Unspecified);
    match op {
        FsOp::Ls => {
            let infos = blocking(move || list(&root, &path)).await?;
            out.data("", 0, &json(&infos)?).await;
            Ok(())
        }
        FsOp::Stat => {
            let info = blocking(move || stat(&root, &path)).await?;
            out.data("", 0, &json(&info)?).await;
            Ok(())
        }
        FsOp::Cat | FsOp::ReadAt | FsOp::Stream => {
            let (opened, meta) = blocking(move || open_file(&root, &path)).await?;
            let read = plan_read(op, req, meta.len())?;
            let file = tokio::fs::File::from_std(opened.file);
            send_file(file, &opened.rel, read, out, stop).await
        }
        FsOp::MigrateTar => {
            let limit = u64::try_from(req.limit).ok().filter(|l| *l > 0);
            let packed = migrate_tar(deps, &req.alloc_id, root, limit).await?;
            out.data("", 0, &packed).await;
            Ok(())
        }
        FsOp::Unspecified => Err(FsError::BadRequest(format!(
            "unknown filesystem operation {}",
            req.op
        ))),
    }
}

/// Packs a stopped allocation's migrating directories (see [`super::migrate`]).
async fn migrate_tar(
    deps: &TunnelDeps,
    alloc_id: &str,
    root: PathBuf,
    limit: Option<u64>,
) -> Result<Vec<u8>, FsError> {
    if deps.state.alloc_running(alloc_id) {
        return Err(FsError::AllocRunning(alloc_id.to_string()));
    }
    let tasks: Vec<String> = deps
        .registry
        .get(alloc_id)
        .and_then(|a| {
            let group = a.job.as_ref()?.group(&a.task_group)?;
            Some(group.tasks.iter().map(|t| t.name.clone()).collect())
        })
        .unwrap_or_default();
    let packed = blocking(move || pack_migration(&root, &tasks, limit)).await?;
    if !packed.skipped.is_empty() {
        tracing::warn!(alloc_id, skipped = ?packed.skipped, "entries left out of the migrated data");
    }
    tracing::info!(
        alloc_id,
        bytes = packed.bytes.len(),
        "packed data for migration"
    );
    Ok(packed.bytes)
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FsError> {
    serde_json::to_vec(value).map_err(|e| FsError::io("encode", PathBuf::new(), e.into()))
}

/// Where a read starts, how much it may send, and whether it follows growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadPlan {
    pub start: u64,
    pub limit: Option<u64>,
    pub follow: bool,
}

/// The read a request asks for on a file of `size` bytes.
pub(crate) fn plan_read(op: FsOp, req: &FsRequest, size: u64) -> Result<ReadPlan, FsError> {
    let offset = u64::try_from(req.offset)
        .map_err(|_| FsError::BadRequest(format!("offset must not be negative: {}", req.offset)))?;
    match op {
        FsOp::ReadAt => Ok(ReadPlan {
            start: offset,
            limit: u64::try_from(req.limit).ok().filter(|l| *l > 0),
            follow: false,
        }),
        FsOp::Stream => {
            let start = match req.origin.as_str() {
                "" | "start" => offset,
                "end" => size.saturating_sub(offset),
                other => {
                    return Err(FsError::BadRequest(format!(
                        "origin must be start or end, not {other:?}"
                    )));
                }
            };
            Ok(ReadPlan {
                start,
                limit: None,
                follow: req.follow,
            })
        }
        _ => Ok(ReadPlan {
            start: 0,
            limit: None,
            follow: false,
        }),
    }
}

/// Sends the file's bytes per `plan`; when following, polls for growth until `stop`, the
/// file is deleted, or the tunnel goes. A truncated file is read again from its start.
async fn send_file(
    mut file: tokio::fs::File,
    rel: &str,
    plan: ReadPlan,
    out: &Out<'_>,
    stop: &mut Stop,
) -> Result<(), FsError> {
    let io = |op, e| FsError::io(op, rel, e);
    let mut pos = file
        .seek(std::io::SeekFrom::Start(plan.start))
        .await
        .map_err(|e| io("seek", e))?;
    let mut remaining = plan.limit.unwrap_or(u64::MAX);
    let mut buf = vec![0u8; FS_CHUNK_SIZE];
    while remaining > 0 && !stop.is_stopped() {
        let want = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = file
            .read(&mut buf[..want])
            .await
            .map_err(|e| io("read", e))?;
        if n > 0 {
            if !out.data(rel, pos, &buf[..n]).await {
                return Ok(());
            }
            pos += n as u64;
            remaining -= n as u64;
            continue;
        }
        if !plan.follow {
            return Ok(());
        }
        let meta = file.metadata().await.map_err(|e| io("stat", e))?;
        if meta.nlink() == 0 {
            return Ok(()); // deleted: nothing more will come
        }
        if meta.len() < pos {
            pos = file
                .seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(|e| io("seek", e))?;
            continue;
        }
        if stop.sleep(FS_FOLLOW_POLL_INTERVAL).await {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
