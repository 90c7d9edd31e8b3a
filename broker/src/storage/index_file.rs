//! A file of fixed-size index entries, memory-mapped as in Kafka's
//! `AbstractIndex`: the active segment's index is preallocated to its
//! maximum size and written through the mapping; when the segment rolls
//! (or the log closes) it is trimmed to its entries. Lookups binary-search
//! the mapping, so an index costs page cache, not heap.

use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs of entries up to this size are zeroed in place.
const ZERO_IN_PLACE_BYTES: usize = 64 * 1024;

pub struct IndexFile {
    path: PathBuf,
    file: Arc<File>,
    /// None while the file is empty (an empty mapping is not allowed).
    mmap: Option<MmapMut>,
    entry_size: usize,
    entries: usize,
    /// Entries the mapping has room for.
    capacity: usize,
}

impl IndexFile {
    /// Opens (creating if missing) `path`. An existing file's entries are
    /// all the whole entries it holds, as Kafka assumes for a trimmed index;
    /// the caller checks them (the offset and time indexes' `valid_prefix`).
    pub fn open(path: &Path, entry_size: usize) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len() as usize;
        let mut index = IndexFile {
            path: path.to_path_buf(),
            file: Arc::new(file),
            mmap: None,
            entry_size,
            entries: 0,
            capacity: 0,
        };
        index.map(len)?;
        index.entries = len / entry_size;
        Ok(index)
    }

    fn map(&mut self, len: usize) -> io::Result<()> {
        self.mmap = None;
        self.capacity = len / self.entry_size;
        if len > 0 {
            // SAFETY: the file is this broker's own index file; it is only
            // resized through this struct, which remaps after every resize,
            // and reads stay below `entries`, inside the file.
            self.mmap = Some(unsafe { MmapMut::map_mut(&self.file)? });
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that the file was renamed to `path`.
    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    /// The open file, to fsync outside the log's lock: an fsync writes back
    /// the pages dirtied through the mapping too.
    pub fn handle(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    /// The length of the file in bytes, as it is now.
    pub fn file_len(&self) -> u64 {
        (self.capacity * self.entry_size) as u64
    }

    pub fn is_full(&self) -> bool {
        self.entries >= self.capacity
    }

    /// Entry `n` (below [`IndexFile::entries`]).
    pub fn entry(&self, n: usize) -> &[u8] {
        match &self.mmap {
            Some(mmap) => &mmap[n * self.entry_size..(n + 1) * self.entry_size],
            None => &[],
        }
    }

    /// How many leading entries `before` holds for; it must hold for a
    /// prefix of the entries and not after (entries are ascending), so this
    /// is a binary search.
    pub fn partition_point(&self, before: impl Fn(usize) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.entries);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Appends an entry; false when the file has no room left.
    pub fn append(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_size);
        if self.is_full() {
            return false;
        }
        let Some(mmap) = self.mmap.as_mut() else {
            return false;
        };
        let at = self.entries * self.entry_size;
        mmap[at..at + self.entry_size].copy_from_slice(entry);
        self.entries += 1;
        true
    }

    /// Forgets the entries from `n` on, zeroing them in the file. A long
    /// run (an untrimmed index after a crash counts all of its preallocated
    /// size as entries) is zeroed by cutting the file and growing it back,
    /// which leaves holes instead of dirtying every page.
    pub fn truncate_entries(&mut self, n: usize) {
        if n >= self.entries {
            return;
        }
        let run = (self.entries - n) * self.entry_size;
        if run > ZERO_IN_PLACE_BYTES && self.cut_and_regrow(n).is_ok() {
            self.entries = n;
            return;
        }
        if let Some(mmap) = self.mmap.as_mut() {
            mmap[n * self.entry_size..self.entries * self.entry_size].fill(0);
        }
        self.entries = n.min(self.capacity);
    }

    fn cut_and_regrow(&mut self, n: usize) -> io::Result<()> {
        let len = self.capacity * self.entry_size;
        self.mmap = None;
        let regrown = self
            .file
            .set_len((n * self.entry_size) as u64)
            .and_then(|()| self.file.set_len(len as u64))
            .and_then(|()| self.map(len));
        if regrown.is_err() {
            // Without a mapping the index is empty: lookups start at the
            // segment's beginning, which is always right.
            self.mmap = None;
            self.capacity = 0;
            self.entries = 0;
        }
        regrown
    }

    /// Keeps only the first `n` entries (whatever the file held past them
    /// is dropped when it is next resized).
    pub fn set_entries(&mut self, n: usize) {
        self.entries = n.min(self.capacity);
    }

    /// Grows (or shrinks) the file to room for `max_bytes / entry_size`
    /// entries, keeping the entries (Kafka's `resize`).
    pub fn resize(&mut self, max_bytes: usize) -> io::Result<()> {
        let len = (max_bytes / self.entry_size).max(self.entries) * self.entry_size;
        if len == self.capacity * self.entry_size {
            return Ok(());
        }
        // No msync: the mapping is shared, so its pages are the file's page
        // cache, and unmapping or cutting the file past them loses nothing.
        // They reach the disk with the next fsync of the file.
        self.mmap = None;
        self.file.set_len(len as u64)?;
        self.map(len)
    }

    /// Cuts the file to exactly its entries (Kafka's `trimToValidSize`).
    pub fn trim_to_valid_size(&mut self) -> io::Result<()> {
        self.resize(self.entries * self.entry_size)
    }

    /// Writes the mapped entries to disk.
    pub fn flush(&self) -> io::Result<()> {
        match &self.mmap {
            Some(mmap) => mmap.flush(),
            None => Ok(()),
        }
    }

    /// Empties the index, keeping its preallocated size.
    pub fn reset(&mut self) {
        self.truncate_entries(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn long_cuts_leave_holes_and_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.index");
        let mut index = IndexFile::open(&path, 8).unwrap();
        index.resize(1 << 20).unwrap();
        for i in 0..10u64 {
            assert!(index.append(&(i + 1).to_be_bytes()));
        }
        drop(index);
        // Reopened untrimmed, as after a crash: every slot counts.
        let mut index = IndexFile::open(&path, 8).unwrap();
        assert_eq!(index.entries(), (1 << 20) / 8);
        index.truncate_entries(3);
        assert_eq!(index.entries(), 3);
        assert_eq!(index.file_len(), 1 << 20);
        assert_eq!(index.entry(2), &3u64.to_be_bytes());
        assert!(index.append(&[0xff; 8]));
        index.set_entries(5);
        assert_eq!(index.entry(4), &[0; 8], "the cut entries read as zeros");
        let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(allocated < 1 << 16, "{allocated} bytes allocated: no holes");
        index.reset();
        assert_eq!(index.entries(), 0);
    }
}
