//! Kafka's on-disk storage files around the logs, decoded by hand and
//! independently of the broker, strict about sizes and leftover bytes:
//!
//! * the offset index `<base>.index` and time index `<base>.timeindex` of
//!   a segment (preallocated while the segment is active, trimmed to their
//!   entries when it rolls or at a clean shutdown);
//! * the checkpoints `recovery-point-offset-checkpoint` and
//!   `log-start-offset-checkpoint` in the log directory, and
//!   `leader-epoch-checkpoint` in a partition directory;
//! * the clean shutdown marker `.kafka_cleanshutdown`;
//! * producer state snapshots `<offset>.snapshot` (ProducerSnapshot v1).
//!
//! [`verify_partition`] reads a partition directory and checks, with the
//! harness's own batch reader, that the indexes point at the right batches.

use crate::batch::{self, BatchHeader};
use crate::wire::Reader;
use anyhow::{Context, Result, bail, ensure};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub const OFFSET_INDEX_ENTRY_SIZE: usize = 8;
pub const TIME_INDEX_ENTRY_SIZE: usize = 12;
/// `segment.index.bytes`: how far an active segment's indexes are
/// preallocated (rounded down to whole entries).
pub const DEFAULT_SEGMENT_INDEX_BYTES: usize = 10 * 1024 * 1024;
/// `index.interval.bytes`: log bytes between two index entries.
pub const DEFAULT_INDEX_INTERVAL_BYTES: usize = 4096;

pub const LOG_SUFFIX: &str = "log";
pub const INDEX_SUFFIX: &str = "index";
pub const TIME_INDEX_SUFFIX: &str = "timeindex";
pub const SNAPSHOT_SUFFIX: &str = "snapshot";

pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
/// Kafka's high watermark checkpoint (its ReplicaManager's).
pub const HIGH_WATERMARK_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";
pub const CLEAN_SHUTDOWN_MARKER: &str = ".kafka_cleanshutdown";

pub const PRODUCER_SNAPSHOT_VERSION: i16 = 1;
/// Version, CRC and entry count.
pub const PRODUCER_SNAPSHOT_HEADER_SIZE: usize = 10;
/// The CRC covers the bytes from here (after version and CRC) to the end.
pub const PRODUCER_SNAPSHOT_CRC_START: usize = 6;
pub const PRODUCER_SNAPSHOT_ENTRY_SIZE: usize = 46;

/// The name of a segment's (or snapshot's) file: 20 digits and `suffix`.
pub fn offset_file_name(offset: i64, suffix: &str) -> String {
    format!("{offset:020}.{suffix}")
}

/// The offset in a file name of 20 digits and `.suffix`.
pub fn parse_offset_file_name(name: &str, suffix: &str) -> Option<i64> {
    let digits = name.strip_suffix(suffix)?.strip_suffix('.')?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

// ------------------------------------------------------------------ indexes

/// How an index file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Trimmed to its entries (a rolled segment, or any segment after a
    /// clean shutdown): every entry in the file is one.
    Trimmed,
    /// Possibly preallocated (an active segment): the entries end at the
    /// first all-zero entry, and only zeros follow. An all-zero first entry
    /// counts as an entry only when a non-zero one follows it.
    Preallocated,
}

/// An offset index entry: the batch that starts at byte `position` of the
/// segment's log ends at `offset` (absolute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub offset: i64,
    pub position: u32,
}

/// A time index entry: the largest timestamp in the segment up to and
/// including the batch that ends at `offset` (absolute) is `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeIndexEntry {
    pub timestamp: i64,
    pub offset: i64,
}

/// The bytes of `bytes` that hold entries, per `fill`.
fn entry_bytes(bytes: &[u8], entry_size: usize, fill: Fill) -> Result<&[u8]> {
    ensure!(
        bytes.len() % entry_size == 0,
        "{} bytes are not a whole number of {entry_size}-byte entries",
        bytes.len()
    );
    let is_zero = |chunk: &[u8]| chunk.iter().all(|&b| b == 0);
    if fill == Fill::Trimmed {
        // Only a first entry may be all zeros: zeros at the end of a longer
        // file are preallocated space that was not trimmed.
        if bytes.len() > entry_size && is_zero(&bytes[bytes.len() - entry_size..]) {
            let end = bytes
                .chunks(entry_size)
                .rposition(|chunk| !is_zero(chunk))
                .map_or(entry_size, |last| (last + 1) * entry_size);
            bail!(
                "not trimmed: {} bytes, of which those from byte {end} are zero entries",
                bytes.len()
            );
        }
        return Ok(bytes);
    }
    let chunks: Vec<&[u8]> = bytes.chunks(entry_size).collect();
    let mut end = chunks.len();
    for (i, chunk) in chunks.iter().enumerate() {
        if !is_zero(chunk) {
            continue;
        }
        if i == 0 && chunks.get(1).is_some_and(|next| !is_zero(next)) {
            // (0, 0) as the first entry, followed by more.
            continue;
        }
        end = i;
        break;
    }
    let end = end * entry_size;
    if let Some(at) = bytes[end..].iter().position(|&b| b != 0) {
        bail!(
            "non-zero byte at {} after the entries, which end at byte {end}",
            end + at
        );
    }
    Ok(&bytes[..end])
}

/// Decodes an offset index of a segment with `base_offset`: 8-byte entries
/// of int32 relative offset and int32 position, both strictly increasing.
pub fn decode_offset_index(bytes: &[u8], base_offset: i64, fill: Fill) -> Result<Vec<IndexEntry>> {
    let entries = entry_bytes(bytes, OFFSET_INDEX_ENTRY_SIZE, fill).context("offset index")?;
    let mut r = Reader::new(entries);
    let mut out: Vec<IndexEntry> = Vec::with_capacity(entries.len() / OFFSET_INDEX_ENTRY_SIZE);
    while r.remaining() > 0 {
        let i = out.len();
        let relative = r.i32()?;
        let position = r.i32()?;
        ensure!(
            relative >= 0,
            "offset index entry {i}: relative offset {relative} is negative"
        );
        ensure!(
            position >= 0,
            "offset index entry {i}: position {position} is negative"
        );
        let offset = base_offset
            .checked_add(i64::from(relative))
            .with_context(|| format!("offset index entry {i}: offset overflows"))?;
        let entry = IndexEntry {
            offset,
            position: position as u32,
        };
        if let Some(last) = out.last() {
            ensure!(
                entry.offset > last.offset && entry.position > last.position,
                "offset index entry {i} {entry:?} does not follow entry {} {last:?}",
                i - 1
            );
        }
        out.push(entry);
    }
    r.finish()?;
    Ok(out)
}

/// Decodes a time index of a segment with `base_offset`: 12-byte entries
/// of int64 timestamp (strictly increasing, not negative) and int32
/// relative offset (not decreasing).
pub fn decode_time_index(
    bytes: &[u8],
    base_offset: i64,
    fill: Fill,
) -> Result<Vec<TimeIndexEntry>> {
    let entries = entry_bytes(bytes, TIME_INDEX_ENTRY_SIZE, fill).context("time index")?;
    let mut r = Reader::new(entries);
    let mut out: Vec<TimeIndexEntry> = Vec::with_capacity(entries.len() / TIME_INDEX_ENTRY_SIZE);
    while r.remaining() > 0 {
        let i = out.len();
        let timestamp = r.i64()?;
        let relative = r.i32()?;
        ensure!(
            timestamp >= 0,
            "time index entry {i}: timestamp {timestamp} is negative"
        );
        ensure!(
            relative >= 0,
            "time index entry {i}: relative offset {relative} is negative"
        );
        let offset = base_offset
            .checked_add(i64::from(relative))
            .with_context(|| format!("time index entry {i}: offset overflows"))?;
        let entry = TimeIndexEntry { timestamp, offset };
        if let Some(last) = out.last() {
            ensure!(
                entry.timestamp > last.timestamp && entry.offset >= last.offset,
                "time index entry {i} {entry:?} does not follow entry {} {last:?}",
                i - 1
            );
        }
        out.push(entry);
    }
    r.finish()?;
    Ok(out)
}

pub fn read_offset_index(path: &Path, base_offset: i64, fill: Fill) -> Result<Vec<IndexEntry>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_offset_index(&bytes, base_offset, fill).with_context(|| path.display().to_string())
}

pub fn read_time_index(path: &Path, base_offset: i64, fill: Fill) -> Result<Vec<TimeIndexEntry>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_time_index(&bytes, base_offset, fill).with_context(|| path.display().to_string())
}

// -------------------------------------------------------------- checkpoints

/// A decimal integer as Kafka writes one: an optional `-`, digits, no
/// leading zeros, nothing else.
fn decimal<T: std::str::FromStr>(text: &str, what: &str) -> Result<T> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    ensure!(
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && text != "-0",
        "{what} {text:?} is not a decimal integer"
    );
    text.parse()
        .map_err(|_| anyhow::anyhow!("{what} {text:?} is out of range"))
}

/// The entry lines of a checkpoint file: `0`, the count N, then N lines
/// (the last newline optional), after checking the version and count.
fn checkpoint_lines(text: &str) -> Result<Vec<&str>> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').collect();
    ensure!(
        lines[0] == "0",
        "version line {:?}, expected \"0\"",
        lines[0]
    );
    let count_line = lines.get(1).context("no entry count line")?;
    let count: usize = decimal(count_line, "entry count")?;
    let entries = &lines[2..];
    ensure!(
        entries.len() == count,
        "the count says {count} entries but {} lines follow",
        entries.len()
    );
    Ok(entries.to_vec())
}

/// One line of `recovery-point-offset-checkpoint` or
/// `log-start-offset-checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCheckpointEntry {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Decodes an offset checkpoint: `0`, N, then N lines
/// `<topic> <partition> <offset>`, each partition once.
pub fn decode_offset_checkpoint(text: &str) -> Result<Vec<OffsetCheckpointEntry>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, line) in checkpoint_lines(text)?.into_iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [topic, partition, offset] = fields[..] else {
            bail!("entry {i} {line:?} is not `<topic> <partition> <offset>`");
        };
        ensure!(
            valid_topic_name(topic),
            "entry {i}: {topic:?} is not a topic name"
        );
        let entry = OffsetCheckpointEntry {
            topic: topic.to_string(),
            partition: decimal(partition, "partition")?,
            offset: decimal(offset, "offset")?,
        };
        ensure!(
            entry.partition >= 0 && entry.offset >= 0,
            "entry {i} {line:?}: negative partition or offset"
        );
        ensure!(
            seen.insert((entry.topic.clone(), entry.partition)),
            "entry {i}: {topic}-{partition} is listed twice"
        );
        out.push(entry);
    }
    Ok(out)
}

/// One line of `leader-epoch-checkpoint`: `epoch` began at `start_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Decodes a leader epoch checkpoint: `0`, N, then N lines
/// `<leader epoch> <start offset>`, both strictly increasing.
pub fn decode_leader_epoch_checkpoint(text: &str) -> Result<Vec<EpochEntry>> {
    let mut out: Vec<EpochEntry> = Vec::new();
    for (i, line) in checkpoint_lines(text)?.into_iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [epoch, start_offset] = fields[..] else {
            bail!("entry {i} {line:?} is not `<leader epoch> <start offset>`");
        };
        let entry = EpochEntry {
            epoch: decimal(epoch, "leader epoch")?,
            start_offset: decimal(start_offset, "start offset")?,
        };
        ensure!(
            entry.epoch >= 0 && entry.start_offset >= 0,
            "entry {i} {line:?}: negative epoch or offset"
        );
        if let Some(last) = out.last() {
            ensure!(
                entry.epoch > last.epoch && entry.start_offset > last.start_offset,
                "entry {i} {entry:?} does not follow {last:?}"
            );
        }
        out.push(entry);
    }
    Ok(out)
}

pub fn read_offset_checkpoint(path: &Path) -> Result<Vec<OffsetCheckpointEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    decode_offset_checkpoint(&text).with_context(|| path.display().to_string())
}

pub fn read_leader_epoch_checkpoint(path: &Path) -> Result<Vec<EpochEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    decode_leader_epoch_checkpoint(&text).with_context(|| path.display().to_string())
}

// ---------------------------------------------------- clean shutdown marker

/// The content of `.kafka_cleanshutdown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanShutdown {
    pub version: i32,
    pub broker_epoch: i64,
}

/// Decodes `{"version":0,"brokerEpoch":<int>}` (whitespace allowed between
/// tokens; no other keys, no key twice).
pub fn decode_clean_shutdown(text: &str) -> Result<CleanShutdown> {
    let mut rest = text.trim_start();
    let expect = |token: char, rest: &mut &str| -> Result<()> {
        *rest = rest.trim_start();
        match rest.strip_prefix(token) {
            Some(after) => {
                *rest = after;
                Ok(())
            }
            None => bail!("expected {token:?} at {:?}", truncate(rest)),
        }
    };
    expect('{', &mut rest)?;
    let (mut version, mut broker_epoch) = (None, None);
    loop {
        expect('"', &mut rest)?;
        let end = rest.find(['"', '\\']).context("unterminated key")?;
        ensure!(
            rest.as_bytes()[end] == b'"',
            "escapes in keys are not expected"
        );
        let key = &rest[..end];
        rest = &rest[end + 1..];
        expect(':', &mut rest)?;
        rest = rest.trim_start();
        let digits = rest
            .find(|c: char| c != '-' && !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let value = &rest[..digits];
        rest = &rest[digits..];
        let slot = match key {
            "version" => &mut version,
            "brokerEpoch" => &mut broker_epoch,
            other => bail!("unexpected key {other:?}"),
        };
        ensure!(slot.is_none(), "key {key:?} twice");
        *slot = Some(decimal::<i64>(value, key)?);
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
            continue;
        }
        expect('}', &mut rest)?;
        break;
    }
    ensure!(
        rest.trim().is_empty(),
        "bytes after the object: {:?}",
        truncate(rest)
    );
    let version = version.context("no \"version\"")?;
    ensure!(version == 0, "version {version}, expected 0");
    Ok(CleanShutdown {
        version: version as i32,
        broker_epoch: broker_epoch.context("no \"brokerEpoch\"")?,
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(20).collect()
}

pub fn read_clean_shutdown(path: &Path) -> Result<CleanShutdown> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    decode_clean_shutdown(&text).with_context(|| path.display().to_string())
}

// ------------------------------------------------- producer state snapshots

/// One producer in a ProducerSnapshot v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerSnapshotEntry {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_offset: i64,
    /// Last sequence minus first sequence of the producer's last batch.
    pub offset_delta: i32,
    pub timestamp: i64,
    pub coordinator_epoch: i32,
    /// First offset of the open transaction, -1 without one.
    pub current_txn_first_offset: i64,
}

/// Decodes a ProducerSnapshot v1: int16 version 1, uint32 CRC-32C of the
/// bytes after it, int32 count, and that many 46-byte entries; nothing
/// after them, each producer once.
pub fn decode_producer_snapshot(bytes: &[u8]) -> Result<Vec<ProducerSnapshotEntry>> {
    ensure!(
        bytes.len() >= PRODUCER_SNAPSHOT_HEADER_SIZE,
        "{} bytes cannot hold a snapshot header",
        bytes.len()
    );
    let mut r = Reader::new(bytes);
    let version = r.i16()?;
    ensure!(
        version == PRODUCER_SNAPSHOT_VERSION,
        "snapshot version {version}, expected {PRODUCER_SNAPSHOT_VERSION}"
    );
    let crc = r.u32()?;
    let computed = crc32c::crc32c(&bytes[PRODUCER_SNAPSHOT_CRC_START..]);
    ensure!(
        crc == computed,
        "stored CRC {crc:#010x} but computed {computed:#010x}"
    );
    let count = r.i32()?;
    ensure!(count >= 0, "producer count {count}");
    let expected = count as usize * PRODUCER_SNAPSHOT_ENTRY_SIZE;
    ensure!(
        r.remaining() == expected,
        "{count} producers take {expected} bytes but {} follow the header",
        r.remaining()
    );
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let entry = ProducerSnapshotEntry {
            producer_id: r.i64()?,
            epoch: r.i16()?,
            last_sequence: r.i32()?,
            last_offset: r.i64()?,
            offset_delta: r.i32()?,
            timestamp: r.i64()?,
            coordinator_epoch: r.i32()?,
            current_txn_first_offset: r.i64()?,
        };
        ensure!(
            entry.producer_id >= 0 && entry.epoch >= 0,
            "producer {i}: {entry:?} has a negative id or epoch"
        );
        ensure!(
            seen.insert(entry.producer_id),
            "producer {} is in the snapshot twice",
            entry.producer_id
        );
        // A producer with no batch left has sequence and offset -1.
        ensure!(
            entry.last_sequence >= -1
                && entry.last_offset >= -1
                && (entry.last_sequence == -1) == (entry.last_offset == -1)
                && entry.offset_delta >= 0
                && entry.last_offset - i64::from(entry.offset_delta) >= -1,
            "producer {i}: inconsistent last batch in {entry:?}"
        );
        ensure!(
            entry.current_txn_first_offset >= -1,
            "producer {i}: transaction first offset {}",
            entry.current_txn_first_offset
        );
        out.push(entry);
    }
    r.finish()?;
    Ok(out)
}

pub fn read_producer_snapshot(path: &Path) -> Result<Vec<ProducerSnapshotEntry>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_producer_snapshot(&bytes).with_context(|| path.display().to_string())
}

// ------------------------------------------------------- partition directory

/// The files of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFiles {
    pub base_offset: i64,
    pub log: PathBuf,
    pub index: Option<PathBuf>,
    pub time_index: Option<PathBuf>,
}

/// The files of a partition directory, sorted by offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionFiles {
    pub segments: Vec<SegmentFiles>,
    /// Producer state snapshots by the offset in their names.
    pub snapshots: Vec<(i64, PathBuf)>,
    /// `.index` and `.timeindex` files with no `.log` of their base offset.
    pub orphan_indexes: Vec<PathBuf>,
    pub leader_epoch_checkpoint: Option<PathBuf>,
    /// Names of all other files (`partition.metadata`, ...).
    pub others: Vec<String>,
}

/// Lists a partition directory's segments, indexes and snapshots.
pub fn list_partition(dir: &Path) -> Result<PartitionFiles> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    let mut time_indexes = Vec::new();
    let mut files = PartitionFiles::default();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if let Some(base) = parse_offset_file_name(&name, LOG_SUFFIX) {
            logs.push((base, path));
        } else if let Some(base) = parse_offset_file_name(&name, INDEX_SUFFIX) {
            indexes.push((base, path));
        } else if let Some(base) = parse_offset_file_name(&name, TIME_INDEX_SUFFIX) {
            time_indexes.push((base, path));
        } else if let Some(offset) = parse_offset_file_name(&name, SNAPSHOT_SUFFIX) {
            files.snapshots.push((offset, path));
        } else if name == LEADER_EPOCH_CHECKPOINT {
            files.leader_epoch_checkpoint = Some(path);
        } else {
            files.others.push(name);
        }
    }
    logs.sort();
    files.snapshots.sort();
    files.others.sort();
    let take = |list: &mut Vec<(i64, PathBuf)>, base: i64| {
        let at = list.iter().position(|(b, _)| *b == base)?;
        Some(list.remove(at).1)
    };
    for (base_offset, log) in logs {
        files.segments.push(SegmentFiles {
            base_offset,
            log,
            index: take(&mut indexes, base_offset),
            time_index: take(&mut time_indexes, base_offset),
        });
    }
    files.orphan_indexes = indexes
        .into_iter()
        .chain(time_indexes)
        .map(|(_, path)| path)
        .collect();
    files.orphan_indexes.sort();
    Ok(files)
}

/// When a partition directory is read, which decides what its files must
/// look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// After a clean shutdown: every segment has both indexes, trimmed,
    /// and each time index ends with its segment's largest timestamp.
    Stopped,
    /// While the broker runs or after a crash: as [`State::Stopped`] for
    /// every segment but the last (active) one, whose indexes may be
    /// preallocated, missing, or lack the final time index entry.
    Running,
}

/// What [`verify_partition`] read of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    pub base_offset: i64,
    pub log_bytes: usize,
    pub batches: Vec<BatchHeader>,
    /// Where each batch starts in the log.
    pub positions: Vec<usize>,
    pub index: Option<Vec<IndexEntry>>,
    pub time_index: Option<Vec<TimeIndexEntry>>,
}

impl SegmentReport {
    /// The largest batch, in bytes (0 without batches).
    pub fn max_batch_size(&self) -> usize {
        self.batches.iter().map(|b| b.size).max().unwrap_or(0)
    }

    /// The largest timestamp of the segment's batches (-1 without any).
    pub fn max_timestamp(&self) -> i64 {
        self.batches
            .iter()
            .map(|b| b.max_timestamp)
            .max()
            .unwrap_or(-1)
            .max(-1)
    }

    /// The offset after the segment's last batch, or its base offset when
    /// it has none.
    pub fn next_offset(&self) -> i64 {
        self.batches.last().map_or(self.base_offset, |b| {
            b.base_offset + i64::from(b.last_offset_delta) + 1
        })
    }
}

/// What [`verify_partition`] read of a partition directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReport {
    pub files: PartitionFiles,
    pub segments: Vec<SegmentReport>,
    /// Each snapshot's offset and producers.
    pub snapshots: Vec<(i64, Vec<ProducerSnapshotEntry>)>,
    pub leader_epochs: Option<Vec<EpochEntry>>,
    pub log_end_offset: i64,
}

impl PartitionReport {
    /// Every batch of the partition, in order.
    pub fn batches(&self) -> impl Iterator<Item = &BatchHeader> {
        self.segments.iter().flat_map(|s| s.batches.iter())
    }

    /// The producers of the snapshot taken at `offset`, if there is one.
    pub fn snapshot_at(&self, offset: i64) -> Option<&[ProducerSnapshotEntry]> {
        self.snapshots
            .iter()
            .find(|(at, _)| *at == offset)
            .map(|(_, entries)| &entries[..])
    }
}

/// Reads a partition directory and checks its files: every segment's log
/// is whole batches with valid CRCs at increasing offsets from the
/// segment's base offset; every offset index entry points at the start of
/// a batch that ends at the entry's offset; every time index entry names
/// the last offset of a batch, and its timestamp is the largest of the
/// segment's batches up to that one; snapshots and the leader epoch
/// checkpoint decode and lie within the log. `state` says which index files
/// must exist and how they are laid out.
pub fn verify_partition(dir: &Path, state: State) -> Result<PartitionReport> {
    let files = list_partition(dir)?;
    ensure!(!files.segments.is_empty(), "{}: no segment", dir.display());
    ensure!(
        files.orphan_indexes.is_empty(),
        "{}: index files without a segment: {:?}",
        dir.display(),
        files.orphan_indexes
    );
    let mut segments: Vec<SegmentReport> = Vec::new();
    for (i, segment) in files.segments.iter().enumerate() {
        let active = i + 1 == files.segments.len();
        let report = verify_segment(segment, active && state == State::Running)
            .with_context(|| segment.log.display().to_string())?;
        if let Some(previous) = segments.last() {
            ensure!(
                report.base_offset >= previous.next_offset(),
                "{}: segment {} starts below the end {} of the segment before",
                dir.display(),
                report.base_offset,
                previous.next_offset()
            );
        }
        segments.push(report);
    }
    let log_end_offset = segments.last().map_or(0, SegmentReport::next_offset);
    let mut snapshots = Vec::new();
    for (offset, path) in &files.snapshots {
        let entries = read_producer_snapshot(path)?;
        ensure!(
            *offset <= log_end_offset,
            "{}: snapshot at {offset} is past the log end offset {log_end_offset}",
            path.display()
        );
        for entry in &entries {
            ensure!(
                entry.last_offset < *offset,
                "{}: producer {} last wrote offset {}, at or after the snapshot's",
                path.display(),
                entry.producer_id,
                entry.last_offset
            );
        }
        snapshots.push((*offset, entries));
    }
    let leader_epochs = match &files.leader_epoch_checkpoint {
        None => None,
        Some(path) => {
            let entries = read_leader_epoch_checkpoint(path)?;
            if let Some(last) = entries.last() {
                ensure!(
                    last.start_offset <= log_end_offset,
                    "{}: epoch {} starts past the log end offset {log_end_offset}",
                    path.display(),
                    last.epoch
                );
            }
            Some(entries)
        }
    };
    Ok(PartitionReport {
        files,
        segments,
        snapshots,
        leader_epochs,
        log_end_offset,
    })
}

/// Checks one segment; an `open` one (active while running) may have its
/// indexes preallocated or missing and no final time index entry.
fn verify_segment(files: &SegmentFiles, open: bool) -> Result<SegmentReport> {
    let base_offset = files.base_offset;
    let fill = if open {
        Fill::Preallocated
    } else {
        Fill::Trimmed
    };
    // The indexes first: a running broker appends to the log before them.
    let index = match &files.index {
        Some(path) => Some(read_offset_index(path, base_offset, fill)?),
        None if open => None,
        None => bail!("no {}", offset_file_name(base_offset, INDEX_SUFFIX)),
    };
    let time_index = match &files.time_index {
        Some(path) => Some(read_time_index(path, base_offset, fill)?),
        None if open => None,
        None => bail!("no {}", offset_file_name(base_offset, TIME_INDEX_SUFFIX)),
    };
    let log = std::fs::read(&files.log)?;
    let batches = batch::scan_batch_headers(&log)?;
    let mut positions = Vec::with_capacity(batches.len());
    let mut position = 0;
    let mut next_offset = base_offset;
    for b in &batches {
        ensure!(
            b.base_offset >= next_offset && b.last_offset_delta >= 0,
            "batch at byte {position}: offsets {}+{} do not follow offset {}",
            b.base_offset,
            b.last_offset_delta,
            next_offset - 1
        );
        positions.push(position);
        position += b.size;
        next_offset = b.base_offset + i64::from(b.last_offset_delta) + 1;
    }
    let last_offset = |b: &BatchHeader| b.base_offset + i64::from(b.last_offset_delta);
    for (i, entry) in index.iter().flatten().enumerate() {
        let at = positions
            .binary_search(&(entry.position as usize))
            .map_err(|_| {
                anyhow::anyhow!(
                    "offset index entry {i} {entry:?}: byte {} is not the start of a batch",
                    entry.position
                )
            })?;
        let b = &batches[at];
        ensure!(
            last_offset(b) == entry.offset,
            "offset index entry {i} {entry:?}: the batch there holds offsets {}..={}",
            b.base_offset,
            last_offset(b)
        );
    }
    // The largest timestamp up to and including each batch.
    let running_max: Vec<i64> = batches
        .iter()
        .scan(-1i64, |max, b| {
            *max = (*max).max(b.max_timestamp);
            Some(*max)
        })
        .collect();
    for (i, entry) in time_index.iter().flatten().enumerate() {
        let at = batches
            .binary_search_by_key(&entry.offset, last_offset)
            .map_err(|_| {
                anyhow::anyhow!(
                    "time index entry {i} {entry:?}: no batch ends at offset {}",
                    entry.offset
                )
            })?;
        ensure!(
            running_max[at] == entry.timestamp,
            "time index entry {i} {entry:?}: the largest timestamp up to the batch at {} is {}",
            batches[at].base_offset,
            running_max[at]
        );
    }
    let report = SegmentReport {
        base_offset,
        log_bytes: log.len(),
        batches,
        positions,
        index,
        time_index,
    };
    let max_timestamp = report.max_timestamp();
    if !open && max_timestamp >= 0 {
        let last = report.time_index.as_deref().and_then(<[_]>::last);
        ensure!(
            last.is_some_and(|e| e.timestamp == max_timestamp),
            "the time index ends with {last:?}, not with the segment's largest timestamp {max_timestamp}"
        );
    }
    Ok(report)
}

/// Checks that a segment's offset index is as sparse as Kafka's: an entry
/// once more than `interval` bytes of batches were appended since the
/// last one (or since the segment's start), so entries are at least
/// `interval` and at most `interval` plus one batch apart, and no more than
/// that follows the last one. An entry at byte 0 is allowed.
pub fn check_index_density(segment: &SegmentReport, interval: usize) -> Result<()> {
    let entries = segment.index.as_deref().context("no offset index")?;
    let slack = interval + segment.max_batch_size();
    let mut previous = 0usize;
    for (i, entry) in entries.iter().enumerate() {
        let position = entry.position as usize;
        let gap = position - previous;
        if !(i == 0 && position == 0) {
            ensure!(
                gap >= interval,
                "segment {}: index entry {i} at byte {position} is only {gap} bytes after the one before (index interval {interval})",
                segment.base_offset
            );
        }
        ensure!(
            gap <= slack,
            "segment {}: index entry {i} at byte {position} is {gap} bytes after the one before (index interval {interval}, batches up to {} bytes)",
            segment.base_offset,
            segment.max_batch_size()
        );
        previous = position;
    }
    let tail = segment.log_bytes - previous;
    ensure!(
        tail <= slack,
        "segment {}: no index entry in the last {tail} bytes (index interval {interval}, batches up to {} bytes)",
        segment.base_offset,
        segment.max_batch_size()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{Record, RecordBatch};
    use crate::wire::Writer;

    fn offset_index(entries: &[(i32, i32)]) -> Vec<u8> {
        let mut w = Writer::new();
        for &(relative, position) in entries {
            w.i32(relative).i32(position);
        }
        w.into_bytes()
    }

    fn time_index(entries: &[(i64, i32)]) -> Vec<u8> {
        let mut w = Writer::new();
        for &(timestamp, relative) in entries {
            w.i64(timestamp).i32(relative);
        }
        w.into_bytes()
    }

    fn preallocate(mut bytes: Vec<u8>, size: usize) -> Vec<u8> {
        bytes.resize(size, 0);
        bytes
    }

    #[test]
    fn offset_index_entries() {
        let bytes = offset_index(&[(4, 4200), (9, 8500), (20, 13000)]);
        let entries = decode_offset_index(&bytes, 100, Fill::Trimmed).unwrap();
        assert_eq!(
            entries,
            [
                IndexEntry {
                    offset: 104,
                    position: 4200
                },
                IndexEntry {
                    offset: 109,
                    position: 8500
                },
                IndexEntry {
                    offset: 120,
                    position: 13000
                },
            ]
        );
        // Preallocated: the same entries, then zeros.
        let padded = preallocate(bytes.clone(), 800);
        assert_eq!(
            decode_offset_index(&padded, 100, Fill::Preallocated).unwrap(),
            entries
        );
        // A trimmed reader says the zeros were not trimmed.
        let error = decode_offset_index(&padded, 100, Fill::Trimmed).unwrap_err();
        assert!(
            format!("{error:#}").contains("not trimmed: 800 bytes, of which those from byte 24"),
            "{error:#}"
        );
        let error = decode_offset_index(&[0; 80], 0, Fill::Trimmed).unwrap_err();
        assert!(
            format!("{error:#}").contains("from byte 8 are zero"),
            "{error:#}"
        );
        // A lone (0, 0) entry is one.
        assert_eq!(
            decode_offset_index(&[0; 8], 5, Fill::Trimmed).unwrap(),
            [IndexEntry {
                offset: 5,
                position: 0
            }]
        );
        // A trimmed file reads the same either way.
        assert_eq!(
            decode_offset_index(&bytes, 100, Fill::Preallocated).unwrap(),
            entries
        );
        assert!(
            decode_offset_index(&[], 0, Fill::Trimmed)
                .unwrap()
                .is_empty()
        );
        assert!(
            decode_offset_index(&[0; 80], 0, Fill::Preallocated)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn offset_index_zero_entry_only_first() {
        let bytes = offset_index(&[(0, 0), (3, 5000)]);
        assert_eq!(
            decode_offset_index(&bytes, 7, Fill::Trimmed).unwrap(),
            [
                IndexEntry {
                    offset: 7,
                    position: 0
                },
                IndexEntry {
                    offset: 10,
                    position: 5000
                }
            ]
        );
        assert_eq!(
            decode_offset_index(&preallocate(bytes, 64), 7, Fill::Preallocated)
                .unwrap()
                .len(),
            2
        );
        let bytes = offset_index(&[(3, 5000), (0, 0)]);
        assert!(decode_offset_index(&bytes, 7, Fill::Trimmed).is_err());
        // Preallocated, (0, 0) after the first entry ends the entries.
        assert_eq!(
            decode_offset_index(&bytes, 7, Fill::Preallocated)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn offset_index_rejects_malformed() {
        let good = offset_index(&[(4, 4200), (9, 8500)]);
        for fill in [Fill::Trimmed, Fill::Preallocated] {
            // Truncated to a non-multiple of 8.
            for cut in [1, 3, 7, 9, 15] {
                let error = decode_offset_index(&good[..cut], 0, fill).unwrap_err();
                assert!(format!("{error:#}").contains("whole number"), "{error:#}");
            }
            // Not increasing in offset, or in position.
            for bad in [
                offset_index(&[(4, 4200), (4, 8500)]),
                offset_index(&[(4, 4200), (3, 8500)]),
                offset_index(&[(4, 4200), (9, 4200)]),
                offset_index(&[(4, 4200), (9, 100)]),
                offset_index(&[(-1, 4200)]),
                offset_index(&[(4, -5)]),
            ] {
                assert!(decode_offset_index(&bad, 0, fill).is_err(), "{bad:?}");
            }
        }
        // Garbage after the end of a preallocated index.
        let mut padded = preallocate(good.clone(), 64);
        padded[40] = 1;
        let error = decode_offset_index(&padded, 0, Fill::Preallocated).unwrap_err();
        assert!(
            format!("{error:#}").contains("non-zero byte at 40"),
            "{error:#}"
        );
        // Random bytes of the same length as a real index.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let garbage: Vec<u8> = (0..good.len() * 8)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert!(decode_offset_index(&garbage, 0, Fill::Trimmed).is_err());
        // Offsets that overflow.
        assert!(decode_offset_index(&offset_index(&[(1, 0)]), i64::MAX, Fill::Trimmed).is_err());
    }

    #[test]
    fn time_index_entries_and_malformed() {
        let bytes = time_index(&[(1000, 3), (1500, 3), (2000, 8)]);
        let entries = decode_time_index(&bytes, 10, Fill::Trimmed).unwrap();
        assert_eq!(
            entries,
            [
                TimeIndexEntry {
                    timestamp: 1000,
                    offset: 13
                },
                TimeIndexEntry {
                    timestamp: 1500,
                    offset: 13
                },
                TimeIndexEntry {
                    timestamp: 2000,
                    offset: 18
                },
            ]
        );
        // Preallocated as Kafka does: rounded down to whole entries.
        let size = DEFAULT_SEGMENT_INDEX_BYTES / 12 * 12;
        assert_eq!(
            decode_time_index(&preallocate(bytes.clone(), size), 10, Fill::Preallocated).unwrap(),
            entries
        );
        assert!(
            decode_time_index(
                &preallocate(bytes.clone(), DEFAULT_SEGMENT_INDEX_BYTES),
                10,
                Fill::Preallocated
            )
            .is_err()
        );
        for cut in [1, 11, 13, 35] {
            assert!(decode_time_index(&bytes[..cut], 10, Fill::Trimmed).is_err());
        }
        for bad in [
            time_index(&[(1000, 3), (1000, 4)]),
            time_index(&[(1000, 3), (900, 4)]),
            time_index(&[(1000, 3), (1100, 2)]),
            time_index(&[(-1, 3)]),
            time_index(&[(1000, -3)]),
        ] {
            assert!(
                decode_time_index(&bad, 0, Fill::Trimmed).is_err(),
                "{bad:?}"
            );
        }
        let mut padded = preallocate(bytes, 120);
        padded[119] = 9;
        assert!(decode_time_index(&padded, 0, Fill::Preallocated).is_err());
    }

    #[test]
    fn offset_checkpoints() {
        let text = "0\n3\nfoo 0 17\nfoo 1 0\n__consumer_offsets 12 99\n";
        let entries = decode_offset_checkpoint(text).unwrap();
        assert_eq!(
            entries[0],
            OffsetCheckpointEntry {
                topic: "foo".into(),
                partition: 0,
                offset: 17
            }
        );
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].topic, "__consumer_offsets");
        // The last newline is optional; no entries is fine.
        assert_eq!(decode_offset_checkpoint(text.trim_end()).unwrap(), entries);
        assert!(decode_offset_checkpoint("0\n0\n").unwrap().is_empty());
        for bad in [
            "",
            "\n",
            "1\n0\n",
            "0\n",
            "0\n2\nfoo 0 17\n",
            "0\n1\nfoo 0 17\nfoo 1 3\n",
            "0\n1\nfoo 0 17\n\n",
            "0\n1\nfoo  0 17\n",
            "0\n1\nfoo 0 17 \n",
            "0\n1\nfoo 0\n",
            "0\n1\nfoo 0 -1\n",
            "0\n1\nfoo -1 5\n",
            "0\n1\nfoo 0 +5\n",
            "0\n1\nfoo 0 05\n",
            "0\n1\nfoo 0 x\n",
            "0\n1\nf/o 0 5\n",
            "0\n2\nfoo 0 5\nfoo 0 6\n",
            "0\r\n1\r\nfoo 0 5\r\n",
            "0\n+1\nfoo 0 5\n",
            "0\n1\nfoo 0 99999999999999999999\n",
        ] {
            assert!(decode_offset_checkpoint(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn leader_epoch_checkpoints() {
        assert_eq!(
            decode_leader_epoch_checkpoint("0\n2\n0 0\n3 120\n").unwrap(),
            [
                EpochEntry {
                    epoch: 0,
                    start_offset: 0
                },
                EpochEntry {
                    epoch: 3,
                    start_offset: 120
                }
            ]
        );
        assert!(decode_leader_epoch_checkpoint("0\n0\n").unwrap().is_empty());
        for bad in [
            "0\n2\n0 0\n0 5\n",
            "0\n2\n1 5\n2 5\n",
            "0\n2\n3 5\n2 9\n",
            "0\n1\n0 0 0\n",
            "0\n1\n-1 0\n",
            "0\n1\n0\n",
            "0\n2\n0 0\n",
            "1\n1\n0 0\n",
        ] {
            assert!(decode_leader_epoch_checkpoint(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clean_shutdown_marker() {
        assert_eq!(
            decode_clean_shutdown("{\"version\":0,\"brokerEpoch\":42}").unwrap(),
            CleanShutdown {
                version: 0,
                broker_epoch: 42
            }
        );
        assert_eq!(
            decode_clean_shutdown(" { \"brokerEpoch\" : -1 , \"version\" : 0 }\n")
                .unwrap()
                .broker_epoch,
            -1
        );
        for bad in [
            "",
            "{}",
            "{\"version\":0}",
            "{\"brokerEpoch\":3}",
            "{\"version\":1,\"brokerEpoch\":3}",
            "{\"version\":0,\"brokerEpoch\":3,}",
            "{\"version\":0,\"brokerEpoch\":3,\"x\":1}",
            "{\"version\":0,\"brokerEpoch\":3,\"version\":0}",
            "{\"version\":0,\"brokerEpoch\":\"3\"}",
            "{\"version\":0,\"brokerEpoch\":3.5}",
            "{\"version\":0,\"brokerEpoch\":3}x",
            "{\"version\":0,\"brokerEpoch\":3",
            "[0, 3]",
        ] {
            assert!(decode_clean_shutdown(bad).is_err(), "{bad:?}");
        }
    }

    fn snapshot(entries: &[ProducerSnapshotEntry]) -> Vec<u8> {
        let mut body = Writer::new();
        body.i32(entries.len() as i32);
        for e in entries {
            body.i64(e.producer_id)
                .i16(e.epoch)
                .i32(e.last_sequence)
                .i64(e.last_offset)
                .i32(e.offset_delta)
                .i64(e.timestamp)
                .i32(e.coordinator_epoch)
                .i64(e.current_txn_first_offset);
        }
        let body = body.into_bytes();
        let mut out = Writer::new();
        out.i16(1).i32(crc32c::crc32c(&body) as i32).raw(&body);
        out.into_bytes()
    }

    const PRODUCER: ProducerSnapshotEntry = ProducerSnapshotEntry {
        producer_id: 1000,
        epoch: 2,
        last_sequence: 14,
        last_offset: 41,
        offset_delta: 2,
        timestamp: 1_726_045_973_899,
        coordinator_epoch: -1,
        current_txn_first_offset: -1,
    };

    #[test]
    fn producer_snapshots() {
        let other = ProducerSnapshotEntry {
            producer_id: 7,
            last_sequence: -1,
            last_offset: -1,
            offset_delta: 0,
            timestamp: -1,
            ..PRODUCER
        };
        let bytes = snapshot(&[PRODUCER, other]);
        assert_eq!(bytes.len(), 10 + 2 * 46);
        assert_eq!(decode_producer_snapshot(&bytes).unwrap(), [PRODUCER, other]);
        assert!(decode_producer_snapshot(&snapshot(&[])).unwrap().is_empty());
    }

    #[test]
    fn producer_snapshots_reject_malformed() {
        let bytes = snapshot(&[PRODUCER]);
        // Truncated anywhere, or with a byte more.
        for cut in [0, 1, 5, 9, 10, 30, bytes.len() - 1] {
            assert!(
                decode_producer_snapshot(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_producer_snapshot(&longer).is_err());
        // Any flipped bit after the CRC fails it; a flipped version too.
        for at in [0, 1, 6, 9, 10, 30, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(decode_producer_snapshot(&bad).is_err(), "byte {at}");
        }
        // Well-formed but wrong: version 2, counts that lie, duplicates.
        let mut version = bytes.clone();
        version[1] = 2;
        assert!(
            format!("{:#}", decode_producer_snapshot(&version).unwrap_err()).contains("version")
        );
        let duplicated = snapshot(&[PRODUCER, PRODUCER]);
        assert!(decode_producer_snapshot(&duplicated).is_err());
        let mut count = snapshot(&[PRODUCER]);
        count[9] = 2;
        let crc = crc32c::crc32c(&count[6..]);
        count[2..6].copy_from_slice(&crc.to_be_bytes());
        assert!(
            format!("{:#}", decode_producer_snapshot(&count).unwrap_err()).contains("2 producers")
        );
        let inconsistent = ProducerSnapshotEntry {
            last_sequence: -1,
            ..PRODUCER
        };
        assert!(decode_producer_snapshot(&snapshot(&[inconsistent])).is_err());
        let negative = ProducerSnapshotEntry {
            producer_id: -1,
            ..PRODUCER
        };
        assert!(decode_producer_snapshot(&snapshot(&[negative])).is_err());
    }

    #[test]
    fn file_names() {
        assert_eq!(offset_file_name(42, "index"), "00000000000000000042.index");
        assert_eq!(
            parse_offset_file_name("00000000000000000042.timeindex", "timeindex"),
            Some(42)
        );
        assert_eq!(
            parse_offset_file_name("00000000000000000042.index", "timeindex"),
            None
        );
        assert_eq!(parse_offset_file_name("42.index", "index"), None);
        assert_eq!(
            parse_offset_file_name("0000000000000000004x.index", "index"),
            None
        );
        assert_eq!(
            parse_offset_file_name("00000000000000000042index", "index"),
            None
        );
    }

    /// Batches of 3 records, 200 bytes each, with timestamps that go down
    /// and up, laid out as Kafka would with `interval`.
    struct Built {
        log: Vec<u8>,
        index: Vec<u8>,
        time_index: Vec<u8>,
        last_offsets: Vec<i64>,
    }

    fn build_segment(base: i64, count: usize, interval: usize) -> Built {
        let timestamps = [5000i64, 4000, 7000, 6500, 9000, 8000, 8500, 12000];
        let mut built = Built {
            log: Vec::new(),
            index: Vec::new(),
            time_index: Vec::new(),
            last_offsets: Vec::new(),
        };
        let mut since_entry = 0;
        let (mut max_ts, mut max_ts_offset) = (-1i64, -1i64);
        let mut last_time_entry = -1i64;
        for i in 0..count {
            let offset = base + 3 * i as i64;
            let records = (0..3).map(|_| Record::value(vec![b'x'; 50])).collect();
            let mut b = RecordBatch::without_producer(records).with_base_offset(offset);
            b.base_timestamp = timestamps[i % timestamps.len()] + 1000 * (i / 8) as i64;
            b.max_timestamp = b.base_timestamp;
            let bytes = b.encode();
            let last = offset + 2;
            if b.max_timestamp > max_ts {
                (max_ts, max_ts_offset) = (b.max_timestamp, last);
            }
            if since_entry > interval {
                built.index.extend(offset_index(&[(
                    (last - base) as i32,
                    built.log.len() as i32,
                )]));
                if max_ts > last_time_entry {
                    built
                        .time_index
                        .extend(time_index(&[(max_ts, (max_ts_offset - base) as i32)]));
                    last_time_entry = max_ts;
                }
                since_entry = 0;
            }
            since_entry += bytes.len();
            built.log.extend(bytes);
            built.last_offsets.push(last);
        }
        if max_ts > last_time_entry {
            built
                .time_index
                .extend(time_index(&[(max_ts, (max_ts_offset - base) as i32)]));
        }
        built
    }

    fn write_segment(dir: &Path, base: i64, built: &Built) {
        std::fs::write(dir.join(offset_file_name(base, "log")), &built.log).unwrap();
        std::fs::write(dir.join(offset_file_name(base, "index")), &built.index).unwrap();
        std::fs::write(
            dir.join(offset_file_name(base, "timeindex")),
            &built.time_index,
        )
        .unwrap();
    }

    #[test]
    fn verifies_a_partition_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = build_segment(0, 60, 1000);
        let second = build_segment(180, 25, 1000);
        write_segment(dir.path(), 0, &first);
        write_segment(dir.path(), 180, &second);
        std::fs::write(dir.path().join("partition.metadata"), "version: 0\n").unwrap();
        std::fs::write(dir.path().join(LEADER_EPOCH_CHECKPOINT), "0\n1\n0 0\n").unwrap();
        std::fs::write(
            dir.path().join(offset_file_name(255, "snapshot")),
            snapshot(&[PRODUCER]),
        )
        .unwrap();

        let report = verify_partition(dir.path(), State::Stopped).unwrap();
        assert_eq!(report.log_end_offset, 255);
        assert_eq!(report.segments.len(), 2);
        assert_eq!(report.batches().count(), 85);
        assert_eq!(report.snapshot_at(255), Some(&[PRODUCER][..]));
        assert_eq!(report.files.others, ["partition.metadata"]);
        let index = report.segments[0].index.as_ref().unwrap();
        assert!(index.len() > 5, "{index:?}");
        assert_eq!(
            report.segments[0]
                .time_index
                .as_ref()
                .unwrap()
                .last()
                .unwrap()
                .timestamp,
            18000
        );
        for segment in &report.segments {
            check_index_density(segment, 1000).unwrap();
        }
        assert!(check_index_density(&report.segments[0], 400).is_err());
        assert!(check_index_density(&report.segments[0], 3000).is_err());

        // The active segment preallocated: fine while running only.
        let index_path = dir.path().join(offset_file_name(180, "index"));
        std::fs::write(&index_path, preallocate(second.index.clone(), 4096)).unwrap();
        verify_partition(dir.path(), State::Running).unwrap();
        assert!(verify_partition(dir.path(), State::Stopped).is_err());
        std::fs::remove_file(&index_path).unwrap();
        verify_partition(dir.path(), State::Running).unwrap();
        assert!(verify_partition(dir.path(), State::Stopped).is_err());
        std::fs::write(&index_path, &second.index).unwrap();
        verify_partition(dir.path(), State::Stopped).unwrap();
    }

    #[test]
    fn finds_indexes_that_point_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let built = build_segment(0, 40, 1000);
        write_segment(dir.path(), 0, &built);
        write_segment(dir.path(), 120, &build_segment(120, 3, 1000));
        verify_partition(dir.path(), State::Stopped).unwrap();
        let entries = decode_offset_index(&built.index, 0, Fill::Trimmed).unwrap();
        let e = entries[1];
        let index_path = dir.path().join(offset_file_name(0, "index"));
        let time_path = dir.path().join(offset_file_name(0, "timeindex"));
        let rewrite = |entries: &[(i32, i32)]| std::fs::write(&index_path, offset_index(entries));
        let expect_error = |needle: &str| {
            let error = format!(
                "{:#}",
                verify_partition(dir.path(), State::Stopped).unwrap_err()
            );
            assert!(error.contains(needle), "{needle}: {error}");
        };
        // Mid-batch position; the base offset instead of the last; past the end.
        rewrite(&[(e.offset as i32, e.position as i32 + 1)]).unwrap();
        expect_error("not the start of a batch");
        rewrite(&[(e.offset as i32 - 2, e.position as i32)]).unwrap();
        expect_error("the batch there holds offsets");
        rewrite(&[(e.offset as i32, built.log.len() as i32)]).unwrap();
        expect_error("not the start of a batch");
        // Truncated to a non-multiple of 8.
        std::fs::write(&index_path, &built.index[..built.index.len() - 3]).unwrap();
        expect_error("whole number");
        std::fs::write(&index_path, &built.index).unwrap();

        // A time entry naming a batch's base offset, or a timestamp that is
        // not the running maximum, or no final entry.
        let times = decode_time_index(&built.time_index, 0, Fill::Trimmed).unwrap();
        let t = times[0];
        let rewrite_times =
            |entries: &[(i64, i32)]| std::fs::write(&time_path, time_index(entries));
        rewrite_times(&[(t.timestamp, t.offset as i32 - 1)]).unwrap();
        expect_error("no batch ends at offset");
        rewrite_times(&[(t.timestamp - 1, t.offset as i32)]).unwrap();
        expect_error("the largest timestamp up to");
        rewrite_times(&[(t.timestamp, t.offset as i32)]).unwrap();
        expect_error("not with the segment's largest timestamp");
        std::fs::write(&time_path, &built.time_index).unwrap();

        // An index without its segment; a torn log.
        std::fs::write(dir.path().join(offset_file_name(999, "index")), b"").unwrap();
        expect_error("without a segment");
        std::fs::remove_file(dir.path().join(offset_file_name(999, "index"))).unwrap();
        let log_path = dir.path().join(offset_file_name(120, "log"));
        let log = std::fs::read(&log_path).unwrap();
        std::fs::write(&log_path, &log[..log.len() - 1]).unwrap();
        assert!(verify_partition(dir.path(), State::Stopped).is_err());
        std::fs::write(&log_path, &log).unwrap();

        // A snapshot past the log end, or naming offsets after its own.
        let snapshot_path = dir.path().join(offset_file_name(500, "snapshot"));
        std::fs::write(&snapshot_path, snapshot(&[])).unwrap();
        expect_error("past the log end offset");
        std::fs::remove_file(&snapshot_path).unwrap();
        std::fs::write(
            dir.path().join(offset_file_name(30, "snapshot")),
            snapshot(&[PRODUCER]),
        )
        .unwrap();
        expect_error("at or after the snapshot's");
    }
}
