//! The raft log: entries in segment files ([`super::log_file`]), the vote and bookkeeping in
//! a sled meta tree. An append is acknowledged to openraft only after its file is synced.
//!
//! `append` writes the entries into the newest segment and returns; a flusher task
//! acknowledges them once a sync that began after they were written has finished. Appends
//! that arrive while a sync runs share the next one, and raft goes on (sending the same
//! entries to the followers) while the leader's own sync is under way, instead of one after
//! the other.
//!
//! Only the entries' positions stay in memory; raft reads entries back (to replicate or apply
//! them) from the files, which the page cache usually still holds.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, RaftLogReader, StorageError, StorageIOError, Vote};

use tokio::sync::mpsc;

use super::log_file::LogFiles;
use super::{NodeId, TypeConfig};

const VOTE_KEY: &[u8] = b"vote";
const COMMITTED_KEY: &[u8] = b"committed";
const PURGED_KEY: &[u8] = b"last_purged";
/// The sled tree earlier versions kept the log in; moved into segment files on open.
const LEGACY_LOG_TREE: &str = "raft_log";
/// The segment files' directory, under the store's directory.
const LOG_DIR: &str = "raft-log";

/// The raft log storage.
#[derive(Debug, Clone)]
pub struct LogStore {
    db: sled::Db,
    meta: sled::Tree,
    shared: Arc<Mutex<Shared>>,
    /// Appends waiting for a sync (the flusher task starts on first use, in the runtime).
    flusher: Arc<OnceLock<mpsc::UnboundedSender<LogFlushed<TypeConfig>>>>,
}

#[derive(Debug)]
struct Shared {
    files: LogFiles,
    last_purged: Option<LogId<NodeId>>,
    /// The last entry's ID (or the last purged one).
    last: Option<LogId<NodeId>>,
}

type StoreResult<T> = Result<T, StorageError<NodeId>>;

fn read_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_logs(&e).into()
}

fn decode(bytes: &[u8]) -> StoreResult<Entry<TypeConfig>> {
    serde_json::from_slice(bytes).map_err(read_err)
}

/// The ID of entry `index`, read from the files (`None` when they do not hold it).
fn entry_id(files: &LogFiles, index: Option<u64>) -> StoreResult<Option<LogId<NodeId>>> {
    let Some(pending) = index.and_then(|i| files.locate(i, i + 1).pop()) else {
        return Ok(None);
    };
    Ok(Some(decode(&pending.read().map_err(read_err)?)?.log_id))
}

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The meta tree or the legacy log tree.
    #[error(transparent)]
    Sled(#[from] sled::Error),
    /// The segment files.
    #[error("raft log: {0}")]
    Files(#[from] std::io::Error),
    /// The stored bookkeeping or the last entry did not decode.
    #[error("raft log: {0}")]
    Decode(#[from] serde_json::Error),
}

impl LogStore {
    /// Opens the log under `dir` (the sled database `db` lives there too), moving entries an
    /// earlier version kept in sled into segment files.
    pub fn open(db: &sled::Db, dir: &Path) -> Result<Self, OpenError> {
        let meta = db.open_tree("raft_meta")?;
        let last_purged: Option<LogId<NodeId>> = match meta.get(PURGED_KEY)? {
            Some(bytes) => Some(serde_json::from_slice(&bytes)?),
            None => None,
        };
        let files_dir = dir.join(LOG_DIR);
        let purged_index = last_purged.map(|p| p.index);
        let mut files = LogFiles::open(&files_dir, purged_index)?;
        let legacy = db.open_tree(LEGACY_LOG_TREE)?;
        if !legacy.is_empty() {
            // The tree is cleared only once the files hold it all, so files next to a
            // non-empty tree are an interrupted move: start it again.
            std::fs::remove_dir_all(&files_dir)?;
            files = LogFiles::open(&files_dir, purged_index)?;
            let mut moved = 0usize;
            for kv in legacy.iter() {
                let (k, v) = kv?;
                let index = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| {
                    std::io::Error::other("raft log: a legacy key is not an index")
                })?);
                if index >= files.first_index() {
                    files.append([(index, v.as_ref())])?;
                    moved += 1;
                }
            }
            if let Some(file) = files.newest() {
                file.sync_data()?;
            }
            legacy.clear()?;
            db.flush()?;
            tracing::info!(
                entries = moved,
                "raft log moved from sled into segment files"
            );
        }
        let last = entry_id(&files, files.next_index().checked_sub(1))
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .or(last_purged);
        Ok(Self {
            db: db.clone(),
            meta,
            shared: Arc::new(Mutex::new(Shared {
                files,
                last_purged,
                last,
            })),
            flusher: Arc::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Acknowledges `callback` after the next sync that begins from now on.
    fn flush_then(&self, callback: LogFlushed<TypeConfig>) {
        let queue = self.flusher.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(flush_loop(self.shared.clone(), rx));
            tx
        });
        if let Err(mpsc::error::SendError(callback)) = queue.send(callback) {
            let stopped = std::io::Error::other("the raft log flusher has stopped");
            callback.log_io_completed(Err(stopped));
        }
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, k: &[u8]) -> StoreResult<Option<T>> {
        match self.meta.get(k).map_err(read_err)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    fn put_meta<T: serde::Serialize>(&self, k: &[u8], v: &T) -> StoreResult<()> {
        let bytes = serde_json::to_vec(v).map_err(write_err)?;
        self.meta.insert(k, bytes).map_err(write_err)?;
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => u64::MAX,
        };
        let pending = self.lock().files.locate(start, end);
        pending
            .iter()
            .map(|p| p.read().map_err(read_err).and_then(|bytes| decode(&bytes)))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let shared = self.lock();
        Ok(LogState {
            last_purged_log_id: shared.last_purged,
            last_log_id: shared.last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        self.put_meta(VOTE_KEY, vote)?;
        self.db.flush_async().await.map_err(write_err)?;
        Ok(())
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        self.get_meta(VOTE_KEY)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StoreResult<()> {
        self.put_meta(COMMITTED_KEY, &committed)
    }

    async fn read_committed(&mut self) -> StoreResult<Option<LogId<NodeId>>> {
        Ok(self
            .get_meta::<Option<LogId<NodeId>>>(COMMITTED_KEY)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut encoded = Vec::new();
        let mut last = None;
        for entry in entries {
            encoded.push((
                entry.log_id.index,
                serde_json::to_vec(&entry).map_err(write_err)?,
            ));
            last = Some(entry.log_id);
        }
        {
            let mut shared = self.lock();
            shared
                .files
                .append(encoded.iter().map(|(i, bytes)| (*i, bytes.as_slice())))
                .map_err(write_err)?;
            if last.is_some() {
                shared.last = last;
            }
        }
        self.flush_then(callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        let mut shared = self.lock();
        shared.files.truncate(log_id.index).map_err(write_err)?;
        shared.last = entry_id(&shared.files, log_id.index.checked_sub(1))?.or(shared.last_purged);
        Ok(())
    }

    /// The purge point is flushed to the meta tree before the segment files it empties are
    /// deleted, so a crash never leaves a hole between the snapshot and the log. That flush
    /// is of a few bytes (the meta tree holds no entries), once per snapshot. A segment whose
    /// deletion a crash undoes is dropped when the log is opened.
    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.put_meta(PURGED_KEY, &log_id)?;
        self.db.flush_async().await.map_err(write_err)?;
        let emptied = {
            let mut shared = self.lock();
            shared.last_purged = Some(log_id);
            if shared.last < Some(log_id) {
                shared.last = Some(log_id);
            }
            shared.files.purge(log_id.index)
        };
        for path in emptied {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(segment = %path.display(), error = %e, "raft log: purged segment not deleted");
            }
        }
        Ok(())
    }
}

/// Syncs for the appends queued on `queue`: everything queued when a sync begins is
/// acknowledged, in order, when it ends.
async fn flush_loop(
    shared: Arc<Mutex<Shared>>,
    mut queue: mpsc::UnboundedReceiver<LogFlushed<TypeConfig>>,
) {
    let mut waiting = Vec::new();
    while queue.recv_many(&mut waiting, usize::MAX).await > 0 {
        let newest = shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .files
            .newest();
        let synced = match newest {
            Some(file) => tokio::task::spawn_blocking(move || file.sync_data())
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        };
        // An io::Error cannot be cloned: each callback gets one made from the same text.
        let failed = synced.err().map(|e| e.to_string());
        for callback in waiting.drain(..) {
            let result = match &failed {
                None => Ok(()),
                Some(e) => Err(std::io::Error::other(e.clone())),
            };
            callback.log_io_completed(result);
        }
    }
}
