//! All partition logs under the log directory.

use super::{LogConfig, TopicPartition, UnifiedLog};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// Name of the file in each partition directory that records its topic id.
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";

type LogsByTopic = HashMap<Arc<str>, HashMap<i32, Arc<UnifiedLog>>>;

pub struct LogManager {
    log_dir: PathBuf,
    config: LogConfig,
    logs: RwLock<LogsByTopic>,
    /// Serialises opening logs, so the map lock is never held across I/O.
    opening: Mutex<()>,
}

impl LogManager {
    /// Uses `log_dir`, creating it if missing.
    pub fn new(log_dir: &Path, config: LogConfig) -> io::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        Ok(LogManager {
            log_dir: log_dir.to_path_buf(),
            config,
            logs: RwLock::new(HashMap::new()),
            opening: Mutex::new(()),
        })
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    pub fn config(&self) -> LogConfig {
        self.config
    }

    pub fn get_log(&self, topic: &str, partition: i32) -> Option<Arc<UnifiedLog>> {
        self.logs.read().get(topic)?.get(&partition).cloned()
    }

    /// The log of `tp`, opened (and recovered) or created on first use. A
    /// new partition directory gets its `partition.metadata` file.
    pub fn get_or_create_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
    ) -> io::Result<Arc<UnifiedLog>> {
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let _opening = self.opening.lock();
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let dir = self.log_dir.join(tp.to_string());
        std::fs::create_dir_all(&dir)?;
        let metadata_file = dir.join(PARTITION_METADATA_FILE);
        if !metadata_file.exists() {
            write_partition_metadata(&metadata_file, topic_id)?;
        }
        let log = Arc::new(UnifiedLog::open(&dir, tp.clone(), self.config)?);
        let mut logs = self.logs.write();
        let by_partition = match logs.get_mut(tp.topic.as_str()) {
            Some(by_partition) => by_partition,
            None => logs.entry(Arc::from(tp.topic.as_str())).or_default(),
        };
        by_partition.insert(tp.partition, Arc::clone(&log));
        Ok(log)
    }

    pub fn all_logs(&self) -> Vec<Arc<UnifiedLog>> {
        self.logs
            .read()
            .values()
            .flat_map(|by_partition| by_partition.values().cloned())
            .collect()
    }

    /// Forces every log to disk (on shutdown).
    pub fn flush_all(&self) -> io::Result<()> {
        for log in self.all_logs() {
            log.flush()?;
        }
        Ok(())
    }
}

/// Kafka's textual form of a topic id: URL-safe base64 without padding.
pub fn topic_id_to_string(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Writes `partition.metadata` (atomically) the way Kafka does.
pub fn write_partition_metadata(path: &Path, topic_id: Uuid) -> io::Result<()> {
    let content = format!("version: 0\ntopic_id: {}", topic_id_to_string(topic_id));
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_partition_directories_once() {
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::new(&dir.path().join("logs"), LogConfig::default()).unwrap();
        let tp = TopicPartition::new("orders", 3);
        let id = Uuid::from_u128(0xbfd9_9e5e_3235_4552_81f8_d4af_1741_970c);
        let log = manager.get_or_create_log(&tp, id).unwrap();
        let again = manager.get_or_create_log(&tp, id).unwrap();
        assert!(Arc::ptr_eq(&log, &again));
        let metadata =
            std::fs::read_to_string(dir.path().join("logs/orders-3/partition.metadata")).unwrap();
        assert_eq!(metadata, "version: 0\ntopic_id: v9meXjI1RVKB-NSvF0GXDA");
        assert!(
            dir.path()
                .join("logs/orders-3/00000000000000000000.log")
                .exists()
        );
        assert_eq!(manager.all_logs().len(), 1);
    }
}
