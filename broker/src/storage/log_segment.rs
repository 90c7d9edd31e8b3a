//! One `<base offset>.log` file of a partition log and its in-memory index.

use super::offset_index::OffsetIndex;
use super::record_batch::{self, BatchError, BatchHeader, RECORD_BATCH_OVERHEAD};
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Kafka's file name for the segment that starts at `base_offset`.
pub fn log_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}

/// Parses a segment file name back into its base offset.
pub fn parse_log_file_name(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What recovering a segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecovery {
    /// Offset after the last valid batch, if the segment holds any.
    pub next_offset: Option<i64>,
    /// Bytes after the last valid batch that were cut off.
    pub truncated_bytes: u64,
    /// Why the scan stopped early, if it did.
    pub stopped_by: Option<BatchError>,
}

/// A batch ready to be written: its assigned base offset, its rewritten
/// first 16 bytes and the rest of its bytes as received.
pub struct PendingBatch<'a> {
    pub base_offset: i64,
    pub prefix: [u8; 16],
    pub rest: &'a [u8],
    pub max_timestamp: i64,
}

pub struct LogSegment {
    base_offset: i64,
    path: PathBuf,
    file: Arc<File>,
    /// Bytes of whole batches in the file; appends go here.
    size: u64,
    index: OffsetIndex,
    /// Sparse (max timestamp so far, offset of the batch holding it),
    /// added with the offset index entries (Kafka's `TimeIndex`).
    time_index: Vec<(i64, i64)>,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    index_interval_bytes: u64,
    bytes_since_last_index_entry: u64,
}

impl LogSegment {
    /// Opens (creating if missing) the segment file in `dir`. Call
    /// [`LogSegment::recover`] before using a segment that has data.
    pub fn open(dir: &Path, base_offset: i64, index_interval_bytes: u64) -> io::Result<Self> {
        let path = dir.join(log_file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        Ok(LogSegment {
            base_offset,
            path,
            file: Arc::new(file),
            size: 0,
            index: OffsetIndex::new(base_offset),
            time_index: Vec::new(),
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            index_interval_bytes,
            bytes_since_last_index_entry: 0,
        })
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// The largest batch timestamp in the segment, -1 when empty.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The base offset of the batch with the largest timestamp.
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }

    /// Walks every batch in the file, rebuilding the index. With
    /// `check_crc`, batches are also checked against their CRC. Anything
    /// after the last valid batch is cut off the file when `truncate` is set;
    /// otherwise the segment just ends there.
    /// Each valid batch's header is handed to `on_batch`.
    pub fn recover(
        &mut self,
        check_crc: bool,
        truncate: bool,
        on_batch: &mut dyn FnMut(&BatchHeader),
    ) -> io::Result<SegmentRecovery> {
        let file_len = self.file.metadata()?.len();
        self.index = OffsetIndex::new(self.base_offset);
        self.time_index.clear();
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = -1;
        self.bytes_since_last_index_entry = 0;
        let file = Arc::clone(&self.file);
        let mut scanner = Scanner::new(&file, file_len);
        let mut next_offset = None;
        let mut valid_end = 0u64;
        let mut stopped_by = None;
        loop {
            match scanner.next_batch(check_crc)? {
                ScanItem::End => break,
                ScanItem::Invalid(e) => {
                    stopped_by = Some(e);
                    break;
                }
                ScanItem::Batch { position, header } => {
                    self.index_batch(header.base_offset, position);
                    self.track_timestamp(header.max_timestamp, header.base_offset);
                    on_batch(&header);
                    self.bytes_since_last_index_entry += header.size_in_bytes() as u64;
                    next_offset = Some(header.next_offset());
                    valid_end = position + header.size_in_bytes() as u64;
                }
            }
        }
        let truncated_bytes = file_len - valid_end;
        if truncated_bytes > 0 && truncate {
            self.file.set_len(valid_end)?;
        }
        self.size = valid_end;
        Ok(SegmentRecovery {
            next_offset,
            truncated_bytes,
            stopped_by,
        })
    }

    fn index_batch(&mut self, base_offset: i64, position: u64) {
        if self.bytes_since_last_index_entry > self.index_interval_bytes {
            if let Ok(position) = u32::try_from(position) {
                self.index.append(base_offset, position);
            }
            if self.max_timestamp > self.time_index.last().map_or(-1, |e| e.0) {
                self.time_index
                    .push((self.max_timestamp, self.offset_of_max_timestamp));
            }
            self.bytes_since_last_index_entry = 0;
        }
    }

    fn track_timestamp(&mut self, max_timestamp: i64, base_offset: i64) {
        if max_timestamp > self.max_timestamp {
            self.max_timestamp = max_timestamp;
            self.offset_of_max_timestamp = base_offset;
        }
    }

    /// Appends already checked batches, each written as its 16-byte
    /// rewritten prefix followed by the rest of its bytes unchanged. On a
    /// failed write the file is cut back, so the segment stays whole.
    pub fn append(&mut self, batches: &[PendingBatch<'_>]) -> io::Result<()> {
        let start = self.size;
        let before = (
            self.max_timestamp,
            self.offset_of_max_timestamp,
            self.time_index.len(),
        );
        let mut slices = Vec::with_capacity(batches.len() * 2);
        let mut position = start;
        for batch in batches {
            self.index_batch(batch.base_offset, position);
            self.track_timestamp(batch.max_timestamp, batch.base_offset);
            let len = (batch.prefix.len() + batch.rest.len()) as u64;
            self.bytes_since_last_index_entry += len;
            position += len;
            slices.push(IoSlice::new(&batch.prefix));
            slices.push(IoSlice::new(batch.rest));
        }
        if let Err(e) = write_all_vectored(&self.file, &mut slices) {
            self.index.truncate_to_position(start as u32);
            (self.max_timestamp, self.offset_of_max_timestamp) = (before.0, before.1);
            self.time_index.truncate(before.2);
            let _ = self.file.set_len(start);
            return Err(e);
        }
        self.size = position;
        Ok(())
    }

    /// Where a reader looking for the first batch with a timestamp at least
    /// `target` starts walking (Kafka's `TimeIndex.lookup`).
    pub fn timestamp_lookup_position(&self, target: i64) -> u64 {
        let idx = self
            .time_index
            .partition_point(|&(timestamp, _)| timestamp <= target);
        match idx.checked_sub(1) {
            Some(i) => self.lookup_position(self.time_index[i].1),
            None => 0,
        }
    }

    /// Where a reader looking for `target` starts walking batch headers.
    pub fn lookup_position(&self, target: i64) -> u64 {
        u64::from(self.index.lookup(target).position)
    }

    /// Forces the segment's data to disk.
    pub fn flush(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Walks batch headers in `file` from `position` (a batch start) up to `end`
/// and returns the first batch whose last offset is at least `target`.
pub fn find_batch(
    file: &File,
    mut position: u64,
    end: u64,
    target: i64,
) -> io::Result<Option<(u64, BatchHeader)>> {
    let mut header_buf = [0u8; RECORD_BATCH_OVERHEAD];
    while position + RECORD_BATCH_OVERHEAD as u64 <= end {
        file.read_exact_at(&mut header_buf, position)?;
        let header = match BatchHeader::parse(&header_buf) {
            Ok(h) if h.batch_length > 0 => h,
            _ => return Ok(None),
        };
        if header.last_offset() >= target {
            return Ok(Some((position, header)));
        }
        position += header.size_in_bytes() as u64;
    }
    Ok(None)
}

/// Writes all slices, retrying short writes. The file is opened in append
/// mode, so every write lands at the end of the whole batches.
fn write_all_vectored(mut file: &File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "wrote no bytes")),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

enum ScanItem {
    Batch { position: u64, header: BatchHeader },
    Invalid(BatchError),
    End,
}

/// Reads a segment file front to back in large chunks and yields its batches.
struct Scanner<'a> {
    file: &'a File,
    file_len: u64,
    chunk: Vec<u8>,
    chunk_start: u64,
    position: u64,
}

const SCAN_CHUNK: usize = 1 << 20;

impl<'a> Scanner<'a> {
    fn new(file: &'a File, file_len: u64) -> Self {
        Scanner {
            file,
            file_len,
            chunk: Vec::new(),
            chunk_start: 0,
            position: 0,
        }
    }

    /// Makes sure `[position, position + len)` is in the chunk, reading at
    /// most up to the end of the file.
    fn fill(&mut self, len: usize) -> io::Result<&[u8]> {
        let chunk_end = self.chunk_start + self.chunk.len() as u64;
        if self.position < self.chunk_start || self.position + len as u64 > chunk_end {
            let want = len.max(SCAN_CHUNK) as u64;
            let available = self.file_len.saturating_sub(self.position);
            let size = want.min(available) as usize;
            self.chunk.resize(size, 0);
            self.file.read_exact_at(&mut self.chunk, self.position)?;
            self.chunk_start = self.position;
        }
        let from = (self.position - self.chunk_start) as usize;
        let to = (from + len).min(self.chunk.len());
        Ok(&self.chunk[from..to])
    }

    fn next_batch(&mut self, check_crc: bool) -> io::Result<ScanItem> {
        if self.position >= self.file_len {
            return Ok(ScanItem::End);
        }
        let position = self.position;
        let pos = position as usize;
        let header_bytes = self.fill(RECORD_BATCH_OVERHEAD)?;
        if header_bytes.len() < RECORD_BATCH_OVERHEAD {
            return Ok(ScanItem::Invalid(BatchError::Truncated {
                position: pos,
                remaining: header_bytes.len(),
            }));
        }
        let header = match BatchHeader::parse(header_bytes) {
            Ok(h) => h,
            Err(_) => {
                return Ok(ScanItem::Invalid(BatchError::Truncated {
                    position: pos,
                    remaining: header_bytes.len(),
                }));
            }
        };
        let size = header.size_in_bytes();
        let batch = self.fill(size.max(RECORD_BATCH_OVERHEAD))?;
        let (header, size) = match record_batch::check_structure(batch, pos) {
            Ok(found) => found,
            Err(e) => return Ok(ScanItem::Invalid(e)),
        };
        if check_crc && let Err(e) = record_batch::check_crc(&batch[..size], &header, pos) {
            return Ok(ScanItem::Invalid(e));
        }
        self.position += size as u64;
        Ok(ScanItem::Batch { position, header })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record_batch::tests::batch;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(log_file_name(0), "00000000000000000000.log");
        assert_eq!(parse_log_file_name("00000000000000000042.log"), Some(42));
        assert_eq!(parse_log_file_name("42.log"), None);
        assert_eq!(parse_log_file_name("00000000000000000042.index"), None);
    }

    #[test]
    fn recovery_rebuilds_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for i in 0..100 {
            bytes.extend(batch(i, &[&[7u8; 100]]));
        }
        let whole = bytes.len() as u64;
        bytes.extend_from_slice(&batch(100, &[b"torn"])[..30]);
        std::fs::write(dir.path().join(log_file_name(0)), &bytes).unwrap();

        let mut segment = LogSegment::open(dir.path(), 0, 1024).unwrap();
        let mut seen = 0;
        let recovery = segment.recover(true, true, &mut |_| seen += 1).unwrap();
        assert_eq!(seen, 100);
        assert_eq!(recovery.next_offset, Some(100));
        assert_eq!(recovery.truncated_bytes, 30);
        assert_eq!(segment.size(), whole);
        assert_eq!(std::fs::metadata(segment.path()).unwrap().len(), whole);
        assert!(segment.index.len() > 5);

        for target in [0, 1, 50, 99] {
            let start = segment.lookup_position(target);
            let (_, header) = find_batch(segment.file(), start, segment.size(), target)
                .unwrap()
                .unwrap();
            assert_eq!(header.base_offset, target);
        }
        assert!(
            find_batch(segment.file(), 0, segment.size(), 100)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn append_writes_prefix_and_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut segment = LogSegment::open(dir.path(), 0, 4096).unwrap();
        let b = batch(0, &[b"v"]);
        let prefix = record_batch::rewritten_prefix(&b, 5, 3);
        segment
            .append(&[PendingBatch {
                base_offset: 5,
                prefix,
                rest: &b[16..],
                max_timestamp: 7,
            }])
            .unwrap();
        assert_eq!(
            (segment.max_timestamp(), segment.offset_of_max_timestamp()),
            (7, 5)
        );
        let stored = std::fs::read(segment.path()).unwrap();
        assert_eq!(stored.len(), b.len());
        assert_eq!(&stored[..8], &5i64.to_be_bytes());
        assert_eq!(&stored[16..], &b[16..]);
    }
}
