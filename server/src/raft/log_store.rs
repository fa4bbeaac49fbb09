//! The raft log in sled: entries keyed by big-endian index, vote and bookkeeping in a meta
//! tree. An append is acknowledged to openraft only after sled has flushed it to disk.
//!
//! `append` writes the entries into sled's buffers and returns; a flusher task acknowledges
//! them once a flush that began after they were written has finished. Appends that arrive
//! while a flush runs share the next one, and raft goes on (sending the same entries to the
//! followers) while the leader's own flush is under way, instead of one after the other.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, OnceLock};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, RaftLogReader, StorageError, StorageIOError, Vote};

use tokio::sync::mpsc;

use super::{NodeId, TypeConfig};

const VOTE_KEY: &[u8] = b"vote";
const COMMITTED_KEY: &[u8] = b"committed";
const PURGED_KEY: &[u8] = b"last_purged";

/// The raft log storage.
#[derive(Debug, Clone)]
pub struct LogStore {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    /// Appends waiting for a flush (the flusher task starts on first use, in the runtime).
    flusher: Arc<OnceLock<mpsc::UnboundedSender<LogFlushed<TypeConfig>>>>,
}

type StoreResult<T> = Result<T, StorageError<NodeId>>;

fn key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_logs(&e).into()
}

impl LogStore {
    /// Opens the log and meta trees of `db`.
    pub fn open(db: &sled::Db) -> Result<Self, sled::Error> {
        Ok(Self {
            db: db.clone(),
            log: db.open_tree("raft_log")?,
            meta: db.open_tree("raft_meta")?,
            flusher: Arc::default(),
        })
    }

    /// Acknowledges `callback` after the next flush that begins from now on.
    fn flush_then(&self, callback: LogFlushed<TypeConfig>) {
        let queue = self.flusher.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(flush_loop(self.db.clone(), rx));
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

    async fn flush(&self) -> StoreResult<()> {
        self.db.flush_async().await.map_err(write_err)?;
        Ok(())
    }

    fn decode(bytes: &[u8]) -> StoreResult<Entry<TypeConfig>> {
        serde_json::from_slice(bytes).map_err(read_err)
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
        let iter = match range.end_bound() {
            Bound::Included(i) => self.log.range(key(start)..=key(*i)),
            Bound::Excluded(i) => self.log.range(key(start)..key(*i)),
            Bound::Unbounded => self.log.range(key(start)..),
        };
        iter.map(|kv| kv.map_err(read_err).and_then(|(_, v)| Self::decode(&v)))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let last_purged: Option<LogId<NodeId>> = self.get_meta(PURGED_KEY)?;
        let last = match self.log.last().map_err(read_err)? {
            Some((_, v)) => Some(Self::decode(&v)?.log_id),
            None => last_purged,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        self.put_meta(VOTE_KEY, vote)?;
        self.flush().await
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
        let mut batch = sled::Batch::default();
        for entry in entries {
            let bytes = serde_json::to_vec(&entry).map_err(write_err)?;
            batch.insert(&key(entry.log_id.index), bytes);
        }
        self.log.apply_batch(batch).map_err(write_err)?;
        self.flush_then(callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        let mut batch = sled::Batch::default();
        for kv in self.log.range(key(log_id.index)..) {
            let (k, _) = kv.map_err(read_err)?;
            batch.remove(k);
        }
        self.log.apply_batch(batch).map_err(write_err)?;
        self.flush().await
    }

    /// Purged entries are covered by a snapshot already on disk, so the purge need not be
    /// durable at once: the next append's flush carries it, and a crash before that leaves
    /// entries the snapshot covers (never a hole). Raft waits for this call, and a flush here
    /// stalled every write after each snapshot.
    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.put_meta(PURGED_KEY, &log_id)?;
        let mut batch = sled::Batch::default();
        for kv in self.log.range(..=key(log_id.index)) {
            let (k, _) = kv.map_err(read_err)?;
            batch.remove(k);
        }
        self.log.apply_batch(batch).map_err(write_err)
    }
}

/// Flushes for the appends queued on `queue`: everything queued when a flush begins is
/// acknowledged, in order, when it ends.
async fn flush_loop(db: sled::Db, mut queue: mpsc::UnboundedReceiver<LogFlushed<TypeConfig>>) {
    let mut waiting = Vec::new();
    while queue.recv_many(&mut waiting, usize::MAX).await > 0 {
        // An io::Error cannot be cloned: each callback gets one made from the same text.
        let failed = db.flush_async().await.err().map(|e| e.to_string());
        for callback in waiting.drain(..) {
            let result = match &failed {
                None => Ok(()),
                Some(e) => Err(std::io::Error::other(e.clone())),
            };
            callback.log_io_completed(result);
        }
    }
}
