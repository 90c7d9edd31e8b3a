//! A segment's aborted transactions (Kafka's `TransactionIndex`): the file
//! `<base offset>.txnindex` holds one entry per transaction whose ABORT
//! marker is in the segment, in marker order. A READ_COMMITTED fetch hands
//! the entries that overlap what it returns to the consumer, which then
//! skips those producers' records in the ranges.
//!
//! Each entry is 34 bytes, big-endian: version (int16, 0), producer id
//! (int64), first offset (int64), last offset (int64, the marker's) and the
//! last stable offset once the transaction was complete (int64). The file
//! is created with its first entry; the entries are also kept in memory
//! (a few per aborted transaction).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const TXN_INDEX_FILE_SUFFIX: &str = ".txnindex";
const ENTRY_SIZE: usize = 34;
const ENTRY_VERSION: i16 = 0;

/// A transaction that ended with an ABORT marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset once the marker was written.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> [u8; ENTRY_SIZE] {
        let mut buf = [0u8; ENTRY_SIZE];
        buf[..2].copy_from_slice(&ENTRY_VERSION.to_be_bytes());
        buf[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        buf[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        buf[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        buf[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        buf
    }

    fn decode(buf: &[u8]) -> Option<Self> {
        let i64_at = |at: usize| {
            buf.get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(i64::from_be_bytes)
        };
        let version = i16::from_be_bytes(buf.get(..2)?.try_into().ok()?);
        if version != ENTRY_VERSION {
            return None;
        }
        Some(AbortedTxn {
            producer_id: i64_at(2)?,
            first_offset: i64_at(10)?,
            last_offset: i64_at(18)?,
            last_stable_offset: i64_at(26)?,
        })
    }
}

/// What a search of the indexes found: the overlapping aborted
/// transactions, and whether the search can stop (an entry's last stable
/// offset reached the upper bound, so later segments have nothing more).
#[derive(Debug, Default)]
pub struct TxnIndexSearchResult {
    pub aborted: Vec<AbortedTxn>,
    pub complete: bool,
}

pub struct TransactionIndex {
    path: PathBuf,
    entries: Vec<AbortedTxn>,
    file: Option<Arc<File>>,
}

impl TransactionIndex {
    /// Opens the index at `path`, reading its entries if the file exists. A
    /// torn last entry (a crash mid-write) is cut off.
    pub fn open(path: PathBuf) -> io::Result<Self> {
        let mut index = TransactionIndex {
            path,
            entries: Vec::new(),
            file: None,
        };
        match std::fs::read(&index.path) {
            Ok(bytes) => {
                let mut valid = 0;
                for chunk in bytes.chunks_exact(ENTRY_SIZE) {
                    let Some(entry) = AbortedTxn::decode(chunk) else {
                        break;
                    };
                    index.entries.push(entry);
                    valid += ENTRY_SIZE;
                }
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&index.path)?;
                if valid < bytes.len() {
                    tracing::warn!(file = %index.path.display(), valid_bytes = valid,
                        "cutting off an incomplete transaction index entry");
                    file.set_len(valid as u64)?;
                }
                index.file = Some(Arc::new(file));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    /// Whether the file exists (it is created with the first entry).
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    /// Appends an entry; its marker must come after the last one's.
    pub fn append(&mut self, entry: AbortedTxn) -> io::Result<()> {
        if let Some(last) = self.entries.last()
            && entry.last_offset <= last.last_offset
        {
            return Err(io::Error::other(format!(
                "the last offset of appended aborted transaction ({}) must be above the last one's ({}) in {}",
                entry.last_offset,
                last.last_offset,
                self.path.display()
            )));
        }
        let file = match &self.file {
            Some(file) => Arc::clone(file),
            None => {
                let file = Arc::new(
                    OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&self.path)?,
                );
                self.file = Some(Arc::clone(&file));
                file
            }
        };
        let position = (self.entries.len() * ENTRY_SIZE) as u64;
        file.write_all_at(&entry.encode(), position)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Drops the entries whose marker is at or after `offset` (recovery
    /// rebuilds them from the batches it scans).
    pub fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let keep = self.entries.partition_point(|e| e.last_offset < offset);
        if keep == self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(keep);
        if let Some(file) = &self.file {
            file.set_len((keep * ENTRY_SIZE) as u64)?;
        }
        Ok(())
    }

    /// Every entry whose transaction overlaps `[fetch_offset, upper_bound)`
    /// (Kafka's `collectAbortedTxns`).
    pub fn collect(&self, fetch_offset: i64, upper_bound: i64, into: &mut TxnIndexSearchResult) {
        for entry in &self.entries {
            if entry.last_offset >= fetch_offset && entry.first_offset < upper_bound {
                into.aborted.push(*entry);
            }
            if entry.last_stable_offset >= upper_bound {
                into.complete = true;
                return;
            }
        }
    }

    /// The file to force to disk, if there is one.
    pub fn handle(&self) -> Option<Arc<File>> {
        self.file.clone()
    }

    pub fn flush(&self) -> io::Result<()> {
        match &self.file {
            Some(file) => file.sync_data(),
            None => Ok(()),
        }
    }

    /// Writes `entries` as a new index at `path` (a cleaned segment's).
    pub fn write_new(path: PathBuf, entries: &[AbortedTxn]) -> io::Result<Self> {
        if entries.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            return TransactionIndex::open(path);
        }
        let mut file = File::create(&path)?;
        for entry in entries {
            file.write_all(&entry.encode())?;
        }
        file.sync_data()?;
        drop(file);
        TransactionIndex::open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(producer_id: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id,
            first_offset: first,
            last_offset: last,
            last_stable_offset: lso,
        }
    }

    #[test]
    fn entries_round_trip_truncate_and_search() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.txnindex");
        let mut index = TransactionIndex::open(path.clone()).unwrap();
        assert!(!index.has_file());
        index.append(txn(1, 0, 10, 11)).unwrap();
        index.append(txn(2, 5, 20, 21)).unwrap();
        index.append(txn(1, 30, 40, 41)).unwrap();
        assert!(index.append(txn(3, 0, 40, 41)).is_err());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * 34);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..2], &[0, 0]);
        assert_eq!(&bytes[2..10], &1i64.to_be_bytes());
        assert_eq!(&bytes[26..34], &11i64.to_be_bytes());

        let reopened = TransactionIndex::open(path.clone()).unwrap();
        assert_eq!(reopened.entries(), index.entries());
        let mut found = TxnIndexSearchResult::default();
        reopened.collect(12, 25, &mut found);
        assert_eq!(found.aborted, vec![txn(2, 5, 20, 21)]);
        assert!(found.complete);
        let mut found = TxnIndexSearchResult::default();
        reopened.collect(35, 50, &mut found);
        assert_eq!(found.aborted, vec![txn(1, 30, 40, 41)]);
        assert!(!found.complete);
        let mut found = TxnIndexSearchResult::default();
        reopened.collect(0, 15, &mut found);
        assert_eq!(found.aborted, vec![txn(1, 0, 10, 11), txn(2, 5, 20, 21)]);
        assert!(found.complete);

        index.truncate_to(20).unwrap();
        assert_eq!(index.entries(), &[txn(1, 0, 10, 11)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 34);

        // A torn entry is cut off when opened.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[0, 0, 1])
            .unwrap();
        let reopened = TransactionIndex::open(path.clone()).unwrap();
        assert_eq!(reopened.entries().len(), 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 34);
    }
}
