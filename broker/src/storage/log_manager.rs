//! All partition logs under the log directory.

use super::{LogConfig, TopicPartition, UnifiedLog};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{info, warn};
use uuid::Uuid;

/// Name of the file in each partition directory that records its topic id.
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";
/// Suffix of a log directory being deleted.
const DELETE_SUFFIX: &str = "-delete";

/// The open logs of one topic.
struct TopicLogs {
    id: Uuid,
    partitions: HashMap<i32, Arc<UnifiedLog>>,
}

type LogsByTopic = HashMap<Arc<str>, TopicLogs>;

pub struct LogManager {
    log_dir: PathBuf,
    config: LogConfig,
    logs: RwLock<LogsByTopic>,
    /// Serialises opening logs, so the map lock is never held across I/O.
    opening: Mutex<()>,
}

impl LogManager {
    /// Uses `log_dir`, creating it if missing, and finishes deleting logs
    /// a previous run left marked for deletion.
    pub fn new(log_dir: &Path, config: LogConfig) -> io::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        for entry in std::fs::read_dir(log_dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().ends_with(DELETE_SUFFIX) {
                warn!(dir = %entry.path().display(), "removing a log left marked for deletion");
                std::fs::remove_dir_all(entry.path())?;
            }
        }
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
        self.logs
            .read()
            .get(topic)?
            .partitions
            .get(&partition)
            .cloned()
    }

    /// The topics with open logs, and their ids.
    pub fn topics(&self) -> Vec<(String, Uuid)> {
        self.logs
            .read()
            .iter()
            .map(|(name, logs)| (name.to_string(), logs.id))
            .collect()
    }

    /// The log of `tp`, opened (and recovered) or created on first use with
    /// `config`. A new partition directory gets its `partition.metadata`.
    pub fn get_or_create_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
    ) -> io::Result<Arc<UnifiedLog>> {
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let _opening = self.opening.lock();
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let dir = self.log_dir.join(tp.to_string());
        let metadata_file = dir.join(PARTITION_METADATA_FILE);
        if let Some(stale) = read_partition_metadata(&metadata_file).filter(|id| *id != topic_id) {
            // The directory belongs to a deleted topic of the same name.
            warn!(log = %tp, stale_topic_id = %stale, %topic_id, "removing the log of a deleted topic");
            remove_dir(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        if !metadata_file.exists() {
            write_partition_metadata(&metadata_file, topic_id)?;
        }
        let log = Arc::new(UnifiedLog::open(&dir, tp.clone(), config)?);
        let mut logs = self.logs.write();
        if logs
            .get(tp.topic.as_str())
            .is_some_and(|t| t.id != topic_id)
        {
            return Err(io::Error::other(format!(
                "{tp}: the logs of an older topic of this name are still open"
            )));
        }
        let topic = match logs.get_mut(tp.topic.as_str()) {
            Some(topic) => topic,
            None => logs
                .entry(Arc::from(tp.topic.as_str()))
                .or_insert_with(|| TopicLogs {
                    id: topic_id,
                    partitions: HashMap::new(),
                }),
        };
        topic.partitions.insert(tp.partition, Arc::clone(&log));
        Ok(log)
    }

    /// Deletes the logs of every partition of `topic`: they refuse appends
    /// from now on, their directories are renamed `<dir>.<id>-delete` (so a
    /// crash midway leaves nothing that looks live) and then removed.
    pub fn delete_topic_logs(&self, topic: &str) -> io::Result<()> {
        let removed = self.logs.write().remove(topic);
        for log in removed.into_iter().flat_map(|t| t.partitions.into_values()) {
            log.mark_deleted();
            remove_dir(log.dir())?;
            info!(log = %log.topic_partition(), "deleted log");
        }
        Ok(())
    }

    pub fn all_logs(&self) -> Vec<Arc<UnifiedLog>> {
        self.logs
            .read()
            .values()
            .flat_map(|topic| topic.partitions.values().cloned())
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

/// Renames a log directory to `<dir>.<id>-delete`, then removes it.
fn remove_dir(dir: &Path) -> io::Result<()> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doomed = dir.with_file_name(format!("{name}.{}{DELETE_SUFFIX}", Uuid::new_v4().simple()));
    std::fs::rename(dir, &doomed)?;
    std::fs::remove_dir_all(&doomed)
}

/// The topic id a `partition.metadata` file records, if it can be read.
fn read_partition_metadata(path: &Path) -> Option<Uuid> {
    let text = std::fs::read_to_string(path).ok()?;
    let encoded = text
        .lines()
        .find_map(|line| line.strip_prefix("topic_id:"))?
        .trim();
    let bytes: [u8; 16] = URL_SAFE_NO_PAD.decode(encoded).ok()?.try_into().ok()?;
    Some(Uuid::from_bytes(bytes))
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
        let log = manager
            .get_or_create_log(&tp, id, LogConfig::default())
            .unwrap();
        let again = manager
            .get_or_create_log(&tp, id, LogConfig::default())
            .unwrap();
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

        assert_eq!(
            read_partition_metadata(&dir.path().join("logs/orders-3/partition.metadata")),
            Some(id)
        );
        assert_eq!(manager.topics(), vec![("orders".to_string(), id)]);
        manager.delete_topic_logs("orders").unwrap();
        assert!(manager.get_log("orders", 3).is_none());
        assert!(!dir.path().join("logs/orders-3").exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("logs")).unwrap().count(),
            0
        );
    }
}
