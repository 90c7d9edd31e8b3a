//! The metadata catalog: topics and partitions as recorded in the KRaft
//! metadata log `__cluster_metadata-0`, which stays the single source of
//! truth. Knows nothing of sockets.

pub mod controller;
pub mod features;
pub mod image;
pub mod loader;
pub mod meta_properties;
pub mod records;
pub mod topic_config;

pub use image::{MetadataImage, PartitionRegistration, TopicImage, is_internal_topic};

use crate::storage::{LogConfig, LogManager, TopicPartition, UnifiedLog, log_manager};
use arc_swap::ArcSwap;
use std::io;
use std::sync::Arc;
use uuid::Uuid;

/// The metadata partition's directory name under the log directory.
pub const METADATA_LOG_DIR: &str = "__cluster_metadata-0";
/// The metadata topic's fixed id (Kafka's `Uuid.METADATA_TOPIC_ID`).
pub const METADATA_TOPIC_ID: Uuid = Uuid::from_u128(1);

/// The current metadata image, swapped as a whole when metadata changes.
pub struct MetadataCache {
    image: ArcSwap<MetadataImage>,
}

impl MetadataCache {
    pub fn new(image: MetadataImage) -> Self {
        MetadataCache {
            image: ArcSwap::from_pointee(image),
        }
    }

    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.load_full()
    }

    pub fn publish(&self, image: MetadataImage) {
        self.image.store(Arc::new(image));
    }
}

/// Opens (creating if missing) the metadata log and loads the image from it.
pub fn open_and_load(
    logs: &LogManager,
    config: LogConfig,
) -> io::Result<(Arc<UnifiedLog>, MetadataImage)> {
    let dir = logs.metadata_log_dir().join(METADATA_LOG_DIR);
    std::fs::create_dir_all(&dir)?;
    let metadata_file = dir.join(log_manager::PARTITION_METADATA_FILE);
    if !metadata_file.exists() {
        log_manager::write_partition_metadata(&metadata_file, METADATA_TOPIC_ID)?;
    }
    let log = logs.open_metadata_log(&dir, TopicPartition::new("__cluster_metadata", 0), config)?;
    let image = loader::load(&dir, &log)?;
    Ok((log, image))
}

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// Kafka's rule for topic names (`Topic.validate`): 1 to 249 characters from
/// `[a-zA-Z0-9._-]`, and neither `.` nor `..`.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the empty string is not allowed".into());
    }
    if name == "." || name == ".." {
        return Err(format!("'{name}' is not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(format!(
            "the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME_LENGTH}"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "'{name}' contains characters other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for ok in ["foo", "a.b_c-d", "__consumer_offsets", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "ümlaut",
            "a/b",
            &"x".repeat(250),
        ] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }
}
