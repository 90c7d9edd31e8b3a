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

pub use crate::config::LogConfig;
use std::fmt;

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
