//! Per-partition state of idempotent producers (Kafka's
//! `ProducerStateManager`): for each producer id, its epoch and the sequence
//! ranges and offsets of its last five batches. A batch that repeats one of
//! those is a duplicate and gets the original offsets; a gap in sequences or
//! an old epoch is refused. The state is written to `<offset>.snapshot`
//! files (Kafka's `ProducerSnapshot` v1) when a segment rolls and when the
//! log closes; a restart loads the latest snapshot and reads only the batch
//! headers after it.

use super::record_batch::{BatchHeader, ControlRecord, ControlRecordType};
use super::transaction_index::AbortedTxn;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Batches remembered per producer, as in Kafka (and the most a client
/// keeps in flight).
pub const NUM_BATCHES_TO_RETAIN: usize = 5;
/// Kafka's `producer.id.expiration.ms` default: producers idle this long are forgotten.
pub const PRODUCER_ID_EXPIRATION_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone)]
struct ProducerStateEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
    last_timestamp: i64,
    /// The epoch of the transaction coordinator that wrote the producer's
    /// last marker; -1 before any.
    coordinator_epoch: i32,
    /// The first offset of the producer's open transaction, if any.
    current_txn_first_offset: Option<i64>,
}

impl Default for ProducerStateEntry {
    fn default() -> Self {
        ProducerStateEntry {
            epoch: 0,
            batches: VecDeque::new(),
            last_timestamp: -1,
            coordinator_epoch: NO_COORDINATOR_EPOCH,
            current_txn_first_offset: None,
        }
    }
}

/// A transaction a marker just ended (Kafka's `CompletedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
    pub aborted: bool,
    /// The first offset of the oldest transaction still open after this
    /// one ended, or the offset after the marker.
    pub last_stable_offset: i64,
}

impl CompletedTxn {
    /// The entry of the transaction index for an aborted transaction.
    pub fn aborted_txn(&self) -> Option<AbortedTxn> {
        self.aborted.then_some(AbortedTxn {
            producer_id: self.producer_id,
            first_offset: self.first_offset,
            last_offset: self.last_offset,
            last_stable_offset: self.last_stable_offset,
        })
    }
}

/// A producer as DescribeProducers reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    pub current_txn_start_offset: i64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProducerError {
    #[error(
        "producer {producer_id} has epoch {current}; a batch with older epoch {epoch} is fenced"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error(
        "out of order sequence number for producer {producer_id}: {found} (incoming seq. number), {last} (current end sequence number)"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        found: i32,
        last: i32,
    },
    /// A plain (idempotent) batch from a producer whose transaction is open.
    #[error("expected transactional write from producer {producer_id} at offset {offset}")]
    InvalidTxnState { producer_id: i64, offset: i64 },
    /// A marker from a coordinator older than the one of the last marker.
    #[error(
        "transaction marker of producer {producer_id} has coordinator epoch {epoch}, older than {current}"
    )]
    TransactionCoordinatorFenced {
        producer_id: i64,
        epoch: i32,
        current: i32,
    },
}

/// What to do with a batch from an idempotent producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    Append,
    /// The batch was appended before, at these offsets.
    Duplicate(BatchMetadata),
}

#[derive(Debug, Default)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerStateEntry>,
    /// The open transactions: first offset to producer id.
    ongoing_txns: BTreeMap<i64, i64>,
}

const SNAPSHOT_VERSION: i16 = 1;
const SNAPSHOT_CRC_OFFSET: usize = 2;
const SNAPSHOT_ENTRIES_OFFSET: usize = 6;
const NO_COORDINATOR_EPOCH: i32 = -1;
const NO_TXN_FIRST_OFFSET: i64 = -1;
pub const SNAPSHOT_SUFFIX: &str = ".snapshot";

/// Kafka's name for the snapshot taken at `offset`.
pub fn snapshot_file_name(offset: i64) -> String {
    format!("{offset:020}{SNAPSHOT_SUFFIX}")
}

/// The offset a snapshot file name stands for.
pub fn parse_snapshot_file_name(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(SNAPSHOT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

struct SnapshotReader<'a>(&'a [u8]);

impl SnapshotReader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| "snapshot ends early".to_string())?;
        self.0 = rest;
        Ok(*head)
    }
    fn i16(&mut self) -> Result<i16, String> {
        self.take().map(i16::from_be_bytes)
    }
    fn i32(&mut self) -> Result<i32, String> {
        self.take().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.take().map(i64::from_be_bytes)
    }
}

/// The sequence of the last record of a batch; sequences wrap after i32::MAX.
pub fn last_sequence(header: &BatchHeader) -> i32 {
    ((i64::from(header.base_sequence) + i64::from(header.last_offset_delta))
        % (i64::from(i32::MAX) + 1)) as i32
}

/// `sequence - decrement`, wrapping below 0 to i32::MAX as sequences do.
fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX - (decrement - sequence) + 1
    } else {
        sequence - decrement
    }
}

fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

impl ProducerStateManager {
    /// Checks a client's batch before it is appended (Kafka's
    /// `ProducerAppendInfo.checkProducerEpoch` and `checkSequence`, and
    /// `findDuplicateBatch`). A producer the partition has not seen may
    /// start at any sequence.
    pub fn check(&self, header: &BatchHeader) -> Result<SequenceCheck, ProducerError> {
        let Some(entry) = self.producers.get(&header.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        let producer_id = header.producer_id;
        if !header.is_transactional()
            && let Some(offset) = entry.current_txn_first_offset
        {
            return Err(ProducerError::InvalidTxnState {
                producer_id,
                offset,
            });
        }
        if header.producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id,
                epoch: header.producer_epoch,
                current: entry.epoch,
            });
        }
        let first = header.base_sequence;
        if header.producer_epoch == entry.epoch {
            let last = last_sequence(header);
            if let Some(duplicate) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == first && b.last_seq == last)
            {
                return Ok(SequenceCheck::Duplicate(*duplicate));
            }
            let current_last = entry.batches.back().map_or(-1, |b| b.last_seq);
            if !in_sequence(current_last, first) {
                return Err(ProducerError::OutOfOrderSequence {
                    producer_id,
                    found: first,
                    last: current_last,
                });
            }
        } else if first != 0 {
            // A new epoch must start over at sequence 0.
            return Err(ProducerError::OutOfOrderSequence {
                producer_id,
                found: first,
                last: -1,
            });
        }
        Ok(SequenceCheck::Append)
    }

    /// Checks only the producer epoch of a batch a coordinator writes for a
    /// producer (a transactional offset commit).
    pub fn check_epoch(&self, header: &BatchHeader) -> Result<(), ProducerError> {
        match self.producers.get(&header.producer_id) {
            Some(entry) if header.producer_epoch < entry.epoch => {
                Err(ProducerError::InvalidProducerEpoch {
                    producer_id: header.producer_id,
                    epoch: header.producer_epoch,
                    current: entry.epoch,
                })
            }
            _ => Ok(()),
        }
    }

    /// Checks a transaction marker a coordinator is about to write (Kafka's
    /// `ProducerAppendInfo.appendEndTxnMarker` checks): its producer epoch
    /// may not be older than the producer's, nor its coordinator epoch
    /// older than the last marker's.
    pub fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), ProducerError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id,
                epoch: producer_epoch,
                current: entry.epoch,
            });
        }
        if coordinator_epoch < entry.coordinator_epoch {
            return Err(ProducerError::TransactionCoordinatorFenced {
                producer_id,
                epoch: coordinator_epoch,
                current: entry.coordinator_epoch,
            });
        }
        Ok(())
    }

    /// Records a batch stored at `first_offset` (also used in recovery):
    /// a producer's data batch, or a transaction marker (`control` is the
    /// control record), which ends the producer's transaction
    /// and returns it.
    pub fn update(
        &mut self,
        header: &BatchHeader,
        first_offset: i64,
        control: Option<ControlRecord>,
    ) -> Option<CompletedTxn> {
        if !header.has_producer_id() {
            return None;
        }
        if header.is_control() {
            let control = control?;
            let aborted = match control.kind {
                ControlRecordType::Abort => true,
                ControlRecordType::Commit => false,
                ControlRecordType::Unknown(_) => return None,
            };
            return Some(self.end_txn(header, first_offset, aborted, control.coordinator_epoch));
        }
        let entry = self.producers.entry(header.producer_id).or_default();
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if header.is_transactional() && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(first_offset);
            self.ongoing_txns.insert(first_offset, header.producer_id);
        }
        if entry.batches.len() == NUM_BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMetadata {
            first_seq: header.base_sequence,
            last_seq: last_sequence(header),
            first_offset,
            last_offset: first_offset + i64::from(header.last_offset_delta),
        });
        entry.last_timestamp = entry.last_timestamp.max(header.max_timestamp);
        None
    }

    /// A marker at `offset` ends the producer's transaction (one without
    /// data too: it then spans just the marker, as in Kafka).
    fn end_txn(
        &mut self,
        header: &BatchHeader,
        offset: i64,
        aborted: bool,
        coordinator_epoch: i32,
    ) -> CompletedTxn {
        let producer_id = header.producer_id;
        let entry = self.producers.entry(producer_id).or_default();
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = entry.coordinator_epoch.max(coordinator_epoch);
        entry.last_timestamp = entry.last_timestamp.max(header.max_timestamp);
        let first_offset = match entry.current_txn_first_offset.take() {
            Some(first) => {
                self.ongoing_txns.remove(&first);
                first
            }
            None => offset,
        };
        CompletedTxn {
            producer_id,
            first_offset,
            last_offset: offset,
            aborted,
            last_stable_offset: self.first_unstable_offset().unwrap_or(offset + 1),
        }
    }

    /// The first offset of the oldest open transaction.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing_txns.keys().next().copied()
    }

    /// The open transactions: (first offset, producer id), oldest first.
    pub fn ongoing_txns(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing_txns.iter().map(|(&first, &pid)| (first, pid))
    }

    /// The producers as DescribeProducers reports them.
    pub fn active_producers(&self) -> Vec<ActiveProducer> {
        let mut producers: Vec<ActiveProducer> = self
            .producers
            .iter()
            .map(|(&producer_id, entry)| ActiveProducer {
                producer_id,
                epoch: entry.epoch,
                last_sequence: entry.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: entry.last_timestamp,
                coordinator_epoch: entry.coordinator_epoch,
                current_txn_start_offset: entry.current_txn_first_offset.unwrap_or(-1),
            })
            .collect();
        producers.sort_by_key(|p| p.producer_id);
        producers
    }

    /// Forgets producers whose last batch is older than `max_idle_ms`, but
    /// not those with an open transaction.
    pub fn remove_expired(&mut self, now_ms: i64, max_idle_ms: i64) {
        self.producers.retain(|_, entry| {
            entry.current_txn_first_offset.is_some()
                || now_ms.saturating_sub(entry.last_timestamp) < max_idle_ms
        });
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Each producer's id and the last offset of its last batch: the log
    /// cleaner keeps that batch, if only as an empty one, so the producer's
    /// sequence survives compaction (Kafka's `lastRecordsOfActiveProducers`).
    pub fn last_batch_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(&id, entry)| entry.batches.back().map(|b| (id, b.last_offset)))
            .collect()
    }

    /// Kafka's snapshot of the producers: for each, its epoch and its last
    /// batch (the older ones are not kept, as in Kafka).
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut ids: Vec<&i64> = self.producers.keys().collect();
        ids.sort_unstable();
        let mut buf = Vec::with_capacity(SNAPSHOT_ENTRIES_OFFSET + 4 + ids.len() * 46);
        buf.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        buf.extend_from_slice(&[0; 4]); // CRC, filled in below
        buf.extend_from_slice(&(ids.len() as i32).to_be_bytes());
        for id in ids {
            let entry = &self.producers[id];
            let last = entry.batches.back();
            buf.extend_from_slice(&id.to_be_bytes());
            buf.extend_from_slice(&entry.epoch.to_be_bytes());
            buf.extend_from_slice(&last.map_or(-1, |b| b.last_seq).to_be_bytes());
            buf.extend_from_slice(&last.map_or(-1, |b| b.last_offset).to_be_bytes());
            let delta = last.map_or(0, |b| (b.last_offset - b.first_offset) as i32);
            buf.extend_from_slice(&delta.to_be_bytes());
            buf.extend_from_slice(&entry.last_timestamp.to_be_bytes());
            buf.extend_from_slice(&entry.coordinator_epoch.to_be_bytes());
            buf.extend_from_slice(
                &entry
                    .current_txn_first_offset
                    .unwrap_or(NO_TXN_FIRST_OFFSET)
                    .to_be_bytes(),
            );
        }
        let crc = crc32c::crc32c(&buf[SNAPSHOT_ENTRIES_OFFSET..]);
        buf[SNAPSHOT_CRC_OFFSET..SNAPSHOT_ENTRIES_OFFSET].copy_from_slice(&crc.to_be_bytes());
        buf
    }

    /// Reads a snapshot written by [`Self::encode_snapshot`] or by Kafka.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Self, String> {
        let mut r = SnapshotReader(bytes);
        let version = r.i16()?;
        if version != SNAPSHOT_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        let crc = r.i32()? as u32;
        let computed = crc32c::crc32c(&bytes[SNAPSHOT_ENTRIES_OFFSET..]);
        if crc != computed {
            return Err(format!(
                "snapshot is corrupt: stored CRC {crc}, computed {computed}"
            ));
        }
        let count = r.i32()?;
        let count = usize::try_from(count).map_err(|_| format!("bad entry count {count}"))?;
        let mut producers = HashMap::new();
        let mut ongoing_txns = BTreeMap::new();
        for _ in 0..count {
            let producer_id = r.i64()?;
            let epoch = r.i16()?;
            let last_seq = r.i32()?;
            let last_offset = r.i64()?;
            let offset_delta = r.i32()?;
            let timestamp = r.i64()?;
            let coordinator_epoch = r.i32()?;
            let txn_first_offset = r.i64()?;
            let current_txn_first_offset = (txn_first_offset >= 0).then_some(txn_first_offset);
            if let Some(first) = current_txn_first_offset {
                ongoing_txns.insert(first, producer_id);
            }
            let mut batches = VecDeque::new();
            if last_offset >= 0 {
                batches.push_back(BatchMetadata {
                    first_seq: decrement_sequence(last_seq, offset_delta),
                    last_seq,
                    first_offset: last_offset - i64::from(offset_delta),
                    last_offset,
                });
            }
            producers.insert(
                producer_id,
                ProducerStateEntry {
                    epoch,
                    batches,
                    last_timestamp: timestamp,
                    coordinator_epoch,
                    current_txn_first_offset,
                },
            );
        }
        if !r.0.is_empty() {
            return Err(format!("{} bytes after the last entry", r.0.len()));
        }
        Ok(ProducerStateManager {
            producers,
            ongoing_txns,
        })
    }

    /// Writes the snapshot of the state at `offset` into `dir`, through a
    /// temporary file so that a crash never leaves half a snapshot; with
    /// `sync`, fsynced before it is renamed into place. (An unsynced one
    /// that a power loss tears fails its CRC and an older one is used.)
    pub fn write_snapshot(&self, dir: &Path, offset: i64, sync: bool) -> io::Result<PathBuf> {
        let path = dir.join(snapshot_file_name(offset));
        let tmp = path.with_extension("snapshot.tmp");
        {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&self.encode_snapshot())?;
            if sync {
                file.sync_data()?;
            }
        }
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(producer_id: i64, epoch: i16, base_sequence: i32, records: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 1000,
            max_timestamp: 1000,
            producer_id,
            producer_epoch: epoch,
            base_sequence,
            records_count: records,
        }
    }

    #[test]
    fn sequences_duplicates_and_epochs() {
        let mut state = ProducerStateManager::default();
        // A producer the partition has never seen may start anywhere.
        assert_eq!(state.check(&header(7, 0, 42, 3)), Ok(SequenceCheck::Append));
        state.update(&header(7, 0, 0, 3), 10, None);
        assert_eq!(state.check(&header(7, 0, 3, 2)), Ok(SequenceCheck::Append));
        state.update(&header(7, 0, 3, 2), 13, None);

        // A retry of either batch is a duplicate with its original offsets.
        let Ok(SequenceCheck::Duplicate(first)) = state.check(&header(7, 0, 0, 3)) else {
            panic!("not a duplicate");
        };
        assert_eq!((first.first_offset, first.last_offset), (10, 12));
        assert!(matches!(
            state.check(&header(7, 0, 3, 2)),
            Ok(SequenceCheck::Duplicate(_))
        ));

        // A gap, an overlap that is not a retry, an old epoch, a new epoch not at 0.
        assert!(matches!(
            state.check(&header(7, 0, 6, 1)),
            Err(ProducerError::OutOfOrderSequence {
                found: 6,
                last: 4,
                ..
            })
        ));
        assert!(matches!(
            state.check(&header(7, 0, 5, 3)),
            Ok(SequenceCheck::Append)
        ));
        assert!(matches!(
            state.check(&header(7, 0, 2, 2)),
            Err(ProducerError::OutOfOrderSequence { .. })
        ));
        assert!(matches!(
            state.check(&header(7, 1, 5, 1)),
            Err(ProducerError::OutOfOrderSequence { .. })
        ));
        state.update(&header(7, 1, 0, 1), 20, None);
        assert!(matches!(
            state.check(&header(7, 0, 5, 1)),
            Err(ProducerError::InvalidProducerEpoch { current: 1, .. })
        ));

        // Only the last five batches are remembered.
        for i in 1..=6 {
            state.update(&header(7, 1, i, 1), 20 + i64::from(i), None);
        }
        assert!(matches!(
            state.check(&header(7, 1, 1, 1)),
            Err(ProducerError::OutOfOrderSequence { .. })
        ));
        assert!(matches!(
            state.check(&header(7, 1, 2, 1)),
            Ok(SequenceCheck::Duplicate(_))
        ));

        state.remove_expired(1000 + PRODUCER_ID_EXPIRATION_MS, PRODUCER_ID_EXPIRATION_MS);
        assert!(state.is_empty());
    }

    #[test]
    fn snapshots_keep_each_producers_last_batch() {
        let mut state = ProducerStateManager::default();
        state.update(&header(7, 0, 0, 3), 10, None);
        state.update(&header(7, 0, 3, 2), 13, None);
        state.update(&header(9, 2, 0, 1), 20, None);
        let bytes = state.encode_snapshot();
        assert_eq!(bytes.len(), 6 + 4 + 2 * 46);
        assert_eq!(&bytes[..2], &[0, 1]);
        let loaded = ProducerStateManager::decode_snapshot(&bytes).unwrap();
        assert_eq!(loaded.len(), 2);
        let Ok(SequenceCheck::Duplicate(last)) = loaded.check(&header(7, 0, 3, 2)) else {
            panic!("the last batch is remembered");
        };
        assert_eq!((last.first_offset, last.last_offset), (13, 14));
        assert_eq!(loaded.check(&header(7, 0, 5, 1)), Ok(SequenceCheck::Append));
        assert!(loaded.check(&header(9, 1, 1, 1)).is_err());

        let mut corrupt = bytes.clone();
        corrupt[20] ^= 1;
        assert!(ProducerStateManager::decode_snapshot(&corrupt).is_err());
        assert!(ProducerStateManager::decode_snapshot(&bytes[..30]).is_err());
        assert_eq!(snapshot_file_name(15), "00000000000000000015.snapshot");
        assert_eq!(
            parse_snapshot_file_name("00000000000000000015.snapshot"),
            Some(15)
        );
    }

    #[test]
    fn sequences_wrap() {
        let h = header(1, 0, i32::MAX - 1, 3);
        assert_eq!(last_sequence(&h), 0);
        assert!(in_sequence(i32::MAX, 0));
    }
}
