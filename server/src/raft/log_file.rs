//! The raft log's entries in append-only segment files, with only their positions in memory.
//!
//! A segment is named after the index of its first entry (`00000000000000000042.log`) and
//! holds records back to back:
//!
//! ```text
//!   [payload length: u32 LE][crc32 of index + payload: u32 LE][index: u64 LE][payload]
//! ```
//!
//! Appends are written straight into the file (`pwrite`, no user-space buffer) and made
//! durable by `sync`, which the log store's flusher calls once for every append that came
//! before it. A new segment starts when the current one passes [`SEGMENT_BYTES`]; the full one
//! is synced first, so only the newest segment ever holds unsynced records.
//!
//! On open every record is checked. A record cut short or with a bad checksum is where a
//! crash interrupted a write that was never acknowledged: the file is cut there and any
//! later segment removed.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A segment is closed, and the next begins, once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 64 << 20;

const HEADER: usize = 16;
const SUFFIX: &str = ".log";

/// One segment file.
#[derive(Debug)]
struct Segment {
    /// Index of its first record.
    first: u64,
    /// Index after its last record.
    next: u64,
    /// Bytes of whole records.
    len: u64,
    file: Arc<File>,
    path: PathBuf,
}

/// Where one entry's payload is.
#[derive(Debug, Clone)]
struct Loc {
    file: Arc<File>,
    /// Offset of the record (its header).
    offset: u64,
    /// Payload bytes.
    len: u32,
}

/// A payload to read: the file, where its payload starts and how long it is.
pub struct Pending {
    file: Arc<File>,
    offset: u64,
    len: u32,
}

/// The segment files of one log.
#[derive(Debug)]
pub struct LogFiles {
    dir: PathBuf,
    /// Oldest first; the last one takes appends.
    segments: Vec<Segment>,
    /// Positions of the entries `first..first + locs.len()`.
    locs: VecDeque<Loc>,
    first: u64,
    /// Size at which a segment is closed ([`SEGMENT_BYTES`] but in tests).
    segment_bytes: u64,
}

fn corrupt(path: &Path, what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

fn checksum(index: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn segment_name(first: u64) -> String {
    format!("{first:020}{SUFFIX}")
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl LogFiles {
    /// Opens (creating) the log in `dir`, dropping entries up to `purged` (covered by a
    /// snapshot) and deleting segments that hold nothing else.
    pub fn open(dir: &Path, purged: Option<u64>) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let name = item?.file_name();
            let name = name.to_string_lossy();
            if let Some(first) = name
                .strip_suffix(SUFFIX)
                .and_then(|n| n.parse::<u64>().ok())
            {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();
        let keep_from = purged.map_or(0, |p| p + 1);
        let mut log = Self {
            dir: dir.to_path_buf(),
            segments: Vec::new(),
            locs: VecDeque::new(),
            first: keep_from,
            segment_bytes: SEGMENT_BYTES,
        };
        let mut removed = false;
        // Set at a torn record: nothing after it can be whole.
        let mut cut = false;
        for first in firsts {
            let path = dir.join(segment_name(first));
            if cut {
                std::fs::remove_file(&path)?;
                removed = true;
                continue;
            }
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            let Scanned {
                records,
                valid,
                torn,
            } = scan(&file, first, &path)?;
            let next = first + records.len() as u64;
            if next <= keep_from {
                // Every entry in it is purged.
                drop(file);
                std::fs::remove_file(&path)?;
                removed = true;
                continue;
            }
            if torn {
                tracing::warn!(segment = %path.display(), at = valid, "raft log: cutting an unfinished record");
                file.set_len(valid)?;
                file.sync_all()?;
                cut = true;
            }
            if log.segments.is_empty() && purged.is_some() && first > keep_from {
                return Err(corrupt(
                    &path,
                    format!(
                        "starts at entry {first}, but the snapshot ends at entry {}",
                        keep_from - 1
                    ),
                ));
            }
            if log.segments.is_empty() {
                log.first = keep_from.max(first);
            } else if first != log.next_index() {
                return Err(corrupt(
                    &path,
                    format!(
                        "starts at entry {first}, but the log before it ends at entry {}",
                        log.next_index() - 1
                    ),
                ));
            }
            let file = Arc::new(file);
            for (i, (offset, len)) in records.into_iter().enumerate() {
                if first + i as u64 >= log.first {
                    log.locs.push_back(Loc {
                        file: file.clone(),
                        offset,
                        len,
                    });
                }
            }
            log.segments.push(Segment {
                first,
                next,
                len: valid,
                file,
                path,
            });
        }
        if removed {
            sync_dir(dir)?;
        }
        Ok(log)
    }

    /// Index of the first entry held (or that the next append must have, when empty).
    pub fn first_index(&self) -> u64 {
        self.first
    }

    /// Index the next append must have.
    pub fn next_index(&self) -> u64 {
        self.first + self.locs.len() as u64
    }

    /// Writes entries `(index, payload)`, which must continue the log.
    pub fn append<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut lens = Vec::new();
        let mut start = None;
        for (index, payload) in entries {
            if self.locs.is_empty() && lens.is_empty() {
                // An empty log starts wherever its first entry is.
                self.first = index;
            }
            let expected = self.next_index() + lens.len() as u64;
            if index != expected {
                return Err(io::Error::other(format!(
                    "raft log: append of entry {index} where {expected} comes next"
                )));
            }
            start.get_or_insert(index);
            let len = u32::try_from(payload.len())
                .map_err(|_| io::Error::other(format!("raft log: entry {index} is over 4 GiB")))?;
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&checksum(index, payload).to_le_bytes());
            buf.extend_from_slice(&index.to_le_bytes());
            buf.extend_from_slice(payload);
            lens.push(len);
        }
        let Some(start) = start else {
            return Ok(());
        };
        let segment = self.writable(start)?;
        let mut offset = segment.len;
        segment.file.write_all_at(&buf, offset)?;
        segment.len += buf.len() as u64;
        segment.next += lens.len() as u64;
        let file = segment.file.clone();
        for len in lens {
            self.locs.push_back(Loc {
                file: file.clone(),
                offset,
                len,
            });
            offset += HEADER as u64 + u64::from(len);
        }
        Ok(())
    }

    /// The segment to append entry `index` to: the newest, or a new one when there is none,
    /// the newest is full, or it ends elsewhere (the log was purged past its end).
    fn writable(&mut self, index: u64) -> io::Result<&mut Segment> {
        let fits = self
            .segments
            .last()
            .is_some_and(|s| s.next == index && s.len < self.segment_bytes);
        if !fits {
            if let Some(full) = self.segments.last() {
                full.file.sync_data()?;
            }
            let path = self.dir.join(segment_name(index));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)?;
            sync_dir(&self.dir)?;
            self.segments.push(Segment {
                first: index,
                next: index,
                len: 0,
                file: Arc::new(file),
                path,
            });
        }
        Ok(self
            .segments
            .last_mut()
            .expect("a segment was just ensured"))
    }

    /// The newest segment's file, the only one that can hold unsynced records.
    pub fn newest(&self) -> Option<Arc<File>> {
        self.segments.last().map(|s| s.file.clone())
    }

    /// Where the payloads of entries in `start..end` are (clamped to what is held).
    pub fn locate(&self, start: u64, end: u64) -> Vec<Pending> {
        let from = start.max(self.first);
        let to = end.min(self.next_index());
        (from..to)
            .map(|i| {
                let loc = &self.locs[(i - self.first) as usize];
                Pending {
                    file: loc.file.clone(),
                    offset: loc.offset + HEADER as u64,
                    len: loc.len,
                }
            })
            .collect()
    }

    /// Removes entries from `index` on, durably.
    pub fn truncate(&mut self, index: u64) -> io::Result<()> {
        if index >= self.next_index() {
            return Ok(());
        }
        let keep = index.saturating_sub(self.first) as usize;
        let cut_at = self.locs[keep].offset;
        self.locs.truncate(keep);
        let mut removed = false;
        while let Some(last) = self.segments.last_mut() {
            if last.first >= index {
                let last = self.segments.pop().expect("checked");
                std::fs::remove_file(&last.path)?;
                removed = true;
                continue;
            }
            last.file.set_len(cut_at)?;
            last.file.sync_all()?;
            last.len = cut_at;
            last.next = index;
            break;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Forgets entries up to `index`. Returns the segment files holding nothing newer, for
    /// the caller to delete once the purge is durable.
    pub fn purge(&mut self, index: u64) -> Vec<PathBuf> {
        let upto = index + 1;
        if upto <= self.first {
            return Vec::new();
        }
        let drop_n = (upto - self.first).min(self.locs.len() as u64) as usize;
        self.locs.drain(..drop_n);
        self.first = upto;
        let emptied = self.segments.iter().take_while(|s| s.next <= upto).count();
        self.segments.drain(..emptied).map(|s| s.path).collect()
    }
}

impl Pending {
    /// Reads the payload.
    pub fn read(&self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; self.len as usize];
        self.file.read_exact_at(&mut buf, self.offset)?;
        Ok(buf)
    }
}

/// What [`scan`] found in a segment.
struct Scanned {
    /// Each whole record's offset and payload length.
    records: Vec<(u64, u32)>,
    /// Bytes of whole records.
    valid: u64,
    /// An unfinished or damaged record follows them.
    torn: bool,
}

/// Reads a segment's records, checking each one's length and checksum.
fn scan(file: &File, first: u64, path: &Path) -> io::Result<Scanned> {
    let size = file.metadata()?.len();
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    let mut records = Vec::new();
    let mut offset = 0u64;
    let mut payload = Vec::new();
    loop {
        let done = |records, torn| {
            Ok(Scanned {
                records,
                valid: offset,
                torn,
            })
        };
        if offset == size {
            return done(records, false);
        }
        let mut header = [0u8; HEADER];
        if size - offset < HEADER as u64 {
            return done(records, true);
        }
        reader.read_exact(&mut header)?;
        let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
        let sum = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        let index = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let expected = first + records.len() as u64;
        if size - offset - (HEADER as u64) < u64::from(len) {
            return done(records, true);
        }
        payload.resize(len as usize, 0);
        reader.read_exact(&mut payload)?;
        if checksum(index, &payload) != sum {
            return done(records, true);
        }
        if index != expected {
            return Err(corrupt(
                path,
                format!("record at byte {offset} is entry {index}, {expected} expected"),
            ));
        }
        records.push((offset, len));
        offset += HEADER as u64 + u64::from(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(index: u64) -> Vec<u8> {
        format!("entry {index} ")
            .repeat(1 + index as usize % 7)
            .into_bytes()
    }

    fn open(dir: &Path, purged: Option<u64>) -> LogFiles {
        let mut log = LogFiles::open(dir, purged).expect("opens");
        log.segment_bytes = 256;
        log
    }

    fn append(log: &mut LogFiles, range: std::ops::Range<u64>) {
        let payloads: Vec<_> = range.clone().map(payload).collect();
        log.append(range.zip(payloads.iter().map(Vec::as_slice)))
            .expect("appends");
    }

    /// Appends in batches of 5, so small segments roll over.
    fn fill(log: &mut LogFiles, range: std::ops::Range<u64>) {
        let mut start = range.start;
        while start < range.end {
            let end = (start + 5).min(range.end);
            append(log, start..end);
            start = end;
        }
    }

    /// Every entry the log holds, checked against what was written.
    fn held(log: &LogFiles) -> std::ops::Range<u64> {
        let all = log.locate(0, u64::MAX);
        for (i, p) in all.iter().enumerate() {
            let index = log.first_index() + i as u64;
            assert_eq!(p.read().expect("reads"), payload(index), "entry {index}");
        }
        log.first_index()..log.first_index() + all.len() as u64
    }

    fn segment_files(dir: &Path) -> usize {
        std::fs::read_dir(dir).expect("lists").count()
    }

    /// The segment files, oldest first.
    fn sorted_segments(dir: &Path) -> Vec<PathBuf> {
        let mut segments: Vec<_> = std::fs::read_dir(dir)
            .expect("lists")
            .map(|e| e.expect("entry").path())
            .collect();
        segments.sort();
        segments
    }

    #[test]
    fn entries_span_segments_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        fill(&mut log, 0..100);
        assert_eq!(held(&log), 0..100);
        assert!(segment_files(dir.path()) > 5, "small segments roll over");
        drop(log);
        let log = open(dir.path(), None);
        assert_eq!(held(&log), 0..100);
        assert_eq!(log.next_index(), 100);
    }

    #[test]
    fn an_append_must_continue_the_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        append(&mut log, 0..3);
        let gap = payload(5);
        let err = log.append([(5, gap.as_slice())]).expect_err("a hole");
        assert!(
            err.to_string().contains("entry 5 where 3 comes next"),
            "{err}"
        );
        assert_eq!(held(&log), 0..3);
    }

    #[test]
    fn a_torn_last_record_is_cut_and_later_appends_follow_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        fill(&mut log, 0..40);
        drop(log);
        let newest = sorted_segments(dir.path()).pop().expect("a segment");
        let len = std::fs::metadata(&newest).expect("stat").len();
        // Half a record: the crash came mid-write.
        let file = OpenOptions::new().write(true).open(&newest).expect("opens");
        file.set_len(len - 3).expect("cuts");
        drop(file);
        let mut log = open(dir.path(), None);
        assert_eq!(held(&log), 0..39);
        append(&mut log, 39..45);
        drop(log);
        assert_eq!(held(&open(dir.path(), None)), 0..45);
    }

    #[test]
    fn a_damaged_record_ends_the_log_and_drops_later_segments() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        fill(&mut log, 0..60);
        drop(log);
        let segments = sorted_segments(dir.path());
        assert!(segments.len() >= 3);
        // Flip a payload byte of the second segment's first record.
        let second = &segments[1];
        let mut bytes = std::fs::read(second).expect("reads");
        bytes[HEADER] ^= 0xff;
        std::fs::write(second, bytes).expect("writes");
        let first_of_second: u64 = second
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .expect("named by index");
        let log = open(dir.path(), None);
        assert_eq!(held(&log), 0..first_of_second);
        assert_eq!(segment_files(dir.path()), 2, "later segments removed");
    }

    #[test]
    fn truncation_is_kept_across_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        fill(&mut log, 0..50);
        log.truncate(23).expect("truncates");
        assert_eq!(held(&log), 0..23);
        append(&mut log, 23..30);
        log.truncate(30).expect("nothing to cut");
        drop(log);
        let mut log = open(dir.path(), None);
        assert_eq!(held(&log), 0..30);
        log.truncate(0).expect("truncates all");
        assert_eq!(held(&log), 0..0);
        append(&mut log, 0..4);
        drop(log);
        assert_eq!(held(&open(dir.path(), None)), 0..4);
    }

    #[test]
    fn purged_segments_are_set_aside_and_the_rest_reopens_from_the_purge() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        fill(&mut log, 0..60);
        let before = segment_files(dir.path());
        let emptied = log.purge(30);
        assert_eq!(held(&log), 31..60);
        assert!(!emptied.is_empty(), "whole segments up to 30 are purged");
        // A crash before the deletions: reopening with the purge still drops them.
        drop(log);
        let log = open(dir.path(), Some(30));
        assert_eq!(held(&log), 31..60);
        assert_eq!(segment_files(dir.path()), before - emptied.len());
    }

    #[test]
    fn a_purge_past_the_end_starts_a_new_segment_where_the_snapshot_ends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        append(&mut log, 0..10);
        let emptied = log.purge(99);
        assert_eq!(held(&log), 100..100);
        append(&mut log, 100..105);
        for path in emptied {
            std::fs::remove_file(path).expect("deletes");
        }
        drop(log);
        assert_eq!(held(&open(dir.path(), Some(99))), 100..105);
    }

    #[test]
    fn a_gap_between_segments_is_an_error_not_a_silent_hole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = open(dir.path(), None);
        fill(&mut log, 0..60);
        drop(log);
        let segments = sorted_segments(dir.path());
        std::fs::remove_file(&segments[1]).expect("deletes");
        let err = LogFiles::open(dir.path(), None).expect_err("a hole");
        assert!(
            err.to_string()
                .contains("but the log before it ends at entry"),
            "{err}"
        );
    }
}
