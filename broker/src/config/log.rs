//! The settings of the logs and of the log cleaner, as plain values: the
//! broker-wide defaults (`log.*`, `log.cleaner.*`) and, for [`LogConfig`],
//! each topic's own (its topic configs).

use std::time::Duration;

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
    /// `message.timestamp.before.max.ms`
    /// (`log.message.timestamp.before.max.ms`): how far behind the broker's
    /// clock a record's CreateTime may be.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`
    /// (`log.message.timestamp.after.max.ms`): how far ahead of it.
    pub timestamp_after_max_ms: i64,
    /// `producer.id.expiration.ms`: how long a producer's state is kept
    /// after its last batch, when it has no open transaction.
    pub producer_id_expiration_ms: i64,
    /// `transaction.partition.verification.enable`: a transactional batch
    /// is appended only to a partition of the producer's open transaction
    /// (KIP-890's first part).
    pub transaction_partition_verification: bool,
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
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            producer_id_expiration_ms: 86_400_000,
            transaction_partition_verification: true,
        }
    }
}

/// The broker's `log.cleaner.*` settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanerConfig {
    /// `log.cleaner.enable`
    pub enable: bool,
    /// `log.cleaner.threads`
    pub threads: usize,
    /// `log.cleaner.backoff.ms`: how long a thread sleeps when no log needs
    /// cleaning.
    pub backoff: Duration,
    /// `log.cleaner.dedupe.buffer.size`: memory for the key maps of all
    /// threads.
    pub dedupe_buffer_size: u64,
    /// `log.cleaner.io.buffer.size`: the size of reads and writes.
    pub io_buffer_size: usize,
    /// `log.cleaner.io.buffer.load.factor`: how full a key map may get.
    pub dedupe_buffer_load_factor: f64,
    /// `log.cleaner.io.max.bytes.per.second`: reads and writes of all
    /// threads together are held to this rate.
    pub max_io_bytes_per_second: f64,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            enable: true,
            threads: 1,
            backoff: Duration::from_millis(15_000),
            dedupe_buffer_size: 128 * 1024 * 1024,
            io_buffer_size: 512 * 1024,
            dedupe_buffer_load_factor: 0.9,
            max_io_bytes_per_second: f64::MAX,
        }
    }
}
