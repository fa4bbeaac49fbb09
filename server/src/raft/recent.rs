//! The log's newest entries, kept decoded between their append and their apply.
//!
//! Every entry is read back soon after it is appended: once per follower to replicate it and
//! once more to apply it. Reading it from the segment files means decoding its JSON each
//! time, which was the largest single cost of replication on a busy leader. The cache holds
//! the entries appended since the last apply (bounded in count and encoded bytes) and hands
//! out clones that share each command; applying an entry drops the cache's share, so the
//! state machine usually takes the command without a copy.
//!
//! The cache always holds a contiguous run of indexes ending at the last entry appended; an
//! entry that does not follow on empties it first.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use openraft::Entry;

use super::TypeConfig;

/// Most entries kept.
const MAX_ENTRIES: usize = 1024;
/// Most encoded bytes kept (about what the entries take once decoded, within a small factor).
const MAX_BYTES: usize = 16 << 20;

/// A shared handle to the cache (the log store fills it, the state machine drains it).
#[derive(Debug, Clone, Default)]
pub struct Recent(Arc<Mutex<Cached>>);

#[derive(Debug, Default)]
struct Cached {
    /// Entries in index order, with their encoded size.
    entries: VecDeque<(Entry<TypeConfig>, usize)>,
    bytes: usize,
}

impl Cached {
    fn first(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn next(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index + 1)
    }

    fn pop_front(&mut self) {
        if let Some((_, size)) = self.entries.pop_front() {
            self.bytes -= size;
        }
    }
}

impl Recent {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `entry`, appended with `size` encoded bytes, dropping the oldest beyond the bounds.
    pub fn push(&self, entry: Entry<TypeConfig>, size: usize) {
        let mut c = self.lock();
        if c.next().is_some_and(|next| next != entry.log_id.index) {
            c.entries.clear();
            c.bytes = 0;
        }
        c.bytes += size;
        c.entries.push_back((entry, size));
        while c.entries.len() > MAX_ENTRIES || (c.bytes > MAX_BYTES && c.entries.len() > 1) {
            c.pop_front();
        }
    }

    /// Where the cached run begins, if `end` (exclusive) is within it: entries from there up
    /// to `end` can be served by [`Recent::get`].
    pub fn covers_from(&self, end: u64) -> Option<u64> {
        let c = self.lock();
        let (first, next) = (c.first()?, c.next()?);
        (end > first && end <= next).then_some(first)
    }

    /// Clones of the entries `start..end`, if all of them are cached.
    pub fn get(&self, start: u64, end: u64) -> Option<Vec<Entry<TypeConfig>>> {
        let c = self.lock();
        let first = c.first()?;
        if start < first || end > c.next()? || start > end {
            return None;
        }
        let from = (start - first) as usize;
        let to = (end - first) as usize;
        Some(c.entries.range(from..to).map(|(e, _)| e.clone()).collect())
    }

    /// Forgets entries from `index` on (the log was truncated there).
    pub fn truncate(&self, index: u64) {
        let mut c = self.lock();
        while c
            .entries
            .back()
            .is_some_and(|(e, _)| e.log_id.index >= index)
        {
            if let Some((_, size)) = c.entries.pop_back() {
                c.bytes -= size;
            }
        }
    }

    /// Forgets entries up to and including `index` (purged, or applied).
    pub fn forget_through(&self, index: u64) {
        let mut c = self.lock();
        while c.first().is_some_and(|first| first <= index) {
            c.pop_front();
        }
    }

    /// How many entries are cached.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, LogId};

    use super::*;

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn indexes(entries: Option<Vec<Entry<TypeConfig>>>) -> Option<Vec<u64>> {
        entries.map(|es| es.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn serves_only_ranges_it_holds_whole() {
        let recent = Recent::default();
        for i in 5..10 {
            recent.push(entry(i), 10);
        }
        assert_eq!(indexes(recent.get(6, 9)), Some(vec![6, 7, 8]));
        assert_eq!(indexes(recent.get(5, 10)), Some(vec![5, 6, 7, 8, 9]));
        assert_eq!(indexes(recent.get(7, 7)), Some(vec![]));
        assert_eq!(recent.get(4, 8).map(|v| v.len()), None);
        assert_eq!(recent.get(6, 11).map(|v| v.len()), None);
        assert_eq!(recent.covers_from(8), Some(5));
        assert_eq!(recent.covers_from(5), None);
        assert_eq!(recent.covers_from(11), None);
    }

    #[test]
    fn a_gap_truncation_or_apply_drops_what_no_longer_follows() {
        let recent = Recent::default();
        for i in 1..=4 {
            recent.push(entry(i), 10);
        }
        recent.truncate(3);
        assert_eq!(indexes(recent.get(1, 3)), Some(vec![1, 2]));
        assert_eq!(recent.covers_from(4), None, "3 was truncated");
        recent.push(entry(3), 10);
        assert_eq!(indexes(recent.get(1, 4)), Some(vec![1, 2, 3]));
        recent.forget_through(2);
        assert_eq!(indexes(recent.get(3, 4)), Some(vec![3]));
        assert_eq!(recent.get(2, 4).map(|v| v.len()), None);
        recent.push(entry(9), 10);
        assert_eq!(recent.len(), 1, "an entry after a gap starts the run again");
        assert_eq!(indexes(recent.get(9, 10)), Some(vec![9]));
    }

    #[test]
    fn stays_within_its_bounds() {
        let recent = Recent::default();
        for i in 0..(MAX_ENTRIES as u64 + 10) {
            recent.push(entry(i), 1);
        }
        assert_eq!(recent.len(), MAX_ENTRIES);
        assert_eq!(recent.covers_from(MAX_ENTRIES as u64 + 10), Some(10));
        recent.push(entry(MAX_ENTRIES as u64 + 10), MAX_BYTES);
        assert_eq!(
            recent.len(),
            1,
            "one entry over the byte bound is still kept"
        );
    }
}
