//! The broker's shared state: configuration, metadata and logs.

use crate::config::BrokerConfig;
use crate::metadata::meta_properties::{self, MetaProperties};
use crate::metadata::{self, MetadataCache};
use crate::storage::{LogManager, TopicPartition, UnifiedLog};
use anyhow::Context;
use tracing::info;

pub struct Broker {
    pub config: BrokerConfig,
    pub meta: MetaProperties,
    pub metadata: MetadataCache,
    pub metadata_log: UnifiedLog,
    pub logs: LogManager,
}

impl Broker {
    /// Opens the log directory (creating what is missing), loads the cluster
    /// metadata and recovers the log of every partition it names.
    pub fn open(config: BrokerConfig) -> anyhow::Result<Broker> {
        let log_dir = config.log_dir.clone();
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("cannot create log directory {}", log_dir.display()))?;
        let meta = meta_properties::load_or_create(&log_dir, config.node_id)?;
        let (metadata_log, image) = metadata::open_and_load(&log_dir, config.log)
            .with_context(|| format!("cannot load the metadata log in {}", log_dir.display()))?;
        let logs = LogManager::new(&log_dir, config.log)
            .with_context(|| format!("cannot open log directory {}", log_dir.display()))?;
        for topic in image.topics() {
            for &partition in topic.partitions.keys() {
                let tp = TopicPartition::new(topic.name.clone(), partition);
                logs.get_or_create_log(&tp, topic.id)
                    .with_context(|| format!("cannot open the log of {tp}"))?;
            }
        }
        info!(
            cluster_id = %meta.cluster_id,
            node_id = config.node_id,
            log_dir = %log_dir.display(),
            partitions = logs.all_logs().len(),
            "broker state loaded"
        );
        Ok(Broker {
            config,
            meta,
            metadata: MetadataCache::new(image),
            metadata_log,
            logs,
        })
    }

    /// Forces all logs to disk.
    pub fn flush(&self) -> std::io::Result<()> {
        self.metadata_log.flush()?;
        self.logs.flush_all()
    }
}
