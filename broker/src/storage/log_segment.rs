//! One segment of a partition log (Kafka's `LogSegment`): the
//! `<base offset>.log` file of batches, its `.index` and its `.timeindex`.

use super::offset_index::OffsetIndex;
use super::record_batch::{self, BatchError, BatchHeader, ControlRecord, RECORD_BATCH_OVERHEAD};
use super::time_index::TimeIndex;
use super::transaction_index::{AbortedTxn, TXN_INDEX_FILE_SUFFIX, TransactionIndex};
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const LOG_FILE_SUFFIX: &str = ".log";
pub const INDEX_FILE_SUFFIX: &str = ".index";
pub const TIME_INDEX_FILE_SUFFIX: &str = ".timeindex";
/// Added to the file names of a segment deleted by retention until its
/// files are removed (Kafka's `LogFileUtils.DELETED_FILE_SUFFIX`).
pub const DELETED_FILE_SUFFIX: &str = ".deleted";

/// Kafka's file name for the segment that starts at `base_offset`.
pub fn log_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}{LOG_FILE_SUFFIX}")
}

/// Parses a `<20 digits><suffix>` file name back into its offset.
pub fn parse_file_name(name: &str, suffix: &str) -> Option<i64> {
    let digits = name.strip_suffix(suffix)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses a segment file name back into its base offset.
pub fn parse_log_file_name(name: &str) -> Option<i64> {
    parse_file_name(name, LOG_FILE_SUFFIX)
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
    /// Bytes of segment data read.
    pub scanned_bytes: u64,
}

/// Where a segment's recovery scan starts.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryStart {
    pub position: u64,
    /// The offset of the first batch there, when known.
    pub next_offset: Option<i64>,
    /// Bytes read to find the start.
    pub scanned_bytes: u64,
}

/// A batch ready to be written: its assigned base offset, its rewritten
/// first 16 bytes and the rest of its bytes as received.
pub struct PendingBatch<'a> {
    pub base_offset: i64,
    pub last_offset: i64,
    pub prefix: [u8; 16],
    pub rest: &'a [u8],
    pub max_timestamp: i64,
}

/// Per-segment settings.
#[derive(Debug, Clone, Copy)]
pub struct SegmentConfig {
    /// `index.interval.bytes`
    pub index_interval_bytes: u64,
    /// `segment.index.bytes`: the size the active segment's indexes are
    /// preallocated to.
    pub max_index_size: usize,
    /// `segment.jitter.ms`: each segment takes a random part of it off
    /// `segment.ms`.
    pub segment_jitter_ms: i64,
}

pub struct LogSegment {
    base_offset: i64,
    path: PathBuf,
    file: Arc<File>,
    /// Bytes of whole batches in the file; appends go here.
    size: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// The transactions aborted by a marker in this segment.
    txn_index: TransactionIndex,
    /// The largest batch timestamp so far and the last offset of the batch
    /// that holds it; -1 while unknown.
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    config: SegmentConfig,
    bytes_since_last_index_entry: u64,
    /// When this segment was opened or created, in ms since the epoch.
    created_ms: i64,
    /// This segment's share of `segment.jitter.ms`.
    roll_jitter_ms: i64,
    /// The largest timestamp of the segment's first batch (Kafka's
    /// `rollingBasedTimestamp`); read from the file on first use.
    rolling_timestamp: Option<Option<i64>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A random value in `0..bound` (0 when `bound` is not positive).
fn random_below(bound: i64) -> i64 {
    use std::hash::{BuildHasher, Hasher};
    if bound <= 0 {
        return 0;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(now_ms());
    (hasher.finish() % bound as u64) as i64
}

fn with_suffix(log_path: &Path, suffix: &str) -> PathBuf {
    log_path.with_extension(&suffix[1..])
}

impl LogSegment {
    /// Creates a new, empty segment in `dir`, its indexes preallocated.
    /// Files left from an earlier segment of the same base offset are
    /// emptied.
    pub fn create(dir: &Path, base_offset: i64, config: SegmentConfig) -> io::Result<Self> {
        Self::create_with_suffix(dir, base_offset, config, "")
    }

    /// [`LogSegment::create`] with `suffix` after each file name (the log
    /// cleaner writes `.cleaned` segments).
    pub fn create_with_suffix(
        dir: &Path,
        base_offset: i64,
        config: SegmentConfig,
        suffix: &str,
    ) -> io::Result<Self> {
        let mut segment = Self::open_with_suffix(dir, base_offset, config, suffix)?;
        segment.file.set_len(0)?;
        segment.size = 0;
        segment.offset_index.file_mut().reset();
        segment.time_index.file_mut().reset();
        segment.txn_index.truncate_to(i64::MIN)?;
        segment.rolling_timestamp = Some(None);
        segment.make_active()?;
        Ok(segment)
    }

    /// Opens the files of an existing segment as they are: its size is the
    /// file's, its indexes what their files hold. Check them with
    /// [`LogSegment::sanity_check`] or rebuild them with
    /// [`LogSegment::recover`] before use.
    pub fn open(dir: &Path, base_offset: i64, config: SegmentConfig) -> io::Result<Self> {
        Self::open_with_suffix(dir, base_offset, config, "")
    }

    fn open_with_suffix(
        dir: &Path,
        base_offset: i64,
        config: SegmentConfig,
        suffix: &str,
    ) -> io::Result<Self> {
        let name = |file_suffix: &str| dir.join(format!("{base_offset:020}{file_suffix}{suffix}"));
        let path = name(LOG_FILE_SUFFIX);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let size = file.metadata()?.len();
        Ok(LogSegment {
            base_offset,
            offset_index: OffsetIndex::open(&name(INDEX_FILE_SUFFIX), base_offset)?,
            time_index: TimeIndex::open(&name(TIME_INDEX_FILE_SUFFIX), base_offset)?,
            txn_index: TransactionIndex::open(name(TXN_INDEX_FILE_SUFFIX))?,
            path,
            file: Arc::new(file),
            size,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            config,
            bytes_since_last_index_entry: 0,
            created_ms: now_ms(),
            roll_jitter_ms: random_below(config.segment_jitter_ms),
            rolling_timestamp: None,
        })
    }

    /// Whether both index files of the segment at `base_offset` exist.
    pub fn index_files_exist(dir: &Path, base_offset: i64) -> bool {
        let path = dir.join(log_file_name(base_offset));
        with_suffix(&path, INDEX_FILE_SUFFIX).exists()
            && with_suffix(&path, TIME_INDEX_FILE_SUFFIX).exists()
    }

    /// Checks a loaded segment's index files before they are trusted
    /// (Kafka's `sanityCheck`, and more: every entry, not just the last):
    /// whole entries only, ascending, and pointing inside the segment, whose
    /// offsets end before `end_offset`. Also takes the segment's largest
    /// timestamp from the time index's last entry.
    pub fn sanity_check(&mut self, end_offset: i64) -> Result<(), String> {
        let offset_len = self.offset_index.file().file_len();
        let time_len = self.time_index.file().file_len();
        let on_disk = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let offset_file = on_disk(self.offset_index.file().path());
        let time_file = on_disk(self.time_index.file().path());
        if offset_file != offset_len {
            return Err(format!(
                "index file {} has {offset_file} bytes, not a multiple of 8",
                self.offset_index.file().path().display()
            ));
        }
        if time_file != time_len {
            return Err(format!(
                "time index file {} has {time_file} bytes, not a multiple of 12",
                self.time_index.file().path().display()
            ));
        }
        let valid = self.offset_index.valid_prefix(end_offset, self.size);
        if valid != self.offset_index.len() {
            return Err(format!(
                "index file {}: entry {valid} of {} is out of order or out of range",
                self.offset_index.file().path().display(),
                self.offset_index.len()
            ));
        }
        let valid = self.time_index.valid_prefix(end_offset);
        if valid != self.time_index.len() {
            return Err(format!(
                "time index file {}: entry {valid} of {} is out of order or out of range",
                self.time_index.file().path().display(),
                self.time_index.len()
            ));
        }
        if self.size > 0 && self.time_index.is_empty() && !self.offset_index.is_empty() {
            return Err(format!(
                "time index file {} is empty but its segment is indexed",
                self.time_index.file().path().display()
            ));
        }
        if let Some(last) = self.time_index.last_entry() {
            self.max_timestamp = last.timestamp;
            self.offset_of_max_timestamp = last.offset;
        }
        Ok(())
    }

    /// Readies a loaded segment for appends: its indexes get their full
    /// preallocated size back.
    pub fn make_active(&mut self) -> io::Result<()> {
        self.offset_index
            .file_mut()
            .resize(self.config.max_index_size)?;
        self.time_index
            .file_mut()
            .resize(self.config.max_index_size)
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

    pub fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }

    /// The largest batch timestamp in the segment, -1 when empty.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The last offset of the batch with the largest timestamp.
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }

    /// The newest timestamp in the segment, or when its file was last
    /// written if it has none (Kafka's `largestTimestamp`): what
    /// `retention.ms` is measured from.
    pub fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            return self.max_timestamp;
        }
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// How long the segment has been taking batches, as `segment.ms`
    /// counts it (Kafka's `timeWaitedForRoll`): from its first batch's
    /// timestamp to `message_timestamp`, or since it was opened when its
    /// first batch has no timestamp.
    fn time_waited_for_roll(&mut self, now_ms: i64, message_timestamp: i64) -> i64 {
        match self.rolling_timestamp() {
            Some(first) if first >= 0 => message_timestamp - first,
            _ => now_ms - self.created_ms,
        }
    }

    fn rolling_timestamp(&mut self) -> Option<i64> {
        if self.rolling_timestamp.is_none() {
            let mut header = [0u8; RECORD_BATCH_OVERHEAD];
            let first = (self.size >= RECORD_BATCH_OVERHEAD as u64)
                .then(|| self.file.read_exact_at(&mut header, 0).ok())
                .flatten()
                .and_then(|()| BatchHeader::parse(&header).ok())
                .map(|h| h.max_timestamp);
            self.rolling_timestamp = Some(first);
        }
        self.rolling_timestamp.flatten()
    }

    /// Whether the segment must roll before `batches_size` more bytes whose
    /// last offset is `last_offset` and newest timestamp
    /// `max_timestamp_in_batches` (Kafka's `shouldRoll`): it is full
    /// (`segment.bytes`, an index), offsets or positions would overflow, or
    /// it has taken batches for `segment.ms` (less its jitter).
    pub fn should_roll(
        &mut self,
        batches_size: u64,
        last_offset: i64,
        max_timestamp_in_batches: i64,
        segment_bytes: u64,
        segment_ms: i64,
        now_ms: i64,
    ) -> bool {
        (self.size > 0
            && (self.size + batches_size > segment_bytes
                || self.time_waited_for_roll(now_ms, max_timestamp_in_batches)
                    > segment_ms - self.roll_jitter_ms))
            || self.offset_index.is_full()
            || self.time_index.is_full()
            || u32::try_from(last_offset - self.base_offset).is_err()
            || u32::try_from(self.size + batches_size).is_err()
    }

    /// Rebuilds the indexes by walking the batches in the file, from the
    /// start or, with `resume_before`, from the last index entry whose
    /// offset is below it (entries before it are kept: the data they cover
    /// was flushed with them). With `check_crc`, batches are also checked
    /// against their CRC. Anything after the last valid batch is cut off the
    /// file when `truncate` is set; otherwise the segment just ends there.
    /// Each batch walked is handed to `on_batch`.
    pub fn recover(
        &mut self,
        check_crc: bool,
        truncate: bool,
        resume_before: Option<i64>,
        on_batch: &mut dyn FnMut(&BatchHeader, Option<ControlRecord>),
    ) -> io::Result<SegmentRecovery> {
        let start = self.begin_recovery(resume_before)?;
        self.scan_from(start, check_crc, truncate, on_batch)
    }

    /// The first half of [`LogSegment::recover`]: readies the indexes and
    /// says where the scan starts.
    pub fn begin_recovery(&mut self, resume_before: Option<i64>) -> io::Result<RecoveryStart> {
        let file_len = self.file.metadata()?.len();
        self.make_active()?;
        let resume = match resume_before {
            Some(offset) => self.resume_point(offset, file_len)?,
            None => None,
        };
        Ok(match resume {
            Some((position, next_offset, header_bytes)) => RecoveryStart {
                position,
                next_offset: Some(next_offset),
                scanned_bytes: header_bytes,
            },
            None => {
                self.offset_index.file_mut().reset();
                self.time_index.file_mut().reset();
                self.max_timestamp = -1;
                self.offset_of_max_timestamp = -1;
                self.bytes_since_last_index_entry = 0;
                RecoveryStart {
                    position: 0,
                    next_offset: None,
                    scanned_bytes: 0,
                }
            }
        })
    }

    /// The second half of [`LogSegment::recover`]: walks the batches from
    /// where [`LogSegment::begin_recovery`] said.
    pub fn scan_from(
        &mut self,
        start: RecoveryStart,
        check_crc: bool,
        truncate: bool,
        on_batch: &mut dyn FnMut(&BatchHeader, Option<ControlRecord>),
    ) -> io::Result<SegmentRecovery> {
        let file_len = self.file.metadata()?.len();
        let mut next_offset = start.next_offset;
        let file = Arc::clone(&self.file);
        let mut scanner = Scanner::new(&file, start.position, file_len);
        let mut valid_end = start.position;
        let mut stopped_by = None;
        loop {
            match scanner.next_batch(check_crc)? {
                ScanItem::End => break,
                ScanItem::Invalid(e) => {
                    stopped_by = Some(e);
                    break;
                }
                ScanItem::Batch {
                    position,
                    header,
                    control,
                } => {
                    self.track_timestamp(header.max_timestamp, header.last_offset());
                    self.index_batch(header.last_offset(), position);
                    on_batch(&header, control);
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
            scanned_bytes: start.scanned_bytes + scanner.bytes_read,
        })
    }

    /// Where recovery can resume for a recovery point at `offset`: just
    /// after the batch of the last trusted offset index entry below it.
    /// Returns that position, the next offset there and the header bytes
    /// read, after setting the kept index state; None to start over.
    fn resume_point(&mut self, offset: i64, file_len: u64) -> io::Result<Option<(u64, i64, u64)>> {
        let trusted = self.offset_index.valid_prefix(offset, file_len);
        let Some(n) = trusted.checked_sub(1) else {
            return Ok(None);
        };
        let entry = self.offset_index.entry(n);
        let mut header_buf = [0u8; RECORD_BATCH_OVERHEAD];
        if u64::from(entry.position) + RECORD_BATCH_OVERHEAD as u64 > file_len {
            return Ok(None);
        }
        self.file
            .read_exact_at(&mut header_buf, u64::from(entry.position))?;
        let Ok(header) = BatchHeader::parse(&header_buf) else {
            return Ok(None);
        };
        let end = u64::from(entry.position) + header.size_in_bytes() as u64;
        if header.batch_length <= 0 || header.last_offset() != entry.offset || end > file_len {
            return Ok(None);
        }
        self.offset_index.file_mut().truncate_entries(n + 1);
        self.time_index.truncate_to_offset(entry.offset + 1);
        let time_entries = self.time_index.valid_prefix(entry.offset + 1);
        self.time_index.file_mut().truncate_entries(time_entries);
        match self.time_index.last_entry() {
            Some(last) => {
                self.max_timestamp = last.timestamp;
                self.offset_of_max_timestamp = last.offset;
            }
            None => {
                self.max_timestamp = -1;
                self.offset_of_max_timestamp = -1;
            }
        }
        self.bytes_since_last_index_entry = header.size_in_bytes() as u64;
        Ok(Some((
            end,
            header.next_offset(),
            RECORD_BATCH_OVERHEAD as u64,
        )))
    }

    /// Kafka's rule: an index entry once more than `index.interval.bytes`
    /// were appended since the last one, for the batch being appended.
    fn index_batch(&mut self, last_offset: i64, position: u64) {
        if self.bytes_since_last_index_entry > self.config.index_interval_bytes {
            if let Ok(position) = u32::try_from(position) {
                self.offset_index.append(last_offset, position);
            }
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp, false);
            self.bytes_since_last_index_entry = 0;
        }
    }

    fn track_timestamp(&mut self, max_timestamp: i64, last_offset: i64) {
        if max_timestamp > self.max_timestamp {
            self.max_timestamp = max_timestamp;
            self.offset_of_max_timestamp = last_offset;
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
            self.bytes_since_last_index_entry,
        );
        let mut slices = Vec::with_capacity(batches.len() * 2);
        let mut position = start;
        let first_offset = batches.first().map_or(0, |b| b.base_offset);
        for batch in batches {
            self.track_timestamp(batch.max_timestamp, batch.last_offset);
            self.index_batch(batch.last_offset, position);
            let len = (batch.prefix.len() + batch.rest.len()) as u64;
            self.bytes_since_last_index_entry += len;
            position += len;
            slices.push(IoSlice::new(&batch.prefix));
            slices.push(IoSlice::new(batch.rest));
        }
        if start == 0
            && let Some(first) = batches.first()
        {
            self.rolling_timestamp = Some(Some(first.max_timestamp));
        }
        if let Err(e) = write_all_vectored(&self.file, &mut slices) {
            if start == 0 {
                self.rolling_timestamp = Some(None);
            }
            self.offset_index.truncate_to_position(start as u32);
            self.time_index.truncate_to_offset(first_offset);
            (
                self.max_timestamp,
                self.offset_of_max_timestamp,
                self.bytes_since_last_index_entry,
            ) = before;
            let _ = self.file.set_len(start);
            return Err(e);
        }
        self.size = position;
        Ok(())
    }

    /// The segment stops taking appends (it rolled, or the log closes): the
    /// time index gets its final entry and both indexes are trimmed to
    /// their entries (Kafka's `onBecomeInactiveSegment`).
    pub fn on_become_inactive(&mut self) -> io::Result<()> {
        self.time_index
            .maybe_append(self.max_timestamp, self.offset_of_max_timestamp, true);
        self.offset_index.file_mut().trim_to_valid_size()?;
        self.time_index.file_mut().trim_to_valid_size()
    }

    /// Where a reader looking for the first batch with a timestamp at least
    /// `target` starts walking (Kafka's `TimeIndex.lookup`, then the offset
    /// index).
    pub fn timestamp_lookup_position(&self, target: i64) -> u64 {
        match self.time_index.lookup(target) {
            Some(entry) => self.lookup_position(entry.offset),
            None => 0,
        }
    }

    /// Where a reader looking for `target` starts walking batch headers.
    pub fn lookup_position(&self, target: i64) -> u64 {
        u64::from(self.offset_index.lookup(target).position)
    }

    /// Forces the segment's data and indexes to disk.
    pub fn flush(&self) -> io::Result<()> {
        self.file.sync_data()?;
        self.offset_index.file().flush()?;
        self.time_index.file().flush()?;
        self.txn_index.flush()
    }

    /// Renames the segment's files `<name>.deleted` (Kafka's
    /// `changeFileSuffixes("", ".deleted")`) and returns their new paths,
    /// to be removed after `file.delete.delay.ms`. Readers that hold the
    /// files open keep reading them.
    pub fn rename_to_deleted(&self) -> io::Result<Vec<PathBuf>> {
        let mut renamed = Vec::with_capacity(4);
        for path in [
            self.path.clone(),
            self.offset_index.file().path().to_path_buf(),
            self.time_index.file().path().to_path_buf(),
            self.txn_index.path().to_path_buf(),
        ] {
            let mut deleted = path.clone().into_os_string();
            deleted.push(DELETED_FILE_SUFFIX);
            match std::fs::rename(&path, &deleted) {
                Ok(()) => renamed.push(PathBuf::from(deleted)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(renamed)
    }

    /// Renames the segment's files from `<name><old>` to `<name><new>`
    /// (Kafka's `changeFileSuffixes`); open handles and mappings stay valid.
    pub fn change_file_suffixes(&mut self, old: &str, new: &str) -> io::Result<()> {
        let renamed = |path: &Path| -> io::Result<PathBuf> {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(old))
                .ok_or_else(|| {
                    io::Error::other(format!("{} does not end with {old:?}", path.display()))
                })?;
            Ok(path.with_file_name(format!("{name}{new}")))
        };
        let log = renamed(&self.path)?;
        let index = renamed(self.offset_index.file().path())?;
        let time_index = renamed(self.time_index.file().path())?;
        let txn_index = renamed(self.txn_index.path())?;
        std::fs::rename(&self.path, &log)?;
        self.path = log;
        std::fs::rename(self.offset_index.file().path(), &index)?;
        self.offset_index.file_mut().set_path(index);
        std::fs::rename(self.time_index.file().path(), &time_index)?;
        self.time_index.file_mut().set_path(time_index);
        if self.txn_index.has_file() {
            std::fs::rename(self.txn_index.path(), &txn_index)?;
        }
        self.txn_index.set_path(txn_index);
        Ok(())
    }

    /// Removes the segment's files now (a cleaned segment that was not
    /// swapped in).
    pub fn delete_files(&self) {
        for path in [
            self.path.as_path(),
            self.offset_index.file().path(),
            self.time_index.file().path(),
            self.txn_index.path(),
        ] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    tracing::warn!(file = %path.display(), "cannot remove a file: {e}")
                }
                _ => {}
            }
        }
    }

    /// Sets the log file's modification time (a cleaned segment takes that
    /// of the segments it replaces, as in Kafka).
    pub fn set_last_modified(&self, time: std::time::SystemTime) -> io::Result<()> {
        self.file.set_modified(time)
    }

    /// When the log file was last written.
    pub fn last_modified(&self) -> io::Result<std::time::SystemTime> {
        self.file.metadata()?.modified()
    }

    /// The files to force to disk for a flush done outside the log's lock.
    pub fn flush_handles(&self) -> impl Iterator<Item = Arc<File>> + use<> {
        [
            Some(Arc::clone(&self.file)),
            Some(self.offset_index.file().handle()),
            Some(self.time_index.file().handle()),
            self.txn_index.handle(),
        ]
        .into_iter()
        .flatten()
    }

    /// The transactions aborted by markers in this segment.
    pub fn txn_index(&self) -> &TransactionIndex {
        &self.txn_index
    }

    /// Records a transaction aborted by a marker just appended to this
    /// segment.
    pub fn append_aborted_txn(&mut self, entry: AbortedTxn) -> io::Result<()> {
        self.txn_index.append(entry)
    }

    /// Drops the aborted transactions whose markers are at or after
    /// `offset` (recovery rebuilds them from what it scans).
    pub fn truncate_txn_index(&mut self, offset: i64) -> io::Result<()> {
        self.txn_index.truncate_to(offset)
    }

    /// Gives the segment these aborted transactions, written to its index
    /// file and flushed (a segment the cleaner writes).
    pub fn write_txn_index(&mut self, entries: &[AbortedTxn]) -> io::Result<()> {
        self.txn_index = TransactionIndex::write_new(self.txn_index.path().to_path_buf(), entries)?;
        Ok(())
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

/// Reads the headers of the batches from `position` up to `end`, handing
/// each to `on_batch`, until one starts at or after `until_offset`.
/// Returns the bytes read.
pub fn walk_headers(
    file: &File,
    mut position: u64,
    end: u64,
    until_offset: i64,
    on_batch: &mut dyn FnMut(&BatchHeader, Option<ControlRecord>),
) -> io::Result<u64> {
    let mut header_buf = [0u8; RECORD_BATCH_OVERHEAD];
    let mut read = 0;
    while position + RECORD_BATCH_OVERHEAD as u64 <= end {
        file.read_exact_at(&mut header_buf, position)?;
        read += RECORD_BATCH_OVERHEAD as u64;
        let header = match BatchHeader::parse(&header_buf) {
            Ok(h) if h.batch_length > 0 => h,
            _ => break,
        };
        if header.base_offset >= until_offset {
            break;
        }
        let control = if header.is_control() {
            read_control_record(file, position, &header)?
        } else {
            None
        };
        on_batch(&header, control);
        position += header.size_in_bytes() as u64;
    }
    Ok(read)
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

/// The control record of the control batch at `position`.
pub fn read_control_record(
    file: &File,
    position: u64,
    header: &BatchHeader,
) -> io::Result<Option<ControlRecord>> {
    let len = header
        .size_in_bytes()
        .min(record_batch::CONTROL_RECORD_READ_BYTES);
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, position)?;
    Ok(record_batch::control_record(&buf))
}

enum ScanItem {
    Batch {
        position: u64,
        header: BatchHeader,
        control: Option<ControlRecord>,
    },
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
    bytes_read: u64,
}

const SCAN_CHUNK: usize = 1 << 20;

impl<'a> Scanner<'a> {
    fn new(file: &'a File, start: u64, file_len: u64) -> Self {
        Scanner {
            file,
            file_len,
            chunk: Vec::new(),
            chunk_start: start,
            position: start,
            bytes_read: 0,
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
            self.bytes_read += size as u64;
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
        let control = header
            .is_control()
            .then(|| record_batch::control_record(&batch[..size]))
            .flatten();
        self.position += size as u64;
        Ok(ScanItem::Batch {
            position,
            header,
            control,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record_batch::tests::batch;

    const CONFIG: SegmentConfig = SegmentConfig {
        index_interval_bytes: 1024,
        max_index_size: 4096,
        segment_jitter_ms: 0,
    };

    #[test]
    fn file_names_round_trip() {
        assert_eq!(log_file_name(0), "00000000000000000000.log");
        assert_eq!(parse_log_file_name("00000000000000000042.log"), Some(42));
        assert_eq!(parse_log_file_name("42.log"), None);
        assert_eq!(parse_log_file_name("00000000000000000042.index"), None);
    }

    fn write_batches(dir: &Path, count: i64) -> u64 {
        let mut bytes = Vec::new();
        for i in 0..count {
            bytes.extend(batch(i, &[&[7u8; 100]]));
        }
        std::fs::write(dir.join(log_file_name(0)), &bytes).unwrap();
        bytes.len() as u64
    }

    #[test]
    fn recovery_rebuilds_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let whole = write_batches(dir.path(), 100);
        let mut bytes = std::fs::read(dir.path().join(log_file_name(0))).unwrap();
        bytes.extend_from_slice(&batch(100, &[b"torn"])[..30]);
        std::fs::write(dir.path().join(log_file_name(0)), &bytes).unwrap();

        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        let mut seen = 0;
        let recovery = segment
            .recover(true, true, None, &mut |_, _| seen += 1)
            .unwrap();
        assert_eq!(seen, 100);
        assert_eq!(recovery.next_offset, Some(100));
        assert_eq!(recovery.truncated_bytes, 30);
        assert!(recovery.scanned_bytes >= whole + 30);
        assert_eq!(segment.size(), whole);
        assert_eq!(std::fs::metadata(segment.path()).unwrap().len(), whole);
        assert!(segment.offset_index.len() > 5);

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
    fn indexes_are_trimmed_when_inactive_and_trusted_when_sane() {
        let dir = tempfile::tempdir().unwrap();
        let whole = write_batches(dir.path(), 100);
        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        segment.recover(true, true, None, &mut |_, _| {}).unwrap();
        let entries = segment.offset_index.len();
        let (max_ts, max_offset) = (segment.max_timestamp(), segment.offset_of_max_timestamp());
        segment.on_become_inactive().unwrap();
        drop(segment);
        let index_len = std::fs::metadata(dir.path().join("00000000000000000000.index"))
            .unwrap()
            .len();
        assert_eq!(index_len, entries as u64 * 8);

        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        assert_eq!(segment.size(), whole);
        segment.sanity_check(100).unwrap();
        assert_eq!(segment.offset_index.len(), entries);
        assert_eq!(
            (segment.max_timestamp(), segment.offset_of_max_timestamp()),
            (max_ts, max_offset)
        );
        // Entries past the end offset are caught.
        assert!(segment.sanity_check(50).is_err());
        drop(segment);

        // A cut index is caught; so is garbage.
        let index = dir.path().join("00000000000000000000.index");
        let bytes = std::fs::read(&index).unwrap();
        std::fs::write(&index, &bytes[..bytes.len() - 3]).unwrap();
        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        assert!(segment.sanity_check(100).is_err());
        drop(segment);
        std::fs::write(&index, vec![0xa5; bytes.len()]).unwrap();
        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        assert!(segment.sanity_check(100).is_err());
    }

    #[test]
    fn recovery_resumes_at_the_recovery_point() {
        let dir = tempfile::tempdir().unwrap();
        let whole = write_batches(dir.path(), 100);
        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        segment.recover(true, true, None, &mut |_, _| {}).unwrap();
        let full_entries = segment.offset_index.len();
        let max_ts = segment.max_timestamp();
        drop(segment);

        let mut segment = LogSegment::open(dir.path(), 0, CONFIG).unwrap();
        let mut seen = Vec::new();
        let recovery = segment
            .recover(true, true, Some(80), &mut |h, _| seen.push(h.base_offset))
            .unwrap();
        assert_eq!(recovery.next_offset, Some(100));
        assert!(recovery.scanned_bytes < whole / 4, "{recovery:?}");
        assert!(seen.first().is_some_and(|&first| first > 60 && first <= 80));
        assert_eq!(segment.offset_index.len(), full_entries);
        assert_eq!(segment.max_timestamp(), max_ts);
        for target in [0, 33, 79, 80, 99] {
            let start = segment.lookup_position(target);
            let (_, header) = find_batch(segment.file(), start, segment.size(), target)
                .unwrap()
                .unwrap();
            assert_eq!(header.base_offset, target);
        }
    }

    #[test]
    fn append_writes_prefix_and_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut segment = LogSegment::create(dir.path(), 0, CONFIG).unwrap();
        let b = batch(0, &[b"v"]);
        let prefix = record_batch::rewritten_prefix(&b, 5, 3);
        segment
            .append(&[PendingBatch {
                base_offset: 5,
                last_offset: 5,
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
