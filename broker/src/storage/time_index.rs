//! A segment's `<base offset>.timeindex` (Kafka's `TimeIndex`): sparse
//! 12-byte entries, `int64 timestamp, int32 offset - base offset`, added
//! with the offset index entries. An entry says that the largest timestamp
//! up to the batch whose last offset is its offset is its timestamp;
//! timestamps only grow. When the segment rolls or closes, a final entry
//! holds the segment's largest timestamp.

use super::index_file::IndexFile;
use std::io;
use std::path::Path;

pub const ENTRY_SIZE: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

pub struct TimeIndex {
    base_offset: i64,
    file: IndexFile,
}

impl TimeIndex {
    pub fn open(path: &Path, base_offset: i64) -> io::Result<Self> {
        Ok(TimeIndex {
            base_offset,
            file: IndexFile::open(path, ENTRY_SIZE)?,
        })
    }

    pub fn file(&self) -> &IndexFile {
        &self.file
    }

    pub fn file_mut(&mut self) -> &mut IndexFile {
        &mut self.file
    }

    fn raw(&self, n: usize) -> (i64, u32) {
        let e = self.file.entry(n);
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&e[..8]);
        (
            i64::from_be_bytes(timestamp),
            u32::from_be_bytes([e[8], e[9], e[10], e[11]]),
        )
    }

    pub fn entry(&self, n: usize) -> TimestampOffset {
        let (timestamp, relative) = self.raw(n);
        TimestampOffset {
            timestamp,
            offset: self.base_offset + i64::from(relative),
        }
    }

    pub fn len(&self) -> usize {
        self.file.entries()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.file.is_full()
    }

    pub fn last_entry(&self) -> Option<TimestampOffset> {
        self.len().checked_sub(1).map(|n| self.entry(n))
    }

    /// Adds an entry if `timestamp` is larger than the last one's (Kafka's
    /// `maybeAppend`). The final entry of a segment may use the room a full
    /// index keeps for it (`skip_full_check`).
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64, skip_full_check: bool) {
        if timestamp < 0 || (self.is_full() && !skip_full_check) {
            return;
        }
        let Ok(relative) = u32::try_from(offset - self.base_offset) else {
            return;
        };
        if let Some(last) = self.last_entry()
            && (timestamp <= last.timestamp || offset < last.offset)
        {
            return;
        }
        let mut entry = [0u8; ENTRY_SIZE];
        entry[..8].copy_from_slice(&timestamp.to_be_bytes());
        entry[8..].copy_from_slice(&relative.to_be_bytes());
        if !self.file.append(&entry) && skip_full_check {
            // No room at all: grow by one entry, as the final entry must land.
            let len = (self.len() + 1) * ENTRY_SIZE;
            if self.file.resize(len).is_ok() {
                self.file.append(&entry);
            }
        }
    }

    /// The last entry whose timestamp is at most `target` (Kafka's
    /// `lookup`): where a search for the first record at or after `target`
    /// may start. None when every entry is later.
    pub fn lookup(&self, target: i64) -> Option<TimestampOffset> {
        let floor = self.file.partition_point(|n| self.raw(n).0 <= target);
        floor.checked_sub(1).map(|i| self.entry(i))
    }

    /// How many leading entries can be trusted: timestamps strictly
    /// ascending, offsets never going back and below `end_offset`.
    pub fn valid_prefix(&self, end_offset: i64) -> usize {
        let mut previous: Option<(i64, u32)> = None;
        for n in 0..self.len() {
            let (timestamp, relative) = self.raw(n);
            let ascending = previous.is_none_or(|(t, r)| timestamp > t && relative >= r);
            if !ascending || timestamp < 0 || self.base_offset + i64::from(relative) >= end_offset {
                return n;
            }
            previous = Some((timestamp, relative));
        }
        self.len()
    }

    /// Drops the entries whose offset is at or after `offset`.
    pub fn truncate_to_offset(&mut self, offset: i64) {
        let keep = self.file.partition_point(|n| self.entry(n).offset < offset);
        self.file.truncate_entries(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_only_grow_and_lookup_finds_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000010.timeindex");
        let mut index = TimeIndex::open(&path, 10).unwrap();
        index.file_mut().resize(36).unwrap();
        index.maybe_append(1000, 12, false);
        index.maybe_append(900, 14, false); // older: ignored
        index.maybe_append(2000, 20, false);
        index.maybe_append(3000, 25, false);
        assert!(index.is_full());
        index.maybe_append(4000, 30, false); // full
        assert_eq!(index.len(), 3);
        index.maybe_append(4000, 30, true); // the final entry still lands
        assert_eq!(index.len(), 4);
        assert_eq!(index.lookup(999), None);
        assert_eq!(
            index.lookup(2500),
            Some(TimestampOffset {
                timestamp: 2000,
                offset: 20
            })
        );
        assert_eq!(index.valid_prefix(26), 3);
        index.file_mut().trim_to_valid_size().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 48);
        assert_eq!(&bytes[..12], &[0, 0, 0, 0, 0, 0, 3, 232, 0, 0, 0, 2]);
        index.truncate_to_offset(20);
        assert_eq!(index.len(), 1);
    }
}
