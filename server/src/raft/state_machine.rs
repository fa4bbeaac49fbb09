//! The raft state machine: applies committed entries to the in-memory [`StateStore`] and keeps
//! the latest snapshot of it in a file beside the sled store.
//!
//! The tables live in memory; what makes them durable is the raft log (flushed before every
//! acknowledgement) plus the latest snapshot stored here. On start the state is restored from
//! the snapshot and openraft re-applies the committed log after it.
//!
//! The snapshot lives in its own file (`state.snapshot`: the metadata's length as 8 bytes
//! little-endian, the metadata as JSON, then the encoded tables), written to a temporary
//! file, synced and renamed into place. Kept in sled, a snapshot of many megabytes had to be
//! written out by the next flush of the raft log, stalling every write behind it. Stores
//! written before that keep their snapshot in sled's `raft_snapshot` tree, read when no file
//! exists yet.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use openraft::storage::RaftStateMachine;
use openraft::{
    Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::{NodeId, RaftStoreError, ServerNode, TypeConfig};
use crate::fsm::{self, CommandResponse};
use crate::state::{StateStore, decode_snapshot, encode_stored_snapshot};
use nomadish_proto::model::Evaluation;

const SNAPSHOT_META_KEY: &[u8] = b"meta";
const SNAPSHOT_DATA_KEY: &[u8] = b"data";

type StoreResult<T> = Result<T, StorageError<NodeId>>;
/// A stored snapshot: its metadata and encoded tables.
type StoredSnapshot = (SnapshotMeta<NodeId, ServerNode>, Vec<u8>);

/// What the state machine has applied.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Applied {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, ServerNode>,
}

/// Receives the evaluations each applied entry left pending or blocked (the leader's broker).
pub type EvalSink = Arc<dyn Fn(Vec<Arc<Evaluation>>) + Send + Sync>;

/// The state machine; cloning shares it.
#[derive(Clone)]
pub struct StateMachine {
    state: StateStore,
    eval_sink: Arc<Mutex<Option<EvalSink>>>,
    /// Held while applying, so a snapshot sees tables and `Applied` at the same index.
    applied: Arc<Mutex<Applied>>,
    /// The sled tree older stores kept their snapshot in (read only).
    snapshots: sled::Tree,
    /// The snapshot file.
    snapshot_file: Arc<std::path::Path>,
}

fn sm_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(&e).into()
}

fn snap_read_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_snapshot(None, &e).into()
}

impl StateMachine {
    /// Opens the snapshot tree and restores the state from the latest snapshot, if any.
    pub fn open(
        db: &sled::Db,
        dir: &std::path::Path,
        state: StateStore,
    ) -> Result<Self, RaftStoreError> {
        let sled_err = |source| RaftStoreError::Sled {
            path: "snapshots".into(),
            source,
        };
        let snapshots = db.open_tree("raft_snapshot").map_err(sled_err)?;
        let sm = Self {
            state,
            eval_sink: Arc::default(),
            applied: Arc::new(Mutex::new(Applied::default())),
            snapshots,
            snapshot_file: dir.join(SNAPSHOT_FILE).into(),
        };
        if let Some((meta, data)) = sm
            .read_snapshot()
            .map_err(|e| RaftStoreError::Snapshot(e.to_string()))?
        {
            let view =
                decode_snapshot(&data).map_err(|e| RaftStoreError::Snapshot(e.to_string()))?;
            sm.state.replace(view);
            *sm.lock() = Applied {
                last_applied: meta.last_log_id,
                membership: meta.last_membership,
            };
        }
        Ok(sm)
    }

    /// Routes evaluations left pending or blocked by applied entries to `sink`.
    pub fn set_eval_sink(&self, sink: EvalSink) {
        *self.eval_sink.lock().unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Applied> {
        self.applied.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_snapshot(&self) -> StoreResult<Option<StoredSnapshot>> {
        match std::fs::read(&self.snapshot_file) {
            Ok(bytes) => return split_snapshot_file(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(snap_read_err(e)),
        }
        let meta = self
            .snapshots
            .get(SNAPSHOT_META_KEY)
            .map_err(snap_read_err)?;
        let data = self
            .snapshots
            .get(SNAPSHOT_DATA_KEY)
            .map_err(snap_read_err)?;
        match (meta, data) {
            (Some(meta), Some(data)) => {
                let meta = serde_json::from_slice(&meta).map_err(snap_read_err)?;
                Ok(Some((meta, data.to_vec())))
            }
            _ => Ok(None),
        }
    }

    /// Writes the snapshot file; hands `data` back (it is written where it is, not copied
    /// behind the header).
    async fn save_snapshot(
        &self,
        meta: &SnapshotMeta<NodeId, ServerNode>,
        data: Vec<u8>,
    ) -> StoreResult<Vec<u8>> {
        let meta_bytes = serde_json::to_vec(meta).map_err(sm_err)?;
        let mut header = Vec::with_capacity(8 + meta_bytes.len());
        header.extend_from_slice(&(meta_bytes.len() as u64).to_le_bytes());
        header.extend_from_slice(&meta_bytes);
        let file = self.snapshot_file.clone();
        tokio::task::spawn_blocking(move || {
            write_durably(&file, &[&header, &data])?;
            Ok::<_, std::io::Error>(data)
        })
        .await
        .map_err(sm_err)?
        .map_err(sm_err)
    }
}

/// The snapshot's file name in the raft directory.
const SNAPSHOT_FILE: &str = "state.snapshot";
/// Bytes of a snapshot file written between two syncs. The raft log's flushes share the disk
/// (and ext4's journal) with the snapshot: synced piece by piece, a flush waits at most for one
/// piece to reach the disk, not for the whole file.
const SNAPSHOT_SYNC_PIECE: usize = 4 << 20;
/// The nice value of the thread that encodes a snapshot: it takes the CPU the write path
/// leaves over instead of delaying the writes.
const SNAPSHOT_NICE: i32 = 10;

/// Metadata and tables of a snapshot file.
fn split_snapshot_file(bytes: &[u8]) -> StoreResult<StoredSnapshot> {
    let corrupt = || {
        snap_read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "snapshot file is truncated",
        ))
    };
    let (len, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| corrupt())?;
    if rest.len() < len {
        return Err(corrupt());
    }
    let (meta, data) = rest.split_at(len);
    let meta = serde_json::from_slice(meta).map_err(snap_read_err)?;
    Ok((meta, data.to_vec()))
}

/// Replaces `path` with `parts`, one after the other, so that a crash leaves the old file or
/// the new one, whole.
fn write_durably(path: &std::path::Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    for piece in parts.iter().flat_map(|p| p.chunks(SNAPSHOT_SYNC_PIECE)) {
        file.write_all(piece)?;
        file.sync_data()?;
    }
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Runs `work` on a thread of its own at nice [`SNAPSHOT_NICE`] and returns its result.
async fn in_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("snapshot".to_string())
        .spawn(move || {
            // On Linux a nice value belongs to the thread: this one alone runs at it.
            if let Err(e) = rustix::process::setpriority_process(None, SNAPSHOT_NICE) {
                tracing::debug!(error = %e, "the snapshot thread keeps its priority");
            }
            let _ = tx.send(work());
        })?;
    rx.await
        .map_err(|_| std::io::Error::other("the snapshot thread panicked"))
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<TypeConfig>> {
        let (view, applied) = {
            let applied = self.lock();
            (self.state.snapshot(), applied.clone())
        };
        let data = in_background(move || encode_stored_snapshot(&view))
            .await
            .map_err(sm_err)?
            .map_err(sm_err)?;
        let snapshot_id = match applied.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, data.len()),
            None => format!("0-0-{}", data.len()),
        };
        let meta = SnapshotMeta {
            last_log_id: applied.last_applied,
            last_membership: applied.membership,
            snapshot_id,
        };
        let data = self.save_snapshot(&meta, data).await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, ServerNode>)> {
        let applied = self.lock();
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<CommandResponse>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let batch_started = std::time::Instant::now();
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        let mut touched_evals = Vec::new();
        let responses = self.state.update(|view| {
            entries
                .into_iter()
                .map(|entry| {
                    let index = entry.log_id.index;
                    applied.last_applied = Some(entry.log_id);
                    match entry.payload {
                        EntryPayload::Normal(cmd) => {
                            let ids = cmd.eval_ids();
                            let (metric, started) = (cmd.metric_name(), std::time::Instant::now());
                            let resp = fsm::apply(view, index, cmd);
                            crate::metrics::measure_since(metric, &[], started);
                            if resp.error.is_none() {
                                touched_evals.extend(
                                    ids.iter().filter_map(|id| view.evals.get(id).cloned()),
                                );
                            }
                            resp
                        }
                        EntryPayload::Membership(m) => {
                            applied.membership = StoredMembership::new(Some(entry.log_id), m);
                            view.index = view.index.max(index);
                            CommandResponse {
                                index,
                                ..CommandResponse::default()
                            }
                        }
                        EntryPayload::Blank => {
                            view.index = view.index.max(index);
                            CommandResponse {
                                index,
                                ..CommandResponse::default()
                            }
                        }
                    }
                })
                .collect()
        });
        drop(applied);
        crate::metrics::measure_since("nomad.raft.fsm.apply", &[], batch_started);
        touched_evals.retain(|e| !e.terminal());
        if !touched_evals.is_empty() {
            let sink = self
                .eval_sink
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(sink) = sink {
                sink(touched_evals);
            }
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, ServerNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        let data = snapshot.into_inner();
        let view = decode_snapshot(&data).map_err(snap_read_err)?;
        self.save_snapshot(meta, data).await?;
        let mut applied = self.lock();
        self.state.replace(view);
        *applied = Applied {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<TypeConfig>>> {
        Ok(self.read_snapshot()?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine")
            .field("applied", &self.lock().last_applied)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn a_snapshot_file_round_trips_and_a_truncated_one_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(SNAPSHOT_FILE);
        let meta = SnapshotMeta::<NodeId, ServerNode>::default();
        let meta_bytes = serde_json::to_vec(&meta).expect("meta");
        let mut bytes = (meta_bytes.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&meta_bytes);
        bytes.extend_from_slice(b"tables");
        write_durably(&path, &[&bytes]).expect("written");
        let read = std::fs::read(&path).expect("read");
        let (back, data) = split_snapshot_file(&read).expect("whole file");
        assert_eq!((back, data.as_slice()), (meta, &b"tables"[..]));
        assert!(split_snapshot_file(&read[..read.len() - 7]).is_err());
        assert!(split_snapshot_file(&read[..3]).is_err());
    }
}
