//! The partitions this broker leads, between the APIs and storage (Kafka's
//! `ReplicaManager`): logs are opened with their topic's settings, kept in
//! step with the metadata image, and fetches waiting for data are woken
//! when a partition they wait on is appended to.

use crate::config::BrokerConfig;
use crate::metadata::records::{BROKER_RESOURCE, TOPIC_RESOURCE};
use crate::metadata::topic_config;
use crate::metadata::{MetadataImage, TopicImage};
use crate::storage::log_manager::{self, LogToOpen};
use crate::storage::{
    AppendError, LogAppendInfo, LogConfig, LogManager, TopicPartition, UnifiedLog,
};
use crate::storage_io;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::{info, warn};

type WaitersByTopic = HashMap<Arc<str>, HashMap<i32, Arc<Notify>>>;

pub struct ReplicaManager {
    logs: Arc<LogManager>,
    /// The broker's static configuration and node id, which dynamic broker
    /// configs in the metadata image override.
    static_config: BrokerConfig,
    /// The broker-wide log settings topic overrides apply to: the static
    /// ones with the image's dynamic broker configs.
    log_config: RwLock<LogConfig>,
    /// Serialises syncs with the image, holding the offset of the newest
    /// image synced: an older one (a caller that read the image before
    /// another change) is not applied, so it can neither bring back old
    /// settings nor delete the logs of a topic created since.
    synced: parking_lot::Mutex<i64>,
    /// One notifier per partition a fetch has waited on.
    waiters: RwLock<WaitersByTopic>,
}

impl ReplicaManager {
    pub fn new(logs: Arc<LogManager>, static_config: BrokerConfig) -> Self {
        ReplicaManager {
            log_config: RwLock::new(static_config.log),
            synced: parking_lot::Mutex::new(-1),
            static_config,
            logs,
            waiters: RwLock::new(HashMap::new()),
        }
    }

    pub fn logs(&self) -> &Arc<LogManager> {
        &self.logs
    }

    /// Opens the log of every partition in `image` at start, several at a
    /// time (`num.recovery.threads.per.data.dir`, a dynamic value of it
    /// included, as Kafka's next loading takes it).
    pub fn open_all(&self, image: &MetadataImage) -> io::Result<()> {
        let base = self.update_broker_log_config(image);
        let node = self.static_config.node_id.to_string();
        let threads = self
            .static_config
            .with_dynamic(
                image.configs(BROKER_RESOURCE, ""),
                image.configs(BROKER_RESOURCE, &node),
            )
            .map_or(self.static_config.num_recovery_threads_per_data_dir, |c| {
                c.num_recovery_threads_per_data_dir
            });
        let logs = image
            .topics()
            .flat_map(|topic| {
                let config =
                    topic_config::log_config(&base, image.configs(TOPIC_RESOURCE, &topic.name));
                topic
                    .partitions
                    .iter()
                    .map(move |(&partition, registration)| LogToOpen {
                        tp: TopicPartition::new(topic.name.clone(), partition),
                        topic_id: topic.id,
                        config,
                        target_dir: registration.directories.first().copied(),
                    })
            })
            .collect::<Vec<_>>();
        info!(
            logs = logs.len(),
            recovery_threads_per_data_dir = threads,
            "opening the partition logs"
        );
        self.logs.open_logs(logs, threads)
    }

    /// The log of a partition of `topic`, opened on first use with the
    /// topic's settings.
    pub fn log(
        &self,
        image: &MetadataImage,
        topic: &TopicImage,
        partition: i32,
    ) -> io::Result<Arc<UnifiedLog>> {
        if let Some(log) = self.logs.get_log(&topic.name, partition) {
            return Ok(log);
        }
        let base = *self.log_config.read();
        let config = topic_config::log_config(&base, image.configs(TOPIC_RESOURCE, &topic.name));
        let target_dir = topic
            .partitions
            .get(&partition)
            .and_then(|r| r.directories.first().copied());
        storage_io::blocking(|| {
            self.logs.get_or_create_log(
                &TopicPartition::new(topic.name.clone(), partition),
                topic.id,
                config,
                target_dir,
            )
        })
    }

    /// Appends to `log` and wakes the fetches waiting on it.
    pub fn append(
        &self,
        log: &UnifiedLog,
        records: &[u8],
        leader_epoch: i32,
    ) -> Result<LogAppendInfo, AppendError> {
        let info = self.on_current_log(log, |log| log.append_as_leader(records, leader_epoch))?;
        if !info.duplicate {
            self.notify_appended(log);
        }
        Ok(info)
    }

    /// Appends batches a coordinator built (see
    /// [`UnifiedLog::append_as_coordinator`]).
    pub fn append_as_coordinator(
        &self,
        log: &UnifiedLog,
        records: &[u8],
        leader_epoch: i32,
    ) -> Result<LogAppendInfo, AppendError> {
        let info =
            self.on_current_log(log, |log| log.append_as_coordinator(records, leader_epoch))?;
        self.notify_appended(log);
        Ok(info)
    }

    /// Appends a transaction marker (see [`UnifiedLog::append_marker`]);
    /// fetches waiting for the last stable offset to move wake up.
    pub fn append_marker(
        &self,
        log: &UnifiedLog,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        leader_epoch: i32,
    ) -> Result<i64, AppendError> {
        let offset = self.on_current_log(log, |log| {
            log.append_marker(
                producer_id,
                producer_epoch,
                coordinator_epoch,
                commit,
                leader_epoch,
            )
        })?;
        self.notify_appended(log);
        Ok(offset)
    }

    /// Runs an append on a storage thread. A log that moved to another
    /// directory meanwhile gives way to the partition's current one; an
    /// I/O error takes the log's directory offline.
    fn on_current_log<T>(
        &self,
        log: &UnifiedLog,
        append: impl Fn(&UnifiedLog) -> Result<T, AppendError>,
    ) -> Result<T, AppendError> {
        storage_io::blocking(|| {
            let mut result = append(log);
            if matches!(result, Err(AppendError::Moved)) {
                let tp = log.topic_partition();
                if let Some(current) = self.logs.get_log(&tp.topic, tp.partition) {
                    result = append(&current);
                }
            }
            if let Err(AppendError::Io(e)) = &result {
                self.logs.handle_log_error(log, e);
            }
            result
        })
    }

    fn notify_appended(&self, log: &UnifiedLog) {
        let tp = log.topic_partition();
        if let Some(notify) = self
            .waiters
            .read()
            .get(tp.topic.as_str())
            .and_then(|p| p.get(&tp.partition))
        {
            notify.notify_waiters();
        }
    }

    /// The notifier a fetch waits on for appends to a partition.
    pub fn append_notifier(&self, topic: &str, partition: i32) -> Arc<Notify> {
        if let Some(notify) = self
            .waiters
            .read()
            .get(topic)
            .and_then(|p| p.get(&partition))
        {
            return Arc::clone(notify);
        }
        let mut waiters = self.waiters.write();
        let by_partition = match waiters.get_mut(topic) {
            Some(by_partition) => by_partition,
            None => waiters.entry(Arc::from(topic)).or_default(),
        };
        Arc::clone(by_partition.entry(partition).or_default())
    }

    /// The broker-wide log settings, dynamic broker configs applied.
    pub fn broker_log_config(&self) -> LogConfig {
        *self.log_config.read()
    }

    /// Opens the log of every partition in `image` and deletes the logs of
    /// topics it no longer has (or has under another id).
    pub fn sync_with_image(&self, image: &MetadataImage) -> io::Result<()> {
        storage_io::blocking(|| self.sync_logs(image))
    }

    /// The broker-wide log settings with the image's dynamic broker
    /// configs (cluster default, then this node's), kept for the logs
    /// opened from now on.
    fn update_broker_log_config(&self, image: &MetadataImage) -> LogConfig {
        let node = self.static_config.node_id.to_string();
        let (config, cleaner, move_rate) = match self.static_config.with_dynamic(
            image.configs(BROKER_RESOURCE, ""),
            image.configs(BROKER_RESOURCE, &node),
        ) {
            Ok(merged) => (
                merged.log,
                merged.cleaner,
                merged.replica_alter_log_dirs_io_max_bytes_per_second,
            ),
            Err(e) => {
                // The controller validates them; one that no longer parses
                // (written by another version) is ignored.
                warn!("ignoring dynamic broker configs: {e:#}");
                (
                    self.static_config.log,
                    self.static_config.cleaner,
                    self.static_config
                        .replica_alter_log_dirs_io_max_bytes_per_second,
                )
            }
        };
        self.logs.update_cleaner_config(cleaner);
        self.logs.set_move_rate(move_rate);
        *self.log_config.write() = config;
        config
    }

    fn sync_logs(&self, image: &MetadataImage) -> io::Result<()> {
        let mut synced = self.synced.lock();
        if image.offset() < *synced {
            return Ok(());
        }
        *synced = image.offset();
        let base = self.update_broker_log_config(image);
        for (name, id) in self.logs.topics() {
            if image.topic(&name).is_none_or(|t| t.id != id) {
                self.logs.delete_topic_logs(&name)?;
                if let Some(gone) = self.waiters.write().remove(name.as_str()) {
                    // Wake waiting fetches so they see the topic is gone.
                    gone.values().for_each(|n| n.notify_waiters());
                }
            }
        }
        for topic in image.topics() {
            let config =
                topic_config::log_config(&base, image.configs(TOPIC_RESOURCE, &topic.name));
            for &partition in topic.partitions.keys() {
                match self.log(image, topic, partition) {
                    // A topic's altered configuration applies to its live logs.
                    Ok(log) if log.config() != config => {
                        log.update_config(config);
                        info!(log = %log.topic_partition(), "log configuration updated");
                    }
                    Ok(_) => {}
                    // Its directory failed: the partition is offline, the
                    // others are served.
                    Err(e) if log_manager::is_log_dir_offline(&e) => {}
                    Err(e) => {
                        warn!(topic = %topic.name, partition, "cannot open log: {e}");
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Forces every log to disk.
    pub fn flush_all(&self) -> io::Result<()> {
        self.logs.flush_all()
    }

    /// Closes every log for a clean shutdown.
    pub fn shutdown(&self) -> io::Result<()> {
        self.logs.shutdown()
    }
}
