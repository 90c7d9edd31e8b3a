//! The one way a coordinator reaches its internal topic (for the group
//! coordinator, `__consumer_offsets`): find or create it, append records to
//! one of its partitions, and read it all back when the broker starts. The
//! broker implements it over its logs; the coordinator knows nothing else
//! of the broker.

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

    /// Hands every batch of every partition, from its log start on, to
    /// `on_batch` with its partition (loading, at start). Nothing when the
    /// topic does not exist yet.
    fn read_all(&self, on_batch: &mut dyn FnMut(i32, &[u8])) -> io::Result<()>;
}
