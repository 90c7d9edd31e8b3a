//! A partition's log: its segments, its end offset, appends and reads.
//!
//! Appends are serialised per log by a mutex that covers offset assignment
//! and the write; readers take it only to capture where to read and then
//! read the file without it. Appends to different logs never wait for each
//! other.

use super::checkpoint_file::EpochEntry;
use super::leader_epoch_cache::{self, LeaderEpochFileCache};
use super::log_loader::{self, LoadParams};
use super::log_segment::{self, LogSegment, PendingBatch, SegmentConfig};
use super::producer_state::{self, ProducerError, ProducerStateManager, SequenceCheck};
use super::record_batch::{
    self, BatchError, BatchHeader, Batches, ControlRecord, RECORD_BATCH_OVERHEAD,
};
use super::transaction_index::{AbortedTxn, TxnIndexSearchResult};
use super::{LogConfig, TopicPartition};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Instant;
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tracing::{info, warn};

/// Why an append was refused. Nothing of a refused append is written.
#[derive(Debug, Error)]
pub enum AppendError {
    /// Sizes that do not add up, or a CRC that does not match.
    #[error("corrupt record batch: {0}")]
    Corrupt(BatchError),
    /// A batch that is whole but breaks a rule for batches from clients.
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    #[error("record batch of {size} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge { size: usize, max: usize },
    #[error("record batches of {size} bytes exceed the segment size of {max} bytes")]
    RecordListTooLarge { size: usize, max: u64 },
    /// Records of a batch that break a rule for records (KIP-467): the
    /// whole batch is refused, with each bad record's index in its batch
    /// and why (Kafka's `RecordValidationException`).
    #[error("{message}")]
    RecordErrors {
        /// INVALID_TIMESTAMP when a timestamp is out of range, else
        /// INVALID_RECORD.
        invalid_timestamp: bool,
        records: Vec<(i32, String)>,
        message: String,
    },
    /// An idempotent producer's batch with a stale epoch or a sequence gap.
    #[error(transparent)]
    Producer(#[from] ProducerError),
    /// The log was deleted (its topic is gone).
    #[error("the log has been deleted")]
    Deleted,
    /// The log moved to another log directory: the partition's log is now
    /// another one (see [`UnifiedLog::replace_with_future`]).
    #[error("the log moved to another log directory")]
    Moved,
    #[error("I/O error appending to the log: {0}")]
    Io(#[from] io::Error),
}

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("offset {requested} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        requested: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("I/O error reading the log: {0}")]
    Io(#[from] io::Error),
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogAppendInfo {
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub log_start_offset: i64,
    pub num_batches: usize,
    pub num_records: u64,
    /// The batch repeated one already in the log: nothing was written and
    /// the offsets are the original ones.
    pub duplicate: bool,
}

/// A record found by timestamp (ListOffsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampAndOffset {
    pub timestamp: i64,
    pub offset: i64,
    pub leader_epoch: i32,
}

/// What a read returned: whole batches and the log's state at the time.
#[derive(Debug, Clone)]
pub struct FetchDataInfo {
    pub records: Bytes,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

struct LogInner {
    segments: BTreeMap<i64, LogSegment>,
    next_offset: i64,
    log_start_offset: i64,
    unflushed_records: u64,
    producer_state: ProducerStateManager,
    last_producer_expiry_ms: i64,
    leader_epochs: LeaderEpochFileCache,
    /// When data was last appended while everything before was flushed.
    first_unflushed_at: Option<Instant>,
    /// Closed for shutdown: appends are refused.
    closed: bool,
}

impl LogInner {
    fn active(&mut self) -> &mut LogSegment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has at least one segment")
    }
}

pub struct UnifiedLog {
    topic_partition: TopicPartition,
    dir: PathBuf,
    config: RwLock<LogConfig>,
    inner: Mutex<LogInner>,
    log_end_offset: AtomicI64,
    /// The first offset of the oldest open transaction, or the log end:
    /// what READ_COMMITTED reads stop at (Kafka's last stable offset).
    last_stable_offset: AtomicI64,
    log_start_offset: AtomicI64,
    /// Everything before it is on disk (Kafka's recovery point).
    recovery_point: AtomicI64,
    /// Serialises fsyncs: appends waiting for one share the next (group commit).
    flush_lock: Mutex<()>,
    deleted: AtomicBool,
    /// Replaced by a copy in another log directory: appends are refused
    /// with [`AppendError::Moved`].
    moved: AtomicBool,
    /// Bytes of segment data read when the log was loaded.
    scanned_bytes: u64,
    /// Data recovered after a crash is not known to be on disk until
    /// flushed: the log flusher does it soon after the start, so that the
    /// next crash need not check it again.
    recovered_unflushed: AtomicBool,
    /// fsync rounds done (each syncs every file with unflushed data).
    flushes: std::sync::atomic::AtomicU64,
    /// Whether any segment's transaction index has had an entry: without
    /// one, READ_COMMITTED fetches skip the search (most logs never see an
    /// aborted transaction).
    has_aborted_txns: AtomicBool,
}

/// Who wrote a batch (Kafka's `AppendOrigin`): a client's batches are
/// checked for sequences; a coordinator's (markers, transactional offset
/// commits) for producer epochs only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppendOrigin {
    Client,
    Coordinator,
    /// Batches copied from another log with their offsets and leader
    /// epochs (Kafka's follower appends; here a move's copy).
    Replication,
}

/// How often idle producers are looked for.
const PRODUCER_EXPIRY_CHECK_MS: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What retention's predicates look at in a segment.
pub struct SegmentFacts {
    size: u64,
    largest_timestamp: i64,
    log_start_offset: i64,
}

/// What one retention pass deleted.
#[derive(Debug, Default)]
pub struct DeletedSegments {
    pub segments: usize,
    pub bytes: u64,
    /// The renamed (`.deleted`) files, to be removed later.
    pub files: Vec<PathBuf>,
}

/// Suffixes of a segment the log cleaner writes, then swaps in.
pub const CLEANED_FILE_SUFFIX: &str = ".cleaned";
pub const SWAP_FILE_SUFFIX: &str = ".swap";

/// A segment as the log cleaner sees it.
#[derive(Clone)]
pub struct CleanerSegment {
    pub base_offset: i64,
    pub file: Arc<File>,
    pub size: u64,
    /// Its newest timestamp, or its file's modification time.
    pub largest_timestamp: i64,
    /// The transactions aborted by markers in it (its `.txnindex`).
    pub aborted_txns: Vec<AbortedTxn>,
}

/// What the log cleaner reads of a log.
pub struct CleanerView {
    /// Every segment but the active one, oldest first.
    pub segments: Vec<CleanerSegment>,
    pub active_base_offset: i64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// Each producer's id and the last offset of its last batch.
    pub last_batch_offsets: std::collections::HashMap<i64, i64>,
    /// Nothing at or after it is cleaned: an open transaction may still be
    /// aborted (Kafka bounds the dirty section by the last stable offset).
    pub last_stable_offset: i64,
    /// Every aborted transaction of the log: their batches are discarded.
    pub aborted_txns: Vec<AbortedTxn>,
}

/// A segment a reader captured under the lock: enough to read it without it.
struct SegmentView {
    base_offset: i64,
    file: Arc<File>,
    start: u64,
    end: u64,
}

impl UnifiedLog {
    /// Opens the log in `dir` (created if missing) as a fresh start with
    /// no checkpoints would: every segment is recovered.
    pub fn open(
        dir: &Path,
        topic_partition: TopicPartition,
        config: LogConfig,
    ) -> io::Result<Self> {
        Self::load(dir, topic_partition, config, LoadParams::default())
    }

    /// Opens the log in `dir` (created if missing) and loads it as
    /// [`log_loader::load`] does, given what the log directory's
    /// checkpoints say of it.
    pub fn load(
        dir: &Path,
        topic_partition: TopicPartition,
        config: LogConfig,
        params: LoadParams,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let now = now_ms();
        let loaded = log_loader::load(dir, &topic_partition, &config, params, now)?;
        Ok(UnifiedLog {
            topic_partition,
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            log_end_offset: AtomicI64::new(loaded.next_offset),
            last_stable_offset: AtomicI64::new(
                loaded
                    .producer_state
                    .first_unstable_offset()
                    .unwrap_or(loaded.next_offset)
                    .min(loaded.next_offset),
            ),
            log_start_offset: AtomicI64::new(loaded.log_start_offset),
            recovery_point: AtomicI64::new(loaded.recovery_point),
            flush_lock: Mutex::new(()),
            deleted: AtomicBool::new(false),
            moved: AtomicBool::new(false),
            scanned_bytes: loaded.scanned_bytes,
            recovered_unflushed: AtomicBool::new(loaded.recovery_point < loaded.next_offset),
            flushes: std::sync::atomic::AtomicU64::new(0),
            has_aborted_txns: AtomicBool::new(
                loaded
                    .segments
                    .values()
                    .any(|s| !s.txn_index().entries().is_empty()),
            ),
            inner: Mutex::new(LogInner {
                segments: loaded.segments,
                next_offset: loaded.next_offset,
                log_start_offset: loaded.log_start_offset,
                unflushed_records: 0,
                producer_state: loaded.producer_state,
                last_producer_expiry_ms: now,
                leader_epochs: loaded.leader_epochs,
                first_unflushed_at: None,
                closed: false,
            }),
        })
    }

    /// Bytes of segment data read when the log was loaded.
    pub fn scanned_bytes(&self) -> u64 {
        self.scanned_bytes
    }

    /// Everything before this offset is known to be on disk.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point.load(Ordering::Acquire)
    }

    /// The epoch at or below `requested` and the offset it ends at, for
    /// OffsetForLeaderEpoch (Kafka's `UnifiedLog.endOffsetForEpoch`).
    /// `leader_epoch` is the partition's epoch now: as Kafka records it when
    /// a replica becomes leader (`maybeAssignEpochStartOffset`), it starts
    /// at the log end offset if no batch of it has been appended yet.
    pub fn end_offset_for_epoch(&self, requested: i32, leader_epoch: i32) -> Option<(i32, i64)> {
        let mut entries = self.inner.lock().leader_epochs.entries().to_vec();
        let log_end_offset = self.log_end_offset();
        if leader_epoch >= 0
            && entries
                .last()
                .is_none_or(|latest| latest.epoch < leader_epoch)
        {
            entries.push(EpochEntry {
                epoch: leader_epoch,
                start_offset: log_end_offset,
            });
        }
        leader_epoch_cache::end_offset_for(&entries, requested, log_end_offset)
    }

    /// The leader epochs of the log and the offsets they start at.
    pub fn leader_epochs(&self) -> Vec<(i32, i64)> {
        self.inner
            .lock()
            .leader_epochs
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect()
    }

    /// The log's settings.
    pub fn config(&self) -> LogConfig {
        *self.config.read()
    }

    /// Takes new settings (a topic's configuration was altered). Appends,
    /// retention and flushes use them from now on; segments already
    /// created keep their index sizes.
    pub fn update_config(&self, config: LogConfig) {
        *self.config.write() = config;
    }

    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset.load(Ordering::Acquire)
    }

    /// On a single node every appended record is committed at once.
    pub fn high_watermark(&self) -> i64 {
        self.log_end_offset()
    }

    /// The offset READ_COMMITTED consumers read up to: the first offset of
    /// the oldest open transaction, or the high watermark.
    pub fn last_stable_offset(&self) -> i64 {
        self.last_stable_offset.load(Ordering::Acquire)
    }

    /// Whether the log has ever indexed an aborted transaction.
    pub fn has_aborted_txns(&self) -> bool {
        self.has_aborted_txns.load(Ordering::Acquire)
    }

    /// The producers of the partition and their open transactions
    /// (DescribeProducers).
    pub fn active_producers(&self) -> Vec<producer_state::ActiveProducer> {
        self.inner.lock().producer_state.active_producers()
    }

    /// The aborted transactions that overlap `[fetch_offset, upper_bound)`,
    /// from the indexes of the segment holding `fetch_offset` and those
    /// after it (Kafka's `collectAbortedTransactions`).
    pub fn collect_aborted_txns(&self, fetch_offset: i64, upper_bound: i64) -> Vec<AbortedTxn> {
        if !self.has_aborted_txns() {
            return Vec::new();
        }
        let inner = self.inner.lock();
        let first = inner
            .segments
            .range(..=fetch_offset)
            .next_back()
            .map_or(i64::MIN, |(base, _)| *base);
        let mut found = TxnIndexSearchResult::default();
        for segment in inner.segments.range(first..).map(|(_, s)| s) {
            segment
                .txn_index()
                .collect(fetch_offset, upper_bound, &mut found);
            if found.complete {
                break;
            }
        }
        found.aborted
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    /// The bytes of all its segments (briefly takes the log's lock).
    pub fn size_in_bytes(&self) -> u64 {
        self.inner
            .lock()
            .segments
            .values()
            .map(LogSegment::size)
            .sum()
    }

    /// Checks that `records` are whole, valid magic v2 batches as a client
    /// must send them, then gives them offsets from the log end on, stamps
    /// `leader_epoch` and appends their bytes unchanged otherwise. A batch an
    /// idempotent producer already appended is not written again: its
    /// original offsets are returned.
    pub fn append_as_leader(
        &self,
        records: &[u8],
        leader_epoch: i32,
    ) -> Result<LogAppendInfo, AppendError> {
        self.append(records, leader_epoch, AppendOrigin::Client)
    }

    /// Appends batches a coordinator built (Kafka's `AppendOrigin.COORDINATOR`):
    /// a transactional offset commit's records, or transaction markers.
    /// Their sequences are not checked, their producer epochs are.
    pub fn append_as_coordinator(
        &self,
        records: &[u8],
        leader_epoch: i32,
    ) -> Result<LogAppendInfo, AppendError> {
        self.append(records, leader_epoch, AppendOrigin::Coordinator)
    }

    /// Appends a COMMIT or ABORT marker for the producer's transaction
    /// (Kafka's `appendAsLeader` of an `EndTransactionMarker`). An aborted
    /// transaction goes into the transaction index of the segment holding
    /// the marker. Returns the marker's offset.
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        leader_epoch: i32,
    ) -> Result<i64, AppendError> {
        let batch = record_batch::build_marker_batch(
            now_ms(),
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
        );
        let info = self.append(&batch, leader_epoch, AppendOrigin::Coordinator)?;
        Ok(info.first_offset)
    }

    /// Appends batches read from another log of the partition, keeping
    /// their offsets and leader epochs (Kafka's `appendAsFollower`): what a
    /// move's `-future` copy is filled with. Offsets may skip (compaction
    /// leaves gaps) but never go back.
    pub fn append_as_follower(&self, records: &[u8]) -> Result<LogAppendInfo, AppendError> {
        self.append(records, -1, AppendOrigin::Replication)
    }

    fn append(
        &self,
        records: &[u8],
        leader_epoch: i32,
        origin: AppendOrigin,
    ) -> Result<LogAppendInfo, AppendError> {
        // One read of the settings for the whole append.
        let config = self.config();
        let batches = self.validate(records, &config, origin)?;
        if batches.is_empty() {
            return Err(AppendError::InvalidRecord("no record batches".into()));
        }

        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        if self.deleted.load(Ordering::Acquire) {
            return Err(AppendError::Deleted);
        }
        if self.moved.load(Ordering::Acquire) {
            return Err(AppendError::Moved);
        }
        if inner.closed {
            return Err(AppendError::Io(io::Error::other("the log is closed")));
        }
        // Only a coordinator's control batches (markers) have one.
        let control_of = |b: &record_batch::BatchRef<'_>| -> Option<ControlRecord> {
            b.header
                .is_control()
                .then(|| record_batch::control_record(b.bytes))
                .flatten()
        };
        for batch in &batches {
            let header = &batch.header;
            let control = control_of(batch);
            if !header.has_producer_id() || origin == AppendOrigin::Replication {
                continue;
            }
            if origin == AppendOrigin::Coordinator {
                if let Some(control) = control {
                    inner.producer_state.check_marker(
                        header.producer_id,
                        header.producer_epoch,
                        control.coordinator_epoch,
                    )?;
                } else {
                    inner.producer_state.check_epoch(header)?;
                }
                continue;
            }
            if let SequenceCheck::Duplicate(original) = inner.producer_state.check(header)? {
                return Ok(LogAppendInfo {
                    first_offset: original.first_offset,
                    last_offset: original.last_offset,
                    max_timestamp: batch.header.max_timestamp,
                    log_start_offset: inner.log_start_offset,
                    num_batches: 0,
                    num_records: 0,
                    duplicate: true,
                });
            }
        }

        let replicated = origin == AppendOrigin::Replication;
        let first_offset = if replicated {
            let base = batches[0].header.base_offset;
            if base < inner.next_offset {
                return Err(AppendError::InvalidRecord(format!(
                    "a copied batch at offset {base} is below the log end {}",
                    inner.next_offset
                )));
            }
            base
        } else {
            inner.next_offset
        };
        let mut next = first_offset;
        let mut pending = Vec::with_capacity(batches.len());
        let mut max_timestamp = -1;
        let mut num_records = 0u64;
        let mut copied_epochs: Vec<(i32, i64)> = Vec::new();
        for batch in &batches {
            let epoch = if replicated {
                if batch.header.base_offset < next {
                    return Err(AppendError::InvalidRecord(format!(
                        "copied batches go back from offset {next} to {}",
                        batch.header.base_offset
                    )));
                }
                next = batch.header.base_offset;
                copied_epochs.push((batch.header.partition_leader_epoch, next));
                batch.header.partition_leader_epoch
            } else {
                leader_epoch
            };
            pending.push(PendingBatch {
                base_offset: next,
                last_offset: next + i64::from(batch.header.last_offset_delta),
                prefix: record_batch::rewritten_prefix(batch.bytes, next, epoch),
                rest: &batch.bytes[record_batch::VERBATIM_FROM..],
                max_timestamp: batch.header.max_timestamp,
            });
            next += i64::from(batch.header.last_offset_delta) + 1;
            max_timestamp = max_timestamp.max(batch.header.max_timestamp);
            num_records += u64::from(batch.header.last_offset_delta as u32) + 1;
        }

        let now = now_ms();
        if inner.active().should_roll(
            records.len() as u64,
            next - 1,
            max_timestamp,
            config.segment_bytes,
            config.segment_ms,
            now,
        ) {
            self.roll(inner, first_offset)?;
        }
        inner.active().append(&pending)?;
        for (batch, written) in batches.iter().zip(&pending) {
            let completed =
                inner
                    .producer_state
                    .update(&batch.header, written.base_offset, control_of(batch));
            if let Some(aborted) = completed.and_then(|c| c.aborted_txn()) {
                self.has_aborted_txns.store(true, Ordering::Release);
                if let Err(e) = inner.active().append_aborted_txn(aborted) {
                    // The marker is in the log: a restart rebuilds the entry
                    // only if it scans the segment, so this is loud.
                    warn!(log = %self.topic_partition, "cannot write the transaction index: {e}");
                }
            }
        }
        let last_stable = inner.producer_state.first_unstable_offset().unwrap_or(next);
        self.last_stable_offset
            .store(last_stable.min(next), Ordering::Release);
        let epochs_changed = if replicated {
            let mut changed = false;
            for &(epoch, offset) in &copied_epochs {
                changed |= inner.leader_epochs.assign(epoch, offset);
            }
            changed
        } else {
            inner.leader_epochs.assign(leader_epoch, first_offset)
        };
        if epochs_changed && let Err(e) = inner.leader_epochs.write() {
            warn!(log = %self.topic_partition, "cannot write the leader epoch checkpoint: {e}");
        }
        inner.next_offset = next;
        inner.unflushed_records += num_records;
        inner.first_unflushed_at.get_or_insert_with(Instant::now);
        self.log_end_offset.store(next, Ordering::Release);
        let must_flush = inner.unflushed_records >= config.flush_interval_messages;
        if now - inner.last_producer_expiry_ms >= PRODUCER_EXPIRY_CHECK_MS {
            inner
                .producer_state
                .remove_expired(now, config.producer_id_expiration_ms);
            inner.last_producer_expiry_ms = now;
        }
        let log_start_offset = inner.log_start_offset;
        drop(guard);
        if must_flush {
            // The answer waits for the fsync; appends that arrive meanwhile
            // share the next one.
            self.flush_to(next)?;
        }
        Ok(LogAppendInfo {
            first_offset,
            last_offset: next - 1,
            max_timestamp,
            log_start_offset,
            num_batches: batches.len(),
            num_records,
            duplicate: false,
        })
    }

    /// Kafka's checks of batches from clients (`LogValidator.validateBatch`
    /// and `UnifiedLog.analyzeAndValidateRecords`), done before the lock.
    fn validate<'a>(
        &self,
        records: &'a [u8],
        config: &LogConfig,
        origin: AppendOrigin,
    ) -> Result<Vec<record_batch::BatchRef<'a>>, AppendError> {
        if records.len() as u64 > config.segment_bytes {
            return Err(AppendError::RecordListTooLarge {
                size: records.len(),
                max: config.segment_bytes,
            });
        }
        let mut batches = Vec::with_capacity(1);
        for batch in Batches::new(records) {
            let batch = batch.map_err(AppendError::Corrupt)?;
            let header = &batch.header;
            if batch.bytes.len() > config.max_message_bytes {
                return Err(AppendError::RecordTooLarge {
                    size: batch.bytes.len(),
                    max: config.max_message_bytes,
                });
            }
            record_batch::check_crc(batch.bytes, header, batch.position)
                .map_err(AppendError::Corrupt)?;
            let count_from_offsets = i64::from(header.last_offset_delta) + 1;
            if count_from_offsets <= 0 {
                return Err(AppendError::InvalidRecord(format!(
                    "batch has an invalid offset range: last offset delta {}",
                    header.last_offset_delta
                )));
            }
            if header.records_count <= 0 {
                return Err(AppendError::InvalidRecord(format!(
                    "invalid reported count for record batch: {}",
                    header.records_count
                )));
            }
            if count_from_offsets != i64::from(header.records_count) {
                return Err(AppendError::InvalidRecord(format!(
                    "inconsistent batch offset range (last offset delta {}) and count of records {}",
                    header.last_offset_delta, header.records_count
                )));
            }
            if header.is_control() {
                if origin == AppendOrigin::Client {
                    return Err(AppendError::InvalidRecord(
                        "clients are not allowed to write control records".into(),
                    ));
                }
                batches.push(batch);
                continue;
            }
            if origin == AppendOrigin::Client
                || (origin == AppendOrigin::Coordinator && config.compact)
            {
                self.validate_records(&batch, config)?;
            }
            if header.is_transactional() && !header.has_producer_id() {
                return Err(AppendError::InvalidRecord(
                    "a transactional record batch must have a producer id".into(),
                ));
            }
            if origin == AppendOrigin::Client
                && header.has_producer_id()
                && header.base_sequence < 0
            {
                return Err(AppendError::InvalidRecord(format!(
                    "invalid sequence number {} in record batch with producer id {}",
                    header.base_sequence, header.producer_id
                )));
            }
            batches.push(batch);
        }
        Ok(batches)
    }

    /// Kafka's per-record checks (`LogValidator.validateRecord`): a
    /// compacted topic refuses records without a key (`validateKey`), and
    /// a CreateTime outside `message.timestamp.before.max.ms` /
    /// `after.max.ms` of the broker's clock is refused
    /// (`validateTimestamp`). Every bad record is named, with its index in
    /// the batch (KIP-467). Records are read only when they must be: for a
    /// compacted topic, or when the batch's timestamps may be out of range
    /// (its max timestamp above the upper bound, or a lower bound set).
    fn validate_records(
        &self,
        batch: &record_batch::BatchRef<'_>,
        config: &LogConfig,
    ) -> Result<(), AppendError> {
        let header = &batch.header;
        let now = now_ms();
        // Every topic here keeps CreateTime (LogAppendTime is not offered),
        // so the records' own timestamps are checked, as Kafka checks them
        // whatever type the client's batch says.
        let lower = now.saturating_sub(config.timestamp_before_max_ms);
        let upper = now.saturating_add(config.timestamp_after_max_ms);
        let check_times =
            config.timestamp_before_max_ms != i64::MAX || header.max_timestamp > upper;
        if !check_times && !config.compact {
            return Ok(());
        }
        let records = record_batch::record_keys_and_timestamps(batch.bytes).map_err(|e| {
            AppendError::InvalidRecord(format!("cannot read the records of a batch: {e}"))
        })?;
        let mut errors: Vec<(i32, String)> = Vec::new();
        let mut invalid_timestamp = false;
        for (index, (offset, timestamp, has_key)) in records.into_iter().enumerate() {
            let index = index as i32;
            if config.compact && !has_key {
                errors.push((
                    index,
                    format!(
                        "Compacted topic cannot accept message without key in topic partition {}.",
                        self.topic_partition
                    ),
                ));
            } else if check_times
                && timestamp != record_batch::NO_TIMESTAMP
                && (timestamp < lower || timestamp > upper)
            {
                invalid_timestamp = true;
                errors.push((
                    index,
                    format!(
                        "Timestamp {timestamp} of message with offset {offset} is out of range. The timestamp should be within [{lower}, {upper}]"
                    ),
                ));
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        let message = if invalid_timestamp {
            "One or more records have been rejected due to invalid timestamp".to_string()
        } else {
            let shown: Vec<String> = errors
                .iter()
                .take(3)
                .map(|(index, message)| {
                    format!("RecordError(batchIndex={index}, message='{message}')")
                })
                .collect();
            format!(
                "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
                errors.len(),
                shown.join(", ")
            )
        };
        Err(AppendError::RecordErrors {
            invalid_timestamp,
            records: errors,
            message,
        })
    }

    /// Starts a new segment at `base_offset` (Kafka's `roll`): the old one
    /// is trimmed, the producers are snapshotted at the new base, and the
    /// flush of the old segment is left to the log flusher
    /// ([`UnifiedLog::flush_if_due`]).
    fn roll(&self, inner: &mut LogInner, base_offset: i64) -> io::Result<()> {
        inner.active().on_become_inactive()?;
        let segment = LogSegment::create(&self.dir, base_offset, self.segment_config())?;
        info!(log = %self.topic_partition, base_offset, "rolled new log segment");
        inner.segments.insert(base_offset, segment);
        if let Err(e) = inner
            .producer_state
            .write_snapshot(&self.dir, base_offset, false)
        {
            warn!(log = %self.topic_partition, "cannot write a producer snapshot: {e}");
        }
        Ok(())
    }

    /// What the log cleaner needs of the log: its segments but the active
    /// one, and the producers' last batches. None once the log is deleted
    /// or closed.
    pub fn cleaner_view(&self) -> Option<CleanerView> {
        let inner = self.inner.lock();
        if inner.closed || self.deleted.load(Ordering::Acquire) {
            return None;
        }
        let active_base_offset = inner.segments.keys().next_back().copied().unwrap_or(0);
        let segments = inner
            .segments
            .values()
            .filter(|s| s.base_offset() < active_base_offset)
            .map(|s| CleanerSegment {
                base_offset: s.base_offset(),
                file: Arc::clone(s.file()),
                size: s.size(),
                largest_timestamp: s.largest_timestamp(),
                aborted_txns: s.txn_index().entries().to_vec(),
            })
            .collect();
        let aborted_txns = inner
            .segments
            .values()
            .flat_map(|s| s.txn_index().entries().iter().copied())
            .collect();
        Some(CleanerView {
            segments,
            last_stable_offset: self.last_stable_offset(),
            aborted_txns,
            active_base_offset,
            log_start_offset: inner.log_start_offset,
            log_end_offset: inner.next_offset,
            last_batch_offsets: inner.producer_state.last_batch_offsets(),
        })
    }

    /// Swaps `cleaned` (files named `.cleaned`, written and flushed) in for
    /// the segments `replaced` (Kafka's `replaceSegments`), in the order
    /// that lets loading finish or undo it after a crash at any point: the
    /// cleaned files are renamed `.swap`, the replaced segments' files (and
    /// producer snapshots) `.deleted`, then the `.swap` files take their
    /// final names. Returns the renamed `.deleted` files, to be removed
    /// later; or gives `cleaned` back when the log changed meanwhile (a
    /// replaced segment was deleted, the log was deleted or closed).
    pub fn replace_segments(
        &self,
        mut cleaned: LogSegment,
        replaced: &[CleanerSegment],
    ) -> io::Result<Result<Vec<PathBuf>, LogSegment>> {
        let mut inner = self.inner.lock();
        let active_base = inner.segments.keys().next_back().copied();
        let unchanged = replaced.iter().all(|r| {
            Some(r.base_offset) != active_base
                && inner
                    .segments
                    .get(&r.base_offset)
                    .is_some_and(|s| Arc::ptr_eq(s.file(), &r.file))
        });
        if inner.closed || self.deleted.load(Ordering::Acquire) || !unchanged {
            return Ok(Err(cleaned));
        }
        cleaned.change_file_suffixes(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)?;
        let mut files = Vec::new();
        let mut result = Ok(());
        for r in replaced {
            let Some(old) = inner.segments.remove(&r.base_offset) else {
                continue;
            };
            match old.rename_to_deleted() {
                Ok(renamed) => files.extend(renamed),
                Err(e) => result = Err(e),
            }
            if old.base_offset() != cleaned.base_offset() {
                match self.rename_snapshot_to_deleted(old.base_offset()) {
                    Ok(renamed) => files.extend(renamed),
                    Err(e) => result = Err(e),
                }
            }
        }
        let renamed = cleaned.change_file_suffixes(SWAP_FILE_SUFFIX, "");
        inner.segments.insert(cleaned.base_offset(), cleaned);
        drop(inner);
        result?;
        renamed?;
        File::open(&self.dir)?.sync_all()?;
        Ok(Ok(files))
    }

    /// Renames the producer snapshot at `offset`, if there is one,
    /// `.deleted`; returns its new path.
    fn rename_snapshot_to_deleted(&self, offset: i64) -> io::Result<Option<PathBuf>> {
        let snapshot = self.dir.join(producer_state::snapshot_file_name(offset));
        let mut renamed = snapshot.clone().into_os_string();
        renamed.push(log_segment::DELETED_FILE_SUFFIX);
        match std::fs::rename(&snapshot, &renamed) {
            Ok(()) => Ok(Some(PathBuf::from(renamed))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn segment_config(&self) -> SegmentConfig {
        let config = self.config();
        SegmentConfig {
            index_interval_bytes: config.index_interval_bytes,
            max_index_size: config.max_index_size,
            segment_jitter_ms: config.segment_jitter_ms,
        }
    }

    /// Deletes the segments retention no longer keeps (Kafka's
    /// `deleteOldSegments`): those wholly below the log start offset and,
    /// when `cleanup.policy` has `delete`, the oldest segments beyond
    /// `retention.bytes` and those whose newest record is older than
    /// `retention.ms`. Only whole segments go, oldest first, never data at
    /// or above the high watermark; when every segment goes the log first
    /// rolls, so it keeps an empty active segment at its end. The log start
    /// offset moves to the first segment left. The deleted segments' files
    /// (and their producer snapshots) are renamed `.deleted`; their paths
    /// are returned, to be removed after `file.delete.delay.ms`.
    pub fn delete_old_segments(&self, now_ms: i64) -> io::Result<DeletedSegments> {
        let config = self.config();
        let mut inner = self.inner.lock();
        if inner.closed || self.deleted.load(Ordering::Acquire) {
            return Ok(DeletedSegments::default());
        }
        let mut removed =
            self.delete_segments_while(&mut inner, "log start offset breach", |segment, next| {
                next.is_some_and(|n| n <= segment.log_start_offset)
            })?;
        if config.delete {
            if config.retention_bytes >= 0 {
                let size: u64 = inner.segments.values().map(LogSegment::size).sum();
                let mut excess = size as i64 - config.retention_bytes;
                removed.extend(self.delete_segments_while(
                    &mut inner,
                    "retention size breach",
                    |segment, _| {
                        let breached = excess - segment.size as i64 >= 0;
                        if breached {
                            excess -= segment.size as i64;
                        }
                        breached
                    },
                )?);
            }
            if config.retention_ms >= 0 {
                let retention_ms = config.retention_ms;
                removed.extend(self.delete_segments_while(
                    &mut inner,
                    "retention time breach",
                    |segment, _| now_ms - segment.largest_timestamp > retention_ms,
                )?);
            }
        }
        drop(inner);
        // The segments are out of the log: their files are renamed without
        // the lock (readers that hold them open keep reading).
        let mut deleted = DeletedSegments::default();
        for segment in removed {
            deleted.segments += 1;
            deleted.bytes += segment.size();
            deleted.files.extend(segment.rename_to_deleted()?);
            deleted
                .files
                .extend(self.rename_snapshot_to_deleted(segment.base_offset())?);
        }
        Ok(deleted)
    }

    /// Takes segments out of the log from the oldest on while `breached`
    /// holds for them (Kafka's `deletableSegments` and `deleteSegments`)
    /// and moves the log start offset to the first one left; returns them.
    fn delete_segments_while(
        &self,
        inner: &mut LogInner,
        reason: &str,
        mut breached: impl FnMut(&SegmentFacts, Option<i64>) -> bool,
    ) -> io::Result<Vec<LogSegment>> {
        let high_watermark = inner.next_offset;
        let bases: Vec<i64> = inner.segments.keys().copied().collect();
        let mut deletable = Vec::new();
        for (i, &base) in bases.iter().enumerate() {
            let next = bases.get(i + 1).copied();
            let segment = &inner.segments[&base];
            let facts = SegmentFacts {
                size: segment.size(),
                largest_timestamp: segment.largest_timestamp(),
                log_start_offset: inner.log_start_offset,
            };
            let upper_bound = next.unwrap_or(inner.next_offset);
            let last_and_empty = next.is_none() && facts.size == 0;
            if high_watermark >= upper_bound && !last_and_empty && breached(&facts, next) {
                deletable.push(base);
            } else {
                break;
            }
        }
        if deletable.is_empty() {
            return Ok(Vec::new());
        }
        if deletable.len() == inner.segments.len() {
            // A log always keeps a segment: the new active one.
            let end = inner.next_offset;
            self.roll(inner, end)?;
        }
        let removed: Vec<LogSegment> = deletable
            .iter()
            .filter_map(|base| inner.segments.remove(base))
            .collect();
        let first = inner
            .segments
            .keys()
            .next()
            .copied()
            .unwrap_or(inner.next_offset);
        info!(
            log = %self.topic_partition,
            segments = removed.len(),
            bytes = removed.iter().map(LogSegment::size).sum::<u64>(),
            new_log_start_offset = first.max(inner.log_start_offset),
            "deleted old segments: {reason}"
        );
        self.increment_log_start_offset(inner, first);
        Ok(removed)
    }

    /// Moves the log start offset up to `offset` (Kafka's
    /// `maybeIncrementLogStartOffset`): records below it are no longer
    /// read, and segments wholly below it go at the next retention check.
    /// Refused beyond the high watermark.
    pub fn maybe_increment_log_start_offset(&self, offset: i64) -> Result<i64, ReadError> {
        let mut inner = self.inner.lock();
        if offset > inner.next_offset {
            return Err(ReadError::OffsetOutOfRange {
                requested: offset,
                log_start_offset: inner.log_start_offset,
                log_end_offset: inner.next_offset,
            });
        }
        self.increment_log_start_offset(&mut inner, offset);
        Ok(inner.log_start_offset)
    }

    fn increment_log_start_offset(&self, inner: &mut LogInner, offset: i64) {
        if offset <= inner.log_start_offset {
            return;
        }
        inner.log_start_offset = offset;
        self.log_start_offset.store(offset, Ordering::Release);
        self.recovery_point.fetch_max(offset, Ordering::AcqRel);
        if inner.leader_epochs.truncate_from_start(offset)
            && let Err(e) = inner.leader_epochs.write()
        {
            warn!(log = %self.topic_partition, "cannot write the leader epoch checkpoint: {e}");
        }
    }

    /// Reads whole batches from the one holding `fetch_offset` on, up to
    /// `max_bytes`, but at least one whole batch when `min_one_batch` is set
    /// and there is one. Reads stop at the end of the segment, as in Kafka.
    pub fn read(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<FetchDataInfo, ReadError> {
        self.read_isolated(fetch_offset, max_bytes, min_one_batch, false)
    }

    /// [`UnifiedLog::read`], but with `read_committed` only batches below
    /// the last stable offset (Kafka's `FetchIsolation.TXN_COMMITTED`).
    pub fn read_isolated(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        read_committed: bool,
    ) -> Result<FetchDataInfo, ReadError> {
        let (mut view, log_start_offset, log_end_offset, last_stable_offset) = {
            let inner = self.inner.lock();
            if fetch_offset < inner.log_start_offset || fetch_offset > inner.next_offset {
                return Err(ReadError::OffsetOutOfRange {
                    requested: fetch_offset,
                    log_start_offset: inner.log_start_offset,
                    log_end_offset: inner.next_offset,
                });
            }
            let view = inner
                .segments
                .range(..=fetch_offset)
                .next_back()
                .map(|(_, segment)| capture(segment, fetch_offset));
            (
                view,
                inner.log_start_offset,
                inner.next_offset,
                self.last_stable_offset(),
            )
        };
        let max_offset = if read_committed {
            last_stable_offset
        } else {
            log_end_offset
        };
        let info = |records: Bytes| FetchDataInfo {
            records: if max_offset < log_end_offset {
                batches_below(records, max_offset)
            } else {
                records
            },
            high_watermark: log_end_offset,
            last_stable_offset,
            log_start_offset,
            log_end_offset,
        };
        if fetch_offset >= max_offset {
            return Ok(info(Bytes::new()));
        }

        // The files read so far: a segment the cleaner swapped in (a new
        // file) that holds the offset is read too; one already read is not.
        let mut read_files: Vec<Arc<File>> = Vec::new();
        while let Some(segment) = view {
            if let Some((position, header)) =
                log_segment::find_batch(&segment.file, segment.start, segment.end, fetch_offset)?
            {
                let records = read_whole_batches(
                    &segment.file,
                    position,
                    segment.end,
                    header.size_in_bytes(),
                    max_bytes,
                    min_one_batch,
                )?;
                return Ok(info(records));
            }
            // Nothing at or after the offset in this segment (compaction
            // can leave segments with nothing, or nothing that late): try
            // the next one, unless the cleaner swapped in a segment that now
            // holds the offset.
            read_files.push(Arc::clone(&segment.file));
            let inner = self.inner.lock();
            view = match inner.segments.range(..=fetch_offset).next_back() {
                Some((_, holding))
                    if !read_files.iter().any(|f| Arc::ptr_eq(f, holding.file())) =>
                {
                    Some(capture(holding, fetch_offset))
                }
                _ => inner
                    .segments
                    .range(segment.base_offset + 1..)
                    .next()
                    .map(|(_, next)| capture(next, fetch_offset)),
            };
        }
        Ok(info(Bytes::new()))
    }

    /// The first record whose timestamp is at least `target`, if any
    /// (ListOffsets by time; Kafka's `fetchOffsetByTimestamp`).
    pub fn fetch_offset_by_timestamp(&self, target: i64) -> io::Result<Option<TimestampAndOffset>> {
        // As Kafka, only records at or after the log start offset count
        // (DeleteRecords can move it into the middle of a segment).
        let (log_start, candidates): (i64, Vec<SegmentView>) = {
            let inner = self.inner.lock();
            let candidates = inner
                .segments
                .values()
                .filter(|s| s.max_timestamp() >= target)
                .map(|s| SegmentView {
                    base_offset: s.base_offset(),
                    file: Arc::clone(s.file()),
                    start: s.timestamp_lookup_position(target),
                    end: s.size(),
                })
                .collect();
            (inner.log_start_offset, candidates)
        };
        for segment in candidates {
            let found = find_in_segment(
                &segment,
                |header| header.max_timestamp >= target && header.last_offset() >= log_start,
                |offset, timestamp| offset >= log_start && timestamp >= target,
            )?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The record with the largest timestamp (ListOffsets `MAX_TIMESTAMP`).
    pub fn max_timestamp_and_offset(&self) -> io::Result<Option<TimestampAndOffset>> {
        let (segment, max_timestamp, batch_offset) = {
            let inner = self.inner.lock();
            let Some(best) = inner
                .segments
                .values()
                .filter(|s| s.max_timestamp() >= 0)
                .max_by_key(|s| s.max_timestamp())
            else {
                return Ok(None);
            };
            let view = capture(best, best.offset_of_max_timestamp());
            (view, best.max_timestamp(), best.offset_of_max_timestamp())
        };
        find_in_segment(
            &segment,
            |header| header.last_offset() >= batch_offset && header.max_timestamp == max_timestamp,
            |_, timestamp| timestamp == max_timestamp,
        )
    }

    /// Whether the log was deleted (its topic is gone).
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// Whether a copy in another log directory replaced it.
    pub fn is_moved(&self) -> bool {
        self.moved.load(Ordering::Acquire)
    }

    /// Marks the log deleted: appends fail from now on. The caller removes
    /// the files.
    pub fn mark_deleted(&self) {
        let _inner = self.inner.lock();
        self.deleted.store(true, Ordering::Release);
    }

    /// Forces everything appended so far to disk.
    pub fn flush(&self) -> io::Result<()> {
        self.flush_to(self.log_end_offset())
    }

    /// Makes sure everything before `offset` is on disk. The fsyncs run
    /// outside the log's lock, so appends and reads go on meanwhile; callers
    /// that arrive during one wait for it and find their data flushed by it
    /// or flush together in the next (group commit).
    pub fn flush_to(&self, offset: i64) -> io::Result<()> {
        if self.recovery_point() >= offset {
            return Ok(());
        }
        let _flushing = self.flush_lock.lock();
        let from = self.recovery_point();
        if from >= offset {
            return Ok(());
        }
        let (files, end) = {
            let mut inner = self.inner.lock();
            let first = inner
                .segments
                .range(..=from)
                .next_back()
                .map_or(i64::MIN, |(base, _)| *base);
            let files: Vec<Arc<File>> = inner
                .segments
                .range(first..)
                .flat_map(|(_, s)| s.flush_handles())
                .collect();
            inner.unflushed_records = 0;
            inner.first_unflushed_at = None;
            (files, inner.next_offset)
        };
        for file in files {
            file.sync_data()?;
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.recovery_point.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    /// fsync rounds done since the log was opened.
    pub fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// The log flusher's check: flushes when a rolled segment is not on
    /// disk yet, when data has waited `flush.ms`, or when data recovered
    /// after a crash has not been flushed yet. Returns whether it flushed.
    pub fn flush_if_due(&self) -> io::Result<bool> {
        let (rolled, due) = {
            let inner = self.inner.lock();
            let active_base = inner.segments.keys().next_back().copied().unwrap_or(0);
            let due = inner.first_unflushed_at.is_some_and(|at| {
                at.elapsed().as_millis() >= u128::from(self.config().flush_interval_ms)
            });
            (self.recovery_point() < active_base, due)
        };
        let recovered = self.recovered_unflushed.swap(false, Ordering::AcqRel);
        if rolled || due || recovered {
            self.flush()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Closes the log for a clean shutdown (Kafka's `UnifiedLog.close`):
    /// everything is flushed, the active segment's indexes get their final
    /// entry and are trimmed, and the producers are snapshotted at the log
    /// end, so that the next start reads no segment data.
    pub fn close(&self) -> io::Result<()> {
        self.flush()?;
        let mut inner = self.inner.lock();
        if inner.closed {
            return Ok(());
        }
        inner.closed = true;
        let end = inner.next_offset;
        inner.active().on_become_inactive()?;
        inner.active().flush()?;
        inner.producer_state.write_snapshot(&self.dir, end, true)?;
        inner.leader_epochs.write()?;
        Ok(())
    }
}

impl UnifiedLog {
    /// The last step of a move (Kafka's `replaceCurrentWithFutureLog`):
    /// with appends held off, the batches `future` lacks are copied into
    /// it, its log start offset is brought up to this log's, and `swap`
    /// makes it the partition's log. From then on appends here fail with
    /// [`AppendError::Moved`]; when `swap` fails nothing changes.
    pub fn replace_with_future(
        &self,
        future: &UnifiedLog,
        swap: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        let inner = self.inner.lock();
        if inner.closed || self.deleted.load(Ordering::Acquire) {
            return Err(io::Error::other("the log is closed"));
        }
        loop {
            let from = future.log_end_offset();
            if from >= inner.next_offset {
                break;
            }
            let records = Self::read_locked(&inner, from)?;
            if records.is_empty() {
                break;
            }
            future
                .append_as_follower(&records)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        if inner.log_start_offset > future.log_start_offset() {
            future
                .maybe_increment_log_start_offset(inner.log_start_offset)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        self.moved.store(true, Ordering::Release);
        if let Err(e) = swap() {
            self.moved.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    /// Whole batches from the one holding `from` on, to the end of its
    /// segment, read under the log's lock.
    fn read_locked(inner: &LogInner, from: i64) -> io::Result<Bytes> {
        let holding = inner.segments.range(..=from).next_back();
        let later = inner.segments.range(from.saturating_add(1)..);
        for (_, segment) in holding.into_iter().chain(later) {
            let view = capture(segment, from);
            if let Some((position, header)) =
                log_segment::find_batch(&view.file, view.start, view.end, from)?
            {
                return read_whole_batches(
                    &view.file,
                    position,
                    view.end,
                    header.size_in_bytes(),
                    usize::MAX,
                    true,
                );
            }
        }
        Ok(Bytes::new())
    }
}

fn capture(segment: &LogSegment, fetch_offset: i64) -> SegmentView {
    SegmentView {
        base_offset: segment.base_offset(),
        file: Arc::clone(segment.file()),
        start: segment.lookup_position(fetch_offset),
        end: segment.size(),
    }
}

/// Walks the batches of a captured segment for the first one matching
/// `batch_matches`, then returns its first record whose timestamp matches.
fn find_in_segment(
    segment: &SegmentView,
    batch_matches: impl Fn(&BatchHeader) -> bool,
    record_matches: impl Fn(i64, i64) -> bool,
) -> io::Result<Option<TimestampAndOffset>> {
    let mut position = segment.start;
    let mut header_buf = [0u8; RECORD_BATCH_OVERHEAD];
    while position + RECORD_BATCH_OVERHEAD as u64 <= segment.end {
        segment.file.read_exact_at(&mut header_buf, position)?;
        let Ok(header) = BatchHeader::parse(&header_buf) else {
            return Ok(None);
        };
        if batch_matches(&header) && !header.is_control() {
            let mut batch = vec![0u8; header.size_in_bytes()];
            segment.file.read_exact_at(&mut batch, position)?;
            let timestamps = record_batch::record_timestamps(&batch)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if let Some(&(offset, timestamp)) =
                timestamps.iter().find(|(o, t)| record_matches(*o, *t))
            {
                return Ok(Some(TimestampAndOffset {
                    timestamp,
                    offset,
                    leader_epoch: header.partition_leader_epoch,
                }));
            }
        }
        position += header.size_in_bytes() as u64;
    }
    Ok(None)
}

/// The whole batches at the start of `records` that begin below `offset`.
fn batches_below(records: Bytes, offset: i64) -> Bytes {
    let keep: usize = Batches::new(&records)
        .map_while(Result::ok)
        .take_while(|b| b.header.base_offset < offset)
        .map(|b| b.bytes.len())
        .sum();
    records.slice(..keep)
}

/// Reads the batches that start at `position` and fit in `max_bytes`; when
/// none fits, the first one alone if `min_one_batch`.
fn read_whole_batches(
    file: &File,
    position: u64,
    end: u64,
    first_batch_size: usize,
    max_bytes: usize,
    min_one_batch: bool,
) -> io::Result<Bytes> {
    let available = (end - position) as usize;
    let wanted = available.min(max_bytes);
    if wanted < first_batch_size {
        if !min_one_batch {
            return Ok(Bytes::new());
        }
        return read_range(file, position, first_batch_size);
    }
    let buf = read_range(file, position, wanted)?;
    if wanted < available {
        // The limit cuts a batch: keep only the whole ones before it.
        let whole: usize = Batches::new(&buf)
            .map_while(Result::ok)
            .map(|b| b.bytes.len())
            .sum();
        return Ok(buf.slice(..whole));
    }
    Ok(buf)
}

/// Reads at least this many bytes by mapping the file rather than copying.
const MAP_MIN_BYTES: usize = crate::response_buffer::SHARE_MIN_BYTES;

/// `len` bytes of `file` from `position`. Large ranges are mapped, not
/// copied: the bytes returned are the page cache's, and are written to the
/// socket from there. The mapping is populated here, on a storage thread,
/// so that writing it out never waits for the disk. Only whole batches
/// below the segment's size are read, and the broker never cuts a segment
/// below what it has handed out, so the mapping stays inside the file.
fn read_range(file: &File, position: u64, len: usize) -> io::Result<Bytes> {
    if len < MAP_MIN_BYTES {
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, position)?;
        return Ok(Bytes::from(buf));
    }
    let page = page_size();
    let aligned = position - position % page;
    let skip = (position - aligned) as usize;
    // SAFETY: see above: the range lies within the file's whole batches,
    // which are only appended to while mapped.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(aligned)
            .len(skip + len)
            .populate()
            .map(file)?
    };
    Ok(Bytes::from_owner(map).slice(skip..skip + len))
}

fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(size).unwrap_or(4096).max(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record_batch::tests::batch;

    fn open(dir: &Path, config: LogConfig) -> UnifiedLog {
        UnifiedLog::open(dir, TopicPartition::new("t", 0), config).unwrap()
    }

    #[test]
    fn appends_assign_offsets_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), LogConfig::default());
        let info = log
            .append_as_leader(&batch(0, &[b"a", b"b", b"c"]), 0)
            .unwrap();
        assert_eq!((info.first_offset, info.last_offset), (0, 2));
        let info = log.append_as_leader(&batch(0, &[b"d"]), 0).unwrap();
        assert_eq!((info.first_offset, info.last_offset), (3, 3));
        drop(log);

        let log = open(dir.path(), LogConfig::default());
        assert_eq!(log.log_end_offset(), 4);
        let info = log.append_as_leader(&batch(0, &[b"e"]), 0).unwrap();
        assert_eq!(info.first_offset, 4);
        let all = log.read(0, usize::MAX, true).unwrap().records;
        let offsets: Vec<i64> = Batches::new(&all)
            .map(|b| b.unwrap().header.base_offset)
            .collect();
        assert_eq!(offsets, vec![0, 3, 4]);
    }

    #[test]
    fn refuses_bad_batches_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), LogConfig::default());
        let mut corrupt = batch(0, &[b"a"]);
        *corrupt.last_mut().unwrap() ^= 0xff;
        assert!(matches!(
            log.append_as_leader(&corrupt, 0),
            Err(AppendError::Corrupt(BatchError::CorruptCrc { .. }))
        ));
        let good = batch(0, &[b"a"]);
        assert!(matches!(
            log.append_as_leader(&good[..good.len() - 2], 0),
            Err(AppendError::Corrupt(BatchError::Truncated { .. }))
        ));
        assert_eq!(log.log_end_offset(), 0);
        let small = LogConfig {
            max_message_bytes: 10,
            ..LogConfig::default()
        };
        let dir2 = tempfile::tempdir().unwrap();
        assert!(matches!(
            open(dir2.path(), small).append_as_leader(&good, 0),
            Err(AppendError::RecordTooLarge { .. })
        ));
    }

    /// A batch of an idempotent producer, stamped now (producers idle for a
    /// day are forgotten, as in Kafka).
    fn idempotent(producer_id: i64, epoch: i16, sequence: i32, values: &[&[u8]]) -> Vec<u8> {
        let mut b = batch(0, values);
        b[27..35].copy_from_slice(&now_ms().to_be_bytes());
        b[35..43].copy_from_slice(&now_ms().to_be_bytes());
        b[43..51].copy_from_slice(&producer_id.to_be_bytes());
        b[51..53].copy_from_slice(&epoch.to_be_bytes());
        b[53..57].copy_from_slice(&sequence.to_be_bytes());
        let crc = record_batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn idempotent_producers_are_deduplicated_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), LogConfig::default());
        let first = idempotent(1000, 0, 0, &[b"a", b"b"]);
        assert_eq!(log.append_as_leader(&first, 0).unwrap().first_offset, 0);
        let retry = log.append_as_leader(&first, 0).unwrap();
        assert!(retry.duplicate);
        assert_eq!((retry.first_offset, retry.last_offset), (0, 1));
        assert!(matches!(
            log.append_as_leader(&idempotent(1000, 0, 5, &[b"gap"]), 0),
            Err(AppendError::Producer(
                ProducerError::OutOfOrderSequence { .. }
            ))
        ));
        assert_eq!(
            log.append_as_leader(&idempotent(1000, 0, 2, &[b"c"]), 0)
                .unwrap()
                .first_offset,
            2
        );
        drop(log);

        let log = open(dir.path(), LogConfig::default());
        assert_eq!(log.log_end_offset(), 3);
        assert!(
            log.append_as_leader(&idempotent(1000, 0, 2, &[b"c"]), 0)
                .unwrap()
                .duplicate
        );
        assert!(
            log.append_as_leader(&idempotent(1000, 1, 0, &[b"d"]), 0)
                .is_ok()
        );
        assert!(matches!(
            log.append_as_leader(&idempotent(1000, 0, 3, &[b"e"]), 0),
            Err(AppendError::Producer(
                ProducerError::InvalidProducerEpoch { .. }
            ))
        ));
        log.mark_deleted();
        assert!(matches!(
            log.append_as_leader(&batch(0, &[b"x"]), 0),
            Err(AppendError::Deleted)
        ));
    }

    fn transactional(producer_id: i64, epoch: i16, sequence: i32, values: &[&[u8]]) -> Vec<u8> {
        let mut batch = idempotent(producer_id, epoch, sequence, values);
        batch[22] |= 0x10;
        let crc = record_batch::compute_crc(&batch);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        batch
    }

    #[test]
    fn transactions_hold_the_last_stable_offset_and_aborts_are_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), LogConfig::default());
        log.append_as_leader(&idempotent(100, 0, 0, &[b"plain"]), 0)
            .unwrap();
        // Producer 7 opens a transaction at 1; producer 8 one at 3.
        log.append_as_leader(&transactional(7, 0, 0, &[b"a", b"b"]), 0)
            .unwrap();
        assert_eq!(log.last_stable_offset(), 1);
        log.append_as_leader(&transactional(8, 0, 0, &[b"c"]), 0)
            .unwrap();
        log.append_as_leader(&idempotent(101, 0, 0, &[b"plain"]), 0)
            .unwrap();
        assert_eq!((log.last_stable_offset(), log.log_end_offset()), (1, 5));
        // A plain batch of a producer in a transaction is refused.
        assert!(matches!(
            log.append_as_leader(&idempotent(7, 0, 2, &[b"x"]), 0),
            Err(AppendError::Producer(ProducerError::InvalidTxnState { .. }))
        ));
        // READ_COMMITTED reads stop at the last stable offset.
        let committed = log.read_isolated(0, usize::MAX, true, true).unwrap();
        assert_eq!(committed.last_stable_offset, 1);
        assert_eq!(Batches::new(&committed.records).count(), 1);
        assert!(
            log.read_isolated(1, usize::MAX, true, true)
                .unwrap()
                .records
                .is_empty()
        );
        let uncommitted = log.read(0, usize::MAX, true).unwrap().records;
        let offsets: Vec<_> = Batches::new(&uncommitted)
            .map(|b| b.map(|b| b.header.base_offset))
            .collect();
        assert_eq!(offsets, vec![Ok(0), Ok(1), Ok(3), Ok(4)]);

        // An older epoch's marker is refused; 7 aborts, then 8 commits.
        assert!(matches!(
            log.append_marker(7, -1, 0, false, 0),
            Err(AppendError::Producer(
                ProducerError::InvalidProducerEpoch { .. }
            ))
        ));
        assert_eq!(log.append_marker(7, 0, 0, false, 0).unwrap(), 5);
        assert_eq!(log.last_stable_offset(), 3);
        assert_eq!(log.append_marker(8, 0, 0, true, 0).unwrap(), 6);
        assert_eq!(log.last_stable_offset(), 7);
        let aborted = AbortedTxn {
            producer_id: 7,
            first_offset: 1,
            last_offset: 5,
            last_stable_offset: 3,
        };
        assert_eq!(log.collect_aborted_txns(0, 7), vec![aborted]);
        assert_eq!(log.collect_aborted_txns(6, 7), vec![]);
        assert_eq!(log.collect_aborted_txns(0, 1), vec![]);
        // The marker is a control batch of the producer's.
        let all = log.read(5, usize::MAX, true).unwrap().records;
        let marker = Batches::new(&all).next().unwrap().unwrap();
        assert!(marker.header.is_control() && marker.header.is_transactional());
        assert_eq!(
            record_batch::control_record(marker.bytes).map(|c| c.kind),
            Some(record_batch::ControlRecordType::Abort)
        );
        // Producer 7 may write plain batches again.
        log.append_as_leader(&idempotent(7, 0, 2, &[b"x"]), 0)
            .unwrap();

        // A clean restart keeps the index; a crash rebuilds it from the markers.
        log.append_as_leader(&transactional(9, 0, 0, &[b"open"]), 0)
            .unwrap();
        log.close().unwrap();
        drop(log);
        let log = UnifiedLog::load(
            dir.path(),
            TopicPartition::new("t", 0),
            LogConfig::default(),
            LoadParams {
                had_clean_shutdown: true,
                recovery_point: Some(9),
                log_start_offset: None,
            },
        )
        .unwrap();
        assert_eq!(log.collect_aborted_txns(0, 9), vec![aborted]);
        assert_eq!(log.last_stable_offset(), 8);
        drop(log);
        std::fs::remove_file(dir.path().join("00000000000000000000.txnindex")).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "snapshot") {
                std::fs::remove_file(path).unwrap();
            }
        }
        let log = open(dir.path(), LogConfig::default());
        assert_eq!(log.collect_aborted_txns(0, 9), vec![aborted]);
        assert_eq!(log.last_stable_offset(), 8);
        assert_eq!(log.active_producers().len(), 5);
        let open_txn = log
            .active_producers()
            .into_iter()
            .find(|p| p.producer_id == 9)
            .unwrap();
        assert_eq!(open_txn.current_txn_start_offset, 8);
        assert_eq!(log.append_marker(9, 0, 0, false, 0).unwrap(), 9);
        assert_eq!(log.last_stable_offset(), 10);
    }

    #[test]
    fn concurrent_flushes_share_one_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), LogConfig::default());
        let mut ends = Vec::new();
        for _ in 0..10 {
            ends.push(
                log.append_as_leader(&batch(0, &[b"a"]), 0)
                    .unwrap()
                    .last_offset
                    + 1,
            );
        }
        assert_eq!(log.recovery_point(), 0);
        // Ten callers wanting their appends on disk: the first fsync covers
        // them all, whoever gets there first.
        let barrier = std::sync::Barrier::new(ends.len());
        std::thread::scope(|scope| {
            for &end in &ends {
                let (log, barrier) = (&log, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    log.flush_to(end).unwrap();
                });
            }
        });
        assert_eq!(log.flush_count(), 1);
        assert_eq!(log.recovery_point(), 10);
        log.flush().unwrap();
        assert_eq!(log.flush_count(), 1, "nothing new to flush");
    }

    #[test]
    fn flush_messages_makes_each_append_durable_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            flush_interval_messages: 1,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..25 {
                        let info = log.append_as_leader(&batch(0, &[b"a"]), 0).unwrap();
                        assert!(log.recovery_point() > info.last_offset);
                    }
                });
            }
        });
        assert_eq!(log.recovery_point(), 100);
        assert!(log.flush_count() <= 100);
    }

    fn at_time(timestamp: i64, values: &[&[u8]]) -> Vec<u8> {
        let mut b = batch(0, values);
        b[27..35].copy_from_slice(&timestamp.to_be_bytes());
        b[35..43].copy_from_slice(&timestamp.to_be_bytes());
        let crc = record_batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn finds_offsets_by_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1024,
            index_interval_bytes: 128,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        // Batches of two records at times 1000, 2000, ..., with one late batch.
        for i in 0..40i64 {
            let time = if i == 30 { 500 } else { 1000 * (i + 1) };
            log.append_as_leader(&at_time(time, &[b"x", b"y"]), 3)
                .unwrap();
        }
        let at = |t| {
            log.fetch_offset_by_timestamp(t)
                .unwrap()
                .map(|f| (f.offset, f.timestamp, f.leader_epoch))
        };
        assert_eq!(at(0), Some((0, 1000, 3)));
        assert_eq!(at(1000), Some((0, 1000, 3)));
        assert_eq!(at(1001), Some((2, 2000, 3)));
        assert_eq!(at(25_500), Some((50, 26_000, 3)));
        assert_eq!(at(41_000), None);
        let max = log.max_timestamp_and_offset().unwrap().unwrap();
        assert_eq!((max.offset, max.timestamp), (78, 40_000));
        drop(log);
        let log = open(dir.path(), config);
        let offset_at = |t| log.fetch_offset_by_timestamp(t).unwrap().map(|f| f.offset);
        assert_eq!(offset_at(25_500), Some(50));
        // Before every timestamp but the late batch's (500): the first record.
        assert_eq!(offset_at(400), Some(0));
    }

    #[test]
    fn reads_from_the_middle_of_a_batch_and_respect_limits() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 4096,
            index_interval_bytes: 256,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        let mut sizes = Vec::new();
        for i in 0..200 {
            let b = batch(0, &[format!("value-{i}").as_bytes(), b"second"]);
            sizes.push(b.len());
            log.append_as_leader(&b, 0).unwrap();
        }
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() > 2,
            "segments rolled"
        );
        assert_eq!(log.log_end_offset(), 400);

        // Offset 251 is the second record of the batch at 250.
        let got = log.read(251, usize::MAX, true).unwrap().records;
        let first = Batches::new(&got).next().unwrap().unwrap();
        assert_eq!(first.header.base_offset, 250);

        // A limit below one batch still yields the whole first batch...
        let got = log.read(10, 1, true).unwrap().records;
        assert_eq!(got.len(), sizes[5]);
        // ...unless the caller already has data.
        assert!(log.read(10, 1, false).unwrap().records.is_empty());
        // A limit that cuts a batch keeps only whole ones.
        let got = log.read(0, sizes[0] + sizes[1] + 3, true).unwrap().records;
        assert_eq!(got.len(), sizes[0] + sizes[1]);

        assert!(log.read(400, 100, true).unwrap().records.is_empty());
        assert!(matches!(
            log.read(401, 100, true),
            Err(ReadError::OffsetOutOfRange { .. })
        ));

        drop(log);
        let log = open(dir.path(), LogConfig::default());
        assert_eq!(log.log_end_offset(), 400);
        let got = log.read(399, usize::MAX, true).unwrap().records;
        assert_eq!(
            Batches::new(&got)
                .next()
                .unwrap()
                .unwrap()
                .header
                .base_offset,
            398
        );
    }

    fn segment_bases(log: &UnifiedLog) -> Vec<i64> {
        log.inner.lock().segments.keys().copied().collect()
    }

    fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(suffix))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn retention_bytes_deletes_the_oldest_whole_segments() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1024,
            retention_bytes: 2500,
            retention_ms: -1,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        let value = [7u8; 200];
        for _ in 0..30 {
            log.append_as_leader(&batch(0, &[&value]), 0).unwrap();
        }
        let before = segment_bases(&log);
        assert!(before.len() > 4, "{before:?}");
        let deleted = log.delete_old_segments(now_ms()).unwrap();
        assert!(deleted.segments > 0);
        let after = segment_bases(&log);
        assert_eq!(after, before[deleted.segments..]);
        // As in Kafka, segments go while the rest is at least
        // retention.bytes: what is kept exceeds it by less than a segment.
        let size = log.size_in_bytes();
        assert!((2500..2500 + 1024).contains(&size), "{size}");
        assert_eq!(log.log_start_offset(), after[0]);
        // The files are renamed, not removed, and reads below the start fail.
        let deleted_logs = files_ending(dir.path(), ".log.deleted");
        assert_eq!(deleted_logs.len(), deleted.segments);
        assert_eq!(deleted_logs[0], log_segment::log_file_name(0) + ".deleted");
        assert!(matches!(
            log.read(0, 1 << 20, true),
            Err(ReadError::OffsetOutOfRange { .. })
        ));
        assert!(log.read(after[0], 1 << 20, true).is_ok());
        // Nothing more to do until the log grows again.
        assert_eq!(log.delete_old_segments(now_ms()).unwrap().segments, 0);
        // A restart keeps the new start (the loader drops .deleted files).
        let end = log.log_end_offset();
        log.close().unwrap();
        drop(log);
        let log = UnifiedLog::load(
            dir.path(),
            TopicPartition::new("t", 0),
            config,
            LoadParams {
                log_start_offset: Some(after[0]),
                ..LoadParams::default()
            },
        )
        .unwrap();
        assert_eq!(log.log_start_offset(), after[0]);
        assert_eq!(log.log_end_offset(), end);
        assert!(files_ending(dir.path(), ".deleted").is_empty());
    }

    #[test]
    fn retention_ms_deletes_old_segments_and_rolls_when_all_are_old() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1024,
            retention_ms: 60_000,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        let now = now_ms();
        for _ in 0..20 {
            log.append_as_leader(&at_time(now - 120_000, &[&[1u8; 150]]), 0)
                .unwrap();
        }
        for _ in 0..20 {
            log.append_as_leader(&at_time(now - 1_000, &[&[2u8; 150]]), 0)
                .unwrap();
        }
        let deleted = log.delete_old_segments(now).unwrap();
        assert!(deleted.segments > 0);
        // Only segments whose newest record is older than 60 s went.
        let first = segment_bases(&log)[0];
        assert!(first <= 20, "{first}");
        let kept = log.read(first, 1 << 20, true).unwrap();
        assert!(!kept.records.is_empty());
        // Later everything is old: the log rolls and keeps an empty segment.
        let end = log.log_end_offset();
        let deleted = log.delete_old_segments(now + 120_000).unwrap();
        assert!(deleted.segments > 0);
        assert_eq!(segment_bases(&log), [end]);
        assert_eq!(log.log_start_offset(), end);
        assert_eq!(log.size_in_bytes(), 0);
        // Appends go on at the old end.
        let info = log.append_as_leader(&batch(0, &[b"new"]), 0).unwrap();
        assert_eq!(info.first_offset, end);
        // An empty last segment is never deleted.
        let config_now = now + 10_000_000;
        let again = log.delete_old_segments(config_now).unwrap();
        assert_eq!(log.log_start_offset(), end + again.segments.min(1) as i64);
    }

    #[test]
    fn cleanup_policy_without_delete_keeps_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1024,
            retention_bytes: 100,
            retention_ms: 0,
            delete: false,
            compact: true,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        let keyed = record_batch::build_batch(
            1000,
            &[record_batch::NewRecord {
                key: Some(b"k"),
                value: Some(&[3u8; 150]),
            }],
        );
        for _ in 0..20 {
            log.append_as_leader(&keyed, 0).unwrap();
        }
        assert_eq!(log.delete_old_segments(now_ms()).unwrap().segments, 0);
        assert_eq!(log.log_start_offset(), 0);
    }

    #[test]
    fn a_moved_log_start_offset_deletes_the_segments_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1024,
            retention_ms: -1,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        for _ in 0..20 {
            log.append_as_leader(&batch(0, &[&[4u8; 150]]), 0).unwrap();
        }
        let bases = segment_bases(&log);
        assert!(matches!(
            log.maybe_increment_log_start_offset(log.log_end_offset() + 1),
            Err(ReadError::OffsetOutOfRange { .. })
        ));
        let target = bases[2] + 1;
        assert_eq!(
            log.maybe_increment_log_start_offset(target).unwrap(),
            target
        );
        // Not moved back.
        assert_eq!(log.maybe_increment_log_start_offset(1).unwrap(), target);
        assert!(matches!(
            log.read(target - 1, 1 << 20, true),
            Err(ReadError::OffsetOutOfRange { .. })
        ));
        let deleted = log.delete_old_segments(now_ms()).unwrap();
        assert_eq!(deleted.segments, 2);
        assert_eq!(segment_bases(&log)[0], bases[2]);
        // The start stays inside the segment it points into.
        assert_eq!(log.log_start_offset(), target);
    }

    #[test]
    fn segment_ms_rolls_a_segment_whose_first_batch_is_old_enough() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_ms: 10_000,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        log.append_as_leader(&at_time(1_000_000, &[b"a"]), 0)
            .unwrap();
        log.append_as_leader(&at_time(1_005_000, &[b"b"]), 0)
            .unwrap();
        assert_eq!(segment_bases(&log), [0]);
        log.append_as_leader(&at_time(1_010_001, &[b"c"]), 0)
            .unwrap();
        assert_eq!(segment_bases(&log), [0, 2]);
        // After a restart the first batch's timestamp is read from the file.
        log.close().unwrap();
        drop(log);
        let log = open(dir.path(), config);
        log.append_as_leader(&at_time(1_015_000, &[b"d"]), 0)
            .unwrap();
        assert_eq!(segment_bases(&log), [0, 2]);
        log.append_as_leader(&at_time(1_020_002, &[b"e"]), 0)
            .unwrap();
        assert_eq!(segment_bases(&log), [0, 2, 4]);
    }

    #[test]
    fn a_compacted_log_refuses_records_without_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            compact: true,
            delete: false,
            ..LogConfig::default()
        };
        let log = open(dir.path(), config);
        let keyed = |keys: &[Option<&[u8]>]| {
            let records: Vec<record_batch::NewRecord<'_>> = keys
                .iter()
                .map(|&key| record_batch::NewRecord {
                    key,
                    value: Some(b"v"),
                })
                .collect();
            record_batch::build_batch(now_ms(), &records)
        };
        log.append_as_leader(&keyed(&[Some(b"a"), Some(b"b")]), 0)
            .unwrap();
        let refused = log.append_as_leader(&keyed(&[Some(b"a"), None]), 0);
        match refused {
            Err(AppendError::RecordErrors {
                invalid_timestamp: false,
                records,
                ..
            }) => {
                assert_eq!(records.len(), 1, "{records:?}");
                assert_eq!(records[0].0, 1);
                assert!(records[0].1.contains("without key"), "{records:?}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(log.log_end_offset(), 2);
        // Without compaction the same batch is taken.
        log.update_config(LogConfig::default());
        log.append_as_leader(&keyed(&[Some(b"a"), None]), 0)
            .unwrap();
        assert_eq!(log.log_end_offset(), 4);
    }

    #[test]
    fn offsets_by_timestamp_start_at_the_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), LogConfig::default());
        log.append_as_leader(&at_time(1000, &[b"a", b"b", b"c"]), 0)
            .unwrap();
        log.append_as_leader(&at_time(2000, &[b"d"]), 0).unwrap();
        let at = |t| log.fetch_offset_by_timestamp(t).unwrap().map(|f| f.offset);
        assert_eq!(at(0), Some(0));
        log.maybe_increment_log_start_offset(2).unwrap();
        assert_eq!(at(0), Some(2));
        log.maybe_increment_log_start_offset(3).unwrap();
        assert_eq!(at(0), Some(3));
        assert_eq!(at(2001), None);
    }

    /// A log of 30 one-record batches in segments of about 4 batches,
    /// closed; its segment bases and each batch's bytes as stored.
    fn closed_log_for_swaps(dir: &Path) -> (Vec<i64>, Vec<Vec<u8>>) {
        let config = LogConfig {
            segment_bytes: 400,
            retention_ms: -1,
            ..LogConfig::default()
        };
        let log = open(dir, config);
        for i in 0..30u8 {
            log.append_as_leader(&batch(0, &[&[i; 40]]), 0).unwrap();
        }
        let bases = segment_bases(&log);
        let mut stored = Vec::new();
        let mut offset = 0;
        while offset < log.log_end_offset() {
            let read = log.read(offset, 1, true).unwrap();
            let header = BatchHeader::parse(&read.records).unwrap();
            stored.push(read.records[..header.size_in_bytes()].to_vec());
            offset = header.next_offset();
        }
        log.close().unwrap();
        (bases, stored)
    }

    fn all_batches(log: &UnifiedLog) -> Vec<Vec<u8>> {
        let mut batches = Vec::new();
        let mut offset = log.log_start_offset();
        while offset < log.log_end_offset() {
            let read = log.read(offset, 1, true).unwrap();
            let header = BatchHeader::parse(&read.records).unwrap();
            batches.push(read.records[..header.size_in_bytes()].to_vec());
            offset = header.next_offset();
        }
        batches
    }

    #[test]
    fn an_interrupted_swap_is_completed_at_load() {
        for replaced_renamed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (bases, stored) = closed_log_for_swaps(dir.path());
            assert!(bases.len() >= 4, "{bases:?}");
            // A cleaner merged the first two segments into one, keeping
            // every other batch, and crashed before renaming .swap to .log
            // (with the replaced segments still there, or already .deleted).
            let covered = bases[2] as usize;
            let kept: Vec<u8> = stored[..covered]
                .iter()
                .step_by(2)
                .flatten()
                .copied()
                .collect();
            std::fs::write(dir.path().join("00000000000000000000.log.swap"), &kept).unwrap();
            std::fs::write(dir.path().join("00000000000000000000.index.swap"), b"junk").unwrap();
            if replaced_renamed {
                for base in &bases[..2] {
                    let name = log_segment::log_file_name(*base);
                    std::fs::rename(dir.path().join(&name), dir.path().join(name + ".deleted"))
                        .unwrap();
                }
            }
            let log = open(dir.path(), LogConfig::default());
            let expected: Vec<Vec<u8>> = stored[..covered]
                .iter()
                .step_by(2)
                .chain(&stored[covered..])
                .cloned()
                .collect();
            assert_eq!(
                all_batches(&log),
                expected,
                "replaced renamed: {replaced_renamed}"
            );
            let mut expected_bases = vec![0];
            expected_bases.extend(&bases[2..]);
            assert_eq!(segment_bases(&log), expected_bases);
            assert!(files_ending(dir.path(), ".swap").is_empty());
            assert!(files_ending(dir.path(), ".deleted").is_empty());
        }
    }

    #[test]
    fn the_swap_of_an_unfinished_split_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (bases, stored) = closed_log_for_swaps(dir.path());
        // A split wrote .cleaned files from bases[1] on and one .swap: the
        // originals are whole, the swap goes.
        let base = bases[1];
        std::fs::write(
            dir.path().join(format!("{base:020}.log.cleaned")),
            &stored[base as usize],
        )
        .unwrap();
        std::fs::write(
            dir.path().join(format!("{base:020}.log.swap")),
            &stored[base as usize],
        )
        .unwrap();
        let log = open(dir.path(), LogConfig::default());
        assert_eq!(all_batches(&log), stored);
        assert_eq!(segment_bases(&log), bases);
        assert!(files_ending(dir.path(), ".swap").is_empty());
        assert!(files_ending(dir.path(), ".cleaned").is_empty());
    }
}
