//! Remote migration of an ephemeral disk (`ephemeral_disk { migrate = true }`): a replacement
//! whose previous allocation ran on another node fetches that allocation's `alloc/data` and
//! each task's `local/` before its tasks start (Nomad's remote migration). Clients only talk
//! to servers, so the data comes through the `MigrateData` RPC, which the server relays
//! from the previous node's tunnel.
//!
//! ```text
//! previous alloc dir here? ── yes ──> sticky::take_previous_data (local move)
//!          │ no, and migrate = true
//!          v
//! MigrateData(alloc) ── FAILED_PRECONDITION / 409 (previous still running) ──> wait, again
//!          │ chunks … eof                          (up to PREVIOUS_STOP_WAIT)
//!          v
//! unpack the tar.gz into <alloc>/.migrate (artifact unpacker: nothing escapes), move
//! alloc/data/* and <task>/local/* into place, remove the staging directory
//! ```
//!
//! Any failure leaves the new directories as they were and is reported to the tasks as a
//! `Failed to migrate data: ...` event; the tasks start anyway, as in Nomad.

use std::time::Duration;

use nomadish_proto::model::{Allocation, Node, TaskGroup, now_ns};
use nomadish_proto::node_v1::MigrateDataRequest;

use super::allocdir::AllocDir;
use super::sticky::{self, PREVIOUS_STOP_WAIT, move_children};
use super::{AllocRunnerDeps, AllocTracker};
use crate::artifact::{ArchiveKind, unpack_tar};
use crate::fs::{DATA_DIR, TASK_LOCAL_DIR};
use crate::servers::{ServerPool, is_transport_failure};
use crate::taskrunner::events;

/// How long to wait before asking again while the previous allocation is still stopping.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// How many times a failing server connection is retried (through the next server).
const TRANSPORT_RETRIES: u32 = 3;
/// Staging directory inside the new allocation directory while unpacking.
const STAGING_DIR: &str = ".migrate";
/// Bytes in a megabyte of `ephemeral_disk.size`.
const MB: u64 = 1024 * 1024;

/// Takes over the previous allocation's data before the tasks start: moved locally when it
/// ran on this node (sticky), fetched from its node when the disk migrates. A failure is
/// recorded on every task as an event; the tasks start regardless.
pub(super) async fn take_previous_data(
    alloc: &Allocation,
    group: &TaskGroup,
    dir: &AllocDir,
    deps: &AllocRunnerDeps,
    tracker: &mut AllocTracker,
) {
    let disk = group.ephemeral_disk.clone().unwrap_or_default();
    if alloc.previous_allocation.is_empty() || !(disk.sticky || disk.migrate) {
        return;
    }
    let local = AllocDir::new(&deps.alloc_root, &alloc.previous_allocation)
        .is_some_and(|p| p.root().is_dir());
    let result = if local {
        let state = &deps.tasks.state;
        sticky::take_previous_data(alloc, group, dir, &deps.alloc_root, state).await
    } else if disk.migrate {
        let cap = u64::try_from(disk.size_mb).unwrap_or(0).saturating_mul(MB);
        fetch(alloc, group, dir, deps, cap).await
    } else {
        return;
    };
    match result {
        Ok(moved) => {
            tracing::info!(alloc_id = %alloc.id, previous = %alloc.previous_allocation, moved = moved.len(), remote = !local, "took over the previous allocation's data");
        }
        Err(e) => {
            tracing::warn!(alloc_id = %alloc.id, previous = %alloc.previous_allocation, error = %e, "previous allocation's data not migrated");
            record_failure(tracker, &e);
        }
    }
}

/// Adds a `Failed to migrate data` event to every task.
fn record_failure(tracker: &mut AllocTracker, error: &str) {
    let names: Vec<String> = tracker.states().keys().cloned().collect();
    for name in names {
        let mut state = tracker.states()[&name].clone();
        events::push(&mut state, events::migrate_failed(now_ns(), error));
        tracker.task_updated(&name, state);
    }
}

/// Fetches the packed data through the servers and unpacks it into `dir`.
async fn fetch(
    alloc: &Allocation,
    group: &TaskGroup,
    dir: &AllocDir,
    deps: &AllocRunnerDeps,
    cap: u64,
) -> Result<Vec<String>, String> {
    let pool = deps
        .tasks
        .servers
        .as_ref()
        .ok_or_else(|| "no servers to fetch the data through".to_string())?;
    let bytes = download(pool, &deps.tasks.node, &alloc.id, cap).await?;
    let tasks: Vec<String> = group.tasks.iter().map(|t| t.name.clone()).collect();
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || unpack_into(&bytes, &dir, &tasks))
        .await
        .map_err(|e| format!("unpacking: {e}"))?
}

/// Why one download attempt did not succeed.
enum Attempt {
    /// The previous allocation is still stopping: ask again later.
    Later(String),
    /// The server could not be reached: try again through another one.
    Transport(String),
    /// Nothing will change by asking again.
    Failed(String),
}

/// Downloads the tar.gz, waiting (up to [`PREVIOUS_STOP_WAIT`]) for the previous allocation
/// to stop.
async fn download(
    pool: &ServerPool,
    node: &Node,
    alloc_id: &str,
    cap: u64,
) -> Result<Vec<u8>, String> {
    let deadline = tokio::time::Instant::now() + PREVIOUS_STOP_WAIT;
    let mut transport_failures = 0;
    loop {
        let why = match attempt(pool, node, alloc_id, cap).await {
            Ok(bytes) => return Ok(bytes),
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Transport(e)) => {
                transport_failures += 1;
                if transport_failures > TRANSPORT_RETRIES {
                    return Err(e);
                }
                e
            }
            Err(Attempt::Later(e)) => e,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{why} (waited {PREVIOUS_STOP_WAIT:?})"));
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}

/// One `MigrateData` call, collecting its chunks.
async fn attempt(
    pool: &ServerPool,
    node: &Node,
    alloc_id: &str,
    cap: u64,
) -> Result<Vec<u8>, Attempt> {
    let (server, mut client) = pool.client();
    let req = MigrateDataRequest {
        node_id: node.id.clone(),
        secret_id: node.secret_id.clone(),
        alloc_id: alloc_id.to_string(),
    };
    let status_error = |status: tonic::Status| {
        let message = status.message().to_string();
        if status.code() == tonic::Code::FailedPrecondition {
            Attempt::Later(message)
        } else if status.code() != tonic::Code::Unavailable && is_transport_failure(&status) {
            pool.failover(&server);
            Attempt::Transport(message)
        } else {
            Attempt::Failed(message)
        }
    };
    let mut stream = client
        .migrate_data(req)
        .await
        .map_err(status_error)?
        .into_inner();
    // Compressed data may come out a little larger than the files it holds.
    let max = cap.saturating_add(cap / 8).saturating_add(MB);
    let mut bytes = Vec::new();
    loop {
        let chunk = stream
            .message()
            .await
            .map_err(status_error)?
            .ok_or_else(|| Attempt::Transport("the data stream ended early".to_string()))?;
        if !chunk.error.is_empty() {
            return Err(if chunk.status == 409 {
                Attempt::Later(chunk.error)
            } else {
                Attempt::Failed(chunk.error)
            });
        }
        bytes.extend_from_slice(&chunk.data);
        if cap > 0 && bytes.len() as u64 > max {
            return Err(Attempt::Failed(format!(
                "the migrated data exceeds the ephemeral disk's {cap} bytes"
            )));
        }
        if chunk.eof {
            return Ok(bytes);
        }
    }
}

/// Unpacks the archive into a staging directory inside `dir`, then moves `alloc/data` and
/// each task's `local/` into place; the staging directory is removed either way.
fn unpack_into(bytes: &[u8], dir: &AllocDir, tasks: &[String]) -> Result<Vec<String>, String> {
    let staging = dir.root().join(STAGING_DIR);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(|e| format!("create {}: {e}", staging.display()))?;
    let result = unpack_tar(ArchiveKind::TarGz, bytes, &staging).and_then(|()| {
        let mut moved = Vec::new();
        move_children(
            &staging.join(DATA_DIR),
            &dir.root().join(DATA_DIR),
            &mut moved,
        )?;
        for task in tasks {
            let from = staging.join(task).join(TASK_LOCAL_DIR);
            move_children(&from, &dir.task_dir(task).join(TASK_LOCAL_DIR), &mut moved)?;
        }
        Ok(moved)
    });
    if let Err(e) = std::fs::remove_dir_all(&staging) {
        tracing::warn!(dir = %staging.display(), error = %e, "removing the migration staging directory failed");
    }
    result
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn packed(alloc_dir: &Path, tasks: &[String]) -> Vec<u8> {
        crate::fs::pack_migration(alloc_dir, tasks, None)
            .unwrap()
            .bytes
    }

    #[tokio::test]
    async fn packed_data_lands_in_the_new_allocation_directory() {
        let root = tempfile::tempdir().unwrap();
        let old = AllocDir::new(root.path(), "old").unwrap();
        old.build().await.unwrap();
        old.build_task("t").await.unwrap();
        std::fs::write(old.root().join("alloc/data/db"), "v1").unwrap();
        std::fs::create_dir_all(old.task_dir("t").join("local/sub")).unwrap();
        std::fs::write(old.task_dir("t").join("local/sub/cache"), "c").unwrap();
        let tasks = vec!["t".to_string()];
        let bytes = packed(old.root(), &tasks);

        let new = AllocDir::new(root.path(), "new").unwrap();
        new.build().await.unwrap();
        let moved = unpack_into(&bytes, &new, &tasks).unwrap();
        assert_eq!(moved.len(), 2, "{moved:?}");
        let db = std::fs::read_to_string(new.root().join("alloc/data/db")).unwrap();
        assert_eq!(db, "v1");
        let cache = new.task_dir("t").join("local/sub/cache");
        assert_eq!(std::fs::read_to_string(cache).unwrap(), "c");
        assert!(!new.root().join(STAGING_DIR).exists());
    }

    #[tokio::test]
    async fn a_hostile_archive_changes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let new = AllocDir::new(root.path(), "new").unwrap();
        new.build().await.unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        tar.append_link(&mut h, "alloc/data/escape", "/etc")
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
        let bytes = gz.finish().unwrap();
        let err = unpack_into(&bytes, &new, &["t".to_string()]).unwrap_err();
        assert!(err.contains("points outside"), "{err}");
        assert!(!new.root().join("alloc/data/escape").exists());
        assert!(!new.root().join(STAGING_DIR).exists());
    }
}
