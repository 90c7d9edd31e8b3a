//! Per-partition state of idempotent producers (Kafka's
//! `ProducerStateManager`): for each producer id, its epoch and the sequence
//! ranges and offsets of its last five batches. A batch that repeats one of
//! those is a duplicate and gets the original offsets; a gap in sequences or
//! an old epoch is refused. The state is rebuilt from batch headers when a
//! log is recovered, so it survives restarts.

use super::record_batch::BatchHeader;
use std::collections::{HashMap, VecDeque};
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

#[derive(Debug, Clone, Default)]
struct ProducerStateEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
    last_timestamp: i64,
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
}

/// The sequence of the last record of a batch; sequences wrap after i32::MAX.
pub fn last_sequence(header: &BatchHeader) -> i32 {
    ((i64::from(header.base_sequence) + i64::from(header.last_offset_delta))
        % (i64::from(i32::MAX) + 1)) as i32
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

    /// Records a batch stored at `first_offset` (also used in recovery).
    pub fn update(&mut self, header: &BatchHeader, first_offset: i64) {
        if !header.has_producer_id() || header.is_control() {
            return;
        }
        let entry = self.producers.entry(header.producer_id).or_default();
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
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
    }

    /// Forgets producers whose last batch is older than `max_idle_ms`.
    pub fn remove_expired(&mut self, now_ms: i64, max_idle_ms: i64) {
        self.producers
            .retain(|_, entry| now_ms.saturating_sub(entry.last_timestamp) < max_idle_ms);
    }

    pub fn len(&self) -> usize {
        self.producers.len()
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
        state.update(&header(7, 0, 0, 3), 10);
        assert_eq!(state.check(&header(7, 0, 3, 2)), Ok(SequenceCheck::Append));
        state.update(&header(7, 0, 3, 2), 13);

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
        state.update(&header(7, 1, 0, 1), 20);
        assert!(matches!(
            state.check(&header(7, 0, 5, 1)),
            Err(ProducerError::InvalidProducerEpoch { current: 1, .. })
        ));

        // Only the last five batches are remembered.
        for i in 1..=6 {
            state.update(&header(7, 1, i, 1), 20 + i64::from(i));
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
    fn sequences_wrap() {
        let h = header(1, 0, i32::MAX - 1, 3);
        assert_eq!(last_sequence(&h), 0);
        assert!(in_sequence(i32::MAX, 0));
    }
}
