//! Loading a partition log from its directory (Kafka's `LogLoader`).
//!
//! After a clean shutdown nothing but index, checkpoint and snapshot files
//! is read: every index is checked (`LogSegment::sanity_check`) and trusted,
//! the log end offset is the recovery point and the producers come from the
//! snapshot taken at it. After a crash, the segments wholly below the
//! recovery point are treated the same way, and the data from the recovery
//! point on is walked, CRC-checked, cut at the first bad batch and
//! re-indexed. An index that fails its checks is rebuilt from its segment.

use super::leader_epoch_cache::LeaderEpochFileCache;
use super::log_segment::{self, LogSegment, RecoveryStart, SegmentConfig};
use super::producer_state::{self, ProducerStateManager};
use super::record_batch::{BatchHeader, ControlRecord};
use super::transaction_index::TXN_INDEX_FILE_SUFFIX;
use super::{LogConfig, TopicPartition};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use tracing::{info, warn};

/// What the log directory says about a log before it is loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadParams {
    /// The broker left `.kafka_cleanshutdown` when it stopped.
    pub had_clean_shutdown: bool,
    /// From `recovery-point-offset-checkpoint`: everything before it was
    /// flushed.
    pub recovery_point: Option<i64>,
    /// From `log-start-offset-checkpoint`.
    pub log_start_offset: Option<i64>,
}

pub struct LoadedLog {
    pub segments: BTreeMap<i64, LogSegment>,
    pub next_offset: i64,
    pub log_start_offset: i64,
    pub recovery_point: i64,
    pub producer_state: ProducerStateManager,
    pub leader_epochs: LeaderEpochFileCache,
    /// Bytes of segment data read while loading.
    pub scanned_bytes: u64,
}

/// Suffixes of files an interrupted operation leaves behind (Kafka's
/// `.deleted`, `.cleaned`, and the temporary files of checkpoints and
/// snapshots), removed once interrupted swaps are completed.
const TEMP_SUFFIXES: &[&str] = &[".deleted", ".cleaned", ".tmp", ".swap"];

pub fn load(
    dir: &Path,
    tp: &TopicPartition,
    config: &LogConfig,
    params: LoadParams,
    now_ms: i64,
) -> io::Result<LoadedLog> {
    let segment_config = SegmentConfig {
        index_interval_bytes: config.index_interval_bytes,
        max_index_size: config.max_index_size,
        segment_jitter_ms: config.segment_jitter_ms,
    };
    complete_interrupted_swaps(dir, tp)?;
    let (mut bases, mut snapshots) = scan_dir(dir, tp)?;
    let (clean, recovery_point) = match (params.had_clean_shutdown, params.recovery_point) {
        (true, Some(rp)) => (true, rp),
        (_, rp) => (false, rp.unwrap_or(0)),
    };
    if bases.is_empty() {
        let base = params.log_start_offset.unwrap_or(0).max(0);
        bases.push(base);
        let segment = LogSegment::create(dir, base, segment_config)?;
        let mut segments = BTreeMap::new();
        segments.insert(base, segment);
        for (_, path) in std::mem::take(&mut snapshots) {
            let _ = std::fs::remove_file(path);
        }
        let mut leader_epochs = LeaderEpochFileCache::load(dir);
        if leader_epochs.truncate_from_end(base) {
            leader_epochs.write()?;
        }
        return Ok(LoadedLog {
            segments,
            next_offset: base,
            log_start_offset: base,
            recovery_point: base,
            producer_state: ProducerStateManager::default(),
            leader_epochs,
            scanned_bytes: 0,
        });
    }

    let mut scanned_bytes = 0u64;
    let mut segments = BTreeMap::new();
    // Open and check the segments that need no scan; find the first that does.
    let mut to_recover: Vec<(LogSegment, bool)> = Vec::new();
    let last = bases.len() - 1;
    let mut next_offset = 0;
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let is_last = i == last;
        let had_indexes = LogSegment::index_files_exist(dir, base);
        let mut segment = LogSegment::open(dir, base, segment_config)?;
        let trusted_end = match next_base {
            _ if clean => Some(next_base.unwrap_or(recovery_point)),
            Some(next) if next <= recovery_point => Some(next),
            _ => None,
        };
        let Some(end) = trusted_end else {
            // Holds data past the recovery point: scanned below, resuming
            // at the recovery point when the index up to it can be trusted.
            to_recover.push((segment, had_indexes));
            continue;
        };
        if !to_recover.is_empty() {
            to_recover.push((segment, had_indexes));
            continue;
        }
        let checked = if !had_indexes {
            Err("its index files are missing".to_string())
        } else if is_last && !(end >= base && (segment.size() == 0) == (end == base)) {
            Err(format!(
                "the recovery point {end} does not fit a segment of {} bytes",
                segment.size()
            ))
        } else {
            segment.sanity_check(end)
        };
        match checked {
            Ok(()) => {
                next_offset = end;
                if is_last {
                    segment.make_active()?;
                }
                segments.insert(base, segment);
            }
            Err(why) => {
                warn!(log = %tp, segment = %segment.path().display(),
                    "rebuilding index: {why}");
                let rebuilt = segment.recover(true, is_last, None, &mut |_, _| {})?;
                // Trimmed like any segment's after recovery; the active one
                // is readied for appends at the end.
                segment.on_become_inactive()?;
                scanned_bytes += rebuilt.scanned_bytes;
                if let Some(reason) = &rebuilt.stopped_by {
                    warn!(log = %tp, segment = %segment.path().display(),
                        "segment ends early: {reason}");
                }
                next_offset = if is_last {
                    rebuilt.next_offset.unwrap_or(base).max(base)
                } else {
                    end
                };
                segments.insert(base, segment);
            }
        }
    }

    // The producers as of the latest usable snapshot, then the batch
    // headers from there to where the scans start.
    let scan_start_offset = to_recover.first().map(|(s, _)| s.base_offset());
    let snapshot_limit = if clean { next_offset } else { recovery_point };
    let (mut producer_state, snapshot_offset) = load_snapshot(
        tp,
        &mut snapshots,
        snapshot_limit,
        now_ms,
        config.producer_id_expiration_ms,
    );
    let mut leader_epochs = LeaderEpochFileCache::load(dir);
    let mut epochs_changed = false;

    // The segments to scan, in order; a resumable first one starts at the
    // recovery point.
    let mut starts: Vec<RecoveryStart> = Vec::with_capacity(to_recover.len());
    for (segment, had_indexes) in &mut to_recover {
        let resume = (!clean && *had_indexes && segment.base_offset() < recovery_point)
            .then_some(recovery_point);
        starts.push(segment.begin_recovery(resume)?);
    }
    let first_scanned = match (starts.first(), scan_start_offset) {
        (Some(start), Some(base)) => start.next_offset.unwrap_or(base),
        _ => next_offset,
    };
    if snapshot_offset < first_scanned {
        scanned_bytes += replay_headers(
            &segments,
            to_recover.first().map(|(s, _)| (s, starts[0].position)),
            snapshot_offset,
            first_scanned,
            &mut producer_state,
        )?;
    }

    let mut deleting_from = None;
    for ((mut segment, _), start) in to_recover.into_iter().zip(starts) {
        let base = segment.base_offset();
        if deleting_from.is_some() {
            warn!(log = %tp, segment = %segment.path().display(),
                "deleting a segment after a corrupt one");
            delete_segment_files(&segment)?;
            continue;
        }
        let is_last = Some(&base) == bases.last();
        // The aborted transactions of the scanned part are rebuilt from
        // its markers (Kafka's LogSegment.recover).
        segment.truncate_txn_index(start.next_offset.unwrap_or(i64::MIN))?;
        let mut aborted = Vec::new();
        let recovered = segment.scan_from(start, true, true, &mut |header, control| {
            if header.base_offset >= snapshot_offset
                && let Some(completed) = producer_state.update(header, header.base_offset, control)
                && let Some(entry) = completed.aborted_txn()
            {
                aborted.push(entry);
            }
            epochs_changed |=
                leader_epochs.assign(header.partition_leader_epoch, header.base_offset);
        })?;
        for entry in aborted {
            segment.append_aborted_txn(entry)?;
        }
        segment.on_become_inactive()?;
        scanned_bytes += recovered.scanned_bytes;
        if let Some(reason) = &recovered.stopped_by {
            warn!(log = %tp, segment = %segment.path().display(),
                truncated_bytes = recovered.truncated_bytes,
                "stopped recovering segment: {reason}");
            if !is_last {
                deleting_from = Some(base);
            }
        }
        next_offset = recovered.next_offset.unwrap_or(base).max(base);
        segments.insert(base, segment);
    }
    if let Some((_, active)) = segments.iter_mut().next_back() {
        active.make_active()?;
    }
    let log_start_offset = params
        .log_start_offset
        .unwrap_or(0)
        .max(*segments.keys().next().unwrap_or(&0))
        .min(next_offset);

    // Snapshots past the end are of data that is gone.
    for (offset, path) in snapshots {
        if offset > next_offset {
            let _ = std::fs::remove_file(path);
        }
    }
    epochs_changed |= leader_epochs.truncate_from_end(next_offset);
    if epochs_changed {
        leader_epochs.write()?;
    }
    producer_state.remove_expired(now_ms, config.producer_id_expiration_ms);
    if next_offset > 0 {
        info!(log = %tp, log_start_offset, log_end_offset = next_offset,
            producers = producer_state.len(), scanned_bytes, "loaded log");
    }
    Ok(LoadedLog {
        segments,
        next_offset,
        log_start_offset,
        recovery_point: if clean {
            next_offset
        } else {
            recovery_point.min(next_offset)
        },
        producer_state,
        leader_epochs,
        scanned_bytes,
    })
}

/// The segment base offsets and snapshot files in `dir`, after removing
/// what an interrupted operation left and index files without a segment.
type Snapshots = Vec<(i64, std::path::PathBuf)>;

/// Suffix of a segment file that is replacing others (Kafka's
/// `LogFileUtils.SWAP_FILE_SUFFIX`): the cleaner renames its output
/// `.cleaned` -> `.swap`, renames the segments it replaces `.deleted`, then
/// renames the `.swap` file to `.log`.
const SWAP_SUFFIX: &str = ".swap";
const CLEANED_SUFFIX: &str = ".cleaned";

/// Finishes segment swaps a crash interrupted, as Kafka's `LogLoader`
/// does, so a directory compacted by Kafka (or by a cleaner here) loses
/// nothing: a `<base>.log.swap` replaces every segment whose base offset
/// lies in its offset range and becomes `<base>.log` (its indexes are
/// rebuilt). A swap file at or past the first `.cleaned` file is part of a
/// split that did not finish (KAFKA-6264) while its originals are still
/// whole, and is removed. `.swap` index files are removed (rebuilt from
/// the segment).
fn complete_interrupted_swaps(dir: &Path, tp: &TopicPartition) -> io::Result<()> {
    let mut swaps = Vec::new();
    let mut txn_index_swaps = std::collections::HashMap::new();
    let mut logs = Vec::new();
    let mut min_cleaned = i64::MAX;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(SWAP_SUFFIX) {
            if let Some(base) = log_segment::parse_log_file_name(stem) {
                swaps.push((base, entry.path()));
            } else if let Some(base) = log_segment::parse_file_name(stem, TXN_INDEX_FILE_SUFFIX) {
                // Aborted transactions are not rebuilt with the indexes:
                // the swapped-in segment keeps its own.
                txn_index_swaps.insert(base, entry.path());
            } else {
                std::fs::remove_file(entry.path())?;
            }
        } else if let Some(stem) = name.strip_suffix(CLEANED_SUFFIX) {
            let base = log_segment::parse_log_file_name(stem)
                .or_else(|| log_segment::parse_file_name(stem, log_segment::INDEX_FILE_SUFFIX))
                .or_else(|| log_segment::parse_file_name(stem, log_segment::TIME_INDEX_FILE_SUFFIX))
                .or_else(|| log_segment::parse_file_name(stem, TXN_INDEX_FILE_SUFFIX));
            if let Some(base) = base {
                min_cleaned = min_cleaned.min(base);
            }
        } else if let Some(base) = log_segment::parse_log_file_name(&name) {
            logs.push(base);
        }
    }
    swaps.sort_unstable();
    for (base, swap) in swaps {
        if base >= min_cleaned {
            warn!(log = %tp, file = %swap.display(), "removing the swap file of an unfinished split");
            std::fs::remove_file(&swap)?;
            continue;
        }
        let file = std::fs::File::open(&swap)?;
        let len = file.metadata()?.len();
        let mut next = base;
        log_segment::walk_headers(&file, 0, len, i64::MAX, &mut |h, _| next = h.next_offset())?;
        for &replaced in logs
            .iter()
            .filter(|&&b| b >= base && b < next.max(base + 1))
        {
            for suffix in [
                log_segment::LOG_FILE_SUFFIX,
                log_segment::INDEX_FILE_SUFFIX,
                log_segment::TIME_INDEX_FILE_SUFFIX,
                TXN_INDEX_FILE_SUFFIX,
            ] {
                let path = dir.join(format!("{replaced:020}{suffix}"));
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        if let Some(txn_index) = txn_index_swaps.remove(&base) {
            std::fs::rename(
                &txn_index,
                dir.join(format!("{base:020}{TXN_INDEX_FILE_SUFFIX}")),
            )?;
        }
        std::fs::rename(&swap, dir.join(log_segment::log_file_name(base)))?;
        warn!(log = %tp, file = %swap.display(), next_offset = next, "completed an interrupted segment swap");
    }
    for (_, path) in txn_index_swaps {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

fn scan_dir(dir: &Path, tp: &TopicPartition) -> io::Result<(Vec<i64>, Snapshots)> {
    let mut bases = Vec::new();
    let mut snapshots = Vec::new();
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if TEMP_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            warn!(log = %tp, file = %entry.path().display(), "removing a leftover temporary file");
            std::fs::remove_file(entry.path())?;
        } else if let Some(base) = log_segment::parse_log_file_name(&name) {
            bases.push(base);
        } else if let Some(offset) = producer_state::parse_snapshot_file_name(&name) {
            snapshots.push((offset, entry.path()));
        } else if let Some(base) =
            log_segment::parse_file_name(&name, log_segment::INDEX_FILE_SUFFIX)
                .or_else(|| {
                    log_segment::parse_file_name(&name, log_segment::TIME_INDEX_FILE_SUFFIX)
                })
                .or_else(|| log_segment::parse_file_name(&name, TXN_INDEX_FILE_SUFFIX))
        {
            indexes.push((base, entry.path()));
        }
    }
    bases.sort_unstable();
    snapshots.sort_unstable();
    for (base, path) in indexes {
        if bases.binary_search(&base).is_err() {
            warn!(log = %tp, file = %path.display(), "removing an index file without its segment");
            std::fs::remove_file(path)?;
        }
    }
    Ok((bases, snapshots))
}

/// The latest snapshot at or below `limit` that reads back, and its offset;
/// snapshots that do not read back are removed. Without one, an empty state
/// as of offset 0.
fn load_snapshot(
    tp: &TopicPartition,
    snapshots: &mut Snapshots,
    limit: i64,
    now_ms: i64,
    expiration_ms: i64,
) -> (ProducerStateManager, i64) {
    while let Some(position) = snapshots.iter().rposition(|(offset, _)| *offset <= limit) {
        let (offset, path) = snapshots.remove(position);
        let decoded = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| ProducerStateManager::decode_snapshot(&bytes));
        match decoded {
            Ok(mut state) => {
                state.remove_expired(now_ms, expiration_ms);
                snapshots.push((offset, path));
                snapshots.sort_unstable();
                return (state, offset);
            }
            Err(e) => {
                warn!(log = %tp, snapshot = %path.display(), "removing a producer snapshot: {e}");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    (ProducerStateManager::default(), 0)
}

/// Rebuilds producer state from the batch headers in `[from, until)`: of
/// the trusted `segments`, then of `partial`, the first segment being
/// recovered, up to where its scan starts.
fn replay_headers(
    segments: &BTreeMap<i64, LogSegment>,
    partial: Option<(&LogSegment, u64)>,
    from: i64,
    until: i64,
    producer_state: &mut ProducerStateManager,
) -> io::Result<u64> {
    let mut read = 0;
    let mut apply = |header: &BatchHeader, control: Option<ControlRecord>| {
        if header.base_offset >= from {
            producer_state.update(header, header.base_offset, control);
        }
    };
    let walk = |segment: &LogSegment,
                end: u64,
                apply: &mut dyn FnMut(&BatchHeader, Option<ControlRecord>)|
     -> io::Result<u64> {
        let start = if segment.base_offset() <= from {
            segment.lookup_position(from)
        } else {
            0
        };
        log_segment::walk_headers(segment.file(), start, end, until, apply)
    };
    let first = segments
        .range(..=from)
        .next_back()
        .map_or(i64::MIN, |(base, _)| *base);
    for segment in segments.range(first..until).map(|(_, s)| s) {
        read += walk(segment, segment.size(), &mut apply)?;
    }
    if let Some((segment, end)) = partial
        && segment.base_offset() < until
    {
        read += walk(segment, end, &mut apply)?;
    }
    Ok(read)
}

fn delete_segment_files(segment: &LogSegment) -> io::Result<()> {
    let path = segment.path();
    for suffix in ["log", "index", "timeindex", "txnindex"] {
        match std::fs::remove_file(path.with_extension(suffix)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
