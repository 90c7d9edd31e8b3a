//! Log compaction for logs with `cleanup.policy=compact` (Kafka's
//! `LogCleaner`, `LogCleanerManager` and `Cleaner`).
//!
//! Cleaner threads pick the log whose dirty section (what was written since
//! its last cleaning, up to the active segment) is the largest share of it,
//! once that share passes `min.cleanable.dirty.ratio` (or its oldest dirty
//! record is older than `max.compaction.lag.ms`). A pass maps each key of
//! the dirty section to its last offset, then rewrites the log from its
//! start up to where the map ends, group of segments by group, keeping only
//! the last record of each key: offsets, timestamps, headers and the
//! batches' producer fields stay as they were; a batch that lost records is
//! rebuilt in its own codec. Tombstones stay `delete.retention.ms` after
//! the pass that first kept them (the batch's delete horizon). Each cleaned
//! group is written as `.cleaned` files, flushed, and swapped in by the log
//! ([`UnifiedLog::replace_segments`]), so a crash at any point leaves the
//! old segments or the new ones. The first dirty offset of each log is kept
//! in `cleaner-offset-checkpoint`.

use super::checkpoint_file;
use super::compression;
use super::log_segment::{LogSegment, PendingBatch};
use super::record_batch::{self, BatchHeader, Batches, RECORD_BATCH_OVERHEAD};
use super::transaction_index::AbortedTxn;
use super::unified_log::{CLEANED_FILE_SUFFIX, CleanerSegment, CleanerView};
use super::{TopicPartition, UnifiedLog};
pub use crate::config::CleanerConfig;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{error, info, warn};

/// Kafka's file of each compacted log's first dirty offset.
pub const CLEANER_OFFSET_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

/// Bytes of dedupe buffer one key takes (Kafka's `SkimpyOffsetMap`: a
/// 16-byte hash and an 8-byte offset).
const BYTES_PER_ENTRY: u64 = 24;
/// How often the I/O throttle measures the rate (Kafka's `checkIntervalMs`).
const THROTTLE_CHECK_INTERVAL: Duration = Duration::from_millis(300);

impl CleanerConfig {
    /// Keys one thread's map holds before it is full.
    fn map_capacity(&self) -> usize {
        let per_thread = self.dedupe_buffer_size / self.threads.max(1) as u64;
        ((per_thread / BYTES_PER_ENTRY) as f64 * self.dedupe_buffer_load_factor).max(1.0) as usize
    }
}

/// Why a cleaning pass stopped without finishing.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("cleaning was aborted")]
    Aborted,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("corrupt record batch at position {position} of segment {base_offset}: {reason}")]
    Corrupt {
        base_offset: i64,
        position: u64,
        reason: String,
    },
}

/// Counters of the cleaner's work since the start, for metrics and tests.
#[derive(Debug, Default)]
pub struct CleanerTotals {
    pub passes: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
    pub records_removed: AtomicU64,
    /// The longest pass so far, in milliseconds.
    pub max_pass_ms: AtomicU64,
}

#[derive(Default)]
struct CleanerState {
    in_progress: HashSet<TopicPartition>,
    /// Logs whose data could not be read; left alone until a restart.
    uncleanable: HashSet<TopicPartition>,
    /// The first dirty offset of each log cleaned (the checkpoint).
    checkpoints: HashMap<TopicPartition, i64>,
    /// The earliest time a tombstone kept in the last pass may go.
    delete_horizons: HashMap<TopicPartition, i64>,
}

struct Throttler {
    period_start: Instant,
    observed: f64,
}

pub struct LogCleaner {
    /// The log directories: each keeps the checkpoint of its own logs.
    log_dirs: Vec<PathBuf>,
    config: RwLock<CleanerConfig>,
    state: Mutex<CleanerState>,
    throttler: Mutex<Throttler>,
    stop: (Mutex<bool>, Condvar),
    pub totals: CleanerTotals,
}

/// A log chosen for cleaning and its dirty section.
struct LogToClean {
    log: Arc<UnifiedLog>,
    view: CleanerView,
    first_dirty: i64,
    first_uncleanable: i64,
    cleanable_bytes: u64,
    ratio: f64,
}

/// What one pass did.
#[derive(Debug, Default)]
struct PassStats {
    bytes_read: u64,
    bytes_written: u64,
    map_bytes_read: u64,
    records_read: u64,
    records_removed: u64,
    groups_swapped: usize,
    /// The earliest delete horizon of a tombstone kept.
    next_delete_horizon: Option<i64>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl LogCleaner {
    /// A cleaner for the logs of `log_dirs`, with their checkpoints read.
    pub fn new(log_dirs: &[PathBuf], config: CleanerConfig) -> Self {
        let mut checkpoints = HashMap::new();
        for dir in log_dirs {
            let path = dir.join(CLEANER_OFFSET_CHECKPOINT_FILE);
            match checkpoint_file::read_offsets(&path) {
                Ok(offsets) => checkpoints.extend(offsets),
                Err(e) => warn!("{e}; its compacted logs will be cleaned from their start"),
            }
        }
        LogCleaner {
            log_dirs: log_dirs.to_vec(),
            config: RwLock::new(config),
            state: Mutex::new(CleanerState {
                checkpoints,
                ..CleanerState::default()
            }),
            throttler: Mutex::new(Throttler {
                period_start: Instant::now(),
                observed: 0.0,
            }),
            stop: (Mutex::new(false), Condvar::new()),
            totals: CleanerTotals::default(),
        }
    }

    pub fn config(&self) -> CleanerConfig {
        *self.config.read()
    }

    /// Takes new settings (dynamic `log.cleaner.*` configs): sleeping
    /// threads wake to use them (Kafka restarts its cleaner threads), and
    /// threads beyond the new count stop after their current pass.
    pub fn update_config(&self, config: CleanerConfig) {
        *self.config.write() = config;
        let _stopped = self.stop.0.lock();
        self.stop.1.notify_all();
    }

    /// How many cleaner threads should run.
    pub fn wanted_threads(&self) -> usize {
        let config = self.config();
        if config.enable { config.threads } else { 0 }
    }

    /// Stops the threads: passes in progress are abandoned (their
    /// `.cleaned` files removed) and waits are cut short.
    pub fn shutdown(&self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
    }

    fn stopped(&self) -> bool {
        *self.stop.0.lock()
    }

    /// Sleeps up to `duration`; returns whether the cleaner is stopping.
    fn sleep(&self, duration: Duration) -> bool {
        let mut stopped = self.stop.0.lock();
        if !*stopped {
            self.stop.1.wait_for(&mut stopped, duration);
        }
        *stopped
    }

    /// How many logs could not be cleaned (Kafka's
    /// `uncleanable-partitions-count`).
    pub fn uncleanable_count(&self) -> usize {
        self.state.lock().uncleanable.len()
    }

    /// The first dirty offset recorded for `tp`.
    pub fn checkpoint(&self, tp: &TopicPartition) -> Option<i64> {
        self.state.lock().checkpoints.get(tp).copied()
    }

    /// Forgets a log that was deleted.
    pub fn forget(&self, topic: &str) {
        let mut state = self.state.lock();
        state.checkpoints.retain(|tp, _| tp.topic != topic);
        state.delete_horizons.retain(|tp, _| tp.topic != topic);
        state.uncleanable.retain(|tp| tp.topic != topic);
    }

    /// The body of cleaner thread `id`: cleans the filthiest log of `logs()`
    /// over and over, sleeping `log.cleaner.backoff.ms` when none needs it,
    /// until shutdown or until there are fewer threads than `id + 1`.
    /// Replaced segments' files are handed to `delete_later` with the delay
    /// after which they go.
    pub fn run_thread(
        &self,
        id: usize,
        logs: &dyn Fn() -> Vec<Arc<UnifiedLog>>,
        delete_later: &dyn Fn(Vec<PathBuf>, Duration),
    ) {
        loop {
            if self.stopped() || id >= self.wanted_threads() {
                return;
            }
            let cleaned = self.clean_filthiest_log(id, &logs(), delete_later);
            if !cleaned && self.sleep(self.config().backoff) {
                return;
            }
        }
    }

    /// Cleans the log that needs it most, if any; returns whether one was.
    pub fn clean_filthiest_log(
        &self,
        id: usize,
        logs: &[Arc<UnifiedLog>],
        delete_later: &dyn Fn(Vec<PathBuf>, Duration),
    ) -> bool {
        let now = now_ms();
        let Some(to_clean) = self.grab_filthiest_log(logs, now) else {
            return false;
        };
        let tp = to_clean.log.topic_partition().clone();
        let started = Instant::now();
        let log = Arc::clone(&to_clean.log);
        let result = self.clean(&to_clean, now, delete_later);
        let mut state = self.state.lock();
        state.in_progress.remove(&tp);
        match result {
            Ok((end_offset, stats)) => {
                state.checkpoints.insert(tp.clone(), end_offset);
                match stats.next_delete_horizon {
                    Some(horizon) => state.delete_horizons.insert(tp.clone(), horizon),
                    None => state.delete_horizons.remove(&tp),
                };
                // Each directory's checkpoint names the logs it holds.
                let mut by_dir: HashMap<&Path, Vec<(TopicPartition, i64)>> = self
                    .log_dirs
                    .iter()
                    .map(|d| (d.as_path(), Vec::new()))
                    .collect();
                for log in logs {
                    let Some(offset) = state.checkpoints.get(log.topic_partition()) else {
                        continue;
                    };
                    if let Some(entries) = log.dir().parent().and_then(|d| by_dir.get_mut(d)) {
                        entries.push((log.topic_partition().clone(), *offset));
                    }
                }
                drop(state);
                let dir_of_cleaned = to_clean.log.dir().parent();
                for (dir, entries) in by_dir {
                    if Some(dir) != dir_of_cleaned {
                        continue;
                    }
                    if let Err(e) = checkpoint_file::write_offsets(
                        &dir.join(CLEANER_OFFSET_CHECKPOINT_FILE),
                        &entries,
                    ) {
                        error!(log_dir = %dir.display(), "cannot write {CLEANER_OFFSET_CHECKPOINT_FILE}: {e}");
                    }
                }
                let elapsed = started.elapsed();
                let totals = &self.totals;
                totals.passes.fetch_add(1, Ordering::Relaxed);
                totals
                    .bytes_read
                    .fetch_add(stats.bytes_read + stats.map_bytes_read, Ordering::Relaxed);
                totals
                    .bytes_written
                    .fetch_add(stats.bytes_written, Ordering::Relaxed);
                totals
                    .records_removed
                    .fetch_add(stats.records_removed, Ordering::Relaxed);
                totals
                    .max_pass_ms
                    .fetch_max(elapsed.as_millis() as u64, Ordering::Relaxed);
                let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
                info!(
                    cleaner = id,
                    log = %tp,
                    dirty_section = %format!("[{}, {end_offset})", to_clean.first_dirty),
                    ratio = format!("{:.3}", to_clean.ratio),
                    read_mb = format!("{:.1}", mb(stats.bytes_read + stats.map_bytes_read)),
                    written_mb = format!("{:.1}", mb(stats.bytes_written)),
                    records_read = stats.records_read,
                    records_removed = stats.records_removed,
                    groups_swapped = stats.groups_swapped,
                    seconds = format!("{:.3}", elapsed.as_secs_f64()),
                    mb_per_s = format!(
                        "{:.1}",
                        mb(stats.bytes_read + stats.map_bytes_read) / elapsed.as_secs_f64().max(1e-6)
                    ),
                    size_after = log.size_in_bytes(),
                    "cleaned log"
                );
            }
            Err(CleanError::Aborted) => {
                info!(cleaner = id, log = %tp, "log cleaning aborted");
            }
            // A log deleted, or moved to another log directory, under the
            // pass (its directory gone) is no error.
            Err(e) if log.is_deleted() || log.is_moved() => {
                info!(cleaner = id, log = %tp, "log cleaning aborted: the log was deleted or moved ({e})");
            }
            Err(e) => {
                state.uncleanable.insert(tp.clone());
                error!(cleaner = id, log = %tp, "cannot clean log; it is marked uncleanable until a restart: {e}");
            }
        }
        true
    }

    /// Kafka's `grabFilthiestCompactedLog`: of the compacted logs not being
    /// cleaned, the one whose dirty share is largest once past its
    /// `min.cleanable.dirty.ratio` (or that must be cleaned now for
    /// `max.compaction.lag.ms`); else one whose kept tombstones may now go.
    /// Marks it in progress.
    fn grab_filthiest_log(&self, logs: &[Arc<UnifiedLog>], now: i64) -> Option<LogToClean> {
        let mut state = self.state.lock();
        let mut best: Option<LogToClean> = None;
        let mut expired: Option<LogToClean> = None;
        for log in logs {
            let tp = log.topic_partition();
            let config = log.config();
            if !config.compact || state.in_progress.contains(tp) || state.uncleanable.contains(tp) {
                continue;
            }
            let Some(view) = log.cleaner_view() else {
                continue;
            };
            let Some(candidate) =
                cleanable_offsets(log, view, state.checkpoints.get(tp).copied(), now)
            else {
                continue;
            };
            let due = candidate.cleanable_bytes > 0
                && (candidate.ratio > config.min_cleanable_ratio
                    || needs_compaction_now(&candidate, config.max_compaction_lag_ms, now));
            if due {
                if best.as_ref().is_none_or(|b| candidate.ratio > b.ratio) {
                    best = Some(candidate);
                }
            } else if expired.is_none()
                && state
                    .delete_horizons
                    .get(tp)
                    .is_some_and(|&horizon| horizon <= now)
            {
                expired = Some(candidate);
            }
        }
        let chosen = best.or(expired)?;
        state
            .in_progress
            .insert(chosen.log.topic_partition().clone());
        Some(chosen)
    }

    /// One pass over `to_clean` (Kafka's `Cleaner.doClean`); returns the
    /// offset the log is clean up to.
    fn clean(
        &self,
        to_clean: &LogToClean,
        now: i64,
        delete_later: &dyn Fn(Vec<PathBuf>, Duration),
    ) -> Result<(i64, PassStats), CleanError> {
        let log = &to_clean.log;
        let config = log.config();
        let cleaner_config = self.config();
        let mut stats = PassStats::default();
        let mut map = OffsetMap::new(cleaner_config.map_capacity());
        let aborted = AbortedRanges::new(&to_clean.view.aborted_txns);
        let end_offset =
            self.build_offset_map(to_clean, &mut map, &aborted, &cleaner_config, &mut stats)?;

        let filter = RecordFilter {
            map: &map,
            end_offset,
            now,
            delete_retention_ms: config.delete_retention_ms,
            last_batch_offsets: &to_clean.view.last_batch_offsets,
            aborted: &aborted,
        };
        let segments: Vec<&CleanerSegment> = to_clean
            .view
            .segments
            .iter()
            .filter(|s| s.base_offset < end_offset)
            .collect();
        let next_bases: Vec<i64> = to_clean
            .view
            .segments
            .iter()
            .skip(1)
            .map(|s| s.base_offset)
            .chain(std::iter::once(to_clean.view.active_base_offset))
            .collect();
        for group in group_segments_by_size(&segments, &next_bases, config.segment_bytes) {
            self.clean_group(
                log,
                &group,
                &filter,
                &cleaner_config,
                &mut stats,
                delete_later,
            )?;
        }
        Ok((end_offset, stats))
    }

    /// Maps each key of the dirty section to its last offset (Kafka's
    /// `buildOffsetMap`), stopping at a batch boundary when the map is
    /// full; returns the offset the map covers up to.
    fn build_offset_map(
        &self,
        to_clean: &LogToClean,
        map: &mut OffsetMap,
        aborted: &AbortedRanges,
        config: &CleanerConfig,
        stats: &mut PassStats,
    ) -> Result<i64, CleanError> {
        let mut end = to_clean.first_dirty;
        let view = &to_clean.view;
        for (i, segment) in view.segments.iter().enumerate() {
            let next_base = view
                .segments
                .get(i + 1)
                .map_or(view.active_base_offset, |s| s.base_offset);
            if next_base <= to_clean.first_dirty {
                continue;
            }
            if segment.base_offset >= to_clean.first_uncleanable {
                break;
            }
            let mut full = false;
            self.for_each_batch(segment, config, &mut stats.map_bytes_read, |batch| {
                let header = &batch.header;
                if header.last_offset() < to_clean.first_dirty {
                    return Ok(true);
                }
                if header.base_offset >= to_clean.first_uncleanable {
                    return Ok(false);
                }
                // An aborted transaction's records never count (Kafka's
                // buildOffsetMap skips them); control batches hold no keys.
                if !header.is_control() && !aborted.contains(header) {
                    let count = header.records_count.max(0) as usize;
                    if map.len() + count > map.capacity && map.len() > 0 {
                        full = true;
                        return Ok(false);
                    }
                    let records = record_batch::uncompressed_records(batch.bytes, header)
                        .map_err(|e| corrupt(segment, batch.position, e))?;
                    for record in record_batch::raw_records(&records, header.records_count) {
                        let record = record.map_err(|e| corrupt(segment, batch.position, e))?;
                        let offset = header.base_offset + i64::from(record.offset_delta);
                        if offset >= to_clean.first_dirty
                            && let Some(key) = record.key
                        {
                            map.put(key, offset);
                        }
                    }
                }
                end = end.max(header.next_offset());
                Ok(true)
            })?;
            if full {
                break;
            }
        }
        Ok(end
            .min(to_clean.first_uncleanable)
            .max(to_clean.first_dirty))
    }

    /// Rewrites one group of segments into a `.cleaned` segment and swaps it
    /// in; a group the filter leaves as it is stays untouched.
    fn clean_group(
        &self,
        log: &UnifiedLog,
        group: &[&CleanerSegment],
        filter: &RecordFilter<'_>,
        config: &CleanerConfig,
        stats: &mut PassStats,
        delete_later: &dyn Fn(Vec<PathBuf>, Duration),
    ) -> Result<(), CleanError> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        let mut cleaned = LogSegment::create_with_suffix(
            log.dir(),
            first.base_offset,
            log.segment_config(),
            CLEANED_FILE_SUFFIX,
        )?;
        let result = self.write_cleaned(&mut cleaned, group, filter, config, stats);
        let changed = match result {
            Ok(changed) => changed,
            Err(e) => {
                cleaned.delete_files();
                return Err(e);
            }
        };
        if !changed {
            cleaned.delete_files();
            return Ok(());
        }
        // The markers all stay, so do their aborted transactions.
        let aborted: Vec<AbortedTxn> = group
            .iter()
            .flat_map(|s| s.aborted_txns.iter().copied())
            .collect();
        let finish = (|| -> io::Result<()> {
            cleaned.write_txn_index(&aborted)?;
            cleaned.on_become_inactive()?;
            cleaned.flush()?;
            let modified = group
                .iter()
                .filter_map(|s| s.file.metadata().and_then(|m| m.modified()).ok())
                .max();
            if let Some(modified) = modified {
                cleaned.set_last_modified(modified)?;
            }
            Ok(())
        })();
        if let Err(e) = finish {
            cleaned.delete_files();
            return Err(e.into());
        }
        let replaced: Vec<CleanerSegment> = group.iter().map(|s| (*s).clone()).collect();
        match log.replace_segments(cleaned, &replaced)? {
            Ok(files) => {
                stats.groups_swapped += 1;
                delete_later(
                    files,
                    Duration::from_millis(log.config().file_delete_delay_ms),
                );
                Ok(())
            }
            Err(cleaned) => {
                cleaned.delete_files();
                Err(CleanError::Aborted)
            }
        }
    }

    /// Filters the batches of `group` into `cleaned`; returns whether
    /// anything changed.
    fn write_cleaned(
        &self,
        cleaned: &mut LogSegment,
        group: &[&CleanerSegment],
        filter: &RecordFilter<'_>,
        config: &CleanerConfig,
        stats: &mut PassStats,
    ) -> Result<bool, CleanError> {
        let mut changed = false;
        let mut out = Vec::with_capacity(config.io_buffer_size);
        let mut records_read = 0;
        let mut records_removed = 0;
        let mut next_delete_horizon = stats.next_delete_horizon;
        for segment in group {
            let mut bytes_read = 0;
            self.for_each_batch(segment, config, &mut bytes_read, |batch| {
                record_batch::check_crc(batch.bytes, &batch.header, batch.position as usize)
                    .map_err(|e| corrupt(segment, batch.position, e))?;
                let outcome = filter
                    .filter(batch.bytes, &batch.header, &mut out)
                    .map_err(|e| corrupt(segment, batch.position, e))?;
                records_read += u64::from(batch.header.records_count.max(0) as u32);
                records_removed += outcome.removed;
                if let Some(horizon) = outcome.delete_horizon {
                    next_delete_horizon =
                        Some(next_delete_horizon.map_or(horizon, |h: i64| h.min(horizon)));
                }
                if outcome.kept_as_is {
                    out.extend_from_slice(batch.bytes);
                } else {
                    changed = true;
                }
                if out.len() >= config.io_buffer_size {
                    self.append_cleaned(cleaned, &mut out, stats)?;
                }
                Ok(true)
            })?;
            stats.bytes_read += bytes_read;
        }
        self.append_cleaned(cleaned, &mut out, stats)?;
        stats.records_read += records_read;
        stats.records_removed += records_removed;
        stats.next_delete_horizon = next_delete_horizon;
        Ok(changed)
    }

    fn append_cleaned(
        &self,
        cleaned: &mut LogSegment,
        out: &mut Vec<u8>,
        stats: &mut PassStats,
    ) -> Result<(), CleanError> {
        if out.is_empty() {
            return Ok(());
        }
        if cleaned.size() + out.len() as u64 > u64::from(u32::MAX) {
            return Err(io::Error::other("a cleaned segment would exceed 4 GiB").into());
        }
        let pending: Vec<PendingBatch<'_>> = Batches::new(out)
            .map_while(Result::ok)
            .map(|b| {
                let mut prefix = [0u8; 16];
                prefix.copy_from_slice(&b.bytes[..16]);
                PendingBatch {
                    base_offset: b.header.base_offset,
                    last_offset: b.header.last_offset(),
                    prefix,
                    rest: &b.bytes[16..],
                    max_timestamp: b.header.max_timestamp,
                }
            })
            .collect();
        cleaned.append(&pending)?;
        stats.bytes_written += out.len() as u64;
        self.throttle(out.len() as u64);
        out.clear();
        Ok(())
    }

    /// Walks the whole batches of `segment` in reads of about
    /// `log.cleaner.io.buffer.size`, handing each to `on_batch` until it
    /// returns false. Stops with an error when cleaning is stopped or the
    /// segment holds something that is not a whole batch.
    fn for_each_batch(
        &self,
        segment: &CleanerSegment,
        config: &CleanerConfig,
        bytes_read: &mut u64,
        mut on_batch: impl FnMut(BatchAt<'_>) -> Result<bool, CleanError>,
    ) -> Result<(), CleanError> {
        let mut buf = vec![0u8; config.io_buffer_size.max(RECORD_BATCH_OVERHEAD)];
        let mut position = 0u64;
        while position < segment.size {
            if self.stopped() {
                return Err(CleanError::Aborted);
            }
            let len = (buf.len() as u64).min(segment.size - position) as usize;
            segment.file.read_exact_at(&mut buf[..len], position)?;
            *bytes_read += len as u64;
            self.throttle(len as u64);
            let chunk = &buf[..len];
            let mut used = 0usize;
            while used < chunk.len() {
                let rest = &chunk[used..];
                if rest.len() < RECORD_BATCH_OVERHEAD {
                    break;
                }
                let header = BatchHeader::parse(rest)
                    .map_err(|e| corrupt(segment, position + used as u64, e))?;
                if header.batch_length < (RECORD_BATCH_OVERHEAD - record_batch::LOG_OVERHEAD) as i32
                    || header.magic != record_batch::MAGIC_V2
                {
                    return Err(corrupt(
                        segment,
                        position + used as u64,
                        "not a magic v2 record batch",
                    ));
                }
                let size = header.size_in_bytes();
                if size > rest.len() {
                    break;
                }
                let batch = BatchAt {
                    position: position + used as u64,
                    header,
                    bytes: &rest[..size],
                };
                if !on_batch(batch)? {
                    return Ok(());
                }
                used += size;
            }
            if used == 0 {
                // The next batch is larger than the buffer: grow it.
                let mut header = [0u8; RECORD_BATCH_OVERHEAD];
                if segment.size - position < RECORD_BATCH_OVERHEAD as u64 {
                    return Err(corrupt(segment, position, "a torn batch at the end"));
                }
                segment.file.read_exact_at(&mut header, position)?;
                let size = BatchHeader::parse(&header)
                    .map_err(|e| corrupt(segment, position, e))?
                    .size_in_bytes();
                if size as u64 > segment.size - position || size <= buf.len() {
                    return Err(corrupt(segment, position, "a torn batch at the end"));
                }
                buf.resize(size, 0);
                continue;
            }
            position += used as u64;
        }
        Ok(())
    }

    /// Holds reads and writes of all threads to
    /// `log.cleaner.io.max.bytes.per.second` (Kafka's `Throttler`).
    fn throttle(&self, bytes: u64) {
        let rate = self.config().max_io_bytes_per_second;
        if !(rate > 0.0 && rate < f64::MAX / 2.0) {
            return;
        }
        let sleep = {
            let mut throttler = self.throttler.lock();
            throttler.observed += bytes as f64;
            let elapsed = throttler.period_start.elapsed();
            if elapsed < THROTTLE_CHECK_INTERVAL {
                return;
            }
            let needed = Duration::from_secs_f64(throttler.observed / rate);
            throttler.period_start = Instant::now();
            throttler.observed = 0.0;
            needed.saturating_sub(elapsed)
        };
        if !sleep.is_zero() {
            self.sleep(sleep);
        }
    }
}

/// A batch read from a segment, with its position in the file.
struct BatchAt<'a> {
    position: u64,
    header: BatchHeader,
    bytes: &'a [u8],
}

fn corrupt(segment: &CleanerSegment, position: u64, reason: impl std::fmt::Display) -> CleanError {
    CleanError::Corrupt {
        base_offset: segment.base_offset,
        position,
        reason: reason.to_string(),
    }
}

/// Kafka's `cleanableOffsets` and `LogToClean`: where the dirty section
/// starts and ends, and how dirty the log is. None for a log with nothing
/// but its active segment.
fn cleanable_offsets(
    log: &Arc<UnifiedLog>,
    view: CleanerView,
    checkpoint: Option<i64>,
    now: i64,
) -> Option<LogToClean> {
    let first_base = view.segments.first()?.base_offset;
    let log_start = view.log_start_offset.max(first_base);
    let first_dirty = match checkpoint {
        Some(offset) if offset >= log_start && offset <= view.log_end_offset => offset,
        _ => log_start,
    };
    let config = log.config();
    let next_base = |i: usize| {
        view.segments
            .get(i + 1)
            .map_or(view.active_base_offset, |s| s.base_offset)
    };
    let mut first_uncleanable = view.active_base_offset.min(view.last_stable_offset);
    let lag = config.min_compaction_lag_ms.max(0);
    if lag > 0
        && let Some(segment) = view
            .segments
            .iter()
            .enumerate()
            .filter(|(i, _)| next_base(*i) > first_dirty)
            .find(|(_, s)| s.largest_timestamp > now - lag)
            .map(|(_, s)| s)
    {
        first_uncleanable = first_uncleanable.min(segment.base_offset.max(first_dirty));
    }
    let (mut clean_bytes, mut cleanable_bytes) = (0u64, 0u64);
    for (i, segment) in view.segments.iter().enumerate() {
        if next_base(i) <= first_dirty {
            clean_bytes += segment.size;
        } else if segment.base_offset < first_uncleanable {
            cleanable_bytes += segment.size;
        }
    }
    let total = clean_bytes + cleanable_bytes;
    let ratio = if total == 0 {
        0.0
    } else {
        cleanable_bytes as f64 / total as f64
    };
    Some(LogToClean {
        log: Arc::clone(log),
        view,
        first_dirty,
        first_uncleanable,
        cleanable_bytes,
        ratio,
    })
}

/// Whether the oldest dirty record is older than `max.compaction.lag.ms`
/// (Kafka's `needCompactionNow`): the timestamp of the first batch of the
/// first dirty segment.
fn needs_compaction_now(to_clean: &LogToClean, max_lag_ms: i64, now: i64) -> bool {
    if max_lag_ms <= 0 || max_lag_ms == i64::MAX {
        return max_lag_ms <= 0;
    }
    let view = &to_clean.view;
    let Some(first_dirty_segment) = view
        .segments
        .iter()
        .enumerate()
        .find(|(i, _)| {
            view.segments
                .get(i + 1)
                .map_or(view.active_base_offset, |s| s.base_offset)
                > to_clean.first_dirty
        })
        .map(|(_, s)| s)
    else {
        return false;
    };
    let mut header = [0u8; RECORD_BATCH_OVERHEAD];
    if first_dirty_segment.size < RECORD_BATCH_OVERHEAD as u64
        || first_dirty_segment
            .file
            .read_exact_at(&mut header, 0)
            .is_err()
    {
        return false;
    }
    BatchHeader::parse(&header)
        .map(|h| h.max_timestamp >= 0 && now - h.max_timestamp > max_lag_ms)
        .unwrap_or(false)
}

/// Kafka's `groupSegmentsBySize`: consecutive segments whose sizes add up to
/// at most `max_size` and whose offsets span less than 2^31 are cleaned
/// into one. `next_bases[i]` is where the segment after `segments[i]` starts.
fn group_segments_by_size<'a>(
    segments: &[&'a CleanerSegment],
    next_bases: &[i64],
    max_size: u64,
) -> Vec<Vec<&'a CleanerSegment>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let base = segments[i].base_offset;
        let mut size = segments[i].size;
        let mut group = vec![segments[i]];
        i += 1;
        while i < segments.len() {
            let next_end = next_bases.get(i).copied().unwrap_or(i64::MAX);
            if size + segments[i].size > max_size || next_end - 1 - base > i64::from(i32::MAX) {
                break;
            }
            size += segments[i].size;
            group.push(segments[i]);
            i += 1;
        }
        groups.push(group);
    }
    groups
}

/// The key map of a pass: 128-bit hashes of the keys (Kafka's
/// `SkimpyOffsetMap` uses MD5) to the last offset of each.
struct OffsetMap {
    map: HashMap<u128, i64, BuildHasherDefault<PrehashedKey>>,
    capacity: usize,
}

impl OffsetMap {
    fn new(capacity: usize) -> Self {
        OffsetMap {
            map: HashMap::default(),
            capacity,
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn put(&mut self, key: &[u8], offset: i64) {
        let slot = self.map.entry(hash_key(key)).or_insert(offset);
        *slot = (*slot).max(offset);
    }

    fn get(&self, key: &[u8]) -> Option<i64> {
        self.map.get(&hash_key(key)).copied()
    }
}

fn hash_key(key: &[u8]) -> u128 {
    twox_hash::XxHash3_128::oneshot(key)
}

/// The map's keys are hashes already: the table uses their low bits.
#[derive(Default)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// What the filter did with a batch.
#[derive(Debug, Default, PartialEq, Eq)]
struct FilterOutcome {
    /// The batch is kept byte for byte (the caller copies it).
    kept_as_is: bool,
    records_kept: usize,
    removed: u64,
    /// The delete horizon of the tombstones the batch keeps, if any.
    delete_horizon: Option<i64>,
}

/// Which records a pass keeps (Kafka's `Cleaner.shouldRetainRecord` and
/// `MemoryRecords.filterTo`).
struct RecordFilter<'a> {
    map: &'a OffsetMap,
    /// Records at or after this offset are beyond the map: all kept.
    end_offset: i64,
    now: i64,
    delete_retention_ms: i64,
    last_batch_offsets: &'a HashMap<i64, i64>,
    aborted: &'a AbortedRanges,
}

/// The offset ranges of the aborted transactions, by producer.
struct AbortedRanges(HashMap<i64, Vec<(i64, i64)>>);

impl AbortedRanges {
    fn new(aborted: &[AbortedTxn]) -> Self {
        let mut ranges: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for txn in aborted {
            ranges
                .entry(txn.producer_id)
                .or_default()
                .push((txn.first_offset, txn.last_offset));
        }
        AbortedRanges(ranges)
    }

    /// Whether the batch is data of a transaction that was aborted.
    fn contains(&self, header: &BatchHeader) -> bool {
        header.is_transactional()
            && !header.is_control()
            && self.0.get(&header.producer_id).is_some_and(|ranges| {
                ranges
                    .iter()
                    .any(|&(first, last)| first <= header.base_offset && header.base_offset <= last)
            })
    }
}

impl RecordFilter<'_> {
    /// Kafka's RETAIN_EMPTY: a producer's last batch stays, without
    /// records, when none of its records do, so its last sequence is kept.
    fn retain_empty_if_last(&self, header: &BatchHeader, out: &mut Vec<u8>) {
        let last_of_producer = header.has_producer_id()
            && self.last_batch_offsets.get(&header.producer_id) == Some(&header.last_offset());
        if last_of_producer {
            let rebuilt = BatchHeader {
                attributes: header.attributes
                    & !(record_batch::DELETE_HORIZON_FLAG | record_batch::COMPRESSION_CODEC_MASK),
                base_timestamp: header.max_timestamp,
                records_count: 0,
                ..*header
            };
            record_batch::write_batch(out, &rebuilt, &[]);
        }
    }

    /// Filters the records of one whole batch. A batch that keeps all its
    /// records (and needs no delete horizon set) is left for the caller to
    /// copy; one that keeps some is rebuilt into `out` with its offsets,
    /// timestamps, headers and producer fields, compressed in its codec; a
    /// producer's last batch that keeps none stays as an empty batch; other
    /// batches that keep none go.
    fn filter(
        &self,
        batch: &[u8],
        header: &BatchHeader,
        out: &mut Vec<u8>,
    ) -> Result<FilterOutcome, record_batch::RecordsError> {
        if header.is_control() {
            return Ok(FilterOutcome {
                kept_as_is: true,
                ..FilterOutcome::default()
            });
        }
        if header.base_offset < self.end_offset && self.aborted.contains(header) {
            // Kafka's cleaner discards the batches of aborted transactions
            // (their markers, and the transaction index, stay).
            self.retain_empty_if_last(header, out);
            return Ok(FilterOutcome {
                kept_as_is: false,
                records_kept: 0,
                removed: u64::from(header.records_count.max(0) as u32),
                delete_horizon: None,
            });
        }
        let payload = record_batch::uncompressed_records(batch, header)?;
        let horizon = header.delete_horizon_ms();
        let mut kept = Vec::new();
        let mut total = 0usize;
        let mut keeps_tombstones = false;
        let mut keeps_mapped_tombstones = false;
        for record in record_batch::raw_records(&payload, header.records_count) {
            let record = record?;
            total += 1;
            let offset = header.base_offset + i64::from(record.offset_delta);
            let keep = if offset >= self.end_offset {
                true
            } else {
                match record.key {
                    // Kafka drops records without a key.
                    None => false,
                    Some(key) => {
                        let latest = self.map.get(key).is_none_or(|last| offset >= last);
                        latest && (record.has_value || horizon.is_none_or(|h| self.now < h))
                    }
                }
            };
            if keep {
                keeps_tombstones |= !record.has_value;
                // Those beyond the map are looked at again with the dirty
                // section they are in, not for their horizon alone.
                keeps_mapped_tombstones |= !record.has_value && offset < self.end_offset;
                kept.push(record);
            }
        }
        let removed = (total - kept.len()) as u64;
        let new_horizon = (keeps_tombstones && horizon.is_none())
            .then(|| self.now.saturating_add(self.delete_retention_ms.max(0)));
        let delete_horizon = if keeps_mapped_tombstones {
            horizon.or(new_horizon)
        } else {
            None
        };
        if removed == 0 && new_horizon.is_none() {
            return Ok(FilterOutcome {
                kept_as_is: true,
                records_kept: total,
                removed: 0,
                delete_horizon,
            });
        }
        let timestamp_of = |delta: i64| header.base_timestamp.saturating_add(delta);
        if kept.is_empty() {
            self.retain_empty_if_last(header, out);
            return Ok(FilterOutcome {
                kept_as_is: false,
                records_kept: 0,
                removed,
                delete_horizon: None,
            });
        }
        let mut records = Vec::with_capacity(payload.len());
        let base_timestamp = new_horizon.unwrap_or(header.base_timestamp);
        let mut max_timestamp = i64::MIN;
        for record in &kept {
            let timestamp = timestamp_of(record.timestamp_delta);
            max_timestamp = max_timestamp.max(timestamp);
            if new_horizon.is_some() {
                record_batch::put_record_with_timestamp_delta(
                    &mut records,
                    record,
                    timestamp.saturating_sub(base_timestamp),
                );
            } else {
                records.extend_from_slice(record.bytes);
            }
        }
        if header.is_log_append_time() {
            max_timestamp = header.max_timestamp;
        }
        let codec = header.compression_codec();
        let payload = if codec == compression::NONE {
            records
        } else {
            compression::compress(codec, &records)?
        };
        let mut attributes = header.attributes;
        if new_horizon.is_some() {
            attributes |= record_batch::DELETE_HORIZON_FLAG;
        }
        let rebuilt = BatchHeader {
            attributes,
            base_timestamp,
            max_timestamp,
            records_count: kept.len() as i32,
            ..*header
        };
        record_batch::write_batch(out, &rebuilt, &payload);
        Ok(FilterOutcome {
            kept_as_is: false,
            records_kept: kept.len(),
            removed,
            delete_horizon,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LogConfig;
    use crate::storage::record_batch::NewRecord;

    fn compact_config() -> LogConfig {
        LogConfig {
            segment_bytes: 600,
            compact: true,
            delete: false,
            min_cleanable_ratio: 0.0,
            retention_ms: -1,
            ..LogConfig::default()
        }
    }

    /// A batch of (key, value) records; `codec` compresses it.
    fn keyed(records: &[(&str, Option<&str>)], codec: i16) -> Vec<u8> {
        let new: Vec<NewRecord<'_>> = records
            .iter()
            .map(|(k, v)| NewRecord {
                key: Some(k.as_bytes()),
                value: v.map(str::as_bytes),
            })
            .collect();
        let mut batch = record_batch::build_batch(now_ms(), &new);
        if codec != compression::NONE {
            let payload = compression::compress(codec, &batch[RECORD_BATCH_OVERHEAD..]).unwrap();
            batch.truncate(RECORD_BATCH_OVERHEAD);
            batch.extend_from_slice(&payload);
            let length = (batch.len() - record_batch::LOG_OVERHEAD) as i32;
            batch[8..12].copy_from_slice(&length.to_be_bytes());
            batch[21..23].copy_from_slice(&codec.to_be_bytes());
            let crc = record_batch::compute_crc(&batch);
            batch[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        batch
    }

    /// Gives a batch an idempotent producer's fields.
    fn with_producer(batch: &mut [u8], producer_id: i64, epoch: i16, sequence: i32) {
        batch[43..51].copy_from_slice(&producer_id.to_be_bytes());
        batch[51..53].copy_from_slice(&epoch.to_be_bytes());
        batch[53..57].copy_from_slice(&sequence.to_be_bytes());
        let crc = record_batch::compute_crc(batch);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
    }

    /// The headers of every batch of the log.
    fn headers(log: &UnifiedLog) -> Vec<BatchHeader> {
        let mut out: Vec<BatchHeader> = Vec::new();
        let mut next = 0;
        while next < log.log_end_offset() {
            let records = log.read(next, usize::MAX, true).unwrap().records;
            let more: Vec<BatchHeader> =
                Batches::new(&records).map(|b| b.unwrap().header).collect();
            next = more
                .last()
                .map_or(log.log_end_offset(), |h| h.next_offset());
            out.extend(more);
        }
        out
    }

    /// Every record of the log: (offset, key, value, timestamp).
    fn read_all(log: &UnifiedLog) -> Vec<(i64, String, Option<String>, i64)> {
        let mut out = Vec::new();
        let mut offset = log.log_start_offset();
        while offset < log.log_end_offset() {
            let records = log.read(offset, usize::MAX, true).unwrap().records;
            if records.is_empty() {
                break;
            }
            for batch in Batches::new(&records) {
                let batch = batch.unwrap();
                let header = batch.header;
                record_batch::check_crc(batch.bytes, &header, 0).unwrap();
                let payload = record_batch::uncompressed_records(batch.bytes, &header).unwrap();
                for record in record_batch::raw_records(&payload, header.records_count) {
                    let record = record.unwrap();
                    let key = String::from_utf8(record.key.unwrap().to_vec()).unwrap();
                    let value = record::value_of(&record);
                    out.push((
                        header.base_offset + i64::from(record.offset_delta),
                        key,
                        value,
                        header.base_timestamp + record.timestamp_delta,
                    ));
                }
                offset = header.next_offset();
            }
        }
        out
    }

    mod record {
        use crate::storage::record_batch::RawRecord;

        /// The value of a record, read again from its bytes.
        pub fn value_of(record: &RawRecord<'_>) -> Option<String> {
            let body = record.after_timestamp;
            let mut r = crate::byte_utils::Reader::new(body);
            r.read_varint().unwrap();
            let key_len = r.read_varint().unwrap();
            if key_len > 0 {
                r.read_bytes(key_len as usize).unwrap();
            }
            let len = r.read_varint().unwrap();
            (len >= 0)
                .then(|| String::from_utf8(r.read_bytes(len as usize).unwrap().to_vec()).unwrap())
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        log: Arc<UnifiedLog>,
        cleaner: LogCleaner,
        deleted: Mutex<Vec<PathBuf>>,
    }

    fn setup(config: LogConfig) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(
            UnifiedLog::open(&dir.path().join("t-0"), TopicPartition::new("t", 0), config).unwrap(),
        );
        let cleaner = LogCleaner::new(&[dir.path().to_path_buf()], CleanerConfig::default());
        Setup {
            _dir: dir,
            log,
            cleaner,
            deleted: Mutex::new(Vec::new()),
        }
    }

    impl Setup {
        fn clean(&self) -> bool {
            self.cleaner
                .clean_filthiest_log(0, &[Arc::clone(&self.log)], &|files, _| {
                    self.deleted.lock().extend(files)
                })
        }
    }

    #[test]
    fn keeps_the_last_record_of_each_key_at_its_offset() {
        let s = setup(compact_config());
        let codecs = [
            compression::NONE,
            compression::GZIP,
            compression::SNAPPY,
            compression::LZ4,
            compression::ZSTD,
        ];
        let mut last: HashMap<String, (i64, String)> = HashMap::new();
        for round in 0..10 {
            let codec = codecs[round % codecs.len()];
            let records: Vec<(String, String)> = (0..4)
                .map(|k| (format!("k{}", (round + k) % 6), format!("v{round}-{k}")))
                .collect();
            let refs: Vec<(&str, Option<&str>)> = records
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect();
            let mut batch = keyed(&refs, codec);
            if round % 2 == 1 {
                // An idempotent producer's: its fields must survive.
                with_producer(&mut batch, 9, 3, (round as i32 / 2) * 4);
            }
            let info = s.log.append_as_leader(&batch, 0).unwrap();
            for (i, (k, v)) in records.iter().enumerate() {
                last.insert(k.clone(), (info.first_offset + i as i64, v.clone()));
            }
        }
        let before = read_all(&s.log);
        let headers_before = headers(&s.log);
        assert_eq!(before.len(), 40);
        let end = s.log.log_end_offset();
        let active_base = s.log.cleaner_view().unwrap().active_base_offset;
        assert!(active_base > 0, "the log rolled");

        assert!(s.clean());
        let after = read_all(&s.log);
        assert_eq!(s.log.log_end_offset(), end);
        // Below the active segment: exactly the last record of each key
        // there (the active segment is not looked at).
        let mut last_below: HashMap<&str, i64> = HashMap::new();
        for record in before.iter().filter(|r| r.0 < active_base) {
            last_below.insert(&record.1, record.0);
        }
        let cleaned: Vec<i64> = after
            .iter()
            .filter(|r| r.0 < active_base)
            .map(|r| r.0)
            .collect();
        let mut expected: Vec<i64> = last_below.values().copied().collect();
        expected.sort_unstable();
        assert_eq!(cleaned, expected);
        // The active segment is untouched; together every key's last value.
        let active: Vec<_> = before.iter().filter(|r| r.0 >= active_base).collect();
        assert_eq!(
            after
                .iter()
                .filter(|r| r.0 >= active_base)
                .collect::<Vec<_>>(),
            active
        );
        for (key, (offset, value)) in &last {
            assert!(
                after
                    .iter()
                    .any(|r| r.0 == *offset && &r.1 == key && r.2.as_deref() == Some(value)),
                "{key} lost"
            );
        }
        // Timestamps are kept.
        for record in &after {
            let original = before.iter().find(|r| r.0 == record.0).unwrap();
            assert_eq!(record, original);
        }
        // Every batch left is one of the originals: same offsets, codec,
        // producer fields and leader epoch.
        let headers_after = headers(&s.log);
        assert!(
            headers_after.iter().any(|h| h.records_count < 4),
            "nothing was rebuilt"
        );
        for after in &headers_after {
            let original = headers_before
                .iter()
                .find(|h| h.base_offset == after.base_offset)
                .unwrap();
            assert_eq!(after.compression_codec(), original.compression_codec());
            assert_eq!(after.last_offset_delta, original.last_offset_delta);
            assert_eq!(
                (after.producer_id, after.producer_epoch, after.base_sequence),
                (
                    original.producer_id,
                    original.producer_epoch,
                    original.base_sequence
                )
            );
            assert_eq!(
                after.partition_leader_epoch,
                original.partition_leader_epoch
            );
        }
        assert_eq!(
            s.cleaner.checkpoint(s.log.topic_partition()),
            Some(active_base)
        );
        assert!(!s.deleted.lock().is_empty());
        assert!(
            s.deleted
                .lock()
                .iter()
                .all(|f| f.to_string_lossy().ends_with(".deleted"))
        );

        // Reopened, the log reads the same.
        let dir = s.log.dir().to_path_buf();
        s.log.close().unwrap();
        let reopened =
            UnifiedLog::open(&dir, TopicPartition::new("t", 0), compact_config()).unwrap();
        assert_eq!(read_all(&reopened), after);
        assert_eq!(reopened.log_end_offset(), end);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.ends_with(".cleaned") || n.ends_with(".swap")),
            "{names:?}"
        );
    }

    #[test]
    fn tombstones_stay_delete_retention_ms_then_go() {
        let s = setup(LogConfig {
            delete_retention_ms: 0,
            ..compact_config()
        });
        for i in 0..6 {
            let value = format!("v{i}");
            s.log
                .append_as_leader(&keyed(&[("a", Some(&value)), ("b", Some(&value))], 0), 0)
                .unwrap();
        }
        s.log
            .append_as_leader(&keyed(&[("a", None)], 0), 0)
            .unwrap();
        // Enough after the tombstone to roll it out of the active segment.
        for i in 0..8 {
            let value = format!("w{i}");
            s.log
                .append_as_leader(&keyed(&[("c", Some(&value))], 0), 0)
                .unwrap();
        }
        let active_base = s.log.cleaner_view().unwrap().active_base_offset;
        assert!(active_base > 12);
        assert!(s.clean());
        let after = read_all(&s.log);
        let a: Vec<_> = after.iter().filter(|r| r.1 == "a").collect();
        assert_eq!(a.len(), 1, "the tombstone alone is left of a: {after:?}");
        assert_eq!(a[0].2, None);
        // Its batch now carries a delete horizon; the next pass removes it.
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.clean());
        let after = read_all(&s.log);
        assert!(after.iter().all(|r| r.1 != "a"), "{after:?}");
        assert!(
            after
                .iter()
                .any(|r| r.1 == "b" && r.2.as_deref() == Some("v5"))
        );
    }

    /// Appends `count` values of `key`, a batch each.
    fn append_versions(log: &UnifiedLog, key: &str, count: usize) {
        for i in 0..count {
            let value = format!("v{i}");
            log.append_as_leader(&keyed(&[(key, Some(&value))], 0), 0)
                .unwrap();
        }
    }

    #[test]
    fn min_compaction_lag_and_ratio_hold_cleaning_back() {
        let s = setup(LogConfig {
            min_compaction_lag_ms: 3_600_000,
            ..compact_config()
        });
        append_versions(&s.log, "same", 20);
        assert!(!s.clean(), "records newer than min.compaction.lag.ms stay");
        s.log.update_config(LogConfig {
            min_cleanable_ratio: 1.0,
            ..compact_config()
        });
        assert!(!s.clean(), "a ratio of 1 is never exceeded");
        s.log.update_config(compact_config());
        assert!(s.clean());
        assert!(!s.clean(), "nothing is dirty any more");
    }

    #[test]
    fn max_compaction_lag_cleans_whatever_the_ratio() {
        let s = setup(LogConfig {
            min_cleanable_ratio: 1.0,
            ..compact_config()
        });
        append_versions(&s.log, "same", 20);
        assert!(!s.clean(), "a ratio of 1 is never exceeded");
        std::thread::sleep(Duration::from_millis(5));
        s.log.update_config(LogConfig {
            min_cleanable_ratio: 1.0,
            max_compaction_lag_ms: 1,
            ..compact_config()
        });
        assert!(
            s.clean(),
            "records older than max.compaction.lag.ms are cleaned"
        );
        let active_base = s.log.cleaner_view().unwrap().active_base_offset;
        let left = read_all(&s.log)
            .iter()
            .filter(|r| r.0 < active_base)
            .count();
        assert_eq!(left, 1);
    }

    #[test]
    fn a_producers_last_batch_stays_as_an_empty_batch() {
        let s = setup(compact_config());
        let mut idempotent = keyed(&[("x", Some("1"))], 0);
        idempotent[27..35].copy_from_slice(&now_ms().to_be_bytes());
        idempotent[43..51].copy_from_slice(&7i64.to_be_bytes());
        idempotent[51..53].copy_from_slice(&0i16.to_be_bytes());
        idempotent[53..57].copy_from_slice(&0i32.to_be_bytes());
        let crc = record_batch::compute_crc(&idempotent);
        idempotent[17..21].copy_from_slice(&crc.to_be_bytes());
        let info = s.log.append_as_leader(&idempotent, 0).unwrap();
        for i in 0..12 {
            let value = format!("v{i}");
            s.log
                .append_as_leader(&keyed(&[("x", Some(&value))], 0), 0)
                .unwrap();
        }
        assert!(s.clean());
        let records = s.log.read(0, usize::MAX, true).unwrap().records;
        let first = Batches::new(&records).next().unwrap().unwrap();
        assert_eq!(first.header.base_offset, info.first_offset);
        assert_eq!(first.header.producer_id, 7);
        assert_eq!(first.header.records_count, 0);
        record_batch::check_crc(first.bytes, &first.header, 0).unwrap();
        assert!(read_all(&s.log).iter().all(|r| r.0 != info.first_offset));
    }

    /// A transactional batch of the producer's: (key, value) records.
    fn transactional(records: &[(&str, Option<&str>)], producer_id: i64) -> Vec<u8> {
        let mut batch = keyed(records, 0);
        batch[22] |= 0x10;
        with_producer(&mut batch, producer_id, 0, 0);
        batch
    }

    #[test]
    fn aborted_transactions_are_discarded_and_open_ones_left_alone() {
        let s = setup(compact_config());
        s.log
            .append_as_leader(&keyed(&[("a", Some("committed"))], 0), 0)
            .unwrap();
        // An aborted transaction's later value of "a" must not win.
        let aborted = s
            .log
            .append_as_leader(&transactional(&[("a", Some("aborted"))], 9), 0)
            .unwrap();
        let marker = s.log.append_marker(9, 0, 0, false, 0).unwrap();
        for i in 0..8 {
            let value = format!("b{i}");
            s.log
                .append_as_leader(&keyed(&[("b", Some(&value))], 0), 0)
                .unwrap();
        }
        // A transaction still open: nothing from it on is cleaned.
        let open = s
            .log
            .append_as_leader(&transactional(&[("b", Some("open"))], 10), 0)
            .unwrap();
        for i in 8..16 {
            let value = format!("b{i}");
            s.log
                .append_as_leader(&keyed(&[("b", Some(&value))], 0), 0)
                .unwrap();
        }
        assert!(s.clean());
        let batches = headers(&s.log);
        // Its records are gone; as the producer's last batch it stays
        // empty (Kafka's RETAIN_EMPTY).
        let emptied = batches
            .iter()
            .find(|h| h.base_offset == aborted.first_offset)
            .unwrap();
        assert_eq!((emptied.records_count, emptied.producer_id), (0, 9));
        assert!(
            batches
                .iter()
                .any(|h| h.base_offset == marker && h.is_control()),
            "its marker stays"
        );
        assert!(
            batches.iter().any(|h| h.base_offset == 0),
            "a=committed stays"
        );
        let kept: Vec<i64> = batches
            .iter()
            .filter(|h| h.base_offset >= open.first_offset)
            .map(|h| h.base_offset)
            .collect();
        assert_eq!(
            kept.len(),
            9,
            "the open transaction and what follows: {kept:?}"
        );
        assert!(
            batches
                .iter()
                .filter(|h| h.base_offset > marker && h.base_offset < open.first_offset)
                .count()
                < 8,
            "values of b before the open transaction were cleaned"
        );
        assert_eq!(
            s.log.collect_aborted_txns(0, s.log.log_end_offset()),
            vec![AbortedTxn {
                producer_id: 9,
                first_offset: aborted.first_offset,
                last_offset: marker,
                last_stable_offset: marker + 1,
            }]
        );
        assert_eq!(s.log.last_stable_offset(), open.first_offset);
    }

    #[test]
    fn reads_skip_segments_compaction_emptied() {
        let s = setup(compact_config());
        s.log
            .append_as_leader(&keyed(&[("x", Some("kept"))], 0), 0)
            .unwrap();
        for i in 0..20 {
            let value = format!("y{i:02}-{}", "p".repeat(40));
            s.log
                .append_as_leader(&keyed(&[("y", Some(&value))], 0), 0)
                .unwrap();
        }
        assert!(s.log.cleaner_view().unwrap().segments.len() >= 3);
        assert!(s.clean());
        // Offset 1 lies in the first segment's emptied tail, and a segment
        // after it was emptied whole: the read goes on to the next y.
        let view = s.log.cleaner_view().unwrap();
        assert!(
            view.segments.iter().skip(1).any(|s| s.size == 0),
            "no emptied segment"
        );
        let all = read_all(&s.log);
        assert_eq!(all[0].0, 0);
        let records = s.log.read(1, usize::MAX, true).unwrap().records;
        let first = Batches::new(&records).next().unwrap().unwrap();
        assert_eq!(first.header.base_offset, all[1].0);
    }

    #[test]
    fn groups_respect_the_segment_size() {
        let seg = |base: i64, size: u64| CleanerSegment {
            base_offset: base,
            file: Arc::new(tempfile::tempfile().unwrap()),
            size,
            largest_timestamp: 0,
            aborted_txns: Vec::new(),
        };
        let segments = [
            seg(0, 40),
            seg(10, 40),
            seg(20, 30),
            seg(30, 90),
            seg(40, 5),
        ];
        let refs: Vec<&CleanerSegment> = segments.iter().collect();
        let groups = group_segments_by_size(&refs, &[10, 20, 30, 40, 50], 100);
        let bases: Vec<Vec<i64>> = groups
            .iter()
            .map(|g| g.iter().map(|s| s.base_offset).collect())
            .collect();
        assert_eq!(bases, vec![vec![0, 10], vec![20], vec![30, 40]]);
    }
}
