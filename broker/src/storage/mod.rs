//! Partition logs in Kafka's on-disk format. Nothing here knows about the
//! network: callers hand in batch bytes and get offsets, batch bytes and
//! typed errors back.

pub mod checkpoint_file;
pub mod compression;
pub mod index_file;
pub mod leader_epoch_cache;
pub mod log_cleaner;
pub mod log_loader;
pub mod log_manager;
pub mod log_segment;
pub mod offset_index;
pub mod producer_state;
pub mod record_batch;
pub mod time_index;
pub mod transaction_index;
pub mod unified_log;

pub use log_manager::LogManager;
pub use unified_log::{
    AppendError, FetchDataInfo, LogAppendInfo, ReadError, TimestampAndOffset, UnifiedLog,
};

use std::fmt;

/// Per-log settings, named after Kafka's topic configs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes` (`log.segment.bytes`): roll to a new segment beyond this.
    pub segment_bytes: u64,
    /// `index.interval.bytes`: bytes between two offset index entries.
    pub index_interval_bytes: u64,
    /// `flush.messages` (`log.flush.interval.messages`): fsync after this many records.
    pub flush_interval_messages: u64,
    /// `flush.ms` (`log.flush.interval.ms`): fsync data older than this.
    pub flush_interval_ms: u64,
    /// `max.message.bytes` (`message.max.bytes`): the largest batch accepted.
    pub max_message_bytes: usize,
    /// `segment.index.bytes` (`log.index.size.max.bytes`): the size an
    /// active segment's index files are preallocated to.
    pub max_index_size: usize,
    /// `retention.bytes` (`log.retention.bytes`): the size a partition is
    /// kept to by deleting its oldest segments; -1 for no limit.
    pub retention_bytes: i64,
    /// `retention.ms` (`log.retention.ms|minutes|hours`): how long a
    /// segment is kept after its newest record; -1 for no limit.
    pub retention_ms: i64,
    /// `segment.ms` (`log.roll.ms|hours`): a segment whose first batch is
    /// this much older than the batch appended next rolls.
    pub segment_ms: i64,
    /// `segment.jitter.ms` (`log.roll.jitter.ms|hours`): up to this much is
    /// taken off `segment_ms`, chosen at random per segment.
    pub segment_jitter_ms: i64,
    /// `file.delete.delay.ms` (`log.segment.delete.delay.ms`): how long the
    /// files of a deleted segment stay, renamed `.deleted`.
    pub file_delete_delay_ms: u64,
    /// `cleanup.policy` (`log.cleanup.policy`) has `delete`: retention
    /// applies.
    pub delete: bool,
    /// `cleanup.policy` has `compact`.
    pub compact: bool,
    /// `min.cleanable.dirty.ratio` (`log.cleaner.min.cleanable.ratio`): the
    /// share of the log written since it was last cleaned that makes the
    /// cleaner take it.
    pub min_cleanable_ratio: f64,
    /// `min.compaction.lag.ms` (`log.cleaner.min.compaction.lag.ms`): how
    /// long a record stays before it may be compacted away.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms` (`log.cleaner.max.compaction.lag.ms`): a
    /// record older than this is compacted whatever the dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `delete.retention.ms` (`log.cleaner.delete.retention.ms`): how long
    /// a tombstone stays after the cleaning pass that first kept it.
    pub delete_retention_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            index_interval_bytes: 4096,
            flush_interval_messages: u64::MAX,
            flush_interval_ms: u64::MAX,
            max_message_bytes: 1024 * 1024 + 12,
            max_index_size: 10 * 1024 * 1024,
            retention_bytes: -1,
            retention_ms: 7 * 24 * 3_600_000,
            segment_ms: 7 * 24 * 3_600_000,
            segment_jitter_ms: 0,
            file_delete_delay_ms: 60_000,
            delete: true,
            compact: false,
            min_cleanable_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            delete_retention_ms: 86_400_000,
        }
    }
}

/// A topic name and partition index; displays as the log's directory name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Parses a log directory name, `<topic>-<partition>`.
    pub fn from_dir_name(name: &str) -> Option<Self> {
        let (topic, partition) = name.rsplit_once('-')?;
        if topic.is_empty()
            || partition.is_empty()
            || !partition.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(TopicPartition::new(topic, partition.parse().ok()?))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_round_trip() {
        let tp = TopicPartition::new("my-topic", 12);
        assert_eq!(tp.to_string(), "my-topic-12");
        assert_eq!(TopicPartition::from_dir_name("my-topic-12"), Some(tp));
        assert_eq!(TopicPartition::from_dir_name("nopartition"), None);
        assert_eq!(TopicPartition::from_dir_name("t-x"), None);
    }
}
