//! A segment's `<base offset>.index` (Kafka's `OffsetIndex`): sparse 8-byte
//! entries, `int32 offset - base offset, int32 file position`, one every
//! `index.interval.bytes` of appended data. An entry's offset is the last
//! offset of the batch that starts at its position. A lookup returns the
//! closest entry at or before the target, from where a reader walks batch
//! headers forward.

use super::index_file::IndexFile;
use std::io;
use std::path::Path;

pub const ENTRY_SIZE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    pub offset: i64,
    pub position: u32,
}

pub struct OffsetIndex {
    base_offset: i64,
    file: IndexFile,
}

impl OffsetIndex {
    pub fn open(path: &Path, base_offset: i64) -> io::Result<Self> {
        Ok(OffsetIndex {
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

    fn raw(&self, n: usize) -> (u32, u32) {
        let e = self.file.entry(n);
        (
            u32::from_be_bytes([e[0], e[1], e[2], e[3]]),
            u32::from_be_bytes([e[4], e[5], e[6], e[7]]),
        )
    }

    pub fn entry(&self, n: usize) -> OffsetPosition {
        let (relative, position) = self.raw(n);
        OffsetPosition {
            offset: self.base_offset + i64::from(relative),
            position,
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

    pub fn last_entry(&self) -> Option<OffsetPosition> {
        self.len().checked_sub(1).map(|n| self.entry(n))
    }

    /// Records that the batch whose last offset is `offset` starts at
    /// `position`. Entries that would not keep the index ascending are
    /// ignored; so are entries once the file is full.
    pub fn append(&mut self, offset: i64, position: u32) {
        let Ok(relative) = u32::try_from(offset - self.base_offset) else {
            return;
        };
        if let Some(last) = self.last_entry()
            && (offset <= last.offset || position <= last.position)
        {
            return;
        }
        let mut entry = [0u8; ENTRY_SIZE];
        entry[..4].copy_from_slice(&relative.to_be_bytes());
        entry[4..].copy_from_slice(&position.to_be_bytes());
        self.file.append(&entry);
    }

    /// The greatest entry whose offset is at most `target`, or the segment start.
    pub fn lookup(&self, target: i64) -> OffsetPosition {
        let relative = target - self.base_offset;
        let floor = self
            .file
            .partition_point(|n| i64::from(self.raw(n).0) <= relative);
        match floor.checked_sub(1) {
            Some(i) => self.entry(i),
            None => OffsetPosition {
                offset: self.base_offset,
                position: 0,
            },
        }
    }

    /// How many leading entries are strictly ascending, with offsets below
    /// `end_offset` and positions below `end_position`: the entries that can
    /// be trusted. The whole index is sound when this is [`Self::len`].
    pub fn valid_prefix(&self, end_offset: i64, end_position: u64) -> usize {
        let mut previous: Option<(u32, u32)> = None;
        for n in 0..self.len() {
            let (relative, position) = self.raw(n);
            let offset = self.base_offset + i64::from(relative);
            let ascending = previous.is_none_or(|(r, p)| relative > r && position > p);
            if !ascending || offset >= end_offset || u64::from(position) >= end_position {
                return n;
            }
            previous = Some((relative, position));
        }
        self.len()
    }

    /// Drops the entries at or after `position` (the log was truncated there).
    pub fn truncate_to_position(&mut self, position: u32) {
        let keep = self.file.partition_point(|n| self.raw(n).1 < position);
        self.file.truncate_entries(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_the_floor_entry_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.index");
        let mut index = OffsetIndex::open(&path, 100).unwrap();
        index.file_mut().resize(1024).unwrap();
        assert_eq!(index.lookup(150).position, 0);
        index.append(110, 4096);
        index.append(120, 8192);
        index.append(115, 9000); // out of order: ignored
        assert_eq!(index.len(), 2);
        assert_eq!(index.lookup(100).position, 0);
        assert_eq!(index.lookup(110).position, 4096);
        assert_eq!(index.lookup(119).position, 4096);
        assert_eq!(index.lookup(500).position, 8192);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1024);
        assert_eq!(index.valid_prefix(1000, 100_000), 2);
        assert_eq!(index.valid_prefix(120, 100_000), 1);
        index.file_mut().trim_to_valid_size().unwrap();
        drop(index);

        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, [0, 0, 0, 10, 0, 0, 16, 0, 0, 0, 0, 20, 0, 0, 32, 0]);
        let mut index = OffsetIndex::open(&path, 100).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.lookup(130).position, 8192);
        index.truncate_to_position(8192);
        assert_eq!(index.lookup(500).position, 4096);
    }

    #[test]
    fn an_untrimmed_index_has_a_valid_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.index");
        let mut index = OffsetIndex::open(&path, 0).unwrap();
        index.file_mut().resize(80).unwrap();
        index.append(3, 100);
        index.append(7, 200);
        drop(index);
        // Reopened untrimmed, as after a crash: ten entries, two real.
        let index = OffsetIndex::open(&path, 0).unwrap();
        assert_eq!(index.len(), 10);
        assert_eq!(index.valid_prefix(i64::MAX, u64::MAX), 2);
    }
}
