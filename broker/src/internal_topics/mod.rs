//! The internal topics (`__consumer_offsets`, `__transaction_state`, and
//! those later coordinators add) as their coordinators reach them: one
//! narrow interface, [`InternalTopic`], with which a coordinator creates its
//! topic if it is missing, appends records to one of its partitions, and
//! reads a partition back from an offset. A coordinator is given an
//! `&dyn InternalTopic` and knows nothing else of the broker.
//!
//! [`LogTopic`] implements it over the partition logs (the metadata image,
//! the replica manager, and a [`TopicCreator`] for the first use). This
//! module imports the storage, the metadata catalog and the replica
//! manager, never a coordinator or the broker.

mod log_topic;

pub use log_topic::{LogTopic, TopicCreator};

use kafka_protocol::error::ResponseError;
use std::io;

/// A record of an internal topic: its key, and its value (None for a
/// tombstone).
pub type TopicRecord = (Vec<u8>, Option<Vec<u8>>);

/// Why an append to an internal topic failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The records are larger than a batch may be.
    TooLarge,
    /// The topic or its log cannot take them now.
    Unavailable,
    /// A transactional append of a producer whose epoch is older than the
    /// partition's.
    InvalidProducerEpoch,
}

pub trait InternalTopic: Sync {
    /// The topic's partition count, the topic created (with the settings
    /// its coordinator gives it) if it is missing;
    /// COORDINATOR_NOT_AVAILABLE when it cannot be.
    fn partitions(&self) -> Result<i32, ResponseError>;

    /// The partitions the topic has now; none when it does not exist yet
    /// (this never creates it).
    fn existing_partitions(&self) -> Vec<i32>;

    /// Appends `records` to `partition` as one batch.
    fn append(&self, partition: i32, records: &[TopicRecord]) -> Result<(), WriteError>;

    /// Appends `records` to `partition` as one transactional batch of the
    /// producer (offsets committed in a transaction).
    fn append_transactional(
        &self,
        partition: i32,
        records: &[TopicRecord],
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), WriteError>;

    /// Hands every batch of `partition` from `offset` (or the log start,
    /// when that is later) to the log end to `on_batch`, in order; returns
    /// the offset after the last batch handed.
    fn read_from(
        &self,
        partition: i32,
        offset: i64,
        on_batch: &mut dyn FnMut(&[u8]),
    ) -> io::Result<i64>;

    /// Hands every batch of every partition, from its log start on, to
    /// `on_batch` with its partition (loading, at start). Nothing when the
    /// topic does not exist yet.
    fn read_all(&self, on_batch: &mut dyn FnMut(i32, &[u8])) -> io::Result<()> {
        for partition in self.existing_partitions() {
            self.read_from(partition, 0, &mut |batch| on_batch(partition, batch))?;
        }
        Ok(())
    }
}
